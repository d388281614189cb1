//! The object store behind every data URI, and the storage layout.
//!
//! URIs handed to tasks and clients are absolute local paths under the blob root (the SDK reads
//! and writes them directly with fsspec). A URI is mapped back to a key only if it lies under
//! the root, so no request can make aerie read or write elsewhere.

use aerie_core::{Domain, Project, RunId};
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{uri:?} is outside aerie's storage")]
    OutsideStorage { uri: String },
    #[error("cannot create the storage directory {path}")]
    CreateRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("aerie's storage is full; {key} was not written (free space, then retry)")]
    Full { key: String },
    #[error("storage error on {key}")]
    Store {
        /// The object's key under the storage root (never a server path).
        key: String,
        #[source]
        source: object_store::Error,
    },
}

impl BlobError {
    /// The error for a failed operation on `key`: [`BlobError::Full`] when the disk is full.
    fn store(key: &str, source: object_store::Error) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&source);
        while let Some(current) = cause {
            let full = current
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.raw_os_error() == Some(ENOSPC));
            if full {
                return Self::Full {
                    key: key.to_owned(),
                };
            }
            cause = current.source();
        }
        Self::Store {
            key: key.to_owned(),
            source,
        }
    }
}

/// `ENOSPC` on Linux: no space left on the device.
const ENOSPC: i32 = 28;

/// Object storage rooted at one directory.
#[derive(Clone)]
pub struct Blobs {
    root: PathBuf,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs").field("root", &self.root).finish()
    }
}

impl Blobs {
    /// Storage in `root` (created if missing).
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
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|source| BlobError::store("the storage root", source))?;
        Ok(Self {
            root,
            store: Arc::new(store),
        })
    }

    /// The URI of `key` (a `/`-separated relative path).
    pub fn uri(&self, key: &str) -> String {
        format!("{}/{}", self.root.display(), key)
    }

    /// The key of `uri`, if it lies under the root. Accepts plain paths and `file://` URIs and
    /// refuses any `.`/`..` segment.
    pub fn key_of(&self, uri: &str) -> Result<String, BlobError> {
        let outside = || BlobError::OutsideStorage { uri: uri.into() };
        let path = uri.strip_prefix("file://").unwrap_or(uri);
        let root = self.root.to_str().ok_or_else(outside)?;
        let key = path
            .strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
            .ok_or_else(outside)?;
        let clean = !key.is_empty()
            && key
                .split('/')
                .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
        if clean {
            Ok(key.to_owned())
        } else {
            Err(outside())
        }
    }

    /// Writes `bytes` at `uri`, replacing what was there.
    pub async fn put(&self, uri: &str, bytes: Bytes) -> Result<(), BlobError> {
        let key = self.key_of(uri)?;
        self.store
            .put(&ObjectPath::from(key.as_str()), PutPayload::from(bytes))
            .await
            .map_err(|source| BlobError::store(&key, source))?;
        Ok(())
    }

    /// The bytes at `uri`, or `None` if nothing is there.
    pub async fn get(&self, uri: &str) -> Result<Option<Bytes>, BlobError> {
        let key = self.key_of(uri)?;
        match self.store.get(&ObjectPath::from(key.as_str())).await {
            Ok(result) => result
                .bytes()
                .await
                .map(Some)
                .map_err(|source| BlobError::store(&key, source)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(BlobError::store(&key, source)),
        }
    }

    /// Whether anything is stored at `uri`.
    pub async fn exists(&self, uri: &str) -> Result<bool, BlobError> {
        let key = self.key_of(uri)?;
        match self.store.head(&ObjectPath::from(key.as_str())).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(BlobError::store(&key, source)),
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
        let file_uri = format!("file://{uri}");
        assert_eq!(blobs.get(&file_uri).await.unwrap().unwrap(), "abc");
    }

    #[test]
    fn uris_outside_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let root = blobs.uri("");
        for uri in [
            "/etc/passwd".to_owned(),
            format!("{root}../escape"),
            format!("{root}a/../../escape"),
            format!("{root}./x"),
            root.trim_end_matches('/').to_owned(),
            format!("{}-sibling/x", root.trim_end_matches('/')),
            "s3://bucket/x".to_owned(),
        ] {
            assert!(blobs.key_of(&uri).is_err(), "{uri} was accepted");
        }
        assert_eq!(blobs.key_of(&format!("{root}a/b")).unwrap(), "a/b");
    }
}
