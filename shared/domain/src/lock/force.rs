//! Releasing another pull request's lock on purpose: an admin's `unlock --force -d <db> -e
//! <env>` or an operator's CLI `unlock`. Only a `planned` lock is released; a lock being
//! confirmed or applied stays with its apply, which has to end (or be cancelled) first.
//!
//! Each request's answer is recorded once, under its job id, together with the release itself:
//! a redelivered request reads its answer back instead of deciding again, so it never releases
//! a lock a second time (another PR may hold that lock by then).

use super::records::{Lock, LockKey, LockOwner, LockStage};
use crate::audit::Outcome;
use crate::ids::{ApplyId, InstallationId, Login};
use chrono::{DateTime, Utc};

/// The PR that held (or holds) the lock, and where to tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub owner: LockOwner,
    pub installation_id: InstallationId,
    /// Who took the lock (the `apply` commenter).
    pub locked_by: Login,
}

impl LockHolder {
    pub fn of(lock: &Lock) -> Self {
        LockHolder {
            owner: lock.owner.clone(),
            installation_id: lock.installation_id,
            locked_by: lock.locked_by.clone(),
        }
    }
}

/// Why a lock is kept: its plan is being handed to the engine, or is running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldStage {
    Confirming,
    Applying { apply_id: ApplyId },
}

/// What a force unlock came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForceUnlockOutcome {
    /// `holder`'s planned lock was released.
    Released { holder: LockHolder },
    /// Nothing locked (database, environment).
    NoLock,
    /// Kept: `holder`'s change is being confirmed or applied.
    Kept {
        holder: LockHolder,
        stage: HeldStage,
    },
}

impl ForceUnlockOutcome {
    /// The audit outcome: `released`, `no_lock`, `confirming` or `applying`.
    pub fn code(&self) -> Outcome {
        match self {
            ForceUnlockOutcome::Released { .. } => Outcome::Released,
            ForceUnlockOutcome::NoLock => Outcome::NoLock,
            ForceUnlockOutcome::Kept { stage, .. } => match stage {
                HeldStage::Confirming => Outcome::Confirming,
                HeldStage::Applying { .. } => Outcome::Applying,
            },
        }
    }

    /// The PR the outcome is about, if a lock was there.
    pub fn holder(&self) -> Option<&LockHolder> {
        match self {
            ForceUnlockOutcome::Released { holder } | ForceUnlockOutcome::Kept { holder, .. } => {
                Some(holder)
            }
            ForceUnlockOutcome::NoLock => None,
        }
    }
}

/// One force-unlock request's recorded answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForceUnlock {
    /// The request's job id (one answer per request).
    pub job_id: String,
    pub key: LockKey,
    pub outcome: ForceUnlockOutcome,
    /// Who asked: a GitHub login, or `cli:<sender>`.
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// Decides a force unlock from the lock as read: a planned lock is released, a confirmed one
/// kept, and no lock is no lock.
pub fn decide_force_unlock(lock: Option<&Lock>) -> ForceUnlockOutcome {
    let Some(lock) = lock else {
        return ForceUnlockOutcome::NoLock;
    };
    let holder = LockHolder::of(lock);
    match &lock.stage {
        LockStage::Planned => ForceUnlockOutcome::Released { holder },
        LockStage::Confirming { .. } => ForceUnlockOutcome::Kept {
            holder,
            stage: HeldStage::Confirming,
        },
        LockStage::Applying { apply_id, .. } => ForceUnlockOutcome::Kept {
            holder,
            stage: HeldStage::Applying {
                apply_id: apply_id.clone(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ApplyFlags;
    use crate::ids::{Database, Environment, PrNumber, Repository};
    use crate::lock::LockedPlan;

    fn lock(stage: LockStage) -> Lock {
        let at = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Lock {
            key: LockKey {
                database: Database::parse("payments").unwrap(),
                environment: Environment::parse("staging").unwrap(),
            },
            owner: LockOwner {
                repository: Repository::parse("acme/schemas").unwrap(),
                pr: PrNumber(41),
            },
            installation_id: InstallationId(9),
            locked_by: Login("bob".into()),
            stage,
            plan: serde_json::from_value::<LockedPlan>(serde_json::json!({
                "head_sha": "abc", "deployment": "payments", "database_type": "mysql",
                "plan_id": "", "changes": [], "schema_files": {}, "schema_digest": "d",
                "flags": ApplyFlags::default(),
            }))
            .unwrap(),
            acquired_at: at,
            lease_expires_at: at,
        }
    }

    #[test]
    fn only_a_planned_lock_is_released() {
        assert_eq!(decide_force_unlock(None), ForceUnlockOutcome::NoLock);
        let planned = lock(LockStage::Planned);
        let released = decide_force_unlock(Some(&planned));
        assert_eq!(released.code(), Outcome::Released);
        assert_eq!(released.holder().map(|h| h.owner.pr), Some(PrNumber(41)));
        let confirming = decide_force_unlock(Some(&lock(LockStage::Confirming {
            command_id: "c".into(),
        })));
        assert_eq!(confirming.code(), Outcome::Confirming);
        let apply_id = ApplyId::parse("apply-0123456789abcdef").unwrap();
        let applying = decide_force_unlock(Some(&lock(LockStage::Applying {
            command_id: "c".into(),
            apply_id: apply_id.clone(),
        })));
        assert_eq!(
            applying,
            ForceUnlockOutcome::Kept {
                holder: LockHolder::of(&planned),
                stage: HeldStage::Applying { apply_id }
            }
        );
        assert_eq!(applying.code(), Outcome::Applying);
    }
}
