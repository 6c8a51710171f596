//! State transitions against DynamoDB (moto): conditional on version and allowed predecessors,
//! written with their audit event, refused by DynamoDB itself on a downgrade.

mod common;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use common::{event, fresh_store, seeded};
use futures::future::join_all;
use schemabot_aws::codec::attr;
use schemabot_aws::condition::transition_condition;
use schemabot_aws::store::{ApplyChanges, Change, TaskChanges};
use schemabot_aws::{keys, WriteOutcome};
use schemabot_domain::state::transition::is_allowed;
use schemabot_domain::State;
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_concurrent_transitions_of_one_task_have_exactly_one_winner() {
    let (store, _) = fresh_store().await;
    let (apply, task) = seeded(&store, State::WaitingForCutover).await;

    let attempts = (0..20).map(|i| {
        let store = store.clone();
        let task = task.clone();
        tokio::spawn(async move {
            let mut ev = event(
                &task.apply_id,
                "state_transition",
                Some(task.state),
                Some(State::CuttingOver),
            );
            ev.actor = format!("worker-{i}");
            store
                .transition_task(&task, State::CuttingOver, &TaskChanges::default(), &ev)
                .await
        })
    });
    let outcomes: Vec<WriteOutcome<_>> = join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.expect("task ran").expect("store request"))
        .collect();

    let winners: Vec<_> = outcomes.iter().filter_map(|o| o.written()).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one transition wins: {outcomes:#?}"
    );
    assert_eq!(winners[0].state, State::CuttingOver);
    assert_eq!(winners[0].version, task.version + 1);

    let losers: Vec<_> = outcomes.iter().filter(|o| !o.is_written()).collect();
    assert_eq!(losers.len(), 19);
    for loser in losers {
        let current = loser
            .current()
            .expect("the refused write returns the current item");
        assert_eq!(current.state, State::CuttingOver);
        assert_eq!(current.version, task.version + 1);
        assert_eq!(current.task_id, task.task_id);
    }

    let stored = store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.tasks, vec![winners[0].clone()]);
    // Only the winner's audit event was written: it travels in the same transaction.
    let events = store.list_events(&apply.id).await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["apply_created", "state_transition"]);
}

#[tokio::test]
async fn a_downgrade_with_the_right_version_is_refused_by_dynamodb() {
    let (store, counter) = fresh_store().await;
    let (apply, task) = seeded(&store, State::WaitingForCutover).await;

    // A snapshot that lies about the state (`pending`) but carries the stored version: any
    // Rust-side check on it would allow `pending → running`. The store sends it anyway and only
    // DynamoDB's condition, evaluated on the stored `waiting_for_cutover`, can refuse it.
    let mut forged = task.clone();
    forged.state = State::Pending;
    assert!(is_allowed(forged.state, State::Running));
    let before = counter.get("TransactWriteItems");
    let outcome = store
        .transition_task(
            &forged,
            State::Running,
            &TaskChanges::default(),
            &event(
                &apply.id,
                "state_transition",
                Some(State::Pending),
                Some(State::Running),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        counter.get("TransactWriteItems"),
        before + 1,
        "DynamoDB was asked"
    );
    let WriteOutcome::ConditionFailed {
        current: Some(current),
    } = outcome
    else {
        panic!("the downgrade must be refused with the current item, got {outcome:?}");
    };
    assert_eq!(current, task, "the stored task is untouched");

    // The raw write path: a plain UpdateItem with the store's own transition condition, no store
    // code involved. DynamoDB answers ConditionalCheckFailed for the downgrade…
    let task_key = HashMap::from([
        (
            attr::PK.to_string(),
            AttributeValue::S(keys::apply_pk(&apply.id)),
        ),
        (
            attr::SK.to_string(),
            AttributeValue::S(keys::task_sk(&task.task_id)),
        ),
    ]);
    let raw_transition = |to: State| {
        let condition = transition_condition(task.version, to).expect("some state precedes");
        let mut values = condition.values.clone();
        values.insert(":to".into(), AttributeValue::S(to.as_str().into()));
        store
            .client()
            .update_item()
            .table_name(store.table_name())
            .set_key(Some(task_key.clone()))
            .update_expression("SET #state = :to")
            .condition_expression(condition.expression)
            .set_expression_attribute_names(Some(condition.names))
            .set_expression_attribute_values(Some(values))
            .send()
    };
    let refused = raw_transition(State::Running)
        .await
        .expect_err("downgrade refused");
    assert!(
        matches!(
            refused.as_service_error(),
            Some(UpdateItemError::ConditionalCheckFailedException(_))
        ),
        "{refused:?}"
    );
    // …and accepts the same request shape for a legal move, so the refusal is the state check.
    raw_transition(State::CuttingOver)
        .await
        .expect("legal transition accepted");
    let stored = store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.tasks[0].state, State::CuttingOver);
}

