//! `schemabot apply-confirm -e <env> [-d <db>] [--allow-unsafe]` (and `apply -y`): execute the
//! plan this PR locked, exactly once.
//!
//! Order: 👀 → permission (fail closed) → the PR head commit → per locked database: the pure
//! [`decide_confirm`] (owner, staleness, unsafe changes) → promotion order → a conditional write
//! moves the lock to `confirming` for this command → Tern Apply → the lock records Tern's apply
//! id (`applying`) → the apply is registered (record, tasks, progress comment, poll chain).
//!
//! Exactly once: of concurrent confirms one moves the lock from `planned` to `confirming`; the
//! others wait (another command's `confirming` is never taken over). Every attempt of one
//! command sends Tern the same idempotency key (derived from the lock and the command), so a
//! retry after a lost answer gets back the apply the first attempt started instead of a second
//! one; once `applying`, only the registration is redone, and registration is idempotent. (Two
//! attempts of one SQS message running at the same time — only if a run outlives the visibility
//! timeout — can each post a progress comment.)

use crate::errors;
use crate::jobs::lock_common::{apply_text, confirm_text, display_time, CommandContext};
use crate::jobs::permission::{self, PermissionCheck};
use crate::outcome::JobError;
use crate::progress;
use crate::Worker;
use chrono::Utc;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{ApplyMode, SchemaFiles};
use schemabot_domain::job::{ApplyConfirmJob, RegisterApplyJob, RegisterTask};
use schemabot_domain::lock::{decide_confirm, ConfirmDecision, Lock, LockKey, LockStage};
use schemabot_domain::{ApplyId, Database, TaskId};
use schemabot_render::{LockCommand, LockReply};
use schemabot_tern::{proto, ApplyOutcome, ApplySpec, Caller, TernTarget};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub async fn run(
    worker: &Worker,
    job: &ApplyConfirmJob,
    job_id: &str,
    attempt: crate::outcome::Attempt,
) -> Result<(), JobError> {
    let ctx = CommandContext::new(worker, &job.origin, job_id, attempt);
    ctx.acknowledge().await;
    if let PermissionCheck::Denied { required, actual } =
        permission::check(worker, &job.origin, &job.environment, attempt).await?
    {
        return ctx
            .permission_denied(
                LockCommand::ApplyConfirm,
                &job.environment,
                required,
                actual,
            )
            .await;
    }
    // Which locks: the named database's, or every lock this PR holds in the environment.
    let keys: Vec<LockKey> = match &job.database {
        Some(database) => vec![LockKey {
            database: database.clone(),
            environment: job.environment.clone(),
        }],
        None => worker
            .store
            .pr_lock_keys(&ctx.owner)
            .await
            .map_err(errors::store)?
            .into_iter()
            .filter(|key| key.environment == job.environment)
            .collect(),
    };
    if keys.is_empty() {
        return ctx
            .reply(
                "",
                &LockReply::NoLock {
                    environment: job.environment.to_string(),
                    database: None,
                    apply: apply_text(&job.environment, None),
                },
            )
            .await;
    }
    let head_sha = ctx
        .github
        .get_pull_request(&job.origin.repository, job.origin.pr)
        .await
        .map_err(errors::github)?
        .head_sha;
    let several = keys.len() > 1 || job.database.is_some();
    for key in &keys {
        let named = several.then_some(&key.database);
        confirm_lock(&ctx, key, &head_sha, job.allow_unsafe, named).await?;
    }
    Ok(())
}

