//! Limits on RPC requests, checked before their bodies are read: a declared size over the
//! limit is refused at once, and requests that are costly to decode (compressed, large, or of
//! unknown size) take one of a few permits, held until the response starts, so decoding many
//! of them at once cannot multiply the memory one of them costs.

use crate::error::connect_error_response;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{StatusCode, header};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Requests at or below this size (declared, uncompressed) are cheap.
const CHEAP_BYTES: u64 = 256 * 1024;
/// How long a costly request waits for a permit before it is turned away.
const PERMIT_WAIT: Duration = Duration::from_secs(30);

/// The RPC request limits.
#[derive(Debug)]
pub struct RequestLimits {
    /// Largest request body, before and after decompression.
    pub max_bytes: u64,
    /// Permits for costly requests.
    pub costly: Semaphore,
}

/// Applies the limits to RPCs; other routes check their own.
pub async fn limit(
    State(limits): State<Arc<RequestLimits>>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/flyteidl2.") {
        return next.run(request).await;
    }
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(length) = declared
        && length > limits.max_bytes
    {
        // Connect sends resource_exhausted as 429.
        return connect_error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "resource_exhausted",
            &format!(
                "the request has {length} bytes; the limit is {} bytes",
                limits.max_bytes
            ),
        );
    }
    let compressed = [
        "content-encoding",
        "connect-content-encoding",
        "grpc-encoding",
    ]
    .iter()
    .any(|name| {
        headers
            .get(*name)
            .is_some_and(|value| value.as_bytes() != b"identity")
    });
    if !compressed && declared.is_some_and(|length| length <= CHEAP_BYTES) {
        return next.run(request).await;
    }
    let Ok(Ok(_permit)) = tokio::time::timeout(PERMIT_WAIT, limits.costly.acquire()).await else {
        return connect_error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "too many large requests at once; retry shortly",
        );
    };
    next.run(request).await
}
