//! Webhook hot path: verify + parse + validate + build the job, on realistic payloads.
//! `scripts/bench-webhook.sh` runs this beside the Node (@octokit/webhooks) stack and reports both.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use webhook::autoplan::AutoplanPolicy;
use webhook::front_door::WebhookRequest;
use webhook::handler::{admit, Admission};
use webhook::routing::RoutingConfig;
use webhook::signature::{sign, WebhookSecrets};

const SECRET: &[u8] = b"benchmark-webhook-secret";

fn request(event: &str, body: &[u8]) -> WebhookRequest {
    WebhookRequest::new(
        vec![
            ("X-GitHub-Event".into(), event.into()),
            (
                "X-GitHub-Delivery".into(),
                "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
            ),
            ("X-Hub-Signature-256".into(), sign(SECRET, body)),
        ],
        body.to_vec(),
    )
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

fn bench(c: &mut Criterion) {
    let secrets = WebhookSecrets::new(&[SECRET]).unwrap();
    let routing = routing();
    let comment = include_bytes!("../tests/fixtures/issue_comment_cutover.json");
    let pull = include_bytes!("../tests/fixtures/pull_request_synchronize.json");
    let comment_req = request("issue_comment", comment);
    let pull_req = request("pull_request", pull);
    assert!(matches!(
        admit(&secrets, &routing, &comment_req),
        Admission::Enqueue(_)
    ));

    c.bench_function("hmac_sha256_11k", |b| {
        b.iter(|| {
            black_box(secrets.verify(
                black_box(comment),
                comment_req.header("x-hub-signature-256"),
            ))
        })
    });
    c.bench_function("admit_issue_comment_11k", |b| {
        b.iter(|| black_box(admit(&secrets, &routing, black_box(&comment_req))))
    });
    // Components of the comment path, to see where time goes beyond the HMAC.
    c.bench_function("component_parse_issue_comment_11k", |b| {
        b.iter(|| {
            black_box(webhook::github_event::parse_issue_comment(black_box(
                comment,
            )))
        })
    });
    // The floor for any serde_json read of the payload: skipping all of it.
    c.bench_function("component_serde_json_ignored_11k", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(
                comment,
            )))
        })
    });
    c.bench_function("component_parse_command", |b| {
        b.iter(|| {
            black_box(schemabot_domain::command::parse(black_box(
                "Staging looks good. Traffic is low now, proceeding.\r\n\r\nschemabot cutover apply-0123456789abcdef -e staging",
            )))
        })
    });
    c.bench_function("admit_pull_request_23k", |b| {
        b.iter(|| black_box(admit(&secrets, &routing, black_box(&pull_req))))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(200).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
