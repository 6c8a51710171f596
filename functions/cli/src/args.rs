//! The command line. Ids and names are parsed into the domain types here, so a malformed apply
//! id or environment is a usage error (exit 64) before anything touches AWS.

use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand, ValueEnum};
use schemabot_domain::control::ControlOp;
use schemabot_domain::{ApplyId, Database, Environment, Repository};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "schemabot",
    version,
    about = "Operate SchemaBot schema changes from a terminal: list, watch, cut over, stop, \
             start, cancel, revert, unlock, audit.",
    long_about = "Operate SchemaBot schema changes from a terminal: list, watch, cut over, stop, \
                  start, cancel, revert, unlock, audit.\n\n\
                  Uses your own AWS credentials and the same DynamoDB table and SQS queue as the \
                  SchemaBot functions; `cutover` and the controls enqueue the same job as their \
                  PR comment, so they work while GitHub is down.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The SchemaBot DynamoDB table.
    #[arg(long, global = true, env = "SCHEMABOT_TABLE", value_name = "TABLE")]
    pub table: Option<String>,
    /// The SchemaBot SQS FIFO job queue (needed by `cutover`, the controls and `unlock`).
    #[arg(long, global = true, env = "SCHEMABOT_QUEUE_URL", value_name = "URL")]
    pub queue_url: Option<String>,
    /// Print one JSON document on stdout (errors included) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Colours: `auto` uses them on a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Active (not yet finished) applies: state, tables ready for cutover, elapsed time.
    List(ListArgs),
    /// An apply's progress, as its PR comment shows it.
    Progress(ProgressArgs),
    /// Trigger the deferred cutover of an apply, and wait for the outcome.
    ///
    /// Enqueues the same cutover job as the PR comment `schemabot cutover <apply-id> -e <env>`;
    /// the worker applies every check except the GitHub permission check (IAM replaces it) and
    /// posts the Cutover Triggered comment on the PR, naming your AWS identity.
    Cutover(RequestArgs),
    // stop, start, cancel, revert, skip-revert.
    #[command(flatten)]
    Control(ControlCommand),
    /// An apply's audit trail: who did what, when, with what outcome.
    History(HistoryArgs),
    /// Release the lock on a database and environment whoever holds it, and wait for the
    /// outcome.
    ///
    /// The twin of an admin's PR comment `schemabot unlock --force -d <db> -e <env>`: a planned
    /// lock is released and its pull request told; a lock whose change is being confirmed or
    /// applied is kept (cancel the apply instead).
    Unlock(UnlockArgs),
    /// Plan the schema the database had before an apply, lock it for the apply's pull request,
    /// and wait for the outcome.
    ///
    /// The twin of the PR comment `schemabot rollback <apply-id> -e <env>`: the worker checks
    /// that the apply completed and is still the latest on its database, plans the schema Tern
    /// captured before it, and posts the rollback plan on the apply's pull request, where
    /// `schemabot rollback-confirm -e <env>` applies it.
    Rollback(RollbackArgs),
}

/// The lifecycle controls: each the twin of its PR comment, sent as the same job.
#[derive(Debug, Subcommand)]
pub enum ControlCommand {
    /// Stop an apply at its checkpoint (resumable with `start`), and wait for the outcome.
    ///
    /// Enqueues the same job as the PR comment `schemabot stop <apply-id> -e <env>`; the worker
    /// applies every check except the GitHub permission check (IAM replaces it).
    Stop(RequestArgs),
    /// Resume a stopped apply from its checkpoint, and wait for the outcome.
    ///
    /// The twin of the PR comment `schemabot start <apply-id> -e <env>`.
    Start(RequestArgs),
    /// Abandon an apply for good (before its cutover), and wait for the outcome.
    ///
    /// The twin of the PR comment `schemabot cancel <apply-id> -e <env>`.
    Cancel(RequestArgs),
    /// Undo a cut-over change during its revert window, and wait for the outcome.
    ///
    /// The twin of the PR comment `schemabot revert <apply-id> -e <env>`.
    Revert(RequestArgs),
    /// End an apply's revert window now, keeping the change, and wait for the outcome.
    ///
    /// The twin of the PR comment `schemabot skip-revert <apply-id> -e <env>`.
    SkipRevert(RequestArgs),
}

impl ControlCommand {
    pub fn op(&self) -> ControlOp {
        match self {
            ControlCommand::Stop(_) => ControlOp::Stop,
            ControlCommand::Start(_) => ControlOp::Start,
            ControlCommand::Cancel(_) => ControlOp::Cancel,
            ControlCommand::Revert(_) => ControlOp::Revert,
            ControlCommand::SkipRevert(_) => ControlOp::SkipRevert,
        }
    }

