//! Starting a locked plan on Tern and bringing the apply into SchemaBot: what `apply-confirm`
//! does, and what the sweep redoes for a confirm that died (the idempotency key makes Tern
//! return the apply the first call started instead of a second one).

use crate::errors;
use crate::outcome::JobError;
use crate::progress;
use crate::Worker;
use chrono::Utc;
use schemabot_domain::apply::{ApplyMode, SchemaFiles};
use schemabot_domain::job::{RegisterApplyJob, RegisterTask};
use schemabot_domain::lock::Lock;
use schemabot_domain::rollback::RollbackSource;
use schemabot_domain::{ApplyId, Login, TaskId};
use schemabot_tern::{proto, ApplySpec, Caller, TernTarget};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What Tern's Apply is asked for a locked plan by the confirm `command_id`: the same request
/// (and idempotency key) from every attempt, and from the sweep settling a dead confirm.
pub(crate) fn apply_spec(lock: &Lock, command_id: &str) -> ApplySpec {
    let plan = &lock.plan;
    let change_type = |name: &str| match name {
        "create" => proto::ChangeType::Create,
        "alter" => proto::ChangeType::Alter,
        "drop" => proto::ChangeType::Drop,
        "vschema" => proto::ChangeType::Vschema,
        _ => proto::ChangeType::Other,
    } as i32;
    ApplySpec {
        deployment: plan.deployment.clone(),
        environment: lock.key.environment.to_string(),
        database: lock.key.database.to_string(),
        database_type: plan.database_type.clone(),
        plan_id: plan.plan_id.clone(),
        ddl_changes: plan
            .changes
            .iter()
            .map(|c| proto::TableChange {
                table_name: c.table.clone(),
                ddl: c.ddl.clone(),
                change_type: change_type(&c.change),
                namespace: c.namespace.clone(),
                is_unsafe: c.unsafe_reason.is_some(),
                unsafe_reason: c.unsafe_reason.clone().unwrap_or_default(),
            })
            .collect(),
        defer_cutover: plan.flags.defer_cutover,
        allow_unsafe: plan.flags.allow_unsafe || plan.unsafe_changes().next().is_some(),
        skip_revert: plan.flags.skip_revert,
        schema_files: desired_schema(lock),
        caller: Caller::PullRequest {
            repository: lock.owner.repository.to_string(),
            pr: lock.owner.pr.0,
        }
        .to_string(),
        idempotency_key: idempotency_key(lock, command_id),
    }
}

/// The schema the lock's plan wants, by namespace (the database's own schema).
fn desired_schema(lock: &Lock) -> SchemaFiles {
    BTreeMap::from([(
        lock.key.database.to_string(),
        lock.plan.schema_files.clone(),
    )])
}

/// The same for every attempt of one confirm command of one plan, different for anything else:
/// Tern starts at most one apply per key.
pub fn idempotency_key(lock: &Lock, job_id: &str) -> String {
    let identity = format!(
        "{}#{}|{}|{}|{}|{}",
        lock.owner.repository,
        lock.owner.pr,
        lock.key.database,
        lock.key.environment,
        lock.plan.schema_digest,
        job_id
    );
    let digest = Sha256::digest(identity.as_bytes());
    format!("schemabot-confirm-{}", hex::encode(&digest[..16]))
}

/// Brings the apply Tern accepted into SchemaBot, from here carried by the progress machinery,
/// and takes the lock off the sweep's list (it now follows the apply). `requested_by` is who
/// confirmed, when known.
pub(crate) async fn register(
    worker: &Worker,
    lock: &Lock,
    apply_id: &ApplyId,
    tern_apply_id: &str,
    requested_by: Option<Login>,
) -> Result<(), JobError> {
    let target = TernTarget::new(
        lock.plan.deployment.clone(),
        lock.key.environment.to_string(),
        tern_apply_id,
    );
    let report = worker.tern.progress(&target).await.map_err(|error| {
        errors::tern_failed();
        JobError::transient(format!("Tern Progress (registering {apply_id}): {error}"))
    })?;
    let hex = apply_id
        .as_str()
        .trim_start_matches("apply-")
        .trim_start_matches("apply_");
    // Tern's task ids when it lists the tables (it does right after Apply); otherwise ids
    // derived from the apply, the same on every attempt.
    let tasks: Vec<RegisterTask> = if report.tables.is_empty() {
        lock.plan
            .changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                Some(RegisterTask {
                    task_id: TaskId::parse(&format!("task-{hex}{i:04x}")).ok()?,
                    namespace: c.namespace.clone(),
                    table: c.table.clone(),
                    ddl: c.ddl.clone(),
                })
            })
            .collect()
    } else {
        report
            .tables
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let task_id = TaskId::parse(&t.task_id)
                    .or_else(|_| TaskId::parse(&format!("task-{hex}{i:04x}")))
                    .ok()?;
                Some(RegisterTask {
                    task_id,
                    namespace: if t.namespace.is_empty() {
                        lock.key.database.to_string()
                    } else {
                        t.namespace.clone()
                    },
                    table: t.table_name.clone(),
                    ddl: t.ddl.clone(),
                })
            })
            .collect()
    };
    let job = RegisterApplyJob {
        apply_id: apply_id.clone(),
        tern_apply_id: tern_apply_id.to_string(),
        repository: lock.owner.repository.clone(),
        pr: lock.owner.pr,
        installation_id: lock.installation_id,
        database: lock.key.database.clone(),
        database_type: lock.plan.database_type.clone(),
        deployment: lock.plan.deployment.clone(),
        environment: lock.key.environment.clone(),
        // Spirit alters the database's own schema; that is where its sentinel lives.
        target_schema: lock.key.database.to_string(),
        mode: if lock.plan.flags.defer_cutover {
            ApplyMode::Atomic
        } else {
            ApplyMode::Sequential
        },
        defer_cutover: lock.plan.flags.defer_cutover,
        requested_by,
        started_at: Utc::now(),
        tasks,
        desired_schema: desired_schema(lock),
        rollback_of: lock.plan.rollback_of.clone(),
    };
    // Recorded first: Tern runs the apply whether or not the registration below gets through
    // (a GitHub outage fails it), and a rollback of an earlier apply must see this one.
    record_rollback_source(worker, lock, apply_id).await?;
    Box::pin(progress::register::run(worker, &job)).await?;
    if let Err(error) = worker.store.lock_settled(&lock.key, apply_id).await {
        // The sweep finds the apply registered and settles the lease then.
        tracing::warn!(%error, "could not take the lock off the settle list");
    }
    Ok(())
}

/// Records the apply as the latest on its database and environment, with the schema the plan
/// captured before it (what `rollback` checks and plans back to). A rollback plan's own
/// originals are recorded the same way, so a rollback can itself be rolled back.
pub(crate) async fn record_rollback_source(
    worker: &Worker,
    lock: &Lock,
    apply_id: &ApplyId,
) -> Result<(), JobError> {
    let source = RollbackSource {
        key: lock.key.clone(),
        apply_id: apply_id.clone(),
        owner: lock.owner.clone(),
        deployment: lock.plan.deployment.clone(),
        database_type: lock.plan.database_type.clone(),
        original_files: lock.plan.original_files.clone(),
        rollback_of: lock.plan.rollback_of.clone(),
        registered_at: lock.acquired_at,
    };
    if !worker
        .store
        .record_rollback_source(&source)
        .await
        .map_err(errors::store)?
    {
        tracing::info!("a later apply is already recorded as the latest; kept it");
    }
    Ok(())
}