#[tokio::test]
async fn the_active_index_lists_an_apply_until_it_reaches_a_terminal_state() {
    let (store, _) = fresh_store().await;
    let (apply, _) = seeded(&store, State::Running).await;
    let listed = |refs: Vec<schemabot_aws::store::ActiveApplyRef>| {
        refs.into_iter()
            .map(|r| (r.apply_id, r.state))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(store.list_all_active().await.unwrap()),
        [(apply.id.clone(), State::Running)]
    );

    let mut current = apply.clone();
    for to in [
        State::WaitingForCutover,
        State::CuttingOver,
        State::Completed,
    ] {
        let changes = ApplyChanges {
            completed_at: if to.is_terminal() {
                Change::Set(chrono::Utc::now())
            } else {
                Change::Keep
            },
            ..ApplyChanges::default()
        };
        let outcome = store
            .transition_apply(
                &current,
                to,
                &changes,
                &event(&apply.id, "state_transition", Some(current.state), Some(to)),
            )
            .await
            .unwrap();
        current = outcome
            .written()
            .cloned()
            .unwrap_or_else(|| panic!("{to}: {outcome:?}"));
        let active = listed(store.list_all_active().await.unwrap());
        if to.is_terminal() {
            assert!(
                active.is_empty(),
                "a completed apply leaves the index: {active:?}"
            );
        } else {
            assert_eq!(active, [(apply.id.clone(), to)]);
        }
    }

    // The stored item lost its index keys and kept everything else.
    let raw = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key(attr::PK, AttributeValue::S(keys::apply_pk(&apply.id)))
        .key(attr::SK, AttributeValue::S(keys::APPLY_SK.into()))
        .send()
        .await
        .unwrap();
    let item = raw.item().unwrap();
    assert!(!item.contains_key(attr::ACTIVE_PK) && !item.contains_key(attr::ACTIVE_SK));
    assert_eq!(
        store.get_apply(&apply.id).await.unwrap(),
        Some(current.clone())
    );
    assert_eq!(current.version, apply.version + 3);

    // Terminal means terminal: nothing moves it again.
    let again = store
        .transition_apply(
            &current,
            State::Running,
            &ApplyChanges::default(),
            &event(&apply.id, "x", None, None),
        )
        .await
        .unwrap();
    assert_eq!(again.current(), Some(&current));
}

#[tokio::test]
async fn the_active_index_pages_oldest_first() {
    let (store, _) = fresh_store().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(seeded(&store, State::Running).await.0.id);
    }
    seeded(&store, State::Failed).await; // never indexed

    let first = store.list_active(2, None).await.unwrap();
    assert_eq!(first.applies.len(), 2);
    let cursor = first.next.expect("a second page");
    let second = store.list_active(2, Some(&cursor)).await.unwrap();
    let mut seen: Vec<_> = first
        .applies
        .iter()
        .chain(&second.applies)
        .map(|r| r.apply_id.clone())
        .collect();
    assert_eq!(seen, ids, "oldest first, each once");
    if let Some(cursor) = second.next {
        assert!(store
            .list_active(2, Some(&cursor))
            .await
            .unwrap()
            .applies
            .is_empty());
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3);
}

