//! The end of an apply: the summary, edited into the cutover comment or posted once under a lease.

use super::body::content_hash;
use super::decide::{find, summary_is_done};
use super::edit::{github_of, give_up_unless_transient};
use super::live::finalize_progress;
use super::{CommentReport, PENDING_COMMENT, SUMMARY_LEASE};
use crate::post::hidden_marker;
use crate::progress::error::ProgressError;
use crate::Worker;
use chrono::{DateTime, Utc};
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, CommentKind, CommentRecord, Task};
use schemabot_render::marker::tracked;
use schemabot_render::render_summary_ended_by;

/// Finishes the comments of an apply that has ended (`apply` carries its terminal state),
/// exactly once. Called before the terminal state is stored, so an apply only leaves the
/// `active` index once this succeeded; safe to call again for an apply already finished.
pub async fn finish_terminal(
    worker: &Worker,
    apply: &Apply,
    tasks: &[Task],
    comments: &[CommentRecord],
    now: DateTime<Utc>,
) -> Result<CommentReport, ProgressError> {
    let summary = find(comments, CommentKind::Summary);
    if summary.is_some_and(summary_is_done) {
        return Ok(CommentReport::default());
    }
    if let Some(cutover) = find(comments, CommentKind::Cutover) {
        return summarise_into_cutover(worker, apply, tasks, cutover, now).await;
    }
    let Some(progress) = find(comments, CommentKind::Progress) else {
        // Nothing of this apply is on the PR (it came in without a progress comment).
        return Ok(CommentReport::default());
    };
    let mut report = CommentReport::default();
    if !progress.finalized {
        finalize_progress(worker, apply, tasks, progress, now).await?;
        report.edits += 1;
    }
    report.add(post_summary(worker, apply, tasks, summary, now).await?);
    Ok(report)
}

/// Edits the cutover comment into the summary and records the summary as that comment.
async fn summarise_into_cutover(
    worker: &Worker,
    apply: &Apply,
    tasks: &[Task],
    cutover: &CommentRecord,
    now: DateTime<Utc>,
) -> Result<CommentReport, ProgressError> {
    let ended_by = ended_by(worker, apply).await;
    let body = render_summary_ended_by(
        apply,
        tasks,
        now,
        &tracked(&apply.id, CommentKind::Summary),
        ended_by.as_deref(),
    )?;
    // Editing to the same body is idempotent, so a retry after a crash just repeats it.
    let edited = github_of(worker, apply)
        .update_comment(&apply.repository, cutover.comment_id, &body)
        .await;
    if let Err(error) = edited {
        give_up_unless_transient(apply, CommentKind::Cutover, error)?;
    }
    let summary = CommentRecord {
        apply_id: apply.id.clone(),
        kind: CommentKind::Summary,
        comment_id: cutover.comment_id,
        body_hash: content_hash(&body),
        edit_count: 1,
        last_edited_at: Some(now),
        finalized: true,
    };
    if !worker
        .store
        .put_comment_record(&summary)
        .await?
        .is_written()
    {
        tracing::info!(apply_id = %apply.id, "summary already recorded by another run");
    }
    Ok(CommentReport {
        edits: 1,
        ..CommentReport::default()
    })
}

/// Posts the summary comment once, under the summary lease (the `comments` module docs).
async fn post_summary(
    worker: &Worker,
    apply: &Apply,
    tasks: &[Task],
    existing: Option<&CommentRecord>,
    now: DateTime<Utc>,
) -> Result<CommentReport, ProgressError> {
    let busy = || ProgressError::CommentBusy {
        apply_id: apply.id.clone(),
        kind: CommentKind::Summary.as_str(),
    };
    // `search`: an earlier holder may have posted before it crashed.
    let (lease, search) = match existing {
        None => {
            let lease = CommentRecord {
                apply_id: apply.id.clone(),
                kind: CommentKind::Summary,
                comment_id: PENDING_COMMENT,
                body_hash: String::new(),
                edit_count: 0,
                last_edited_at: Some(now),
                finalized: false,
            };
            match worker.store.put_comment_record(&lease).await? {
                WriteOutcome::Written(lease) => (lease, false),
                WriteOutcome::ConditionFailed { current } => {
                    return match current {
                        Some(current) if summary_is_done(&current) => Ok(CommentReport::default()),
                        _ => Err(busy()),
                    };
                }
            }
        }
        Some(pending) => {
            let expired = pending
                .last_edited_at
                .and_then(|at| at.checked_add_signed(SUMMARY_LEASE))
                .is_none_or(|until| until <= now);
            if !expired {
                return Err(busy());
            }
            let taken = CommentRecord {
                edit_count: pending.edit_count + 1,
                last_edited_at: Some(now),
                ..pending.clone()
            };
            match worker.store.update_comment_record(pending, &taken).await? {
                WriteOutcome::Written(taken) => {
                    tracing::warn!(apply_id = %apply.id, "taking over an expired summary lease");
                    (taken, true)
                }
                WriteOutcome::ConditionFailed { .. } => return Err(busy()),
            }
        }
    };

    let marker = tracked(&apply.id, CommentKind::Summary);
    let hidden = hidden_marker(&marker);
    let ended_by = ended_by(worker, apply).await;
    let body = render_summary_ended_by(apply, tasks, now, &marker, ended_by.as_deref())?;
    let github = github_of(worker, apply);
    let mut created = 0;
    let found = if search {
        github
            .find_comment_with_marker(&apply.repository, apply.pr, &hidden)
            .await?
    } else {
        None
    };
    let comment_id = match found {
        Some(id) => {
            tracing::info!(apply_id = %apply.id, comment = id.0, "summary was posted before a crash; adopting it");
            Some(id)
        }
        None => match github
            .create_marked_comment(&apply.repository, apply.pr, &hidden, &body)
            .await
        {
            Ok(id) => {
                created = 1;
                Some(id)
            }
            Err(error) => {
                give_up_unless_transient(apply, CommentKind::Summary, error)?;
                None
            }
        },
    };
    let done = CommentRecord {
        comment_id: comment_id.unwrap_or(PENDING_COMMENT),
        body_hash: content_hash(&body),
        // Without a comment id this marks the summary as given up (GitHub refused it for good).
        finalized: true,
        ..lease.clone()
    };
    if !worker
        .store
        .update_comment_record(&lease, &done)
        .await?
        .is_written()
    {
        tracing::warn!(apply_id = %apply.id, "the summary lease was taken over while posting");
    }
    Ok(CommentReport {
        created,
        ..CommentReport::default()
    })
}

/// Who cancelled a cancelled apply (the `cancel` request on record), as the summary names them.
/// Unknown (none on record, or the store unreadable) leaves the line out.
async fn ended_by(worker: &Worker, apply: &Apply) -> Option<String> {
    if apply.state != schemabot_domain::State::Cancelled {
        return None;
    }
    let request = worker
        .store
        .get_control(&apply.id, schemabot_domain::control::ControlOp::Cancel)
        .await
        .ok()
        .flatten()?;
    Some(match request.requested_by.strip_prefix("cli:") {
        Some(identity) => format!("{identity} (SchemaBot CLI)"),
        None => format!("@{}", request.requested_by),
    })
}
