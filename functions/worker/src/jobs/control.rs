//! The lifecycle controls — stop, start, cancel, revert, skip-revert — from a PR comment or the
//! CLI, on one pipeline:
//!
//! acknowledge (👀 once) → the apply (named, or the PR's one controllable apply in the
//! environment) → same PR and environment → the repository owns the database → the commenter's
//! permission (fail closed) → the pure [`schemabot_domain::control::decide_control`] → the
//! request record (one command at a time per apply and control) → Tern → state, reply, audit
//! event and metric from one typed [`ControlReply`].
//!
//! Exactly once: a redelivered command finds its own request record; if the engine's answer was
//! recorded, only the reply is (re)posted — once, by its marker; if it was not (a lost answer),
//! Tern's report decides before asking again.

mod execute;
mod resolve;

use crate::errors;
use crate::jobs::command::{ApplyRefusal, Command};
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::Outcome;
use schemabot_domain::job::ControlJob;
use schemabot_render::{render_control_reply, ControlReply, CutoverTarget};

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
        let op = self.job.op;
        // A refusal, or the reply to a command Tern already answered.
        let refused = match self.cmd.check_apply(&apply, &self.job.environment).await? {
            None => self.answered_before(&apply).await?,
            Some(ApplyRefusal::OtherPullRequest) => {
                let reply = ControlReply::NotFound {
                    op,
                    apply_id: apply.id.clone(),
                };
                return self.answer_without_apply(&reply).await;
            }
            Some(ApplyRefusal::NotOwned(refusal)) => {
                return self
                    .cmd
                    .refuse_not_owned(&reply_to, &apply, op.audit_event(), &refusal)
                    .await;
            }
            Some(ApplyRefusal::EnvironmentMismatch) => Some(ControlReply::EnvironmentMismatch {
                op,
                target: target.clone(),
                requested: self.job.environment.clone(),
            }),
            Some(ApplyRefusal::PermissionDenied(denied)) => Some(ControlReply::PermissionDenied {
                op,
                environment: apply.environment.clone(),
                denied,
            }),
        };
        if let Some(reply) = refused {
            return self.answer(&reply_to, &apply, &reply).await;
        }
        let reply = match self.decided(target, apply.state) {
            Some(reply) => reply,
            None => self.execute(&apply).await?,
        };
        self.answer(&reply_to, &apply, &reply).await
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
