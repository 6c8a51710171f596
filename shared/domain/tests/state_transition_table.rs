//! All 18×18 state pairs against the intended transition table, written out as data.

use schemabot_domain::state::transition::{is_allowed, predecessors, rank};
use schemabot_domain::State;
use State::*;

/// Where a live change may go before its swap starts: fail, stop or cancel.
const BEFORE_SWAP_EXITS: [State; 3] = [Failed, Stopped, Cancelled];
/// Forward states from the copy onwards, and every terminal outcome.
const FROM_COPY_ON: [State; 7] = [
    WaitingForCutover,
    CuttingOver,
    RevertWindow,
    Completed,
    Failed,
    Cancelled,
    Reverted,
];

/// The intended table: for each state, every state it may move to.
fn intended(from: State) -> Vec<State> {
    let setup_then = |later_phases: &[State]| {
        let mut to = later_phases.to_vec();
        to.extend([WaitingForDeploy, Running]);
        to.extend(FROM_COPY_ON);
        to.extend(BEFORE_SWAP_EXITS);
        to
    };
    match from {
        Pending => setup_then(&[
            PreparingBranch,
            ApplyingBranchChanges,
            ValidatingBranch,
            CreatingDeployRequest,
            ValidatingDeployRequest,
        ]),
        PreparingBranch => setup_then(&[
            ApplyingBranchChanges,
            ValidatingBranch,
            CreatingDeployRequest,
            ValidatingDeployRequest,
        ]),
        ApplyingBranchChanges => setup_then(&[
            ValidatingBranch,
            CreatingDeployRequest,
            ValidatingDeployRequest,
        ]),
        ValidatingBranch => setup_then(&[CreatingDeployRequest, ValidatingDeployRequest]),
        CreatingDeployRequest => setup_then(&[ValidatingDeployRequest]),
        ValidatingDeployRequest => setup_then(&[]),
        // A deferred deploy, once deployed, runs.
        WaitingForDeploy => {
            let mut to = vec![Running];
            to.extend(FROM_COPY_ON);
            to.extend(BEFORE_SWAP_EXITS);
            to
        }
        Running => {
            let mut to = FROM_COPY_ON.to_vec();
            to.extend(BEFORE_SWAP_EXITS);
            to
        }
        // The sentinel wait may detour through recovering and back, never back to copying.
        WaitingForCutover => {
            let mut to = vec![Recovering];
            to.extend(FROM_COPY_ON.into_iter().filter(|s| *s != WaitingForCutover));
            to.extend(BEFORE_SWAP_EXITS);
            to
        }
        Recovering => {
            let mut to = FROM_COPY_ON.to_vec();
            to.extend(BEFORE_SWAP_EXITS);
            to
        }
        // Once the swap has started, no stop and no cancel.
        CuttingOver => vec![RevertWindow, Completed, Failed, Reverted],
        RevertWindow => vec![Reverting, Completed, Failed, Reverted],
        Reverting => vec![Reverted, Failed],
        // Resume (sequential → pending, atomic → running), finish on re-plan, fail, or cancel.
        Stopped => vec![Pending, Running, Completed, Failed, Cancelled],
        Completed | Failed | Cancelled | Reverted => vec![],
    }
}

#[test]
fn every_pair_matches_the_intended_table() {
    let mut mismatches = Vec::new();
    for from in State::ALL {
        let allowed = intended(from);
        for to in State::ALL {
            let expected = allowed.contains(&to) && from != to;
            if is_allowed(from, to) != expected {
                mismatches.push(format!("{from} -> {to}: expected {expected}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn staying_put_is_never_a_transition() {
    for state in State::ALL {
        assert!(!is_allowed(state, state), "{state}");
    }
}

#[test]
fn no_allowed_transition_lowers_rank_except_stop_and_resume() {
    for from in State::ALL {
        for to in State::ALL.into_iter().filter(|to| is_allowed(from, *to)) {
            // Deliberate commands only: a stop of a waiting/recovering change, and the resume of a
            // stopped sequential apply at pending. Reconciliation makes neither move.
            if to == Stopped || (from, to) == (Stopped, Pending) {
                continue;
            }
            assert!(rank(to) >= rank(from), "{from} -> {to}");
        }
    }
}

#[test]
fn predecessors_agree_with_is_allowed() {
    for to in State::ALL {
        let expected: Vec<State> = State::ALL
            .into_iter()
            .filter(|from| intended(*from).contains(&to) && *from != to)
            .collect();
        assert_eq!(predecessors(to), expected, "predecessors of {to}");
    }
}
