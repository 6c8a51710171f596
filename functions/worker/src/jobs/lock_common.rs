//! What `apply`, `apply-confirm` and `unlock` share on top of [`Command`]: the PR that holds the
//! locks, replies posted once per database (under a marker derived from the job id), the lock
//! audit trail, the promotion-order check and the command texts replies suggest.

use crate::errors;
use crate::jobs::command::Command;
use crate::jobs::permission::PermissionCheck;
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use chrono::{DateTime, Utc};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::CommentOrigin;
use schemabot_domain::lock::{unmet_prerequisite, AcquireRefusal, LockKey, LockOwner};
use schemabot_domain::ownership::OwnershipRefusal;
use schemabot_domain::{Database, Environment};
use schemabot_github::{InstallationClient, Permission};
use schemabot_render::{command_text, render_lock_reply, render_not_owned, LockCommand, LockReply};

/// One lock command on one PR: who asked, where to answer, how to audit.
pub(crate) struct CommandContext<'a> {
    pub worker: &'a Worker,
    pub origin: &'a CommentOrigin,
    pub github: InstallationClient,
    pub owner: LockOwner,
    pub job_id: &'a str,
    pub attempt: Attempt,
    /// The plumbing every command shares.
    pub command: Command<'a>,
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
            worker,
            origin,
            github: worker.github.installation(origin.installation_id),
            owner: LockOwner {
                repository: origin.repository.clone(),
                pr: origin.pr,
            },
            job_id,
            attempt,
            command: Command::new(worker, name, origin, job_id, attempt),
        }
    }

    /// 👀 on the command's comment, once.
    pub async fn acknowledge(&self) {
        self.command.acknowledge().await;
    }

    /// The commenter's permission for `environment` (fail closed).
    pub async fn authorize(&self, environment: &Environment) -> Result<PermissionCheck, JobError> {
        self.command.authorize(environment).await
    }

    /// Counts the command's outcome (`Commands` metric).
    pub fn count(&self, outcome: &Outcome) {
        self.command.count(outcome);
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
        let to = ReplyTo {
            github: self.github.clone(),
            repository: self.origin.repository.clone(),
            pr: self.origin.pr,
        };
        self.command.post_once(&to, marker_id, body).await
    }

    pub async fn permission_denied(
        &self,
        command: LockCommand,
        environment: &Environment,
        required: Permission,
        actual: Option<Permission>,
    ) -> Result<(), JobError> {
        self.reply(
            "",
            &LockReply::PermissionDenied {
                command,
                environment: environment.to_string(),
                login: self.origin.commenter.0.clone(),
                required: required.as_str().to_string(),
                actual: actual.map(|p| p.as_str().to_string()),
            },
        )
        .await
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

    /// `Some(environment)` when the promotion order wants `environment` to apply this schema
    /// first.
    pub async fn unmet_promotion(
        &self,
        key: &LockKey,
        digest: &str,
    ) -> Result<Option<Environment>, JobError> {
        let order = &self.worker.config.promotion_order;
        if schemabot_domain::lock::prerequisites(order, &key.environment).is_empty() {
            return Ok(None);
        }
        let applied = self
            .worker
            .store
            .applied_schemas(&self.owner, &key.database)
            .await
            .map_err(errors::store)?;
        Ok(unmet_prerequisite(
            order,
            &key.environment,
            digest,
            &applied,
        ))
    }

    pub fn promotion_reply(&self, key: &LockKey, required: &Environment) -> LockReply {
        LockReply::PromotionRequired {
            database: key.database.to_string(),
            environment: key.environment.to_string(),
            required: required.to_string(),
            order: self
                .worker
                .config
                .promotion_order
                .iter()
                .map(ToString::to_string)
                .collect(),
            apply: command_text("apply", required.as_str(), None),
        }
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
            database: key.database.to_string(),
            environment: key.environment.to_string(),
            owner: owner.to_string(),
            stage: stage.to_string(),
            expires_at: expires_at.map(display_time),
            retry,
        },
        AcquireRefusal::OwnApplyInProgress { apply_id } => LockReply::ApplyInProgress {
            command,
            database: key.database.to_string(),
            environment: key.environment.to_string(),
            apply_id: apply_id.map(|id| id.to_string()),
            retry,
        },
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
