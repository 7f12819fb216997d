//! The engine.
pub mod attempt;
pub mod budget;
pub mod deployment;
pub mod embeddings;
pub mod engine;
pub mod error;
pub mod explain;
pub mod h1pool;
pub mod h2pool;
pub mod live;
pub mod pipe;
pub mod pricing;
pub mod proxy;
pub mod report;
pub mod request;
pub mod route;
pub mod snapshot;
pub mod transport;
mod views;

pub use engine::{ChatReply, Engine, ReplyBody};
pub use error::EngineError;
pub use request::{ChatInput, Ingress, RequestOptions};

#[cfg(test)]
mod docs_tests {
    use std::collections::HashMap;

    /// Every ```yaml block in the docs builds an engine: config valid, rules compile.
    #[test]
    fn docs_yaml_blocks_build_an_engine() {
        let env: HashMap<String, String> = [
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "GEMINI_API_KEY",
            "MISTRAL_API_KEY",
            "DEEPSEEK_API_KEY",
            "TOGETHER_API_KEY",
        ]
        .iter()
        .map(|k| ((*k).to_owned(), "sk-test".to_owned()))
        .collect();
        let docs = [
            include_str!("../../../docs/configuration.md"),
            include_str!("../../../docs/routing.md"),
        ];
        let mut n = 0;
        for doc in docs {
            for block in doc.split("```yaml").skip(1) {
                let yaml = block.split("```").next().unwrap_or_default();
                let cfg = switchyard_config::load_str(yaml, &env)
                    .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
                crate::Engine::new(cfg).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
                n += 1;
            }
        }
        assert!(n >= 4, "{n}");
    }
}
