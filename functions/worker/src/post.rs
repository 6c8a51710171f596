//! Posting comments exactly once. Every body carries a hidden marker (the job id); a retried job
//! looks for its marker before posting again, so a lost response never causes a duplicate.

use crate::errors;
use crate::outcome::{Attempt, JobError};
use schemabot_domain::{CommentId, PrNumber, Repository};
use schemabot_github::InstallationClient;

/// The hidden marker text for a job id, exactly as the renderers append it (`<!-- schemabot:… -->`),
/// so a search matches the marker line and never ordinary text.
pub fn hidden_marker(job_id: &str) -> String {
    schemabot_render::marker::append("", job_id)
        .trim()
        .to_string()
}

/// Posts `body` (which must contain `marker`) unless an earlier attempt of the same job already
/// did. The first attempt skips the search (one request on the happy path).
pub async fn post_once(
    github: &InstallationClient,
    repository: &Repository,
    pr: PrNumber,
    marker: &str,
    body: &str,
    attempt: Attempt,
) -> Result<CommentId, JobError> {
    if !attempt.is_first() {
        if let Some(existing) = github
            .find_comment_with_marker(repository, pr, marker)
            .await
            .map_err(errors::github)?
        {
            tracing::info!(
                comment = existing.0,
                "comment already posted by an earlier attempt"
            );
            return Ok(existing);
        }
    }
    github
        .create_marked_comment(repository, pr, marker, body)
        .await
        .map_err(errors::github)
}
