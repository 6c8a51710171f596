//! A lock's lifecycle: take, confirm, mark applying, abort, and release it.

use super::super::{decode_current, Store, WriteOutcome};
use super::items::{
    applying, confirming_by, decode_lock, decode_lock_key, encode_applied, encode_lock,
    lock_item_key, owned_by, pr_lock_item, pr_lock_key, pr_locks_pk,
};
use super::settle::{clear_lease, set_lease};
use crate::codec::{self, attr, Item};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use chrono::{DateTime, Utc};
use schemabot_domain::lock::{AppliedSchema, Lock, LockKey, LockOwner, LockStage};
use schemabot_domain::ApplyId;

/// What releasing a lock did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    Released,
    /// Nothing to release: the lock is gone or another PR took it after the lease.
    NotHeld,
    /// Confirmed: it stays until its apply ends.
    InUse(Box<Lock>),
}

impl Store {
    /// The lock on (database, environment), if any. One strongly consistent read.
    pub async fn get_lock(&self, key: &LockKey) -> Result<Option<Lock>, StoreError> {
        self.get_record(lock_item_key(key), decode_lock).await
    }

    /// Takes (or renews) the lock for `lock.owner` with `lock.plan`, as [`can_acquire`] allows:
    /// free, already this PR's and only planned, or planned with its lease over. One
    /// transaction with the PR's index item. On refusal, the lock that stands.
    ///
    /// [`can_acquire`]: schemabot_domain::lock::can_acquire
    pub async fn acquire_lock(
        &self,
        lock: &Lock,
        now: DateTime<Utc>,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.name(attr::PK);
        let planned = expr.equals(attr::LOCK_STAGE, codec::s("planned"));
        let ours = owned_by(&mut expr, &lock.owner);
        let lease = expr.name(attr::LEASE_EXPIRES_AT_MS);
        let now_ms = expr.value(codec::n(now.timestamp_millis()));
        let condition = Condition::new(
            format!(
                "attribute_not_exists({pk}) OR ({planned} AND (({ours}) OR {lease} <= {now_ms}))"
            ),
            expr,
        );
        let actions = vec![
            self.put_action(encode_lock(lock)?, Some(&condition))?,
            self.put_action(pr_lock_item(&lock.key, &lock.owner), None)?,
        ];
        self.transact_or_current(actions, (), decode_lock).await
    }

    /// Moves this PR's lock to `confirming` for `command_id`: from `planned` at the planned
    /// head commit (of concurrent confirms exactly one wins), or with `resume` from
    /// `confirming` (a retried or crashed confirm; the caller asks Tern before applying
    /// again). On refusal, the lock that stands.
    ///
    /// The lock gets a lease: after `settle_after` the progress sweep settles it from evidence
    /// should the confirm never finish ([`Store::locks_to_settle`]).
    pub async fn begin_confirm(
        &self,
        key: &LockKey,
        owner: &LockOwner,
        head_sha: &str,
        command_id: &str,
        resume: bool,
        settle_after: DateTime<Utc>,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let mut spec = UpdateSpec::default();
        let ours = owned_by(&mut spec.expr, owner);
        let from = if resume {
            spec.expr.equals(attr::LOCK_STAGE, codec::s("confirming"))
        } else {
            let planned = spec.expr.equals(attr::LOCK_STAGE, codec::s("planned"));
            let at_head = spec.expr.equals(attr::HEAD_SHA, codec::s(head_sha));
            format!("{planned} AND {at_head}")
        };
        spec.require(ours)
            .require(from)
            .set(attr::LOCK_STAGE, codec::s("confirming"))
            .set(attr::LOCK_COMMAND_ID, codec::s(command_id));
        set_lease(&mut spec, key, settle_after);
        self.lock_update(key, &spec).await
    }

