//! Shared simulator state: per-model counters, recordings, scenarios and rate windows.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use bytes::Bytes;
use tokio::sync::watch;

use crate::fault::{Fault, Scenario, ScenarioCursor};
use crate::ratelimit::RateWindow;
use crate::SimConfig;

/// How many requests are kept per model when recording.
const RECORD_LIMIT: usize = 64;

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path including the query string.
    pub path: String,
    /// Headers in arrival order (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Bytes,
    /// HTTP version as `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
}

/// Everything the simulator tracks for one upstream model name.
#[derive(Debug, Default)]
pub(crate) struct ModelEntry {
    pub(crate) count: AtomicU64,
    pub(crate) rpm_limit: AtomicU64,
    recorded: Mutex<VecDeque<RecordedRequest>>,
    scenario: Mutex<Option<ScenarioCursor>>,
    pub(crate) window: Mutex<RateWindow>,
}

impl ModelEntry {
    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut recorded = lock(&self.recorded);
        if recorded.len() == RECORD_LIMIT {
            recorded.pop_front();
        }
        recorded.push_back(request);
    }

    /// Takes the next scenario step, if a scenario is installed and not exhausted.
    pub(crate) fn next_scenario_fault(&self) -> Option<Fault> {
        lock(&self.scenario)
            .as_mut()
            .and_then(ScenarioCursor::next_fault)
    }
}

/// Cheap-to-clone handle on the simulator state.
#[derive(Debug, Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SimConfig,
    models: RwLock<HashMap<String, Arc<ModelEntry>>>,
    ids: AtomicU64,
    /// TCP connections accepted, so tests can see whether clients reuse them.
    connections: AtomicU64,
    closing: watch::Sender<bool>,
}

impl SimState {
    /// Counts an accepted connection.
    pub(crate) fn connection_accepted(&self) {
        self.inner.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// TCP connections accepted since start.
    pub fn connection_count(&self) -> u64 {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Fresh state for a configuration.
    pub fn new(config: SimConfig) -> Self {
        let (closing, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                config,
                models: RwLock::new(HashMap::new()),
                ids: AtomicU64::new(0),
                connections: AtomicU64::new(0),
                closing,
            }),
        }
    }

    /// The configuration this state was built with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    pub(crate) fn entry(&self, model: &str) -> Arc<ModelEntry> {
        if let Some(entry) = self
            .inner
            .models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
        {
            return Arc::clone(entry);
        }
        let mut models = self
            .inner
            .models
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(models.entry(model.to_owned()).or_default())
    }

    fn existing(&self, model: &str) -> Option<Arc<ModelEntry>> {
        self.inner
            .models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(model)
            .cloned()
    }

    /// Next value of the id counter (ids are deterministic per instance).
    pub(crate) fn next_id(&self) -> u64 {
        self.inner.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Installs a fault scenario for a model.
    pub fn set_scenario(&self, model: &str, scenario: Scenario) {
        *lock(&self.entry(model).scenario) = Some(ScenarioCursor::new(scenario));
    }

    /// Removes every scenario.
    pub fn clear_scenarios(&self) {
        let models = self
            .inner
            .models
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for entry in models.values() {
            *lock(&entry.scenario) = None;
        }
    }

    /// Recorded requests for a model, newest last.
    pub fn requests(&self, model: &str) -> Vec<RecordedRequest> {
        self.existing(model)
            .map(|entry| lock(&entry.recorded).iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Requests seen for a model.
    pub fn request_count(&self, model: &str) -> u64 {
        self.existing(model)
            .map_or(0, |entry| entry.count.load(Ordering::Relaxed))
    }

    /// Limits a model to `rpm` requests per minute window (0 removes the limit).
    pub fn set_rpm_limit(&self, model: &str, rpm: u64) {
        self.entry(model).rpm_limit.store(rpm, Ordering::Relaxed);
    }

    /// Releases hanging and stalled responses (used at shutdown).
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }
}

/// Resolves when the simulator is shutting down.
pub(crate) async fn wait_closed(mut closing: watch::Receiver<bool>) {
    let _ = closing.wait_for(|closed| *closed).await;
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
