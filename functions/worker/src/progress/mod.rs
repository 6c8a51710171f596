//! Progress: keeping every active apply in step with what Tern reports, and its PR comments in
//! step with the apply.
//!
//! * [`reconcile`] — one apply: Tern Progress → the pure per-task decision
//!   (`schemabot_domain::state::reconcile::decide`) → conditional writes → the derived apply state,
//!   with `_spirit_sentinel` as evidence when Tern lost its in-memory state, and claims whose Tern
//!   outcome is unknown settled from the same evidence.
//! * [`comments`] — the comment lifecycle: the progress comment edited in place (only when its
//!   content changed, at most once per `min_edit_interval`), frozen once a cutover comment
//!   exists, and on a terminal state the summary — edited into the cutover comment, or posted
//!   after the progress comment is finalised — exactly once.
//! * [`sweep`] — the EventBridge schedule: every active apply, bounded concurrency, and a fresh
//!   poll chain for any apply whose chain died.
//! * [`poll`] — one delayed SQS poll chain per apply between sweeps, de-duplicated by a
//!   conditional sequence number so chains never multiply.
//! * [`lock_settle`] — `confirming`/`applying` locks whose confirm stopped, settled by the sweep
//!   once their lease ends.
//! * [`register`] — the register-apply job: the apply, its tasks, its progress comment and the
//!   start of its poll chain.

pub mod comments;
pub mod engine;
pub mod error;
pub mod lock_settle;
pub mod locks;
pub mod metrics;
pub mod poll;
pub mod reconcile;
pub mod register;
pub mod sweep;

pub use error::ProgressError;
pub use reconcile::ReconcileReport;
pub use sweep::SweepReport;

use crate::outcome::JobError;
use crate::Worker;
use schemabot_domain::job::PollJob;
use schemabot_domain::ApplyId;

/// Runs one link of an apply's poll chain (the `Poll` job).
pub async fn poll(worker: &Worker, job: &PollJob) -> Result<(), JobError> {
    Box::pin(poll::run(worker, job)).await
}

impl Worker {
    /// The scheduled progress sweep: reconciles every active apply (at most
    /// `config.sweep_concurrency` at once) and restarts dead poll chains. Never fails as a
    /// whole; what went wrong per apply is counted in the report and logged.
    pub async fn sweep(&self) -> SweepReport {
        // Boxed: the sweep's future is deep (it nests many reconciliations); stored inline it
        // would deepen every caller's future.
        Box::pin(sweep::run(self)).await
    }

    /// Reconciles one apply now (what a poll or the sweep does for it).
    pub async fn reconcile_apply(
        &self,
        apply_id: &ApplyId,
    ) -> Result<ReconcileReport, ProgressError> {
        reconcile::reconcile(self, apply_id).await
    }
}
