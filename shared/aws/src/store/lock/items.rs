//! Lock-related items: their keys, and encoding/decoding of locks, PR index entries and applied
//! schemas.

use super::super::key;
use crate::codec::{self, attr, item_type, DecodeError, Item, ItemReader, ItemWriter};
use crate::condition::Expression;
use crate::error::StoreError;
use chrono::{DateTime, TimeDelta};
use schemabot_domain::lock::{AppliedSchema, Lock, LockKey, LockOwner, LockStage, LockedPlan};
use schemabot_domain::{ApplyId, InstallationId, Login};

const LOCK_SK: &str = "LOCK";
pub(super) const APPLIED_PREFIX: &str = "APPLIED#";
/// How long a PR's applied-schema records are kept (for production after staging).
const APPLIED_RETENTION: TimeDelta = TimeDelta::days(90);

fn lock_pk(key: &LockKey) -> String {
    format!("LOCK#{}#{}", key.database, key.environment)
}

pub(super) fn lock_item_key(key: &LockKey) -> Item {
    super::super::key(lock_pk(key), LOCK_SK)
}

pub(super) fn pr_locks_pk(owner: &LockOwner) -> String {
    format!("PRLOCKS#{}#{}", owner.repository, owner.pr.0)
}

/// `owner`'s index entry of the lock on `key` (its sort key is the lock's partition key).
pub(super) fn pr_lock_key(owner: &LockOwner, key: &LockKey) -> Item {
    super::super::key(pr_locks_pk(owner), &lock_pk(key))
}

pub(super) fn applied_pk(owner: &LockOwner) -> String {
    format!("PRAPPLIED#{}#{}", owner.repository, owner.pr.0)
}

fn applied_sk(key: &LockKey) -> String {
    format!("{APPLIED_PREFIX}{}#{}", key.database, key.environment)
}

pub(super) fn events_pk(key: &LockKey) -> String {
    format!("LOCKEVENTS#{}#{}", key.database, key.environment)
}

/// `#repository = :repo AND #pr = :pr`
pub(super) fn owned_by(expr: &mut Expression, owner: &LockOwner) -> String {
    let repo = expr.equals(attr::REPOSITORY, codec::s(owner.repository.as_str()));
    let pr = expr.equals(attr::PR, codec::n(owner.pr.0));
    format!("{repo} AND {pr}")
}

/// `#lock_command_id = :cmd AND #lock_stage = :confirming`
pub(super) fn confirming_by(expr: &mut Expression, command_id: &str) -> String {
    let by = expr.equals(attr::LOCK_COMMAND_ID, codec::s(command_id));
    let confirming = expr.equals(attr::LOCK_STAGE, codec::s("confirming"));
    format!("{by} AND {confirming}")
}

/// `#lock_stage = :applying AND #apply_id = :id`
pub(super) fn applying(expr: &mut Expression, apply_id: &ApplyId) -> String {
    let applying = expr.equals(attr::LOCK_STAGE, codec::s("applying"));
    let same = expr.equals(attr::APPLY_ID, codec::s(apply_id.as_str()));
    format!("{applying} AND {same}")
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

pub(super) fn encode_lock(lock: &Lock) -> Result<Item, StoreError> {
    let plan = serde_json::to_string(&lock.plan)
        .map_err(|e| StoreError::InvalidRequest(format!("lock plan not serializable: {e}")))?;
    let (stage, command_id, apply_id) = stage_attrs(&lock.stage);
    Ok(ItemWriter::from(lock_item_key(&lock.key))
        .put(attr::ITEM_TYPE, codec::s(item_type::LOCK))
        .put(attr::DATABASE, codec::s(lock.key.database.as_str()))
        .put(attr::ENVIRONMENT, codec::s(lock.key.environment.as_str()))
        .put(attr::REPOSITORY, codec::s(lock.owner.repository.as_str()))
        .put(attr::PR, codec::n(lock.owner.pr.0))
        .put(attr::INSTALLATION_ID, codec::n(lock.installation_id.0))
        .put(attr::LOCKED_BY, codec::s(lock.locked_by.0.as_str()))
        .put(attr::LOCK_STAGE, codec::s(stage))
        .put(attr::HEAD_SHA, codec::s(lock.plan.head_sha.as_str()))
        .put(attr::PLAN, codec::s(plan))
        .put(attr::ACQUIRED_AT, codec::time(lock.acquired_at))
        .put(
            attr::LEASE_EXPIRES_AT_MS,
            codec::n(lock.lease_expires_at.timestamp_millis()),
        )
        .put_opt(attr::LOCK_COMMAND_ID, command_id.map(codec::s))
        .put_opt(attr::APPLY_ID, apply_id.map(|id| codec::s(id.as_str())))
        .finish())
}

pub(super) fn decode_lock(item: &Item) -> Result<Lock, DecodeError> {
    let r = ItemReader::new(item, item_type::LOCK);
    let key = r.lock_key()?;
    let owner = r.lock_owner()?;
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
        other => return Err(r.invalid(attr::LOCK_STAGE, other, "unknown lock stage")),
    };
    let plan: LockedPlan =
        serde_json::from_str(r.string(attr::PLAN)?).map_err(|e| r.invalid(attr::PLAN, "", e))?;
    let lease_ms = r.u64(attr::LEASE_EXPIRES_AT_MS)?;
    let lease_expires_at = i64::try_from(lease_ms)
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| {
            r.invalid(
                attr::LEASE_EXPIRES_AT_MS,
                &lease_ms.to_string(),
                "not a time",
            )
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

pub(super) fn decode_lock_key(item: &Item) -> Result<LockKey, DecodeError> {
    ItemReader::new(item, item_type::PR_LOCK).lock_key()
}

pub(super) fn pr_lock_item(key: &LockKey, owner: &LockOwner) -> Item {
    ItemWriter::from(pr_lock_key(owner, key))
        .put(attr::ITEM_TYPE, codec::s(item_type::PR_LOCK))
        .put(attr::DATABASE, codec::s(key.database.as_str()))
        .put(attr::ENVIRONMENT, codec::s(key.environment.as_str()))
        .finish()
}

pub(super) fn encode_applied(applied: &AppliedSchema) -> Item {
    let expires = applied.at + APPLIED_RETENTION;
    ItemWriter::from(key(applied_pk(&applied.owner), &applied_sk(&applied.key)))
        .put(attr::ITEM_TYPE, codec::s(item_type::APPLIED_SCHEMA))
        .put(attr::DATABASE, codec::s(applied.key.database.as_str()))
        .put(
            attr::ENVIRONMENT,
            codec::s(applied.key.environment.as_str()),
        )
        .put(
            attr::SCHEMA_DIGEST,
            codec::s(applied.schema_digest.as_str()),
        )
        .put(attr::AT, codec::time(applied.at))
        .put(attr::EXPIRES_AT, codec::n(expires.timestamp()))
        .put_opt(
            attr::APPLY_ID,
            applied.apply_id.as_ref().map(|id| codec::s(id.as_str())),
        )
        .finish()
}
