//! Reconciliation decisions as a whole: applying one updates the stored task, and an exhaustive
//! sweep of stored state × ready latch × silence × engine report × sentinel and live-schema
//! evidence checks that every decision respects the transition table and asks for evidence only
//! when it is missing.

mod common;

use common::reconcile::{
    ctx, ctx_live, differs, engine, engine_raw, minutes, silent_task, t0, task, ABSENT,
    GRACE_MINUTES, PRESENT,
};
use schemabot_domain::apply::Task;
use schemabot_domain::state::normalize::Normalized;
use schemabot_domain::state::reconcile::{
    decide, Decision, EngineObservation, LiveSchema, LiveSchemaEvidence, ReconcileContext, Sentinel,
};
use schemabot_domain::state::transition::is_allowed;
use schemabot_domain::State;
use State::*;

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
