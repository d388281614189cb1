//! `flyteidl2.task.TaskService`: deployed tasks (docs/deploy-contract.md §1). A version is
//! stored once, exactly as deployed, and never changes: the same spec again is accepted, a
//! different one is `already_exists`. Lookups ignore the org, since a task calls back under its
//! own. The triggers deployed with a version are stored in the same transaction.

use crate::caller::caller;
use crate::convert::ids;
use crate::convert::list::PageWindow;
use crate::deployed::{decoded_spec, not_found, version_id};
use crate::error::{ApiError, ApiResult};
use crate::launch::known_project;
use crate::rpc::trigger_service;
use crate::schedule::next_fire;
use crate::state::AppState;
use aerie_convert::{wire_identity, wire_timestamp};
use aerie_store::{Deployed, NewTaskVersion, TaskQuery, TaskVersionId, TaskVersionRecord};
use aerie_wire::flyteidl2::common::{Filter, Sort};
use aerie_wire::flyteidl2::task::__buffa::oneof::list_tasks_request;
use aerie_wire::flyteidl2::task::*;
use buffa::Message;
use connectrpc::{RequestContext, Response, ServiceRequest, ServiceResult};
use sha2::{Digest, Sha256};

/// The TaskService handlers.
#[derive(Clone)]
pub struct TaskHandlers {
    pub app: AppState,
}

fn wire_id(id: &TaskVersionId, org: &str) -> TaskIdentifier {
    aerie_convert::wire_task_id(&id.project, &id.domain, &id.name, &id.version, org)
}

fn metadata(record: &TaskVersionRecord) -> TaskMetadata {
    TaskMetadata {
        deployed_by: wire_identity(&record.deployed_by).into(),
        short_name: record.short_name.clone(),
        deployed_at: wire_timestamp(record.deployed_at).into(),
        environment_name: record.environment_name.clone(),
        ..Default::default()
    }
}

/// The listing a `ListTasks` request asks for.
fn task_query(request: &ListTasksRequest) -> ApiResult<TaskQuery> {
    let (project, domain) = match &request.scope_by {
        Some(list_tasks_request::ScopeBy::ProjectId(project)) => ids::project_scope(project)?,
        _ => return Err(ApiError::missing("project_id")),
    };
    let domain = domain.ok_or_else(|| ApiError::missing("project_id.domain"))?;
    let list = request.request.as_option().cloned().unwrap_or_default();
    let window = PageWindow::of(&list.token, list.limit)?;
    let mut query = TaskQuery {
        project,
        domain,
        name_equals: None,
        name_contains: None,
        entrypoint_only: request.known_filters.iter().any(|known| {
            matches!(
                known.filter_by,
                Some(list_tasks_request::known_filter::FilterBy::IsEntrypoint(
                    true
                ))
            )
        }),
        newest_first: newest_first(list.sort_by.as_option())?,
        offset: window.offset,
        limit: window.limit,
    };
    for filter in &list.filters {
        apply_filter(&mut query, filter)?;
    }
    Ok(query)
}

/// Whether `sort` asks for the newest deploys first: by `created_at` (the deploy time), or
/// unset (oldest first).
fn newest_first(sort: Option<&Sort>) -> ApiResult<bool> {
    let Some(sort) = sort else { return Ok(false) };
    if !sort.key.is_empty() && sort.key != "created_at" && sort.key != "deployed_at" {
        return Err(ApiError::InvalidArgument(format!(
            "tasks sort by created_at only, not {:?}",
            sort.key
        )));
    }
    Ok(sort.direction.to_i32() == 0)
}

/// Applies a `name` filter (EQUAL, or CONTAINS as `by_task_env` sends it); anything else is
/// refused rather than ignored.
fn apply_filter(query: &mut TaskQuery, filter: &Filter) -> ApiResult<()> {
    let value = || match filter.values.as_slice() {
        [value] => Ok(value.clone()),
        _ => Err(ApiError::InvalidArgument(format!(
            "the filter on {:?} needs exactly one value",
            filter.field
        ))),
    };
    match (filter.field.as_str(), filter.function.to_i32()) {
        ("name", 0) => query.name_equals = Some(value()?),
        ("name", 6) => query.name_contains = Some(value()?),
        (field, function) => {
            return Err(ApiError::InvalidArgument(format!(
                "tasks filter by name (EQUAL or CONTAINS) only, not function {function} on {field:?}"
            )));
        }
    }
    Ok(())
}

