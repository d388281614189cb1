//! Multipart uploads: an object sent in numbered parts, possibly at once, then put together.
//!
//! Each upload is a directory in the uploads-in-flight directory holding the key it is for and
//! one file per part. Completing it joins the named parts, in order, into one file (the kernel
//! copies; nothing passes through memory) and moves it into place like any write. Uploads in
//! flight do not survive a restart: the directory is emptied at start, and the client starts
//! over, as it would after any failed upload.

use crate::objects::{ObjectMeta, WriteError, temp_name};
use crate::store::{BlobError, Blobs, check_key};
use bytes::Bytes;
use futures::Stream;
use std::io;
use std::path::PathBuf;

/// Highest part number S3 allows.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// Why a multipart operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MultipartError {
    #[error("no upload {upload_id} is in progress for {key}")]
    NoSuchUpload { upload_id: String, key: String },
    #[error(
        "part {part} is not a valid part of upload {upload_id} (parts are 1 to 10000, each uploaded, in ascending order)"
    )]
    InvalidPart { upload_id: String, part: u32 },
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl From<BlobError> for MultipartError {
    fn from(err: BlobError) -> Self {
        Self::Write(WriteError::Blob(err))
    }
}

impl Blobs {
    /// Begins a multipart upload to `key`; its id.
    pub async fn create_multipart(&self, key: &str) -> Result<String, BlobError> {
        let key = check_key(key)?;
        let upload_id = hex::encode(rand::random::<[u8; 16]>());
        let dir = self.multipart_dir(&upload_id)?;
        let created: io::Result<()> = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(dir.join("key"), key).await
        }
        .await;
        created.map_err(|err| BlobError::io(key, &err))?;
        Ok(upload_id)
    }

    /// Stores part `part` of the upload, replacing an earlier try of the same part.
    pub async fn put_part<S, E>(
        &self,
        upload_id: &str,
        key: &str,
        part: u32,
        body: S,
    ) -> Result<ObjectMeta, MultipartError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let dir = self.open_multipart(upload_id, key).await?;
        if part == 0 || part > MAX_PART_NUMBER {
            return Err(MultipartError::InvalidPart {
                upload_id: upload_id.to_owned(),
                part,
            });
        }
        let temp = dir.join(temp_name());
        let written = self.fill(key, &temp, body).await;
        let placed = match written {
            Ok(()) => tokio::fs::rename(&temp, dir.join(part.to_string()))
                .await
                .map_err(|err| MultipartError::from(BlobError::io(key, &err))),
            Err(err) => Err(err.into()),
        };
        if let Err(err) = placed {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(err);
        }
        let metadata = tokio::fs::metadata(dir.join(part.to_string()))
            .await
            .map_err(|err| BlobError::io(key, &err))?;
        Ok(ObjectMeta {
            key: key.to_owned(),
            size: metadata.len(),
            modified: metadata.modified().unwrap_or(std::time::UNIX_EPOCH),
        })
    }

    /// Joins `parts` (ascending part numbers, each uploaded) into the object at `key`, and
    /// ends the upload.
    pub async fn complete_multipart(
        &self,
        upload_id: &str,
        key: &str,
        parts: &[u32],
    ) -> Result<ObjectMeta, MultipartError> {
        let dir = self.open_multipart(upload_id, key).await?;
        let invalid = |part: u32| MultipartError::InvalidPart {
            upload_id: upload_id.to_owned(),
            part,
        };
        if let Some(pair) = parts.windows(2).find(|pair| pair[0] >= pair[1]) {
            return Err(invalid(pair[1]));
        }
        let part_files: Vec<PathBuf> = parts
            .iter()
            .map(|part| dir.join(part.to_string()))
            .collect();
        for (part, path) in parts.iter().zip(&part_files) {
            if !tokio::fs::try_exists(path).await.unwrap_or(false) {
                return Err(invalid(*part));
            }
        }
        if parts.is_empty() {
            return Err(invalid(0));
        }
        let joined = dir.join(temp_name());
        let target = joined.clone();
        tokio::task::spawn_blocking(move || join_files(&part_files, &target))
            .await
            .map_err(|_| BlobError::Io {
                key: key.to_owned(),
                kind: io::ErrorKind::Other,
            })?
            .map_err(|err| BlobError::io(key, &err))?;
        let placed = self.place(key, &joined).await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        Ok(placed?)
    }

    /// Ends the upload and drops its parts.
    pub async fn abort_multipart(&self, upload_id: &str, key: &str) -> Result<(), MultipartError> {
        let dir = self.open_multipart(upload_id, key).await?;
        tokio::fs::remove_dir_all(&dir)
            .await
            .map_err(|err| BlobError::io(key, &err))?;
        Ok(())
    }

    fn multipart_dir(&self, upload_id: &str) -> Result<PathBuf, BlobError> {
        Ok(self.incoming_dir()?.join(format!("multipart-{upload_id}")))
    }

    /// The directory of upload `upload_id`, if it is in progress and for `key`.
    async fn open_multipart(&self, upload_id: &str, key: &str) -> Result<PathBuf, MultipartError> {
        let missing = || MultipartError::NoSuchUpload {
            upload_id: upload_id.to_owned(),
            key: key.to_owned(),
        };
        if upload_id.len() != 32 || !upload_id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(missing());
        }
        let dir = self.multipart_dir(upload_id)?;
        match tokio::fs::read_to_string(dir.join("key")).await {
            Ok(stored) if stored == key => Ok(dir),
            _ => Err(missing()),
        }
    }
}

