//! The answer to the caller: the `--json` document and the text of each outcome.

use super::outcome::Outcome;
use crate::commands::request::Request;
use crate::commands::single_line_or;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::Apply;
use schemabot_domain::audit;
use schemabot_domain::State;
use schemabot_render::escape::single_line;
use schemabot_render::format;
use serde::Serialize;
use std::time::Duration;

/// The `--json` document of a cutover.
#[derive(Debug, Serialize)]
pub struct CutoverReport {
    pub apply_id: String,
    pub environment: String,
    pub request_id: String,
    pub job_id: String,
    /// As stored in the audit trail and on the apply: `cli:<caller ARN>`.
    pub actor: String,
    pub caller_arn: String,
    /// `triggered`, `refused`, `not_accepted`, `failed` or `timed_out`.
    pub outcome: &'static str,
    /// Why it was refused or failed (`already_triggered`, `recovering`, `not_available`,
    /// `environment_mismatch`, `failed`, `outcome_unknown`).
    pub reason: Option<audit::Outcome>,
    /// Tern's or the worker's message, when there is one.
    pub message: Option<String>,
    /// Whether this request claimed the cutover.
    pub claimed: bool,
    pub state: Option<State>,
    pub triggered_by: Option<String>,
    pub triggered_at: Option<DateTime<Utc>>,
    pub repository: String,
    pub pr: u64,
    pub exit_code: u8,
}

/// The text answer: what happened and what to do next.
pub(super) fn describe(
    outcome: Option<&Outcome>,
    report: &CutoverReport,
    apply: &Apply,
    request: &Request,
    timeout: Duration,
) -> String {
    let id = &report.apply_id;
    let who_when = |by: Option<&str>, at: Option<DateTime<Utc>>| {
        let by = single_line_or(by, "someone");
        match at {
            Some(at) => format!("{by} at {}", format::timestamp(at)),
            None => by,
        }
    };
    match outcome {
        Some(Outcome::Triggered) => format!(
            "Cutover triggered: {id} (database {}, environment {}).\n\
             Triggered by {}. The Cutover Triggered comment is on {}#{}.\n\
             Follow it with: schemabot progress {id} --watch\n",
            apply.database,
            apply.environment,
            who_when(report.triggered_by.as_deref(), report.triggered_at),
            report.repository,
            report.pr
        ),
        Some(Outcome::Refused { reason }) => match reason {
            audit::Outcome::AlreadyTriggered => {
                let (by, at) = match (&apply.cutover_triggered_by, &apply.claim) {
                    (Some(by), _) => (Some(by.as_str()), apply.cutover_triggered_at),
                    (None, Some(claim)) => (Some(claim.actor.as_str()), Some(claim.claimed_at)),
                    (None, None) => (None, None),
                };
                format!(
                    "Cutover not triggered again: the cutover of {id} was already triggered by {}.\n",
                    who_when(by, at)
                )
            }
            audit::Outcome::Recovering => format!(
                "Cutover refused: {id} is recovering after a Tern/Spirit restart.\n\
                 Try again once `schemabot progress {id}` shows ⏸️ Ready for cutover.\n"
            ),
            audit::Outcome::NotAvailable => format!(
                "Cutover not available: {id} is {}; only an apply waiting for cutover can be cut over.\n",
                apply.state
            ),
            audit::Outcome::EnvironmentMismatch => format!(
                "Cutover refused: {id} runs in environment {}, not {}.\n",
                apply.environment, report.environment
            ),
            other => format!("Cutover refused ({}).\n", single_line(other.as_str())),
        },
        Some(Outcome::NotAccepted { message }) => format!(
            "Tern did not accept the cutover of {id}: {}\nNothing changed; you may try again.\n",
            single_line_or(message.as_deref(), "no reason given")
        ),
        Some(Outcome::Failed { reason, message }) => {
            let message = single_line_or(message.as_deref(), "no details");
            if *reason == audit::Outcome::OutcomeUnknown {
                format!(
                    "Cutover outcome unknown for {id}: Tern could not be reached ({message}).\n\
                     SchemaBot settles it from the sentinel table; check `schemabot history {id}`.\n"
                )
            } else {
                format!("Cutover failed for {id}: {message}\nThe apply can be cut over again.\n")
            }
        }
        None => {
            let why = if report.claimed {
                "The request claimed the cutover, but the outcome of its Tern call is not recorded \
                 yet (the worker may be retrying: Tern or GitHub slow or down)."
            } else {
                "The worker has not handled the request yet (queue backlog, or the worker is down)."
            };
            request.no_answer_text(&apply.id, timeout, why, report.message.as_deref())
        }
    }
}
