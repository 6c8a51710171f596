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
use serde_json::json;
use std::collections::BTreeSet;

/// Adds the footer's usage line to a reply's own fields (strings that came from outside are raw
/// there and escaped by the templates).
#[derive(Debug, Serialize)]
struct ReplyView<T: Serialize> {
    usage: Option<&'static str>,
    #[serde(flatten)]
    details: T,
}

pub(crate) fn reply<T: Serialize>(
    template: Template,
    usage: Option<&'static str>,
    details: T,
    marker: &str,
) -> Result<String, RenderError> {
    engine::render(template, &ReplyView { usage, details }, marker)
}

/// A reply about `command`: its usage line, `command` (`schemabot <command>`) and the `typed`
/// values as (field, raw text).
fn command_reply(
    template: Template,
    command: CommandName,
    typed: &[(&str, &str)],
    marker: &str,
) -> Result<String, RenderError> {
    let mut details = json!({ "command": format!("schemabot {command}") });
    for &(field, value) in typed {
        details[field] = json!(value);
    }
    reply(template, Some(command.usage()), details, marker)
}

/// Renders a reply the webhook decided on, ending with the hidden `marker`.
pub fn render_reply(reply_to_post: &Reply, marker: &str) -> Result<String, RenderError> {
    match reply_to_post {
        Reply::Help => reply(Template::Help, None, json!({}), marker),
        Reply::Syntax { error } => render_parse_error(error, marker),
        Reply::UnknownEnvironment {
            command,
            given,
            configured,
        } => {
            let configured: BTreeSet<String> = configured.iter().map(|e| e.to_string()).collect();
            let details = json!({ "given": given.to_string(), "configured": configured });
            reply(
                Template::UnknownEnvironment,
                Some(command.usage()),
                details,
                marker,
            )
        }
        Reply::RepositoryNotRegistered => {
            reply(Template::RepositoryNotRegistered, None, json!({}), marker)
        }
        Reply::NotAvailableYet { command } => {
            command_reply(Template::NotAvailableYet, *command, &[], marker)
        }
        Reply::ApplyBlockedPrNotOpen { command, merged } => reply(
            Template::ApplyBlockedPrNotOpen,
            None,
            json!({ "command": format!("schemabot {command}"), "merged": merged }),
            marker,
        ),
    }
}

fn render_parse_error(error: &ParseError, marker: &str) -> Result<String, RenderError> {
    match error {
        ParseError::UnknownCommand { word } => reply(
            Template::InvalidCommand,
            None,
            json!({ "typed": word.as_ref().map(|w| format!("schemabot {w}")) }),
            marker,
        ),
        ParseError::MissingApplyId { command } => {
            command_reply(Template::MissingApplyId, *command, &[], marker)
        }
        ParseError::InvalidApplyId { command, given } => command_reply(
            Template::InvalidApplyId,
            *command,
            &[("given", given)],
            marker,
        ),
        ParseError::MissingEnvironment { command } => {
            command_reply(Template::MissingEnvironment, *command, &[], marker)
        }
        ParseError::InvalidEnvironment { command, given } => command_reply(
            Template::InvalidEnvironment,
            *command,
            &[("given", given)],
            marker,
        ),
        ParseError::InvalidDatabase { command, given } => command_reply(
            Template::InvalidDatabase,
            *command,
            &[("given", given)],
            marker,
        ),
        ParseError::UnsupportedFlag { command, flag } => command_reply(
            Template::UnsupportedFlag,
            *command,
            &[("flag", flag)],
            marker,
        ),
        ParseError::UnexpectedWord { command, word } => command_reply(
            Template::UnexpectedWord,
            *command,
            &[("word", word)],
            marker,
        ),
    }
}
