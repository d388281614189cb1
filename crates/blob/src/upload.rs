//! Uploads streamed to disk and published immutably. An upload is written to a temporary file
//! while its MD5 is computed and its size held to a limit, so memory stays flat whatever the
//! size; it is then linked into place only if nothing is stored there yet. A second upload to
//! the same key is accepted only when it is byte-for-byte the same content (same MD5), so
//! nobody can swap what another user stored, such as a code bundle.

use crate::store::{BlobError, Blobs};
use md5::{Digest, Md5};
use std::io;
use std::path::PathBuf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why an upload was not stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{key} is already stored with different content; uploads cannot be replaced")]
    Conflict { key: String },
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// How a finished upload was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The key was empty and now holds the upload.
    Stored,
    /// The key already held exactly this content; nothing changed.
    AlreadyStored,
}

/// An upload being received.
#[derive(Debug)]
pub struct Upload {
    file: tokio::fs::File,
    temp: PathBuf,
    md5: Md5,
    size: u64,
    limit: u64,
}

impl Blobs {
    /// Starts receiving an upload of at most `limit` bytes.
    pub async fn begin_upload(&self, limit: u64) -> Result<Upload, BlobError> {
        let key = ".incoming";
        let temp = self
            .incoming_dir()?
            .join(hex::encode(rand::random::<[u8; 16]>()));
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(|err| BlobError::io(key, &err))?;
        Ok(Upload {
            file,
            temp,
            md5: Md5::new(),
            size: 0,
            limit,
        })
    }
}

impl Upload {
    /// Appends `chunk`.
    pub async fn write(&mut self, chunk: &[u8], key: &str) -> Result<(), UploadError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(UploadError::TooLarge { limit: self.limit });
        }
        self.md5.update(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(|err| BlobError::io(key, &err))?;
        Ok(())
    }

    /// The MD5 of what was written so far.
    pub fn md5(&self) -> [u8; 16] {
        self.md5.clone().finalize().into()
    }

    /// Makes the upload durable and links it in at `uri`, unless something else is there.
    pub async fn publish(self, blobs: &Blobs, uri: &str) -> Result<Published, UploadError> {
        let key = blobs.key_of(uri)?;
        let io_error = |err: io::Error| UploadError::Blob(BlobError::io(&key, &err));
        self.file.sync_all().await.map_err(io_error)?;
        let path = blobs.path(&key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io_error)?;
        }
        match tokio::fs::hard_link(&self.temp, &path).await {
            Ok(()) => Ok(Published::Stored),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                if file_md5(&path).await.map_err(io_error)? == self.md5() {
                    Ok(Published::AlreadyStored)
                } else {
                    Err(UploadError::Conflict { key })
                }
            }
            Err(err) => Err(io_error(err)),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Published uploads are linked elsewhere; the temporary name always goes.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// The MD5 of the file at `path`, read in chunks.
async fn file_md5(path: &std::path::Path) -> io::Result<[u8; 16]> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut md5 = Md5::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(md5.finalize().into());
        }
        md5.update(&buffer[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn upload(blobs: &Blobs, uri: &str, body: &[u8]) -> Result<Published, UploadError> {
        let mut upload = blobs.begin_upload(1024).await.unwrap();
        upload.write(body, "k").await?;
        upload.publish(blobs, uri).await
    }

    #[tokio::test]
    async fn an_upload_is_stored_once_and_only_the_same_content_may_repeat_it() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let uri = blobs.uri("uploads/p/d/f/code bundle [1].tgz");
        assert_eq!(
            upload(&blobs, &uri, b"v1").await.unwrap(),
            Published::Stored
        );
        assert_eq!(
            upload(&blobs, &uri, b"v1").await.unwrap(),
            Published::AlreadyStored
        );
        assert!(matches!(
            upload(&blobs, &uri, b"swapped").await,
            Err(UploadError::Conflict { .. })
        ));
        assert_eq!(blobs.get(&uri).await.unwrap().unwrap(), "v1");
        let leftovers = std::fs::read_dir(dir.path().join(".incoming"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0, "temporary files are removed");
    }

    #[tokio::test]
    async fn an_upload_over_its_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let mut upload = blobs.begin_upload(4).await.unwrap();
        upload.write(b"1234", "k").await.unwrap();
        assert!(matches!(
            upload.write(b"5", "k").await,
            Err(UploadError::TooLarge { limit: 4 })
        ));
        drop(upload);
        assert_eq!(
            std::fs::read_dir(dir.path().join(".incoming"))
                .unwrap()
                .count(),
            0
        );
    }
}
