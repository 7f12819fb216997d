//! Canonical chat request → Gemini `generateContent` request.
//!
//! Decisions where the reference leaves room:
//! - `system`/`developer` messages are hoisted, in order, as one text part each of
//!   `systemInstruction`. When nothing else remains, they are sent as the single user turn
//!   (Gemini needs at least one content).
//! - Consecutive turns of the same Gemini role are merged (tool results and a following user
//!   message share one `user` turn). Empty text parts and turns left without parts are dropped.
//!   `functionResponse` parts are put in the order of the calls they answer (Gemini matches by
//!   order). A history starting with the assistant gets a `"."` user turn in front. Calls
//!   without results are not padded with invented results (Gemini answers 400).
//! - Tool results: `response` is the content parsed as a JSON object, else `{"content": text}`.
//! - `http(s)` image URLs become `fileData` with a MIME type guessed from the path's extension
//!   (png, jpg/jpeg, gif, webp, heic, heif, pdf; default `image/jpeg`). Gemini only fetches URIs
//!   it supports (its own file URIs, some public hosts); the gateway does not download images.
//! - Thought signatures: an assistant message's `thought_signatures` extra (`{tool_call_id:
//!   signature}`, as [`super::response`] produces it) puts each signature back on its
//!   `functionCall` part. The first call of a turn without one gets Google's documented
//!   `skip_thought_signature_validator`, so foreign histories still work on Gemini 3.
//! - `reasoning_content` of earlier assistant turns is not replayed (Gemini does not accept
//!   thought text back; signatures carry the reasoning state).
//! - `reasoning_effort`: see [`thinking_config`]. `user`, `parallel_tool_calls`, `logit_bias`,
//!   `logprobs` and `stream_options` are dropped (no Gemini equivalent is translated).
//! - `top_k` in the request extras becomes `topK` (Gemini extension).

use serde_json::{Map, Value};
use switchyard_types::gemini::{
    Blob, Content as GContent, FileData, FunctionCall as GFunctionCall, FunctionCallingConfig,
    FunctionDeclaration, FunctionResponse, GenerateContentRequest, GenerationConfig, Part,
    ThinkingConfig, Tool as GTool, ToolConfig,
};
use switchyard_types::openai::{
    ChatRequest, Content, ContentPart, Message, ResponseFormat, Role, Tool, ToolChoice,
};
use switchyard_types::TranslateError;

use super::schema;

/// Extra key on assistant messages carrying `{tool_call_id: thoughtSignature}`.
pub(crate) const THOUGHT_SIGNATURES: &str = "thought_signatures";

/// Google's documented placeholder for function calls without a signature.
pub(crate) const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// Encodes `req` for `model` (the provider's model id, used to choose the thinking config).
pub(crate) fn encode(
    req: &ChatRequest,
    model: &str,
) -> Result<GenerateContentRequest, TranslateError> {
    let mut system: Vec<Part> = Vec::new();
    let mut contents: Vec<GContent> = Vec::new();
    for (i, msg) in req.messages.iter().enumerate() {
        match msg.role {
            Role::System | Role::Developer => {
                let text = msg
                    .content
                    .as_ref()
                    .map(Content::joined_text)
                    .unwrap_or_default();
                if !text.is_empty() {
                    system.push(Part::text(text));
                }
            }
            Role::User => push_turn(&mut contents, "user", user_parts(msg, i)?),
            Role::Assistant => push_turn(&mut contents, "model", assistant_parts(msg, i)?),
            Role::Tool | Role::Function => {
                let part = tool_result_part(&req.messages, i)?;
                push_turn(&mut contents, "user", vec![part]);
            }
        }
    }
    let mut system_instruction = (!system.is_empty()).then_some(GContent {
        role: None,
        parts: system,
    });
    if contents.is_empty() {
        match system_instruction.take() {
            Some(mut only) => {
                only.role = Some("user".to_owned());
                contents.push(only);
            }
            None => {
                return Err(TranslateError::invalid(
                    "at least one message with content is required",
                    Some("messages"),
                ))
            }
        }
    }
    order_function_responses(&mut contents);
    if contents.first().and_then(|c| c.role.as_deref()) == Some("model") {
        contents.insert(
            0,
            GContent {
                role: Some("user".to_owned()),
                parts: vec![Part::text(LEADING_USER_TEXT)],
            },
        );
    }
    let tools = encode_tools(req.tools.as_deref())?;
    let tool_config = match (&tools, &req.tool_choice) {
        (Some(_), Some(choice)) => Some(encode_tool_choice(choice)?),
        _ => None,
    };
    Ok(GenerateContentRequest {
        contents,
        system_instruction,
        tools,
        tool_config,
        generation_config: generation_config(req, model)?,
        ..GenerateContentRequest::default()
    })
}

