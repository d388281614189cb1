//! `flyteidl2.dataproxy.DataProxyService`: upload locations with signed URLs, offloaded inputs,
//! action data, reports and code bundles, and live per-attempt logs.

use crate::auth::guard::RequestOrigin;
use crate::caller::request_origin;
use crate::convert::ids::{self, required_action_id};
use crate::data::{action_data, store_inputs};
use crate::error::{ApiError, ApiResult};
use crate::signed_urls;
use crate::state::AppState;
use aerie_blob::{ActionLayout, LogLine, Originator};
use aerie_convert::wire_timestamp;
use aerie_core::{ActionId, Domain, Project};
use aerie_store::ActionRecord;
use aerie_wire::flyteidl2::common::ActionAttemptIdentifier;
use aerie_wire::flyteidl2::common::OffloadedInputData;
use aerie_wire::flyteidl2::dataproxy::__buffa::oneof::{
    create_download_link_request, upload_inputs_request,
};
use aerie_wire::flyteidl2::dataproxy::tail_logs_response::Logs;
use aerie_wire::flyteidl2::dataproxy::*;
use aerie_wire::flyteidl2::logs::dataplane::{LogLine as WireLogLine, LogLineOriginator};
use buffa::Message;
use connectrpc::{
    ConnectError, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};
use futures::StreamExt;
use std::time::Duration;

/// Signed URLs live this long unless the request asks otherwise.
const DEFAULT_URL_TTL: Duration = Duration::from_secs(3600);
/// Longest lifetime a signed URL may ask for.
const MAX_URL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Longest storage path an upload may land at (Linux allows 4095 bytes).
const MAX_UPLOAD_PATH_BYTES: usize = 4000;
/// Most log lines per streamed message.
const LOG_BATCH: usize = 500;

/// The DataProxyService handlers.
#[derive(Clone)]
pub struct DataProxyHandlers {
    pub app: AppState,
}

fn ok<T>(body: T) -> ServiceResult<T> {
    Ok(Response::new(body))
}

/// A file or folder name inside an upload location: one safe path segment.
fn check_file_name(what: &str, raw: &str) -> ApiResult<()> {
    let bad = raw.is_empty()
        || raw.len() > 255
        || raw == "."
        || raw == ".."
        || raw.contains(['/', '\\'])
        || raw.chars().any(char::is_control);
    if bad {
        Err(ApiError::InvalidArgument(format!(
            "{what} {raw:?} must be one path segment of 1 to 255 characters without '/', '\\' or control characters"
        )))
    } else {
        Ok(())
    }
}

fn ttl(requested: Option<&buffa_types::google::protobuf::Duration>) -> Duration {
    match requested {
        Some(duration) if duration.seconds > 0 => {
            Duration::from_secs(duration.seconds.unsigned_abs()).min(MAX_URL_TTL)
        }
        _ => DEFAULT_URL_TTL,
    }
}

impl DataProxyHandlers {
    async fn create_upload_location_inner(
        &self,
        origin: &RequestOrigin,
        request: &CreateUploadLocationRequest,
    ) -> ApiResult<CreateUploadLocationResponse> {
        let project: Project = request.project.parse()?;
        let domain: Domain = request.domain.parse()?;
        check_file_name("filename", &request.filename)?;
        if u64::try_from(request.content_length).is_ok_and(|length| length > MAX_UPLOAD_BYTES) {
            return Err(ApiError::InvalidArgument(format!(
                "uploads are limited to {MAX_UPLOAD_BYTES} bytes, this one has {}",
                request.content_length
            )));
        }
        let folder = if !request.filename_root.is_empty() {
            check_file_name("filename_root", &request.filename_root)?;
            request.filename_root.clone()
        } else if !request.content_md5.is_empty() {
            hex::encode(&request.content_md5)
        } else {
            hex::encode(rand::random::<[u8; 16]>())
        };
        let native_url = self
            .app
            .blobs
            .upload_uri(&project, &domain, &folder, &request.filename);
        if native_url.len() > MAX_UPLOAD_PATH_BYTES {
            return Err(ApiError::InvalidArgument(format!(
                "the upload's folder and file name are too long: its storage path would have {} \
                 bytes, the limit is {MAX_UPLOAD_PATH_BYTES}",
                native_url.len()
            )));
        }
        let key = self.app.blobs.key_of(&native_url)?;
        let content_md5 = match request.content_md5.len() {
            0 => String::new(),
            16 => hex::encode(&request.content_md5),
            other => {
                return Err(ApiError::InvalidArgument(format!(
                    "content_md5 must be 16 bytes (an MD5 digest), not {other}"
                )));
            }
        };
        if content_md5.is_empty() && self.app.blobs.exists(&native_url).await? {
            return Err(ApiError::AlreadyExists(format!(
                "{} is already stored; uploads cannot be replaced (give content_md5 to repeat \
                 an identical upload)",
                request.filename
            )));
        }
        let (signed_url, expires_at) = signed_urls::blob_url(
            &self.app,
            origin,
            signed_urls::BlobGrant {
                method: "PUT",
                key: &key,
                content_md5: &content_md5,
                ttl: ttl(request.expires_in.as_option()),
            },
        )
        .await?;
        Ok(CreateUploadLocationResponse {
            signed_url,
            native_url,
            expires_at: wire_timestamp(expires_at).into(),
            ..Default::default()
        })
    }

