//! A DLQ redrive hands a job's message back under a new message id with SQS's receive count
//! restarted at 1. Whether the job's comment was posted is recorded in DynamoDB per PR and
//! marker, so the redriven job never posts it a second time — also when the earlier post
//! succeeded but its answer was lost and the job failed before it could record it.
//!
//! Real local services (moto, MariaDB, the stand-ins); messages go through the worker's own
//! batch handling (`Worker::handle_sqs`).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use schemabot_aws::queue::{message_group_id, receive};
use schemabot_domain::job::{Job, JobEnvelope};
use schemabot_tests::github_standin::CallKind;
use schemabot_tests::harness::Stack;
use schemabot_tests::progress_support::{cutover_command, progress_stack, register_job, ORDERS};
use schemabot_tests::services;
use schemabot_tests::tern_standin::{ApplyRegistration, RegisteredPhase};
use std::time::Duration;

/// One SQS record of `body` as the event source mapping hands it to the worker: receive count
/// `receive_count`, under message id `message_id`.
fn record(body: &str, message_id: &str, receive_count: u32) -> SqsMessage {
    let envelope: JobEnvelope = serde_json::from_str(body).expect("a job envelope");
    let mut record = SqsMessage::default();
    record.message_id = Some(message_id.to_string());
    record.body = Some(body.to_string());
    record
        .attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    record
        .attributes
        .insert("MessageGroupId".into(), message_group_id(&envelope.job));
    // Sent by the webhook, as far as the worker's sender check can tell.
    record
        .attributes
        .insert("SenderId".into(), services::EMULATOR_SENDER_ID.into());
    record
}

/// Runs one message through the worker's batch handling; `true` when it succeeded.
async fn deliver(stack: &Stack, body: &str, message_id: &str, receive_count: u32) -> bool {
    let mut event = SqsEvent::default();
    event.records = vec![record(body, message_id, receive_count)];
    let response = stack.worker.handle_sqs(event).await;
    response.batch_item_failures.is_empty()
}

