//! The validated configuration that the rest of the gateway consumes.

use std::net::SocketAddr;
use std::time::Duration;

use switchyard_providers::{ErrorClass, ProviderSpec};

use crate::Secret;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listener and edge settings.
    pub server: ServerConfig,
    /// Default timeouts of every deployment.
    pub timeouts: Timeouts,
    /// Defaults for groups that do not set their own.
    pub routing: RoutingDefaults,
    /// Upstream accounts, configured and from the environment.
    pub providers: Vec<ProviderConfig>,
    /// Model groups by public name.
    pub models: Vec<ModelGroup>,
    /// Ordered conditional routing rules (CEL source; compiled by the engine at load).
    pub rules: Vec<RuleConfig>,
    /// Egress proxy for upstream calls, from the environment.
    pub proxy: ProxyConfig,
}

/// The egress proxy, from the conventional variables (`HTTPS_PROXY`, `HTTP_PROXY`,
/// `ALL_PROXY`, `NO_PROXY`, upper or lower case, as curl and the OpenAI SDK read them).
/// Values may carry credentials (`http://user:pass@proxy:3128`), hence [`Secret`].
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    /// Proxy for `https://` upstreams.
    pub https: Option<Secret>,
    /// Proxy for `http://` upstreams.
    pub http: Option<Secret>,
    /// Proxy for both when the specific one is unset.
    pub all: Option<Secret>,
    /// Hosts, domains and networks reached directly (comma separated; `*` for all).
    pub no_proxy: Option<String>,
}

impl ProxyConfig {
    /// Whether any proxy is set.
    pub fn is_set(&self) -> bool {
        self.https.is_some() || self.http.is_some() || self.all.is_some()
    }
}

impl Config {
    /// The provider with `name`.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// The model group with `name`.
    pub fn model(&self, name: &str) -> Option<&ModelGroup> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// Listener and edge settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind. CLI `--listen` overrides it.
    pub listen: SocketAddr,
    /// Gateway master key; when set, every request must present it.
    pub master_key: Option<Secret>,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// What to do with parameters an upstream does not support.
    pub unsupported_params: ParamPolicy,
    /// How long a client may take to send a request's head once its first byte arrived
    /// (slow-loris protection).
    pub client_header_timeout: Duration,
    /// How long a client connection may sit idle between requests before it is closed.
    pub client_idle_timeout: Duration,
    /// Busy polling: after bytes arrive from a client, the runtime keeps polling its sockets
    /// for this long instead of sleeping, so that the next event finds the CPU awake. `None`
    /// (the default) sleeps at once.
    pub busy_poll: Option<Duration>,
}

/// Policy for request parameters the chosen provider does not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamPolicy {
    /// Drop them and list them in the `x-switchyard-dropped-params` response header.
    Drop,
    /// Refuse the request with a 400 naming the parameter.
    Reject,
}

impl ParamPolicy {
    /// Parses `drop` / `reject`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "drop" => Some(Self::Drop),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

/// Upstream timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP/TLS connect.
    pub connect: Duration,
    /// Until the response head (non-stream) or first stream event arrives: the
    /// time-to-first-token deadline that triggers failover.
    pub first_byte: Duration,
    /// Longest silence between stream events.
    pub idle: Duration,
    /// One overall deadline for the request, shared by all its attempts.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            first_byte: Duration::from_secs(300),
            idle: Duration::from_secs(30),
            total: Duration::from_secs(600),
        }
    }
}

