//! Bulk skipping for the scanner: the quote/backslash search 16–32 bytes at a time, and whole
//! objects or arrays skipped 64 bytes at a time with simdjson-style bitmasks (one bit per byte:
//! quotes, backslashes and brackets; escapes from backslash runs; the in-string mask as the
//! prefix XOR of the unescaped quotes; bracket depth by popcount).
//!
//! Both are fast paths with the same answer as the byte-by-byte code in `json_scan.rs`: when a
//! fast path cannot decide — the input ends, nesting gets too deep, or a byte only malformed JSON
//! has (a backslash outside a string) — it says so and the scanner falls back to the byte-by-byte
//! code, which produces the error exactly as before. The vector code is SSE2 (part of the x86_64
//! baseline); other targets keep `memchr` and the byte-by-byte skip.

// Only x86_64 uses the block skip; elsewhere it is compiled for the tests alone.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

/// Bytes classified at once when skipping a container.
pub(super) const BLOCK: usize = 64;

/// One bit per byte of a 64-byte block (bit `i` is byte `i`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Masks {
    pub quote: u64,
    pub backslash: u64,
    /// `{` or `[`.
    pub open: u64,
    /// `}` or `]`.
    pub close: u64,
}

/// Reference classifier, one byte at a time (the vector one is tested against it).
#[cfg(test)]
pub(super) fn classify_scalar(block: &[u8; BLOCK]) -> Masks {
    let mut m = Masks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'{' | b'[' => m.open |= bit,
            b'}' | b']' => m.close |= bit,
            _ => {}
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
pub(super) fn classify(block: &[u8; BLOCK]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so every intrinsic used here is available on
    // every x86_64 CPU. Each `_mm_loadu_si128` reads the 16 bytes at offset 0, 16, 32 or 48 of
    // the 64-byte array `block`, so it stays in bounds, and `loadu` has no alignment requirement.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        // `[` and `]` differ from `{` and `}` only in bit 0x20, and no other byte maps onto them.
        let case = _mm_set1_epi8(0x20);
        let open = _mm_set1_epi8(b'{' as i8);
        let close = _mm_set1_epi8(b'}' as i8);
        let mut m = Masks::default();
        for lane in 0..BLOCK / 16 {
            let v = _mm_loadu_si128(block.as_ptr().add(lane * 16).cast::<__m128i>());
            let folded = _mm_or_si128(v, case);
            let bits = |eq| u64::from(_mm_movemask_epi8(eq) as u16) << (lane * 16);
            m.quote |= bits(_mm_cmpeq_epi8(v, quote));
            m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
            m.open |= bits(_mm_cmpeq_epi8(folded, open));
            m.close |= bits(_mm_cmpeq_epi8(folded, close));
        }
        m
    }
}

/// Bit `i` set when an odd number of bits at or below `i` are set in `x`: applied to the
/// unescaped quotes it marks the bytes inside strings (opening quote included, closing excluded).
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The bytes escaped by a backslash. `carry` says the block's first byte is escaped (by a
/// backslash ending the previous block) and is set for the next block. Backslashes are rare, so
/// they are walked one by one: each unescaped one escapes the byte after it.
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    let mut escaped = *carry;
    *carry = 0;
    let mut escapes = backslash & !escaped;
    while escapes != 0 {
        let bit = escapes & escapes.wrapping_neg();
        if bit == 1 << 63 {
            *carry = 1;
        }
        escaped |= bit << 1;
        escapes &= !(bit | bit << 1);
    }
    escaped
}

/// Where the object or array opening at `bytes[start]` ends (the index just past its closing
/// bracket), as `Scanner::skip_container` would find it; `None` when that takes the byte-by-byte
/// scan (no closing bracket before the end, nesting deeper than `max_depth`, or a backslash
/// outside a string).
///
/// Like the byte-by-byte scan, any closing bracket closes any opening one (well-formedness of a
/// skipped value's insides is not checked: the body was authenticated first).
#[cfg(target_arch = "x86_64")]
pub(super) fn container_end(bytes: &[u8], start: usize, max_depth: usize) -> Option<usize> {
    container_end_with(bytes, start, max_depth, classify)
}

