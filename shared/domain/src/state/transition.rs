//! The explicit table of allowed state transitions.
//!
//! The store turns [`predecessors`] into a DynamoDB condition (`#state IN (...)`), so a write that
//! would move a task or apply backwards is refused by DynamoDB itself, not only by Rust code.

use super::State;
use State::*;

/// How far along the normal path a state is. Used to express "never downgrade": progress polling
/// may only move to a state of equal-or-higher rank (the `waiting_for_cutover` ⇄ `recovering`
/// detour shares one rank). Terminal states rank highest.
///
/// `waiting_for_deploy` sits *before* `running`: PlanetScale reports it while a validated deploy
/// request waits to be deployed (deferred deploy); once deployed the change runs (`running`) and
/// may then wait for its cutover. `stopped` shares `running`'s rank: a stop is a pause, not progress.
pub fn rank(state: State) -> u8 {
    match state {
        Pending => 0,
        PreparingBranch => 1,
        ApplyingBranchChanges => 2,
        ValidatingBranch => 3,
        CreatingDeployRequest => 4,
        ValidatingDeployRequest => 5,
        WaitingForDeploy => 6,
        Running | Stopped => 7,
        WaitingForCutover | Recovering => 8,
        CuttingOver => 9,
        RevertWindow => 10,
        Reverting => 11,
        Completed | Failed | Cancelled | Reverted => 12,
    }
}

/// Whether `from → to` is an allowed transition. Staying in the same state is not a transition.
pub fn is_allowed(from: State, to: State) -> bool {
    if from == to || from.is_terminal() {
        return false;
    }
    match (from, to) {
        // Any live change may fail; a stop/cancel applies before the swap starts.
        (_, Failed) => true,
        (CuttingOver | RevertWindow | Reverting, Stopped | Cancelled) => false,
        (_, Stopped | Cancelled) => from != Stopped || to == Cancelled,
        // A stopped change resumes (atomic → running, sequential → pending) or finishes on re-plan.
        (Stopped, Pending | Running | Completed) => true,
        (Stopped, _) => false,
        // Crash-recovery detour: only from/to the sentinel wait, or forward.
        (WaitingForCutover, Recovering) => true,
        (Recovering, WaitingForCutover | CuttingOver | RevertWindow | Completed | Reverted) => true,
        // A revert starts only from its window and ends reverted (or failed).
        (RevertWindow, Reverting) => true,
        (_, Reverting) => false,
        (Reverting, to) => to == Reverted,
        (Recovering, _) => false,
        (_, Recovering) => false,
        // Everything else moves forward only.
        _ => rank(to) > rank(from),
    }
}

/// Every state from which `to` may be entered, in a fixed order (for write conditions).
pub fn predecessors(to: State) -> Vec<State> {
    State::ALL
        .into_iter()
        .filter(|from| is_allowed(*from, to))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_have_no_exit() {
        for from in State::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in State::ALL {
                assert!(!is_allowed(from, to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn progress_never_moves_back_from_the_sentinel_wait() {
        for to in [Pending, Running, WaitingForDeploy] {
            assert!(!is_allowed(WaitingForCutover, to), "waiting -> {to}");
            assert!(!is_allowed(CuttingOver, to), "cutting_over -> {to}");
            assert!(!is_allowed(Recovering, to), "recovering -> {to}");
        }
        assert!(!is_allowed(Running, Pending));
        assert!(!is_allowed(CuttingOver, WaitingForCutover));
    }

    #[test]
    fn the_recovery_detour_is_allowed_both_ways() {
        assert!(is_allowed(WaitingForCutover, Recovering));
        assert!(is_allowed(Recovering, WaitingForCutover));
        assert!(is_allowed(Recovering, CuttingOver));
        assert!(!is_allowed(Running, Recovering));
    }

    #[test]
    fn predecessors_of_cutting_over_are_the_waiting_states() {
        let p = predecessors(CuttingOver);
        assert!(p.contains(&WaitingForCutover) && p.contains(&Recovering));
        assert!(!p.contains(&Completed));
    }

    #[test]
    fn a_deferred_deploy_runs_once_deployed() {
        assert!(is_allowed(WaitingForDeploy, Running));
        assert!(is_allowed(ValidatingDeployRequest, WaitingForDeploy));
        assert!(!is_allowed(Running, WaitingForDeploy));
        assert!(is_allowed(WaitingForDeploy, WaitingForCutover));
    }

    #[test]
    fn stopped_resumes_or_finishes() {
        assert!(is_allowed(Stopped, Running));
        assert!(is_allowed(Stopped, Pending));
        assert!(is_allowed(Running, Stopped));
        assert!(!is_allowed(CuttingOver, Stopped));
    }
}
