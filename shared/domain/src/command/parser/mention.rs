//! Finding `schemabot` mentions in the visible text and walking its words.

use super::super::lexer::{find_any, Lexer, Token};

pub(super) const MENTION: &[u8; 9] = b"schemabot";

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

    /// Moves just past the next mention and returns the text glued to it (up to the next space),
    /// e.g. `""`, `":"` or `"'s"`. Line ends are crossed.
    pub(super) fn next_mention(&mut self) -> Option<&'a str> {
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
    pub(super) fn next_word_on_line(&mut self) -> Option<&'a str> {
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

    pub(super) fn skip(&mut self, length: usize) {
        self.offset = (self.offset + length).min(self.text.len());
    }

    /// Steps back over `word`, just returned by [`Cursor::next_word_on_line`].
    pub(super) fn unread(&mut self, word: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