#[tokio::test]
async fn progress_updates_are_version_conditioned_and_the_snapshot_loads_in_one_query() {
    let (store, counter) = fresh_store().await;
    let (apply, mut task) = seeded(&store, State::Running).await;
    task.rows_copied = 10;
    task.percent = 1;

    let changes = TaskChanges {
        rows_copied: Some(500),
        percent: Some(50),
        eta_seconds: Change::Set(60),
        ..TaskChanges::default()
    };
    let stale = task.clone();
    let written = store.update_task_progress(&task, &changes).await.unwrap();
    let task = written.written().cloned().expect("written");
    assert_eq!(
        (
            task.rows_copied,
            task.percent,
            task.eta_seconds,
            task.version
        ),
        (500, 50, Some(60), 2)
    );

    // A second writer that read the old version is refused and shown the new item.
    let refused = store
        .update_task_progress(&stale, &TaskChanges::default())
        .await
        .unwrap();
    assert_eq!(refused.current(), Some(&task));

    let before = counter.snapshot();
    let snapshot = store.load_snapshot(&apply.id).await.unwrap().unwrap();
    let after = counter.snapshot();
    assert_eq!(
        after.get("Query").copied().unwrap_or(0),
        before.get("Query").copied().unwrap_or(0) + 1
    );
    assert_eq!(
        counter.total(),
        before.values().sum::<u64>() + 1,
        "one request in all"
    );
    assert_eq!(snapshot.apply, apply);
    assert_eq!(snapshot.tasks, vec![task]);
    assert!(snapshot.comments.is_empty());
    assert_eq!(
        store
            .load_snapshot(&common::apply_in(State::Running).id)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn entering_waiting_for_cutover_latches_ready_to_complete() {
    let (store, _) = fresh_store().await;
    let (apply, task) = seeded(&store, State::Running).await;
    assert!(!task.ready_to_complete);
    let outcome = store
        .transition_task(
            &task,
            State::WaitingForCutover,
            &TaskChanges {
                engine_silent_since: Change::Clear,
                ..TaskChanges::default()
            },
            &event(
                &apply.id,
                "state_transition",
                Some(State::Running),
                Some(State::WaitingForCutover),
            ),
        )
        .await
        .unwrap();
    let written = outcome
        .written()
        .cloned()
        .expect("running → waiting_for_cutover is allowed");
    assert!(written.ready_to_complete);
    let stored = store.load_snapshot(&apply.id).await.unwrap().unwrap();
    assert_eq!(stored.tasks, vec![written]);
}

#[tokio::test]
async fn request_counter_counts_each_operation() {
    let (store, counter) = fresh_store().await;
    let start = counter.snapshot();
    let (apply, task) = seeded(&store, State::WaitingForCutover).await; // 1 TransactWriteItems
    store.get_apply(&apply.id).await.unwrap(); // 1 GetItem
    store
        .transition_task(
            &task,
            State::CuttingOver,
            &TaskChanges::default(),
            &event(&apply.id, "t", None, None),
        )
        .await
        .unwrap(); // 1 TransactWriteItems
    let delta = |op: &str| counter.get(op) - start.get(op).copied().unwrap_or(0);
    assert_eq!(delta("TransactWriteItems"), 2);
    assert_eq!(delta("GetItem"), 1);
    assert_eq!(counter.total() - start.values().sum::<u64>(), 3);
}

#[tokio::test]
async fn creating_an_existing_apply_returns_the_stored_one() {
    let (store, _) = fresh_store().await;
    let (apply, task) = seeded(&store, State::Running).await;
    let mut again = apply.clone();
    again.tern_apply_id = "other".into();
    let outcome = store
        .create_apply(
            &again,
            &[task],
            &event(&apply.id, "apply_created", None, None),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        WriteOutcome::ConditionFailed {
            current: Some(apply.clone())
        }
    );
    assert_eq!(store.list_events(&apply.id).await.unwrap().len(), 1);
}
