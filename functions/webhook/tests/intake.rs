//! The webhook end to end against the local AWS emulator (moto): real DynamoDB table, real SQS FIFO
//! queue, real GitHub payload shapes behind each of the three front ends.

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
use schemabot_domain::command::{CommandName, ParseError};
use schemabot_domain::job::{Job, PlanTrigger, Reply};
use serde_json::{json, Value};
use std::time::Duration;
use webhook::autoplan::AutoplanPolicy;
use webhook::front_door::HttpEvent;
use webhook::intake::Intake;
use webhook::routing::RoutingConfig;
use webhook::signature::{sign, WebhookSecrets};
use webhook::Webhook;

const SECRET: &str = "test-webhook-secret-for-intake";
const COMMENT_FIXTURE: &str = include_str!("fixtures/issue_comment_cutover.json");
const PULL_FIXTURE: &str = include_str!("fixtures/pull_request_synchronize.json");
const HTTP_V2: &str = include_str!("fixtures/apigw_http_v2_event.json");
const REST_V1: &str = include_str!("fixtures/apigw_rest_v1_event.json");
const FUNCTION_URL: &str = include_str!("fixtures/function_url_event.json");

struct Harness {
    webhook: Webhook,
    queue_url: String,
    sqs: schemabot_aws::SqsClient,
    store: Store,
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn harness_with(routing: RoutingConfig, queue_override: Option<String>) -> Harness {
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

fn routing() -> RoutingConfig {
    RoutingConfig {
        environments: vec!["staging".parse().unwrap(), "production".parse().unwrap()],
        owned: vec![],
        primary: true,
        repositories: vec!["acme-payments/schemas".parse().unwrap()],
        autoplan: AutoplanPolicy::default(),
    }
}

async fn harness() -> Harness {
    harness_with(routing(), None).await
}

/// The issue_comment fixture as a new comment (fresh id) with another body.
fn comment_payload(body: &str) -> String {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut v: Value = serde_json::from_str(COMMENT_FIXTURE).unwrap();
    v["comment"]["body"] = json!(body);
    v["comment"]["id"] = json!(NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    v.to_string()
}

/// Wraps a payload in one of the three front-end event shapes, signed with `signature`.
fn event(
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

fn signed(template: &str, event_name: &str, delivery: &str, payload: &str) -> HttpEvent {
    event(
        template,
        event_name,
        delivery,
        payload,
        Some(sign(SECRET.as_bytes(), payload.as_bytes())),
    )
}

fn body_json(response: &ApiGatewayV2httpResponse) -> Value {
    match &response.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

impl Harness {
    async fn queued_jobs(&self) -> Vec<Job> {
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

    async fn table_items(&self) -> usize {
        self.store
            .client()
            .scan()
            .table_name(self.store.table_name())
            .send()
            .await
            .unwrap()
            .count() as usize
    }

    async fn send(&self, event: HttpEvent) -> (i64, Value) {
        let r = self.webhook.handle_event(event).await;
        let status = r.status_code;
        (status, body_json(&r))
    }
}

#[tokio::test]
async fn a_signed_cutover_comment_is_enqueued_from_every_front_end() {
    for (name, template) in [
        ("http-v2", HTTP_V2),
        ("rest-v1", REST_V1),
        ("function-url", FUNCTION_URL),
    ] {
        let h = harness().await;
        let (status, body) = h
            .send(signed(
                template,
                "issue_comment",
                &unique("d-"),
                COMMENT_FIXTURE,
            ))
            .await;
        assert_eq!(status, 202, "{name}: {body}");
        assert_eq!(body["job"], "cutover", "{name}");
        let jobs = h.queued_jobs().await;
        assert_eq!(jobs.len(), 1, "{name}");
        match &jobs[0] {
            Job::Cutover(job) => {
                assert_eq!(job.apply_id.as_str(), "apply-0123456789abcdef");
                assert_eq!(job.environment.as_str(), "staging");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_signatures_get_401_and_leave_no_trace() {
    let h = harness().await;
    let tampered = COMMENT_FIXTURE.replace("staging", "production");
    let good_sig = sign(SECRET.as_bytes(), COMMENT_FIXTURE.as_bytes());
    let sha1 = "sha1=0123456789abcdef0123456789abcdef01234567".to_string();
    let wrong_secret = sign(b"not-the-secret", COMMENT_FIXTURE.as_bytes());
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("tampered body", tampered, Some(good_sig)),
        (
            "wrong secret",
            COMMENT_FIXTURE.to_string(),
            Some(wrong_secret),
        ),
        ("empty", COMMENT_FIXTURE.to_string(), Some(String::new())),
        ("sha1", COMMENT_FIXTURE.to_string(), Some(sha1)),
        ("missing", COMMENT_FIXTURE.to_string(), None),
    ];
    for (name, payload, sig) in cases {
        let (status, body) = h
            .send(event(
                HTTP_V2,
                "issue_comment",
                &unique("d-"),
                &payload,
                sig,
            ))
            .await;
        assert_eq!(status, 401, "{name}");
        assert_eq!(body["error"], "invalid webhook signature", "{name}");
    }
    assert!(h.queued_jobs().await.is_empty());
    assert_eq!(
        h.table_items().await,
        0,
        "a refused request must not write anything"
    );
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_4xx_with_an_error() {
    let h = harness().await;
    let garbage = "{not json";
    let (status, body) = h
        .send(signed(HTTP_V2, "issue_comment", "d-1", garbage))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid webhook payload"))
    );

    let missing_event = without_header("x-github-event");
    let (status, body) = h.send(missing_event).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "missing X-GitHub-Event header");

    let (status, body) = h.send(without_header("x-github-delivery")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("missing X-GitHub-Delivery header"))
    );

    let huge = "x".repeat(5 * 1024 * 1024 + 1);
    let (status, body) = h.send(signed(HTTP_V2, "issue_comment", "d-3", &huge)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("request body too large"))
    );

    let mut no_install: Value = serde_json::from_str(COMMENT_FIXTURE).unwrap();
    no_install.as_object_mut().unwrap().remove("installation");
    let (status, body) = h
        .send(signed(
            HTTP_V2,
            "issue_comment",
            "d-4",
            &no_install.to_string(),
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "missing installation ID in webhook payload");
    assert!(h.queued_jobs().await.is_empty());
}

/// The pull_request fixture (`opened`) changed by `edit`.
fn pull_variant(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(PULL_FIXTURE).unwrap();
    v["action"] = json!("opened");
    edit(&mut v);
    v.to_string()
}

/// A correctly signed comment event whose `header` is missing.
fn without_header(header: &str) -> HttpEvent {
    let mut v: Value = serde_json::from_str(HTTP_V2).unwrap();
    v["headers"].as_object_mut().unwrap().remove(header);
    v["headers"]["x-hub-signature-256"] =
        json!(sign(SECRET.as_bytes(), COMMENT_FIXTURE.as_bytes()));
    v["body"] = json!(COMMENT_FIXTURE);
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn every_ignore_rule_answers_200_with_a_reason_and_enqueues_nothing() {
    let h = harness().await;
    let mut edited: Value = serde_json::from_str(COMMENT_FIXTURE).unwrap();
    edited["action"] = json!("edited");
    let mut deleted: Value = serde_json::from_str(COMMENT_FIXTURE).unwrap();
    deleted["action"] = json!("deleted");
    let mut plain_issue: Value = serde_json::from_str(COMMENT_FIXTURE).unwrap();
    plain_issue["issue"]
        .as_object_mut()
        .unwrap()
        .remove("pull_request");
    let mut bot: Value = serde_json::from_str(COMMENT_FIXTURE).unwrap();
    bot["comment"]["user"]["type"] = json!("Bot");
    let pull_payload = |action: &str| {
        let mut v: Value = serde_json::from_str(PULL_FIXTURE).unwrap();
        v["action"] = json!(action);
        v.to_string()
    };
    let cases = [
        (
            "ping",
            r#"{"zen":"Keep it logically awesome.","hook_id":1}"#.to_string(),
            "pong",
        ),
        (
            "issue_comment",
            edited.to_string(),
            "event ignored (comment edited or deleted)",
        ),
        (
            "issue_comment",
            deleted.to_string(),
            "event ignored (comment edited or deleted)",
        ),
        (
            "issue_comment",
            plain_issue.to_string(),
            "event ignored (comment on an issue, not a pull request)",
        ),
        (
            "issue_comment",
            bot.to_string(),
            "event ignored (comment from bot)",
        ),
        (
            "issue_comment",
            comment_payload("Looks good to me"),
            "no SchemaBot command found",
        ),
        (
            "issue_comment",
            comment_payload("```\nschemabot cutover apply-0123456789abcdef -e staging\n```"),
            "no SchemaBot command found",
        ),
        (
            "issue_comment",
            comment_payload("Please do not run schemabot apply-confirm -e production yet."),
            "no SchemaBot command found",
        ),
        (
            "issue_comment",
            comment_payload("ping schemabot cutover apply-0123456789abcdef -e production"),
            "no SchemaBot command found",
        ),
        (
            "pull_request",
            pull_variant(|v| {
                v["pull_request"]["head"]["repo"]["full_name"] = json!("mallory/schemas")
            }),
            webhook::autoplan::FROM_FORK,
        ),
        (
            "pull_request",
            pull_variant(|v| v["pull_request"]["head"]["repo"] = Value::Null),
            webhook::autoplan::FROM_FORK,
        ),
        (
            "pull_request",
            pull_variant(|v| v["pull_request"]["author_association"] = json!("CONTRIBUTOR")),
            webhook::autoplan::AUTHOR_NOT_ALLOWED,
        ),
        (
            "pull_request",
            pull_payload("labeled"),
            "pull_request action ignored",
        ),
        (
            "deployment",
            r#"{"action":"created"}"#.to_string(),
            "event type 'deployment' ignored",
        ),
    ];
    for (event_name, payload, message) in cases {
        let (status, body) = h
            .send(signed(HTTP_V2, event_name, &unique("d-"), &payload))
            .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (200, Some(message)),
            "{event_name}: {payload:.60}"
        );
    }
    assert!(h.queued_jobs().await.is_empty());
    assert_eq!(h.table_items().await, 0);
}

#[tokio::test]
async fn every_argument_error_lands_as_the_right_reply_job() {
    let cases: Vec<(&str, Reply)> = vec![
        (
            "schemabot cutover -e staging",
            Reply::Syntax {
                error: ParseError::MissingApplyId {
                    command: CommandName::Cutover,
                },
            },
        ),
        (
            "schemabot cutover",
            Reply::Syntax {
                error: ParseError::MissingApplyId {
                    command: CommandName::Cutover,
                },
            },
        ),
        (
            "schemabot cutover apply-0123456789abcdef",
            Reply::Syntax {
                error: ParseError::MissingEnvironment {
                    command: CommandName::Cutover,
                },
            },
        ),
        (
            "schemabot cutover apply-xyz -e staging",
            Reply::Syntax {
                error: ParseError::InvalidApplyId {
                    command: CommandName::Cutover,
                    given: "apply-xyz".into(),
                },
            },
        ),
        (
            "schemabot cutover apply-ab -e st@ging",
            Reply::Syntax {
                error: ParseError::InvalidEnvironment {
                    command: CommandName::Cutover,
                    given: "st@ging".into(),
                },
            },
        ),
        (
            "schemabot plan -e staging -y",
            Reply::Syntax {
                error: ParseError::UnsupportedFlag {
                    command: CommandName::Plan,
                    flag: "-y".into(),
                },
            },
        ),
        (
            "schemabot frobnicate",
            Reply::Syntax {
                error: ParseError::UnknownCommand {
                    word: Some("frobnicate".into()),
                },
            },
        ),
        (
            "schemabot apply -e production please",
            Reply::Syntax {
                error: ParseError::UnexpectedWord {
                    command: CommandName::Apply,
                    word: "please".into(),
                },
            },
        ),
        (
            "schemabot cutover apply-0123456789abcdef -e staging now",
            Reply::Syntax {
                error: ParseError::UnexpectedWord {
                    command: CommandName::Cutover,
                    word: "now".into(),
                },
            },
        ),
        (
            "schemabot cutover apply-ab -e qa",
            Reply::UnknownEnvironment {
                command: CommandName::Cutover,
                given: "qa".parse().unwrap(),
                configured: vec!["staging".parse().unwrap(), "production".parse().unwrap()],
            },
        ),
        ("schemabot help", Reply::Help),
        (
            "schemabot rollback apply-0123456789abcdef -e staging",
            Reply::NotAvailableYet {
                command: CommandName::Rollback,
            },
        ),
    ];
    let h = harness().await;
    for (comment, expected) in cases {
        let (status, body) = h
            .send(signed(
                HTTP_V2,
                "issue_comment",
                &unique("d-"),
                &comment_payload(comment),
            ))
            .await;
        assert_eq!(status, 202, "{comment}: {body}");
        assert_eq!(body["job"], "reply");
        let jobs = h.queued_jobs().await;
        assert_eq!(jobs.len(), 1, "{comment}");
        match &jobs[0] {
            Job::Reply(job) => {
                assert_eq!(job.reply, expected, "{comment}");
                assert_eq!(job.origin.repository.as_str(), "acme-payments/schemas");
                assert_eq!(job.origin.pr.0, 42);
            }
            other => panic!("{comment}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_plan_comment_becomes_a_plan_job() {
    let h = harness().await;
    let (status, body) = h
        .send(signed(
            HTTP_V2,
            "issue_comment",
            &unique("d-"),
            &comment_payload("schemabot plan -e staging -d payments"),
        ))
        .await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("plan")),
        "{body}"
    );
    let jobs = h.queued_jobs().await;
    match &jobs[..] {
        [Job::Plan(plan)] => {
            assert_eq!(plan.repository.as_str(), "acme-payments/schemas");
            assert_eq!(plan.pr.0, 42);
            assert_eq!(
                plan.environment.as_ref().map(|e| e.as_str()),
                Some("staging")
            );
            assert_eq!(plan.database.as_ref().map(|d| d.as_str()), Some("payments"));
            assert_eq!(plan.head_sha, None);
            assert!(matches!(plan.trigger, PlanTrigger::Comment { .. }));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_stop_comment_becomes_a_control_job() {
    let h = harness().await;
    let (status, body) = h
        .send(signed(
            HTTP_V2,
            "issue_comment",
            &unique("d-"),
            &comment_payload("schemabot stop -e staging"),
        ))
        .await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("control")),
        "{body}"
    );
    let jobs = h.queued_jobs().await;
    match &jobs[..] {
        [Job::Control(control)] => {
            assert_eq!(control.op, schemabot_domain::control::ControlOp::Stop);
            assert_eq!(control.apply_id, None);
            assert_eq!(control.environment.as_str(), "staging");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pull_request_pushes_enqueue_an_automatic_plan_once() {
    let h = harness().await;
    for action in ["opened", "synchronize", "reopened"] {
        let mut v: Value = serde_json::from_str(PULL_FIXTURE).unwrap();
        v["action"] = json!(action);
        let payload = v.to_string();
        let delivery = unique("d-");
        for _ in 0..2 {
            let (status, body) = h
                .send(signed(HTTP_V2, "pull_request", &delivery, &payload))
                .await;
            assert!(status == 202 || status == 200, "{action}: {body}");
        }
        let jobs = h.queued_jobs().await;
        match &jobs[..] {
            [Job::Plan(plan)] => {
                assert_eq!(plan.repository.as_str(), "acme-payments/schemas");
                assert_eq!(plan.pr.0, 42);
                assert_eq!(plan.installation_id.0, 55667788);
                assert_eq!(
                    plan.head_sha.as_deref(),
                    Some("4c5d6e7f8091a2b3c9f1c2b3a4d5e6f708192a3b")
                );
                assert_eq!(plan.environment, None);
                assert_eq!(
                    plan.trigger,
                    PlanTrigger::PullRequest {
                        action: action.into()
                    }
                );
            }
            other => panic!("{action}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_closed_pull_request_enqueues_the_release_of_its_locks_once() {
    let h = harness().await;
    let mut v: Value = serde_json::from_str(PULL_FIXTURE).unwrap();
    v["action"] = json!("closed");
    let payload = v.to_string();
    let delivery = unique("d-");
    for _ in 0..3 {
        let (status, body) = h
            .send(signed(HTTP_V2, "pull_request", &delivery, &payload))
            .await;
        assert!(status == 202 || status == 200, "{body}");
    }
    let jobs = h.queued_jobs().await;
    match &jobs[..] {
        [Job::Unlock(unlock)] => {
            assert_eq!(unlock.repository().as_str(), "acme-payments/schemas");
            assert_eq!(unlock.pr().0, 42);
            assert!(matches!(
                unlock.trigger,
                schemabot_domain::job::UnlockTrigger::PullRequestClosed { .. }
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pull_request_events_are_planned_by_the_primary_and_registered_repositories_only() {
    let secondary = harness_with(
        RoutingConfig {
            owned: vec!["production".parse().unwrap()],
            primary: false,
            ..routing()
        },
        None,
    )
    .await;
    let (status, _) = secondary
        .send(signed(HTTP_V2, "pull_request", &unique("d-"), PULL_FIXTURE))
        .await;
    assert_eq!(status, 200);
    assert!(secondary.queued_jobs().await.is_empty());
    let unregistered = harness_with(
        RoutingConfig {
            repositories: vec!["acme-payments/other".parse().unwrap()],
            ..routing()
        },
        None,
    )
    .await;
    let (status, body) = unregistered
        .send(signed(HTTP_V2, "pull_request", &unique("d-"), PULL_FIXTURE))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("repository not registered"))
    );
    assert!(unregistered.queued_jobs().await.is_empty());
}

#[tokio::test]
async fn unregistered_repositories_get_a_reply_job() {
    let h = harness_with(
        RoutingConfig {
            repositories: vec!["acme-payments/other".parse().unwrap()],
            ..routing()
        },
        None,
    )
    .await;
    let (status, _) = h
        .send(signed(HTTP_V2, "issue_comment", "d-r", COMMENT_FIXTURE))
        .await;
    assert_eq!(status, 202);
    let jobs = h.queued_jobs().await;
    assert!(matches!(&jobs[..], [Job::Reply(j)] if j.reply == Reply::RepositoryNotRegistered));
}

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

/// The comment fixture on a pull request that is closed (and merged, when `merged_at` is given).
fn closed_pr_comment(body: &str, merged_at: Option<&str>) -> String {
    let mut v: Value = serde_json::from_str(&comment_payload(body)).unwrap();
    v["issue"]["state"] = json!("closed");
    v["issue"]["pull_request"]["merged_at"] = json!(merged_at);
    v.to_string()
}

#[tokio::test]
async fn applies_on_a_closed_or_merged_pull_request_are_answered_not_enqueued() {
    let h = harness().await;
    for (body, merged_at, command, merged) in [
        (
            "schemabot apply -e staging",
            None,
            CommandName::Apply,
            false,
        ),
        (
            "schemabot apply-confirm -e staging",
            Some("2026-11-24T07:00:00Z"),
            CommandName::ApplyConfirm,
            true,
        ),
    ] {
        let (status, response) = h
            .send(signed(
                HTTP_V2,
                "issue_comment",
                &unique("d-"),
                &closed_pr_comment(body, merged_at),
            ))
            .await;
        assert_eq!(
            (status, response["job"].as_str()),
            (202, Some("reply")),
            "{body}: {response}"
        );
        match &h.queued_jobs().await[..] {
            [Job::Reply(job)] => assert_eq!(
                job.reply,
                Reply::ApplyBlockedPrNotOpen { command, merged },
                "{body}"
            ),
            other => panic!("{body}: {other:?}"),
        }
    }
    // Unlock still works on a closed pull request.
    let (status, response) = h
        .send(signed(
            HTTP_V2,
            "issue_comment",
            &unique("d-"),
            &closed_pr_comment("schemabot unlock", None),
        ))
        .await;
    assert_eq!((status, response["job"].as_str()), (202, Some("unlock")));
    assert!(matches!(&h.queued_jobs().await[..], [Job::Unlock(_)]));
}

#[tokio::test]
async fn a_configured_association_gets_its_automatic_plan() {
    let h = harness_with(
        RoutingConfig {
            autoplan: AutoplanPolicy::new(vec![webhook::autoplan::AuthorAssociation::Contributor]),
            ..routing()
        },
        None,
    )
    .await;
    let contributor =
        pull_variant(|v| v["pull_request"]["author_association"] = json!("CONTRIBUTOR"));
    let (status, body) = h
        .send(signed(HTTP_V2, "pull_request", &unique("d-"), &contributor))
        .await;
    assert_eq!(
        (status, body["job"].as_str()),
        (202, Some("plan")),
        "{body}"
    );
    // The fixture's member is not in this stack's list.
    let (status, body) = h
        .send(signed(
            HTTP_V2,
            "pull_request",
            &unique("d-"),
            &pull_variant(|_| {}),
        ))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some(webhook::autoplan::AUTHOR_NOT_ALLOWED))
    );
    assert!(matches!(&h.queued_jobs().await[..], [Job::Plan(_)]));
}
