//! Replies on the PR: Cutover Triggered, refusals and failures, posted once per command.

use super::{ReplyTo, Run};
use crate::errors;
use crate::outcome::JobError;
use crate::post::{hidden_marker, post_guarded, post_once};
use chrono::Utc;
use schemabot_domain::apply::Apply;
use schemabot_domain::job::CommandSource;
use schemabot_domain::ownership::OwnershipRefusal;
use schemabot_domain::CommentId;
use schemabot_render::{
    render_cutover_reply, render_cutover_triggered, render_not_owned, CutoverReply,
};

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
        let marker = format!("{}:triggered", self.job_id);
        let body = render_cutover_triggered(apply, &self.requester.actor, Utc::now(), &marker)
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

    pub(super) fn reply_to(&self, apply: &Apply) -> ReplyTo {
        ReplyTo::command(self.worker, &self.job.source, apply)
    }

    /// Apply Not Found, answered where the command came from (never revealing other applies).
    pub(super) async fn refuse_without_apply(&self) -> Result<(), JobError> {
        self.count_outcome("apply_not_found");
        let CommandSource::PrComment(origin) = &self.job.source else {
            tracing::info!("CLI cutover for an unknown apply");
            return Ok(());
        };
        let reply_to = ReplyTo::comment(self.worker, origin);
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
        outcome: &str,
        reply: CutoverReply,
    ) -> Result<(), JobError> {
        self.count_outcome(outcome);
        self.audit(apply, "cutover_refused", outcome, None).await;
        self.reply(reply_to, &reply).await
    }

    /// The apply's repository may no longer change its database (the configuration changed).
    pub(super) async fn refuse_not_owned(
        &self,
        reply_to: &ReplyTo,
        apply: &Apply,
        refusal: &OwnershipRefusal,
    ) -> Result<(), JobError> {
        self.count_outcome(refusal.code());
        self.audit(
            apply,
            "cutover_refused",
            refusal.code(),
            Some(refusal.message()),
        )
        .await;
        let body = render_not_owned("cutover", refusal, self.job_id).map_err(errors::render)?;
        post_once(
            &reply_to.github,
            &reply_to.repository,
            reply_to.pr,
            &hidden_marker(self.job_id),
            &body,
            &self.worker.store,
        )
        .await
        .map(drop)
    }

    pub(super) async fn reply(
        &self,
        reply_to: &ReplyTo,
        reply: &CutoverReply,
    ) -> Result<(), JobError> {
        let body = render_cutover_reply(reply, self.job_id).map_err(errors::render)?;
        post_once(
            &reply_to.github,
            &reply_to.repository,
            reply_to.pr,
            &hidden_marker(self.job_id),
            &body,
            &self.worker.store,
        )
        .await
        .map(drop)
    }
}
