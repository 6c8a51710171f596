//! What every command job shares, each in one place: who asked, the 👀 on the command's comment,
//! the commenter's permission (fail closed), the audit trail (apply events and lock events), the
//! `Commands` metric and replies posted once under their marker.

mod apply_checks;

pub(crate) use apply_checks::ApplyRefusal;

use crate::jobs::permission::{self, PermissionCheck};
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use chrono::Utc;
use schemabot_domain::apply::{Apply, AuditEvent};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::{CommandSource, CommentOrigin};
use schemabot_domain::lock::{LockEvent, LockKey, LockOwner};
use schemabot_domain::{DeliveryId, Environment};
use schemabot_github::{Permission, Reaction};
use schemabot_render::Actor;

/// Where a command came from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    /// A PR comment: acknowledged with 👀, answered on its PR, the commenter's permission checked.
    Comment(&'a CommentOrigin),
    /// The operator CLI (`actor`: the sender's AWS identity), authorised by IAM and the queue's
    /// sender check.
    Cli { actor: &'a str, request_id: &'a str },
}

impl<'a> From<&'a CommentOrigin> for Source<'a> {
    fn from(origin: &'a CommentOrigin) -> Self {
        Source::Comment(origin)
    }
}

impl<'a> From<&'a CommandSource> for Source<'a> {
    fn from(source: &'a CommandSource) -> Self {
        match source {
            CommandSource::PrComment(origin) => Source::Comment(origin),
            CommandSource::Cli { actor, request_id } => Source::Cli { actor, request_id },
        }
    }
}

/// One command job being carried out.
pub(crate) struct Command<'a> {
    pub worker: &'a Worker,
    /// The `Command` dimension of the `Commands` metric: `cutover`, `stop`, `apply`, …
    pub name: &'a str,
    pub source: Source<'a>,
    pub job_id: &'a str,
    pub attempt: Attempt,
}

impl<'a> Command<'a> {
    pub fn new(
        worker: &'a Worker,
        name: &'a str,
        source: impl Into<Source<'a>>,
        job_id: &'a str,
        attempt: Attempt,
    ) -> Self {
        Command {
            worker,
            name,
            source: source.into(),
            job_id,
            attempt,
        }
    }

    /// The comment that asked, unless the CLI did.
    pub fn origin(&self) -> Option<&'a CommentOrigin> {
        match self.source {
            Source::Comment(origin) => Some(origin),
            Source::Cli { .. } => None,
        }
    }

    /// Who asked, as stored: the commenter's login, or `cli:<identity>`.
    pub fn actor_id(&self) -> String {
        match self.source {
            Source::Comment(origin) => origin.commenter.0.clone(),
            Source::Cli { actor, .. } => format!("cli:{actor}"),
        }
    }

    /// Who asked, as replies show it.
    pub fn actor(&self) -> Actor {
        match self.source {
            Source::Comment(origin) => Actor::GitHub(origin.commenter.clone()),
            Source::Cli { actor, .. } => Actor::Cli {
                identity: actor.to_string(),
            },
        }
    }

    /// Tags the command's audit events: the webhook delivery, or `cli:<request id>` (what the
    /// CLI waiting for its answer looks for).
    pub fn request_tag(&self) -> String {
        match self.source {
            Source::Comment(origin) => origin.delivery_id.to_string(),
            Source::Cli { request_id, .. } => format!("cli:{request_id}"),
        }
    }

    /// 👀 on the command's comment, on the first attempt only (a failure is only logged).
    pub async fn acknowledge(&self) {
        let Source::Comment(origin) = self.source else {
            return;
        };
        if !self.attempt.is_first() {
            return;
        }
        let github = self.worker.github.installation(origin.installation_id);
        if let Err(error) = github
            .add_reaction(&origin.repository, origin.comment_id, Reaction::Eyes)
            .await
        {
            tracing::warn!(%error, "could not add the 👀 reaction");
        }
    }

    /// The commenter's permission against `environment`'s minimum (see [`Self::authorize_at`]).
    pub async fn authorize(&self, environment: &Environment) -> Result<PermissionCheck, JobError> {
        self.authorize_at(self.worker.config.permission_minimum(environment))
            .await
    }

    /// Whether the commenter has at least `required`. Fails closed: when GitHub cannot answer,
    /// the job is retried, and the command refused on the final attempt. The CLI is granted here
    /// and nowhere else: IAM authorised it.
    pub async fn authorize_at(&self, required: Permission) -> Result<PermissionCheck, JobError> {
        let Source::Comment(origin) = self.source else {
            return Ok(PermissionCheck::Granted);
        };
        permission::check(
            self.worker,
            origin.installation_id,
            &origin.repository,
            &origin.commenter,
            required,
            self.attempt,
        )
        .await
    }

    /// The command's audit event on `apply` (for a store write that carries it).
    pub fn event(
        &self,
        apply: &Apply,
        event: EventKind,
        outcome: Outcome,
        message: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            apply_id: apply.id.clone(),
            at: Utc::now(),
            event,
            actor: self.actor_id(),
            delivery_id: Some(self.request_tag()),
            from_state: Some(apply.state),
            to_state: None,
            outcome,
            message,
        }
    }

    /// Appends the command's audit event on `apply`; a failure is logged, never fails the
    /// command (the reply still goes out).
    pub async fn audit(
        &self,
        apply: &Apply,
        event: EventKind,
        outcome: Outcome,
        message: Option<String>,
    ) {
        let event = self.event(apply, event, outcome, message);
        if let Err(error) = self.worker.store.append_event(&event).await {
            tracing::warn!(%error, "could not append the audit event");
        }
    }

    /// Appends the command's event to the (database, environment) trail of `key`, about
    /// `owner`'s PR; a failure is logged, never fails the command.
    pub async fn audit_lock(
        &self,
        key: &LockKey,
        owner: &LockOwner,
        event: EventKind,
        outcome: Outcome,
        message: Option<String>,
    ) {
        let event = LockEvent {
            key: key.clone(),
            at: Utc::now(),
            event,
            actor: self.actor_id(),
            owner: owner.clone(),
            delivery_id: DeliveryId::parse(&self.request_tag()).ok(),
            outcome,
            message,
        };
        crate::lock_audit::record(self.worker, &event).await;
    }

    /// Counts the command's outcome (see [`count`]).
    pub fn count(&self, outcome: &Outcome) {
        count(self.name, outcome);
    }

    /// Where answers about `apply` go: the PR of the comment that asked, or — for the CLI —
    /// the apply's PR.
    pub fn reply_to(&self, apply: &Apply) -> ReplyTo {
        match self.source {
            Source::Comment(origin) => ReplyTo::comment(self.worker, origin),
            Source::Cli { .. } => ReplyTo::new(
                self.worker,
                apply.installation_id,
                &apply.repository,
                apply.pr,
            ),
        }
    }

    /// Posts `body`, which carries the hidden marker of `marker_id`, once (see
    /// [`crate::post::post_once`]).
    pub async fn post_once(
        &self,
        to: &ReplyTo,
        marker_id: &str,
        body: &str,
    ) -> Result<(), JobError> {
        to.post_once(&self.worker.store, marker_id, body)
            .await
            .map(drop)
    }
}

/// The `Commands` metric: one count by command and outcome.
pub(crate) fn count(command: &str, outcome: &Outcome) {
    schemabot_aws::emf::count(
        "Commands",
        &[("Command", command), ("Outcome", outcome.as_str())],
    );
}
