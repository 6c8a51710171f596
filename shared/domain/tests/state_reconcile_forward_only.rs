//! Reconciliation rules for cutting_over, revert_window, stopped and the PlanetScale setup
//! phases: each follows the engine to a later state or an outcome and never goes back, and a
//! terminal report the transition table forbids fails the task with an explanation.

mod common;

use common::reconcile::{
    ctx, engine, engine_raw, expect_keep, expect_transition, failed_with, seen, task, ABSENT,
};
use schemabot_domain::state::normalize::Normalized;
use schemabot_domain::state::reconcile::{
    decide, Decision, EngineObservation, KeepReason, Sentinel, TransitionReason,
};
use schemabot_domain::State;
use State::*;

// ---- cutting_over and revert_window --------------------------------------------------------

#[test]
fn cutting_over_only_moves_to_the_revert_window_or_an_outcome() {
    let stored = task(CuttingOver);
    assert_eq!(
        expect_transition(decide(&stored, &engine(RevertWindow), &ctx(ABSENT))).to,
        RevertWindow
    );
    assert_eq!(
        expect_transition(decide(&stored, &engine_raw("close"), &ctx(ABSENT))).to,
        Completed
    );
    let failed = expect_transition(decide(
        &stored,
        &failed_with(Failed, "rename failed"),
        &ctx(ABSENT),
    ));
    assert_eq!(failed.error_message.as_deref(), Some("rename failed"));

    for earlier in [WaitingForCutover, Recovering, Running, Pending, Stopped] {
        assert_eq!(
            decide(&stored, &engine(earlier), &ctx(ABSENT)),
            Decision::RefuseDowngrade { reported: earlier },
            "never back to {earlier}"
        );
    }
    let (_, _, reason) = expect_keep(decide(
        &stored,
        &EngineObservation::no_active_change(),
        &ctx(ABSENT),
    ));
    assert_eq!(reason, KeepReason::EngineIdle);
}

#[test]
fn a_terminal_report_the_table_forbids_fails_the_task_instead_of_sticking() {
    let moved = expect_transition(decide(
        &task(CuttingOver),
        &failed_with(Cancelled, "cancelled by operator"),
        &ctx(ABSENT),
    ));
    assert_eq!(moved.to, Failed);
    assert_eq!(
        moved.reason,
        TransitionReason::EngineTerminalNotAllowed {
            reported: Cancelled
        }
    );
    assert_eq!(
        moved.error_message.as_deref(),
        Some("engine reported cancelled while the task was cutting_over: cancelled by operator")
    );
}

#[test]
fn cutting_over_keeps_its_bar() {
    let mut stored = task(CuttingOver);
    stored.percent = 100;
    let (progress_update, _, reason) = expect_keep(decide(
        &stored,
        &seen(Normalized::State(CuttingOver), 0),
        &ctx(ABSENT),
    ));
    assert_eq!(reason, KeepReason::InStep);
    assert_eq!(progress_update, None);
}

#[test]
fn revert_window_only_moves_to_an_outcome() {
    let stored = task(RevertWindow);
    assert_eq!(
        expect_transition(decide(&stored, &engine(Reverted), &ctx(ABSENT))).to,
        Reverted
    );
    assert_eq!(
        expect_transition(decide(&stored, &engine(Completed), &ctx(ABSENT))).to,
        Completed
    );
    assert_eq!(
        decide(&stored, &engine(CuttingOver), &ctx(ABSENT)),
        Decision::RefuseDowngrade {
            reported: CuttingOver
        }
    );
}

// ---- stopped -------------------------------------------------------------------------------

#[test]
fn stopped_resumes_with_the_engine_or_takes_its_outcome() {
    let stored = task(Stopped);
    assert_eq!(
        expect_transition(decide(&stored, &engine_raw("copyRows"), &ctx(ABSENT))).to,
        Running
    );
    for outcome in [Completed, Failed, Cancelled] {
        assert_eq!(
            expect_transition(decide(&stored, &engine(outcome), &ctx(ABSENT))).to,
            outcome
        );
    }
    // `stopped → reverted` is not in the table: fail with an explanation instead.
    let odd = expect_transition(decide(&stored, &engine(Reverted), &ctx(ABSENT)));
    assert_eq!(odd.to, Failed);
}

#[test]
fn stopped_otherwise_stays_stopped() {
    let stored = task(Stopped);
    let (_, _, idle) = expect_keep(decide(
        &stored,
        &EngineObservation::no_active_change(),
        &ctx(Sentinel::NotChecked),
    ));
    assert_eq!(idle, KeepReason::EngineIdle);
    let (_, _, same) = expect_keep(decide(&stored, &engine(Stopped), &ctx(ABSENT)));
    assert_eq!(same, KeepReason::InStep);
    let (_, _, not_allowed) =
        expect_keep(decide(&stored, &engine(WaitingForCutover), &ctx(ABSENT)));
    assert_eq!(
        not_allowed,
        KeepReason::NotAllowed {
            reported: WaitingForCutover
        }
    );
    assert_eq!(
        decide(&stored, &engine(Pending), &ctx(ABSENT)),
        Decision::RefuseDowngrade { reported: Pending }
    );
}

// ---- PlanetScale phases --------------------------------------------------------------------

#[test]
fn setup_phases_and_deferred_deploy_move_forward_only() {
    assert_eq!(
        expect_transition(decide(
            &task(PreparingBranch),
            &engine(ApplyingBranchChanges),
            &ctx(Sentinel::NoMechanism)
        ))
        .to,
        ApplyingBranchChanges
    );
    assert_eq!(
        expect_transition(decide(
            &task(WaitingForDeploy),
            &engine(Running),
            &ctx(Sentinel::NoMechanism)
        ))
        .to,
        Running
    );
    assert_eq!(
        decide(
            &task(ValidatingDeployRequest),
            &engine(PreparingBranch),
            &ctx(Sentinel::NoMechanism)
        ),
        Decision::RefuseDowngrade {
            reported: PreparingBranch
        }
    );
    let (_, _, reason) = expect_keep(decide(
        &task(WaitingForDeploy),
        &EngineObservation::no_active_change(),
        &ctx(Sentinel::NoMechanism),
    ));
    assert_eq!(reason, KeepReason::EngineIdle);
}
