//! Property test: drive one task through `decide` with random engine reports (including unknown
//! strings and "no active change"), random sentinel and live-schema evidence whenever it is asked
//! for, and random time steps, and check the invariants after every step.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use schemabot_domain::apply::Task;
use schemabot_domain::state::normalize::{normalize, Normalized};
use schemabot_domain::state::reconcile::{
    decide, Decision, EngineObservation, LiveSchema, LiveSchemaEvidence, ReconcileContext,
    Sentinel, SentinelEvidence,
};
use schemabot_domain::state::transition::{is_allowed, rank};
use schemabot_domain::{ApplyId, State, TaskId};
use State::*;

/// Engine values seen in the wild, plus proto names, storage names and garbage.
const KNOWN_RAW: &[&str] = &[
    "initial",
    "copyRows",
    "applyChangeset",
    "restoreSecondaryIndexes",
    "analyzeTable",
    "checksum",
    "postChecksum",
    "errCleanup",
    "waitingOnSentinelTable",
    "cutOver",
    "close",
    "queued",
    "ready",
    "requested",
    "running",
    "complete",
    "failed",
    "cancelled",
    "ready_to_complete",
    "STATE_NO_ACTIVE_CHANGE",
    "no_active_change",
    "STATE_WAITING_FOR_CUTOVER",
    "STATE_CUTTING_OVER",
    "STATE_PENDING",
    "STATE_RUNNING",
    "STATE_STOPPED",
    "STATE_RECOVERING",
    "STATE_REVERTING",
    "",
    "unknown",
    "bogus",
];

#[derive(Debug, Clone)]
struct Step {
    raw_state: String,
    percent: u8,
    rows_copied: u64,
    eta_seconds: Option<u64>,
    error_message: Option<String>,
    sentinel_present: bool,
    schema_live: bool,
    advance_seconds: i64,
}

fn raw_state() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KNOWN_RAW).prop_map(str::to_owned),
        3 => prop::sample::select(State::ALL.to_vec()).prop_map(|s| s.as_str().to_owned()),
        1 => "[a-zA-Z_]{0,12}",
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        raw_state(),
        0u8..=120,
        0u64..2_000,
        prop::option::of(0u64..10_000),
        prop::option::of(prop::sample::select(vec!["boom", "", "lock wait timeout"])),
        any::<bool>(),
        any::<bool>(),
        0i64..=900,
    )
        .prop_map(
            |(
                raw_state,
                percent,
                rows_copied,
                eta_seconds,
                error,
                sentinel_present,
                schema_live,
                advance,
            )| {
                Step {
                    raw_state,
                    percent,
                    rows_copied,
                    eta_seconds,
                    error_message: error.map(str::to_owned),
                    sentinel_present,
                    schema_live,
                    advance_seconds: advance,
                }
            },
        )
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp")
}

fn initial_task(state: State, ready: bool, percent: u8, silent_for: Option<i64>) -> Task {
    Task {
        apply_id: ApplyId::from_random(7),
        task_id: TaskId::from_random(8),
        namespace: "app".into(),
        table: "orders".into(),
        ddl: "ALTER TABLE orders ADD INDEX (created_at)".into(),
        state,
        version: 1,
        ready_to_complete: ready || state == WaitingForCutover,
        rows_copied: u64::from(percent) * 10,
        rows_total: 1000,
        percent,
        eta_seconds: None,
        checksum: None,
        error_message: None,
        started_at: None,
        completed_at: None,
        engine_silent_since: silent_for.map(|seconds| t0() - TimeDelta::seconds(seconds)),
    }
}

fn holds_the_bar(state: State) -> bool {
    matches!(state, WaitingForCutover | Recovering | CuttingOver)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn reconciliation_never_breaks_the_state_invariants(
        initial_state in prop::sample::select(State::ALL.to_vec()),
        initial_ready in any::<bool>(),
        initial_percent in 0u8..=100,
        initial_silence in prop::option::of(0i64..3_600),
        has_sentinel_mechanism in any::<bool>(),
        grace_seconds in 0i64..=1_800,
        steps in prop::collection::vec(step(), 1..40),
    ) {
        let mut task = initial_task(initial_state, initial_ready, initial_percent, initial_silence);
        let mut now = t0();
        let unchecked = if has_sentinel_mechanism { Sentinel::NotChecked } else { Sentinel::NoMechanism };

        for step in steps {
            now += TimeDelta::seconds(step.advance_seconds);
            let observation = EngineObservation {
                state: normalize(&step.raw_state),
                rows_copied: step.rows_copied,
                rows_total: 2_000,
                percent: step.percent,
                eta_seconds: step.eta_seconds,
                checksum: None,
                error_message: step.error_message.clone(),
            };
            let context = |sentinel, live_schema| ReconcileContext {
                now,
                silence_grace: TimeDelta::seconds(grace_seconds),
                sentinel,
                live_schema,
                cutover_accepted: false,
            };

            let mut decision = decide(&task, &observation, &context(unchecked, LiveSchema::NotChecked));
            if decision == Decision::NeedSentinel {
                prop_assert!(has_sentinel_mechanism, "asked for a sentinel that cannot exist");
                let evidence = if step.sentinel_present {
                    SentinelEvidence::Present
                } else {
                    SentinelEvidence::Absent
                };
                decision = decide(&task, &observation, &context(Sentinel::Checked(evidence), LiveSchema::NotChecked));
                prop_assert_ne!(&decision, &Decision::NeedSentinel, "asked twice");
                if decision == Decision::NeedLiveSchema {
                    prop_assert!(!step.sentinel_present, "live schema asked with the sentinel present");
                    let live = if step.schema_live {
                        LiveSchemaEvidence::Matches
                    } else {
                        LiveSchemaEvidence::Differs { remaining: vec!["ALTER TABLE orders".into()] }
                    };
                    decision = decide(&task, &observation, &context(Sentinel::Checked(evidence), LiveSchema::Checked(live)));
                    prop_assert!(
                        matches!(&decision, Decision::Transition(t) if t.to == if step.schema_live { Completed } else { Failed }),
                        "live-schema evidence must settle the task: {:?}", decision
                    );
                }
            }
            prop_assert_ne!(&decision, &Decision::NeedLiveSchema, "live schema asked without the sentinel check");

            if let Decision::Transition(moved) = &decision {
                prop_assert_eq!(moved.from, task.state);
                prop_assert!(is_allowed(moved.from, moved.to), "{} -> {}", moved.from, moved.to);
            }

            let before = task.clone();
            decision.apply_to(&mut task);
            let (from, to) = (before.state, task.state);

            if from.is_terminal() {
                prop_assert_eq!(&task, &before, "a terminal task changed");
            }
            if matches!(observation.state, Normalized::Unknown(_)) {
                prop_assert_eq!(&task, &before, "an unknown report changed the task");
            }
            if from != to {
                let detour = matches!(
                    (from, to),
                    (WaitingForCutover, Recovering) | (Recovering, WaitingForCutover)
                );
                prop_assert!(detour || rank(to) >= rank(from), "{} -> {} lowers the rank", from, to);
                prop_assert!(is_allowed(from, to));
            }
            prop_assert!(!before.ready_to_complete || task.ready_to_complete, "ready reset");
            if to == WaitingForCutover && from != WaitingForCutover {
                prop_assert!(task.ready_to_complete, "entered waiting without ready");
            }
            if holds_the_bar(to) {
                prop_assert!(
                    task.percent >= before.percent,
                    "percent fell from {} to {} in {}", before.percent, task.percent, to
                );
            }
            prop_assert!(task.percent <= 100);
        }
    }
}
