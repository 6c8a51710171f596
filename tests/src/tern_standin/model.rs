//! The simulation model: an apply's tasks, Tern's outcome and Spirit's in-memory migration.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemabot_domain::{ApplyId, TaskId};

use super::config::CopyPace;

/// Where an apply is, as the simulation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandinPhase {
    Copying,
    WaitingOnSentinel,
    CuttingOver,
    Completed,
    Failed(String),
    Stopped,
    Cancelled,
    /// Tern restarted; Spirit's migration is gone until resumed.
    EngineLost,
}

/// Tern's durable view of an apply's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Active,
    Stopped,
    Cancelled,
    Completed,
    Failed(String),
}

/// Spirit's in-memory migration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Migration {
    pub(super) phase: Phase,
    /// Last time wall-clock progress was credited (timed pace).
    pub(super) last_tick: Instant,
}

impl Migration {
    pub(super) fn copying(now: Instant) -> Self {
        Migration {
            phase: Phase::Copying,
            last_tick: now,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Copying,
    WaitingOnSentinel,
    CuttingOver {
        since: Instant,
        finish_requested: bool,
    },
}

#[derive(Debug, Clone)]
pub(super) struct SimTask {
    pub(super) task_id: String,
    pub(super) namespace: String,
    pub(super) table_name: String,
    pub(super) ddl: String,
    pub(super) change_type: i32,
    pub(super) rows_total: i64,
    /// Also Spirit's checkpoint: a resumed migration continues from here.
    pub(super) rows_copied: i64,
}

#[derive(Debug, Clone)]
pub(super) struct SimApply {
    pub(super) apply_id: String,
    pub(super) database: String,
    pub(super) defer_cutover: bool,
    pub(super) tasks: Vec<SimTask>,
    pub(super) started_at: DateTime<Utc>,
    pub(super) completed_at: Option<DateTime<Utc>>,
    pub(super) outcome: Outcome,
    pub(super) engine: Option<Migration>,
    pub(super) engine_lost_at: Option<Instant>,
    /// Latched once the copy parked at the sentinel: never reset.
    pub(super) reached_sentinel_wait: bool,
    /// The sentinel vanished while the migration was lost: Spirit's copy is gone for good.
    pub(super) copy_lost: bool,
    /// Tern accepted a Cutover (dropped the sentinel itself).
    pub(super) cutover_accepted: bool,
}

/// A step of the simulation that needs MariaDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DatabaseStep {
    None,
    /// Copy finished (deferred) or waiting: is the sentinel still there?
    CheckSentinel,
    /// Cut-over done: close the migration (and run the DDL if configured).
    Finish,
}

impl SimApply {
    /// A new apply of `tasks` on schema `database`, its migration copying from now on.
    pub(super) fn new(database: String, defer_cutover: bool, tasks: Vec<SimTask>) -> Self {
        SimApply {
            apply_id: new_apply_id(),
            database,
            defer_cutover,
            tasks,
            started_at: Utc::now(),
            completed_at: None,
            outcome: Outcome::Active,
            engine: Some(Migration::copying(Instant::now())),
            engine_lost_at: None,
            reached_sentinel_wait: false,
            copy_lost: false,
            cutover_accepted: false,
        }
    }

    pub(super) fn phase(&self) -> StandinPhase {
        match (&self.outcome, &self.engine) {
            (Outcome::Completed, _) => StandinPhase::Completed,
            (Outcome::Failed(message), _) => StandinPhase::Failed(message.clone()),
            (Outcome::Stopped, _) => StandinPhase::Stopped,
            (Outcome::Cancelled, _) => StandinPhase::Cancelled,
            (Outcome::Active, None) => StandinPhase::EngineLost,
            (Outcome::Active, Some(migration)) => match migration.phase {
                Phase::Copying => StandinPhase::Copying,
                Phase::WaitingOnSentinel => StandinPhase::WaitingOnSentinel,
                Phase::CuttingOver { .. } => StandinPhase::CuttingOver,
            },
        }
    }

    pub(super) fn is_terminal(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Completed | Outcome::Failed(_) | Outcome::Cancelled
        )
    }

    /// Lost its migration after it parked at the sentinel: whether resuming needs the sentinel.
    pub(super) fn waits_for_recovery(&self) -> bool {
        self.outcome == Outcome::Active
            && self.engine.is_none()
            && self.defer_cutover
            && self.reached_sentinel_wait
            && !self.cutover_accepted
            && !self.copy_lost
    }

