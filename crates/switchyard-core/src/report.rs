//! What happened to a request, for transparency headers, explanations and (later) the log.

use std::time::Duration;

use std::sync::Arc;

use switchyard_providers::ErrorClass;

use crate::deployment::Deployment;
use crate::snapshot::Group;

/// One failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptRecord {
    /// Deployment id.
    pub deployment: String,
    /// Provider name.
    pub provider: String,
    /// Why it failed.
    #[serde(serialize_with = "class_name")]
    pub class: ErrorClass,
    /// Upstream status, if any.
    pub status: Option<u16>,
    /// How long it took.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn class_name<S: serde::Serializer>(c: &ErrorClass, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl AttemptRecord {
    /// `deployment:class[:status]`, the form used in the attempts header.
    pub fn header_form(&self) -> String {
        match self.status {
            Some(s) => format!("{}:{}:{s}", self.deployment, self.class.as_str()),
            None => format!("{}:{}", self.deployment, self.class.as_str()),
        }
    }
}

/// Who served a successful request.
#[derive(Debug, Clone)]
pub struct Served {
    /// Model group (public name) that served it.
    pub group: Arc<Group>,
    /// The deployment (its id, provider, upstream model and prebuilt header values).
    pub deployment: Arc<Deployment>,
    /// Routing rule that picked the group, if any.
    pub rule: Option<String>,
    /// Failed attempts before the one that succeeded.
    pub failed: Vec<AttemptRecord>,
    /// Time spent waiting on the upstream for the winning attempt (to its first byte for
    /// streams, to the end of the body otherwise).
    pub upstream_latency: Duration,
    /// Time spent waiting on upstreams across all attempts, backoff sleeps included.
    pub upstream_total: Duration,
    /// Parameters dropped because the provider does not support them.
    pub dropped_params: Vec<String>,
    /// Whether this attempt was a hedge that won.
    pub hedged: bool,
}

impl Served {
    /// Attempts made in total.
    pub fn attempts(&self) -> usize {
        self.failed.len() + 1
    }
}
