//! The store behind every data URI, and the storage layout.
//!
//! Two backends, one API: callers name objects by URI or key and never ask which is used.
//!
//! - **Local** (the default): every URI aerie hands out is `s3://aerie/{key}`: tasks and
//!   clients read and write it through aerie's S3-compatible API (the `aerie-s3` crate), as
//!   they would a bucket on Flyte. A key is a file under the blob root, stored under exactly its own name: spaces,
//!   brackets, `%`, `#`, `?` and non-ASCII characters included. A URI is mapped back to a key only
//!   if it names aerie's bucket (or, for records written before the bucket existed, a path under
//!   the root), so no request can make aerie read or write elsewhere. Writes land in a temporary
//!   file first and appear whole, after an fsync.
//! - **S3** (`--storage s3://BUCKET[/PREFIX]`, [`crate::s3`]): every object is in a real
//!   bucket, URIs are `s3://BUCKET/PREFIX/{key}`, and tasks and clients reach the store itself.
//!   Only the key-level operations aerie's own bucket needs (streamed writes, reads from an
//!   offset into a local file, multipart, immutable uploads) answer [`BlobError::NotLocal`]:
//!   aerie does not serve its bucket then.

use crate::s3::{S3Blobs, S3Config};
use aerie_core::{Domain, Project, RunId};
use bytes::Bytes;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{uri:?} is outside aerie's storage")]
    OutsideStorage { uri: String },
    #[error("{key:?} is not a valid object key (empty, `.` or `..` segments, or reserved)")]
    BadKey { key: String },
    #[error("cannot create the storage directory {path}")]
    CreateRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("disk full: aerie's storage could not write {key} (free space, then retry)")]
    Full { key: String },
    #[error("storage error on {key}: {kind}")]
    Io {
        /// The object's key under the storage root (never a server path).
        key: String,
        kind: io::ErrorKind,
    },
    /// The object store failed or could not be reached.
    #[error("the object store failed on {key}: {reason}")]
    Store { key: String, reason: String },
    #[error("the object store is misconfigured: {reason}")]
    Config { reason: String },
    /// An operation of aerie's own bucket, asked of S3 storage.
    #[error(
        "{operation} is served by aerie's own bucket, which is off with S3 storage (use the store's endpoint)"
    )]
    NotLocal { operation: &'static str },
}

impl BlobError {
    /// The error for a failed operation on `key`: [`BlobError::Full`] when the disk is full.
    pub(crate) fn io(key: &str, source: &io::Error) -> Self {
        if source.raw_os_error() == Some(ENOSPC) {
            Self::Full {
                key: key.to_owned(),
            }
        } else {
            Self::Io {
                key: key.to_owned(),
                kind: source.kind(),
            }
        }
    }
}

/// The bucket every URI names.
pub const BUCKET: &str = "aerie";

/// `ENOSPC` on Linux: no space left on the device.
const ENOSPC: i32 = 28;

/// Blob storage: a local directory or an S3 bucket.
#[derive(Debug, Clone)]
pub struct Blobs {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local { root: PathBuf },
    S3(Arc<S3Blobs>),
}

impl Blobs {
    /// Storage in `root` (created if missing), with an empty directory for uploads in flight:
    /// partial uploads an earlier process left behind are dropped.
    pub fn local(root: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(root).map_err(|source| BlobError::CreateRoot {
            path: root.to_path_buf(),
            source,
        })?;
        let root = root
            .canonicalize()
            .map_err(|source| BlobError::CreateRoot {
                path: root.to_path_buf(),
                source,
            })?;
        let blobs = Self {
            backend: Backend::Local { root },
        };
        let incoming = blobs.incoming_dir()?;
        let _ = std::fs::remove_dir_all(&incoming);
        std::fs::create_dir(&incoming).map_err(|source| BlobError::CreateRoot {
            path: incoming,
            source,
        })?;
        Ok(blobs)
    }

