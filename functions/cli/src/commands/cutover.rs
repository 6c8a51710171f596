//! `schemabot cutover`: enqueue the same cutover job a PR comment produces, then wait for the
//! worker's outcome ([`super::request`]). Besides this request's audit events, the apply's claim
//! tells this request apart from a concurrent one: it carries the job id of the request that
//! claimed the cutover.

mod outcome;
mod report;

pub use outcome::{Outcome, OutcomeWatch, Progress};
pub use report::CutoverReport;

use super::request::Request;
use super::Context;
use crate::args::RequestArgs;
use crate::error::CliError;
use crate::exit::Exit;
use report::describe;
use schemabot_domain::job::{CutoverJob, Job};

pub async fn run(cx: &mut Context<'_, '_>, args: &RequestArgs) -> Result<Exit, CliError> {
    let request = Request::prepare(cx, &args.apply_id).await?;
    let job = Job::Cutover(CutoverJob {
        source: request.source(),
        apply_id: args.apply_id.clone(),
        environment: args.environment.clone(),
    });
    let job_id = request.send(cx, job, "Cutover", args.timeout).await?;

    let watch = OutcomeWatch::new(job_id.clone(), request.tag());
    let waited = request
        .wait(cx, args.timeout, |events, apply| {
            watch.progress(events, apply)
        })
        .await;
    let latest = waited.apply.as_ref().unwrap_or(&request.apply);
    let outcome = waited.found.outcome.as_ref();
    let exit = outcome.map_or(Exit::Failed, Outcome::exit);
    // The worker attributes the request to the principal SQS names as its sender; the claim
    // shows it once the request got that far. Until then, the identity this CLI runs as.
    let actor = latest
        .claim
        .as_ref()
        .filter(|claim| claim.command_id == job_id)
        .map_or_else(|| request.caller_actor(), |claim| claim.actor.clone());
    let report = CutoverReport {
        apply_id: args.apply_id.to_string(),
        environment: args.environment.to_string(),
        request_id: request.request_id.clone(),
        job_id,
        actor,
        caller_arn: request.caller_arn.clone(),
        outcome: outcome.map_or("timed_out", Outcome::name),
        reason: outcome.and_then(Outcome::reason).cloned(),
        message: match outcome {
            Some(outcome) => outcome.message().map(str::to_string),
            None => waited.last_error.clone(),
        },
        claimed: waited.found.claimed,
        state: waited.apply.as_ref().map(|a| a.state),
        triggered_by: latest.cutover_triggered_by.clone(),
        triggered_at: latest.cutover_triggered_at,
        repository: latest.repository.to_string(),
        pr: latest.pr.0,
        exit_code: exit.code(),
    };
    if cx.json {
        cx.console.print_json(&report)?;
    } else {
        let text = describe(outcome, &report, latest, &request, args.timeout);
        cx.console.print(&text)?;
    }
    Ok(exit)
}
