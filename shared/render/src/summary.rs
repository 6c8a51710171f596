//! The summary comment of a finished apply: the outcome, every table with its DDL (grouped by
//! namespace when there are several), and what to do next after a failure or a stop.
//! It is posted once, or edited into the cutover comment when there is one.

use crate::ddl::DdlBudget;
use crate::engine::{self, Template};
use crate::error::RenderError;
use crate::failure::failure_message;
use crate::footer::{command_footer, FooterCommandView, FooterView};
use crate::metadata::{AttributionView, MetadataView};
use crate::progress::titled;
use chrono::{DateTime, Utc};
use schemabot_domain::apply::{Apply, Task};
use schemabot_domain::state::reconcile::RECONCILE_RUNBOOK;
use schemabot_domain::State;
use serde::Serialize;

/// A namespace with more tables than this is folded into a `<details>` block.
const MAX_UNFOLDED_TABLES: usize = 5;

#[derive(Debug, Serialize)]
struct SummaryView {
    header: String,
    meta: MetadataView,
    attribution: Option<AttributionView>,
    /// A fixed or count-only sentence shown as a quote.
    outcome: Option<String>,
    /// The apply's error (raw; escaped by the template).
    error: Option<String>,
    /// `C of T table(s) completed before failure.` (counts only).
    progress_note: Option<String>,
    groups: Vec<NamespaceGroupView>,
    /// The apply id repeated at the end of a successful summary.
    closing_apply_id: Option<String>,
    footer: Option<FooterView>,
}

#[derive(Debug, Serialize)]
struct NamespaceGroupView {
    /// The namespace (raw), or `None` when the heading is left out.
    heading: Option<String>,
    emoji: &'static str,
    /// Fold the group into `<details>`.
    folded: bool,
    entries: Vec<TableEntryView>,
}

#[derive(Debug, Serialize)]
struct TableEntryView {
    name: String,
    /// `Failed at 45%`, `Stopped at 72%`, `Reverted`, `Cancelled` (numbers and fixed words).
    suffix: Option<String>,
    ddl: Option<String>,
}

/// Whether a task failed because its change was lost after a restart (the live schema did not
/// match): retrying blindly is not the next step, reconciling is.
fn needs_reconciliation(tasks: &[Task]) -> bool {
    tasks.iter().any(|task| {
        task.error_message
            .as_deref()
            .is_some_and(|message| message.ends_with(RECONCILE_RUNBOOK))
    })
}

fn reconciliation_footer(plan: String) -> Option<FooterView> {
    Some(FooterView {
        note: Some(
            "A person must reconcile this change first: follow \"A failed reconciliation\" in \
             docs/operations.md.",
        ),
        commands: vec![FooterCommandView::new(
            "Then, to see what is still missing:",
            plan,
        )],
    })
}

/// Whether the outcome was settled by checking the live schema rather than reported by Tern.
fn verified_live(tasks: &[Task]) -> bool {
    tasks.iter().any(|task| {
        task.error_message.as_deref()
            == Some(schemabot_domain::state::reconcile::VERIFIED_LIVE_MESSAGE)
    })
}

/// Renders the summary of a finished apply (completed, failed, stopped, cancelled or
/// reverted), ending with the hidden `marker`. Any other state is a caller bug and an error.
pub fn render_summary(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
    marker: &str,
) -> Result<String, RenderError> {
    render_summary_ended_by(apply, tasks, now, marker, None)
}

