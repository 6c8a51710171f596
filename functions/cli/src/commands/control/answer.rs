//! The worker's answer to one control request: its `<op>_requested` audit event.

use crate::exit::Exit;
use schemabot_domain::apply::AuditEvent;
use schemabot_domain::control::ControlOp;
use schemabot_domain::State;

/// Audit outcomes (the worker's `ControlReply::outcome`) that leave the apply where the caller
/// wanted it.
const DONE: &[&str] = &["accepted", "already_done"];
/// The outcome of a Tern call the worker gave up on.
const FAILED: &str = "failed";

/// What the worker decided for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `accepted`, `already_done`, `already_requested`, a state refusal (`ended`,
    /// `past_cutover`, `not_stopped`, `no_revert_window`, `recovering`), `not_accepted`,
    /// `failed`, `environment_mismatch`, or an ownership refusal (`repository_not_allowed`, …).
    pub outcome: String,
    /// Tern's message, the worker's error or the ownership refusal, when there is one.
    pub message: Option<String>,
    /// The apply's state when the worker decided.
    pub from_state: Option<State>,
    /// Who the worker attributed the request to (`cli:<sender>`).
    pub actor: String,
}

/// The audit event the worker writes for every answer to `op`: `stop_requested`,
/// `skip_revert_requested`, …
pub fn answer_event(op: ControlOp) -> String {
    op.audit_event().to_string()
}

impl Answer {
    /// The answer among `own` (this request's events, oldest first), if there is one yet.
    pub fn find<'e>(op: ControlOp, own: impl Iterator<Item = &'e AuditEvent>) -> Option<Answer> {
        let name = answer_event(op);
        own.into_iter()
            .find(|event| event.event == name)
            .map(|event| Answer {
                outcome: event.outcome.clone(),
                message: event.message.clone(),
                from_state: event.from_state,
                actor: event.actor.clone(),
            })
    }

    /// 0 done, 3 failed, 2 for every refusal (unknown outcomes included: nothing was done).
    pub fn exit(&self) -> Exit {
        if DONE.contains(&self.outcome.as_str()) {
            Exit::Success
        } else if self.outcome == FAILED {
            Exit::Failed
        } else {
            Exit::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use schemabot_domain::ApplyId;

    fn event(name: &str, outcome: &str) -> AuditEvent {
        AuditEvent {
            apply_id: ApplyId::parse("apply-00ab").unwrap(),
            at: Utc::now(),
            event: name.into(),
            actor: "cli:AIDAOPS".into(),
            delivery_id: Some("cli:req-1".into()),
            from_state: Some(State::Running),
            to_state: None,
            outcome: outcome.into(),
            message: None,
        }
    }

    #[test]
    fn the_answer_is_the_requested_event_of_the_op() {
        assert_eq!(answer_event(ControlOp::SkipRevert), "skip_revert_requested");
        let events = [
            event("state_transition", "accepted"),
            event("start_requested", "not_stopped"),
        ];
        assert_eq!(Answer::find(ControlOp::Stop, events.iter()), None);
        let answer = Answer::find(ControlOp::Start, events.iter()).expect("answered");
        assert_eq!(answer.outcome, "not_stopped");
        assert_eq!(answer.from_state, Some(State::Running));
        assert_eq!(answer.actor, "cli:AIDAOPS");
        assert_eq!(answer.exit(), Exit::Refused);
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        let exit = |outcome: &str| {
            Answer::find(ControlOp::Stop, [event("stop_requested", outcome)].iter())
                .map(|a| a.exit())
        };
        for outcome in ["accepted", "already_done"] {
            assert_eq!(exit(outcome), Some(Exit::Success), "{outcome}");
        }
        assert_eq!(exit("failed"), Some(Exit::Failed));
        for outcome in [
            "already_requested",
            "ended",
            "past_cutover",
            "recovering",
            "not_accepted",
            "environment_mismatch",
            "repository_not_allowed",
            "something_new",
        ] {
            assert_eq!(exit(outcome), Some(Exit::Refused), "{outcome}");
        }
    }
}
