//! What the webhook admits, refuses and ignores, end to end against the local AWS emulator
//! (moto): a signed command is enqueued from every front end (HTTP API 2.0, REST API 1.0, function
//! URL); a bad signature gets 401 and a malformed or oversized request a 4xx, both without writing
//! anything; every ignore rule answers 200 with its reason and enqueues nothing.

mod common;

use common::{
    comment_payload, event, harness, pull_variant, signed, unique, COMMENT_FIXTURE, FUNCTION_URL,
    HTTP_V2, PULL_FIXTURE, REST_V1, SECRET,
};
use schemabot_domain::job::Job;
use serde_json::{json, Value};
use webhook::front_door::HttpEvent;
use webhook::signature::sign;

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
