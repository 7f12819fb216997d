//! Embeddings: OpenAI request → `batchEmbedContents` and back (providers.md 6.2).

use base64::Engine as _;
use serde_json::{json, Value};
use switchyard_types::openai::EmbeddingVector;
use switchyard_types::TranslateError;

use super::*;

/// providers.md 6.2, `batchEmbedContents` response (verbatim).
const BATCH_RESPONSE: &str = r#"{"embeddings": [{"values": [0.0101, 0.0033, -0.0412]}, {"values": [-0.0027, 0.0195, 0.0088]}]}"#;

fn encode_embeddings(json: &str, model: &str) -> Result<Value, TranslateError> {
    let req = embeddings_request(json);
    let body = GeminiAdapter.encode_embeddings(&req, &target(model))?;
    Ok(serde_json::from_slice(&body).unwrap())
}

#[test]
fn inputs_become_one_request_each() {
    let v = encode_embeddings(
        r#"{"model":"alias","input":["first doc","second doc"],"dimensions":768,"task_type":"RETRIEVAL_DOCUMENT"}"#,
        "gemini-embedding-001",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "first doc"}]}, "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 768},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "second doc"}]}, "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 768}
        ]})
    );
    let v = encode_embeddings(
        r#"{"model":"alias","input":"What is the meaning of life?"}"#,
        "gemini-embedding-001",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "What is the meaning of life?"}]}}]})
    );
}

#[test]
fn token_inputs_and_empty_lists_are_refused() {
    for input in ["[1,2,3]", "[[1,2],[3]]"] {
        let err =
            encode_embeddings(&format!(r#"{{"model":"m","input":{input}}}"#), "e").unwrap_err();
        assert!(matches!(err, TranslateError::Unsupported { .. }), "{input}");
    }
    let err = encode_embeddings(r#"{"model":"m","input":[]}"#, "e").unwrap_err();
    assert!(matches!(err, TranslateError::InvalidRequest { .. }));
}

#[test]
fn floats_decode_with_estimated_usage() {
    let req = embeddings_request(
        r#"{"model":"gemini-embedding-001","input":["first doc","second doc!"]}"#,
    );
    let r = GeminiAdapter
        .decode_embeddings(BATCH_RESPONSE.as_bytes(), &req)
        .unwrap();
    assert_eq!(r.object, "list");
    assert_eq!(r.model, "gemini-embedding-001");
    assert_eq!(r.data.len(), 2);
    assert_eq!(
        (r.data[1].index, r.data[1].object.as_str()),
        (1, "embedding")
    );
    assert_eq!(
        r.data[0].embedding,
        EmbeddingVector::Float(vec![0.0101, 0.0033, -0.0412])
    );
    // ceil(9/4) + ceil(11/4) = 3 + 3
    assert_eq!((r.usage.prompt_tokens, r.usage.total_tokens), (6, 6));
}

#[test]
fn base64_is_little_endian_f32() {
    let req = embeddings_request(r#"{"model":"m","input":["a","b"],"encoding_format":"base64"}"#);
    let r = GeminiAdapter
        .decode_embeddings(BATCH_RESPONSE.as_bytes(), &req)
        .unwrap();
    let EmbeddingVector::Base64(b64) = &r.data[1].embedding else {
        panic!("expected base64")
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(floats, vec![-0.0027, 0.0195, 0.0088]);
    // A known vector: 1.0f32 = 00 00 80 3F.
    assert_eq!(
        crate::gemini::embeddings::encode_f32_base64(&[1.0]),
        "AACAPw=="
    );
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["data"][0]["embedding"].is_string());
}

#[test]
fn count_mismatch_and_garbage_are_malformed() {
    let req = embeddings_request(r#"{"model":"m","input":"only one"}"#);
    for body in [BATCH_RESPONSE, "{", r#"{"embeddings":[{"values":"x"}]}"#] {
        let err = GeminiAdapter
            .decode_embeddings(body.as_bytes(), &req)
            .unwrap_err();
        assert!(
            matches!(err, TranslateError::MalformedUpstream(_)),
            "{body}"
        );
    }
}