    /// Storage in the bucket and prefix `config` names; nothing is contacted yet.
    pub fn s3(config: S3Config) -> Result<Self, BlobError> {
        Ok(Self {
            backend: Backend::S3(Arc::new(S3Blobs::new(config)?)),
        })
    }

    /// The S3 store's settings, or `None` for local storage.
    pub fn s3_config(&self) -> Option<&S3Config> {
        match &self.backend {
            Backend::Local { .. } => None,
            Backend::S3(s3) => Some(s3.config()),
        }
    }

    /// The URI of `key` (a `/`-separated relative path): `s3://aerie/{key}` locally,
    /// `s3://BUCKET/PREFIX/{key}` on S3.
    pub fn uri(&self, key: &str) -> String {
        match &self.backend {
            Backend::Local { .. } => format!("s3://{BUCKET}/{key}"),
            Backend::S3(s3) => format!("{}{key}", s3.uri_base()),
        }
    }

    /// The S3 backend, or `None` for local storage.
    pub(crate) fn s3_backend(&self) -> Option<&S3Blobs> {
        match &self.backend {
            Backend::Local { .. } => None,
            Backend::S3(s3) => Some(s3),
        }
    }

    /// The local root, or [`BlobError::NotLocal`] for `operation` on S3.
    fn root(&self, operation: &'static str) -> Result<&Path, BlobError> {
        match &self.backend {
            Backend::Local { root } => Ok(root),
            Backend::S3(_) => Err(BlobError::NotLocal { operation }),
        }
    }

