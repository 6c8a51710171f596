//! The lifecycle controls — stop, start, cancel, revert, skip-revert — from a PR comment or the
//! CLI, on one pipeline:
//!
//! acknowledge (👀 once) → the apply (named, or the PR's one controllable apply in the
//! environment) → same PR and environment → the repository owns the database → the commenter's
//! permission (fail closed) → the pure [`decide_control`] → the request record (one command at a
//! time per apply and control) → Tern → state, reply, audit event and metric from one typed
//! [`ControlReply`].
//!
//! Exactly once: a redelivered command finds its own request record; if the engine's answer was
//! recorded, only the reply is (re)posted — once, by its marker; if it was not (a lost answer),
//! Tern's report decides before asking again.

mod execute;
mod resolve;

use crate::errors;
use crate::jobs::permission::{self, PermissionCheck};
use crate::outcome::{Attempt, JobError};
use crate::post::{hidden_marker, post_once, ReplyTo};
use crate::Worker;
use chrono::Utc;
use schemabot_domain::apply::{Apply, AuditEvent};
use schemabot_domain::control::{decide_control, ControlDecision};
use schemabot_domain::job::{CommandSource, ControlJob};
use schemabot_github::Reaction;
use schemabot_render::{render_control_reply, render_not_owned, ControlReply, CutoverTarget};

/// One control command being carried out.
pub(crate) struct ControlRun<'a> {
    worker: &'a Worker,
    job: &'a ControlJob,
    job_id: &'a str,
    attempt: Attempt,
    /// Stored form of who asked (`login` or `cli:<sender>`).
    actor_id: String,
}

pub async fn run(
    worker: &Worker,
    job: &ControlJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let actor_id = match &job.source {
        CommandSource::PrComment(origin) => origin.commenter.0.clone(),
        CommandSource::Cli { actor, .. } => format!("cli:{actor}"),
    };
    let run = ControlRun {
        worker,
        job,
        job_id,
        attempt,
        actor_id,
    };
    run.pipeline().await
}

