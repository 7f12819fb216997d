//! Helpers of the resilience tests: send one chat request, read what came back (status,
//! transparency headers, body, wall time), and check streams for completeness.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use switchyard_sim::{Fault, Scenario};
use tokio::time::Instant;

use crate::common::Harness;

/// A finished exchange with the gateway.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    /// From sending the request to the end of the body.
    pub(crate) elapsed: Duration,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `x-switchyard-attempts` (0 when absent).
    pub(crate) fn attempts(&self) -> u32 {
        self.header("x-switchyard-attempts")
            .map(|v| v.parse().expect("attempts is a number"))
            .unwrap_or(0)
    }

    /// `x-switchyard-attempt-errors`, split.
    pub(crate) fn attempt_errors(&self) -> Vec<String> {
        self.header("x-switchyard-attempt-errors")
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()
    }

    /// `x-switchyard-deployment`.
    pub(crate) fn deployment(&self) -> &str {
        self.header("x-switchyard-deployment").unwrap_or("")
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// The `data:` payloads of an SSE body, in order.
    pub(crate) fn sse_data(&self) -> Vec<String> {
        self.body
            .split("\n\n")
            .filter_map(|ev| {
                let data: Vec<&str> = ev
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:").map(str::trim_start))
                    .collect();
                (!data.is_empty()).then(|| data.join("\n"))
            })
            .collect()
    }

    /// Text of every content delta of an OpenAI stream, concatenated.
    pub(crate) fn stream_text(&self) -> String {
        self.sse_data()
            .iter()
            .filter(|d| *d != "[DONE]")
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| {
                v.pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
    }

    /// An OpenAI stream that reached its proper end: a finish reason, `[DONE]` last, and no
    /// error event anywhere.
    pub(crate) fn assert_complete_stream(&self) {
        assert_eq!(self.status, 200, "{}", self.body);
        let data = self.sse_data();
        assert_eq!(
            data.last().map(String::as_str),
            Some("[DONE]"),
            "stream must end with [DONE]: {}",
            self.body
        );
        let mut finish = 0;
        for d in data.iter().filter(|d| *d != "[DONE]") {
            let v: Value =
                serde_json::from_str(d).unwrap_or_else(|e| panic!("event is not JSON ({e}): {d}"));
            assert!(v.get("error").is_none(), "error event in stream: {d}");
            if v.pointer("/choices/0/finish_reason")
                .is_some_and(|f| !f.is_null())
            {
                finish += 1;
            }
        }
        assert_eq!(finish, 1, "exactly one finish_reason: {}", self.body);
    }
}

/// An OpenAI chat body.
pub(crate) fn body(model: &str, text: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "stream": stream,
    })
}

/// POSTs `body` to `/v1/chat/completions` with extra headers and reads the whole answer.
pub(crate) async fn send(h: &Harness, body: Value, headers: &[(&str, &str)]) -> Reply {
    let started = Instant::now();
    let mut req = h.client.post(h.url("/v1/chat/completions")).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    Reply {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
    }
}

/// A plain chat request to `model`.
pub(crate) async fn chat(h: &Harness, model: &str, stream: bool) -> Reply {
    send(h, body(model, "hello there", stream), &[]).await
}

/// A scenario.
pub(crate) fn scenario(steps: Vec<Fault>, repeat: bool) -> Scenario {
    Scenario { steps, repeat }
}

/// `Fault::Status` without Retry-After.
pub(crate) fn status(code: u16) -> Fault {
    Fault::Status {
        code,
        retry_after_secs: None,
    }
}

/// `GET /admin/v1/deployments`: the live state of `deployment` (by id).
pub(crate) async fn deployment_state(h: &Harness, deployment: &str) -> Value {
    let v = crate::common::admin_deployments(h).await;
    v["deployments"]
        .as_array()
        .expect("deployments array")
        .iter()
        .find(|d| d["deployment"] == deployment)
        .unwrap_or_else(|| panic!("no deployment {deployment} in {v}"))["state"]
        .clone()
}
