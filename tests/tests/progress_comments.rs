//! The PR comment lifecycle of an apply: edits only on change and rate-limited, frozen after a
//! cutover comment, tombstone plus exactly one summary at the end — also across a crash.

use chrono::{TimeDelta, Utc};
use schemabot_aws::codec::{attr, encode_comment, s};
use schemabot_aws::keys;
use schemabot_domain::apply::{CommentKind, CommentRecord};
use schemabot_domain::{ApplyId, State};
use schemabot_tests::harness::Stack;
use schemabot_tests::progress_support::*;
use schemabot_tests::tern_standin::{ApplyRegistration, RegisteredPhase};
use std::time::Duration;
use worker::progress::comments::PENDING_COMMENT;
use worker::progress::ProgressError;

const SUMMARY_APPLIED: &str = "## ✅ Schema Change Applied";
const TOMBSTONE: &str = "This progress comment is final";
const FAILED_SUMMARY: &str = "table(s) completed before failure";

async fn put_record(stack: &Stack, record: &CommentRecord) {
    stack
        .store
        .client()
        .put_item()
        .table_name(stack.store.table_name())
        .set_item(Some(encode_comment(record)))
        .send()
        .await
        .expect("put comment record");
}

async fn delete_record(stack: &Stack, apply_id: &ApplyId, kind: CommentKind) {
    stack
        .store
        .client()
        .delete_item()
        .table_name(stack.store.table_name())
        .key(attr::PK, s(keys::apply_pk(apply_id)))
        .key(attr::SK, s(keys::comment_sk(kind)))
        .send()
        .await
        .expect("delete comment record");
}

