//! Turns a comment body into a [`ParseOutcome`].
//!
//! Walks the visible text (see [`super::lexer`]) from mention to mention, takes the first
//! `schemabot` mention that is followed on its line by a command word, and reads that command's
//! arguments from the rest of the line. Only syntax is checked here; whether an environment is
//! configured, or an apply exists, is decided by the caller.

use super::lexer::{find_any, Lexer, Token};
use super::{ApplyFlags, Command, CommandName, ParseError, ParseOutcome};
use crate::ids::{ApplyId, Database, Environment};

const MENTION: &[u8; 9] = b"schemabot";

/// User text echoed back inside an error is cut to this many characters.
const MAX_ECHOED_CHARS: usize = 64;

pub fn parse(body: &str) -> ParseOutcome {
    // Fast path: most PR comments never name the bot, and need no tokenizing at all.
    if find_mention_text(body.as_bytes(), 0).is_none() {
        return ParseOutcome::NotAddressed;
    }
    let mut cursor = Cursor::new(body);
    // The word after the first mention that named no command (`Some(None)`: nothing followed).
    let mut first_unanswered: Option<Option<&str>> = None;
    while let Some(glued) = cursor.next_mention() {
        // `schemabot:` and `schemabot,` still address the bot; `schemabot's` does not.
        if !matches!(glued, "" | ":" | ",") {
            first_unanswered.get_or_insert(None);
            continue;
        }
        cursor.skip(glued.len());
        let Some(word) = cursor.next_word_on_line() else {
            first_unanswered.get_or_insert(None);
            continue;
        };
        if let Some(command) = command_from_word(word) {
            return read_command(command, &mut cursor);
        }
        first_unanswered.get_or_insert(Some(word));
        // The word may itself be a mention (`schemabot @schemabot cutover …`).
        cursor.unread(word);
    }
    match first_unanswered {
        Some(word) => ParseOutcome::error(ParseError::UnknownCommand {
            word: word.map(capped),
        }),
        None => ParseOutcome::NotAddressed,
    }
}

/// A position in the visible text: the current [`Token::Text`] and an offset into it.
struct Cursor<'a> {
    lexer: Lexer<'a>,
    text: &'a str,
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn new(body: &'a str) -> Self {
        Cursor {
            lexer: Lexer::new(body),
            text: "",
            offset: 0,
        }
    }

    /// Moves just past the next mention and returns the text glued to it (up to the next space),
    /// e.g. `""`, `":"` or `"'s"`. Line ends are crossed.
    fn next_mention(&mut self) -> Option<&'a str> {
        loop {
            if let Some(start) = find_mention(self.text.as_bytes(), self.offset) {
                let end = start + MENTION.len();
                self.offset = end;
                return self.text.get(end..word_end(self.text, end));
            }
            match self.lexer.next()? {
                Token::Text(text) => self.enter(text),
                Token::LineEnd => self.enter(""),
            }
        }
    }

    /// The next word before the end of the current line, if any.
    fn next_word_on_line(&mut self) -> Option<&'a str> {
        loop {
            let start = skip_space(self.text, self.offset);
            if start < self.text.len() {
                self.offset = word_end(self.text, start);
                return self.text.get(start..self.offset);
            }
            match self.lexer.next() {
                Some(Token::Text(text)) => self.enter(text),
                Some(Token::LineEnd) | None => {
                    self.enter("");
                    return None;
                }
            }
        }
    }

    fn enter(&mut self, text: &'a str) {
        self.text = text;
        self.offset = 0;
    }

    fn skip(&mut self, length: usize) {
        self.offset = (self.offset + length).min(self.text.len());
    }

    /// Steps back over `word`, just returned by [`Cursor::next_word_on_line`].
    fn unread(&mut self, word: &str) {
        self.offset = self.offset.saturating_sub(word.len());
    }
}

/// Start of the first mention of the bot in `text` at or after `from`, on word boundaries.
fn find_mention(text: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let start = find_mention_text(text, from)?;
        if is_mention_boundary(text, start, start + MENTION.len()) {
            return Some(start);
        }
        from = start + 1;
    }
}

/// Start of the first `schemabot` (ASCII case-insensitive) at or after `from`, boundaries unchecked.
///
/// Looks for its `b` eight bytes at a time: `b` is rare in prose, so a comment without a mention is
/// rejected at a fraction of a nanosecond per byte.
fn find_mention_text(text: &[u8], from: usize) -> Option<usize> {
    let anchor = MENTION.iter().position(|&b| b == b'b').unwrap_or(0);
    let mut at = from + anchor;
    loop {
        let found = find_any(text, at, [b'b', b'B'])?;
        if let Some(start) = found.checked_sub(anchor).filter(|&start| start >= from) {
            if text
                .get(start..start + MENTION.len())
                .is_some_and(|candidate| candidate.eq_ignore_ascii_case(MENTION))
            {
                return Some(start);
            }
        }
        at = found + 1;
    }
}

