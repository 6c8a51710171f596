//! Counters of the progress path: published as CloudWatch EMF metrics, logged with their
//! context, and kept per process for tests.

use schemabot_domain::{ApplyId, State, TaskId};
use std::sync::atomic::{AtomicU64, Ordering};

static DOWNGRADES_REFUSED: AtomicU64 = AtomicU64::new(0);

/// The engine reported a state behind the stored one; nothing was written.
pub fn record_refused_downgrade(
    apply_id: &ApplyId,
    task_id: &TaskId,
    stored: State,
    reported: State,
) {
    DOWNGRADES_REFUSED.fetch_add(1, Ordering::Relaxed);
    schemabot_aws::emf::count(
        "DowngradesRefused",
        &[("Stored", stored.as_str()), ("Reported", reported.as_str())],
    );
    tracing::warn!(
        metric = "progress.downgrade_refused",
        apply_id = %apply_id,
        task_id = %task_id,
        stored = %stored,
        reported = %reported,
        "refused a progress downgrade"
    );
}

/// Downgrades refused by this process so far.
pub fn refused_downgrades() -> u64 {
    DOWNGRADES_REFUSED.load(Ordering::Relaxed)
}
