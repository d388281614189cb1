//! The store behind every data URI, and the storage layout.
//!
//! Every URI aerie hands out is `s3://aerie/{key}`: tasks and clients read and write it through
//! aerie's S3-compatible API (the `aerie-s3` crate), as they would a bucket on Flyte. On this
//! machine a key is a file under the blob root, stored under exactly its own name: spaces,
//! brackets, `%`, `#`, `?` and non-ASCII characters included. A URI is mapped back to a key only
//! if it names aerie's bucket (or, for records written before the bucket existed, a path under
//! the root), so no request can make aerie read or write elsewhere. Writes land in a temporary
//! file first and appear whole, after an fsync.

use aerie_core::{Domain, Project, RunId};
use bytes::Bytes;
use std::io;
use std::path::{Path, PathBuf};
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

/// Blob storage rooted at one directory.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
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
        let blobs = Self { root };
        let incoming = blobs.incoming_dir();
        let _ = std::fs::remove_dir_all(&incoming);
        std::fs::create_dir(&incoming).map_err(|source| BlobError::CreateRoot {
            path: incoming,
            source,
        })?;
        Ok(blobs)
    }

    /// The URI of `key` (a `/`-separated relative path): `s3://aerie/{key}`.
    pub fn uri(&self, key: &str) -> String {
        format!("s3://{BUCKET}/{key}")
    }

    /// Where `key` is on disk; `key` must come from [`Blobs::key_of`].
    pub(crate) fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Where uploads are written before they are published.
    pub(crate) fn incoming_dir(&self) -> PathBuf {
        self.root.join(INCOMING)
    }

    /// The key of `uri`: `s3://aerie/{key}`, or a path (plain or `file://`) under the root as
    /// records from before the bucket hold. Refuses any other bucket or place, and any key
    /// [`check_key`] refuses.
    pub fn key_of(&self, uri: &str) -> Result<String, BlobError> {
        let outside = || BlobError::OutsideStorage { uri: uri.into() };
        let key = if let Some(rest) = uri.strip_prefix("s3://") {
            rest.strip_prefix(BUCKET)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(outside)?
        } else {
            let path = uri.strip_prefix("file://").unwrap_or(uri);
            let root = self.root.to_str().ok_or_else(outside)?;
            path.strip_prefix(root)
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(outside)?
        };
        check_key(key).map(str::to_owned).map_err(|_| outside())
    }

    /// Writes `bytes` at `uri`, replacing what was there.
    pub async fn put(&self, uri: &str, bytes: Bytes) -> Result<(), BlobError> {
        let key = self.key_of(uri)?;
        let path = self.path(&key);
        let written = async {
            let parent = path.parent().unwrap_or(&self.root);
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
        match tokio::fs::read(self.path(&key)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(BlobError::io(&key, &err)),
        }
    }

    /// The file at `uri` opened for streaming, with its size, or `None` if nothing is there.
    pub async fn open(&self, uri: &str) -> Result<Option<(tokio::fs::File, u64)>, BlobError> {
        let key = self.key_of(uri)?;
        let opened: io::Result<Option<(tokio::fs::File, u64)>> = async {
            let file = tokio::fs::File::open(self.path(&key)).await?;
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
        match tokio::fs::metadata(self.path(&key)).await {
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
