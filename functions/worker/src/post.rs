//! Posting comments exactly once. Every body carries a hidden marker naming the comment within
//! its job (the job id, plus a suffix when a job posts several comments); DynamoDB records per
//! PR and marker whether the comment is being posted or was posted (`Store::begin_post`). That
//! record, not SQS's receive count, decides whether to search the PR first: a DLQ redrive
//! restarts the receive count but finds the record. [`post_guarded`] is for the one caller whose
//! own conditional writes already tell (the cutover command's claim), to keep its request budget.

use crate::errors;
use crate::outcome::JobError;
use schemabot_aws::store::PostClaim;
use schemabot_aws::Store;
use schemabot_domain::job::CommentOrigin;
use schemabot_domain::{CommentId, InstallationId, PrNumber, Repository};
use schemabot_github::InstallationClient;

/// Where a command's answers go: the PR of the comment that asked, or — for the CLI — the PR of
/// the apply it acts on.
pub(crate) struct ReplyTo {
    pub github: InstallationClient,
    pub repository: Repository,
    pub pr: PrNumber,
}

impl ReplyTo {
    pub(crate) fn new(
        worker: &crate::Worker,
        installation: InstallationId,
        repository: &Repository,
        pr: PrNumber,
    ) -> Self {
        ReplyTo {
            github: worker.github.installation(installation),
            repository: repository.clone(),
            pr,
        }
    }

    pub(crate) fn comment(worker: &crate::Worker, origin: &CommentOrigin) -> Self {
        ReplyTo::new(
            worker,
            origin.installation_id,
            &origin.repository,
            origin.pr,
        )
    }

    /// Posts `body`, which carries the hidden marker of `marker_id`, once (see [`post_once`]).
    pub(crate) async fn post_once(
        &self,
        store: &Store,
        marker_id: &str,
        body: &str,
    ) -> Result<CommentId, JobError> {
        let marker = hidden_marker(marker_id);
        post_once(
            &self.github,
            &self.repository,
            self.pr,
            &marker,
            body,
            store,
        )
        .await
    }
}

/// The hidden marker text for a job id, exactly as the renderers append it (`<!-- schemabot:… -->`),
/// so a search matches the marker line and never ordinary text.
pub fn hidden_marker(job_id: &str) -> String {
    schemabot_render::marker::append("", job_id)
        .trim()
        .to_string()
}

/// Posts `body` (which must contain the hidden `marker`) unless an earlier attempt of the same
/// job already did, and returns the comment. The first attempt costs one conditional put, the
/// post and one conditional update; an attempt after an unfinished one searches the PR for the
/// marker before posting; one after a recorded post makes no GitHub request.
pub async fn post_once(
    github: &InstallationClient,
    repository: &Repository,
    pr: PrNumber,
    marker: &str,
    body: &str,
    store: &Store,
) -> Result<CommentId, JobError> {
    let key = marker_key(marker);
    // Boxed (here and in `record`): the SDK's futures are deep, and many job futures (some
    // stored inline by the Lambda entry point) await this one.
    match Box::pin(store.begin_post(repository, pr, key))
        .await
        .map_err(errors::store)?
    {
        PostClaim::Posted(existing) => {
            tracing::info!(
                comment = existing.0,
                marker = key,
                "comment already posted by an earlier attempt"
            );
            return Ok(existing);
        }
        PostClaim::Unsettled => {
            if let Some(existing) = github
                .find_comment_with_marker(repository, pr, marker)
                .await
                .map_err(errors::github)?
            {
                tracing::info!(
                    comment = existing.0,
                    marker = key,
                    "comment posted by an earlier attempt that did not record it"
                );
                return record(store, repository, pr, key, existing).await;
            }
        }
        PostClaim::Fresh => {}
    }
    let posted = github
        .create_marked_comment(repository, pr, marker, body)
        .await
        .map_err(errors::github)?;
    // Should this fail, the comment exists and the record says `posting`: the retry finds the
    // comment by its marker.
    record(store, repository, pr, key, posted).await
}

/// Posts `body` (which must contain the hidden `marker`) for a caller whose own DynamoDB records
/// already say whether an earlier attempt may have posted it (the cutover command's claim):
/// with `maybe_posted` the PR is searched for the marker first. No DynamoDB request of its own.
pub async fn post_guarded(
    github: &InstallationClient,
    repository: &Repository,
    pr: PrNumber,
    marker: &str,
    body: &str,
    maybe_posted: bool,
) -> Result<CommentId, JobError> {
    if maybe_posted {
        if let Some(existing) = github
            .find_comment_with_marker(repository, pr, marker)
            .await
            .map_err(errors::github)?
        {
            tracing::info!(
                comment = existing.0,
                "comment already posted by an earlier run"
            );
            return Ok(existing);
        }
    }
    github
        .create_marked_comment(repository, pr, marker, body)
        .await
        .map_err(errors::github)
}

async fn record(
    store: &Store,
    repository: &Repository,
    pr: PrNumber,
    key: &str,
    posted: CommentId,
) -> Result<CommentId, JobError> {
    let recorded = Box::pin(store.record_post(repository, pr, key, posted))
        .await
        .map_err(errors::store)?;
    if recorded != posted {
        // Two attempts ran at once (a run outlived the visibility timeout) and both posted.
        tracing::warn!(
            recorded = recorded.0,
            posted = posted.0,
            marker = key,
            "another attempt posted this comment too; keeping the recorded one"
        );
    }
    Ok(recorded)
}

/// The marker's name inside `<!-- schemabot:… -->` (the record's key), or the text as given.
fn marker_key(marker: &str) -> &str {
    schemabot_render::marker::extract(marker).unwrap_or(marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_keyed_by_the_marker_name() {
        let marker = hidden_marker("apply:octo/shop:42:plan:orders");
        assert_eq!(marker, "<!-- schemabot:apply:octo/shop:42:plan:orders -->");
        assert_eq!(marker_key(&marker), "apply:octo/shop:42:plan:orders");
        assert_eq!(marker_key("raw"), "raw");
    }
}
