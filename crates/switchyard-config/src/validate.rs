//! Raw → validated: defaults, references, durations, environment providers.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use switchyard_providers::catalog::{spec_by_name, SPECS};
use switchyard_providers::ProviderKind;

use crate::error::ConfigError;
use crate::model::*;
use crate::raw::*;
use crate::{parse_duration, Secret};

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4000";
/// Default body limit: 10 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;
/// Default time a client has to send a request's head once it started (`server.client_header_timeout`).
pub const DEFAULT_CLIENT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Default idle time of a client keep-alive connection (`server.client_idle_timeout`): longer
/// than the 60 s idle timeout of common load balancers (AWS ALB, nginx upstream keep-alive), so
/// that the balancer, not the gateway, closes an idle connection and never reuses one the
/// gateway has just closed.
pub const DEFAULT_CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Default requests in flight per upstream HTTP/2 connection (`http2_max_streams`): the least
/// RFC 9113 recommends a server allow (100), which is also what the large providers' front ends
/// advertise or more.
pub const DEFAULT_HTTP2_MAX_STREAMS: usize = 100;
/// The most `http2_max_streams` accepts: each stream may buffer up to its 1 MiB receive window,
/// so a connection's window is this many MiB.
pub const MAX_HTTP2_MAX_STREAMS: usize = 1000;

pub(crate) fn validate(
    raw: RawConfig,
    env: &HashMap<String, String>,
) -> Result<Config, ConfigError> {
    if let Some(v) = raw.version {
        if v != 1 {
            return Err(ConfigError::invalid(
                "version",
                format!("unsupported version {v}; this build reads version 1"),
            ));
        }
    }
    let server = server(&raw.server, env)?;
    let timeouts = parse_timeouts(&raw.timeouts, Timeouts::default(), "timeouts")?;
    let routing = routing(&raw.routing)?;

    let mut providers = Vec::new();
    let mut names = HashSet::new();
    for (i, p) in raw.providers.iter().enumerate() {
        let path = format!("providers[{i}]");
        let kind_name = p.kind.as_deref().unwrap_or(&p.name);
        let spec = spec_by_name(kind_name).ok_or_else(|| {
            ConfigError::invalid(
                format!("{path}.kind"),
                format!(
                    "unknown provider kind `{kind_name}`; known: {}",
                    known_kinds()
                ),
            )
        })?;
        if !names.insert(p.name.clone()) {
            return Err(ConfigError::invalid(
                format!("{path}.name"),
                format!("duplicate provider `{}`", p.name),
            ));
        }
        if p.name.contains('/') {
            return Err(ConfigError::invalid(
                format!("{path}.name"),
                "provider names cannot contain `/`",
            ));
        }
        let base_url = match p.base_url.as_deref().filter(|s| !s.is_empty()) {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => env_base_url(spec, env).unwrap_or_else(|| spec.default_base_url.to_owned()),
        };
        check_url(&base_url, &format!("{path}.base_url"))?;
        let provider_timeouts = match &p.timeouts {
            Some(t) => parse_timeouts(t, timeouts, &format!("{path}.timeouts"))?,
            None => timeouts,
        };
        providers.push(ProviderConfig {
            name: p.name.clone(),
            spec,
            base_url,
            api_key: p.api_key.clone().filter(|k| !k.is_empty()).map(Secret::new),
            api_version: p.api_version.clone(),
            timeouts: provider_timeouts,
            extra_unsupported: p.unsupported_params.clone(),
            from_env: false,
            http: match p.http2 {
                None => HttpVersion::Auto,
                Some(false) => HttpVersion::Http1,
                Some(true) => HttpVersion::Http2,
            },
            http2_max_streams: match p.http2_max_streams {
                None => DEFAULT_HTTP2_MAX_STREAMS,
                Some(n) => usize::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_HTTP2_MAX_STREAMS).contains(n))
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            format!("{path}.http2_max_streams"),
                            format!(
                                "{n} is out of range; requests per HTTP/2 connection must be 1 to {MAX_HTTP2_MAX_STREAMS} (at most the server's SETTINGS_MAX_CONCURRENT_STREAMS)"
                            ),
                        )
                    })?,
            },
            ca: match p.ca_file.as_deref().filter(|f| !f.is_empty()) {
                Some(file) => Some(ca_bundle(file, &format!("{path}.ca_file"))?),
                None => None,
            },
        });
    }
    if raw.server.providers_from_env.unwrap_or(true) {
        for spec in SPECS {
            if names.contains(spec.name) {
                continue;
            }
            let Some(key) = spec
                .key_env
                .iter()
                .find_map(|k| env.get(*k).filter(|v| !v.is_empty()))
            else {
                // Ollama needs no key: enabled by its base URL variable.
                if spec.kind == ProviderKind::Ollama {
                    if let Some(url) = env_base_url(spec, env) {
                        providers.push(env_provider(spec, url, None, env, timeouts));
                    }
                }
                continue;
            };
            let Some(url) = env_base_url(spec, env).or_else(|| {
                (!spec.default_base_url.is_empty()).then(|| spec.default_base_url.to_owned())
            }) else {
                continue;
            };
            providers.push(env_provider(
                spec,
                url,
                Some(Secret::new(key.clone())),
                env,
                timeouts,
            ));
        }
    }

    let mut models = Vec::new();
    let mut model_names = HashSet::new();
    for (i, m) in raw.models.iter().enumerate() {
        let path = format!("models[{i}]");
        if !model_names.insert(m.name.clone()) {
            return Err(ConfigError::invalid(
                format!("{path}.name"),
                format!("duplicate model `{}`", m.name),
            ));
        }
        models.push(model_group(m, &path, &providers, &routing, timeouts)?);
    }
    for (i, m) in models.iter().enumerate() {
        for (j, f) in m.fallbacks.iter().enumerate() {
            if !model_names.contains(&f.model) && !is_direct_target(&f.model, &providers) {
                return Err(ConfigError::invalid(
                    format!("models[{i}].fallbacks[{j}].model"),
                    format!("`{}` is neither a configured model nor `provider/model` of a configured provider", f.model),
                ));
            }
        }
    }
    let mut rules = Vec::new();
    for (i, r) in raw.rules.iter().enumerate() {
        let path = format!("rules[{i}]");
        if !model_names.contains(&r.model) && !is_direct_target(&r.model, &providers) {
            return Err(ConfigError::invalid(
                format!("{path}.model"),
                format!("`{}` is neither a configured model nor `provider/model` of a configured provider", r.model),
            ));
        }
        rules.push(RuleConfig {
            name: r.name.clone().unwrap_or_else(|| format!("rule-{i}")),
            when: r.when.clone(),
            model: r.model.clone(),
            path,
        });
    }
    Ok(Config {
        server,
        timeouts,
        routing,
        providers,
        models,
        rules,
        proxy: proxy_from_env(env)?,
    })
}