/// One upstream account.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Name used in deployments and `name/model` ids.
    pub name: String,
    /// Catalog entry (dialect, auth, quirks).
    pub spec: &'static ProviderSpec,
    /// Base URL without trailing slash.
    pub base_url: String,
    /// Credential, if the provider needs one.
    pub api_key: Option<Secret>,
    /// Azure `api-version`.
    pub api_version: Option<String>,
    /// Timeouts for this provider's deployments.
    pub timeouts: Timeouts,
    /// Parameters to treat as unsupported in addition to the catalog's quirks.
    pub extra_unsupported: Vec<String>,
    /// Came from environment variables rather than the file.
    pub from_env: bool,
    /// Which HTTP version upstream calls use.
    pub http: HttpVersion,
    /// Requests in flight on one HTTP/2 connection before another is opened
    /// (`http2_max_streams`): at most the server's `SETTINGS_MAX_CONCURRENT_STREAMS`, or
    /// requests beyond it wait for a free stream instead of going out on a new connection.
    pub http2_max_streams: usize,
    /// Extra trust anchors for this provider's TLS (`ca_file`), added to the built-in roots.
    pub ca: Option<CaBundle>,
}

/// The HTTP version of a provider's upstream calls (`http2:` in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpVersion {
    /// `http2` unset: HTTP/2 where the server offers it by ALPN on `https://`, with many
    /// streams per connection; HTTP/1.1 otherwise (and always on `http://`).
    #[default]
    Auto,
    /// `http2: false`: HTTP/1.1 only, one connection per in-flight request.
    Http1,
    /// `http2: true`: HTTP/2 only (ALPN on `https://`, prior knowledge on `http://`).
    Http2,
}

/// Certificates (PEM) trusted for a provider in addition to the built-in web roots: a private
/// CA in front of a self-hosted model server, or a TLS-inspecting proxy.
#[derive(Debug, Clone)]
pub struct CaBundle {
    /// The file they came from.
    pub path: String,
    /// DER certificates, parsed and checked at load time.
    pub certs: std::sync::Arc<[rustls_pki_types::CertificateDer<'static>]>,
}

/// Routing strategy of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Random, proportional to weight.
    Weighted,
    /// In turn.
    RoundRobin,
    /// Lowest moving-average latency, with some exploration.
    LeastLatency,
    /// Cheapest for the request's estimated tokens.
    LowestCost,
    /// Fewest requests in flight.
    LeastBusy,
    /// Stays under each deployment's RPM/TPM.
    UsageAware,
    /// In the listed order (primary first).
    Ordered,
}

impl Strategy {
    /// Parses a strategy name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "weighted" | "simple-shuffle" | "weighted_random" => Self::Weighted,
            "round_robin" => Self::RoundRobin,
            "least_latency" | "latency" => Self::LeastLatency,
            "lowest_cost" | "cost" => Self::LowestCost,
            "least_busy" => Self::LeastBusy,
            "usage_aware" | "usage" => Self::UsageAware,
            "ordered" | "priority" => Self::Ordered,
            _ => return None,
        })
    }

    /// Config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weighted => "weighted",
            Self::RoundRobin => "round_robin",
            Self::LeastLatency => "least_latency",
            Self::LowestCost => "lowest_cost",
            Self::LeastBusy => "least_busy",
            Self::UsageAware => "usage_aware",
            Self::Ordered => "ordered",
        }
    }
}

/// A price in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Input tokens.
    pub input_per_mtok: f64,
    /// Output tokens.
    pub output_per_mtok: f64,
}

/// One deployment of a group.
#[derive(Debug, Clone)]
pub struct DeploymentConfig {
    /// Unique id (`provider/model` unless set).
    pub id: String,
    /// Provider name.
    pub provider: String,
    /// Upstream model (Azure: deployment name).
    pub model: String,
    /// Relative weight (weighted strategy).
    pub weight: f64,
    /// Region label.
    pub region: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// The provider account's requests-per-minute limit.
    pub rpm: Option<u64>,
    /// The provider account's tokens-per-minute limit.
    pub tpm: Option<u64>,
    /// Price override.
    pub price: Option<Price>,
    /// Context window override.
    pub context_window: Option<u64>,
    /// Timeouts (provider's, overridden by the group's and then the deployment's).
    pub timeouts: Timeouts,
}

/// A fallback edge.
#[derive(Debug, Clone)]
pub struct Fallback {
    /// Target group or `provider/model`.
    pub model: String,
    /// Error classes that trigger it.
    pub on: Vec<ErrorClass>,
}

