//! Lock-related items: their keys, and encoding/decoding of locks, PR index entries and applied
//! schemas.

use super::super::key;
use crate::codec::{self, attr, item_type, DecodeError, Item, ItemReader};
use crate::error::StoreError;
use chrono::{DateTime, TimeDelta};
use schemabot_domain::lock::{AppliedSchema, Lock, LockKey, LockOwner, LockStage, LockedPlan};
use schemabot_domain::{ApplyId, Database, Environment, InstallationId, Login, Repository};

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

pub(super) fn pr_lock_sk(key: &LockKey) -> String {
    format!("LOCK#{}#{}", key.database, key.environment)
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

pub(super) fn decode_lock(item: &Item) -> Result<Lock, DecodeError> {
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

pub(super) fn decode_lock_key(item: &Item) -> Result<LockKey, DecodeError> {
    let r = ItemReader::new(item, item_type::PR_LOCK);
    Ok(LockKey {
        database: r.parsed(attr::DATABASE, Database::parse)?,
        environment: r.parsed(attr::ENVIRONMENT, Environment::parse)?,
    })
}

pub(super) fn pr_lock_item(key: &LockKey, owner: &LockOwner) -> Item {
    let mut item = super::super::key(pr_locks_pk(owner), &pr_lock_sk(key));
    item.insert(attr::ITEM_TYPE.to_string(), codec::s(item_type::PR_LOCK));
    item.insert(attr::DATABASE.to_string(), codec::s(key.database.as_str()));
    item.insert(
        attr::ENVIRONMENT.to_string(),
        codec::s(key.environment.as_str()),
    );
    item
}

pub(super) fn encode_applied(applied: &AppliedSchema) -> Item {
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
