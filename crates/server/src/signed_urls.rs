//! Signed blob URLs: the one place that turns a grant into a URL, for the DataProxy's upload
//! and download links and the console's file downloads.
//!
//! With local storage they are URLs on this server (`/blobs/KEY?expires=..&signature=..`),
//! which `web::blobs` checks. With S3 storage they are the store's own presigned URLs, so
//! clients upload and download straight to the store. A presigned upload binds the content's
//! MD5 when the request gave one (the store refuses other content), but S3 cannot enforce the
//! rest: the object is not immutable (until the URL expires, uploading through it again
//! replaces the object, and a second URL for a key that does not exist yet is not refused),
//! and a presigned PUT cannot bind or limit the body's length, so aerie's upload size limit
//! applies only to the length the request announces.

use crate::auth::guard::RequestOrigin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use aerie_blob::SignedGrant;
use aerie_core::Timestamp;
use base64::Engine;
use std::time::Duration;

/// A key as it appears in a URL path: unreserved bytes and `/` as they are, the rest escaped.
fn percent_encode_key(key: &str) -> String {
    key.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What a signed URL allows.
pub struct BlobGrant<'a> {
    /// `PUT` or `GET`.
    pub method: &'a str,
    pub key: &'a str,
    /// Hex MD5 an upload must have, or empty for none.
    pub content_md5: &'a str,
    pub ttl: Duration,
}

/// A URL allowing `grant`, and its expiry: the store's presigned URL with S3 storage, else a
/// URL on this server (as the request reached it).
pub async fn blob_url(
    app: &AppState,
    origin: &RequestOrigin,
    grant: BlobGrant<'_>,
) -> ApiResult<(String, Timestamp)> {
    let BlobGrant {
        method,
        key,
        content_md5,
        ttl,
    } = grant;
    let now = Timestamp::now();
    let expires_unix = now.as_micros() / 1_000_000 + ttl.as_secs() as i64;
    let expires_at = Timestamp::from_micros(expires_unix * 1_000_000);
    let s3_method = match method {
        "PUT" => http::Method::PUT,
        _ => http::Method::GET,
    };
    let mut headers = Vec::new();
    if !content_md5.is_empty() {
        let digest = hex::decode(content_md5)
            .map_err(|_| ApiError::InvalidArgument("content_md5 is not an MD5 digest".into()))?;
        headers.push((
            "content-md5",
            base64::engine::general_purpose::STANDARD.encode(digest),
        ));
    }
    if let Some(url) = app
        .blobs
        .presigned_url(s3_method, key, ttl, &headers)
        .await?
    {
        return Ok((url, expires_at));
    }
    let signature = app.signer.sign(&SignedGrant {
        method,
        key,
        expires_unix,
        content_md5,
    });
    let hash = if content_md5.is_empty() {
        String::new()
    } else {
        format!("&content_md5={content_md5}")
    };
    let url = format!(
        "{}/blobs/{}?expires={expires_unix}{hash}&signature={signature}",
        origin.0,
        percent_encode_key(key)
    );
    Ok((url, expires_at))
}
