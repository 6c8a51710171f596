//! `schemabot unlock --force -d <db> -e <env>` from an admin's PR comment, and the CLI's
//! `schemabot unlock -d <db> -e <env>`: release whichever PR's planned lock on (database,
//! environment).
//!
//! acknowledge (👀 once) → this request's recorded answer, if any (a redelivery: only its
//! comments are posted, each once by marker) → the commenting repository owns the database →
//! the commenter is an admin of it (fail closed) → the lock as read → [`decide_force_unlock`]:
//! a planned lock is released with a write conditional on its owner and stage as read, together
//! with the recorded answer and the audit event; a lock being confirmed or applied is kept →
//! the owner PR's notice and the reply, each posted once.
//!
//! CLI requests come only from the operator role (the trust rules): IAM authorised them, so
//! they skip the ownership and permission checks, and their answer is read from the store.

use crate::errors;
use crate::jobs::command::Command;
use crate::jobs::permission::PermissionCheck;
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use chrono::Utc;
use schemabot_aws::store::ForceRelease;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::ForceUnlockJob;
use schemabot_domain::lock::{
    decide_force_unlock, ForceUnlock, ForceUnlockOutcome, HeldStage, LockEvent, LockKey, LockOwner,
};
use schemabot_domain::DeliveryId;
use schemabot_github::Permission;
use schemabot_render::{
    render_force_unlock_reply, render_lock_released_notice, render_not_owned, ForceUnlockReply,
    LockReleasedNotice,
};

/// How often the lock may change between reading and releasing it before the job is retried.
const MAX_RACES: usize = 3;

pub async fn run(
    worker: &Worker,
    job: &ForceUnlockJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let run = ForceUnlockRun {
        command: Command::new(worker, "unlock", &job.source, job_id, attempt),
        key: LockKey {
            database: job.database.clone(),
            environment: job.environment.clone(),
        },
    };
    run.pipeline().await
}

struct ForceUnlockRun<'a> {
    command: Command<'a>,
    key: LockKey,
}

