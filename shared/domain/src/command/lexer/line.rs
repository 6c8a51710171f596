//! Line classification: blank, quote, code fence, block start or prose, and fenced-block skipping.

use super::bytes::{after_line, is_inline_space, line_end, run_length};

/// Indentation (in columns) that turns a line into an indented code block.
pub(super) const CODE_INDENT: usize = 4;

/// What a line is, for hiding text and for where paragraphs (and so code spans) end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LineKind {
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
    pub(super) fn interrupts_paragraph(self) -> bool {
        !matches!(self, LineKind::Text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LineShape {
    pub(super) kind: LineKind,
    /// Leading indentation in columns (tabs advance to the next multiple of 4).
    pub(super) indent: usize,
}

impl LineShape {
    /// Classifies one line (without its `\n`).
    pub(super) fn of(line: &[u8]) -> LineShape {
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
pub(super) fn skip_fenced_block(bytes: &[u8], mut at: usize, marker: u8, length: usize) -> usize {
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
