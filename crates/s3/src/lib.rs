//! aerie's S3-compatible API over its blob store, so tasks and clients read and write task data
//! through the SDK's own object-store client, exactly as they would a bucket on Flyte.
//!
//! The protocol (routing, XML, SigV4 signatures, streaming bodies) is the `s3s` crate's; aerie
//! supplies the bucket and the credentials.
//!
//! # Layout
//! - [`credentials`]: access keys aerie derives (run-scoped for attempts, bucket-wide for
//!   operators) and what each may touch.
//! - `bucket`: the S3 operations over [`aerie_blob::Blobs`], each checked against the
//!   request's credential.
//! - `listing`: one page of a listing, with delimiters and continuation.

mod bucket;
pub mod credentials;
mod listing;

pub use credentials::{Credential, Scope, StorageKeys};
pub use s3s::service::S3Service;

use aerie_blob::Blobs;
use aerie_core::RunId;
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use std::sync::Arc;

/// Whether a run is still going: a run's storage credential works only while it is.
#[async_trait::async_trait]
pub trait RunActivity: Send + Sync + 'static {
    /// Whether `run` exists and has not ended. When unsure (the answer cannot be read), no.
    async fn in_progress(&self, run: &RunId) -> bool;
    /// Whether `reader` was handed outputs `source` made (a cache hit), and so may read
    /// `source`'s data. When unsure, no.
    async fn may_read(&self, reader: &RunId, source: &RunId) -> bool;
}

/// The S3 service for aerie's bucket: requests must be signed with a credential from `keys`,
/// and a run's credential must belong to a run `runs` says is in progress.
pub fn service(blobs: Blobs, keys: StorageKeys, runs: Arc<dyn RunActivity>) -> S3Service {
    let mut builder = S3ServiceBuilder::new(bucket::Bucket {
        blobs,
        keys: keys.clone(),
        runs,
    });
    builder.set_auth(Secrets(keys));
    builder.build()
}

/// Answers SigV4's question, the secret of an access key id, for ids aerie issued that have
/// not expired.
struct Secrets(StorageKeys);

#[async_trait::async_trait]
impl S3Auth for Secrets {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<SecretKey> {
        self.0
            .scope_of(access_key)
            .map_err(|err| s3s::s3_error!(InvalidAccessKeyId, "{err}"))?;
        Ok(SecretKey::from(self.0.secret_for(access_key)))
    }
}
