//! The PR comment lifecycle of an apply.
//!
//! * **progress** — posted when the apply is registered, then edited in place: only when its
//!   content changed (the record keeps a hash of the body rendered at a fixed clock, so the
//!   ticking "Elapsed" alone never causes an edit) and at most once per `min_edit_interval`.
//!   Frozen once a **cutover** comment is tracked.
//! * on a terminal state, exactly once: with a cutover comment, that comment is edited into the
//!   **summary** and a `summary` record points at it; otherwise the progress comment is
//!   finalised (a tombstone pointing below) and a new summary comment is posted.
//!
//! Crash safety rests on conditional records plus hidden markers:
//! * an edit first claims the record (conditional on the record read, hash `pending:<new>`,
//!   `last_edited_at` = now), then edits GitHub, then stores the plain hash. A crash in between
//!   leaves a hash that never matches, so the next run edits again; a concurrent run loses the
//!   claim, and the rate limit keeps a later one from overtaking an edit in flight.
//! * a summary is posted under a lease: a `summary` record with no comment id yet. Whoever
//!   creates it posts; a run finding an expired lease (its holder crashed) searches the PR for
//!   the summary's marker before posting, so a comment posted just before a crash is adopted,
//!   never duplicated.

use crate::post::hidden_marker;
use crate::progress::error::ProgressError;
use crate::Worker;
use chrono::{DateTime, TimeDelta, Utc};
use schemabot_aws::WriteOutcome;
use schemabot_domain::apply::{Apply, CommentKind, CommentRecord, Task};
use schemabot_domain::CommentId;
use schemabot_github::{GithubError, InstallationClient};
use schemabot_render::marker::tracked;
use schemabot_render::{render_progress, render_progress_finalized, render_summary};
use serde::Serialize;
use std::time::Duration;

/// The comment id of a summary whose comment is being posted (GitHub ids start at 1).
pub const PENDING_COMMENT: CommentId = CommentId(0);
/// A record hash with this prefix names an edit that was started but not confirmed.
const PENDING_HASH_PREFIX: &str = "pending:";
/// How long a summary lease protects its holder; older leases are taken over (crash).
pub const SUMMARY_LEASE: TimeDelta = TimeDelta::seconds(60);

/// What happened to an apply's comments in one reconciliation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CommentReport {
    /// Edits of existing comments (progress updates, the tombstone, cutover → summary).
    pub edits: usize,
    /// Comments created (the summary).
    pub created: usize,
    /// The content changed but the last edit was too recent.
    pub rate_limited: usize,
}

impl CommentReport {
    pub fn add(&mut self, other: CommentReport) {
        self.edits += other.edits;
        self.created += other.created;
        self.rate_limited += other.rate_limited;
    }
}

/// FNV-1a (64 bit) of the body, as 16 hex digits: stable across processes and releases, which
/// is all change detection needs.
pub fn content_hash(body: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = body.bytes().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    });
    format!("{hash:016x}")
}

/// The clock a body is rendered at for its content hash: the apply's start, so the elapsed time
/// shown is constant and only real changes change the hash.
fn content_clock(apply: &Apply) -> DateTime<Utc> {
    apply.started_at.unwrap_or(apply.created_at)
}

/// The hash of the progress comment's content (rendered at the content clock).
pub fn progress_hash(apply: &Apply, tasks: &[Task]) -> Result<String, ProgressError> {
    let marker = tracked(&apply.id, CommentKind::Progress);
    Ok(content_hash(&render_progress(
        apply,
        tasks,
        content_clock(apply),
        &marker,
    )?))
}

/// The progress comment's body at `now`.
pub fn progress_body(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
) -> Result<String, ProgressError> {
    let marker = tracked(&apply.id, CommentKind::Progress);
    Ok(render_progress(apply, tasks, now, &marker)?)
}

