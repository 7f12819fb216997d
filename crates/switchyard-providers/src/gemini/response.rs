//! Gemini `GenerateContentResponse` → canonical chat response, plus the mappings the stream
//! decoder shares (finish reasons, usage, tool calls, ids).
//!
//! Decisions where the reference leaves room:
//! - `created` is 0: adapters never read the clock; the server stamps it.
//! - `id` is `responseId`; without one, `chatcmpl-` plus a hash of the body (deterministic).
//!   `model` is `modelVersion`, or empty (the server knows the requested model).
//! - Function calls without an id get `call_<n>`, `n` counting calls across the response.
//!   Their thought signatures go to the message extra `thought_signatures` (`{id: signature}`),
//!   which [`super::request`] puts back when the client replays the message.
//! - A blocked prompt (`promptFeedback.blockReason`, no candidates) becomes one choice with
//!   empty content, `finish_reason: content_filter` and `refusal` naming the block reason.
//! - `OTHER`, `MALFORMED_FUNCTION_CALL` and unknown finish reasons map to `stop`.
//! - Usage: `prompt_tokens` = `promptTokenCount` + `toolUsePromptTokenCount` (both billed as
//!   input); `completion_tokens` = `candidatesTokenCount` + `thoughtsTokenCount`, unless
//!   prompt + candidates + toolUse already equals the total (thoughts counted inside);
//!   `total_tokens` = prompt + completion.

use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};
use switchyard_types::gemini::{Candidate, GenerateContentResponse, Part, UsageMetadata};
use switchyard_types::openai::{
    ChatResponse, Choice, CompletionTokensDetails, Content, Extra, FinishReason, Message,
    PromptTokensDetails, Role, ToolCall, Usage,
};
use switchyard_types::TranslateError;

use super::request::THOUGHT_SIGNATURES;

/// Decodes a non-streamed response body.
pub(crate) fn decode(body: &[u8]) -> Result<ChatResponse, TranslateError> {
    let resp: GenerateContentResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::MalformedUpstream(e.to_string()))?;
    let mut call_counter = 0_u32;
    let mut choices: Vec<Choice> = resp
        .candidates
        .iter()
        .enumerate()
        .map(|(pos, cand)| decode_candidate(cand, pos, &mut call_counter))
        .collect();
    if choices.is_empty() {
        if let Some(err) = resp.extra.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("error");
            return Err(TranslateError::MalformedUpstream(format!(
                "error object in a successful response: {message}"
            )));
        }
        if resp.prompt_feedback.is_none() {
            return Err(TranslateError::MalformedUpstream(
                "response has neither candidates nor promptFeedback".to_owned(),
            ));
        }
        choices.push(blocked_choice(&resp));
    }
    Ok(ChatResponse {
        id: response_id(resp.response_id.as_deref(), body),
        object: "chat.completion".to_owned(),
        created: 0,
        model: resp.model_version.clone().unwrap_or_default(),
        choices,
        usage: resp.usage_metadata.as_ref().map(usage),
        system_fingerprint: None,
        extra: Extra::new(),
    })
}

fn decode_candidate(cand: &Candidate, pos: usize, call_counter: &mut u32) -> Choice {
    let parts: &[Part] = cand.content.as_ref().map_or(&[], |c| c.parts.as_slice());
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut signatures = Map::new();
    for part in parts {
        if let Some(fc) = &part.function_call {
            let call = tool_call(fc, call_counter);
            if let Some(sig) = &part.thought_signature {
                signatures.insert(call.id.clone(), Value::String(sig.clone()));
            }
            calls.push(call);
        } else if let Some(t) = &part.text {
            let target = if part.is_thought() {
                &mut reasoning
            } else {
                &mut text
            };
            target.get_or_insert_with(String::new).push_str(t);
        }
    }
    let finish = map_finish(cand.finish_reason.as_deref(), !calls.is_empty());
    let content = match (text, calls.is_empty()) {
        (Some(t), _) => Some(t),
        (None, true) => Some(String::new()),
        (None, false) => None,
    };
    let mut extra = Extra::new();
    if !signatures.is_empty() {
        extra.insert(THOUGHT_SIGNATURES.to_owned(), Value::Object(signatures));
    }
    Choice {
        index: cand.index.unwrap_or(u32::try_from(pos).unwrap_or(u32::MAX)),
        message: Message {
            role: Role::Assistant,
            content: content.map(Content::Text),
            name: None,
            tool_calls: (!calls.is_empty()).then_some(calls),
            tool_call_id: None,
            refusal: None,
            reasoning_content: reasoning,
            extra,
        },
        finish_reason: Some(finish),
        logprobs: None,
    }
}

/// The single choice reported for a prompt Gemini refused to answer.
fn blocked_choice(resp: &GenerateContentResponse) -> Choice {
    let reason = resp
        .prompt_feedback
        .as_ref()
        .and_then(|f| f.block_reason.clone());
    let mut message = Message::text(Role::Assistant, "");
    message.refusal = reason.map(|r| format!("prompt blocked by gemini: {r}"));
    Choice {
        index: 0,
        message,
        finish_reason: Some(FinishReason::ContentFilter),
        logprobs: None,
    }
}

/// A Gemini `functionCall` → an OpenAI tool call; ids are synthesized as `call_<n>`.
pub(crate) fn tool_call(
    fc: &switchyard_types::gemini::FunctionCall,
    counter: &mut u32,
) -> ToolCall {
    let n = *counter;
    *counter += 1;
    let id = fc
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("call_{n}"));
    let arguments = match &fc.args {
        Some(v @ Value::Object(_)) => v.to_string(),
        _ => "{}".to_owned(),
    };
    ToolCall::function(id, fc.name.clone(), arguments)
}

/// Gemini `finishReason` → OpenAI `finish_reason` (pinned by tests).
pub(crate) fn map_finish(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match reason.unwrap_or("STOP") {
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "LANGUAGE"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        _ if has_tool_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// `usageMetadata` → OpenAI usage.
pub(crate) fn usage(u: &UsageMetadata) -> Usage {
    let prompt = u.prompt_token_count.unwrap_or(0);
    let tool_use = u.tool_use_prompt_token_count.unwrap_or(0);
    let candidates = u.candidates_token_count.unwrap_or(0);
    let thoughts = u.thoughts_token_count.unwrap_or(0);
    let thoughts_inside = u
        .total_token_count
        .is_some_and(|t| thoughts > 0 && t == prompt + candidates + tool_use);
    let completion = if thoughts_inside {
        candidates
    } else {
        candidates + thoughts
    };
    let mut out = Usage::new(prompt + tool_use, completion);
    if let Some(cached) = u.cached_content_token_count.filter(|c| *c > 0) {
        out.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: cached,
            cache_creation_tokens: 0,
        });
    }
    if thoughts > 0 {
        out.completion_tokens_details = Some(CompletionTokensDetails {
            reasoning_tokens: thoughts,
        });
    }
    out
}

/// `responseId`, or a deterministic `chatcmpl-<hash of seed>`.
pub(crate) fn response_id(id: Option<&str>, seed: &[u8]) -> String {
    match id.filter(|s| !s.is_empty()) {
        Some(id) => id.to_owned(),
        None => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            seed.hash(&mut h);
            format!("chatcmpl-{:016x}", h.finish())
        }
    }
}
