//! De-duplication and enqueue failures in the webhook intake, end to end against the local AWS
//! emulator (moto): a redelivered delivery or a second delivery of the same comment enqueues one
//! job, and a failed enqueue answers 503 and withdraws its delivery record so that GitHub's
//! redelivery goes through.

mod common;

use common::{
    harness, harness_with, routing, signed, unique, Harness, COMMENT_FIXTURE, HTTP_V2, REST_V1,
    SECRET,
};
use schemabot_aws::queue::JobQueue;
use schemabot_aws::store::Store;
use webhook::intake::Intake;
use webhook::signature::WebhookSecrets;
use webhook::Webhook;

#[tokio::test]
async fn the_same_delivery_three_times_enqueues_one_message() {
    let h = harness().await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, body) = h
            .send(signed(
                HTTP_V2,
                "issue_comment",
                "dup-delivery",
                COMMENT_FIXTURE,
            ))
            .await;
        statuses.push((
            status,
            body["message"]
                .as_str()
                .map(str::to_string)
                .or(body["error"].as_str().map(str::to_string)),
        ));
    }
    assert_eq!(statuses[0].0, 202);
    for later in &statuses[1..] {
        assert_eq!(later, &(200, Some("duplicate delivery".to_string())));
    }
    assert_eq!(h.queued_jobs().await.len(), 1);
}

#[tokio::test]
async fn two_deliveries_of_the_same_comment_enqueue_one_job() {
    let h = harness().await;
    let (first, _) = h
        .send(signed(
            HTTP_V2,
            "issue_comment",
            "delivery-a",
            COMMENT_FIXTURE,
        ))
        .await;
    let (second, body) = h
        .send(signed(
            REST_V1,
            "issue_comment",
            "delivery-b",
            COMMENT_FIXTURE,
        ))
        .await;
    assert_eq!((first, second), (202, 200));
    assert_eq!(body["message"], "duplicate delivery");
    assert_eq!(h.queued_jobs().await.len(), 1);
}

#[tokio::test]
async fn an_enqueue_failure_answers_503_and_leaves_no_dedup_record() {
    // A queue URL that does not exist: SendMessage fails.
    let h = harness_with(
        routing(),
        Some(format!(
            "{}/123456789012/missing-{}.fifo",
            std::env::var("AWS_ENDPOINT_URL").unwrap(),
            unique("q")
        )),
    )
    .await;
    let (status, body) = h
        .send(signed(
            HTTP_V2,
            "issue_comment",
            "retry-me",
            COMMENT_FIXTURE,
        ))
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("redeliver"));
    assert_eq!(
        h.table_items().await,
        0,
        "the delivery record must be withdrawn"
    );

    // GitHub's redelivery (same delivery id) now goes through once the queue works.
    let fixed = Harness {
        webhook: Webhook {
            secrets: WebhookSecrets::new(&[SECRET]).unwrap(),
            routing: routing(),
            intake: Intake {
                store: Store::new(h.store.client().clone(), h.store.table_name().to_string()),
                queue: JobQueue::new(h.sqs.clone(), h.queue_url.clone()),
            },
        },
        queue_url: h.queue_url.clone(),
        sqs: h.sqs.clone(),
        store: Store::new(h.store.client().clone(), h.store.table_name().to_string()),
    };
    let (status, _) = fixed
        .send(signed(
            HTTP_V2,
            "issue_comment",
            "retry-me",
            COMMENT_FIXTURE,
        ))
        .await;
    assert_eq!(status, 202);
    assert_eq!(fixed.queued_jobs().await.len(), 1);
}
