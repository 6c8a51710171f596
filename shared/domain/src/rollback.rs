//! Rollback: which apply may be rolled back, and to what.
//!
//! A rollback plans the schema a database had before an apply and applies it through the
//! ordinary lock → confirm → progress machinery. What makes it possible is kept when an apply is
//! registered: the latest apply on each (database, environment) with the schema files the
//! database had when that apply was planned ([`RollbackSource`]). Only that apply can be rolled
//! back, and only once it completed: rolling back an older one would also undo every later
//! change, and rolling back a running one would race it.

use crate::apply::Apply;
use crate::audit::Outcome;
use crate::ids::ApplyId;
use crate::lock::{LockKey, LockOwner};
use crate::state::State;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The latest apply registered on one (database, environment), with what a rollback needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackSource {
    pub key: LockKey,
    pub apply_id: ApplyId,
    pub owner: LockOwner,
    pub deployment: String,
    pub database_type: String,
    /// File name → `CREATE TABLE` of the live schema when the apply was planned; `None` when the
    /// engine did not capture it (the apply then cannot be rolled back).
    pub original_files: Option<BTreeMap<String, String>>,
    /// Set when the latest apply is itself a rollback: the apply it takes back.
    pub rollback_of: Option<ApplyId>,
    pub registered_at: DateTime<Utc>,
}

/// Why an apply cannot be rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackRefusal {
    /// Still running (or stopped): it has to end first.
    NotTerminal { state: State },
    /// Ended without changing the schema for good (failed, cancelled, reverted).
    NotCompleted { state: State },
    /// A later apply changed this database in this environment since.
    NotLatest { latest: Option<ApplyId> },
    /// The schema before the apply was not recorded.
    NotCaptured,
    /// A rollback of this apply runs or completed already.
    AlreadyRolledBack { rollback: ApplyId, state: State },
}

impl RollbackRefusal {
    /// The outcome audit events and metrics record.
    pub fn code(&self) -> Outcome {
        match self {
            RollbackRefusal::NotTerminal { .. } => Outcome::NotTerminal,
            RollbackRefusal::NotCompleted { .. } => Outcome::NotCompleted,
            RollbackRefusal::NotLatest { .. } => Outcome::NotLatest,
            RollbackRefusal::NotCaptured => Outcome::NotCaptured,
            RollbackRefusal::AlreadyRolledBack { .. } => Outcome::AlreadyRolledBack,
        }
    }
}

/// Decides whether `apply` may be rolled back, given the latest apply recorded for its
/// database and environment (and, when that one is a rollback of `apply`, its record:
/// `latest_apply`); `Ok` carries the files to plan back to.
///
/// A rollback that ended without changing the schema for good (failed, cancelled, reverted)
/// leaves `apply` rollable again, to the same files — what that rollback wanted.
pub fn decide_rollback(
    apply: &Apply,
    latest: Option<&RollbackSource>,
    latest_apply: Option<&Apply>,
) -> Result<BTreeMap<String, String>, RollbackRefusal> {
    if !apply.state.is_terminal() {
        return Err(RollbackRefusal::NotTerminal { state: apply.state });
    }
    if apply.state != State::Completed {
        return Err(RollbackRefusal::NotCompleted { state: apply.state });
    }
    let not_latest = || RollbackRefusal::NotLatest {
        latest: latest.map(|s| s.apply_id.clone()),
    };
    let Some(source) = latest else {
        return Err(not_latest());
    };
    if source.apply_id == apply.id {
        return source
            .original_files
            .clone()
            .ok_or(RollbackRefusal::NotCaptured);
    }
    if source.rollback_of.as_ref() != Some(&apply.id) {
        return Err(not_latest());
    }
    let Some(rollback) = latest_apply.filter(|r| r.id == source.apply_id) else {
        return Err(not_latest());
    };
    let ended_without_change = matches!(
        rollback.state,
        State::Failed | State::Cancelled | State::Reverted
    );
    if !ended_without_change {
        return Err(RollbackRefusal::AlreadyRolledBack {
            rollback: rollback.id.clone(),
            state: rollback.state,
        });
    }
    rollback
        .desired_schema
        .get(apply.database.as_str())
        .cloned()
        .ok_or(RollbackRefusal::NotCaptured)
}

/// Which of a PR's locks `rollback-confirm` acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackLockChoice {
    None,
    One(LockKey),
    /// Several rollback plans wait in the environment: the user unlocks all but one.
    Several(Vec<LockKey>),
}

/// Picks the PR's rollback-plan locks: `(key, rollback_of)` of every lock the PR holds in the
/// environment.
pub fn choose_rollback_lock(locks: &[(LockKey, Option<ApplyId>)]) -> RollbackLockChoice {
    let keys: Vec<LockKey> = locks
        .iter()
        .filter(|(_, rollback_of)| rollback_of.is_some())
        .map(|(key, _)| key.clone())
        .collect();
    match keys.as_slice() {
        [] => RollbackLockChoice::None,
        [one] => RollbackLockChoice::One(one.clone()),
        _ => RollbackLockChoice::Several(keys),
    }
}

#[cfg(test)]
#[path = "rollback_tests.rs"]
mod tests;
