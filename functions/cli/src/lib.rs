//! `schemabot`, the operator CLI: a thin layer over the shared crates that lets an operator list
//! applies, watch their progress, trigger a deferred cutover, stop, start, cancel or revert a
//! change and read the audit trail from a terminal — through the same DynamoDB table and SQS
//! queue as the functions, with the caller's own AWS credentials. It is also the emergency path
//! when GitHub is down: a cutover or control requested here does not depend on a PR comment.
//!
//! [`run`] is the whole program minus the process: tests call it in-process with buffers.

pub mod args;
pub mod aws;
pub mod commands;
pub mod error;
pub mod exit;
pub mod output;
pub mod views;

use crate::args::{Cli, Command};
use crate::aws::Aws;
use crate::commands::Context;
use crate::error::CliError;
pub use crate::exit::Exit;
pub use crate::output::Console;
use clap::Parser;
use std::ffi::OsString;

/// Parses `args` (program name first) and runs the command, writing to `console`.
pub async fn run<I, T>(args: I, console: &mut Console<'_>) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let text = error.render().to_string();
            // Help and version are answers, not errors.
            if error.use_stderr() {
                console.note(text.trim_end());
                return Exit::Usage;
            }
            return console
                .print(&text)
                .map_or(Exit::Internal, |()| Exit::Success);
        }
    };
    let json = cli.global.json;
    execute(cli, console)
        .await
        .unwrap_or_else(|error| console.report_error(&error, json))
}

async fn execute(cli: Cli, console: &mut Console<'_>) -> Result<Exit, CliError> {
    let table = cli
        .global
        .table
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            CliError::Config(
                "no SchemaBot table configured: set SCHEMABOT_TABLE or pass --table".to_string(),
            )
        })?;
    let aws = Aws::connect().await?;
    let store = aws.store(&table);
    let mut cx = Context {
        json: cli.global.json,
        colors: console.colors(cli.global.color),
        console,
        aws,
        store,
        queue_url: cli.global.queue_url.clone().filter(|q| !q.is_empty()),
    };
    match &cli.command {
        Command::List(args) => commands::list::run(&mut cx, args).await,
        Command::Progress(args) => commands::progress::run(&mut cx, args).await,
        Command::Cutover(args) => commands::cutover::run(&mut cx, args).await,
        Command::Control(control) => {
            commands::control::run(&mut cx, control.op(), control.args()).await
        }
        Command::History(args) => commands::history::run(&mut cx, args).await,
        Command::Unlock(args) => commands::unlock::run(&mut cx, args).await,
        Command::Rollback(args) => commands::rollback::run(&mut cx, args).await,
    }
}

/// What an in-process run printed.
#[derive(Debug, Clone)]
pub struct Captured {
    pub exit: Exit,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `args` with captured output, as if stdout were a pipe and `NO_COLOR` unset (tests pass
/// `--color always` to see colours).
pub async fn run_captured<I, T>(args: I) -> Captured
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let exit = {
        let mut console = Console {
            out: &mut stdout,
            err: &mut stderr,
            stdout_is_terminal: false,
            no_color: false,
        };
        run(args, &mut console).await
    };
    Captured {
        exit,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}