/// Confirms this PR's lock on `key` (see the module docs).
pub(crate) async fn confirm_lock(
    ctx: &CommandContext<'_>,
    key: &LockKey,
    head_sha: &str,
    allow_unsafe: bool,
    named: Option<&Database>,
) -> Result<(), JobError> {
    let worker = ctx.worker;
    let part = format!("confirm:{}", key.database);
    let environment = &key.environment;
    let lock = worker.store.get_lock(key).await.map_err(errors::store)?;
    let decision = decide_confirm(
        lock.as_ref(),
        &ctx.owner,
        ctx.job_id,
        head_sha,
        allow_unsafe,
    );
    let lock = match (decision, lock) {
        (ConfirmDecision::NoLock, _) | (_, None) => {
            return ctx
                .reply(
                    &part,
                    &LockReply::NoLock {
                        environment: environment.to_string(),
                        database: named.map(ToString::to_string),
                        apply: apply_text(environment, named),
                    },
                )
                .await;
        }
        (ConfirmDecision::HeldByOther { owner }, Some(lock)) => {
            return ctx
                .reply(
                    &part,
                    &LockReply::HeldByOther {
                        command: LockCommand::ApplyConfirm,
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        owner: owner.to_string(),
                        stage: lock.stage.name().to_string(),
                        expires_at: (lock.stage == LockStage::Planned)
                            .then(|| display_time(lock.lease_expires_at)),
                        retry: apply_text(environment, named),
                    },
                )
                .await;
        }
        (ConfirmDecision::AlreadyApplying { apply_id }, _) => {
            return ctx
                .reply(
                    &part,
                    &LockReply::ApplyInProgress {
                        command: LockCommand::ApplyConfirm,
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        apply_id: Some(apply_id.to_string()),
                        retry: apply_text(environment, named),
                    },
                )
                .await;
        }
        (ConfirmDecision::Stale { planned, current }, _) => {
            ctx.audit(
                key,
                "apply_refused",
                "stale",
                Some(format!("planned {planned}, head {current}")),
            )
            .await;
            return ctx
                .reply(
                    &part,
                    &LockReply::Stale {
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        planned,
                        current,
                        apply: apply_text(environment, named),
                    },
                )
                .await;
        }
        (ConfirmDecision::UnsafeNeedsFlag { tables }, _) => {
            ctx.audit(
                key,
                "apply_refused",
                "unsafe_needs_flag",
                Some(tables.join(", ")),
            )
            .await;
            return ctx
                .reply(
                    &part,
                    &LockReply::UnsafeNeedsFlag {
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        tables,
                        confirm: confirm_text(environment, named, true),
                    },
                )
                .await;
        }
        (ConfirmDecision::ConfirmInProgress { command_id }, _) => {
            if !ctx.attempt.is_final() {
                return Err(JobError::transient(format!(
                    "another apply-confirm ({command_id}) is starting this plan"
                )));
            }
            return ctx
                .reply(
                    &part,
                    &LockReply::Refused {
                        command: LockCommand::ApplyConfirm,
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        reason: "Another `apply-confirm` of this plan is still starting it, so this one did nothing.".into(),
                        detail: None,
                        locked: true,
                        retry: confirm_text(environment, named, false),
                    },
                )
                .await;
        }
        (ConfirmDecision::Register { apply_id }, Some(lock)) => {
            return register(ctx, &lock, &apply_id, apply_id.as_str()).await;
        }
        (ConfirmDecision::Apply { resume }, Some(lock)) => {
            if !resume {
                if let Some(required) = ctx.unmet_promotion(key, &lock.plan.schema_digest).await? {
                    ctx.audit(key, "apply_refused", "promotion_required", None)
                        .await;
                    return ctx.reply(&part, &ctx.promotion_reply(key, &required)).await;
                }
            }
            (resume, lock)
        }
    };
    let (resume, lock) = lock;

    match worker
        .store
        .begin_confirm(key, &ctx.owner, &lock.plan.head_sha, ctx.job_id, resume)
        .await
        .map_err(errors::store)?
    {
        WriteOutcome::Written(()) => {}
        WriteOutcome::ConditionFailed { .. } => {
            // A re-apply or another confirm changed the lock since it was read: decide again.
            return Err(JobError::transient("the lock changed while confirming"));
        }
    }

    if resume {
        tracing::info!("an earlier attempt of this confirm may have started the apply; Tern answers it by its idempotency key");
    }
    let tern_apply_id = match worker.tern.apply(&apply_spec(ctx, &lock)).await {
        Ok(ApplyOutcome::Accepted { apply_id }) => apply_id,
        Ok(ApplyOutcome::NotAccepted { message }) => {
            return abort(ctx, key, named, "Tern refused the apply.", Some(message)).await
        }
        Err(error) => {
            errors::tern_failed();
            if error.is_transient() && !ctx.attempt.is_final() {
                // Still `confirming`: the retry sends the same idempotency key.
                return Err(JobError::transient(format!("Tern Apply: {error}")));
            }
            return abort(
                ctx,
                key,
                named,
                "Tern could not be reached to start the apply.",
                Some(error.to_string()),
            )
            .await;
        }
    };
    let Ok(apply_id) = ApplyId::parse(&tern_apply_id) else {
        return abort(
            ctx,
            key,
            named,
            "Tern answered with an apply id SchemaBot cannot track.",
            Some(tern_apply_id),
        )
        .await;
    };
    match worker
        .store
        .mark_lock_applying(key, ctx.job_id, &apply_id)
        .await
        .map_err(errors::store)?
    {
        WriteOutcome::Written(()) => {}
        WriteOutcome::ConditionFailed { current } => {
            return Err(JobError::permanent(format!(
                "the lock of {key} left `confirming` while Tern started apply {apply_id}: {:?}",
                current.map(|l| l.stage)
            )));
        }
    }
    ctx.audit(
        key,
        "apply_confirmed",
        "applying",
        Some(format!("Tern apply {tern_apply_id}")),
    )
    .await;
    register(ctx, &lock, &apply_id, &tern_apply_id).await?;
    ctx.count("applied");
    Ok(())
}

/// Tern refused (or is unreachable on the final attempt): the lock goes back to `planned` for
/// this PR and the reply says why.
async fn abort(
    ctx: &CommandContext<'_>,
    key: &LockKey,
    named: Option<&Database>,
    reason: &str,
    detail: Option<String>,
) -> Result<(), JobError> {
    if let WriteOutcome::ConditionFailed { current } = ctx
        .worker
        .store
        .abort_confirm(key, ctx.job_id)
        .await
        .map_err(errors::store)?
    {
        tracing::warn!(stage = ?current.map(|l| l.stage), "could not return the lock to planned");
    }
    ctx.audit(key, "apply_refused", "tern_refused", detail.clone())
        .await;
    ctx.reply(
        &format!("confirm:{}", key.database),
        &LockReply::Refused {
            command: LockCommand::ApplyConfirm,
            database: key.database.to_string(),
            environment: key.environment.to_string(),
            reason: reason.to_string(),
            detail,
            locked: true,
            retry: confirm_text(&key.environment, named, false),
        },
    )
    .await
}

fn apply_spec(ctx: &CommandContext<'_>, lock: &Lock) -> ApplySpec {
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
            repository: ctx.origin.repository.to_string(),
            pr: ctx.origin.pr.0,
        }
        .to_string(),
        idempotency_key: idempotency_key(lock, ctx.job_id),
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

/// Brings the apply Tern accepted into SchemaBot, from here carried by the progress machinery.
async fn register(
    ctx: &CommandContext<'_>,
    lock: &Lock,
    apply_id: &ApplyId,
    tern_apply_id: &str,
) -> Result<(), JobError> {
    let worker = ctx.worker;
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
        requested_by: Some(ctx.origin.commenter.clone()),
        started_at: Utc::now(),
        tasks,
        desired_schema: desired_schema(lock),
    };
    Box::pin(progress::register::run(worker, &job, ctx.attempt)).await
}
