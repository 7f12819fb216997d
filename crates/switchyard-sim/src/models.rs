//! Fixed model lists per dialect and flavour (`GET .../models`, `GET .../models/{id}`).

use axum::response::Response;
use serde_json::{json, Value};

use crate::dialect::openai::CREATED;
use crate::dialect::Ctx;
use crate::error::{Cause, SimError};
use crate::route::{Dialect, Flavor, Op};

fn openai_ids(flavor: Flavor) -> (&'static [&'static str], &'static str) {
    match flavor {
        Flavor::OpenAi => (
            &[
                "gpt-4o",
                "gpt-4o-mini",
                "o3-mini",
                "text-embedding-3-small",
                "text-embedding-3-large",
            ],
            "system",
        ),
        Flavor::Azure => (
            &["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"],
            "system",
        ),
        Flavor::DeepSeek => (&["deepseek-chat", "deepseek-reasoner"], "deepseek"),
        Flavor::Mistral => (
            &[
                "mistral-large-latest",
                "mistral-small-latest",
                "mistral-embed",
            ],
            "mistralai",
        ),
        Flavor::DashScope => (&["qwen-plus", "qwen-max", "text-embedding-v4"], "system"),
        Flavor::Groq => (&["llama-3.3-70b-versatile", "openai/gpt-oss-20b"], "Groq"),
        Flavor::Together => (
            &[
                "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                "BAAI/bge-base-en-v1.5",
            ],
            "together",
        ),
        Flavor::OpenRouter => (
            &[
                "openai/gpt-4o-mini",
                "anthropic/claude-sonnet-4.5",
                "google/gemini-2.5-flash",
            ],
            "openrouter",
        ),
        Flavor::Xai => (&["grok-4", "grok-3-mini"], "xai"),
        Flavor::Ollama => (&["llama3.2:latest", "nomic-embed-text:latest"], "library"),
        Flavor::Vllm => (&["Qwen/Qwen3-8B"], "vllm"),
    }
}

const ANTHROPIC: [(&str, &str, &str); 3] = [
    (
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
    ),
    (
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        "2025-10-01T00:00:00Z",
    ),
    (
        "claude-opus-4-1-20250805",
        "Claude Opus 4.1",
        "2025-08-05T00:00:00Z",
    ),
];

const GEMINI: [(&str, &str); 3] = [
    ("gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("gemini-2.5-pro", "Gemini 2.5 Pro"),
    ("gemini-embedding-001", "Gemini Embedding 001"),
];

/// Serves the models endpoints of every dialect.
pub(crate) fn serve(ctx: &Ctx<'_>) -> Response {
    let id = ctx.route.path_model;
    let single = ctx.route.op == Op::GetModel;
    let out = match ctx.route.dialect {
        Dialect::OpenAi(flavor) => {
            let (ids, owner) = openai_ids(flavor);
            let object = |id: &str| json!({"id": id, "object": "model", "created": CREATED, "owned_by": owner});
            if single {
                let id = id.unwrap_or_default();
                if !ids.contains(&id) {
                    return ctx.error(
                        &SimError::new(
                            404,
                            Cause::NotFound,
                            format!(
                                "The model `{id}` does not exist or you do not have access to it."
                            ),
                        )
                        .with_code("model_not_found"),
                    );
                }
                object(id)
            } else {
                json!({"object": "list", "data": ids.iter().map(|id| object(id)).collect::<Vec<_>>()})
            }
        }
        Dialect::Anthropic => {
            let object = |(id, name, created): (&str, &str, &str)| json!({"type": "model", "id": id, "display_name": name, "created_at": created});
            if single {
                let id = id.unwrap_or_default();
                let Some(model) = ANTHROPIC.iter().find(|m| m.0 == id) else {
                    return ctx.error(&SimError::new(404, Cause::NotFound, format!("model: {id}")));
                };
                object(*model)
            } else {
                json!({"data": ANTHROPIC.iter().map(|m| object(*m)).collect::<Vec<_>>(),
                       "has_more": false, "first_id": ANTHROPIC[0].0, "last_id": ANTHROPIC[2].0})
            }
        }
        Dialect::Gemini => {
            let object = |(id, name): (&str, &str)| -> Value {
                let methods = if id.contains("embedding") {
                    json!(["embedContent", "batchEmbedContents"])
                } else {
                    json!(["generateContent", "countTokens"])
                };
                json!({"name": format!("models/{id}"), "version": "001", "displayName": name,
                       "inputTokenLimit": 1_048_576, "outputTokenLimit": 65_536,
                       "supportedGenerationMethods": methods})
            };
            if single {
                let id = id.unwrap_or_default();
                let Some(model) = GEMINI.iter().find(|m| m.0 == id) else {
                    return ctx.error(&SimError::new(404, Cause::NotFound, format!(
                        "models/{id} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
                    )));
                };
                object(*model)
            } else {
                json!({"models": GEMINI.iter().map(|m| object(*m)).collect::<Vec<_>>()})
            }
        }
    };
    ctx.json(out.to_string().into_bytes())
}
