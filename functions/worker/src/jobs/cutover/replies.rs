//! Replies on the PR: Cutover Triggered, refusals and failures, posted once per command.

use super::{ReplyTo, Run};
use crate::errors;
use crate::outcome::{Attempt, JobError};
use crate::post::{hidden_marker, post_once};
use chrono::Utc;
use schemabot_domain::apply::Apply;
use schemabot_domain::job::CommandSource;
use schemabot_domain::CommentId;
use schemabot_render::{render_cutover_reply, render_cutover_triggered, CutoverReply};

impl Run<'_> {
    pub(super) async fn announce(
        &self,
        apply: &Apply,
        reply_to: &ReplyTo,
        attempt: Attempt,
    ) -> Result<CommentId, JobError> {
        let body = render_cutover_triggered(apply, &self.requester.actor, Utc::now(), self.job_id)
            .map_err(errors::render)?;
        post_once(
            &reply_to.github,
            &reply_to.repository,
            reply_to.pr,
            &hidden_marker(self.job_id),
            &body,
            attempt,
        )
        .await
    }

    pub(super) fn reply_to(&self, apply: &Apply) -> ReplyTo {
        match &self.job.source {
            CommandSource::PrComment(origin) => ReplyTo {
                github: self.worker.github.installation(origin.installation_id),
                repository: origin.repository.clone(),
                pr: origin.pr,
            },
            CommandSource::Cli { .. } => ReplyTo {
                github: self.worker.github.installation(apply.installation_id),
                repository: apply.repository.clone(),
                pr: apply.pr,
            },
        }
    }

    /// Apply Not Found, answered where the command came from (never revealing other applies).
    pub(super) async fn refuse_without_apply(&self) -> Result<(), JobError> {
        self.count_outcome("apply_not_found");
        let CommandSource::PrComment(origin) = &self.job.source else {
            tracing::info!("CLI cutover for an unknown apply");
            return Ok(());
        };
        let reply_to = ReplyTo {
            github: self.worker.github.installation(origin.installation_id),
            repository: origin.repository.clone(),
            pr: origin.pr,
        };
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
            self.attempt,
        )
        .await
        .map(drop)
    }
}
