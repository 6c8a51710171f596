//! Every PR comment SchemaBot posts, rendered from typed views with the tera templates under
//! `templates/` (embedded in the binary, compiled once). No I/O.
//!
//! * tracked comments of an apply: [`render_progress`], [`render_progress_finalized`] (the
//!   tombstone when the apply ends without a cutover comment), [`render_cutover_triggered`],
//!   [`render_summary`];
//! * replies: [`render_reply`] for what the webhook decided, [`render_cutover_reply`] for the
//!   worker's cutover outcomes ([`CutoverReply`]).
//!
//! Every body ends with a hidden `<!-- schemabot:<marker> -->` ([`marker`]) so a retried job
//! can find the comment it already posted, and everything that came from users or external
//! systems goes through [`escape`].

mod actor;
pub mod bar;
mod command_failed;
mod control;
mod cutover;
mod cutover_reply;
mod ddl;
mod engine;
mod error;
pub mod escape;
mod failure;
mod footer;
mod force_unlock;
pub mod format;
mod lock;
pub mod marker;
mod metadata;
mod ownership;
mod plan;
mod plan_limits;
mod progress;
mod replies;
mod review;
mod rollback;
mod summary;
mod target;
pub mod terminal;

pub use actor::Actor;
pub use command_failed::{render_command_failed, FailureCause};
pub use control::{render_control_reply, ControlCandidate, ControlReply};
pub use cutover::render_cutover_triggered;
pub use cutover_reply::{render_cutover_reply, CutoverReply};
pub use error::RenderError;
pub use force_unlock::{
    render_force_unlock_reply, render_lock_released_notice, ForceUnlockReply, LockReleasedNotice,
};
pub use lock::{command_text, render_lock_reply, Denial, LockCommand, LockReply, LockedTarget};
pub use ownership::render_not_owned;
pub use plan::{render_plan, PlanComment, PlanLint, PlanLock, PlanTable, PlanTriggerText};
pub use plan_limits::{render_plan_too_large, PlanTooLarge};
pub use progress::{render_progress, render_progress_finalized, render_progress_with_deadline};
pub use replies::render_reply;
pub use rollback::{
    render_rollback_plan, render_rollback_reply, rollback_command, rollback_confirm_command,
    RollbackPlan, RollbackReply, RollbackTarget,
};
pub use summary::{render_summary, render_summary_ended_by};
pub use target::CutoverTarget;
pub use terminal::{render_progress_terminal, TerminalColors};
