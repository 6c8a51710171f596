//! Lifecycle controls on a running apply — stop, start, cancel, revert, skip-revert — and the
//! pure decision of whether the apply's state allows one.

use crate::audit::{EventKind, Outcome};
use crate::command::{Command, CommandName};
use crate::{ApplyId, Environment, State};
use serde::{Deserialize, Serialize};

// The lifecycle controls among the parsed commands (kept beside the controls, so the
// grammar does not depend on them).
impl Command {
    /// A lifecycle control: which one, the apply it names (if it names one) and the
    /// environment.
    pub fn control(&self) -> Option<(ControlOp, Option<&ApplyId>, &Environment)> {
        let apply_id = match self {
            Command::Stop { apply_id, .. }
            | Command::Start { apply_id, .. }
            | Command::Cancel { apply_id, .. }
            | Command::Revert { apply_id, .. }
            | Command::SkipRevert { apply_id, .. } => apply_id.as_ref(),
            _ => return None,
        };
        let op = ControlOp::from_command(self.name())?;
        Some((op, apply_id, self.environment()?))
    }
}

named_enum! {
    /// A control a DBA can apply to a running schema change.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum ControlOp {
        /// Pause at a checkpoint (Spirit can resume within its binlog retention).
        Stop = "stop",
        /// Resume a stopped change from its checkpoint.
        Start = "start",
        /// Abandon the change for good.
        Cancel = "cancel",
        /// Undo a cut-over change during its revert window.
        Revert = "revert",
        /// End the revert window now, keeping the change.
        SkipRevert = "skip-revert",
    }
}

impl ControlOp {
    /// The PR-comment command word.
    pub fn command(self) -> CommandName {
        match self {
            ControlOp::Stop => CommandName::Stop,
            ControlOp::Start => CommandName::Start,
            ControlOp::Cancel => CommandName::Cancel,
            ControlOp::Revert => CommandName::Revert,
            ControlOp::SkipRevert => CommandName::SkipRevert,
        }
    }

    pub fn from_command(command: CommandName) -> Option<ControlOp> {
        ControlOp::ALL
            .into_iter()
            .find(|op| op.command() == command)
    }

    /// The audit event the worker appends for every answer to this control (the CLI waits
    /// for it).
    pub fn audit_event(self) -> EventKind {
        match self {
            ControlOp::Stop => EventKind::StopRequested,
            ControlOp::Start => EventKind::StartRequested,
            ControlOp::Cancel => EventKind::CancelRequested,
            ControlOp::Revert => EventKind::RevertRequested,
            ControlOp::SkipRevert => EventKind::SkipRevertRequested,
        }
    }

    /// The outcome of the state change that follows when the engine accepted this control.
    pub fn accepted_outcome(self) -> Outcome {
        match self {
            ControlOp::Stop => Outcome::StopAccepted,
            ControlOp::Start => Outcome::StartAccepted,
            ControlOp::Cancel => Outcome::CancelAccepted,
            ControlOp::Revert => Outcome::RevertAccepted,
            ControlOp::SkipRevert => Outcome::SkipRevertAccepted,
        }
    }

    /// The state the apply is in once the engine carried the control out.
    pub fn leads_to(self) -> State {
        match self {
            ControlOp::Stop => State::Stopped,
            ControlOp::Start => State::Running,
            ControlOp::Cancel => State::Cancelled,
            ControlOp::Revert => State::Reverting,
            ControlOp::SkipRevert => State::Completed,
        }
    }
}

/// Why the apply's state does not allow a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StateRefusal {
    /// The change already ended (completed, failed, cancelled, reverted).
    Ended { state: State },
    /// The cutover is under way or done: the change can no longer be paused or abandoned.
    PastCutover { state: State },
    /// `start` needs a stopped change.
    NotStopped { state: State },
    /// `revert`/`skip-revert` exist only during a revert window (never for Spirit).
    NoRevertWindow { state: State },
    /// The engine is recovering after a restart; controls wait until it has.
    Recovering,
}

impl StateRefusal {
    pub fn state(self) -> Option<State> {
        match self {
            StateRefusal::Ended { state }
            | StateRefusal::PastCutover { state }
            | StateRefusal::NotStopped { state }
            | StateRefusal::NoRevertWindow { state } => Some(state),
            StateRefusal::Recovering => Some(State::Recovering),
        }
    }

    /// A short machine-readable outcome for audit events and metrics.
    pub fn code(self) -> Outcome {
        match self {
            StateRefusal::Ended { .. } => Outcome::Ended,
            StateRefusal::PastCutover { .. } => Outcome::PastCutover,
            StateRefusal::NotStopped { .. } => Outcome::NotStopped,
            StateRefusal::NoRevertWindow { .. } => Outcome::NoRevertWindow,
            StateRefusal::Recovering => Outcome::Recovering,
        }
    }
}

