//! Apply and task states, their normalisation from engine strings, the allowed transitions,
//! apply-state derivation and the pure progress-reconciliation decision.
//!
//! The original SchemaBot uses one string set for applies and tasks; so do we: [`State`] is the
//! canonical storage state of both (`ApplyState` and `TaskState` name the two uses).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A canonical, stored state (snake_case on the wire and in DynamoDB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Pending,
    Running,
    WaitingForDeploy,
    WaitingForCutover,
    Recovering,
    CuttingOver,
    RevertWindow,
    /// A revert in progress (engines with a revert window).
    Reverting,
    Completed,
    Failed,
    Stopped,
    Cancelled,
    Reverted,
    // PlanetScale / Vitess setup phases, stored when Tern reports them.
    PreparingBranch,
    ApplyingBranchChanges,
    ValidatingBranch,
    CreatingDeployRequest,
    ValidatingDeployRequest,
}

/// The state of an apply as a whole.
pub type ApplyState = State;
/// The state of one table's change.
pub type TaskState = State;

impl State {
    pub const ALL: [State; 18] = [
        State::Pending,
        State::Running,
        State::WaitingForDeploy,
        State::WaitingForCutover,
        State::Recovering,
        State::CuttingOver,
        State::RevertWindow,
        State::Reverting,
        State::Completed,
        State::Failed,
        State::Stopped,
        State::Cancelled,
        State::Reverted,
        State::PreparingBranch,
        State::ApplyingBranchChanges,
        State::ValidatingBranch,
        State::CreatingDeployRequest,
        State::ValidatingDeployRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::WaitingForDeploy => "waiting_for_deploy",
            State::WaitingForCutover => "waiting_for_cutover",
            State::Recovering => "recovering",
            State::CuttingOver => "cutting_over",
            State::RevertWindow => "revert_window",
            State::Reverting => "reverting",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Stopped => "stopped",
            State::Cancelled => "cancelled",
            State::Reverted => "reverted",
            State::PreparingBranch => "preparing_branch",
            State::ApplyingBranchChanges => "applying_branch_changes",
            State::ValidatingBranch => "validating_branch",
            State::CreatingDeployRequest => "creating_deploy_request",
            State::ValidatingDeployRequest => "validating_deploy_request",
        }
    }

    /// Parses a stored (canonical snake_case) state. Engine strings go through `normalize`.
    pub fn from_storage(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Terminal states never change again: completed, failed, cancelled, reverted.
    /// `stopped` (can be started again) and `recovering` are not terminal.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Completed | State::Failed | State::Cancelled | State::Reverted
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub mod derive;
pub mod normalize;
pub mod reconcile;
pub mod transition;
