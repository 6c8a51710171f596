//! Finding the `schemabot` mentions that begin a line of the visible text, and walking the words
//! that follow one.
//!
//! Only a mention at the start of a line addresses the bot: a command is something written on
//! purpose, while a mention inside a sentence ("do not run schemabot apply-confirm yet") is prose
//! about a command, and running it would do what the author said not to do.

use super::super::lexer::{find_any, Lexer, Token};

pub(super) const MENTION: &[u8; 9] = b"schemabot";

/// Most spaces allowed before a mention at the start of a line: with four, the line is indented
/// code, or (continuing a paragraph) a line that only looks like the start of a command.
const MAX_INDENT: usize = 3;

/// A position in the visible text: the current [`Token::Text`] and an offset into it.
pub(super) struct Cursor<'a> {
    lexer: Lexer<'a>,
    text: &'a str,
    offset: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(body: &'a str) -> Self {
        Cursor {
            lexer: Lexer::new(body),
            text: "",
            offset: 0,
        }
    }

    /// Moves just past the next mention that begins a line and returns the text glued to it (up
    /// to the next space), e.g. `""`, `":"` or `"'s"`. The rest of the current line is skipped:
    /// no mention after its start can begin it.
    pub(super) fn next_mention(&mut self) -> Option<&'a str> {
        loop {
            if let Token::Text {
                text,
                starts_line: true,
            } = self.lexer.next()?
            {
                if let Some(end) = line_start_mention(text) {
                    self.text = text;
                    self.offset = end;
                    return text.get(end..word_end(text, end));
                }
            }
        }
    }

    /// The next word before the end of the current line, if any.
    pub(super) fn next_word_on_line(&mut self) -> Option<&'a str> {
        loop {
            let start = skip_space(self.text, self.offset);
            if start < self.text.len() {
                self.offset = word_end(self.text, start);
                return self.text.get(start..self.offset);
            }
            match self.lexer.next() {
                Some(Token::Text { text, .. }) => self.enter(text),
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

    pub(super) fn skip(&mut self, length: usize) {
        self.offset = (self.offset + length).min(self.text.len());
    }
}

/// End of the mention that begins `line`, if one does: at most [`MAX_INDENT`] spaces, then
/// `schemabot` (or `@schemabot`, `/schemabot`, any case) standing as a word of its own.
fn line_start_mention(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let indent = bytes.iter().take_while(|&&b| b == b' ').count();
    if indent > MAX_INDENT {
        return None;
    }
    let start = indent + usize::from(matches!(bytes.get(indent), Some(b'@' | b'/')));
    let end = start + MENTION.len();
    let candidate = bytes.get(start..end)?;
    (candidate.eq_ignore_ascii_case(MENTION) && ends_a_word(bytes, end)).then_some(end)
}

/// Start of the first `schemabot` (ASCII case-insensitive) at or after `from`, boundaries unchecked.
///
/// Looks for its `b` eight bytes at a time: `b` is rare in prose, so a comment without a mention is
/// rejected at a fraction of a nanosecond per byte.
pub(super) fn find_mention_text(text: &[u8], from: usize) -> Option<usize> {
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

/// Whether a mention ending at `end` is a word of its own rather than the start of a longer word
/// (`schemabot-config`), a file name (`schemabot.yaml`), a path (`schemabot/pull`) or an address.
fn ends_a_word(bytes: &[u8], end: usize) -> bool {
    match bytes.get(end) {
        None => true,
        Some(&b) if is_word_byte(b) => false,
        Some(b'@' | b'/' | b'.') => !bytes.get(end + 1).is_some_and(|&b| is_word_byte(b)),
        Some(_) => true,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_begins_a_line_after_at_most_three_spaces() {
        for (line, end) in [
            ("schemabot", 9),
            ("SchemaBot cutover", 9),
            ("   schemabot", 12),
            ("@schemabot: help", 10),
            ("/schemabot", 10),
            (" @SCHEMABOT,", 11),
            ("schemabot.", 9),
            ("schemabot's", 9),
            ("schemabot@", 9),
        ] {
            assert_eq!(line_start_mention(line), Some(end), "{line:?}");
        }
        for line in [
            "    schemabot",
            "\tschemabot",
            "please schemabot",
            "- schemabot",
            "> schemabot",
            "# schemabot",
            "(schemabot",
            "@@schemabot",
            "\u{a0}schemabot",
            "schemabot-config",
            "schemabot_x",
            "schemabots",
            "schemabot.yaml",
            "schemabot/pull",
            "schemabot@example",
            "schemabo",
            "",
        ] {
            assert_eq!(line_start_mention(line), None, "{line:?}");
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
}
