//! The progress comment of an apply (edited in place while it runs) and its final tombstone.
//!
//! Layout: a heading per apply state, the metadata and attribution lines, `R/T table(s) ready
//! for cutover` while waiting or cutting over, a `📊` overview for several tables, one line per
//! table with its bar (sorted so what is moving comes first), the error of a failed apply, and a
//! footer telling what to do next (for a waiting apply, the exact cutover command).

use crate::bar::{bar, bar_for_state, BarColor};
use crate::ddl::DdlBudget;
use crate::engine::{self, Template};
use crate::error::RenderError;
use crate::failure::failure_message;
use crate::footer::{command_footer, commands_footer, note_footer, FooterCommandView, FooterView};
use crate::format;
use crate::metadata::{AttributionView, MetadataView};
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, Task};
use schemabot_domain::State;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct ProgressView {
    /// Heading text without the `## ` (per state, and whether the apply is a rollback).
    header: String,
    meta: MetadataView,
    attribution: AttributionView,
    ready: Option<ReadySummaryView>,
    /// The `📊` line's content (counts only) when there is more than one table.
    overview: Option<String>,
    tables: Vec<TableLineView>,
    /// The apply's error (raw; escaped by the template).
    error: Option<String>,
    footer: Option<FooterView>,
}

/// `**R/T** table(s) ready for cutover — waiting on K`.
#[derive(Debug, Serialize)]
struct ReadySummaryView {
    ready: usize,
    total: usize,
    waiting_on: usize,
}

/// One table line. `name` and `ddl` are raw (escaped by the template); `status` and the details
/// are built here from numbers and fixed words only.
#[derive(Debug, Serialize)]
struct TableLineView {
    name: String,
    status: String,
    /// A line right under the status (rows of a stopped table).
    status_detail: Option<String>,
    ddl: Option<String>,
    /// A line after the DDL (rows and ETA of a running table).
    progress_detail: Option<String>,
}

#[derive(Debug, Serialize)]
struct FinalizedView {
    header: String,
    meta: MetadataView,
    attribution: AttributionView,
    /// The `📊` counts; `None` when the apply never had tables.
    overview: Option<String>,
}

/// Renders the progress comment of `apply` with its `tasks` at `now` (for the elapsed time),
/// ending with the hidden `marker`.
pub fn render_progress(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
    marker: &str,
) -> Result<String, RenderError> {
    render_progress_with_deadline(apply, tasks, now, None, marker)
}

/// [`render_progress`] of a stopped apply whose Stop returned `resume_deadline` (as replies
/// show times): the footer then says until when `start` can resume it.
pub fn render_progress_with_deadline(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
    resume_deadline: Option<&str>,
    marker: &str,
) -> Result<String, RenderError> {
    let view = ProgressView {
        header: titled(apply, header(apply.state)),
        meta: MetadataView::of(apply, now, true, "Elapsed"),
        attribution: AttributionView::of(apply),
        ready: ready_summary(apply.state, tasks),
        overview: (tasks.len() > 1).then(|| overview(tasks)),
        tables: table_lines(tasks),
        error: (apply.state == State::Failed)
            .then(|| failure_message(apply, tasks))
            .flatten(),
        footer: footer(apply, resume_deadline),
    };
    engine::render(Template::Progress, &view, marker)
}

/// Renders the tombstone that replaces the progress comment when the apply ends without a
/// cutover comment: the final heading, metadata and counts, and a pointer to the summary
/// comment posted below it. The table details live in the summary only.
pub fn render_progress_finalized(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
    marker: &str,
) -> Result<String, RenderError> {
    let view = FinalizedView {
        header: titled(apply, header(apply.state)),
        meta: MetadataView::of(apply, now, true, "Elapsed"),
        attribution: AttributionView::of(apply),
        overview: (!tasks.is_empty()).then(|| overview(tasks)),
    };
    engine::render(Template::ProgressFinalized, &view, marker)
}

/// `header` as the heading of `apply`: a rollback says so ("Schema Rollback …").
pub(crate) fn titled(apply: &Apply, header: &str) -> String {
    if apply.rollback_of.is_some() {
        header
            .replace("✅ Schema Change Applied", "⏪ Schema Rollback Applied")
            .replace("Schema Change", "Schema Rollback")
    } else {
        header.to_string()
    }
}

