//! Apply and task states, their normalisation from engine strings, the allowed transitions,
//! apply-state derivation and the pure progress-reconciliation decision.
//!
//! The original SchemaBot uses one string set for applies and tasks; so do we: [`State`] is the
//! canonical storage state of both.

use serde::{Deserialize, Serialize};

named_enum! {
    /// A canonical, stored state (snake_case on the wire and in DynamoDB).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum State {
        Pending = "pending",
        Running = "running",
        WaitingForDeploy = "waiting_for_deploy",
        WaitingForCutover = "waiting_for_cutover",
        Recovering = "recovering",
        CuttingOver = "cutting_over",
        RevertWindow = "revert_window",
        /// A revert in progress (engines with a revert window).
        Reverting = "reverting",
        Completed = "completed",
        Failed = "failed",
        Stopped = "stopped",
        Cancelled = "cancelled",
        Reverted = "reverted",
        // PlanetScale / Vitess setup phases, stored when Tern reports them.
        PreparingBranch = "preparing_branch",
        ApplyingBranchChanges = "applying_branch_changes",
        ValidatingBranch = "validating_branch",
        CreatingDeployRequest = "creating_deploy_request",
        ValidatingDeployRequest = "validating_deploy_request",
    }
}

impl State {
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

pub mod derive;
pub mod normalize;
pub mod reconcile;
pub mod transition;
