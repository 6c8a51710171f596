//! Builders for the reconciliation tests: a stored task, engine observations, reconcile contexts
//! (sentinel and live-schema evidence) and checked unpacking of a `Decision`.

use chrono::{DateTime, TimeDelta, Utc};
use schemabot_domain::apply::Task;
use schemabot_domain::state::normalize::{normalize, Normalized};
use schemabot_domain::state::reconcile::{
    Decision, EngineObservation, KeepReason, LiveSchema, LiveSchemaEvidence, ProgressUpdate,
    ReconcileContext, Sentinel, SentinelEvidence, Transition,
};
use schemabot_domain::state::transition::is_allowed;
use schemabot_domain::{ApplyId, State, TaskId};
use State::*;

pub const PRESENT: Sentinel = Sentinel::Checked(SentinelEvidence::Present);
pub const ABSENT: Sentinel = Sentinel::Checked(SentinelEvidence::Absent);
pub const GRACE_MINUTES: i64 = 5;

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp")
}

pub fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

pub fn task(state: State) -> Task {
    Task {
        apply_id: ApplyId::from_random(1),
        task_id: TaskId::from_random(2),
        namespace: "app".into(),
        table: "users".into(),
        ddl: "ALTER TABLE users ADD COLUMN nickname varchar(64)".into(),
        state,
        version: 3,
        ready_to_complete: state == WaitingForCutover,
        rows_copied: 500,
        rows_total: 1000,
        percent: 50,
        eta_seconds: Some(60),
        checksum: None,
        error_message: None,
        started_at: Some(t0()),
        completed_at: None,
        engine_silent_since: None,
    }
}

pub fn silent_task(state: State, since: DateTime<Utc>) -> Task {
    Task {
        engine_silent_since: Some(since),
        ..task(state)
    }
}

pub fn seen(state: Normalized, percent: u8) -> EngineObservation {
    EngineObservation {
        state,
        rows_copied: u64::from(percent) * 10,
        rows_total: 1000,
        percent,
        eta_seconds: Some(30),
        checksum: None,
        error_message: None,
    }
}

pub fn engine(state: State) -> EngineObservation {
    seen(Normalized::State(state), 60)
}

pub fn engine_raw(raw: &str) -> EngineObservation {
    seen(normalize(raw), 60)
}

pub fn failed_with(state: State, message: &str) -> EngineObservation {
    EngineObservation {
        error_message: Some(message.into()),
        ..engine(state)
    }
}

pub fn ctx(sentinel: Sentinel) -> ReconcileContext {
    ReconcileContext {
        now: t0(),
        silence_grace: minutes(GRACE_MINUTES),
        sentinel,
        live_schema: LiveSchema::NotChecked,
        cutover_accepted: false,
    }
}

pub fn ctx_live(evidence: LiveSchemaEvidence) -> ReconcileContext {
    ReconcileContext {
        live_schema: LiveSchema::Checked(evidence),
        ..ctx(ABSENT)
    }
}

pub fn differs() -> LiveSchemaEvidence {
    LiveSchemaEvidence::Differs {
        remaining: vec!["ALTER TABLE `users` ADD COLUMN `nickname` varchar(64)".into()],
    }
}

pub fn progress(percent: u8) -> ProgressUpdate {
    ProgressUpdate {
        rows_copied: u64::from(percent) * 10,
        rows_total: 1000,
        percent,
        eta_seconds: Some(30),
        checksum: None,
    }
}

#[track_caller]
pub fn expect_transition(decision: Decision) -> Transition {
    match decision {
        Decision::Transition(transition) => {
            assert!(
                is_allowed(transition.from, transition.to),
                "{} -> {} is not allowed",
                transition.from,
                transition.to
            );
            transition
        }
        other => panic!("expected a transition, got {other:?}"),
    }
}

#[track_caller]
pub fn expect_keep(
    decision: Decision,
) -> (Option<ProgressUpdate>, Option<DateTime<Utc>>, KeepReason) {
    match decision {
        Decision::Keep {
            progress,
            engine_silent_since,
            reason,
        } => (progress, engine_silent_since, reason),
        other => panic!("expected keep, got {other:?}"),
    }
}