/// The heading for an apply state.
fn header(state: State) -> &'static str {
    match state {
        State::Pending => "Schema Change Starting",
        State::Running => "Schema Change In Progress",
        State::WaitingForDeploy => "Schema Change — Waiting for Deploy",
        State::WaitingForCutover => "Schema Change — Waiting for Cutover",
        State::Recovering => "Schema Change — Recovering",
        State::CuttingOver => "Schema Change — Cutting Over",
        State::RevertWindow => "Schema Change Applied (Pending Revert)",
        State::Reverting => "Reverting Schema Change",
        State::Completed => "Schema Change Completed",
        State::Failed => "❌ Schema Change Failed",
        State::Stopped => "⏹️ Schema Change Stopped",
        State::Cancelled => "Schema Change Cancelled",
        State::Reverted => "↩️ Schema Change Reverted",
        State::PreparingBranch => "Schema Change — Preparing Branch",
        State::ApplyingBranchChanges => "Schema Change — Applying Branch Changes",
        State::ValidatingBranch => "Schema Change — Validating Branch",
        State::CreatingDeployRequest => "Schema Change — Creating Deploy Request",
        State::ValidatingDeployRequest => "Schema Change — Validating Deploy Request",
    }
}

/// How many tables are ready for cutover, shown while the apply waits for or goes through it.
fn ready_summary(state: State, tasks: &[Task]) -> Option<ReadySummaryView> {
    let relevant = matches!(state, State::WaitingForCutover | State::CuttingOver);
    if !relevant || tasks.is_empty() {
        return None;
    }
    let ready = tasks.iter().filter(|t| t.ready_to_complete).count();
    Some(ReadySummaryView {
        ready,
        total: tasks.len(),
        waiting_on: tasks.len() - ready,
    })
}

