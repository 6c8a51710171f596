//! Progress answers: the simulation's own view of an apply, or a report forced by a test.

use std::collections::HashMap;

use chrono::SecondsFormat;
use schemabot_tern::proto;

use super::config::CopyPace;
use super::model::{SimApply, StandinPhase};
use super::spirit_status;

/// A Progress answer reported for an apply instead of what the simulation would say (the
/// simulation itself carries on underneath). For tests of engine reports Spirit rarely makes,
/// e.g. a table reported `copyRows` again after it waited at the sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcedReport {
    /// The overall state.
    pub state: proto::State,
    /// Every table's `status` (a Spirit or canonical state string).
    pub table_status: String,
    pub summary: String,
    /// A raw `State` number sent instead of `state` (e.g. one newer than this contract).
    pub state_number: Option<i32>,
    /// `(checksum_rows_checked, checksum_rows_total)` reported for every table.
    pub checksum: Option<(i64, i64)>,
}

impl ForcedReport {
    pub fn new(state: proto::State, table_status: &str) -> Self {
        Self {
            state,
            table_status: table_status.to_string(),
            summary: String::new(),
            state_number: None,
            checksum: None,
        }
    }

    /// Reports the overall state as this raw number.
    pub fn with_state_number(mut self, number: i32) -> Self {
        self.state_number = Some(number);
        self
    }

    /// Reports every table verifying its copy: `checked` of `total` rows.
    pub fn with_checksum(mut self, checked: i64, total: i64) -> Self {
        self.checksum = Some((checked, total));
        self
    }
}

impl SimApply {
    pub(super) fn progress_response(&self, pace: CopyPace) -> proto::ProgressResponse {
        let phase = self.phase();
        let (state, summary, error_message) = match &phase {
            StandinPhase::Copying => {
                let copied: i64 = self.tasks.iter().map(|t| t.rows_copied).sum();
                let total: i64 = self.tasks.iter().map(|t| t.rows_total).sum();
                (
                    proto::State::Running,
                    format!("Copying rows: {copied}/{total}"),
                    String::new(),
                )
            }
            StandinPhase::WaitingOnSentinel => (
                proto::State::WaitingForCutover,
                "Waiting for cutover: sentinel table _spirit_sentinel present".to_string(),
                String::new(),
            ),
            StandinPhase::CuttingOver => (
                proto::State::CuttingOver,
                "Cutting over".to_string(),
                String::new(),
            ),
            StandinPhase::Completed => (
                proto::State::Completed,
                "Schema change completed".to_string(),
                String::new(),
            ),
            StandinPhase::Failed(message) => (
                proto::State::Failed,
                "Schema change failed".to_string(),
                message.clone(),
            ),
            StandinPhase::Stopped => (
                proto::State::Stopped,
                "Schema change stopped".to_string(),
                String::new(),
            ),
            StandinPhase::Cancelled => (
                proto::State::Cancelled,
                "Schema change cancelled".to_string(),
                String::new(),
            ),
            StandinPhase::EngineLost => (
                proto::State::Recovering,
                "Recovering schema change after a restart".to_string(),
                String::new(),
            ),
        };
        let table_status = match &phase {
            StandinPhase::Copying => spirit_status::COPY_ROWS,
            StandinPhase::WaitingOnSentinel => spirit_status::WAITING_ON_SENTINEL,
            StandinPhase::CuttingOver => spirit_status::CUT_OVER,
            StandinPhase::Completed => spirit_status::CLOSE,
            StandinPhase::Failed(_) => "failed",
            StandinPhase::Stopped => "stopped",
            StandinPhase::Cancelled => "cancelled",
            StandinPhase::EngineLost => "recovering",
        };
        let copy_rate = match pace {
            CopyPace::Timed {
                rows_per_second, ..
            } => rows_per_second,
            CopyPace::PerProgressCall { rows } => rows,
            CopyPace::Manual => 0,
        };
        let tables = self
            .tasks
            .iter()
            .map(|task| {
                let remaining = (task.rows_total - task.rows_copied).max(0);
                let eta_seconds = if phase == StandinPhase::Copying && copy_rate > 0 {
                    (remaining + copy_rate - 1) / copy_rate
                } else {
                    0
                };
                proto::TableProgress {
                    task_id: task.task_id.clone(),
                    namespace: task.namespace.clone(),
                    table_name: task.table_name.clone(),
                    ddl: task.ddl.clone(),
                    status: table_status.to_string(),
                    rows_copied: task.rows_copied,
                    rows_total: task.rows_total,
                    percent_complete: percent(task.rows_copied, task.rows_total),
                    eta_seconds,
                    is_instant: false,
                    shards: Vec::new(),
                    progress_detail: format!("{}/{} rows", task.rows_copied, task.rows_total),
                    change_type: task.change_type,
                    checksum_rows_checked: 0,
                    checksum_rows_total: 0,
                }
            })
            .collect();
        proto::ProgressResponse {
            apply_id: self.apply_id.clone(),
            state: state as i32,
            engine: proto::Engine::Spirit as i32,
            summary,
            error_message,
            tables,
            started_at: self.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            completed_at: self
                .completed_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap_or_default(),
            volume: 0,
            metadata: HashMap::new(),
        }
    }
}

fn percent(copied: i64, total: i64) -> i32 {
    if total <= 0 {
        return 100;
    }
    ((copied.clamp(0, total) * 100) / total) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_bounded() {
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(50, 200), 25);
        assert_eq!(percent(300, 200), 100);
    }
}