    /// Where `key` is on disk; `key` must come from [`Blobs::key_of`]. Local storage only.
    pub(crate) fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        Ok(self.root("a file under the blob root")?.join(key))
    }

    /// Where uploads are written before they are published. Local storage only.
    pub(crate) fn incoming_dir(&self) -> Result<PathBuf, BlobError> {
        Ok(self.root("an upload through aerie")?.join(INCOMING))
    }

    /// The key of `uri`: `s3://aerie/{key}`, or a path (plain or `file://`) under the root as
    /// records from before the bucket hold. Refuses any other bucket or place, and any key
    /// [`check_key`] refuses.
    pub fn key_of(&self, uri: &str) -> Result<String, BlobError> {
        let outside = || BlobError::OutsideStorage { uri: uri.into() };
        let root = match &self.backend {
            Backend::Local { root } => root,
            Backend::S3(s3) => {
                let key = uri.strip_prefix(&s3.uri_base()).ok_or_else(outside)?;
                return check_key(key).map(str::to_owned).map_err(|_| outside());
            }
        };
        let key = if let Some(rest) = uri.strip_prefix("s3://") {
            rest.strip_prefix(BUCKET)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(outside)?
        } else {
            let path = uri.strip_prefix("file://").unwrap_or(uri);
            let root = root.to_str().ok_or_else(outside)?;
            path.strip_prefix(root)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(outside)?
        };
        check_key(key).map(str::to_owned).map_err(|_| outside())
    }

    /// Writes `bytes` at `uri`, replacing what was there.
    pub async fn put(&self, uri: &str, bytes: Bytes) -> Result<(), BlobError> {
        let key = self.key_of(uri)?;
        let root = match &self.backend {
            Backend::Local { root } => root,
            Backend::S3(s3) => return s3.put(&key, bytes).await,
        };
        let path = root.join(&key);
        let written = async {
            let parent = path.parent().unwrap_or(root);
            tokio::fs::create_dir_all(parent).await?;
            let temp = parent.join(crate::objects::temp_name());
            let result = async {
                let mut file = tokio::fs::File::create(&temp).await?;
                file.write_all(&bytes).await?;
                file.sync_all().await?;
                tokio::fs::rename(&temp, &path).await
            }
            .await;
            if result.is_err() {
                let _ = tokio::fs::remove_file(&temp).await;
            }
            result
        }
        .await;
        written.map_err(|err| BlobError::io(&key, &err))
    }

    /// The bytes at `uri`, or `None` if nothing is there.
    pub async fn get(&self, uri: &str) -> Result<Option<Bytes>, BlobError> {
        let key = self.key_of(uri)?;
        if let Backend::S3(s3) = &self.backend {
            return s3.get(&key).await;
        }
        match tokio::fs::read(self.path(&key)?).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(BlobError::io(&key, &err)),
        }
    }

    /// Bytes `range` of the object at `uri` (cut short at its end), or `None` if nothing is
    /// there.
    pub async fn get_range(
        &self,
        uri: &str,
        range: Range<u64>,
    ) -> Result<Option<Bytes>, BlobError> {
        let key = self.key_of(uri)?;
        if let Backend::S3(s3) = &self.backend {
            let Some(size) = s3.stat(&key).await?.map(|meta| meta.size) else {
                return Ok(None);
            };
            let range = range.start.min(size)..range.end.min(size);
            if range.is_empty() {
                return Ok(Some(Bytes::new()));
            }
            return s3.get_range(&key, range).await;
        }
        let Some(mut file) = self.open_at(&key, range.start).await? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        let length = range.end.saturating_sub(range.start);
        tokio::io::AsyncReadExt::read_to_end(
            &mut tokio::io::AsyncReadExt::take(&mut file, length),
            &mut bytes,
        )
        .await
        .map_err(|err| BlobError::io(&key, &err))?;
        Ok(Some(Bytes::from(bytes)))
    }

    /// The size of the object at `uri`, or `None` if nothing is there.
    pub async fn size(&self, uri: &str) -> Result<Option<u64>, BlobError> {
        let key = self.key_of(uri)?;
        Ok(self.stat(&key).await?.map(|meta| meta.size))
    }

    /// A URL anyone may use to `method` (`GET` or `PUT`) the object at `key` for `ttl`,
    /// signed by the S3 store; `None` on local storage, where aerie signs and serves its own
    /// (`UrlSigner`). `headers` (lowercase names) are bound into the signature, so the request
    /// must send exactly them: an upload's `content-md5`. (A presigned PUT cannot bind or
    /// limit the body's length.)
    pub async fn presigned_url(
        &self,
        method: http::Method,
        key: &str,
        ttl: Duration,
        headers: &[(&str, String)],
    ) -> Result<Option<String>, BlobError> {
        match &self.backend {
            Backend::Local { .. } => Ok(None),
            Backend::S3(s3) => s3
                .presign(method, check_key(key)?, ttl, headers)
                .await
                .map(Some),
        }
    }

    /// The file at `uri` opened for streaming, with its size, or `None` if nothing is there.
    /// Local storage only.
    pub async fn open(&self, uri: &str) -> Result<Option<(tokio::fs::File, u64)>, BlobError> {
        let key = self.key_of(uri)?;
        let path = self.path(&key)?;
        let opened: io::Result<Option<(tokio::fs::File, u64)>> = async {
            let file = tokio::fs::File::open(path).await?;
            let metadata = file.metadata().await?;
            if metadata.is_file() {
                Ok(Some((file, metadata.len())))
            } else {
                Ok(None)
            }
        }
        .await;
        match opened {
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            other => other.map_err(|err| BlobError::io(&key, &err)),
        }
    }

    /// Whether anything is stored at `uri`.
    pub async fn exists(&self, uri: &str) -> Result<bool, BlobError> {
        let key = self.key_of(uri)?;
        if let Backend::S3(s3) = &self.backend {
            return Ok(s3.stat(&key).await?.is_some());
        }
        match tokio::fs::metadata(self.path(&key)?).await {
            Ok(metadata) => Ok(metadata.is_file()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(BlobError::io(&key, &err)),
        }
    }

    /// Where every action of `run` keeps its data: `{root}/runs/{project}/{domain}/{run}`.
    pub fn run_base(&self, run: &RunId) -> String {
        self.uri(&format!("runs/{}/{}/{}", run.project, run.domain, run.name))
    }

    /// Where an uploaded file lands: `{root}/uploads/{project}/{domain}/{folder}/{filename}`.
    pub fn upload_uri(
        &self,
        project: &Project,
        domain: &Domain,
        folder: &str,
        filename: &str,
    ) -> String {
        self.uri(&format!("uploads/{project}/{domain}/{folder}/{filename}"))
    }

    /// Where offloaded run inputs land: `{root}/inputs/{project}/{domain}/{digest}/inputs.pb`.
    pub fn inputs_uri(&self, project: &Project, domain: &Domain, digest: &str) -> String {
        self.uri(&format!("inputs/{project}/{domain}/{digest}/inputs.pb"))
    }
}