/// Whether `bytes[start..end]` stands as a word of its own: not part of a longer word
/// (`schemabot-config`), a path or URL (`block/schemabot/pull`), a file name (`schemabot.yaml`)
/// or an address. A leading `@` or `/` (`@schemabot`, `/schemabot`) is part of the mention.
fn is_mention_boundary(bytes: &[u8], start: usize, end: usize) -> bool {
    let before_ok = match start.checked_sub(1).map(|i| bytes[i]) {
        None => true,
        Some(b) if is_word_byte(b) => false,
        Some(b'@' | b'/' | b'.') => start < 2 || !is_word_byte(bytes[start - 2]),
        Some(_) => true,
    };
    let after_ok = match bytes.get(end) {
        None => true,
        Some(&b) if is_word_byte(b) => false,
        Some(b'@' | b'/' | b'.') => !bytes.get(end + 1).is_some_and(|&b| is_word_byte(b)),
        Some(_) => true,
    };
    before_ok && after_ok
}

/// Characters that continue a word (`-` included, so `cutover-now` is one word).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// First non-whitespace position at or after `at` (Unicode whitespace, e.g. a no-break space).
fn skip_space(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|rest| rest.find(|c: char| !c.is_whitespace()))
        .map_or(text.len(), |offset| at + offset)
}

/// End of the word starting at `at`.
fn word_end(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|rest| rest.find(char::is_whitespace))
        .map_or(text.len(), |offset| at + offset)
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

/// Whether a command takes a positional apply id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    No,
    Optional,
    Required,
}

/// The flags the grammar knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Environment,
    Database,
    DeferCutover,
    AllowUnsafe,
    SkipRevert,
    AutoConfirm,
}

impl Flag {
    const SPELLINGS: [(&'static str, Flag); 11] = [
        ("-e", Flag::Environment),
        ("--env", Flag::Environment),
        ("--environment", Flag::Environment),
        ("-d", Flag::Database),
        ("--database", Flag::Database),
        ("--defer-cutover", Flag::DeferCutover),
        ("--allow-unsafe", Flag::AllowUnsafe),
        ("--skip-revert", Flag::SkipRevert),
        ("-y", Flag::AutoConfirm),
        ("--yes", Flag::AutoConfirm),
        ("--auto-confirm", Flag::AutoConfirm),
    ];

    fn from_name(name: &str) -> Option<Flag> {
        Flag::SPELLINGS
            .iter()
            .find(|(spelling, _)| spelling.eq_ignore_ascii_case(name))
            .map(|&(_, flag)| flag)
    }

    fn takes_value(self) -> bool {
        matches!(self, Flag::Environment | Flag::Database)
    }
}

/// What one command accepts (the usage lines in [`CommandName::usage`]).
#[derive(Debug, Clone, Copy)]
struct Grammar {
    apply_id: Need,
    environment_required: bool,
    flags: &'static [Flag],
}

impl Grammar {
    fn of(command: CommandName) -> Grammar {
        use Flag::*;
        let (apply_id, environment_required, flags): (Need, bool, &'static [Flag]) = match command {
            CommandName::Help => (Need::No, false, &[]),
            CommandName::Cutover => (Need::Required, true, &[Environment]),
            CommandName::Plan => (Need::No, false, &[Environment, Database]),
            CommandName::Apply => (
                Need::No,
                true,
                &[
                    Environment,
                    Database,
                    DeferCutover,
                    AllowUnsafe,
                    SkipRevert,
                    AutoConfirm,
                ],
            ),
            CommandName::ApplyConfirm => (Need::No, true, &[Environment, Database, AllowUnsafe]),
            CommandName::Unlock | CommandName::FixLint => (Need::No, false, &[Database]),
            CommandName::Stop
            | CommandName::Start
            | CommandName::Revert
            | CommandName::SkipRevert => (Need::Optional, true, &[Environment]),
            CommandName::Rollback => (Need::Required, true, &[Environment, DeferCutover]),
            CommandName::RollbackConfirm => (Need::No, true, &[Environment]),
        };
        Grammar {
            apply_id,
            environment_required,
            flags,
        }
    }

    fn accepts(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

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
struct Arguments<'a> {
    grammar: Grammar,
    /// The first word that looks like an apply id (`apply-…`/`apply_…`).
    apply_id: Option<&'a str>,
    environment: Value<'a>,
    database: Value<'a>,
    flags: ApplyFlags,
    /// The first flag this command does not take, as written.
    unsupported_flag: Option<&'a str>,
    /// A value flag was just read without `=value`: the next word is its value.
    awaiting_value: Option<ValueSlot>,
}

impl<'a> Arguments<'a> {
    fn new(grammar: Grammar) -> Self {
        Arguments {
            grammar,
            apply_id: None,
            environment: Value::Absent,
            database: Value::Absent,
            flags: ApplyFlags::default(),
            unsupported_flag: None,
            awaiting_value: None,
        }
    }

