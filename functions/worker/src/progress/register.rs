//! The register-apply job: how an apply Tern accepted enters SchemaBot. It stores the apply
//! and its tasks, posts the PR's progress comment and starts the apply's poll chain. Each step
//! finds what an earlier run of the same job did, so redeliveries and crashes are harmless.

use crate::errors;
use crate::outcome::JobError;
use crate::post::ReplyTo;
use crate::progress::comments::{progress_body, progress_hash, progress_record};
use crate::progress::poll::continue_chain;
use crate::Worker;
use chrono::{DateTime, Utc};
use schemabot_aws::store::ApplySnapshot;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, AuditEvent, CommentKind, Task};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::RegisterApplyJob;
use schemabot_domain::State;
use schemabot_render::marker::tracked;

pub async fn run(worker: &Worker, job: &RegisterApplyJob) -> Result<(), JobError> {
    let now = Utc::now();
    let (apply, tasks) = records_of(job, now);
    let event = AuditEvent {
        apply_id: apply.id.clone(),
        at: now,
        event: EventKind::ApplyRegistered,
        actor: job
            .requested_by
            .as_ref()
            .map_or_else(|| "schemabot".to_string(), |login| login.0.clone()),
        delivery_id: None,
        from_state: None,
        to_state: Some(apply.state),
        outcome: Outcome::Registered,
        message: Some(format!(
            "{} table(s), Tern apply {}",
            tasks.len(),
            job.tern_apply_id
        )),
    };
    match worker
        .store
        .create_apply(&apply, &tasks, &event)
        .await
        .map_err(errors::store)?
    {
        WriteOutcome::Written(_) => tracing::info!(apply_id = %apply.id, "apply registered"),
        WriteOutcome::ConditionFailed {
            current: Some(existing),
        } if existing.tern_apply_id == job.tern_apply_id => {
            tracing::info!(apply_id = %apply.id, "apply already registered (redelivery)");
        }
        WriteOutcome::ConditionFailed { current } => {
            return Err(JobError::permanent(format!(
                "apply {} exists for another Tern apply ({:?}) or one of its task ids is taken",
                apply.id,
                current.map(|a| a.tern_apply_id)
            )));
        }
    }

    let snapshot = worker
        .store
        .load_snapshot(&apply.id)
        .await
        .map_err(errors::store)?
        .ok_or_else(|| {
            JobError::transient(format!("apply {} not readable after creating it", apply.id))
        })?;
    post_progress_comment(worker, &snapshot, now).await?;

    // Link 0 → 1: only the first run starts the chain (a redelivery finds it started).
    continue_chain(worker, &apply.id, 0).await?;
    Ok(())
}

/// Posts and records the progress comment unless it is recorded already. Posted once per apply
/// (an earlier attempt may have posted it before failing: see `post_once`).
async fn post_progress_comment(
    worker: &Worker,
    snapshot: &ApplySnapshot,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    if snapshot.comment(CommentKind::Progress).is_some() {
        return Ok(());
    }
    let ApplySnapshot { apply, tasks, .. } = snapshot;
    // A new apply was never stopped: no resume deadline.
    let body = progress_body(apply, tasks, None, now)?;
    let hash = progress_hash(apply, tasks, None)?;
    let marker_id = tracked(&apply.id, CommentKind::Progress);
    let comment_id = ReplyTo::new(worker, apply.installation_id, &apply.repository, apply.pr)
        .post_once(&worker.store, &marker_id, &body)
        .await?;
    let record = progress_record(apply, comment_id, hash, now);
    if let WriteOutcome::ConditionFailed { current } = worker
        .store
        .put_comment_record(&record)
        .await
        .map_err(errors::store)?
    {
        tracing::warn!(
            apply_id = %apply.id,
            recorded = ?current.map(|c| c.comment_id.0),
            posted = comment_id.0,
            "a progress comment was recorded concurrently"
        );
    }
    Ok(())
}

/// The apply and task records a registration creates: `pending` until the first
/// reconciliation reads Tern.
pub fn records_of(job: &RegisterApplyJob, now: DateTime<Utc>) -> (Apply, Vec<Task>) {
    let apply = Apply {
        id: job.apply_id.clone(),
        tern_apply_id: job.tern_apply_id.clone(),
        repository: job.repository.clone(),
        pr: job.pr,
        installation_id: job.installation_id,
        database: job.database.clone(),
        database_type: job.database_type.clone(),
        deployment: job.deployment.clone(),
        environment: job.environment.clone(),
        target_schema: job.target_schema.clone(),
        state: State::Pending,
        version: 1,
        mode: job.mode,
        defer_cutover: job.defer_cutover,
        requested_by: job.requested_by.clone(),
        created_at: now,
        started_at: Some(job.started_at),
        completed_at: None,
        error_message: None,
        claim: None,
        cutover_triggered_by: None,
        cutover_triggered_at: None,
        desired_schema: job.desired_schema.clone(),
        rollback_of: job.rollback_of.clone(),
    };
    let tasks = job
        .tasks
        .iter()
        .map(|task| Task {
            apply_id: job.apply_id.clone(),
            task_id: task.task_id.clone(),
            namespace: task.namespace.clone(),
            table: task.table.clone(),
            ddl: task.ddl.clone(),
            state: State::Pending,
            version: 1,
            ready_to_complete: false,
            rows_copied: 0,
            rows_total: 0,
            percent: 0,
            eta_seconds: None,
            error_message: None,
            started_at: None,
            completed_at: None,
            engine_silent_since: None,
            checksum: None,
        })
        .collect();
    (apply, tasks)
}
