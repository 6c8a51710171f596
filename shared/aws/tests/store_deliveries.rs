//! Webhook delivery de-duplication records.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{fresh_store, unique};
use futures::future::join_all;
use schemabot_aws::codec::attr;
use schemabot_aws::keys;
use schemabot_aws::store::DeliveryOutcome::{Duplicate, Fresh, InFlight};
use schemabot_domain::DeliveryId;
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(30);

fn delivery() -> DeliveryId {
    DeliveryId::parse(&uuid::Uuid::new_v4().to_string()).unwrap()
}

#[tokio::test]
async fn a_delivery_is_fresh_once_then_a_duplicate_and_so_is_its_comment() {
    let (store, counter) = fresh_store().await;
    let first = delivery();
    let comment = unique("cutover:octo/shop");

    let before = counter.total();
    assert_eq!(
        store
            .begin_delivery(&first, Some(&comment), LEASE)
            .await
            .unwrap(),
        Fresh
    );
    assert_eq!(counter.total(), before + 1, "both records in one request");
    assert_eq!(
        store
            .begin_delivery(&first, Some(&comment), LEASE)
            .await
            .unwrap(),
        InFlight,
        "still pending under a live lease"
    );
    assert!(store
        .complete_delivery(&first, Some(&comment))
        .await
        .unwrap());

    assert_eq!(
        store
            .begin_delivery(&first, Some(&comment), LEASE)
            .await
            .unwrap(),
        Duplicate
    );
    // GitHub may deliver the same comment under another delivery id.
    assert_eq!(
        store
            .begin_delivery(&delivery(), Some(&comment), LEASE)
            .await
            .unwrap(),
        Duplicate
    );
    // Another comment is unaffected.
    assert_eq!(
        store
            .begin_delivery(&delivery(), Some(&unique("c")), LEASE)
            .await
            .unwrap(),
        Fresh
    );
}

#[tokio::test]
async fn delivery_records_expire_after_at_least_three_days() {
    let (store, _) = fresh_store().await;
    let id = delivery();
    assert_eq!(store.begin_delivery(&id, None, LEASE).await.unwrap(), Fresh);
    let item = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key(attr::PK, AttributeValue::S(keys::delivery_pk(&id)))
        .key(attr::SK, AttributeValue::S(keys::DELIVERY_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let Some(AttributeValue::N(expires_at)) = item.item().and_then(|i| i.get(attr::EXPIRES_AT))
    else {
        panic!("no numeric expires_at: {item:?}");
    };
    let expires_at: i64 = expires_at.parse().unwrap();
    let three_days = chrono::Utc::now().timestamp() + 3 * 24 * 3600;
    assert!(
        expires_at >= three_days,
        "TTL {expires_at} is shorter than 3 days"
    );

    assert!(store.complete_delivery(&id, None).await.unwrap());
    assert_eq!(
        store.begin_delivery(&id, None, LEASE).await.unwrap(),
        Duplicate
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_deliveries_of_one_comment_record_exactly_one() {
    let (store, _) = fresh_store().await;
    let comment = unique("cutover:octo/shop");
    let attempts = (0..10).map(|_| {
        let store = store.clone();
        let comment = comment.clone();
        tokio::spawn(async move {
            store
                .begin_delivery(&delivery(), Some(&comment), LEASE)
                .await
        })
    });
    let outcomes: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("task ran").expect("store request"))
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == Fresh).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| *o == Fresh || *o == InFlight));
}

#[tokio::test]
async fn an_abandoned_delivery_is_fresh_again_for_githubs_redelivery() {
    let (store, _) = fresh_store().await;
    let id = delivery();
    let comment = unique("cutover:octo/shop");
    assert_eq!(
        store
            .begin_delivery(&id, Some(&comment), LEASE)
            .await
            .unwrap(),
        Fresh
    );
    // Enqueueing failed: withdraw, so the redelivery is not mistaken for a duplicate.
    assert!(store.abandon_delivery(&id, Some(&comment)).await.unwrap());
    assert_eq!(
        store
            .begin_delivery(&id, Some(&comment), LEASE)
            .await
            .unwrap(),
        Fresh
    );

    // Only pending records of this delivery are withdrawn.
    assert!(store.complete_delivery(&id, Some(&comment)).await.unwrap());
    assert!(!store.abandon_delivery(&id, Some(&comment)).await.unwrap());
    assert_eq!(
        store
            .begin_delivery(&id, Some(&comment), LEASE)
            .await
            .unwrap(),
        Duplicate
    );
}

#[tokio::test]
async fn an_expired_pending_lease_may_be_taken_over() {
    let (store, _) = fresh_store().await;
    let comment = unique("cutover:octo/shop");
    let crashed = delivery();
    // A webhook that recorded the delivery and died before enqueueing (zero lease: expired).
    assert_eq!(
        store
            .begin_delivery(&crashed, Some(&comment), Duration::ZERO)
            .await
            .unwrap(),
        Fresh
    );
    tokio::time::sleep(Duration::from_millis(5)).await;

    let redelivery = delivery();
    assert_eq!(
        store
            .begin_delivery(&redelivery, Some(&comment), LEASE)
            .await
            .unwrap(),
        Fresh
    );
    // The crashed invocation, should it wake up, no longer owns the comment record.
    assert!(!store
        .complete_delivery(&crashed, Some(&comment))
        .await
        .unwrap());
    assert!(store
        .complete_delivery(&redelivery, Some(&comment))
        .await
        .unwrap());
    assert_eq!(
        store
            .begin_delivery(&delivery(), Some(&comment), LEASE)
            .await
            .unwrap(),
        Duplicate
    );
}
