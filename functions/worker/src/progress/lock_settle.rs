//! Settling `confirming`/`applying` locks whose confirm stopped (the worker died, or every
//! attempt ran out) once their lease ends, from evidence:
//!
//! * a confirm that never began its Tern call started nothing: the lock is released and the PR
//!   told;
//! * one that did may have started the apply: Tern's Apply with the same idempotency key
//!   returns that apply (or, if the call never landed, starts the change the PR confirmed —
//!   once). The apply is registered (progress comment, poll chain) and the lock follows it;
//!   a refusal puts the lock back to `planned` and tells the PR;
//! * an `applying` lock whose apply was never registered is registered from Tern's report; one
//!   whose apply is tracked just leaves the list.

use crate::apply_start::{apply_spec, record_rollback_source, register};
use crate::errors;
use crate::jobs::lock_common::{apply_text, confirm_text};
use crate::outcome::JobError;
use crate::post::ReplyTo;
use crate::Worker;
use chrono::Utc;
use schemabot_aws::store::LockToSettle;
use schemabot_aws::WriteOutcome;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::lock::{Lock, LockEvent, LockStage};
use schemabot_domain::ApplyId;
use schemabot_render::{render_lock_reply, LockCommand, LockReply};
use schemabot_tern::ApplyOutcome;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// What one settling round did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LockSettleReport {
    /// Locks whose lease had ended.
    pub due: usize,
    /// Released: their confirm never called Tern.
    pub released: usize,
    /// Applies adopted (registered) for their lock.
    pub adopted: usize,
    /// Back to `planned`: Tern refused the confirmed plan.
    pub refused: usize,
    /// Their apply was tracked already.
    pub tracked: usize,
    /// Left for the next round (Tern unreachable, a write lost to a concurrent change).
    pub errors: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Released,
    Adopted,
    Refused,
    Tracked,
    /// Changed by someone else meanwhile: nothing to do.
    Moved,
}

/// When this process last looked for locks to settle, per state table. Leases are minutes long,
/// so one look every `lock_settle_interval` is enough, and the sweeps in between skip the query.
static LAST_LOOK: Mutex<Option<HashMap<String, Instant>>> = Mutex::new(None);

fn due(worker: &Worker) -> bool {
    let now = Instant::now();
    let mut last = LAST_LOOK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let looks = last.get_or_insert_with(HashMap::new);
    let table = &worker.config.table;
    if looks
        .get(table)
        .is_some_and(|at| now.duration_since(*at) < worker.config.lock_settle_interval)
    {
        return false;
    }
    looks.insert(table.clone(), now);
    true
}

pub async fn run(worker: &Worker) -> LockSettleReport {
    let mut report = LockSettleReport::default();
    if !due(worker) {
        return report;
    }
    let due = match worker.store.locks_to_settle(Utc::now()).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, "could not list the locks to settle");
            report.errors += 1;
            return report;
        }
    };
    report.due = due.len();
    for candidate in due {
        let key = candidate.lock.key.clone();
        match Box::pin(settle_one(worker, candidate)).await {
            Ok(Settled::Released) => report.released += 1,
            Ok(Settled::Adopted) => report.adopted += 1,
            Ok(Settled::Refused) => report.refused += 1,
            Ok(Settled::Tracked) => report.tracked += 1,
            Ok(Settled::Moved) => {}
            Err(error) => {
                tracing::warn!(%error, lock = %key, "could not settle the lock; next sweep");
                report.errors += 1;
            }
        }
    }
    if report.due > 0 {
        tracing::info!(?report, "locks with an ended lease settled");
    }
    report
}

async fn settle_one(worker: &Worker, candidate: LockToSettle) -> Result<Settled, JobError> {
    let lock = &candidate.lock;
    match &lock.stage {
        LockStage::Planned => Ok(Settled::Moved),
        LockStage::Confirming { command_id } if candidate.apply_called_at.is_none() => {
            release_unstarted(worker, lock, command_id).await
        }
        LockStage::Confirming { command_id } => adopt_confirm(worker, lock, command_id).await,
        LockStage::Applying { apply_id, .. } => {
            if worker
                .store
                .get_apply(apply_id)
                .await
                .map_err(errors::store)?
                .is_some()
            {
                // Registered, perhaps only partly: make sure a rollback sees it as the latest.
                record_rollback_source(worker, lock, apply_id).await?;
                worker
                    .store
                    .lock_settled(&lock.key, apply_id)
                    .await
                    .map_err(errors::store)?;
                return Ok(Settled::Tracked);
            }
            adopt(worker, lock, apply_id, apply_id.as_str()).await
        }
    }
}

