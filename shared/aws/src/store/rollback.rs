//! The latest apply on each (database, environment), with the schema the database had before
//! it: what `rollback` checks and plans back to. One item per (database, environment)
//! (`ROLLBACK#<database>#<environment>` / `LATEST`), replaced by each registered apply; a
//! conditional put keeps a late re-registration of an older apply from taking it back.

use super::{key, Store};
use crate::codec::{self, attr, DecodeError, Item, ItemReader, ItemWriter};
use crate::condition::{Condition, Expression};
use crate::error::StoreError;
use schemabot_domain::lock::LockKey;
use schemabot_domain::rollback::RollbackSource;
use schemabot_domain::ApplyId;
use std::collections::BTreeMap;

const ROLLBACK_SOURCE: &str = "rollback_source";
const LATEST: &str = "LATEST";
/// JSON of the original files (file name → content); absent when not captured.
const ORIGINAL_FILES: &str = "original_files";

fn rollback_pk(key: &LockKey) -> String {
    format!("ROLLBACK#{}#{}", key.database, key.environment)
}

fn encode(source: &RollbackSource) -> Result<Item, StoreError> {
    let original_files = source
        .original_files
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::InvalidRequest(format!("original files not serializable: {e}")))?;
    Ok(ItemWriter::from(key(rollback_pk(&source.key), LATEST))
        .put(attr::ITEM_TYPE, codec::s(ROLLBACK_SOURCE))
        .put(attr::DATABASE, codec::s(source.key.database.as_str()))
        .put(attr::ENVIRONMENT, codec::s(source.key.environment.as_str()))
        .put(attr::APPLY_ID, codec::s(source.apply_id.as_str()))
        .put(attr::REPOSITORY, codec::s(source.owner.repository.as_str()))
        .put(attr::PR, codec::n(source.owner.pr.0))
        .put(attr::DEPLOYMENT, codec::s(source.deployment.as_str()))
        .put(attr::DATABASE_TYPE, codec::s(source.database_type.as_str()))
        .put(attr::CREATED_AT, codec::time(source.registered_at))
        .put_opt(
            attr::ROLLBACK_OF,
            source.rollback_of.as_ref().map(|id| codec::s(id.as_str())),
        )
        .put_opt(ORIGINAL_FILES, original_files.map(codec::s))
        .finish())
}

fn decode(item: &Item) -> Result<RollbackSource, DecodeError> {
    let r = ItemReader::new(item, ROLLBACK_SOURCE);
    let original_files = r
        .opt_string(ORIGINAL_FILES)?
        .map(|json| {
            serde_json::from_str::<BTreeMap<String, String>>(json)
                .map_err(|e| r.invalid(ORIGINAL_FILES, json, e.to_string()))
        })
        .transpose()?;
    Ok(RollbackSource {
        key: r.lock_key()?,
        apply_id: r.parsed(attr::APPLY_ID, ApplyId::parse)?,
        owner: r.lock_owner()?,
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
        Ok(self.put_item(encode(source)?, &condition).await?.is_ok())
    }

    /// The latest apply recorded on (database, environment). One strongly consistent read.
    pub async fn rollback_source(
        &self,
        lock_key: &LockKey,
    ) -> Result<Option<RollbackSource>, StoreError> {
        self.get_record(key(rollback_pk(lock_key), LATEST), decode)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use schemabot_domain::lock::LockOwner;
    use schemabot_domain::{Database, Environment, PrNumber, Repository};

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
