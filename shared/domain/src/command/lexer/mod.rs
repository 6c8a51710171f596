//! Markdown-aware tokenizer: yields the text of a comment that a reader sees as plain prose.
//!
//! Text GitHub shows as code or as a quotation, and HTML comments (which it does not show at all),
//! yield nothing, so a quoted or pasted command is never mistaken for a real one:
//!
//! * fenced code blocks (```` ``` ```` or `~~~`, any info string; closed by a fence of the same
//!   character at least as long; an unclosed fence runs to the end of the comment);
//! * indented code blocks (4+ columns of indentation that do not continue a paragraph or a list);
//! * inline code spans (backtick runs closed by a run of the same length within the paragraph; an
//!   unmatched run is literal text);
//! * block quotes: any line whose first non-blank character, after list markers, is `>`;
//! * HTML comments `<!-- … -->` (an unclosed one hides the rest of the comment).
//!
//! When in doubt the lexer hides text: hiding a real command only costs the author a retry, while
//! running a quoted one could trigger a cutover nobody asked for. Hidden spans also end a word.
//!
//! Each visible text says whether it begins a line of the comment (nothing at all, hidden or
//! not, before it on its line), so the parser can insist that a command starts a line.
//!
//! Everything is one forward pass over the bytes, eight at a time where it only looks for a few
//! delimiters (plus a look-ahead for code-span closers, memoised per paragraph), with no allocation
//! except for pathological backtick runs. Splitting the text into words is left to the parser,
//! which only does it next to a mention.

mod bytes;
mod code_span;
mod line;

pub(super) use bytes::find_any;

use bytes::{after_line, line_end, run_length};
use code_span::CodeSpanCloserIndex;
use line::{skip_fenced_block, LineKind, LineShape, CODE_INDENT};

/// One lexical unit of visible text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// Visible text within one line, between hidden spans (a word never continues across one).
    /// Never contains a line break; may contain spaces (the line's indentation included).
    Text {
        text: &'a str,
        /// The text begins its line: no other byte of the comment precedes it on that line.
        starts_line: bool,
    },
    /// The end of a visible line: a command's arguments stop here.
    LineEnd,
}

