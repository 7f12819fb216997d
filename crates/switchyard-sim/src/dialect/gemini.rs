//! Gemini `generateContent` / `streamGenerateContent`: validation, replies, SSE chunks with
//! `\r\n\r\n` separators and Google RPC error bodies.

use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::{stream_cut, Action, Ctx};
use crate::content::{self, SIGNATURE};
use crate::error::{Cause, SimError};
use crate::prompt::{JsonMode, LastTurn, Prompt, Tool, ToolChoice};
use crate::reply::{self, Finish, Reply};
use crate::sse::Kind;

const GARBAGE_JSON: &[u8] = b"{\"candidates\": [{\"content\": {\"parts\": [{\"te";
const GARBAGE_SSE: &[u8] =
    b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"unterminated\r\n\r\n";
const OVERLOADED_EVENT: &[u8] = b"data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded. Please try again later.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n";
/// Schema keys the `parameters` OpenAPI subset rejects.
const UNSUPPORTED_SCHEMA_KEYS: [&str; 8] = [
    "$schema",
    "additionalProperties",
    "default",
    "examples",
    "title",
    "$defs",
    "$ref",
    "propertyNames",
];

struct Opts {
    show_thoughts: bool,
    cached: bool,
}

/// Serves `:generateContent`, `:streamGenerateContent` and `:countTokens`.
pub(crate) async fn generate(
    ctx: Ctx<'_>,
    body: Value,
    stream: bool,
    count_only: bool,
) -> Response {
    let (prompt, opts) = match parse(&body) {
        Ok(parsed) => parsed,
        Err(err) => return ctx.error(&err),
    };
    if count_only {
        let tokens = content::tokens_for_chars(prompt.input_chars);
        let out = json!({"totalTokens": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]});
        return ctx.json(out.to_string().into_bytes());
    }
    let (action, extra) = ctx.decide(&prompt.directives);
    match action {
        Action::Status(code, retry) => return ctx.error(&SimError::injected(code, retry)),
        Action::Hang => return ctx.hang().await,
        Action::MidError(_) if !stream => return ctx.error(&SimError::injected(503, None)),
        _ => {}
    }
    let model = ctx.route.path_model.unwrap_or_default();
    let reply = reply::plan(&prompt, ctx.state.config());
    let sse = ctx
        .query
        .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
    if stream && sse {
        let frames = chunks(ctx.seq, model, &reply, &opts)
            .into_iter()
            .map(|(kind, value)| (kind, Bytes::from(format!("data: {value}\r\n\r\n"))))
            .collect();
        let cut = stream_cut(&action, Bytes::from_static(OVERLOADED_EVENT), GARBAGE_SSE);
        return ctx.sse(frames, cut, ctx.pace(extra));
    }
    ctx.delay(extra).await;
    if let Some(response) = ctx.cut_json(&action, GARBAGE_JSON) {
        return response;
    }
    if stream {
        // Without `alt=sse` the stream endpoint answers one JSON array of chunks.
        let all: Vec<Value> = chunks(ctx.seq, model, &reply, &opts)
            .into_iter()
            .map(|(_, value)| value)
            .collect();
        return ctx.json(Value::Array(all).to_string().into_bytes());
    }
    ctx.json(
        response(ctx.seq, model, &reply, &opts)
            .to_string()
            .into_bytes(),
    )
}

