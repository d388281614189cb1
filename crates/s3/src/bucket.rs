//! The S3 operations aerie's bucket answers, over [`Blobs`]: objects (put, get with ranges,
//! head, delete, delete many), listings (ListObjectsV2, with delimiters and continuation), and multipart
//! uploads. Every operation first checks that the request's credential reaches its key.
//! Anything else is `NotImplemented`.

use crate::RunActivity;
use crate::credentials::{Scope, StorageKeys, Use};
use aerie_blob::{BUCKET, BlobError, Blobs, MultipartError, ObjectMeta, WriteError};
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CommonPrefix,
    CompleteMultipartUploadInput, CompleteMultipartUploadOutput, CreateMultipartUploadInput,
    CreateMultipartUploadOutput, DeleteObjectInput, DeleteObjectOutput, DeleteObjectsInput,
    DeleteObjectsOutput, DeletedObject, ETag, GetObjectInput, GetObjectOutput, HeadBucketInput,
    HeadBucketOutput, HeadObjectInput, HeadObjectOutput, ListObjectsV2Input, ListObjectsV2Output,
    Object, PutObjectInput, PutObjectOutput, StreamingBlob, Timestamp, UploadPartInput,
    UploadPartOutput,
};
use s3s::{S3, S3Error, S3Request, S3Response, S3Result, s3_error};
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

/// Most keys one listing page returns, as on S3.
const MAX_KEYS: usize = 1000;
/// Read size when streaming an object out.
const READ_CHUNK: usize = 256 * 1024;

/// aerie's one bucket.
#[derive(Clone)]
pub struct Bucket {
    pub blobs: Blobs,
    pub keys: StorageKeys,
    pub runs: Arc<dyn RunActivity>,
}

impl Bucket {
    /// The scope of the request's credential, if it is for aerie's bucket, signed with a
    /// credential aerie issued, and (for a run's credential) its run is still in progress.
    async fn scope<T>(&self, req: &S3Request<T>, bucket: &str) -> S3Result<Scope> {
        if bucket != BUCKET {
            return Err(s3_error!(
                NoSuchBucket,
                "the only bucket here is {BUCKET:?}"
            ));
        }
        let credentials = req
            .credentials
            .as_ref()
            .ok_or_else(|| s3_error!(AccessDenied, "a signed request is required"))?;
        let scope = self
            .keys
            .scope_of(&credentials.access_key)
            .map_err(|err| s3_error!(InvalidAccessKeyId, "{err}"))?;
        if let Scope::Run(run) = &scope
            && !self.runs.in_progress(run).await
        {
            return Err(s3_error!(
                AccessDenied,
                "run {} is over; its storage credential ended with it",
                run.name
            ));
        }
        Ok(scope)
    }

    /// What is stored at `key`, if the request's credential may read it.
    async fn readable<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
    ) -> S3Result<ObjectMeta> {
        self.authorize(req, bucket, Use::Read, key).await?;
        self.blobs
            .stat(key)
            .await
            .map_err(blob_error)?
            .ok_or_else(|| no_such_key(key))
    }

    /// Checks that the request's credential allows `use_` of `key` in `bucket`.
    async fn authorize<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        use_: Use,
        key: &str,
    ) -> S3Result<()> {
        let scope = self.scope(req, bucket).await?;
        if let Scope::Run(reader) = &scope
            && use_ != Use::Write
            && let Some(source) = crate::credentials::run_of_key(key)
            && !scope.allows(use_, key)
            && self.runs.may_read(reader, &source).await
        {
            return Ok(());
        }
        allowed(&scope, use_, key)
    }
}

/// Whether `scope` allows `use_` of `key`, as an S3 result.
fn allowed(scope: &Scope, use_: Use, key: &str) -> S3Result<()> {
    if scope.allows(use_, key) {
        return Ok(());
    }
    let verb = match use_ {
        Use::Read => "read",
        Use::List => "list",
        Use::Write => "write",
    };
    Err(s3_error!(
        AccessDenied,
        "{}; it may not {verb} {key:?}",
        scope.describe()
    ))
}

