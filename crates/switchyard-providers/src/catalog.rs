//! The catalog of known providers: dialect, auth, default base URL, environment variables and
//! compatible-family quirks. Adding an OpenAI-compatible provider is one entry in [`SPECS`].

use crate::adapter::{AuthScheme, Dialect};

/// A known provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI.
    OpenAi,
    /// Azure OpenAI (deployment URLs, `api-version`, `api-key`).
    Azure,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini (native API).
    Gemini,
    /// DeepSeek.
    DeepSeek,
    /// Mistral.
    Mistral,
    /// Qwen via DashScope compatible mode.
    DashScope,
    /// Groq.
    Groq,
    /// Together AI.
    Together,
    /// OpenRouter.
    OpenRouter,
    /// xAI.
    Xai,
    /// Ollama's OpenAI-compatible endpoint.
    Ollama,
    /// vLLM's OpenAI-compatible server.
    Vllm,
    /// Any other OpenAI-compatible server, by base URL.
    OpenAiCompatible,
}

/// Name of the reasoning text field in responses and deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningField {
    /// `reasoning_content` (DeepSeek, Qwen, xAI): the canonical name.
    ReasoningContent,
    /// `reasoning` (OpenRouter, vLLM, Groq).
    Reasoning,
}

/// Differences between members of the OpenAI-compatible family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quirks {
    /// Request parameters the provider rejects or ignores.
    pub unsupported_params: &'static [&'static str],
    /// Where reasoning text appears.
    pub reasoning_field: ReasoningField,
    /// Accepts `stream_options.include_usage`.
    pub stream_usage: bool,
    /// Accepts `n > 1`.
    pub supports_n: bool,
    /// Rejects the `developer` role (it is sent as `system` instead).
    pub developer_as_system: bool,
    /// Wants `max_tokens` rather than `max_completion_tokens`.
    pub legacy_max_tokens: bool,
    /// Rejects `messages[].name` (it is dropped).
    pub no_message_name: bool,
}

impl Quirks {
    /// OpenAI itself: everything supported.
    pub const OPENAI: Quirks = Quirks {
        unsupported_params: &["top_k"],
        reasoning_field: ReasoningField::ReasoningContent,
        stream_usage: true,
        supports_n: true,
        developer_as_system: false,
        legacy_max_tokens: false,
        no_message_name: false,
    };

    /// Whether `param` is unsupported.
    pub fn unsupported(&self, param: &str) -> bool {
        self.unsupported_params.contains(&param)
    }
}

/// Static description of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSpec {
    /// The kind.
    pub kind: ProviderKind,
    /// Name used in config and in `provider/model` ids.
    pub name: &'static str,
    /// Wire dialect.
    pub dialect: Dialect,
    /// How the key is sent.
    pub auth: AuthScheme,
    /// Default base URL (no trailing slash); empty when it must be configured.
    pub default_base_url: &'static str,
    /// Environment variables holding the key, first match wins.
    pub key_env: &'static [&'static str],
    /// Environment variable overriding the base URL, as the official SDKs read it.
    pub base_url_env: &'static str,
    /// Compatible-family quirks (OpenAI dialect only; ignored by the others).
    pub quirks: Quirks,
    /// A few current model ids, listed by `/v1/models` in zero-config mode.
    pub example_models: &'static [&'static str],
}

const fn compat(
    unsupported_params: &'static [&'static str],
    reasoning_field: ReasoningField,
    stream_usage: bool,
    supports_n: bool,
    developer_as_system: bool,
) -> Quirks {
    Quirks {
        unsupported_params,
        reasoning_field,
        stream_usage,
        supports_n,
        developer_as_system,
        legacy_max_tokens: true,
        no_message_name: false,
    }
}

