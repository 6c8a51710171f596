//! PR comments through the webhook, end to end against the local AWS emulator (moto): each
//! command becomes its job (plan, control, unlock), and every argument error, unknown
//! environment, unregistered repository or apply on a closed pull request becomes a reply job.

mod common;

use common::{
    comment_payload, harness, harness_with, routing, signed, unique, COMMENT_FIXTURE, HTTP_V2,
};
use schemabot_domain::command::{CommandName, ParseError};
use schemabot_domain::job::{Job, PlanTrigger, Reply};
use serde_json::{json, Value};
use webhook::routing::RoutingConfig;

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
            "schemabot fix-lint",
            Reply::NotAvailableYet {
                command: CommandName::FixLint,
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

/// Sends `comment` on a fresh harness, expects it accepted as a `kind` job, and returns the
/// jobs queued.
async fn enqueued(comment: &str, kind: &str) -> Vec<Job> {
    let h = harness().await;
    let (status, body) = h
        .send(signed(
            HTTP_V2,
            "issue_comment",
            &unique("d-"),
            &comment_payload(comment),
        ))
        .await;
    assert_eq!((status, body["job"].as_str()), (202, Some(kind)), "{body}");
    h.queued_jobs().await
}

#[tokio::test]
async fn a_plan_comment_becomes_a_plan_job() {
    let jobs = enqueued("schemabot plan -e staging -d payments", "plan").await;
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
    let jobs = enqueued("schemabot stop -e staging", "control").await;
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
