//! The response head: status, framing and keep-alive, and the headers of a failed call.
//!
//! Two parsers that agree. `httparse` (the parser hyper itself uses) reads every head it
//! can: it is the reference, and the only one that reads an error's headers (kept for
//! classification: `retry-after`, the rate-limit family). A success keeps no headers, only
//! its framing, and providers send many on each one (OpenAI and Anthropic 15–25: rate-limit,
//! request-id, processing-time, CDN): `httparse` spent ~310 instructions on each line, 4,060
//! of a short request's 47,915 over the simulator's 13 (docs/benchmarks.md). The fast path
//! reads a success head in the common shape (`HTTP/1.x 2xx`, CRLF line ends, no folded
//! lines) in one pass: a name's token bytes eight table lookups per branch, a value's bytes
//! eight per word (no control byte, no DEL; the first one that fails is where the line ends),
//! and only the three framing headers' values looked at; 2,730 instructions for the same
//! head. Anything else (an error status, a bare LF, an obsolete fold, a byte `httparse`
//! rejects, an incomplete head) goes to `httparse`, so the two never disagree on an answer:
//! tests check it on every byte in each place and on every one-byte mutation of provider
//! heads.

use std::mem::MaybeUninit;

use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_providers::UpstreamError;

use super::{malformed, Chunk, Decoder, MAX_HEADERS};

/// A parsed response head.
#[derive(Debug)]
pub(super) struct Head {
    /// Bytes of the head, including its blank line.
    pub(super) len: usize,
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) decoder: Decoder,
    pub(super) keep_alive: bool,
}

/// Parses a response head from the front of `buf`; `None` when it is not complete yet.
pub(super) fn parse_head(buf: &[u8]) -> Result<Option<Head>, UpstreamError> {
    match fast_success(buf) {
        Some(head) => head.map(Some),
        None => parse_any(buf),
    }
}

/// The framing headers seen so far.
#[derive(Default)]
struct Framing {
    length: Option<u64>,
    /// Whether the last transfer coding is `chunked`, when the header was sent.
    chunked: Option<bool>,
    close: bool,
}

impl Framing {
    /// Takes one header into account; an error for an invalid or conflicting length.
    #[inline]
    fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), UpstreamError> {
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value)
                .ok_or_else(|| malformed("upstream sent an invalid Content-Length"))?;
            if self.length.is_some_and(|l| l != n) {
                return Err(malformed("upstream sent conflicting Content-Length values"));
            }
            self.length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // Only the last coding says whether the body is chunked.
            let last = value.rsplit(|&b| b == b',').next().unwrap_or_default();
            self.chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"connection") && has_token(value, b"close") {
            self.close = true;
        }
        Ok(())
    }

    /// How the body of a response with this status and version ends, and whether the
    /// connection may be reused after it (RFC 9112 §6.3).
    fn decoder(self, status: u16, version: u8) -> Result<(Decoder, bool), UpstreamError> {
        let mut keep_alive = version == 1 && !self.close;
        let decoder = if status == 101 {
            return Err(malformed("upstream switched protocols unasked"));
        } else if (100..200).contains(&status) || status == 204 || status == 304 {
            Decoder::Length(0)
        } else {
            match (self.chunked, self.length) {
                (Some(true), l) => {
                    // A message with both is a smuggling risk: read it chunked, then close.
                    if l.is_some() {
                        keep_alive = false;
                    }
                    Decoder::Chunked(Chunk::Size)
                }
                (Some(false), _) | (None, None) => {
                    keep_alive = false;
                    Decoder::Eof
                }
                (None, Some(n)) => Decoder::Length(n),
            }
        };
        Ok((decoder, keep_alive))
    }
}

/// Any head, with `httparse`.
fn parse_any(buf: &[u8]) -> Result<Option<Head>, UpstreamError> {
    let mut storage = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .allow_obsolete_multiline_headers_in_responses(true)
        .parse_response_with_uninit_headers(&mut resp, buf, &mut storage)
    {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(malformed(format!("malformed upstream response head: {e}"))),
    };
    let status = resp.code.unwrap_or(0);
    let mut framing = Framing::default();
    for h in resp.headers.iter() {
        framing.header(h.name.as_bytes(), h.value)?;
    }
    let (decoder, keep_alive) = framing.decoder(status, resp.version.unwrap_or(1))?;
    let headers = if (200..300).contains(&status) {
        HeaderMap::new()
    } else {
        let mut map = HeaderMap::with_capacity(resp.headers.len());
        for h in resp.headers.iter() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_bytes(h.value),
            ) {
                map.append(n, v);
            }
        }
        map
    };
    Ok(Some(Head {
        len,
        status,
        headers,
        decoder,
        keep_alive,
    }))
}

