//! The DynamoDB state store. Every state change is one conditional request — an `UpdateItem`, or
//! a `TransactWriteItems` that also puts the audit event — guarded by the allowed previous states
//! and the version the caller read. A failed guard comes back as [`WriteOutcome::ConditionFailed`]
//! carrying the item as DynamoDB holds it (`ALL_OLD`), never as an error string.

mod apply;
mod changes;
mod delivery;
mod lock;
mod plan;
mod post;
mod rollback;

pub use apply::{
    ActiveApplyRef, ActiveCursor, ActivePage, ApplySnapshot, ClaimGranted, ControlAnswer,
    ControlRequest, ControlStatus,
};
pub use changes::{ApplyChanges, Change, TaskChanges};
pub use delivery::{DeliveryOutcome, DELIVERY_RETENTION};
pub use lock::{ForceRelease, LockToSettle, Released};
pub use post::{PostClaim, POST_RETENTION};

use crate::codec::{attr, s, DecodeError, Item};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::{is_transient_code, SdkFailure, StoreError};
use crate::DynamoClient;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::time::Duration;

/// The result of a conditional write: done, or refused by its condition together with the
/// current record (`None` when the item does not exist).
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome<T, Current = T> {
    Written(T),
    ConditionFailed { current: Option<Current> },
}

impl<T, C> WriteOutcome<T, C> {
    pub fn is_written(&self) -> bool {
        matches!(self, WriteOutcome::Written(_))
    }

    pub fn written(&self) -> Option<&T> {
        match self {
            WriteOutcome::Written(value) => Some(value),
            WriteOutcome::ConditionFailed { .. } => None,
        }
    }

    /// The record that made the condition fail, if it exists.
    pub fn current(&self) -> Option<&C> {
        match self {
            WriteOutcome::Written(_) => None,
            WriteOutcome::ConditionFailed { current } => current.as_ref(),
        }
    }
}

/// Transactions that collide with another transaction on the same item are cancelled with
/// `TransactionConflict`; they are retried this many times in all before giving up (transient).
const TRANSACTION_ATTEMPTS: u32 = 4;
const TRANSACTION_BACKOFF: Duration = Duration::from_millis(20);
/// DynamoDB's limit on actions per transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// The state store on one table.
#[derive(Debug, Clone)]
pub struct Store {
    client: DynamoClient,
    table: String,
}

/// Why a transaction was cancelled, one entry per action (in request order).
#[derive(Debug, Clone)]
pub(crate) struct Cancelled {
    reasons: Vec<CancelReason>,
}

#[derive(Debug, Clone)]
struct CancelReason {
    code: Option<String>,
    item: Option<Item>,
}

const CONDITION_FAILED: &str = "ConditionalCheckFailed";
/// Every conditional write asks for the refusing item back.
const ALL_OLD: ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure::AllOld;

impl Cancelled {
    /// Whether the condition of action `index` failed.
    pub(crate) fn condition_failed(&self, index: usize) -> bool {
        self.reasons
            .get(index)
            .is_some_and(|r| r.code.as_deref() == Some(CONDITION_FAILED))
    }

    /// The current item DynamoDB returned for action `index` (`ALL_OLD` on condition failure).
    pub(crate) fn item(&self, index: usize) -> Option<&Item> {
        self.reasons.get(index).and_then(|r| r.item.as_ref())
    }

    fn any_condition_failed(&self) -> bool {
        self.reasons
            .iter()
            .any(|r| r.code.as_deref() == Some(CONDITION_FAILED))
    }

    /// Codes other than "None" (actions that were fine).
    fn failure_codes(&self) -> Vec<&str> {
        self.reasons
            .iter()
            .filter_map(|r| r.code.as_deref())
            .filter(|code| *code != "None")
            .collect()
    }
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    Item::from([(attr::PK.to_string(), s(pk)), (attr::SK.to_string(), s(sk))])
}

