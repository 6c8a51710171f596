//! The sparse `active` index: paging through non-terminal applies.

use super::super::Store;
use super::support::apply_key;
use crate::codec::{self, attr, Item, ItemWriter};
use crate::condition::Expression;
use crate::error::StoreError;
use crate::keys;
use crate::table::ACTIVE_INDEX;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use schemabot_domain::{ApplyId, Environment, PrNumber, Repository, State};

/// A non-terminal apply as listed by the `active` index (eventually consistent: load the apply
/// before acting on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveApplyRef {
    pub apply_id: ApplyId,
    pub state: State,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub repository: Repository,
    pub pr: PrNumber,
    pub environment: Environment,
}

/// Where the next page of [`Store::list_active`] starts (opaque; safe to put in a message).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActiveCursor(String);

impl ActiveCursor {
    pub fn new(raw: impl Into<String>) -> Self {
        ActiveCursor(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePage {
    /// Oldest first.
    pub applies: Vec<ActiveApplyRef>,
    pub next: Option<ActiveCursor>,
}

impl Store {
    /// One page of non-terminal applies from the sparse `active` index, oldest first.
    pub async fn list_active(
        &self,
        page_size: i32,
        cursor: Option<&ActiveCursor>,
    ) -> Result<ActivePage, StoreError> {
        let mut expr = Expression::default();
        let condition = expr.equals(attr::ACTIVE_PK, codec::s(keys::ACTIVE_PARTITION));
        let start = cursor.map(active_start_key).transpose()?;
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ACTIVE_INDEX)
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(expr.names))
            .set_expression_attribute_values(Some(expr.values))
            .set_exclusive_start_key(start)
            .limit(page_size.max(1))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("Query", e))?;
        let applies = page
            .items()
            .iter()
            .map(decode_active_ref)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match page
            .last_evaluated_key()
            .and_then(|last| last.get(attr::ACTIVE_SK))
        {
            Some(AttributeValue::S(sk)) => Some(ActiveCursor(sk.clone())),
            _ => None,
        };
        Ok(ActivePage { applies, next })
    }

    /// Every active apply (all pages).
    pub async fn list_all_active(&self) -> Result<Vec<ActiveApplyRef>, StoreError> {
        const PAGE: i32 = 500;
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.list_active(PAGE, cursor.as_ref()).await?;
            all.extend(page.applies);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }
}

fn decode_active_ref(item: &Item) -> Result<ActiveApplyRef, StoreError> {
    // The index projects all attributes, so an indexed item is a whole apply item.
    let apply = codec::decode_apply(item)?;
    Ok(ActiveApplyRef {
        apply_id: apply.id,
        state: apply.state,
        version: apply.version,
        created_at: apply.created_at,
        repository: apply.repository,
        pr: apply.pr,
        environment: apply.environment,
    })
}

/// The `ExclusiveStartKey` of an index query: index keys plus the table keys of the item.
fn active_start_key(cursor: &ActiveCursor) -> Result<Item, StoreError> {
    let apply_id = keys::apply_id_from_active_sk(cursor.as_str()).ok_or_else(|| {
        StoreError::InvalidRequest(format!(
            "`{}` is not an active-index cursor",
            cursor.as_str()
        ))
    })?;
    Ok(ItemWriter::from(apply_key(&apply_id))
        .put(attr::ACTIVE_PK, codec::s(keys::ACTIVE_PARTITION))
        .put(attr::ACTIVE_SK, codec::s(cursor.as_str()))
        .finish())
}