/// Placeholder user turn put before a history that starts with the assistant (Gemini wants the
/// first content to be a user turn).
pub(crate) const LEADING_USER_TEXT: &str = ".";

/// Gemini wants the `functionResponse` parts of a turn in the order of the calls of the
/// preceding model turn: responses are sorted by call position (matched by id, else by name),
/// ahead of any other part of the turn; unmatched responses keep their relative order.
fn order_function_responses(contents: &mut [GContent]) {
    for i in 1..contents.len() {
        let (before, after) = contents.split_at_mut(i);
        let (prev, turn) = (&before[i - 1], &mut after[0]);
        if prev.role.as_deref() != Some("model") || turn.role.as_deref() != Some("user") {
            continue;
        }
        let calls: Vec<&GFunctionCall> = prev
            .parts
            .iter()
            .filter_map(|p| p.function_call.as_ref())
            .collect();
        if calls.is_empty() {
            continue;
        }
        let mut used = vec![false; calls.len()];
        let mut keyed: Vec<(usize, Part)> = Vec::new();
        let mut rest: Vec<Part> = Vec::new();
        for part in std::mem::take(&mut turn.parts) {
            let Some(resp) = &part.function_response else {
                rest.push(part);
                continue;
            };
            let by_id = resp.id.as_ref().and_then(|id| {
                (0..calls.len()).find(|&k| !used[k] && calls[k].id.as_ref() == Some(id))
            });
            let pos = by_id
                .or_else(|| (0..calls.len()).find(|&k| !used[k] && calls[k].name == resp.name));
            if let Some(k) = pos {
                used[k] = true;
            }
            keyed.push((pos.unwrap_or(usize::MAX), part));
        }
        keyed.sort_by_key(|(k, _)| *k);
        turn.parts = keyed.into_iter().map(|(_, p)| p).chain(rest).collect();
    }
}

/// Appends parts to the last turn when it has the same role, else starts a turn.
fn push_turn(contents: &mut Vec<GContent>, role: &str, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(GContent {
            role: Some(role.to_owned()),
            parts,
        }),
    }
}

fn user_parts(msg: &Message, i: usize) -> Result<Vec<Part>, TranslateError> {
    match &msg.content {
        None => Ok(Vec::new()),
        Some(Content::Text(t)) => Ok(text_part(t).into_iter().collect()),
        Some(Content::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (j, p) in parts.iter().enumerate() {
                let param = format!("messages[{i}].content[{j}]");
                match p {
                    ContentPart::Text { text, .. } => out.extend(text_part(text)),
                    ContentPart::ImageUrl { image_url, .. } => {
                        out.push(media_part(&image_url.url, None, &param)?);
                    }
                    ContentPart::Other(v) => out.push(other_part(v, &param)?),
                }
            }
            Ok(out)
        }
    }
}

fn text_part(text: &str) -> Option<Part> {
    (!text.is_empty()).then(|| Part::text(text))
}

/// A `data:` URL → `inlineData`; an `http(s)` URL → `fileData`.
fn media_part(url: &str, mime_hint: Option<&str>, param: &str) -> Result<Part, TranslateError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| TranslateError::invalid("malformed data URL", Some(param)))?;
        let mime = meta.strip_suffix(";base64").ok_or_else(|| {
            TranslateError::invalid("data URLs must be base64-encoded", Some(param))
        })?;
        let mime = if mime.is_empty() {
            mime_hint.unwrap_or("image/jpeg")
        } else {
            mime
        };
        return Ok(Part {
            inline_data: Some(Blob {
                mime_type: mime.to_owned(),
                data: data.to_owned(),
            }),
            ..Part::default()
        });
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("gs://") {
        let mime = mime_hint.map_or_else(|| guess_mime(url).to_owned(), str::to_owned);
        return Ok(Part {
            file_data: Some(FileData {
                mime_type: Some(mime),
                file_uri: url.to_owned(),
            }),
            ..Part::default()
        });
    }
    Err(TranslateError::invalid(
        "media URL must be a data: URL or an http(s) URL",
        Some(param),
    ))
}

