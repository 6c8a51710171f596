//! The PR-comment command grammar: typed commands and typed parse errors.
//!
//! `parse` (in `parser/`) reads a comment body, skipping fenced code, indented code, inline code,
//! HTML comments and `>` quotes, finds the first `schemabot` invocation that starts a line (after
//! at most three spaces) and turns it into a [`Command`] or a [`ParseError`]. A mention inside a
//! sentence is prose, never a command. Environments are only lower-cased here; whether one is
//! configured is checked by the caller.

mod lexer;
mod parser;

pub use parser::parse;

use crate::ids::{ApplyId, Database, Environment};
use serde::{Deserialize, Serialize};

named_enum! {
    /// The command words SchemaBot knows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum CommandName {
        Help = "help",
        Cutover = "cutover",
        Plan = "plan",
        Apply = "apply",
        ApplyConfirm = "apply-confirm",
        Unlock = "unlock",
        Stop = "stop",
        Start = "start",
        Cancel = "cancel",
        Revert = "revert",
        SkipRevert = "skip-revert",
        Rollback = "rollback",
        RollbackConfirm = "rollback-confirm",
        FixLint = "fix-lint",
    }
}

impl CommandName {
    /// Case-insensitive lookup of a command word.
    pub fn from_word(word: &str) -> Option<CommandName> {
        CommandName::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(word))
    }

    /// The usage line shown in replies, e.g. `schemabot cutover <apply-id> -e <environment>`.
    pub fn usage(self) -> &'static str {
        match self {
            CommandName::Help => "schemabot help",
            CommandName::Cutover => "schemabot cutover <apply-id> -e <environment>",
            CommandName::Plan => "schemabot plan [-e <environment>] [-d <database>]",
            CommandName::Apply => {
                "schemabot apply -e <environment> [-d <database>] [--defer-cutover] [--allow-unsafe]"
            }
            CommandName::ApplyConfirm => "schemabot apply-confirm -e <environment>",
            CommandName::Unlock => {
                "schemabot unlock [-d <database>] [-e <environment>] | schemabot unlock --force -d <database> -e <environment>"
            }
            CommandName::Stop => "schemabot stop <apply-id> -e <environment>",
            CommandName::Start => "schemabot start <apply-id> -e <environment>",
            CommandName::Cancel => "schemabot cancel <apply-id> -e <environment>",
            CommandName::Revert => "schemabot revert <apply-id> -e <environment>",
            CommandName::SkipRevert => "schemabot skip-revert <apply-id> -e <environment>",
            CommandName::Rollback => "schemabot rollback <apply-id> -e <environment>",
            CommandName::RollbackConfirm => "schemabot rollback-confirm -e <environment>",
            CommandName::FixLint => "schemabot fix-lint [-d <database>]",
        }
    }
}

/// Flags of `apply` (and of `rollback`, which shares `--defer-cutover`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyFlags {
    pub defer_cutover: bool,
    pub allow_unsafe: bool,
    pub skip_revert: bool,
    /// `-y` / `--yes`: confirm in the same step (only valid on `apply`).
    pub auto_confirm: bool,
}

/// A complete, well-formed command. Environment *membership* is not checked here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Command {
    Help,
    Cutover {
        apply_id: ApplyId,
        environment: Environment,
    },
    /// Without `-e`: plan every configured environment.
    Plan {
        environment: Option<Environment>,
        database: Option<Database>,
    },
    Apply {
        environment: Environment,
        database: Option<Database>,
        flags: ApplyFlags,
    },
    ApplyConfirm {
        environment: Environment,
        database: Option<Database>,
        allow_unsafe: bool,
    },
    /// This PR's own locks, narrowed to a database and/or an environment when named.
    Unlock {
        database: Option<Database>,
        environment: Option<Environment>,
    },
    /// `unlock --force -d <db> -e <env>` (admins): release whichever PR's lock on (database,
    /// environment), unless it is being applied.
    ForceUnlock {
        database: Database,
        environment: Environment,
    },
    Stop {
        apply_id: Option<ApplyId>,
        environment: Environment,
    },
    Start {
        apply_id: Option<ApplyId>,
        environment: Environment,
    },
    Cancel {
        apply_id: Option<ApplyId>,
        environment: Environment,
    },
    Revert {
        apply_id: Option<ApplyId>,
        environment: Environment,
    },
    SkipRevert {
        apply_id: Option<ApplyId>,
        environment: Environment,
    },
    Rollback {
        apply_id: ApplyId,
        environment: Environment,
        defer_cutover: bool,
    },
    RollbackConfirm {
        environment: Environment,
    },
    FixLint {
        database: Option<Database>,
    },
}

