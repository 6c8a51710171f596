//! The gate: apply, PR and environment, the commenter's permission, the state, the claim.

use super::tern_call::CallMark;
use super::{ReplyTo, Run};
use crate::errors;
use crate::outcome::JobError;
use chrono::Utc;
use schemabot_aws::store::ClaimGranted;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, CutoverClaim};
use schemabot_domain::job::CommandSource;
use schemabot_domain::State;
use schemabot_github::{Permission, Reaction};
use schemabot_render::{CutoverReply, CutoverTarget};

impl Run<'_> {
    pub(super) async fn execute(&self) -> Result<(), JobError> {
        let worker = self.worker;
        if let CommandSource::PrComment(origin) = &self.job.source {
            if self.attempt.is_first() {
                let github = worker.github.installation(origin.installation_id);
                if let Err(error) = github
                    .add_reaction(&origin.repository, origin.comment_id, Reaction::Eyes)
                    .await
                {
                    tracing::warn!(%error, "could not add the 👀 reaction");
                }
            }
        }

        let apply = worker
            .store
            .get_apply(&self.job.apply_id)
            .await
            .map_err(errors::store)?;
        let Some(apply) = apply else {
            return self.refuse_without_apply().await;
        };
        let reply_to = self.reply_to(&apply);

        // Another repository's (or PR's) apply is reported as not found: never reveal it.
        if let CommandSource::PrComment(origin) = &self.job.source {
            if apply.repository != origin.repository || apply.pr != origin.pr {
                self.audit(
                    &apply,
                    "cutover_refused",
                    "apply_not_found",
                    Some("the apply belongs to another pull request".into()),
                )
                .await;
                return self.refuse_without_apply().await;
            }
        }
        if apply.environment != self.job.environment {
            return self
                .refuse(
                    &reply_to,
                    &apply,
                    "environment_mismatch",
                    CutoverReply::EnvironmentMismatch {
                        target: CutoverTarget::of(&apply),
                        requested: self.job.environment.clone(),
                    },
                )
                .await;
        }
        if let Err(refusal) = crate::ownership::check(
            worker,
            &apply.deployment,
            &apply.database,
            &apply.environment,
            &apply.repository,
            None,
        ) {
            return self.refuse_not_owned(&reply_to, &apply, &refusal).await;
        }
        if let Some(refusal) = self.check_permission(&apply).await? {
            return self
                .refuse(&reply_to, &apply, "permission_denied", refusal)
                .await;
        }
        if let Some(refusal) = crate::jobs::review_gate::cutover_refusal(
            worker,
            &self.job.source,
            &apply,
            self.attempt,
        )
        .await?
        {
            return self
                .refuse(&reply_to, &apply, "review_required", refusal)
                .await;
        }
        self.gate_and_claim(apply, &reply_to).await
    }

    /// Looks up the commenter's permission; `Some(reply)` refuses. Fails closed: when GitHub
    /// cannot answer, the command is retried, and refused on the final attempt.
    pub(super) async fn check_permission(
        &self,
        apply: &Apply,
    ) -> Result<Option<CutoverReply>, JobError> {
        let CommandSource::PrComment(origin) = &self.job.source else {
            // The CLI path is authorised by IAM (the caller could send to the queue).
            return Ok(None);
        };
        let required = self.worker.config.permission_minimum(&apply.environment);
        let github = self.worker.github.installation(origin.installation_id);
        let denied = |actual: Option<Permission>| CutoverReply::PermissionDenied {
            target: CutoverTarget::of(apply),
            login: origin.commenter.clone(),
            required: required.as_str().to_string(),
            actual: actual.map(|p| p.as_str().to_string()),
        };
        match github
            .collaborator_permission(&origin.repository, &origin.commenter)
            .await
        {
            Ok(actual) if actual.at_least(required) => Ok(None),
            Ok(actual) => Ok(Some(denied(Some(actual)))),
            Err(error) if error.is_transient() && !self.attempt.is_final() => {
                Err(errors::github(error))
            }
            Err(error) => {
                tracing::warn!(%error, "permission could not be verified; refusing (fail closed)");
                Ok(Some(denied(None)))
            }
        }
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
                .is_some_and(|c| c.command_id == self.job_id);
            if ours {
                return self.resume(apply, reply_to).await;
            }
            match apply.state {
                State::WaitingForCutover if apply.claim.is_none() => {}
                State::WaitingForCutover | State::CuttingOver | State::Completed => {
                    return self
                        .refuse(
                            reply_to,
                            &apply,
                            "already_triggered",
                            CutoverReply::already_triggered(&apply),
                        )
                        .await;
                }
                State::Recovering => {
                    return self
                        .refuse(
                            reply_to,
                            &apply,
                            "recovering",
                            CutoverReply::Recovering {
                                target: CutoverTarget::of(&apply),
                            },
                        )
                        .await;
                }
                state => {
                    return self
                        .refuse(
                            reply_to,
                            &apply,
                            "not_available",
                            CutoverReply::NotAvailable {
                                target: CutoverTarget::of(&apply),
                                state,
                            },
                        )
                        .await;
                }
            }
            let now = Utc::now();
            let claim = CutoverClaim {
                command_id: self.job_id.to_string(),
                actor: self.requester.actor_id.clone(),
                claimed_at: now,
                // A fresh claim is followed by the Tern call at once: mark it in the same write.
                tern_called_at: Some(now),
                tern_call_open: true,
            };
            let event = self.event(&apply, "cutover_claimed", "claimed", None);
            match self
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
        self.refuse(
            reply_to,
            &apply,
            "already_triggered",
            CutoverReply::already_triggered(&apply),
        )
        .await
    }
}
