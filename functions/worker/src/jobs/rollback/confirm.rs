//! `schemabot rollback-confirm -e <env>`: apply the rollback plan this PR locked in the
//! environment, exactly once — the same confirm as `apply-confirm` (conditional move to
//! `confirming`, Tern Apply with the command's idempotency key, registration), for the lock
//! whose plan is a rollback.

use crate::errors;
use crate::jobs::confirm::confirm_lock;
use crate::jobs::lock_common::CommandContext;
use crate::jobs::review_gate;
use crate::outcome::{Attempt, JobError};
use crate::Worker;
use schemabot_domain::job::RollbackConfirmJob;
use schemabot_domain::lock::ConfirmKind;
use schemabot_domain::rollback::{choose_rollback_lock, RollbackLockChoice};
use schemabot_render::{
    render_rollback_reply, rollback_confirm_command, LockCommand, LockReply, RollbackReply,
};

pub async fn confirm(
    worker: &Worker,
    job: &RollbackConfirmJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let ctx = CommandContext::new(worker, &job.origin, job_id, attempt);
    ctx.acknowledge().await;
    let environment = &job.environment;
    if ctx
        .permission_refused(LockCommand::RollbackConfirm, environment)
        .await?
    {
        return Ok(());
    }
    if let Some(refusal) =
        review_gate::check(worker, &job.origin, environment, None, attempt).await?
    {
        let reply = LockReply::ReviewRequired {
            command: LockCommand::RollbackConfirm,
            environment: environment.to_string(),
            login: job.origin.commenter.0.clone(),
            missing: refusal.missing,
            head: refusal.head,
            retry: rollback_confirm_command(environment),
            confirm: None,
        };
        return ctx.reply("", &reply).await;
    }
    let mut locks = Vec::new();
    for key in ctx.lock_keys_in(environment).await.map_err(errors::store)? {
        let lock = worker.store.get_lock(&key).await.map_err(errors::store)?;
        if let Some(lock) = lock.filter(|lock| lock.is_owned_by(&ctx.owner)) {
            locks.push((key, lock.plan.rollback_of));
        }
    }
    let reply = match choose_rollback_lock(&locks) {
        RollbackLockChoice::One(key) => {
            // Allowed without `--allow-unsafe`: the rollback plan showed its drops as such.
            return confirm_lock(ConfirmKind::Rollback, &ctx, &key, "", true, None).await;
        }
        RollbackLockChoice::None => RollbackReply::NoRollbackPlan {
            environment: environment.clone(),
        },
        RollbackLockChoice::Several(keys) => RollbackReply::SeveralRollbackPlans {
            environment: environment.clone(),
            databases: keys.into_iter().map(|key| key.database).collect(),
        },
    };
    ctx.count(&reply.outcome());
    let body = render_rollback_reply(&reply, job_id).map_err(errors::render)?;
    ctx.post(job_id, &body).await
}
