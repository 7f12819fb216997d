//! Reading a request body under the gateway's body limit, with our own rejections: an
//! oversized or unreadable body becomes our error shape (413 / 400), never a plain-text one.
//!
//! The limit is enforced here rather than by a layer: a declared `Content-Length` over it is
//! refused before a byte of the body is read, and a body without one (chunked) is refused as
//! soon as it passes the limit.

use std::future::poll_fn;

use axum::body::Bytes;
use axum::http::HeaderMap;
use bytes::BytesMut;

use crate::error::{ApiError, ErrorKind};

/// Boxed error of a request body.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn too_large() -> ApiError {
    ApiError::new(
        ErrorKind::PayloadTooLarge,
        "request body exceeds the gateway's body limit",
    )
}

/// The whole body, refused with 413 when it is (or says it is) over `limit` bytes, and with
/// 400 when the client's upload fails.
pub(crate) async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // Most bodies arrive whole (the connection loop reads them before the handler runs):
    // one frame, taken as it is. Otherwise the frames are gathered under the limit.
    let mut body = std::pin::pin!(body);
    let mut whole: Option<BytesMut> = None;
    let mut first = Bytes::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            let e: BoxError = e.into();
            ApiError::new(
                ErrorKind::InvalidRequest,
                format!("cannot read request body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let so_far = whole.as_ref().map_or(first.len(), BytesMut::len);
        if so_far + data.len() > limit {
            return Err(too_large());
        }
        match &mut whole {
            Some(all) => all.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut all = BytesMut::with_capacity(first.len() + data.len());
                all.extend_from_slice(&first);
                all.extend_from_slice(&data);
                whole = Some(all);
            }
        }
    }
    Ok(whole.map_or(first, BytesMut::freeze))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{HeaderMap, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    use futures_util::stream;

    use super::read_body;

    fn status(e: crate::error::ApiError) -> StatusCode {
        e.into_response().status()
    }

    #[tokio::test]
    async fn under_the_limit_is_read_whole() {
        let body = Body::from_stream(stream::iter([Ok::<_, std::io::Error>("ab"), Ok("cd")]));
        let bytes = read_body(&HeaderMap::new(), body, 4).await.expect("body");
        assert_eq!(&bytes[..], b"abcd");
    }

    /// Refused on its `Content-Length` alone: the body is never polled.
    #[tokio::test]
    async fn declared_length_over_the_limit_is_413_unread() {
        let mut h = HeaderMap::new();
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        let never = Body::from_stream(stream::poll_fn(
            |_| -> std::task::Poll<Option<Result<&'static str, std::io::Error>>> {
                panic!("the body was read")
            },
        ));
        let err = read_body(&h, never, 4).await.expect_err("refused");
        assert_eq!(status(err), StatusCode::PAYLOAD_TOO_LARGE);
    }

    /// A chunked upload says nothing of its size; it is refused once it passes the limit.
    #[tokio::test]
    async fn chunked_body_over_the_limit_is_413() {
        let body = Body::from_stream(stream::iter([Ok::<_, std::io::Error>("abc"), Ok("de")]));
        let err = read_body(&HeaderMap::new(), body, 4)
            .await
            .expect_err("refused");
        assert_eq!(status(err), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn failed_upload_is_400() {
        let body = Body::from_stream(stream::iter([
            Ok("ab"),
            Err(std::io::Error::other("connection reset")),
        ]));
        let err = read_body(&HeaderMap::new(), body, 100)
            .await
            .expect_err("failed");
        let resp = err.into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
}
