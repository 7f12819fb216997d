//! Per-request overrides read from `x-switchyard-*` headers.

use axum::http::HeaderMap;
use switchyard_config::{parse_duration, ParamPolicy};
use switchyard_core::RequestOptions;

use crate::error::{ApiError, ErrorKind};

/// Overall deadline override.
pub(crate) const TIMEOUT: &str = "x-switchyard-timeout";
/// First-byte deadline override.
pub(crate) const FIRST_BYTE_TIMEOUT: &str = "x-switchyard-first-byte-timeout";
/// `drop` or `reject` unsupported parameters.
pub(crate) const UNSUPPORTED_PARAMS: &str = "x-switchyard-unsupported-params";
/// JSON object of routing metadata.
pub(crate) const METADATA: &str = "x-switchyard-metadata";
/// Comma-separated routing tags.
pub(crate) const TAGS: &str = "x-switchyard-tags";

/// Reads the overrides; malformed values are a 400 naming the header.
pub(crate) fn from_headers(h: &HeaderMap) -> Result<RequestOptions, ApiError> {
    // Most requests carry none: one pass over the names instead of five lookups.
    if !h.keys().any(|k| k.as_str().starts_with("x-switchyard-")) {
        return Ok(RequestOptions::default());
    }
    let text = |name: &str| -> Result<Option<&str>, ApiError> {
        match h.get(name) {
            None => Ok(None),
            Some(v) => v.to_str().map(|s| Some(s.trim())).map_err(|_| {
                ApiError::new(
                    ErrorKind::InvalidRequest,
                    format!("header `{name}` is not valid text"),
                )
            }),
        }
    };
    let duration = |name: &str| -> Result<Option<std::time::Duration>, ApiError> {
        match text(name)? {
            None => Ok(None),
            Some(v) => {
                // A bare number is milliseconds here, as in most client timeout headers.
                let parsed = v
                    .parse::<u64>()
                    .ok()
                    .map(std::time::Duration::from_millis)
                    .or_else(|| parse_duration(v));
                match parsed {
                    Some(d) if !d.is_zero() => Ok(Some(d)),
                    _ => Err(ApiError::new(
                        ErrorKind::InvalidRequest,
                        format!("header `{name}`: `{v}` is not a duration like 30s or 1500"),
                    )),
                }
            }
        }
    };
    let mut opts = RequestOptions {
        total_timeout: duration(TIMEOUT)?,
        first_byte_timeout: duration(FIRST_BYTE_TIMEOUT)?,
        ..RequestOptions::default()
    };
    if let Some(v) = text(UNSUPPORTED_PARAMS)? {
        opts.param_policy = Some(ParamPolicy::parse(v).ok_or_else(|| {
            ApiError::new(
                ErrorKind::InvalidRequest,
                format!("header `{UNSUPPORTED_PARAMS}` must be `drop` or `reject`"),
            )
        })?);
    }
    if let Some(v) = text(METADATA)? {
        match serde_json::from_str::<serde_json::Value>(v) {
            Ok(serde_json::Value::Object(m)) => opts.metadata = m,
            _ => {
                return Err(ApiError::new(
                    ErrorKind::InvalidRequest,
                    format!("header `{METADATA}` must be a JSON object"),
                ))
            }
        }
    }
    if let Some(v) = text(TAGS)? {
        let tags: Vec<serde_json::Value> = v
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| serde_json::Value::String(t.to_owned()))
            .collect();
        opts.metadata
            .insert("tags".to_owned(), serde_json::Value::Array(tags));
    }
    Ok(opts)
}
