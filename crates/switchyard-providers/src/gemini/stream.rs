//! Gemini `streamGenerateContent?alt=sse` → OpenAI chunks.
//!
//! Every `data:` event is a whole `GenerateContentResponse` fragment: new text (not
//! cumulative), complete `functionCall` parts, running `usageMetadata`, and `finishReason` on a
//! candidate's last event. There is no terminal sentinel, so a stream is complete only if some
//! candidate finished. Chunks emitted, per candidate (choice) index: the role on its first
//! chunk, one chunk per non-empty part (text → `content`, thought → `reasoning_content`,
//! function call → one complete `tool_calls` delta with the next OpenAI `index` of that choice
//! and its thought signature in the delta extra `thought_signatures`), and a finish chunk. At
//! [`StreamDecoder::finish`] a chunk with empty `choices` carries the last usage seen.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use switchyard_types::gemini::{Candidate, GenerateContentResponse};
use switchyard_types::openai::{
    ChatChunk, ChunkChoice, Delta, FinishReason, FunctionCallDelta, Role, ToolCallDelta,
};
use switchyard_types::sse::SseEvent;

use crate::adapter::StreamDecoder;
use crate::error::{ErrorClass, UpstreamError};

use super::error::classify_status;
use super::request::THOUGHT_SIGNATURES;
use super::response::{map_finish, response_id, tool_call, usage};

/// Per-choice state.
#[derive(Debug, Default)]
struct ChoiceState {
    role_sent: bool,
    tool_calls: u32,
    finished: bool,
}

/// Decodes one Gemini stream.
#[derive(Debug, Default)]
pub struct GeminiStreamDecoder {
    id: Option<String>,
    model: String,
    choices: BTreeMap<u32, ChoiceState>,
    /// Calls seen in the whole stream, for synthesized `call_<n>` ids.
    call_counter: u32,
    usage: Option<switchyard_types::openai::Usage>,
    finished: bool,
}

impl GeminiStreamDecoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    fn chunk(&self, index: u32, delta: Delta, finish: Option<FinishReason>) -> ChatChunk {
        let mut c = ChatChunk::new(self.id.clone().unwrap_or_default(), self.model.clone(), 0);
        c.choices.push(ChunkChoice {
            index,
            delta,
            finish_reason: finish,
            logprobs: None,
        });
        c
    }

    /// A delta for choice `index`, carrying the role if the choice has not had it yet.
    fn delta(&mut self, index: u32) -> Delta {
        let state = self.choices.entry(index).or_default();
        let mut d = Delta::default();
        if !state.role_sent {
            state.role_sent = true;
            d.role = Some(Role::Assistant);
        }
        d
    }

    fn candidate(&mut self, pos: usize, cand: &Candidate, out: &mut Vec<ChatChunk>) {
        let index = cand.index.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX));
        let parts = cand
            .content
            .as_ref()
            .map_or(&[][..], |c| c.parts.as_slice());
        for part in parts {
            let mut delta;
            if let Some(fc) = &part.function_call {
                let call = tool_call(fc, &mut self.call_counter);
                delta = self.delta(index);
                let state = self.choices.entry(index).or_default();
                let k = state.tool_calls;
                state.tool_calls += 1;
                if let Some(sig) = &part.thought_signature {
                    let mut m = Map::new();
                    m.insert(call.id.clone(), Value::String(sig.clone()));
                    delta
                        .extra
                        .insert(THOUGHT_SIGNATURES.to_owned(), Value::Object(m));
                }
                delta.tool_calls = Some(vec![ToolCallDelta {
                    index: k,
                    id: Some(call.id),
                    kind: Some("function".to_owned()),
                    function: Some(FunctionCallDelta {
                        name: Some(call.function.name),
                        arguments: Some(call.function.arguments),
                    }),
                }]);
            } else if let Some(text) = part.text.as_ref().filter(|t| !t.is_empty()) {
                delta = self.delta(index);
                if part.is_thought() {
                    delta.reasoning_content = Some(text.clone());
                } else {
                    delta.content = Some(text.clone());
                }
            } else {
                continue;
            }
            out.push(self.chunk(index, delta, None));
        }
        if let Some(reason) = cand.finish_reason.as_deref() {
            let state = self.choices.entry(index).or_default();
            if state.finished {
                return;
            }
            state.finished = true;
            let finish = map_finish(Some(reason), state.tool_calls > 0);
            self.finished = true;
            let delta = self.delta(index);
            out.push(self.chunk(index, delta, Some(finish)));
        }
    }
}

impl StreamDecoder for GeminiStreamDecoder {
    fn feed(&mut self, event: &SseEvent) -> Result<Vec<ChatChunk>, UpstreamError> {
        let data = event.data_str();
        let data = data.trim();
        if data.is_empty() {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            UpstreamError::new(
                ErrorClass::Malformed,
                format!("malformed stream event: {e}"),
            )
        })?;
        if let Some(err) = value.get("error") {
            let status = err
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(500);
            return Err(classify_status(status, &http::HeaderMap::new(), err));
        }
        let resp: GenerateContentResponse = serde_json::from_value(value).map_err(|e| {
            UpstreamError::new(
                ErrorClass::Malformed,
                format!("malformed stream chunk: {e}"),
            )
        })?;
        if self.id.is_none() {
            self.id = Some(response_id(resp.response_id.as_deref(), data.as_bytes()));
        }
        if let Some(m) = resp.model_version.as_ref().filter(|m| !m.is_empty()) {
            self.model.clone_from(m);
        }
        if let Some(u) = &resp.usage_metadata {
            self.usage = Some(usage(u));
        }
        let mut out = Vec::new();
        for (pos, cand) in resp.candidates.iter().enumerate() {
            self.candidate(pos, cand, &mut out);
        }
        if resp.candidates.is_empty() {
            if let Some(reason) = resp
                .prompt_feedback
                .as_ref()
                .and_then(|f| f.block_reason.as_deref())
            {
                let state = self.choices.entry(0).or_default();
                if !state.finished {
                    state.finished = true;
                    self.finished = true;
                    let mut delta = self.delta(0);
                    delta.content = Some(String::new());
                    delta.refusal = Some(format!("prompt blocked by gemini: {reason}"));
                    out.push(self.chunk(0, delta, Some(FinishReason::ContentFilter)));
                }
            }
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<ChatChunk>, UpstreamError> {
        if !self.finished {
            return Err(UpstreamError::truncated());
        }
        Ok(self
            .usage
            .take()
            .map(|u| {
                let mut c =
                    ChatChunk::new(self.id.clone().unwrap_or_default(), self.model.clone(), 0);
                c.usage = Some(u);
                c
            })
            .into_iter()
            .collect())
    }
}