/// The record of a just-posted progress comment.
pub fn progress_record(
    apply: &Apply,
    comment_id: CommentId,
    hash: String,
    now: DateTime<Utc>,
) -> CommentRecord {
    CommentRecord {
        apply_id: apply.id.clone(),
        kind: CommentKind::Progress,
        comment_id,
        body_hash: hash,
        edit_count: 0,
        // Posting counts as a write for the rate limit.
        last_edited_at: Some(now),
        finalized: false,
    }
}

/// When a comment may next be edited.
pub fn next_edit_at(record: &CommentRecord, min_interval: Duration) -> Option<DateTime<Utc>> {
    let interval = TimeDelta::from_std(min_interval).unwrap_or(TimeDelta::MAX);
    record
        .last_edited_at
        .and_then(|at| at.checked_add_signed(interval))
}

/// What the progress comment of a live (non-terminal) apply needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressCommentAction {
    /// No progress comment is tracked (the apply came in without one).
    Untracked,
    /// A cutover comment is the active one now; the progress comment is no longer edited.
    Frozen,
    /// Finalised already (nothing more to show there).
    Finalized,
    Unchanged,
    RateLimited {
        until: DateTime<Utc>,
    },
    Edit,
}

/// Decides about the progress comment of a live apply (pure).
pub fn progress_comment_action(
    progress: Option<&CommentRecord>,
    cutover_tracked: bool,
    content_hash: &str,
    now: DateTime<Utc>,
    min_interval: Duration,
) -> ProgressCommentAction {
    let Some(record) = progress else {
        return ProgressCommentAction::Untracked;
    };
    if cutover_tracked {
        return ProgressCommentAction::Frozen;
    }
    if record.finalized {
        return ProgressCommentAction::Finalized;
    }
    if record.body_hash == content_hash {
        return ProgressCommentAction::Unchanged;
    }
    match next_edit_at(record, min_interval) {
        Some(until) if until > now => ProgressCommentAction::RateLimited { until },
        _ => ProgressCommentAction::Edit,
    }
}

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
    let hash = progress_hash(apply, tasks)?;
    match progress_comment_action(
        Some(record),
        cutover_tracked,
        &hash,
        now,
        worker.config.min_edit_interval,
    ) {
        ProgressCommentAction::Edit => {
            let body = progress_body(apply, tasks, now)?;
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
        report.edits += usize::from(finalize_progress(worker, apply, tasks, progress, now).await?);
    }
    report.add(post_summary(worker, apply, tasks, summary, now).await?);
    Ok(report)
}

fn find(comments: &[CommentRecord], kind: CommentKind) -> Option<&CommentRecord> {
    comments.iter().find(|c| c.kind == kind)
}

/// A summary record that names its comment, or one given up on (GitHub refused it for good).
fn summary_is_done(record: &CommentRecord) -> bool {
    record.comment_id != PENDING_COMMENT || record.finalized
}

fn github_of(worker: &Worker, apply: &Apply) -> InstallationClient {
    worker.github.installation(apply.installation_id)
}

