//! Comment bodies and their content hashes: what is rendered, and what counts as a change.

use crate::progress::error::ProgressError;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, CommentKind, CommentRecord, Task};
use schemabot_domain::CommentId;
use schemabot_render::marker::tracked;
use schemabot_render::render_progress_with_deadline;

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

/// The hash of the progress comment's content, rendered at the apply's start so the elapsed time
/// shown is constant and only real changes change the hash.
/// `resume_deadline`: what the Stop of a stopped apply returned (see [`progress_body`]).
pub fn progress_hash(
    apply: &Apply,
    tasks: &[Task],
    resume_deadline: Option<&str>,
) -> Result<String, ProgressError> {
    let content_clock = apply.started_at.unwrap_or(apply.created_at);
    let body = progress_body(apply, tasks, resume_deadline, content_clock)?;
    Ok(content_hash(&body))
}

/// The progress comment's body at `now`; a stopped apply shows `resume_deadline`, until when
/// its Stop said it can be resumed.
pub fn progress_body(
    apply: &Apply,
    tasks: &[Task],
    resume_deadline: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, ProgressError> {
    let marker = tracked(&apply.id, CommentKind::Progress);
    Ok(render_progress_with_deadline(
        apply,
        tasks,
        now,
        resume_deadline,
        &marker,
    )?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_are_stable_and_distinguish_bodies() {
        assert_eq!(content_hash(""), "cbf29ce484222325");
        assert_eq!(content_hash("a"), "af63dc4c8601ec8c");
        assert_ne!(content_hash("32%"), content_hash("33%"));
    }
}
