//! A config compiled for serving: provider runtimes, model groups with their deployments, and
//! the on-demand groups behind `provider/model` and bare model names. One request sees one
//! snapshot.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};

use switchyard_config::{
    Config, CooldownPolicy, DeploymentConfig, Fallback, Hedge, ModelGroup, ParamPolicy, Price,
    RetryPolicy, Strategy,
};
use switchyard_providers::anthropic::AnthropicAdapter;
use switchyard_providers::gemini::GeminiAdapter;
use switchyard_providers::openai::OpenAiAdapter;
use switchyard_providers::{Adapter, Dialect, ProviderKind};

use crate::deployment::{Deployment, DeploymentState, ProviderRuntime};
use crate::error::EngineError;
use crate::pricing;
use crate::route::rules::Rules;
use crate::transport::{AuthHeader, Transport};

/// A group of deployments behind one public model name.
#[derive(Debug)]
pub struct Group {
    /// Public name.
    pub name: String,
    /// Strategy.
    pub strategy: Strategy,
    /// Deployments in config order.
    pub deployments: Vec<Arc<Deployment>>,
    /// Fallbacks in order.
    pub fallbacks: Vec<Fallback>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Cooldown policy.
    pub cooldown: CooldownPolicy,
    /// Hedging.
    pub hedge: Option<Hedge>,
    /// Unsupported-parameter policy.
    pub param_policy: ParamPolicy,
    /// Round-robin cursor.
    pub cursor: AtomicUsize,
    /// Configured in the file (rather than made on demand for `provider/model`).
    pub configured: bool,
    /// The name as a header value, built once.
    pub label: http::HeaderValue,
    /// The name as the edge writes it into a response head, rendered by the edge on first use.
    pub rendered: std::sync::OnceLock<Box<[u8]>>,
}

fn label(name: &str) -> http::HeaderValue {
    http::HeaderValue::from_str(name).unwrap_or_else(|_| http::HeaderValue::from_static(""))
}

/// Most deployment states kept (configured ones plus on-demand `provider/model` ones).
pub const MAX_TRACKED_DEPLOYMENTS: usize = 20_000;

/// Live states survive snapshot rebuilds, keyed by `provider|model|deployment-id`.
#[derive(Debug, Default)]
pub struct StateRegistry {
    states: Mutex<HashMap<String, Arc<DeploymentState>>>,
}

impl StateRegistry {
    fn get(&self, key: &str) -> Arc<DeploymentState> {
        let mut m = match self.states.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(state) = m.get(key) {
            return Arc::clone(state);
        }
        // Bounded like the on-demand group cache: clients naming endless random models get
        // untracked state instead of growing this map forever.
        let state = Arc::new(DeploymentState::default());
        if m.len() < MAX_TRACKED_DEPLOYMENTS {
            m.insert(key.to_owned(), Arc::clone(&state));
        }
        state
    }
}

/// The compiled config.
#[derive(Debug)]
pub struct Snapshot {
    /// The validated config.
    pub config: Arc<Config>,
    /// Providers by name.
    pub providers: HashMap<String, Arc<ProviderRuntime>>,
    /// Configured groups by name.
    pub groups: HashMap<String, Arc<Group>>,
    /// Groups made on demand for `provider/model` and bare names.
    direct: RwLock<HashMap<String, Arc<Group>>>,
    /// Compiled routing rules.
    pub rules: Rules,
    transport: Arc<Transport>,
    states: Arc<StateRegistry>,
}

fn adapter_for(kind: ProviderKind, dialect: Dialect) -> Arc<dyn Adapter> {
    match (kind, dialect) {
        (ProviderKind::Azure, _) => Arc::new(OpenAiAdapter::azure()),
        (_, Dialect::Anthropic) => Arc::new(AnthropicAdapter),
        (_, Dialect::Gemini) => Arc::new(GeminiAdapter),
        (_, Dialect::OpenAi) => Arc::new(OpenAiAdapter::new(
            switchyard_providers::catalog::spec(kind)
                .quirks
                .reasoning_field,
        )),
    }
}

