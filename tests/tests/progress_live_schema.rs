//! Recovery settled by the live schema: after a Tern restart, an apply whose sentinel is gone
//! is completed only when Tern's read-only diff shows the desired schema live, failed for a
//! person when changes remain, and left alone while Tern cannot answer. Real MariaDB, the Tern
//! stand-in over gRPC, moto and the GitHub stand-in.

use mysql_async::prelude::Queryable;
use schemabot_domain::apply::{CommentKind, SchemaFiles};
use schemabot_domain::audit::Outcome;
use schemabot_domain::state::reconcile::RECONCILE_RUNBOOK;
use schemabot_domain::{ApplyId, State};
use schemabot_tests::harness::Stack;
use schemabot_tests::progress_support::*;
use schemabot_tests::tern_standin::{ApplyRegistration, RegisteredPhase};

const LIVE_ORDERS: &str =
    "CREATE TABLE `orders` (`id` bigint NOT NULL, `status` varchar(32) NOT NULL, PRIMARY KEY (`id`))";
const DESIRED_ORDERS: &str = "CREATE TABLE orders (\n  id bigint NOT NULL,\n  status varchar(32) NOT NULL,\n  PRIMARY KEY (id),\n  KEY idx_status (status)\n);\n";

async fn admin(stack: &Stack, sql: &str) {
    let mut conn = mysql_async::Conn::from_url(stack.mysql_dsn.as_str())
        .await
        .expect("connect");
    conn.query_drop(format!("USE `{}`", stack.schema))
        .await
        .expect("use schema");
    conn.query_drop(sql).await.expect(sql);
    conn.disconnect().await.expect("disconnect");
}

/// A deferred apply of ORDERS parked at the sentinel, with its desired schema kept; then Tern
/// restarts and the sentinel is dropped behind its back. Returns the apply, now `recovering`.
async fn waiting_apply_then_restart(stack: &Stack) -> ApplyId {
    let desired = SchemaFiles::from([(
        stack.schema.clone(),
        [("orders.sql".to_string(), DESIRED_ORDERS.to_string())].into(),
    )]);
    let id = register_with_schema(
        stack,
        ApplyRegistration::deferred(&stack.schema, &[ORDERS], RegisteredPhase::WaitingForCutover),
        "staging",
        desired,
    )
    .await;
    admin(stack, LIVE_ORDERS).await;
    stack.worker.sweep().await;
    assert_eq!(apply_state(stack, &id).await, State::WaitingForCutover);

    stack.tern.restart();
    admin(stack, "DROP TABLE `_spirit_sentinel`").await;
    // Tern reports the restart: the apply follows it into recovering.
    stack.worker.sweep().await;
    assert_eq!(apply_state(stack, &id).await, State::Recovering);
    assert!(progress_comment(stack, &id)
        .await
        .contains("🔄 Recovering..."));
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_gone_and_the_desired_schema_live_completes_verified() {
    let stack = progress_stack().await;
    // The swap happened just before Tern went down.
    let id = waiting_apply_then_restart(&stack).await;
    admin(&stack, ORDERS.1).await;

    let report = stack.worker.sweep().await;
    assert_eq!(report.ended, 1, "{report:?}");
    let done = snapshot(&stack, &id).await;
    assert_eq!(done.apply.state, State::Completed);
    let summary = tracked_comment(&stack, &id, CommentKind::Summary)
        .await
        .expect("summary");
    assert!(summary.contains("## ✅ Schema Change Applied"), "{summary}");
    assert!(summary.contains("verified against the"), "{summary}");
    assert_eq!(stack.tern.counts().plan_diff, 1);
    let events = stack.store.list_events(&id).await.expect("events");
    assert!(events
        .iter()
        .any(|e| e.outcome == Outcome::VerifiedLiveSchema && e.to_state == Some(State::Completed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_gone_and_changes_remaining_fails_for_a_person() {
    let stack = progress_stack().await;
    // The sentinel was dropped while Spirit was down: the copy is lost, nothing swapped.
    let id = waiting_apply_then_restart(&stack).await;

    stack.worker.sweep().await;
    let ended = snapshot(&stack, &id).await;
    assert_eq!(ended.apply.state, State::Failed);
    let message = ended.apply.error_message.clone().expect("failure message");
    assert!(message.starts_with("Needs a person"), "{message}");
    assert!(
        message.contains("idx_status"),
        "names what is missing: {message}"
    );
    assert!(message.ends_with(RECONCILE_RUNBOOK), "{message}");
    let summary = tracked_comment(&stack, &id, CommentKind::Summary)
        .await
        .expect("summary");
    assert!(summary.contains("## ❌ Schema Change Failed"), "{summary}");
    assert!(summary.contains("Needs a person"), "{summary}");
    // The runbook is named (the summary escapes its `#`).
    assert!(summary.contains("Runbook: docs/operations.md"), "{summary}");
    assert_eq!(
        comments_containing(&stack, "Needs a person"),
        1,
        "one summary"
    );
    // The lock-free apply is out of the sweep for good: nothing more is asked of Tern.
    let diffs = stack.tern.counts().plan_diff;
    stack.worker.sweep().await;
    assert_eq!(stack.tern.counts().plan_diff, diffs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tern_unable_to_diff_leaves_the_apply_unchanged_and_asks_again() {
    let stack = progress_stack().await;
    let id = waiting_apply_then_restart(&stack).await;
    admin(&stack, ORDERS.1).await;

    stack.tern.fail_plan_diff(2);
    for _ in 0..2 {
        let report = stack.worker.sweep().await;
        assert_eq!(report.ended, 0, "{report:?}");
        assert_eq!(apply_state(&stack, &id).await, State::Recovering);
        assert_eq!(task_states(&stack, &id).await, vec![State::Recovering]);
    }
    assert!(comments_containing(&stack, "Schema Change Applied") == 0);
    assert!(comments_containing(&stack, "Schema Change Failed") == 0);

    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Completed);
    assert_eq!(stack.tern.counts().plan_diff, 3);
}
