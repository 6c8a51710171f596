//! Locks on (database, environment), their per-PR index, what each PR applied (for promotion
//! order) and the locks' audit trail.
//!
//! | item            | pk                          | sk                            |
//! |-----------------|-----------------------------|-------------------------------|
//! | lock            | `LOCK#<database>#<env>`     | `LOCK`                        |
//! | PR's lock index | `PRLOCKS#<repo>#<pr>`       | `LOCK#<database>#<env>`       |
//! | applied schema  | `PRAPPLIED#<repo>#<pr>`     | `APPLIED#<database>#<env>`    |
//! | lock event      | `LOCKEVENTS#<database>#<env>` | `EVENT#<time>#<seq>`        |
//!
//! Every change of a lock is one conditional write (or a transaction whose first action is
//! one), so two PRs can never both hold a lock and a confirm can only act on the plan it read.

use super::{decode_current, key, Store, WriteOutcome};
use crate::codec::{self, attr, item_type, DecodeError, Item, ItemReader};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use crate::keys;
use chrono::{DateTime, TimeDelta, Utc};
use schemabot_domain::lock::{
    AppliedSchema, Lock, LockEvent, LockKey, LockOwner, LockStage, LockedPlan,
};
use schemabot_domain::{ApplyId, Database, Environment, InstallationId, Login, Repository};
use std::collections::BTreeMap;

const LOCK_SK: &str = "LOCK";
const APPLIED_PREFIX: &str = "APPLIED#";
/// How long a PR's applied-schema records are kept (for production after staging).
const APPLIED_RETENTION: TimeDelta = TimeDelta::days(90);

fn lock_pk(key: &LockKey) -> String {
    format!("LOCK#{}#{}", key.database, key.environment)
}

fn lock_item_key(key: &LockKey) -> Item {
    super::key(lock_pk(key), LOCK_SK)
}

fn pr_locks_pk(owner: &LockOwner) -> String {
    format!("PRLOCKS#{}#{}", owner.repository, owner.pr.0)
}

fn pr_lock_sk(key: &LockKey) -> String {
    format!("LOCK#{}#{}", key.database, key.environment)
}

fn applied_pk(owner: &LockOwner) -> String {
    format!("PRAPPLIED#{}#{}", owner.repository, owner.pr.0)
}

fn applied_sk(key: &LockKey) -> String {
    format!("{APPLIED_PREFIX}{}#{}", key.database, key.environment)
}

fn events_pk(key: &LockKey) -> String {
    format!("LOCKEVENTS#{}#{}", key.database, key.environment)
}

fn stage_attrs(stage: &LockStage) -> (&'static str, Option<&str>, Option<&ApplyId>) {
    match stage {
        LockStage::Planned => ("planned", None, None),
        LockStage::Confirming { command_id } => ("confirming", Some(command_id.as_str()), None),
        LockStage::Applying {
            command_id,
            apply_id,
        } => ("applying", Some(command_id.as_str()), Some(apply_id)),
    }
}

fn encode_lock(lock: &Lock) -> Result<Item, StoreError> {
    let plan = serde_json::to_string(&lock.plan)
        .map_err(|e| StoreError::InvalidRequest(format!("lock plan not serializable: {e}")))?;
    let mut item = lock_item_key(&lock.key);
    let (stage, command_id, apply_id) = stage_attrs(&lock.stage);
    for (name, value) in [
        (attr::ITEM_TYPE, codec::s(item_type::LOCK)),
        (attr::DATABASE, codec::s(lock.key.database.as_str())),
        (attr::ENVIRONMENT, codec::s(lock.key.environment.as_str())),
        (attr::REPOSITORY, codec::s(lock.owner.repository.as_str())),
        (attr::PR, codec::n(lock.owner.pr.0)),
        (attr::INSTALLATION_ID, codec::n(lock.installation_id.0)),
        (attr::LOCKED_BY, codec::s(lock.locked_by.0.as_str())),
        (attr::LOCK_STAGE, codec::s(stage)),
        (attr::HEAD_SHA, codec::s(lock.plan.head_sha.as_str())),
        (attr::PLAN, codec::s(plan)),
        (attr::ACQUIRED_AT, codec::time(lock.acquired_at)),
        (
            attr::LEASE_EXPIRES_AT_MS,
            codec::n(lock.lease_expires_at.timestamp_millis()),
        ),
    ] {
        item.insert(name.to_string(), value);
    }
    if let Some(command_id) = command_id {
        item.insert(attr::LOCK_COMMAND_ID.to_string(), codec::s(command_id));
    }
    if let Some(apply_id) = apply_id {
        item.insert(attr::APPLY_ID.to_string(), codec::s(apply_id.as_str()));
    }
    Ok(item)
}

