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
//! Everything is one forward pass over the bytes, eight at a time where it only looks for a few
//! delimiters (plus a look-ahead for code-span closers, memoised per paragraph), with no allocation
//! except for pathological backtick runs. Splitting the text into words is left to the parser,
//! which only does it next to a mention.

/// One lexical unit of visible text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// Visible text within one line, between hidden spans (a word never continues across one).
    /// Never contains a line break; may contain spaces.
    Text(&'a str),
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
            Some(text) if !text.is_empty() => LineStep::Text(text),
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
            Some(text) if !text.is_empty() => LineStep::Text(text),
            _ => LineStep::Skipped,
        }
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
                    LineStep::Text(text) => return Some(Token::Text(text)),
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
    Text(&'a str),
    /// A hidden span was skipped with no visible text before it; keep going.
    Skipped,
    LineDone,
}

/// Indentation (in columns) that turns a line into an indented code block.
const CODE_INDENT: usize = 4;

/// What a line is, for hiding text and for where paragraphs (and so code spans) end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Blank,
    /// `>` after indentation and list markers (a block quote, possibly nested).
    Quote,
    /// An opening code fence.
    Fence {
        marker: u8,
        length: usize,
    },
    /// Visible text that starts a new paragraph: a list item or an ATX heading.
    BlockStart {
        list_content_column: Option<usize>,
    },
    /// Ordinary prose: starts or continues a paragraph.
    Text,
}