/// The webhook's job for a new PR comment `command` by `login`, taken off the queue (the test
/// plays SQS from here on).
async fn enqueued_job(stack: &Stack, login: &str, command: &str) -> String {
    let (status, reply) = stack.comment(login, command).await;
    assert_eq!(status, 202, "{command}: {reply}");
    let messages = receive(&stack.sqs, &stack.queue_url, 10, Duration::ZERO)
        .await
        .expect("receive");
    assert_eq!(messages.len(), 1, "{command}: one job");
    let message = &messages[0];
    stack
        .sqs
        .delete_message()
        .queue_url(&stack.queue_url)
        .receipt_handle(message.receipt_handle.clone().expect("receipt handle"))
        .send()
        .await
        .expect("delete");
    message.body.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redriven_job_does_not_post_its_reply_again() {
    let stack = Stack::start().await;
    stack.grant("alice", "write");
    // A reply job, a lock command's reply and the unlock reply: each posted once.
    let commands = [
        ("schemabot help", "schemabot"),
        ("schemabot apply-confirm -e staging", "## No Locked Plan"),
        ("schemabot unlock", "schemabot"),
    ];
    for (n, (command, heading)) in commands.into_iter().enumerate() {
        let body = enqueued_job(&stack, "alice", command).await;
        assert!(
            deliver(&stack, &body, &format!("m-{n}"), 1).await,
            "{command}"
        );
        let posted = stack.pr_comments().len();
        assert_eq!(posted, n + 1, "{command}: {:#?}", stack.pr_comments());
        assert!(
            stack.pr_comments()[n].contains(heading),
            "{command}: {:#?}",
            stack.pr_comments()
        );

        // Dead-lettered after the reply (e.g. a later step kept failing), then redriven:
        // receive count 1 again, new message id. And once more as a plain redelivery.
        assert!(deliver(&stack, &body, &format!("m-{n}-redriven"), 1).await);
        assert!(deliver(&stack, &body, &format!("m-{n}-redriven"), 2).await);
        assert_eq!(
            stack.pr_comments().len(),
            n + 1,
            "{command}: no second reply: {:#?}",
            stack.pr_comments()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_post_whose_answer_was_lost_is_not_repeated_by_the_redrive() {
    let stack = Stack::start().await;
    stack.grant("alice", "write");
    let body = enqueued_job(&stack, "alice", "schemabot apply-confirm -e staging").await;

    // GitHub creates the comment but the answer is lost, and every search for it fails: the
    // job fails (transient) without knowing it posted.
    stack.github.lose_next_response(1);
    stack.github.fail_next_on(CallKind::ListComments, 50, 502);
    assert!(!deliver(&stack, &body, "m-1", 1).await, "the job fails");
    stack.github.clear_faults();
    assert_eq!(stack.pr_comments().len(), 1, "the comment exists");

    // The message dead-letters and is redriven: receive count 1 again.
    assert!(deliver(&stack, &body, "m-2", 1).await);
    assert!(deliver(&stack, &body, "m-3", 1).await);
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1, "exactly one comment: {comments:#?}");
    assert!(comments[0].contains("## No Locked Plan"), "{comments:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redriven_registration_posts_one_progress_comment() {
    let stack = progress_stack().await;
    let tern_id = stack
        .tern
        .register_apply(ApplyRegistration::deferred(
            &stack.schema,
            &[ORDERS],
            RegisteredPhase::Copying { rows_copied: 10 },
        ))
        .await
        .expect("register with Tern");
    let job = Job::RegisterApply(register_job(&stack, &tern_id, "staging", &[ORDERS]));
    let body = serde_json::to_string(&JobEnvelope::new(job)).expect("envelope");
    let marker = format!("schemabot:progress:{tern_id}");
    let progress = |stack: &Stack| {
        stack
            .pr_comments()
            .iter()
            .filter(|c| c.contains(&marker))
            .count()
    };

    // The progress comment is posted, its answer lost, the search fails: the job fails before
    // recording the comment.
    stack.github.lose_next_response(1);
    stack.github.fail_next_on(CallKind::ListComments, 50, 502);
    assert!(!deliver(&stack, &body, "r-1", 1).await, "the job fails");
    stack.github.clear_faults();
    assert_eq!(progress(&stack), 1);

    // Redriven twice: the comment is found, recorded and never posted again.
    assert!(deliver(&stack, &body, "r-2", 1).await);
    assert!(deliver(&stack, &body, "r-3", 1).await);
    assert_eq!(progress(&stack), 1, "{:#?}", stack.pr_comments());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redriven_cutover_announces_once_even_after_a_lost_answer() {
    let stack = Stack::start().await;
    stack.grant("alice-dba", "write");
    let apply = stack.waiting_apply("staging", &[ORDERS]).await;
    let body = enqueued_job(&stack, "alice-dba", &cutover_command(&apply.id, "staging")).await;

    // Tern cuts over; Cutover Triggered is posted but its answer is lost and the search fails.
    stack.github.lose_next_response(1);
    stack.github.fail_next_on(CallKind::ListComments, 50, 502);
    assert!(!deliver(&stack, &body, "c-1", 1).await, "the job fails");
    stack.github.clear_faults();
    assert_eq!(stack.tern.cutover_calls(), 1);

    // Redriven (receive count 1), twice: the claim says this command ran before, so the
    // comment is found, tracked, and never posted again; Tern is not called again.
    assert!(deliver(&stack, &body, "c-2", 1).await);
    assert!(deliver(&stack, &body, "c-3", 1).await);
    let comments = stack.pr_comments();
    assert_eq!(comments.len(), 1, "{comments:#?}");
    assert!(
        comments[0].starts_with("## Cutover Triggered"),
        "{comments:#?}"
    );
    assert_eq!(stack.tern.cutover_calls(), 1);
    let snapshot = stack.store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert_eq!(snapshot.apply.state, schemabot_domain::State::CuttingOver);
}
