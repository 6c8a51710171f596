//! The gate: apply, PR and environment, ownership, the commenter's permission, the review gate,
//! the state, the claim.

use super::tern_call::CallMark;
use super::{ReplyTo, Run};
use crate::errors;
use crate::jobs::command::ApplyRefusal;
use crate::jobs::review_gate;
use crate::outcome::JobError;
use chrono::Utc;
use schemabot_aws::store::ClaimGranted;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, CutoverClaim};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::State;
use schemabot_render::{CutoverReply, CutoverTarget};

impl Run<'_> {
    pub(super) async fn execute(&self) -> Result<(), JobError> {
        let worker = self.cmd.worker;
        self.cmd.acknowledge().await;

        let apply = worker
            .store
            .get_apply(&self.job.apply_id)
            .await
            .map_err(errors::store)?;
        let Some(apply) = apply else {
            return self.refuse_without_apply().await;
        };
        let reply_to = self.cmd.reply_to(&apply);

        let target = CutoverTarget::of(&apply);
        let refused = match self.cmd.check_apply(&apply, &self.job.environment).await? {
            None => {
                let source = &self.job.source;
                let attempt = self.cmd.attempt;
                review_gate::cutover_refusal(worker, source, &apply, attempt).await?
            }
            Some(ApplyRefusal::OtherPullRequest) => {
                self.cmd
                    .audit(
                        &apply,
                        EventKind::CutoverRefused,
                        Outcome::ApplyNotFound,
                        Some("the apply belongs to another pull request".into()),
                    )
                    .await;
                return self.refuse_without_apply().await;
            }
            Some(ApplyRefusal::NotOwned(refusal)) => {
                return self
                    .cmd
                    .refuse_not_owned(&reply_to, &apply, EventKind::CutoverRefused, &refusal)
                    .await;
            }
            Some(ApplyRefusal::EnvironmentMismatch) => Some(CutoverReply::EnvironmentMismatch {
                target,
                requested: self.job.environment.clone(),
            }),
            Some(ApplyRefusal::PermissionDenied(denied)) => {
                Some(CutoverReply::PermissionDenied { target, denied })
            }
        };
        if let Some(reply) = refused {
            return self.refuse(&reply_to, &apply, reply).await;
        }
        self.gate_and_claim(apply, &reply_to).await
    }

    pub(super) async fn gate_and_claim(
        &self,
        apply: Apply,
        reply_to: &ReplyTo,
    ) -> Result<(), JobError> {
        let mut apply = apply;
        // At most two rounds: a lost claim race re-evaluates the gate with the winner's item.
        for _ in 0..2 {
            let ours = apply
                .claim
                .as_ref()
                .is_some_and(|c| c.command_id == self.cmd.job_id);
            if ours {
                return self.resume(apply, reply_to).await;
            }
            let target = CutoverTarget::of(&apply);
            let refused = match apply.state {
                State::WaitingForCutover if apply.claim.is_none() => None,
                State::WaitingForCutover | State::CuttingOver | State::Completed => {
                    Some(CutoverReply::already_triggered(&apply))
                }
                State::Recovering => Some(CutoverReply::Recovering { target }),
                state => Some(CutoverReply::NotAvailable { target, state }),
            };
            if let Some(reply) = refused {
                return self.refuse(reply_to, &apply, reply).await;
            }
            let now = Utc::now();
            let claim = CutoverClaim {
                command_id: self.cmd.job_id.to_string(),
                actor: self.cmd.actor_id(),
                claimed_at: now,
                // A fresh claim is followed by the Tern call at once: mark it in the same write.
                tern_called_at: Some(now),
                tern_call_open: true,
            };
            let event = self
                .cmd
                .event(&apply, EventKind::CutoverClaimed, Outcome::Claimed, None);
            match self
                .cmd
                .worker
                .store
                .claim_cutover(&apply, &claim, &event)
                .await
                .map_err(errors::store)?
            {
                WriteOutcome::Written(ClaimGranted {
                    apply,
                    already_held: false,
                }) => {
                    return self
                        .trigger(apply, reply_to, CallMark::WrittenWithClaim)
                        .await
                }
                WriteOutcome::Written(ClaimGranted { apply, .. }) => {
                    return self.resume(apply, reply_to).await
                }
                WriteOutcome::ConditionFailed {
                    current: Some(current),
                } => apply = current,
                WriteOutcome::ConditionFailed { current: None } => {
                    return self.refuse_without_apply().await;
                }
            }
        }
        let reply = CutoverReply::already_triggered(&apply);
        self.refuse(reply_to, &apply, reply).await
    }
}
