//! Reconciliation rules for terminal tasks, unknown engine values, and pending and running tasks:
//! following the engine forward, taking progress, refusing to go back, and judging a silent engine
//! by the sentinel once the grace period is over.

mod common;

use chrono::TimeDelta;
use common::reconcile::{
    ctx, engine, engine_raw, expect_keep, expect_transition, failed_with, minutes, progress,
    silent_task, t0, task, ABSENT, GRACE_MINUTES, PRESENT,
};
use schemabot_domain::state::reconcile::{
    decide, Decision, EngineObservation, KeepReason, ReconcileContext, Sentinel, TransitionReason,
    ABANDONED_MESSAGE,
};
use schemabot_domain::State;
use State::*;

// ---- terminal and unknown ------------------------------------------------------------------

#[test]
fn a_terminal_task_never_changes() {
    let reports = State::ALL
        .into_iter()
        .map(engine)
        .chain([EngineObservation::no_active_change(), engine_raw("bogus")]);
    for stored in [Completed, Failed, Cancelled, Reverted] {
        for report in reports.clone() {
            for sentinel in [Sentinel::NoMechanism, Sentinel::NotChecked, PRESENT, ABSENT] {
                let decision = decide(&task(stored), &report, &ctx(sentinel));
                assert_eq!(
                    decision,
                    Decision::Keep {
                        progress: None,
                        engine_silent_since: None,
                        reason: KeepReason::Terminal
                    },
                    "{stored} with {report:?}"
                );
            }
        }
    }
}

#[test]
fn an_unknown_engine_value_is_kept_never_read_as_running() {
    for stored in State::ALL.into_iter().filter(|s| !s.is_terminal()) {
        let since = t0() - minutes(60);
        let decision = decide(
            &silent_task(stored, since),
            &engine_raw("someNewSpiritState"),
            &ctx(Sentinel::NotChecked),
        );
        let (progress, silent, reason) = expect_keep(decision);
        assert_eq!(progress, None, "{stored}");
        assert_eq!(
            silent,
            Some(since),
            "{stored}: the silence clock is left alone"
        );
        assert_eq!(
            reason,
            KeepReason::UnknownEngineState("someNewSpiritState".into())
        );
    }
    let (_, _, reason) = expect_keep(decide(&task(Running), &engine_raw(""), &ctx(ABSENT)));
    assert_eq!(reason, KeepReason::UnknownEngineState(String::new()));
}

// ---- pending and running -------------------------------------------------------------------

#[test]
fn pending_follows_the_engine_forward() {
    let moved = expect_transition(decide(
        &task(Pending),
        &engine_raw("copyRows"),
        &ctx(ABSENT),
    ));
    assert_eq!((moved.from, moved.to), (Pending, Running));
    assert!(!moved.ready_to_complete);
    assert_eq!(moved.reason, TransitionReason::EngineReported);
    assert_eq!(moved.progress, Some(progress(60)));
}

