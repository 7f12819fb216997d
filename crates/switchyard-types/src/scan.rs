//! A validating JSON scanner: checks a body against RFC 8259's grammar and hands over its
//! top-level members as byte ranges ([`object`]), or walks it ([`walk`]), handing each member
//! to a visitor that reads what it needs (a count, a string, a nested object or array) in the
//! same pass that validates the rest. No value is built that nobody reads.
//!
//! The gateway reads a few members of bodies it otherwise forwards byte for byte (a request's
//! `model` and `stream`, a reply's `usage`, a stream chunk's deltas), yet must refuse a body
//! that is not JSON.
//! `serde_json` does both through its visitor machinery, about 13 instructions per byte on a
//! provider's reply (`IgnoredAny` for every value, a UTF-8 check per key); this scanner walks the
//! same bytes with no visitor and no recursion, eight string bytes at a time, and validates UTF-8
//! only where a byte is not ASCII. Values it hands over are parsed with `serde_json`, which stays
//! the reference: `tests` checks that both accept and refuse the same inputs.
//!
//! Nesting is limited to 128 levels, `serde_json`'s limit for typed values; the scanner itself
//! neither recurses nor allocates, whatever the body.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Deepest nesting accepted (`serde_json`'s recursion limit for typed values).
pub const MAX_DEPTH: u32 = 128;

/// Why a body is not valid JSON, and where. Boxed: every step of the scanner returns a
/// `Result`, which stays one register wide this way (errors are the cold path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} at line {} column {}", .0.what, .0.line, .0.column)]
pub struct ScanError(Box<Where>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Where {
    what: &'static str,
    line: usize,
    column: usize,
}

impl ScanError {
    #[cold]
    #[inline(never)]
    fn at(body: &[u8], offset: usize, what: &'static str) -> Self {
        let before = body.get(..offset).unwrap_or(body);
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        Self(Box::new(Where {
            what,
            line,
            column: offset - line_start + usize::from(offset < body.len()),
        }))
    }

    /// What is wrong (`serde_json`'s wording).
    pub fn what(&self) -> &'static str {
        self.0.what
    }

    /// 1-based line of the offending byte.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// 1-based column (bytes) of the offending byte.
    pub fn column(&self) -> usize {
        self.0.column
    }
}

/// A top-level member's name as written between its quotes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl<'a> Key<'a> {
    /// The name as written, escapes unresolved.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the name was written with escapes (`"\u006dodel"`).
    pub fn is_escaped(&self) -> bool {
        self.escaped
    }

    /// The name with escapes resolved (borrowed when there were none). A name whose escapes
    /// do not form valid Unicode (a lone surrogate) resolves to its raw form.
    #[inline]
    pub fn resolved(&self) -> Cow<'a, [u8]> {
        if self.escaped {
            Cow::Owned(self.unescape())
        } else {
            Cow::Borrowed(self.raw)
        }
    }

    #[cold]
    fn unescape(&self) -> Vec<u8> {
        let mut quoted = Vec::with_capacity(self.raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(self.raw);
        quoted.push(b'"');
        match serde_json::from_slice::<String>(&quoted) {
            Ok(s) => s.into_bytes(),
            Err(_) => self.raw.to_vec(),
        }
    }

    /// Whether the name (escapes resolved) is `name`.
    pub fn is(&self, name: &str) -> bool {
        if self.escaped {
            *self.resolved() == *name.as_bytes()
        } else {
            self.raw == name.as_bytes()
        }
    }
}

impl fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.resolved()))
    }
}

/// Checks that `body` is one JSON value (surrounding whitespace allowed).
pub fn validate(body: &[u8]) -> Result<(), ScanError> {
    let mut s = Scanner::new(body);
    s.ws();
    s.value()?;
    s.end()
}

/// Checks that `body` is one JSON object and calls `member` with each top-level member's name
/// and the byte range of its value, in order (duplicates included).
pub fn object<'a>(
    body: &'a [u8],
    mut member: impl FnMut(Key<'a>, Range<usize>),
) -> Result<(), ScanError> {
    walk(body, |m| {
        let value = m.value()?;
        member(m.key(), value);
        Ok(())
    })
}

