//! Reading a request head in the common shape, or saying that hyper should read it.
//!
//! The head is parsed by `httparse` (what hyper uses), so what is accepted here is byte for
//! byte what hyper accepts; on top, this module declines every head whose handling needs more
//! than "HTTP/1.1, a body of `Content-Length` bytes or none": another version,
//! `Transfer-Encoding`, `Expect`, `Upgrade`, any `Connection` but `keep-alive` or `close`
//! (the latter answered, then the connection closed, as a proxy's requests often ask), `CONNECT`, an
//! absolute or asterisk target, a malformed or repeated length, a body over the gateway's
//! limit (hyper hands it to the handler, which refuses it with 413 unread), a malformed
//! head (hyper answers 400 or 431), more than [`MAX_HEADERS`] headers. A declined connection is
//! served by hyper from its first unread byte on.

use std::mem::MaybeUninit;
use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};

/// The hot routes' targets, parsed once (a clone shares static bytes).
static CHAT: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/v1/chat/completions"));
static MESSAGES: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/v1/messages"));

/// Headers a head may carry and still be read here (hyper reads up to 100).
pub(crate) const MAX_HEADERS: usize = 64;

/// Where the parts of a complete head lie in the buffer, found by [`scan`].
#[derive(Debug)]
struct Layout {
    /// Bytes of the head, up to and including its blank line.
    len: usize,
    /// Bytes of the body that follows (its `Content-Length`, 0 without one).
    body_len: usize,
    method: Method,
    target: Span,
    /// Name and value of each header, in order.
    headers: [(Span, Span); MAX_HEADERS],
    count: usize,
    /// `Connection: close`.
    close: bool,
}

/// A byte range of the head.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// Where `part`, a slice of `buf`, lies in it.
    fn of(buf: &[u8], part: &[u8]) -> Self {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        Self {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(start + part.len()).unwrap_or(u32::MAX),
        }
    }

    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// What the front of the buffer holds.
#[derive(Debug)]
enum Scanned {
    /// A complete head in the common shape, laid out in the [`Layout`].
    Head,
    /// The start of a head: read more.
    Partial,
    /// Anything else: hyper serves the connection from here on.
    Decline,
}

/// What [`take`] found at the front of the connection's buffer.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once per request and taken apart at once: a box would cost more
pub(crate) enum Taken {
    /// A complete head in the common shape, taken off the buffer; then its body's length.
    Head(Head, usize),
    /// The start of a head: read more.
    Partial,
    /// Anything else: hyper serves the connection from here on (the buffer is as it was).
    Decline,
}

/// Takes a complete head in the common shape off the front of `buf`. `limit` is the gateway's
/// body limit.
pub(crate) fn take(buf: &mut BytesMut, limit: usize) -> Taken {
    let mut layout = Layout {
        len: 0,
        body_len: 0,
        method: Method::GET,
        target: Span::default(),
        headers: [(Span::default(), Span::default()); MAX_HEADERS],
        count: 0,
        close: false,
    };
    match scan(buf, limit, &mut layout) {
        Scanned::Head => {}
        Scanned::Partial => return Taken::Partial,
        Scanned::Decline => return Taken::Decline,
    }
    let bytes = buf.split_to(layout.len).freeze();
    if let Some(head) = layout.build(&bytes) {
        return Taken::Head(head, layout.body_len);
    }
    // A name or target `http` refuses: put the bytes back for hyper, which answers 400.
    let mut whole = BytesMut::with_capacity(bytes.len() + buf.len());
    whole.extend_from_slice(&bytes);
    whole.extend_from_slice(buf);
    *buf = whole;
    Taken::Decline
}

/// A request head, its target and header values sharing the head's bytes.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    /// The client asked to close the connection after this request (`Connection: close`).
    pub(crate) close: bool,
}

/// Looks for a complete head at the front of `buf` and lays it out in `layout`.
fn scan(buf: &[u8], limit: usize, layout: &mut Layout) -> Scanned {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Scanned::Partial,
        Err(_) => return Scanned::Decline,
    };
    if req.version != Some(1) || len > u32::MAX as usize {
        return Scanned::Decline;
    }
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return Scanned::Decline;
    };
    if !path.starts_with('/') {
        return Scanned::Decline;
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Scanned::Decline;
    };
    if method == Method::CONNECT {
        return Scanned::Decline;
    }
    layout.len = len;
    layout.method = method;
    layout.target = Span::of(buf, path.as_bytes());
    layout.count = req.headers.len();
    let mut length = None;
    for (slot, h) in layout.headers.iter_mut().zip(req.headers.iter()) {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            match (length, digits(h.value)) {
                (None, Some(n)) if n <= limit => length = Some(n),
                _ => return Scanned::Decline,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"expect")
            || name.eq_ignore_ascii_case(b"upgrade")
        {
            return Scanned::Decline;
        } else if name.eq_ignore_ascii_case(b"connection") {
            let value = trimmed(h.value);
            if value.eq_ignore_ascii_case(b"close") {
                layout.close = true;
            } else if !value.eq_ignore_ascii_case(b"keep-alive") {
                return Scanned::Decline;
            }
        }
        *slot = (Span::of(buf, name), Span::of(buf, h.value));
    }
    layout.body_len = length.unwrap_or(0);
    Scanned::Head
}

