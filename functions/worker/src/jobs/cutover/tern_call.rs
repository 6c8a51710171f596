//! The Tern Cutover call for a claimed apply, and settling an unknown outcome from the sentinel.

use super::{ReplyTo, Run};
use crate::errors;
use crate::outcome::JobError;
use chrono::{TimeDelta, Utc};
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, CommentKind};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::cutover::{cutover_evidence, CutoverEvidence};
use schemabot_domain::State;
use schemabot_render::{CutoverReply, CutoverTarget};
use schemabot_tern::{CutoverOutcome, TernTarget};

/// Whether the claim already records the call about to be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallMark {
    /// A fresh claim, written with the call time (no extra request).
    WrittenWithClaim,
    /// A claim held from an earlier attempt: mark the call first.
    Needed,
}

/// How long a begun Cutover call counts as in flight: well past Tern's request timeout.
const CALL_IN_FLIGHT: TimeDelta = TimeDelta::seconds(30);

impl Run<'_> {
    /// This command holds the claim from an earlier attempt (a redelivery or a crashed run): the
    /// outcome of that attempt's Tern call is unknown, so settle it from evidence.
    pub(super) async fn resume(&self, apply: Apply, reply_to: &ReplyTo) -> Result<(), JobError> {
        // Another attempt of this command (the same message handed out twice) is between its
        // Tern call and recording the outcome: it announces; acting here would say it twice.
        let in_flight = |apply: &Apply| {
            apply.claim.as_ref().is_some_and(|claim| {
                claim.tern_call_open
                    && claim
                        .tern_called_at
                        .is_some_and(|at| Utc::now() - at < CALL_IN_FLIGHT)
            })
        };
        let wait_for_it = || {
            JobError::transient(
                "another attempt of this command is calling Tern or announcing the outcome",
            )
        };
        self.resumed.set(true);
        match apply.state {
            State::CuttingOver
            | State::Completed
            | State::Failed
            | State::Cancelled
            | State::Reverted => {
                // The state write happened; only the comment may be missing (or this is a
                // duplicate message and everything is done).
                let snapshot = self
                    .cmd
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
                if in_flight(&apply) {
                    return Err(wait_for_it());
                }
                self.announce_tracked(&apply, reply_to).await
            }
            State::WaitingForCutover | State::Recovering => {
                if in_flight(&apply) {
                    return Err(wait_for_it());
                }
                if self.sentinel_present(&apply).await? {
                    return self.trigger(apply, reply_to, CallMark::Needed).await;
                }
                tracing::info!("sentinel is gone: the earlier Tern call took effect");
                self.finish(apply, reply_to).await
            }
            state => {
                tracing::warn!(%state, "claimed apply left the waiting state; nothing to trigger");
                Ok(())
            }
        }
    }

    /// Calls Tern Cutover for a claimed apply, at most once at a time per command: the call is
    /// marked on the claim first, and an attempt that finds a fresh mark leaves the call to the
    /// attempt that made it. After an earlier call whose answer was lost, evidence decides
    /// before and after calling again — a refusal alone never reads as "nothing changed".
    pub(super) async fn trigger(
        &self,
        apply: Apply,
        reply_to: &ReplyTo,
        mark: CallMark,
    ) -> Result<(), JobError> {
        let earlier_call = match mark {
            CallMark::WrittenWithClaim => None,
            CallMark::Needed => apply.claim.as_ref().and_then(|c| c.tern_called_at),
        };
        if earlier_call.is_some() && self.evidence(&apply).await == CutoverEvidence::Happened {
            tracing::info!("an earlier Cutover call whose answer was lost took effect");
            return self.finish(apply, reply_to).await;
        }
        if mark == CallMark::Needed {
            self.mark_call().await?;
        }
        let target = TernTarget::for_apply(&apply);
        let apply_id = apply.id.clone();
        let handled = match self.cmd.worker.tern.cutover(&target).await {
            Ok(CutoverOutcome::Accepted) => self.finish(apply, reply_to).await,
            Ok(CutoverOutcome::NotAccepted { message }) if earlier_call.is_some() => {
                self.refused_after_unknown(apply, reply_to, message).await
            }
            Ok(CutoverOutcome::NotAccepted { message }) => {
                self.not_accepted(apply, reply_to, message).await
            }
            // Retried: the claim is kept, and the retry settles the unknown outcome from evidence.
            Err(error) => match errors::tern(error, "Tern", !self.cmd.attempt.is_final()) {
                Ok(error) => self.give_up(apply, reply_to, error.to_string()).await,
                Err(retry) => Err(retry),
            },
        };
        if handled.is_err() {
            // This attempt stops here: its call is no longer in flight, so a retry need not
            // wait for it (it settles the outcome from evidence instead).
            if let Err(store_error) = self
                .cmd
                .worker
                .store
                .end_cutover_call(&apply_id, self.cmd.job_id)
                .await
            {
                tracing::warn!(%store_error, "could not mark the Cutover call ended; it turns stale on its own");
            }
        }
        handled
    }

    /// Marks the call about to be made on the claim (see [`Store::begin_cutover_call`]).
    ///
    /// [`Store::begin_cutover_call`]: schemabot_aws::store::Store::begin_cutover_call
    async fn mark_call(&self) -> Result<(), JobError> {
        let now = Utc::now();
        let marked = self
            .cmd
            .worker
            .store
            .begin_cutover_call(
                &self.job.apply_id,
                self.cmd.job_id,
                now,
                now - CALL_IN_FLIGHT,
            )
            .await
            .map_err(errors::store)?;
        match marked {
            WriteOutcome::Written(()) => Ok(()),
            WriteOutcome::ConditionFailed { current } => {
                // Another attempt of this command (the same message, handed out twice) is
                // calling Tern right now, or the claim moved on. Come back later and settle from
                // what is stored then, rather than race the call.
                tracing::info!(
                    state = ?current.as_ref().map(|a| a.state),
                    "another attempt of this command is calling Tern's Cutover"
                );
                Err(JobError::transient(
                    "another attempt of this command is calling Tern's Cutover",
                ))
            }
        }
    }

    /// Tern refused, and no earlier call of this command may have worked: nothing changed.
    async fn not_accepted(
        &self,
        apply: Apply,
        reply_to: &ReplyTo,
        message: String,
    ) -> Result<(), JobError> {
        self.cmd.count(&Outcome::NotAccepted);
        let event = self.cmd.event(
            &apply,
            EventKind::CutoverNotAccepted,
            Outcome::NotAccepted,
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

    /// Tern refused a repeated call. Tern may refuse precisely because the first call worked,
    /// so the evidence decides what the reply says.
    async fn refused_after_unknown(
        &self,
        apply: Apply,
        reply_to: &ReplyTo,
        message: String,
    ) -> Result<(), JobError> {
        match self.evidence(&apply).await {
            CutoverEvidence::Happened => self.finish(apply, reply_to).await,
            CutoverEvidence::NotHappened => self.not_accepted(apply, reply_to, message).await,
            CutoverEvidence::Unknown => {
                self.cmd
                    .audit(
                        &apply,
                        EventKind::CutoverNotAccepted,
                        Outcome::OutcomeUnknown,
                        Some(message.clone()),
                    )
                    .await;
                if !self.cmd.attempt.is_final() {
                    return Err(JobError::transient(
                        "Tern refused a repeated Cutover and the first call's outcome is not yet known",
                    ));
                }
                // The claim stays: the progress sweep settles it from the sentinel.
                self.cmd.count(&Outcome::OutcomeUnknown);
                let error = format!(
                    "whether the first Cutover call took effect could not be verified yet (Tern refused a repeat: {message})"
                );
                self.reply(reply_to, &self.failed(&apply, error)).await
            }
        }
    }

    /// What Tern's report and the sentinel say about an earlier call (each may be missing).
    async fn evidence(&self, apply: &Apply) -> CutoverEvidence {
        let report = match self
            .cmd
            .worker
            .tern
            .progress(&TernTarget::for_apply(apply))
            .await
        {
            Ok(report) => Some(report.state),
            Err(error) => {
                tracing::info!(%error, "Tern Progress unavailable while settling a cutover");
                None
            }
        };
        let sentinel = self.sentinel_present(apply).await.ok();
        cutover_evidence(report.as_ref(), sentinel)
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
            Ok(false) => return self.finish(apply, reply_to).await,
            Ok(true) => {
                let event = self.cmd.event(
                    &apply,
                    EventKind::CutoverFailed,
                    Outcome::Failed,
                    Some(error.clone()),
                );
                self.release(&apply, &event).await?;
            }
            // Evidence unavailable: keep the claim; the sweep settles it later.
            Err(_) => {
                self.cmd
                    .audit(
                        &apply,
                        EventKind::CutoverFailed,
                        Outcome::OutcomeUnknown,
                        Some(error.clone()),
                    )
                    .await;
            }
        }
        self.cmd.count(&Outcome::Failed);
        self.reply(reply_to, &self.failed(&apply, error)).await
    }

    /// The Cutover Failed reply of this attempt.
    fn failed(&self, apply: &Apply, error: String) -> CutoverReply {
        CutoverReply::Failed {
            target: CutoverTarget::of(apply),
            error,
            attempts: self.cmd.attempt.receive_count,
        }
    }

    pub(super) async fn sentinel_present(&self, apply: &Apply) -> Result<bool, JobError> {
        self.cmd
            .worker
            .sentinel
            .sentinel_present_for(
                &self.cmd.worker.dsns,
                &apply.deployment,
                apply.environment.as_str(),
                &apply.target_schema,
            )
            .await
            .map_err(|e| errors::classify(e.is_transient(), format!("sentinel check: {e}")))
    }
}
