//! Objects by key, as an S3 API needs them: written from a stream whatever their size, read
//! from any offset, described, listed in key order under a prefix, and deleted.
//!
//! A streamed write lands in the uploads-in-flight directory, is made durable, and replaces
//! the key in one rename, so a reader sees the old object or the new one, never a part; a write
//! whose stream fails leaves nothing behind. Memory stays flat: bytes go to disk as they come.

use crate::store::{BlobError, Blobs, INCOMING, check_key};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

/// What is known of a stored object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub modified: SystemTime,
}

impl ObjectMeta {
    /// An entity tag (unquoted) that changes whenever the object is replaced: its change time
    /// and size.
    pub fn etag(&self) -> String {
        let nanos = self
            .modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        format!("{nanos:x}-{:x}", self.size)
    }

    fn of(key: &str, metadata: &std::fs::Metadata) -> Self {
        Self {
            key: key.to_owned(),
            size: metadata.len(),
            modified: metadata.modified().unwrap_or(UNIX_EPOCH),
        }
    }
}

/// Why a streamed write stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The body could not be read to its end (the client went away, or its checksum failed).
    #[error("the upload of {key} was cut short: {reason}")]
    Body { key: String, reason: String },
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl Blobs {
    /// The object at `key`, if there is one.
    pub async fn stat(&self, key: &str) -> Result<Option<ObjectMeta>, BlobError> {
        let key = check_key(key)?;
        if let Some(s3) = self.s3_backend() {
            return s3.stat(key).await;
        }
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(metadata) if metadata.is_file() => Ok(Some(ObjectMeta::of(key, &metadata))),
            Ok(_) => Ok(None),
            Err(err) if is_absent(&err) => Ok(None),
            Err(err) => Err(BlobError::io(key, &err)),
        }
    }

    /// The object at `key` opened at byte `offset`, if there is one.
    pub async fn open_at(
        &self,
        key: &str,
        offset: u64,
    ) -> Result<Option<tokio::fs::File>, BlobError> {
        let key = check_key(key)?;
        let path = self.path(key)?;
        let opened: io::Result<tokio::fs::File> = async {
            let mut file = tokio::fs::File::open(path).await?;
            file.seek(io::SeekFrom::Start(offset)).await?;
            Ok(file)
        }
        .await;
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(err) if is_absent(&err) => Ok(None),
            Err(err) => Err(BlobError::io(key, &err)),
        }
    }

    /// Stores the bytes of `body` at `key`, replacing what was there once they have all
    /// arrived and are on disk.
    pub async fn write_stream<S, E>(&self, key: &str, body: S) -> Result<ObjectMeta, WriteError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let key = check_key(key)?;
        let temp = self.incoming_dir()?.join(temp_name());
        let written = self.fill(key, &temp, body).await;
        let placed = match written {
            Ok(()) => self.place(key, &temp).await.map_err(WriteError::from),
            Err(err) => Err(err),
        };
        if placed.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        placed
    }

    /// Writes `body` to the temporary file `temp` and makes it durable.
    pub(crate) async fn fill<S, E>(&self, key: &str, temp: &Path, body: S) -> Result<(), WriteError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let io_error = |err: io::Error| WriteError::Blob(BlobError::io(key, &err));
        let mut file = tokio::fs::File::create(temp).await.map_err(io_error)?;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|err| WriteError::Body {
                key: key.to_owned(),
                reason: err.to_string(),
            })?;
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        file.sync_all().await.map_err(io_error)
    }

    /// Moves the finished file `temp` to `key`, replacing what was there.
    pub(crate) async fn place(&self, key: &str, temp: &Path) -> Result<ObjectMeta, BlobError> {
        let path = self.path(key)?;
        let placed: io::Result<std::fs::Metadata> = async {
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::rename(temp, &path).await?;
            tokio::fs::metadata(&path).await
        }
        .await;
        placed
            .map(|metadata| ObjectMeta::of(key, &metadata))
            .map_err(|err| BlobError::io(key, &err))
    }

    /// Deletes the object at `key`; whether there was one.
    pub async fn delete(&self, key: &str) -> Result<bool, BlobError> {
        let key = check_key(key)?;
        if let Some(s3) = self.s3_backend() {
            let existed = s3.stat(key).await?.is_some();
            s3.delete(key).await?;
            return Ok(existed);
        }
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(true),
            Err(err) if is_absent(&err) => Ok(false),
            Err(err) => Err(BlobError::io(key, &err)),
        }
    }

    /// Every object whose key starts with `prefix` and sorts after `after`, in key order, at
    /// most `limit` of them.
    pub async fn list(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>, BlobError> {
        if let Some(s3) = self.s3_backend() {
            return s3.list(prefix, after, limit).await;
        }
        let root = self.path("")?;
        let owned_prefix = prefix.to_owned();
        let after = after.to_owned();
        tokio::task::spawn_blocking(move || list_sorted(&root, &owned_prefix, &after, limit))
            .await
            .map_err(|_| BlobError::Io {
                key: prefix.to_owned(),
                kind: io::ErrorKind::Interrupted,
            })?
    }
}