pub(super) fn container_end_with(
    bytes: &[u8],
    start: usize,
    max_depth: usize,
    classify: impl Fn(&[u8; BLOCK]) -> Masks,
) -> Option<usize> {
    debug_assert!(matches!(bytes.get(start), Some(b'{' | b'[')));
    let mut at = start;
    let mut depth = 0usize;
    // All ones while the previous block ended inside a string.
    let mut in_string = 0u64;
    let mut escape_carry = 0u64;
    loop {
        let rest = bytes.get(at..).filter(|rest| !rest.is_empty())?;
        let m = match rest.first_chunk::<BLOCK>() {
            Some(block) => classify(block),
            None => {
                // The last, partial block, padded with bytes that classify as nothing.
                let mut block = [b' '; BLOCK];
                block[..rest.len()].copy_from_slice(rest);
                classify(&block)
            }
        };
        let escaped = escaped(m.backslash, &mut escape_carry);
        let inside = prefix_xor(m.quote & !escaped) ^ in_string;
        in_string = 0u64.wrapping_sub(inside >> 63);
        if m.backslash & !inside != 0 {
            // Not JSON; the byte-by-byte scan treats it differently from the masks.
            return None;
        }
        let open = m.open & !inside;
        let close = m.close & !inside;
        if open | close == 0 {
            // Only string contents, scalars and punctuation.
        } else if depth > close.count_ones() as usize
            && depth + open.count_ones() as usize <= max_depth
        {
            // Depth neither reaches zero nor exceeds the limit inside this block.
            depth = depth + open.count_ones() as usize - close.count_ones() as usize;
        } else {
            let mut brackets = open | close;
            while brackets != 0 {
                let bit = brackets & brackets.wrapping_neg();
                if open & bit != 0 {
                    depth += 1;
                    if depth > max_depth {
                        return None;
                    }
                } else {
                    // (Only a caller not starting at a bracket can close below zero.)
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(at + bit.trailing_zeros() as usize + 1);
                    }
                }
                brackets ^= bit;
            }
        }
        at += BLOCK;
    }
}

/// The index of the first `"` or `\` at or after `from`, like `memchr2`, inlined: most strings
/// the scanner skips are short (keys, ids) and a call into `memchr` costs more than the search.
/// The first 16 bytes are looked at alone, then 32 at a time (URLs are 40–80 bytes).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(super) fn quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..).unwrap_or_default();
    let chunk = |at: usize| rest.get(at..).and_then(|r| r.first_chunk::<16>());
    let Some(first) = chunk(0) else {
        return scalar_quote_or_backslash(rest, 0).map(|i| from + i);
    };
    let found = quotes_or_backslashes(first);
    if found != 0 {
        return Some(from + found.trailing_zeros() as usize);
    }
    let mut at = 16;
    while let (Some(low), Some(high)) = (chunk(at), chunk(at + 16)) {
        let found = quotes_or_backslashes(low) | quotes_or_backslashes(high) << 16;
        if found != 0 {
            return Some(from + at + found.trailing_zeros() as usize);
        }
        at += 32;
    }
    scalar_quote_or_backslash(rest, at).map(|i| from + i)
}

/// Where the string whose contents start at `from` ends, when its closing quote is among the
/// next 16 bytes with no backslash before it (the common case); `None` otherwise, including
/// near the end of the input.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn short_string_end(bytes: &[u8], from: usize) -> Option<usize> {
    let chunk = bytes.get(from..)?.first_chunk::<16>()?;
    let found = quotes_or_backslashes(chunk);
    let first = found.trailing_zeros() as usize;
    (chunk.get(first) == Some(&b'"')).then_some(from + first)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(super) fn short_string_end(_bytes: &[u8], _from: usize) -> Option<usize> {
    None
}