/// A key names a file under the root only when it is a `/`-separated path of non-empty
/// segments, none `.` or `..`, none holding a NUL, and it is not aerie's own uploads-in-flight
/// directory.
pub fn check_key(key: &str) -> Result<&str, BlobError> {
    let clean = !key.is_empty()
        && key.split('/').all(|segment| {
            !segment.is_empty() && segment != "." && segment != ".." && !segment.contains('\0')
        })
        && key.split('/').next() != Some(INCOMING);
    if clean {
        Ok(key)
    } else {
        Err(BlobError::BadKey { key: key.into() })
    }
}

/// The directory under the root where writes in flight live.
pub(crate) const INCOMING: &str = ".incoming";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_then_get_round_trips_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let uri = blobs.uri("runs/p/d/r/a0/1/outputs.pb");
        assert_eq!(blobs.get(&uri).await.unwrap(), None);
        assert!(!blobs.exists(&uri).await.unwrap());
        blobs.put(&uri, Bytes::from_static(b"abc")).await.unwrap();
        assert!(blobs.exists(&uri).await.unwrap());
        assert_eq!(blobs.get(&uri).await.unwrap().unwrap(), "abc");
        let root = dir.path().canonicalize().unwrap();
        let legacy = format!("file://{}/runs/p/d/r/a0/1/outputs.pb", root.display());
        assert_eq!(
            blobs.get(&legacy).await.unwrap().unwrap(),
            "abc",
            "a path under the root, as older records hold, names the same object"
        );
        blobs.put(&uri, Bytes::from_static(b"abcd")).await.unwrap();
        assert_eq!(
            blobs.get(&uri).await.unwrap().unwrap(),
            "abcd",
            "put replaces"
        );
    }

    #[tokio::test]
    async fn odd_names_are_stored_under_exactly_their_own_name() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let names = [
            "a b.txt",
            "br[1].txt",
            "p%20c.txt",
            "h#x.txt",
            "q?y.txt",
            "ünï.txt",
        ];
        for name in names {
            let uri = blobs.uri(&format!("u/{name}"));
            blobs.put(&uri, Bytes::from_static(b"x")).await.unwrap();
            assert!(dir.path().join("u").join(name).is_file(), "{name}");
            assert_eq!(blobs.get(&uri).await.unwrap().unwrap(), "x");
        }
        let mut stored: Vec<String> = std::fs::read_dir(dir.path().join("u"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        stored.sort();
        let mut expected: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        expected.sort();
        assert_eq!(stored, expected, "no temporary files are left behind");
    }

    #[test]
    fn uris_outside_the_bucket_or_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let root = format!("{}/", dir.path().canonicalize().unwrap().display());
        for prefix in [blobs.uri(""), root] {
            for uri in [
                "/etc/passwd".to_owned(),
                format!("{prefix}../escape"),
                format!("{prefix}a/../../escape"),
                format!("{prefix}./x"),
                format!("{prefix}a//b"),
                format!("{prefix}.incoming/x"),
                prefix.trim_end_matches('/').to_owned(),
                format!("{}-sibling/x", prefix.trim_end_matches('/')),
                "s3://bucket/x".to_owned(),
                "s3://aeriex/x".to_owned(),
            ] {
                assert!(blobs.key_of(&uri).is_err(), "{uri} was accepted");
            }
            assert_eq!(blobs.key_of(&format!("{prefix}a/b")).unwrap(), "a/b");
        }
        assert_eq!(blobs.uri("a/b"), "s3://aerie/a/b");
    }
}
