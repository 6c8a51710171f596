//! The lock audit trail: one place where commands and the progress machinery record lock events.

use crate::Worker;
use schemabot_domain::lock::LockEvent;

/// Appends `event` to its (database, environment) trail. A failure is logged, never fatal: the
/// lock change it describes has already happened.
pub(crate) async fn record(worker: &Worker, event: &LockEvent) {
    if let Err(error) = worker.store.append_lock_event(event).await {
        tracing::warn!(%error, event = %event.event, "could not record the lock event");
    }
}
