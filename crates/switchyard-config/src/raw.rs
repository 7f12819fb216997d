//! Raw YAML structs, exactly as written. Unknown fields are errors.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub(crate) version: Option<u32>,
    #[serde(default)]
    pub(crate) server: RawServer,
    #[serde(default)]
    pub(crate) timeouts: RawTimeouts,
    #[serde(default)]
    pub(crate) routing: RawRouting,
    #[serde(default)]
    pub(crate) providers: Vec<RawProvider>,
    #[serde(default)]
    pub(crate) models: Vec<RawModel>,
    #[serde(default)]
    pub(crate) rules: Vec<RawRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub(crate) listen: Option<String>,
    pub(crate) master_key: Option<String>,
    pub(crate) body_limit: Option<RawSize>,
    pub(crate) unsupported_params: Option<String>,
    pub(crate) providers_from_env: Option<bool>,
    pub(crate) client_header_timeout: Option<String>,
    pub(crate) client_idle_timeout: Option<String>,
    pub(crate) busy_poll: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawSize {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    pub(crate) connect: Option<String>,
    pub(crate) first_byte: Option<String>,
    pub(crate) idle: Option<String>,
    pub(crate) total: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouting {
    pub(crate) strategy: Option<String>,
    pub(crate) retry: Option<RawRetry>,
    pub(crate) cooldown: Option<RawCooldown>,
    pub(crate) retry_budget: Option<RawRetryBudget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub(crate) name: String,
    pub(crate) kind: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) api_version: Option<String>,
    pub(crate) timeouts: Option<RawTimeouts>,
    #[serde(default)]
    pub(crate) unsupported_params: Vec<String>,
    pub(crate) http2: Option<bool>,
    pub(crate) http2_max_streams: Option<u64>,
    pub(crate) ca_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub(crate) name: String,
    pub(crate) strategy: Option<String>,
    #[serde(default)]
    pub(crate) deployments: Vec<RawDeployment>,
    #[serde(default)]
    pub(crate) fallbacks: Vec<RawFallback>,
    pub(crate) retry: Option<RawRetry>,
    pub(crate) cooldown: Option<RawCooldown>,
    pub(crate) hedge: Option<RawHedge>,
    pub(crate) timeouts: Option<RawTimeouts>,
    pub(crate) unsupported_params: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawDeployment {
    Short(String),
    Full(Box<RawDeploymentFull>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeploymentFull {
    pub(crate) id: Option<String>,
    pub(crate) provider: String,
    pub(crate) model: String,
    pub(crate) weight: Option<f64>,
    pub(crate) region: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    pub(crate) rpm: Option<u64>,
    pub(crate) tpm: Option<u64>,
    pub(crate) price: Option<RawPrice>,
    pub(crate) timeouts: Option<RawTimeouts>,
    pub(crate) context_window: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrice {
    pub(crate) input_per_mtok: f64,
    pub(crate) output_per_mtok: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFallback {
    pub(crate) model: String,
    pub(crate) on: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetry {
    pub(crate) attempts: Option<u32>,
    pub(crate) backoff: Option<String>,
    pub(crate) max_backoff: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCooldown {
    pub(crate) failures: Option<u32>,
    pub(crate) window: Option<String>,
    pub(crate) duration: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetryBudget {
    pub(crate) ratio: Option<f64>,
    pub(crate) min_per_second: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHedge {
    pub(crate) after: String,
    pub(crate) max: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) name: Option<String>,
    pub(crate) when: String,
    pub(crate) model: String,
}
