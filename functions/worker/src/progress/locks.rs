//! An apply that ends releases the (database, environment) lock its `apply-confirm` took, and a
//! completed one records the schema it applied, which later environments of the promotion
//! order check. Idempotent: a lock that is not this apply's is left alone.

use crate::progress::ProgressError;
use crate::Worker;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::lock::{LockEvent, LockKey, LockOwner};
use schemabot_domain::State;

pub async fn release_on_end(
    worker: &Worker,
    apply: &Apply,
    ended_in: State,
    now: DateTime<Utc>,
) -> Result<(), ProgressError> {
    let key = LockKey {
        database: apply.database.clone(),
        environment: apply.environment.clone(),
    };
    let owner = LockOwner {
        repository: apply.repository.clone(),
        pr: apply.pr,
    };
    let completed = ended_in == State::Completed;
    let released = worker
        .store
        .release_lock_of_apply(&key, &owner, &apply.id, completed, now)
        .await?;
    if released {
        tracing::info!(apply_id = %apply.id, lock = %key, state = %ended_in, "lock released: the apply ended");
        let event = LockEvent {
            key,
            at: now,
            event: EventKind::LockReleased,
            actor: "schemabot".into(),
            owner,
            delivery_id: None,
            outcome: Outcome::ended_in(ended_in),
            message: Some(format!("apply {} ended", apply.id)),
        };
        crate::lock_audit::record(worker, &event).await;
    }
    Ok(())
}
