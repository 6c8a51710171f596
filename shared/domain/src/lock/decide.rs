//! The pure lock decisions: who may take a lock, why not, what `apply-confirm` does, and when
//! a lock may be released.

use super::records::{Lock, LockOwner, LockStage, PlannedChange};
use crate::ids::ApplyId;
use chrono::{DateTime, Utc};

/// Whether `owner` may take (or renew) the lock `current` at `now`. The store's conditional
/// write says the same thing in DynamoDB's words.
pub fn can_acquire(current: Option<&Lock>, owner: &LockOwner, now: DateTime<Utc>) -> bool {
    match current {
        None => true,
        Some(lock) => {
            lock.stage == LockStage::Planned
                && (lock.is_owned_by(owner) || lock.lease_expires_at <= now)
        }
    }
}

/// Why `apply` did not get the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcquireRefusal {
    /// Another PR holds it.
    HeldByOther {
        owner: LockOwner,
        stage: &'static str,
        /// When a planned lock can be taken over; `None` while it is being applied.
        expires_at: Option<DateTime<Utc>>,
    },
    /// This PR already confirmed an apply on it; a new plan must wait for that one.
    OwnApplyInProgress { apply_id: Option<ApplyId> },
}

/// The refusal to report when the conditional write found `current`.
pub fn acquire_refusal(current: &Lock, owner: &LockOwner) -> AcquireRefusal {
    let apply_id = match &current.stage {
        LockStage::Applying { apply_id, .. } => Some(apply_id.clone()),
        _ => None,
    };
    if current.is_owned_by(owner) {
        AcquireRefusal::OwnApplyInProgress { apply_id }
    } else {
        AcquireRefusal::HeldByOther {
            owner: current.owner.clone(),
            stage: current.stage.name(),
            expires_at: (current.stage == LockStage::Planned).then_some(current.lease_expires_at),
        }
    }
}

/// What `apply-confirm` does with the lock it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmDecision {
    /// No plan is locked for this PR: run `apply` first.
    NoLock,
    HeldByOther {
        owner: LockOwner,
    },
    /// This PR's lock is already applying through another command.
    AlreadyApplying {
        apply_id: ApplyId,
    },
    /// The PR moved on since the plan: re-run `apply`.
    Stale {
        planned: String,
        current: String,
    },
    /// Unsafe changes without `--allow-unsafe` on either `apply` or `apply-confirm`.
    UnsafeNeedsFlag {
        tables: Vec<String>,
    },
    /// Hand the plan to Tern. `resume` when an earlier attempt may already have (ask Tern
    /// before applying again).
    Apply {
        resume: bool,
    },
    /// Another `apply-confirm` of this plan is between its claim and Tern's answer: wait for
    /// it (it finishes, or SQS retries it as itself).
    ConfirmInProgress {
        command_id: String,
    },
    /// The lock holds the other kind of plan: a rollback plan for `apply-confirm`
    /// (`rollback_of` set), or a PR plan for `rollback-confirm`.
    OtherKind {
        rollback_of: Option<ApplyId>,
    },
    /// Tern accepted it already (this command, an earlier attempt): only the registration
    /// is left.
    Register {
        apply_id: ApplyId,
    },
}

/// Which confirmation is asked for: of the PR's own plan, or of a rollback plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmKind {
    /// `apply-confirm` (and `apply -y`).
    Plan,
    /// `rollback-confirm`: the plan does not come from the PR head, so a push does not make it
    /// stale, and its drops were shown as such when it was planned.
    Rollback,
}

/// Decides `apply-confirm` for `owner`, command `command_id`, with the PR head at `head_sha`.
pub fn decide_confirm(
    lock: Option<&Lock>,
    owner: &LockOwner,
    command_id: &str,
    head_sha: &str,
    allow_unsafe: bool,
) -> ConfirmDecision {
    decide_confirm_of(
        ConfirmKind::Plan,
        lock,
        owner,
        command_id,
        head_sha,
        allow_unsafe,
    )
}