fn parse(body: &Value) -> Result<(Prompt<'_>, Opts), SimError> {
    let Some(contents) = body.get("contents").and_then(Value::as_array) else {
        return Err(SimError::invalid(
            "* GenerateContentRequest.contents: contents is not specified\n",
        ));
    };
    let mut prompt = Prompt::default();
    if let Some(parts) = body
        .pointer("/systemInstruction/parts")
        .or_else(|| body.pointer("/system_instruction/parts"))
        .and_then(Value::as_array)
    {
        for text in parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
        {
            prompt.add_text(text);
        }
    }
    let mut calls: Vec<&str> = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        let role = content
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user");
        if i == 0 && role != "user" {
            return Err(SimError::invalid(format!(
                "First content should be with role 'user', got {role}"
            )));
        }
        if !matches!(role, "user" | "model" | "function") {
            return Err(SimError::invalid("Please use a valid role: user, model."));
        }
        read_content(i, role, content, &mut prompt, &mut calls)?;
    }
    read_tools(body, &mut prompt)?;
    let config = body
        .get("generationConfig")
        .or_else(|| body.get("generation_config"));
    let get = |key: &str| config.and_then(|c| c.get(key));
    prompt.max_tokens = get("maxOutputTokens").and_then(Value::as_u64);
    if let Some(stops) = get("stopSequences").and_then(Value::as_array) {
        prompt.stop.extend(stops.iter().filter_map(Value::as_str));
    }
    if get("responseMimeType").and_then(Value::as_str) == Some("application/json") {
        prompt.json = Some(
            get("responseJsonSchema")
                .or_else(|| get("responseSchema"))
                .map_or(JsonMode::Object, JsonMode::Schema),
        );
    }
    let thinking = get("thinkingConfig");
    let flag = |key: &str| thinking.and_then(|t| t.get(key));
    let show_thoughts = flag("includeThoughts").and_then(Value::as_bool) == Some(true);
    prompt.reasoning = show_thoughts
        || flag("thinkingLevel").is_some()
        || flag("thinkingBudget")
            .and_then(Value::as_i64)
            .is_some_and(|b| b != 0);
    let cached = body.get("cachedContent").is_some_and(Value::is_string);
    Ok((
        prompt,
        Opts {
            show_thoughts,
            cached,
        },
    ))
}

fn read_content<'a>(
    i: usize,
    role: &str,
    content: &'a Value,
    prompt: &mut Prompt<'a>,
    calls: &mut Vec<&'a str>,
) -> Result<(), SimError> {
    let parts = content
        .get("parts")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut texts = Vec::new();
    let mut responses = 0;
    let mut new_calls = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        let at = format!("contents[{i}].parts[{j}]");
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            prompt.add_text(text);
            texts.push(text);
        } else if let Some(data) = part.get("inlineData").or_else(|| part.get("inline_data")) {
            let mime = data.get("mimeType").or_else(|| data.get("mime_type"));
            if !mime.is_some_and(Value::is_string)
                || !data.get("data").is_some_and(Value::is_string)
            {
                return Err(SimError::invalid(format!(
                    "* GenerateContentRequest.{at}.inline_data: mime_type and data are required\n"
                )));
            }
            prompt.images += 1;
        } else if let Some(file) = part.get("fileData").or_else(|| part.get("file_data")) {
            if !file
                .get("fileUri")
                .or_else(|| file.get("file_uri"))
                .is_some_and(Value::is_string)
            {
                return Err(SimError::invalid(format!(
                    "* GenerateContentRequest.{at}.file_data.file_uri: file_uri is required\n"
                )));
            }
            prompt.images += 1;
        } else if let Some(call) = part.get("functionCall") {
            new_calls.push(call.get("name").and_then(Value::as_str).unwrap_or_default());
            if let Some(args) = call.get("args") {
                prompt.add_text(&args.to_string());
            }
        } else if let Some(response) = part.get("functionResponse") {
            let name = response
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match calls.get(responses) {
                Some(expected) if *expected == name => {}
                Some(expected) => {
                    return Err(SimError::invalid(format!(
                        "* GenerateContentRequest.{at}.function_response.name: function response name `{name}` does not match function call name `{expected}`\n"
                    )));
                }
                None => {
                    return Err(SimError::invalid(
                        "Please ensure that function response turn comes immediately after a function call turn.",
                    ));
                }
            }
            responses += 1;
            let text = response
                .get("response")
                .map_or_else(String::new, Value::to_string);
            prompt.add_text(&text);
            prompt.push_tool_result(text.into());
        }
    }
    *calls = new_calls;
    if role == "model" {
        prompt.last_turn = LastTurn::Other;
    } else if responses == 0 {
        prompt.set_user_turn(&texts);
    }
    Ok(())
}

