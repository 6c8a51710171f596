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

mod body;
mod decide;
mod edit;
mod live;
mod terminal;

pub use body::{progress_body, progress_hash, progress_record};
pub use live::refresh_progress;
pub use terminal::finish_terminal;

use chrono::TimeDelta;
use schemabot_domain::CommentId;
use serde::Serialize;

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
