//! Derivations from task states: the apply-level state and the `ready_to_complete` latch.

use super::transition::rank;
use super::State;

/// Derives an apply's state from its tasks' states. The first matching rule wins:
///
/// 1. no tasks → `pending`;
/// 2. any `failed` → `failed`; 3. any `cancelled` → `cancelled`; 4. any `stopped` → `stopped`;
///    5. any `reverted` → `reverted` (an outcome that needs attention beats progress elsewhere);
/// 6. all `completed` → `completed`;
/// 7. any `recovering` → `recovering` — above `cutting_over`: while any table is recovering, the
///    cutover must be refused, and the apply-level state is what the cutover command gates on;
/// 8. any `cutting_over` → `cutting_over`;
/// 9. all in {`waiting_for_cutover`, `completed`} with at least one waiting → `waiting_for_cutover`;
/// 10. the same for `waiting_for_deploy`;
/// 11. any `reverting` → `reverting`, then any `revert_window` → `revert_window`;
/// 12. in progress → `running`: any task `running`, or some task has got somewhere (`completed`,
///     `waiting_for_cutover`, `waiting_for_deploy`) while another has not (e.g. completed + pending
///     in sequential mode) — the apply as a whole is neither waiting nor done;
/// 13. any PlanetScale setup phase → the most advanced phase present (tables of a PlanetScale apply
///     move through the phases together, so this names the current one rather than `pending`);
/// 14. otherwise (only `pending`) → `pending`.
pub fn derive_apply_state(tasks: impl IntoIterator<Item = State>) -> State {
    use State::*;
    let states: Vec<State> = tasks.into_iter().collect();
    let has = |wanted: State| states.contains(&wanted);
    let first_present = |candidates: &[State]| candidates.iter().copied().find(|s| has(*s));
    let all_in = |allowed: &[State]| states.iter().all(|s| allowed.contains(s));

    if states.is_empty() {
        return Pending;
    }
    if let Some(outcome) = first_present(&[Failed, Cancelled, Stopped, Reverted]) {
        return outcome;
    }
    if all_in(&[Completed]) {
        return Completed;
    }
    if let Some(state) = first_present(&[Recovering, CuttingOver]) {
        return state;
    }
    for waiting in [WaitingForCutover, WaitingForDeploy] {
        if has(waiting) && all_in(&[waiting, Completed]) {
            return waiting;
        }
    }
    if let Some(state) = first_present(&[Reverting, RevertWindow]) {
        return state;
    }
    let got_somewhere = first_present(&[Completed, WaitingForCutover, WaitingForDeploy]).is_some();
    if has(Running) || got_somewhere {
        return Running;
    }
    states
        .iter()
        .copied()
        .filter(|s| is_setup_phase(*s))
        .max_by_key(|s| rank(*s))
        .unwrap_or(Pending)
}

/// The `ready_to_complete` flag after a task moves to `new_state`: it latches on entering
/// `waiting_for_cutover` (in every mode, atomic and sequential) and is never reset, so "this table
/// was ready for its cutover" survives the recovering detour and the cutover itself.
pub fn ready_to_complete_after(previous: bool, new_state: State) -> bool {
    previous || new_state == State::WaitingForCutover
}

fn is_setup_phase(state: State) -> bool {
    matches!(
        state,
        State::PreparingBranch
            | State::ApplyingBranchChanges
            | State::ValidatingBranch
            | State::CreatingDeployRequest
            | State::ValidatingDeployRequest
    )
}
