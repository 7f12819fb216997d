//! Writing a response head: the status line, the handler's headers, the framing and `date`,
//! as hyper writes them (lower-case names, `content-length` for a body of known size,
//! `transfer-encoding: chunked` otherwise, no body for `HEAD`, 204 and 304).
//!
//! The handler's own `content-length`, `transfer-encoding` and `trailer` headers are not
//! written: the framing follows the body (no handler of the gateway sets them).

use http::header::{self, HeaderMap};
use http::StatusCode;

use crate::headers::{write_served, Transparency};

/// How the body follows the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body is written (`HEAD`, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding, ended by a zero-size chunk.
    Chunked,
}

/// What the head said about what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) framing: Framing,
    /// The connection closes after this response.
    pub(crate) close: bool,
}

/// Appends the head of a response with `status`, `headers` and the `transparency` headers the
/// handler left beside them to `out`, for a `HEAD` request
/// or not (`head`) and a body of `exact` bytes when known. `close`: the connection ends after it
/// (the gateway is shutting down), said with `connection: close`.
pub(crate) fn encode(
    status: StatusCode,
    headers: &HeaderMap,
    transparency: Option<&Transparency>,
    exact: Option<u64>,
    head: bool,
    mut close: bool,
    out: &mut Vec<u8>,
) -> Written {
    if status == StatusCode::OK {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let mut wrote_date = false;
    let mut wrote_connection = false;
    for (name, value) in headers {
        match *name {
            header::CONTENT_LENGTH | header::TRANSFER_ENCODING | header::TRAILER => continue,
            header::CONNECTION => {
                wrote_connection = true;
                close |= has_close(value.as_bytes());
            }
            header::DATE => wrote_date = true,
            _ => {}
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(t) = transparency {
        write_served(out, &t.served, t.started.elapsed());
    }
    let no_body = head || matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let may_have_length = !matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let framing = match exact {
        Some(0) if head => Framing::Empty,
        Some(n) if may_have_length => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
            if no_body {
                Framing::Empty
            } else {
                Framing::Length(n)
            }
        }
        None if !no_body => {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
            Framing::Chunked
        }
        _ => Framing::Empty,
    };
    if close && !wrote_connection {
        out.extend_from_slice(b"connection: close\r\n");
    }
    if !wrote_date {
        out.extend_from_slice(b"date: ");
        super::date::extend(out);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Written { framing, close }
}

/// Appends the size line of a chunk of `len` bytes.
pub(crate) fn chunk_size(len: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = len;
    loop {
        at -= 1;
        digits[at] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}

/// A `connection` value naming `close` among its tokens.
fn has_close(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
}

#[cfg(test)]
mod tests {
    use http::header::{HeaderMap, HeaderValue};
    use http::{Method, StatusCode};

    use super::{chunk_size, encode, Framing, Written};

    fn head(
        status: u16,
        headers: &[(&'static str, &'static str)],
        exact: Option<u64>,
        method: Method,
        close: bool,
    ) -> (String, Written) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(*k, HeaderValue::from_static(v));
        }
        let mut out = Vec::new();
        let status = StatusCode::from_u16(status).expect("status");
        let written = encode(
            status,
            &map,
            None,
            exact,
            method == Method::HEAD,
            close,
            &mut out,
        );
        let text = String::from_utf8(out).expect("ascii");
        // The date is the clock's; replace it to compare.
        let at = text.find("date: ").expect("a date");
        let dated = format!("{}date: D{}", &text[..at], &text[at + 6 + 29..]);
        (dated, written)
    }

    #[test]
    fn a_json_reply_has_its_length_and_a_date() {
        let (text, w) = head(
            200,
            &[("content-type", "application/json"), ("x-request-id", "r1")],
            Some(712),
            Method::POST,
            false,
        );
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: r1\r\n\
             content-length: 712\r\ndate: D\r\n\r\n"
        );
        assert_eq!(
            w,
            Written {
                framing: Framing::Length(712),
                close: false
            }
        );
    }

    #[test]
    fn a_stream_is_chunked_and_an_error_has_its_reason() {
        let (text, w) = head(429, &[("a", "1"), ("a", "2")], None, Method::POST, false);
        assert_eq!(
            text,
            "HTTP/1.1 429 Too Many Requests\r\na: 1\r\na: 2\r\n\
             transfer-encoding: chunked\r\ndate: D\r\n\r\n"
        );
        assert_eq!(w.framing, Framing::Chunked);
    }

    #[test]
    fn head_204_and_304_have_no_body() {
        let (text, w) = head(200, &[], Some(5), Method::HEAD, false);
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: D\r\n\r\n"
        );
        assert_eq!(w.framing, Framing::Empty);
        let (text, w) = head(200, &[], None, Method::HEAD, false);
        assert_eq!(text, "HTTP/1.1 200 OK\r\ndate: D\r\n\r\n");
        assert_eq!(w.framing, Framing::Empty);
        for status in [204, 304] {
            let (text, w) = head(status, &[], Some(0), Method::GET, false);
            assert!(!text.contains("content-length"), "{text}");
            assert_eq!(w.framing, Framing::Empty);
        }
    }

    #[test]
    fn an_empty_body_says_zero() {
        let (text, w) = head(200, &[], Some(0), Method::GET, false);
        assert!(text.contains("content-length: 0\r\n"), "{text}");
        assert_eq!(w.framing, Framing::Length(0));
    }

    #[test]
    fn the_handlers_framing_headers_are_replaced_and_its_date_kept() {
        let mut map = HeaderMap::new();
        map.insert("content-length", HeaderValue::from_static("99"));
        map.insert("transfer-encoding", HeaderValue::from_static("gzip"));
        map.insert(
            "date",
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
        );
        let mut out = Vec::new();
        let w = encode(StatusCode::OK, &map, None, Some(3), false, false, &mut out);
        assert_eq!(
            String::from_utf8(out).expect("ascii"),
            "HTTP/1.1 200 OK\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\ncontent-length: 3\r\n\r\n"
        );
        assert_eq!(w.framing, Framing::Length(3));
    }

    #[test]
    fn closing_is_said_once() {
        let (text, w) = head(200, &[], Some(1), Method::GET, true);
        assert!(text.contains("connection: close\r\n"), "{text}");
        assert!(w.close);
        let (text, w) = head(200, &[("connection", "Close")], Some(1), Method::GET, false);
        assert_eq!(text.matches("connection").count(), 1, "{text}");
        assert!(w.close);
        let (_, w) = head(
            200,
            &[("connection", "keep-alive")],
            Some(1),
            Method::GET,
            false,
        );
        assert!(!w.close);
    }

    #[test]
    fn chunk_sizes_are_lower_case_hex() {
        for (len, text) in [
            (0, "0\r\n"),
            (9, "9\r\n"),
            (171, "ab\r\n"),
            (65_536, "10000\r\n"),
        ] {
            let mut out = Vec::new();
            chunk_size(len, &mut out);
            assert_eq!(out, text.as_bytes());
        }
    }
}
