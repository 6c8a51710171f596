//! Reply jobs: answers the webhook could decide on its own (help, syntax errors, unknown
//! environment, unregistered repository, commands not available yet).

use crate::errors;
use crate::outcome::{Attempt, JobError};
use crate::post::{hidden_marker, post_once};
use crate::Worker;
use schemabot_domain::job::{Reply, ReplyJob};
use schemabot_github::Reaction;

pub async fn run(
    worker: &Worker,
    job: &ReplyJob,
    job_id: &str,
    attempt: Attempt,
) -> Result<(), JobError> {
    let origin = &job.origin;
    let github = worker.github.installation(origin.installation_id);
    // Acknowledge commands (not help) before answering.
    if attempt.is_first() && job.reply != Reply::Help {
        if let Err(error) = github
            .add_reaction(&origin.repository, origin.comment_id, Reaction::Eyes)
            .await
        {
            tracing::warn!(%error, "could not add the 👀 reaction");
        }
    }
    let body = schemabot_render::render_reply(&job.reply, job_id).map_err(errors::render)?;
    post_once(
        &github,
        &origin.repository,
        origin.pr,
        &hidden_marker(job_id),
        &body,
        &worker.store,
    )
    .await?;
    Ok(())
}