/// One bit per byte of `chunk` that is `"` or `\`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn quotes_or_backslashes(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics are available on every
    // x86_64 CPU. `_mm_loadu_si128` reads exactly the 16 bytes of `chunk` and has no alignment
    // requirement.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let hits = _mm_or_si128(
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
        );
        _mm_movemask_epi8(hits) as u32
    }
}

#[cfg(target_arch = "x86_64")]
fn scalar_quote_or_backslash(rest: &[u8], from: usize) -> Option<usize> {
    let tail = rest.get(from..).unwrap_or_default();
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|i| from + i)
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = bytes.get(from..).unwrap_or_default();
    memchr::memchr2(b'"', b'\\', rest).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"\"\\{}[]:, a0\xc3\x80\n";
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                let r = (*seed >> 24) as usize;
                if r & 3 == 0 {
                    (r >> 8) as u8
                } else {
                    ALPHABET[(r >> 8) % ALPHABET.len()]
                }
            })
            .collect()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_classifier_matches_the_scalar_one() {
        let mut seed = 0x5eed_u64;
        for _ in 0..5000 {
            let block: [u8; BLOCK] = random_bytes(&mut seed, BLOCK).try_into().unwrap();
            assert_eq!(classify(&block), classify_scalar(&block), "{block:?}");
        }
        let every_byte: Vec<u8> = (0..=255).collect();
        for block in every_byte.chunks_exact(BLOCK) {
            let block: &[u8; BLOCK] = block.try_into().unwrap();
            assert_eq!(classify(block), classify_scalar(block));
        }
    }

    #[test]
    fn string_search_matches_memchr2() {
        let mut seed = 0xfeed_u64;
        for len in 0..200 {
            let mut bytes = random_bytes(&mut seed, len);
            // Fewer hits, so the 16- and 32-byte steps are exercised too.
            for b in bytes.iter_mut() {
                if matches!(*b, b'"' | b'\\') && seed & 7 != 0 {
                    *b = b'x';
                }
            }
            for from in 0..=len + 1 {
                let expected = bytes
                    .get(from..)
                    .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
                    .map(|i| from + i);
                assert_eq!(
                    quote_or_backslash(&bytes, from),
                    expected,
                    "{bytes:?} {from}"
                );
                let short = short_string_end(&bytes, from);
                if let Some(end) = short {
                    assert_eq!(Some(end), expected);
                    assert!(end < from + 16 && bytes[end] == b'"');
                }
                #[cfg(target_arch = "x86_64")]
                if from + 16 <= len && expected.is_some_and(|i| i < from + 16 && bytes[i] == b'"') {
                    assert_eq!(short, expected);
                }
            }
        }
    }

    #[test]
    fn escapes_carry_across_blocks() {
        let mut carry = 0;
        // A run of three backslashes ending the block: the last one escapes the next block's
        // first byte.
        assert_eq!(escaped(0b111 << 61, &mut carry), 1 << 62);
        assert_eq!(carry, 1);
        // That escaped first byte is a backslash: it escapes nothing.
        assert_eq!(escaped(0b1, &mut carry), 0b1);
        assert_eq!(carry, 0);
        // Two backslashes: the second is escaped, the byte after it is not.
        assert_eq!(escaped(0b0110, &mut carry), 0b0100);
        // Quotes at bytes 1, 4 and 7: inside from 1 to 3, and from 7 on.
        assert_eq!(prefix_xor(0b1001_0010), !0 << 7 | 0b1110);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_and_scalar_classifiers_skip_the_same_containers() {
        let mut seed = 0xabcd_u64;
        for len in 1..400 {
            let mut bytes = random_bytes(&mut seed, len);
            bytes[0] = b'[';
            for depth in [1, 3, 128] {
                assert_eq!(
                    container_end(&bytes, 0, depth),
                    container_end_with(&bytes, 0, depth, classify_scalar)
                );
            }
        }
    }
}
