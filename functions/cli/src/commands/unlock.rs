//! `schemabot unlock -d <db> -e <env>`: release the lock on (database, environment) whoever
//! holds it — the twin of an admin's PR comment `schemabot unlock --force -d <db> -e <env>`,
//! with IAM deciding who may. It sends the same force-unlock job on the queue and waits for the
//! worker's answer, which the worker records once per request under the job's id (the request
//! id is new for every run). A lock being confirmed or applied is kept, as for the comment.

mod report;

pub use report::UnlockReport;

use super::Context;
use crate::args::{display_duration, UnlockArgs};
use crate::error::CliError;
use crate::exit::Exit;
use schemabot_domain::job::{CommandSource, ForceUnlockJob, Job, JobEnvelope};
use schemabot_domain::lock::ForceUnlock;
use std::time::Duration;
use tokio::time::Instant;

/// How often the answer is looked for (one small strongly consistent read each time).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub async fn run(cx: &mut Context<'_, '_>, args: &UnlockArgs) -> Result<Exit, CliError> {
    let queue_url = cx.queue_url.clone().ok_or_else(|| {
        CliError::Config(
            "no job queue configured: set SCHEMABOT_QUEUE_URL or pass --queue-url".to_string(),
        )
    })?;
    let caller_arn = cx.aws.caller_arn().await?;
    let request_id = uuid::Uuid::new_v4().to_string();
    let job = Job::ForceUnlock(ForceUnlockJob {
        source: CommandSource::Cli {
            request_id: request_id.clone(),
            // The worker replaces it by the sender SQS names.
            actor: caller_arn.clone(),
        },
        database: args.database.clone(),
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
            "Unlock of {} in {} requested as {caller_arn} (request {request_id}); waiting up to {} \
             for the worker...",
            args.database,
            args.environment,
            display_duration(args.timeout)
        ));
    }
    let (answer, last_error) = wait(cx, &job_id, args.timeout).await;
    let report = UnlockReport::new(args, request_id, job_id, caller_arn, answer, last_error);
    let exit = report.exit();
    if cx.json {
        cx.console.print_json(&report)?;
    } else {
        cx.console.print(&report.text(args.timeout))?;
    }
    Ok(exit)
}

/// Reads the answer to `job_id` until there is one or `timeout` passes. A failed read does not
/// end the wait (the request is queued: the honest answer is "not known yet"); the last one is
/// returned for the report.
async fn wait(
    cx: &Context<'_, '_>,
    job_id: &str,
    timeout: Duration,
) -> (Option<ForceUnlock>, Option<String>) {
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600));
    loop {
        let last_error = match cx.store.force_unlock_answer(job_id).await {
            Ok(Some(answer)) => return (Some(answer), None),
            Ok(None) => None,
            Err(error) => Some(CliError::from_store(error, cx.table()).to_string()),
        };
        let now = Instant::now();
        if now >= deadline {
            return (None, last_error);
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}