impl Snapshot {
    /// Compiles `config`. Fails on invalid routing rules and on a provider `ca_file` without a
    /// usable CA certificate.
    pub fn build(
        config: Config,
        transport: Arc<Transport>,
        states: Arc<StateRegistry>,
    ) -> Result<Self, String> {
        let providers: HashMap<String, Arc<ProviderRuntime>> = config
            .providers
            .iter()
            .map(|p| {
                let rt = ProviderRuntime {
                    adapter: adapter_for(p.spec.kind, p.spec.dialect),
                    auth: AuthHeader::new(p.spec.auth, p.api_key.as_ref()),
                    config: p.clone(),
                };
                (p.name.clone(), Arc::new(rt))
            })
            .collect();
        for p in &config.providers {
            // Builds (and shares) each provider's client now, so a bad CA fails the load.
            transport
                .client(
                    p.timeouts.connect,
                    p.http,
                    p.http2_max_streams,
                    p.ca.as_ref(),
                )
                .map_err(|e| format!("providers `{}`: {e}", p.name))?;
        }
        let rules = Rules::compile(&config.rules)?;
        let mut snap = Self {
            config: Arc::new(config),
            providers,
            groups: HashMap::new(),
            direct: RwLock::new(HashMap::new()),
            rules,
            transport,
            states,
        };
        let groups: HashMap<String, Arc<Group>> = snap
            .config
            .models
            .iter()
            .map(|m| (m.name.clone(), Arc::new(snap.group_from(m))))
            .collect();
        snap.groups = groups;
        Ok(snap)
    }