impl ForceUnlockRun<'_> {
    async fn pipeline(&self) -> Result<(), JobError> {
        self.command.acknowledge().await;
        let store = &self.command.worker.store;
        if let Some(answer) = store
            .force_unlock_answer(self.command.job_id)
            .await
            .map_err(errors::store)?
        {
            return self.tell(&answer).await;
        }
        if let Some(origin) = self.command.origin() {
            if let Err(refusal) = crate::ownership::check(
                self.command.worker,
                // The deployment is keyed by the database name, as for plans.
                self.key.database.as_str(),
                &self.key.database,
                &self.key.environment,
                &origin.repository,
                None,
            ) {
                let outcome = refusal.code();
                self.refused(outcome, Some(refusal.message())).await;
                let body = render_not_owned("unlock --force", &refusal, self.command.job_id)
                    .map_err(errors::render)?;
                return self.reply(&body).await;
            }
            if let PermissionCheck::Denied(denied) =
                self.command.authorize_at(Permission::Admin).await?
            {
                self.refused(Outcome::PermissionDenied, None).await;
                let reply = ForceUnlockReply::PermissionDenied(denied);
                let body = render_force_unlock_reply(&reply, self.command.job_id)
                    .map_err(errors::render)?;
                return self.reply(&body).await;
            }
        }
        let answer = self.decide().await?;
        self.command.count(&answer.outcome.code());
        self.tell(&answer).await
    }

    /// Reads the lock and acts on [`decide_force_unlock`]; a lock that changed before the
    /// release is read and decided again.
    async fn decide(&self) -> Result<ForceUnlock, JobError> {
        let store = &self.command.worker.store;
        let mut lock = store.get_lock(&self.key).await.map_err(errors::store)?;
        for _ in 0..MAX_RACES {
            let answer = ForceUnlock {
                job_id: self.command.job_id.to_string(),
                key: self.key.clone(),
                outcome: decide_force_unlock(lock.as_ref()),
                actor: self.command.actor_id(),
                at: Utc::now(),
            };
            let event = self.event(&answer);
            let read = match (&answer.outcome, &lock) {
                (ForceUnlockOutcome::Released { .. }, Some(read)) => read,
                _ => {
                    return store
                        .record_force_unlock(&answer, event.as_ref())
                        .await
                        .map_err(errors::store);
                }
            };
            let Some(event) = event else {
                return Err(JobError::permanent("a release without its audit event"));
            };
            match store
                .force_release_lock(read, &answer, &event)
                .await
                .map_err(errors::store)?
            {
                ForceRelease::Released => {
                    tracing::info!(owner = %event.owner, key = %self.key, "lock force-released");
                    return Ok(answer);
                }
                ForceRelease::Answered(earlier) => return Ok(earlier),
                ForceRelease::Changed(now) => lock = now.map(|lock| *lock),
            }
        }
        Err(JobError::transient(
            "the lock kept changing while being force-released",
        ))
    }

    /// The audit event of `answer`, about the PR that held the lock (or the one that asked; a
    /// CLI request that found no lock names no PR and is only recorded as its answer).
    fn event(&self, answer: &ForceUnlock) -> Option<LockEvent> {
        let (event, message) = match &answer.outcome {
            ForceUnlockOutcome::Released { holder } => (
                EventKind::LockForceReleased,
                Some(format!(
                    "released the planned lock of {} (taken by {})",
                    holder.owner, holder.locked_by.0
                )),
            ),
            ForceUnlockOutcome::Kept { holder, stage } => (
                EventKind::LockForceReleaseRefused,
                Some(match stage {
                    HeldStage::Applying { apply_id } => {
                        format!("{} is applying it ({apply_id})", holder.owner)
                    }
                    HeldStage::Confirming => format!("{} is confirming its plan", holder.owner),
                }),
            ),
            ForceUnlockOutcome::NoLock => (EventKind::LockForceReleaseRefused, None),
        };
        let owner = match answer.outcome.holder() {
            Some(holder) => holder.owner.clone(),
            None => self.asker()?,
        };
        Some(LockEvent {
            key: self.key.clone(),
            at: answer.at,
            event,
            actor: self.command.actor_id(),
            owner,
            delivery_id: DeliveryId::parse(&self.command.request_tag()).ok(),
            outcome: answer.outcome.code(),
            message,
        })
    }

    /// The PR that asked (PR comments only).
    fn asker(&self) -> Option<LockOwner> {
        self.command.origin().map(|origin| LockOwner {
            repository: origin.repository.clone(),
            pr: origin.pr,
        })
    }

    /// Audits (about the PR that asked) and counts a refusal decided before the lock was looked
    /// at.
    async fn refused(&self, outcome: Outcome, message: Option<String>) {
        self.command.count(&outcome);
        let Some(asker) = self.asker() else {
            return;
        };
        self.command
            .audit_lock(
                &self.key,
                &asker,
                EventKind::LockForceReleaseRefused,
                outcome,
                message,
            )
            .await;
    }

    /// Posts what `answer` tells: the notice on the PR whose lock was released, and the reply
    /// on the PR that asked (the CLI reads the answer from the store). Each once, by marker.
    async fn tell(&self, answer: &ForceUnlock) -> Result<(), JobError> {
        let database = self.key.database.to_string();
        let environment = self.key.environment.to_string();
        let reply = match &answer.outcome {
            ForceUnlockOutcome::Released { holder } => {
                let notice = LockReleasedNotice {
                    database: database.clone(),
                    environment: environment.clone(),
                    by: self.command.actor(),
                    from: self.asker().map(|asker| asker.to_string()),
                };
                let marker_id = format!("{}:owner", self.command.job_id);
                let body =
                    render_lock_released_notice(&notice, &marker_id).map_err(errors::render)?;
                let to = ReplyTo::new(
                    self.command.worker,
                    holder.installation_id,
                    &holder.owner.repository,
                    holder.owner.pr,
                );
                self.command.post_once(&to, &marker_id, &body).await?;
                ForceUnlockReply::Released {
                    database,
                    environment,
                    holder: holder.owner.to_string(),
                    locked_by: holder.locked_by.0.clone(),
                }
            }
            ForceUnlockOutcome::NoLock => ForceUnlockReply::NoLock {
                database,
                environment,
            },
            ForceUnlockOutcome::Kept { holder, stage } => ForceUnlockReply::Kept {
                database,
                environment,
                holder: holder.owner.to_string(),
                apply_id: match stage {
                    HeldStage::Applying { apply_id } => Some(apply_id.to_string()),
                    HeldStage::Confirming => None,
                },
            },
        };
        if self.command.origin().is_none() {
            return Ok(());
        }
        let body =
            render_force_unlock_reply(&reply, self.command.job_id).map_err(errors::render)?;
        self.reply(&body).await
    }

    /// Posts `body` on the PR that asked, once (nothing for the CLI).
    async fn reply(&self, body: &str) -> Result<(), JobError> {
        let Some(origin) = self.command.origin() else {
            return Ok(());
        };
        let to = ReplyTo::comment(self.command.worker, origin);
        self.command.post_once(&to, self.command.job_id, body).await
    }
}