/// Runs a non-deferred apply (no sentinel, no cutover command) to completion.
async fn complete_without_cutover(stack: &Stack) -> ApplyId {
    let registration = ApplyRegistration {
        defer_cutover: false,
        ..ApplyRegistration::deferred(
            &stack.schema,
            &[ORDERS],
            RegisteredPhase::Copying { rows_copied: 500 },
        )
    };
    let id = register_with(stack, registration, "staging").await;
    stack.worker.sweep().await;
    assert_eq!(apply_state(stack, &id).await, State::Running);
    stack.tern.finish_copy(id.as_str()).expect("finish copy");
    stack.worker.sweep().await;
    assert_eq!(task_states(stack, &id).await, vec![State::CuttingOver]);
    stack
        .tern
        .advance(id.as_str(), 1)
        .expect("finish the cut-over");
    let report = stack.worker.sweep().await;
    assert_eq!(report.ended, 1, "{report:?}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unchanged_body_is_never_edited_even_as_time_passes() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 100 },
    )
    .await;
    stack.worker.sweep().await;
    let edits = github_edits(&stack);
    let body = progress_comment(&stack, &id).await;
    for _ in 0..3 {
        let report = stack.worker.sweep().await;
        assert_eq!(report.comments.edits, 0);
    }
    // The elapsed clock alone is no change.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    stack.worker.sweep().await;
    assert_eq!(github_edits(&stack), edits);
    assert_eq!(progress_comment(&stack, &id).await, body);

    // Real progress is.
    stack.tern.advance(id.as_str(), 100).expect("advance");
    stack.worker.sweep().await;
    assert_eq!(github_edits(&stack), edits + 1);
    assert!(progress_comment(&stack, &id).await.contains(" 20%"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn edits_respect_the_minimum_interval() {
    let mut stack = progress_stack().await;
    let interval = Duration::from_millis(1500);
    stack.worker.config.min_edit_interval = interval;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 100 },
    )
    .await;
    let edits = github_edits(&stack);

    // Posting counts as a write: the first change must wait.
    let report = stack.worker.sweep().await;
    assert_eq!(
        (report.comments.edits, report.comments.rate_limited),
        (0, 1)
    );
    assert!(progress_comment(&stack, &id)
        .await
        .contains("## Schema Change Starting"));

    tokio::time::sleep(interval).await;
    let report = stack.worker.sweep().await;
    assert_eq!(report.comments.edits, 1);
    assert!(progress_comment(&stack, &id).await.contains(" 10%"));

    stack.tern.advance(id.as_str(), 100).expect("advance");
    let report = stack.worker.sweep().await;
    assert_eq!(
        (report.comments.edits, report.comments.rate_limited),
        (0, 1)
    );
    assert!(progress_comment(&stack, &id).await.contains(" 10%"));

    tokio::time::sleep(interval).await;
    stack.worker.sweep().await;
    assert!(progress_comment(&stack, &id).await.contains(" 20%"));
    assert_eq!(github_edits(&stack), edits + 2);
    let record = snapshot(&stack, &id).await;
    let progress = record
        .comment(CommentKind::Progress)
        .expect("progress record");
    assert_eq!(progress.edit_count, 2);
    assert!(!progress.body_hash.starts_with("pending:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_progress_comment_freezes_once_a_cutover_comment_exists() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    stack.worker.sweep().await;
    stack
        .comment("alice-dba", &cutover_command(&id, "staging"))
        .await;
    stack.deliver_all().await;
    let snapshot_after_cutover = snapshot(&stack, &id).await;
    let progress_id = snapshot_after_cutover
        .comment(CommentKind::Progress)
        .expect("progress record")
        .comment_id;
    let frozen = stack.github.comment(progress_id).expect("progress comment");

    // The tasks move on (cutting over), the apply completes: the progress comment never changes.
    stack.worker.sweep().await;
    assert_eq!(task_states(&stack, &id).await, vec![State::CuttingOver]);
    stack
        .tern
        .advance(id.as_str(), 1)
        .expect("finish the cut-over");
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Completed);
    let after = stack.github.comment(progress_id).expect("progress comment");
    assert_eq!((after.body, after.edits), (frozen.body, frozen.edits));
    assert_eq!(comments_containing(&stack, SUMMARY_APPLIED), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_apply_ending_without_a_cutover_gets_a_tombstone_and_one_summary() {
    let stack = progress_stack().await;
    let id = complete_without_cutover(&stack).await;

    let done = snapshot(&stack, &id).await;
    assert_eq!(done.apply.state, State::Completed);
    let progress = done
        .comment(CommentKind::Progress)
        .expect("progress record");
    assert!(progress.finalized);
    let tombstone = progress_comment(&stack, &id).await;
    assert!(
        tombstone.contains("## Schema Change Completed"),
        "{tombstone}"
    );
    assert!(tombstone.contains(TOMBSTONE), "{tombstone}");
    assert!(!tombstone.contains(SUMMARY_APPLIED));
    let summary = done.comment(CommentKind::Summary).expect("summary record");
    assert_ne!(
        summary.comment_id, progress.comment_id,
        "a comment of its own, below"
    );
    assert_ne!(summary.comment_id, PENDING_COMMENT);
    assert!(summary.finalized);
    assert_eq!(comments_containing(&stack, SUMMARY_APPLIED), 1);
    let comments = stack.pr_comments();
    assert_eq!(
        comments.len(),
        2,
        "progress (tombstone) and summary: {comments:#?}"
    );
    assert!(
        comments[1].contains(SUMMARY_APPLIED),
        "the summary comes after the tombstone"
    );

    // Reconciling the ended apply again (a late poll) changes nothing.
    let (edits, creates) = (github_edits(&stack), github_creates(&stack));
    stack.worker.reconcile_apply(&id).await.expect("reconcile");
    stack.worker.sweep().await;
    assert_eq!(
        (github_edits(&stack), github_creates(&stack)),
        (edits, creates)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_apply_gets_a_failed_summary_with_the_engine_error() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Failed {
            message: "Duplicate entry 'x' for key 'idx_status'".into(),
        },
    )
    .await;
    let report = stack.worker.sweep().await;
    assert_eq!(report.ended, 1, "{report:?}");
    let done = snapshot(&stack, &id).await;
    assert_eq!(done.apply.state, State::Failed);
    assert_eq!(
        done.apply.error_message.as_deref(),
        Some("Duplicate entry 'x' for key 'idx_status'")
    );
    assert!(progress_comment(&stack, &id).await.contains(TOMBSTONE));
    let summary = tracked_comment(&stack, &id, CommentKind::Summary)
        .await
        .expect("summary");
    assert!(summary.contains("## ❌ Schema Change Failed"), "{summary}");
    assert!(summary.contains("Duplicate entry"), "{summary}");
    // The tombstone shares the heading; only the summary reports the tables.
    assert_eq!(comments_containing(&stack, FAILED_SUMMARY), 1);
    assert_eq!(stack.pr_comments().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_summary_posted_just_before_a_crash_is_adopted_not_posted_again() {
    let stack = progress_stack().await;
    let id = complete_without_cutover(&stack).await;
    let posted = snapshot(&stack, &id)
        .await
        .comment(CommentKind::Summary)
        .expect("summary record")
        .clone();

    // As if the run crashed after posting, before recording: the lease is still pending.
    let lease = CommentRecord {
        comment_id: PENDING_COMMENT,
        body_hash: String::new(),
        finalized: false,
        last_edited_at: Some(Utc::now()),
        ..posted.clone()
    };
    put_record(&stack, &lease).await;
    let creates = github_creates(&stack);

    // While the lease is fresh, its holder may still be posting: nobody else posts.
    let busy = stack.worker.reconcile_apply(&id).await;
    assert!(
        matches!(busy, Err(ProgressError::CommentBusy { .. })),
        "{busy:?}"
    );
    assert_eq!(github_creates(&stack), creates);

    // Expired: the next run finds the comment by its marker and records it.
    put_record(
        &stack,
        &CommentRecord {
            last_edited_at: Some(Utc::now() - TimeDelta::minutes(2)),
            ..lease.clone()
        },
    )
    .await;
    stack.worker.reconcile_apply(&id).await.expect("reconcile");
    let adopted = snapshot(&stack, &id)
        .await
        .comment(CommentKind::Summary)
        .expect("summary record")
        .clone();
    assert_eq!(adopted.comment_id, posted.comment_id);
    assert!(adopted.finalized);
    assert_eq!(github_creates(&stack), creates, "no second summary");
    assert_eq!(comments_containing(&stack, SUMMARY_APPLIED), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_summary_lease_abandoned_before_posting_is_taken_over_and_posted_once() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Failed {
            message: "boom".into(),
        },
    )
    .await;
    // A run took the lease and crashed before posting; the apply is still active.
    let lease = CommentRecord {
        apply_id: id.clone(),
        kind: CommentKind::Summary,
        comment_id: PENDING_COMMENT,
        body_hash: String::new(),
        edit_count: 0,
        last_edited_at: Some(Utc::now() - TimeDelta::minutes(5)),
        finalized: false,
    };
    put_record(&stack, &lease).await;

    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Failed);
    assert_eq!(comments_containing(&stack, FAILED_SUMMARY), 1);
    stack
        .worker
        .reconcile_apply(&id)
        .await
        .expect("reconcile again");
    assert_eq!(comments_containing(&stack, FAILED_SUMMARY), 1);
    assert_eq!(stack.pr_comments().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registering_twice_or_after_a_crash_posts_one_progress_comment() {
    let stack = progress_stack().await;
    let tern_id = stack
        .tern
        .register_apply(ApplyRegistration::deferred(
            &stack.schema,
            &[ORDERS],
            RegisteredPhase::Copying { rows_copied: 0 },
        ))
        .await
        .expect("register with Tern");
    let job = register_job(&stack, &tern_id, "staging", &[ORDERS]);
    let id = job.apply_id.clone();
    run_register(&stack, job.clone(), 1).await;
    run_register(&stack, job.clone(), 2).await;
    assert_eq!(github_creates(&stack), 1);

    // Crash after posting, before recording: the retry finds the comment by its marker.
    let recorded = snapshot(&stack, &id)
        .await
        .comment(CommentKind::Progress)
        .expect("progress record")
        .comment_id;
    delete_record(&stack, &id, CommentKind::Progress).await;
    run_register(&stack, job, 2).await;
    let again = snapshot(&stack, &id)
        .await
        .comment(CommentKind::Progress)
        .expect("progress record")
        .comment_id;
    assert_eq!(again, recorded);
    assert_eq!(github_creates(&stack), 1);
    assert_eq!(stack.pr_comments().len(), 1);
    let polls = drain_poll_queue(&stack).await;
    assert_eq!(polls.len(), 1, "one poll chain: {polls:?}");
}
