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
    let states: Vec<State> = tasks.into_iter().collect();
    let has = |wanted: State| states.contains(&wanted);
    let all_in = |allowed: &[State]| states.iter().all(|s| allowed.contains(s));

    if states.is_empty() {
        return State::Pending;
    }
    for outcome in [
        State::Failed,
        State::Cancelled,
        State::Stopped,
        State::Reverted,
    ] {
        if has(outcome) {
            return outcome;
        }
    }
    if all_in(&[State::Completed]) {
        return State::Completed;
    }
    if has(State::Recovering) {
        return State::Recovering;
    }
    if has(State::CuttingOver) {
        return State::CuttingOver;
    }
    for waiting in [State::WaitingForCutover, State::WaitingForDeploy] {
        if has(waiting) && all_in(&[waiting, State::Completed]) {
            return waiting;
        }
    }
    if has(State::Reverting) {
        return State::Reverting;
    }
    if has(State::RevertWindow) {
        return State::RevertWindow;
    }
    let got_somewhere = [
        State::Completed,
        State::WaitingForCutover,
        State::WaitingForDeploy,
    ]
    .into_iter()
    .any(has);
    if has(State::Running) || got_somewhere {
        return State::Running;
    }
    states
        .iter()
        .copied()
        .filter(|s| is_setup_phase(*s))
        .max_by_key(|s| rank(*s))
        .unwrap_or(State::Pending)
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
