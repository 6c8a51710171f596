//! `schemabot cutover`: enqueue the same cutover job a PR comment produces, then wait for the
//! worker's outcome ([`super::request`]). Besides this request's audit events, the apply's claim
//! tells this request apart from a concurrent one: it carries the job id of the request that
//! claimed the cutover.

mod outcome;
mod report;

use super::request::Request;
use super::Context;
use crate::args::RequestArgs;
use crate::error::CliError;
use crate::exit::Exit;
use outcome::{Outcome, OutcomeWatch};
use report::{describe, CutoverReport};
use schemabot_domain::job::{CutoverJob, Job};

pub async fn run(cx: &mut Context<'_, '_>, args: &RequestArgs) -> Result<Exit, CliError> {
    let request = Request::new(cx).await?;
    let apply = cx.require_apply(&args.apply_id).await?;
    let job = Job::Cutover(CutoverJob {
        source: request.source(),
        apply_id: args.apply_id.clone(),
        environment: args.environment.clone(),
    });
    let job_id = request
        .send(cx, job, "Cutover", &apply.id, args.timeout)
        .await?;

    let watch = OutcomeWatch {
        job_id: job_id.clone(),
        request_tag: request.tag(),
    };
    let waited = request
        .wait(cx, &apply.id, args.timeout, |events, apply| {
            watch.progress(events, apply)
        })
        .await;
    let latest = waited.apply.as_ref().unwrap_or(&apply);
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
        message: outcome.map_or_else(
            || waited.last_error.clone(),
            |outcome| outcome.message().map(str::to_string),
        ),
        claimed: waited.found.claimed,
        state: waited.apply.as_ref().map(|a| a.state),
        triggered_by: latest.cutover_triggered_by.clone(),
        triggered_at: latest.cutover_triggered_at,
        repository: latest.repository.to_string(),
        pr: latest.pr.0,
        exit_code: exit.code(),
    };
    cx.print_report(exit, &report, || {
        describe(outcome, &report, latest, &request, args.timeout)
    })
}
