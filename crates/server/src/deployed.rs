//! Deployed task versions as the server reads them: the version a wire task id names, and its
//! spec exactly as deployed, for `GetTaskDetails`, runs of a deployed task (`CreateRun` by
//! `task_id`) and triggers.

use crate::convert::ids::require_parts;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use aerie_store::{TaskVersionId, TaskVersionRecord};
use aerie_wire::flyteidl2::task::{TaskIdentifier, TaskSpec};
use buffa::Message;

/// The stored id a wire task id names; every part but the org is required.
pub fn version_id(wire: Option<&TaskIdentifier>, field: &str) -> ApiResult<TaskVersionId> {
    let wire = wire.ok_or_else(|| ApiError::missing(field))?;
    require_parts(
        field,
        &[
            ("project", &wire.project),
            ("domain", &wire.domain),
            ("name", &wire.name),
            ("version", &wire.version),
        ],
    )?;
    Ok(TaskVersionId {
        project: wire.project.parse()?,
        domain: wire.domain.parse()?,
        name: wire.name.clone(),
        version: wire.version.clone(),
    })
}

/// The `not_found` for a version that is not deployed, naming it.
pub fn not_found(id: &TaskVersionId) -> ApiError {
    ApiError::NotFound(format!("{id} is not deployed"))
}

/// The spec of the deployed version `wire` names, exactly as deployed; `not_found` naming it
/// if there is none.
pub async fn deployed_spec(app: &AppState, wire: Option<&TaskIdentifier>) -> ApiResult<TaskSpec> {
    stored_spec(app, &version_id(wire, "task_id")?).await
}

/// The spec of the deployed version `id`, exactly as deployed; `not_found` naming it if there
/// is none.
pub async fn stored_spec(app: &AppState, id: &TaskVersionId) -> ApiResult<TaskSpec> {
    let record = app
        .store
        .task_version(id)
        .await?
        .ok_or_else(|| not_found(id))?;
    decoded_spec(&record)
}

/// The spec of `record`, decoded.
pub fn decoded_spec(record: &TaskVersionRecord) -> ApiResult<TaskSpec> {
    TaskSpec::decode_from_slice(&record.spec).map_err(|err| {
        ApiError::Internal(format!(
            "the stored spec of {} does not decode: {err}",
            record.id
        ))
    })
}