    fn deployment(&self, cfg: &DeploymentConfig) -> Option<Arc<Deployment>> {
        let provider = self.providers.get(&cfg.provider)?;
        let adapter = &provider.adapter;
        let key = format!("{}|{}|{}", cfg.provider, cfg.model, cfg.id);
        let target = switchyard_providers::adapter::Target {
            base_url: &provider.config.base_url,
            model: &cfg.model,
            api_version: provider.config.api_version.as_deref(),
            quirks: &provider.config.spec.quirks,
        };
        let parse = |u: String| match crate::transport::parse_upstream_url(&u) {
            Ok(url) => Some(url),
            Err(e) => {
                tracing::warn!(deployment = %cfg.id, error = %e, "invalid upstream URL; deployment skipped");
                None
            }
        };
        let client = match self.transport.client(
            cfg.timeouts.connect,
            provider.config.http,
            provider.config.http2_max_streams,
            provider.config.ca.as_ref(),
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(deployment = %cfg.id, error = %e, "cannot build the upstream client; deployment skipped");
                return None;
            }
        };
        let chat_url = parse(adapter.chat_url(&target, false))?;
        let stream_url = parse(adapter.chat_url(&target, true))?;
        let embeddings_url = adapter.embeddings_url(&target).and_then(parse);
        let mut dep = Deployment {
            cfg: cfg.clone(),
            provider: Arc::clone(provider),
            client,
            host: chat_url
                .authority()
                .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()),
            chat_url,
            stream_url,
            embeddings_url,
            price: cfg.price,
            context_window: cfg.context_window,
            state: self.states.get(&key),
            labels: crate::deployment::Labels::new(&cfg.provider, &cfg.id, &cfg.model),
        };
        let table = pricing::lookup(provider.config.spec.name, &cfg.model);
        if dep.price.is_none() {
            dep.price = table.and_then(|m| {
                Some(Price {
                    input_per_mtok: m.input?,
                    output_per_mtok: m.output.unwrap_or(0.0),
                })
            });
        }
        if dep.context_window.is_none() {
            dep.context_window = table.and_then(|m| m.context);
        }
        Some(Arc::new(dep))
    }

    fn group_from(&self, m: &ModelGroup) -> Group {
        Group {
            name: m.name.clone(),
            strategy: m.strategy,
            deployments: m
                .deployments
                .iter()
                .filter_map(|d| self.deployment(d))
                .collect(),
            fallbacks: m.fallbacks.clone(),
            retry: m.retry,
            cooldown: m.cooldown,
            hedge: m.hedge,
            param_policy: m
                .unsupported_params
                .unwrap_or(self.config.server.unsupported_params),
            cursor: AtomicUsize::new(0),
            configured: true,
            label: label(&m.name),
            rendered: std::sync::OnceLock::new(),
        }
    }

    fn direct_group(&self, name: &str, provider: &str, model: &str) -> Option<Arc<Group>> {
        let p = self.providers.get(provider)?;
        let cfg = DeploymentConfig {
            id: format!("{provider}/{model}"),
            provider: provider.to_owned(),
            model: model.to_owned(),
            weight: 1.0,
            region: None,
            tags: Vec::new(),
            rpm: None,
            tpm: None,
            price: None,
            context_window: None,
            timeouts: p.config.timeouts,
        };
        let dep = self.deployment(&cfg)?;
        Some(Arc::new(Group {
            name: name.to_owned(),
            strategy: Strategy::Ordered,
            deployments: vec![dep],
            fallbacks: Vec::new(),
            retry: self.config.routing.retry,
            cooldown: self.config.routing.cooldown,
            hedge: None,
            param_policy: self.config.server.unsupported_params,
            cursor: AtomicUsize::new(0),
            configured: false,
            label: label(name),
            rendered: std::sync::OnceLock::new(),
        }))
    }

    /// Resolves a model name: a configured group, `provider/model`, or a bare model name whose
    /// provider is configured (`gpt-4o` → `openai`).
    pub fn resolve(&self, model: &str) -> Result<Arc<Group>, EngineError> {
        if let Some(g) = self.groups.get(model) {
            return Ok(Arc::clone(g));
        }
        if let Some(g) = read(&self.direct).get(model) {
            return Ok(Arc::clone(g));
        }
        let made = match model.split_once('/') {
            Some((provider, rest)) if !rest.is_empty() && self.providers.contains_key(provider) => {
                self.direct_group(model, provider, rest)
            }
            _ => pricing::provider_for_bare_model(model).and_then(|kind| {
                let provider = self.config.providers.iter().find(|p| p.spec.name == kind)?;
                self.direct_group(model, &provider.name, model)
            }),
        };
        match made {
            Some(g) => {
                let mut direct = write(&self.direct);
                // Bounded: a client cycling through random names cannot grow this forever.
                if direct.len() < 10_000 {
                    direct.insert(model.to_owned(), Arc::clone(&g));
                }
                Ok(g)
            }
            None => Err(EngineError::ModelNotFound {
                model: model.to_owned(),
                suggestions: self.suggestions(model),
            }),
        }
    }

    /// Every model id this gateway can serve that it can name: groups, then each provider's
    /// known models as `provider/model`.
    pub fn model_ids(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .config
            .models
            .iter()
            .map(|m| (m.name.clone(), "switchyard".to_owned()))
            .collect();
        for p in &self.config.providers {
            let mut seen: Vec<&str> = p.spec.example_models.to_vec();
            for m in pricing::all().iter().filter(|m| m.provider == p.spec.name) {
                if !seen.contains(&m.model.as_str()) {
                    seen.push(&m.model);
                }
            }
            out.extend(
                seen.into_iter()
                    .map(|m| (format!("{}/{m}", p.name), p.name.clone())),
            );
        }
        out
    }

    /// Up to three known model ids closest to `model`.
    pub fn suggestions(&self, model: &str) -> Vec<String> {
        let lower = model.to_ascii_lowercase();
        let mut scored: Vec<(usize, String)> = self
            .model_ids()
            .into_iter()
            .map(|(id, _)| {
                let tail = id.rsplit('/').next().unwrap_or(&id).to_ascii_lowercase();
                let d =
                    levenshtein(&lower, &id.to_ascii_lowercase()).min(levenshtein(&lower, &tail));
                (d, id)
            })
            .collect();
        scored.sort();
        scored
            .into_iter()
            .filter(|(d, _)| *d <= lower.len().max(4) / 2 + 2)
            .take(3)
            .map(|(_, id)| id)
            .collect()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    match l.read() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    match l.write() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Edit distance, for "did you mean" suggestions.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::levenshtein;

    #[test]
    fn edit_distance() {
        assert_eq!(levenshtein("gpt-4o", "gpt-4o"), 0);
        assert_eq!(levenshtein("gpt4o", "gpt-4o"), 1);
        assert_eq!(levenshtein("", "abc"), 3);
    }
}
