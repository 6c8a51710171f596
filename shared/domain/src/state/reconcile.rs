//! The pure progress-reconciliation decision: given a stored task and what the engine (via Tern)
//! reports for it, what — if anything — should be written.
//!
//! Polling only ever moves a task forward (a refused downgrade is returned so it can be logged
//! and counted), and an unknown engine value is never read as progress. A waiting task whose
//! engine lost its in-memory migration (a restart), or that Tern reports `recovering`, is judged
//! by evidence: the `_spirit_sentinel` table present → `recovering`; absent → the live schema
//! decides, because the sentinel can also vanish while Spirit is down (then nothing swapped):
//! desired schema live → `completed`, changes remain → `failed` for a person to reconcile.
//! A `recovering` task keeps being reconciled until it leaves that state, and a `running` task
//! whose engine stays silent past a grace period is failed as abandoned.
//!
//! Every [`Transition`] returned satisfies [`is_allowed`]`(from, to)`.

use super::derive::ready_to_complete_after;
use super::normalize::Normalized;
use super::transition::{is_allowed, rank};
use super::State;
use crate::apply::{Checksum, Task};
use chrono::{DateTime, TimeDelta, Utc};

/// The error message of a task failed because its engine forgot it.
pub const ABANDONED_MESSAGE: &str =
    "Task abandoned: engine has no active schema change (server may have crashed)";

/// Where operators find what to do when the live schema does not match after a recovery.
pub const RECONCILE_RUNBOOK: &str = "docs/operations.md#a-failed-reconciliation";

/// The stored message of a task completed because its desired schema was found live.
pub const VERIFIED_LIVE_MESSAGE: &str =
    "Verified against the live schema: the desired schema is in place";

/// What the engine reports for one task's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineObservation {
    pub state: Normalized,
    pub rows_copied: u64,
    pub rows_total: u64,
    /// 0–100; larger values are clamped.
    pub percent: u8,
    pub eta_seconds: Option<u64>,
    /// The engine is verifying the copy (checksum counters reported).
    pub checksum: Option<Checksum>,
    pub error_message: Option<String>,
}

impl EngineObservation {
    /// The engine reported nothing for this table, or "no active change" overall.
    pub fn no_active_change() -> Self {
        EngineObservation {
            state: Normalized::NoActiveChange,
            rows_copied: 0,
            rows_total: 0,
            percent: 0,
            eta_seconds: None,
            checksum: None,
            error_message: None,
        }
    }
}

/// What the `_spirit_sentinel` check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SentinelEvidence {
    /// The sentinel table exists: Spirit's deferred cutover has not happened; it can resume.
    Present,
    /// No sentinel table: the cutover already happened (or is happening), or there never was one.
    Absent,
}

/// What Tern's read-only diff of the apply's desired schema against the live database found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LiveSchemaEvidence {
    /// No remaining change: the desired schema is live.
    Matches,
    /// Changes remain (a short description of each, e.g. `ALTER TABLE orders ...`).
    Differs { remaining: Vec<String> },
}

/// What the caller knows about the live schema for this task's apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LiveSchema {
    /// Not asked yet: [`decide`] asks with [`Decision::NeedLiveSchema`] when needed.
    NotChecked,
    Checked(LiveSchemaEvidence),
}

/// What the caller knows about the sentinel for this task's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sentinel {
    /// The database has no sentinel mechanism (Vitess/PlanetScale).
    NoMechanism,
    /// MySQL/Spirit, not checked yet: [`decide`] asks with [`Decision::NeedSentinel`] when needed.
    NotChecked,
    /// MySQL/Spirit, checked.
    Checked(SentinelEvidence),
}

/// The circumstances of one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileContext {
    pub now: DateTime<Utc>,
    /// How long a `running` task's engine may report no active change before it is judged.
    pub silence_grace: TimeDelta,
    pub sentinel: Sentinel,
    pub live_schema: LiveSchema,
    /// Tern accepted a cutover of this apply (it dropped the sentinel itself): a waiting task
    /// whose engine lost the change is past the swap's point of no return.
    pub cutover_accepted: bool,
}

/// Progress fields to store on the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgressUpdate {
    pub rows_copied: u64,
    pub rows_total: u64,
    pub percent: u8,
    pub eta_seconds: Option<u64>,
    pub checksum: Option<Checksum>,
}

