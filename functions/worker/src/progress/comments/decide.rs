//! Pure decisions: when the progress comment is edited, and which records are done.

use super::PENDING_COMMENT;
use chrono::{DateTime, TimeDelta, Utc};
use schemabot_domain::apply::{CommentKind, CommentRecord};
use std::time::Duration;

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

pub(super) fn find(comments: &[CommentRecord], kind: CommentKind) -> Option<&CommentRecord> {
    comments.iter().find(|c| c.kind == kind)
}

/// A summary record that names its comment, or one given up on (GitHub refused it for good).
pub(super) fn summary_is_done(record: &CommentRecord) -> bool {
    record.comment_id != PENDING_COMMENT || record.finalized
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::comments::PENDING_HASH_PREFIX;
    use schemabot_domain::ApplyId;
    use schemabot_domain::CommentId;

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
