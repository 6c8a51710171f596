//! Apply-state derivation (every case of SchemaBot's DeriveApplyState tests, plus recovering
//! and our documented choices) and the ready_to_complete latch.

use proptest::prelude::*;
use schemabot_domain::state::derive::{derive_apply_state, ready_to_complete_after};
use schemabot_domain::state::normalize::normalize;
use schemabot_domain::State;
use State::*;

fn derive(states: &[State]) -> State {
    derive_apply_state(states.iter().copied())
}

/// Those tests take raw strings; here they go through `normalize` first.
fn derive_raw(raw: &[&str]) -> State {
    derive_apply_state(raw.iter().filter_map(|r| normalize(r).state()))
}

fn assert_all(cases: &[&[State]], expected: State) {
    for states in cases {
        assert_eq!(derive(states), expected, "input: {states:?}");
    }
}

#[test]
fn empty_is_pending() {
    assert_eq!(derive(&[]), Pending);
    assert_eq!(derive_apply_state(Vec::new()), Pending);
}

#[test]
fn all_pending_is_pending() {
    assert_eq!(derive(&[Pending, Pending, Pending]), Pending);
}

#[test]
fn all_completed_is_completed() {
    assert_eq!(derive(&[Completed, Completed, Completed]), Completed);
}

#[test]
fn any_failed_is_failed() {
    assert_all(
        &[
            &[Failed],
            &[Running, Failed],
            &[Completed, Failed],
            &[WaitingForCutover, Failed, Completed],
            &[Pending, Running, Failed],
            &[Cancelled, Failed],
            &[Recovering, Failed],
        ],
        Failed,
    );
}

#[test]
fn any_cancelled_is_cancelled() {
    assert_all(
        &[
            &[Cancelled],
            &[Completed, Cancelled],
            &[Stopped, Cancelled],
            &[Pending, Cancelled, Running],
        ],
        Cancelled,
    );
}

#[test]
fn any_stopped_is_stopped() {
    assert_all(
        &[
            &[Stopped],
            &[Running, Stopped],
            &[Completed, Stopped],
            &[WaitingForCutover, Stopped],
            &[Recovering, Stopped],
            &[Reverted, Stopped],
        ],
        Stopped,
    );
}

#[test]
fn any_reverted_is_reverted() {
    assert_all(&[&[Reverted], &[Completed, Reverted]], Reverted);
}

#[test]
fn any_running_is_running() {
    assert_all(
        &[
            &[Running],
            &[Pending, Running],
            &[Running, Pending, Pending],
            &[Completed, Running, Pending],
            &[WaitingForCutover, Running],
        ],
        Running,
    );
}

#[test]
fn waiting_for_deploy_all_or_with_completed() {
    assert_eq!(
        derive(&[WaitingForDeploy, WaitingForDeploy]),
        WaitingForDeploy
    );
    assert_eq!(derive(&[Completed, WaitingForDeploy]), WaitingForDeploy);
}

#[test]
fn waiting_for_cutover_all_or_with_completed() {
    assert_eq!(
        derive(&[WaitingForCutover, WaitingForCutover, WaitingForCutover]),
        WaitingForCutover
    );
    assert_eq!(
        derive(&[Completed, WaitingForCutover, WaitingForCutover]),
        WaitingForCutover
    );
}

#[test]
fn any_cutting_over_is_cutting_over() {
    assert_all(
        &[
            &[CuttingOver],
            &[CuttingOver, CuttingOver],
            &[WaitingForCutover, CuttingOver],
            &[Completed, CuttingOver],
            &[Running, CuttingOver],
        ],
        CuttingOver,
    );
}

#[test]
fn any_revert_window_is_revert_window() {
    assert_all(&[&[RevertWindow], &[Completed, RevertWindow]], RevertWindow);
}

#[test]
fn mixed_modes() {
    // Independent/sequential: one done, one copying, one queued.
    assert_eq!(derive(&[Completed, Running, Pending]), Running);
    // Atomic: all wait together.
    assert_eq!(
        derive(&[WaitingForCutover, WaitingForCutover, WaitingForCutover]),
        WaitingForCutover
    );
}