/// Checks that `body` is one JSON object and hands each top-level member to `visit` before
/// its value is scanned: the visitor may read the value ([`Member::value`], [`Member::count`])
/// or walk it as an object of its own ([`Member::object`]); a value it leaves alone is scanned
/// after it returns. One pass over the body, whatever is read.
pub fn walk<'a>(
    body: &'a [u8],
    visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let mut s = Scanner::new(body);
    s.ws();
    if !s.container(true, visit)? {
        return Err(s.err_or_eof("expected a JSON object", "EOF while parsing a value"));
    }
    s.end()
}

/// Hands `body`'s one value to `visit` as a member with an empty name, so that code reading a
/// member's value reads a whole body the same way; then checks that nothing follows it.
pub fn walk_value<'a>(
    body: &'a [u8],
    mut visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let mut s = Scanner::new(body);
    s.ws();
    s.visit_value(NO_KEY, &mut visit)?;
    s.end()
}

/// The name of an array element, or of a whole body's value ([`walk_value`]).
const NO_KEY: Key<'static> = Key {
    raw: b"",
    escaped: false,
};

/// One member of an object being walked: its name, and its value not scanned yet.
pub struct Member<'s, 'a> {
    s: &'s mut Scanner<'a>,
    key: Key<'a>,
    /// Where the value starts.
    start: usize,
    value: Option<Range<usize>>,
}