/// The S3 error for a storage failure; names the key, never a server path.
fn blob_error(err: BlobError) -> S3Error {
    match err {
        BlobError::OutsideStorage { .. } | BlobError::BadKey { .. } => {
            s3_error!(InvalidArgument, "{err}")
        }
        BlobError::Io {
            ref key,
            kind:
                std::io::ErrorKind::NotADirectory
                | std::io::ErrorKind::IsADirectory
                | std::io::ErrorKind::DirectoryNotEmpty
                | std::io::ErrorKind::AlreadyExists,
        } => {
            s3_error!(
                InvalidRequest,
                "{key:?} cannot be stored: a key and a prefix of another key cannot name the same path"
            )
        }
        BlobError::Full { .. } => s3_error!(ServiceUnavailable, "{err}"),
        other => s3_error!(InternalError, "{other}"),
    }
}

fn write_error(err: WriteError) -> S3Error {
    match err {
        WriteError::Body { .. } => s3_error!(IncompleteBody, "{err}"),
        WriteError::Blob(err) => blob_error(err),
    }
}

fn multipart_error(err: MultipartError) -> S3Error {
    match err {
        MultipartError::NoSuchUpload { .. } => s3_error!(NoSuchUpload, "{err}"),
        MultipartError::InvalidPart { .. } => s3_error!(InvalidPart, "{err}"),
        MultipartError::Write(err) => write_error(err),
    }
}

fn etag(meta: &ObjectMeta) -> ETag {
    ETag::Strong(meta.etag())
}

fn no_such_key(key: &str) -> S3Error {
    s3_error!(NoSuchKey, "no object is stored at {key:?}")
}