fn read_tools<'a>(body: &'a Value, prompt: &mut Prompt<'a>) -> Result<(), SimError> {
    let tools = body.get("tools").and_then(Value::as_array);
    for (t, tool) in tools.into_iter().flatten().enumerate() {
        let decls = tool
            .get("functionDeclarations")
            .or_else(|| tool.get("function_declarations"))
            .and_then(Value::as_array);
        for (d, decl) in decls.into_iter().flatten().enumerate() {
            let Some(name) = decl.get("name").and_then(Value::as_str) else {
                continue;
            };
            let params = decl.get("parameters");
            if let Some(params) = params {
                let at = format!("tools[{t}].function_declarations[{d}].parameters");
                check_schema(params, &at)?;
            }
            prompt.tools.push(Tool {
                name,
                schema: params.or_else(|| decl.get("parametersJsonSchema")),
            });
        }
    }
    let config = body.pointer("/toolConfig/functionCallingConfig");
    let mode = config.and_then(|c| c.get("mode")).and_then(Value::as_str);
    let allowed = config
        .and_then(|c| c.get("allowedFunctionNames"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str);
    prompt.tool_choice = match (mode, allowed) {
        (Some("NONE"), _) => ToolChoice::None,
        (Some("ANY"), Some(name)) => ToolChoice::Forced(name),
        _ => ToolChoice::Auto,
    };
    Ok(())
}

fn check_schema(schema: &Value, at: &str) -> Result<(), SimError> {
    let Some(obj) = schema.as_object() else {
        return Ok(());
    };
    if let Some(key) = UNSUPPORTED_SCHEMA_KEYS
        .iter()
        .find(|k| obj.contains_key(**k))
    {
        return Err(SimError::invalid(format!(
            "Invalid JSON payload received. Unknown name \"{key}\" at '{at}': Cannot find field."
        )));
    }
    if obj.get("type").is_some_and(Value::is_array) {
        return Err(SimError::invalid(format!(
            "Invalid JSON payload received. Proto field is not repeating, cannot start list at '{at}.type'."
        )));
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            check_schema(prop, &format!("{at}.properties[{name}].value"))?;
        }
    }
    if let Some(items) = obj.get("items") {
        check_schema(items, &format!("{at}.items"))?;
    }
    Ok(())
}

fn usage(reply: &Reply<'_>, opts: &Opts, candidates: u64) -> Value {
    let p = reply.prompt_tokens;
    let thoughts = reply.reasoning_tokens;
    let mut usage = Map::new();
    usage.insert("promptTokenCount".into(), p.into());
    usage.insert("candidatesTokenCount".into(), candidates.into());
    usage.insert("totalTokenCount".into(), (p + candidates + thoughts).into());
    if opts.cached {
        usage.insert("cachedContentTokenCount".into(), (p / 2).into());
    }
    if thoughts > 0 {
        usage.insert("thoughtsTokenCount".into(), thoughts.into());
    }
    usage.insert(
        "promptTokensDetails".into(),
        json!([{"modality": "TEXT", "tokenCount": p}]),
    );
    Value::Object(usage)
}

fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::StopSequence(_) | Finish::ToolCalls => "STOP",
    }
}

fn call_parts(reply: &Reply<'_>) -> Vec<Value> {
    reply
        .calls
        .iter()
        .enumerate()
        .map(|(k, call)| {
            let mut part = json!({"functionCall": {"name": call.name, "args": call.args}});
            if k == 0 {
                part["thoughtSignature"] = json!(SIGNATURE);
            }
            part
        })
        .collect()
}

