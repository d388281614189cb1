//! The S3 backend of [`crate::Blobs`]: every object in one bucket of an S3-compatible store,
//! under an optional prefix, through `object_store`.
//!
//! Keys are the same `/`-separated names the local backend uses; the object's name in the
//! bucket is `{prefix}/{key}`, kept verbatim (no escaping), and its URI `s3://{bucket}/{prefix}/{key}`.
//! Nothing here touches the local disk. Several aerie nodes share one bucket and prefix.
//!
//! # Contract
//! The store is strongly consistent for reads after writes and lists after writes (AWS S3,
//! SeaweedFS and MinIO are): a chunk one node wrote is listed by the next poll on another.

use crate::objects::ObjectMeta;
use crate::store::BlobError;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as StorePath;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use std::ops::Range;
use std::time::{Duration, UNIX_EPOCH};

/// Where an S3 store is and how to sign in: `--storage s3://BUCKET[/PREFIX]` plus the node's
/// `AWS_*` variables.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// Names under the bucket start with this (no leading or trailing `/`); may be empty.
    pub prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; `None` means AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Whether a plain-HTTP endpoint is allowed.
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

/// Why an `s3://` storage URL or its settings are refused.
#[derive(Debug, thiserror::Error)]
pub enum S3ConfigError {
    #[error("--storage must be s3://BUCKET[/PREFIX], not {0:?}")]
    BadUrl(String),
    #[error("S3 storage needs {0} in the environment")]
    Missing(&'static str),
}

impl S3Config {
    /// The store `url` (`s3://BUCKET[/PREFIX]`) names, signed in with the `AWS_*` values
    /// `env` returns (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`). The caller decides where variables come from.
    pub fn from_url(
        url: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, S3ConfigError> {
        let bad = || S3ConfigError::BadUrl(url.to_owned());
        let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let bucket_ok = !bucket.is_empty()
            && bucket
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-._".contains(&byte));
        if !bucket_ok || (!prefix.is_empty() && crate::store::check_key(prefix).is_err()) {
            return Err(bad());
        }
        let required = |name: &'static str| env(name).ok_or(S3ConfigError::Missing(name));
        let endpoint = env("AWS_ENDPOINT_URL").filter(|value| !value.is_empty());
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            allow_http: env("AWS_ALLOW_HTTP").is_some_and(|value| value == "true" || value == "1")
                || endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://")),
            endpoint,
            region: env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: required("AWS_SECRET_ACCESS_KEY")?,
        })
    }
}

/// Requests to the store give up after this long, so a dead store fails the request that
/// touched it instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Connecting gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One bucket (and prefix) of an S3-compatible store.
#[derive(Debug)]
pub struct S3Blobs {
    store: AmazonS3,
    config: S3Config,
}

