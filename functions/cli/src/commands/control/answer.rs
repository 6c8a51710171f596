//! The worker's answer to one control or rollback request: its `<op>_requested` or
//! `rollback_requested` audit event.

use crate::args::RequestArgs;
use crate::commands::request::{own_events, Request};
use crate::commands::Context;
use crate::error::CliError;
use crate::exit::Exit;
use schemabot_domain::apply::{Apply, AuditEvent};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::job::{CommandSource, Job};
use schemabot_domain::State;
use serde::Serialize;
use std::time::Duration;

/// What the worker decided for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `accepted`, `already_done`, `already_requested`, a state refusal (`ended`,
    /// `past_cutover`, `not_stopped`, `no_revert_window`, `recovering`), `not_accepted`,
    /// `failed`, `environment_mismatch`, or an ownership refusal (`repository_not_allowed`, …);
    /// for a rollback, its own outcomes.
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
    /// first event of kind `answer`, which the worker writes once per answer to a request.
    pub fn find<'e>(
        answer: &EventKind,
        mut own: impl Iterator<Item = &'e AuditEvent>,
    ) -> Option<Answer> {
        own.find(|event| event.event == *answer)
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

/// A request about an apply that the worker answers with one audit event, and how the wait for
/// that answer ended.
pub struct Answered {
    pub request: Request,
    pub job_id: String,
    /// The apply as last read (as read before sending, when no read after it succeeded).
    pub apply: Apply,
    /// The apply's state as last read after sending.
    pub state: Option<State>,
    pub answer: Option<Answer>,
    /// Why the last read failed, if it did.
    pub last_error: Option<String>,
}

/// The part of the `--json` document every answered request shares.
#[derive(Debug, Serialize)]
pub struct AnswerFields {
    pub request_id: String,
    pub job_id: String,
    /// As stored in the audit trail: `cli:<sender>`.
    pub actor: String,
    pub caller_arn: String,
    /// The worker's audit outcome (see [`Answer::outcome`]), or `timed_out`.
    pub outcome: String,
    /// Tern's or the worker's message, when there is one.
    pub message: Option<String>,
    /// The apply's state when the worker decided.
    pub from_state: Option<State>,
}

impl Answered {
    /// Sends the job `job` makes from its source for the apply of `args` (`what`: `Stop`,
    /// `Rollback`, … for a person), then waits for the worker's `answer` event to it.
    pub async fn request(
        cx: &mut Context<'_, '_>,
        args: &RequestArgs,
        what: &str,
        answer: EventKind,
        job: impl FnOnce(CommandSource) -> Job,
    ) -> Result<Answered, CliError> {
        let request = Request::new(cx).await?;
        let apply = cx.require_apply(&args.apply_id).await?;
        let job = job(request.source());
        let job_id = request.send(cx, job, what, &apply.id, args.timeout).await?;
        let waited = request
            .wait(cx, &apply.id, args.timeout, |events, _| {
                Answer::find(&answer, own_events(events, request.tag()))
            })
            .await;
        Ok(Answered {
            state: waited.apply.as_ref().map(|a| a.state),
            apply: waited.apply.unwrap_or(apply),
            answer: waited.found,
            last_error: waited.last_error,
            request,
            job_id,
        })
    }

    pub fn fields(&self) -> AnswerFields {
        let answer = self.answer.as_ref();
        AnswerFields {
            request_id: self.request.request_id.clone(),
            job_id: self.job_id.clone(),
            // The worker attributes the request to the principal SQS names as its sender; until
            // it answered, the identity this CLI runs as.
            actor: answer.map_or_else(|| self.request.caller_actor(), |a| a.actor.clone()),
            caller_arn: self.request.caller_arn.clone(),
            outcome: answer.map_or_else(|| "timed_out".to_string(), |a| a.outcome.to_string()),
            message: answer.map_or_else(|| self.last_error.clone(), |a| a.message.clone()),
            from_state: answer.and_then(|a| a.from_state),
        }
    }

    /// The text answer: `describe`'s for the answer and the apply, or the text of a wait that
    /// ended without an answer.
    pub fn text(
        &self,
        timeout: Duration,
        describe: impl FnOnce(&Answer, &Apply) -> String,
    ) -> String {
        match &self.answer {
            Some(answer) => describe(answer, &self.apply),
            None => self.request.no_answer_text(
                &self.apply.id,
                timeout,
                "The worker has not answered yet (queue backlog, the worker is down, or it is \
                 retrying an unreachable Tern).",
                self.last_error.as_deref(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use schemabot_domain::control::ControlOp;
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
        assert_eq!(
            Answer::find(&ControlOp::Stop.audit_event(), events.iter()),
            None
        );
        let answer =
            Answer::find(&ControlOp::Start.audit_event(), events.iter()).expect("answered");
        assert_eq!(answer.outcome, Outcome::NotStopped);
        assert_eq!(answer.from_state, Some(State::Running));
        assert_eq!(answer.actor, "cli:AIDAOPS");
        assert_eq!(answer.exit(), Exit::Refused);
    }

    #[test]
    fn exit_codes_follow_the_outcome() {
        let exit = |outcome: Outcome| {
            let events = [event(EventKind::StopRequested, outcome)];
            Answer::find(&ControlOp::Stop.audit_event(), events.iter()).map(|a| a.exit())
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
