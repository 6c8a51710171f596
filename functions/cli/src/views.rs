//! The `--json` shapes. They are the CLI's contract with scripts, so they are their own structs
//! (snake_case, documented in docs/cli.md) instead of the stored records, which may evolve.

use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, AuditEvent, Task};
use schemabot_domain::audit::{EventKind, Outcome};
use schemabot_domain::State;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ApplySummaryView {
    pub apply_id: String,
    pub state: State,
    pub terminal: bool,
    pub repository: String,
    pub pr: u64,
    pub environment: String,
    pub database: String,
    /// Tables whose copy is done and that wait for (or went through) the cutover — the same
    /// count as the PR comment's "N/M table(s) ready for cutover".
    pub tables_ready: usize,
    pub tables_total: usize,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Seconds from the apply's start (or creation) to its completion, or to now.
    pub elapsed_seconds: i64,
    pub cutover_triggered_by: Option<String>,
    pub cutover_triggered_at: Option<DateTime<Utc>>,
}

impl ApplySummaryView {
    pub fn of(apply: &Apply, tasks: &[Task], now: DateTime<Utc>) -> Self {
        ApplySummaryView {
            apply_id: apply.id.to_string(),
            state: apply.state,
            terminal: apply.state.is_terminal(),
            repository: apply.repository.to_string(),
            pr: apply.pr.0,
            environment: apply.environment.to_string(),
            database: apply.database.to_string(),
            tables_ready: tasks.iter().filter(|t| t.ready_to_complete).count(),
            tables_total: tasks.len(),
            created_at: apply.created_at,
            started_at: apply.started_at,
            completed_at: apply.completed_at,
            elapsed_seconds: (apply.completed_at.unwrap_or(now)
                - apply.started_at.unwrap_or(apply.created_at))
            .num_seconds()
            .max(0),
            cutover_triggered_by: apply.cutover_triggered_by.clone(),
            cutover_triggered_at: apply.cutover_triggered_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ListView {
    pub applies: Vec<ApplySummaryView>,
}

#[derive(Debug, Serialize)]
pub struct TaskView {
    pub task_id: String,
    pub namespace: String,
    pub table: String,
    pub state: State,
    pub ready_to_complete: bool,
    pub percent: u8,
    pub rows_copied: u64,
    pub rows_total: u64,
    pub eta_seconds: Option<u64>,
    pub error_message: Option<String>,
}

impl TaskView {
    pub fn of(task: &Task) -> Self {
        TaskView {
            task_id: task.task_id.to_string(),
            namespace: task.namespace.clone(),
            table: task.table.clone(),
            state: task.state,
            ready_to_complete: task.ready_to_complete,
            percent: task.percent.min(100),
            rows_copied: task.rows_copied,
            rows_total: task.rows_total,
            eta_seconds: task.eta_seconds,
            error_message: task.error_message.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ProgressView {
    #[serde(flatten)]
    pub apply: ApplySummaryView,
    pub error_message: Option<String>,
    pub tasks: Vec<TaskView>,
}

impl ProgressView {
    pub fn of(apply: &Apply, tasks: &[Task], now: DateTime<Utc>) -> Self {
        ProgressView {
            apply: ApplySummaryView::of(apply, tasks, now),
            error_message: apply.error_message.clone(),
            tasks: tasks.iter().map(TaskView::of).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub at: DateTime<Utc>,
    pub event: EventKind,
    pub actor: String,
    pub outcome: Outcome,
    pub from_state: Option<State>,
    pub to_state: Option<State>,
    pub delivery_id: Option<String>,
    pub message: Option<String>,
}

impl EventView {
    pub fn of(event: &AuditEvent) -> Self {
        EventView {
            at: event.at,
            event: event.event.clone(),
            actor: event.actor.clone(),
            outcome: event.outcome.clone(),
            from_state: event.from_state,
            to_state: event.to_state,
            delivery_id: event.delivery_id.clone(),
            message: event.message.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub apply_id: String,
    pub events: Vec<EventView>,
}

/// Left-aligned columns sized to their widest cell (by characters), two spaces apart.
/// `decorate(column, cell)` may wrap a body cell in colours after its width was measured.
pub fn table(
    header: &[&str],
    rows: &[Vec<String>],
    decorate: impl Fn(usize, &str) -> String,
) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str], decorate: &dyn Fn(usize, &str) -> String| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(&decorate(i, cell));
            if i + 1 < cells.len() {
                let width = widths.get(i).copied().unwrap_or(0);
                out.push_str(&" ".repeat(width.saturating_sub(cell.chars().count()) + 2));
            }
        }
        // An empty last column would leave the padding of the one before it.
        format!("{}\n", out.trim_end())
    };
    let mut out = line(header, &|_, cell| cell.to_string());
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells, &decorate));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_the_widest_cell() {
        let out = table(
            &["ID", "STATE"],
            &[
                vec!["apply-1".into(), "running".into()],
                vec!["a".into(), "waiting_for_cutover".into()],
            ],
            |_, cell| cell.to_string(),
        );
        assert_eq!(
            out,
            "ID       STATE\napply-1  running\na        waiting_for_cutover\n"
        );
    }
}