/// Registers the apply Tern started for the lock (progress comment, poll chain).
async fn adopt(
    worker: &Worker,
    lock: &Lock,
    apply_id: &ApplyId,
    tern_apply_id: &str,
) -> Result<Settled, JobError> {
    register(worker, lock, apply_id, tern_apply_id, None).await?;
    audit(
        worker,
        lock,
        EventKind::LockSettled,
        Outcome::Adopted,
        Some(apply_id),
    )
    .await;
    Ok(Settled::Adopted)
}

/// The confirm stopped before calling Tern: nothing was started.
async fn release_unstarted(
    worker: &Worker,
    lock: &Lock,
    command_id: &str,
) -> Result<Settled, JobError> {
    if !worker
        .store
        .release_unstarted_confirm(&lock.key, command_id, Utc::now())
        .await
        .map_err(errors::store)?
        .is_written()
    {
        return Ok(Settled::Moved);
    }
    audit(
        worker,
        lock,
        EventKind::LockReleased,
        Outcome::ConfirmNeverStarted,
        None,
    )
    .await;
    tell(
        worker,
        lock,
        command_id,
        "The `apply-confirm` stopped before it reached Tern, so nothing was started and the lock was released.",
        false,
    )
    .await?;
    Ok(Settled::Released)
}

/// The confirm called Tern and stopped: Tern answers by the idempotency key.
async fn adopt_confirm(
    worker: &Worker,
    lock: &Lock,
    command_id: &str,
) -> Result<Settled, JobError> {
    let tern_apply_id = match worker.tern.apply(&apply_spec(lock, command_id)).await {
        Ok(ApplyOutcome::Accepted { apply_id }) => apply_id,
        Ok(ApplyOutcome::NotAccepted { message }) => {
            if let WriteOutcome::ConditionFailed { .. } = worker
                .store
                .abort_confirm(&lock.key, command_id)
                .await
                .map_err(errors::store)?
            {
                return Ok(Settled::Moved);
            }
            audit(
                worker,
                lock,
                EventKind::ApplyRefused,
                Outcome::TernRefused,
                None,
            )
            .await;
            tell(
                worker,
                lock,
                command_id,
                &format!("The `apply-confirm` stopped, and Tern refused the plan when SchemaBot asked again: {message}"),
                true,
            )
            .await?;
            return Ok(Settled::Refused);
        }
        Err(error) => {
            errors::tern_failed();
            return Err(JobError::transient(format!(
                "Tern Apply (settling {}): {error}",
                lock.key
            )));
        }
    };
    let apply_id = ApplyId::parse(&tern_apply_id).map_err(|e| {
        JobError::permanent(format!(
            "Tern answered an apply id SchemaBot cannot track: {e}"
        ))
    })?;
    let settle_after = crate::jobs::confirm::settle_after(worker);
    if let WriteOutcome::ConditionFailed { .. } = worker
        .store
        .mark_lock_applying(&lock.key, command_id, &apply_id, settle_after)
        .await
        .map_err(errors::store)?
    {
        return Ok(Settled::Moved);
    }
    adopt(worker, lock, &apply_id, &tern_apply_id).await
}

async fn audit(
    worker: &Worker,
    lock: &Lock,
    event: EventKind,
    outcome: Outcome,
    apply_id: Option<&ApplyId>,
) {
    let event = LockEvent {
        key: lock.key.clone(),
        at: Utc::now(),
        event,
        actor: "schemabot".to_string(),
        owner: lock.owner.clone(),
        delivery_id: None,
        outcome,
        message: apply_id.map(|id| format!("apply {id}")),
    };
    crate::lock_audit::record(worker, &event).await;
}

/// Tells the lock's PR what happened to its confirm, once.
async fn tell(
    worker: &Worker,
    lock: &Lock,
    command_id: &str,
    reason: &str,
    still_locked: bool,
) -> Result<(), JobError> {
    let (environment, database) = (&lock.key.environment, Some(&lock.key.database));
    let retry = if still_locked {
        confirm_text(environment, database, false)
    } else {
        apply_text(environment, database)
    };
    let reply = LockReply::Refused {
        command: LockCommand::ApplyConfirm,
        key: lock.key.clone(),
        reason: reason.to_string(),
        detail: None,
        locked: still_locked,
        retry,
    };
    let marker_id = format!("lock-settle:{command_id}:{}", lock.key);
    let body = render_lock_reply(&reply, &marker_id).map_err(errors::render)?;
    let owner = &lock.owner;
    ReplyTo::new(worker, lock.installation_id, &owner.repository, owner.pr)
        .post_once(&worker.store, &marker_id, &body)
        .await
        .map(drop)
}
