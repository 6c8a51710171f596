//! One module per job kind, plus what the apply lifecycle's commands share.

pub mod apply;
pub mod confirm;
pub mod control;
pub mod cutover;
pub(crate) mod lock_common;
pub(crate) mod permission;
pub mod plan;
pub(crate) mod plan_support;
pub mod poll;
pub mod reply;
pub(crate) mod review_gate;
pub mod unlock;
