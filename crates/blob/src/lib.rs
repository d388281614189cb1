//! Where aerie keeps bytes: task data, per-attempt logs, and the signatures on URLs that let
//! clients upload and download without an RPC.
//!
//! # Layout
//! - [`store`]: [`Blobs`], the object store behind every URI aerie hands out, and the storage
//!   layout (run bases, attempt prefixes, uploads, inputs).
//! - [`objects`]: objects by key for the S3 API: streamed writes, reads from an offset,
//!   listings in key order, deletes; [`multipart`]: uploads sent in parts.
//! - [`layout`]: where an action's and an attempt's files live (outputs, errors, reports,
//!   checkpoints, raw data, per-attempt directories); the only place that spells them.
//! - [`logs`]: [`LogStore`], append-only per-attempt logs with live followers.
//! - [`upload`]: streamed, immutable uploads.
//! - [`s3`]: the S3 backend of [`Blobs`] (`--storage s3://BUCKET[/PREFIX]`).
//! - [`signing`]: [`UrlSigner`], HMAC signatures with expiry for upload and download URLs.

pub mod layout;
pub mod logs;
pub mod multipart;
pub mod objects;
pub mod s3;
pub mod signing;
pub mod store;
pub mod upload;

pub use layout::{ActionLayout, AttemptLayout};
pub use logs::{LogLine, LogStore, LogWriter, Originator};
pub use multipart::MultipartError;
pub use objects::{ObjectMeta, WriteError};
pub use s3::{S3Config, S3ConfigError};
pub use signing::{SignatureError, SignedGrant, UrlSigner, create_key_file, load_or_create_key};
pub use store::{BUCKET, BlobError, Blobs, check_key};
pub use upload::{Published, Upload, UploadError};