impl<'a> Member<'_, 'a> {
    /// The member's name.
    pub fn key(&self) -> Key<'a> {
        self.key
    }

    /// Scans the value (once) and returns its byte range in the body.
    pub fn value(&mut self) -> Result<Range<usize>, ScanError> {
        if let Some(r) = &self.value {
            return Ok(r.clone());
        }
        let start = self.s.i;
        self.s.value()?;
        self.value = Some(start..self.s.i);
        Ok(start..self.s.i)
    }

    /// The value's first byte (`"`, `{`, `[`, `n`, a digit, ...); `None` past the end.
    pub fn first(&self) -> Option<u8> {
        self.s.b.get(self.start).copied()
    }

    /// An error about this value (its type, say) at the value's position.
    #[cold]
    pub fn invalid(&self, what: &'static str) -> ScanError {
        ScanError::at(self.s.b, self.start, what)
    }

    /// The value as a string, escapes resolved (borrowed when it has none); `None` for `null`;
    /// an error for any other value.
    pub fn str(&mut self) -> Result<Option<Cow<'a, str>>, ScanError> {
        match (self.first(), &self.value) {
            (Some(b'"'), None) => {}
            (Some(b'n'), _) => {
                return match self.raw()? {
                    b"null" => Ok(None),
                    _ => Err(self.invalid("invalid type: expected a string")),
                }
            }
            _ => return Err(self.invalid("invalid type: expected a string")),
        }
        let start = self.s.i;
        self.s.i += 1;
        let escaped = self.s.string()?;
        self.value = Some(start..self.s.i);
        let quoted = self.s.b.get(start..self.s.i).unwrap_or_default();
        let inner = quoted.get(1..quoted.len() - 1).unwrap_or_default();
        if escaped {
            serde_json::from_slice::<String>(quoted)
                .map(|s| Some(Cow::Owned(s)))
                .map_err(|_| self.invalid("invalid unicode code point"))
        } else {
            // Checked as UTF-8 while scanned; this check cannot fail.
            std::str::from_utf8(inner)
                .map(|s| Some(Cow::Borrowed(s)))
                .map_err(|_| self.invalid("invalid unicode code point"))
        }
    }

    /// When the value is an array, hands each element to `visit` as a member with an empty
    /// name and answers `true`; any other value is scanned and answers `false`.
    pub fn array(
        &mut self,
        visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<bool, ScanError> {
        self.container(false, visit)
    }

    /// Scans the value (once) and returns its bytes.
    pub fn raw(&mut self) -> Result<&'a [u8], ScanError> {
        let r = self.value()?;
        Ok(self.s.b.get(r).unwrap_or_default())
    }

    /// The value as a token count: `Some` for an integer in `u64`'s range written without a
    /// sign, fraction or exponent; `None` for any other value, which is scanned all the same.
    pub fn count(&mut self) -> Result<Option<u64>, ScanError> {
        if self.value.is_some() {
            return Ok(None);
        }
        let start = self.s.i;
        let mut n: Option<u64> = Some(0);
        while let Some(c @ b'0'..=b'9') = self.s.peek() {
            n = n
                .and_then(|n| n.checked_mul(10))
                .and_then(|n| n.checked_add(u64::from(c - b'0')));
            self.s.i += 1;
        }
        let digits = self.s.i - start;
        let plain = digits > 0
            && !matches!(self.s.peek(), Some(b'.' | b'e' | b'E'))
            && (digits == 1 || self.s.b.get(start) != Some(&b'0'));
        if plain {
            self.value = Some(start..self.s.i);
            return Ok(n);
        }
        // Anything else (a sign, a fraction, a string, ...) is scanned from its start.
        self.s.i = start;
        self.value()?;
        Ok(None)
    }

    /// When the value is an object, walks its members with `visit` (as [`walk`] does) and
    /// answers `true`; any other value is scanned and answers `false`.
    pub fn object(
        &mut self,
        visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<bool, ScanError> {
        self.container(true, visit)
    }

    /// [`Member::object`] for a member that must be an object or `null`: `true` for an object
    /// (walked), `false` for `null`, the error `invalid` for any other value.
    pub fn object_or_null(
        &mut self,
        invalid: &'static str,
        visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<bool, ScanError> {
        self.container_or_null(true, invalid, visit)
    }

    /// [`Member::array`] for a member that must be an array or `null`, as
    /// [`Member::object_or_null`].
    pub fn array_or_null(
        &mut self,
        invalid: &'static str,
        visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<bool, ScanError> {
        self.container_or_null(false, invalid, visit)
    }

    fn container_or_null(
        &mut self,
        object: bool,
        invalid: &'static str,
        visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<bool, ScanError> {
        if self.container(object, visit)? {
            return Ok(true);
        }
        match self.raw()? {
            b"null" => Ok(false),
            _ => Err(self.invalid(invalid)),
        }
    }

    fn container(
        &mut self,
        object: bool,
        visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<bool, ScanError> {
        if self.value.is_some() {
            return Ok(false);
        }
        let start = self.s.i;
        let walked = self.s.container(object, visit)?;
        if !walked {
            self.s.value()?;
        }
        self.value = Some(start..self.s.i);
        Ok(walked)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` that may need a closer look inside a string: `"`, `\`, a
/// control character, or a non-ASCII byte. The lowest flagged byte is always one of those
/// (borrows only flag bytes above a true one); a flagged byte above it may be ordinary, which
/// costs a trip through the byte-wise path, never a wrong answer.
#[inline(always)]
fn special(w: u64) -> u64 {
    let quote = (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
    let backslash = (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    let control = w.wrapping_sub(ONES * 0x20);
    (quote | backslash | control | w) & HIGH
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// Objects being walked around the cursor ([`Scanner::container`]), for the nesting limit.
    depth: u32,
}

/// What a value's first bytes turned out to be.
enum Step {
    /// A complete value (scalar, or an empty container).
    Value,
    /// A container was opened; `true` for an object (its first key and `:` read).
    Open(bool),
}

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self { b, i: 0, depth: 0 }
    }

    /// `what`, or `at_eof` when the body ended there.
    #[cold]
    fn err_or_eof(&self, what: &'static str, at_eof: &'static str) -> ScanError {
        self.err(if self.i >= self.b.len() { at_eof } else { what })
    }

    /// An object's members (`object`) or an array's elements, each handed to `visit`; `false`
    /// (nothing consumed) when the value at the cursor is not that kind of container.
    fn container(
        &mut self,
        object: bool,
        mut visit: impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<bool, ScanError> {
        let (open, close) = if object { (b'{', b'}') } else { (b'[', b']') };
        if self.peek() != Some(open) {
            return Ok(false);
        }
        if self.depth >= MAX_DEPTH {
            return Err(self.err("recursion limit exceeded"));
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(true);
        }
        self.depth += 1;
        loop {
            let key = if object { self.key()? } else { NO_KEY };
            self.visit_value(key, &mut visit)?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(c) if c == close => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(true);
                }
                Some(_) if object => return Err(self.err("expected `,` or `}`")),
                Some(_) => return Err(self.err("expected `,` or `]`")),
                None if object => return Err(self.err("EOF while parsing an object")),
                None => return Err(self.err("EOF while parsing a list")),
            }
        }
    }

    /// Hands the value at the cursor to `visit` as a member named `key`, and scans it after if
    /// the visitor left it alone.
    fn visit_value(
        &mut self,
        key: Key<'a>,
        visit: &mut impl FnMut(&mut Member<'_, 'a>) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        let start = self.i;
        let mut m = Member {
            s: self,
            key,
            start,
            value: None,
        };
        visit(&mut m)?;
        if m.value.is_none() {
            m.value()?;
        }
        Ok(())
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[cold]
    fn err(&self, what: &'static str) -> ScanError {
        ScanError::at(self.b, self.i, what)
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    fn end(&mut self) -> Result<(), ScanError> {
        self.ws();
        if self.i < self.b.len() {
            Err(self.err("trailing characters"))
        } else {
            Ok(())
        }
    }

    /// One value, containers included, without recursion.
    fn value(&mut self) -> Result<(), ScanError> {
        // Bit n set: the n-th innermost open container is an object.
        let mut kinds: u128 = 0;
        let base = self.depth;
        let mut depth = base;
        loop {
            match self.step()? {
                Step::Open(is_object) => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(self.err("recursion limit exceeded"));
                    }
                    kinds = (kinds << 1) | u128::from(is_object);
                    continue;
                }
                Step::Value => {}
            }
            // After a value: close containers until one continues with another value.
            loop {
                if depth == base {
                    return Ok(());
                }
                self.ws();
                let in_object = kinds & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                        if in_object {
                            self.key()?;
                            self.ws();
                        }
                        break;
                    }
                    Some(b'}') if in_object => {}
                    Some(b']') if !in_object => {}
                    Some(_) if in_object => return Err(self.err("expected `,` or `}`")),
                    Some(_) => return Err(self.err("expected `,` or `]`")),
                    None if in_object => return Err(self.err("EOF while parsing an object")),
                    None => return Err(self.err("EOF while parsing a list")),
                }
                self.i += 1;
                depth -= 1;
                kinds >>= 1;
            }
        }
    }

    /// A scalar, or the opening of a container (an object's first key and `:` included).
    #[inline(always)]
    fn step(&mut self) -> Result<Step, ScanError> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                self.string()?;
            }
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Step::Value);
                }
                self.key()?;
                self.ws();
                return Ok(Step::Open(true));
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Step::Value);
                }
                return Ok(Step::Open(false));
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => self.literal(b"null")?,
            Some(_) => return Err(self.err("expected value")),
            None => return Err(self.err("EOF while parsing a value")),
        }
        Ok(Step::Value)
    }

    /// An object key and the `:` after it; the scanner is at the key's opening quote.
    #[inline(always)]
    fn key(&mut self) -> Result<Key<'a>, ScanError> {
        match self.peek() {
            Some(b'"') => self.i += 1,
            Some(_) => return Err(self.err("key must be a string")),
            None => return Err(self.err("EOF while parsing an object")),
        }
        let start = self.i;
        let escaped = self.string()?;
        let raw = self.b.get(start..self.i - 1).unwrap_or_default();
        self.ws();
        match self.peek() {
            Some(b':') => self.i += 1,
            Some(_) => return Err(self.err("expected `:`")),
            None => return Err(self.err("EOF while parsing an object")),
        }
        self.ws();
        Ok(Key { raw, escaped })
    }

    /// The rest of a string after its opening quote; `true` when it had escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<bool, ScanError> {
        let mut escaped = false;
        loop {
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                let m = special(u64::from_le_bytes(w));
                if m != 0 {
                    self.i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(0..=0x1f) => {
                    return Err(self
                        .err("control character (\\u0000-\\u001F) found while parsing a string"))
                }
                Some(0x80..) => self.utf8()?,
                Some(_) => self.i += 1,
                None => return Err(self.err("EOF while parsing a string")),
            }
        }
    }

    /// One escape sequence, the scanner at its backslash.
    fn escape(&mut self) -> Result<(), ScanError> {
        self.i += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
            Some(b'u') => {
                self.i += 1;
                for _ in 0..4 {
                    match self.peek() {
                        Some(c) if c.is_ascii_hexdigit() => self.i += 1,
                        Some(_) => return Err(self.err("invalid escape")),
                        None => return Err(self.err("EOF while parsing a string")),
                    }
                }
            }
            Some(_) => return Err(self.err("invalid escape")),
            None => return Err(self.err("EOF while parsing a string")),
        }
        Ok(())
    }

    /// One non-ASCII character inside a string, checked as UTF-8.
    #[cold]
    fn utf8(&mut self) -> Result<(), ScanError> {
        let width = match self.peek() {
            Some(0xc2..=0xdf) => 2,
            Some(0xe0..=0xef) => 3,
            Some(0xf0..=0xf4) => 4,
            _ => 0,
        };
        match self.b.get(self.i..self.i + width) {
            Some(ch) if width > 0 && std::str::from_utf8(ch).is_ok() => {
                self.i += width;
                Ok(())
            }
            _ => Err(self.err("invalid unicode code point")),
        }
    }

    /// A number: `-`? int frac? exp?, the scanner at its first byte.
    fn number(&mut self) -> Result<(), ScanError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.err("invalid number"));
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            Some(_) => return Err(self.err("invalid number")),
            None => return Err(self.err("EOF while parsing a value")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    #[inline(always)]
    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), ScanError> {
        match self.peek() {
            Some(b'0'..=b'9') => {
                self.digits();
                Ok(())
            }
            Some(_) => Err(self.err("invalid number")),
            None => Err(self.err("EOF while parsing a value")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ScanError> {
        for &c in word {
            match self.peek() {
                Some(b) if b == c => self.i += 1,
                Some(_) => return Err(self.err("expected ident")),
                None => return Err(self.err("EOF while parsing a value")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;

    /// `serde_json`'s verdict, with RFC 8259's UTF-8 requirement on top (`serde_json` skips
    /// the UTF-8 check in strings it ignores).
    fn reference(body: &[u8]) -> bool {
        std::str::from_utf8(body).is_ok() && serde_json::from_slice::<IgnoredAny>(body).is_ok()
    }

    const REPLY: &str = r#"{"choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"annotations":[],"content":"vista saddle sable","refusal":null,"role":"assistant"}}],"created":1700000000,"id":"chatcmpl-sim000001","model":"gpt-4o-mini","object":"chat.completion","service_tier":"default","system_fingerprint":"fp_sim","usage":{"completion_tokens":24,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":3,"rejected_prediction_tokens":0},"prompt_tokens":21,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":5},"total_tokens":45}}"#;

    /// Payloads with every kind of token: escapes of each sort, non-ASCII text of every width,
    /// numbers of every shape, nesting, whitespace of every kind.
    const SEEDS: &[&str] = &[
        REPLY,
        r#"{"model":"gpt-4o","messages":[{"role":"user","content":"caf\u00e9 \"q\" \\ \/ \b\f\n\r\t é 漢字 🦀"}],"temperature":-0.5e+3,"n":1,"stop":null,"stream":true,"x":[1E2,0.25,-0,false]}"#,
        " {\n\t\"a\" : [ { } , [ ] , \"\" , 10 ] ,\r\n \"b\":{\"c\":{\"d\":[[[true]]]}} } ",
        r#"["\ud83e\udd80",1.5e-7,{"k\u0065y":"v"}]"#,
        "\"just a string with \\u0041 and ñ\"",
    ];

    #[test]
    fn real_payloads_are_valid_and_members_are_found() {
        for seed in SEEDS {
            assert_eq!(validate(seed.as_bytes()), Ok(()), "{seed}");
        }
        let mut seen = Vec::new();
        object(REPLY.as_bytes(), |k, r| {
            seen.push((k.resolved().into_owned(), REPLY[r].to_owned()))
        })
        .unwrap();
        let names: Vec<_> = seen.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(
            names,
            [
                &b"choices"[..],
                b"created",
                b"id",
                b"model",
                b"object",
                b"service_tier",
                b"system_fingerprint",
                b"usage"
            ]
        );
        assert_eq!(seen[1].1, "1700000000");
        assert_eq!(seen[2].1, r#""chatcmpl-sim000001""#);
        assert!(seen[7].1.starts_with(r#"{"completion_tokens":24,"#) && seen[7].1.ends_with("45}"));
    }

    #[test]
    fn escaped_keys_resolve() {
        let body = br#"{"m\u006fdel":"a","plain":1}"#;
        let mut keys = Vec::new();
        object(body, |k, _| keys.push(k)).unwrap();
        assert!(keys[0].is_escaped() && keys[0].is("model") && !keys[0].is("mode"));
        assert_eq!(keys[0].raw(), br"m\u006fdel");
        assert!(!keys[1].is_escaped() && keys[1].is("plain"));
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = validate(b"{\"a\":1,\n \"b\":tru}").unwrap_err();
        assert_eq!(e.to_string(), "expected ident at line 2 column 9");
        assert_eq!(
            validate(b"").unwrap_err().what(),
            "EOF while parsing a value"
        );
        assert_eq!(validate(b"{} x").unwrap_err().what(), "trailing characters");
        assert_eq!(
            object(b"[1]", |_, _| ()).unwrap_err().what(),
            "expected a JSON object"
        );
        assert_eq!(
            validate(b"\"a\x01\"").unwrap_err().what(),
            "control character (\\u0000-\\u001F) found while parsing a string"
        );
        assert_eq!(
            validate(b"\"\xff\"").unwrap_err().what(),
            "invalid unicode code point"
        );
    }

    /// Up to 128 levels deep, as `serde_json` deserialises typed values; deeper is refused
    /// (`serde_json` skips ignored values at any depth).
    #[test]
    fn nesting_is_limited() {
        for depth in [1, 127, 128, 129, 4000] {
            for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
                let body = format!("{}0{}", open.repeat(depth), close.repeat(depth));
                assert!(reference(body.as_bytes()));
                match validate(body.as_bytes()) {
                    Ok(()) => assert!(depth <= 128),
                    Err(e) => {
                        assert!(depth > 128);
                        assert_eq!(e.what(), "recursion limit exceeded");
                    }
                }
            }
        }
    }

    /// A walk reads nested members in the same pass, leaves values it does not read to the
    /// scanner, and counts the objects it walks into the nesting limit.
    #[test]
    fn walks_read_nested_members_in_one_pass() {
        let body = br#"{"a":{"n":7,"neg":-1,"f":1.5,"big":18446744073709551616,"s":"x"},"b":[1],"c":null}"#;
        let mut seen = Vec::new();
        walk(body, |m| {
            if m.key().is("a") {
                assert!(m.object(|f| {
                    let name = String::from_utf8_lossy(f.key().raw()).into_owned();
                    seen.push((name, f.count()?));
                    Ok(())
                })?);
            } else if m.key().is("c") {
                assert!(!m.object(|_| Ok(()))?);
                assert_eq!(m.raw()?, b"null");
            }
            Ok(())
        })
        .unwrap();
        let want = [
            ("n", Some(7)),
            ("neg", None),
            ("f", None),
            ("big", None),
            ("s", None),
        ];
        assert_eq!(seen, want.map(|(k, v)| (k.to_owned(), v)).to_vec());
        // Errors inside a walked value are the body's errors.
        let bad = walk(br#"{"a":{"n":01}}"#, |m| {
            m.object(|f| f.count().map(drop))?;
            Ok(())
        });
        assert_eq!(bad.unwrap_err().what(), "invalid number");
        // 127 levels below a walked object: 128 in all, accepted; one more is refused.
        for (extra, ok) in [(127, true), (128, false)] {
            let body = format!(r#"{{"a":{}0{}}}"#, "[".repeat(extra), "]".repeat(extra));
            assert_eq!(walk(body.as_bytes(), |_| Ok(())).is_ok(), ok, "{extra}");
        }
    }

    /// Every single-byte deletion, and every substitution and insertion of a byte that matters
    /// to the grammar, of each seed: the scanner agrees with `serde_json` on all of them.
    #[test]
    fn agrees_with_serde_json_on_every_small_mutation() {
        let interesting: &[u8] =
            b"{}[]:,\"\\/ \t\n\r0123456789-+.eEtrufalsn\x00\x1f\x7f\x80\xc3\xa9\xe6\xf0\xffubx";
        let mut checked = 0usize;
        let mut check = |body: &[u8]| {
            assert_eq!(
                validate(body).is_ok(),
                reference(body),
                "{:?}",
                String::from_utf8_lossy(body)
            );
            // The member walk refuses exactly what validation refuses, plus non-objects.
            let is_object =
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body).is_ok();
            if is_object && std::str::from_utf8(body).is_ok() {
                assert!(object(body, |_, _| ()).is_ok());
            }
            if !reference(body) {
                assert!(object(body, |_, _| ()).is_err());
            }
            checked += 1;
        };
        for seed in SEEDS {
            let seed = seed.as_bytes();
            crate::mutate::one_byte_mutations(seed, interesting, &mut check);
            // Every prefix: truncated bodies.
            for i in 0..seed.len() {
                check(&seed[..i]);
            }
        }
        assert!(checked > 50_000, "{checked}");
    }

    /// Random JSON documents (every token kind, random whitespace, nesting), each mutated by up
    /// to three random byte edits: the scanner agrees with `serde_json` on every one. A fixed
    /// seed, so a failure reproduces.
    #[test]
    fn agrees_with_serde_json_on_random_mutated_documents() {
        struct Rng(u64);
        impl Rng {
            fn next(&mut self) -> u64 {
                // xorshift64*
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
            }
            fn below(&mut self, n: usize) -> usize {
                (self.next() % n as u64) as usize
            }
        }
        fn ws(r: &mut Rng, out: &mut Vec<u8>) {
            for _ in 0..r.below(4).saturating_sub(2) {
                out.push(b" \t\n\r"[r.below(4)]);
            }
        }
        fn value(r: &mut Rng, depth: usize, out: &mut Vec<u8>) {
            ws(r, out);
            let pick = if depth > 4 { r.below(5) } else { r.below(7) };
            match pick {
                0 => out.extend_from_slice([&b"true"[..], b"false", b"null"][r.below(3)]),
                1 => {
                    let n = [
                        "0",
                        "-0",
                        "7",
                        "-12",
                        "3.25",
                        "1e9",
                        "2E-3",
                        "-0.5e+2",
                        "18446744073709551616",
                    ];
                    out.extend_from_slice(n[r.below(n.len())].as_bytes());
                }
                2..=4 => {
                    let parts = [
                        "a", "\\n", "\\u00e9", "\\\"", "é", "漢", "🦀", "\\/", " ", "key",
                    ];
                    out.push(b'"');
                    for _ in 0..r.below(5) {
                        out.extend_from_slice(parts[r.below(parts.len())].as_bytes());
                    }
                    out.push(b'"');
                }
                5 => {
                    out.push(b'[');
                    for i in 0..r.below(4) {
                        if i > 0 {
                            out.push(b',');
                        }
                        value(r, depth + 1, out);
                    }
                    ws(r, out);
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    for i in 0..r.below(4) {
                        if i > 0 {
                            out.push(b',');
                        }
                        ws(r, out);
                        out.extend_from_slice(format!("\"k{i}\"").as_bytes());
                        ws(r, out);
                        out.push(b':');
                        value(r, depth + 1, out);
                    }
                    ws(r, out);
                    out.push(b'}');
                }
            }
            ws(r, out);
        }
        let interesting: &[u8] = b"{}[]:,\"\\ 0-.eEuntf\x00\x1f\x80\xc3\xff";
        let mut r = Rng(0x5eed_cafe_f00d_1234);
        let mut valid = 0;
        for _ in 0..20_000 {
            let mut doc = Vec::new();
            value(&mut r, 0, &mut doc);
            for _ in 0..r.below(4) {
                if doc.is_empty() {
                    break;
                }
                let at = r.below(doc.len());
                let byte = if r.below(2) == 0 {
                    interesting[r.below(interesting.len())]
                } else {
                    (r.next() & 0xff) as u8
                };
                match r.below(3) {
                    0 => doc[at] = byte,
                    1 => doc.insert(at, byte),
                    _ => {
                        doc.remove(at);
                    }
                }
            }
            let want = reference(&doc);
            assert_eq!(
                validate(&doc).is_ok(),
                want,
                "{:?}",
                String::from_utf8_lossy(&doc)
            );
            valid += usize::from(want);
        }
        // Both kinds are well represented.
        assert!((4_000..16_000).contains(&valid), "{valid}");
    }

    #[test]
    fn member_ranges_parse_as_the_values() {
        let body = SEEDS[1].as_bytes();
        let full: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(body).unwrap();
        let mut n = 0;
        object(body, |k, r| {
            let name = String::from_utf8(k.resolved().into_owned()).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body[r]).unwrap();
            assert_eq!(full.get(&name), Some(&v), "{name}");
            n += 1;
        })
        .unwrap();
        assert_eq!(n, full.len());
    }
}
