//! Poll chains: one delayed poll message per apply at a time. Duplicates and late messages never
//! fork a chain, a terminal apply ends its chain, and the sweep restarts only dead chains.

use chrono::{TimeDelta, Utc};
use futures::future::join;
use schemabot_aws::codec::{attr, s, time};
use schemabot_aws::keys;
use schemabot_domain::job::PollJob;
use schemabot_domain::{ApplyId, State};
use schemabot_tests::harness::Stack;
use schemabot_tests::progress_support::*;
use schemabot_tests::tern_standin::{ApplyRegistration, RegisteredPhase};

fn link(apply_id: &ApplyId, chain_seq: u64) -> PollJob {
    PollJob {
        apply_id: apply_id.clone(),
        chain_seq,
    }
}

async fn chain_seq(stack: &Stack, apply_id: &ApplyId) -> Option<u64> {
    snapshot(stack, apply_id).await.poll_chain_seq
}

/// Makes the chain look as if it last advanced `ago` (its message was lost long ago).
async fn age_chain(stack: &Stack, apply_id: &ApplyId, ago: TimeDelta) {
    stack
        .store
        .client()
        .update_item()
        .table_name(stack.store.table_name())
        .key(attr::PK, s(keys::apply_pk(apply_id)))
        .key(attr::SK, s(keys::POLL_SK))
        .update_expression("SET #at = :at")
        .expression_attribute_names("#at", attr::UPDATED_AT)
        .expression_attribute_values(":at", time(Utc::now() - ago))
        .send()
        .await
        .expect("age the chain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_poll_messages_advance_the_chain_once() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 100 },
    )
    .await;
    // Registration started the chain: link 1 is on the queue.
    assert_eq!(drain_poll_queue(&stack).await, vec![link(&id, 1)]);
    assert_eq!(chain_seq(&stack, &id).await, Some(1));

    // SQS delivers link 1 twice at once: exactly one link 2 follows.
    join(
        run_poll(&stack, &link(&id, 1)),
        run_poll(&stack, &link(&id, 1)),
    )
    .await;
    assert_eq!(drain_poll_queue(&stack).await, vec![link(&id, 2)]);
    assert_eq!(chain_seq(&stack, &id).await, Some(2));
    assert_eq!(
        apply_state(&stack, &id).await,
        State::Running,
        "the poll reconciled"
    );

    // A late copy of link 1 is dropped without reconciling.
    let progress_calls = stack.tern.progress_calls();
    run_poll(&stack, &link(&id, 1)).await;
    assert!(drain_poll_queue(&stack).await.is_empty());
    assert_eq!(stack.tern.progress_calls(), progress_calls);
    assert_eq!(chain_seq(&stack, &id).await, Some(2));

    // The chain goes on from its current link.
    run_poll(&stack, &link(&id, 2)).await;
    assert_eq!(drain_poll_queue(&stack).await, vec![link(&id, 3)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poll_that_cannot_reach_tern_keeps_the_chain_going() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 100 },
    )
    .await;
    drain_poll_queue(&stack).await;
    stack.tern.fail_next(5);
    run_poll(&stack, &link(&id, 1)).await;
    assert_eq!(drain_poll_queue(&stack).await, vec![link(&id, 2)]);
    assert_eq!(apply_state(&stack, &id).await, State::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_terminal_apply_stops_its_chain() {
    let stack = progress_stack().await;
    let registration = ApplyRegistration {
        defer_cutover: false,
        ..ApplyRegistration::deferred(
            &stack.schema,
            &[ORDERS],
            RegisteredPhase::Copying { rows_copied: 900 },
        )
    };
    let id = register_with(&stack, registration, "staging").await;
    let mut next = drain_poll_queue(&stack).await;
    assert_eq!(next, vec![link(&id, 1)]);

    // Follow the chain as SQS would until it stops; the apply copies, cuts over and completes.
    let mut links = 0;
    while let Some(poll) = next.pop() {
        links += 1;
        assert!(links < 10, "the chain never stopped");
        stack.tern.advance(id.as_str(), 100).expect("advance");
        run_poll(&stack, &poll).await;
        next = drain_poll_queue(&stack).await;
        assert!(next.len() <= 1, "the chain forked: {next:?}");
    }
    assert_eq!(apply_state(&stack, &id).await, State::Completed);
    assert!(stack
        .store
        .list_all_active()
        .await
        .expect("active")
        .is_empty());
    let last = chain_seq(&stack, &id).await.expect("chain");

    // A late duplicate of the last link does nothing either.
    run_poll(&stack, &link(&id, last)).await;
    assert!(drain_poll_queue(&stack).await.is_empty());
    assert_eq!(chain_seq(&stack, &id).await, Some(last));
    assert_eq!(
        comments_containing(&stack, "## ✅ Schema Change Applied"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweep_restarts_a_dead_chain_once_and_leaves_a_live_one_alone() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    // Link 1's message is lost.
    assert_eq!(drain_poll_queue(&stack).await, vec![link(&id, 1)]);

    // Recently advanced: alive as far as anyone can tell; the sweep leaves it.
    let report = stack.worker.sweep().await;
    assert_eq!(report.chains_started, 0);
    assert!(drain_poll_queue(&stack).await.is_empty());

    // Silent for minutes: dead. Two sweeps racing restart it once.
    age_chain(&stack, &id, TimeDelta::minutes(5)).await;
    let (a, b) = join(stack.worker.sweep(), stack.worker.sweep()).await;
    assert_eq!(a.chains_started + b.chains_started, 1, "{a:?} {b:?}");
    assert_eq!(drain_poll_queue(&stack).await, vec![link(&id, 2)]);
    assert_eq!(chain_seq(&stack, &id).await, Some(2));

    // The lost message turning up late changes nothing.
    run_poll(&stack, &link(&id, 1)).await;
    assert!(drain_poll_queue(&stack).await.is_empty());

    // A chain that never started (an apply stored by other means) is started by the sweep.
    let other = stack
        .record_apply(
            &stack
                .tern
                .register_apply(ApplyRegistration::deferred(
                    &stack.schema,
                    &[ORDERS],
                    RegisteredPhase::WaitingForCutover,
                ))
                .await
                .expect("register with Tern"),
            "staging",
            &[ORDERS],
            State::WaitingForCutover,
        )
        .await;
    let report = stack.worker.sweep().await;
    assert_eq!(report.chains_started, 1, "{report:?}");
    assert_eq!(drain_poll_queue(&stack).await, vec![link(&other.id, 1)]);
}