/// The egress proxy variables; the lower-case spelling wins, as in curl. Only HTTP proxies
/// (`http://host:port`, or `host:port`) are supported: the gateway tunnels with `CONNECT`.
fn proxy_from_env(env: &HashMap<String, String>) -> Result<ProxyConfig, ConfigError> {
    let var = |name: &str| -> Result<Option<String>, ConfigError> {
        let Some(v) = env
            .get(&name.to_ascii_lowercase())
            .or_else(|| env.get(name))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        if name != "NO_PROXY" {
            if let Some((scheme, _)) = v.split_once("://") {
                if !scheme.eq_ignore_ascii_case("http") {
                    return Err(ConfigError::invalid(
                        name,
                        format!(
                            "`{scheme}://` proxies are not supported; use an HTTP proxy (`http://host:port`), which the gateway tunnels through with CONNECT"
                        ),
                    ));
                }
            }
        }
        Ok(Some(v.to_owned()))
    };
    Ok(ProxyConfig {
        https: var("HTTPS_PROXY")?.map(Secret::new),
        http: var("HTTP_PROXY")?.map(Secret::new),
        all: var("ALL_PROXY")?.map(Secret::new),
        no_proxy: var("NO_PROXY")?,
    })
}

fn env_provider(
    spec: &'static switchyard_providers::ProviderSpec,
    base_url: String,
    api_key: Option<Secret>,
    env: &HashMap<String, String>,
    timeouts: Timeouts,
) -> ProviderConfig {
    let api_version = (spec.kind == ProviderKind::Azure)
        .then(|| {
            env.get("AZURE_OPENAI_API_VERSION")
                .or_else(|| env.get("OPENAI_API_VERSION"))
                .cloned()
        })
        .flatten();
    ProviderConfig {
        name: spec.name.to_owned(),
        spec,
        base_url: base_url.trim_end_matches('/').to_owned(),
        api_key,
        api_version,
        timeouts,
        extra_unsupported: Vec::new(),
        from_env: true,
        http: HttpVersion::Auto,
        http2_max_streams: DEFAULT_HTTP2_MAX_STREAMS,
        ca: None,
    }
}