/// Edits a tracked comment under the claim protocol (module docs). `Ok(false)` when another
/// run claimed the edit first. A GitHub refusal that retrying cannot fix (deleted comment,
/// locked PR) is logged and recorded as done, so it is not retried forever.
async fn edit_tracked(
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
fn give_up_unless_transient(
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

/// Replaces the progress comment with its tombstone. The final edit is not skipped for the rate
/// limit (nothing would come back for it): it waits out what is left of the interval.
async fn finalize_progress(
    worker: &Worker,
    apply: &Apply,
    tasks: &[Task],
    record: &CommentRecord,
    now: DateTime<Utc>,
) -> Result<bool, ProgressError> {
    if let Some(wait) = next_edit_at(record, worker.config.min_edit_interval)
        .and_then(|at| (at - Utc::now()).to_std().ok())
    {
        tokio::time::sleep(wait.min(worker.config.min_edit_interval)).await;
    }
    let marker = tracked(&apply.id, CommentKind::Progress);
    let body = render_progress_finalized(apply, tasks, now, &marker)?;
    let hash = content_hash(&body);
    let written = edit_tracked(worker, apply, record, &body, &hash, true, Utc::now()).await?;
    if !written {
        // Retry later rather than post a summary above a progress comment still being edited.
        return Err(ProgressError::CommentBusy {
            apply_id: apply.id.clone(),
            kind: CommentKind::Progress.as_str(),
        });
    }
    Ok(true)
}

/// Edits the cutover comment into the summary and records the summary as that comment.
async fn summarise_into_cutover(
    worker: &Worker,
    apply: &Apply,
    tasks: &[Task],
    cutover: &CommentRecord,
    now: DateTime<Utc>,
) -> Result<CommentReport, ProgressError> {
    let body = render_summary(apply, tasks, now, &tracked(&apply.id, CommentKind::Summary))?;
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

/// Posts the summary comment once, under the summary lease (module docs).
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
    let body = render_summary(apply, tasks, now, &marker)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use schemabot_domain::ApplyId;

    fn record(hash: &str, last_edited_at: Option<DateTime<Utc>>) -> CommentRecord {
        CommentRecord {
            apply_id: ApplyId::parse("apply-01").unwrap(),
            kind: CommentKind::Progress,
            comment_id: CommentId(7),
            body_hash: hash.into(),
            edit_count: 3,
            last_edited_at,
            finalized: false,
        }
    }

    #[test]
    fn content_hashes_are_stable_and_distinguish_bodies() {
        assert_eq!(content_hash(""), "cbf29ce484222325");
        assert_eq!(content_hash("a"), "af63dc4c8601ec8c");
        assert_ne!(content_hash("32%"), content_hash("33%"));
    }

    #[test]
    fn the_progress_comment_is_edited_only_when_changed_and_not_too_often() {
        let now = Utc::now();
        let five = Duration::from_secs(5);
        let recent = record("h1", Some(now - TimeDelta::seconds(2)));
        let old = record("h1", Some(now - TimeDelta::seconds(6)));
        use ProgressCommentAction::*;
        assert_eq!(
            progress_comment_action(None, false, "h2", now, five),
            Untracked
        );
        assert_eq!(
            progress_comment_action(Some(&old), false, "h1", now, five),
            Unchanged
        );
        assert_eq!(
            progress_comment_action(Some(&old), false, "h2", now, five),
            Edit
        );
        assert!(matches!(
            progress_comment_action(Some(&recent), false, "h2", now, five),
            RateLimited { .. }
        ));
        assert_eq!(
            progress_comment_action(Some(&old), true, "h2", now, five),
            Frozen
        );
        let never_edited = record("h1", None);
        assert_eq!(
            progress_comment_action(Some(&never_edited), false, "h2", now, five),
            Edit
        );
        let finalized = CommentRecord {
            finalized: true,
            ..old.clone()
        };
        assert_eq!(
            progress_comment_action(Some(&finalized), false, "h2", now, five),
            Finalized
        );
    }

    #[test]
    fn an_unconfirmed_edit_never_counts_as_unchanged() {
        let now = Utc::now();
        let pending = record(
            &format!("{PENDING_HASH_PREFIX}h2"),
            Some(now - TimeDelta::seconds(9)),
        );
        assert_eq!(
            progress_comment_action(Some(&pending), false, "h2", now, Duration::from_secs(5)),
            ProgressCommentAction::Edit
        );
    }

    #[test]
    fn a_summary_is_done_once_it_names_a_comment_or_was_given_up() {
        let mut summary = CommentRecord {
            kind: CommentKind::Summary,
            comment_id: PENDING_COMMENT,
            ..record("", None)
        };
        assert!(!summary_is_done(&summary));
        summary.finalized = true;
        assert!(summary_is_done(&summary));
        summary.finalized = false;
        summary.comment_id = CommentId(99);
        assert!(summary_is_done(&summary));
    }
}
