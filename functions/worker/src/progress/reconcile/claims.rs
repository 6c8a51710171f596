//! Cutover claims whose Tern outcome is unknown (their command crashed or is still retrying),
//! settled from evidence: the engine showing the cutover, or the sentinel.

use super::*;

/// A claim older than this whose command has not moved the apply on has an unknown Tern
/// outcome (its job crashed or is still retrying): the sweep starts looking at the evidence.
pub const CLAIM_OUTCOME_UNKNOWN_AFTER: TimeDelta = TimeDelta::seconds(60);
/// With the sentinel still present after this long, the claimed cutover did not happen and its
/// command has given up (its retries end well before): release the claim so operators can retry.
pub const CLAIM_RELEASE_AFTER: TimeDelta = TimeDelta::minutes(5);

/// How a cutover claim with an unknown Tern outcome was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimSettlement {
    /// The sentinel is gone: the claimed cutover happened; the apply moved to `cutting_over`.
    CutoverHappened,
    /// The sentinel is still there long after the claim: the claim was released.
    Released,
    /// The sentinel is still there; the claim's command may still be retrying.
    Waiting,
}

/// The claim of `apply` if its outcome should now be judged from evidence (pure).
pub fn claim_to_settle(apply: &Apply, now: DateTime<Utc>) -> Option<&CutoverClaim> {
    let waiting = matches!(apply.state, State::WaitingForCutover | State::Recovering);
    apply
        .claim
        .as_ref()
        .filter(|claim| waiting && now - claim.claimed_at >= CLAIM_OUTCOME_UNKNOWN_AFTER)
}

/// What the sentinel says about a claim of age `age` (pure).
pub fn settle_claim(age: TimeDelta, evidence: SentinelEvidence) -> ClaimSettlement {
    match evidence {
        SentinelEvidence::Absent => ClaimSettlement::CutoverHappened,
        SentinelEvidence::Present if age >= CLAIM_RELEASE_AFTER => ClaimSettlement::Released,
        SentinelEvidence::Present => ClaimSettlement::Waiting,
    }
}

impl Round<'_> {
    /// A claim older than [`CLAIM_OUTCOME_UNKNOWN_AFTER`] on a waiting/recovering apply: the
    /// sentinel tells whether its cutover happened.
    pub(super) async fn settle_claim(&mut self, apply: Apply) -> Result<Apply, ProgressError> {
        let Some(claim) = claim_to_settle(&apply, self.now).cloned() else {
            return Ok(apply);
        };
        let Some(evidence) = self.sentinel_evidence(&apply).await else {
            return Ok(apply);
        };
        let age = self.now - claim.claimed_at;
        let settlement = settle_claim(age, evidence);
        self.report.claim = Some(settlement);
        match settlement {
            ClaimSettlement::Waiting => Ok(apply),
            ClaimSettlement::CutoverHappened => {
                let message = format!(
                    "claim of {} settled from evidence: the sentinel is gone, so its cutover took effect",
                    claim.command_id
                );
                self.mark_cut_over(apply, &claim, Outcome::SentinelAbsent, message)
                    .await
            }
            ClaimSettlement::Released => {
                let event = AuditEvent {
                    message: Some(format!(
                        "claim of {} by {} released after {} min: the sentinel is still there, so its cutover never happened",
                        claim.command_id,
                        claim.actor,
                        age.num_minutes()
                    )),
                    ..self.event(&apply, EventKind::ClaimReleased, Outcome::SentinelPresent)
                };
                tracing::warn!(command_id = %claim.command_id, "releasing a stale cutover claim");
                match self
                    .worker
                    .store
                    .release_claim(&apply.id, &claim.command_id, &event)
                    .await?
                {
                    WriteOutcome::Written(()) => Ok(Apply {
                        claim: None,
                        version: apply.version + 1,
                        ..apply
                    }),
                    WriteOutcome::ConditionFailed { current } => Ok(current.unwrap_or(apply)),
                }
            }
        }
    }

    /// Records the claimed cutover as happened (no comment: the command posts its own when it
    /// comes back; the audit event says how it was settled).
    pub(super) async fn mark_cut_over(
        &mut self,
        apply: Apply,
        claim: &CutoverClaim,
        outcome: Outcome,
        message: String,
    ) -> Result<Apply, ProgressError> {
        let event = AuditEvent {
            to_state: Some(State::CuttingOver),
            message: Some(message),
            ..self.event(&apply, EventKind::CutoverSettled, outcome)
        };
        tracing::info!(command_id = %claim.command_id, outcome = %event.outcome, "claimed cutover settled as happened");
        match self
            .worker
            .store
            .mark_cutting_over(
                &apply.id,
                &claim.command_id,
                &claim.actor,
                self.now,
                None,
                &event,
            )
            .await?
        {
            WriteOutcome::Written(()) => {
                self.report.apply_transition = Some((apply.state, State::CuttingOver));
                self.report.claim = Some(ClaimSettlement::CutoverHappened);
                Ok(Apply {
                    state: State::CuttingOver,
                    version: apply.version + 1,
                    cutover_triggered_by: Some(claim.actor.clone()),
                    cutover_triggered_at: Some(self.now),
                    ..apply
                })
            }
            WriteOutcome::ConditionFailed { current } => {
                self.report.write_conflicts += 1;
                Ok(current.unwrap_or(apply))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_judged_only_after_its_command_had_time() {
        let young = CLAIM_OUTCOME_UNKNOWN_AFTER - TimeDelta::seconds(1);
        assert_eq!(
            settle_claim(young * 10, SentinelEvidence::Absent),
            ClaimSettlement::CutoverHappened
        );
        assert_eq!(
            settle_claim(CLAIM_OUTCOME_UNKNOWN_AFTER, SentinelEvidence::Present),
            ClaimSettlement::Waiting
        );
        assert_eq!(
            settle_claim(CLAIM_RELEASE_AFTER, SentinelEvidence::Present),
            ClaimSettlement::Released
        );
    }
}
