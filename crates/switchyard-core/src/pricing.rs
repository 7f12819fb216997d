//! The price and context-window table, derived from the bundled LiteLLM data by
//! `scripts/gen_models.py` and embedded at build time.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// One model's price and limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelInfo {
    /// Provider name (catalog name).
    pub provider: String,
    /// Model id at that provider.
    pub model: String,
    /// `chat` or `embedding`.
    pub mode: String,
    /// USD per million input tokens.
    pub input: Option<f64>,
    /// USD per million output tokens.
    pub output: Option<f64>,
    /// USD per million cached input tokens.
    pub cached_input: Option<f64>,
    /// Context window in tokens.
    pub context: Option<u64>,
    /// Output cap in tokens.
    pub max_output: Option<u64>,
    /// Accepts reasoning parameters (`reasoning_effort`).
    #[serde(default)]
    pub reasoning: bool,
}

static TABLE: LazyLock<Vec<ModelInfo>> =
    LazyLock::new(|| serde_json::from_str(include_str!("../data/models.json")).unwrap_or_default());

static INDEX: LazyLock<HashMap<(String, String), usize>> = LazyLock::new(|| {
    TABLE
        .iter()
        .enumerate()
        .map(|(i, m)| ((m.provider.clone(), m.model.clone()), i))
        .collect()
});

/// Every known model.
pub fn all() -> &'static [ModelInfo] {
    &TABLE
}

/// Looks up a model of a provider kind (catalog name).
pub fn lookup(provider_kind: &str, model: &str) -> Option<&'static ModelInfo> {
    INDEX
        .get(&(provider_kind.to_owned(), model.to_owned()))
        .map(|&i| &TABLE[i])
}

/// Which provider serves a bare model name (`gpt-4o` → openai), from the table, then by prefix.
pub fn provider_for_bare_model(model: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        ("gpt-", "openai"),
        ("o1", "openai"),
        ("o3", "openai"),
        ("o4", "openai"),
        ("chatgpt-", "openai"),
        ("text-embedding-", "openai"),
        ("claude-", "anthropic"),
        ("gemini-", "gemini"),
        ("deepseek-", "deepseek"),
        ("mistral-", "mistral"),
        ("ministral-", "mistral"),
        ("codestral-", "mistral"),
        ("magistral-", "mistral"),
        ("open-mistral", "mistral"),
        ("pixtral-", "mistral"),
        ("qwen", "dashscope"),
        ("grok-", "xai"),
    ];
    const NATIVE: &[&str] = &[
        "openai",
        "anthropic",
        "gemini",
        "deepseek",
        "mistral",
        "dashscope",
        "xai",
    ];
    if let Some(m) = TABLE
        .iter()
        .find(|m| m.model == model && NATIVE.contains(&m.provider.as_str()))
    {
        return NATIVE.iter().copied().find(|p| *p == m.provider);
    }
    PREFIXES
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_bare_names_resolve() {
        assert!(all().len() > 100);
        let m = lookup("anthropic", "claude-sonnet-4-5").unwrap();
        assert_eq!(m.context, Some(200_000));
        assert_eq!(provider_for_bare_model("gpt-4o-mini"), Some("openai"));
        assert_eq!(
            provider_for_bare_model("claude-haiku-4-5"),
            Some("anthropic")
        );
        assert_eq!(provider_for_bare_model("qwen-max"), Some("dashscope"));
        assert_eq!(provider_for_bare_model("llama-3"), None);
    }
}
