//! Reply jobs: answers the webhook could decide on its own (help, syntax errors, unknown
//! environment, unregistered repository, commands not available yet).

use crate::errors;
use crate::jobs::command::Command;
use crate::outcome::{Attempt, JobError};
use crate::post::ReplyTo;
use crate::Worker;
use schemabot_domain::job::{Reply, ReplyJob};

pub async fn run(
    worker: &Worker,
    job: &ReplyJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let command = Command::new(worker, "reply", &job.origin, job_id, attempt);
    // Acknowledge commands (not help) before answering.
    if job.reply != Reply::Help {
        command.acknowledge().await;
    }
    let body = schemabot_render::render_reply(&job.reply, job_id).map_err(errors::render)?;
    let to = ReplyTo::comment(worker, &job.origin);
    command.post_once(&to, job_id, &body).await
}
