//! Shared harness for the webhook intake tests: a `Webhook` wired to a fresh DynamoDB table and
//! SQS FIFO queue on the local AWS emulator (moto), the GitHub payload fixtures, and builders for
//! signed events in each of the three front-end shapes (HTTP API 2.0, REST API 1.0, function URL).
//!
//! Each test file that declares `mod common;` compiles all of it but uses only a part, hence
//! `allow(dead_code)`.
#![allow(dead_code)]

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{
    ApiGatewayProxyRequest, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse,
};
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use schemabot_aws::config::{dynamodb_client, load_sdk_config, sqs_client};
use schemabot_aws::queue::{create_fifo_queue, receive, JobQueue};
use schemabot_aws::store::Store;
use schemabot_aws::table::create_table;
use schemabot_aws::RequestCounter;
use schemabot_domain::job::Job;
use serde_json::{json, Value};
use std::time::Duration;
use webhook::autoplan::AutoplanPolicy;
use webhook::front_door::HttpEvent;
use webhook::intake::Intake;
use webhook::routing::RoutingConfig;
use webhook::signature::{sign, WebhookSecrets};
use webhook::Webhook;

pub const SECRET: &str = "test-webhook-secret-for-intake";
pub const COMMENT_FIXTURE: &str = include_str!("../fixtures/issue_comment_cutover.json");
pub const PULL_FIXTURE: &str = include_str!("../fixtures/pull_request_synchronize.json");
pub const HTTP_V2: &str = include_str!("../fixtures/apigw_http_v2_event.json");
pub const REST_V1: &str = include_str!("../fixtures/apigw_rest_v1_event.json");
pub const FUNCTION_URL: &str = include_str!("../fixtures/function_url_event.json");

/// A webhook on its own table and queue, with the clients to inspect them.
pub struct Harness {
    pub webhook: Webhook,
    pub queue_url: String,
    pub sqs: schemabot_aws::SqsClient,
    pub store: Store,
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

pub async fn harness_with(routing: RoutingConfig, queue_override: Option<String>) -> Harness {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run scripts/services.sh start and source .local/services.env"
    );
    let sdk = load_sdk_config().await;
    let counter = RequestCounter::new();
    let dynamo = dynamodb_client(&sdk, &counter);
    let sqs = sqs_client(&sdk, &counter);
    let table = unique("webhook-");
    create_table(&dynamo, &table).await.expect("create table");
    let queue_url = create_fifo_queue(&sqs, &format!("{}.fifo", unique("jobs-")))
        .await
        .expect("create queue");
    let send_url = queue_override.unwrap_or_else(|| queue_url.clone());
    let store = Store::new(dynamo.clone(), table.clone());
    Harness {
        webhook: Webhook {
            secrets: WebhookSecrets::new(&[SECRET]).unwrap(),
            routing,
            intake: Intake {
                store: Store::new(dynamo, table),
                queue: JobQueue::new(sqs.clone(), send_url),
            },
        },
        queue_url,
        sqs,
        store,
    }
}

pub fn routing() -> RoutingConfig {
    RoutingConfig {
        environments: vec!["staging".parse().unwrap(), "production".parse().unwrap()],
        owned: vec![],
        primary: true,
        repositories: vec!["acme-payments/schemas".parse().unwrap()],
        autoplan: AutoplanPolicy::default(),
    }
}

pub async fn harness() -> Harness {
    harness_with(routing(), None).await
}

/// The issue_comment fixture as a new comment (fresh id) with another body.
pub fn comment_payload(body: &str) -> String {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut v: Value = serde_json::from_str(COMMENT_FIXTURE).unwrap();
    v["comment"]["body"] = json!(body);
    v["comment"]["id"] = json!(NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    v.to_string()
}

/// Wraps a payload in one of the three front-end event shapes, signed with `signature`.
pub fn event(
    template: &str,
    event_name: &str,
    delivery: &str,
    payload: &str,
    signature: Option<String>,
) -> HttpEvent {
    let mut v: Value = serde_json::from_str(template).unwrap();
    let rest = v.get("httpMethod").is_some();
    let (event_key, delivery_key, signature_key) = if rest {
        ("X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256")
    } else {
        ("x-github-event", "x-github-delivery", "x-hub-signature-256")
    };
    v["headers"][event_key] = json!(event_name);
    v["headers"][delivery_key] = json!(delivery);
    if let Some(sig) = signature {
        v["headers"][signature_key] = json!(sig);
    }
    if rest {
        // REST proxy events carry the same headers in multiValueHeaders too.
        v["multiValueHeaders"][event_key] = json!([event_name]);
        v["multiValueHeaders"][delivery_key] = json!([delivery]);
    }
    if v["isBase64Encoded"].as_bool() == Some(true) {
        v["body"] = json!(base64::engine::general_purpose::STANDARD.encode(payload));
    } else {
        v["body"] = json!(payload);
    }
    // Every fixture is a real shape: it must also parse as the aws_lambda_events type it models.
    let text = v.to_string();
    if rest {
        serde_json::from_str::<ApiGatewayProxyRequest>(&text).expect("REST proxy shape");
    } else if template.contains("lambda-url") {
        serde_json::from_str::<LambdaFunctionUrlRequest>(&text).expect("function URL shape");
    } else {
        serde_json::from_str::<ApiGatewayV2httpRequest>(&text).expect("HTTP API shape");
    }
    serde_json::from_str(&text).unwrap()
}

pub fn signed(template: &str, event_name: &str, delivery: &str, payload: &str) -> HttpEvent {
    event(
        template,
        event_name,
        delivery,
        payload,
        Some(sign(SECRET.as_bytes(), payload.as_bytes())),
    )
}

pub fn body_json(response: &ApiGatewayV2httpResponse) -> Value {
    match &response.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

/// The pull_request fixture (`opened`) changed by `edit`.
pub fn pull_variant(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(PULL_FIXTURE).unwrap();
    v["action"] = json!("opened");
    edit(&mut v);
    v.to_string()
}

impl Harness {
    pub async fn queued_jobs(&self) -> Vec<Job> {
        let mut jobs = Vec::new();
        loop {
            let batch = receive(&self.sqs, &self.queue_url, 10, Duration::from_millis(0))
                .await
                .unwrap();
            if batch.is_empty() {
                return jobs;
            }
            for m in batch {
                jobs.push(m.envelope().unwrap().job);
                if let Some(handle) = m.receipt_handle {
                    schemabot_aws::queue::delete_message(&self.sqs, &self.queue_url, &handle)
                        .await
                        .unwrap();
                }
            }
        }
    }

    pub async fn table_items(&self) -> usize {
        self.store
            .client()
            .scan()
            .table_name(self.store.table_name())
            .send()
            .await
            .unwrap()
            .count() as usize
    }

    pub async fn send(&self, event: HttpEvent) -> (i64, Value) {
        let r = self.webhook.handle_event(event).await;
        let status = r.status_code;
        (status, body_json(&r))
    }
}
