//! Recording the outcome: `cutting_over` with its comment record, or the claim released.

use super::{ReplyTo, Run};
use crate::errors;
use crate::outcome::JobError;
use chrono::Utc;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, AuditEvent, CommentKind, CommentRecord};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::{CommentId, State};

impl Run<'_> {
    /// Tern accepted: post Cutover Triggered and move the apply to `cutting_over` with the
    /// comment tracked as the apply's cutover comment, in one conditional transaction.
    pub(super) async fn finish(&self, apply: Apply, reply_to: &ReplyTo) -> Result<(), JobError> {
        let event = AuditEvent {
            to_state: Some(State::CuttingOver),
            ..self
                .cmd
                .event(&apply, EventKind::CutoverTriggered, Outcome::Accepted, None)
        };
        if self.cmd.origin().is_none() {
            // The CLI is the path for when GitHub is down: record the cutover first, so the
            // operator's confirmation never waits on GitHub; the comment follows (a failed post
            // is retried, and the retry finds the state written and only posts).
            self.record_cutting_over(&apply, None, &event).await?;
            return self.announce_tracked(&apply, reply_to).await;
        }
        // PR comments: the comment and the state change are one transaction (one request).
        let comment = self.announce(&apply, reply_to).await?;
        let record = cutover_comment_record(&apply, comment);
        self.record_cutting_over(&apply, Some(&record), &event)
            .await
    }

    /// Posts Cutover Triggered and tracks it as the apply's cutover comment on its own (the
    /// state was written before).
    pub(super) async fn announce_tracked(
        &self,
        apply: &Apply,
        reply_to: &ReplyTo,
    ) -> Result<(), JobError> {
        let comment = self.announce(apply, reply_to).await?;
        let record = cutover_comment_record(apply, comment);
        self.cmd
            .worker
            .store
            .put_comment_record(&record)
            .await
            .map_err(errors::store)?;
        Ok(())
    }

    /// Moves the claimed apply to `cutting_over` (with the comment record, when given).
    pub(super) async fn record_cutting_over(
        &self,
        apply: &Apply,
        record: Option<&CommentRecord>,
        event: &AuditEvent,
    ) -> Result<(), JobError> {
        match self
            .cmd
            .worker
            .store
            .mark_cutting_over(
                &apply.id,
                self.cmd.job_id,
                &self.cmd.actor_id(),
                Utc::now(),
                record,
                event,
            )
            .await
            .map_err(errors::store)?
        {
            WriteOutcome::Written(()) => {
                self.cmd.count(&Outcome::Triggered);
                schemabot_aws::emf::emit(
                    &[("Command", self.cmd.name)],
                    &[(
                        "CutoverLatency",
                        self.started.elapsed().as_secs_f64() * 1000.0,
                        schemabot_aws::emf::Unit::Milliseconds,
                    )],
                );
                Ok(())
            }
            WriteOutcome::ConditionFailed { current } => {
                // Already moved (a duplicate of this command, or the sweep settled the claim
                // first): the comment record is what matters.
                tracing::info!(state = ?current.as_ref().map(|a| a.state), "apply already past the claim");
                if let Some(record) = record {
                    if let Err(error) = self.cmd.worker.store.put_comment_record(record).await {
                        tracing::warn!(%error, "could not track the cutover comment");
                    }
                }
                Ok(())
            }
        }
    }

    pub(super) async fn release(&self, apply: &Apply, event: &AuditEvent) -> Result<(), JobError> {
        // Released, or the claim already moved on: either way this command holds nothing.
        self.cmd
            .worker
            .store
            .release_claim(&apply.id, self.cmd.job_id, event)
            .await
            .map_err(errors::store)?;
        Ok(())
    }
}

pub(super) fn cutover_comment_record(apply: &Apply, comment: CommentId) -> CommentRecord {
    CommentRecord {
        apply_id: apply.id.clone(),
        kind: CommentKind::Cutover,
        comment_id: comment,
        body_hash: String::new(),
        edit_count: 0,
        last_edited_at: None,
        finalized: false,
    }
}
