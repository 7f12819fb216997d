//! Configuration: `${VAR}` interpolation, raw YAML structs, and validation into [`Config`].
//!
//! Only [`Config`] leaves this crate: durations are parsed, providers resolved against the
//! catalog, references between models, providers and fallbacks checked. Errors name the field
//! path (`models[1].deployments[0].provider`) so `switchyard check` can point at the mistake.

mod duration;
mod env;
mod error;
mod model;
mod raw;
mod secret;
mod validate;

pub use duration::parse_duration;
pub use env::interpolate;
pub use error::ConfigError;
pub use model::*;
pub use secret::Secret;
pub use validate::{
    DEFAULT_BODY_LIMIT, DEFAULT_CLIENT_HEADER_TIMEOUT, DEFAULT_CLIENT_IDLE_TIMEOUT,
    DEFAULT_HTTP2_MAX_STREAMS, DEFAULT_LISTEN, MAX_HTTP2_MAX_STREAMS,
};

use std::collections::HashMap;

/// Parses and validates a YAML config. `env` supplies `${VAR}` values and the zero-config
/// provider keys; tests pass their own map.
pub fn load_str(yaml: &str, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
    let text = interpolate(yaml, env)?;
    let raw: raw::RawConfig = if text.trim().is_empty() {
        raw::RawConfig::default()
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.location().map(|l| l.line());
            ConfigError::Parse {
                path,
                line,
                message: inner.to_string(),
            }
        })?
    };
    validate::validate(raw, env)
}

/// The config used when no file is given: every provider whose key is in `env`.
pub fn from_env(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
    validate::validate(raw::RawConfig::default(), env)
}

#[cfg(test)]
mod tests;
