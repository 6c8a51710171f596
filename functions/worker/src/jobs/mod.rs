//! One module per job kind, plus what commands share: [`command`] for every command,
//! [`lock_common`] for the lock commands.

pub mod apply;
pub(crate) mod command;
pub mod confirm;
pub mod control;
pub mod cutover;
pub mod force_unlock;
pub(crate) mod lock_common;
pub(crate) mod permission;
pub mod plan;
pub(crate) mod plan_support;
pub mod poll;
pub mod reply;
pub(crate) mod review_gate;
pub mod rollback;
pub mod unlock;