    pub(super) fn copy_done(&self) -> bool {
        self.tasks.iter().all(|t| t.rows_copied >= t.rows_total)
    }

    pub(super) fn copy_everything(&mut self) {
        for task in &mut self.tasks {
            task.rows_copied = task.rows_total;
        }
    }

    pub(super) fn enter_phase(&mut self, phase: Phase) {
        if let Some(migration) = self.engine.as_mut() {
            if phase == Phase::WaitingOnSentinel {
                self.reached_sentinel_wait = true;
            }
            migration.phase = phase;
        }
    }

    pub(super) fn resume_engine(&mut self, now: Instant) {
        if self.copy_lost {
            return;
        }
        self.engine = Some(Migration::copying(now));
        self.engine_lost_at = None;
    }

    /// One unit of progress: copy rows, or finish a running cut-over.
    pub(super) fn step(&mut self, rows: i64) {
        let Some(migration) = self.engine.as_mut() else {
            return;
        };
        match &mut migration.phase {
            Phase::Copying => {
                for task in &mut self.tasks {
                    task.rows_copied = task
                        .rows_copied
                        .saturating_add(rows.max(0))
                        .min(task.rows_total);
                }
            }
            Phase::CuttingOver {
                finish_requested, ..
            } => *finish_requested = true,
            Phase::WaitingOnSentinel => {}
        }
    }

    /// Everything that follows from time alone.
    pub(super) fn advance_in_memory(
        &mut self,
        pace: CopyPace,
        auto_resume_after: Option<Duration>,
        now: Instant,
    ) {
        if self.outcome != Outcome::Active {
            return;
        }
        if self.engine.is_none() {
            match (auto_resume_after, self.engine_lost_at) {
                (Some(after), Some(lost_at)) if now.duration_since(lost_at) >= after => {
                    self.resume_engine(now)
                }
                _ => return,
            }
        }
        if let CopyPace::Timed {
            rows_per_second,
            cutover_duration,
        } = pace
        {
            let mut rows_to_copy = 0;
            if let Some(migration) = self.engine.as_mut() {
                match &mut migration.phase {
                    Phase::Copying => {
                        let elapsed_micros = now.duration_since(migration.last_tick).as_micros();
                        let rows = elapsed_micros.saturating_mul(rows_per_second.max(0) as u128)
                            / 1_000_000;
                        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
                        // Keep the fraction for later: only move the tick when whole rows were copied.
                        if rows > 0 {
                            migration.last_tick = now;
                            rows_to_copy = rows;
                        }
                    }
                    Phase::CuttingOver {
                        since,
                        finish_requested,
                    } => {
                        if now.duration_since(*since) >= cutover_duration {
                            *finish_requested = true;
                        }
                    }
                    Phase::WaitingOnSentinel => {}
                }
            }
            self.step(rows_to_copy);
        }
        // Without the sentinel there is nothing to wait for: straight to the cut-over.
        if !self.defer_cutover && self.copy_done() && self.current_phase() == Some(Phase::Copying) {
            self.enter_phase(Phase::CuttingOver {
                since: now,
                finish_requested: false,
            });
        }
    }

    pub(super) fn current_phase(&self) -> Option<Phase> {
        self.engine.map(|m| m.phase)
    }

    pub(super) fn database_step(&self) -> DatabaseStep {
        if self.outcome != Outcome::Active {
            return DatabaseStep::None;
        }
        match self.current_phase() {
            Some(Phase::Copying) if self.defer_cutover && self.copy_done() => {
                DatabaseStep::CheckSentinel
            }
            Some(Phase::WaitingOnSentinel) => DatabaseStep::CheckSentinel,
            Some(Phase::CuttingOver {
                finish_requested: true,
                ..
            }) => DatabaseStep::Finish,
            _ => DatabaseStep::None,
        }
    }

    /// Spirit's reaction to the sentinel table being there or not.
    pub(super) fn observe_sentinel(&mut self, present: bool, now: Instant) {
        let cutting_over = Phase::CuttingOver {
            since: now,
            finish_requested: false,
        };
        match self.current_phase() {
            Some(Phase::Copying) if self.copy_done() => self.enter_phase(if present {
                Phase::WaitingOnSentinel
            } else {
                cutting_over
            }),
            Some(Phase::WaitingOnSentinel) if !present => self.enter_phase(cutting_over),
            _ => {}
        }
    }

    pub(super) fn finish(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.copy_everything();
                self.outcome = Outcome::Completed;
            }
            Err(message) => self.outcome = Outcome::Failed(message),
        }
        self.completed_at = Some(Utc::now());
        self.engine = None;
        self.engine_lost_at = None;
    }
}

