//! Anthropic Messages response → canonical `chat.completion`, plus the stop-reason and usage
//! mappings shared with the stream decoder.

use serde_json::{json, Value};
use switchyard_types::anthropic::{self as wire, ContentBlock, MessagesResponse};
use switchyard_types::openai::{
    ChatResponse, Choice, CompletionTokensDetails, Content, Extra, FinishReason, Message,
    PromptTokensDetails, Role, ToolCall, Usage,
};
use switchyard_types::TranslateError;

/// Extension field (on messages and deltas) holding thinking blocks with their signatures, so
/// they can be replayed to Anthropic unmodified.
pub(crate) const THINKING_BLOCKS: &str = "thinking_blocks";

/// Decodes a non-streaming Messages response: in one pass when it has the common shape
/// ([`super::response_fast`]), else through the typed structs.
///
/// `created` is 0: adapters read no clock, the engine stamps the time.
pub(crate) fn decode(body: &[u8]) -> Result<ChatResponse, TranslateError> {
    match super::response_fast::decode(body) {
        Some(resp) => Ok(resp),
        None => decode_typed(body),
    }
}

/// Decodes any Messages response through the typed structs: the reference.
pub(crate) fn decode_typed(body: &[u8]) -> Result<ChatResponse, TranslateError> {
    let resp: MessagesResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::MalformedUpstream(e.to_string()))?;
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut thinking_blocks = Vec::new();
    let mut tool_calls = Vec::new();
    for block in &resp.content {
        match block {
            ContentBlock::Text { text: t, .. } => text.push_str(t),
            ContentBlock::Thinking {
                thinking,
                signature,
                ..
            } => {
                reasoning.push_str(thinking);
                thinking_blocks.push(thinking_block(thinking, signature.as_deref()));
            }
            ContentBlock::RedactedThinking { data, .. } => {
                thinking_blocks.push(json!({"type": "redacted_thinking", "data": data}));
            }
            ContentBlock::ToolUse {
                id, name, input, ..
            } => tool_calls.push(ToolCall::function(
                id.clone(),
                name.clone(),
                arguments_string(input),
            )),
            // Server-tool blocks, citations-only blocks and the like have no OpenAI form.
            ContentBlock::Image { .. }
            | ContentBlock::ToolResult { .. }
            | ContentBlock::Other(_) => {}
        }
    }
    let mut extra = Extra::new();
    if !thinking_blocks.is_empty() {
        extra.insert(THINKING_BLOCKS.to_owned(), Value::Array(thinking_blocks));
    }
    Ok(completion(Decoded {
        id: resp.id,
        model: resp.model,
        text,
        reasoning,
        tool_calls,
        extra,
        stop_reason: resp.stop_reason,
        usage: &resp.usage,
    }))
}

/// What a Messages response decodes to, before it takes the `chat.completion` shape.
pub(crate) struct Decoded<'a> {
    pub(crate) id: String,
    pub(crate) model: String,
    /// The text blocks, joined.
    pub(crate) text: String,
    /// The thinking blocks' text, joined.
    pub(crate) reasoning: String,
    pub(crate) tool_calls: Vec<ToolCall>,
    /// The message's extension members ([`THINKING_BLOCKS`]).
    pub(crate) extra: Extra,
    pub(crate) stop_reason: Option<String>,
    pub(crate) usage: &'a wire::Usage,
}

/// The `chat.completion` of a decoded Messages response: one choice, empty parts left out.
pub(crate) fn completion(d: Decoded<'_>) -> ChatResponse {
    let message = Message {
        role: Role::Assistant,
        content: (!d.text.is_empty()).then_some(Content::Text(d.text)),
        name: None,
        tool_calls: (!d.tool_calls.is_empty()).then_some(d.tool_calls),
        tool_call_id: None,
        refusal: None,
        reasoning_content: (!d.reasoning.is_empty()).then_some(d.reasoning),
        extra: d.extra,
    };
    ChatResponse {
        id: d.id,
        object: "chat.completion".to_owned(),
        created: 0,
        model: d.model,
        choices: vec![Choice {
            index: 0,
            message,
            finish_reason: Some(finish_reason(d.stop_reason.as_deref())),
            logprobs: None,
        }],
        usage: Some(usage(d.usage)),
        system_fingerprint: None,
        extra: Extra::new(),
    }
}

/// `{"type":"thinking","thinking","signature"}` as kept in [`THINKING_BLOCKS`].
pub(crate) fn thinking_block(thinking: &str, signature: Option<&str>) -> Value {
    json!({"type": "thinking", "thinking": thinking, "signature": signature.unwrap_or_default()})
}

/// A tool input object as OpenAI's JSON-string `arguments`.
pub(crate) fn arguments_string(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_owned(),
        other => other.to_string(),
    }
}

/// Anthropic `stop_reason` → OpenAI `finish_reason`. Pinned table (providers.md 5.4 and the
/// gateway's choice for `pause_turn`): `pause_turn` maps to `stop`, unknown values to `stop`.
pub(crate) fn finish_reason(stop_reason: Option<&str>) -> FinishReason {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// Anthropic usage → OpenAI usage: prompt = input + cache reads + cache writes.
pub(crate) fn usage(u: &wire::Usage) -> Usage {
    let input = u.input_tokens.unwrap_or(0);
    let cache_read = u.cache_read_input_tokens.unwrap_or(0);
    let cache_creation = u.cache_creation_input_tokens.unwrap_or(0);
    let mut out = Usage::new(
        input + cache_read + cache_creation,
        u.output_tokens.unwrap_or(0),
    );
    if cache_read > 0 || cache_creation > 0 {
        out.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: cache_read,
            cache_creation_tokens: cache_creation,
        });
    }
    let thinking = u
        .extra
        .get("output_tokens_details")
        .and_then(|d| d.get("thinking_tokens"))
        .and_then(Value::as_u64);
    if let Some(reasoning_tokens) = thinking {
        out.completion_tokens_details = Some(CompletionTokensDetails { reasoning_tokens });
    }
    out
}
