//! One test per reconciliation rule, plus an exhaustive sweep of stored state × engine report ×
//! sentinel knowledge × silence.

use chrono::{DateTime, TimeDelta, Utc};
use schemabot_domain::apply::Task;
use schemabot_domain::state::normalize::{normalize, Normalized};
use schemabot_domain::state::reconcile::{
    decide, Decision, EngineObservation, KeepReason, LiveSchema, LiveSchemaEvidence,
    ProgressUpdate, ReconcileContext, Sentinel, SentinelEvidence, Transition, TransitionReason,
    ABANDONED_MESSAGE, RECONCILE_RUNBOOK, VERIFIED_LIVE_MESSAGE,
};
use schemabot_domain::state::transition::is_allowed;
use schemabot_domain::{ApplyId, State, TaskId};
use State::*;

const PRESENT: Sentinel = Sentinel::Checked(SentinelEvidence::Present);
const ABSENT: Sentinel = Sentinel::Checked(SentinelEvidence::Absent);
const GRACE_MINUTES: i64 = 5;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp")
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn task(state: State) -> Task {
    Task {
        apply_id: ApplyId::from_random(1),
        task_id: TaskId::from_random(2),
        namespace: "app".into(),
        table: "users".into(),
        ddl: "ALTER TABLE users ADD COLUMN nickname varchar(64)".into(),
        state,
        version: 3,
        ready_to_complete: state == WaitingForCutover,
        rows_copied: 500,
        rows_total: 1000,
        percent: 50,
        eta_seconds: Some(60),
        checksum: None,
        error_message: None,
        started_at: Some(t0()),
        completed_at: None,
        engine_silent_since: None,
    }
}

fn silent_task(state: State, since: DateTime<Utc>) -> Task {
    Task {
        engine_silent_since: Some(since),
        ..task(state)
    }
}

fn seen(state: Normalized, percent: u8) -> EngineObservation {
    EngineObservation {
        state,
        rows_copied: u64::from(percent) * 10,
        rows_total: 1000,
        percent,
        eta_seconds: Some(30),
        checksum: None,
        error_message: None,
    }
}

fn engine(state: State) -> EngineObservation {
    seen(Normalized::State(state), 60)
}

fn engine_raw(raw: &str) -> EngineObservation {
    seen(normalize(raw), 60)
}

fn failed_with(state: State, message: &str) -> EngineObservation {
    EngineObservation {
        error_message: Some(message.into()),
        ..engine(state)
    }
}

fn ctx(sentinel: Sentinel) -> ReconcileContext {
    ReconcileContext {
        now: t0(),
        silence_grace: minutes(GRACE_MINUTES),
        sentinel,
        live_schema: LiveSchema::NotChecked,
        cutover_accepted: false,
    }
}

fn ctx_live(evidence: LiveSchemaEvidence) -> ReconcileContext {
    ReconcileContext {
        live_schema: LiveSchema::Checked(evidence),
        ..ctx(ABSENT)
    }
}

fn differs() -> LiveSchemaEvidence {
    LiveSchemaEvidence::Differs {
        remaining: vec!["ALTER TABLE `users` ADD COLUMN `nickname` varchar(64)".into()],
    }
}

fn progress(percent: u8) -> ProgressUpdate {
    ProgressUpdate {
        rows_copied: u64::from(percent) * 10,
        rows_total: 1000,
        percent,
        eta_seconds: Some(30),
        checksum: None,
    }
}

#[track_caller]
fn expect_transition(decision: Decision) -> Transition {
    match decision {
        Decision::Transition(transition) => {
            assert!(
                is_allowed(transition.from, transition.to),
                "{} -> {} is not allowed",
                transition.from,
                transition.to
            );
            transition
        }
        other => panic!("expected a transition, got {other:?}"),
    }
}

#[track_caller]
fn expect_keep(decision: Decision) -> (Option<ProgressUpdate>, Option<DateTime<Utc>>, KeepReason) {
    match decision {
        Decision::Keep {
            progress,
            engine_silent_since,
            reason,
        } => (progress, engine_silent_since, reason),
        other => panic!("expected keep, got {other:?}"),
    }
}

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

// ---- applying a decision -------------------------------------------------------------------

#[test]
fn applying_a_decision_updates_the_record() {
    let mut record = silent_task(Running, t0() - minutes(1));
    let decision = decide(&record, &engine_raw("waitingOnSentinelTable"), &ctx(ABSENT));
    decision.apply_to(&mut record);
    assert_eq!(record.state, WaitingForCutover);
    assert!(record.ready_to_complete);
    assert_eq!(record.percent, 60);
    assert_eq!(record.engine_silent_since, None);

    let mut silent = task(Running);
    decide(
        &silent,
        &EngineObservation::no_active_change(),
        &ctx(ABSENT),
    )
    .apply_to(&mut silent);
    assert_eq!(silent.engine_silent_since, Some(t0()));
    assert_eq!(silent.state, Running);

    let mut untouched = task(CuttingOver);
    let before = untouched.clone();
    Decision::RefuseDowngrade { reported: Running }.apply_to(&mut untouched);
    Decision::NeedSentinel.apply_to(&mut untouched);
    assert_eq!(untouched, before);
}

// ---- exhaustive sweep ----------------------------------------------------------------------

#[test]
fn every_decision_respects_the_table_and_asks_for_the_sentinel_only_when_unknown() {
    let reports: Vec<EngineObservation> = State::ALL
        .into_iter()
        .map(engine)
        .chain([EngineObservation::no_active_change(), engine_raw("bogus")])
        .collect();
    let contexts: Vec<ReconcileContext> = [Sentinel::NoMechanism, Sentinel::NotChecked, PRESENT]
        .into_iter()
        .map(ctx)
        .chain([
            ctx(ABSENT),
            ctx_live(LiveSchemaEvidence::Matches),
            ctx_live(differs()),
            ReconcileContext {
                cutover_accepted: true,
                ..ctx(Sentinel::NotChecked)
            },
        ])
        .collect();
    let clocks = [None, Some(t0()), Some(t0() - minutes(GRACE_MINUTES * 3))];
    let mut checked = 0;
    for stored in State::ALL {
        for ready in [false, true] {
            for clock in clocks {
                let record = Task {
                    ready_to_complete: ready,
                    engine_silent_since: clock,
                    ..task(stored)
                };
                for report in &reports {
                    for context in &contexts {
                        checked += 1;
                        match decide(&record, report, context) {
                            Decision::Transition(moved) => {
                                assert_eq!(moved.from, stored);
                                assert!(is_allowed(stored, moved.to), "{stored} -> {}", moved.to);
                                assert!(!ready || moved.ready_to_complete, "latch reset");
                                if moved.to == WaitingForCutover {
                                    assert!(moved.ready_to_complete);
                                }
                            }
                            Decision::NeedSentinel => {
                                assert_eq!(context.sentinel, Sentinel::NotChecked);
                                assert!(!context.cutover_accepted || stored == Running);
                                assert!(matches!(stored, Running | WaitingForCutover | Recovering));
                            }
                            Decision::NeedLiveSchema => {
                                assert_eq!(context.sentinel, ABSENT);
                                assert_eq!(context.live_schema, LiveSchema::NotChecked);
                                assert!(matches!(stored, WaitingForCutover | Recovering));
                            }
                            Decision::RefuseDowngrade { reported } => {
                                assert_eq!(report.state, Normalized::State(reported));
                            }
                            Decision::Keep { .. } => {}
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 18 * 2 * 3 * 20 * 7);
}
