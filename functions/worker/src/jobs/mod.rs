//! One module per job kind.

pub mod cutover;
pub mod plan;
pub mod poll;
pub mod reply;
