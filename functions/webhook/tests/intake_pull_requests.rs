//! `pull_request` events through the webhook, end to end against the local AWS emulator (moto):
//! a push plans once per delivery, closing releases the pull request's locks once, and only the
//! primary stack plans, for registered repositories and configured author associations.

mod common;

use common::{harness, harness_with, pull_variant, routing, signed, unique, HTTP_V2, PULL_FIXTURE};
use schemabot_domain::job::{Job, PlanTrigger};
use serde_json::{json, Value};
use webhook::autoplan::AutoplanPolicy;
use webhook::routing::RoutingConfig;

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
