//! `schemabot unlock -d <db> -e <env>`: release the lock on (database, environment) whoever
//! holds it — the twin of an admin's PR comment `schemabot unlock --force -d <db> -e <env>`,
//! with IAM deciding who may. It sends the same force-unlock job on the queue and waits for the
//! worker's answer, which the worker records once per request under the job's id (the request
//! id is new for every run). A lock being confirmed or applied is kept, as for the comment.

mod report;

use super::request::{poll, Request};
use super::Context;
use crate::args::UnlockArgs;
use crate::error::CliError;
use crate::exit::Exit;
use report::UnlockReport;
use schemabot_domain::job::{ForceUnlockJob, Job};

pub async fn run(cx: &mut Context<'_, '_>, args: &UnlockArgs) -> Result<Exit, CliError> {
    let request = Request::new(cx).await?;
    let job = Job::ForceUnlock(ForceUnlockJob {
        source: request.source(),
        database: args.database.clone(),
        environment: args.environment.clone(),
    });
    let subject = format!("{} in {}", args.database, args.environment);
    let job_id = request
        .send(cx, job, "Unlock", subject, args.timeout)
        .await?;
    let (answer, last_error) =
        poll(cx, args.timeout, || cx.store.force_unlock_answer(&job_id)).await;
    let report = UnlockReport::new(args, &request, job_id, answer, last_error);
    cx.print_report(report.exit(), &report, || report.text(args.timeout))
}
