//! The apply and task records: what SchemaBot knows about one schema change and its tables.
//! Plain data; the store adapter persists them and the reconciliation logic decides their changes.

use crate::audit::{EventKind, Outcome};
use crate::ids::{
    ApplyId, CommentId, Database, Environment, InstallationId, Login, PrNumber, Repository, TaskId,
};
use crate::state::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How the engine runs the tables of an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyMode {
    /// All tables together (defer-cutover, Vitess): they reach `waiting_for_cutover` together.
    Atomic,
    /// One table after another.
    Sequential,
}

/// Who holds the right to trigger the cutover of an apply (a conditional write grants it to one
/// command only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutoverClaim {
    /// The job id of the command that claimed (stable across SQS redeliveries).
    pub command_id: String,
    /// Who asked: a GitHub login, or `cli:<aws identity>`.
    pub actor: String,
    pub claimed_at: DateTime<Utc>,
    /// When the holder last began calling Tern's Cutover. Set before the call, so a lost answer
    /// or a crashed run leaves a trace: a later attempt knows an earlier call may have worked.
    #[serde(default)]
    pub tern_called_at: Option<DateTime<Utc>>,
    /// Whether that call may still be in flight: set with the call, cleared when the attempt
    /// that made it saw it fail. Another attempt leaves an open, recent call (and its
    /// announcement) to the attempt that made it.
    #[serde(default)]
    pub tern_call_open: bool,
}

/// One schema change (apply) as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Apply {
    pub id: ApplyId,
    /// The apply id on the Tern side (what Cutover/Progress are called with).
    pub tern_apply_id: String,
    pub repository: Repository,
    pub pr: PrNumber,
    pub installation_id: InstallationId,
    pub database: Database,
    /// `mysql` or `vitess`, as Tern expects in `type`.
    pub database_type: String,
    /// Tern deployment key; with the environment it selects the Tern endpoint and target DSN.
    pub deployment: String,
    pub environment: Environment,
    /// The schema Spirit alters (where `_spirit_sentinel` lives).
    pub target_schema: String,
    pub state: State,
    /// Incremented by every conditional write.
    pub version: u64,
    pub mode: ApplyMode,
    pub defer_cutover: bool,
    pub requested_by: Option<Login>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub claim: Option<CutoverClaim>,
    /// Set when the cutover was accepted: who triggered it and when.
    pub cutover_triggered_by: Option<String>,
    pub cutover_triggered_at: Option<DateTime<Utc>>,
    /// The declarative schema the apply was planned from, kept so that whether it is live can be
    /// checked later (recovery). Empty when unknown.
    pub desired_schema: SchemaFiles,
    /// Set on a rollback: the apply whose schema change it takes back.
    pub rollback_of: Option<ApplyId>,
}

/// Namespace → (file name → content).
pub type SchemaFiles =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

/// One table's change within an apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub apply_id: ApplyId,
    pub task_id: TaskId,
    pub namespace: String,
    pub table: String,
    pub ddl: String,
    pub state: State,
    pub version: u64,
    /// Latches true when the task enters `waiting_for_cutover` (in every mode).
    pub ready_to_complete: bool,
    pub rows_copied: u64,
    pub rows_total: u64,
    pub percent: u8,
    pub eta_seconds: Option<u64>,
    /// Rows verified so far while the engine checksums the copy; `None` outside that phase.
    pub checksum: Option<Checksum>,
    pub error_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When the engine first reported "no active change" for this (non-waiting) task; cleared when
    /// it reports again. Drives the abandonment grace period.
    pub engine_silent_since: Option<DateTime<Utc>>,
}

/// How far the engine's checksum of a copied table has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checksum {
    pub rows_checked: u64,
    pub rows_total: u64,
}

impl Checksum {
    /// The engine's counters, when it reports a checksum in progress (a total above zero).
    pub fn from_counts(rows_checked: i64, rows_total: i64) -> Option<Self> {
        let rows_total = u64::try_from(rows_total).ok().filter(|total| *total > 0)?;
        let rows_checked = u64::try_from(rows_checked).unwrap_or(0).min(rows_total);
        Some(Checksum {
            rows_checked,
            rows_total,
        })
    }

    /// 0–100, rounded down.
    pub fn percent(self) -> u8 {
        let total = self.rows_total.max(1);
        let percent = self.rows_checked.min(total).saturating_mul(100) / total;
        u8::try_from(percent).unwrap_or(100)
    }
}

named_enum! {
    /// The kinds of PR comment SchemaBot keeps per apply.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum CommentKind {
        Progress = "progress",
        Cutover = "cutover",
        Summary = "summary",
    }
}

/// A tracked PR comment of an apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentRecord {
    pub apply_id: ApplyId,
    pub kind: CommentKind,
    pub comment_id: CommentId,
    /// Hash of the last body written, so an unchanged render causes no edit.
    pub body_hash: String,
    pub edit_count: u64,
    pub last_edited_at: Option<DateTime<Utc>>,
    /// A progress comment is finalised (tombstoned) once; a summary exists once.
    pub finalized: bool,
}

/// An audit event appended to an apply: who did what, from which delivery, with what outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub apply_id: ApplyId,
    pub at: DateTime<Utc>,
    /// What happened, e.g. `cutover_claimed`, `state_transition`, `stop_requested`.
    pub event: EventKind,
    pub actor: String,
    pub delivery_id: Option<String>,
    pub from_state: Option<State>,
    pub to_state: Option<State>,
    pub outcome: Outcome,
    pub message: Option<String>,
}
