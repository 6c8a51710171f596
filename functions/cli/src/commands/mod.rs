//! One module per subcommand. Each returns the exit status of a command that reached an
//! answer, or the [`CliError`] that kept it from one.

pub mod control;
pub mod cutover;
pub mod history;
pub mod list;
pub mod progress;
pub mod request;
pub mod rollback;
pub mod unlock;

use crate::aws::Aws;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::Console;
use schemabot_aws::Store;
use schemabot_domain::apply::Apply;
use schemabot_domain::{ApplyId, State};
use schemabot_render::escape::single_line;
use schemabot_render::terminal::{paint, state_color};
use schemabot_render::TerminalColors;
use serde::Serialize;

/// What every command works with.
pub struct Context<'a, 'c> {
    pub console: &'a mut Console<'c>,
    pub json: bool,
    pub colors: TerminalColors,
    pub aws: Aws,
    pub store: Store,
    /// The job queue (only `cutover` and the controls need it).
    pub queue_url: Option<String>,
}

impl Context<'_, '_> {
    pub fn table(&self) -> &str {
        self.store.table_name()
    }

    /// The apply, which must exist: the worker answers a request about an unknown apply on a PR
    /// only, and a CLI request has none, so it is reported before anything is sent (exit 4).
    pub async fn require_apply(&self, apply_id: &ApplyId) -> Result<Apply, CliError> {
        self.store
            .get_apply(apply_id)
            .await
            .map_err(|e| CliError::from_store(e, self.table()))?
            .ok_or_else(|| CliError::ApplyNotFound(apply_id.clone()))
    }

    /// Prints `report` with `--json`, else `text()`, and returns `exit`.
    pub fn print_report(
        &mut self,
        exit: Exit,
        report: &impl Serialize,
        text: impl FnOnce() -> String,
    ) -> Result<Exit, CliError> {
        if self.json {
            self.console.print_json(report)?;
        } else {
            self.console.print(&text())?;
        }
        Ok(exit)
    }
}

/// A state name in the colour of its progress bar.
pub fn painted_state(state: State, colors: TerminalColors) -> String {
    match state_color(state) {
        Some(color) => paint(state.as_str(), color, colors),
        None => state.as_str().to_string(),
    }
}

/// Stored text made one line for a terminal, or `fallback` when there is none.
pub fn single_line_or(text: Option<&str>, fallback: &str) -> String {
    text.map_or_else(|| fallback.to_string(), single_line)
}