    async fn upload_inputs_inner(
        &self,
        request: UploadInputsRequest,
    ) -> ApiResult<UploadInputsResponse> {
        let (project, domain) = match &request.id {
            Some(upload_inputs_request::Id::RunId(run)) => {
                let run = ids::run_id(run, "run_id")?;
                (run.project, run.domain)
            }
            Some(upload_inputs_request::Id::ProjectId(project)) => {
                let (project, domain) = ids::project_scope(project)?;
                (
                    project,
                    domain.ok_or_else(|| ApiError::missing("project_id.domain"))?,
                )
            }
            None => return Err(ApiError::missing("run_id or project_id")),
        };
        let blobs = &self.app.blobs;
        let (uri, digest) = store_inputs(&self.app, request.inputs.encode_to_vec(), |digest| {
            if request.base_dir.is_empty() {
                Ok(blobs.inputs_uri(&project, &domain, digest))
            } else {
                let base = request.base_dir.trim_end_matches('/');
                blobs.key_of(base)?;
                Ok(format!("{base}/{digest}/inputs.pb"))
            }
        })
        .await?;
        Ok(UploadInputsResponse {
            offloaded_input_data: OffloadedInputData {
                uri,
                inputs_hash: digest,
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
    }

    async fn create_download_link_inner(
        &self,
        origin: &RequestOrigin,
        request: CreateDownloadLinkRequest,
    ) -> ApiResult<CreateDownloadLinkResponse> {
        let attempt_id: &ActionAttemptIdentifier = match &request.source {
            Some(create_download_link_request::Source::ActionAttemptId(attempt)) => attempt,
            Some(_) => {
                return Err(ApiError::Unimplemented(
                    "downloads are offered for action attempts only".into(),
                ));
            }
            None => return Err(ApiError::missing("action_attempt_id")),
        };
        let id = required_action_id(
            attempt_id.action_id.as_option(),
            "action_attempt_id.action_id",
        )?;
        let record = self.app.store.get_action(&id).await?;
        let attempt = match attempt_id.attempt {
            0 => record.state.current_attempt().number,
            number => number,
        };
        let uri = match request.artifact_type.as_known() {
            Some(ArtifactType::ARTIFACT_TYPE_REPORT) => Some(
                ActionLayout::new(&record.run_output_base, &record.id.name)
                    .attempt(attempt)
                    .report(),
            ),
            Some(ArtifactType::ARTIFACT_TYPE_CODE_BUNDLE) => record.spec.code_bundle_uri.clone(),
            _ => {
                return Err(ApiError::InvalidArgument(
                    "artifact_type must be REPORT or CODE_BUNDLE".into(),
                ));
            }
        };
        let mut urls = Vec::new();
        let mut expires = None;
        if let Some(uri) = uri
            && self.app.blobs.exists(&uri).await?
        {
            let key = self.app.blobs.key_of(&uri)?;
            let (url, expires_at) = signed_urls::blob_url(
                &self.app,
                origin,
                signed_urls::BlobGrant {
                    method: "GET",
                    key: &key,
                    content_md5: "",
                    ttl: ttl(request.expires_in.as_option()),
                },
            )
            .await?;
            urls.push(url);
            expires = Some(wire_timestamp(expires_at));
        }
        Ok(CreateDownloadLinkResponse {
            pre_signed_urls: PreSignedURLs {
                signed_url: urls,
                expires_at: expires.into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
    }
}

fn wire_log_line(line: LogLine) -> WireLogLine {
    WireLogLine {
        timestamp: wire_timestamp(line.timestamp).into(),
        message: line.message,
        originator: match line.originator {
            Originator::User => LogLineOriginator::USER,
            Originator::System => LogLineOriginator::SYSTEM,
        }
        .into(),
        ..Default::default()
    }
}

/// Why an action that ended without starting a process has no log: a cache hit, a recovery,
/// a condition. `None` for anything else.
fn ran_nothing(record: &ActionRecord) -> Option<String> {
    let state = &record.state;
    if let Some(source) = &state.cache_source {
        return Some(format!(
            "[aerie] cache hit: the outputs of {}/{} were reused; nothing ran",
            source.action.run.name, source.action.name
        ));
    }
    if let Some(source) = &state.recovered_from {
        return Some(format!(
            "[aerie] recovered from {}/{}; nothing ran",
            source.run.name, source.name
        ));
    }
    (record.kind() == aerie_core::ActionKind::Condition)
        .then(|| "[aerie] a condition waits for a signal; nothing runs".to_owned())
}

fn log_batches(lines: Vec<LogLine>) -> Vec<TailLogsResponse> {
    let mut batches = Vec::new();
    let mut lines = lines.into_iter().peekable();
    while lines.peek().is_some() {
        let batch: Vec<WireLogLine> = lines.by_ref().take(LOG_BATCH).map(wire_log_line).collect();
        batches.push(TailLogsResponse {
            logs: vec![Logs {
                lines: batch,
                ..Default::default()
            }],
            ..Default::default()
        });
    }
    batches
}

/// Whether the attempt's process is over, so its log is complete.
async fn attempt_over(app: &AppState, id: &ActionId, attempt: u32) -> ApiResult<bool> {
    let record = app.store.get_action(id).await?;
    Ok(record
        .state
        .attempts
        .get(attempt as usize - 1)
        .is_none_or(|state| state.phase.is_terminal()))
}

fn tail(
    app: AppState,
    id: ActionId,
    attempt: u32,
) -> impl futures::Stream<Item = ApiResult<TailLogsResponse>> + Send + 'static {
    async_stream::try_stream! {
        let mut wake = app.logs.follow(&id, attempt);
        let poll = app.logs.poll_interval();
        let mut offset = 0;
        loop {
            // Decide "over" before reading, so lines written before the end are all read.
            let over = attempt_over(&app, &id, attempt).await?;
            let (lines, next) = app
                .logs
                .read_from(&id, attempt, offset)
                .await
                .map_err(|err| ApiError::Unavailable(format!("reading the log of {id} failed: {err}")))?
                .unwrap_or((Vec::new(), offset));
            offset = next;
            for batch in log_batches(lines) {
                yield batch;
            }
            if over {
                break;
            }
            tokio::select! {
                () = app.shutdown.cancelled() => break,
                changed = wake.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(poll) => {}
            }
        }
    }
}

#[allow(refining_impl_trait)]
impl DataProxyService for DataProxyHandlers {
    async fn create_upload_location(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, CreateUploadLocationRequest>,
    ) -> ServiceResult<CreateUploadLocationResponse> {
        ok(self
            .create_upload_location_inner(&request_origin(&ctx)?, &request.to_owned_message())
            .await?)
    }

    async fn upload_inputs(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, UploadInputsRequest>,
    ) -> ServiceResult<UploadInputsResponse> {
        ok(self.upload_inputs_inner(request.to_owned_message()).await?)
    }

    async fn create_download_link(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, CreateDownloadLinkRequest>,
    ) -> ServiceResult<CreateDownloadLinkResponse> {
        ok(self
            .create_download_link_inner(&request_origin(&ctx)?, request.to_owned_message())
            .await?)
    }

    async fn get_action_data(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetActionDataRequest>,
    ) -> ServiceResult<GetActionDataResponse> {
        let id = required_action_id(
            request.to_owned_message().action_id.as_option(),
            "action_id",
        )?;
        let data = action_data(&self.app, &id).await?;
        ok(GetActionDataResponse {
            inputs: data.inputs.into(),
            outputs: data.outputs.into(),
            inputs_uri: data.inputs_uri,
            outputs_uri: data.outputs_uri,
            ..Default::default()
        })
    }

    async fn tail_logs(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, TailLogsRequest>,
    ) -> ServiceResult<ServiceStream<TailLogsResponse>> {
        let owned = request.to_owned_message();
        let record = self
            .app
            .requested_action(owned.action_id.as_option(), "action_id")
            .await?;
        let id = record.id.clone();
        let attempt = match owned.attempt {
            0 => record.state.current_attempt().number,
            number => number,
        };
        let started = record
            .state
            .attempts
            .get(attempt as usize - 1)
            .is_some_and(|state| state.logs_available);
        if let Some(note) = ran_nothing(&record).filter(|_| !started) {
            // A follower asking for its logs gets why there are none, not a retry loop.
            let line = LogLine {
                timestamp: record.state.ended_at.unwrap_or(record.state.created_at),
                originator: Originator::System,
                message: note,
            };
            let batches = log_batches(vec![line]).into_iter().map(Ok);
            return Ok(Response::new(Box::pin(futures::stream::iter(batches))));
        }
        if !started {
            return Err(ApiError::NotFound(format!(
                "logs of attempt {attempt} of {id} are not available: the attempt has not started"
            ))
            .into());
        }
        let lines = tail(self.app.clone(), id, attempt);
        Ok(Response::new(Box::pin(
            lines.map(|item| item.map_err(ConnectError::from)),
        )))
    }
}