    fn take(&mut self, word: &'a str) {
        let is_flag = looks_like_flag(word);
        if let Some(slot) = self.awaiting_value.take() {
            // `-e --yes` leaves `-e` without a value rather than naming an environment `--yes`.
            self.store(
                slot,
                if is_flag {
                    Value::Missing
                } else {
                    Value::Given(word)
                },
            );
            if !is_flag {
                return;
            }
        }
        if is_flag {
            self.take_flag(word);
        } else if self.apply_id.is_none() && has_apply_id_prefix(word) {
            self.apply_id = Some(word);
        }
        // Any other word is prose ("please", "now") and is ignored.
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
            Flag::Environment | Flag::Database => return,
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
    fn named_environment(&self) -> Option<Environment> {
        match self.environment {
            Value::Given(raw) => Environment::parse(raw).ok(),
            Value::Missing | Value::Absent => None,
        }
    }

    /// Validates in a fixed order — apply id, environment, database, flags — and builds the
    /// command. The apply id comes first (`cutover -e x` → missing apply id).
    fn into_command(mut self, command: CommandName) -> Result<Command, ParseError> {
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
            Value::Missing => return Err(ParseError::MissingEnvironment { command }),
            Value::Absent if self.grammar.environment_required => {
                return Err(ParseError::MissingEnvironment { command })
            }
            Value::Absent => None,
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
            Value::Missing => {
                return Err(ParseError::InvalidDatabase {
                    command,
                    given: String::new(),
                })
            }
            Value::Absent => None,
        };
        if let Some(flag) = self.unsupported_flag {
            return Err(ParseError::UnsupportedFlag {
                command,
                flag: capped(flag),
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
        CommandName::Unlock => Command::Unlock { database },
        CommandName::FixLint => Command::FixLint { database },
        CommandName::Stop => Command::Stop {
            environment: required_environment()?,
            apply_id,
        },
        CommandName::Start => Command::Start {
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
fn capped(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_takes_environment_exactly_when_it_accepts_the_flag() {
        for command in CommandName::ALL {
            let grammar = Grammar::of(command);
            if grammar.environment_required {
                assert!(grammar.accepts(Flag::Environment), "{command}");
            }
            assert_eq!(
                grammar.accepts(Flag::AutoConfirm),
                command == CommandName::Apply,
                "{command}"
            );
        }
    }

    #[test]
    fn every_usage_line_parses_back_to_its_command() {
        for command in CommandName::ALL {
            let usage = command
                .usage()
                .replace(['[', ']'], "")
                .replace("<apply-id>", "apply-0123456789abcdef")
                .replace("<environment>", "staging")
                .replace("<database>", "users_db");
            match parse(&usage) {
                ParseOutcome::Command(parsed) => assert_eq!(parsed.name(), command, "{usage}"),
                other => panic!("{usage} → {other:?}"),
            }
        }
    }

    #[test]
    fn mention_boundaries() {
        let mention = |text: &str| {
            let start = find_mention_text(text.as_bytes(), 0).unwrap();
            is_mention_boundary(text.as_bytes(), start, start + MENTION.len())
        };
        for yes in [
            "schemabot",
            "@SchemaBot",
            "/schemabot",
            "(schemabot)",
            "schemabot:",
            "é schemabot.",
            "@schemabot/",
        ] {
            assert!(mention(yes), "{yes}");
        }
        for no in [
            "schemabot-config",
            "my_schemabot",
            "schemabots",
            "block/schemabot",
            "schemabot.yaml",
            "schemabot/pull",
            "bot@schemabot",
            "x.schemabot",
        ] {
            assert!(!mention(no), "{no}");
        }
    }

    #[test]
    fn mention_search_agrees_with_a_plain_search() {
        let text = "xSchemaBot schemabo schemabotschemabot sCHEMABOT é schemabot".as_bytes();
        for from in 0..=text.len() + 1 {
            let expected = (from..text.len().saturating_sub(8))
                .find(|&at| text[at..at + 9].eq_ignore_ascii_case(MENTION));
            assert_eq!(find_mention_text(text, from), expected, "{from}");
        }
    }

    #[test]
    fn capped_cuts_at_a_character_boundary() {
        assert_eq!(capped("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(capped(&long).chars().count(), MAX_ECHOED_CHARS);
        assert_eq!(capped(&"a".repeat(64)).len(), 64);
    }
}
