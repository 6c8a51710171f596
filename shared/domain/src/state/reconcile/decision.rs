//! What [`decide`](super::decide) returns: keep, transition, ask for evidence, or refuse.

use super::super::State;
use super::evidence::EngineObservation;
use crate::apply::{Checksum, Task};
use chrono::{DateTime, Utc};

/// Progress fields to store on the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgressUpdate {
    pub rows_copied: u64,
    pub rows_total: u64,
    pub percent: u8,
    pub eta_seconds: Option<u64>,
    pub checksum: Option<Checksum>,
}

/// The outcome of [`decide`](super::decide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The state stays. Write `progress` if given and `engine_silent_since` if it differs from the
    /// stored value; nothing else.
    Keep {
        progress: Option<ProgressUpdate>,
        /// The value the task's silence clock should now have.
        engine_silent_since: Option<DateTime<Utc>>,
        reason: KeepReason,
    },
    /// Move the task to another state (conditional on `from`). The silence clock is cleared.
    Transition(Transition),
    /// Check `_spirit_sentinel` in the task's target schema, then call [`decide`](super::decide)
    /// again with [`Sentinel::Checked`](super::Sentinel::Checked). Only returned for
    /// [`Sentinel::NotChecked`](super::Sentinel::NotChecked).
    NeedSentinel,
    /// Ask Tern whether the apply's desired schema is live, then call [`decide`](super::decide)
    /// again with [`LiveSchema::Checked`](super::LiveSchema::Checked). Only returned for
    /// [`LiveSchema::NotChecked`](super::LiveSchema::NotChecked), after the sentinel was found
    /// absent.
    NeedLiveSchema,
    /// The engine reports a state behind the stored one; nothing is written. Log and count it.
    RefuseDowngrade { reported: State },
}

/// Why a [`Decision::Keep`] keeps the state (for logs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeepReason {
    /// The task is terminal; nothing changes any more.
    Terminal,
    /// The engine reported a value we do not recognise (the raw value).
    UnknownEngineState(String),
    /// The engine reports the stored state.
    InStep,
    /// The engine has no active change, and for this state that proves nothing.
    EngineIdle,
    /// A `running` task's engine is silent, still within the grace period.
    EngineSilent,
    /// The engine lost the change but the sentinel is still there: the change is resumable.
    /// (`running` cannot enter `recovering`; `recovering` stays so.)
    SentinelPresent,
    /// The engine is behind a waiting/recovering task and there is no sentinel to judge by.
    NoSentinelMechanism,
    /// The engine reports a later state the transition table does not allow from here
    /// (e.g. `running` → `recovering`, `stopped` → `waiting_for_cutover`).
    NotAllowed { reported: State },
}

/// A state change to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub progress: Option<ProgressUpdate>,
    /// The task's `ready_to_complete` after the change (latched, never reset).
    pub ready_to_complete: bool,
    /// A message to store (the engine's error on a terminal state, or ours); `None` keeps it.
    pub error_message: Option<String>,
    pub reason: TransitionReason,
}

/// Why a [`Transition`] happens (for logs and audit events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransitionReason {
    /// The engine reports a later state, or a terminal one.
    EngineReported,
    /// The engine lost a waiting task's change, and the sentinel exists: recovering.
    SentinelPresent,
    /// The engine lost a waiting/recovering task's change after Tern accepted its cutover: the
    /// swap goes on when Spirit resumes, never back.
    CutoverAccepted,
    /// The engine lost a waiting/recovering task's change, the sentinel is gone and the desired
    /// schema is live: the change is complete.
    VerifiedLive,
    /// The engine lost a waiting/recovering task's change, the sentinel is gone and changes
    /// remain: the copy was lost; a person must reconcile.
    LiveSchemaDiffers,
    /// A `running` task's engine stayed silent past the grace period, with no sentinel.
    Abandoned,
    /// The engine reports a terminal state the table does not allow from here (e.g. `cancelled`
    /// while `cutting_over`); the task fails rather than stay stuck.
    EngineTerminalNotAllowed { reported: State },
}

impl Decision {
    /// Applies the decision's changes to a task record in memory: state, progress,
    /// `ready_to_complete`, error message and the silence clock. The caller still owns `version`,
    /// `started_at` and `completed_at`.
    pub fn apply_to(&self, task: &mut Task) {
        match self {
            Decision::Keep {
                progress,
                engine_silent_since,
                ..
            } => {
                if let Some(progress) = progress {
                    progress.apply_to(task);
                }
                task.engine_silent_since = *engine_silent_since;
            }
            Decision::Transition(transition) => {
                task.state = transition.to;
                task.ready_to_complete = transition.ready_to_complete;
                if let Some(progress) = transition.progress {
                    progress.apply_to(task);
                }
                if let Some(message) = &transition.error_message {
                    task.error_message = Some(message.clone());
                }
                task.engine_silent_since = None;
            }
            Decision::NeedSentinel
            | Decision::NeedLiveSchema
            | Decision::RefuseDowngrade { .. } => {}
        }
    }
}

impl ProgressUpdate {
    pub(super) fn of(observation: &EngineObservation) -> Self {
        ProgressUpdate {
            rows_copied: observation.rows_copied,
            rows_total: observation.rows_total,
            percent: observation.percent.min(100),
            eta_seconds: observation.eta_seconds,
            checksum: observation.checksum,
        }
    }

    pub(super) fn stored(task: &Task) -> Self {
        ProgressUpdate {
            rows_copied: task.rows_copied,
            rows_total: task.rows_total,
            percent: task.percent,
            eta_seconds: task.eta_seconds,
            checksum: task.checksum,
        }
    }

    fn apply_to(self, task: &mut Task) {
        task.rows_copied = self.rows_copied;
        task.rows_total = self.rows_total;
        task.percent = self.percent;
        task.eta_seconds = self.eta_seconds;
        task.checksum = self.checksum;
    }
}