fn decode_lock(item: &Item) -> Result<Lock, DecodeError> {
    let r = ItemReader::new(item, item_type::LOCK);
    let key = LockKey {
        database: r.parsed(attr::DATABASE, Database::parse)?,
        environment: r.parsed(attr::ENVIRONMENT, Environment::parse)?,
    };
    let owner = LockOwner {
        repository: r.parsed(attr::REPOSITORY, Repository::parse)?,
        pr: schemabot_domain::PrNumber(r.u64(attr::PR)?),
    };
    let command_id = || r.string(attr::LOCK_COMMAND_ID).map(str::to_string);
    let stage = match r.string(attr::LOCK_STAGE)? {
        "planned" => LockStage::Planned,
        "confirming" => LockStage::Confirming {
            command_id: command_id()?,
        },
        "applying" => LockStage::Applying {
            command_id: command_id()?,
            apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        },
        other => {
            return Err(DecodeError::Invalid {
                record: item_type::LOCK,
                attribute: attr::LOCK_STAGE,
                value: other.to_string(),
                reason: "unknown lock stage".into(),
            })
        }
    };
    let plan_json = r.string(attr::PLAN)?;
    let plan: LockedPlan = serde_json::from_str(plan_json).map_err(|e| DecodeError::Invalid {
        record: item_type::LOCK,
        attribute: attr::PLAN,
        value: String::new(),
        reason: e.to_string(),
    })?;
    let lease_ms = r.u64(attr::LEASE_EXPIRES_AT_MS)?;
    let lease_expires_at = i64::try_from(lease_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| DecodeError::Invalid {
            record: item_type::LOCK,
            attribute: attr::LEASE_EXPIRES_AT_MS,
            value: lease_ms.to_string(),
            reason: "not a time".into(),
        })?;
    Ok(Lock {
        key,
        owner,
        installation_id: InstallationId(r.u64(attr::INSTALLATION_ID)?),
        locked_by: Login(r.string(attr::LOCKED_BY)?.to_string()),
        stage,
        plan,
        acquired_at: r.time(attr::ACQUIRED_AT)?,
        lease_expires_at,
    })
}

fn decode_lock_key(item: &Item) -> Result<LockKey, DecodeError> {
    let r = ItemReader::new(item, item_type::PR_LOCK);
    Ok(LockKey {
        database: r.parsed(attr::DATABASE, Database::parse)?,
        environment: r.parsed(attr::ENVIRONMENT, Environment::parse)?,
    })
}

fn pr_lock_item(key: &LockKey, owner: &LockOwner) -> Item {
    let mut item = super::key(pr_locks_pk(owner), &pr_lock_sk(key));
    item.insert(attr::ITEM_TYPE.to_string(), codec::s(item_type::PR_LOCK));
    item.insert(attr::DATABASE.to_string(), codec::s(key.database.as_str()));
    item.insert(
        attr::ENVIRONMENT.to_string(),
        codec::s(key.environment.as_str()),
    );
    item
}