/// `C/T complete · N running (P%) · N queued · …`: counts by state, zero counts left out.
/// Recovering tables count as running. The percentage is shown only when exactly one table is
/// copying rows, where it cannot mislead.
fn overview(tasks: &[Task]) -> String {
    let count = |state: State| tasks.iter().filter(|t| t.state == state).count();
    let mut parts = vec![format!(
        "{}/{} complete",
        count(State::Completed),
        tasks.len()
    )];
    let running = count(State::Running) + count(State::Recovering);
    if running > 0 {
        let copying: Vec<&Task> = tasks.iter().filter(|t| t.state == State::Running).collect();
        match copying.as_slice() {
            [only] if running == 1 && only.percent > 0 => {
                parts.push(format!("{running} running ({}%)", only.percent.min(100)));
            }
            _ => parts.push(format!("{running} running")),
        }
    }
    for (state, label) in [
        (State::Pending, "queued"),
        (State::WaitingForCutover, "waiting for cutover"),
        (State::CuttingOver, "cutting over"),
        (State::Failed, "failed"),
        (State::Stopped, "stopped"),
        (State::Cancelled, "cancelled"),
    ] {
        let n = count(state);
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    parts.join(" · ")
}

/// Display order: what is moving first, then what waits, then what has ended.
fn sort_priority(state: State) -> u8 {
    match state {
        State::Running | State::CuttingOver => 0,
        State::WaitingForCutover => 1,
        State::Failed | State::Stopped => 3,
        State::Completed | State::Cancelled | State::Reverted => 4,
        _ => 2,
    }
}

fn table_lines(tasks: &[Task]) -> Vec<TableLineView> {
    let mut ordered: Vec<&Task> = tasks.iter().collect();
    ordered.sort_by_key(|t| sort_priority(t.state)); // stable: equal states keep Tern's order
    let mut budget = DdlBudget::for_comment();
    ordered
        .into_iter()
        .map(|task| table_line(task, &mut budget))
        .collect()
}

/// `Rows: 45,000 / 100,000`, the copied count clamped to the total.
fn rows(task: &Task) -> String {
    format!(
        "Rows: {} / {}",
        format::thousands(task.rows_copied.min(task.rows_total)),
        format::thousands(task.rows_total)
    )
}

fn with_bar(state: State, percent: u8, label: &str) -> String {
    bar_for_state(state, percent).map_or_else(|| label.to_string(), |bar| format!("{bar} {label}"))
}

fn table_line(task: &Task, budget: &mut DdlBudget) -> TableLineView {
    let percent = task.percent.min(100);
    let mut status_detail = None;
    let mut progress_detail = None;
    let status = match task.state {
        State::Pending => "⏳ Queued".to_string(),
        State::Completed => with_bar(task.state, percent, "✓ Complete"),
        State::WaitingForCutover if task.ready_to_complete => {
            with_bar(task.state, percent, "⏸️ Ready for cutover")
        }
        State::WaitingForCutover => with_bar(task.state, percent, "Waiting for cutover"),
        // The last known progress is shown as a full yellow bar; without any, no bar at all.
        State::Recovering if percent > 0 => with_bar(task.state, percent, "🔄 Recovering..."),
        State::Recovering => "🔄 Recovering...".to_string(),
        State::CuttingOver => with_bar(task.state, percent, "🔄 Cutting over..."),
        State::RevertWindow => with_bar(task.state, percent, "✓ Complete (pending revert)"),
        State::Reverting => with_bar(task.state, percent, "↩️ Reverting..."),
        State::Failed => with_bar(task.state, percent, "❌ Failed"),
        State::Cancelled => "⊘ Cancelled (not started)".to_string(),
        State::Reverted => "↩️ Reverted".to_string(),
        State::Stopped => {
            if task.rows_total > 0 && percent > 0 {
                status_detail = Some(rows(task));
            }
            if percent >= 100 {
                format!(
                    "{} ⏹️ Stopped (was waiting for cutover)",
                    bar(BarColor::Orange, 100)
                )
            } else if percent > 0 {
                format!(
                    "{} ⏹️ Stopped at {percent}%",
                    bar(BarColor::Orange, percent)
                )
            } else {
                "⏹️ Stopped (not started)".to_string()
            }
        }
        State::Running
        | State::WaitingForDeploy
        | State::PreparingBranch
        | State::ApplyingBranchChanges
        | State::ValidatingBranch
        | State::CreatingDeployRequest
        | State::ValidatingDeployRequest => {
            if let Some(checksum) = task.checksum {
                // The copy is done; the engine is verifying it before the cutover.
                let checked = checksum.percent();
                progress_detail = Some(format!(
                    "Checksum: {} / {} rows",
                    format::thousands(checksum.rows_checked),
                    format::thousands(checksum.rows_total)
                ));
                format!(
                    "{} verifying checksum {checked}%",
                    bar(BarColor::Yellow, checked)
                )
            } else if task.rows_total > 0 {
                progress_detail = Some(match task.eta_seconds {
                    Some(eta) => {
                        let eta = format::duration(i64::try_from(eta).unwrap_or(i64::MAX));
                        format!("{} · ETA: {eta}", rows(task))
                    }
                    None => rows(task),
                });
                with_bar(State::Running, percent, &format!("{percent}%"))
            } else {
                "Running...".to_string()
            }
        }
    };
    TableLineView {
        name: task.table.clone(),
        status,
        status_detail,
        ddl: budget.take(&task.ddl),
        progress_detail,
    }
}

/// What to do next, by apply state.
fn footer(apply: &Apply, resume_deadline: Option<&str>) -> Option<FooterView> {
    let (id, env) = (&apply.id, &apply.environment);
    match apply.state {
        State::WaitingForCutover => command_footer(
            "To proceed with the cutover:",
            format!("schemabot cutover {id} -e {env}"),
        ),
        State::CuttingOver => {
            note_footer("Cutover in progress — typically completes within seconds.")
        }
        State::Recovering => note_footer(
            "SchemaBot is recovering this schema change after a restart. `schemabot cutover` is \
             refused until recovery completes; this comment shows the command again once every \
             table is ready for cutover.",
        ),
        State::Running => command_footer(
            "To stop this schema change:",
            format!("schemabot stop {id} -e {env}"),
        ),
        State::Stopped => {
            let start = format!("schemabot start {id} -e {env}");
            match resume_deadline.filter(|d| !d.trim().is_empty()) {
                Some(deadline) => commands_footer(vec![FooterCommandView {
                    until: Some(deadline.to_string()),
                    ..FooterCommandView::new("Resume before", start)
                }]),
                None => command_footer("To resume:", start),
            }
        }
        State::Failed => command_footer("To retry:", format!("schemabot apply -e {env}")),
        State::RevertWindow => commands_footer(vec![
            FooterCommandView::new("To revert:", format!("schemabot revert {id} -e {env}")),
            FooterCommandView::new(
                "To skip revert and keep changes:",
                format!("schemabot skip-revert {id} -e {env}"),
            ),
        ]),
        State::Completed => note_footer("*See completion summary below*"),
        // A deploy cannot be triggered from a PR comment (only `waiting_for_cutover` is), so no
        // command is offered; the setup phases and the other ended states need no action.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_heading_and_recovering_reads_as_such() {
        assert_eq!(header(State::Recovering), "Schema Change — Recovering");
        for state in State::ALL {
            assert!(header(state).contains("Schema Change"), "{state}");
        }
    }

    #[test]
    fn priorities_put_moving_tables_first() {
        assert!(sort_priority(State::Running) < sort_priority(State::WaitingForCutover));
        assert!(sort_priority(State::WaitingForCutover) < sort_priority(State::Recovering));
        assert_eq!(
            sort_priority(State::Recovering),
            sort_priority(State::Pending)
        );
        assert!(sort_priority(State::Pending) < sort_priority(State::Failed));
        assert!(sort_priority(State::Stopped) < sort_priority(State::Completed));
    }
}