/// A complete `2xx` head in the common shape; `None` hands the head to [`parse_any`]. The
/// answer, when there is one, is the one `parse_any` gives.
fn fast_success(buf: &[u8]) -> Option<Result<Head, UpstreamError>> {
    // Status line: `HTTP/1.1 200 OK\r\n` (the reason may be empty or absent).
    let version = match buf.get(..9)? {
        b"HTTP/1.1 " => 1,
        b"HTTP/1.0 " => 0,
        _ => return None,
    };
    let code = buf.get(9..12)?;
    if code[0] != b'2' || !code[1].is_ascii_digit() || !code[2].is_ascii_digit() {
        return None;
    }
    let status = 200 + u16::from(code[1] - b'0') * 10 + u16::from(code[2] - b'0');
    let mut at = match buf.get(12)? {
        b' ' => line_end(buf, 13)? + 2,
        b'\r' if buf.get(13) == Some(&b'\n') => 14,
        _ => return None,
    };
    let mut framing = Framing::default();
    // A framing error is the answer only once the head is known to be complete and valid
    // everywhere else, as it is for `parse_any`.
    let mut invalid = None;
    let mut count = 0;
    loop {
        // A name: token bytes up to a `:`. Anything else (an obsolete fold, a bare line end, a
        // blank before the colon) is left to `httparse`; the blank line ends the head.
        let start = at;
        // Eight at a time while all eight are token bytes (one branch instead of eight).
        while let Some(c) = buf.get(at..at + 8) {
            let all = c.iter().fold(1, |all, &b| all & TOKEN[usize::from(b)]);
            if all == 0 {
                break;
            }
            at += 8;
        }
        while TOKEN[usize::from(*buf.get(at)?)] == 1 {
            at += 1;
        }
        match buf[at] {
            b':' if at > start => {}
            b'\r' if at == start && buf.get(at + 1) == Some(&b'\n') => break,
            _ => return None,
        }
        count += 1;
        if count > MAX_HEADERS {
            return None;
        }
        let name = &buf[start..at];
        let value_start = at + 1;
        at = line_end(buf, value_start)?;
        // Only three names can change the framing, and each starts with one of these.
        if matches!(name[0] | 0x20, b'c' | b't') {
            // `httparse` trims the blanks around a value; the framing checks trim their own.
            if let Err(e) = framing.header(name, &buf[value_start..at]) {
                invalid.get_or_insert(e);
            }
        }
        at += 2;
    }
    if let Some(e) = invalid {
        return Some(Err(e));
    }
    let len = at + 2;
    Some(
        framing
            .decoder(status, version)
            .map(|(decoder, keep_alive)| Head {
                len,
                status,
                headers: HeaderMap::new(),
                decoder,
                keep_alive,
            }),
    )
}

/// Where the header value or reason phrase starting at `from` ends: the index of its
/// `\r\n`. `None` for a byte neither may hold (a control byte other than a tab, DEL), a bare
/// `\r` or `\n`, or a line not complete yet: all left to `httparse`. Visible bytes, blanks and
/// obs-text (`0x80`–`0xFF`) pass eight at a time.
#[inline]
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = from;
    // Eight at a time while a whole word is left, reading past the line's end: the first
    // byte that is not a value byte is where the line ends (a `\r`), or where a tab is.
    while let Some(chunk) = buf.get(at..at + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        // A byte below 0x20 or equal to 0x7F sets its high bit here, and the lowest byte
        // flagged is always one (borrows flag only bytes above it; `!w` keeps obs-text out).
        let del = w ^ (ONES * 0x7F);
        let flags = ((w.wrapping_sub(ONES * 0x20) & !w) | (del.wrapping_sub(ONES) & !del)) & HIGH;
        if flags == 0 {
            at += 8;
            continue;
        }
        at += (flags.trailing_zeros() / 8) as usize;
        match buf[at] {
            b'\r' => return (buf.get(at + 1)? == &b'\n').then_some(at),
            b'\t' => at += 1,
            _ => return None,
        }
    }
    // The last few bytes of the buffer, one at a time.
    loop {
        match *buf.get(at)? {
            b'\r' => return (buf.get(at + 1)? == &b'\n').then_some(at),
            b if value_byte(b) => at += 1,
            _ => return None,
        }
    }
}

#[inline]
fn value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7F)
}