/// [`render_summary`], naming who ended the change when someone did (a `cancel` command:
/// `@login`, or a CLI identity).
pub fn render_summary_ended_by(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
    marker: &str,
    ended_by: Option<&str>,
) -> Result<String, RenderError> {
    let total = tasks.len();
    let completed = tasks.iter().filter(|t| t.state == State::Completed).count();
    let done_before = |event: &str| {
        Some(format!(
            "{completed} of {total} table(s) completed before {event}."
        ))
    };
    let (id, env) = (&apply.id, &apply.environment);
    // What every ended state shows; each state fills in its own parts.
    let ended = |header: &str| SummaryView {
        header: titled(apply, header),
        meta: MetadataView::of(apply, now, true, "Duration"),
        attribution: Some(AttributionView::of(apply)),
        outcome: None,
        error: None,
        progress_note: None,
        groups: groups(apply, tasks),
        closing_apply_id: None,
        footer: None,
    };
    let view = match apply.state {
        State::Completed => SummaryView {
            meta: MetadataView::of(apply, now, false, "Duration"),
            attribution: None,
            outcome: Some(if let Some(original) = &apply.rollback_of {
                format!(
                    "Rolled back: the schema from before {} is live again.",
                    crate::escape::code(original.as_str())
                )
            } else if verified_live(tasks) {
                "Tern lost track of this change after a restart; SchemaBot verified against the \
                 live schema that the desired schema is in place — your changes are live!"
                    .to_string()
            } else if total > 1 {
                format!("All {total} tables applied successfully — your schema changes are live!")
            } else {
                "Schema change applied successfully — your changes are live!".to_string()
            }),
            closing_apply_id: Some(apply.id.to_string()),
            ..ended("✅ Schema Change Applied")
        },
        State::Failed => SummaryView {
            error: failure_message(apply, tasks),
            progress_note: done_before("failure"),
            footer: if needs_reconciliation(tasks) {
                reconciliation_footer(format!("schemabot plan -e {env}"))
            } else if let Some(original) = &apply.rollback_of {
                command_footer(
                    "To retry:",
                    format!("schemabot rollback {original} -e {env}"),
                )
            } else {
                command_footer("To retry:", format!("schemabot apply -e {env}"))
            },
            ..ended("❌ Schema Change Failed")
        },
        State::Stopped => SummaryView {
            progress_note: done_before("stop"),
            footer: command_footer("To resume:", format!("schemabot start {id} -e {env}")),
            ..ended("⏹️ Schema Change Stopped")
        },
        State::Cancelled => SummaryView {
            outcome: ended_by.map(|by| {
                format!(
                    "Cancelled by {}. A cancelled change cannot be resumed; a new `apply` starts it again.",
                    crate::escape::md(by)
                )
            }),
            progress_note: done_before("the schema change was cancelled"),
            ..ended("Schema Change Cancelled")
        },
        State::Reverted => SummaryView {
            outcome: Some(
                "The schema change was reverted; the tables are back to their previous schema."
                    .to_string(),
            ),
            ..ended("↩️ Schema Change Reverted")
        },
        state => {
            return Err(RenderError::NotFinished {
                apply_id: apply.id.to_string(),
                state,
            })
        }
    };
    engine::render(Template::Summary, &view, marker)
}

/// Tables that went wrong first, then the completed ones, then the cancelled, then the rest.
fn summary_priority(state: State) -> u8 {
    match state {
        State::Failed | State::Stopped | State::Reverted => 0,
        State::Completed => 1,
        State::Cancelled => 2,
        _ => 3,
    }
}

/// The tables grouped by namespace (a task without one belongs to the apply's database), groups
/// in order of first appearance. The heading is left out when there is only one group and it is
/// the database itself (or unnamed).
fn groups(apply: &Apply, tasks: &[Task]) -> Vec<NamespaceGroupView> {
    let mut ordered: Vec<&Task> = tasks.iter().collect();
    ordered.sort_by_key(|t| summary_priority(t.state));

    let mut by_namespace: Vec<(String, Vec<&Task>)> = Vec::new();
    for task in ordered {
        let namespace = if task.namespace.is_empty() {
            apply.database.to_string()
        } else {
            task.namespace.clone()
        };
        match by_namespace.iter_mut().find(|(ns, _)| *ns == namespace) {
            Some((_, members)) => members.push(task),
            None => by_namespace.push((namespace, vec![task])),
        }
    }

    let headless = matches!(
        by_namespace.as_slice(),
        [(only, _)] if only == "default" || only == apply.database.as_str()
    );
    let mut budget = DdlBudget::for_comment();
    by_namespace
        .into_iter()
        .map(|(namespace, members)| NamespaceGroupView {
            heading: (!headless).then_some(namespace),
            emoji: group_emoji(&members),
            folded: !headless && members.len() > MAX_UNFOLDED_TABLES,
            entries: members
                .into_iter()
                .map(|task| TableEntryView {
                    name: task.table.clone(),
                    suffix: entry_suffix(task),
                    ddl: budget.take(&task.ddl),
                })
                .collect(),
        })
        .collect()
}

fn group_emoji(members: &[&Task]) -> &'static str {
    let any = |state: State| members.iter().any(|t| t.state == state);
    if any(State::Failed) {
        "❌"
    } else if any(State::Reverted) {
        "↩️"
    } else if any(State::Stopped) {
        "⏹️"
    } else if any(State::Cancelled) && !any(State::Completed) {
        "⊘"
    } else {
        "✅"
    }
}

fn entry_suffix(task: &Task) -> Option<String> {
    let percent = task.percent.min(100);
    match task.state {
        State::Failed => Some(format!("Failed at {percent}%")),
        State::Stopped => Some(format!("Stopped at {percent}%")),
        State::Reverted => Some("Reverted".to_string()),
        State::Cancelled => Some("Cancelled".to_string()),
        _ => None,
    }
}
