//! OpenAI-dialect stream decoding: `data: {chunk}` events, `data: [DONE]`, in-stream errors.

use serde_json::Value;
use switchyard_types::openai::ChatChunk;
use switchyard_types::sse::SseEvent;

use crate::adapter::StreamDecoder;
use crate::error::{ErrorClass, UpstreamError};

use super::normalize_reasoning;

/// Decodes an OpenAI-dialect stream into canonical chunks.
#[derive(Debug, Default)]
pub struct OpenAiStreamDecoder {
    done: bool,
    finished: bool,
}

impl OpenAiStreamDecoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }
}

impl StreamDecoder for OpenAiStreamDecoder {
    fn feed(&mut self, event: &SseEvent) -> Result<Vec<ChatChunk>, UpstreamError> {
        if event.is_empty() {
            return Ok(Vec::new());
        }
        if event.is_done() {
            self.done = true;
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_slice(&event.data).map_err(|e| {
            UpstreamError::new(
                ErrorClass::Malformed,
                format!("malformed stream event: {e}"),
            )
        })?;
        if let Some(err) = value.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| err.as_str())
                .unwrap_or("upstream stream error")
                .to_owned();
            let class = match err.get("type").and_then(Value::as_str) {
                Some("rate_limit_error" | "rate_limit_exceeded") => ErrorClass::RateLimited,
                Some("overloaded_error") => ErrorClass::Overloaded,
                _ => ErrorClass::StreamBroken,
            };
            return Err(UpstreamError::new(class, message));
        }
        let mut chunk: ChatChunk = serde_json::from_value(value).map_err(|e| {
            UpstreamError::new(
                ErrorClass::Malformed,
                format!("malformed stream chunk: {e}"),
            )
        })?;
        for choice in &mut chunk.choices {
            normalize_reasoning(&mut choice.delta.reasoning_content, &mut choice.delta.extra);
            if choice.finish_reason.is_some() {
                self.finished = true;
            }
        }
        Ok(vec![chunk])
    }

    fn finish(&mut self) -> Result<Vec<ChatChunk>, UpstreamError> {
        if self.done || self.finished {
            Ok(Vec::new())
        } else {
            Err(UpstreamError::truncated())
        }
    }
}
