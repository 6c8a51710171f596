//! Crash recovery end to end: the progress sweep against the Tern stand-in (Spirit simulated over
//! a real MariaDB `_spirit_sentinel`), the GitHub stand-in and DynamoDB/SQS on moto, with PR
//! comments going through the real webhook and worker.

use chrono::{TimeDelta, Utc};
use schemabot_domain::apply::{AuditEvent, CommentKind, CutoverClaim};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::{ApplyId, State};
use schemabot_tern::TernTarget;
use schemabot_tests::harness::{Stack, DEPLOYMENT};
use schemabot_tests::progress_support::*;
use schemabot_tests::tern_standin::RegisteredPhase;
use worker::progress::reconcile::ClaimSettlement;

fn bar(glyph: &str, cells: usize) -> String {
    format!("{}{}", glyph.repeat(cells), "⬜".repeat(20 - cells))
}

async fn cutover(stack: &Stack, apply_id: &ApplyId) {
    let (status, _) = stack
        .comment("alice-dba", &cutover_command(apply_id, "staging"))
        .await;
    assert!((200..300).contains(&status), "webhook answered {status}");
    stack.deliver_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tern_restart_while_waiting_recovers_then_the_cutover_completes_with_one_summary() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::Copying { rows_copied: 320 },
    )
    .await;
    assert!(progress_comment(&stack, &id)
        .await
        .contains("## Schema Change Starting"));

    // Copying: the sweep shows the blue bar at the engine's percent.
    stack.worker.sweep().await;
    let body = progress_comment(&stack, &id).await;
    assert!(body.contains("## Schema Change In Progress"), "{body}");
    assert!(body.contains(&format!("{} 32%", bar("🟦", 6))), "{body}");
    assert!(body.contains("Rows: 320 / 1,000"), "{body}");

    stack.tern.advance(id.as_str(), 300).expect("advance");
    stack.worker.sweep().await;
    assert!(progress_comment(&stack, &id)
        .await
        .contains(&format!("{} 62%", bar("🟦", 12))));

    // Copied: Spirit waits at the sentinel; ready for cutover.
    stack.tern.finish_copy(id.as_str()).expect("finish copy");
    stack.worker.sweep().await;
    let waiting = snapshot(&stack, &id).await;
    assert_eq!(waiting.apply.state, State::WaitingForCutover);
    assert!(waiting
        .tasks
        .iter()
        .all(|t| t.state == State::WaitingForCutover && t.ready_to_complete));
    let body = progress_comment(&stack, &id).await;
    assert!(
        body.contains("## Schema Change — Waiting for Cutover"),
        "{body}"
    );
    assert!(
        body.contains("**1/1** table(s) ready for cutover"),
        "{body}"
    );
    assert!(
        body.contains(&format!("{} ⏸️ Ready for cutover", bar("🟨", 20))),
        "{body}"
    );
    assert!(body.contains(&cutover_command(&id, "staging")), "{body}");

    // Tern restarts: Spirit forgets the migration, the sentinel stays → recovering.
    stack.tern.restart();
    let report = stack.worker.sweep().await;
    assert_eq!(report.task_transitions, 1, "{report:?}");
    assert_eq!(task_states(&stack, &id).await, vec![State::Recovering]);
    assert_eq!(apply_state(&stack, &id).await, State::Recovering);
    let body = progress_comment(&stack, &id).await;
    assert!(body.contains("## Schema Change — Recovering"), "{body}");
    assert!(
        body.contains(&format!("{} 🔄 Recovering...", bar("🟨", 20))),
        "the last bar: {body}"
    );
    assert!(!body.contains("⏸️"), "{body}");
    assert!(!body.contains(&cutover_command(&id, "staging")), "{body}");

    // A cutover now is refused (Recovery In Progress) and never reaches Tern.
    cutover(&stack, &id).await;
    assert_eq!(stack.tern.cutover_calls(), 0);
    assert_eq!(
        comments_containing(&stack, "## Cutover — Recovery In Progress"),
        1
    );
    assert_eq!(apply_state(&stack, &id).await, State::Recovering);

    // A recovering apply keeps being swept: still recovering while Spirit is gone.
    stack.worker.sweep().await;
    assert_eq!(task_states(&stack, &id).await, vec![State::Recovering]);

    // Tern resumes from Spirit's checkpoint and reaches the sentinel again → ready again.
    stack.tern.resume(id.as_str()).expect("resume");
    stack.worker.sweep().await;
    let ready = snapshot(&stack, &id).await;
    assert_eq!(ready.apply.state, State::WaitingForCutover);
    assert!(ready
        .tasks
        .iter()
        .all(|t| t.state == State::WaitingForCutover && t.ready_to_complete));
    assert!(progress_comment(&stack, &id)
        .await
        .contains(&format!("{} ⏸️ Ready for cutover", bar("🟨", 20))));

    // The cutover now goes through; the progress comment freezes.
    cutover(&stack, &id).await;
    assert_eq!(stack.tern.cutovers_accepted(), 1);
    assert_eq!(comments_containing(&stack, "## Cutover Triggered"), 1);
    assert_eq!(apply_state(&stack, &id).await, State::CuttingOver);
    let frozen = progress_comment(&stack, &id).await;

    stack.worker.sweep().await;
    assert_eq!(task_states(&stack, &id).await, vec![State::CuttingOver]);
    stack
        .tern
        .advance(id.as_str(), 1)
        .expect("finish the cut-over");
    let report = stack.worker.sweep().await;
    assert_eq!(report.ended, 1, "{report:?}");

    let done = snapshot(&stack, &id).await;
    assert_eq!(done.apply.state, State::Completed);
    assert_eq!(task_states(&stack, &id).await, vec![State::Completed]);
    // Exactly one summary: the cutover comment, edited; the progress comment stayed frozen.
    let summary = done.comment(CommentKind::Summary).expect("summary record");
    let cutover_comment = done.comment(CommentKind::Cutover).expect("cutover record");
    assert_eq!(summary.comment_id, cutover_comment.comment_id);
    assert_eq!(
        comments_containing(&stack, "## ✅ Schema Change Applied"),
        1
    );
    assert_eq!(comments_containing(&stack, "## Cutover Triggered"), 0);
    assert_eq!(progress_comment(&stack, &id).await, frozen);
    let summary_body = tracked_comment(&stack, &id, CommentKind::Summary)
        .await
        .expect("summary");
    assert!(
        summary_body.contains("Schema change applied successfully"),
        "{summary_body}"
    );

    // Ended: out of the active index; later sweeps touch nothing.
    assert!(stack
        .store
        .list_all_active()
        .await
        .expect("active")
        .is_empty());
    let (edits, creates) = (github_edits(&stack), github_creates(&stack));
    let report = stack.worker.sweep().await;
    assert_eq!(report.active, 0);
    assert_eq!(
        (github_edits(&stack), github_creates(&stack)),
        (edits, creates)
    );

    // The audit trail tells the recovery story.
    let events = stack.store.list_events(&id).await.expect("events");
    let recovery = events
        .iter()
        .find(|e| e.to_state == Some(State::Recovering))
        .expect("entering recovery is audited");
    // Tern itself reported the recovery (current servers do).
    assert_eq!(recovery.outcome, Outcome::EngineReported);
    assert!(events.iter().any(|e| e
        .message
        .as_deref()
        .is_some_and(|m| m.contains("Recovery complete"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_after_the_sentinel_was_dropped_moves_forward_never_back() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::WaitingForCutover);

    cutover(&stack, &id).await;
    assert_eq!(apply_state(&stack, &id).await, State::CuttingOver);
    assert!(!stack.sentinel_present().await, "Tern dropped the sentinel");

    // Tern restarts mid cut-over: the engine reports nothing; the sentinel is gone.
    stack.tern.restart();
    let report = stack.worker.sweep().await;
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(task_states(&stack, &id).await, vec![State::CuttingOver]);
    assert_eq!(apply_state(&stack, &id).await, State::CuttingOver);

    // Spirit resumes, finds no sentinel and finishes the cut-over.
    stack.tern.resume(id.as_str()).expect("resume");
    stack.worker.sweep().await;
    assert_eq!(task_states(&stack, &id).await, vec![State::CuttingOver]);
    stack
        .tern
        .advance(id.as_str(), 1)
        .expect("finish the cut-over");
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::Completed);
    assert_eq!(
        comments_containing(&stack, "## ✅ Schema Change Applied"),
        1
    );

    // Never backwards after the cutover: no event moved anything to an earlier state.
    let events = stack.store.list_events(&id).await.expect("events");
    let triggered = events
        .iter()
        .position(|e| e.event == EventKind::CutoverTriggered)
        .expect("cutover audited");
    for event in &events[triggered..] {
        assert!(
            !matches!(
                event.to_state,
                Some(
                    State::WaitingForCutover | State::Recovering | State::Running | State::Pending
                )
            ),
            "moved back after the cutover: {event:?}"
        );
    }
}

/// Claims a waiting apply as a cutover command would have, `age` ago.
async fn claim(stack: &Stack, apply_id: &ApplyId, age: TimeDelta) -> CutoverClaim {
    let apply = stack
        .store
        .get_apply(apply_id)
        .await
        .expect("get")
        .expect("apply");
    let claim = CutoverClaim {
        command_id: "cutover:acme-payments/schemas:777".into(),
        actor: "alice-dba".into(),
        claimed_at: Utc::now() - age,
        tern_called_at: None,
        tern_call_open: false,
    };
    let event = AuditEvent {
        apply_id: apply_id.clone(),
        at: Utc::now(),
        event: EventKind::CutoverClaimed,
        actor: claim.actor.clone(),
        delivery_id: None,
        from_state: Some(apply.state),
        to_state: None,
        outcome: Outcome::Claimed,
        message: None,
    };
    let granted = stack
        .store
        .claim_cutover(&apply, &claim, &event)
        .await
        .expect("claim");
    assert!(granted.is_written(), "claim refused: {granted:?}");
    claim
}

/// Calls Tern's Cutover behind SchemaBot's back: what a cutover job did before it crashed.
async fn tern_cutover_without_bookkeeping(stack: &Stack, apply_id: &ApplyId) {
    let target = TernTarget {
        deployment: DEPLOYMENT.into(),
        environment: "staging".into(),
        tern_apply_id: apply_id.to_string(),
    };
    let outcome = stack
        .worker
        .tern
        .cutover(&target)
        .await
        .expect("tern cutover");
    assert_eq!(outcome, schemabot_tern::CutoverOutcome::Accepted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_whose_tern_call_took_effect_is_settled_as_cutting_over() {
    let stack = progress_stack().await;
    let id = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    stack.worker.sweep().await;
    let claim = claim(&stack, &id, TimeDelta::minutes(2)).await;
    // The job's Tern call went through, then the job crashed; then Tern restarted as well, so
    // only the sentinel can tell what happened.
    tern_cutover_without_bookkeeping(&stack, &id).await;
    stack.tern.restart();

    let report = stack.worker.reconcile_apply(&id).await.expect("reconcile");
    assert_eq!(
        report.claim,
        Some(ClaimSettlement::CutoverHappened),
        "{report:?}"
    );
    let apply = stack
        .store
        .get_apply(&id)
        .await
        .expect("get")
        .expect("apply");
    assert_eq!(apply.state, State::CuttingOver);
    assert_eq!(
        apply.cutover_triggered_by.as_deref(),
        Some(claim.actor.as_str())
    );
    let events = stack.store.list_events(&id).await.expect("events");
    assert!(
        events.iter().any(|e| e.event == EventKind::CutoverSettled),
        "{events:?}"
    );
    // No comment: the command posts its own Cutover Triggered when it comes back.
    assert_eq!(comments_containing(&stack, "## Cutover Triggered"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_claim_with_the_sentinel_present_is_released_and_a_young_one_kept() {
    let stack = progress_stack().await;
    let young = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    let old = register_apply(
        &stack,
        "staging",
        &[ORDERS],
        RegisteredPhase::WaitingForCutover,
    )
    .await;
    stack.worker.sweep().await;
    claim(&stack, &young, TimeDelta::minutes(2)).await;
    claim(&stack, &old, TimeDelta::minutes(6)).await;

    let report = stack.worker.sweep().await;
    assert_eq!(report.claims_settled, 1, "{report:?}");
    let young_apply = stack
        .store
        .get_apply(&young)
        .await
        .expect("get")
        .expect("apply");
    assert!(
        young_apply.claim.is_some(),
        "its command may still be retrying"
    );
    let old_apply = stack
        .store
        .get_apply(&old)
        .await
        .expect("get")
        .expect("apply");
    assert!(old_apply.claim.is_none(), "released so operators can retry");
    assert_eq!(old_apply.state, State::WaitingForCutover);
    let events = stack.store.list_events(&old).await.expect("events");
    assert!(
        events.iter().any(|e| e.event == EventKind::ClaimReleased),
        "{events:?}"
    );

    // Released: a new cutover command goes through.
    cutover(&stack, &old).await;
    assert_eq!(apply_state(&stack, &old).await, State::CuttingOver);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ready_to_complete_latches_in_sequential_mode_and_survives_recovery() {
    let stack = progress_stack().await;
    let tables = [
        ORDERS,
        ("customers", "ALTER TABLE `customers` ADD COLUMN `tier` int"),
    ];
    let tern_id = stack
        .tern
        .register_apply(schemabot_tests::tern_standin::ApplyRegistration::deferred(
            &stack.schema,
            &tables,
            RegisteredPhase::Copying { rows_copied: 500 },
        ))
        .await
        .expect("register with Tern");
    let job = schemabot_domain::job::RegisterApplyJob {
        mode: schemabot_domain::apply::ApplyMode::Sequential,
        ..register_job(&stack, &tern_id, "staging", &tables)
    };
    let id = job.apply_id.clone();
    run_register(&stack, job, 1).await;
    stack.worker.sweep().await;
    assert!(snapshot(&stack, &id)
        .await
        .tasks
        .iter()
        .all(|t| t.state == State::Running && !t.ready_to_complete));

    stack.tern.finish_copy(id.as_str()).expect("finish copy");
    stack.worker.sweep().await;
    let waiting = snapshot(&stack, &id).await;
    assert!(waiting
        .tasks
        .iter()
        .all(|t| t.state == State::WaitingForCutover && t.ready_to_complete));
    assert!(progress_comment(&stack, &id)
        .await
        .contains("**2/2** table(s) ready for cutover"));

    // The flag is a latch: the recovery detour keeps it.
    stack.tern.restart();
    stack.worker.sweep().await;
    let recovering = snapshot(&stack, &id).await;
    assert!(recovering
        .tasks
        .iter()
        .all(|t| t.state == State::Recovering && t.ready_to_complete));
    stack.tern.resume(id.as_str()).expect("resume");
    stack.worker.sweep().await;
    assert_eq!(apply_state(&stack, &id).await, State::WaitingForCutover);
}
