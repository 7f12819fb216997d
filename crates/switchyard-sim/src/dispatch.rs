//! The catch-all handler: route, count and record, authenticate, rate-limit, then hand the
//! request to its dialect.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::dialect::{self, anthropic, gemini, openai, Ctx};
use crate::embeddings;
use crate::error::{Cause, SimError};
use crate::fault::Directives;
use crate::models;
use crate::ratelimit;
use crate::route::{self, Dialect, Flavor, Op};
use crate::state::{RecordedRequest, SimState};
use crate::SimConfig;

const FAULT_HEADER: &str = "x-sim-fault";

pub(crate) async fn handle(
    State(state): State<SimState>,
    method: Method,
    version: axum::http::Version,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(route) = route::parse(uri.path(), &headers) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let wants_post = !matches!(route.op, Op::ListModels | Op::GetModel);
    if (method == Method::POST) != wants_post {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let parsed = wants_post.then(|| serde_json::from_slice::<Value>(&body));
    let body_model = match &parsed {
        Some(Ok(value)) => value.get("model").and_then(Value::as_str),
        _ => None,
    };
    let model = route.path_model.or(body_model).unwrap_or_default();
    let entry = state.entry(model);
    entry.count.fetch_add(1, Ordering::Relaxed);
    if state.config().record_requests {
        entry.record(RecordedRequest {
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned()),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
            version: format!("{version:?}"),
        });
    }
    let seq = state.next_id();
    let mut out = HeaderMap::new();
    request_id_headers(route.dialect, seq, &mut out);
    let fail =
        |err: &SimError, out: HeaderMap| dialect::error_response(route.dialect, err, out, seq);

    if route.azure_deployment && !uri.query().is_some_and(|q| q.contains("api-version=")) {
        return fail(
            &SimError::new(404, Cause::NotFound, "Resource not found"),
            out,
        );
    }
    if let Err(err) = authenticate(route.dialect, state.config(), &headers, uri.query()) {
        return fail(&err, out);
    }
    let mut ctx = Ctx {
        state: &state,
        entry: &entry,
        route,
        query: uri.query(),
        req_headers: &headers,
        directives: Directives::default(),
        headers: out,
        seq,
    };
    let Some(parsed) = parsed else {
        return models::serve(&ctx);
    };
    if route.op != Op::CountTokens {
        let snap = ratelimit::admit(&entry, (body.len() / 4) as u64);
        match route.dialect {
            Dialect::OpenAi(_) => ratelimit::openai_headers(&snap, &mut ctx.headers),
            Dialect::Anthropic => ratelimit::anthropic_headers(&snap, &mut ctx.headers),
            Dialect::Gemini => {}
        }
        if snap.limited {
            let err = SimError::new(429, Cause::RateLimited, "")
                .with_retry_after(Some(snap.retry_after_secs()));
            return ctx.error(&err);
        }
    }
    let value = match parsed {
        Ok(value) => value,
        Err(err) => return ctx.error(&malformed(route.dialect, &err)),
    };
    if let Some(spec) = ctx
        .req_headers
        .get(FAULT_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        ctx.directives.apply(spec);
    }
    match (route.dialect, route.op) {
        (Dialect::OpenAi(flavor), Op::Chat) => openai::chat(ctx, flavor, value).await,
        (Dialect::OpenAi(flavor), Op::Embed) => embeddings::openai(ctx, flavor, value).await,
        (Dialect::Anthropic, Op::Chat) => anthropic::messages(ctx, value, false).await,
        (Dialect::Anthropic, Op::CountTokens) => anthropic::messages(ctx, value, true).await,
        (Dialect::Gemini, Op::Chat) => gemini::generate(ctx, value, false, false).await,
        (Dialect::Gemini, Op::StreamChat) => gemini::generate(ctx, value, true, false).await,
        (Dialect::Gemini, Op::CountTokens) => gemini::generate(ctx, value, false, true).await,
        (Dialect::Gemini, Op::Embed) => embeddings::gemini(ctx, value, false).await,
        (Dialect::Gemini, Op::BatchEmbed) => embeddings::gemini(ctx, value, true).await,
        _ => ctx.error(&SimError::new(404, Cause::NotFound, "Not found")),
    }
}

fn request_id_headers(dialect: Dialect, seq: u64, out: &mut HeaderMap) {
    let id = HeaderValue::from_str(&format!("req_sim{seq:06}")).ok();
    match dialect {
        Dialect::OpenAi(_) => {
            if let Some(id) = id {
                out.insert(HeaderName::from_static("x-request-id"), id);
            }
            out.insert(
                HeaderName::from_static("openai-processing-ms"),
                HeaderValue::from_static("1"),
            );
            out.insert(
                HeaderName::from_static("openai-version"),
                HeaderValue::from_static("2020-10-01"),
            );
        }
        Dialect::Anthropic => {
            if let Some(id) = id {
                out.insert(HeaderName::from_static("request-id"), id);
            }
        }
        Dialect::Gemini => {}
    }
}

fn malformed(dialect: Dialect, err: &serde_json::Error) -> SimError {
    let message = match dialect {
        Dialect::OpenAi(_) => "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)".to_owned(),
        Dialect::Anthropic => format!("There was an error parsing the body of your request: {err}"),
        Dialect::Gemini => String::new(),
    };
    SimError::new(400, Cause::Malformed, message)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn check_key(config: &SimConfig, key: Option<&str>) -> Result<(), SimError> {
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(SimError::new(401, Cause::MissingKey, ""));
    };
    let ok = match &config.required_key {
        Some(required) => key == required,
        None => !key.starts_with("invalid"),
    };
    if ok {
        Ok(())
    } else {
        Err(SimError::new(401, Cause::InvalidKey, ""))
    }
}

fn authenticate(
    dialect: Dialect,
    config: &SimConfig,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), SimError> {
    match dialect {
        Dialect::OpenAi(Flavor::Ollama) => Ok(()),
        Dialect::OpenAi(Flavor::Azure) => check_key(
            config,
            header(headers, "api-key").or_else(|| bearer(headers)),
        ),
        Dialect::OpenAi(_) => check_key(config, bearer(headers)),
        Dialect::Anthropic => {
            check_key(
                config,
                header(headers, "x-api-key").or_else(|| bearer(headers)),
            )?;
            if header(headers, "anthropic-version").is_none() {
                return Err(SimError::invalid("anthropic-version: header is required"));
            }
            Ok(())
        }
        Dialect::Gemini => {
            let from_query =
                query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("key=")));
            check_key(config, header(headers, "x-goog-api-key").or(from_query)).map_err(
                |mut err| {
                    // Google answers 403 without a key and 400 API_KEY_INVALID with a bad one.
                    err.status = if err.cause == Cause::MissingKey {
                        403
                    } else {
                        400
                    };
                    err
                },
            )
        }
    }
}
