//! Server-sent events: an incremental parser that never assumes one event per network frame,
//! and helpers to encode events.
//!
//! The parser keeps each event's raw bytes so a same-format stream can be forwarded without
//! re-serialising, while `data` gives the payload to whoever needs to look inside.

use bytes::{Bytes, BytesMut};

/// One parsed SSE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event exactly as received, terminating blank line included.
    pub raw: Bytes,
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n` (empty for comment-only events).
    pub data: Bytes,
}

impl SseEvent {
    /// True when the event has no data (comments / keep-alives / bare `event:` lines).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The data as UTF-8 text (lossy only on invalid upstream bytes).
    pub fn data_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }

    /// True for OpenAI's `data: [DONE]` terminator.
    pub fn is_done(&self) -> bool {
        self.data.as_ref() == b"[DONE]"
    }
}

/// Incremental SSE parser: feed bytes as they arrive, take whole events out.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: BytesMut,
    /// Where to resume searching for an event boundary.
    scan_from: usize,
}

/// Upper bound on one buffered event; a stream that exceeds it is malformed.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The parser's buffer grew past [`MAX_EVENT_BYTES`] without an event boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sse event larger than {MAX_EVENT_BYTES} bytes")]
pub struct SseOverflow;

impl SseParser {
    /// A new, empty parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes and returns every event completed by them.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseOverflow> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = self.find_boundary() {
            let raw = self.buf.split_to(end).freeze();
            self.scan_from = 0;
            out.push(parse_event(raw));
        }
        if self.buf.len() > MAX_EVENT_BYTES {
            return Err(SseOverflow);
        }
        Ok(out)
    }

    /// Ends the stream: a trailing event without its blank line is still returned.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
            self.buf.clear();
            return None;
        }
        let raw = self.buf.split().freeze();
        self.scan_from = 0;
        Some(parse_event(raw))
    }

    /// Bytes buffered but not yet part of a complete event.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Finds the end (exclusive) of the first complete event: the end of its blank line.
    fn find_boundary(&mut self) -> Option<usize> {
        let buf = &self.buf[..];
        let mut pos = self.scan_from;
        while let Some(off) = memchr::memchr(b'\n', &buf[pos..]) {
            let nl = pos + off;
            // The line after this newline: is it empty (`\n` or `\r\n`)?
            let next = nl + 1;
            match buf.get(next) {
                Some(b'\n') => return Some(next + 1),
                Some(b'\r') => match buf.get(next + 1) {
                    Some(b'\n') => return Some(next + 2),
                    Some(_) => {}
                    None => {
                        self.scan_from = nl;
                        return None;
                    }
                },
                Some(_) => {}
                None => {
                    self.scan_from = nl;
                    return None;
                }
            }
            pos = next;
        }
        self.scan_from = buf.len().saturating_sub(1);
        None
    }
}

fn parse_event(raw: Bytes) -> SseEvent {
    let mut event = None;
    let mut data: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut start = 0;
    let bytes = &raw[..];
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let mut line_end = end;
        if line_end > start && bytes[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let line = &bytes[start..line_end];
        if let Some(value) = field_value(line, b"data") {
            let value_start = start + (line.len() - value.len());
            let piece = raw.slice(value_start..value_start + value.len());
            match (&mut data, &mut joined) {
                (None, None) => data = Some(piece),
                (Some(first), None) => {
                    let mut j = BytesMut::from(&first[..]);
                    j.extend_from_slice(b"\n");
                    j.extend_from_slice(&piece);
                    joined = Some(j);
                    data = None;
                }
                (_, Some(j)) => {
                    j.extend_from_slice(b"\n");
                    j.extend_from_slice(&piece);
                }
            }
        } else if let Some(value) = field_value(line, b"event") {
            event = Some(String::from_utf8_lossy(value).into_owned());
        }
        start = end + 1;
    }
    let data = match joined {
        Some(j) => j.freeze(),
        None => data.unwrap_or_default(),
    };
    SseEvent { raw, event, data }
}

/// `data: x` or `data:x` → `x`; comments and other fields → None.
fn field_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(name)?;
    let rest = rest.strip_prefix(b":")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

/// Encodes a `data:` event from a JSON payload.
pub fn data_event(json: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(json.len() + 8);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    out.freeze()
}

/// Encodes a named event (`event: name` + `data:`), as Anthropic streams use.
pub fn named_event(name: &str, json: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(json.len() + name.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
    out.freeze()
}

/// OpenAI's stream terminator.
pub const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

/// A keep-alive comment.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn all(parts: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for part in parts {
            out.extend(p.feed(part).unwrap());
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn events_split_anywhere_parse_the_same() {
        let stream: &[u8] =
            b"event: message_start\ndata: {\"a\":1}\n\n: ping\n\ndata: x\r\n\r\ndata: [DONE]\n\n";
        let whole = all(&[stream]);
        for cut in 0..stream.len() {
            let split = all(&[&stream[..cut], &stream[cut..]]);
            assert_eq!(split, whole, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(all(&bytewise), whole);
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[0].event.as_deref(), Some("message_start"));
        assert_eq!(&whole[0].data[..], b"{\"a\":1}");
        assert!(whole[1].is_empty());
        assert_eq!(&whole[2].data[..], b"x");
        assert!(whole[3].is_done());
        let raw: Vec<u8> = whole.iter().flat_map(|e| e.raw.to_vec()).collect();
        assert_eq!(raw, stream);
    }

    #[test]
    fn multi_line_data_is_joined_and_missing_space_tolerated() {
        let ev = all(&[b"data:a\ndata: b\n\n"]);
        assert_eq!(&ev[0].data[..], b"a\nb");
    }

    #[test]
    fn trailing_event_without_blank_line_is_returned_at_finish() {
        let ev = all(&[b"data: {\"x\":1}\n"]);
        assert_eq!(ev.len(), 1);
        assert_eq!(&ev[0].data[..], b"{\"x\":1}");
    }
}