impl Layout {
    /// The head, from `head`: the bytes [`scan`] looked at, up to [`Layout::len`]. `None` when
    /// a name or value is one `http` refuses (hyper then answers the client).
    fn build(&self, head: &Bytes) -> Option<Head> {
        let target = &head[self.target.range()];
        // The hot routes' targets are not parsed again for every request.
        let uri = if target == b"/v1/chat/completions" {
            CHAT.clone()
        } else if target == b"/v1/messages" {
            MESSAGES.clone()
        } else {
            Uri::from_maybe_shared(head.slice(self.target.range())).ok()?
        };
        let mut headers = HeaderMap::with_capacity(self.count);
        for (name, value) in &self.headers[..self.count] {
            let name = HeaderName::from_bytes(&head[name.range()]).ok()?;
            // httparse admitted the value: no control bytes but tab, as `HeaderValue` wants.
            let value = HeaderValue::from_maybe_shared(head.slice(value.range())).ok()?;
            headers.append(name, value);
        }
        Some(Head {
            method: self.method.clone(),
            uri,
            headers,
            close: self.close,
        })
    }
}

/// A `Content-Length` of plain digits (no sign, no list), within 19 digits.
fn digits(value: &[u8]) -> Option<usize> {
    let value = trimmed(value);
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    usize::try_from(n).ok()
}

fn trimmed(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::{take, Head, Taken};

    fn read(raw: &str) -> (Taken, BytesMut) {
        let mut buf = BytesMut::from(raw.as_bytes());
        let taken = take(&mut buf, 1_000);
        (taken, buf)
    }

    fn head(raw: &str) -> (Head, usize) {
        match read(raw) {
            (Taken::Head(h, body), _) => (h, body),
            other => panic!("expected a head, got {other:?} for {raw:?}"),
        }
    }

    fn declined(raw: &str) -> bool {
        let (taken, left) = read(raw);
        // A declined head leaves every byte for hyper.
        matches!(taken, Taken::Decline) && left == raw.as_bytes()
    }

    /// What the OpenAI Python SDK (httpx) sends, minus most of its `x-stainless-*` headers.
    const SDK_HEAD: &str = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\
        Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nAccept: application/json\r\n\
        Content-Type: application/json\r\nUser-Agent: OpenAI/Python 1.54.0\r\n\
        X-Stainless-Lang: python\r\nAuthorization: Bearer sk-test\r\nContent-Length: 42\r\n\r\n";

    #[test]
    fn the_sdk_head_is_taken_whole_and_what_follows_is_left() {
        let (taken, left) = read(&format!("{SDK_HEAD}{{\"model\""));
        let Taken::Head(h, body) = taken else {
            panic!("no head: {taken:?}")
        };
        assert_eq!(&left[..], b"{\"model\"");
        assert_eq!(h.method, http::Method::POST);
        assert_eq!(h.uri.path(), "/v1/chat/completions");
        assert_eq!(body, 42);
        assert_eq!(h.headers.len(), 9);
        assert_eq!(h.headers["authorization"], "Bearer sk-test");
        assert_eq!(h.headers["x-stainless-lang"], "python");
        assert_eq!(h.headers["host"], "127.0.0.1:8080");
    }

    #[test]
    fn a_query_and_repeated_headers_are_kept() {
        let (h, body) = head("GET /v1/models?x=1 HTTP/1.1\r\nA: 1\r\na: 2\r\n\r\n");
        assert_eq!(h.uri.query(), Some("x=1"));
        assert_eq!(body, 0);
        let all: Vec<_> = h.headers.get_all("a").iter().collect();
        assert_eq!(all, ["1", "2"]);
    }

    #[test]
    fn every_prefix_of_a_head_is_partial_and_left_alone() {
        for end in 0..SDK_HEAD.len() {
            let (taken, left) = read(&SDK_HEAD[..end]);
            assert!(matches!(taken, Taken::Partial), "prefix of {end} bytes");
            assert_eq!(left, &SDK_HEAD.as_bytes()[..end]);
        }
    }

    /// Each of these needs framing or a reply this reader does not give; hyper serves them.
    #[test]
    fn uncommon_heads_are_declined() {
        for raw in [
            "POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
            "CONNECT example.com:443 HTTP/1.1\r\n\r\n",
            "GET http://example.com/ HTTP/1.1\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nA: \x01\r\n\r\n",
            "GET /\x7f HTTP/1.1\r\n\r\n",
            "G@T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
        ] {
            assert!(declined(raw), "{raw:?} was not declined, or not left whole");
        }
    }

    #[test]
    fn keep_alive_in_any_case_and_padding_is_read() {
        let (h, body) =
            head("GET / HTTP/1.1\r\nconnection:  Keep-Alive \r\ncontent-length: 0\r\n\r\n");
        assert_eq!(h.headers["connection"], "Keep-Alive");
        assert_eq!(body, 0);
    }

    #[test]
    fn close_is_read_and_noted() {
        let (h, _) = head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n");
        assert!(h.close);
        let (h, _) = head("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");
        assert!(!h.close);
    }

    #[test]
    fn the_body_limit_itself_is_read() {
        assert_eq!(
            head("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n").1,
            1_000
        );
    }

    #[test]
    fn too_many_headers_are_declined() {
        let mut raw = String::from("GET / HTTP/1.1\r\n");
        for i in 0..super::MAX_HEADERS {
            raw.push_str(&format!("h{i}: v\r\n"));
        }
        let fits = format!("{raw}\r\n");
        assert_eq!(head(&fits).0.headers.len(), super::MAX_HEADERS);
        raw.push_str("one-more: v\r\n\r\n");
        assert!(declined(&raw));
    }
}
