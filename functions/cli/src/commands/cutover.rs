//! `schemabot cutover`: enqueue the same cutover job a PR comment produces, then wait for the
//! worker's outcome.
//!
//! The worker answers a CLI request in the store, not on a channel: it claims the apply under the
//! request's job id and appends audit events tagged `cli:<request id>`, attributed to the
//! principal SQS names as the sender (`cli:<sender id>`). So after sending,
//! the CLI polls the apply and its audit trail. Events that existed before the request are set
//! aside (compared as records, not by time, so clock skew between this machine and Lambda does
//! not matter), and the apply's claim tells this request apart from a concurrent one by the same
//! identity.

mod outcome;
mod report;
mod wait;

pub use outcome::{Outcome, OutcomeWatch, Progress};
pub use report::CutoverReport;

use super::Context;
use crate::args::{display_duration, CutoverArgs};
use crate::error::CliError;
use crate::exit::Exit;
use report::describe;
use schemabot_domain::job::{CommandSource, CutoverJob, Job, JobEnvelope};
use wait::wait_for_outcome;

pub async fn run(cx: &mut Context<'_, '_>, args: &CutoverArgs) -> Result<Exit, CliError> {
    let queue_url = cx.queue_url.clone().ok_or_else(|| {
        CliError::Config(
            "no job queue configured: set SCHEMABOT_QUEUE_URL or pass --queue-url".to_string(),
        )
    })?;
    let caller_arn = cx.aws.caller_arn().await?;
    // The worker answers an unknown apply on the PR only, and a CLI request has none: check
    // here so the caller hears about it.
    let apply = cx.require_apply(&args.apply_id).await?;
    let baseline = cx
        .store
        .list_events(&args.apply_id)
        .await
        .map_err(|e| CliError::from_store(e, cx.table()))?;

    let request_id = uuid::Uuid::new_v4().to_string();
    let job = Job::Cutover(CutoverJob {
        source: CommandSource::Cli {
            request_id: request_id.clone(),
            actor: caller_arn.clone(),
        },
        apply_id: args.apply_id.clone(),
        environment: args.environment.clone(),
    });
    let job_id = job.id();
    cx.aws
        .queue(&queue_url)
        .send(&JobEnvelope::new(job))
        .await
        .map_err(|e| CliError::from_queue(e, &queue_url))?;
    if !cx.json {
        cx.console.note(&format!(
            "Cutover of {} requested as {caller_arn} (request {request_id}); waiting up to {} for the worker...",
            args.apply_id,
            display_duration(args.timeout)
        ));
    }

    let watch = OutcomeWatch::new(
        args.apply_id.clone(),
        job_id.clone(),
        format!("cli:{request_id}"),
        baseline,
    );
    let waited = wait_for_outcome(cx, &watch, args.timeout).await;
    let latest = waited.apply.as_ref().unwrap_or(&apply);
    let outcome = waited.progress.outcome.as_ref();
    let exit = outcome.map_or(Exit::Failed, Outcome::exit);
    // The worker attributes the request to the principal SQS names as its sender; the claim
    // shows it once the request got that far. Until then, the identity this CLI runs as.
    let actor = latest
        .claim
        .as_ref()
        .filter(|claim| claim.command_id == job_id)
        .map_or_else(|| format!("cli:{caller_arn}"), |claim| claim.actor.clone());
    let report = CutoverReport {
        apply_id: args.apply_id.to_string(),
        environment: args.environment.to_string(),
        request_id,
        job_id,
        actor,
        caller_arn,
        outcome: outcome.map_or("timed_out", Outcome::name),
        reason: outcome.and_then(Outcome::reason).map(str::to_string),
        message: match outcome {
            Some(outcome) => outcome.message().map(str::to_string),
            None => waited.last_error.clone(),
        },
        claimed: waited.progress.claimed,
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
        let text = describe(outcome, &report, latest, args.timeout);
        cx.console.print(&text)?;
    }
    Ok(exit)
}