/// Reads and parses the PEM certificates of `ca_file`.
fn ca_bundle(file: &str, path: &str) -> Result<CaBundle, ConfigError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let text = std::fs::read(file).map_err(|source| ConfigError::Io {
        path: file.to_owned(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ConfigError::invalid(path, format!("{file}: not a PEM certificate file: {e}"))
        })?;
    if certs.is_empty() {
        return Err(ConfigError::invalid(
            path,
            format!("{file}: no `BEGIN CERTIFICATE` block found"),
        ));
    }
    Ok(CaBundle {
        path: file.to_owned(),
        certs: certs.into(),
    })
}

fn env_base_url(
    spec: &switchyard_providers::ProviderSpec,
    env: &HashMap<String, String>,
) -> Option<String> {
    if spec.base_url_env.is_empty() {
        return None;
    }
    env.get(spec.base_url_env)
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_end_matches('/').to_owned())
}

fn known_kinds() -> String {
    SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

fn check_url(url: &str, path: &str) -> Result<(), ConfigError> {
    if url.is_empty() {
        return Err(ConfigError::invalid(
            path,
            "a base_url is required for this provider kind",
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::invalid(
            path,
            format!("`{url}` must start with http:// or https://"),
        ));
    }
    Ok(())
}

/// `provider/model` where `provider` is configured.
pub(crate) fn is_direct_target(name: &str, providers: &[ProviderConfig]) -> bool {
    name.split_once('/')
        .is_some_and(|(p, m)| !m.is_empty() && providers.iter().any(|c| c.name == p))
}

fn server(raw: &RawServer, env: &HashMap<String, String>) -> Result<ServerConfig, ConfigError> {
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        ConfigError::invalid(
            "server.listen",
            format!("`{listen_text}` is not an address like 127.0.0.1:4000"),
        )
    })?;
    let master_key = raw
        .master_key
        .clone()
        .or_else(|| env.get("SWITCHYARD_MASTER_KEY").cloned())
        .filter(|k| !k.is_empty())
        .map(Secret::new);
    let body_limit = match &raw.body_limit {
        None => DEFAULT_BODY_LIMIT,
        Some(RawSize::Bytes(b)) => usize::try_from(*b).unwrap_or(usize::MAX),
        Some(RawSize::Text(t)) => parse_size(t).ok_or_else(|| {
            ConfigError::invalid(
                "server.body_limit",
                format!("`{t}` is not a size like 10MiB or 512KB"),
            )
        })?,
    };
    let unsupported_params = match raw.unsupported_params.as_deref() {
        None => ParamPolicy::Drop,
        Some(s) => ParamPolicy::parse(s).ok_or_else(|| {
            ConfigError::invalid(
                "server.unsupported_params",
                format!("`{s}` must be `drop` or `reject`"),
            )
        })?,
    };
    let client_header_timeout = duration(
        &raw.client_header_timeout,
        DEFAULT_CLIENT_HEADER_TIMEOUT,
        "server.client_header_timeout",
    )?;
    let client_idle_timeout = duration(
        &raw.client_idle_timeout,
        DEFAULT_CLIENT_IDLE_TIMEOUT,
        "server.client_idle_timeout",
    )?;
    for (path, d) in [
        ("server.client_header_timeout", client_header_timeout),
        ("server.client_idle_timeout", client_idle_timeout),
    ] {
        if d < Duration::from_secs(1) {
            return Err(ConfigError::invalid(
                path,
                "must be at least 1s (the gateway checks client connections once a second)",
            ));
        }
    }
    let busy_poll = duration(&raw.busy_poll, Duration::ZERO, "server.busy_poll")?;
    let busy_poll = (!busy_poll.is_zero()).then_some(busy_poll);
    Ok(ServerConfig {
        listen,
        master_key,
        body_limit,
        unsupported_params,
        client_header_timeout,
        client_idle_timeout,
        busy_poll,
    })
}

fn parse_size(t: &str) -> Option<usize> {
    let t = t.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1000,
        "kib" => 1024,
        "mb" | "m" => 1_000_000,
        "mib" => 1024 * 1024,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn duration(
    value: &Option<String>,
    default: Duration,
    path: &str,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(t) => parse_duration(t).ok_or_else(|| {
            ConfigError::invalid(
                path,
                format!("`{t}` is not a duration like 250ms, 5s or 2m"),
            )
        }),
    }
}

