//! Runtime view of providers and deployments: prebuilt URLs, credential headers, clients, and
//! the live health and load state each routing decision reads.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard_config::{CooldownPolicy, DeploymentConfig, Price, ProviderConfig};
use switchyard_providers::adapter::Target;
use switchyard_providers::{Adapter, ErrorClass};
use tokio::time::Instant;

use crate::transport::AuthHeader;

/// A provider account ready for use.
pub struct ProviderRuntime {
    /// Its configuration.
    pub config: ProviderConfig,
    /// Translation for its dialect.
    pub adapter: Arc<dyn Adapter>,
    /// Prebuilt credential header.
    pub auth: AuthHeader,
}

impl std::fmt::Debug for ProviderRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRuntime")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl ProviderRuntime {
    /// Whether `param` is unsupported by this provider (catalog quirks plus config).
    pub fn unsupported(&self, param: &str) -> bool {
        self.config.spec.quirks.unsupported(param)
            || self.config.extra_unsupported.iter().any(|p| p == param)
    }
}

/// One deployment: provider + upstream model + its limits and live state.
#[derive(Debug)]
pub struct Deployment {
    /// Configuration.
    pub cfg: DeploymentConfig,
    /// The provider account.
    pub provider: Arc<ProviderRuntime>,
    /// Pool to send through.
    pub client: crate::transport::HttpClient,
    /// URL of a non-streaming chat call, parsed once (URL parsing is not free per request).
    pub chat_url: http::Uri,
    /// URL of a streaming chat call.
    pub stream_url: http::Uri,
    /// URL of an embeddings call.
    pub embeddings_url: Option<http::Uri>,
    /// `Host` header of the upstream (HTTP/1.1), built once: hyper-util would format it per
    /// request.
    pub host: Option<http::HeaderValue>,
    /// Effective price (override, else table).
    pub price: Option<Price>,
    /// Effective context window.
    pub context_window: Option<u64>,
    /// Live state, shared across config snapshots by deployment key.
    pub state: Arc<DeploymentState>,
    /// Transparency header values, built once.
    pub labels: Labels,
}

/// Header values naming a deployment, built once per snapshot instead of per response.
#[derive(Debug, Clone)]
pub struct Labels {
    /// Provider name.
    pub provider: http::HeaderValue,
    /// Deployment id.
    pub id: http::HeaderValue,
    /// Upstream model.
    pub model: http::HeaderValue,
    /// The three as the edge writes them into a response head, rendered by the edge on first
    /// use (it owns the header names) and kept for the snapshot's life.
    pub rendered: std::sync::OnceLock<Box<[u8]>>,
}

impl Labels {
    /// Labels of a deployment; a value that is not a valid header is sent empty.
    pub fn new(provider: &str, id: &str, model: &str) -> Self {
        let v = |s: &str| {
            http::HeaderValue::from_str(s).unwrap_or_else(|_| http::HeaderValue::from_static(""))
        };
        Self {
            provider: v(provider),
            id: v(id),
            model: v(model),
            rendered: std::sync::OnceLock::new(),
        }
    }
}

impl Deployment {
    /// The adapter target.
    pub fn target(&self) -> Target<'_> {
        Target {
            base_url: &self.provider.config.base_url,
            model: &self.cfg.model,
            api_version: self.provider.config.api_version.as_deref(),
            quirks: &self.provider.config.spec.quirks,
        }
    }

    /// Estimated cost in USD of `input` and `output` tokens; `None` when no price is known.
    pub fn estimate_cost(&self, input: u64, output: u64) -> Option<f64> {
        self.price.map(|p| {
            (input as f64 * p.input_per_mtok + output as f64 * p.output_per_mtok) / 1_000_000.0
        })
    }
}

/// Live health and load of a deployment. All methods are short, lock-free or with a lock held
/// for a few instructions, never across an `.await`.
#[derive(Debug, Default)]
pub struct DeploymentState {
    in_flight: AtomicU32,
    requests: AtomicU64,
    failures: AtomicU64,
    latency: Ewma,
    ttft: Ewma,
    breaker: Mutex<Breaker>,
    /// Whether the breaker is anything but closed with no failure counted, kept by
    /// [`BreakerGuard`]: a healthy deployment's attempt reads this flag instead of taking the
    /// lock (an uncontended lock is still two atomic read-modify-writes).
    breaker_dirty: AtomicBool,
    window: Mutex<UsageWindow>,
}

