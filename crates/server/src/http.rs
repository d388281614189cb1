//! Plain HTTP beside the RPCs, on the same port: `/healthz`, and the signed blob URLs that
//! `CreateUploadLocation` and `CreateDownloadLink` hand out (PUT to upload, GET to download).

use crate::state::AppState;
use aerie_blob::SignatureError;
use aerie_core::Timestamp;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use md5::Digest;

/// The query a signed URL carries.
#[derive(Debug, serde::Deserialize)]
pub struct SignedQuery {
    expires: Option<i64>,
    signature: Option<String>,
}

/// A refusal with a one-line reason.
fn refuse(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, format!("{}\n", reason.into())).into_response()
}

/// Checks that the URL carries a valid, unexpired signature for `method` on `key`.
fn check_signature(
    app: &AppState,
    method: &str,
    key: &str,
    query: &SignedQuery,
) -> Result<(), SignatureError> {
    let now_unix = Timestamp::now().as_micros() / 1_000_000;
    app.signer.verify(
        method,
        key,
        query.expires,
        query.signature.as_deref(),
        now_unix,
    )
}

fn refuse_signature(err: SignatureError) -> Response {
    refuse(StatusCode::FORBIDDEN, format!("{err}; ask for a new URL"))
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `PUT /blobs/{key}`: stores the body if the URL is signed for it (and the MD5 matches).
pub async fn upload(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<SignedQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(err) = check_signature(&app, "PUT", &key, &query) {
        return refuse_signature(err);
    }
    if let Some(expected) = headers.get("content-md5") {
        let actual = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&body));
        if expected.as_bytes() != actual.as_bytes() {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Content-MD5 does not match the body",
            );
        }
    }
    match app.blobs.put(&app.blobs.uri(&key), body).await {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(err) => {
            tracing::error!(key, error = ?err, "storing an upload failed");
            let status = match err {
                aerie_blob::BlobError::Full { .. } => StatusCode::INSUFFICIENT_STORAGE,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            refuse(status, format!("storing the upload failed: {err}"))
        }
    }
}

/// `GET /blobs/{key}`: returns the blob if the URL is signed for it.
pub async fn download(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<SignedQuery>,
) -> Response {
    if let Err(err) = check_signature(&app, "GET", &key, &query) {
        return refuse_signature(err);
    }
    match app.blobs.get(&app.blobs.uri(&key)).await {
        Ok(Some(bytes)) => bytes.into_response(),
        Ok(None) => refuse(StatusCode::NOT_FOUND, "no such blob"),
        Err(err) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("reading the blob failed: {err}"),
        ),
    }
}

/// Gives a bare `415 Unsupported Media Type` from the RPC layer a Connect error body that says
/// which content types work.
pub async fn explain_unsupported_media_type(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let content_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(none)")
        .to_owned();
    let response = next.run(request).await;
    if response.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    let message = format!(
        "content-type {content_type:?} is not supported; send application/proto or \
         application/json (Connect), application/grpc, or application/grpc-web"
    );
    let body = serde_json::json!({ "code": "invalid_argument", "message": message });
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Logs every request at debug level: path, status, time taken and the client's request id.
pub async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        path,
        request_id,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
