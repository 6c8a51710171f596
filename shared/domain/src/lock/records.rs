//! The lock records: key, owner, stage, locked plan, history events and applied schemas.

use crate::audit::{EventKind, Outcome};
use crate::command::ApplyFlags;
use crate::ids::{
    ApplyId, Database, DeliveryId, Environment, InstallationId, Login, PrNumber, Repository,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What a lock guards.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LockKey {
    pub database: Database,
    pub environment: Environment,
}

impl fmt::Display for LockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.database, self.environment)
    }
}

/// The pull request holding a lock.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LockOwner {
    pub repository: Repository,
    pub pr: PrNumber,
}

impl fmt::Display for LockOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.repository, self.pr.0)
    }
}

/// Where a lock is in the apply lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum LockStage {
    /// `apply` showed the plan; waiting for `apply-confirm`. Expires with the lease.
    Planned,
    /// `apply-confirm` (command `command_id`) is handing the plan to Tern.
    Confirming { command_id: String },
    /// Tern accepted the apply; held until it ends.
    Applying {
        command_id: String,
        apply_id: ApplyId,
    },
}

impl LockStage {
    pub fn name(&self) -> &'static str {
        match self {
            LockStage::Planned => "planned",
            LockStage::Confirming { .. } => "confirming",
            LockStage::Applying { .. } => "applying",
        }
    }
}

/// One table change of a locked plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChange {
    pub namespace: String,
    pub table: String,
    /// `create`, `alter`, `drop`, …
    pub change: String,
    pub ddl: String,
    /// `Some(reason)` for a change that loses data.
    pub unsafe_reason: Option<String>,
}

impl PlannedChange {
    pub fn qualified_name(&self) -> String {
        if self.namespace.is_empty() {
            self.table.clone()
        } else {
            format!("{}.{}", self.namespace, self.table)
        }
    }
}

/// The plan a lock was taken with: what `apply-confirm` hands to Tern, unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPlan {
    /// The PR head commit the plan was made at.
    pub head_sha: String,
    pub deployment: String,
    /// `mysql` or `vitess`.
    pub database_type: String,
    /// Tern's plan id (may be empty: Tern plans are stateless).
    pub plan_id: String,
    pub changes: Vec<PlannedChange>,
    /// File name → content of the schema directory at `head_sha`.
    pub schema_files: BTreeMap<String, String>,
    /// [`schema_digest`](super::schema_digest) of `schema_files`.
    pub schema_digest: String,
    /// The `apply` command's flags.
    pub flags: ApplyFlags,
    /// File name → `CREATE TABLE` of the live schema when this plan was made, as the engine
    /// captured it (what a rollback of the resulting apply plans back to); `None`: not captured.
    #[serde(default)]
    pub original_files: Option<BTreeMap<String, String>>,
    /// Set on a rollback plan: the apply it rolls back.
    #[serde(default)]
    pub rollback_of: Option<ApplyId>,
}

impl LockedPlan {
    pub fn unsafe_changes(&self) -> impl Iterator<Item = &PlannedChange> {
        self.changes.iter().filter(|c| c.unsafe_reason.is_some())
    }
}

/// A lock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub key: LockKey,
    pub owner: LockOwner,
    pub installation_id: InstallationId,
    pub locked_by: Login,
    pub stage: LockStage,
    pub plan: LockedPlan,
    pub acquired_at: DateTime<Utc>,
    /// A `Planned` lock may be taken over by another PR after this instant.
    pub lease_expires_at: DateTime<Utc>,
}

impl Lock {
    pub fn is_owned_by(&self, owner: &LockOwner) -> bool {
        &self.owner == owner
    }
}

/// One step in a lock's history (taken, refused, confirmed, released, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEvent {
    pub key: LockKey,
    pub at: DateTime<Utc>,
    /// `lock_acquired`, `lock_refused`, `apply_confirmed`, `lock_released`, …
    pub event: EventKind,
    /// GitHub login of the commenter, or `schemabot` for automatic steps.
    pub actor: String,
    /// The PR the event is about.
    pub owner: LockOwner,
    pub delivery_id: Option<DeliveryId>,
    pub outcome: Outcome,
    pub message: Option<String>,
}

/// What an apply that ended leaves behind for promotion checks: this PR applied this schema
/// digest to (database, environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedSchema {
    pub key: LockKey,
    pub owner: LockOwner,
    pub schema_digest: String,
    /// The apply that made the change; `None` when the environment already matched the schema
    /// (`apply` found nothing to do).
    pub apply_id: Option<ApplyId>,
    pub at: DateTime<Utc>,
}
