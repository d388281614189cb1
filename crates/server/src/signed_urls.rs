//! Signed blob URLs on this server (`/blobs/KEY?expires=..&signature=..`): the one place that
//! turns a grant into a URL, for the DataProxy's upload and download links and the console's
//! file downloads. `web::blobs` checks them.

use crate::auth::guard::RequestOrigin;
use crate::state::AppState;
use aerie_blob::SignedGrant;
use aerie_core::Timestamp;
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

/// A URL on this server (as the request reached it) allowing `method` on blob `key` for
/// `ttl`, and its expiry. An upload URL is bound to `content_md5` (hex, or empty for none).
pub fn blob_url(
    app: &AppState,
    origin: &RequestOrigin,
    method: &str,
    key: &str,
    content_md5: &str,
    ttl: Duration,
) -> (String, Timestamp) {
    let now = Timestamp::now();
    let expires_unix = now.as_micros() / 1_000_000 + ttl.as_secs() as i64;
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
    (url, Timestamp::from_micros(expires_unix * 1_000_000))
}
