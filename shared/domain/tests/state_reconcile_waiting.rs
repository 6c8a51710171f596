//! Reconciliation rules for tasks waiting for the cutover and recovering ones: the
//! ready_to_complete latch, and an engine that lost the task judged by the sentinel, then by the
//! live schema (completed when it matches, failed for a person when changes remain), or by an
//! accepted cutover.

mod common;

use common::reconcile::{
    ctx, ctx_live, differs, engine, engine_raw, expect_keep, expect_transition, failed_with,
    progress, seen, task, ABSENT, PRESENT,
};
use schemabot_domain::apply::Task;
use schemabot_domain::state::normalize::Normalized;
use schemabot_domain::state::reconcile::{
    decide, Decision, EngineObservation, KeepReason, LiveSchemaEvidence, ReconcileContext,
    Sentinel, TransitionReason, RECONCILE_RUNBOOK, VERIFIED_LIVE_MESSAGE,
};
use schemabot_domain::State;
use State::*;

// ---- waiting_for_cutover -------------------------------------------------------------------

#[test]
fn waiting_in_step_updates_progress_but_never_lowers_the_bar() {
    let mut stored = task(WaitingForCutover);
    stored.percent = 90;
    let (higher, _, reason) = expect_keep(decide(
        &stored,
        &seen(Normalized::State(WaitingForCutover), 100),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(reason, KeepReason::InStep);
    assert_eq!(higher, Some(progress(100)));

    let (lower, _, _) = expect_keep(decide(
        &stored,
        &seen(Normalized::State(WaitingForCutover), 10),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(lower, None);
}

#[test]
fn waiting_follows_the_engine_into_the_cutover_and_outcomes() {
    let cutting = expect_transition(decide(
        &task(WaitingForCutover),
        &engine_raw("cutOver"),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(cutting.to, CuttingOver);
    assert!(cutting.ready_to_complete, "the latch survives the cutover");

    for outcome in [Completed, Cancelled, Reverted] {
        let moved = expect_transition(decide(
            &task(WaitingForCutover),
            &engine(outcome),
            &ctx(Sentinel::NotChecked),
        ));
        assert_eq!(moved.to, outcome);
    }
    let failed = expect_transition(decide(
        &task(WaitingForCutover),
        &failed_with(Failed, "lock wait timeout"),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(failed.to, Failed);
    assert_eq!(failed.error_message.as_deref(), Some("lock wait timeout"));
}

fn engine_after_restart() -> Vec<EngineObservation> {
    vec![
        EngineObservation::no_active_change(),
        engine(Pending),
        engine_raw("initial"),
        engine_raw("copyRows"),
        engine(Running),
        engine(PreparingBranch),
    ]
}

#[test]
fn waiting_with_a_restarted_engine_asks_for_the_sentinel() {
    for report in engine_after_restart() {
        assert_eq!(
            decide(
                &task(WaitingForCutover),
                &report,
                &ctx(Sentinel::NotChecked)
            ),
            Decision::NeedSentinel,
            "{report:?}"
        );
    }
}

#[test]
fn waiting_with_the_sentinel_present_is_recovering() {
    for report in engine_after_restart() {
        let moved = expect_transition(decide(&task(WaitingForCutover), &report, &ctx(PRESENT)));
        assert_eq!(moved.to, Recovering);
        assert_eq!(moved.reason, TransitionReason::SentinelPresent);
        assert!(moved.ready_to_complete, "never reset");
        assert_eq!(moved.progress, None, "the last known bar is kept");
    }
}

#[test]
fn waiting_with_the_sentinel_gone_asks_the_live_schema() {
    for report in engine_after_restart() {
        assert_eq!(
            decide(&task(WaitingForCutover), &report, &ctx(ABSENT)),
            Decision::NeedLiveSchema,
            "the sentinel's absence alone proves nothing: {report:?}"
        );
    }
}

#[test]
fn the_desired_schema_live_completes_the_task() {
    for stored in [WaitingForCutover, Recovering] {
        for report in engine_after_restart() {
            let moved = expect_transition(decide(
                &task(stored),
                &report,
                &ctx_live(LiveSchemaEvidence::Matches),
            ));
            assert_eq!(moved.to, Completed);
            assert_eq!(moved.reason, TransitionReason::VerifiedLive);
            assert_eq!(moved.error_message.as_deref(), Some(VERIFIED_LIVE_MESSAGE));
        }
    }
}

#[test]
fn remaining_changes_fail_the_task_for_a_person() {
    for stored in [WaitingForCutover, Recovering] {
        let moved = expect_transition(decide(
            &task(stored),
            &EngineObservation::no_active_change(),
            &ctx_live(differs()),
        ));
        assert_eq!(moved.to, Failed);
        assert_eq!(moved.reason, TransitionReason::LiveSchemaDiffers);
        let message = moved.error_message.unwrap();
        assert!(message.starts_with("Needs a person"), "{message}");
        assert!(message.contains("ADD COLUMN `nickname`"), "{message}");
        assert!(message.ends_with(RECONCILE_RUNBOOK), "{message}");
    }
}

#[test]
fn the_failure_message_lists_at_most_five_changes() {
    let remaining: Vec<String> = (0..8).map(|i| format!("ALTER TABLE t{i}")).collect();
    let message = schemabot_domain::state::reconcile::reconcile_failure_message(&remaining);
    assert!(message.contains("ALTER TABLE t4; ") || message.contains("ALTER TABLE t4 "));
    assert!(!message.contains("ALTER TABLE t5"), "{message}");
    assert!(message.contains("(and 3 more)"), "{message}");
}

#[test]
fn a_recovering_task_that_tern_still_reports_recovering_is_judged_by_evidence() {
    let report = engine(Recovering);
    assert_eq!(
        decide(&recovering(true), &report, &ctx(Sentinel::NotChecked)),
        Decision::NeedSentinel
    );
    let (_, _, reason) = expect_keep(decide(&recovering(true), &report, &ctx(PRESENT)));
    assert_eq!(reason, KeepReason::SentinelPresent);
    assert_eq!(
        decide(&recovering(true), &report, &ctx(ABSENT)),
        Decision::NeedLiveSchema
    );
}

#[test]
fn after_an_accepted_cutover_a_lost_engine_moves_the_task_on_to_cutting_over() {
    let context = ReconcileContext {
        cutover_accepted: true,
        ..ctx(Sentinel::NotChecked)
    };
    for stored in [WaitingForCutover, Recovering] {
        for report in engine_after_restart()
            .into_iter()
            .chain([engine(Recovering)])
        {
            let moved = expect_transition(decide(&task(stored), &report, &context));
            assert_eq!(moved.to, CuttingOver, "{stored} {report:?}");
            assert_eq!(moved.reason, TransitionReason::CutoverAccepted);
        }
    }
}

#[test]
fn a_running_task_reported_recovering_is_kept() {
    let (_, _, reason) = expect_keep(decide(
        &task(Running),
        &engine(Recovering),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(
        reason,
        KeepReason::NotAllowed {
            reported: Recovering
        }
    );
}

#[test]
fn waiting_without_a_sentinel_mechanism_is_kept() {
    for report in engine_after_restart() {
        let (progress_update, _, reason) = expect_keep(decide(
            &task(WaitingForCutover),
            &report,
            &ctx(Sentinel::NoMechanism),
        ));
        assert_eq!(reason, KeepReason::NoSentinelMechanism);
        assert_eq!(progress_update, None);
    }
}

#[test]
fn waiting_follows_tern_into_recovering() {
    let moved = expect_transition(decide(
        &task(WaitingForCutover),
        &engine(Recovering),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(moved.to, Recovering);
}

#[test]
fn waiting_refuses_an_engine_stop() {
    assert_eq!(
        decide(&task(WaitingForCutover), &engine(Stopped), &ctx(PRESENT)),
        Decision::RefuseDowngrade { reported: Stopped }
    );
}

// ---- recovering ----------------------------------------------------------------------------

fn recovering(ready: bool) -> Task {
    Task {
        ready_to_complete: ready,
        ..task(Recovering)
    }
}

#[test]
fn recovering_returns_to_waiting_when_spirit_reaches_the_sentinel_again() {
    for ready in [false, true] {
        let moved = expect_transition(decide(
            &recovering(ready),
            &engine_raw("waitingOnSentinelTable"),
            &ctx(Sentinel::NotChecked),
        ));
        assert_eq!(moved.to, WaitingForCutover);
        assert!(moved.ready_to_complete, "ready again");
        assert_eq!(moved.reason, TransitionReason::EngineReported);
    }
}

#[test]
fn recovering_follows_the_engine_forward_and_into_outcomes() {
    for later in [CuttingOver, RevertWindow, Completed, Reverted, Cancelled] {
        let moved = expect_transition(decide(&recovering(true), &engine(later), &ctx(PRESENT)));
        assert_eq!(moved.to, later);
    }
    let failed = expect_transition(decide(
        &recovering(true),
        &failed_with(Failed, "checksum mismatch"),
        &ctx(PRESENT),
    ));
    assert_eq!(failed.to, Failed);
    assert_eq!(failed.error_message.as_deref(), Some("checksum mismatch"));
}

#[test]
fn recovering_consults_the_sentinel_while_the_engine_catches_up() {
    for report in engine_after_restart() {
        assert_eq!(
            decide(&recovering(true), &report, &ctx(Sentinel::NotChecked)),
            Decision::NeedSentinel
        );
        let (progress_update, silent, reason) =
            expect_keep(decide(&recovering(true), &report, &ctx(PRESENT)));
        assert_eq!(reason, KeepReason::SentinelPresent);
        assert_eq!((progress_update, silent), (None, None));

        assert_eq!(
            decide(&recovering(true), &report, &ctx(ABSENT)),
            Decision::NeedLiveSchema
        );

        let (_, _, reason) = expect_keep(decide(
            &recovering(true),
            &report,
            &ctx(Sentinel::NoMechanism),
        ));
        assert_eq!(reason, KeepReason::NoSentinelMechanism);
    }
}

#[test]
fn recovering_keeps_its_bar() {
    let mut stored = recovering(true);
    stored.percent = 97;
    let (progress_update, _, _) = expect_keep(decide(
        &stored,
        &seen(Normalized::State(Recovering), 40),
        &ctx(PRESENT),
    ));
    assert_eq!(progress_update, None);
}

#[test]
fn recovering_refuses_an_engine_stop() {
    assert_eq!(
        decide(&recovering(true), &engine(Stopped), &ctx(PRESENT)),
        Decision::RefuseDowngrade { reported: Stopped }
    );
}
