//! The error contract on `/v1/chat/completions`: client mistakes, provider refusals and
//! provider failures, each with its status and an OpenAI-shaped body.

use reqwest::StatusCode;
use serde_json::json;

use super::{chat_body, header, json_of, openai_error, user};
use crate::common;

async fn post_text(h: &common::Harness, body: &str) -> reqwest::Response {
    h.client
        .post(h.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn malformed_json_is_400_with_all_four_fields() {
    let h = common::start("").await;
    let (status, headers, body) =
        json_of(post_text(&h, r#"{"model": "gpt-4o", "messages": ["#).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let e = openai_error(&body);
    assert_eq!(e["type"], "invalid_request_error");
    assert!(e["code"].is_string(), "{body}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("EOF while parsing a value at line 1 column 33")),
        "says what and where: {body}"
    );
    assert!(!header(&headers, "x-request-id").is_empty());
    assert_eq!(h.sim.request_count("gpt-4o"), 0);
}

#[tokio::test]
async fn non_object_body_is_400() {
    let h = common::start("").await;
    let (status, _, body) = json_of(post_text(&h, "[1, 2]").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    openai_error(&body);
}

#[tokio::test]
async fn missing_model_is_400_naming_model() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(openai_error(&body)["param"], "model", "{body}");
}

#[tokio::test]
async fn missing_messages_is_400_naming_messages() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            json!({"model": "openai/gpt-4o-mini"}),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(openai_error(&body)["param"], "messages", "{body}");
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}

#[tokio::test]
async fn unknown_model_is_404_with_suggestions() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body("gtp-4o-mini", user("hi"), json!({})),
        )
        .await;
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let e = openai_error(&body);
    assert_eq!(e["code"], "model_not_found");
    assert_eq!(e["param"], "model");
    let msg = e["message"].as_str().expect("message");
    assert!(msg.contains("did you mean"), "{msg}");
    assert!(msg.contains("openai/gpt-4o-mini"), "{msg}");
    assert_eq!(header(&headers, "x-switchyard-error"), "model_not_found");
}

#[tokio::test]
async fn unconfigured_provider_is_404() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body("nosuchprovider/some-model", user("hi"), json!({})),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(openai_error(&body)["code"], "model_not_found");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let h = common::start("server:\n  body_limit: 1KiB\n").await;
    let big = "x".repeat(4096);
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body("openai/gpt-4o-mini", user(&big), json!({})),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(openai_error(&body)["code"], "request_too_large");
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
    // Under the limit is fine.
    let ok = h
        .post(
            "/v1/chat/completions",
            chat_body("openai/gpt-4o-mini", user("hi"), json!({})),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

/// A chunked upload declares no size: it is refused once it passes the limit, in the shape of
/// the route's own API, and nothing reaches a provider.
#[tokio::test]
async fn oversized_chunked_body_is_413_in_the_routes_shape() {
    let h = common::start("server:\n  body_limit: 1KiB\n").await;
    let body = serde_json::to_vec(&json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "x".repeat(4096)}],
    }))
    .expect("json");
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(512).map(|c| Ok(c.to_vec())).collect();
    let resp = h
        .client
        .post(h.url("/v1/messages"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            pieces,
        )))
        .send()
        .await
        .expect("send");
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["type"], "error", "Anthropic shape: {body}");
    assert_eq!(body["error"]["type"], "request_too_large", "{body}");
    assert_eq!(h.sim.request_count("claude-sonnet-4-5"), 0);
}

