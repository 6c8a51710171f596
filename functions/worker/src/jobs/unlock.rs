//! `schemabot unlock [-d <db>] [-e <env>]` and a closed pull request: release the PR's locks
//! that are not being applied. A confirmed lock stays until its apply ends (releasing it would
//! let another PR start a second change on a database Spirit is still altering). Another PR's
//! lock is released only by `unlock --force` (see [`super::force_unlock`]).

use crate::errors;
use crate::jobs::command;
use crate::jobs::lock_common::CommandContext;
use crate::lock_audit;
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use chrono::Utc;
use schemabot_aws::store::Released;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::{UnlockJob, UnlockTrigger};
use schemabot_domain::lock::{LockEvent, LockKey, LockOwner, LockStage};
use schemabot_render::{render_lock_reply, LockCommand, LockReply, LockedTarget};

pub async fn run(
    worker: &Worker,
    job: &UnlockJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let owner = LockOwner {
        repository: job.repository().clone(),
        pr: job.pr(),
    };
    let mut keys = worker
        .store
        .pr_lock_keys(&owner)
        .await
        .map_err(errors::store)?;
    let (actor, delivery_id, closed) = match &job.trigger {
        UnlockTrigger::Command {
            origin,
            database,
            environment,
        } => {
            let ctx = CommandContext::new(worker, origin, job_id, attempt);
            ctx.acknowledge().await;
            if let Some(database) = database {
                keys.retain(|key| &key.database == database);
            }
            if let Some(environment) = environment {
                keys.retain(|key| &key.environment == environment);
            }
            // Releasing needs the permission each environment asks for.
            for key in &keys {
                if ctx
                    .permission_refused(LockCommand::Unlock, &key.environment)
                    .await?
                {
                    return Ok(());
                }
            }
            (
                origin.commenter.0.clone(),
                Some(origin.delivery_id.clone()),
                false,
            )
        }
        UnlockTrigger::PullRequestClosed { delivery_id, .. } => {
            ("schemabot".to_string(), Some(delivery_id.clone()), true)
        }
    };

    let mut released = Vec::new();
    let mut kept = Vec::new();
    for key in &keys {
        let outcome = match worker
            .store
            .release_lock(key, &owner)
            .await
            .map_err(errors::store)?
        {
            Released::Released => {
                released.push(target(key, None));
                Outcome::Released
            }
            Released::NotHeld => Outcome::NotHeld,
            Released::InUse(lock) => {
                let apply_id = match &lock.stage {
                    LockStage::Applying { apply_id, .. } => Some(apply_id.to_string()),
                    _ => None,
                };
                kept.push(target(key, apply_id));
                Outcome::KeptWhileApplying
            }
        };
        let event = LockEvent {
            key: key.clone(),
            at: Utc::now(),
            event: if closed {
                EventKind::PrClosed
            } else {
                EventKind::Unlock
            },
            actor: actor.clone(),
            owner: owner.clone(),
            delivery_id: delivery_id.clone(),
            outcome,
            message: None,
        };
        lock_audit::record(worker, &event).await;
    }
    tracing::info!(
        released = released.len(),
        kept = kept.len(),
        closed,
        "PR locks processed"
    );
    // A closed PR with nothing locked gets no comment: most PRs never lock anything.
    if closed && released.is_empty() && kept.is_empty() {
        return Ok(());
    }
    let reply = LockReply::Unlocked {
        released,
        kept,
        closed,
    };
    command::count(
        if closed { "pr_closed" } else { "unlock" },
        &Outcome::Unlocked,
    );
    let body = render_lock_reply(&reply, job_id).map_err(errors::render)?;
    ReplyTo::new(worker, job.installation_id(), &owner.repository, owner.pr)
        .post_once(&worker.store, job_id, &body)
        .await
        .map(drop)
}

fn target(key: &LockKey, apply_id: Option<String>) -> LockedTarget {
    LockedTarget {
        database: key.database.to_string(),
        environment: key.environment.to_string(),
        apply_id,
    }
}
