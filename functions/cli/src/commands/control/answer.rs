//! The worker's answer to one control request: its `<op>_requested` audit event.

use crate::exit::Exit;
use schemabot_domain::apply::AuditEvent;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::control::ControlOp;
use schemabot_domain::State;

/// What the worker decided for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `accepted`, `already_done`, `already_requested`, a state refusal (`ended`,
    /// `past_cutover`, `not_stopped`, `no_revert_window`, `recovering`), `not_accepted`,
    /// `failed`, `environment_mismatch`, or an ownership refusal (`repository_not_allowed`, …).
    pub outcome: Outcome,
    /// Tern's message, the worker's error or the ownership refusal, when there is one.
    pub message: Option<String>,
    /// The apply's state when the worker decided.
    pub from_state: Option<State>,
    /// Who the worker attributed the request to (`cli:<sender>`).
    pub actor: String,
}

impl Answer {
    /// The answer among `own` (this request's events, oldest first), if there is one yet: the
    /// event the worker writes for every answer to `op` (`stop_requested`, …).
    pub fn find<'e>(op: ControlOp, own: impl Iterator<Item = &'e AuditEvent>) -> Option<Answer> {
        Answer::find_event(op.audit_event(), own)
    }

    /// The first event of kind `answer` among `own`: the worker writes one per answer to a
    /// request (`<op>_requested`, `rollback_requested`).
    pub fn find_event<'e>(
        answer: EventKind,
        own: impl Iterator<Item = &'e AuditEvent>,
    ) -> Option<Answer> {
        own.into_iter()
            .find(|event| event.event == answer)
            .map(|event| Answer {
                outcome: event.outcome.clone(),
                message: event.message.clone(),
                from_state: event.from_state,
                actor: event.actor.clone(),
            })
    }

    /// 0 done (`accepted`, `already_done`: the apply is where the caller wanted it), 3 failed
    /// (a Tern call the worker gave up on), 2 for every refusal (unknown outcomes included:
    /// nothing was done).
    pub fn exit(&self) -> Exit {
        match self.outcome {
            Outcome::Accepted | Outcome::AlreadyDone => Exit::Success,
            Outcome::Failed => Exit::Failed,
            _ => Exit::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use schemabot_domain::ApplyId;

    fn event(event: EventKind, outcome: Outcome) -> AuditEvent {
        AuditEvent {
            apply_id: ApplyId::parse("apply-00ab").unwrap(),
            at: Utc::now(),
            event,
            actor: "cli:AIDAOPS".into(),
            delivery_id: Some("cli:req-1".into()),
            from_state: Some(State::Running),
            to_state: None,
            outcome,
            message: None,
        }
    }

    #[test]
    fn the_answer_is_the_requested_event_of_the_op() {
        assert_eq!(
            ControlOp::SkipRevert.audit_event().as_str(),
            "skip_revert_requested"
        );
        let events = [
            event(EventKind::StateTransition, Outcome::Accepted),
            event(EventKind::StartRequested, Outcome::NotStopped),
        ];
        assert_eq!(Answer::find(ControlOp::Stop, events.iter()), None);
        let answer = Answer::find(ControlOp::Start, events.iter()).expect("answered");
        assert_eq!(answer.outcome, Outcome::NotStopped);
        assert_eq!(answer.from_state, Some(State::Running));
        assert_eq!(answer.actor, "cli:AIDAOPS");
        assert_eq!(answer.exit(), Exit::Refused);
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        let exit = |outcome: Outcome| {
            let events = [event(EventKind::StopRequested, outcome)];
            Answer::find(ControlOp::Stop, events.iter()).map(|a| a.exit())
        };
        for outcome in [Outcome::Accepted, Outcome::AlreadyDone] {
            assert_eq!(exit(outcome.clone()), Some(Exit::Success), "{outcome}");
        }
        assert_eq!(exit(Outcome::Failed), Some(Exit::Failed));
        for outcome in [
            Outcome::AlreadyRequested,
            Outcome::Ended,
            Outcome::PastCutover,
            Outcome::Recovering,
            Outcome::NotAccepted,
            Outcome::EnvironmentMismatch,
            Outcome::RepositoryNotAllowed,
            // Written by a later worker: nothing this CLI knows was done.
            Outcome::parse("something_new"),
        ] {
            assert_eq!(exit(outcome.clone()), Some(Exit::Refused), "{outcome}");
        }
    }
}
