//! What `apply`, `apply-confirm` and `unlock` share on top of [`Command`]: the PR that holds the
//! locks, replies posted once per database (under a marker derived from the job id), the lock
//! audit trail, the promotion-order check and the command texts replies suggest.

use crate::errors;
use crate::jobs::command::Command;
use crate::jobs::permission::PermissionCheck;
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use chrono::{DateTime, TimeDelta, Utc};
use schemabot_aws::{StoreError, WriteOutcome};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::CommentOrigin;
use schemabot_domain::lock::{
    unmet_prerequisite, AcquireRefusal, Lock, LockKey, LockOwner, LockStage, LockedPlan,
};
use schemabot_domain::ownership::OwnershipRefusal;
use schemabot_domain::{Database, Environment, InstallationId, Login};
use schemabot_github::InstallationClient;
use schemabot_render::{command_text, render_lock_reply, render_not_owned, LockCommand, LockReply};

/// One lock command on one PR: who asked, where to answer, how to audit. Derefs to the
/// [`Command`] plumbing every command shares.
pub(crate) struct CommandContext<'a> {
    pub origin: &'a CommentOrigin,
    pub github: InstallationClient,
    pub owner: LockOwner,
    pub command: Command<'a>,
}

impl<'a> std::ops::Deref for CommandContext<'a> {
    type Target = Command<'a>;

    fn deref(&self) -> &Command<'a> {
        &self.command
    }
}

impl<'a> CommandContext<'a> {
    pub fn new(
        worker: &'a Worker,
        origin: &'a CommentOrigin,
        job_id: &'a str,
        attempt: Attempt,
    ) -> Self {
        // The job id starts with the command word (`apply:…`, `apply-confirm:…`).
        let name = job_id.split(':').next().unwrap_or("command");
        CommandContext {
            origin,
            github: worker.github.installation(origin.installation_id),
            owner: LockOwner {
                repository: origin.repository.clone(),
                pr: origin.pr,
            },
            command: Command::new(worker, name, origin, job_id, attempt),
        }
    }

    /// Checks the commenter's permission for `environment` (fail closed) and answers a refusal
    /// of `command`; `true` when refused.
    pub async fn permission_refused(
        &self,
        command: LockCommand,
        environment: &Environment,
    ) -> Result<bool, JobError> {
        let PermissionCheck::Denied(denied) = self.authorize(environment).await? else {
            return Ok(false);
        };
        let reply = LockReply::PermissionDenied {
            command,
            environment: environment.to_string(),
            denied,
        };
        self.reply("", &reply).await?;
        Ok(true)
    }

    /// The PR's head commit now.
    pub async fn head_sha(&self) -> Result<String, JobError> {
        let pull = self
            .github
            .get_pull_request(&self.origin.repository, self.origin.pr);
        Ok(pull.await.map_err(errors::github)?.head_sha)
    }

    /// The keys of this PR's locks in `environment`.
    pub async fn lock_keys_in(
        &self,
        environment: &Environment,
    ) -> Result<Vec<LockKey>, StoreError> {
        let keys = self.worker.store.pr_lock_keys(&self.owner).await?;
        Ok(keys
            .into_iter()
            .filter(|k| &k.environment == environment)
            .collect())
    }

    /// Posts `reply` once. `part` tells apart several replies of one job (one per database).
    pub async fn reply(&self, part: &str, reply: &LockReply) -> Result<(), JobError> {
        self.count(&reply.outcome());
        let marker_id = self.marker_id(part);
        let body = render_lock_reply(reply, &marker_id).map_err(errors::render)?;
        self.post(&marker_id, &body).await
    }

    pub fn marker_id(&self, part: &str) -> String {
        if part.is_empty() {
            self.job_id.to_string()
        } else {
            format!("{}:{part}", self.job_id)
        }
    }

    /// Posts an already rendered body carrying `marker_id`, once, on the command's PR.
    pub async fn post(&self, marker_id: &str, body: &str) -> Result<(), JobError> {
        let to = ReplyTo::comment(self.worker, self.origin);
        self.command.post_once(&to, marker_id, body).await
    }

    /// Refuses a database this repository may not change: audited, answered once per database.
    pub async fn refuse_not_owned(
        &self,
        part: &str,
        refusal: &OwnershipRefusal,
    ) -> Result<(), JobError> {
        let (database, environment) = refusal.target();
        let key = LockKey {
            database: database.clone(),
            environment: environment.clone(),
        };
        self.audit(
            &key,
            EventKind::CommandRefused,
            refusal.code(),
            Some(refusal.message()),
        )
        .await;
        self.count(&refusal.code());
        let marker_id = self.marker_id(part);
        let body =
            render_not_owned(self.command.name, refusal, &marker_id).map_err(errors::render)?;
        self.post(&marker_id, &body).await
    }

