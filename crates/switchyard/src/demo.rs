//! Demo mode: with no config and no provider key, the built-in simulator serves every
//! provider on a loopback port, so a newcomer sees the whole gateway work with one command.

use std::collections::HashMap;

use switchyard_providers::catalog::{simulator_base_url, SPECS};
use switchyard_providers::ProviderKind;

/// Key the demo providers use; the simulator accepts any key.
pub(crate) const DEMO_KEY: &str = "sk-switchyard-demo";

/// Whether `env` configures no provider at all.
pub(crate) fn no_provider_keys(env: &HashMap<String, String>) -> bool {
    SPECS.iter().all(|s| {
        s.key_env
            .iter()
            .all(|k| env.get(*k).is_none_or(String::is_empty))
            && (s.kind != ProviderKind::Ollama
                || env.get(s.base_url_env).is_none_or(String::is_empty))
    })
}

/// An environment that points every provider with a public API at the simulator.
pub(crate) fn demo_env(sim_base: &str, env: &HashMap<String, String>) -> HashMap<String, String> {
    let mut out = env.clone();
    for s in SPECS {
        let (Some(key_var), false) = (s.key_env.first(), s.base_url_env.is_empty()) else {
            continue;
        };
        if matches!(s.kind, ProviderKind::Azure | ProviderKind::Vllm) {
            continue;
        }
        out.insert((*key_var).to_owned(), DEMO_KEY.to_owned());
        out.insert(
            s.base_url_env.to_owned(),
            simulator_base_url(s.kind, sim_base),
        );
    }
    out
}
