//! `schemabot rollback <apply-id> -e <env> [--defer-cutover]`: plan the schema the database had
//! before that apply and lock it for the apply's pull request; `rollback-confirm` (in
//! [`confirm`]) then applies it through the ordinary confirm → progress → cutover machinery.
//!
//! Order: 👀 → the apply (this PR's, this environment) → the repository owns the database →
//! the commenter's permission and the environment's review gate (PR comments; the CLI is
//! authorised by IAM) → the pure [`decide_rollback`] (completed, the latest apply on the
//! database, its schema before recorded) → Tern Plan of those files → a conditional write takes
//! the lock with the rollback plan → the rollback plan comment. Re-running it renews the same
//! lock and finds the comment already posted (each reply is posted once, by its marker).

mod confirm;
mod reply;

pub use confirm::confirm;

use crate::errors;
use crate::jobs::command::{ApplyRefusal, Command};
use crate::jobs::lock_common::{acquire, display_time, planned_lock, refusal_reply};
use crate::jobs::plan_support::{
    files_plan_request, original_files, plan_lint, plan_tables, planned_changes,
};
use crate::jobs::review_gate;
use crate::outcome::{Attempt, JobError};
use crate::Worker;
use reply::Answer;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::command::ApplyFlags;
use schemabot_domain::job::RollbackJob;
use schemabot_domain::lock::{acquire_refusal, schema_digest, LockKey, LockOwner, LockedPlan};
use schemabot_domain::rollback::decide_rollback;
use schemabot_domain::Login;
use schemabot_render::{
    rollback_command, LockCommand, LockReply, RollbackPlan, RollbackReply, RollbackTarget,
};
use std::collections::BTreeMap;

pub async fn run(
    worker: &Worker,
    job: &RollbackJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let answer = Answer {
        command: Command::new(worker, "rollback", &job.source, job_id, attempt),
    };
    answer.command.acknowledge().await;
    let Some(apply) = worker
        .store
        .get_apply(&job.apply_id)
        .await
        .map_err(errors::store)?
    else {
        return answer.without_apply(&job.apply_id).await;
    };
    let target = RollbackTarget::of(&apply);
    let command = &answer.command;
    let refused = match command.check_apply(&apply, &job.environment).await? {
        None => review_refusal(command, &apply).await?,
        Some(ApplyRefusal::OtherPullRequest) => {
            return answer.without_apply(&job.apply_id).await;
        }
        Some(ApplyRefusal::NotOwned(refusal)) => {
            let reply_to = command.reply_to(&apply);
            return command
                .refuse_not_owned(&reply_to, &apply, EventKind::RollbackRequested, &refusal)
                .await;
        }
        Some(ApplyRefusal::EnvironmentMismatch) => {
            let reply = RollbackReply::EnvironmentMismatch {
                target,
                requested: job.environment.clone(),
            };
            return answer.reply(&apply, &reply).await;
        }
        Some(ApplyRefusal::PermissionDenied(denied)) => Some(LockReply::PermissionDenied {
            command: LockCommand::Rollback,
            environment: apply.environment.to_string(),
            denied,
        }),
    };
    if let Some(reply) = refused {
        return answer.lock_reply(&apply, &reply).await;
    }
    let key = LockKey {
        database: apply.database.clone(),
        environment: apply.environment.clone(),
    };
    let source = worker
        .store
        .rollback_source(&key)
        .await
        .map_err(errors::store)?;
    // The latest apply may be a rollback of this one that changed nothing: its record decides.
    let rollback = match source
        .as_ref()
        .filter(|s| s.rollback_of.as_ref() == Some(&apply.id))
    {
        Some(latest) => worker
            .store
            .get_apply(&latest.apply_id)
            .await
            .map_err(errors::store)?,
        None => None,
    };
    let files = match decide_rollback(&apply, source.as_ref(), rollback.as_ref()) {
        Ok(files) => files,
        Err(refusal) => {
            let reply = RollbackReply::NotAllowed {
                target,
                state: apply.state,
                refusal,
            };
            return answer.reply(&apply, &reply).await;
        }
    };
    if let Some(reply) = pr_not_open(command, &apply, &target).await? {
        return answer.reply(&apply, &reply).await;
    }
    plan_and_lock(&answer, job, &apply, target, key, files).await
}

