//! A small forward-only JSON scanner for picking a handful of fields out of a large, already
//! authenticated webhook body.
//!
//! It reads object keys, descends into the objects it is asked about and skips every other value
//! without building it. Strings are searched 16–32 bytes at a time and skipped objects and arrays
//! are classified 64 bytes at a time (see `blocks`), which is what makes an 11 KB payload cheap.
//! Strings that are needed are returned borrowed when they contain no escapes and unescaped by
//! serde_json otherwise. Structure is checked along the way (a malformed body is an error, never a
//! panic); the contents of skipped values are not validated beyond string and bracket matching,
//! which is acceptable because the body's HMAC was verified first.

use std::borrow::Cow;

mod blocks;
#[cfg(test)]
mod reference;

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
    #[inline(always)]
    fn raw_string(&mut self) -> Result<(&'a [u8], bool), ScanError> {
        self.expect(b'"', "expected a string")?;
        let start = self.at;
        // Most strings (keys, ids, dates) end within 16 bytes and have no escapes: that case is
        // inlined into every caller, the rest is a call.
        if let Some(end) = blocks::short_string_end(self.bytes, start) {
            self.at = end + 1;
            return Ok((&self.bytes[start..end], false));
        }
        self.rest_of_string(start)
    }

    #[inline(never)]
    fn rest_of_string(&mut self, start: usize) -> Result<(&'a [u8], bool), ScanError> {
        let mut escaped = false;
        loop {
            match blocks::quote_or_backslash(self.bytes, self.at) {
                None => return Err(self.error("unterminated string")),
                Some(at) => {
                    self.at = at;
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
    #[inline(always)]
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

    #[inline(never)]
    fn skip_container(&mut self) -> Result<(), ScanError> {
        #[cfg(target_arch = "x86_64")]
        if let Some(end) = blocks::container_end(self.bytes, self.at, MAX_DEPTH) {
            self.at = end;
            return Ok(());
        }
        self.skip_container_bytewise()
    }

    /// `skip_container` one byte at a time: the reference, and the path that reports errors.
    fn skip_container_bytewise(&mut self) -> Result<(), ScanError> {
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

    // ---- The fast paths against the scanner as it was (`reference`) and against serde_json ----

    /// xorshift64: reproducible pseudo-random inputs without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    /// A hash of `key` that decides what the trace walk does with the key's value.
    fn wanted(key: &[u8], seed: u64) -> u64 {
        key.iter().fold(seed | 1, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        }) >> 7
    }

    /// Walks a document as the event parsers do: descends into some objects, reads some strings
    /// and integers, skips the rest. Records what it saw, so two scanners can be compared.
    macro_rules! trace_with {
        ($name:ident, $scanner:ty, $kind:ident) => {
            fn $name(bytes: &[u8], seed: u64) -> Result<Vec<String>, ScanError> {
                fn walk(
                    s: &mut $scanner,
                    seed: u64,
                    depth: usize,
                    out: &mut Vec<String>,
                ) -> Result<(), ScanError> {
                    s.object(|key, s| {
                        out.push(format!("key {}", String::from_utf8_lossy(key)));
                        let h = wanted(key, seed);
                        match s.kind()? {
                            $kind::Object if h & 3 != 0 && depth < 6 => {
                                walk(s, seed, depth + 1, out)?;
                                out.push("end".into());
                            }
                            $kind::String if h & 4 == 0 => {
                                out.push(format!("string {}", s.string()?));
                            }
                            $kind::Other if h & 24 == 0 => {
                                out.push(format!("number {}", s.unsigned()?));
                            }
                            _ => return Ok(false),
                        }
                        Ok(true)
                    })
                }
                let mut s = <$scanner>::new(bytes);
                let mut out = Vec::new();
                walk(&mut s, seed, 0, &mut out)?;
                s.finish()?;
                Ok(out)
            }
        };
    }
    trace_with!(trace, Scanner<'_>, Kind);
    trace_with!(trace_reference, reference::Scanner<'_>, RefKind);
    use reference::Kind as RefKind;

    /// The same walk over a document serde_json parsed (for documents without duplicate keys).
    fn trace_serde(value: &serde_json::Value, seed: u64) -> Vec<String> {
        fn walk(
            map: &serde_json::Map<String, serde_json::Value>,
            seed: u64,
            depth: usize,
            out: &mut Vec<String>,
        ) {
            for (key, value) in map {
                // The scanner sees keys as written, escapes and all.
                let quoted = serde_json::to_string(key).unwrap();
                let key = &quoted[1..quoted.len() - 1];
                out.push(format!("key {key}"));
                let h = wanted(key.as_bytes(), seed);
                match value {
                    serde_json::Value::Object(inner) if h & 3 != 0 && depth < 6 => {
                        walk(inner, seed, depth + 1, out);
                        out.push("end".into());
                    }
                    serde_json::Value::String(text) if h & 4 == 0 => {
                        out.push(format!("string {text}"))
                    }
                    serde_json::Value::Number(n) if h & 24 == 0 => out.push(format!(
                        "number {}",
                        n.as_u64().expect("generated unsigned")
                    )),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(value.as_object().expect("an object"), seed, 0, &mut out);
        out
    }

    /// String contents that stress the string search: escapes of every kind (runs of
    /// backslashes, escaped quotes), UTF-8, brackets and quotes-to-be inside strings.
    const PIECES: &[&str] = &[
        "\\\"",
        "\\\\",
        "\\\\\\\"",
        "\\\\\\\\",
        "\\n",
        "\\u00e9",
        "\\ud83d\\ude80",
        "\\/",
        "é",
        "🚀",
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        " ",
        "a",
        "schemabot",
        "https://api.github.com/x",
    ];

    fn json_string(r: &mut Rng, out: &mut String) {
        out.push('"');
        let pieces = if r.below(6) == 0 { 60 } else { 8 };
        for _ in 0..r.below(pieces) {
            out.push_str(r.pick(PIECES));
        }
        out.push('"');
    }

    fn whitespace(r: &mut Rng, out: &mut String) {
        if r.below(5) == 0 {
            out.push_str(r.pick(&[" ", "\n", "\t", "\r\n  ", "  "]));
        }
    }

    /// A random JSON text: mostly objects with repeated, GitHub-like keys (duplicates included).
    fn json_value(r: &mut Rng, depth: usize, out: &mut String) {
        match r.below(if depth > 7 { 4 } else { 9 }) {
            0 | 1 => json_string(r, out),
            2 => out.push_str(r.pick(&["0", "7", "42", "-1", "3.5e-3", "1E+9", "2496111222"])),
            3 => out.push_str(r.pick(&["true", "false", "null"])),
            4..=6 => json_object(r, depth, out),
            _ => {
                out.push('[');
                for i in 0..r.below(5) {
                    if i > 0 {
                        out.push(',');
                    }
                    whitespace(r, out);
                    json_value(r, depth + 1, out);
                    whitespace(r, out);
                }
                out.push(']');
            }
        }
    }

    fn json_object(r: &mut Rng, depth: usize, out: &mut String) {
        out.push('{');
        for i in 0..r.below(7) {
            if i > 0 {
                out.push(',');
            }
            whitespace(r, out);
            if r.below(4) == 0 {
                json_string(r, out);
            } else {
                let key = r.pick(&["id", "body", "user", "login", "type", "a", "b", "\\u0061"]);
                out.push_str(&format!("\"{key}\""));
            }
            whitespace(r, out);
            out.push(':');
            whitespace(r, out);
            json_value(r, depth + 1, out);
            whitespace(r, out);
        }
        out.push('}');
    }

    /// Damages `bytes` the way that finds scanner bugs: structural bytes, quotes and backslashes
    /// flipped in, bytes dropped, duplicated or cut off.
    fn mutate(r: &mut Rng, bytes: &mut Vec<u8>) {
        for _ in 0..1 + r.below(3) {
            if bytes.is_empty() {
                return;
            }
            let i = r.below(bytes.len());
            let byte = r.pick(b"\"\\{}[]:, a0\xc3\x80");
            match r.below(5) {
                0 | 1 => bytes[i] = byte,
                2 => {
                    bytes.remove(i);
                }
                3 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
    }

    fn assert_same(bytes: &[u8], seed: u64) {
        assert_eq!(
            trace(bytes, seed),
            trace_reference(bytes, seed),
            "input: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn same_answers_as_the_reference_scanner_on_random_and_damaged_documents() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut accepted = 0;
        for round in 0..3000 {
            let mut text = String::new();
            json_object(&mut r, 0, &mut text);
            let seed = r.next();
            assert_same(text.as_bytes(), seed);
            accepted += usize::from(trace(text.as_bytes(), seed).is_ok());
            let mut bytes = text.into_bytes();
            for _ in 0..4 {
                mutate(&mut r, &mut bytes);
                assert_same(&bytes, seed ^ round);
            }
        }
        assert!(
            accepted > 2000,
            "most generated documents are valid: {accepted}"
        );
    }

    #[test]
    fn same_answers_as_the_reference_scanner_on_damaged_payloads() {
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        for payload in [
            &include_bytes!("../tests/fixtures/issue_comment_cutover.json")[..],
            &include_bytes!("../tests/fixtures/pull_request_synchronize.json")[..],
        ] {
            for seed in 0..8 {
                assert_same(payload, seed);
            }
            for _ in 0..1500 {
                let mut bytes = payload.to_vec();
                mutate(&mut r, &mut bytes);
                assert_same(&bytes, r.next());
            }
            for cut in (0..payload.len()).step_by(11) {
                assert_same(&payload[..cut], 1);
            }
        }
    }

    #[test]
    fn same_answers_as_serde_json_on_valid_documents() {
        fn value(r: &mut Rng, depth: usize) -> serde_json::Value {
            use serde_json::Value;
            match r.below(if depth > 6 { 4 } else { 7 }) {
                0 | 1 => {
                    let mut text = String::new();
                    let longest = if r.below(5) == 0 { 80 } else { 10 };
                    for _ in 0..r.below(longest) {
                        text.push(
                            r.pick(&['"', '\\', 'é', '🚀', '\n', '\u{1}', '{', ']', 'a', '/']),
                        );
                    }
                    Value::String(text)
                }
                2 => Value::from(r.next() >> r.below(64)),
                // Booleans and fractions only in arrays: the walk reads some scalars as unsigned.
                3 => Value::Null,
                4 | 5 => {
                    let mut map = serde_json::Map::new();
                    for i in 0..r.below(8) {
                        let key = format!("{}{i}", r.pick(&["id", "body", "a\"b", "é"]));
                        map.insert(key, value(r, depth + 1));
                    }
                    Value::Object(map)
                }
                _ => {
                    let mut items: Vec<Value> =
                        (0..r.below(5)).map(|_| value(r, depth + 1)).collect();
                    items.extend(
                        [Value::Bool(true), Value::from(-2.5e-3)]
                            .into_iter()
                            .take(r.below(3)),
                    );
                    Value::Array(items)
                }
            }
        }
        let mut r = Rng(0x0123_4567_89ab_cdef);
        for round in 0..2000 {
            let mut doc = value(&mut r, 0);
            if !doc.is_object() {
                doc = serde_json::json!({ "wrapped": doc });
            }
            let text = if round & 1 == 0 {
                serde_json::to_string(&doc).unwrap()
            } else {
                serde_json::to_string_pretty(&doc).unwrap()
            };
            let seed = r.next();
            assert_eq!(
                trace(text.as_bytes(), seed).as_ref(),
                Ok(&trace_serde(&doc, seed)),
                "{text}"
            );
        }
    }

    #[test]
    fn strings_and_escapes_across_block_boundaries() {
        // Every alignment of escaped quotes and backslash runs against the 64-byte blocks, in a
        // skipped array, followed by a field that is read.
        for pad in 0..140 {
            for tail in ["\\\"", "\\\\", "\\\\\\\"", "\\\\\\\\\\\\", "]", "\\\"]\\\""] {
                let text = format!(
                    r#"{{"skip":[{{"x":"{}{}"}},"{}",[]],"want":"yes"}}"#,
                    "a".repeat(pad),
                    tail,
                    "\\\\".repeat(pad % 7)
                );
                assert_eq!(
                    field(&text, "want").unwrap().as_deref(),
                    Some("yes"),
                    "{text}"
                );
                assert_same(text.as_bytes(), 2);
            }
        }
    }

    #[test]
    fn nesting_limit_is_the_same_as_before() {
        for depth in 120..=140 {
            for pad in [0, 30, 63] {
                let text = format!(
                    "{{\"a\":{}{}{}}}",
                    "[".repeat(depth),
                    " ".repeat(pad),
                    "]".repeat(depth)
                );
                assert_eq!(
                    field(&text, "b").is_ok(),
                    depth <= MAX_DEPTH,
                    "depth {depth}"
                );
                assert_same(text.as_bytes(), 0);
            }
        }
    }
}
