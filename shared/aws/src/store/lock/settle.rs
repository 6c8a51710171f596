//! Leases of `confirming`/`applying` locks: a confirm that dies (after Tern accepted, or before
//! it called) must not hold a database for every PR. Such locks are listed in the `active`
//! index by the end of their lease; the sweep reads the due ones and settles each from
//! evidence, with the conditional writes below.

use super::super::{Store, WriteOutcome};
use super::items::{applying, confirming_by, decode_lock, lock_item_key, pr_lock_key};
use crate::codec::{self, attr, item_type, Item, ItemReader};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use crate::keys::format_time;
use crate::table::ACTIVE_INDEX;
use chrono::{DateTime, Utc};
use schemabot_domain::lock::{Lock, LockKey};
use schemabot_domain::ApplyId;

/// The `active` index partition of locks with a lease.
pub(super) const SETTLE_PARTITION: &str = "LOCKSETTLE";

/// `<settle time>#<database>#<environment>`: ordered by due time, unique per lock.
pub(super) fn settle_sk(settle_after: DateTime<Utc>, key: &LockKey) -> String {
    format!(
        "{}#{}#{}",
        format_time(settle_after),
        key.database,
        key.environment
    )
}

/// A lock whose lease ended without its confirm finishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockToSettle {
    pub lock: Lock,
    pub settle_after: DateTime<Utc>,
    /// When its confirm began calling Tern's Apply; `None` = the call never started.
    pub apply_called_at: Option<DateTime<Utc>>,
}

fn decode_to_settle(item: &Item) -> Result<LockToSettle, StoreError> {
    let lock = decode_lock(item)?;
    let r = ItemReader::new(item, item_type::LOCK);
    Ok(LockToSettle {
        lock,
        settle_after: r.time(attr::SETTLE_AFTER)?,
        apply_called_at: r.opt_time(attr::APPLY_CALLED_AT)?,
    })
}

/// Puts a `confirming`/`applying` lock on the sweep's list, due at `settle_after`.
pub(super) fn set_lease(spec: &mut UpdateSpec, key: &LockKey, settle_after: DateTime<Utc>) {
    spec.set(attr::ACTIVE_PK, codec::s(SETTLE_PARTITION))
        .set(attr::ACTIVE_SK, codec::s(settle_sk(settle_after, key)))
        .set(attr::SETTLE_AFTER, codec::time(settle_after));
}

/// Takes a lock off the sweep's list (back to `planned`, or its apply is tracked).
pub(super) fn clear_lease(spec: &mut UpdateSpec) {
    spec.remove(attr::ACTIVE_PK)
        .remove(attr::ACTIVE_SK)
        .remove(attr::SETTLE_AFTER)
        .remove(attr::APPLY_CALLED_AT);
}

impl Store {
    /// The locks whose lease ended by `now`, oldest first.
    pub async fn locks_to_settle(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<LockToSettle>, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.equals(attr::ACTIVE_PK, codec::s(SETTLE_PARTITION));
        let sk = expr.name(attr::ACTIVE_SK);
        // `$` sorts right after `#`: every key due at or before `now`.
        let bound = expr.value(codec::s(format!("{}$", format_time(now))));
        let condition = format!("{pk} AND {sk} < {bound}");
        let items = self
            .query_all(Some(ACTIVE_INDEX), condition, expr, false)
            .await?;
        items.iter().map(decode_to_settle).collect()
    }

    /// Records that the confirm `command_id` is about to call Tern's Apply: after this, a dead
    /// confirm's outcome is unknown and only Tern can tell. One conditional request.
    pub async fn mark_confirm_call(
        &self,
        key: &LockKey,
        command_id: &str,
        at: DateTime<Utc>,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let mut spec = UpdateSpec::default();
        let held = confirming_by(&mut spec.expr, command_id);
        spec.require(held)
            .set(attr::APPLY_CALLED_AT, codec::time(at));
        self.lock_update(key, &spec).await
    }

    /// The apply `apply_id` holding the lock is registered (tracked by the progress sweep,
    /// which releases the lock when it ends): the lease is no longer needed.
    pub async fn lock_settled(
        &self,
        key: &LockKey,
        apply_id: &ApplyId,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let mut spec = UpdateSpec::default();
        let held = applying(&mut spec.expr, apply_id);
        spec.require(held);
        clear_lease(&mut spec);
        self.lock_update(key, &spec).await
    }

    /// Releases a `confirming` lock whose confirm `command_id` never called Tern and whose lease
    /// ended by `now`: nothing was started, so nothing holds the database. One transaction with
    /// the PR's index entry. On refusal, the lock that stands (the confirm went on after all).
    pub async fn release_unstarted_confirm(
        &self,
        key: &LockKey,
        command_id: &str,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let Some(lock) = self.get_lock(key).await? else {
            return Ok(WriteOutcome::ConditionFailed { current: None });
        };
        let mut expr = Expression::default();
        let held = confirming_by(&mut expr, command_id);
        let called = expr.name(attr::APPLY_CALLED_AT);
        let settle = expr.name(attr::SETTLE_AFTER);
        let now_value = expr.value(codec::time(now));
        let condition = Condition::new(
            format!("{held} AND attribute_not_exists({called}) AND {settle} <= {now_value}"),
            expr,
        );
        let actions = vec![
            self.delete_action(lock_item_key(key), Some(&condition))?,
            self.delete_action(pr_lock_key(&lock.owner, key), None)?,
        ];
        self.transact_or_current(actions, (), decode_lock).await
    }
}