#[async_trait::async_trait]
impl S3 for Bucket {
    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.scope(&req, &req.input.bucket).await?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.authorize(&req, &req.input.bucket, Use::Write, &req.input.key)
            .await?;
        let body = req
            .input
            .body
            .unwrap_or_else(|| StreamingBlob::from(s3s::Body::empty()));
        let meta = self
            .blobs
            .write_stream(&req.input.key, body)
            .await
            .map_err(write_error)?;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&meta)),
            size: i64::try_from(meta.size).ok(),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let key = &req.input.key;
        let meta = self.readable(&req, &req.input.bucket, key).await?;
        let range = match &req.input.range {
            Some(range) => Some(
                range
                    .check(meta.size)
                    .map_err(|_| s3_error!(InvalidRange, "the range is outside the object"))?,
            ),
            None => None,
        };
        let (start, end) = range.as_ref().map_or((0, meta.size), |r| (r.start, r.end));
        let file = self
            .blobs
            .open_at(key, start)
            .await
            .map_err(blob_error)?
            .ok_or_else(|| no_such_key(key))?;
        let length = end - start;
        let body = ReaderStream::with_capacity(file.take(length), READ_CHUNK);
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(body)),
            content_length: i64::try_from(length).ok(),
            content_range: range.map(|_| format!("bytes {start}-{}/{}", end - 1, meta.size)),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(etag(&meta)),
            last_modified: Some(Timestamp::from(meta.modified)),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let key = &req.input.key;
        let meta = self.readable(&req, &req.input.bucket, key).await?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: i64::try_from(meta.size).ok(),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(etag(&meta)),
            last_modified: Some(Timestamp::from(meta.modified)),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.authorize(&req, &req.input.bucket, Use::Write, &req.input.key)
            .await?;
        self.blobs
            .delete(&req.input.key)
            .await
            .map_err(blob_error)?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let scope = self.scope(&req, &req.input.bucket).await?;
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in &req.input.delete.objects {
            let key = &object.key;
            let outcome = match allowed(&scope, Use::Write, key) {
                Ok(()) => self.blobs.delete(key).await.map_err(blob_error),
                Err(err) => Err(err),
            };
            match outcome {
                Ok(_) => deleted.push(DeletedObject {
                    key: Some(key.clone()),
                    ..Default::default()
                }),
                Err(err) => errors.push(s3s::dto::Error {
                    code: Some(err.code().as_str().to_owned()),
                    key: Some(key.clone()),
                    message: err.message().map(str::to_owned),
                    ..Default::default()
                }),
            }
        }
        let quiet = req.input.delete.quiet.unwrap_or(false);
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!quiet).then_some(deleted),
            errors: Some(errors),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = &req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        self.authorize(&req, &input.bucket, Use::List, &prefix)
            .await?;
        let max_keys = input.max_keys.map_or(MAX_KEYS, |max| {
            usize::try_from(max).unwrap_or(0).min(MAX_KEYS)
        });
        let after = match (&input.continuation_token, &input.start_after) {
            (Some(token), _) => token.clone(),
            (None, Some(start_after)) => start_after.clone(),
            (None, None) => String::new(),
        };
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let page =
            crate::listing::page(&self.blobs, &prefix, &after, delimiter.as_deref(), max_keys)
                .await
                .map_err(blob_error)?;
        let contents: Vec<Object> = page
            .objects
            .iter()
            .map(|meta| Object {
                key: Some(meta.key.clone()),
                size: i64::try_from(meta.size).ok(),
                e_tag: Some(etag(meta)),
                last_modified: Some(Timestamp::from(meta.modified)),
                ..Default::default()
            })
            .collect();
        let common_prefixes: Vec<CommonPrefix> = page
            .prefixes
            .iter()
            .map(|prefix| CommonPrefix {
                prefix: Some(prefix.clone()),
            })
            .collect();
        let key_count = contents.len() + common_prefixes.len();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(BUCKET.to_owned()),
            prefix: Some(prefix),
            delimiter,
            max_keys: i32::try_from(max_keys).ok(),
            key_count: i32::try_from(key_count).ok(),
            is_truncated: Some(page.next.is_some()),
            continuation_token: input.continuation_token.clone(),
            next_continuation_token: page.next,
            start_after: input.start_after.clone(),
            contents: Some(contents),
            common_prefixes: Some(common_prefixes),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let key = &req.input.key;
        self.authorize(&req, &req.input.bucket, Use::Write, key)
            .await?;
        let upload_id = self.blobs.create_multipart(key).await.map_err(blob_error)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(BUCKET.to_owned()),
            key: Some(key.clone()),
            upload_id: Some(upload_id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.authorize(&req, &req.input.bucket, Use::Write, &req.input.key)
            .await?;
        let input = req.input;
        let part = u32::try_from(input.part_number).unwrap_or(0);
        let body = input
            .body
            .unwrap_or_else(|| StreamingBlob::from(s3s::Body::empty()));
        let meta = self
            .blobs
            .put_part(&input.upload_id, &input.key, part, body)
            .await
            .map_err(multipart_error)?;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(etag(&meta)),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        self.authorize(&req, &input.bucket, Use::Write, &input.key)
            .await?;
        let parts: Vec<u32> = input
            .multipart_upload
            .as_ref()
            .and_then(|upload| upload.parts.as_ref())
            .map(|parts| {
                parts
                    .iter()
                    .map(|part| {
                        part.part_number
                            .and_then(|n| u32::try_from(n).ok())
                            .unwrap_or(0)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let meta = self
            .blobs
            .complete_multipart(&input.upload_id, &input.key, &parts)
            .await
            .map_err(multipart_error)?;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(BUCKET.to_owned()),
            key: Some(input.key.clone()),
            e_tag: Some(etag(&meta)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = &req.input;
        self.authorize(&req, &input.bucket, Use::Write, &input.key)
            .await?;
        self.blobs
            .abort_multipart(&input.upload_id, &input.key)
            .await
            .map_err(multipart_error)?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}