/// The outcome of [`decide`].
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
    /// Check `_spirit_sentinel` in the task's target schema, then call [`decide`] again with
    /// [`Sentinel::Checked`]. Only returned for [`Sentinel::NotChecked`].
    NeedSentinel,
    /// Ask Tern whether the apply's desired schema is live, then call [`decide`] again with
    /// [`LiveSchema::Checked`]. Only returned for [`LiveSchema::NotChecked`], after the sentinel
    /// was found absent.
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
    fn of(observation: &EngineObservation) -> Self {
        ProgressUpdate {
            rows_copied: observation.rows_copied,
            rows_total: observation.rows_total,
            percent: observation.percent.min(100),
            eta_seconds: observation.eta_seconds,
            checksum: observation.checksum,
        }
    }

    fn stored(task: &Task) -> Self {
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

/// Decides what to do with `task` given the engine's `observation` (see the module docs).
pub fn decide(
    task: &Task,
    observation: &EngineObservation,
    context: &ReconcileContext,
) -> Decision {
    let stored = task.state;
    if stored.is_terminal() {
        return keep(None, task.engine_silent_since, KeepReason::Terminal);
    }
    let reported = match &observation.state {
        // Never read as progress; keep everything, the caller logs the raw value.
        Normalized::Unknown(raw) => {
            return keep(
                None,
                task.engine_silent_since,
                KeepReason::UnknownEngineState(raw.clone()),
            )
        }
        Normalized::NoActiveChange => None,
        Normalized::State(state) => Some(*state),
    };

    if let Some(outcome) = reported.filter(|s| s.is_terminal()) {
        return adopt_terminal(task, outcome, observation);
    }
    let waits_at_sentinel = matches!(stored, State::WaitingForCutover | State::Recovering);
    let lost = engine_lost_the_change(stored, reported);
    if waits_at_sentinel && (lost || reported == Some(State::Recovering)) {
        if context.cutover_accepted {
            return transition(
                task,
                State::CuttingOver,
                None,
                None,
                TransitionReason::CutoverAccepted,
            );
        }
        if lost {
            return judge_by_sentinel(task, context);
        }
    }
    // Spirit answers "no active change" as `pending`: for a running task both mean silence.
    if stored == State::Running && matches!(reported, None | Some(State::Pending)) {
        return judge_silence(task, context);
    }
    match reported {
        None => keep(None, None, KeepReason::EngineIdle),
        Some(reported) => follow(task, reported, observation),
    }
}

/// Past the copy, the bar shown is the last known one: an engine restarting its count must not
/// shrink it (it is what 🔄 Recovering... displays).
fn holds_last_known_bar(state: State) -> bool {
    rank(state) >= rank(State::WaitingForCutover)
}

/// For a task at the sentinel wait: the engine has no change, or is back in an earlier phase
/// (Spirit restarted: `initial`, copying, `pending`), or still reports a recovering task
/// recovering. (A waiting task that Tern reports recovering simply follows it.) An engine
/// `stopped` is not a loss; it is refused as a downgrade instead (stops are written by the stop
/// command).
fn engine_lost_the_change(stored: State, reported: Option<State>) -> bool {
    match reported {
        None => true,
        Some(State::Recovering) => stored == State::Recovering,
        Some(state) => state != State::Stopped && rank(state) < rank(State::WaitingForCutover),
    }
}

fn keep(
    progress: Option<ProgressUpdate>,
    engine_silent_since: Option<DateTime<Utc>>,
    reason: KeepReason,
) -> Decision {
    Decision::Keep {
        progress,
        engine_silent_since,
        reason,
    }
}

fn transition(
    task: &Task,
    to: State,
    progress: Option<ProgressUpdate>,
    error_message: Option<String>,
    reason: TransitionReason,
) -> Decision {
    Decision::Transition(Transition {
        from: task.state,
        to,
        progress,
        ready_to_complete: ready_to_complete_after(task.ready_to_complete, to),
        error_message,
        reason,
    })
}

/// The engine's numbers, if the engine is at (or past) the stored state, they would not shrink a
/// held bar, and they differ from what is stored.
fn progress_for(
    task: &Task,
    reported: State,
    resulting: State,
    observation: &EngineObservation,
) -> Option<ProgressUpdate> {
    if rank(reported) < rank(task.state) {
        return None;
    }
    let update = ProgressUpdate::of(observation);
    if holds_last_known_bar(resulting) && update.percent < task.percent {
        return None;
    }
    (update != ProgressUpdate::stored(task)).then_some(update)
}

/// The engine reports a terminal outcome: take it, with its error message.
fn adopt_terminal(task: &Task, outcome: State, observation: &EngineObservation) -> Decision {
    let engine_error = observation
        .error_message
        .as_deref()
        .map(str::trim)
        .filter(|message| !message.is_empty());
    if is_allowed(task.state, outcome) {
        let progress = progress_for(task, outcome, outcome, observation);
        return transition(
            task,
            outcome,
            progress,
            engine_error.map(str::to_owned),
            TransitionReason::EngineReported,
        );
    }
    let mut message = format!(
        "engine reported {outcome} while the task was {}",
        task.state
    );
    if let Some(engine_error) = engine_error {
        message.push_str(": ");
        message.push_str(engine_error);
    }
    let progress = progress_for(task, outcome, State::Failed, observation);
    transition(
        task,
        State::Failed,
        progress,
        Some(message),
        TransitionReason::EngineTerminalNotAllowed { reported: outcome },
    )
}

/// A waiting or recovering task whose engine lost the change.
fn judge_by_sentinel(task: &Task, context: &ReconcileContext) -> Decision {
    let evidence = match context.sentinel {
        Sentinel::NoMechanism => return keep(None, None, KeepReason::NoSentinelMechanism),
        Sentinel::NotChecked => return Decision::NeedSentinel,
        Sentinel::Checked(evidence) => evidence,
    };
    match (evidence, task.state) {
        (SentinelEvidence::Present, State::WaitingForCutover) => transition(
            task,
            State::Recovering,
            None,
            None,
            TransitionReason::SentinelPresent,
        ),
        (SentinelEvidence::Present, _) => keep(None, None, KeepReason::SentinelPresent),
        (SentinelEvidence::Absent, _) => judge_by_live_schema(task, context),
    }
}

/// The sentinel is gone while the engine has no change: only the live schema tells whether the
/// swap happened (the sentinel may have been dropped while Spirit was down).
fn judge_by_live_schema(task: &Task, context: &ReconcileContext) -> Decision {
    match &context.live_schema {
        LiveSchema::NotChecked => Decision::NeedLiveSchema,
        LiveSchema::Checked(LiveSchemaEvidence::Matches) => transition(
            task,
            State::Completed,
            None,
            Some(VERIFIED_LIVE_MESSAGE.to_owned()),
            TransitionReason::VerifiedLive,
        ),
        LiveSchema::Checked(LiveSchemaEvidence::Differs { remaining }) => transition(
            task,
            State::Failed,
            None,
            Some(reconcile_failure_message(remaining)),
            TransitionReason::LiveSchemaDiffers,
        ),
    }
}

/// The stored message of a task whose change was lost: what is missing and where to go next.
pub fn reconcile_failure_message(remaining: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut message = String::from(
        "Needs a person: the engine lost this change after a restart and its sentinel table is gone, \
         but the live schema does not match the desired one, so the cutover did not happen.",
    );
    if !remaining.is_empty() {
        message.push_str(" Still missing: ");
        let shown: Vec<&str> = remaining.iter().take(SHOWN).map(String::as_str).collect();
        message.push_str(&shown.join("; "));
        if remaining.len() > SHOWN {
            message.push_str(&format!(" (and {} more)", remaining.len() - SHOWN));
        }
        message.push('.');
    }
    message.push_str(&format!(" Runbook: {RECONCILE_RUNBOOK}"));
    message
}

/// A running task whose engine reports no active change: start (or continue) the silence clock;
/// past the grace period, the sentinel decides between "resumable" and "abandoned".
fn judge_silence(task: &Task, context: &ReconcileContext) -> Decision {
    let silent_since = task.engine_silent_since.unwrap_or(context.now);
    if context.now - silent_since < context.silence_grace {
        return keep(None, Some(silent_since), KeepReason::EngineSilent);
    }
    match context.sentinel {
        Sentinel::NotChecked => Decision::NeedSentinel,
        Sentinel::Checked(SentinelEvidence::Present) => {
            keep(None, Some(silent_since), KeepReason::SentinelPresent)
        }
        Sentinel::NoMechanism | Sentinel::Checked(SentinelEvidence::Absent) => transition(
            task,
            State::Failed,
            None,
            Some(ABANDONED_MESSAGE.to_owned()),
            TransitionReason::Abandoned,
        ),
    }
}

/// The engine reports a non-terminal state: follow it forward only. Any report clears the
/// silence clock (the engine knows the change again).
fn follow(task: &Task, reported: State, observation: &EngineObservation) -> Decision {
    let stored = task.state;
    if reported == stored {
        let progress = progress_for(task, reported, stored, observation);
        return keep(progress, None, KeepReason::InStep);
    }
    if rank(reported) < rank(stored) {
        return Decision::RefuseDowngrade { reported };
    }
    if is_allowed(stored, reported) {
        let progress = progress_for(task, reported, reported, observation);
        return transition(
            task,
            reported,
            progress,
            None,
            TransitionReason::EngineReported,
        );
    }
    let progress = progress_for(task, reported, stored, observation);
    keep(progress, None, KeepReason::NotAllowed { reported })
}
