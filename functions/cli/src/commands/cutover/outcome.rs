//! The worker's decision for one request, read out of the stored apply and its audit trail.

use crate::commands::request::{own_events, Found};
use crate::exit::Exit;
use schemabot_domain::apply::{Apply, AuditEvent};
use schemabot_domain::audit::{self, EventKind};
use schemabot_domain::State;

/// What the worker decided for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Tern accepted the cutover; the apply is cutting over.
    Triggered,
    /// Refused by the worker's gate (`reason`: the audit outcome, e.g. `already_triggered`,
    /// `recovering`, `not_available`, `environment_mismatch`).
    Refused { reason: audit::Outcome },
    /// Tern answered but did not accept the cutover; the claim was released.
    NotAccepted { message: Option<String> },
    /// The worker gave up reaching Tern (`reason`: `failed`, or `outcome_unknown` when the
    /// sweep has to settle it from the sentinel).
    Failed {
        reason: audit::Outcome,
        message: Option<String>,
    },
}

impl Outcome {
    /// The `outcome` field of the JSON report.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Triggered => "triggered",
            Outcome::Refused { .. } => "refused",
            Outcome::NotAccepted { .. } => "not_accepted",
            Outcome::Failed { .. } => "failed",
        }
    }

    pub fn reason(&self) -> Option<&audit::Outcome> {
        match self {
            Outcome::Refused { reason } | Outcome::Failed { reason, .. } => Some(reason),
            Outcome::Triggered | Outcome::NotAccepted { .. } => None,
        }
    }

    /// Tern's or the worker's message, when the audit event carried one.
    pub fn message(&self) -> Option<&str> {
        match self {
            Outcome::NotAccepted { message } | Outcome::Failed { message, .. } => {
                message.as_deref()
            }
            Outcome::Triggered | Outcome::Refused { .. } => None,
        }
    }

    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Triggered => Exit::Success,
            Outcome::Refused { .. } | Outcome::NotAccepted { .. } => Exit::Refused,
            Outcome::Failed { .. } => Exit::Failed,
        }
    }
}

/// Reads the outcome of one request out of the stored apply and audit trail.
#[derive(Debug, Clone)]
pub struct OutcomeWatch {
    pub job_id: String,
    /// How the worker tags this request's audit events (`cli:<request id>`).
    pub request_tag: String,
}

/// Where a request stands: decided, and whether it got as far as claiming the cutover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub outcome: Option<Outcome>,
    pub claimed: bool,
}

impl Found for Progress {
    fn decided(&self) -> bool {
        self.outcome.is_some()
    }
}

