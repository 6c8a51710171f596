//! The answer to the caller: the `--json` document and one or two lines of text per outcome.

use super::answer::{Answer, AnswerFields};
use crate::commands::single_line_or;
use schemabot_domain::apply::Apply;
use schemabot_domain::audit::Outcome;
use schemabot_domain::control::ControlOp;
use schemabot_domain::{Environment, State};
use schemabot_render::escape::single_line;
use serde::Serialize;

/// The `--json` document of a control.
#[derive(Debug, Serialize)]
pub struct ControlReport {
    pub apply_id: String,
    pub environment: String,
    /// `stop`, `start`, `cancel`, `revert` or `skip-revert`.
    pub op: &'static str,
    #[serde(flatten)]
    pub answer: AnswerFields,
    /// The apply's state as last read.
    pub state: Option<State>,
    pub repository: String,
    pub pr: u64,
    pub exit_code: u8,
}

/// `Stop`, `Skip-revert`, …
pub(super) fn title(op: ControlOp) -> String {
    let name = op.as_str();
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// The text answer: what happened and, when there is one, what to do next.
pub(super) fn describe(
    op: ControlOp,
    answer: &Answer,
    apply: &Apply,
    requested: &Environment,
) -> String {
    let id = &apply.id;
    let env = &apply.environment;
    let title = title(op);
    let state = answer.from_state.unwrap_or(apply.state);
    let message = |fallback| single_line_or(answer.message.as_deref(), fallback);
    match &answer.outcome {
        Outcome::Accepted => {
            let next = match op {
                ControlOp::Stop => format!("Resume it with: schemabot start {id} -e {env}"),
                ControlOp::Start | ControlOp::Revert => {
                    format!("Follow it with: schemabot progress {id} --watch")
                }
                ControlOp::Cancel | ControlOp::SkipRevert => {
                    format!("See it with: schemabot progress {id}")
                }
            };
            format!(
                "{title} of {id} accepted by Tern (database {}, environment {env}).\n{next}\n",
                apply.database
            )
        }
        Outcome::AlreadyDone => format!("Nothing to do: {id} is already {state}.\n"),
        Outcome::AlreadyRequested => format!(
            "{title} not sent again: another {op} of {id} is waiting for Tern's answer.\n\
             Check it with: schemabot history {id}\n"
        ),
        Outcome::Ended => format!("{title} refused: {id} already ended ({state}).\n"),
        Outcome::PastCutover => format!(
            "{title} refused: {id} is {state}; a change cannot be stopped or cancelled once its \
             cutover started.\n"
        ),
        Outcome::NotStopped => {
            let next = if state == State::WaitingForCutover {
                format!("To finish it instead: schemabot cutover {id} -e {env}\n")
            } else {
                String::new()
            };
            format!(
                "{title} refused: {id} is {state}, not stopped; only a stopped apply can be \
                 started.\n{next}"
            )
        }
        Outcome::NoRevertWindow => format!(
            "{title} refused: {id} is {state}; revert and skip-revert exist only during a revert \
             window (never for Spirit).\n"
        ),
        Outcome::Recovering => format!(
            "{title} refused: {id} is recovering after a Tern/Spirit restart.\n\
             Try again once `schemabot progress {id}` shows it has recovered.\n"
        ),
        Outcome::EnvironmentMismatch => {
            format!("{title} refused: {id} runs in environment {env}, not {requested}.\n")
        }
        Outcome::NotAccepted => format!(
            "Tern did not accept the {op} of {id}: {}\nNothing changed.\n",
            message("no reason given")
        ),
        Outcome::Failed => format!(
            "{title} failed for {id}: {}\nCheck `schemabot progress {id}` before trying again.\n",
            message("no details")
        ),
        other => {
            let detail = answer
                .message
                .as_deref()
                .map(|m| format!(": {}", single_line(m)))
                .unwrap_or_default();
            format!(
                "{title} refused ({}){detail}\n",
                single_line(other.as_str())
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_capitalise_the_command_word() {
        assert_eq!(title(ControlOp::Stop), "Stop");
        assert_eq!(title(ControlOp::SkipRevert), "Skip-revert");
    }
}
