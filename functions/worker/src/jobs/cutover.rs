//! The cutover command, exactly once.
//!
//! Order: 👀 → load the apply → same repository and PR → same environment → commenter
//! permission (fail closed) → state gate → conditional claim → Tern Cutover → conditional move to
//! `cutting_over` together with the tracked Cutover Triggered comment and its audit event.
//!
//! Exactly-once rests on the claim: a conditional write grants the cutover of an apply to one
//! command id. A redelivered or re-run command that already holds the claim never calls Tern
//! blindly: if the sentinel is gone the earlier call took effect, and only the bookkeeping
//! (comment, state) is finished; if it is still there, Tern is asked again.

use crate::errors;
use crate::outcome::{Attempt, JobError};
use crate::post::{hidden_marker, post_once};
use crate::Worker;
use chrono::Utc;
use schemabot_aws::store::ClaimGranted;
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, AuditEvent, CommentKind, CommentRecord, CutoverClaim};
use schemabot_domain::job::{CommandSource, CutoverJob};
use schemabot_domain::{CommentId, DeliveryId, PrNumber, Repository, State};
use schemabot_github::{InstallationClient, Permission, Reaction};
use schemabot_render::{
    render_cutover_reply, render_cutover_triggered, Actor, CutoverReply, CutoverTarget,
};
use schemabot_tern::{CutoverOutcome, TernTarget};

/// Who asked, and where answers go.
struct Requester {
    actor: Actor,
    /// Stored form of the actor (`login` or `cli:<arn>`).
    actor_id: String,
    delivery_id: Option<DeliveryId>,
}

/// Where replies for this command are posted.
struct ReplyTo {
    github: InstallationClient,
    repository: Repository,
    pr: PrNumber,
}

struct Run<'a> {
    started: std::time::Instant,
    worker: &'a Worker,
    job: &'a CutoverJob,
    job_id: &'a str,
    attempt: Attempt,
    requester: Requester,
}

pub async fn run(
    worker: &Worker,
    job: &CutoverJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let requester = match &job.source {
        CommandSource::PrComment(origin) => Requester {
            actor: Actor::GitHub(origin.commenter.clone()),
            actor_id: origin.commenter.0.clone(),
            delivery_id: Some(origin.delivery_id.clone()),
        },
        CommandSource::Cli { actor, .. } => Requester {
            actor: Actor::Cli {
                identity: actor.clone(),
            },
            actor_id: format!("cli:{actor}"),
            delivery_id: None,
        },
    };
    let run = Run {
        started: std::time::Instant::now(),
        worker,
        job,
        job_id,
        attempt,
        requester,
    };
    run.execute().await
}

