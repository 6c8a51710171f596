//! `schemabot progress`: the apply's progress comment, themed for a terminal; with `--watch`,
//! refreshed in place until the apply reaches a terminal state.

use super::Context;
use crate::args::{display_duration, ProgressArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::views::ProgressView;
use chrono::{DateTime, Utc};
use schemabot_aws::store::ApplySnapshot;
use schemabot_domain::apply::{Apply, Task};
use schemabot_domain::{ApplyId, State};
use schemabot_render::{format, render_progress_terminal, TerminalColors};

/// Consecutive failed refreshes a watch tolerates (a network blip should not end it).
const WATCH_FAILURES_TOLERATED: u32 = 5;

/// Cursor home, then each line clears what the previous frame left on it; the tail of the
/// screen is cleared after the last line.
const CURSOR_HOME: &str = "\x1b[H";
const CLEAR_SCREEN: &str = "\x1b[2J";
const CLEAR_TO_LINE_END: &str = "\x1b[K";
const CLEAR_TO_SCREEN_END: &str = "\x1b[J";

/// The terminal rendering of `apply` at `now` — what `schemabot progress` prints.
pub fn progress_text(
    apply: &Apply,
    tasks: &[Task],
    now: DateTime<Utc>,
    colors: TerminalColors,
) -> Result<String, CliError> {
    render_progress_terminal(apply, tasks, now, colors)
        .map_err(|e| CliError::Internal(format!("cannot render the progress: {e}")))
}

pub async fn run(cx: &mut Context<'_, '_>, args: &ProgressArgs) -> Result<Exit, CliError> {
    if args.watch {
        return watch(cx, args).await;
    }
    let snapshot = load(cx, &args.apply_id).await?;
    show(cx, &snapshot)?;
    Ok(Exit::Success)
}

async fn load(cx: &Context<'_, '_>, apply_id: &ApplyId) -> Result<ApplySnapshot, CliError> {
    cx.store
        .load_snapshot(apply_id)
        .await
        .map_err(|e| CliError::from_store(e, cx.table()))?
        .ok_or_else(|| CliError::ApplyNotFound(apply_id.clone()))
}

fn show(cx: &mut Context<'_, '_>, snapshot: &ApplySnapshot) -> Result<(), CliError> {
    let now = Utc::now();
    if cx.json {
        return cx
            .console
            .print_json(&ProgressView::of(&snapshot.apply, &snapshot.tasks, now));
    }
    let text = progress_text(&snapshot.apply, &snapshot.tasks, now, cx.colors)?;
    cx.console.print(&text)
}

async fn watch(cx: &mut Context<'_, '_>, args: &ProgressArgs) -> Result<Exit, CliError> {
    // In place on a terminal; elsewhere (a pipe, a log) a new frame only when the stored
    // records changed; with --json only the final document.
    let in_place = cx.console.stdout_is_terminal && !cx.json;
    let mut previous: Option<(Apply, Vec<Task>)> = None;
    let mut failures = 0;
    let mut first_frame = true;
    loop {
        let snapshot = match load(cx, &args.apply_id).await {
            Ok(snapshot) => {
                failures = 0;
                snapshot
            }
            Err(error @ CliError::Network { .. }) if failures < WATCH_FAILURES_TOLERATED => {
                failures += 1;
                cx.console.note(&format!(
                    "schemabot: {error} (retrying, {failures}/{WATCH_FAILURES_TOLERATED})"
                ));
                tokio::time::sleep(args.interval).await;
                continue;
            }
            Err(error) => return Err(error),
        };
        let state = snapshot.apply.state;
        let finished = state.is_terminal();
        if cx.json {
            if finished {
                show(cx, &snapshot)?;
            }
        } else if in_place {
            let now = Utc::now();
            let mut frame = progress_text(&snapshot.apply, &snapshot.tasks, now, cx.colors)?;
            frame.push_str(&format!(
                "\n{}\n",
                if finished {
                    format!("Finished: {state}.")
                } else {
                    format!(
                        "Refreshing every {} · Ctrl-C to stop · updated {}",
                        display_duration(args.interval),
                        format::timestamp(now)
                    )
                }
            ));
            let mut out = if first_frame {
                format!("{CURSOR_HOME}{CLEAR_SCREEN}")
            } else {
                CURSOR_HOME.to_string()
            };
            out.extend(
                frame
                    .lines()
                    .map(|line| format!("{line}{CLEAR_TO_LINE_END}\n")),
            );
            out.push_str(CLEAR_TO_SCREEN_END);
            cx.console.print(&out)?;
        } else {
            let current = (snapshot.apply.clone(), snapshot.tasks.clone());
            if previous.as_ref() != Some(&current) {
                if !first_frame {
                    cx.console.print("\n")?;
                }
                show(cx, &snapshot)?;
                previous = Some(current);
            }
        }
        first_frame = false;
        if finished {
            // A watch succeeds only when the change completed.
            return Ok(match state {
                State::Completed => Exit::Success,
                _ => Exit::Failed,
            });
        }
        tokio::time::sleep(args.interval).await;
    }
}
