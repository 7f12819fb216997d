//! `POST /v1/embeddings` against OpenAI-dialect and Gemini upstreams, floats and base64.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{base64_decode, json_of};
use crate::common;

async fn embed(h: &common::Harness, body: Value) -> (reqwest::header::HeaderMap, Value) {
    let (status, headers, body) = json_of(h.post("/v1/embeddings", body).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (headers, body)
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a float array: {v}"))
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn from_base64(v: &Value) -> Vec<f32> {
    let bytes = base64_decode(v.as_str().unwrap_or_else(|| panic!("not base64 text: {v}")));
    assert_eq!(bytes.len() % 4, 0);
    bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Floats, then the same input as base64: one vector per input, in order, unit length, and
/// the base64 bytes decode to the same floats.
async fn float_and_base64(provider: &str, model: &str, dims: usize) {
    let h = common::start("").await;
    let id = format!("{provider}/{model}");
    let input = json!(["first text", "second text"]);
    let (headers, f) = embed(&h, json!({"model": id, "input": input})).await;
    assert_eq!(super::header(&headers, "x-switchyard-provider"), provider);
    assert_eq!(super::header(&headers, "x-switchyard-model"), model);
    assert!(!super::header(&headers, "x-request-id").is_empty());
    assert_eq!(f["object"], "list", "{f}");
    let data = f["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["index"], i);
        let v = floats(&d["embedding"]);
        assert_eq!(v.len(), dims);
        assert!((norm(&v) - 1.0).abs() < 1e-3, "not unit length");
    }
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    assert!(
        f["usage"]["prompt_tokens"].as_u64().is_some_and(|n| n > 0),
        "{f}"
    );

    let (_, b) = embed(
        &h,
        json!({"model": id, "input": input, "encoding_format": "base64"}),
    )
    .await;
    let bdata = b["data"].as_array().expect("data");
    assert_eq!(bdata.len(), 2);
    for (fd, bd) in data.iter().zip(bdata) {
        let expected = floats(&fd["embedding"]);
        let got = from_base64(&bd["embedding"]);
        assert_eq!(got.len(), dims);
        for (a, b) in expected.iter().zip(&got) {
            assert!((a - b).abs() < 1e-6, "{a} != {b}");
        }
    }

    let (_, small) = embed(&h, json!({"model": id, "input": "x", "dimensions": 64})).await;
    assert_eq!(floats(&small["data"][0]["embedding"]).len(), 64, "{small}");
}

#[tokio::test]
async fn openai_embeddings_float_and_base64() {
    float_and_base64("openai", "text-embedding-3-small", 1536).await;
}

#[tokio::test]
async fn gemini_embeddings_float_and_base64() {
    float_and_base64("gemini", "gemini-embedding-001", 768).await;
}

#[tokio::test]
async fn embeddings_from_a_provider_without_them_is_a_client_error() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/embeddings",
            json!({"model": "groq/llama-3.3-70b-versatile", "input": "x"}),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert!(status.is_client_error(), "{status}: {body}");
    super::openai_error(&body);
}

#[tokio::test]
async fn embeddings_empty_input_is_400() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/embeddings",
            json!({"model": "openai/text-embedding-3-small", "input": []}),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(super::openai_error(&body)["param"], "input");
    assert_eq!(h.sim.request_count("text-embedding-3-small"), 0);
}