impl Run<'_> {
    async fn execute(&self) -> Result<(), JobError> {
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
        if let Some(refusal) = self.check_permission(&apply).await? {
            return self
                .refuse(&reply_to, &apply, "permission_denied", refusal)
                .await;
        }
        self.gate_and_claim(apply, &reply_to).await
    }

    /// Looks up the commenter's permission; `Some(reply)` refuses. Fails closed: when GitHub
    /// cannot answer, the command is retried, and refused on the final attempt.
    async fn check_permission(&self, apply: &Apply) -> Result<Option<CutoverReply>, JobError> {
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

    async fn gate_and_claim(&self, apply: Apply, reply_to: &ReplyTo) -> Result<(), JobError> {
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
                }) => return self.trigger(apply, reply_to).await,
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

    /// This command holds the claim from an earlier attempt (a redelivery or a crashed run): the
    /// outcome of that attempt's Tern call is unknown, so settle it from evidence.
    async fn resume(&self, apply: Apply, reply_to: &ReplyTo) -> Result<(), JobError> {
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
                    .load_apply(&apply.id)
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
    async fn trigger(&self, apply: Apply, reply_to: &ReplyTo) -> Result<(), JobError> {
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
    async fn give_up(
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

    /// Tern accepted: post Cutover Triggered and move the apply to `cutting_over` with the
    /// comment tracked as the apply's cutover comment, in one conditional transaction.
    async fn finish(
        &self,
        apply: Apply,
        reply_to: &ReplyTo,
        maybe_posted: bool,
    ) -> Result<(), JobError> {
        let attempt = if maybe_posted {
            Attempt {
                receive_count: self.attempt.receive_count.max(2),
                ..self.attempt
            }
        } else {
            self.attempt
        };
        let event = AuditEvent {
            to_state: Some(State::CuttingOver),
            ..self.event(&apply, "cutover_triggered", "accepted", None)
        };
        if matches!(self.job.source, CommandSource::Cli { .. }) {
            // The CLI is the path for when GitHub is down: record the cutover first, so the
            // operator's confirmation never waits on GitHub; the comment follows (a failed post
            // is retried, and the retry finds the state written and only posts).
            self.record_cutting_over(&apply, None, &event).await?;
            let comment = self.announce(&apply, reply_to, attempt).await?;
            let record = cutover_comment_record(&apply, comment);
            self.worker
                .store
                .put_comment_record(&record)
                .await
                .map_err(errors::store)?;
            return Ok(());
        }
        // PR comments: the comment and the state change are one transaction (one request).
        let comment = self.announce(&apply, reply_to, attempt).await?;
        let record = cutover_comment_record(&apply, comment);
        self.record_cutting_over(&apply, Some(&record), &event)
            .await
    }

    /// Moves the claimed apply to `cutting_over` (with the comment record, when given).
    async fn record_cutting_over(
        &self,
        apply: &Apply,
        record: Option<&CommentRecord>,
        event: &AuditEvent,
    ) -> Result<(), JobError> {
        match self
            .worker
            .store
            .mark_cutting_over(
                &apply.id,
                self.job_id,
                &self.requester.actor_id,
                Utc::now(),
                record,
                event,
            )
            .await
            .map_err(errors::store)?
        {
            WriteOutcome::Written(()) => {
                self.count_outcome("triggered");
                schemabot_aws::emf::emit(
                    &[("Command", "cutover")],
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
                    if let Err(error) = self.worker.store.put_comment_record(record).await {
                        tracing::warn!(%error, "could not track the cutover comment");
                    }
                }
                Ok(())
            }
        }
    }

    async fn announce(
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

    async fn release(&self, apply: &Apply, event: &AuditEvent) -> Result<(), JobError> {
        match self
            .worker
            .store
            .release_claim(&apply.id, self.job_id, event)
            .await
            .map_err(errors::store)?
        {
            WriteOutcome::Written(()) | WriteOutcome::ConditionFailed { .. } => Ok(()),
        }
    }

    async fn sentinel_present(&self, apply: &Apply) -> Result<bool, JobError> {
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

    fn reply_to(&self, apply: &Apply) -> ReplyTo {
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
    async fn refuse_without_apply(&self) -> Result<(), JobError> {
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

    async fn refuse(
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

    async fn reply(&self, reply_to: &ReplyTo, reply: &CutoverReply) -> Result<(), JobError> {
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

    /// Counts the command's outcome (`Commands` metric, by outcome).
    fn count_outcome(&self, outcome: &str) {
        schemabot_aws::emf::count("Commands", &[("Command", "cutover"), ("Outcome", outcome)]);
    }

    fn event(
        &self,
        apply: &Apply,
        event: &str,
        outcome: &str,
        message: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            apply_id: apply.id.clone(),
            at: Utc::now(),
            event: event.to_string(),
            actor: self.requester.actor_id.clone(),
            delivery_id: self.requester.delivery_id.as_ref().map(ToString::to_string),
            from_state: Some(apply.state),
            to_state: None,
            outcome: outcome.to_string(),
            message,
        }
    }

    /// Appends an audit event outside a state change; a failure is logged, not fatal (the reply
    /// still goes out).
    async fn audit(&self, apply: &Apply, event: &str, outcome: &str, message: Option<String>) {
        let event = self.event(apply, event, outcome, message);
        if let Err(error) = self.worker.store.append_event(&event).await {
            tracing::warn!(%error, "could not append the audit event");
        }
    }
}

fn cutover_comment_record(apply: &Apply, comment: CommentId) -> CommentRecord {
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