impl ControlRun<'_> {
    async fn pipeline(&self) -> Result<(), JobError> {
        self.acknowledge().await;
        let apply = match self.resolve().await? {
            Ok(apply) => apply,
            Err(reply) => return self.answer_without_apply(&reply).await,
        };
        let reply_to = self.reply_to(&apply);
        let target = CutoverTarget::of(&apply);
        if let CommandSource::PrComment(origin) = &self.job.source {
            if apply.repository != origin.repository || apply.pr != origin.pr {
                // Another PR's apply is reported as not found: never reveal it.
                let reply = ControlReply::NotFound {
                    op: self.job.op,
                    apply_id: apply.id.clone(),
                };
                return self.answer_without_apply(&reply).await;
            }
        }
        if apply.environment != self.job.environment {
            let reply = ControlReply::EnvironmentMismatch {
                op: self.job.op,
                target,
                requested: self.job.environment.clone(),
            };
            return self.answer(&reply_to, &apply, &reply).await;
        }
        if let Err(refusal) = crate::ownership::check(
            self.worker,
            &apply.deployment,
            &apply.database,
            &apply.environment,
            &apply.repository,
            None,
        ) {
            self.audit(&apply, refusal.code(), Some(refusal.message()))
                .await;
            self.count(refusal.code());
            let body = render_not_owned(self.job.op.as_str(), &refusal, self.job_id)
                .map_err(errors::render)?;
            return self.post(&reply_to, &body).await;
        }
        if let Some(reply) = self.authorize(&apply).await? {
            return self.answer(&reply_to, &apply, &reply).await;
        }
        if let Some(reply) = self.answered_before(&apply).await? {
            return self.answer(&reply_to, &apply, &reply).await;
        }
        let reply = match decide_control(self.job.op, apply.state) {
            ControlDecision::Proceed => self.execute(&apply).await?,
            ControlDecision::AlreadyDone => ControlReply::AlreadyDone {
                op: self.job.op,
                target,
                state: apply.state,
            },
            ControlDecision::Refuse(refusal) => ControlReply::Refused {
                op: self.job.op,
                target,
                refusal,
                state: apply.state,
            },
        };
        self.answer(&reply_to, &apply, &reply).await
    }

    /// 👀 on the command's comment, once (CLI requests have none).
    async fn acknowledge(&self) {
        let CommandSource::PrComment(origin) = &self.job.source else {
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

    /// The commenter's permission for the apply's environment; `Some(reply)` refuses. The CLI
    /// was authorised by IAM and the queue's sender check.
    async fn authorize(&self, apply: &Apply) -> Result<Option<ControlReply>, JobError> {
        let CommandSource::PrComment(origin) = &self.job.source else {
            return Ok(None);
        };
        match permission::check(self.worker, origin, &apply.environment, self.attempt).await? {
            PermissionCheck::Granted => Ok(None),
            PermissionCheck::Denied { required, actual } => {
                Ok(Some(ControlReply::PermissionDenied {
                    op: self.job.op,
                    environment: apply.environment.clone(),
                    login: origin.commenter.0.clone(),
                    required: required.as_str().to_string(),
                    actual: actual.map(|p| p.as_str().to_string()),
                }))
            }
        }
    }

    fn reply_to(&self, apply: &Apply) -> ReplyTo {
        ReplyTo::command(self.worker, &self.job.source, apply)
    }

    /// Answers on the commenting PR when there is no apply to name (CLI callers read the
    /// outcome from the store and their exit code).
    async fn answer_without_apply(&self, reply: &ControlReply) -> Result<(), JobError> {
        self.count(reply.outcome());
        let CommandSource::PrComment(origin) = &self.job.source else {
            tracing::info!(
                outcome = reply.outcome(),
                "CLI control without an apply to act on"
            );
            return Ok(());
        };
        let reply_to = ReplyTo::comment(self.worker, origin);
        let body = render_control_reply(reply, self.job_id).map_err(errors::render)?;
        self.post(&reply_to, &body).await
    }

    /// The reply, its audit event and its metric, from the one typed outcome.
    async fn answer(
        &self,
        reply_to: &ReplyTo,
        apply: &Apply,
        reply: &ControlReply,
    ) -> Result<(), JobError> {
        let message = match reply {
            ControlReply::NotAccepted { message, .. } => Some(message.clone()),
            ControlReply::Failed { error, .. } => Some(error.clone()),
            _ => None,
        };
        self.audit(apply, reply.outcome(), message).await;
        self.count(reply.outcome());
        let body = render_control_reply(reply, self.job_id).map_err(errors::render)?;
        self.post(reply_to, &body).await
    }

    async fn post(&self, reply_to: &ReplyTo, body: &str) -> Result<(), JobError> {
        post_once(
            &reply_to.github,
            &reply_to.repository,
            reply_to.pr,
            &hidden_marker(self.job_id),
            body,
            &self.worker.store,
        )
        .await
        .map(drop)
    }

    /// `<op>_requested` with the outcome; a failed write is logged, never fails the command.
    async fn audit(&self, apply: &Apply, outcome: &str, message: Option<String>) {
        let event = AuditEvent {
            apply_id: apply.id.clone(),
            at: Utc::now(),
            event: self.job.op.audit_event().to_string(),
            actor: self.actor_id.clone(),
            delivery_id: match &self.job.source {
                CommandSource::PrComment(origin) => Some(origin.delivery_id.to_string()),
                CommandSource::Cli { request_id, .. } => Some(format!("cli:{request_id}")),
            },
            from_state: Some(apply.state),
            to_state: None,
            outcome: outcome.to_string(),
            message,
        };
        if let Err(error) = self.worker.store.append_event(&event).await {
            tracing::warn!(%error, "could not append the audit event");
        }
    }

    fn count(&self, outcome: &str) {
        schemabot_aws::emf::count(
            "Commands",
            &[("Command", self.job.op.as_str()), ("Outcome", outcome)],
        );
    }
}
