//! Byte-level scanning shared by the lexer: delimiter search, line bounds and run lengths.

/// Position of the `\n` ending the line that contains `at`, or the end of the text.
pub(super) fn line_end(bytes: &[u8], at: usize) -> usize {
    find_any(bytes, at, [b'\n']).unwrap_or(bytes.len())
}

/// Start of the line after the one ending at `end`.
pub(super) fn after_line(bytes: &[u8], end: usize) -> usize {
    (end + 1).min(bytes.len())
}

pub(super) fn run_length(bytes: &[u8], at: usize, byte: u8) -> usize {
    bytes
        .get(at..)
        .map_or(0, |rest| rest.iter().take_while(|&&b| b == byte).count())
}

/// Whitespace inside a line (`\r` included, so CRLF line endings need no special case).
pub(super) fn is_inline_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Position of the first byte at or after `from` that is one of `targets`.
///
/// Reads eight bytes at a time ("SWAR"): comments are mostly prose, and the lexer only stops at a
/// handful of delimiter bytes, so this is where its time goes.
pub(in crate::command) fn find_any<const N: usize>(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
