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

mod decision;
mod evidence;
mod messages;

pub use decision::{Decision, KeepReason, ProgressUpdate, Transition, TransitionReason};
pub use evidence::{
    EngineObservation, LiveSchema, LiveSchemaEvidence, ReconcileContext, Sentinel, SentinelEvidence,
};
pub use messages::{
    reconcile_failure_message, ABANDONED_MESSAGE, RECONCILE_RUNBOOK, VERIFIED_LIVE_MESSAGE,
};

use super::derive::ready_to_complete_after;
use super::normalize::Normalized;
use super::transition::{is_allowed, rank};
use super::State;
use crate::apply::Task;
use chrono::{DateTime, Utc};

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
            let reason = KeepReason::UnknownEngineState(raw.clone());
            return keep(None, task.engine_silent_since, reason);
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
