//! How `rollback` answers: every outcome is one reply (posted once, by its marker), one audit
//! event on the apply (`rollback_requested`, with the outcome) and one metric, on the shared
//! [`Command`] plumbing.

use crate::errors;
use crate::jobs::command::Command;
use crate::outcome::JobError;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::lock::{LockKey, LockOwner};
use schemabot_domain::ApplyId;
use schemabot_render::{
    render_lock_reply, render_rollback_plan, render_rollback_reply, LockReply, RollbackPlan,
    RollbackReply,
};

pub(super) struct Answer<'a> {
    pub command: Command<'a>,
}

impl Answer<'_> {
    /// No such apply here: answered on the commenting PR (a CLI caller reads its exit code).
    pub async fn without_apply(&self, apply_id: &ApplyId) -> Result<(), JobError> {
        self.command.count(&Outcome::ApplyNotFound);
        let Some(origin) = self.command.origin() else {
            tracing::info!(%apply_id, "CLI rollback of an unknown apply");
            return Ok(());
        };
        let reply = RollbackReply::NotFound {
            apply_id: apply_id.clone(),
        };
        let body = render_rollback_reply(&reply, self.command.job_id).map_err(errors::render)?;
        let to = crate::post::ReplyTo::comment(self.command.worker, origin);
        self.command
            .post_once(&to, self.command.job_id, &body)
            .await
    }

    pub async fn reply(&self, apply: &Apply, reply: &RollbackReply) -> Result<(), JobError> {
        self.record(apply, reply.outcome(), None).await;
        let body = render_rollback_reply(reply, self.command.job_id).map_err(errors::render)?;
        self.post(apply, self.command.job_id, &body).await
    }

    pub async fn lock_reply(&self, apply: &Apply, reply: &LockReply) -> Result<(), JobError> {
        self.record(apply, reply.outcome(), None).await;
        let body = render_lock_reply(reply, self.command.job_id).map_err(errors::render)?;
        self.post(apply, self.command.job_id, &body).await
    }

    /// The rollback plan comment (its own marker: a later reply of this job is never taken
    /// for it).
    pub async fn plan(
        &self,
        apply: &Apply,
        plan: &RollbackPlan,
        outcome: Outcome,
    ) -> Result<(), JobError> {
        self.record(apply, outcome, None).await;
        let marker = format!("{}:plan", self.command.job_id);
        let body = render_rollback_plan(plan, &marker).map_err(errors::render)?;
        self.post(apply, &marker, &body).await
    }

    /// The lock's own trail: taken for the rollback of `apply`.
    pub async fn lock_acquired(
        &self,
        key: &LockKey,
        owner: &LockOwner,
        apply: &Apply,
        tables: usize,
    ) {
        let message = format!("rollback of {}: {tables} table change(s)", apply.id);
        self.command
            .audit_lock(
                key,
                owner,
                EventKind::LockAcquired,
                Outcome::Planned,
                Some(message),
            )
            .await;
    }

    /// The audit event and metric of one outcome.
    async fn record(&self, apply: &Apply, outcome: Outcome, message: Option<String>) {
        self.command.count(&outcome);
        self.command
            .audit(apply, EventKind::RollbackRequested, outcome, message)
            .await;
    }

    async fn post(&self, apply: &Apply, marker: &str, body: &str) -> Result<(), JobError> {
        let to = self.command.reply_to(apply);
        self.command.post_once(&to, marker, body).await
    }
}
