//! Reading one command's arguments as written, then validating them into a [`Command`].

use super::super::{ApplyFlags, Command, CommandName, ParseError};
use super::grammar::{Flag, Grammar, Need, OtherWords};
use crate::ids::{ApplyId, Database, Environment};

/// User text echoed back inside an error is cut to this many characters.
const MAX_ECHOED_CHARS: usize = 64;

/// The value of `-e` or `-d` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    Absent,
    /// The flag was given without a value (end of line, `-e=`, or another flag next).
    Missing,
    Given(&'a str),
}

/// Where the word after a value flag goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueSlot {
    Environment,
    Database,
    /// The value of a flag this command does not take (already reported).
    Discard,
}

/// The arguments of one command line, as written; validated by [`Arguments::into_command`].
pub(super) struct Arguments<'a> {
    grammar: Grammar,
    /// The first word that looks like an apply id (`apply-…`/`apply_…`).
    apply_id: Option<&'a str>,
    environment: Value<'a>,
    database: Value<'a>,
    flags: ApplyFlags,
    /// `--force` (only `unlock` takes it).
    force: bool,
    /// The first flag this command does not take, as written.
    unsupported_flag: Option<&'a str>,
    /// The first word that is none of the above, when the command refuses such words.
    unexpected_word: Option<&'a str>,
    /// A value flag was just read without `=value`: the next word is its value.
    awaiting_value: Option<ValueSlot>,
}

impl<'a> Arguments<'a> {
    pub(super) fn new(grammar: Grammar) -> Self {
        Arguments {
            grammar,
            apply_id: None,
            environment: Value::Absent,
            database: Value::Absent,
            flags: ApplyFlags::default(),
            force: false,
            unsupported_flag: None,
            unexpected_word: None,
            awaiting_value: None,
        }
    }

    pub(super) fn take(&mut self, word: &'a str) {
        let is_flag = looks_like_flag(word);
        if let Some(slot) = self.awaiting_value.take() {
            // `-e --yes` leaves `-e` without a value rather than naming an environment `--yes`.
            if is_flag {
                self.store(slot, Value::Missing);
            } else {
                self.store(slot, Value::Given(word));
                return;
            }
        }
        if is_flag {
            self.take_flag(word);
        } else if self.grammar.apply_id != Need::No
            && self.apply_id.is_none()
            && has_apply_id_prefix(word)
        {
            self.apply_id = Some(word);
        } else if self.grammar.other_words == OtherWords::Refused {
            // A second apply id counts too: which apply was meant is not for us to guess.
            self.unexpected_word.get_or_insert(word);
        }
        // Otherwise the word is prose around a read-only command ("please") and is ignored.
    }

    fn take_flag(&mut self, word: &'a str) {
        let (name, inline_value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (word, None),
        };
        let flag = match Flag::from_name(name) {
            Some(flag) if inline_value.is_none() || flag.takes_value() => flag,
            // Unknown, or a switch given a value (`--yes=1`): report the word as written.
            _ => {
                self.note_unsupported(word);
                return;
            }
        };
        let accepted = self.grammar.accepts(flag);
        if !accepted {
            self.note_unsupported(name);
        }
        let slot = match flag {
            Flag::Environment if accepted => ValueSlot::Environment,
            Flag::Database if accepted => ValueSlot::Database,
            Flag::Environment | Flag::Database => ValueSlot::Discard,
            Flag::DeferCutover | Flag::AllowUnsafe | Flag::SkipRevert | Flag::AutoConfirm => {
                self.set_switch(flag);
                return;
            }
            Flag::Force => {
                self.force |= accepted;
                return;
            }
        };
        match inline_value {
            Some("") => self.store(slot, Value::Missing),
            Some(value) => self.store(slot, Value::Given(value)),
            None => self.awaiting_value = Some(slot),
        }
    }

    fn set_switch(&mut self, flag: Flag) {
        let switch = match flag {
            Flag::DeferCutover => &mut self.flags.defer_cutover,
            Flag::AllowUnsafe => &mut self.flags.allow_unsafe,
            Flag::SkipRevert => &mut self.flags.skip_revert,
            Flag::AutoConfirm => &mut self.flags.auto_confirm,
            Flag::Environment | Flag::Database | Flag::Force => return,
        };
        *switch = true;
    }

    fn note_unsupported(&mut self, flag: &'a str) {
        self.unsupported_flag.get_or_insert(flag);
    }

    /// The first `-e` (or `-d`) counts; repeats are ignored.
    fn store(&mut self, slot: ValueSlot, value: Value<'a>) {
        let target = match slot {
            ValueSlot::Environment => &mut self.environment,
            ValueSlot::Database => &mut self.database,
            ValueSlot::Discard => return,
        };
        if *target == Value::Absent {
            *target = value;
        }
    }

    /// The environment the comment named, when it is a well-formed name, even if the command as a
    /// whole is invalid: the stack owning that environment answers the error.
    pub(super) fn named_environment(&self) -> Option<Environment> {
        match self.environment {
            Value::Given(raw) => Environment::parse(raw).ok(),
            Value::Missing | Value::Absent => None,
        }
    }