impl S3Blobs {
    /// A client for `config`; nothing is contacted yet.
    pub fn new(config: S3Config) -> Result<Self, BlobError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_allow_http(config.allow_http)
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(10),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_connect_timeout(CONNECT_TIMEOUT)
                    .with_allow_http(config.allow_http),
            );
        if let Some(endpoint) = &config.endpoint {
            // A custom endpoint (SeaweedFS, MinIO) is addressed path-style.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|err| BlobError::Config {
            reason: err.to_string(),
        })?;
        Ok(Self { store, config })
    }

    /// What this store was opened with.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// `s3://{bucket}/{prefix}/`, what every URI starts with.
    pub fn uri_base(&self) -> String {
        if self.config.prefix.is_empty() {
            format!("s3://{}/", self.config.bucket)
        } else {
            format!("s3://{}/{}/", self.config.bucket, self.config.prefix)
        }
    }

    /// The object's name in the bucket.
    fn name(&self, key: &str) -> String {
        if self.config.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.config.prefix)
        }
    }

    fn path(&self, key: &str) -> Result<StorePath, BlobError> {
        StorePath::parse(self.name(key)).map_err(|_| BlobError::BadKey { key: key.into() })
    }

    /// The key of an object name the store listed.
    fn key_of_name<'a>(&self, name: &'a str) -> &'a str {
        if self.config.prefix.is_empty() {
            name
        } else {
            name.strip_prefix(&self.config.prefix)
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(name)
        }
    }

    pub(crate) async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.path(key)?;
        self.store
            .put(&path, bytes.into())
            .await
            .map(|_| ())
            .map_err(|err| store_error(key, &err))
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = self.path(key)?;
        let fetched = async { self.store.get(&path).await?.bytes().await }.await;
        match fetched {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(store_error(key, &err)),
        }
    }

    pub(crate) async fn get_range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<Option<Bytes>, BlobError> {
        let path = self.path(key)?;
        match self.store.get_range(&path, range).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(store_error(key, &err)),
        }
    }

    pub(crate) async fn stat(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(ObjectMeta {
                key: key.to_owned(),
                size: meta.size,
                modified: UNIX_EPOCH
                    + Duration::from_millis(meta.last_modified.timestamp_millis().max(0) as u64),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(store_error(key, &err)),
        }
    }

    /// Objects whose key starts with `prefix` (a plain string prefix, as on S3) and sorts after
    /// `after`, in key order, at most `limit`.
    pub(crate) async fn list(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>, BlobError> {
        // object_store lists whole path segments: list the directory the prefix's last `/`
        // names and keep what starts with the prefix.
        let base = prefix.rfind('/').map_or("", |slash| &prefix[..slash]);
        let base_path = match base {
            "" if self.config.prefix.is_empty() => None,
            _ => Some(
                self.path(base)
                    .map_err(|_| BlobError::BadKey { key: prefix.into() })?,
            ),
        };
        let listing = if after.is_empty() {
            self.store.list(base_path.as_ref())
        } else {
            let offset = self.path(after)?;
            self.store.list_with_offset(base_path.as_ref(), &offset)
        };
        let mut found: Vec<ObjectMeta> =
            listing
                .map_err(|err| store_error(prefix, &err))
                .try_filter_map(|meta| {
                    let key = self.key_of_name(meta.location.as_ref()).to_owned();
                    let keep = key.starts_with(prefix) && key.as_str() > after;
                    futures::future::ready(Ok(keep.then(|| ObjectMeta {
                        key,
                        size: meta.size,
                        modified: UNIX_EPOCH
                            + Duration::from_millis(
                                meta.last_modified.timestamp_millis().max(0) as u64
                            ),
                    })))
                })
                .take(limit)
                .try_collect()
                .await?;
        found.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(store_error(key, &err)),
        }
    }

    /// A presigned URL allowing `method` on `key` for `ttl`. `headers` (lowercase names) are
    /// bound into the signature: the request must send them with exactly these values.
    pub(crate) async fn presign(
        &self,
        method: http::Method,
        key: &str,
        ttl: Duration,
        headers: &[(&str, String)],
    ) -> Result<String, BlobError> {
        let path = self.path(key)?;
        let mut options = SignedUrlOptions::new();
        for (name, value) in headers {
            let name =
                http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| BlobError::Config {
                    reason: format!("{name} is not a header name"),
                })?;
            let value = http::HeaderValue::from_str(value).map_err(|_| BlobError::Config {
                reason: format!("{value:?} is not a header value"),
            })?;
            options.signed_headers.insert(name, value);
        }
        self.store
            .signed_url_opts(method, &path, ttl, &options)
            .await
            .map(|url| url.to_string())
            .map_err(|err| store_error(key, &err))
    }
}

/// The error for a failed request about `key`: the store's own words, which name the
/// endpoint and the object, never a path on this server.
fn store_error(key: &str, err: &object_store::Error) -> BlobError {
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    BlobError::Store {
        key: key.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "AWS_ACCESS_KEY_ID" => Some("id".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".into()),
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:8333".into()),
            _ => None,
        }
    }

    #[test]
    fn a_storage_url_names_a_bucket_and_an_optional_prefix() {
        let config = S3Config::from_url("s3://data/aerie/prod/", env).unwrap();
        assert_eq!(
            (config.bucket.as_str(), config.prefix.as_str()),
            ("data", "aerie/prod")
        );
        assert!(config.allow_http, "an http:// endpoint allows plain HTTP");
        assert_eq!(config.region, "us-east-1");
        let bare = S3Config::from_url("s3://data", env).unwrap();
        assert_eq!(bare.prefix, "");
        for bad in [
            "s3://",
            "s3:///x",
            "gs://b",
            "s3://b/a/../x",
            "s3://b/a//x",
            "s3://b c",
        ] {
            assert!(S3Config::from_url(bad, env).is_err(), "{bad}");
        }
        assert!(matches!(
            S3Config::from_url("s3://b", |_| None),
            Err(S3ConfigError::Missing("AWS_ACCESS_KEY_ID"))
        ));
    }
}
