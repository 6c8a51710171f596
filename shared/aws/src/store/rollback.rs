//! The latest apply on each (database, environment), with the schema the database had before
//! it: what `rollback` checks and plans back to. One item per (database, environment)
//! (`ROLLBACK#<database>#<environment>` / `LATEST`), replaced by each registered apply; a
//! conditional put keeps a late re-registration of an older apply from taking it back.

use super::{decode_current, key, Store};
use crate::codec::{self, attr, DecodeError, Item, ItemReader};
use crate::condition::{Condition, Expression};
use crate::error::StoreError;
use schemabot_domain::lock::{LockKey, LockOwner};
use schemabot_domain::rollback::RollbackSource;
use schemabot_domain::{ApplyId, Database, Environment, PrNumber, Repository};
use std::collections::BTreeMap;

const ROLLBACK_SOURCE: &str = "rollback_source";
const LATEST: &str = "LATEST";
/// JSON of the original files (file name → content); absent when not captured.
const ORIGINAL_FILES: &str = "original_files";

fn rollback_pk(key: &LockKey) -> String {
    format!("ROLLBACK#{}#{}", key.database, key.environment)
}

fn encode(source: &RollbackSource) -> Result<Item, StoreError> {
    let mut item = key(rollback_pk(&source.key), LATEST);
    for (name, value) in [
        (attr::ITEM_TYPE, codec::s(ROLLBACK_SOURCE)),
        (attr::DATABASE, codec::s(source.key.database.as_str())),
        (attr::ENVIRONMENT, codec::s(source.key.environment.as_str())),
        (attr::APPLY_ID, codec::s(source.apply_id.as_str())),
        (attr::REPOSITORY, codec::s(source.owner.repository.as_str())),
        (attr::PR, codec::n(source.owner.pr.0)),
        (attr::DEPLOYMENT, codec::s(source.deployment.as_str())),
        (attr::DATABASE_TYPE, codec::s(source.database_type.as_str())),
        (attr::CREATED_AT, codec::time(source.registered_at)),
    ] {
        item.insert(name.to_string(), value);
    }
    if let Some(rollback_of) = &source.rollback_of {
        item.insert(
            attr::ROLLBACK_OF.to_string(),
            codec::s(rollback_of.as_str()),
        );
    }
    if let Some(files) = &source.original_files {
        let json = serde_json::to_string(files).map_err(|e| {
            StoreError::InvalidRequest(format!("original files not serializable: {e}"))
        })?;
        item.insert(ORIGINAL_FILES.to_string(), codec::s(json));
    }
    Ok(item)
}

fn decode(item: &Item) -> Result<RollbackSource, DecodeError> {
    let r = ItemReader::new(item, ROLLBACK_SOURCE);
    let original_files = match r.opt_string(ORIGINAL_FILES)? {
        None => None,
        Some(json) => Some(
            serde_json::from_str::<BTreeMap<String, String>>(json)
                .map_err(|e| r.invalid(ORIGINAL_FILES, json, e.to_string()))?,
        ),
    };
    Ok(RollbackSource {
        key: LockKey {
            database: r.parsed(attr::DATABASE, Database::parse)?,
            environment: r.parsed(attr::ENVIRONMENT, Environment::parse)?,
        },
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        owner: LockOwner {
            repository: r.parsed(attr::REPOSITORY, Repository::parse)?,
            pr: PrNumber(r.u64(attr::PR)?),
        },
        deployment: r.string(attr::DEPLOYMENT)?.to_string(),
        database_type: r.string(attr::DATABASE_TYPE)?.to_string(),
        original_files,
        rollback_of: r
            .opt_string(attr::ROLLBACK_OF)?
            .map(|id| ApplyId::parse(id).map_err(|e| r.invalid(attr::ROLLBACK_OF, id, e)))
            .transpose()?,
        registered_at: r.time(attr::CREATED_AT)?,
    })
}

impl Store {
    /// Records `source` as the latest apply on its (database, environment), unless a later
    /// one is recorded already (a re-registration of the same apply rewrites it). One
    /// conditional put; `false` when a later apply kept its place.
    pub async fn record_rollback_source(
        &self,
        source: &RollbackSource,
    ) -> Result<bool, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.name(attr::PK);
        let apply_id = expr.name(attr::APPLY_ID);
        let same = expr.value(codec::s(source.apply_id.as_str()));
        let at = expr.name(attr::CREATED_AT);
        let when = expr.value(codec::time(source.registered_at));
        let condition = Condition::new(
            format!("attribute_not_exists({pk}) OR {apply_id} = {same} OR {at} <= {when}"),
            expr,
        );
        Ok(self
            .put_item(encode(source)?, Some(&condition))
            .await?
            .is_ok())
    }

    /// The latest apply recorded on (database, environment). One strongly consistent read.
    pub async fn rollback_source(
        &self,
        lock_key: &LockKey,
    ) -> Result<Option<RollbackSource>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(rollback_pk(lock_key), LATEST)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem", e))?;
        decode_current(got.item(), decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_source_round_trips_with_and_without_its_optional_parts() {
        let files = BTreeMap::from([(
            "orders.sql".to_string(),
            "CREATE TABLE `orders` (\n  `id` int\n)".to_string(),
        )]);
        for (original_files, rollback_of) in [
            (None, None),
            (Some(files), Some(ApplyId::parse("apply-00bb").unwrap())),
        ] {
            let source = RollbackSource {
                key: LockKey {
                    database: Database::parse("payments").unwrap(),
                    environment: Environment::parse("production").unwrap(),
                },
                apply_id: ApplyId::parse("apply-00aa").unwrap(),
                owner: LockOwner {
                    repository: Repository::parse("org/repo").unwrap(),
                    pr: PrNumber(7),
                },
                deployment: "payments".into(),
                database_type: "mysql".into(),
                original_files,
                rollback_of,
                registered_at: Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap(),
            };
            assert_eq!(decode(&encode(&source).unwrap()).unwrap(), source);
        }
    }
}