impl TaskHandlers {
    async fn deploy_task_inner(
        &self,
        ctx: &RequestContext,
        request: DeployTaskRequest,
    ) -> ApiResult<DeployTaskResponse> {
        let id = version_id(request.task_id.as_option(), "task_id")?;
        let spec_message = request
            .spec
            .as_option()
            .ok_or_else(|| ApiError::missing("spec"))?;
        let template = spec_message
            .task_template
            .as_option()
            .ok_or_else(|| ApiError::missing("spec.task_template"))?;
        let template_id = template.id.as_option();
        if template_id.is_some_and(|tid| tid.name != id.name || tid.version != id.version) {
            return Err(ApiError::InvalidArgument(format!(
                "spec.task_template.id names another task than task_id ({id})"
            )));
        }
        known_project(&self.app, &id.project).await?;
        let by = caller(ctx);
        let triggers = trigger_service::deployed_with_task(&id, &request.triggers, &by)?;
        let bytes = spec_message.encode_to_vec();
        let new = NewTaskVersion {
            id: id.clone(),
            spec_digest: hex::encode(Sha256::digest(&bytes)),
            spec: bytes,
            deployed_by: by,
            short_name: spec_message.short_name.clone(),
            environment_name: spec_message
                .environment
                .as_option()
                .map(|environment| environment.name.clone())
                .unwrap_or_default(),
            entrypoint: template
                .metadata
                .as_option()
                .is_some_and(|metadata| metadata.is_entrypoint),
        };
        let (deployed, triggers) = self
            .app
            .store
            .deploy_task(new, triggers, next_fire())
            .await?;
        match deployed {
            Deployed::Stored(_) => tracing::info!(task = %id, "task deployed"),
            Deployed::AlreadyStored(_) => tracing::debug!(task = %id, "task redeployed unchanged"),
        }
        if !triggers.is_empty() {
            self.app.scheduler_wake.notify_one();
        }
        Ok(DeployTaskResponse::default())
    }

    async fn get_task_details_inner(
        &self,
        request: GetTaskDetailsRequest,
    ) -> ApiResult<GetTaskDetailsResponse> {
        let id = version_id(request.task_id.as_option(), "task_id")?;
        let record = self
            .app
            .store
            .task_version(&id)
            .await?
            .ok_or_else(|| not_found(&id))?;
        let spec = decoded_spec(&record)?;
        let org = request
            .task_id
            .as_option()
            .map_or("", |wire| wire.org.as_str());
        Ok(GetTaskDetailsResponse {
            details: TaskDetails {
                task_id: wire_id(&id, org).into(),
                metadata: metadata(&record).into(),
                spec: spec.into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
    }

    /// The versions of one task, newest first unless the request sorts otherwise.
    async fn list_versions_inner(
        &self,
        request: ListVersionsRequest,
    ) -> ApiResult<ListVersionsResponse> {
        let task = request
            .task_name
            .as_option()
            .ok_or_else(|| ApiError::missing("task_name"))?;
        ids::require_parts(
            "task_name",
            &[
                ("project", &task.project),
                ("domain", &task.domain),
                ("name", &task.name),
            ],
        )?;
        let list = request.request.as_option().cloned().unwrap_or_default();
        let window = PageWindow::of(&list.token, list.limit)?;
        let query = TaskQuery {
            project: task.project.parse()?,
            domain: task.domain.parse()?,
            name_equals: Some(task.name.clone()),
            name_contains: None,
            entrypoint_only: false,
            newest_first: list
                .sort_by
                .as_option()
                .map_or(Ok(true), |sort| newest_first(Some(sort)))?,
            offset: window.offset,
            limit: window.limit,
        };
        let (versions, more) = self.app.store.list_task_versions(&query).await?;
        let token = window.next_token(versions.len(), more);
        Ok(ListVersionsResponse {
            versions: versions
                .iter()
                .map(|record| list_versions_response::VersionResponse {
                    version: record.id.version.clone(),
                    deployed_at: wire_timestamp(record.deployed_at).into(),
                    deployed_by: wire_identity(&record.deployed_by).into(),
                    ..Default::default()
                })
                .collect(),
            token,
            ..Default::default()
        })
    }

    async fn list_tasks_inner(&self, request: ListTasksRequest) -> ApiResult<ListTasksResponse> {
        let query = task_query(&request)?;
        let org = match &request.scope_by {
            Some(list_tasks_request::ScopeBy::ProjectId(project)) => project.organization.clone(),
            _ => String::new(),
        };
        let (versions, more) = self.app.store.list_task_versions(&query).await?;
        let window = PageWindow {
            offset: query.offset,
            limit: query.limit,
        };
        let token = window.next_token(versions.len(), more);
        Ok(ListTasksResponse {
            tasks: versions
                .iter()
                .map(|record| Task {
                    task_id: wire_id(&record.id, &org).into(),
                    metadata: metadata(record).into(),
                    ..Default::default()
                })
                .collect(),
            token,
            ..Default::default()
        })
    }
}

#[allow(refining_impl_trait)]
impl TaskService for TaskHandlers {
    async fn deploy_task(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, DeployTaskRequest>,
    ) -> ServiceResult<DeployTaskResponse> {
        let reply = self
            .deploy_task_inner(&ctx, request.to_owned_message())
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_task_details(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetTaskDetailsRequest>,
    ) -> ServiceResult<GetTaskDetailsResponse> {
        let reply = self
            .get_task_details_inner(request.to_owned_message())
            .await?;
        Ok(Response::new(reply))
    }

    async fn list_tasks(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, ListTasksRequest>,
    ) -> ServiceResult<ListTasksResponse> {
        let reply = self.list_tasks_inner(request.to_owned_message()).await?;
        Ok(Response::new(reply))
    }

    async fn list_versions(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, ListVersionsRequest>,
    ) -> ServiceResult<ListVersionsResponse> {
        let reply = self.list_versions_inner(request.to_owned_message()).await?;
        Ok(Response::new(reply))
    }
}
