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
use crate::jobs::review_gate;
use crate::outcome::JobError;
use crate::ownership;
use crate::Worker;
use chrono::Utc;
use schemabot_aws::WriteOutcome;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::job::ApplyConfirmJob;
use schemabot_domain::lock::{
    decide_confirm_of, ConfirmDecision, ConfirmKind, Lock, LockKey, LockStage,
};
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
        None => ctx
            .lock_keys_in(&job.environment)
            .await
            .map_err(errors::store)?,
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
    let head_sha = ctx.head_sha().await?;
    let several = keys.len() > 1 || job.database.is_some();
    for key in &keys {
        let named = several.then_some(&key.database);
        let allow_unsafe = job.allow_unsafe;
        confirm_lock(ConfirmKind::Plan, &ctx, key, &head_sha, allow_unsafe, named).await?;
    }
    Ok(())
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

    /// The refusal of this confirmation on `key`, whose plan stays locked.
    fn refused(&self, key: &LockKey, reason: String, detail: Option<String>) -> LockReply {
        LockReply::Refused {
            command: self.command,
            key: key.clone(),
            reason,
            detail,
            locked: true,
            retry: self.confirm.clone(),
        }
    }

    /// The reply to a confirmation `decision` that does not go ahead, and the refusal to audit
    /// (outcome and detail) when it is one.
    fn refusal(
        &self,
        key: &LockKey,
        named: Option<&Database>,
        decision: ConfirmDecision,
        lock: Option<&Lock>,
    ) -> (LockReply, Option<(Outcome, Option<String>)>) {
        let environment = &key.environment;
        let refused = |reason: String| (self.refused(key, reason, None), None);
        match (decision, lock) {
            // `Apply` and `Register` go ahead before a refusal is asked for.
            (
                ConfirmDecision::NoLock | ConfirmDecision::Apply { .. } | ConfirmDecision::Register { .. },
                _,
            )
            | (_, None) => {
                let reply = LockReply::NoLock {
                    environment: environment.to_string(),
                    database: named.map(ToString::to_string),
                    apply: self.start.clone(),
                };
                (reply, None)
            }
            (ConfirmDecision::HeldByOther { owner }, Some(lock)) => {
                let reply = LockReply::HeldByOther {
                    command: self.command,
                    key: key.clone(),
                    owner: owner.to_string(),
                    stage: lock.stage.name().to_string(),
                    expires_at: (lock.stage == LockStage::Planned)
                        .then(|| display_time(lock.lease_expires_at)),
                    retry: self.start.clone(),
                };
                (reply, None)
            }
            (ConfirmDecision::AlreadyApplying { apply_id }, _) => {
                let reply = LockReply::ApplyInProgress {
                    command: self.command,
                    key: key.clone(),
                    apply_id: Some(apply_id.to_string()),
                    retry: self.start.clone(),
                };
                (reply, None)
            }
            (ConfirmDecision::Stale { planned, current }, _) => {
                let detail = format!("planned {planned}, head {current}");
                let reply = LockReply::Stale {
                    key: key.clone(),
                    planned,
                    current,
                    apply: apply_text(environment, named),
                };
                (reply, Some((Outcome::Stale, Some(detail))))
            }
            (ConfirmDecision::UnsafeNeedsFlag { tables }, _) => {
                let detail = tables.join(", ");
                let reply = LockReply::UnsafeNeedsFlag {
                    key: key.clone(),
                    tables,
                    confirm: confirm_text(environment, named, true),
                };
                (reply, Some((Outcome::UnsafeNeedsFlag, Some(detail))))
            }
            (ConfirmDecision::ConfirmInProgress { .. }, _) => refused(
                "Another confirmation of this plan is still starting it, so this one did nothing.".into(),
            ),
            (ConfirmDecision::OtherKind { rollback_of: Some(apply_id) }, _) => refused(format!(
                "This pull request's lock holds the rollback plan of `{apply_id}`: confirm it with `{}`, or release it with `schemabot unlock -d {}`.",
                rollback_confirm_command(environment),
                key.database
            )),
            (ConfirmDecision::OtherKind { rollback_of: None }, _) => refused(format!(
                "This pull request's lock holds its own plan, not a rollback plan: confirm it with `{}`.",
                confirm_text(environment, named, false)
            )),
        }
    }
}