/// A CLI request for an apply whose pull request is closed or merged is refused: the rollback
/// plan would be locked for a pull request that cannot confirm it. (A PR comment comes from an
/// open pull request; the webhook checked.)
async fn pr_not_open(
    command: &Command<'_>,
    apply: &Apply,
    target: &RollbackTarget,
) -> Result<Option<RollbackReply>, JobError> {
    if command.origin().is_some() {
        return Ok(None);
    }
    let github = command.reply_to(apply).github;
    let pr = github
        .get_pull_request(&apply.repository, apply.pr)
        .await
        .map_err(errors::github)?;
    Ok((pr.state != "open").then(|| RollbackReply::PrNotOpen {
        target: target.clone(),
        repository: apply.repository.to_string(),
        pr: apply.pr.0,
    }))
}

/// The environment's review gate for a PR comment (the CLI is authorised by IAM);
/// `Some(reply)` refuses.
async fn review_refusal(
    command: &Command<'_>,
    apply: &Apply,
) -> Result<Option<LockReply>, JobError> {
    let Some(origin) = command.origin() else {
        return Ok(None);
    };
    let gate = review_gate::check(
        command.worker,
        origin,
        &apply.environment,
        None,
        command.attempt,
    )
    .await?;
    Ok(gate.map(|refusal| LockReply::ReviewRequired {
        command: LockCommand::Rollback,
        environment: apply.environment.to_string(),
        login: origin.commenter.0.clone(),
        missing: refusal.missing,
        head: refusal.head,
        retry: rollback_command(&apply.id, &apply.environment),
        confirm: None,
    }))
}

/// Plans `files` on Tern and, when there is something to put back, locks the plan for the
/// apply's pull request and posts it.
async fn plan_and_lock(
    answer: &Answer<'_>,
    job: &RollbackJob,
    apply: &Apply,
    target: RollbackTarget,
    key: LockKey,
    files: BTreeMap<String, String>,
) -> Result<(), JobError> {
    let worker = answer.command.worker;
    let owner = LockOwner {
        repository: apply.repository.clone(),
        pr: apply.pr,
    };
    let request = files_plan_request(
        apply.database.as_str(),
        &apply.database_type,
        files.clone().into_iter().collect(),
        &owner.repository,
        owner.pr,
        &apply.environment,
    );
    let response = match worker
        .tern
        .plan(&apply.deployment, apply.environment.as_str(), request)
        .await
    {
        Ok(response) => response,
        Err(error) => {
            let retry = !answer.command.attempt.is_final();
            let error = errors::tern(error, "Tern Plan (rollback)", retry)?;
            let reply = RollbackReply::PlanFailed {
                target,
                error: error.to_string(),
            };
            return answer.reply(apply, &reply).await;
        }
    };
    let mut plan = RollbackPlan {
        target: target.clone(),
        requested_by: answer.command.actor_id(),
        tables: plan_tables(&response),
        lint: plan_lint(&response),
        errors: response.errors.clone(),
        expires_at: None,
    };
    if !plan.errors.is_empty() {
        // A plan with errors is shown, not locked.
        return answer.plan(apply, &plan, Outcome::PlanErrors).await;
    }
    if plan.tables.is_empty() {
        let reply = RollbackReply::NothingToRollback { target };
        return answer.reply(apply, &reply).await;
    }
    let locked = LockedPlan {
        // A rollback plan is not the PR's schema: no push makes it stale.
        head_sha: String::new(),
        deployment: apply.deployment.clone(),
        database_type: apply.database_type.clone(),
        plan_id: response.plan_id.clone(),
        changes: planned_changes(&response),
        schema_digest: schema_digest(&files),
        schema_files: files,
        // Putting back what the apply replaced drops what it added: shown in the plan,
        // confirmed by `rollback-confirm`.
        flags: ApplyFlags {
            allow_unsafe: true,
            defer_cutover: job.defer_cutover,
            ..ApplyFlags::default()
        },
        original_files: original_files(&response),
        rollback_of: Some(apply.id.clone()),
    };
    let locked_by = Login(answer.command.actor_id());
    let lock = planned_lock(
        worker,
        &key,
        &owner,
        apply.installation_id,
        locked_by,
        locked,
    );
    if let Err(current) = acquire(worker, &lock).await? {
        let reply = refusal_reply(
            LockCommand::Rollback,
            &key,
            acquire_refusal(&current, &owner),
            rollback_command(&apply.id, &apply.environment),
        );
        return answer.lock_reply(apply, &reply).await;
    }
    answer
        .lock_acquired(&key, &owner, apply, lock.plan.changes.len())
        .await;
    plan.expires_at = Some(display_time(lock.lease_expires_at));
    answer.plan(apply, &plan, Outcome::Planned).await
}