/// Every known provider. Order matters only for listings.
pub static SPECS: &[ProviderSpec] = &[
    ProviderSpec {
        kind: ProviderKind::OpenAi,
        name: "openai",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://api.openai.com/v1",
        key_env: &["OPENAI_API_KEY"],
        base_url_env: "OPENAI_BASE_URL",
        quirks: Quirks::OPENAI,
        example_models: &[
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "o3-mini",
            "text-embedding-3-small",
        ],
    },
    ProviderSpec {
        kind: ProviderKind::Azure,
        name: "azure",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::ApiKey,
        default_base_url: "",
        key_env: &["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"],
        base_url_env: "AZURE_OPENAI_ENDPOINT",
        quirks: Quirks::OPENAI,
        example_models: &[],
    },
    ProviderSpec {
        kind: ProviderKind::Anthropic,
        name: "anthropic",
        dialect: Dialect::Anthropic,
        auth: AuthScheme::XApiKey,
        default_base_url: "https://api.anthropic.com",
        key_env: &["ANTHROPIC_API_KEY"],
        base_url_env: "ANTHROPIC_BASE_URL",
        quirks: Quirks::OPENAI,
        example_models: &["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5"],
    },
    ProviderSpec {
        kind: ProviderKind::Gemini,
        name: "gemini",
        dialect: Dialect::Gemini,
        auth: AuthScheme::GoogApiKey,
        default_base_url: "https://generativelanguage.googleapis.com",
        key_env: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        base_url_env: "GEMINI_BASE_URL",
        quirks: Quirks::OPENAI,
        example_models: &[
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-embedding-001",
        ],
    },
    ProviderSpec {
        kind: ProviderKind::DeepSeek,
        name: "deepseek",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://api.deepseek.com",
        key_env: &["DEEPSEEK_API_KEY"],
        base_url_env: "DEEPSEEK_BASE_URL",
        quirks: compat(
            &["n", "seed", "parallel_tool_calls"],
            ReasoningField::ReasoningContent,
            true,
            false,
            true,
        ),
        example_models: &["deepseek-chat", "deepseek-reasoner"],
    },
    ProviderSpec {
        kind: ProviderKind::Mistral,
        name: "mistral",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://api.mistral.ai/v1",
        key_env: &["MISTRAL_API_KEY"],
        base_url_env: "MISTRAL_BASE_URL",
        quirks: compat(
            &[
                "logit_bias",
                "logprobs",
                "top_logprobs",
                "user",
                "seed",
                "service_tier",
                "store",
                "metadata",
                "reasoning_effort",
            ],
            ReasoningField::ReasoningContent,
            false,
            true,
            true,
        ),
        example_models: &[
            "mistral-large-latest",
            "mistral-small-latest",
            "ministral-3b-latest",
            "mistral-embed",
        ],
    },
    ProviderSpec {
        kind: ProviderKind::DashScope,
        name: "dashscope",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        key_env: &["DASHSCOPE_API_KEY"],
        base_url_env: "DASHSCOPE_BASE_URL",
        quirks: compat(
            &["logit_bias", "service_tier", "store"],
            ReasoningField::ReasoningContent,
            true,
            true,
            true,
        ),
        example_models: &[
            "qwen-max",
            "qwen-plus",
            "qwen-turbo",
            "qwen3-coder-plus",
            "text-embedding-v3",
        ],
    },
    ProviderSpec {
        kind: ProviderKind::Groq,
        name: "groq",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://api.groq.com/openai/v1",
        key_env: &["GROQ_API_KEY"],
        base_url_env: "GROQ_BASE_URL",
        quirks: Quirks {
            no_message_name: true,
            ..compat(
                &["logprobs", "logit_bias", "top_logprobs", "n"],
                ReasoningField::Reasoning,
                true,
                false,
                false,
            )
        },
        example_models: &[
            "llama-3.3-70b-versatile",
            "llama-3.1-8b-instant",
            "openai/gpt-oss-120b",
        ],
    },
    ProviderSpec {
        kind: ProviderKind::Together,
        name: "together",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://api.together.xyz/v1",
        key_env: &["TOGETHER_API_KEY"],
        base_url_env: "TOGETHER_BASE_URL",
        quirks: compat(&[], ReasoningField::Reasoning, true, true, false),
        example_models: &[
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "deepseek-ai/DeepSeek-V3",
            "Qwen/Qwen2.5-72B-Instruct-Turbo",
        ],
    },
    ProviderSpec {
        kind: ProviderKind::OpenRouter,
        name: "openrouter",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://openrouter.ai/api/v1",
        key_env: &["OPENROUTER_API_KEY"],
        base_url_env: "OPENROUTER_BASE_URL",
        quirks: compat(&[], ReasoningField::Reasoning, true, true, false),
        example_models: &[
            "openai/gpt-4o",
            "anthropic/claude-sonnet-4.5",
            "deepseek/deepseek-chat",
        ],
    },
    ProviderSpec {
        kind: ProviderKind::Xai,
        name: "xai",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "https://api.x.ai/v1",
        key_env: &["XAI_API_KEY"],
        base_url_env: "XAI_BASE_URL",
        quirks: compat(
            &["logit_bias"],
            ReasoningField::ReasoningContent,
            true,
            true,
            false,
        ),
        example_models: &["grok-4", "grok-3-mini"],
    },
    ProviderSpec {
        kind: ProviderKind::Ollama,
        name: "ollama",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::None,
        default_base_url: "http://127.0.0.1:11434/v1",
        key_env: &[],
        base_url_env: "OLLAMA_BASE_URL",
        quirks: compat(
            &["logit_bias", "n"],
            ReasoningField::Reasoning,
            true,
            false,
            false,
        ),
        example_models: &[],
    },
    ProviderSpec {
        kind: ProviderKind::Vllm,
        name: "vllm",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "",
        key_env: &["VLLM_API_KEY"],
        base_url_env: "VLLM_BASE_URL",
        quirks: compat(&[], ReasoningField::Reasoning, true, true, false),
        example_models: &[],
    },
    ProviderSpec {
        kind: ProviderKind::OpenAiCompatible,
        name: "openai_compatible",
        dialect: Dialect::OpenAi,
        auth: AuthScheme::Bearer,
        default_base_url: "",
        key_env: &[],
        base_url_env: "",
        quirks: compat(&[], ReasoningField::ReasoningContent, true, true, false),
        example_models: &[],
    },
];