    /// Records that Tern accepted `apply_id` for the confirm `command_id`. Idempotent.
    ///
    /// Until its apply is registered ([`Store::lock_settled`]) the lock keeps a lease, renewed
    /// to `settle_after`.
    pub async fn mark_lock_applying(
        &self,
        key: &LockKey,
        command_id: &str,
        apply_id: &ApplyId,
        settle_after: DateTime<Utc>,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let mut spec = UpdateSpec::default();
        let by = spec
            .expr
            .equals(attr::LOCK_COMMAND_ID, codec::s(command_id));
        let confirming = spec.expr.equals(attr::LOCK_STAGE, codec::s("confirming"));
        let same = applying(&mut spec.expr, apply_id);
        spec.require(format!("{by} AND ({confirming} OR ({same}))"))
            .set(attr::LOCK_STAGE, codec::s("applying"))
            .set(attr::APPLY_ID, codec::s(apply_id.as_str()));
        set_lease(&mut spec, key, settle_after);
        self.lock_update(key, &spec).await
    }

    /// Back to `planned` after Tern refused the confirm `command_id`, so the PR can fix and
    /// retry (or unlock).
    pub async fn abort_confirm(
        &self,
        key: &LockKey,
        command_id: &str,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let mut spec = UpdateSpec::default();
        let held = confirming_by(&mut spec.expr, command_id);
        spec.require(held)
            .set(attr::LOCK_STAGE, codec::s("planned"))
            .remove(attr::LOCK_COMMAND_ID);
        clear_lease(&mut spec);
        self.lock_update(key, &spec).await
    }

    pub(super) async fn lock_update(
        &self,
        key: &LockKey,
        spec: &UpdateSpec,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        self.update_or_current(lock_item_key(key), spec, (), decode_lock)
            .await
    }

    /// The locks `owner` took (some may since have been taken over after their lease).
    pub async fn pr_lock_keys(&self, owner: &LockOwner) -> Result<Vec<LockKey>, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.equals(attr::PK, codec::s(pr_locks_pk(owner)));
        let items = self.query_all(None, pk, expr, true).await?;
        items
            .iter()
            .map(|item| decode_lock_key(item).map_err(StoreError::from))
            .collect()
    }

    /// Releases `owner`'s lock on `key` unless it is confirmed. Also drops the PR's index
    /// entry when the lock is gone or belongs to another PR by now.
    pub async fn release_lock(
        &self,
        key: &LockKey,
        owner: &LockOwner,
    ) -> Result<Released, StoreError> {
        let mut expr = Expression::default();
        let ours = owned_by(&mut expr, owner);
        let planned = expr.equals(attr::LOCK_STAGE, codec::s("planned"));
        let condition = Condition::new(format!("{ours} AND {planned}"), expr);
        let index_key = pr_lock_key(owner, key);
        let actions = vec![
            self.delete_action(lock_item_key(key), Some(&condition))?,
            self.delete_action(index_key.clone(), None)?,
        ];
        let cancelled = match self.transact(actions).await? {
            Ok(()) => return Ok(Released::Released),
            Err(cancelled) => cancelled,
        };
        match decode_current(cancelled.item(0), decode_lock)? {
            Some(lock) if lock.is_owned_by(owner) => Ok(Released::InUse(Box::new(lock))),
            _ => {
                self.delete_plain(index_key).await?;
                Ok(Released::NotHeld)
            }
        }
    }

    /// Ends the lock held by `apply_id` (its apply reached a terminal state), and when it
    /// completed records what it applied for the promotion check. Returns whether a lock was
    /// released: `false` when the apply held none (registered without a lock, or released
    /// already).
    pub async fn release_lock_of_apply(
        &self,
        key: &LockKey,
        owner: &LockOwner,
        apply_id: &ApplyId,
        completed: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(lock) = self.get_lock(key).await? else {
            return Ok(false);
        };
        if !matches!(&lock.stage, LockStage::Applying { apply_id: held, .. } if held == apply_id) {
            return Ok(false);
        }
        let mut expr = Expression::default();
        let condition = Condition::new(applying(&mut expr, apply_id), expr);
        let mut actions = vec![
            self.delete_action(lock_item_key(key), Some(&condition))?,
            self.delete_action(pr_lock_key(&lock.owner, key), None)?,
        ];
        if completed {
            let applied = AppliedSchema {
                key: key.clone(),
                owner: owner.clone(),
                schema_digest: lock.plan.schema_digest.clone(),
                apply_id: Some(apply_id.clone()),
                at: now,
            };
            actions.push(self.put_action(encode_applied(&applied), None)?);
        }
        Ok(self.transact(actions).await?.is_ok())
    }

    async fn delete_plain(&self, item_key: Item) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item_key))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("DeleteItem", e))?;
        Ok(())
    }
}