fn parse_timeouts(raw: &RawTimeouts, base: Timeouts, path: &str) -> Result<Timeouts, ConfigError> {
    let t = Timeouts {
        connect: duration(&raw.connect, base.connect, &format!("{path}.connect"))?,
        first_byte: duration(
            &raw.first_byte,
            base.first_byte,
            &format!("{path}.first_byte"),
        )?,
        idle: duration(&raw.idle, base.idle, &format!("{path}.idle"))?,
        total: duration(&raw.total, base.total, &format!("{path}.total"))?,
    };
    for (name, d) in [
        ("connect", t.connect),
        ("first_byte", t.first_byte),
        ("idle", t.idle),
        ("total", t.total),
    ] {
        if d.is_zero() {
            return Err(ConfigError::invalid(
                format!("{path}.{name}"),
                "must be greater than zero",
            ));
        }
    }
    Ok(t)
}

fn routing(raw: &RawRouting) -> Result<RoutingDefaults, ConfigError> {
    let strategy = match raw.strategy.as_deref() {
        None => Strategy::Weighted,
        Some(s) => parse_strategy(s, "routing.strategy")?,
    };
    let retry = retry(raw.retry.as_ref(), RetryPolicy::default(), "routing.retry")?;
    let cooldown = cooldown(
        raw.cooldown.as_ref(),
        CooldownPolicy::default(),
        "routing.cooldown",
    )?;
    let mut retry_budget = RetryBudget::default();
    if let Some(b) = &raw.retry_budget {
        if let Some(r) = b.ratio {
            if !(0.0..=10.0).contains(&r) {
                return Err(ConfigError::invalid(
                    "routing.retry_budget.ratio",
                    "must be between 0 and 10",
                ));
            }
            retry_budget.ratio = r;
        }
        if let Some(m) = b.min_per_second {
            if m < 0.0 {
                return Err(ConfigError::invalid(
                    "routing.retry_budget.min_per_second",
                    "must not be negative",
                ));
            }
            retry_budget.min_per_second = m;
        }
    }
    Ok(RoutingDefaults {
        strategy,
        retry,
        cooldown,
        retry_budget,
    })
}

fn parse_strategy(s: &str, path: &str) -> Result<Strategy, ConfigError> {
    Strategy::parse(s).ok_or_else(|| {
        ConfigError::invalid(
            path,
            format!("unknown strategy `{s}`; one of weighted, round_robin, least_latency, lowest_cost, least_busy, usage_aware, ordered"),
        )
    })
}

fn retry(
    raw: Option<&RawRetry>,
    base: RetryPolicy,
    path: &str,
) -> Result<RetryPolicy, ConfigError> {
    let Some(raw) = raw else { return Ok(base) };
    let attempts = raw.attempts.unwrap_or(base.attempts);
    if attempts == 0 || attempts > 20 {
        return Err(ConfigError::invalid(
            format!("{path}.attempts"),
            "must be between 1 and 20",
        ));
    }
    Ok(RetryPolicy {
        attempts,
        backoff: duration(&raw.backoff, base.backoff, &format!("{path}.backoff"))?,
        max_backoff: duration(
            &raw.max_backoff,
            base.max_backoff,
            &format!("{path}.max_backoff"),
        )?,
    })
}

fn cooldown(
    raw: Option<&RawCooldown>,
    base: CooldownPolicy,
    path: &str,
) -> Result<CooldownPolicy, ConfigError> {
    let Some(raw) = raw else { return Ok(base) };
    let failures = raw.failures.unwrap_or(base.failures);
    if failures == 0 {
        return Err(ConfigError::invalid(
            format!("{path}.failures"),
            "must be at least 1",
        ));
    }
    Ok(CooldownPolicy {
        failures,
        window: duration(&raw.window, base.window, &format!("{path}.window"))?,
        duration: duration(&raw.duration, base.duration, &format!("{path}.duration"))?,
    })
}