#[test]
fn raw_strings_in_any_case() {
    assert_eq!(derive_raw(&["running", "pending"]), Running);
    assert_eq!(derive_raw(&["RUNNING", "pending", "COMPLETED"]), Running);
    assert_eq!(derive_raw(&["complete"]), Completed);
    assert_eq!(derive_raw(&["COMPLETE"]), Completed);
    assert_eq!(derive_raw(&["completed"]), Completed);
    assert_eq!(
        derive_raw(&["STATE_WAITING_FOR_CUTOVER", "waitingOnSentinelTable"]),
        WaitingForCutover
    );
}

#[test]
fn reference_scenarios() {
    assert_eq!(derive(&[Completed]), Completed); // single instant DDL
    assert_eq!(derive(&[Running]), Running); // single copy
    assert_eq!(derive(&[Completed, Failed, Running]), Failed); // partial failure
    assert_eq!(derive(&[Completed, Stopped, Pending]), Stopped); // user stopped
}

#[test]
fn recovering_ranks_above_cutting_over_and_waiting() {
    assert_all(
        &[
            &[Recovering],
            &[Recovering, WaitingForCutover],
            &[WaitingForCutover, Recovering, WaitingForCutover],
            &[Recovering, CuttingOver],
            &[Recovering, Completed],
            &[Recovering, Running],
            &[Recovering, RevertWindow],
            &[Pending, Recovering],
        ],
        Recovering,
    );
    // Outcomes needing attention still win.
    assert_eq!(derive(&[Recovering, Failed]), Failed);
    assert_eq!(derive(&[Recovering, Cancelled]), Cancelled);
    assert_eq!(derive(&[Recovering, Stopped]), Stopped);
    assert_eq!(derive(&[Recovering, Reverted]), Reverted);
}

#[test]
fn progress_alongside_unstarted_tables_is_running() {
    assert_eq!(derive(&[Completed, Pending]), Running);
    assert_eq!(derive(&[WaitingForCutover, Pending]), Running);
    assert_eq!(derive(&[WaitingForDeploy, Pending]), Running);
    assert_eq!(derive(&[WaitingForCutover, WaitingForDeploy]), Running);
}

#[test]
fn planetscale_setup_phases_surface_the_most_advanced_one() {
    assert_eq!(derive(&[PreparingBranch]), PreparingBranch);
    assert_eq!(
        derive(&[Pending, ValidatingBranch, CreatingDeployRequest]),
        CreatingDeployRequest
    );
    assert_eq!(derive(&[Running, ValidatingDeployRequest]), Running);
}

#[test]
fn a_single_task_gives_its_own_state() {
    for state in State::ALL {
        assert_eq!(derive(&[state]), state, "{state}");
        assert_eq!(derive(&[state, state, state]), state, "{state} x3");
    }
}

#[test]
fn ready_to_complete_latches_on_waiting_for_cutover_and_never_resets() {
    for state in State::ALL {
        assert!(ready_to_complete_after(true, state), "reset by {state}");
        assert_eq!(
            ready_to_complete_after(false, state),
            state == WaitingForCutover,
            "{state}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn derivation_ignores_task_order(
        states in prop::collection::vec(prop::sample::select(State::ALL.to_vec()), 0..8),
        seed in any::<u64>(),
    ) {
        let mut shuffled = states.clone();
        // A cheap deterministic permutation driven by the seed.
        let len = shuffled.len();
        if len > 1 {
            for i in 0..len {
                let j = ((seed >> (i % 32)) as usize + i * 7) % len;
                shuffled.swap(i, j);
            }
        }
        prop_assert_eq!(derive(&states), derive(&shuffled));
    }

    #[test]
    fn derivation_returns_a_state_of_some_task_or_running(
        states in prop::collection::vec(prop::sample::select(State::ALL.to_vec()), 1..8),
    ) {
        let derived = derive(&states);
        prop_assert!(states.contains(&derived) || derived == Running, "{states:?} -> {derived}");
    }
}
