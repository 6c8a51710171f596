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

use crate::apply_start::{apply_spec, register};
use crate::errors;
use crate::jobs::lock_common::{apply_text, confirm_text, display_time, CommandContext};
use crate::jobs::permission::PermissionCheck;
use crate::jobs::review_gate;
use crate::outcome::JobError;
use crate::ownership;
use crate::Worker;
use chrono::Utc;
use schemabot_aws::WriteOutcome;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::job::ApplyConfirmJob;
use schemabot_domain::lock::{decide_confirm_of, ConfirmDecision, ConfirmKind, LockKey, LockStage};
use schemabot_domain::{ApplyId, Database, Environment};
use schemabot_render::{rollback_confirm_command, LockCommand, LockReply};
use schemabot_tern::ApplyOutcome;

pub async fn run(
    worker: &Worker,
    job: &ApplyConfirmJob,
    job_id: &str,
    attempt: crate::outcome::Attempt,
) -> Result<(), JobError> {
    let ctx = CommandContext::new(worker, &job.origin, job_id, attempt);
    ctx.acknowledge().await;
    if let PermissionCheck::Denied { required, actual } = ctx.authorize(&job.environment).await? {
        return ctx
            .permission_denied(
                LockCommand::ApplyConfirm,
                &job.environment,
                required,
                actual,
            )
            .await;
    }
    let flags = ApplyFlags {
        allow_unsafe: job.allow_unsafe,
        ..ApplyFlags::default()
    };
    let database = job.database.as_ref();
    if review_gate::refused(
        &ctx,
        LockCommand::ApplyConfirm,
        &job.environment,
        database,
        flags,
    )
    .await?
    {
        return Ok(());
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
    confirm_lock_of(ConfirmKind::Plan, ctx, key, head_sha, allow_unsafe, named).await
}

/// What a confirmation of `kind` answers as, and suggests running next.
struct Texts {
    command: LockCommand,
    /// What to run when there is no plan to confirm.
    start: String,
    /// The confirmation itself, to run again.
    confirm: String,
}

impl Texts {
    fn of(kind: ConfirmKind, environment: &Environment, named: Option<&Database>) -> Self {
        match kind {
            ConfirmKind::Plan => Texts {
                command: LockCommand::ApplyConfirm,
                start: apply_text(environment, named),
                confirm: confirm_text(environment, named, false),
            },
            ConfirmKind::Rollback => Texts {
                command: LockCommand::RollbackConfirm,
                start: format!("schemabot rollback <apply-id> -e {environment}"),
                confirm: rollback_confirm_command(environment),
            },
        }
    }
}

/// Confirms this PR's lock on `key` holding a plan of `kind`: the PR's own plan, or a rollback
/// plan (which no push makes stale and no promotion order holds back: it puts back a schema the
/// environment already had).
pub(crate) async fn confirm_lock_of(
    kind: ConfirmKind,
    ctx: &CommandContext<'_>,
    key: &LockKey,
    head_sha: &str,
    allow_unsafe: bool,
    named: Option<&Database>,
) -> Result<(), JobError> {
    let worker = ctx.worker;
    let texts = Texts::of(kind, &key.environment, named);
    let part = format!("confirm:{}", key.database);
    let environment = &key.environment;
    // Checked again at confirm: the configuration may have changed since the plan was locked.
    if let Err(refusal) = ownership::check(
        worker,
        key.database.as_str(),
        &key.database,
        environment,
        &ctx.owner.repository,
        None,
    ) {
        return ctx.refuse_not_owned(&part, &refusal).await;
    }
    let lock = worker.store.get_lock(key).await.map_err(errors::store)?;
    let decision = decide_confirm_of(
        kind,
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
                        apply: texts.start.clone(),
                    },
                )
                .await;
        }
        (ConfirmDecision::HeldByOther { owner }, Some(lock)) => {
            return ctx
                .reply(
                    &part,
                    &LockReply::HeldByOther {
                        command: texts.command,
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        owner: owner.to_string(),
                        stage: lock.stage.name().to_string(),
                        expires_at: (lock.stage == LockStage::Planned)
                            .then(|| display_time(lock.lease_expires_at)),
                        retry: texts.start.clone(),
                    },
                )
                .await;
        }
        (ConfirmDecision::AlreadyApplying { apply_id }, _) => {
            return ctx
                .reply(
                    &part,
                    &LockReply::ApplyInProgress {
                        command: texts.command,
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        apply_id: Some(apply_id.to_string()),
                        retry: texts.start.clone(),
                    },
                )
                .await;
        }
        (ConfirmDecision::Stale { planned, current }, _) => {
            ctx.audit(
                key,
                EventKind::ApplyRefused,
                Outcome::Stale,
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
                EventKind::ApplyRefused,
                Outcome::UnsafeNeedsFlag,
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
                        command: texts.command,
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        reason: "Another confirmation of this plan is still starting it, so this one did nothing.".into(),
                        detail: None,
                        locked: true,
                        retry: texts.confirm.clone(),
                    },
                )
                .await;
        }
        (ConfirmDecision::Register { apply_id }, Some(lock)) => {
            return register(
                worker,
                &lock,
                &apply_id,
                apply_id.as_str(),
                Some(ctx.origin.commenter.clone()),
            )
            .await;
        }
        (ConfirmDecision::OtherKind { rollback_of }, _) => {
            let reason = match rollback_of {
                Some(apply_id) => format!(
                    "This pull request's lock holds the rollback plan of `{apply_id}`: confirm it with `{}`, or release it with `schemabot unlock -d {}`.",
                    rollback_confirm_command(environment),
                    key.database
                ),
                None => format!(
                    "This pull request's lock holds its own plan, not a rollback plan: confirm it with `{}`.",
                    confirm_text(environment, named, false)
                ),
            };
            return ctx
                .reply(
                    &part,
                    &LockReply::Refused {
                        command: texts.command,
                        database: key.database.to_string(),
                        environment: environment.to_string(),
                        reason,
                        detail: None,
                        locked: true,
                        retry: texts.confirm.clone(),
                    },
                )
                .await;
        }
        (ConfirmDecision::Apply { resume }, Some(lock)) => {
            if !resume && kind == ConfirmKind::Plan {
                if let Some(required) = ctx.unmet_promotion(key, &lock.plan.schema_digest).await? {
                    ctx.audit(
                        key,
                        EventKind::ApplyRefused,
                        Outcome::PromotionRequired,
                        None,
                    )
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
        .begin_confirm(
            key,
            &ctx.owner,
            &lock.plan.head_sha,
            ctx.job_id,
            resume,
            settle_after(worker),
        )
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
    // From here on a dead confirm's outcome is unknown: the sweep asks Tern (by the same
    // idempotency key) once the lease ends, instead of releasing the lock.
    if let WriteOutcome::ConditionFailed { .. } = worker
        .store
        .mark_confirm_call(key, ctx.job_id, Utc::now())
        .await
        .map_err(errors::store)?
    {
        return Err(JobError::transient("the lock changed while confirming"));
    }
    let tern_apply_id = match worker.tern.apply(&apply_spec(&lock, ctx.job_id)).await {
        Ok(ApplyOutcome::Accepted { apply_id }) => apply_id,
        Ok(ApplyOutcome::NotAccepted { message }) => {
            return abort(ctx, key, &texts, "Tern refused the apply.", Some(message)).await
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
                &texts,
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
            &texts,
            "Tern answered with an apply id SchemaBot cannot track.",
            Some(tern_apply_id),
        )
        .await;
    };
    match worker
        .store
        .mark_lock_applying(key, ctx.job_id, &apply_id, settle_after(worker))
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
        EventKind::ApplyConfirmed,
        Outcome::Applying,
        Some(format!("Tern apply {tern_apply_id}")),
    )
    .await;
    register(
        worker,
        &lock,
        &apply_id,
        &tern_apply_id,
        Some(ctx.origin.commenter.clone()),
    )
    .await?;
    ctx.count(&Outcome::Applied);
    Ok(())
}

/// When a `confirming`/`applying` lock whose confirm stopped is settled by the sweep.
pub(crate) fn settle_after(worker: &Worker) -> chrono::DateTime<Utc> {
    Utc::now()
        + chrono::TimeDelta::from_std(worker.config.confirm_lease)
            .unwrap_or(chrono::TimeDelta::minutes(10))
}

/// Tern refused (or is unreachable on the final attempt): the lock goes back to `planned` for
/// this PR and the reply says why.
async fn abort(
    ctx: &CommandContext<'_>,
    key: &LockKey,
    texts: &Texts,
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
    ctx.audit(
        key,
        EventKind::ApplyRefused,
        Outcome::TernRefused,
        detail.clone(),
    )
    .await;
    ctx.reply(
        &format!("confirm:{}", key.database),
        &LockReply::Refused {
            command: texts.command,
            database: key.database.to_string(),
            environment: key.environment.to_string(),
            reason: reason.to_string(),
            detail,
            locked: true,
            retry: texts.confirm.clone(),
        },
    )
    .await
}