/// Decides a confirmation of `kind` (see [`decide_confirm`]).
pub fn decide_confirm_of(
    kind: ConfirmKind,
    lock: Option<&Lock>,
    owner: &LockOwner,
    command_id: &str,
    head_sha: &str,
    allow_unsafe: bool,
) -> ConfirmDecision {
    let Some(lock) = lock else {
        return ConfirmDecision::NoLock;
    };
    if !lock.is_owned_by(owner) {
        return ConfirmDecision::HeldByOther {
            owner: lock.owner.clone(),
        };
    }
    match &lock.stage {
        LockStage::Applying {
            command_id: by,
            apply_id,
        } if by == command_id => ConfirmDecision::Register {
            apply_id: apply_id.clone(),
        },
        LockStage::Applying { apply_id, .. } => ConfirmDecision::AlreadyApplying {
            apply_id: apply_id.clone(),
        },
        // An earlier attempt of this command may have reached Tern: ask before applying.
        LockStage::Confirming { command_id: by } if by == command_id => {
            ConfirmDecision::Apply { resume: true }
        }
        LockStage::Confirming { command_id: by } => ConfirmDecision::ConfirmInProgress {
            command_id: by.clone(),
        },
        LockStage::Planned => {
            let is_rollback = lock.plan.rollback_of.is_some();
            if is_rollback != (kind == ConfirmKind::Rollback) {
                return ConfirmDecision::OtherKind {
                    rollback_of: lock.plan.rollback_of.clone(),
                };
            }
            if kind == ConfirmKind::Plan && !lock.plan.head_sha.eq_ignore_ascii_case(head_sha) {
                return ConfirmDecision::Stale {
                    planned: lock.plan.head_sha.clone(),
                    current: head_sha.to_string(),
                };
            }
            let tables: Vec<String> = lock
                .plan
                .unsafe_changes()
                .map(PlannedChange::qualified_name)
                .collect();
            let allowed = allow_unsafe || lock.plan.flags.allow_unsafe;
            if !tables.is_empty() && !allowed {
                return ConfirmDecision::UnsafeNeedsFlag { tables };
            }
            ConfirmDecision::Apply { resume: false }
        }
    }
}

/// Whether `unlock` (or a closed PR) may release this lock: only before it is confirmed. A
/// confirmed lock is released when its apply ends.
pub fn releasable(lock: &Lock) -> bool {
    lock.stage == LockStage::Planned
}

#[cfg(test)]
mod tests {
    use super::super::promotion::schema_digest;
    use super::super::records::{LockKey, LockedPlan};
    use super::*;
    use crate::command::ApplyFlags;
    use crate::ids::{Database, Environment, InstallationId, Login, PrNumber, Repository};
    use chrono::TimeDelta;
    use std::collections::BTreeMap;

    fn env(name: &str) -> Environment {
        Environment::parse(name).unwrap()
    }