impl OutcomeWatch {
    /// Decides from `events` (the whole trail) and `apply` read after them.
    pub fn progress(&self, events: &[AuditEvent], apply: Option<&Apply>) -> Progress {
        let claim_ours = apply
            .and_then(|a| a.claim.as_ref())
            .is_some_and(|claim| claim.command_id == self.job_id);
        // The move to `cutting_over` and its event are one transaction, so the apply alone
        // proves a trigger — even one the progress sweep settled after the worker lost track.
        let triggered = claim_ours
            && apply.is_some_and(|a| {
                a.cutover_triggered_at.is_some()
                    || matches!(
                        a.state,
                        State::CuttingOver | State::Completed | State::RevertWindow
                    )
            });
        if triggered {
            return Progress {
                outcome: Some(Outcome::Triggered),
                claimed: true,
            };
        }
        let mut claimed = claim_ours;
        let outcome = own_events(events, self.request_tag.clone()).find_map(|event| {
            match event.event {
                EventKind::CutoverClaimed => {
                    claimed = true;
                    None
                }
                // A refusal while this request holds the claim belongs to a redelivery of it.
                EventKind::CutoverRefused if !claim_ours => Some(Outcome::Refused {
                    reason: event.outcome.clone(),
                }),
                EventKind::CutoverNotAccepted => Some(Outcome::NotAccepted {
                    message: event.message.clone(),
                }),
                EventKind::CutoverFailed => Some(Outcome::Failed {
                    reason: event.outcome.clone(),
                    message: event.message.clone(),
                }),
                _ => None,
            }
        });
        Progress { outcome, claimed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use schemabot_domain::apply::{ApplyMode, CutoverClaim};
    use schemabot_domain::{ApplyId, Database, Environment, InstallationId, PrNumber, Repository};

    const JOB: &str = "cutover:cli:req-1";
    const ACTOR: &str = "cli:arn:aws:iam::1:user/ops";
    const REQUEST: &str = "cli:req-1";

    fn apply(state: State, claim: Option<&str>) -> Apply {
        let at = Utc::now();
        Apply {
            id: ApplyId::parse("apply-00ab").unwrap(),
            tern_apply_id: "apply-00ab".into(),
            repository: Repository::parse("o/r").unwrap(),
            pr: PrNumber(1),
            installation_id: InstallationId(1),
            database: Database::parse("db").unwrap(),
            database_type: "mysql".into(),
            deployment: "d".into(),
            environment: Environment::parse("production").unwrap(),
            target_schema: "db".into(),
            state,
            version: 3,
            mode: ApplyMode::Atomic,
            defer_cutover: true,
            requested_by: None,
            created_at: at,
            started_at: Some(at),
            completed_at: None,
            error_message: None,
            claim: claim.map(|command_id| CutoverClaim {
                command_id: command_id.into(),
                actor: ACTOR.into(),
                claimed_at: at,
                tern_called_at: None,
                tern_call_open: false,
            }),
            cutover_triggered_by: None,
            cutover_triggered_at: None,
            desired_schema: Default::default(),
            rollback_of: None,
        }
    }

    fn event(event: EventKind, outcome: audit::Outcome, actor: &str) -> AuditEvent {
        AuditEvent {
            apply_id: ApplyId::parse("apply-00ab").unwrap(),
            at: Utc::now(),
            event,
            actor: actor.into(),
            // The worker tags this request's events; others carry theirs (or a delivery id).
            delivery_id: (actor == ACTOR).then(|| REQUEST.to_string()),
            from_state: Some(State::WaitingForCutover),
            to_state: None,
            outcome,
            message: Some("tern says no".into()),
        }
    }

    fn watch() -> OutcomeWatch {
        OutcomeWatch {
            job_id: JOB.into(),
            request_tag: REQUEST.into(),
        }
    }

    #[test]
    fn nothing_yet_while_the_job_waits_in_the_queue() {
        // An earlier request of the same identity was refused: its tag is not ours.
        let mut old = event(EventKind::CutoverRefused, audit::Outcome::Recovering, ACTOR);
        old.delivery_id = Some("cli:req-0".into());
        let progress = watch().progress(&[old], Some(&apply(State::WaitingForCutover, None)));
        assert_eq!(
            progress,
            Progress {
                outcome: None,
                claimed: false
            }
        );
    }

    #[test]
    fn our_claim_on_a_cutting_over_apply_is_a_trigger() {
        let events = [event(
            EventKind::CutoverClaimed,
            audit::Outcome::Claimed,
            ACTOR,
        )];
        let progress = watch().progress(&events, Some(&apply(State::CuttingOver, Some(JOB))));
        assert_eq!(progress.outcome, Some(Outcome::Triggered));
        // Claimed but not yet triggered: still waiting, and known to be claimed.
        let progress = watch().progress(&events, Some(&apply(State::WaitingForCutover, Some(JOB))));
        assert_eq!(
            progress,
            Progress {
                outcome: None,
                claimed: true
            }
        );
    }

    #[test]
    fn someone_elses_trigger_is_not_ours() {
        let apply = apply(State::CuttingOver, Some("cutover:o/r:77"));
        let events = [
            event(EventKind::CutoverClaimed, audit::Outcome::Claimed, "alice"),
            event(
                EventKind::CutoverTriggered,
                audit::Outcome::Accepted,
                "alice",
            ),
            event(
                EventKind::CutoverRefused,
                audit::Outcome::AlreadyTriggered,
                ACTOR,
            ),
        ];
        let progress = watch().progress(&events, Some(&apply));
        assert_eq!(
            progress.outcome,
            Some(Outcome::Refused {
                reason: audit::Outcome::AlreadyTriggered
            })
        );
        assert_eq!(progress.outcome.map(|o| o.exit()), Some(Exit::Refused));
    }

    #[test]
    fn a_refusal_of_a_parallel_request_by_the_same_identity_is_ignored() {
        let mut parallel = event(
            EventKind::CutoverRefused,
            audit::Outcome::AlreadyTriggered,
            ACTOR,
        );
        parallel.delivery_id = Some("cli:req-2".into());
        let events = [
            event(EventKind::CutoverClaimed, audit::Outcome::Claimed, ACTOR),
            parallel,
        ];
        let progress = watch().progress(&events, Some(&apply(State::WaitingForCutover, Some(JOB))));
        assert_eq!(progress.outcome, None);
    }

    #[test]
    fn tern_refusals_and_failures_are_reported_with_their_message() {
        let not_accepted = [event(
            EventKind::CutoverNotAccepted,
            audit::Outcome::NotAccepted,
            ACTOR,
        )];
        let progress =
            watch().progress(&not_accepted, Some(&apply(State::WaitingForCutover, None)));
        assert_eq!(
            progress.outcome,
            Some(Outcome::NotAccepted {
                message: Some("tern says no".into())
            })
        );
        let failed = [event(
            EventKind::CutoverFailed,
            audit::Outcome::OutcomeUnknown,
            ACTOR,
        )];
        let outcome = watch()
            .progress(&failed, Some(&apply(State::WaitingForCutover, Some(JOB))))
            .outcome;
        assert_eq!(outcome.as_ref().map(Outcome::exit), Some(Exit::Failed));
    }

    #[test]
    fn events_of_other_actors_never_decide() {
        let events = [event(
            EventKind::CutoverRefused,
            audit::Outcome::Recovering,
            "bob",
        )];
        let progress = watch().progress(&events, Some(&apply(State::Recovering, None)));
        assert_eq!(progress.outcome, None);
    }
}
