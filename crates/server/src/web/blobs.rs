//! The signed blob URLs that `CreateUploadLocation` and `CreateDownloadLink` hand out (PUT to
//! upload, GET to download), on the same port as the RPCs. Both stream: an upload goes to disk
//! as it arrives, after its signature and declared size are checked, and is published only if
//! its content matches the hash it was signed for; a download is read from disk as it is sent.

use crate::rpc::data_proxy::MAX_UPLOAD_BYTES;
use crate::state::AppState;
use aerie_blob::{BlobError, Published, SignatureError, SignedGrant, UploadError};
use aerie_core::Timestamp;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

/// The query a signed URL carries.
#[derive(Debug, serde::Deserialize)]
pub struct SignedQuery {
    expires: Option<i64>,
    signature: Option<String>,
    /// Hex MD5 the upload was signed for.
    content_md5: Option<String>,
}

/// A refusal with a one-line reason.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    reason: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, format!("{}\n", self.reason)).into_response()
    }
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
    }
}

/// Checks that the URL carries a valid, unexpired signature for `method` on `key`.
fn check_signature(
    app: &AppState,
    method: &str,
    key: &str,
    query: &SignedQuery,
) -> Result<(), Refusal> {
    let (Some(expires_unix), Some(signature)) = (query.expires, query.signature.as_deref()) else {
        return Err(refuse_signature(SignatureError::Missing));
    };
    let grant = SignedGrant {
        method,
        key,
        expires_unix,
        content_md5: query.content_md5.as_deref().unwrap_or_default(),
    };
    let now_unix = Timestamp::now().as_micros() / 1_000_000;
    app.signer
        .verify(&grant, signature, now_unix)
        .map_err(refuse_signature)
}

fn refuse_signature(err: SignatureError) -> Refusal {
    refuse(StatusCode::FORBIDDEN, format!("{err}; ask for a new URL"))
}

/// The MD5 the upload must have: the one it was signed for and the `Content-MD5` header, which
/// must agree when both are given.
fn expected_md5(query: &SignedQuery, headers: &HeaderMap) -> Result<Option<Vec<u8>>, Refusal> {
    let bad = |what: &str| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("{what} is not a valid MD5"),
        )
    };
    let signed = match query.content_md5.as_deref().filter(|hash| !hash.is_empty()) {
        Some(hash) => Some(hex::decode(hash).map_err(|_| bad("the signed content hash"))?),
        None => None,
    };
    let header = match headers.get("content-md5") {
        Some(value) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(value.as_bytes())
                .map_err(|_| bad("Content-MD5"))?,
        ),
        None => None,
    };
    match (signed, header) {
        (Some(signed), Some(header)) if signed != header => Err(refuse(
            StatusCode::BAD_REQUEST,
            "Content-MD5 differs from the content hash this URL was issued for",
        )),
        (signed, header) => Ok(signed.or(header)),
    }
}

fn upload_failed(key: &str, err: UploadError) -> Refusal {
    match err {
        UploadError::TooLarge { .. } => refuse(StatusCode::PAYLOAD_TOO_LARGE, err.to_string()),
        UploadError::Conflict { .. } => refuse(StatusCode::CONFLICT, err.to_string()),
        UploadError::Blob(BlobError::Full { .. }) => refuse(
            StatusCode::INSUFFICIENT_STORAGE,
            format!("disk full: {key} was not stored"),
        ),
        UploadError::Blob(err) => {
            tracing::error!(key, error = %err, "storing an upload failed");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("storing the upload failed: {err}"),
            )
        }
    }
}

/// `PUT /blobs/{key}`: stores the body, streamed, if the URL is signed for it, its size is
/// within the limit and its content matches the hash it was signed for.
pub async fn upload(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<SignedQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, Refusal> {
    check_signature(&app, "PUT", &key, &query)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_UPLOAD_BYTES) {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("uploads are limited to {MAX_UPLOAD_BYTES} bytes"),
        ));
    }
    let expected = expected_md5(&query, &headers)?;
    let mut upload = app
        .blobs
        .begin_upload(MAX_UPLOAD_BYTES)
        .await
        .map_err(|err| upload_failed(&key, err.into()))?;
    let mut body = body.into_data_stream();
    while let Some(chunk) = futures::StreamExt::next(&mut body).await {
        let chunk = chunk.map_err(|err| {
            refuse(
                StatusCode::BAD_REQUEST,
                format!("the upload did not arrive whole: {err}"),
            )
        })?;
        upload
            .write(&chunk, &key)
            .await
            .map_err(|err| upload_failed(&key, err))?;
    }
    if expected.is_some_and(|expected| expected != upload.md5()) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "the uploaded content does not match its MD5; nothing was stored",
        ));
    }
    match upload.publish(&app.blobs, &app.blobs.uri(&key)).await {
        Ok(Published::Stored) => Ok(StatusCode::CREATED),
        Ok(Published::AlreadyStored) => Ok(StatusCode::OK),
        Err(err) => Err(upload_failed(&key, err)),
    }
}

/// The type a blob is served as: HTML for an `.html` key (a task's report, shown in the
/// console's sandboxed frame), bytes for everything else.
fn download_content_type(key: &str) -> &'static str {
    if key.ends_with(".html") {
        "text/html; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// `GET /blobs/{key}`: streams the blob from disk if the URL is signed for it.
pub async fn download(
    State(app): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<SignedQuery>,
) -> Result<Response, Refusal> {
    check_signature(&app, "GET", &key, &query)?;
    match app.blobs.open(&app.blobs.uri(&key)).await {
        Ok(Some((file, length))) => Ok((
            [
                (header::CONTENT_TYPE, download_content_type(&key).to_owned()),
                (header::CONTENT_LENGTH, length.to_string()),
                // Whatever a task wrote opens with no scripts and no origin of its own, even
                // as a top-level page; and is never sniffed into something else.
                (header::CONTENT_SECURITY_POLICY, "sandbox".to_owned()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            Body::from_stream(tokio_util::io::ReaderStream::new(file)),
        )
            .into_response()),
        Ok(None) => Err(refuse(StatusCode::NOT_FOUND, "no such blob")),
        Err(err) => Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("reading the blob failed: {err}"),
        )),
    }
}