fn model_group(
    m: &RawModel,
    path: &str,
    providers: &[ProviderConfig],
    routing: &RoutingDefaults,
    global: Timeouts,
) -> Result<ModelGroup, ConfigError> {
    if m.name.is_empty() {
        return Err(ConfigError::invalid(
            format!("{path}.name"),
            "must not be empty",
        ));
    }
    if m.deployments.is_empty() {
        return Err(ConfigError::invalid(
            format!("{path}.deployments"),
            "a model needs at least one deployment",
        ));
    }
    let strategy = match m.strategy.as_deref() {
        None => routing.strategy,
        Some(s) => parse_strategy(s, &format!("{path}.strategy"))?,
    };
    let mut deployments = Vec::new();
    let mut ids = HashSet::new();
    for (j, d) in m.deployments.iter().enumerate() {
        let dpath = format!("{path}.deployments[{j}]");
        let full = match d {
            RawDeployment::Short(s) => {
                let Some((p, model)) = s.split_once('/') else {
                    return Err(ConfigError::invalid(
                        &dpath,
                        format!("`{s}` must be `provider/model`"),
                    ));
                };
                RawDeploymentFull {
                    id: None,
                    provider: p.to_owned(),
                    model: model.to_owned(),
                    weight: None,
                    region: None,
                    tags: Vec::new(),
                    rpm: None,
                    tpm: None,
                    price: None,
                    timeouts: None,
                    context_window: None,
                }
            }
            RawDeployment::Full(f) => RawDeploymentFull {
                id: f.id.clone(),
                provider: f.provider.clone(),
                model: f.model.clone(),
                weight: f.weight,
                region: f.region.clone(),
                tags: f.tags.clone(),
                rpm: f.rpm,
                tpm: f.tpm,
                price: f.price.as_ref().map(|p| RawPrice {
                    input_per_mtok: p.input_per_mtok,
                    output_per_mtok: p.output_per_mtok,
                }),
                timeouts: f.timeouts.clone(),
                context_window: f.context_window,
            },
        };
        let Some(provider) = providers.iter().find(|p| p.name == full.provider) else {
            let known: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
            return Err(ConfigError::invalid(
                format!("{dpath}.provider"),
                format!(
                    "unknown provider `{}`; configured: [{}]",
                    full.provider,
                    known.join(", ")
                ),
            ));
        };
        let weight = full.weight.unwrap_or(1.0);
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(ConfigError::invalid(
                format!("{dpath}.weight"),
                "must be a non-negative number",
            ));
        }
        let mut t = provider.timeouts;
        if provider.timeouts == global {
            if let Some(gt) = &m.timeouts {
                t = parse_timeouts(gt, t, &format!("{path}.timeouts"))?;
            }
        }
        if let Some(dt) = &full.timeouts {
            t = parse_timeouts(dt, t, &format!("{dpath}.timeouts"))?;
        }
        let id = full
            .id
            .clone()
            .unwrap_or_else(|| format!("{}/{}", full.provider, full.model));
        if !ids.insert(id.clone()) {
            return Err(ConfigError::invalid(
                format!("{dpath}.id"),
                format!("duplicate deployment `{id}` in this model; give one an explicit `id`"),
            ));
        }
        deployments.push(DeploymentConfig {
            id,
            provider: full.provider,
            model: full.model,
            weight,
            region: full.region,
            tags: full.tags,
            rpm: full.rpm,
            tpm: full.tpm,
            price: full.price.map(|p| Price {
                input_per_mtok: p.input_per_mtok,
                output_per_mtok: p.output_per_mtok,
            }),
            context_window: full.context_window,
            timeouts: t,
        });
    }
    let mut fallbacks = Vec::new();
    for (j, f) in m.fallbacks.iter().enumerate() {
        let on = match &f.on {
            None => DEFAULT_FALLBACK_ON.to_vec(),
            Some(list) => {
                let mut out = Vec::new();
                for (k, name) in list.iter().enumerate() {
                    let classes = parse_error_class(name).ok_or_else(|| {
                        ConfigError::invalid(
                            format!("{path}.fallbacks[{j}].on[{k}]"),
                            format!("unknown error class `{name}`; one of rate_limited, overloaded, server_error, timeout, connect, context_too_long, content_policy, upstream_auth, not_found, stream_broken, malformed"),
                        )
                    })?;
                    out.extend_from_slice(classes);
                }
                out
            }
        };
        fallbacks.push(Fallback {
            model: f.model.clone(),
            on,
        });
    }
    let hedge = match &m.hedge {
        None => None,
        Some(h) => Some(Hedge {
            after: parse_duration(&h.after).ok_or_else(|| {
                ConfigError::invalid(
                    format!("{path}.hedge.after"),
                    format!("`{}` is not a duration", h.after),
                )
            })?,
            max: h.max.unwrap_or(1).clamp(1, 3),
        }),
    };
    let unsupported_params = match m.unsupported_params.as_deref() {
        None => None,
        Some(s) => Some(ParamPolicy::parse(s).ok_or_else(|| {
            ConfigError::invalid(
                format!("{path}.unsupported_params"),
                format!("`{s}` must be `drop` or `reject`"),
            )
        })?),
    };
    Ok(ModelGroup {
        name: m.name.clone(),
        strategy,
        deployments,
        fallbacks,
        retry: retry(m.retry.as_ref(), routing.retry, &format!("{path}.retry"))?,
        cooldown: cooldown(
            m.cooldown.as_ref(),
            routing.cooldown,
            &format!("{path}.cooldown"),
        )?,
        hedge,
        unsupported_params,
    })
}