    fn owner(pr: u64) -> LockOwner {
        LockOwner {
            repository: Repository::parse("acme/schemas").unwrap(),
            pr: PrNumber(pr),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn change(table: &str, unsafe_reason: Option<&str>) -> PlannedChange {
        PlannedChange {
            namespace: "payments".into(),
            table: table.into(),
            change: "alter".into(),
            ddl: format!("ALTER TABLE `{table}` ADD COLUMN x int"),
            unsafe_reason: unsafe_reason.map(str::to_string),
        }
    }

    fn lock(pr: u64, stage: LockStage) -> Lock {
        let files = BTreeMap::from([("orders.sql".to_string(), "CREATE TABLE o (id int)".into())]);
        Lock {
            key: LockKey {
                database: Database::parse("payments").unwrap(),
                environment: env("staging"),
            },
            owner: owner(pr),
            installation_id: InstallationId(1),
            locked_by: Login("alice".into()),
            stage,
            plan: LockedPlan {
                head_sha: "abc123".into(),
                deployment: "payments".into(),
                database_type: "mysql".into(),
                plan_id: String::new(),
                changes: vec![change("orders", None)],
                schema_digest: schema_digest(&files),
                schema_files: files,
                flags: ApplyFlags::default(),
                original_files: None,
                rollback_of: None,
            },
            acquired_at: now(),
            lease_expires_at: now() + TimeDelta::hours(1),
        }
    }

    fn applying(pr: u64, command: &str) -> Lock {
        lock(
            pr,
            LockStage::Applying {
                command_id: command.into(),
                apply_id: ApplyId::parse("apply-0123456789abcdef").unwrap(),
            },
        )
    }

    #[test]
    fn a_free_lock_or_ones_own_planned_lock_can_be_taken() {
        assert!(can_acquire(None, &owner(1), now()));
        let planned = lock(1, LockStage::Planned);
        assert!(can_acquire(Some(&planned), &owner(1), now()), "renew");
        assert!(!can_acquire(Some(&planned), &owner(2), now()), "held");
        let later = planned.lease_expires_at;
        assert!(can_acquire(Some(&planned), &owner(2), later), "lease over");
    }

    #[test]
    fn a_confirmed_lock_never_expires_nor_is_re_planned() {
        for stage in [
            LockStage::Confirming {
                command_id: "c".into(),
            },
            applying(1, "c").stage,
        ] {
            let held = lock(1, stage);
            let far = now() + TimeDelta::days(30);
            assert!(!can_acquire(Some(&held), &owner(2), far));
            assert!(!can_acquire(Some(&held), &owner(1), far));
            assert!(!releasable(&held));
        }
        assert!(releasable(&lock(1, LockStage::Planned)));
    }

    #[test]
    fn refusals_name_the_holder_or_the_running_apply() {
        let held = lock(1, LockStage::Planned);
        assert_eq!(
            acquire_refusal(&held, &owner(2)),
            AcquireRefusal::HeldByOther {
                owner: owner(1),
                stage: "planned",
                expires_at: Some(held.lease_expires_at)
            }
        );
        let running = applying(1, "c");
        assert_eq!(
            acquire_refusal(&running, &owner(1)),
            AcquireRefusal::OwnApplyInProgress {
                apply_id: Some(ApplyId::parse("apply-0123456789abcdef").unwrap())
            }
        );
        assert!(matches!(
            acquire_refusal(&running, &owner(2)),
            AcquireRefusal::HeldByOther {
                expires_at: None,
                stage: "applying",
                ..
            }
        ));
    }

    #[test]
    fn confirm_requires_a_lock_of_ones_own() {
        assert_eq!(
            decide_confirm(None, &owner(1), "c", "abc123", false),
            ConfirmDecision::NoLock
        );
        let held = lock(2, LockStage::Planned);
        assert_eq!(
            decide_confirm(Some(&held), &owner(1), "c", "abc123", false),
            ConfirmDecision::HeldByOther { owner: owner(2) }
        );
    }

    #[test]
    fn confirm_refuses_a_stale_plan() {
        let held = lock(1, LockStage::Planned);
        assert_eq!(
            decide_confirm(Some(&held), &owner(1), "c", "def456", false),
            ConfirmDecision::Stale {
                planned: "abc123".into(),
                current: "def456".into()
            }
        );
        assert_eq!(
            decide_confirm(Some(&held), &owner(1), "c", "ABC123", false),
            ConfirmDecision::Apply { resume: false }
        );
    }

    #[test]
    fn unsafe_changes_need_the_flag_on_apply_or_confirm() {
        let mut held = lock(1, LockStage::Planned);
        held.plan
            .changes
            .push(change("refunds", Some("drops a column")));
        assert_eq!(
            decide_confirm(Some(&held), &owner(1), "c", "abc123", false),
            ConfirmDecision::UnsafeNeedsFlag {
                tables: vec!["payments.refunds".into()]
            }
        );
        assert_eq!(
            decide_confirm(Some(&held), &owner(1), "c", "abc123", true),
            ConfirmDecision::Apply { resume: false }
        );
        held.plan.flags.allow_unsafe = true;
        assert_eq!(
            decide_confirm(Some(&held), &owner(1), "c", "abc123", false),
            ConfirmDecision::Apply { resume: false }
        );
    }

    #[test]
    fn a_retried_confirm_resumes_instead_of_applying_twice() {
        let confirming = lock(
            1,
            LockStage::Confirming {
                command_id: "c".into(),
            },
        );
        assert_eq!(
            decide_confirm(Some(&confirming), &owner(1), "c", "other-head", false),
            ConfirmDecision::Apply { resume: true }
        );
        assert_eq!(
            decide_confirm(Some(&confirming), &owner(1), "d", "abc123", false),
            ConfirmDecision::ConfirmInProgress {
                command_id: "c".into()
            },
            "another command's confirm is never taken over"
        );
        let done = applying(1, "c");
        assert!(matches!(
            decide_confirm(Some(&done), &owner(1), "c", "abc123", false),
            ConfirmDecision::Register { .. }
        ));
        assert!(matches!(
            decide_confirm(Some(&done), &owner(1), "other", "abc123", false),
            ConfirmDecision::AlreadyApplying { .. }
        ));
    }

    #[test]
    fn each_confirmation_takes_only_its_own_kind_of_plan() {
        let plain = lock(1, LockStage::Planned);
        let mut rollback = lock(1, LockStage::Planned);
        rollback.plan.rollback_of = Some(ApplyId::parse("apply-00aa").unwrap());
        assert_eq!(
            decide_confirm(Some(&rollback), &owner(1), "c", "abc123", true),
            ConfirmDecision::OtherKind {
                rollback_of: rollback.plan.rollback_of.clone()
            }
        );
        assert_eq!(
            decide_confirm_of(
                ConfirmKind::Rollback,
                Some(&plain),
                &owner(1),
                "c",
                "",
                true
            ),
            ConfirmDecision::OtherKind { rollback_of: None }
        );
        // A push after the rollback plan does not make it stale: it is not the PR's schema.
        assert_eq!(
            decide_confirm_of(
                ConfirmKind::Rollback,
                Some(&rollback),
                &owner(1),
                "c",
                "pushed-since",
                false
            ),
            ConfirmDecision::Apply { resume: false }
        );
    }
}