/// The listing behind [`Blobs::list`]: walks the directory the prefix's last `/` names, keeps
/// what matches, and sorts by key (S3's order, bytewise).
fn list_sorted(
    root: &Path,
    prefix: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<ObjectMeta>, BlobError> {
    let base = prefix.rfind('/').map_or("", |slash| &prefix[..slash]);
    if !base.is_empty() && check_key(base).is_err() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let mut pending = vec![base.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(root.join(&dir)) {
            Ok(entries) => entries,
            Err(err) if is_absent(&err) => continue,
            Err(err) => return Err(BlobError::io(&dir, &err)),
        };
        for entry in entries {
            let entry = entry.map_err(|err| BlobError::io(&dir, &err))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let key = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            if dir.is_empty() && name == INCOMING || is_temp_name(&name) {
                continue;
            }
            let file_type = entry.file_type().map_err(|err| BlobError::io(&key, &err))?;
            if file_type.is_dir() {
                if key.starts_with(prefix) || prefix.starts_with(&format!("{key}/")) {
                    pending.push(key);
                }
            } else if file_type.is_file() && key.starts_with(prefix) && key.as_str() > after {
                let metadata = entry.metadata().map_err(|err| BlobError::io(&key, &err))?;
                found.push(ObjectMeta::of(&key, &metadata));
            }
        }
    }
    found.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    found.truncate(limit);
    Ok(found)
}

/// A fresh name for a file being written.
pub(crate) fn temp_name() -> String {
    format!(".{}.tmp", hex::encode(rand::random::<[u8; 8]>()))
}

/// Whether `name` is one [`temp_name`] (or [`Blobs::put`]) makes.
fn is_temp_name(name: &str) -> bool {
    name.len() == 21
        && name.starts_with('.')
        && name.ends_with(".tmp")
        && name[1..17].bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Not there: missing, or a file where a directory was expected on the way.
fn is_absent(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, String>> {
        futures::stream::iter(
            parts
                .iter()
                .map(|part| Ok(Bytes::from_static(part)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn a_streamed_write_replaces_the_object_whole() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let first = blobs
            .write_stream("a/b c.txt", chunks(&[b"12", b"345"]))
            .await
            .unwrap();
        assert_eq!(first.size, 5);
        let second = blobs
            .write_stream("a/b c.txt", chunks(&[b"xy"]))
            .await
            .unwrap();
        assert_eq!(blobs.stat("a/b c.txt").await.unwrap(), Some(second));
        assert_eq!(
            blobs.get(&blobs.uri("a/b c.txt")).await.unwrap().unwrap(),
            "xy"
        );
    }

    #[tokio::test]
    async fn a_write_whose_body_fails_stores_nothing_and_keeps_the_old_object() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        blobs.write_stream("k", chunks(&[b"old"])).await.unwrap();
        let failing = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"new")),
            Err("checksum mismatch".to_owned()),
        ]);
        assert!(matches!(
            blobs.write_stream("k", failing).await,
            Err(WriteError::Body { .. })
        ));
        assert_eq!(blobs.get(&blobs.uri("k")).await.unwrap().unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path().join(INCOMING))
                .unwrap()
                .count(),
            0
        );
    }

    #[tokio::test]
    async fn a_key_that_is_also_a_prefix_of_another_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        blobs.write_stream("a/b", chunks(&[b"1"])).await.unwrap();
        blobs.write_stream("x", chunks(&[b"2"])).await.unwrap();
        for key in ["a", "x/y"] {
            match blobs.write_stream(key, chunks(&[b"3"])).await {
                Err(WriteError::Blob(BlobError::Io { kind, .. })) => assert!(
                    matches!(
                        kind,
                        io::ErrorKind::IsADirectory
                            | io::ErrorKind::NotADirectory
                            | io::ErrorKind::AlreadyExists
                    ),
                    "{key}: {kind:?}"
                ),
                other => panic!("{key}: {other:?}"),
            }
        }
        assert_eq!(blobs.get(&blobs.uri("a/b")).await.unwrap().unwrap(), "1");
        assert_eq!(blobs.get(&blobs.uri("x")).await.unwrap().unwrap(), "2");
        assert_eq!(
            std::fs::read_dir(dir.path().join(INCOMING))
                .unwrap()
                .count(),
            0
        );
    }

    #[tokio::test]
    async fn listing_is_in_key_order_under_any_prefix_and_skips_writes_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        for key in ["r/a/2", "r/a/1", "r/a-b", "r/b/x/y", "s/z"] {
            blobs.write_stream(key, chunks(&[b"."])).await.unwrap();
        }
        std::fs::write(dir.path().join("r/a/.0123456789abcdef.tmp"), b"partial").unwrap();
        let keys =
            |listed: Vec<ObjectMeta>| listed.into_iter().map(|meta| meta.key).collect::<Vec<_>>();
        assert_eq!(
            keys(blobs.list("r/", "", 100).await.unwrap()),
            ["r/a-b", "r/a/1", "r/a/2", "r/b/x/y"]
        );
        assert_eq!(
            keys(blobs.list("r/a", "", 100).await.unwrap()),
            ["r/a-b", "r/a/1", "r/a/2"]
        );
        assert_eq!(
            keys(blobs.list("r/", "r/a/1", 2).await.unwrap()),
            ["r/a/2", "r/b/x/y"]
        );
        assert_eq!(keys(blobs.list("", "", 100).await.unwrap()).len(), 5);
        assert!(blobs.list("nothing/", "", 100).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn reads_start_at_any_offset_and_missing_objects_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        blobs
            .write_stream("k", chunks(&[b"0123456789"]))
            .await
            .unwrap();
        let mut file = blobs.open_at("k", 7).await.unwrap().unwrap();
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut file, &mut rest)
            .await
            .unwrap();
        assert_eq!(rest, "789");
        assert!(blobs.open_at("missing", 0).await.unwrap().is_none());
        assert!(blobs.stat("k/under-a-file").await.unwrap().is_none());
        assert!(blobs.delete("k").await.unwrap());
        assert!(!blobs.delete("k").await.unwrap());
    }
}
