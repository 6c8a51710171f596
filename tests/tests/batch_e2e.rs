//! The worker's own batch handling on the real local services: poison messages, the invocation's
//! deadline, GitHub rate limits and untrusted senders. Messages go through the signed webhook and
//! SQS (moto); the worker sees them as the Lambda event source mapping hands them over.

use schemabot_tests::github_standin::CallKind;
use schemabot_tests::harness::{Stack, StackOptions};
use std::time::{Duration, Instant};
use worker::batch::TimeBudget;
use worker::trust::TrustedSenders;

const HELP: &str = "SchemaBot Help";
const FAILED: &str = "Command Failed";

async fn comment(stack: &Stack, login: &str, body: &str) {
    let (status, reply) = stack.comment(login, body).await;
    assert_eq!(status, 202, "{body}: {reply}");
}

fn headings(stack: &Stack) -> Vec<String> {
    stack
        .pr_comments()
        .iter()
        .map(|c| c.lines().next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_poison_message_is_answered_once_and_the_rest_of_its_group_runs_in_order() {
    let stack = Stack::start().await;
    stack.grant("alice", "write");
    // GitHub refuses to list the PR's files for good (403 without a rate limit): the apply can
    // never succeed.
    stack
        .github
        .fail_next_on(CallKind::ListPullRequestFiles, 10, 403);
    comment(&stack, "alice", "schemabot apply -e staging").await;
    for _ in 0..3 {
        comment(&stack, "alice", "schemabot help").await;
    }

    let outcome = stack
        .deliver_batch_with(TimeBudget::unlimited(), false)
        .await;
    assert_eq!(outcome.handed, 4);
    assert!(
        outcome.failed.is_empty(),
        "nothing handed back: {outcome:?}"
    );
    assert_eq!(stack.deliver_all().await, 0, "the queue is empty");

    let headings = headings(&stack);
    assert_eq!(headings.len(), 4, "{headings:#?}");
    assert!(
        headings[0].ends_with(FAILED),
        "the poison is answered first: {headings:#?}"
    );
    assert!(
        headings[1..].iter().all(|h| h.ends_with(HELP)),
        "{headings:#?}"
    );
    let failed = &stack.pr_comments()[0];
    assert!(failed.contains("will not retry"), "{failed}");
    assert!(
        failed.contains("a service it depends on refused the request"),
        "{failed}"
    );
    assert!(!failed.contains("403"), "no internal detail: {failed}");
}

#[tokio::test]
async fn near_the_deadline_finished_jobs_stay_done_and_only_unstarted_ones_come_back() {
    let stack = Stack::start().await;
    for _ in 0..3 {
        comment(&stack, "alice", "schemabot help").await;
    }
    // Every GitHub request takes half a second: after the first job less than a job's budget is
    // left.
    stack.github.set_latency(Duration::from_millis(500));
    let budget = TimeBudget {
        deadline: Some(Instant::now() + Duration::from_millis(1_400)),
        per_job: Duration::from_secs(1),
    };
    let outcome = stack.deliver_batch_with(budget, true).await;
    assert_eq!(outcome.handed, 3);
    assert_eq!(
        outcome.failed,
        outcome.ids[1..].to_vec(),
        "the first ran; the other two were not started"
    );
    assert_eq!(stack.pr_comments().len(), 1);

    stack.github.set_latency(Duration::ZERO);
    stack.deliver_all().await;
    let headings = headings(&stack);
    assert_eq!(headings.len(), 3, "each answered once: {headings:#?}");
}

#[tokio::test]
async fn a_long_rate_limit_hands_the_job_back_for_as_long_as_github_asked() {
    let stack = Stack::start().await;
    stack
        .github
        .rate_limit_next_on(CallKind::CreateComment, 1, 30);
    comment(&stack, "alice", "schemabot help").await;

    let outcome = stack
        .deliver_batch_with(TimeBudget::unlimited(), false)
        .await;
    assert_eq!(outcome.failed.len(), 1, "handed back, not failed for good");
    assert!(stack.pr_comments().is_empty());
    // SQS holds it for the 30 s GitHub asked for (the visibility the worker set).
    let again = stack
        .deliver_batch_with(TimeBudget::unlimited(), false)
        .await;
    assert_eq!(again.handed, 0, "not visible again before Retry-After");
}

#[tokio::test]
async fn after_a_short_rate_limit_the_job_completes_with_one_comment() {
    let stack = Stack::start().await;
    // Longer than the client sleeps in-process (2 s in tests), short enough to wait for here.
    stack
        .github
        .rate_limit_next_on(CallKind::CreateComment, 1, 3);
    comment(&stack, "alice", "schemabot help").await;
    let first = stack
        .deliver_batch_with(TimeBudget::unlimited(), false)
        .await;
    assert_eq!(first.failed.len(), 1);
    assert_eq!(
        stack
            .deliver_batch_with(TimeBudget::unlimited(), false)
            .await
            .handed,
        0
    );
    tokio::time::sleep(Duration::from_millis(3_300)).await;
    stack.deliver_all().await;
    let headings = headings(&stack);
    assert_eq!(headings.len(), 1, "{headings:#?}");
    assert!(headings[0].ends_with(HELP), "{headings:#?}");
}

#[tokio::test]
async fn a_message_from_an_untrusted_sender_is_dropped_without_effect() {
    // The worker trusts only these role ids; the emulator stamps its own user id on every
    // message, as a principal outside the stack would.
    let stack = Stack::start_with(StackOptions {
        trusted_senders: TrustedSenders::from_json(
            r#"{"webhook":["AROAWEBHOOKROLE"],"worker":["AROAWORKERROLE"],"operator":["AROAOPERATOR"]}"#,
        )
        .unwrap(),
        ..StackOptions::default()
    })
    .await;
    stack.grant("alice", "write");
    comment(&stack, "alice", "schemabot help").await;
    comment(&stack, "alice", "schemabot unlock").await;
    let outcome = stack
        .deliver_batch_with(TimeBudget::unlimited(), false)
        .await;
    assert_eq!(outcome.handed, 2);
    assert!(outcome.failed.is_empty(), "dropped, not retried");
    assert_eq!(stack.deliver_all().await, 0);
    assert!(stack.pr_comments().is_empty(), "no effect on the PR");
    assert_eq!(
        stack.github.count(CallKind::AddReaction),
        0,
        "not even acknowledged"
    );
}
