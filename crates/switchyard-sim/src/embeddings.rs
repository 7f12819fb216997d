//! Deterministic embeddings: unit vectors seeded by a hash of each input, in the OpenAI shape
//! (float or base64 little-endian f32) and Gemini's `embedContent` / `batchEmbedContents`.

use std::fmt::Write as _;

use axum::response::Response;
use serde_json::{json, Value};

use crate::content::{self, Rng};
use crate::dialect::{Action, Ctx};
use crate::error::{Cause, SimError};
use crate::fault::Directives;
use crate::route::Flavor;

const GARBAGE: &[u8] = b"{\"object\":\"list\",\"data\":[{\"object\":\"embedd";

/// A unit vector of `dims` floats derived from `seed`.
pub(crate) fn vector(seed: u64, dims: usize) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut values: Vec<f32> = (0..dims)
        .map(|_| ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0)
        .collect();
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        values.iter_mut().for_each(|v| *v /= norm);
    }
    values
}

/// Standard base64 (with padding) of the little-endian f32 bytes.
pub(crate) fn base64_f32(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    base64(&bytes)
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One OpenAI embedding input: its hash seed and token estimate.
fn inputs(input: &Value) -> Result<Vec<(u64, u64)>, SimError> {
    let invalid = || {
        SimError::invalid("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.")
    };
    let one = |item: &Value| -> Result<(u64, u64), SimError> {
        match item {
            Value::String(s) if !s.is_empty() => Ok((
                content::hash(s.as_bytes()),
                content::tokens_for_chars(s.chars().count()),
            )),
            Value::Array(tokens) if !tokens.is_empty() && tokens.iter().all(Value::is_u64) => Ok((
                content::hash(item.to_string().as_bytes()),
                tokens.len() as u64,
            )),
            _ => Err(invalid()),
        }
    };
    match input {
        Value::Array(items) if items.iter().all(Value::is_u64) => Ok(vec![one(input)?]),
        Value::Array(items) if !items.is_empty() => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// Serves OpenAI-shaped `POST .../embeddings`.
pub(crate) async fn openai(ctx: Ctx<'_>, flavor: Flavor, body: Value) -> Response {
    if matches!(flavor, Flavor::DeepSeek | Flavor::Groq) {
        return ctx.error(&SimError::new(404, Cause::NotFound, "Not Found"));
    }
    let Some(input) = body.get("input") else {
        return ctx.error(&SimError::invalid("'input' is a required property").with_param("input"));
    };
    let items = match inputs(input) {
        Ok(items) => items,
        Err(err) => return ctx.error(&err),
    };
    if flavor == Flavor::DashScope && items.len() > 10 {
        return ctx.error(&SimError::invalid(
            "batch size is invalid, it should not be larger than 10.",
        ));
    }
    let mut text = Directives::default();
    if let Some(s) = input.as_str() {
        text.scan(s);
    }
    if let Some(response) = faults(&ctx, &text).await {
        return response;
    }
    let default_dims = if flavor == Flavor::Mistral {
        1024
    } else {
        1536
    };
    let dims = body
        .get("dimensions")
        .and_then(Value::as_u64)
        .map_or(default_dims, |d| d as usize);
    let base64 = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let model = ctx
        .route
        .path_model
        .or_else(|| body.get("model").and_then(Value::as_str))
        .unwrap_or_default();
    let tokens: u64 = items.iter().map(|(_, t)| t).sum();
    let mut out = String::with_capacity(items.len() * dims * 12 + 128);
    out.push_str("{\"object\":\"list\",\"data\":[");
    for (i, (seed, _)) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let values = vector(*seed, dims);
        let embedding = if base64 {
            format!("\"{}\"", base64_f32(&values))
        } else {
            serde_json::to_string(&values).unwrap_or_default()
        };
        let _ = write!(
            out,
            "{{\"object\":\"embedding\",\"index\":{i},\"embedding\":{embedding}}}"
        );
    }
    let _ = write!(
        out,
        "],\"model\":{},\"usage\":{{\"prompt_tokens\":{tokens},\"total_tokens\":{tokens}}}}}",
        Value::from(model)
    );
    ctx.json(out.into_bytes())
}

/// Serves Gemini `:embedContent` (`batch == false`) and `:batchEmbedContents`.
pub(crate) async fn gemini(ctx: Ctx<'_>, body: Value, batch: bool) -> Response {
    let model = ctx.route.path_model.unwrap_or_default();
    let requests: Vec<&Value> = if batch {
        let Some(list) = body.get("requests").and_then(Value::as_array) else {
            return ctx.error(&SimError::invalid(
                "* BatchEmbedContentsRequest.requests: requests is required\n",
            ));
        };
        list.iter().collect()
    } else {
        vec![&body]
    };
    let mut text = Directives::default();
    let mut vectors = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        if batch {
            let named = request
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if named.strip_prefix("models/").unwrap_or(named) != model {
                return ctx.error(&SimError::invalid(format!(
                    "* BatchEmbedContentsRequest.requests[{i}].model: the model in the request ({named}) does not match the model in the URL (models/{model})\n"
                )));
            }
        }
        let parts = request.pointer("/content/parts").and_then(Value::as_array);
        let Some(parts) = parts else {
            return ctx.error(&SimError::invalid(
                "* EmbedContentRequest.content: content is not specified\n",
            ));
        };
        let mut joined = String::new();
        for part in parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
        {
            text.scan(part);
            joined.push_str(part);
        }
        let dims = request
            .get("outputDimensionality")
            .and_then(Value::as_u64)
            .map_or(768, |d| d as usize);
        vectors.push(vector(content::hash(joined.as_bytes()), dims));
    }
    if let Some(response) = faults(&ctx, &text).await {
        return response;
    }
    let out = if batch {
        json!({ "embeddings": vectors.iter().map(|v| json!({"values": v})).collect::<Vec<_>>() })
    } else {
        json!({ "embedding": { "values": vectors.first() } })
    };
    ctx.json(out.to_string().into_bytes())
}

/// Applies non-stream faults; `None` means answer normally.
async fn faults(ctx: &Ctx<'_>, text: &Directives) -> Option<Response> {
    let (action, extra) = ctx.decide(text);
    match action {
        Action::Status(code, retry) => return Some(ctx.error(&SimError::injected(code, retry))),
        Action::Hang => return Some(ctx.hang().await),
        Action::MidError(_) => return Some(ctx.error(&SimError::injected(500, None))),
        _ => {}
    }
    ctx.delay(extra).await;
    ctx.cut_json(&action, GARBAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn vectors_are_unit_and_deterministic() {
        let a = vector(42, 256);
        assert_eq!(a, vector(42, 256));
        let norm: f32 = a.iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}