fn chunk(seq: u64, model: &str, parts: Vec<Value>, finish: Option<&str>, usage: Value) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model,
           "responseId": format!("sim{seq:06}")})
}

fn response(seq: u64, model: &str, reply: &Reply<'_>, opts: &Opts) -> Value {
    let mut parts = Vec::new();
    if let (true, Some(thought)) = (opts.show_thoughts, reply.reasoning) {
        parts.push(json!({"text": thought, "thought": true}));
    }
    if reply.calls.is_empty() {
        parts.push(json!({"text": reply.text}));
    }
    parts.extend(call_parts(reply));
    let candidates = reply.completion_tokens - reply.reasoning_tokens;
    chunk(
        seq,
        model,
        parts,
        Some(finish_reason(&reply.finish)),
        usage(reply, opts, candidates),
    )
}

fn chunks(seq: u64, model: &str, reply: &Reply<'_>, opts: &Opts) -> Vec<(Kind, Value)> {
    let total = reply.completion_tokens - reply.reasoning_tokens;
    let finish = finish_reason(&reply.finish);
    let mut out = Vec::with_capacity(reply.chunks + 2);
    if let (true, Some(thought)) = (opts.show_thoughts, reply.reasoning) {
        let parts = vec![json!({"text": thought, "thought": true})];
        out.push((
            Kind::Content,
            chunk(seq, model, parts, None, usage(reply, opts, 0)),
        ));
    }
    if !reply.calls.is_empty() {
        let parts = call_parts(reply);
        out.push((
            Kind::Content,
            chunk(seq, model, parts, Some(finish), usage(reply, opts, total)),
        ));
        return out;
    }
    let pieces = content::split_words(&reply.text, reply.chunks);
    if pieces.is_empty() {
        let parts = vec![json!({"text": ""})];
        out.push((
            Kind::Content,
            chunk(seq, model, parts, Some(finish), usage(reply, opts, total)),
        ));
        return out;
    }
    let last = pieces.len() - 1;
    let mut sent = String::new();
    for (n, piece) in pieces.into_iter().enumerate() {
        sent.push_str(piece);
        let parts = vec![json!({"text": piece})];
        let (finish, so_far) = if n == last {
            (Some(finish), total)
        } else {
            (None, content::word_count(&sent).min(total))
        };
        out.push((
            Kind::Content,
            chunk(seq, model, parts, finish, usage(reply, opts, so_far)),
        ));
    }
    out
}

/// Google RPC error body.
pub(crate) fn error_body(err: &SimError) -> Vec<u8> {
    let (status, default_message) = match (err.status, err.cause) {
        (_, Cause::MissingKey) => ("PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."),
        (_, Cause::InvalidKey) => ("INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        (_, Cause::Malformed) => ("INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."),
        (400, _) => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        (401, _) => ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
        (403, _) => ("PERMISSION_DENIED", "The caller does not have permission"),
        (404, _) => ("NOT_FOUND", "Requested entity was not found."),
        (409, _) => ("ABORTED", "The operation was aborted."),
        (429, _) => ("RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details."),
        (500, _) => ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
        (501, _) => ("UNIMPLEMENTED", "Method not found."),
        (503, _) => ("UNAVAILABLE", "The model is overloaded. Please try again later."),
        (408 | 504, _) => ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
        _ => ("UNKNOWN", "Unknown error."),
    };
    let message = if err.message.is_empty() {
        default_message
    } else {
        err.message.as_ref()
    };
    let mut error = json!({"code": err.status, "message": message, "status": status});
    if err.cause == Cause::InvalidKey {
        error["details"] = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID", "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"}}]);
    }
    if err.status == 429 {
        let delay = err.retry_after.unwrap_or(1);
        error["details"] = json!([
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                "quotaDimensions": {"location": "global"}}]},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{delay}s")}
        ]);
    }
    json!({ "error": error }).to_string().into_bytes()
}