#[tokio::test]
async fn unknown_route_and_wrong_method_use_the_error_shape() {
    let h = common::start("").await;
    let (status, _, body) =
        json_of(h.client.get(h.url("/v1/nope")).send().await.expect("send")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    openai_error(&body);
    let (status, _, body) = json_of(
        h.client
            .get(h.url("/v1/chat/completions"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    openai_error(&body);
}

/// A provider's 400 comes back as a 400 with the provider's own message, after exactly one
/// attempt (a client error is not retried).
#[tokio::test]
async fn provider_400_passed_on_with_its_message() {
    let h = common::start("").await;
    // OpenAI reasoning models refuse `max_tokens`.
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body("openai/o3-mini", user("hi"), json!({"max_tokens": 10})),
        )
        .await;
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let e = openai_error(&body);
    let msg = e["message"].as_str().expect("message");
    assert!(
        msg.contains("max_completion_tokens"),
        "provider message lost: {msg}"
    );
    assert!(msg.contains("openai"), "{msg}");
    assert_eq!(e["param"], "max_tokens", "{body}");
    assert_eq!(
        h.sim.request_count("o3-mini"),
        1,
        "a client error must not be retried"
    );
    assert_eq!(header(&headers, "x-switchyard-attempts"), "1");
}

/// Mistral's 422 (an unknown field) is passed on as a 422.
#[tokio::test]
async fn provider_422_passed_on_as_422() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "mistral/mistral-small-latest",
                user("hi"),
                json!({"future_knob": true}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let msg = openai_error(&body)["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(msg.contains("Extra inputs are not permitted"), "{msg}");
    assert_eq!(h.sim.request_count("mistral-small-latest"), 1);
}

/// Anthropic's and Gemini's 400s reach an OpenAI client as 400s carrying their message.
#[tokio::test]
async fn translated_provider_400_passed_on_to_openai_client() {
    for (model, upstream, provider_message) in [
        (
            "anthropic/claude-sonnet-4-5",
            "claude-sonnet-4-5",
            "Invalid request",
        ),
        (
            "gemini/gemini-2.5-flash",
            "gemini-2.5-flash",
            "invalid argument",
        ),
    ] {
        let h = common::start("").await;
        let resp = h
            .post(
                "/v1/chat/completions",
                chat_body(model, user("[[sim:status=400]] hi"), json!({})),
            )
            .await;
        let (status, _, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let e = openai_error(&body);
        assert_eq!(e["type"], "invalid_request_error", "{body}");
        let msg = e["message"].as_str().expect("message");
        assert!(msg.contains(provider_message), "{msg}");
        assert_eq!(
            h.sim.request_count(upstream),
            1,
            "{model}: a 400 is not retried"
        );
    }
}

/// A provider 5xx becomes a 502 that names the provider.
#[tokio::test]
async fn provider_5xx_is_502_naming_the_provider() {
    for (model, provider, upstream) in [
        ("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),
        (
            "anthropic/claude-sonnet-4-5",
            "anthropic",
            "claude-sonnet-4-5",
        ),
        ("gemini/gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
    ] {
        let h = common::start("").await;
        let resp = h
            .post(
                "/v1/chat/completions",
                chat_body(model, user("[[sim:status=500]] hi"), json!({})),
            )
            .await;
        let (status, headers, body) = json_of(resp).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{model}: {body}");
        let e = openai_error(&body);
        assert_eq!(e["type"], "upstream_error", "{body}");
        let msg = e["message"].as_str().expect("message");
        assert!(msg.contains(provider), "{msg}");
        assert!(msg.contains("500"), "{msg}");
        let attempts: u64 = header(&headers, "x-switchyard-attempts")
            .parse()
            .unwrap_or_else(|_| panic!("no attempts header: {headers:?}"));
        assert_eq!(attempts, h.sim.request_count(upstream), "{headers:?}");
        assert!(
            header(&headers, "x-switchyard-attempt-errors").contains(":500"),
            "{headers:?}"
        );
    }
}

/// A rejected gateway credential is a 502 `upstream_auth_error`, not the client's 401.
#[tokio::test]
async fn upstream_auth_failure_is_502_not_401() {
    let h = common::start(
        r#"
providers:
  - name: badkey
    kind: openai
    base_url: ${SIM}/v1
    api_key: invalid-xyz
"#,
    )
    .await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body("badkey/gpt-4o-mini", user("hi"), json!({})),
        )
        .await;
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let e = openai_error(&body);
    assert_eq!(e["type"], "upstream_auth_error", "{body}");
    let msg = e["message"].as_str().expect("message");
    assert!(msg.contains("badkey"), "{msg}");
    assert!(msg.contains("not about your key"), "{msg}");
    // The provider's message is not passed on: it can quote part of the gateway's own key.
    assert!(!msg.contains("Incorrect API key"), "{msg}");
    assert!(!msg.contains("invalid-xyz"), "{msg}");
    assert!(msg.contains("HTTP 401"), "{msg}");
    assert_eq!(
        header(&headers, "x-switchyard-error"),
        "upstream_authentication_failed"
    );
    assert_eq!(
        h.sim.request_count("gpt-4o-mini"),
        1,
        "bad credentials are not retried"
    );
}

/// Mistral does not take `seed`: by default it is dropped and reported.
#[tokio::test]
async fn unsupported_param_dropped_and_reported() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "mistral/mistral-small-latest",
                user("echo: seeded"),
                json!({"seed": 42}),
            ),
        )
        .await;
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "seeded");
    assert_eq!(header(&headers, "x-switchyard-dropped-params"), "seed");
    let seen = h.sim.requests("mistral-small-latest");
    let upstream: serde_json::Value = serde_json::from_slice(&seen[0].body).expect("json");
    assert!(upstream.get("seed").is_none(), "{upstream}");
}

/// Dropping works for streams too, and the header is on the stream's response.
#[tokio::test]
async fn unsupported_param_dropped_on_stream() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "mistral/mistral-small-latest",
                user("echo: seeded"),
                json!({"seed": 42, "stream": true}),
            ),
        )
        .await;
    assert_eq!(
        header(resp.headers(), "x-switchyard-dropped-params"),
        "seed"
    );
    let s = super::OpenAiStream::read(resp).await;
    assert!(s.done);
    assert_eq!(s.text(), "seeded");
}

