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
use crate::jobs::command::Command;
use crate::jobs::permission::PermissionCheck;
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::Outcome;
use schemabot_domain::control::{decide_control, ControlDecision};
use schemabot_domain::job::ControlJob;
use schemabot_render::{render_control_reply, render_not_owned, ControlReply, CutoverTarget};

/// One control command being carried out.
pub(crate) struct ControlRun<'a> {
    cmd: Command<'a>,
    job: &'a ControlJob,
}

pub async fn run(
    worker: &Worker,
    job: &ControlJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let run = ControlRun {
        cmd: Command::new(worker, job.op.as_str(), &job.source, job_id, attempt),
        job,
    };
    run.pipeline().await
}

impl ControlRun<'_> {
    async fn pipeline(&self) -> Result<(), JobError> {
        self.cmd.acknowledge().await;
        let apply = match self.resolve().await? {
            Ok(apply) => apply,
            Err(reply) => return self.answer_without_apply(&reply).await,
        };
        let reply_to = self.cmd.reply_to(&apply);
        let target = CutoverTarget::of(&apply);
        if let Some(origin) = self.cmd.origin() {
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
            self.cmd.worker,
            &apply.deployment,
            &apply.database,
            &apply.environment,
            &apply.repository,
            None,
        ) {
            self.audit(&apply, refusal.code(), Some(refusal.message()))
                .await;
            self.cmd.count(&refusal.code());
            let body = render_not_owned(self.job.op.as_str(), &refusal, self.cmd.job_id)
                .map_err(errors::render)?;
            return self.cmd.post_once(&reply_to, self.cmd.job_id, &body).await;
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

    /// The commenter's permission for the apply's environment; `Some(reply)` refuses.
    async fn authorize(&self, apply: &Apply) -> Result<Option<ControlReply>, JobError> {
        let permission = self.cmd.authorize(&apply.environment).await?;
        let (PermissionCheck::Denied { required, actual }, Some(origin)) =
            (permission, self.cmd.origin())
        else {
            return Ok(None);
        };
        Ok(Some(ControlReply::PermissionDenied {
            op: self.job.op,
            environment: apply.environment.clone(),
            login: origin.commenter.0.clone(),
            required: required.as_str().to_string(),
            actual: actual.map(|p| p.as_str().to_string()),
        }))
    }

    /// Answers on the commenting PR when there is no apply to name (CLI callers read the
    /// outcome from the store and their exit code).
    async fn answer_without_apply(&self, reply: &ControlReply) -> Result<(), JobError> {
        self.cmd.count(&reply.outcome());
        let Some(origin) = self.cmd.origin() else {
            tracing::info!(
                outcome = %reply.outcome(),
                "CLI control without an apply to act on"
            );
            return Ok(());
        };
        let body = render_control_reply(reply, self.cmd.job_id).map_err(errors::render)?;
        let reply_to = ReplyTo::comment(self.cmd.worker, origin);
        self.cmd.post_once(&reply_to, self.cmd.job_id, &body).await
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
        self.cmd.count(&reply.outcome());
        let body = render_control_reply(reply, self.cmd.job_id).map_err(errors::render)?;
        self.cmd.post_once(reply_to, self.cmd.job_id, &body).await
    }

    /// `<op>_requested` with the outcome (the event a waiting CLI reads).
    async fn audit(&self, apply: &Apply, outcome: Outcome, message: Option<String>) {
        self.cmd
            .audit(apply, self.job.op.audit_event(), outcome, message)
            .await;
    }
}
