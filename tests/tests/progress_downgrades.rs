//! Progress never moves a task back: engine reports behind the stored state are refused (logged
//! and counted), or — for a task waiting at the sentinel — judged by the sentinel, which only
//! ever leads to the recovery detour or forward.

use schemabot_domain::apply::CommentKind;
use schemabot_domain::{ApplyId, State};
use schemabot_tern::proto;
use schemabot_tests::harness::Stack;
use schemabot_tests::progress_support::*;
use schemabot_tests::tern_standin::{ForcedReport, RegisteredPhase};
use worker::progress::metrics::refused_downgrades;

/// Reports the forced engine state, sweeps, and returns the sweep's refused downgrades.
async fn sweep_reporting(
    stack: &Stack,
    apply_id: &ApplyId,
    state: proto::State,
    table_status: &str,
) -> usize {
    stack
        .tern
        .force_report(apply_id.as_str(), ForcedReport::new(state, table_status));
    stack.worker.sweep().await.downgrades_refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_reports_behind_a_waiting_task_never_move_it_back() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    stack.worker.sweep().await;
    assert_eq!(
        task_states(&stack, &id).await,
        vec![State::WaitingForCutover]
    );

    // `stopped` is not a loss of the change: refused as a downgrade, nothing written.
    let before = refused_downgrades();
    assert_eq!(
        sweep_reporting(&stack, &id, proto::State::Stopped, "stopped").await,
        1
    );
    assert_eq!(
        task_states(&stack, &id).await,
        vec![State::WaitingForCutover]
    );
    assert!(
        refused_downgrades() > before,
        "the process counter counts it"
    );

    // Earlier phases (Spirit restarted: `initial`, copying again, `pending`) mean the engine lost
    // the change; with the sentinel still there that is the recovery detour, never running or
    // pending, and the latched ready flag and full bar survive.
    for (state, status) in [
        (proto::State::Running, "initial"),
        (proto::State::Running, "copyRows"),
        (proto::State::Pending, "pending"),
        (proto::State::Running, "running"),
    ] {
        sweep_reporting(&stack, &id, state, status).await;
        let snapshot = snapshot(&stack, &id).await;
        for task in &snapshot.tasks {
            assert_eq!(task.state, State::Recovering, "after `{status}`");
            assert!(task.ready_to_complete, "after `{status}`");
            assert_eq!(task.percent, 100, "after `{status}`");
        }
        assert_eq!(snapshot.apply.state, State::Recovering, "after `{status}`");
    }

    // Spirit back at the sentinel: ready again.
    stack.tern.clear_forced_report(id.as_str());
    stack.worker.sweep().await;
    assert_eq!(
        task_states(&stack, &id).await,
        vec![State::WaitingForCutover]
    );
    assert_eq!(apply_state(&stack, &id).await, State::WaitingForCutover);

    // Registered pending, it went straight to waiting: nothing ever moved to running/pending.
    let events = stack.store.list_events(&id).await.expect("events");
    assert!(
        !events.iter().any(
            |e| matches!(e.to_state, Some(State::Running | State::Pending))
                && e.from_state.is_some()
        ),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_reports_behind_a_cutting_over_task_are_refused_and_counted() {
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
    stack.worker.sweep().await;
    assert_eq!(task_states(&stack, &id).await, vec![State::CuttingOver]);
    let cutover_body = tracked_comment(&stack, &id, CommentKind::Cutover).await;

    for (state, status) in [
        (proto::State::WaitingForCutover, "waitingOnSentinelTable"),
        (proto::State::Running, "copyRows"),
        (proto::State::Running, "initial"),
        (proto::State::Pending, "pending"),
    ] {
        assert_eq!(
            sweep_reporting(&stack, &id, state, status).await,
            1,
            "`{status}` is refused"
        );
        assert_eq!(
            task_states(&stack, &id).await,
            vec![State::CuttingOver],
            "after `{status}`"
        );
        assert_eq!(
            apply_state(&stack, &id).await,
            State::CuttingOver,
            "after `{status}`"
        );
    }
    assert_eq!(
        tracked_comment(&stack, &id, CommentKind::Cutover).await,
        cutover_body
    );

    // The engine's own answer again: forward to completion.
    stack.tern.clear_forced_report(id.as_str());
    stack
        .tern
        .advance(id.as_str(), 1)
        .expect("finish the cut-over");
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_running_task_reported_pending_keeps_running_within_the_grace_period() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 450 },
    )
    .await;
    stack.worker.sweep().await;
    assert_eq!(task_states(&stack, &id).await, vec![State::Running]);

    for (state, status) in [
        (proto::State::Pending, "pending"),
        (proto::State::Pending, "queued"),
    ] {
        sweep_reporting(&stack, &id, state, status).await;
        let snapshot = snapshot(&stack, &id).await;
        let task = &snapshot.tasks[0];
        assert_eq!(task.state, State::Running, "after `{status}`");
        assert_eq!(task.percent, 45, "the bar does not shrink");
        assert!(task.engine_silent_since.is_some(), "the silence clock runs");
    }
    // Reporting again stops the silence clock.
    stack.tern.clear_forced_report(id.as_str());
    stack.worker.sweep().await;
    let snapshot = snapshot(&stack, &id).await;
    assert_eq!(snapshot.tasks[0].state, State::Running);
    assert!(snapshot.tasks[0].engine_silent_since.is_none());
}