/// Snapshot of a deployment's state, for routing explanations and the admin API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StateView {
    /// `closed`, `open` or `half_open`.
    pub breaker: &'static str,
    /// Seconds until an open breaker allows a probe.
    pub cooldown_remaining_s: Option<f64>,
    /// Consecutive failures counted.
    pub consecutive_failures: u32,
    /// Requests in flight.
    pub in_flight: u32,
    /// Moving average of total latency, ms.
    pub latency_ms: Option<f64>,
    /// Moving average of time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Requests this minute.
    pub rpm_used: u64,
    /// Tokens this minute.
    pub tpm_used: u64,
    /// Requests ever sent.
    pub requests: u64,
    /// Failures ever seen.
    pub failures: u64,
}

#[derive(Debug, Default)]
struct Ewma {
    /// f64 bits of the average in microseconds; 0 = no sample.
    bits: AtomicU64,
}

impl Ewma {
    const ALPHA: f64 = 0.3;

    fn record(&self, sample_us: f64) {
        let old = f64::from_bits(self.bits.load(Ordering::Relaxed));
        let new = if old == 0.0 {
            sample_us.max(1.0)
        } else {
            old + Self::ALPHA * (sample_us - old)
        };
        self.bits.store(new.to_bits(), Ordering::Relaxed);
    }

    fn get_ms(&self) -> Option<f64> {
        let v = f64::from_bits(self.bits.load(Ordering::Relaxed));
        (v > 0.0).then_some(v / 1000.0)
    }
}

#[derive(Debug, Default)]
enum BreakerState {
    #[default]
    Closed,
    Open {
        until: Instant,
    },
    HalfOpen {
        probing: bool,
    },
}

#[derive(Debug, Default)]
struct Breaker {
    state: BreakerState,
    consecutive: u32,
    window_start: Option<Instant>,
}

impl Breaker {
    /// Closed, with no failure counted: what a new deployment's breaker is.
    fn pristine(&self) -> bool {
        matches!(self.state, BreakerState::Closed)
            && self.consecutive == 0
            && self.window_start.is_none()
    }
}

/// The breaker, locked; on release it records in `dirty` whether it is still pristine.
struct BreakerGuard<'a> {
    breaker: std::sync::MutexGuard<'a, Breaker>,
    dirty: &'a AtomicBool,
}

impl std::ops::Deref for BreakerGuard<'_> {
    type Target = Breaker;
    fn deref(&self) -> &Breaker {
        &self.breaker
    }
}

impl std::ops::DerefMut for BreakerGuard<'_> {
    fn deref_mut(&mut self) -> &mut Breaker {
        &mut self.breaker
    }
}

