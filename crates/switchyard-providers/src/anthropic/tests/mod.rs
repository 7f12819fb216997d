//! Tests of the Anthropic dialect on real wire payloads (fixtures copied from providers.md
//! section 2 into `tests/fixtures/anthropic/`), both directions.

mod decode;
mod encode;
mod error;
mod ingress;
mod stream;

use serde_json::Value;
use switchyard_types::openai::{ChatChunk, ChatRequest};
use switchyard_types::sse::{SseEvent, SseParser};

use crate::adapter::{Adapter, StreamDecoder, Target};
use crate::catalog::Quirks;
use crate::error::UpstreamError;

use super::{AnthropicAdapter, AnthropicStreamDecoder};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/anthropic/",
            $name
        ))
    };
}
pub(super) use fixture;

pub(super) fn target(model: &str) -> Target<'_> {
    Target {
        base_url: "https://api.anthropic.com",
        model,
        api_version: None,
        quirks: &Quirks::OPENAI,
    }
}

/// Encodes a canonical request (given as OpenAI JSON) and returns the Anthropic body.
pub(super) fn encode(openai: Value) -> Value {
    let req: ChatRequest = serde_json::from_value(openai).unwrap();
    let body = AnthropicAdapter
        .encode_chat(&req, &target("claude-sonnet-4-5"))
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// Parses an SSE transcript fed in two pieces split at `cut`.
pub(super) fn events(wire: &[u8], cut: usize) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = parser.feed(&wire[..cut]).unwrap();
    out.extend(parser.feed(&wire[cut..]).unwrap());
    out.extend(parser.finish());
    out
}

/// Decodes a transcript split at `cut`: every chunk, then the decoder's verdict (the first
/// error stops decoding, as the server does).
pub(super) fn decode_stream(
    wire: &[u8],
    cut: usize,
) -> (Vec<ChatChunk>, Result<(), UpstreamError>) {
    let mut dec = AnthropicStreamDecoder::new();
    let mut chunks = Vec::new();
    for ev in events(wire, cut) {
        match dec.feed(&ev) {
            Ok(c) => chunks.extend(c),
            Err(e) => return (chunks, Err(e)),
        }
    }
    match dec.finish() {
        Ok(c) => {
            chunks.extend(c);
            (chunks, Ok(()))
        }
        Err(e) => (chunks, Err(e)),
    }
}

/// Decodes a transcript whole, and checks that every split point gives the same result.
pub(super) fn decode_everywhere(wire: &str) -> (Vec<ChatChunk>, Result<(), UpstreamError>) {
    let wire = wire.as_bytes();
    let whole = decode_stream(wire, wire.len());
    for cut in 0..wire.len() {
        assert_eq!(decode_stream(wire, cut), whole, "split at byte {cut}");
    }
    whole
}

/// Concatenated content, reasoning and per-index tool arguments of a chunk sequence.
pub(super) fn text_of(chunks: &[ChatChunk]) -> (String, String) {
    let mut content = String::new();
    let mut reasoning = String::new();
    for c in chunks.iter().flat_map(|c| &c.choices) {
        content.push_str(c.delta.content.as_deref().unwrap_or(""));
        reasoning.push_str(c.delta.reasoning_content.as_deref().unwrap_or(""));
    }
    (content, reasoning)
}

pub(super) fn tool_arguments(chunks: &[ChatChunk], index: u32) -> String {
    chunks
        .iter()
        .flat_map(|c| &c.choices)
        .flat_map(|c| c.delta.tool_calls.iter().flatten())
        .filter(|t| t.index == index)
        .filter_map(|t| t.function.as_ref()?.arguments.clone())
        .collect()
}
