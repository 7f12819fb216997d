//! Maps a request path onto a dialect, a provider flavour and an operation.

use axum::http::HeaderMap;

/// OpenAI-compatible provider whose quirks a request gets, from the first path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    OpenAi,
    Azure,
    DeepSeek,
    Mistral,
    DashScope,
    Groq,
    Together,
    OpenRouter,
    Xai,
    Ollama,
    Vllm,
}

/// The wire format family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    OpenAi(Flavor),
    Anthropic,
    Gemini,
}

/// What the request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Chat,
    /// Gemini `:streamGenerateContent`.
    StreamChat,
    Embed,
    /// Gemini `:batchEmbedContents`.
    BatchEmbed,
    CountTokens,
    ListModels,
    GetModel,
}

/// A recognised route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route<'a> {
    pub(crate) dialect: Dialect,
    pub(crate) op: Op,
    /// Model named by the path (Gemini model, Azure deployment, `/models/{id}`).
    pub(crate) path_model: Option<&'a str>,
    /// Azure deployment-style URL (requires `api-version`).
    pub(crate) azure_deployment: bool,
}

impl<'a> Route<'a> {
    fn new(dialect: Dialect, op: Op) -> Self {
        Self {
            dialect,
            op,
            path_model: None,
            azure_deployment: false,
        }
    }

    fn with_model(mut self, model: &'a str) -> Self {
        self.path_model = Some(model);
        self
    }
}

/// Parses a path; `None` means 404.
pub(crate) fn parse<'a>(path: &'a str, headers: &HeaderMap) -> Option<Route<'a>> {
    let trimmed = path.trim_end_matches('/');
    if let Some(rest) = trimmed
        .strip_prefix("/v1beta/")
        .or_else(|| trimmed.strip_prefix("/gemini/v1beta/"))
    {
        return gemini(rest);
    }
    if let Some(rest) = trimmed.strip_prefix("/v1/models/") {
        if rest.contains(':') {
            return gemini(&trimmed[4..]);
        }
    }
    if let Some(route) = anthropic(trimmed, headers) {
        return Some(route);
    }
    if let Some(rest) = trimmed.strip_prefix("/openai/deployments/") {
        let (deployment, op) = rest.split_once('/')?;
        let op = match op {
            "chat/completions" => Op::Chat,
            "embeddings" => Op::Embed,
            _ => return None,
        };
        let mut route = Route::new(Dialect::OpenAi(Flavor::Azure), op).with_model(deployment);
        route.azure_deployment = true;
        return Some(route);
    }
    let first = trimmed.get(1..)?.split('/').next()?;
    let flavor = match first {
        "v1" => Flavor::OpenAi,
        "openai" => Flavor::Azure,
        "deepseek" => Flavor::DeepSeek,
        "mistral" => Flavor::Mistral,
        "dashscope" => Flavor::DashScope,
        "groq" => Flavor::Groq,
        "together" => Flavor::Together,
        "openrouter" => Flavor::OpenRouter,
        "xai" => Flavor::Xai,
        "ollama" => Flavor::Ollama,
        "vllm" => Flavor::Vllm,
        _ => return None,
    };
    let dialect = Dialect::OpenAi(flavor);
    if trimmed.ends_with("/chat/completions") {
        return Some(Route::new(dialect, Op::Chat));
    }
    if trimmed.ends_with("/embeddings") {
        return Some(Route::new(dialect, Op::Embed));
    }
    if trimmed.ends_with("/models") {
        return Some(Route::new(dialect, Op::ListModels));
    }
    let (_, id) = trimmed.split_once("/models/")?;
    Some(Route::new(dialect, Op::GetModel).with_model(id))
}

fn anthropic<'a>(path: &'a str, headers: &HeaderMap) -> Option<Route<'a>> {
    let rest = path.strip_prefix("/anthropic").unwrap_or(path);
    let explicit = rest.len() != path.len();
    let op = match rest {
        "/v1/messages" => Op::Chat,
        "/v1/messages/count_tokens" => Op::CountTokens,
        "/v1/models" => Op::ListModels,
        _ => match rest.strip_prefix("/v1/models/") {
            Some(id) if explicit || is_anthropic_client(headers) => {
                return Some(Route::new(Dialect::Anthropic, Op::GetModel).with_model(id));
            }
            _ => return None,
        },
    };
    // `/v1/models` is shared with OpenAI: only Anthropic clients send these headers.
    if op == Op::ListModels && !explicit && !is_anthropic_client(headers) {
        return None;
    }
    Some(Route::new(Dialect::Anthropic, op))
}

fn is_anthropic_client(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
        || (headers.contains_key("x-api-key") && !headers.contains_key("authorization"))
}

fn gemini(rest: &str) -> Option<Route<'_>> {
    if rest == "models" {
        return Some(Route::new(Dialect::Gemini, Op::ListModels));
    }
    let model = rest.strip_prefix("models/")?;
    let Some((model, method)) = model.split_once(':') else {
        return Some(Route::new(Dialect::Gemini, Op::GetModel).with_model(model));
    };
    let op = match method {
        "generateContent" => Op::Chat,
        "streamGenerateContent" => Op::StreamChat,
        "embedContent" => Op::Embed,
        "batchEmbedContents" => Op::BatchEmbed,
        "countTokens" => Op::CountTokens,
        _ => return None,
    };
    Some(Route::new(Dialect::Gemini, op).with_model(model))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> Option<(Dialect, Op, Option<&str>)> {
        parse(path, &HeaderMap::new()).map(|r| (r.dialect, r.op, r.path_model))
    }

    #[test]
    fn paths() {
        use Dialect::*;
        assert_eq!(
            route("/v1/chat/completions"),
            Some((OpenAi(Flavor::OpenAi), Op::Chat, None))
        );
        assert_eq!(
            route("/deepseek/chat/completions"),
            Some((OpenAi(Flavor::DeepSeek), Op::Chat, None))
        );
        assert_eq!(
            route("/openrouter/api/v1/models/anthropic/claude"),
            Some((
                OpenAi(Flavor::OpenRouter),
                Op::GetModel,
                Some("anthropic/claude")
            ))
        );
        assert_eq!(
            route("/openai/deployments/dep1/chat/completions"),
            Some((OpenAi(Flavor::Azure), Op::Chat, Some("dep1")))
        );
        assert_eq!(route("/v1/messages"), Some((Anthropic, Op::Chat, None)));
        assert_eq!(
            route("/v1beta/models/gemini-2.5-flash:streamGenerateContent"),
            Some((Gemini, Op::StreamChat, Some("gemini-2.5-flash")))
        );
        assert_eq!(
            route("/v1/models"),
            Some((OpenAi(Flavor::OpenAi), Op::ListModels, None))
        );
        assert_eq!(route("/nope/chat"), None);
    }
}