/// `#repository = :repo AND #pr = :pr`
fn owned_by(expr: &mut Expression, owner: &LockOwner) -> String {
    let repo = expr.equals(attr::REPOSITORY, codec::s(owner.repository.as_str()));
    let pr = expr.equals(attr::PR, codec::n(owner.pr.0));
    format!("{repo} AND {pr}")
}

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
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(lock_item_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem", e))?;
        decode_current(got.item(), decode_lock)
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
        match self.transact(actions).await? {
            Ok(()) => Ok(WriteOutcome::Written(())),
            Err(cancelled) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(cancelled.item(0), decode_lock)?,
            }),
        }
    }

    /// Moves this PR's lock to `confirming` for `command_id`: from `planned` at the planned
    /// head commit (of concurrent confirms exactly one wins), or with `resume` from
    /// `confirming` (a retried or crashed confirm; the caller asks Tern before applying
    /// again). On refusal, the lock that stands.
    pub async fn begin_confirm(
        &self,
        key: &LockKey,
        owner: &LockOwner,
        head_sha: &str,
        command_id: &str,
        resume: bool,
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
        self.lock_update(key, &spec).await
    }

    /// Records that Tern accepted `apply_id` for the confirm `command_id`. Idempotent.
    pub async fn mark_lock_applying(
        &self,
        key: &LockKey,
        command_id: &str,
        apply_id: &ApplyId,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        let mut spec = UpdateSpec::default();
        let by = spec
            .expr
            .equals(attr::LOCK_COMMAND_ID, codec::s(command_id));
        let confirming = spec.expr.equals(attr::LOCK_STAGE, codec::s("confirming"));
        let applying = spec.expr.equals(attr::LOCK_STAGE, codec::s("applying"));
        let same = spec
            .expr
            .equals(attr::APPLY_ID, codec::s(apply_id.as_str()));
        spec.require(format!(
            "{by} AND ({confirming} OR ({applying} AND {same}))"
        ))
        .set(attr::LOCK_STAGE, codec::s("applying"))
        .set(attr::APPLY_ID, codec::s(apply_id.as_str()));
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
        let by = spec
            .expr
            .equals(attr::LOCK_COMMAND_ID, codec::s(command_id));
        let confirming = spec.expr.equals(attr::LOCK_STAGE, codec::s("confirming"));
        spec.require(format!("{by} AND {confirming}"))
            .set(attr::LOCK_STAGE, codec::s("planned"))
            .remove(attr::LOCK_COMMAND_ID);
        self.lock_update(key, &spec).await
    }

    async fn lock_update(
        &self,
        key: &LockKey,
        spec: &UpdateSpec,
    ) -> Result<WriteOutcome<(), Lock>, StoreError> {
        match self.update_item(lock_item_key(key), spec).await? {
            Ok(()) => Ok(WriteOutcome::Written(())),
            Err(current) => Ok(WriteOutcome::ConditionFailed {
                current: decode_current(current.as_ref(), decode_lock)?,
            }),
        }
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
        let index_key = super::key(pr_locks_pk(owner), &pr_lock_sk(key));
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
        let applying = expr.equals(attr::LOCK_STAGE, codec::s("applying"));
        let same = expr.equals(attr::APPLY_ID, codec::s(apply_id.as_str()));
        let condition = Condition::new(format!("{applying} AND {same}"), expr);
        let mut actions = vec![
            self.delete_action(lock_item_key(key), Some(&condition))?,
            self.delete_action(super::key(pr_locks_pk(&lock.owner), &pr_lock_sk(key)), None)?,
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

    /// Records that `applied.owner`'s schema is live in (database, environment) without an
    /// apply of its own (the environment already matched it).
    pub async fn record_applied_schema(&self, applied: &AppliedSchema) -> Result<(), StoreError> {
        self.put_item(encode_applied(applied), None)
            .await?
            .map_err(|_| StoreError::Inconsistent("unconditional put refused".to_string()))
    }

    /// What `owner` applied to `database`: environment → schema digest.
    pub async fn applied_schemas(
        &self,
        owner: &LockOwner,
        database: &Database,
    ) -> Result<BTreeMap<Environment, String>, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.equals(attr::PK, codec::s(applied_pk(owner)));
        let sk = expr.name(attr::SK);
        let prefix = expr.value(codec::s(format!("{APPLIED_PREFIX}{database}#")));
        let items = self
            .query_all(
                None,
                format!("{pk} AND begins_with({sk}, {prefix})"),
                expr,
                true,
            )
            .await?;
        items
            .iter()
            .map(|item| {
                let r = ItemReader::new(item, item_type::APPLIED_SCHEMA);
                Ok((
                    r.parsed(attr::ENVIRONMENT, Environment::parse)?,
                    r.string(attr::SCHEMA_DIGEST)?.to_string(),
                ))
            })
            .collect::<Result<_, DecodeError>>()
            .map_err(StoreError::from)
    }

    /// Appends one step of a lock's history.
    pub async fn append_lock_event(&self, event: &LockEvent) -> Result<(), StoreError> {
        let mut item = key(events_pk(&event.key), &keys::event_sk(event.at));
        for (name, value) in [
            (attr::ITEM_TYPE, codec::s(item_type::LOCK_EVENT)),
            (attr::DATABASE, codec::s(event.key.database.as_str())),
            (attr::ENVIRONMENT, codec::s(event.key.environment.as_str())),
            (attr::AT, codec::time(event.at)),
            (attr::EVENT, codec::s(event.event.as_str())),
            (attr::ACTOR, codec::s(event.actor.as_str())),
            (attr::REPOSITORY, codec::s(event.owner.repository.as_str())),
            (attr::PR, codec::n(event.owner.pr.0)),
            (attr::OUTCOME, codec::s(event.outcome.as_str())),
        ] {
            item.insert(name.to_string(), value);
        }
        if let Some(delivery_id) = &event.delivery_id {
            item.insert(
                attr::DELIVERY_ID.to_string(),
                codec::s(delivery_id.as_str()),
            );
        }
        if let Some(message) = &event.message {
            item.insert(attr::MESSAGE.to_string(), codec::s(message.as_str()));
        }
        self.put_item(item, None)
            .await?
            .map_err(|_| StoreError::Inconsistent("unconditional put refused".to_string()))
    }

    /// A lock's history, oldest first: (event, actor, PR, outcome).
    pub async fn list_lock_events(
        &self,
        key: &LockKey,
    ) -> Result<Vec<(String, String, u64, String)>, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.equals(attr::PK, codec::s(events_pk(key)));
        let items = self.query_all(None, pk, expr, true).await?;
        items
            .iter()
            .map(|item| {
                let r = ItemReader::new(item, item_type::LOCK_EVENT);
                Ok((
                    r.string(attr::EVENT)?.to_string(),
                    r.string(attr::ACTOR)?.to_string(),
                    r.u64(attr::PR)?,
                    r.string(attr::OUTCOME)?.to_string(),
                ))
            })
            .collect::<Result<_, DecodeError>>()
            .map_err(StoreError::from)
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

fn encode_applied(applied: &AppliedSchema) -> Item {
    let mut item = key(applied_pk(&applied.owner), &applied_sk(&applied.key));
    let expires = applied.at + APPLIED_RETENTION;
    for (name, value) in [
        (attr::ITEM_TYPE, codec::s(item_type::APPLIED_SCHEMA)),
        (attr::DATABASE, codec::s(applied.key.database.as_str())),
        (
            attr::ENVIRONMENT,
            codec::s(applied.key.environment.as_str()),
        ),
        (
            attr::SCHEMA_DIGEST,
            codec::s(applied.schema_digest.as_str()),
        ),
        (attr::AT, codec::time(applied.at)),
        (attr::EXPIRES_AT, codec::n(expires.timestamp())),
    ] {
        item.insert(name.to_string(), value);
    }
    if let Some(apply_id) = &applied.apply_id {
        item.insert(attr::APPLY_ID.to_string(), codec::s(apply_id.as_str()));
    }
    item
}