impl LineKind {
    /// Whether this line closes the paragraph before it (code spans cannot cross it).
    fn interrupts_paragraph(self) -> bool {
        !matches!(self, LineKind::Text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineShape {
    kind: LineKind,
    /// Leading indentation in columns (tabs advance to the next multiple of 4).
    indent: usize,
}

impl LineShape {
    /// Classifies one line (without its `\n`).
    fn of(line: &[u8]) -> LineShape {
        let (mut at, indent) = skip_blanks(line, 0, 0);
        if line[at..].iter().all(|&b| is_inline_space(b)) {
            return LineShape {
                kind: LineKind::Blank,
                indent,
            };
        }
        let mut column = indent;
        let mut list_content_column = None;
        // Nested markers (`- 1. text`) are peeled one by one; each step consumes at least a byte.
        while let Some(width) = list_marker_width(&line[at..]) {
            let (next, next_column) = skip_blanks(line, at + width, column + width);
            let gap = next_column - (column + width);
            let content_gap = if (1..=4).contains(&gap) { gap } else { 1 };
            list_content_column = Some(column + width + content_gap);
            at = next;
            column = next_column;
        }
        let rest = &line[at..];
        let kind = if rest.first() == Some(&b'>') {
            LineKind::Quote
        } else if let Some((marker, length)) = fence_opening(rest) {
            LineKind::Fence { marker, length }
        } else if list_content_column.is_some() {
            LineKind::BlockStart {
                list_content_column,
            }
        } else if is_atx_heading(rest) {
            LineKind::BlockStart {
                list_content_column: None,
            }
        } else {
            LineKind::Text
        };
        LineShape { kind, indent }
    }
}

/// Skips spaces and tabs from `at`, tracking the column; returns the new offset and column.
fn skip_blanks(line: &[u8], mut at: usize, mut column: usize) -> (usize, usize) {
    while let Some(&b) = line.get(at) {
        match b {
            b' ' => column += 1,
            b'\t' => column += 4 - column % 4,
            _ => break,
        }
        at += 1;
    }
    (at, column)
}

/// Width of a list marker (`-`, `*`, `+`, `1.`, `1)`) at the start of `rest`, if it is one.
fn list_marker_width(rest: &[u8]) -> Option<usize> {
    let width = match rest.first()? {
        b'-' | b'*' | b'+' => 1,
        b'0'..=b'9' => {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            match rest.get(digits) {
                Some(b'.' | b')') if digits <= 9 => digits + 1,
                _ => return None,
            }
        }
        _ => return None,
    };
    match rest.get(width) {
        None | Some(b' ' | b'\t' | b'\r') => Some(width),
        _ => None,
    }
}

/// The marker and length of an opening code fence at the start of `rest`.
fn fence_opening(rest: &[u8]) -> Option<(u8, usize)> {
    let marker = *rest.first()?;
    if marker != b'`' && marker != b'~' {
        return None;
    }
    let length = run_length(rest, 0, marker);
    // A backtick fence's info string may not contain backticks (that is inline code instead).
    let valid = length >= 3 && !(marker == b'`' && rest[length..].contains(&b'`'));
    valid.then_some((marker, length))
}

/// Whether `line` closes a fence opened with `length` × `marker`.
fn is_closing_fence(line: &[u8], marker: u8, length: usize) -> bool {
    let (at, _) = skip_blanks(line, 0, 0);
    let run = run_length(line, at, marker);
    run >= length && line[at + run..].iter().all(|&b| is_inline_space(b))
}

fn is_atx_heading(rest: &[u8]) -> bool {
    let hashes = run_length(rest, 0, b'#');
    (1..=6).contains(&hashes) && matches!(rest.get(hashes), None | Some(b' ' | b'\t' | b'\r'))
}

/// Returns the position just after the closing fence line (or the end of the text).
fn skip_fenced_block(bytes: &[u8], mut at: usize, marker: u8, length: usize) -> usize {
    while at < bytes.len() {
        let end = line_end(bytes, at);
        let next = after_line(bytes, end);
        if is_closing_fence(&bytes[at..end], marker, length) {
            return next;
        }
        at = next;
    }
    bytes.len()
}

/// Position of the `\n` ending the line that contains `at`, or the end of the text.
fn line_end(bytes: &[u8], at: usize) -> usize {
    find_any(bytes, at, [b'\n']).unwrap_or(bytes.len())
}

/// Start of the line after the one ending at `end`.
fn after_line(bytes: &[u8], end: usize) -> usize {
    (end + 1).min(bytes.len())
}

fn run_length(bytes: &[u8], at: usize, byte: u8) -> usize {
    bytes
        .get(at..)
        .map_or(0, |rest| rest.iter().take_while(|&&b| b == byte).count())
}

/// Whitespace inside a line (`\r` included, so CRLF line endings need no special case).
fn is_inline_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Position of the first byte at or after `from` that is one of `targets`.
///
/// Reads eight bytes at a time ("SWAR"): comments are mostly prose, and the lexer only stops at a
/// handful of delimiter bytes, so this is where its time goes.
pub(super) fn find_any<const N: usize>(
    haystack: &[u8],
    from: usize,
    targets: [u8; N],
) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let rest = haystack.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    for (index, chunk) in chunks.by_ref().enumerate() {
        let mut eight = [0; 8];
        eight.copy_from_slice(chunk);
        let word = u64::from_le_bytes(eight);
        // Sets the high bit of each byte equal to a target. Borrows may also mark bytes after a
        // true match, never before one, so the lowest mark is exact.
        let marks = targets.iter().fold(0, |marks, &target| {
            let diff = word ^ (ONES * u64::from(target));
            marks | (diff.wrapping_sub(ONES) & !diff & HIGHS)
        });
        if marks != 0 {
            return Some(from + index * 8 + marks.trailing_zeros() as usize / 8);
        }
    }
    let tail_start = rest.len() - chunks.remainder().len();
    chunks
        .remainder()
        .iter()
        .position(|b| targets.contains(b))
        .map(|offset| from + tail_start + offset)
}

/// Run lengths below this are remembered in a fixed array; longer ones in a (rarely used) list.
const SHORT_RUN_LIMIT: usize = 16;

/// Finds the closer of a code span without rescanning a paragraph for every unmatched opener.
///
/// After a search fails, the whole rest of the paragraph has been seen, so the position of the
/// last run of each length there is remembered: a later opener in the same paragraph then knows
/// at once whether a closer of its length exists. This keeps the lexer linear on inputs made of
/// many unmatched backtick runs (the approach CommonMark's reference implementation takes).
#[derive(Default)]
struct CodeSpanCloserIndex {
    /// Set after a failed search: the paragraph end it reached. Every run between that search's
    /// start and this end is recorded below.
    complete_until: Option<usize>,
    last_short_run: [Option<usize>; SHORT_RUN_LIMIT],
    /// `(run length, start of the last run of that length)` for long runs.
    last_long_run: Vec<(usize, usize)>,
}

impl CodeSpanCloserIndex {
    /// Start of the backtick run of exactly `length` that closes a span opened just before
    /// `from`, if the paragraph has one.
    fn find(&mut self, bytes: &[u8], from: usize, length: usize) -> Option<usize> {
        if let Some(paragraph_end) = self.complete_until {
            if from < paragraph_end {
                let closer_exists = self.last_run(length).is_some_and(|start| start >= from);
                return if closer_exists {
                    self.scan(bytes, from, length, false).ok()
                } else {
                    None
                };
            }
        }
        self.forget();
        match self.scan(bytes, from, length, true) {
            Ok(closer) => Some(closer),
            Err(paragraph_end) => {
                self.complete_until = Some(paragraph_end);
                None
            }
        }
    }

    /// Looks for a run of exactly `length` before the paragraph ends; `Err` carries that end.
    fn scan(
        &mut self,
        bytes: &[u8],
        from: usize,
        length: usize,
        remember: bool,
    ) -> Result<usize, usize> {
        let mut at = from;
        while let Some(found) = find_any(bytes, at, [b'`', b'\n']) {
            at = found;
            if bytes[at] == b'`' {
                let run = run_length(bytes, at, b'`');
                if run == length {
                    return Ok(at);
                }
                if remember {
                    self.remember(run, at);
                }
                at += run;
            } else {
                let next_line = at + 1;
                let end = line_end(bytes, next_line);
                if next_line >= bytes.len()
                    || LineShape::of(&bytes[next_line..end])
                        .kind
                        .interrupts_paragraph()
                {
                    return Err(next_line.min(bytes.len()));
                }
                at = next_line;
            }
        }
        Err(bytes.len())
    }

    fn forget(&mut self) {
        self.complete_until = None;
        self.last_short_run = [None; SHORT_RUN_LIMIT];
        self.last_long_run.clear();
    }

    fn remember(&mut self, length: usize, start: usize) {
        if let Some(slot) = self.last_short_run.get_mut(length) {
            *slot = Some(start);
        } else if let Some(entry) = self.last_long_run.iter_mut().find(|(l, _)| *l == length) {
            entry.1 = start;
        } else {
            self.last_long_run.push((length, start));
        }
    }

    fn last_run(&self, length: usize) -> Option<usize> {
        match self.last_short_run.get(length) {
            Some(slot) => *slot,
            None => self
                .last_long_run
                .iter()
                .find(|(l, _)| *l == length)
                .map(|&(_, start)| start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visible words, line by line (split the way the parser splits them).
    fn lines(text: &str) -> Vec<Vec<&str>> {
        let mut lines = vec![Vec::new()];
        for token in Lexer::new(text) {
            match token {
                Token::Text(text) => {
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
    fn find_any_matches_a_plain_search_at_every_offset() {
        let text = b"ab\n`cd<<e\xc3\xa9fghijklmnop`qrstuvwxyz\n0123456789<";
        for from in 0..=text.len() + 1 {
            let expected = text
                .get(from..)
                .and_then(|rest| rest.iter().position(|b| b"`<\n".contains(b)))
                .map(|offset| from + offset);
            assert_eq!(
                find_any(text, from, [b'`', b'<', b'\n']),
                expected,
                "{from}"
            );
        }
        // Bytes that differ from a target only by a borrow must not match.
        assert_eq!(
            find_any(&[0x61, 0x00, 0x60, 0x5f, 0x60], 0, [0x60]),
            Some(2)
        );
        assert_eq!(find_any(&[0xff; 20], 0, [0x00, 0x7f]), None);
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