impl Command {
    pub fn name(&self) -> CommandName {
        match self {
            Command::Help => CommandName::Help,
            Command::Cutover { .. } => CommandName::Cutover,
            Command::Plan { .. } => CommandName::Plan,
            Command::Apply { .. } => CommandName::Apply,
            Command::ApplyConfirm { .. } => CommandName::ApplyConfirm,
            Command::Unlock { .. } | Command::ForceUnlock { .. } => CommandName::Unlock,
            Command::Stop { .. } => CommandName::Stop,
            Command::Start { .. } => CommandName::Start,
            Command::Cancel { .. } => CommandName::Cancel,
            Command::Revert { .. } => CommandName::Revert,
            Command::SkipRevert { .. } => CommandName::SkipRevert,
            Command::Rollback { .. } => CommandName::Rollback,
            Command::RollbackConfirm { .. } => CommandName::RollbackConfirm,
            Command::FixLint { .. } => CommandName::FixLint,
        }
    }

    /// The environment the command targets, if it names one (for instance routing).
    pub fn environment(&self) -> Option<&Environment> {
        match self {
            Command::Cutover { environment, .. }
            | Command::Apply { environment, .. }
            | Command::ApplyConfirm { environment, .. }
            | Command::Stop { environment, .. }
            | Command::Start { environment, .. }
            | Command::Cancel { environment, .. }
            | Command::Revert { environment, .. }
            | Command::SkipRevert { environment, .. }
            | Command::Rollback { environment, .. }
            | Command::RollbackConfirm { environment }
            | Command::ForceUnlock { environment, .. } => Some(environment),
            Command::Plan { environment, .. } | Command::Unlock { environment, .. } => {
                environment.as_ref()
            }
            Command::Help | Command::FixLint { .. } => None,
        }
    }
}

/// Why a comment that addresses SchemaBot is not a usable command. Every variant becomes a reply.
/// Raw user text is carried verbatim (length-capped by the parser) and escaped when rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ParseError {
    /// `schemabot` is mentioned but no known command word follows (e.g. `schemabot foobar`).
    #[error("unknown command")]
    UnknownCommand { word: Option<String> },
    /// The command needs an apply id and none (or none well-formed) was given.
    #[error("missing apply id for `{command}`")]
    MissingApplyId { command: CommandName },
    /// Something that looks like an apply id but is not one (e.g. `apply-xyz`).
    #[error("`{given}` is not an apply id")]
    InvalidApplyId { command: CommandName, given: String },
    /// The command needs `-e <environment>` and none was given.
    #[error("missing environment for `{command}`")]
    MissingEnvironment { command: CommandName },
    /// `-e` followed by something that cannot be an environment name.
    #[error("`{given}` is not a valid environment name")]
    InvalidEnvironment { command: CommandName, given: String },
    /// `-d` followed by something that cannot be a database name, or nothing.
    #[error("`{given}` is not a valid database name")]
    InvalidDatabase { command: CommandName, given: String },
    /// A flag the command does not take (e.g. `-y` on anything but `apply`).
    #[error("flag `{flag}` is not supported for `{command}`")]
    UnsupportedFlag { command: CommandName, flag: String },
    /// A word a command that changes something does not take (e.g. `please` in
    /// `schemabot apply -e production please`): refused rather than ignored.
    #[error("unexpected `{word}` after `{command}`")]
    UnexpectedWord { command: CommandName, word: String },
}

impl ParseError {
    /// The command the error is about, when one was recognised.
    pub fn command(&self) -> Option<CommandName> {
        match self {
            ParseError::UnknownCommand { .. } => None,
            ParseError::MissingApplyId { command }
            | ParseError::InvalidApplyId { command, .. }
            | ParseError::MissingEnvironment { command }
            | ParseError::InvalidEnvironment { command, .. }
            | ParseError::InvalidDatabase { command, .. }
            | ParseError::UnsupportedFlag { command, .. }
            | ParseError::UnexpectedWord { command, .. } => Some(*command),
        }
    }
}

/// What a comment body means to SchemaBot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseOutcome {
    /// The comment does not address SchemaBot (outside code and quotes): ignore it.
    NotAddressed,
    Command(Command),
    /// Not a usable command. `environment` is the environment the comment named, if any, so that
    /// in a multi-stack setup only the stack owning it answers.
    Error {
        error: ParseError,
        environment: Option<Environment>,
    },
}

impl ParseOutcome {
    /// An error that names no environment.
    pub fn error(error: ParseError) -> Self {
        ParseOutcome::Error {
            error,
            environment: None,
        }
    }

    /// The environment the comment targets, whether or not the command is valid.
    pub fn environment(&self) -> Option<&Environment> {
        match self {
            ParseOutcome::NotAddressed => None,
            ParseOutcome::Command(command) => command.environment(),
            ParseOutcome::Error { environment, .. } => environment.as_ref(),
        }
    }
}
