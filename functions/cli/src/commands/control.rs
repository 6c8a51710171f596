//! `schemabot stop|start|cancel|revert|skip-revert <apply-id> -e <env>`: enqueue the same
//! control job a PR comment produces, then wait for the worker's answer — the one
//! `<op>_requested` audit event it writes for this request ([`super::request`]).

mod answer;
mod report;

pub use answer::Answer;
pub use report::ControlReport;

use super::request::Request;
use super::Context;
use crate::args::RequestArgs;
use crate::error::CliError;
use crate::exit::Exit;
use report::{describe, title};
use schemabot_domain::control::ControlOp;
use schemabot_domain::job::{ControlJob, Job};

pub async fn run(
    cx: &mut Context<'_, '_>,
    op: ControlOp,
    args: &RequestArgs,
) -> Result<Exit, CliError> {
    let request = Request::prepare(cx, &args.apply_id).await?;
    let job = Job::Control(ControlJob {
        source: request.source(),
        op,
        apply_id: Some(args.apply_id.clone()),
        environment: args.environment.clone(),
    });
    let job_id = request.send(cx, job, &title(op), args.timeout).await?;

    let waited = request
        .wait(cx, args.timeout, |events, _| {
            Answer::find(op, request.own_events(events))
        })
        .await;
    let latest = waited.apply.as_ref().unwrap_or(&request.apply);
    let answer = waited.found.as_ref();
    let exit = answer.map_or(Exit::Failed, Answer::exit);
    let report = ControlReport {
        apply_id: args.apply_id.to_string(),
        environment: args.environment.to_string(),
        op: op.as_str(),
        request_id: request.request_id.clone(),
        job_id,
        // The worker attributes the request to the principal SQS names as its sender; until it
        // answered, the identity this CLI runs as.
        actor: answer.map_or_else(|| request.caller_actor(), |a| a.actor.clone()),
        caller_arn: request.caller_arn.clone(),
        outcome: answer
            .map_or("timed_out", |a| a.outcome.as_str())
            .to_string(),
        message: match answer {
            Some(answer) => answer.message.clone(),
            None => waited.last_error.clone(),
        },
        from_state: answer.and_then(|a| a.from_state),
        state: waited.apply.as_ref().map(|a| a.state),
        repository: latest.repository.to_string(),
        pr: latest.pr.0,
        exit_code: exit.code(),
    };
    if cx.json {
        cx.console.print_json(&report)?;
        return Ok(exit);
    }
    let text = match answer {
        Some(answer) => describe(op, answer, latest, &args.environment),
        None => request.no_answer_text(
            args.timeout,
            "The worker has not answered yet (queue backlog, the worker is down, or it is \
             retrying an unreachable Tern).",
            waited.last_error.as_deref(),
        ),
    };
    cx.console.print(&text)?;
    Ok(exit)
}