/// Streams the [`Token`]s of a comment body.
pub(super) struct Lexer<'a> {
    text: &'a str,
    /// The next byte to examine.
    pos: usize,
    /// End of the visible line being tokenized (its `\n`, or the end of the text); `None` while
    /// positioned at the start of a line that has not been classified yet.
    line_end: Option<usize>,
    /// A hidden span crossed a line ending; report it before any further text.
    pending_line_end: bool,
    /// The previous line was prose, so an indented line continues it instead of opening code.
    paragraph_open: bool,
    /// Content column of the list item being continued: code needs 4 columns more than this.
    list_content_column: Option<usize>,
    code_span_closers: CodeSpanCloserIndex,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Lexer {
            text,
            pos: 0,
            line_end: None,
            pending_line_end: false,
            paragraph_open: false,
            list_content_column: None,
            code_span_closers: CodeSpanCloserIndex::default(),
        }
    }

    /// Classifies the line starting at `self.pos`: skips it (and, for a fence, the whole block)
    /// when hidden, or makes it the current visible line.
    fn enter_line(&mut self) {
        let bytes = self.text.as_bytes();
        let end = line_end(bytes, self.pos);
        let shape = LineShape::of(&bytes[self.pos..end]);
        match shape.kind {
            LineKind::Blank | LineKind::Quote => {
                self.paragraph_open = false;
                self.pos = after_line(bytes, end);
            }
            LineKind::Fence { marker, length } => {
                self.paragraph_open = false;
                self.pos = skip_fenced_block(bytes, after_line(bytes, end), marker, length);
            }
            LineKind::Text | LineKind::BlockStart { .. } => {
                let list_column = self.list_content_column.unwrap_or(0);
                if !self.paragraph_open
                    && shape.kind == LineKind::Text
                    && shape.indent < list_column
                {
                    // Unindented prose after a blank line: the list is over.
                    self.list_content_column = None;
                }
                let code_column = self.list_content_column.unwrap_or(0) + CODE_INDENT;
                if !self.paragraph_open && shape.indent >= code_column {
                    self.pos = after_line(bytes, end);
                    return;
                }
                if let LineKind::BlockStart {
                    list_content_column,
                } = shape.kind
                {
                    self.list_content_column = list_content_column;
                }
                self.line_end = Some(end);
            }
        }
    }

    /// Produces the next visible text of the current line, skipping inline code and comments.
    fn step_in_line(&mut self, end: usize) -> LineStep<'a> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut at = start;
        while let Some(special) = find_any(&bytes[..end], at, [b'`', b'<']) {
            if bytes[special] == b'`' {
                let run = run_length(bytes, special, b'`');
                if let Some(closer) = self.code_span_closers.find(bytes, special + run, run) {
                    return self.text_before_hidden(start, special, closer + run);
                }
                // An unmatched run is literal text.
                at = special + run;
            } else if bytes[special..].starts_with(b"<!--") {
                // From `+ 2` so that the short forms `<!-->` and `<!--->` close themselves.
                let resume = self
                    .text
                    .get(special + 2..)
                    .and_then(|rest| rest.find("-->"))
                    .map_or(bytes.len(), |offset| special + 2 + offset + 3);
                return self.text_before_hidden(start, special, resume);
            } else {
                at = special + 1;
            }
        }
        self.pos = end;
        match self.text.get(start..end) {
            Some(text) if !text.is_empty() => self.visible(text, start),
            _ => LineStep::LineDone,
        }
    }

    /// Ends the current text at `hidden_start` and resumes after the hidden span.
    fn text_before_hidden(
        &mut self,
        start: usize,
        hidden_start: usize,
        resume: usize,
    ) -> LineStep<'a> {
        let bytes = self.text.as_bytes();
        let resume = resume.min(bytes.len());
        if find_any(&bytes[..resume], hidden_start, [b'\n']).is_some() {
            // The span ended on a later line: that line is now the current one.
            self.pending_line_end = true;
            self.line_end = Some(line_end(bytes, resume));
        }
        self.pos = resume;
        match self.text.get(start..hidden_start) {
            Some(text) if !text.is_empty() => self.visible(text, start),
            _ => LineStep::Skipped,
        }
    }

    /// `text`, which starts at byte `start` of the comment.
    fn visible(&self, text: &'a str, start: usize) -> LineStep<'a> {
        let starts_line = start == 0 || self.text.as_bytes().get(start - 1) == Some(&b'\n');
        LineStep::Text { text, starts_line }
    }

    fn finish_line(&mut self, end: usize) {
        self.pos = after_line(self.text.as_bytes(), end);
        self.line_end = None;
        self.paragraph_open = true;
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            if self.pending_line_end {
                self.pending_line_end = false;
                return Some(Token::LineEnd);
            }
            match self.line_end {
                None if self.pos >= self.text.len() => return None,
                None => self.enter_line(),
                Some(end) => match self.step_in_line(end) {
                    LineStep::Text { text, starts_line } => {
                        return Some(Token::Text { text, starts_line })
                    }
                    LineStep::Skipped => {}
                    LineStep::LineDone => {
                        self.finish_line(end);
                        return Some(Token::LineEnd);
                    }
                },
            }
        }
    }
}