/// MIME type from a URL's file extension (query and fragment ignored); `image/jpeg` otherwise.
pub(crate) fn guess_mime(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => "image/jpeg",
    }
}

/// `input_audio` and `file` (data URL) parts; anything else is refused.
fn other_part(v: &Value, param: &str) -> Result<Part, TranslateError> {
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "input_audio" => {
            let audio = v.get("input_audio");
            let data = audio.and_then(|a| a.get("data")).and_then(Value::as_str);
            let format = audio
                .and_then(|a| a.get("format"))
                .and_then(Value::as_str)
                .unwrap_or("wav");
            let data =
                data.ok_or_else(|| TranslateError::invalid("input_audio needs data", Some(param)))?;
            let mime = match format {
                "mp3" => "audio/mp3".to_owned(),
                other => format!("audio/{other}"),
            };
            Ok(Part {
                inline_data: Some(Blob {
                    mime_type: mime,
                    data: data.to_owned(),
                }),
                ..Part::default()
            })
        }
        "file" => {
            let url = v
                .get("file")
                .and_then(|f| f.get("file_data"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    TranslateError::invalid(
                        "file parts need file_data (a base64 data URL); file_id is not supported",
                        Some(param),
                    )
                })?;
            media_part(url, Some("application/pdf"), param)
        }
        other => Err(TranslateError::invalid(
            format!("content part type `{other}` is not supported by gemini"),
            Some(param),
        )),
    }
}

fn assistant_parts(msg: &Message, i: usize) -> Result<Vec<Part>, TranslateError> {
    let mut out: Vec<Part> = match &msg.content {
        Some(c) => text_part(&c.joined_text()).into_iter().collect(),
        None => Vec::new(),
    };
    let signatures = msg.extra.get(THOUGHT_SIGNATURES).and_then(Value::as_object);
    for (k, call) in msg.tool_calls.iter().flatten().enumerate() {
        let param = format!("messages[{i}].tool_calls[{k}].function.arguments");
        let args_text = call.function.arguments.trim();
        let args: Value = if args_text.is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(args_text).map_err(|e| {
                TranslateError::invalid(
                    format!("tool call arguments are not valid JSON: {e}"),
                    Some(&param),
                )
            })?
        };
        if !args.is_object() {
            return Err(TranslateError::invalid(
                "tool call arguments must be a JSON object",
                Some(&param),
            ));
        }
        let mut signature = signatures
            .and_then(|s| s.get(&call.id))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if k == 0 && signature.is_none() {
            signature = Some(SKIP_SIGNATURE.to_owned());
        }
        out.push(Part {
            function_call: Some(GFunctionCall {
                id: (!call.id.is_empty()).then(|| call.id.clone()),
                name: call.function.name.clone(),
                args: Some(args),
            }),
            thought_signature: signature,
            ..Part::default()
        });
    }
    Ok(out)
}

/// A `tool` (or legacy `function`) message → `functionResponse`, its name recovered from the
/// nearest preceding assistant tool call with the same id.
fn tool_result_part(messages: &[Message], i: usize) -> Result<Part, TranslateError> {
    let msg = &messages[i];
    let id = msg.tool_call_id.as_deref().filter(|id| !id.is_empty());
    let from_history = id.and_then(|id| {
        messages[..i]
            .iter()
            .rev()
            .filter(|m| m.role == Role::Assistant)
            .flat_map(|m| m.tool_calls.iter().flatten())
            .find(|c| c.id == id)
            .map(|c| c.function.name.clone())
    });
    let name = from_history.or_else(|| msg.name.clone()).ok_or_else(|| {
        let message = match id {
            Some(id) => format!("no preceding assistant tool call has id `{id}`"),
            None => "tool messages need a tool_call_id".to_owned(),
        };
        TranslateError::invalid(message, Some(&format!("messages[{i}].tool_call_id")))
    })?;
    let text = msg
        .content
        .as_ref()
        .map(Content::joined_text)
        .unwrap_or_default();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => v,
        _ => serde_json::json!({ "content": text }),
    };
    Ok(Part {
        function_response: Some(FunctionResponse {
            id: id.map(str::to_owned),
            name,
            response,
        }),
        ..Part::default()
    })
}