#[test]
fn running_in_step_takes_progress_and_clears_the_silence_clock() {
    let stored = silent_task(Running, t0() - minutes(2));
    let (progress_update, silent, reason) = expect_keep(decide(
        &stored,
        &engine_raw("copyRows"),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(progress_update, Some(progress(60)));
    assert_eq!(silent, None);
    assert_eq!(reason, KeepReason::InStep);
}

#[test]
fn unchanged_progress_is_not_rewritten() {
    let mut stored = task(Running);
    stored.rows_copied = 600;
    stored.percent = 60;
    stored.eta_seconds = Some(30);
    let (progress_update, _, _) = expect_keep(decide(&stored, &engine(Running), &ctx(ABSENT)));
    assert_eq!(progress_update, None);
}

#[test]
fn a_restarted_engine_resuming_from_checkpoint_is_in_step_for_a_running_task() {
    // Spirit's `initial` is copying work.
    let (_, _, reason) = expect_keep(decide(&task(Running), &engine_raw("initial"), &ctx(ABSENT)));
    assert_eq!(reason, KeepReason::InStep);
}

#[test]
fn running_reaching_the_sentinel_latches_ready() {
    let moved = expect_transition(decide(
        &task(Running),
        &engine_raw("waitingOnSentinelTable"),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(moved.to, WaitingForCutover);
    assert!(moved.ready_to_complete);
    assert_eq!(moved.progress, Some(progress(60)));
}

#[test]
fn running_advances_to_any_later_allowed_state() {
    for later in [
        WaitingForCutover,
        CuttingOver,
        RevertWindow,
        Completed,
        Stopped,
    ] {
        let moved = expect_transition(decide(&task(Running), &engine(later), &ctx(ABSENT)));
        assert_eq!(moved.to, later);
        assert_eq!(moved.error_message, None);
    }
}

#[test]
fn a_terminal_engine_state_carries_the_engine_error() {
    let moved = expect_transition(decide(
        &task(Running),
        &failed_with(Failed, "  duplicate key  "),
        &ctx(ABSENT),
    ));
    assert_eq!(moved.to, Failed);
    assert_eq!(moved.error_message.as_deref(), Some("duplicate key"));

    let completed = expect_transition(decide(
        &task(Running),
        &failed_with(Completed, " "),
        &ctx(ABSENT),
    ));
    assert_eq!(
        completed.error_message, None,
        "a blank message is not copied"
    );
}

#[test]
fn running_refuses_an_earlier_engine_state() {
    for earlier in [PreparingBranch, ValidatingDeployRequest, WaitingForDeploy] {
        assert_eq!(
            decide(&task(Running), &engine(earlier), &ctx(ABSENT)),
            Decision::RefuseDowngrade { reported: earlier }
        );
    }
}

#[test]
fn running_cannot_enter_recovering_even_if_tern_says_so() {
    let (progress_update, _, reason) =
        expect_keep(decide(&task(Running), &engine(Recovering), &ctx(ABSENT)));
    assert_eq!(
        reason,
        KeepReason::NotAllowed {
            reported: Recovering
        }
    );
    assert_eq!(progress_update, Some(progress(60)));
}

#[test]
fn a_silent_engine_starts_the_clock_for_a_running_task() {
    for report in [
        EngineObservation::no_active_change(),
        engine(Pending),
        engine_raw("queued"),
    ] {
        let (progress_update, silent, reason) =
            expect_keep(decide(&task(Running), &report, &ctx(Sentinel::NotChecked)));
        assert_eq!(progress_update, None);
        assert_eq!(silent, Some(t0()));
        assert_eq!(reason, KeepReason::EngineSilent);
    }
}

#[test]
fn within_the_grace_period_the_clock_keeps_its_start() {
    let since = t0() - minutes(GRACE_MINUTES - 1);
    let (_, silent, reason) = expect_keep(decide(
        &silent_task(Running, since),
        &EngineObservation::no_active_change(),
        &ctx(ABSENT),
    ));
    assert_eq!(silent, Some(since));
    assert_eq!(reason, KeepReason::EngineSilent);
}

#[test]
fn after_the_grace_period_the_sentinel_decides() {
    let stored = silent_task(Running, t0() - minutes(GRACE_MINUTES));
    let silence = EngineObservation::no_active_change();

    assert_eq!(
        decide(&stored, &silence, &ctx(Sentinel::NotChecked)),
        Decision::NeedSentinel
    );

    let (_, silent, reason) = expect_keep(decide(&stored, &silence, &ctx(PRESENT)));
    assert_eq!(reason, KeepReason::SentinelPresent);
    assert_eq!(silent, stored.engine_silent_since, "clock keeps running");

    for sentinel in [ABSENT, Sentinel::NoMechanism] {
        let failed = expect_transition(decide(&stored, &silence, &ctx(sentinel)));
        assert_eq!(failed.to, Failed);
        assert_eq!(failed.error_message.as_deref(), Some(ABANDONED_MESSAGE));
        assert_eq!(failed.reason, TransitionReason::Abandoned);
    }
}

#[test]
fn a_zero_grace_period_judges_at_once() {
    let context = ReconcileContext {
        silence_grace: TimeDelta::zero(),
        ..ctx(Sentinel::NotChecked)
    };
    assert_eq!(
        decide(
            &task(Running),
            &EngineObservation::no_active_change(),
            &context
        ),
        Decision::NeedSentinel
    );
}

#[test]
fn the_engine_reporting_again_clears_the_clock() {
    let stored = silent_task(Running, t0() - minutes(30));
    let (_, silent, _) = expect_keep(decide(&stored, &engine(Running), &ctx(ABSENT)));
    assert_eq!(silent, None);
}

#[test]
fn a_pending_task_is_not_judged_by_silence() {
    for report in [EngineObservation::no_active_change(), engine(Pending)] {
        let (_, silent, reason) = expect_keep(decide(&task(Pending), &report, &ctx(ABSENT)));
        assert_eq!(silent, None);
        assert!(matches!(
            reason,
            KeepReason::EngineIdle | KeepReason::InStep
        ));
    }
}