/// Reads one kind of record from its item (`codec::decode_apply`, `decode_lock`, …).
pub(crate) type Decoder<C> = fn(&Item) -> Result<C, DecodeError>;

/// Decodes an `ALL_OLD` item, if there is one.
pub(crate) fn decode_current<C>(
    item: Option<&Item>,
    decode: impl FnOnce(&Item) -> Result<C, DecodeError>,
) -> Result<Option<C>, StoreError> {
    Ok(item.map(decode).transpose()?)
}

/// A conditional write's result as a [`WriteOutcome`]: `written`, or the refusing item decoded.
fn outcome<T, C, R>(
    result: Result<R, Option<&Item>>,
    written: T,
    decode: Decoder<C>,
) -> Result<WriteOutcome<T, C>, StoreError> {
    Ok(match result {
        Ok(_) => WriteOutcome::Written(written),
        Err(current) => WriteOutcome::ConditionFailed {
            current: decode_current(current, decode)?,
        },
    })
}

impl Store {
    pub fn new(client: DynamoClient, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &DynamoClient {
        &self.client
    }

    // -- request builders ----------------------------------------------------------------------

    pub(crate) fn put_action(
        &self,
        item: Item,
        condition: Option<&Condition>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(|c| c.expression.clone()))
            .set_expression_attribute_names(condition.and_then(Condition::names_or_none))
            .set_expression_attribute_values(condition.and_then(Condition::values_or_none))
            .set_return_values_on_condition_check_failure(condition.map(|_| ALL_OLD))
            .build()
            .map_err(|e| StoreError::build("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(crate) fn update_action(
        &self,
        key: Item,
        spec: &UpdateSpec,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(spec.update_expression())
            .set_condition_expression(spec.condition_expression())
            .set_expression_attribute_names(spec.expr.names_or_none())
            .set_expression_attribute_values(spec.expr.values_or_none())
            .return_values_on_condition_check_failure(ALL_OLD)
            .build()
            .map_err(|e| StoreError::build("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub(crate) fn delete_action(
        &self,
        key: Item,
        condition: Option<&Condition>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(|c| c.expression.clone()))
            .set_expression_attribute_names(condition.and_then(Condition::names_or_none))
            .set_expression_attribute_values(condition.and_then(Condition::values_or_none))
            .set_return_values_on_condition_check_failure(condition.map(|_| ALL_OLD))
            .build()
            .map_err(|e| StoreError::build("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    // -- request senders -----------------------------------------------------------------------

    /// One `TransactWriteItems`. `Ok(Err(cancelled))` when a condition failed. Conflicts with
    /// concurrent transactions are retried a few times (a retry is a new request whose
    /// conditions are evaluated afresh, so it either wins or sees the winner's item).
    pub(crate) async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Cancelled>, StoreError> {
        const OP: &str = "TransactWriteItems";
        if actions.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::InvalidRequest(format!(
                "{} actions exceed DynamoDB's {MAX_TRANSACTION_ITEMS} per transaction",
                actions.len()
            )));
        }
        let mut attempt = 1;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let Err(err) = sent else {
                return Ok(Ok(()));
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(e)) =
                err.as_service_error()
            else {
                return Err(StoreError::from_sdk(OP, err));
            };
            let cancelled = Cancelled {
                reasons: e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| CancelReason {
                        code: r.code().map(str::to_string),
                        item: r.item().cloned(),
                    })
                    .collect(),
            };
            if cancelled.any_condition_failed() {
                return Ok(Err(cancelled));
            }
            let codes = cancelled.failure_codes();
            let transient = !codes.is_empty() && codes.iter().all(|c| is_transient_code(c));
            let message = format!("transaction cancelled: {}", codes.join(", "));
            if !transient || attempt >= TRANSACTION_ATTEMPTS {
                return Err(StoreError::Sdk(SdkFailure {
                    operation: OP,
                    code: if transient {
                        codes.join(",")
                    } else {
                        "TransactionCanceledException".to_string()
                    },
                    message,
                    transient,
                }));
            }
            tracing::debug!(attempt, %message, "retrying a conflicting transaction");
            tokio::time::sleep(TRANSACTION_BACKOFF * 2u32.pow(attempt - 1)).await;
            attempt += 1;
        }
    }

    /// One conditional `UpdateItem`; `Ok(Err(current))` when the condition failed.
    pub(crate) async fn update_item(
        &self,
        key: Item,
        spec: &UpdateSpec,
    ) -> Result<Result<(), Option<Item>>, StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(spec.update_expression())
            .set_condition_expression(spec.condition_expression())
            .set_expression_attribute_names(spec.expr.names_or_none())
            .set_expression_attribute_values(spec.expr.values_or_none())
            .return_values_on_condition_check_failure(ALL_OLD)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Ok(())),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                    Ok(Err(e.item().cloned()))
                }
                _ => Err(StoreError::from_sdk("UpdateItem", err)),
            },
        }
    }

    /// One conditional `PutItem`; `Ok(Err(current))` when the condition failed.
    pub(crate) async fn put_item(
        &self,
        item: Item,
        condition: &Condition,
    ) -> Result<Result<(), Option<Item>>, StoreError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(condition.names_or_none())
            .set_expression_attribute_values(condition.values_or_none())
            .return_values_on_condition_check_failure(ALL_OLD)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Ok(())),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(e)) => {
                    Ok(Err(e.item().cloned()))
                }
                _ => Err(StoreError::from_sdk("PutItem", err)),
            },
        }
    }

    /// One unconditional `PutItem` (an audit event, a record nothing competes for).
    pub(crate) async fn put_plain(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("PutItem", e))?;
        Ok(())
    }

    /// [`Store::update_item`] as a [`WriteOutcome`]: `written`, or the refusing item decoded.
    pub(crate) async fn update_or_current<T, C>(
        &self,
        key: Item,
        spec: &UpdateSpec,
        written: T,
        decode: Decoder<C>,
    ) -> Result<WriteOutcome<T, C>, StoreError> {
        let result = self.update_item(key, spec).await?;
        outcome(result.as_ref().map_err(Option::as_ref), written, decode)
    }

    /// [`Store::put_item`] as a [`WriteOutcome`]: `written`, or the refusing item decoded.
    pub(crate) async fn put_or_current<T, C>(
        &self,
        item: Item,
        condition: &Condition,
        written: T,
        decode: Decoder<C>,
    ) -> Result<WriteOutcome<T, C>, StoreError> {
        let result = self.put_item(item, condition).await?;
        outcome(result.as_ref().map_err(Option::as_ref), written, decode)
    }

    /// [`Store::transact`] as a [`WriteOutcome`] whose first action is the guarded one: `written`,
    /// or that action's current item decoded.
    pub(crate) async fn transact_or_current<T, C>(
        &self,
        actions: Vec<TransactWriteItem>,
        written: T,
        decode: Decoder<C>,
    ) -> Result<WriteOutcome<T, C>, StoreError> {
        let result = self.transact(actions).await?;
        outcome(result.as_ref().map_err(|c| c.item(0)), written, decode)
    }

    /// One strongly consistent `GetItem`, decoded.
    pub(crate) async fn get_record<C>(
        &self,
        key: Item,
        decode: Decoder<C>,
    ) -> Result<Option<C>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk("GetItem", e))?;
        decode_current(got.item(), decode)
    }

    /// All items of a Query (following pages).
    pub(crate) async fn query_all(
        &self,
        index: Option<&str>,
        key_condition: String,
        expr: Expression,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression(&key_condition)
                .set_expression_attribute_names(Some(expr.names.clone()))
                .set_expression_attribute_values(Some(expr.values.clone()))
                .consistent_read(consistent)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::from_sdk("Query", e))?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => return Ok(items),
            }
        }
    }
}
