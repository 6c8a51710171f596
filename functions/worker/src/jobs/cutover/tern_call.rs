//! The Tern Cutover call for a claimed apply, and settling an unknown outcome from the sentinel.

use super::settlement::cutover_comment_record;
use super::{ReplyTo, Run};
use crate::errors;
use crate::outcome::{Attempt, JobError};
use schemabot_domain::apply::{Apply, CommentKind};
use schemabot_domain::State;
use schemabot_render::{CutoverReply, CutoverTarget};
use schemabot_tern::{CutoverOutcome, TernTarget};

impl Run<'_> {
    /// This command holds the claim from an earlier attempt (a redelivery or a crashed run): the
    /// outcome of that attempt's Tern call is unknown, so settle it from evidence.
    pub(super) async fn resume(&self, apply: Apply, reply_to: &ReplyTo) -> Result<(), JobError> {
        match apply.state {
            State::CuttingOver
            | State::Completed
            | State::Failed
            | State::Cancelled
            | State::Reverted => {
                // The state write happened; only the comment may be missing (or this is a
                // duplicate message and everything is done).
                let snapshot = self
                    .worker
                    .store
                    .load_snapshot(&apply.id)
                    .await
                    .map_err(errors::store)?;
                let has_comment = snapshot
                    .as_ref()
                    .is_some_and(|s| s.comments.iter().any(|c| c.kind == CommentKind::Cutover));
                if has_comment {
                    tracing::info!("duplicate cutover command: already triggered and announced");
                    return Ok(());
                }
                let comment = self
                    .announce(
                        &apply,
                        reply_to,
                        Attempt {
                            receive_count: 2,
                            ..self.attempt
                        },
                    )
                    .await?;
                let record = cutover_comment_record(&apply, comment);
                self.worker
                    .store
                    .put_comment_record(&record)
                    .await
                    .map_err(errors::store)?;
                Ok(())
            }
            State::WaitingForCutover | State::Recovering => {
                match self.sentinel_present(&apply).await {
                    Ok(false) => {
                        tracing::info!("sentinel is gone: the earlier Tern call took effect");
                        self.finish(apply, reply_to, true).await
                    }
                    Ok(true) => self.trigger(apply, reply_to).await,
                    Err(error) => Err(error),
                }
            }
            state => {
                tracing::warn!(%state, "claimed apply left the waiting state; nothing to trigger");
                Ok(())
            }
        }
    }

    /// Calls Tern Cutover for a claimed apply.
    pub(super) async fn trigger(&self, apply: Apply, reply_to: &ReplyTo) -> Result<(), JobError> {
        let target = TernTarget::for_apply(&apply);
        match self.worker.tern.cutover(&target).await {
            Ok(CutoverOutcome::Accepted) => {
                self.finish(apply, reply_to, !self.attempt.is_first()).await
            }
            Ok(CutoverOutcome::NotAccepted { message }) => {
                self.count_outcome("not_accepted");
                let event = self.event(
                    &apply,
                    "cutover_not_accepted",
                    "not_accepted",
                    Some(message.clone()),
                );
                self.release(&apply, &event).await?;
                self.reply(
                    reply_to,
                    &CutoverReply::NotAccepted {
                        target: CutoverTarget::of(&apply),
                        message,
                    },
                )
                .await
            }
            Err(error) if error.is_transient() && !self.attempt.is_final() => {
                crate::errors::tern_failed();
                // Keep the claim: the retry settles the unknown outcome from evidence.
                Err(JobError::transient(format!("Tern: {error}")))
            }
            Err(error) => {
                crate::errors::tern_failed();
                self.give_up(apply, reply_to, error.to_string()).await
            }
        }
    }

    /// The last attempt failed to reach Tern. If the sentinel shows the cutover happened anyway,
    /// record it; if it shows it did not, release the claim so someone can try again; either way
    /// tell the PR.
    pub(super) async fn give_up(
        &self,
        apply: Apply,
        reply_to: &ReplyTo,
        error: String,
    ) -> Result<(), JobError> {
        match self.sentinel_present(&apply).await {
            Ok(false) => return self.finish(apply, reply_to, true).await,
            Ok(true) => {
                let event = self.event(&apply, "cutover_failed", "failed", Some(error.clone()));
                self.release(&apply, &event).await?;
            }
            // Evidence unavailable: keep the claim; the sweep settles it later.
            Err(_) => {
                self.audit(
                    &apply,
                    "cutover_failed",
                    "outcome_unknown",
                    Some(error.clone()),
                )
                .await;
            }
        }
        self.count_outcome("failed");
        self.reply(
            reply_to,
            &CutoverReply::Failed {
                target: CutoverTarget::of(&apply),
                error,
                attempts: self.attempt.receive_count,
            },
        )
        .await
    }

    pub(super) async fn sentinel_present(&self, apply: &Apply) -> Result<bool, JobError> {
        self.worker
            .sentinel
            .sentinel_present_for(
                &self.worker.dsns,
                &apply.deployment,
                apply.environment.as_str(),
                &apply.target_schema,
            )
            .await
            .map_err(|e| {
                if e.is_transient() {
                    JobError::transient(format!("sentinel check: {e}"))
                } else {
                    JobError::permanent(format!("sentinel check: {e}"))
                }
            })
    }
}