fn encode_tools(tools: Option<&[Tool]>) -> Result<Option<Vec<GTool>>, TranslateError> {
    let Some(tools) = tools.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let mut decls = Vec::with_capacity(tools.len());
    for (i, t) in tools.iter().enumerate() {
        if t.kind != "function" {
            return Err(TranslateError::Unsupported {
                param: format!("tools[{i}].type={}", t.kind),
                provider: "gemini".to_owned(),
            });
        }
        decls.push(FunctionDeclaration {
            name: t.function.name.clone(),
            description: t.function.description.clone(),
            parameters: t
                .function
                .parameters
                .as_ref()
                .and_then(schema::clean_parameters),
        });
    }
    Ok(Some(vec![GTool {
        function_declarations: Some(decls),
        ..GTool::default()
    }]))
}

fn encode_tool_choice(choice: &ToolChoice) -> Result<ToolConfig, TranslateError> {
    let (mode, allowed) = match choice {
        ToolChoice::Mode(m) => match m.as_str() {
            "auto" => ("AUTO", None),
            "none" => ("NONE", None),
            "required" => ("ANY", None),
            other => {
                return Err(TranslateError::invalid(
                    format!("unknown tool_choice `{other}`"),
                    Some("tool_choice"),
                ))
            }
        },
        ToolChoice::Named(named) => ("ANY", Some(vec![named.function.name.clone()])),
    };
    Ok(ToolConfig {
        function_calling_config: Some(FunctionCallingConfig {
            mode: Some(mode.to_owned()),
            allowed_function_names: allowed,
        }),
    })
}

fn generation_config(
    req: &ChatRequest,
    model: &str,
) -> Result<Option<GenerationConfig>, TranslateError> {
    let mut cfg = GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.extra.get("top_k").and_then(Value::as_u64),
        candidate_count: req.n,
        max_output_tokens: req.output_cap(),
        stop_sequences: req
            .stop
            .as_ref()
            .map(|s| s.to_vec())
            .filter(|v| !v.is_empty()),
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        seed: req.seed,
        ..GenerationConfig::default()
    };
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            cfg.response_mime_type = Some("application/json".to_owned());
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            cfg.response_mime_type = Some("application/json".to_owned());
            cfg.response_schema = json_schema.schema.as_ref().map(schema::clean);
        }
    }
    if let Some(effort) = &req.reasoning_effort {
        cfg.thinking_config = Some(thinking_config(effort, model)?);
    }
    Ok((cfg != GenerationConfig::default()).then_some(cfg))
}

/// `reasoning_effort` → `thinkingConfig`.
///
/// - Gemini 3 models (`gemini-3*`): `thinkingLevel`, using only the levels every 3-generation
///   model accepts: `none`/`minimal`/`low` → `LOW`, `medium`/`high` → `HIGH`.
/// - Other models: `thinkingBudget` with the budgets of Google's OpenAI-compatible endpoint:
///   `minimal` 128, `low` 1024, `medium` 8192, `high` 24576; `none` → 0 (off), except on `pro`
///   models, which cannot disable thinking and get their minimum, 128.
/// - `includeThoughts` is true unless the effort is `none`, so thought summaries come back as
///   `reasoning_content`.
pub(crate) fn thinking_config(effort: &str, model: &str) -> Result<ThinkingConfig, TranslateError> {
    let effort = effort.to_ascii_lowercase();
    let model = model.to_ascii_lowercase();
    let known = ["none", "minimal", "low", "medium", "high"];
    if !known.contains(&effort.as_str()) {
        return Err(TranslateError::invalid(
            format!(
                "unknown reasoning_effort `{effort}` (expected none, minimal, low, medium or high)"
            ),
            Some("reasoning_effort"),
        ));
    }
    let include_thoughts = Some(effort != "none");
    if model.contains("gemini-3") {
        let level = if matches!(effort.as_str(), "medium" | "high") {
            "HIGH"
        } else {
            "LOW"
        };
        return Ok(ThinkingConfig {
            thinking_budget: None,
            thinking_level: Some(level.to_owned()),
            include_thoughts,
        });
    }
    let budget = match effort.as_str() {
        "none" if model.contains("pro") => 128,
        "none" => 0,
        "minimal" => 128,
        "low" => 1024,
        "medium" => 8192,
        _ => 24576,
    };
    Ok(ThinkingConfig {
        thinking_budget: Some(budget),
        thinking_level: None,
        include_thoughts,
    })
}
