//! What `apply`, `apply-confirm` and `unlock` share: where replies go (each posted once, under a
//! marker derived from the job id), the lock audit trail, the promotion-order check and the
//! command texts replies suggest.

use crate::errors;
use crate::outcome::{Attempt, JobError};
use crate::post::{hidden_marker, post_once};
use crate::Worker;
use chrono::{DateTime, Utc};
use schemabot_domain::job::CommentOrigin;
use schemabot_domain::lock::{unmet_prerequisite, LockEvent, LockKey, LockOwner};
use schemabot_domain::ownership::OwnershipRefusal;
use schemabot_domain::{Database, Environment};
use schemabot_github::{InstallationClient, Permission, Reaction};
use schemabot_render::{command_text, render_lock_reply, render_not_owned, LockCommand, LockReply};

/// One command on one PR: who asked, where to answer, how to audit.
pub(crate) struct CommandContext<'a> {
    pub worker: &'a Worker,
    pub origin: &'a CommentOrigin,
    pub github: InstallationClient,
    pub owner: LockOwner,
    pub job_id: &'a str,
    pub attempt: Attempt,
}

impl<'a> CommandContext<'a> {
    pub fn new(
        worker: &'a Worker,
        origin: &'a CommentOrigin,
        job_id: &'a str,
        attempt: Attempt,
    ) -> Self {
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
        }
    }

    /// 👀 on the command's comment, once (failures only logged).
    pub async fn acknowledge(&self) {
        if !self.attempt.is_first() {
            return;
        }
        if let Err(error) = self
            .github
            .add_reaction(
                &self.origin.repository,
                self.origin.comment_id,
                Reaction::Eyes,
            )
            .await
        {
            tracing::warn!(%error, "could not add the 👀 reaction");
        }
    }

    /// Counts the command's outcome (EMF `Commands`, by command and outcome).
    pub fn count(&self, outcome: &str) {
        let command = self.job_id.split(':').next().unwrap_or("command");
        schemabot_aws::emf::count("Commands", &[("Command", command), ("Outcome", outcome)]);
    }

    /// Posts `reply` once. `part` tells apart several replies of one job (one per database).
    pub async fn reply(&self, part: &str, reply: &LockReply) -> Result<(), JobError> {
        self.count(outcome_of(reply));
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

    /// Posts an already rendered body carrying `marker_id`, once.
    pub async fn post(&self, marker_id: &str, body: &str) -> Result<(), JobError> {
        post_once(
            &self.github,
            &self.origin.repository,
            self.origin.pr,
            &hidden_marker(marker_id),
            body,
            &self.worker.store,
        )
        .await
        .map(|_| ())
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
            "command_refused",
            refusal.code(),
            Some(refusal.message()),
        )
        .await;
        self.count(refusal.code());
        let command = self.job_id.split(':').next().unwrap_or("command");
        let marker_id = self.marker_id(part);
        let body = render_not_owned(command, refusal, &marker_id).map_err(errors::render)?;
        self.post(&marker_id, &body).await
    }

    /// Appends a lock event; an audit failure is logged, never fails the command.
    pub async fn audit(&self, key: &LockKey, event: &str, outcome: &str, message: Option<String>) {
        let event = LockEvent {
            key: key.clone(),
            at: Utc::now(),
            event: event.to_string(),
            actor: self.origin.commenter.0.clone(),
            owner: self.owner.clone(),
            delivery_id: Some(self.origin.delivery_id.clone()),
            outcome: outcome.to_string(),
            message,
        };
        crate::lock_audit::record(self.worker, &event).await;
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

/// The metric outcome of a reply.
fn outcome_of(reply: &LockReply) -> &'static str {
    match reply {
        LockReply::HeldByOther { .. } => "held_by_other",
        LockReply::ApplyInProgress { .. } => "apply_in_progress",
        LockReply::NoSchemaChanges { .. } => "no_schema_changes",
        LockReply::UpToDate { .. } => "up_to_date",
        LockReply::NoLock { .. } => "no_lock",
        LockReply::Stale { .. } => "stale",
        LockReply::UnsafeNeedsFlag { .. } => "unsafe_needs_flag",
        LockReply::PromotionRequired { .. } => "promotion_required",
        LockReply::Refused { .. } => "refused",
        LockReply::Unlocked { .. } => "unlocked",
        LockReply::PermissionDenied { .. } => "permission_denied",
        LockReply::ReviewRequired { .. } => "review_required",
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
