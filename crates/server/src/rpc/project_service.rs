//! `flyteidl2.project.ProjectService`: projects (docs/deploy-contract.md §4.1). `flytesnacks`
//! exists from the start; every project has the domains development, staging and production.
//! Runs, deploys and triggers need a known project (`crate::launch::known_project`).

use crate::convert::list::PageWindow;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use aerie_core::{Project as ProjectId, Timestamp};
use aerie_store::ProjectRecord;
use aerie_wire::flyteidl2::project::*;
use aerie_wire::flyteidl2::task::Labels;
use buffa::Enumeration;
use buffa::Message;
use connectrpc::{RequestContext, Response, ServiceRequest, ServiceResult};

/// The domains of every project.
pub const DOMAINS: [&str; 3] = ["development", "staging", "production"];
/// Longest project name or description kept.
const MAX_TEXT: usize = 4096;

/// The ProjectService handlers.
#[derive(Clone)]
pub struct ProjectHandlers {
    pub app: AppState,
}

fn wire_project(record: &ProjectRecord, org: &str) -> ApiResult<Project> {
    let labels = Labels::decode_from_slice(&record.labels).map_err(|err| {
        ApiError::Internal(format!(
            "the stored labels of project {} do not decode: {err}",
            record.id
        ))
    })?;
    Ok(Project {
        id: record.id.to_string(),
        name: record.name.clone(),
        domains: DOMAINS
            .iter()
            .map(|domain| Domain {
                id: (*domain).into(),
                name: (*domain).into(),
                ..Default::default()
            })
            .collect(),
        description: record.description.clone(),
        labels: labels.into(),
        state: ProjectState::from_i32(record.state)
            .unwrap_or(ProjectState::PROJECT_STATE_ACTIVE)
            .into(),
        org: org.to_owned(),
        ..Default::default()
    })
}

/// The record a wire project describes, checked.
fn record_of(wire: Option<&Project>) -> ApiResult<ProjectRecord> {
    let wire = wire.ok_or_else(|| ApiError::missing("project"))?;
    if wire.id.is_empty() {
        return Err(ApiError::missing("project.id"));
    }
    let id: ProjectId = wire.id.parse()?;
    for (field, text) in [("name", &wire.name), ("description", &wire.description)] {
        if text.len() > MAX_TEXT {
            return Err(ApiError::InvalidArgument(format!(
                "the project's {field} is {} bytes; at most {MAX_TEXT} are kept",
                text.len()
            )));
        }
    }
    let state = wire.state.to_i32();
    if ProjectState::from_i32(state).is_none() {
        return Err(ApiError::InvalidArgument(format!(
            "project state {state} is not one of 0 (active) to 3"
        )));
    }
    Ok(ProjectRecord {
        name: if wire.name.is_empty() {
            id.to_string()
        } else {
            wire.name.clone()
        },
        id,
        description: wire.description.clone(),
        labels: wire
            .labels
            .as_option()
            .map(Message::encode_to_vec)
            .unwrap_or_default(),
        state,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
    })
}

/// The state a `ListProjects` filter string keeps: `eq(state, N)` clauses joined by `+` (the
/// flyteadmin syntax the SDK sends); anything else is refused rather than ignored.
fn state_filter(filters: &str) -> ApiResult<Option<i32>> {
    let mut state = None;
    for clause in filters
        .split('+')
        .map(str::trim)
        .filter(|clause| !clause.is_empty())
    {
        let refuse = || {
            ApiError::InvalidArgument(format!(
                "project filter {clause:?} is not supported; only eq(state, N) is"
            ))
        };
        let inner = clause
            .strip_prefix("eq(")
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(refuse)?;
        let (field, value) = inner.split_once(',').ok_or_else(refuse)?;
        if field.trim() != "state" {
            return Err(refuse());
        }
        state = Some(value.trim().parse::<i32>().map_err(|_| refuse())?);
    }
    Ok(state)
}

impl ProjectHandlers {
    async fn get(&self, id: &str) -> ApiResult<ProjectRecord> {
        if id.is_empty() {
            return Err(ApiError::missing("id"));
        }
        let id: ProjectId = id.parse()?;
        self.app
            .store
            .project(&id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("project {id} does not exist")))
    }
}

#[allow(refining_impl_trait)]
impl ProjectService for ProjectHandlers {
    async fn create_project(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, CreateProjectRequest>,
    ) -> ServiceResult<CreateProjectResponse> {
        let record = record_of(request.to_owned_message().project.as_option())?;
        let created = self
            .app
            .store
            .create_project(record)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(project = %created.id, "project created");
        Ok(Response::new(CreateProjectResponse::default()))
    }

    async fn update_project(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, UpdateProjectRequest>,
    ) -> ServiceResult<UpdateProjectResponse> {
        let record = record_of(request.to_owned_message().project.as_option())?;
        self.app
            .store
            .update_project(record)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(UpdateProjectResponse::default()))
    }

    async fn get_project(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetProjectRequest>,
    ) -> ServiceResult<GetProjectResponse> {
        let request = request.to_owned_message();
        let record = self.get(&request.id).await?;
        Ok(Response::new(GetProjectResponse {
            project: wire_project(&record, &request.org)?.into(),
            ..Default::default()
        }))
    }

    async fn list_projects(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, ListProjectsRequest>,
    ) -> ServiceResult<ListProjectsResponse> {
        let request = request.to_owned_message();
        let state = state_filter(&request.filters)?;
        let window = PageWindow::of(&request.token, request.limit)?;
        let (records, more) = self
            .app
            .store
            .list_projects(state, window.offset, window.limit)
            .await
            .map_err(ApiError::from)?;
        let token = window.next_token(records.len(), more);
        Ok(Response::new(ListProjectsResponse {
            projects: Projects {
                projects: records
                    .iter()
                    .map(|record| wire_project(record, &request.org))
                    .collect::<ApiResult<_>>()?,
                token,
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_filters_parse_and_anything_else_is_refused() {
        assert_eq!(state_filter("").unwrap(), None);
        assert_eq!(state_filter("eq(state, 0)").unwrap(), Some(0));
        assert_eq!(state_filter("eq(state,1)").unwrap(), Some(1));
        assert!(state_filter("eq(name, x)").is_err());
        assert!(state_filter("contains(state, 0)").is_err());
        assert!(state_filter("eq(state, zero)").is_err());
    }
}
