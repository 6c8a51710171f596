//! What reconciliation decides from: the engine's report, the sentinel and live-schema evidence.

use super::super::normalize::Normalized;
use crate::apply::Checksum;
use chrono::{DateTime, TimeDelta, Utc};

/// What the engine reports for one task's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineObservation {
    pub state: Normalized,
    pub rows_copied: u64,
    pub rows_total: u64,
    /// 0–100; larger values are clamped.
    pub percent: u8,
    pub eta_seconds: Option<u64>,
    /// The engine is verifying the copy (checksum counters reported).
    pub checksum: Option<Checksum>,
    pub error_message: Option<String>,
}

impl EngineObservation {
    /// The engine reported nothing for this table, or "no active change" overall.
    pub fn no_active_change() -> Self {
        EngineObservation {
            state: Normalized::NoActiveChange,
            rows_copied: 0,
            rows_total: 0,
            percent: 0,
            eta_seconds: None,
            checksum: None,
            error_message: None,
        }
    }
}

/// What the `_spirit_sentinel` check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SentinelEvidence {
    /// The sentinel table exists: Spirit's deferred cutover has not happened; it can resume.
    Present,
    /// No sentinel table: the cutover already happened (or is happening), or there never was one.
    Absent,
}

/// What Tern's read-only diff of the apply's desired schema against the live database found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LiveSchemaEvidence {
    /// No remaining change: the desired schema is live.
    Matches,
    /// Changes remain (a short description of each, e.g. `ALTER TABLE orders ...`).
    Differs { remaining: Vec<String> },
}

/// What the caller knows about the live schema for this task's apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LiveSchema {
    /// Not asked yet: [`decide`](super::decide) asks with
    /// [`Decision::NeedLiveSchema`](super::Decision::NeedLiveSchema) when needed.
    NotChecked,
    Checked(LiveSchemaEvidence),
}

/// What the caller knows about the sentinel for this task's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sentinel {
    /// The database has no sentinel mechanism (Vitess/PlanetScale).
    NoMechanism,
    /// MySQL/Spirit, not checked yet: [`decide`](super::decide) asks with
    /// [`Decision::NeedSentinel`](super::Decision::NeedSentinel) when needed.
    NotChecked,
    /// MySQL/Spirit, checked.
    Checked(SentinelEvidence),
}

/// The circumstances of one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileContext {
    pub now: DateTime<Utc>,
    /// How long a `running` task's engine may report no active change before it is judged.
    pub silence_grace: TimeDelta,
    pub sentinel: Sentinel,
    pub live_schema: LiveSchema,
    /// Tern accepted a cutover of this apply (it dropped the sentinel itself): a waiting task
    /// whose engine lost the change is past the swap's point of no return.
    pub cutover_accepted: bool,
}