/// What a control may do to an apply in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlDecision {
    /// Ask the engine.
    Proceed,
    /// The apply is already where the control leads (a duplicate, or someone was quicker).
    AlreadyDone,
    Refuse(StateRefusal),
}

/// Decides `op` for an apply in `state` (pure; the engine may still refuse).
pub fn decide_control(op: ControlOp, state: State) -> ControlDecision {
    use ControlDecision::{AlreadyDone, Proceed, Refuse};
    use State::*;
    let ended = |state| Refuse(StateRefusal::Ended { state });
    match (op, state) {
        (_, Recovering) => Refuse(StateRefusal::Recovering),
        (ControlOp::Stop, Stopped) | (ControlOp::Cancel, Cancelled) => AlreadyDone,
        (ControlOp::Start, Running) | (ControlOp::SkipRevert, Completed) => AlreadyDone,
        (ControlOp::Revert, Reverting | Reverted) => AlreadyDone,
        (_, Completed | Failed | Cancelled | Reverted) => ended(state),
        (ControlOp::Stop | ControlOp::Cancel, CuttingOver | RevertWindow | Reverting) => {
            Refuse(StateRefusal::PastCutover { state })
        }
        (ControlOp::Stop | ControlOp::Cancel, _) => Proceed,
        (ControlOp::Start, Stopped) => Proceed,
        (ControlOp::Start, _) => Refuse(StateRefusal::NotStopped { state }),
        (ControlOp::Revert | ControlOp::SkipRevert, RevertWindow) => Proceed,
        (ControlOp::Revert | ControlOp::SkipRevert, _) => {
            Refuse(StateRefusal::NoRevertWindow { state })
        }
    }
}

/// Whether an apply in `state` is one a control without an apply id may mean: not ended, or
/// stopped (which `start` and `cancel` act on).
pub fn controllable(state: State) -> bool {
    !state.is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_and_state_has_a_decision() {
        for op in ControlOp::ALL {
            for state in State::ALL {
                let decision = decide_control(op, state);
                if decision == ControlDecision::Proceed {
                    assert!(
                        crate::state::transition::is_allowed(state, op.leads_to())
                            || op == ControlOp::Revert,
                        "{op} from {state} leads to {}",
                        op.leads_to()
                    );
                }
            }
        }
    }

    #[test]
    fn stop_and_cancel_before_the_cutover_only() {
        for state in [State::Pending, State::Running, State::WaitingForCutover] {
            assert_eq!(
                decide_control(ControlOp::Stop, state),
                ControlDecision::Proceed
            );
            assert_eq!(
                decide_control(ControlOp::Cancel, state),
                ControlDecision::Proceed
            );
        }
        assert_eq!(
            decide_control(ControlOp::Cancel, State::Stopped),
            ControlDecision::Proceed,
            "a stopped change can be abandoned"
        );
        assert_eq!(
            decide_control(ControlOp::Stop, State::CuttingOver),
            ControlDecision::Refuse(StateRefusal::PastCutover {
                state: State::CuttingOver
            })
        );
        assert_eq!(
            decide_control(ControlOp::Stop, State::Stopped),
            ControlDecision::AlreadyDone
        );
        assert_eq!(
            decide_control(ControlOp::Cancel, State::Completed),
            ControlDecision::Refuse(StateRefusal::Ended {
                state: State::Completed
            })
        );
    }

    #[test]
    fn start_needs_a_stopped_change_and_reverts_a_revert_window() {
        assert_eq!(
            decide_control(ControlOp::Start, State::Stopped),
            ControlDecision::Proceed
        );
        assert_eq!(
            decide_control(ControlOp::Start, State::WaitingForCutover),
            ControlDecision::Refuse(StateRefusal::NotStopped {
                state: State::WaitingForCutover
            })
        );
        assert_eq!(
            decide_control(ControlOp::Start, State::Running),
            ControlDecision::AlreadyDone
        );
        for op in [ControlOp::Revert, ControlOp::SkipRevert] {
            assert_eq!(
                decide_control(op, State::RevertWindow),
                ControlDecision::Proceed
            );
            assert_eq!(
                decide_control(op, State::Running),
                ControlDecision::Refuse(StateRefusal::NoRevertWindow {
                    state: State::Running
                })
            );
        }
        for op in ControlOp::ALL {
            assert_eq!(
                decide_control(op, State::Recovering),
                ControlDecision::Refuse(StateRefusal::Recovering)
            );
            assert_eq!(ControlOp::from_command(op.command()), Some(op));
            assert_eq!(op.as_str(), op.command().as_str());
        }
    }
}