impl Drop for BreakerGuard<'_> {
    fn drop(&mut self) {
        // Stored while the lock is still held (the guard's fields drop after this).
        self.dirty
            .store(!self.breaker.pristine(), Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
struct UsageWindow {
    start: Option<Instant>,
    requests: u64,
    tokens: u64,
}

/// Whether a deployment may take a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Healthy.
    Ready,
    /// Cooling down; a probe is allowed once the cooldown has passed.
    CoolingDown,
    /// The cooldown has passed: this request would be the probe.
    Probe,
}

/// Guard that counts a request in flight until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<DeploymentState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl DeploymentState {
    /// Marks a request in flight.
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Moving average latency in ms (TTFT for streams when `stream`).
    pub fn latency_ms(&self, stream: bool) -> Option<f64> {
        if stream {
            self.ttft.get_ms().or_else(|| self.latency.get_ms())
        } else {
            self.latency.get_ms()
        }
    }

    /// The breaker, locked.
    fn breaker(&self) -> BreakerGuard<'_> {
        BreakerGuard {
            breaker: lock(&self.breaker),
            dirty: &self.breaker_dirty,
        }
    }

    /// Whether the breaker is closed with no failure counted, without taking its lock.
    fn breaker_pristine(&self) -> bool {
        !self.breaker_dirty.load(Ordering::Relaxed)
    }

    /// Availability at `now`, without claiming a probe.
    pub fn availability(&self, now: Instant) -> Availability {
        if self.breaker_pristine() {
            return Availability::Ready;
        }
        let b = self.breaker();
        match b.state {
            BreakerState::Closed => Availability::Ready,
            BreakerState::Open { until } if now < until => Availability::CoolingDown,
            BreakerState::Open { .. } => Availability::Probe,
            BreakerState::HalfOpen { probing: true } => Availability::CoolingDown,
            BreakerState::HalfOpen { probing: false } => Availability::Probe,
        }
    }

    /// Claims the right to send: always for a closed breaker, once for a probe.
    pub fn try_acquire(&self, now: Instant) -> bool {
        if self.breaker_pristine() {
            return true;
        }
        let mut b = self.breaker();
        match b.state {
            BreakerState::Closed => true,
            BreakerState::Open { until } if now < until => false,
            BreakerState::Open { .. } | BreakerState::HalfOpen { probing: false } => {
                b.state = BreakerState::HalfOpen { probing: true };
                true
            }
            BreakerState::HalfOpen { probing: true } => false,
        }
    }

    /// Records a success: closes the breaker and feeds the latency averages.
    pub fn record_success(&self, latency: Duration, ttft: Option<Duration>) {
        self.latency.record(latency.as_micros() as f64);
        if let Some(t) = ttft {
            self.ttft.record(t.as_micros() as f64);
        }
        if self.breaker_pristine() {
            return;
        }
        let mut b = self.breaker();
        b.state = BreakerState::Closed;
        b.consecutive = 0;
        b.window_start = None;
    }

    /// Records a failure of `class`; opens the breaker after `policy.failures` failures
    /// within `policy.window`, or at once for a rate limit with a long Retry-After.
    pub fn record_failure(
        &self,
        class: ErrorClass,
        retry_after: Option<Duration>,
        latency: Duration,
        policy: &CooldownPolicy,
        now: Instant,
    ) {
        if !counts_against_health(class) {
            // The deployment answered correctly; a probe that gets a client error still
            // proves it is up.
            let mut b = self.breaker();
            if matches!(b.state, BreakerState::HalfOpen { .. }) {
                b.state = BreakerState::Closed;
                b.consecutive = 0;
            }
            return;
        }
        self.failures.fetch_add(1, Ordering::Relaxed);
        if class == ErrorClass::Timeout {
            // A timeout says the deployment is slow: teach least-latency about it.
            self.latency.record(latency.as_micros() as f64);
        }
        let mut b = self.breaker();
        let probe_failed = matches!(b.state, BreakerState::HalfOpen { .. });
        let in_window = b
            .window_start
            .is_some_and(|s| now.saturating_duration_since(s) <= policy.window);
        if !in_window {
            b.window_start = Some(now);
            b.consecutive = 0;
        }
        b.consecutive += 1;
        let long_retry_after = retry_after.filter(|r| *r >= Duration::from_secs(1));
        if probe_failed || b.consecutive >= policy.failures || long_retry_after.is_some() {
            let cool = long_retry_after.map_or(policy.duration, |r| {
                r.max(if probe_failed { policy.duration } else { r })
            });
            b.state = BreakerState::Open { until: now + cool };
        }
    }

    /// Usage-window admission for the provider account's RPM/TPM: reserves one request and
    /// `tokens` if both stay within limits. Reserve-then-settle: [`Self::settle_tokens`]
    /// corrects the token estimate once real usage is known.
    pub fn try_admit(&self, rpm: Option<u64>, tpm: Option<u64>, tokens: u64, now: Instant) -> bool {
        if rpm.is_none() && tpm.is_none() {
            return true;
        }
        let mut w = lock(&self.window);
        roll(&mut w, now);
        if rpm.is_some_and(|l| w.requests + 1 > l)
            || tpm.is_some_and(|l| w.tokens + tokens > l && w.tokens > 0)
        {
            return false;
        }
        w.requests += 1;
        w.tokens += tokens;
        true
    }

    /// For ranking, under one lock: whether admission of `tokens` would succeed (without
    /// reserving), and the share of the RPM/TPM limits used this minute (0..1).
    pub fn usage_window(
        &self,
        rpm: Option<u64>,
        tpm: Option<u64>,
        tokens: u64,
        now: Instant,
    ) -> (bool, f64) {
        if rpm.is_none() && tpm.is_none() {
            return (true, 0.0);
        }
        let mut w = lock(&self.window);
        roll(&mut w, now);
        let within = !(rpm.is_some_and(|l| w.requests + 1 > l)
            || tpm.is_some_and(|l| w.tokens + tokens > l && w.tokens > 0));
        let r = rpm.map_or(0.0, |l| w.requests as f64 / l.max(1) as f64);
        let t = tpm.map_or(0.0, |l| w.tokens as f64 / l.max(1) as f64);
        (within, r.max(t))
    }

    /// Replaces the tokens [`Self::try_admit`] reserved with the real count. Nothing to do
    /// when the deployment has no limit (nothing was reserved), so the reservation is only
    /// computed where one is set.
    pub fn settle_tokens(
        &self,
        rpm: Option<u64>,
        tpm: Option<u64>,
        reserved: impl FnOnce() -> u64,
        actual: u64,
    ) {
        if rpm.is_none() && tpm.is_none() {
            return;
        }
        let reserved = reserved();
        let mut w = lock(&self.window);
        roll(&mut w, Instant::now());
        w.tokens = (w.tokens + actual).saturating_sub(reserved);
    }

    /// A view for explanations and the admin API.
    pub fn view(&self, now: Instant) -> StateView {
        let (breaker, remaining, consecutive) = {
            let b = lock(&self.breaker);
            let (name, rem) = match b.state {
                BreakerState::Closed => ("closed", None),
                BreakerState::Open { until } => (
                    "open",
                    Some(until.saturating_duration_since(now).as_secs_f64()),
                ),
                BreakerState::HalfOpen { .. } => ("half_open", None),
            };
            (name, rem, b.consecutive)
        };
        let (rpm_used, tpm_used) = {
            let mut w = lock(&self.window);
            roll(&mut w, now);
            (w.requests, w.tokens)
        };
        StateView {
            breaker,
            cooldown_remaining_s: remaining,
            consecutive_failures: consecutive,
            in_flight: self.in_flight(),
            latency_ms: self.latency.get_ms(),
            ttft_ms: self.ttft.get_ms(),
            rpm_used,
            tpm_used,
            requests: self.requests.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

fn roll(w: &mut UsageWindow, now: Instant) {
    let fresh = w
        .start
        .is_none_or(|s| now.saturating_duration_since(s) >= Duration::from_secs(60));
    if fresh {
        w.start = Some(now);
        w.requests = 0;
        w.tokens = 0;
    }
}

/// Whether an error class says the deployment itself is unhealthy.
pub fn counts_against_health(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::RateLimited
            | ErrorClass::Overloaded
            | ErrorClass::ServerError
            | ErrorClass::Timeout
            | ErrorClass::Connect
            | ErrorClass::Malformed
            | ErrorClass::StreamBroken
            | ErrorClass::Auth
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CooldownPolicy {
        CooldownPolicy {
            failures: 2,
            window: Duration::from_secs(10),
            duration: Duration::from_secs(5),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_probes_and_closes() {
        let s = DeploymentState::default();
        let p = policy();
        let t0 = Instant::now();
        s.record_failure(ErrorClass::ServerError, None, Duration::ZERO, &p, t0);
        assert_eq!(s.availability(t0), Availability::Ready);
        s.record_failure(ErrorClass::ServerError, None, Duration::ZERO, &p, t0);
        assert_eq!(s.availability(t0), Availability::CoolingDown);
        assert!(!s.try_acquire(t0 + Duration::from_secs(4)));
        let t1 = t0 + Duration::from_secs(6);
        assert_eq!(s.availability(t1), Availability::Probe);
        assert!(s.try_acquire(t1), "one probe");
        assert!(!s.try_acquire(t1), "only one probe at a time");
        // Probe fails: open again.
        s.record_failure(ErrorClass::Timeout, None, Duration::ZERO, &p, t1);
        assert_eq!(s.availability(t1), Availability::CoolingDown);
        let t2 = t1 + Duration::from_secs(6);
        assert!(s.try_acquire(t2));
        s.record_success(Duration::from_millis(10), None);
        assert_eq!(s.availability(t2), Availability::Ready);
        assert_eq!(s.view(t2).breaker, "closed");
    }

    /// A success resets a counted failure even though a pristine breaker is not locked on a
    /// success: the failure marked it dirty, so the next failure starts a new count.
    #[tokio::test(start_paused = true)]
    async fn a_success_clears_a_counted_failure() {
        let s = DeploymentState::default();
        let p = policy();
        let t0 = Instant::now();
        s.record_failure(ErrorClass::ServerError, None, Duration::ZERO, &p, t0);
        assert_eq!(s.view(t0).consecutive_failures, 1);
        s.record_success(Duration::from_millis(10), None);
        assert_eq!(s.view(t0).consecutive_failures, 0);
        s.record_failure(ErrorClass::ServerError, None, Duration::ZERO, &p, t0);
        assert_eq!(
            s.availability(t0),
            Availability::Ready,
            "one failure of two"
        );
        assert!(s.try_acquire(t0));
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_do_not_open_the_breaker() {
        let s = DeploymentState::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            s.record_failure(ErrorClass::BadRequest, None, Duration::ZERO, &policy(), t0);
        }
        assert_eq!(s.availability(t0), Availability::Ready);
    }

    #[tokio::test(start_paused = true)]
    async fn long_retry_after_cools_down_at_once() {
        let s = DeploymentState::default();
        let t0 = Instant::now();
        s.record_failure(
            ErrorClass::RateLimited,
            Some(Duration::from_secs(20)),
            Duration::ZERO,
            &policy(),
            t0,
        );
        assert_eq!(
            s.availability(t0 + Duration::from_secs(19)),
            Availability::CoolingDown
        );
        assert_eq!(
            s.availability(t0 + Duration::from_secs(21)),
            Availability::Probe
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rpm_window_admits_up_to_the_limit_and_resets() {
        let s = DeploymentState::default();
        let t0 = Instant::now();
        assert!(s.try_admit(Some(2), None, 10, t0));
        assert!(s.try_admit(Some(2), None, 10, t0));
        assert!(!s.try_admit(Some(2), None, 10, t0));
        assert!(s.try_admit(Some(2), None, 10, t0 + Duration::from_secs(61)));
    }
}
