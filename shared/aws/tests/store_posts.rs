//! Comments posted once per job identity: the `posting` → `posted` record.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{fresh_store, unique};
use futures::future::join_all;
use schemabot_aws::codec::attr;
use schemabot_aws::keys;
use schemabot_aws::store::{PostClaim, POST_RETENTION};
use schemabot_aws::Store;
use schemabot_domain::{CommentId, PrNumber, Repository};

fn repository() -> Repository {
    Repository::parse("octo/shop").unwrap()
}

async fn raw_item(
    store: &Store,
    pr: PrNumber,
    marker: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key(
            attr::PK,
            AttributeValue::S(keys::post_pk(&repository(), pr, marker)),
        )
        .key(attr::SK, AttributeValue::S(keys::POST_SK.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .expect("the post record")
}

#[tokio::test]
async fn a_post_is_fresh_once_unsettled_until_recorded_then_posted() {
    let (store, counter) = fresh_store().await;
    let marker = unique("reply:octo/shop");
    let pr = PrNumber(42);

    let before = counter.total();
    assert_eq!(
        store.begin_post(&repository(), pr, &marker).await.unwrap(),
        PostClaim::Fresh
    );
    assert_eq!(counter.total(), before + 1, "one conditional put");
    // A later attempt (a retry, or a redrive whose receive count starts at 1 again).
    assert_eq!(
        store.begin_post(&repository(), pr, &marker).await.unwrap(),
        PostClaim::Unsettled
    );

    let before = counter.total();
    assert_eq!(
        store
            .record_post(&repository(), pr, &marker, CommentId(501))
            .await
            .unwrap(),
        CommentId(501)
    );
    assert_eq!(counter.total(), before + 1, "one conditional update");
    assert_eq!(
        store.begin_post(&repository(), pr, &marker).await.unwrap(),
        PostClaim::Posted(CommentId(501))
    );

    // Another attempt that posted too cannot replace the comment on record.
    assert_eq!(
        store
            .record_post(&repository(), pr, &marker, CommentId(502))
            .await
            .unwrap(),
        CommentId(501)
    );

    let item = raw_item(&store, pr, &marker).await;
    assert_eq!(item[attr::STATUS], AttributeValue::S("posted".into()));
    assert_eq!(
        item[attr::ITEM_TYPE],
        AttributeValue::S("comment_post".into())
    );
    assert_eq!(item[attr::MARKER], AttributeValue::S(marker.clone()));
    let AttributeValue::N(expires) = &item[attr::EXPIRES_AT] else {
        panic!("expires_at is a number: {item:?}")
    };
    let expires: i64 = expires.parse().unwrap();
    let retention = POST_RETENTION.as_secs() as i64;
    let now = chrono::Utc::now().timestamp();
    assert!((now + retention - 60..=now + retention + 5).contains(&expires));
}

#[tokio::test]
async fn records_are_per_pr_and_marker() {
    let (store, _) = fresh_store().await;
    let marker = unique("apply:octo/shop");
    let plan = format!("{marker}:plan:orders");
    let reply = format!("{marker}:orders");
    for (pr, marker) in [(1, &plan), (1, &reply), (2, &plan)] {
        assert_eq!(
            store
                .begin_post(&repository(), PrNumber(pr), marker)
                .await
                .unwrap(),
            PostClaim::Fresh,
            "{pr} {marker}"
        );
    }
}

#[tokio::test]
async fn a_record_that_vanished_is_written_whole_when_the_comment_is_recorded() {
    let (store, _) = fresh_store().await;
    let marker = unique("progress:apply");
    let pr = PrNumber(7);
    assert_eq!(
        store
            .record_post(&repository(), pr, &marker, CommentId(9))
            .await
            .unwrap(),
        CommentId(9)
    );
    assert_eq!(
        store.begin_post(&repository(), pr, &marker).await.unwrap(),
        PostClaim::Posted(CommentId(9))
    );
    let item = raw_item(&store, pr, &marker).await;
    assert_eq!(item[attr::PR], AttributeValue::N("7".into()));
    assert!(item.contains_key(attr::EXPIRES_AT));
}

#[tokio::test]
async fn of_concurrent_attempts_exactly_one_is_fresh() {
    let (store, _) = fresh_store().await;
    let marker = unique("cutover:octo/shop");
    let repository = repository();
    let claims =
        join_all((0..8).map(|_| store.begin_post(&repository, PrNumber(3), &marker))).await;
    let fresh = claims
        .iter()
        .filter(|c| matches!(c, Ok(PostClaim::Fresh)))
        .count();
    assert_eq!(fresh, 1, "{claims:?}");
    assert!(claims
        .iter()
        .all(|c| matches!(c, Ok(PostClaim::Fresh | PostClaim::Unsettled))));
}