#[tokio::test]
async fn unsupported_param_rejected_on_request() {
    let h = common::start("").await;
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-switchyard-unsupported-params", "reject")
        .json(&chat_body(
            "mistral/mistral-small-latest",
            user("hi"),
            json!({"seed": 42}),
        ))
        .send()
        .await
        .expect("send");
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let e = openai_error(&body);
    assert_eq!(e["param"], "seed", "{body}");
    assert_eq!(e["code"], "unsupported_parameter", "{body}");
    assert!(
        e["message"].as_str().expect("message").contains("mistral"),
        "{body}"
    );
    assert_eq!(h.sim.request_count("mistral-small-latest"), 0);
}

#[tokio::test]
async fn bad_option_header_is_400_naming_it() {
    let h = common::start("").await;
    let resp = h
        .client
        .post(h.url("/v1/chat/completions"))
        .header("x-switchyard-timeout", "soon")
        .json(&chat_body("openai/gpt-4o-mini", user("hi"), json!({})))
        .send()
        .await
        .expect("send");
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(openai_error(&body)["message"]
        .as_str()
        .expect("message")
        .contains("x-switchyard-timeout"));
    assert_eq!(h.sim.request_count("gpt-4o-mini"), 0);
}

/// A provider that answers 200 with garbage is an upstream error, not a 200.
#[tokio::test]
async fn malformed_upstream_body_is_502() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "openai/gpt-4o-mini",
                user("[[sim:malformed]] hi"),
                json!({}),
            ),
        )
        .await;
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(openai_error(&body)["type"], "upstream_error");
}

