//! The code-span closer index: finds backtick closers without rescanning a paragraph.

use super::bytes::{find_any, line_end, run_length};
use super::line::LineShape;

/// Run lengths below this are remembered in a fixed array; longer ones in a (rarely used) list.
const SHORT_RUN_LIMIT: usize = 16;

/// Finds the closer of a code span without rescanning a paragraph for every unmatched opener.
///
/// After a search fails, the whole rest of the paragraph has been seen, so the position of the
/// last run of each length there is remembered: a later opener in the same paragraph then knows
/// at once whether a closer of its length exists. This keeps the lexer linear on inputs made of
/// many unmatched backtick runs (the approach CommonMark's reference implementation takes).
#[derive(Default)]
pub(super) struct CodeSpanCloserIndex {
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
    pub(super) fn find(&mut self, bytes: &[u8], from: usize, length: usize) -> Option<usize> {
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
