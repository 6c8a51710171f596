//! A small forward-only JSON scanner for picking a handful of fields out of a large, already
//! authenticated webhook body.
//!
//! It reads object keys, descends into the objects it is asked about and skips every other value
//! without building it — strings are skipped with SIMD `memchr`, which is what makes an 11 KB
//! payload cheap. Strings that are needed are returned borrowed when they contain no escapes and
//! unescaped by serde_json otherwise. Structure is checked along the way (a malformed body is an
//! error, never a panic); the contents of skipped strings are not validated, which is acceptable
//! because the body's HMAC was verified first.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON at byte {at}: {what}")]
pub struct ScanError {
    pub at: usize,
    pub what: &'static str,
}

/// Nesting deeper than this is refused (GitHub payloads are a few levels deep).
const MAX_DEPTH: usize = 128;

pub struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A JSON value's kind, seen from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str, wanted: &str) -> Result<Option<String>, ScanError> {
        let mut s = Scanner::new(json.as_bytes());
        let mut found = None;
        s.object(|key, s| {
            if key == wanted.as_bytes() {
                found = Some(s.string()?.into_owned());
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        s.finish()?;
        Ok(found)
    }

    #[test]
    fn skips_nested_values_and_finds_fields() {
        let json =
            r#"{"a":{"b":[1,2,{"c":"}"}],"d":null},"e":[],"x":-1.5e3,"t":true,"want":"yes"}"#;
        assert_eq!(field(json, "want").unwrap().as_deref(), Some("yes"));
    }

    #[test]
    fn unescapes_only_when_needed() {
        let json =
            r#"{"skip":"a \"quoted\" \\ value","want":"line\nnext \u00e9 \ud83d\ude80 \"q\""}"#;
        assert_eq!(
            field(json, "want").unwrap().as_deref(),
            Some("line\nnext é 🚀 \"q\"")
        );
        let mut s = Scanner::new(br#""plain""#);
        assert!(matches!(s.string().unwrap(), Cow::Borrowed("plain")));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":\"unterminated",
            "[1,2]",
            "{\"a\":1} x",
            "{\"a\":\"\\",
            "{\"a\":[1,2}",
            "nul",
        ] {
            assert!(field(bad, "a").is_err(), "{bad:?} was accepted");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(500), "]".repeat(500));
        assert!(field(&deep, "b").is_err());
    }

    #[test]
    fn every_truncation_and_byte_flip_of_a_payload_is_handled() {
        let payload = include_str!("../tests/fixtures/issue_comment_cutover.json");
        for cut in (0..payload.len()).step_by(37) {
            let _ = field(&payload[..cut], "action");
        }
        let mut bytes = payload.as_bytes().to_vec();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % bytes.len();
            let old = bytes[i];
            bytes[i] = (seed >> 32) as u8;
            let mut s = Scanner::new(&bytes);
            let _ = s.object(|_, _| Ok(false));
            bytes[i] = old;
        }
    }
}