/// Confirms this PR's lock on `key` holding a plan of `kind`: the PR's own plan, or a rollback
/// plan (which no push makes stale and no promotion order holds back: it puts back a schema the
/// environment already had).
pub(crate) async fn confirm_lock(
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
    let (resume, lock) = match (decision, lock) {
        (ConfirmDecision::Apply { resume }, Some(lock)) => (resume, lock),
        (ConfirmDecision::Register { apply_id }, Some(lock)) => {
            let commenter = Some(ctx.origin.commenter.clone());
            return register(worker, &lock, &apply_id, apply_id.as_str(), commenter).await;
        }
        (ConfirmDecision::ConfirmInProgress { command_id }, Some(_)) if !ctx.attempt.is_final() => {
            return Err(JobError::transient(format!(
                "another apply-confirm ({command_id}) is starting this plan"
            )));
        }
        (decision, lock) => {
            let (reply, refused) = texts.refusal(key, named, decision, lock.as_ref());
            if let Some((outcome, message)) = refused {
                ctx.audit(key, EventKind::ApplyRefused, outcome, message)
                    .await;
            }
            return ctx.reply(&part, &reply).await;
        }
    };
    if !resume
        && kind == ConfirmKind::Plan
        && ctx
            .refused_by_promotion(&part, key, &lock.plan.schema_digest)
            .await?
    {
        return Ok(());
    }

    start(ctx, key, &texts, &lock, resume).await
}

/// Moves the lock to `confirming` for this command, has Tern start the apply (by the command's
/// idempotency key) and registers it; Tern's refusal returns the lock to `planned`.
async fn start(
    ctx: &CommandContext<'_>,
    key: &LockKey,
    texts: &Texts,
    lock: &Lock,
    resume: bool,
) -> Result<(), JobError> {
    let worker = ctx.worker;
    let changed = || JobError::transient("the lock changed while confirming");
    let plan = &lock.plan;
    let settle = settle_after(worker);
    let begun = worker
        .store
        .begin_confirm(key, &ctx.owner, &plan.head_sha, ctx.job_id, resume, settle)
        .await
        .map_err(errors::store)?;
    if !begun.is_written() {
        // A re-apply or another confirm changed the lock since it was read: decide again.
        return Err(changed());
    }
    if resume {
        tracing::info!("an earlier attempt of this confirm may have started the apply; Tern answers it by its idempotency key");
    }
    // From here on a dead confirm's outcome is unknown: the sweep asks Tern (by the same
    // idempotency key) once the lease ends, instead of releasing the lock.
    let marked = worker
        .store
        .mark_confirm_call(key, ctx.job_id, Utc::now())
        .await
        .map_err(errors::store)?;
    if !marked.is_written() {
        return Err(changed());
    }
    let started = match worker.tern.apply(&apply_spec(lock, ctx.job_id)).await {
        Ok(ApplyOutcome::Accepted { apply_id }) => match ApplyId::parse(&apply_id) {
            Ok(parsed) => Ok((parsed, apply_id)),
            Err(_) => Err((
                "Tern answered with an apply id SchemaBot cannot track.",
                apply_id,
            )),
        },
        Ok(ApplyOutcome::NotAccepted { message }) => Err(("Tern refused the apply.", message)),
        Err(error) => {
            // Still `confirming`: the retry sends the same idempotency key.
            let error = errors::tern(error, "Tern Apply", !ctx.attempt.is_final())?;
            let reason = "Tern could not be reached to start the apply.";
            Err((reason, error.to_string()))
        }
    };
    let (apply_id, tern_apply_id) = match started {
        Ok(ids) => ids,
        Err((reason, detail)) => return abort(ctx, key, texts, reason, detail).await,
    };
    let applying = worker
        .store
        .mark_lock_applying(key, ctx.job_id, &apply_id, settle_after(worker))
        .await
        .map_err(errors::store)?;
    if let WriteOutcome::ConditionFailed { current } = applying {
        return Err(JobError::permanent(format!(
            "the lock of {key} left `confirming` while Tern started apply {apply_id}: {:?}",
            current.map(|l| l.stage)
        )));
    }
    ctx.audit(
        key,
        EventKind::ApplyConfirmed,
        Outcome::Applying,
        Some(format!("Tern apply {tern_apply_id}")),
    )
    .await;
    let confirmed_by = Some(ctx.origin.commenter.clone());
    register(worker, lock, &apply_id, &tern_apply_id, confirmed_by).await?;
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
    detail: String,
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
        Some(detail.clone()),
    )
    .await;
    let reply = texts.refused(key, reason.to_string(), Some(detail));
    ctx.reply(&format!("confirm:{}", key.database), &reply)
        .await
}