pub(super) fn new_apply_id() -> String {
    ApplyId::from_random(uuid::Uuid::new_v4().as_u64_pair().0).to_string()
}

pub(super) fn new_task_id() -> String {
    TaskId::from_random(uuid::Uuid::new_v4().as_u64_pair().0).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemabot_tern::proto;

    fn apply_with(rows_total: &[i64], defer_cutover: bool) -> SimApply {
        SimApply::new(
            "db".into(),
            defer_cutover,
            rows_total
                .iter()
                .map(|&total| SimTask {
                    task_id: new_task_id(),
                    namespace: String::new(),
                    table_name: "t".into(),
                    ddl: String::new(),
                    change_type: 0,
                    rows_total: total,
                    rows_copied: 0,
                })
                .collect(),
        )
    }

    #[test]
    fn ids_have_tern_format() {
        let apply = new_apply_id();
        assert!(apply.starts_with("apply-") && apply.len() == 22, "{apply}");
        let task = new_task_id();
        assert!(task.starts_with("task-") && task.len() == 21, "{task}");
    }

    #[test]
    fn deferred_copy_waits_on_the_sentinel_then_cuts_over() {
        let now = Instant::now();
        let mut apply = apply_with(&[100, 50], true);
        apply.step(60);
        assert_eq!(apply.tasks[0].rows_copied, 60);
        assert_eq!(apply.tasks[1].rows_copied, 50);
        assert_eq!(apply.database_step(), DatabaseStep::None);
        apply.step(60);
        apply.advance_in_memory(CopyPace::Manual, None, now);
        assert_eq!(apply.database_step(), DatabaseStep::CheckSentinel);
        apply.observe_sentinel(true, now);
        assert_eq!(apply.phase(), StandinPhase::WaitingOnSentinel);
        assert!(apply.reached_sentinel_wait);
        apply.observe_sentinel(false, now);
        assert_eq!(apply.phase(), StandinPhase::CuttingOver);
        apply.step(1);
        assert_eq!(apply.database_step(), DatabaseStep::Finish);
        apply.finish(Ok(()));
        assert_eq!(apply.phase(), StandinPhase::Completed);
    }

    #[test]
    fn without_defer_the_copy_goes_straight_to_cut_over() {
        let mut apply = apply_with(&[10], false);
        apply.step(10);
        apply.advance_in_memory(CopyPace::Manual, None, Instant::now());
        assert_eq!(apply.phase(), StandinPhase::CuttingOver);
        assert!(!apply.reached_sentinel_wait);
    }

    #[test]
    fn timed_pace_credits_elapsed_time() {
        let start = Instant::now();
        let mut apply = apply_with(&[1000], true);
        apply.engine = Some(Migration::copying(start));
        let pace = CopyPace::Timed {
            rows_per_second: 100,
            cutover_duration: Duration::from_millis(10),
        };
        apply.advance_in_memory(pace, None, start + Duration::from_millis(2500));
        assert_eq!(apply.tasks[0].rows_copied, 250);
    }

    #[test]
    fn auto_resume_brings_the_engine_back() {
        let start = Instant::now();
        let mut apply = apply_with(&[10], true);
        apply.engine = None;
        apply.engine_lost_at = Some(start);
        let after = Some(Duration::from_secs(1));
        apply.advance_in_memory(CopyPace::Manual, after, start + Duration::from_millis(500));
        assert_eq!(apply.phase(), StandinPhase::EngineLost);
        apply.advance_in_memory(CopyPace::Manual, after, start + Duration::from_secs(2));
        assert_eq!(apply.phase(), StandinPhase::Copying);
    }

    #[test]
    fn engine_lost_reports_recovering() {
        let mut apply = apply_with(&[10], true);
        apply.engine = None;
        let response = apply.progress_response(CopyPace::Manual);
        assert_eq!(response.state, proto::State::Recovering as i32);
        assert_eq!(response.tables[0].status, "recovering");
    }

    #[test]
    fn a_lost_copy_never_resumes() {
        let mut apply = apply_with(&[10], true);
        apply.engine = None;
        apply.reached_sentinel_wait = true;
        assert!(apply.waits_for_recovery());
        apply.copy_lost = true;
        assert!(!apply.waits_for_recovery());
        apply.resume_engine(Instant::now());
        assert_eq!(apply.phase(), StandinPhase::EngineLost);
    }
}