enum LineStep<'a> {
    Text {
        text: &'a str,
        starts_line: bool,
    },
    /// A hidden span was skipped with no visible text before it; keep going.
    Skipped,
    LineDone,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visible words, line by line (split the way the parser splits them).
    fn lines(text: &str) -> Vec<Vec<&str>> {
        let mut lines = vec![Vec::new()];
        for token in Lexer::new(text) {
            match token {
                Token::Text { text, .. } => {
                    assert!(!text.contains('\n'), "{text:?}");
                    lines.last_mut().unwrap().extend(text.split_whitespace());
                }
                Token::LineEnd => lines.push(Vec::new()),
            }
        }
        lines.retain(|line| !line.is_empty());
        lines
    }

    fn words(text: &str) -> Vec<&str> {
        lines(text).concat()
    }

    #[test]
    fn splits_prose_into_words_and_lines() {
        assert_eq!(
            lines("hello  world\r\n\tnext line\n"),
            vec![vec!["hello", "world"], vec!["next", "line"]]
        );
        assert_eq!(words("a\u{a0}b c"), vec!["a", "b", "c"]);
    }

    #[test]
    fn marks_the_text_that_begins_a_line() {
        let texts: Vec<(&str, bool)> = Lexer::new("a\n  b `c` d\n<!-- x --> e\n`f\ng` h\r\ni")
            .filter_map(|token| match token {
                Token::Text { text, starts_line } => Some((text, starts_line)),
                Token::LineEnd => None,
            })
            .collect();
        assert_eq!(
            texts,
            vec![
                ("a", true),
                ("  b ", true),
                (" d", false),
                (" e", false),
                (" h\r", false),
                ("i", true)
            ]
        );
    }

    #[test]
    fn hides_inline_code_and_splits_words_around_it() {
        assert_eq!(words("a`b`c ``d ` e`` f"), vec!["a", "c", "f"]);
        assert_eq!(words("unmatched ` tick"), vec!["unmatched", "`", "tick"]);
        // A run of two cannot be closed by a run of one or three.
        assert_eq!(words("``x` y```z"), vec!["``x`", "y```z"]);
    }

    #[test]
    fn code_spans_cross_lines_but_not_paragraphs() {
        assert_eq!(lines("a `b\nc` d"), vec![vec!["a"], vec!["d"]]);
        assert_eq!(words("a `b\n\nc` d"), vec!["a", "`b", "c`", "d"]);
        assert_eq!(words("a `b\n> c` d\ne"), vec!["a", "`b", "e"]);
        assert_eq!(words("a `b\n- c` d"), vec!["a", "`b", "-", "c`", "d"]);
    }

    #[test]
    fn hides_fenced_blocks_until_a_long_enough_matching_fence() {
        assert_eq!(words("a\n```sh\nb\n```\nc"), vec!["a", "c"]);
        assert_eq!(words("a\n````\nb\n```\nc\n````\nd"), vec!["a", "d"]);
        assert_eq!(words("a\n~~~\nb\n```\nc\n~~~\nd"), vec!["a", "d"]);
        assert_eq!(words("a\n```\nb\nc"), vec!["a"]);
        assert_eq!(words("a\n  ```\nb\n  ```  \nc"), vec!["a", "c"]);
        // Backticks in the info string make it inline code, not a fence.
        assert_eq!(words("```a``` b"), vec!["b"]);
    }

    #[test]
    fn hides_quote_lines_including_nested_and_list_quotes() {
        assert_eq!(words("> a\n>> b\n > > c\n- > d\ne"), vec!["e"]);
    }

    #[test]
    fn hides_html_comments_across_lines() {
        assert_eq!(
            lines("a<!-- b -->c\nd <!--\ne\n--> f"),
            vec![vec!["a", "c"], vec!["d"], vec!["f"]]
        );
        assert_eq!(words("a <!--> b <!---> c"), vec!["a", "b", "c"]);
        assert_eq!(words("a <!-- b"), vec!["a"]);
    }

    #[test]
    fn indented_code_needs_a_block_start_and_respects_list_content() {
        assert_eq!(words("    code\nprose"), vec!["prose"]);
        assert_eq!(words("prose\n    continued"), vec!["prose", "continued"]);
        assert_eq!(words("prose\n\n\tcode"), vec!["prose"]);
        assert_eq!(words("1. item\n\n    more"), vec!["1.", "item", "more"]);
        assert_eq!(words("- item\n\n      code"), vec!["-", "item"]);
    }

    #[test]
    fn unmatched_backtick_runs_stay_linear() {
        // Runs of 1..1500 backticks, each length once, so every opener is unmatched: without the
        // closer index each one would rescan the rest of this ~1 MB paragraph.
        let mut text = String::new();
        for length in 1..1500 {
            text.push_str(&"`".repeat(length));
            text.push_str(" x ");
        }
        let started = std::time::Instant::now();
        let words = words(&text);
        assert_eq!(words.len(), 1499 * 2);
        assert_eq!(words[0], "`");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