/// Appends every file of `parts` to a new file at `target`, and makes it durable.
fn join_files(parts: &[PathBuf], target: &std::path::Path) -> io::Result<()> {
    let mut joined = std::fs::File::create(target)?;
    for part in parts {
        let mut source = std::fs::File::open(part)?;
        io::copy(&mut source, &mut joined)?;
    }
    joined.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &'static [u8]) -> impl Stream<Item = Result<Bytes, String>> {
        futures::stream::iter([Ok(Bytes::from_static(bytes))])
    }

    #[tokio::test]
    async fn parts_join_in_order_into_the_object_and_the_upload_ends() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let id = blobs.create_multipart("big/file").await.unwrap();
        blobs
            .put_part(&id, "big/file", 2, body(b"world"))
            .await
            .unwrap();
        blobs
            .put_part(&id, "big/file", 1, body(b"hullo "))
            .await
            .unwrap();
        blobs
            .put_part(&id, "big/file", 1, body(b"hello "))
            .await
            .unwrap();
        let meta = blobs
            .complete_multipart(&id, "big/file", &[1, 2])
            .await
            .unwrap();
        assert_eq!(meta.size, 11);
        assert_eq!(
            blobs.get(&blobs.uri("big/file")).await.unwrap().unwrap(),
            "hello world"
        );
        assert!(matches!(
            blobs.put_part(&id, "big/file", 3, body(b"late")).await,
            Err(MultipartError::NoSuchUpload { .. })
        ));
    }

    #[tokio::test]
    async fn an_upload_belongs_to_its_key_and_parts_must_exist_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let id = blobs.create_multipart("mine").await.unwrap();
        assert!(matches!(
            blobs.put_part(&id, "theirs", 1, body(b"x")).await,
            Err(MultipartError::NoSuchUpload { .. })
        ));
        assert!(matches!(
            blobs.put_part("../../etc", "mine", 1, body(b"x")).await,
            Err(MultipartError::NoSuchUpload { .. })
        ));
        blobs.put_part(&id, "mine", 1, body(b"x")).await.unwrap();
        for parts in [&[1, 2][..], &[1, 1], &[], &[0]] {
            assert!(
                matches!(
                    blobs.complete_multipart(&id, "mine", parts).await,
                    Err(MultipartError::InvalidPart { .. })
                ),
                "{parts:?}"
            );
        }
        blobs.abort_multipart(&id, "mine").await.unwrap();
        assert!(blobs.stat("mine").await.unwrap().is_none());
        assert_eq!(
            std::fs::read_dir(dir.path().join(".incoming"))
                .unwrap()
                .count(),
            0
        );
    }
}
