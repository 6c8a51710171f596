//! Replies on the PR: Cutover Triggered, refusals and failures, posted once per command.

use super::{ReplyTo, Run};
use crate::errors;
use crate::outcome::JobError;
use crate::post::{hidden_marker, post_guarded};
use chrono::Utc;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::CommentId;
use schemabot_render::{render_cutover_reply, render_cutover_triggered, CutoverReply};

impl Run<'_> {
    /// Posts Cutover Triggered, under a marker of its own (apart from the command's replies).
    /// Only a run that found its own claim searches for it first (see `Run::resumed`); the
    /// comment is then tracked with the `cutting_over` write, which keeps the happy path at one
    /// GitHub request and no extra DynamoDB request.
    pub(super) async fn announce(
        &self,
        apply: &Apply,
        reply_to: &ReplyTo,
    ) -> Result<CommentId, JobError> {
        let marker = format!("{}:triggered", self.cmd.job_id);
        let body = render_cutover_triggered(apply, &self.cmd.actor(), Utc::now(), &marker)
            .map_err(errors::render)?;
        post_guarded(
            &reply_to.github,
            &reply_to.repository,
            reply_to.pr,
            &hidden_marker(&marker),
            &body,
            self.resumed.get(),
        )
        .await
    }

    /// Apply Not Found, answered where the command came from (never revealing other applies).
    pub(super) async fn refuse_without_apply(&self) -> Result<(), JobError> {
        self.cmd.count(&Outcome::ApplyNotFound);
        let Some(origin) = self.cmd.origin() else {
            tracing::info!("CLI cutover for an unknown apply");
            return Ok(());
        };
        let reply_to = ReplyTo::comment(self.cmd.worker, origin);
        self.reply(
            &reply_to,
            &CutoverReply::ApplyNotFound {
                apply_id: self.job.apply_id.clone(),
            },
        )
        .await
    }

    pub(super) async fn refuse(
        &self,
        reply_to: &ReplyTo,
        apply: &Apply,
        reply: CutoverReply,
    ) -> Result<(), JobError> {
        let outcome = reply.outcome();
        self.cmd.count(&outcome);
        self.cmd
            .audit(apply, EventKind::CutoverRefused, outcome, None)
            .await;
        self.reply(reply_to, &reply).await
    }

    pub(super) async fn reply(
        &self,
        reply_to: &ReplyTo,
        reply: &CutoverReply,
    ) -> Result<(), JobError> {
        let body = render_cutover_reply(reply, self.cmd.job_id).map_err(errors::render)?;
        self.cmd.post_once(reply_to, self.cmd.job_id, &body).await
    }
}
