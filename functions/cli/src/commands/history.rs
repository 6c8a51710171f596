//! `schemabot history`: an apply's audit trail, oldest first.

use super::Context;
use crate::args::HistoryArgs;
use crate::error::CliError;
use crate::exit::Exit;
use crate::views::{table, EventView, HistoryView};
use schemabot_render::escape::single_line;
use schemabot_render::format;

pub async fn run(cx: &mut Context<'_, '_>, args: &HistoryArgs) -> Result<Exit, CliError> {
    let (apply, events) = futures::join!(
        cx.store.get_apply(&args.apply_id),
        cx.store.list_events(&args.apply_id)
    );
    let apply = apply.map_err(|e| CliError::from_store(e, cx.table()))?;
    let events = events.map_err(|e| CliError::from_store(e, cx.table()))?;
    // The trail outlives nothing in practice, but if the apply record is gone and its events
    // are not, the events are still worth showing.
    if apply.is_none() && events.is_empty() {
        return Err(CliError::ApplyNotFound(args.apply_id.clone()));
    }

    let view = HistoryView {
        apply_id: args.apply_id.to_string(),
        events: events.iter().map(EventView::of).collect(),
    };
    cx.print_report(Exit::Success, &view, || {
        if events.is_empty() {
            return format!("No audit events for {}.\n", args.apply_id);
        }
        let rows: Vec<Vec<String>> = events
            .iter()
            .map(|e| {
                let states = match (e.from_state, e.to_state) {
                    (Some(from), Some(to)) => format!("{from} → {to}"),
                    (Some(from), None) => from.to_string(),
                    (None, Some(to)) => format!("→ {to}"),
                    (None, None) => String::new(),
                };
                vec![
                    format::timestamp(e.at),
                    // Stored text goes to a terminal: one line, no control characters.
                    single_line(e.event.as_str()),
                    single_line(e.outcome.as_str()),
                    single_line(&e.actor),
                    states,
                    e.message.as_deref().map(single_line).unwrap_or_default(),
                ]
            })
            .collect();
        table(
            &["TIME", "EVENT", "OUTCOME", "ACTOR", "STATE", "MESSAGE"],
            &rows,
            |_, cell| cell.to_string(),
        )
    })
}