/// Retry policy within one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts across the group's deployments before moving to fallbacks.
    pub attempts: u32,
    /// Base of the exponential backoff (full jitter).
    pub backoff: Duration,
    /// Cap of one backoff sleep.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Cooldown (circuit breaker) policy per deployment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CooldownPolicy {
    /// Consecutive failures within `window` that open the breaker.
    pub failures: u32,
    /// Failure counting window.
    pub window: Duration,
    /// How long the deployment stays out of rotation before a probe.
    pub duration: Duration,
}

impl Default for CooldownPolicy {
    fn default() -> Self {
        Self {
            failures: 3,
            window: Duration::from_secs(60),
            duration: Duration::from_secs(30),
        }
    }
}

/// Retry budget: retries allowed as a share of first attempts, plus a floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    /// Retries per original request, e.g. 0.2.
    pub ratio: f64,
    /// Retries per second always allowed.
    pub min_per_second: f64,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self {
            ratio: 0.5,
            min_per_second: 10.0,
        }
    }
}

/// Hedging policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hedge {
    /// Start a parallel attempt when no first byte arrived after this long.
    pub after: Duration,
    /// Extra parallel attempts at most.
    pub max: u32,
}

/// Routing defaults.
#[derive(Debug, Clone)]
pub struct RoutingDefaults {
    /// Strategy of groups that name none.
    pub strategy: Strategy,
    /// Retry policy of groups that name none.
    pub retry: RetryPolicy,
    /// Cooldown policy of groups that name none.
    pub cooldown: CooldownPolicy,
    /// Global retry budget.
    pub retry_budget: RetryBudget,
}

/// A model group: a public name and the deployments that serve it.
#[derive(Debug, Clone)]
pub struct ModelGroup {
    /// Public model name.
    pub name: String,
    /// Selection strategy.
    pub strategy: Strategy,
    /// Deployments.
    pub deployments: Vec<DeploymentConfig>,
    /// Ordered fallbacks.
    pub fallbacks: Vec<Fallback>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Cooldown policy.
    pub cooldown: CooldownPolicy,
    /// Hedging, when enabled.
    pub hedge: Option<Hedge>,
    /// Unsupported-parameter policy override.
    pub unsupported_params: Option<ParamPolicy>,
}

/// A conditional routing rule.
#[derive(Debug, Clone)]
pub struct RuleConfig {
    /// Name (for explain output and headers).
    pub name: String,
    /// CEL expression.
    pub when: String,
    /// Model (group) to route to when it matches.
    pub model: String,
    /// Path in the config, for error messages.
    pub path: String,
}

/// Error classes a fallback reacts to by default.
pub const DEFAULT_FALLBACK_ON: &[ErrorClass] = &[
    ErrorClass::RateLimited,
    ErrorClass::Overloaded,
    ErrorClass::ServerError,
    ErrorClass::Timeout,
    ErrorClass::Connect,
    ErrorClass::Malformed,
    ErrorClass::StreamBroken,
    ErrorClass::Auth,
    ErrorClass::NotFound,
];

/// Parses an error-class name used in `fallbacks[].on`.
pub fn parse_error_class(s: &str) -> Option<&'static [ErrorClass]> {
    use ErrorClass as E;
    Some(match s {
        "rate_limited" | "429" => &[E::RateLimited],
        "overloaded" => &[E::Overloaded],
        "server_error" | "5xx" => &[E::ServerError, E::Overloaded, E::Malformed],
        "timeout" => &[E::Timeout],
        "connect" | "connection" => &[E::Connect],
        "context_too_long" | "context_window_exceeded" => &[E::ContextTooLong],
        "content_policy" => &[E::ContentPolicy],
        "upstream_auth" | "auth" => &[E::Auth],
        "not_found" => &[E::NotFound],
        "stream_broken" => &[E::StreamBroken],
        "malformed" => &[E::Malformed],
        _ => return None,
    })
}
