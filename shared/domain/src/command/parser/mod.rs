//! Turns a comment body into a [`ParseOutcome`].
//!
//! Walks the visible text (see [`super::lexer`]) from one line-start `schemabot` mention to the
//! next (see [`mention`]), takes the first that is followed on its line by a command word, and
//! reads that command's arguments from the rest of the line. Mentions inside a sentence are prose
//! and never answered. Only syntax is checked here; whether an environment is configured, or an
//! apply exists, is decided by the caller.

mod arguments;
mod grammar;
mod mention;

use super::{Command, CommandName, ParseError, ParseOutcome};
use arguments::{capped, Arguments};
use grammar::Grammar;
use mention::{find_mention_text, Cursor};

pub fn parse(body: &str) -> ParseOutcome {
    // Fast path: most PR comments never name the bot, and need no tokenizing at all.
    if find_mention_text(body.as_bytes(), 0).is_none() {
        return ParseOutcome::NotAddressed;
    }
    let mut cursor = Cursor::new(body);
    // The word after the first line-start mention that named no command (`Some(None)`: nothing
    // followed it on its line).
    let mut first_unanswered: Option<Option<&str>> = None;
    while let Some(glued) = cursor.next_mention() {
        // `schemabot:` and `schemabot,` still address the bot; `schemabot's` is prose.
        if !matches!(glued, "" | ":" | ",") {
            continue;
        }
        cursor.skip(glued.len());
        let word = cursor.next_word_on_line();
        if let Some(command) = word.and_then(command_from_word) {
            return read_command(command, &mut cursor);
        }
        first_unanswered.get_or_insert(word);
    }
    match first_unanswered {
        Some(word) => ParseOutcome::error(ParseError::UnknownCommand {
            word: word.map(capped),
        }),
        None => ParseOutcome::NotAddressed,
    }
}

/// A command word, case-insensitive; sentence punctuation after it is allowed (`help.`).
fn command_from_word(word: &str) -> Option<CommandName> {
    CommandName::from_word(word.trim_end_matches(['.', '!', '?', ',', ';', ':']))
}

/// Reads the arguments of `command` up to the end of its line and builds the command.
fn read_command(command: CommandName, cursor: &mut Cursor<'_>) -> ParseOutcome {
    // Help must always work: whatever follows it is ignored.
    if command == CommandName::Help {
        return ParseOutcome::Command(Command::Help);
    }
    let mut arguments = Arguments::new(Grammar::of(command));
    while let Some(word) = cursor.next_word_on_line() {
        arguments.take(word);
    }
    let environment = arguments.named_environment();
    match arguments.into_command(command) {
        Ok(command) => ParseOutcome::Command(command),
        Err(error) => ParseOutcome::Error { error, environment },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_usage_line_parses_back_to_its_command() {
        for command in CommandName::ALL {
            // `a | b`: each form on its own.
            for form in command.usage().split(" | ") {
                let usage = form
                    .replace(['[', ']'], "")
                    .replace("<apply-id>", "apply-0123456789abcdef")
                    .replace("<environment>", "staging")
                    .replace("<database>", "users_db");
                match parse(&usage) {
                    ParseOutcome::Command(parsed) => {
                        assert_eq!(parsed.name(), command, "{usage}")
                    }
                    other => panic!("{usage} → {other:?}"),
                }
            }
        }
    }
}
