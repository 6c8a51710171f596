//! Applies, tasks, cutover claims, tracked comments, audit events, the active index and poll
//! chains.

mod active;
mod comments;
mod control;
mod cutover;
mod events;
mod poll;
mod records;
mod support;

pub use active::{ActiveApplyRef, ActiveCursor, ActivePage};
pub use control::{ControlAnswer, ControlRequest, ControlStatus};
pub use cutover::ClaimGranted;
pub use records::ApplySnapshot;
