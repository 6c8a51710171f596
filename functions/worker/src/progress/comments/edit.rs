//! Writing a tracked comment: the claim, the GitHub edit, the confirmed record.

use super::PENDING_HASH_PREFIX;
use crate::progress::error::ProgressError;
use crate::Worker;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, CommentKind, CommentRecord};
use schemabot_github::{GithubError, InstallationClient};

pub(super) fn github_of(worker: &Worker, apply: &Apply) -> InstallationClient {
    worker.github.installation(apply.installation_id)
}

/// Edits a tracked comment under the claim protocol (the `comments` module docs). `Ok(false)`
/// when another run claimed the edit first. A GitHub refusal that retrying cannot fix (deleted
/// comment, locked PR) is logged and recorded as done, so it is not retried forever.
pub(super) async fn edit_tracked(
    worker: &Worker,
    apply: &Apply,
    record: &CommentRecord,
    body: &str,
    hash: &str,
    finalize: bool,
    now: DateTime<Utc>,
) -> Result<bool, ProgressError> {
    let claimed = CommentRecord {
        body_hash: format!("{PENDING_HASH_PREFIX}{hash}"),
        edit_count: record.edit_count + 1,
        last_edited_at: Some(now),
        ..record.clone()
    };
    if !worker
        .store
        .update_comment_record(record, &claimed)
        .await?
        .is_written()
    {
        tracing::info!(apply_id = %apply.id, kind = record.kind.as_str(), "another run is editing this comment");
        return Ok(false);
    }
    let edited = github_of(worker, apply)
        .update_comment(&apply.repository, record.comment_id, body)
        .await;
    if let Err(error) = edited {
        give_up_unless_transient(apply, record.kind, error)?;
    }
    let done = CommentRecord {
        body_hash: hash.to_string(),
        finalized: finalize || record.finalized,
        ..claimed.clone()
    };
    if !worker
        .store
        .update_comment_record(&claimed, &done)
        .await?
        .is_written()
    {
        // A later run took the comment over after our claim; its record stands.
        tracing::info!(apply_id = %apply.id, kind = record.kind.as_str(), "comment record moved on after our edit");
    }
    Ok(true)
}

/// Transient GitHub failures propagate (the work is retried); others are logged and swallowed.
pub(super) fn give_up_unless_transient(
    apply: &Apply,
    kind: CommentKind,
    error: GithubError,
) -> Result<(), ProgressError> {
    if error.is_transient() {
        return Err(error.into());
    }
    tracing::warn!(apply_id = %apply.id, kind = kind.as_str(), %error, "GitHub refused a comment write; not retrying it");
    Ok(())
}
