//! Webhook delivery de-duplication. SQS FIFO de-duplicates for 5 minutes only; GitHub may
//! redeliver for 3 days. A delivery is recorded `pending` (with a short lease) before its job is
//! enqueued and `enqueued` after, so a redelivery is recognised whenever it arrives, and a
//! delivery whose webhook died mid-way can be taken over once its lease has run out.

use super::{key, Store};
use crate::codec::{self, attr, item_type, Item, ItemReader, ItemWriter};
use crate::condition::{Condition, Expression, UpdateSpec};
use crate::error::StoreError;
use crate::keys;
use chrono::Utc;
use schemabot_domain::DeliveryId;
use std::time::Duration;

/// How long delivery records are kept (TTL): GitHub's 3-day redelivery window plus a margin.
pub const DELIVERY_RETENTION: Duration = Duration::from_secs(4 * 24 * 60 * 60);

const PENDING: &str = "pending";
const ENQUEUED: &str = "enqueued";

/// What `begin_delivery` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// First time seen (or a stale pending record was taken over): go ahead and enqueue.
    Fresh,
    /// Already enqueued earlier (this delivery, or another delivery of the same comment).
    Duplicate,
    /// Another invocation is handling it right now (its lease is live).
    InFlight,
}

fn delivery_key(delivery_id: &DeliveryId) -> Item {
    key(keys::delivery_pk(delivery_id), keys::DELIVERY_SK)
}

fn comment_key_item(comment_key: &str) -> Item {
    key(keys::comment_delivery_pk(comment_key), keys::DELIVERY_SK)
}

/// Duplicate if any refusing record is already enqueued, otherwise in flight.
fn classify_refusal<'a>(current: impl IntoIterator<Item = Option<&'a Item>>) -> DeliveryOutcome {
    let enqueued = current.into_iter().flatten().any(|item| {
        ItemReader::new(item, "delivery")
            .string(attr::STATUS)
            .is_ok_and(|status| status == ENQUEUED)
    });
    if enqueued {
        DeliveryOutcome::Duplicate
    } else {
        DeliveryOutcome::InFlight
    }
}

impl Store {
    /// Records a delivery as pending for `lease`, and — with a `comment_key` (e.g. the job id of
    /// the comment's command) — the comment too, in the same transaction, so that two deliveries
    /// of one comment count as one. One request.
    pub async fn begin_delivery(
        &self,
        delivery_id: &DeliveryId,
        comment_key: Option<&str>,
        lease: Duration,
    ) -> Result<DeliveryOutcome, StoreError> {
        let now = Utc::now();
        let now_ms = now.timestamp_millis();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let retention = i64::try_from(DELIVERY_RETENTION.as_secs()).unwrap_or(i64::MAX);
        let record = |pk: String, record_type: &str| -> Item {
            ItemWriter::from(key(pk, keys::DELIVERY_SK))
                .put(attr::ITEM_TYPE, codec::s(record_type))
                .put(attr::DELIVERY_ID, codec::s(delivery_id.as_str()))
                .put(attr::STATUS, codec::s(PENDING))
                .put(
                    attr::LEASE_EXPIRES_AT_MS,
                    codec::n(now_ms.saturating_add(lease_ms)),
                )
                .put(
                    attr::EXPIRES_AT,
                    codec::n(now.timestamp().saturating_add(retention)),
                )
                .put(attr::FIRST_SEEN_AT, codec::time(now))
                .put_opt(attr::COMMENT_KEY, comment_key.map(codec::s))
                .finish()
        };

        // New, or pending with a lease that has run out (its webhook died before enqueueing).
        let mut expr = Expression::default();
        let pk = expr.name(attr::PK);
        let pending = expr.equals(attr::STATUS, codec::s(PENDING));
        let lease_name = expr.name(attr::LEASE_EXPIRES_AT_MS);
        let now_value = expr.value(codec::n(now_ms));
        let takeable = Condition::new(
            format!("attribute_not_exists({pk}) OR ({pending} AND {lease_name} < {now_value})"),
            expr,
        );

        let delivery_record = record(keys::delivery_pk(delivery_id), item_type::DELIVERY);
        let Some(comment_key) = comment_key else {
            return Ok(match self.put_item(delivery_record, &takeable).await? {
                Ok(()) => DeliveryOutcome::Fresh,
                Err(current) => classify_refusal([current.as_ref()]),
            });
        };
        let comment_record = record(
            keys::comment_delivery_pk(comment_key),
            item_type::COMMENT_DELIVERY,
        );
        let actions = vec![
            self.put_action(delivery_record, Some(&takeable))?,
            self.put_action(comment_record, Some(&takeable))?,
        ];
        Ok(match self.transact(actions).await? {
            Ok(()) => DeliveryOutcome::Fresh,
            Err(cancelled) => classify_refusal([cancelled.item(0), cancelled.item(1)]),
        })
    }

    /// Marks the delivery (and its comment record) enqueued, for good. `false` if a record is no
    /// longer this delivery's (its lease ran out and another delivery took it over).
    pub async fn complete_delivery(
        &self,
        delivery_id: &DeliveryId,
        comment_key: Option<&str>,
    ) -> Result<bool, StoreError> {
        let spec = || {
            let mut spec = UpdateSpec::default();
            let ours = spec
                .expr
                .equals(attr::DELIVERY_ID, codec::s(delivery_id.as_str()));
            spec.require(ours)
                .set(attr::STATUS, codec::s(ENQUEUED))
                .remove(attr::LEASE_EXPIRES_AT_MS);
            spec
        };
        let Some(comment_key) = comment_key else {
            return Ok(self
                .update_item(delivery_key(delivery_id), &spec())
                .await?
                .is_ok());
        };
        let actions = vec![
            self.update_action(delivery_key(delivery_id), &spec())?,
            self.update_action(comment_key_item(comment_key), &spec())?,
        ];
        Ok(self.transact(actions).await?.is_ok())
    }

    /// Removes this delivery's pending records (its job could not be enqueued), so GitHub's
    /// redelivery is treated as fresh. `false` if they were no longer this delivery's pending
    /// records; then nothing was removed.
    pub async fn abandon_delivery(
        &self,
        delivery_id: &DeliveryId,
        comment_key: Option<&str>,
    ) -> Result<bool, StoreError> {
        let ours_and_pending = || {
            let mut expr = Expression::default();
            let ours = expr.equals(attr::DELIVERY_ID, codec::s(delivery_id.as_str()));
            let pending = expr.equals(attr::STATUS, codec::s(PENDING));
            Condition::new(format!("{ours} AND {pending}"), expr)
        };
        let mut actions =
            vec![self.delete_action(delivery_key(delivery_id), Some(&ours_and_pending()))?];
        if let Some(comment_key) = comment_key {
            actions.push(
                self.delete_action(comment_key_item(comment_key), Some(&ours_and_pending()))?,
            );
        }
        Ok(self.transact(actions).await?.is_ok())
    }
}