/// The bytes of a `token` (RFC 9110 §5.6.2), as `httparse` accepts in a header name.
static TOKEN: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let token = c.is_ascii_alphanumeric()
            || matches!(c, b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^'..=b'`' | b'|' | b'~');
        t[b] = token as u8;
        b += 1;
    }
    t
};

pub(super) fn parse_length(v: &[u8]) -> Option<u64> {
    let v = v.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn has_token(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_providers::ErrorClass;
    use switchyard_types::mutate::one_byte_mutations;

    /// A success head as OpenAI sends it (the header names and shapes of
    /// `shared/reference/providers.md`; values made up).
    const OPENAI: &str = "HTTP/1.1 200 OK\r\nDate: Tue, 02 Dec 2025 10:00:00 GMT\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\naccess-control-expose-headers: X-Request-ID\r\nopenai-organization: user-abc123\r\nopenai-processing-ms: 412\r\nopenai-project: proj_abc123\r\nopenai-version: 2020-10-01\r\nx-envoy-upstream-service-time: 415\r\nx-ratelimit-limit-requests: 5000\r\nx-ratelimit-limit-tokens: 160000\r\nx-ratelimit-remaining-requests: 4999\r\nx-ratelimit-remaining-tokens: 159976\r\nx-ratelimit-reset-requests: 12ms\r\nx-ratelimit-reset-tokens: 9ms\r\nx-request-id: req_0123456789abcdef\r\nstrict-transport-security: max-age=31536000; includeSubDomains; preload\r\ncf-cache-status: DYNAMIC\r\nSet-Cookie: __cf_bm=abc.def-1733133600-1.0.1.1-xyz; path=/; expires=Tue, 02-Dec-25 10:30:00 GMT; domain=.api.openai.com; HttpOnly; Secure; SameSite=None\r\nX-Content-Type-Options: nosniff\r\nServer: cloudflare\r\nCF-RAY: 8ec0a1b2c3d4e5f6-AMS\r\nalt-svc: h3=\":443\"; ma=86400\r\n\r\n";

    /// A success head as Anthropic sends it.
    const ANTHROPIC: &str = "HTTP/1.1 200 OK\r\nDate: Tue, 02 Dec 2025 10:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 512\r\nConnection: keep-alive\r\nanthropic-ratelimit-requests-limit: 4000\r\nanthropic-ratelimit-requests-remaining: 3999\r\nanthropic-ratelimit-requests-reset: 2025-12-02T10:00:01Z\r\nanthropic-ratelimit-input-tokens-limit: 400000\r\nanthropic-ratelimit-input-tokens-remaining: 400000\r\nanthropic-ratelimit-input-tokens-reset: 2025-12-02T10:00:00Z\r\nanthropic-ratelimit-output-tokens-limit: 80000\r\nanthropic-ratelimit-output-tokens-remaining: 80000\r\nanthropic-ratelimit-output-tokens-reset: 2025-12-02T10:00:00Z\r\nanthropic-ratelimit-tokens-limit: 480000\r\nanthropic-ratelimit-tokens-remaining: 480000\r\nanthropic-ratelimit-tokens-reset: 2025-12-02T10:00:00Z\r\nrequest-id: req_011CV7abcdefghijklmnopqr\r\nanthropic-organization-id: 01234567-89ab-cdef-0123-456789abcdef\r\nvia: 1.1 google\r\ncf-cache-status: DYNAMIC\r\nX-Robots-Tag: none\r\nServer: cloudflare\r\nCF-RAY: 8ec0a1b2c3d4e5f6-AMS\r\n\r\n";

    fn head(raw: &str) -> Head {
        parse_head(raw.as_bytes())
            .expect("valid head")
            .expect("complete head")
    }

    /// What a caller can observe of an answer.
    fn observed(r: Result<Option<Head>, UpstreamError>) -> String {
        match r {
            Ok(Some(h)) => format!(
                "{} {} {:?} {} {}",
                h.len,
                h.status,
                h.decoder,
                h.keep_alive,
                h.headers.len()
            ),
            Ok(None) => "partial".to_owned(),
            Err(e) => format!("{:?}: {}", e.class, e.message),
        }
    }

    #[test]
    fn provider_success_heads_take_the_fast_path() {
        for (raw, decoder) in [
            (OPENAI, Decoder::Chunked(Chunk::Size)),
            (ANTHROPIC, Decoder::Length(512)),
            (
                "HTTP/1.1 200\r\ncontent-length: 2\r\n\r\n",
                Decoder::Length(2),
            ),
            (
                "HTTP/1.1 200 \r\ncontent-length: 2\r\n\r\n",
                Decoder::Length(2),
            ),
            ("HTTP/1.1 206 Partial\r\n\r\n", Decoder::Eof),
        ] {
            let fast = fast_success(raw.as_bytes())
                .expect("the fast path answers")
                .expect("valid");
            assert_eq!(fast.decoder, decoder, "{raw}");
            assert_eq!(fast.len, raw.len(), "{raw}");
            assert_eq!(
                observed(Ok(Some(fast))),
                observed(parse_any(raw.as_bytes())),
                "{raw}"
            );
        }
        for declined in [
            "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\ncontent-length: 0\n\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nx: \x01\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n",
            "\r\nHTTP/1.1 200 OK\r\n\r\n",
        ] {
            assert!(fast_success(declined.as_bytes()).is_none(), "{declined:?}");
        }
    }

    /// The fast path, where it answers, answers as `httparse` does: on every single-byte
    /// change, insertion and deletion of provider heads, and on every truncation.
    #[test]
    fn the_fast_path_agrees_with_httparse_on_mutated_heads() {
        const BYTES: &[u8] = b"\r\n \t:,\x00\x01\x7f\x80\xffa0-(";
        let mut answered = 0;
        let mut declined = 0;
        let mut check = |buf: &[u8]| match fast_success(buf) {
            Some(fast) => {
                answered += 1;
                let fast = observed(fast.map(Some));
                assert_eq!(
                    fast,
                    observed(parse_any(buf)),
                    "{:?}",
                    String::from_utf8_lossy(buf)
                );
            }
            None => declined += 1,
        };
        let short = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nx-a: b\r\n\r\n";
        for seed in [OPENAI, ANTHROPIC, short] {
            let seed = seed.as_bytes();
            for i in 0..=seed.len() {
                check(&seed[..i]);
            }
            one_byte_mutations(seed, BYTES, &mut check);
        }
        assert!(
            answered > 10_000 && declined > 10_000,
            "{answered} answered, {declined} declined"
        );
    }

    /// Every byte in a name, a value and a reason phrase, at each position of an eight-byte
    /// word and in the tail after it.
    #[test]
    fn the_fast_path_agrees_with_httparse_on_every_byte() {
        for b in 0..=255u8 {
            for at in [0, 3, 7, 8, 12] {
                let mut word = b"abcdefghijklm".to_vec();
                word[at] = b;
                let word = &word[..];
                for buf in [
                    [
                        &b"HTTP/1.1 200 OK\r\n"[..],
                        word,
                        b": 1\r\ncontent-length: 0\r\n\r\n",
                    ]
                    .concat(),
                    [
                        &b"HTTP/1.1 200 OK\r\nx-a: "[..],
                        word,
                        b"\r\ncontent-length: 0\r\n\r\n",
                    ]
                    .concat(),
                    [
                        &b"HTTP/1.1 200 "[..],
                        word,
                        b"\r\ncontent-length: 0\r\n\r\n",
                    ]
                    .concat(),
                ] {
                    if let Some(fast) = fast_success(&buf) {
                        assert_eq!(
                            observed(fast.map(Some)),
                            observed(parse_any(&buf)),
                            "{:?}",
                            String::from_utf8_lossy(&buf)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn too_many_headers_are_an_error_on_both_paths() {
        let mut raw = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..MAX_HEADERS {
            raw.push_str(&format!("x-h{i}: {i}\r\n"));
        }
        let at_limit = format!("{raw}content-length: 0\r\n\r\n");
        let over = format!("{raw}x-more: 1\r\ncontent-length: 0\r\n\r\n");
        assert!(parse_head(at_limit.as_bytes()).is_err(), "129 headers");
        let fits = format!("{raw}\r\n");
        assert_eq!(head(&fits).decoder, Decoder::Eof, "128 headers");
        let err = parse_head(over.as_bytes()).expect_err("too many");
        assert_eq!(err.class, ErrorClass::Malformed);
    }

    #[test]
    fn heads_give_status_framing_and_keep_alive() {
        let h = head(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{}",
        );
        assert_eq!(
            (h.status, h.decoder, h.keep_alive),
            (200, Decoder::Length(12), true)
        );
        assert_eq!(h.len, 71);
        assert!(h.headers.is_empty(), "success headers are not kept");

        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(
            (h.decoder, h.keep_alive),
            (Decoder::Chunked(Chunk::Size), true)
        );

        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(
            (h.decoder, h.keep_alive),
            (Decoder::Chunked(Chunk::Size), false)
        );

        let h =
            head("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.keep_alive);

        let h = head("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n");
        assert_eq!((h.decoder, h.keep_alive), (Decoder::Eof, false));

        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n");
        assert!(!h.keep_alive, "HTTP/1.0 connections are not reused");

        let h = head("HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(h.decoder, Decoder::Length(0));

        let h = head("HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\nx-ratelimit-remaining-requests: 0\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(h.status, 429);
        assert_eq!(
            h.headers.get("retry-after").map(HeaderValue::as_bytes),
            Some(&b"7"[..])
        );
        assert_eq!(
            h.headers.len(),
            3,
            "error headers are kept for classification"
        );
    }

    #[test]
    fn incomplete_and_malformed_heads() {
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-len")
            .unwrap()
            .is_none());
        assert!(parse_head(b"").unwrap().is_none());
        for bad in [
            "HTTX/1.1 200 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        ] {
            let err = parse_head(bad.as_bytes()).expect_err(bad);
            assert_eq!(err.class, ErrorClass::Malformed, "{bad}");
        }
        let same = head("HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n");
        assert_eq!(same.decoder, Decoder::Length(3));
    }
}
