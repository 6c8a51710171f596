//! A Tern stand-in: a tonic `tern.v1.Tern` server, in-process on the caller's tokio runtime,
//! that simulates Spirit against a real MariaDB.
//!
//! Two layers are modelled, because a Tern restart loses one and not the other:
//! * Tern's storage (applies, tasks, copy checkpoints, terminal outcomes) survives
//!   [`TernStandinHandle::restart`];
//! * Spirit's in-memory migration does not. Until it is resumed (by
//!   [`TernStandinHandle::resume`] or after [`TernStandinConfig::auto_resume_after`]), Progress
//!   reports `STATE_RECOVERING`, as current Tern does, and Cutover is refused. If the sentinel
//!   table disappears while the migration is lost, the copy is lost with it: the migration never
//!   resumes and never swaps (Progress keeps reporting `STATE_RECOVERING`).
//!
//! It speaks the current contract only: requests address an apply by its id alone, an unknown
//! apply is `NOT_FOUND`, Apply honours `idempotency_key`, and `PlanDiff` and `Cancel` are served.
//!
//! With `defer_cutover = "true"` the stand-in creates the real `_spirit_sentinel` table in the
//! target schema when the copy starts, parks at `waitingOnSentinelTable` once copied, and a
//! Cutover drops the table. Like Spirit it watches the table: if it disappears some other way,
//! the apply proceeds to cut over.
//!
//! How fast tables copy is chosen by [`CopyPace`]: manual ([`TernStandinHandle::advance`]), a
//! fixed step per Progress call, or wall-clock time. Faults: [`TernStandinHandle::set_delay`],
//! [`TernStandinHandle::fail_next`], [`TernStandinHandle::lose_next_responses`].
//!
//! Layout: `config`, the simulation `model` and its Progress `report` at the bottom; `state`
//! (the shared simulation and fault injection) and `mariadb` over them; `settle` and one module
//! per group of RPCs (`plan`, `apply`, `progress`, `cutover`, `control`) above; `service` (the
//! gRPC surface) and the handle (`handle`, `controls`, `register`) on top.

mod apply;
mod config;
mod control;
mod controls;
mod cutover;
mod handle;
mod mariadb;
mod model;
mod plan;
mod progress;
mod register;
mod report;
mod service;
mod settle;
mod state;

pub use config::{CopyPace, StandinError, TernStandinConfig};
pub use handle::{TernStandin, TernStandinHandle};
pub use model::StandinPhase;
pub use register::{ApplyRegistration, RegisteredPhase, RegisteredTable};
pub use report::ForcedReport;
pub use state::TernCallCounts;

/// Tern's refusal while Spirit has no in-memory migration.
pub const RECOVERY_REFUSAL: &str = "Schema change is being recovered after a restart. The recovery worker will resume it shortly — try again in a moment.";

/// What a new Apply does to an older apply of the same database whose engine state was lost.
pub const ABANDONED_MESSAGE: &str =
    "Task abandoned: engine has no active schema change (server may have crashed)";

/// Spirit's per-table status strings (`status.State.String()`), as Tern passes them through.
pub mod spirit_status {
    pub const COPY_ROWS: &str = "copyRows";
    pub const WAITING_ON_SENTINEL: &str = "waitingOnSentinelTable";
    pub const CUT_OVER: &str = "cutOver";
    pub const CLOSE: &str = "close";
}
