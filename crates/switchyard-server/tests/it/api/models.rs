//! `GET /v1/models` and `GET /v1/models/{id}`.

use reqwest::StatusCode;
use serde_json::Value;

use super::{json_of, openai_error};
use crate::common;

async fn get(h: &common::Harness, path: &str) -> (StatusCode, Value) {
    let (s, _, b) = json_of(h.client.get(h.url(path)).send().await.expect("send")).await;
    (s, b)
}

#[tokio::test]
async fn list_names_provider_models_and_groups() {
    let h = common::start("models:\n  - name: fast\n    deployments: [openai/gpt-4o-mini]\n").await;
    let (status, body) = get(&h, "/v1/models").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().expect("data");
    for m in data {
        assert_eq!(m["object"], "model", "{m}");
        assert!(m["owned_by"].as_str().is_some_and(|o| !o.is_empty()), "{m}");
    }
    let ids: Vec<&str> = data.iter().filter_map(|m| m["id"].as_str()).collect();
    for want in [
        "fast",
        "openai/gpt-4o-mini",
        "anthropic/claude-sonnet-4-5",
        "gemini/gemini-2.5-flash",
        "mistral/mistral-large-latest",
        "deepseek/deepseek-chat",
    ] {
        assert!(ids.contains(&want), "{want} not listed: {ids:?}");
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "duplicate ids: {ids:?}");
    let fast = data.iter().find(|m| m["id"] == "fast").expect("fast");
    assert_eq!(fast["owned_by"], "switchyard");
}

#[tokio::test]
async fn list_names_only_configured_providers() {
    let h = common::start(
        "server:\n  providers_from_env: false\nproviders:\n  - name: openai\n    base_url: ${SIM}/v1\n    api_key: k\n",
    )
    .await;
    let (status, body) = get(&h, "/v1/models").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(ids.contains(&"openai/gpt-4o-mini"), "{ids:?}");
    assert!(ids.iter().all(|id| id.starts_with("openai/")), "{ids:?}");
}

#[tokio::test]
async fn get_one_model() {
    let h = common::start("").await;
    let (status, body) = get(&h, "/v1/models/anthropic/claude-sonnet-4-5").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], "anthropic/claude-sonnet-4-5");
    assert_eq!(body["object"], "model");
    assert_eq!(body["owned_by"], "anthropic");
}

#[tokio::test]
async fn get_unknown_model_is_404() {
    let h = common::start("").await;
    for id in ["definitely-not-a-model", "nosuchprovider/x"] {
        let (status, body) = get(&h, &format!("/v1/models/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
        assert_eq!(openai_error(&body)["code"], "model_not_found", "{body}");
    }
}
