//! What each PR applied (for promotion order) and the locks' audit trail.

use super::super::{key, Store};
use super::items::{applied_pk, encode_applied, events_pk, APPLIED_PREFIX};
use crate::codec::{self, attr, item_type, DecodeError, Item, ItemReader, ItemWriter};
use crate::condition::Expression;
use crate::error::StoreError;
use crate::keys;
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::lock::{AppliedSchema, LockEvent, LockKey, LockOwner};
use schemabot_domain::{Database, Environment};
use std::collections::BTreeMap;

impl Store {
    /// Records that `applied.owner`'s schema is live in (database, environment) without an
    /// apply of its own (the environment already matched it).
    pub async fn record_applied_schema(&self, applied: &AppliedSchema) -> Result<(), StoreError> {
        self.put_plain(encode_applied(applied)).await
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
        self.put_plain(encode_lock_event(event)).await
    }

    /// A lock's history, oldest first: (event, actor, PR, outcome).
    pub async fn list_lock_events(
        &self,
        key: &LockKey,
    ) -> Result<Vec<(EventKind, String, u64, Outcome)>, StoreError> {
        let mut expr = Expression::default();
        let pk = expr.equals(attr::PK, codec::s(events_pk(key)));
        let items = self.query_all(None, pk, expr, true).await?;
        items
            .iter()
            .map(|item| {
                let r = ItemReader::new(item, item_type::LOCK_EVENT);
                Ok((
                    EventKind::parse(r.string(attr::EVENT)?),
                    r.string(attr::ACTOR)?.to_string(),
                    r.u64(attr::PR)?,
                    Outcome::parse(r.string(attr::OUTCOME)?),
                ))
            })
            .collect::<Result<_, DecodeError>>()
            .map_err(StoreError::from)
    }
}

/// One step of a lock's history as an item (also written inside transactions).
pub(super) fn encode_lock_event(event: &LockEvent) -> Item {
    ItemWriter::from(key(events_pk(&event.key), &keys::event_sk(event.at)))
        .put(attr::ITEM_TYPE, codec::s(item_type::LOCK_EVENT))
        .put(attr::DATABASE, codec::s(event.key.database.as_str()))
        .put(attr::ENVIRONMENT, codec::s(event.key.environment.as_str()))
        .put(attr::AT, codec::time(event.at))
        .put(attr::EVENT, codec::s(event.event.as_str()))
        .put(attr::ACTOR, codec::s(event.actor.as_str()))
        .put(attr::REPOSITORY, codec::s(event.owner.repository.as_str()))
        .put(attr::PR, codec::n(event.owner.pr.0))
        .put(attr::OUTCOME, codec::s(event.outcome.as_str()))
        .put_opt(
            attr::DELIVERY_ID,
            event.delivery_id.as_ref().map(|id| codec::s(id.as_str())),
        )
        .put_opt(attr::MESSAGE, event.message.as_deref().map(codec::s))
        .finish()
}
