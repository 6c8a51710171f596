//! `schemabot list`: the applies still in flight, from the sparse `active` index.

use super::{painted_state, Context};
use crate::args::ListArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::views::{table, ApplySummaryView, ListView};
use chrono::Utc;
use futures::stream::{self, StreamExt, TryStreamExt};
use schemabot_render::format;

/// Applies loaded at once (each is one Query).
const LOAD_CONCURRENCY: usize = 16;

pub async fn run(cx: &mut Context<'_, '_>, args: &ListArgs) -> Result<Exit, CliError> {
    let active = cx
        .store
        .list_all_active()
        .await
        .map_err(|e| CliError::from_store(e, cx.table()))?;
    let selected = active.into_iter().filter(|a| {
        args.repo.as_ref().is_none_or(|r| *r == a.repository)
            && args.env.as_ref().is_none_or(|e| *e == a.environment)
    });
    // The index is eventually consistent: load each apply (with its tasks) for the real state,
    // and leave out those that ended or vanished meanwhile.
    let store = &cx.store;
    let snapshots: Vec<_> = stream::iter(selected)
        .map(|entry| async move { store.load_snapshot(&entry.apply_id).await })
        .buffered(LOAD_CONCURRENCY)
        .try_collect()
        .await
        .map_err(|e| CliError::from_store(e, cx.table()))?;
    let now = Utc::now();
    let view = ListView {
        applies: snapshots
            .into_iter()
            .flatten()
            .filter(|s| !s.apply.state.is_terminal())
            .map(|s| ApplySummaryView::of(&s.apply, &s.tasks, now))
            .collect(),
    };
    let colors = cx.colors;
    cx.print_report(Exit::Success, &view, || {
        if view.applies.is_empty() {
            return "No active applies.\n".to_string();
        }
        let rows: Vec<Vec<String>> = view
            .applies
            .iter()
            .map(|a| {
                vec![
                    a.apply_id.clone(),
                    a.state.as_str().to_string(),
                    format!("{}/{}", a.tables_ready, a.tables_total),
                    format::duration(a.elapsed_seconds),
                    a.environment.clone(),
                    format!("{}#{}", a.repository, a.pr),
                    a.database.clone(),
                ]
            })
            .collect();
        table(
            &[
                "APPLY ID",
                "STATE",
                "READY",
                "ELAPSED",
                "ENV",
                "PULL REQUEST",
                "DATABASE",
            ],
            &rows,
            |column, cell| match (column, schemabot_domain::State::from_storage(cell)) {
                (1, Some(state)) => painted_state(state, colors),
                _ => cell.to_string(),
            },
        )
    })
}