/// Looks a provider up by its config name (`qwen` is accepted for `dashscope`, `google` for
/// `gemini`, `grok` for `xai`).
pub fn spec_by_name(name: &str) -> Option<&'static ProviderSpec> {
    let name = match name {
        "qwen" => "dashscope",
        "google" => "gemini",
        "grok" => "xai",
        "azure_openai" => "azure",
        other => other,
    };
    SPECS.iter().find(|s| s.name == name)
}

/// The spec of a kind.
pub fn spec(kind: ProviderKind) -> &'static ProviderSpec {
    SPECS
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or(&SPECS[SPECS.len() - 1])
}

/// Base URL a provider uses inside the built-in simulator at `sim` (e.g. `http://127.0.0.1:4010`).
pub fn simulator_base_url(kind: ProviderKind, sim: &str) -> String {
    let path = match kind {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => "/v1",
        ProviderKind::Azure | ProviderKind::Anthropic | ProviderKind::Gemini => "",
        ProviderKind::DeepSeek => "/deepseek",
        ProviderKind::Mistral => "/mistral/v1",
        ProviderKind::DashScope => "/dashscope/compatible-mode/v1",
        ProviderKind::Groq => "/groq/openai/v1",
        ProviderKind::Together => "/together/v1",
        ProviderKind::OpenRouter => "/openrouter/api/v1",
        ProviderKind::Xai => "/xai/v1",
        ProviderKind::Ollama => "/ollama/v1",
        ProviderKind::Vllm => "/vllm/v1",
    };
    format!("{}{path}", sim.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_exactly_one_spec() {
        for s in SPECS {
            assert_eq!(
                SPECS.iter().filter(|o| o.kind == s.kind).count(),
                1,
                "{}",
                s.name
            );
            assert_eq!(spec(s.kind).name, s.name);
        }
        assert_eq!(
            spec_by_name("qwen").map(|s| s.kind),
            Some(ProviderKind::DashScope)
        );
    }
}
