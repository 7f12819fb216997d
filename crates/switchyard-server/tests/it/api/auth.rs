//! The gateway's master key: deny by default, open health checks.

use reqwest::StatusCode;
use serde_json::json;

use super::{chat_body, json_of, openai_error, user};
use crate::common;

const KEYED: &str = "server:\n  master_key: sk-gateway-master\n";

fn body() -> serde_json::Value {
    chat_body("openai/gpt-4o-mini", user("echo: authorized"), json!({}))
}

#[tokio::test]
async fn missing_key_is_401() {
    let h = common::start(KEYED).await;
    let (status, _, b) = json_of(h.post("/v1/chat/completions", body()).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{b}");
    let e = openai_error(&b);
    assert_eq!(e["code"], "invalid_api_key");
    assert!(
        e["message"].as_str().expect("message").contains("missing"),
        "{b}"
    );
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}

#[tokio::test]
async fn wrong_key_is_401() {
    let h = common::start(KEYED).await;
    for (name, value) in [
        ("authorization", "Bearer sk-gateway-wrong"),
        ("x-api-key", "sk-gateway-master-but-longer"),
        ("authorization", "Bearer "),
    ] {
        let resp = h
            .client
            .post(h.url("/v1/chat/completions"))
            .header(name, value)
            .json(&body())
            .send()
            .await
            .expect("send");
        let (status, _, b) = json_of(resp).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {value}: {b}");
        assert_eq!(openai_error(&b)["code"], "invalid_api_key");
    }
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}

#[tokio::test]
async fn bearer_key_is_accepted() {
    let h = common::start(KEYED).await;
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .bearer_auth("sk-gateway-master")
        .json(&body())
        .send()
        .await
        .expect("send");
    let (status, _, b) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["choices"][0]["message"]["content"], "authorized");
}

#[tokio::test]
async fn x_api_key_is_accepted() {
    let h = common::start(KEYED).await;
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-api-key", "sk-gateway-master")
        .json(&body())
        .send()
        .await
        .expect("send");
    let (status, _, b) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{b}");
}

/// The client's key is the gateway's, never forwarded: the provider sees the gateway's own
/// credential.
#[tokio::test]
async fn client_key_is_not_forwarded_upstream() {
    let h = common::start(KEYED).await;
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .bearer_auth("sk-gateway-master")
        .json(&body())
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let seen = h.sim.requests("gpt-4o-mini");
    let auth: Vec<&str> = seen[0]
        .headers
        .iter()
        .filter(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(auth, ["Bearer sk-test"]);
}

#[tokio::test]
async fn health_is_open_everything_else_closed() {
    let h = common::start(KEYED).await;
    for path in ["/health/live", "/health/ready"] {
        let r = h.client.get(h.url(path)).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    for path in [
        "/v1/models",
        "/admin/v1/deployments",
        "/v1/models/openai/gpt-4o",
    ] {
        let r = h.client.get(h.url(path)).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = h
        .client
        .post(h.url("/v1/embeddings"))
        .json(&json!({"model": "openai/text-embedding-3-small", "input": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = h
        .client
        .get(h.url("/v1/models"))
        .bearer_auth("sk-gateway-master")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_master_key_means_open() {
    let h = common::start("").await;
    let (status, _, b) = json_of(h.post("/v1/chat/completions", body()).await).await;
    assert_eq!(status, StatusCode::OK, "{b}");
}
