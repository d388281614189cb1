//! The two reads the console needs that the Flyte API has no message for, as JSON under
//! `/console/api/` (same credentials and errors as the RPCs, Connect's JSON error shape):
//!
//! - `GET files?project=P&domain=D&run=R&uri=U`: signed download URLs for the file, or the
//!   files of the directory, that a value of run R points at. Only data the run itself may read
//!   is offered: its own, its project's inputs and uploads, and what a cache hit or recovery
//!   granted it (the same rule as its storage credential).
//! - `GET next-fires?project=P&domain=D`: when each active trigger fires next, as aerie's
//!   scheduler has it (`{"next_fires": {"TASK/TRIGGER": RFC 3339}}`).

use crate::auth::guard::RequestOrigin;
use crate::error::{ApiError, ApiResult, connect_error_response};
use crate::signed_urls;
use crate::state::AppState;
use aerie_core::{Domain, Project, RunId};
use aerie_s3::Scope;
use aerie_s3::credentials::{Use, run_of_key};
use aerie_store::TriggerQuery;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a console download URL works.
const DOWNLOAD_TTL: Duration = Duration::from_secs(600);
/// Most files one directory listing offers.
const MAX_LISTED_FILES: usize = 1000;
/// Most triggers one `next-fires` answer covers.
const MAX_TRIGGERS: u32 = 1000;

/// Prefix of every console API path.
pub const PREFIX: &str = "/console/api/";

fn error_response(err: ApiError) -> Response {
    let code = err.code();
    connect_error_response(code.http_status(), code.as_str(), &err.to_string())
}

fn json(value: serde_json::Value) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

#[derive(Debug, serde::Deserialize)]
pub struct FilesQuery {
    project: String,
    domain: String,
    run: String,
    uri: String,
}

/// `GET /console/api/files`.
pub async fn files(
    State(app): State<AppState>,
    Extension(origin): Extension<RequestOrigin>,
    Query(query): Query<FilesQuery>,
) -> Response {
    match list_files(&app, &origin, query).await {
        Ok(files) => json(serde_json::json!({ "files": files })),
        Err(err) => error_response(err),
    }
}

async fn list_files(
    app: &AppState,
    origin: &RequestOrigin,
    query: FilesQuery,
) -> ApiResult<Vec<serde_json::Value>> {
    let run = RunId {
        project: query.project.parse()?,
        domain: query.domain.parse()?,
        name: query.run.parse()?,
    };
    app.store.get_run(&run).await?;
    let key = app.blobs.key_of(&query.uri).map_err(|_| {
        ApiError::InvalidArgument("uri is not a location in aerie's storage".into())
    })?;
    let key = key.trim_end_matches('/');
    if !may_read(app, &run, Use::Read, key).await? {
        return Err(ApiError::PermissionDenied(format!(
            "run {} may not read that location",
            run.name
        )));
    }
    if let Some(size) = app.blobs.size(&app.blobs.uri(key)).await? {
        let name = key.rsplit('/').next().unwrap_or(key);
        return Ok(vec![
            serde_json::json!({ "name": name, "url": download_url(app, origin, key).await?, "size": size }),
        ]);
    }
    let prefix = format!("{key}/");
    let listed = app.blobs.list(&prefix, "", MAX_LISTED_FILES).await?;
    let mut files = Vec::with_capacity(listed.len());
    for object in &listed {
        let name = object.key.strip_prefix(&prefix).unwrap_or(&object.key);
        files.push(
            serde_json::json!({ "name": name, "url": download_url(app, origin, &object.key).await?, "size": object.size }),
        );
    }
    Ok(files)
}

/// A download link for `key`, valid for [`DOWNLOAD_TTL`].
async fn download_url(app: &AppState, origin: &RequestOrigin, key: &str) -> ApiResult<String> {
    let grant = signed_urls::BlobGrant {
        method: "GET",
        key,
        content_md5: "",
        ttl: DOWNLOAD_TTL,
    };
    Ok(signed_urls::blob_url(app, origin, grant).await?.0)
}

/// Whether `run` may read `key`: its storage credential's rule, plus data of runs it was
/// granted (a cache hit's or a recovery's source).
async fn may_read(app: &AppState, run: &RunId, use_: Use, key: &str) -> ApiResult<bool> {
    if Scope::Run(run.clone()).allows(use_, key) {
        return Ok(true);
    }
    match run_of_key(key) {
        Some(source) => Ok(app.store.may_read(run, &source).await?),
        None => Ok(false),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ScopeQuery {
    project: String,
    domain: String,
}

/// `GET /console/api/next-fires`.
pub async fn next_fires(State(app): State<AppState>, Query(query): Query<ScopeQuery>) -> Response {
    match trigger_fires(&app, query).await {
        Ok(fires) => json(serde_json::json!({ "next_fires": fires })),
        Err(err) => error_response(err),
    }
}

async fn trigger_fires(app: &AppState, query: ScopeQuery) -> ApiResult<BTreeMap<String, String>> {
    let project: Project = query.project.parse()?;
    let domain: Domain = query.domain.parse()?;
    let (triggers, _more) = app
        .store
        .list_triggers(&TriggerQuery {
            project,
            domain,
            task_name: None,
            task_version: None,
            offset: 0,
            limit: MAX_TRIGGERS,
        })
        .await?;
    Ok(triggers
        .into_iter()
        .filter(|trigger| trigger.active)
        .filter_map(|trigger| {
            let next = trigger.next_fire_at?;
            Some((
                format!("{}/{}", trigger.id.task_name, trigger.id.name),
                next.to_rfc3339(),
            ))
        })
        .collect())
}