/// A provider's 429 reaches the client as a 429 with a `Retry-After`, in reasonable time.
#[tokio::test]
async fn provider_429_is_429_with_retry_after() {
    let h = common::start("").await;
    let t = tokio::time::Instant::now();
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "openai/gpt-4o-mini",
                user("[[sim:status=429]] hi"),
                json!({}),
            ),
        )
        .await;
    let (status, headers, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(openai_error(&body)["type"], "rate_limit_error", "{body}");
    assert!(
        header(&headers, "retry-after")
            .parse::<u64>()
            .is_ok_and(|s| s >= 1),
        "{headers:?}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
}

/// A stream that fails before its first byte is an ordinary JSON error, not an SSE body.
#[tokio::test]
async fn stream_failing_before_first_byte_is_a_json_error() {
    let h = common::start("").await;
    let resp = h
        .post(
            "/v1/chat/completions",
            chat_body(
                "openai/gpt-4o-mini",
                user("[[sim:status=503]] hi"),
                json!({"stream": true}),
            ),
        )
        .await;
    assert_eq!(header(resp.headers(), "content-type"), "application/json");
    let (status, _, body) = json_of(resp).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(openai_error(&body)["message"]
        .as_str()
        .expect("message")
        .contains("openai"));
}

/// Every response carries a request id, including those refused before any handler ran.
#[tokio::test]
async fn every_error_response_has_a_request_id() {
    let h = common::start("server:\n  master_key: k\n  body_limit: 1KiB\n").await;
    let unauthorized = h.post("/v1/chat/completions", json!({})).await;
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !header(unauthorized.headers(), "x-request-id").is_empty(),
        "401: {:?}",
        unauthorized.headers()
    );
    let too_large = post_oversized(&h, None).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        !header(too_large.headers(), "x-request-id").is_empty(),
        "413: {:?}",
        too_large.headers()
    );
    let no_route = h
        .client
        .get(h.url("/v2/nothing"))
        .bearer_auth("k")
        .send()
        .await
        .expect("send");
    assert_eq!(no_route.status(), StatusCode::NOT_FOUND);
    assert!(
        !header(no_route.headers(), "x-request-id").is_empty(),
        "404: {:?}",
        no_route.headers()
    );
}

/// Responses made without a handler's help (401 in both shapes, 404, 405, 413, open routes)
/// echo the client's sane `x-request-id`; an unusable one (too long, not printable) is
/// replaced by a new id.
#[tokio::test]
async fn edge_responses_echo_the_clients_request_id() {
    let h = common::start("server:\n  master_key: k\n  body_limit: 1KiB\n").await;
    for path in ["/v1/chat/completions", "/v1/messages"] {
        let r = h
            .client
            .post(h.url(path))
            .header("x-request-id", "edge-401")
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(header(r.headers(), "x-request-id"), "edge-401", "{path}");
    }
    for (path, id, status) in [
        ("/v2/nothing", "edge-404", StatusCode::NOT_FOUND),
        (
            "/v1/chat/completions",
            "edge-405",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        ("/health/live", "edge-open", StatusCode::OK),
    ] {
        let r = h
            .client
            .get(h.url(path))
            .bearer_auth("k")
            .header("x-request-id", id)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(header(r.headers(), "x-request-id"), id, "{path}");
    }
    let too_large = post_oversized(&h, Some("edge-413")).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(header(too_large.headers(), "x-request-id"), "edge-413");
    for bad in ["x".repeat(129), "two words".to_owned()] {
        let r = h
            .client
            .post(h.url("/v1/chat/completions"))
            .header("x-request-id", bad.as_str())
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let id = header(r.headers(), "x-request-id");
        assert!(id.starts_with("req_") && id != bad, "{bad}: {id}");
    }
}

#[tokio::test]
async fn misspelt_bare_model_that_the_provider_does_not_know_is_404_with_suggestions() {
    let h = common::start("").await;
    // The name routes to OpenAI by its prefix; OpenAI answers 404 for an unknown model.
    h.sim.set_scenario(
        "gpt-4o-mni",
        switchyard_sim::Scenario {
            steps: vec![switchyard_sim::Fault::Status {
                code: 404,
                retry_after_secs: None,
            }],
            repeat: true,
        },
    );
    let (status, _, body) = json_of(
        h.post(
            "/v1/chat/completions",
            chat_body("gpt-4o-mni", user("hi"), json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let e = openai_error(&body);
    assert_eq!(e["code"], "model_not_found", "{body}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("gpt-4o-mni") && msg.contains("openai/gpt-4o-mini"),
        "{msg}"
    );
}

/// A chat request over the test configs' body limit (4 KiB of prompt), with the master key
/// `k` and optionally a client request id.
async fn post_oversized(h: &common::Harness, request_id: Option<&str>) -> reqwest::Response {
    let mut req = h
        .client
        .post(h.url("/v1/chat/completions"))
        .bearer_auth("k")
        .json(&chat_body(
            "openai/gpt-4o-mini",
            user(&"x".repeat(4096)),
            json!({}),
        ));
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    req.send().await.expect("send")
}
