//! The scanner as it was before `blocks` (memchr per string, containers skipped byte by byte),
//! kept for the tests: the fast scanner must give the same answer, error included, on any input.

#![allow(dead_code)]

use super::ScanError;
use std::borrow::Cow;

/// Nesting deeper than this is refused (GitHub payloads are a few levels deep).
const MAX_DEPTH: usize = 128;

pub(super) struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A JSON value's kind, seen from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Object,
    Array,
    String,
    Null,
    Other,
}

impl<'a> Scanner<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Scanner { bytes, at: 0 }
    }

    fn error(&self, what: &'static str) -> ScanError {
        ScanError { at: self.at, what }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// The kind of the next value.
    pub fn kind(&mut self) -> Result<Kind, ScanError> {
        match self.peek() {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'n') => Ok(Kind::Null),
            Some(_) => Ok(Kind::Other),
            None => Err(self.error("unexpected end of input")),
        }
    }

    /// Raw bytes of the string at the cursor (between the quotes) and whether it has escapes.
    fn raw_string(&mut self) -> Result<(&'a [u8], bool), ScanError> {
        self.expect(b'"', "expected a string")?;
        let start = self.at;
        let mut escaped = false;
        loop {
            let rest = self.bytes.get(self.at..).unwrap_or_default();
            match memchr::memchr2(b'"', b'\\', rest) {
                None => return Err(self.error("unterminated string")),
                Some(offset) => {
                    self.at += offset;
                    if self.bytes[self.at] == b'"' {
                        let raw = &self.bytes[start..self.at];
                        self.at += 1;
                        return Ok((raw, escaped));
                    }
                    // A backslash escapes the next byte (the start of `\uXXXX` included).
                    escaped = true;
                    self.at += 2;
                }
            }
        }
    }

    /// A string value, borrowed when it has no escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>, ScanError> {
        let start = self.at;
        let (raw, escaped) = self.raw_string()?;
        if !escaped {
            return std::str::from_utf8(raw)
                .map(Cow::Borrowed)
                .map_err(|_| ScanError {
                    at: start,
                    what: "string is not UTF-8",
                });
        }
        let quoted = self.bytes.get(start..self.at).unwrap_or_default();
        serde_json::from_slice::<String>(quoted)
            .map(Cow::Owned)
            .map_err(|_| ScanError {
                at: start,
                what: "invalid string escape",
            })
    }

    /// A non-negative integer value.
    pub fn unsigned(&mut self) -> Result<u64, ScanError> {
        self.skip_whitespace();
        let start = self.at;
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.at])
            .ok()
            .and_then(|digits| digits.parse().ok())
            .ok_or(ScanError {
                at: start,
                what: "expected an unsigned integer",
            })
    }

    /// Skips one value of any kind.
    pub fn skip(&mut self) -> Result<(), ScanError> {
        match self.kind()? {
            Kind::String => self.raw_string().map(drop),
            Kind::Object | Kind::Array => self.skip_container(),
            Kind::Null | Kind::Other => {
                // true, false, null or a number: runs until a delimiter.
                let start = self.at;
                while let Some(b) = self.bytes.get(self.at) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    Err(self.error("expected a value"))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn skip_container(&mut self) -> Result<(), ScanError> {
        let mut depth = 0usize;
        loop {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err(self.error("unterminated object or array"));
            };
            match b {
                b'"' => {
                    self.raw_string()?;
                    continue;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(self.error("nesting too deep"));
                    }
                }
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.at += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
    }

    /// Walks the members of the object at the cursor. `visit` gets each key and must either
    /// consume the value and return `true`, or leave it and return `false` (it is then skipped).
    pub fn object(
        &mut self,
        mut visit: impl FnMut(&[u8], &mut Scanner<'a>) -> Result<bool, ScanError>,
    ) -> Result<(), ScanError> {
        self.expect(b'{', "expected an object")?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            let (key, _) = self.raw_string()?;
            self.expect(b':', "expected ':' after a key")?;
            if !visit(key, self)? {
                self.skip()?;
            }
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    /// After the top-level value: only whitespace may follow.
    pub fn finish(&mut self) -> Result<(), ScanError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters")),
        }
    }
}
