//! Locks: one pull request at a time changes a (database, environment).
//!
//! `schemabot apply` takes the lock with the plan it showed; `apply-confirm` executes exactly
//! that plan, only for the lock's owner and only while the PR head is still the planned commit.
//! A lock that is only planned expires after its lease, so an abandoned PR cannot block a
//! database forever; once confirmed it is held until the apply ends. Everything here is pure:
//! the store mirrors [`can_acquire`] in a DynamoDB condition, and the worker acts on the
//! decisions.

mod decide;
mod force;
mod promotion;
mod records;

pub use decide::{
    acquire_refusal, can_acquire, decide_confirm, decide_confirm_of, releasable, AcquireRefusal,
    ConfirmDecision, ConfirmKind,
};
pub use force::{decide_force_unlock, ForceUnlock, ForceUnlockOutcome, HeldStage, LockHolder};
pub use promotion::{prerequisites, schema_digest, unmet_prerequisite};
pub use records::{
    AppliedSchema, Lock, LockEvent, LockKey, LockOwner, LockStage, LockedPlan, PlannedChange,
};
