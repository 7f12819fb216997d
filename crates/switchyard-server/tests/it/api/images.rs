//! Image inputs (OpenAI `image_url` parts) reach every family in its own format.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{chat_body, json_of, per_family, Family};

per_family!(image_data_url, image_http_url);

/// A 1x1 PNG.
const PNG_DATA_URL: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn image_message(url: &str) -> Value {
    json!([{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": url}}
    ]}])
}

async fn check(f: Family, url: &str) {
    let h = f.start().await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(&f.id(), image_message(url), json!({})),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content: {body}"));
    assert!(
        text.starts_with("I see 1 image."),
        "the image did not reach the model: {text}"
    );
}

async fn image_data_url(f: Family) {
    check(f, PNG_DATA_URL).await;
}

async fn image_http_url(f: Family) {
    check(f, "https://example.com/images/cat.png").await;
}