    /// Validates in a fixed order — apply id, environment, database, flags, other words — and
    /// builds the command. The apply id comes first (`cutover -e x` → missing apply id).
    /// `--force` makes `-e` and `-d` required (a missing `-d` reads as `-d` without a name).
    pub(super) fn into_command(mut self, command: CommandName) -> Result<Command, ParseError> {
        if let Some(slot) = self.awaiting_value.take() {
            self.store(slot, Value::Missing);
        }
        let apply_id = match (self.grammar.apply_id, self.apply_id) {
            (Need::No, _) | (Need::Optional, None) => None,
            (Need::Required, None) => return Err(ParseError::MissingApplyId { command }),
            (_, Some(raw)) => {
                Some(ApplyId::parse(raw).map_err(|_| ParseError::InvalidApplyId {
                    command,
                    given: capped(raw),
                })?)
            }
        };
        let environment = match self.environment {
            Value::Given(raw) => {
                Some(
                    Environment::parse(raw).map_err(|_| ParseError::InvalidEnvironment {
                        command,
                        given: capped(raw),
                    })?,
                )
            }
            Value::Absent if !self.grammar.environment_required && !self.force => None,
            Value::Missing | Value::Absent => {
                return Err(ParseError::MissingEnvironment { command })
            }
        };
        let database = match self.database {
            Value::Given(raw) => {
                Some(
                    Database::parse(raw).map_err(|_| ParseError::InvalidDatabase {
                        command,
                        given: capped(raw),
                    })?,
                )
            }
            Value::Absent if !self.force => None,
            Value::Missing | Value::Absent => {
                return Err(ParseError::InvalidDatabase {
                    command,
                    given: String::new(),
                })
            }
        };
        if let Some(flag) = self.unsupported_flag {
            return Err(ParseError::UnsupportedFlag {
                command,
                flag: capped(flag),
            });
        }
        if let Some(word) = self.unexpected_word {
            return Err(ParseError::UnexpectedWord {
                command,
                word: capped(word),
            });
        }
        if self.force {
            // Both were required above; the fallbacks only keep this free of `unwrap`.
            let missing_database = ParseError::InvalidDatabase {
                command,
                given: String::new(),
            };
            return Ok(Command::ForceUnlock {
                database: database.ok_or(missing_database)?,
                environment: environment.ok_or(ParseError::MissingEnvironment { command })?,
            });
        }
        build(command, apply_id, environment, database, self.flags)
    }
}

/// Assembles a validated command. The `ok_or` fallbacks cannot trigger after validation; they
/// keep this free of `unwrap`.
fn build(
    command: CommandName,
    apply_id: Option<ApplyId>,
    environment: Option<Environment>,
    database: Option<Database>,
    flags: ApplyFlags,
) -> Result<Command, ParseError> {
    let required_id = || {
        apply_id
            .clone()
            .ok_or(ParseError::MissingApplyId { command })
    };
    let required_environment = || {
        environment
            .clone()
            .ok_or(ParseError::MissingEnvironment { command })
    };
    Ok(match command {
        CommandName::Help => Command::Help,
        CommandName::Cutover => Command::Cutover {
            apply_id: required_id()?,
            environment: required_environment()?,
        },
        CommandName::Plan => Command::Plan {
            environment,
            database,
        },
        CommandName::Apply => Command::Apply {
            environment: required_environment()?,
            database,
            flags,
        },
        CommandName::ApplyConfirm => Command::ApplyConfirm {
            environment: required_environment()?,
            database,
            allow_unsafe: flags.allow_unsafe,
        },
        CommandName::Unlock => Command::Unlock {
            database,
            environment,
        },
        CommandName::FixLint => Command::FixLint { database },
        CommandName::Stop => Command::Stop {
            environment: required_environment()?,
            apply_id,
        },
        CommandName::Start => Command::Start {
            environment: required_environment()?,
            apply_id,
        },
        CommandName::Cancel => Command::Cancel {
            environment: required_environment()?,
            apply_id,
        },
        CommandName::Revert => Command::Revert {
            environment: required_environment()?,
            apply_id,
        },
        CommandName::SkipRevert => Command::SkipRevert {
            environment: required_environment()?,
            apply_id,
        },
        CommandName::Rollback => Command::Rollback {
            apply_id: required_id()?,
            environment: required_environment()?,
            defer_cutover: flags.defer_cutover,
        },
        CommandName::RollbackConfirm => Command::RollbackConfirm {
            environment: required_environment()?,
        },
    })
}

/// `-x`, `--xyz`, and the dashes phones substitute for `--` (`—defer-cutover`), so that a
/// mistyped flag is reported instead of silently ignored. A lone `-` or `--` is prose.
fn looks_like_flag(word: &str) -> bool {
    let name = word
        .strip_prefix("--")
        .or_else(|| word.strip_prefix(['-', '\u{2013}', '\u{2014}']));
    name.and_then(|name| name.bytes().next())
        .is_some_and(|b| b.is_ascii_alphabetic())
}

fn has_apply_id_prefix(word: &str) -> bool {
    word.as_bytes().get(..6).is_some_and(|prefix| {
        prefix.eq_ignore_ascii_case(b"apply-") || prefix.eq_ignore_ascii_case(b"apply_")
    })
}

/// User text for an error, cut at [`MAX_ECHOED_CHARS`] characters (never inside a character).
pub(super) fn capped(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_cuts_at_a_character_boundary() {
        assert_eq!(capped("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(capped(&long).chars().count(), MAX_ECHOED_CHARS);
        assert_eq!(capped(&"a".repeat(64)).len(), 64);
    }
}
