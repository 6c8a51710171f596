//! Replies the webhook decides on its own ([`Reply`]: help, syntax errors, unknown environments,
//! unregistered repositories, commands not available yet, applies on a pull request that is no
//! longer open), and the `reply` helper that command replies render through.
//!
//! Every reply ends with the usage line of the command it is about (when there is one) and a
//! pointer to `schemabot help`; every echoed value is escaped by the templates.

use crate::engine::{self, Template};
use crate::error::RenderError;
use schemabot_domain::command::{CommandName, ParseError};
use schemabot_domain::job::Reply;
use serde::Serialize;

// ---- views ---------------------------------------------------------------------------------
// One per template. Strings that came from outside are raw here and escaped by the templates;
// the `&'static str` fields are fixed wording.

/// Adds the footer's usage line to a reply's own fields.
#[derive(Debug, Serialize)]
struct ReplyView<T: Serialize> {
    usage: Option<&'static str>,
    #[serde(flatten)]
    details: T,
}

#[derive(Debug, Serialize)]
pub(crate) struct NoDetails {}

#[derive(Debug, Serialize)]
struct CommandView {
    /// `schemabot <command>`.
    command: String,
}

#[derive(Debug, Serialize)]
struct GivenView {
    command: String,
    given: String,
}

#[derive(Debug, Serialize)]
struct InvalidCommandView {
    /// `schemabot <word>` as typed, when a word followed `schemabot`.
    typed: Option<String>,
}

#[derive(Debug, Serialize)]
struct UnsupportedFlagView {
    command: String,
    flag: String,
}

#[derive(Debug, Serialize)]
struct UnexpectedWordView {
    command: String,
    word: String,
}

#[derive(Debug, Serialize)]
struct ApplyBlockedView {
    command: String,
    merged: bool,
}

#[derive(Debug, Serialize)]
struct UnknownEnvironmentView {
    given: String,
    configured: Vec<String>,
}

fn command_text(command: CommandName) -> String {
    format!("schemabot {command}")
}

pub(crate) fn reply<T: Serialize>(
    template: Template,
    usage: Option<&'static str>,
    details: T,
    marker: &str,
) -> Result<String, RenderError> {
    engine::render(template, &ReplyView { usage, details }, marker)
}

/// Renders a reply the webhook decided on, ending with the hidden `marker`.
pub fn render_reply(reply_to_post: &Reply, marker: &str) -> Result<String, RenderError> {
    match reply_to_post {
        Reply::Help => reply(Template::Help, None, NoDetails {}, marker),
        Reply::Syntax { error } => render_parse_error(error, marker),
        Reply::UnknownEnvironment {
            command,
            given,
            configured,
        } => {
            let mut configured: Vec<String> = configured.iter().map(|e| e.to_string()).collect();
            configured.sort();
            configured.dedup();
            reply(
                Template::UnknownEnvironment,
                Some(command.usage()),
                UnknownEnvironmentView {
                    given: given.to_string(),
                    configured,
                },
                marker,
            )
        }
        Reply::RepositoryNotRegistered => reply(
            Template::RepositoryNotRegistered,
            None,
            NoDetails {},
            marker,
        ),
        Reply::NotAvailableYet { command } => reply(
            Template::NotAvailableYet,
            Some(command.usage()),
            CommandView {
                command: command_text(*command),
            },
            marker,
        ),
        Reply::ApplyBlockedPrNotOpen { command, merged } => reply(
            Template::ApplyBlockedPrNotOpen,
            None,
            ApplyBlockedView {
                command: command_text(*command),
                merged: *merged,
            },
            marker,
        ),
    }
}

fn render_parse_error(error: &ParseError, marker: &str) -> Result<String, RenderError> {
    let given = |command: CommandName, given: &str| GivenView {
        command: command_text(command),
        given: given.to_string(),
    };
    match error {
        ParseError::UnknownCommand { word } => reply(
            Template::InvalidCommand,
            None,
            InvalidCommandView {
                typed: word.as_ref().map(|w| format!("schemabot {w}")),
            },
            marker,
        ),
        ParseError::MissingApplyId { command } => reply(
            Template::MissingApplyId,
            Some(command.usage()),
            CommandView {
                command: command_text(*command),
            },
            marker,
        ),
        ParseError::InvalidApplyId {
            command,
            given: typed,
        } => reply(
            Template::InvalidApplyId,
            Some(command.usage()),
            given(*command, typed),
            marker,
        ),
        ParseError::MissingEnvironment { command } => reply(
            Template::MissingEnvironment,
            Some(command.usage()),
            CommandView {
                command: command_text(*command),
            },
            marker,
        ),
        ParseError::InvalidEnvironment {
            command,
            given: typed,
        } => reply(
            Template::InvalidEnvironment,
            Some(command.usage()),
            given(*command, typed),
            marker,
        ),
        ParseError::InvalidDatabase {
            command,
            given: typed,
        } => reply(
            Template::InvalidDatabase,
            Some(command.usage()),
            given(*command, typed),
            marker,
        ),
        ParseError::UnsupportedFlag { command, flag } => reply(
            Template::UnsupportedFlag,
            Some(command.usage()),
            UnsupportedFlagView {
                command: command_text(*command),
                flag: flag.clone(),
            },
            marker,
        ),
        ParseError::UnexpectedWord { command, word } => reply(
            Template::UnexpectedWord,
            Some(command.usage()),
            UnexpectedWordView {
                command: command_text(*command),
                word: word.clone(),
            },
            marker,
        ),
    }
}
