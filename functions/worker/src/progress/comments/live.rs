//! The progress comment: kept current while the apply runs, replaced by its tombstone at the end.

use super::body::{content_hash, progress_body, progress_hash};
use super::decide::{find, next_edit_at, progress_comment_action, ProgressCommentAction};
use super::edit::edit_tracked;
use super::CommentReport;
use crate::progress::error::ProgressError;
use crate::Worker;
use chrono::{DateTime, Utc};
use schemabot_aws::store::ControlAnswer;
use schemabot_domain::apply::{Apply, CommentKind, CommentRecord, Task};
use schemabot_domain::control::ControlOp;
use schemabot_domain::State;
use schemabot_render::marker::tracked;
use schemabot_render::render_progress_finalized;

/// Keeps the progress comment of a live apply current.
pub async fn refresh_progress(
    worker: &Worker,
    apply: &Apply,
    tasks: &[Task],
    comments: &[CommentRecord],
    now: DateTime<Utc>,
) -> Result<CommentReport, ProgressError> {
    let progress = find(comments, CommentKind::Progress);
    let cutover_tracked = find(comments, CommentKind::Cutover).is_some();
    let (Some(record), false) = (progress, cutover_tracked) else {
        return Ok(CommentReport::default());
    };
    let deadline = resume_deadline(worker, apply).await?;
    let hash = progress_hash(apply, tasks, deadline.as_deref())?;
    match progress_comment_action(
        Some(record),
        cutover_tracked,
        &hash,
        now,
        worker.config.min_edit_interval,
    ) {
        ProgressCommentAction::Edit => {
            let body = progress_body(apply, tasks, deadline.as_deref(), now)?;
            let edited = edit_tracked(worker, apply, record, &body, &hash, false, now).await?;
            Ok(CommentReport {
                edits: usize::from(edited),
                ..CommentReport::default()
            })
        }
        ProgressCommentAction::RateLimited { until } => {
            tracing::debug!(apply_id = %apply.id, %until, "progress comment changed; edit rate-limited");
            Ok(CommentReport {
                rate_limited: 1,
                ..CommentReport::default()
            })
        }
        _ => Ok(CommentReport::default()),
    }
}

/// Until when a stopped apply can be resumed, as its accepted Stop said (one read, only for a
/// stopped apply). A read failure fails the refresh rather than drop the line from the comment.
async fn resume_deadline(worker: &Worker, apply: &Apply) -> Result<Option<String>, ProgressError> {
    if apply.state != State::Stopped {
        return Ok(None);
    }
    let stop = worker.store.get_control(&apply.id, ControlOp::Stop).await?;
    Ok(match stop.and_then(|request| request.answer) {
        Some(ControlAnswer::Accepted { resume_deadline }) => resume_deadline,
        _ => None,
    })
}

/// Replaces the progress comment with its tombstone. The final edit is not skipped for the rate
/// limit (nothing would come back for it): it waits out what is left of the interval.
pub(super) async fn finalize_progress(
    worker: &Worker,
    apply: &Apply,
    tasks: &[Task],
    record: &CommentRecord,
    now: DateTime<Utc>,
) -> Result<(), ProgressError> {
    if let Some(wait) = next_edit_at(record, worker.config.min_edit_interval)
        .and_then(|at| (at - Utc::now()).to_std().ok())
    {
        tokio::time::sleep(wait.min(worker.config.min_edit_interval)).await;
    }
    let marker = tracked(&apply.id, CommentKind::Progress);
    let body = render_progress_finalized(apply, tasks, now, &marker)?;
    let hash = content_hash(&body);
    if !edit_tracked(worker, apply, record, &body, &hash, true, Utc::now()).await? {
        // Retry later rather than post a summary above a progress comment still being edited.
        return Err(ProgressError::CommentBusy {
            apply_id: apply.id.clone(),
            kind: CommentKind::Progress.as_str(),
        });
    }
    Ok(())
}