    pub fn args(&self) -> &RequestArgs {
        match self {
            ControlCommand::Stop(args)
            | ControlCommand::Start(args)
            | ControlCommand::Cancel(args)
            | ControlCommand::Revert(args)
            | ControlCommand::SkipRevert(args) => args,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only applies of this repository (owner/name).
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<Repository>,
    /// Only applies in this environment.
    #[arg(long, short = 'e', visible_alias = "environment", value_name = "ENV")]
    pub env: Option<Environment>,
}

#[derive(Debug, Args)]
pub struct ProgressArgs {
    pub apply_id: ApplyId,
    /// Refresh in place until the apply reaches a terminal state.
    #[arg(long)]
    pub watch: bool,
    /// Refresh interval for --watch (e.g. 2s, 500ms, 1m).
    #[arg(long, value_parser = parse_duration, default_value = "2s", value_name = "DURATION")]
    pub interval: Duration,
}

/// A job for one apply, sent on the queue: `<apply-id> -e <env> [--timeout]`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    pub apply_id: ApplyId,
    /// The apply's environment (must match it, as in the PR command).
    #[arg(long = "env", short, visible_alias = "environment", value_name = "ENV")]
    pub environment: Environment,
    /// How long to wait for the worker's outcome (e.g. 60s, 2m).
    #[arg(long, value_parser = parse_duration, default_value = "60s", value_name = "DURATION")]
    pub timeout: Duration,
}

/// `unlock -d <db> -e <env> [--timeout]`: the lock on one database and environment.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The database whose lock to release.
    #[arg(long, short, visible_alias = "db", value_name = "DB")]
    pub database: Database,
    /// The environment of the lock.
    #[arg(long = "env", short, visible_alias = "environment", value_name = "ENV")]
    pub environment: Environment,
    /// How long to wait for the worker's outcome (e.g. 60s, 2m).
    #[arg(long, value_parser = parse_duration, default_value = "60s", value_name = "DURATION")]
    pub timeout: Duration,
}

/// `rollback <apply-id> -e <env> [--defer-cutover] [--timeout]`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Run the rollback with a deferred cutover (cut over with `cutover` once it is ready).
    #[arg(long)]
    pub defer_cutover: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub apply_id: ApplyId,
}

/// `500ms`, `30s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration (try 30s, 2m or 500ms)"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(amount),
        "" | "s" => Duration::from_secs(amount),
        "m" => Duration::from_secs(amount.saturating_mul(60)),
        "h" => Duration::from_secs(amount.saturating_mul(3600)),
        other => return Err(format!("unknown unit `{other}` (use ms, s, m or h)")),
    };
    if duration.is_zero() {
        return Err("the duration must be greater than zero".to_string());
    }
    Ok(duration)
}

/// A duration as the flags take it: `500ms`, `45s`, `2m 30s`.
pub fn display_duration(duration: Duration) -> String {
    if duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        schemabot_render::format::duration(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "s", "0s", "-1s", "5 parsecs", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(display_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(display_duration(Duration::from_secs(150)), "2m 30s");
    }

    #[test]
    fn ids_are_validated_while_parsing() {
        assert!(Cli::try_parse_from(["schemabot", "progress", "not-an-apply"]).is_err());
        assert!(Cli::try_parse_from(["schemabot", "cutover", "apply-00ab"]).is_err());
        let cli = Cli::try_parse_from([
            "schemabot",
            "cutover",
            "APPLY-00AB",
            "-e",
            "Production",
            "--json",
        ])
        .unwrap();
        let Command::Cutover(args) = cli.command else {
            panic!("not a cutover");
        };
        assert_eq!(args.apply_id.as_str(), "apply-00ab");
        assert_eq!(args.environment.as_str(), "production");
        assert!(cli.global.json);
    }

    #[test]
    fn controls_parse_into_their_op() {
        let cli = Cli::try_parse_from([
            "schemabot",
            "skip-revert",
            "apply-00ab",
            "--environment",
            "staging",
            "--timeout",
            "2m",
        ])
        .unwrap();
        let Command::Control(control) = cli.command else {
            panic!("not a control");
        };
        assert_eq!(control.op(), ControlOp::SkipRevert);
        assert_eq!(control.args().environment.as_str(), "staging");
        assert_eq!(control.args().timeout, Duration::from_secs(120));
        // The apply id is required: only a PR comment can mean "this PR's one apply".
        assert!(Cli::try_parse_from(["schemabot", "stop", "-e", "staging"]).is_err());
        assert!(Cli::try_parse_from(["schemabot", "stop", "apply-00ab"]).is_err());
    }
}