    /// Appends a lock event about this PR; an audit failure is logged, never fails the command.
    pub async fn audit(
        &self,
        key: &LockKey,
        event: EventKind,
        outcome: Outcome,
        message: Option<String>,
    ) {
        self.command
            .audit_lock(key, &self.owner, event, outcome, message)
            .await;
    }

    /// Refuses (audited, answered once) when the promotion order wants an earlier environment
    /// to apply the schema `digest` first; `true` when it did.
    pub async fn refused_by_promotion(
        &self,
        part: &str,
        key: &LockKey,
        digest: &str,
    ) -> Result<bool, JobError> {
        let order = &self.worker.config.promotion_order;
        if schemabot_domain::lock::prerequisites(order, &key.environment).is_empty() {
            return Ok(false);
        }
        let applied = self
            .worker
            .store
            .applied_schemas(&self.owner, &key.database)
            .await
            .map_err(errors::store)?;
        let Some(required) = unmet_prerequisite(order, &key.environment, digest, &applied) else {
            return Ok(false);
        };
        self.audit(
            key,
            EventKind::ApplyRefused,
            Outcome::PromotionRequired,
            None,
        )
        .await;
        let reply = LockReply::PromotionRequired {
            key: key.clone(),
            required: required.to_string(),
            order: order.iter().map(ToString::to_string).collect(),
            apply: command_text("apply", required.as_str(), None),
        };
        self.reply(part, &reply).await?;
        Ok(true)
    }
}

/// The reply to a lock `command` could not take (another PR holds it, or this PR's own apply
/// runs on it); `retry` is the command to run again later.
pub(crate) fn refusal_reply(
    command: LockCommand,
    key: &LockKey,
    refusal: AcquireRefusal,
    retry: String,
) -> LockReply {
    match refusal {
        AcquireRefusal::HeldByOther {
            owner,
            stage,
            expires_at,
        } => LockReply::HeldByOther {
            command,
            key: key.clone(),
            owner: owner.to_string(),
            stage: stage.to_string(),
            expires_at: expires_at.map(display_time),
            retry,
        },
        AcquireRefusal::OwnApplyInProgress { apply_id } => LockReply::ApplyInProgress {
            command,
            key: key.clone(),
            apply_id: apply_id.map(|id| id.to_string()),
            retry,
        },
    }
}

/// A `planned` lock holding `plan`, leased from now for the configured time.
pub(crate) fn planned_lock(
    worker: &Worker,
    key: &LockKey,
    owner: &LockOwner,
    installation_id: InstallationId,
    locked_by: Login,
    plan: LockedPlan,
) -> Lock {
    let now = Utc::now();
    let lease = TimeDelta::from_std(worker.config.lock_lease).unwrap_or(TimeDelta::hours(24));
    Lock {
        key: key.clone(),
        owner: owner.clone(),
        installation_id,
        locked_by,
        stage: LockStage::Planned,
        plan,
        acquired_at: now,
        lease_expires_at: now + lease,
    }
}

/// Takes `lock` by a conditional write: `Ok(Err(current))` when the lock `current` holds the
/// key instead.
pub(crate) async fn acquire(worker: &Worker, lock: &Lock) -> Result<Result<(), Lock>, JobError> {
    match worker
        .store
        .acquire_lock(lock, lock.acquired_at)
        .await
        .map_err(errors::store)?
    {
        WriteOutcome::Written(()) => Ok(Ok(())),
        WriteOutcome::ConditionFailed {
            current: Some(current),
        } => Ok(Err(current)),
        // The lock vanished between the check and the answer: try again.
        WriteOutcome::ConditionFailed { current: None } => {
            Err(JobError::transient("lock changed during acquisition"))
        }
    }
}

/// `apply -e <env> [-d <db>]` for replies, naming the database only when the PR has several.
pub(crate) fn apply_text(environment: &Environment, database: Option<&Database>) -> String {
    command_text(
        "apply",
        environment.as_str(),
        database.map(Database::as_str),
    )
}

pub(crate) fn confirm_text(
    environment: &Environment,
    database: Option<&Database>,
    allow_unsafe: bool,
) -> String {
    let mut text = command_text(
        "apply-confirm",
        environment.as_str(),
        database.map(Database::as_str),
    );
    if allow_unsafe {
        text.push_str(" --allow-unsafe");
    }
    text
}

/// A UTC instant as replies show it.
pub(crate) fn display_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
