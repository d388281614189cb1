//! `flyteidl2.trigger.TriggerService`: triggers of deployed tasks (docs/deploy-contract.md §2).
//! A trigger is keyed by project, domain, task name and trigger name; deploying one again makes
//! a new revision (pointing at the task version it names). Aerie's scheduler
//! (`crate::scheduler`) fires the active scheduled ones; [`fire_on_demand`] is what
//! `CreateRun` by trigger name uses.

use crate::caller::caller;
use crate::convert::ids;
use crate::convert::list::PageWindow;
use crate::deployed;
use crate::error::{ApiError, ApiResult};
use crate::launch::{RunInputs, check_run_spec, known_project};
use crate::schedule::{next_fire, schedule_of};
use crate::state::AppState;
use aerie_convert::{wire_identity, wire_timestamp};
use aerie_core::{RunId, Timestamp};
use aerie_store::{NewTrigger, RunTrigger, TaskVersionId, TriggerId, TriggerQuery, TriggerRecord};
use aerie_wire::flyteidl2::common::TriggerIdentifier;
use aerie_wire::flyteidl2::common::TriggerName;
use aerie_wire::flyteidl2::task::{RunSpec, TaskSpec, TaskTrigger, TriggerAutomationSpec};
use aerie_wire::flyteidl2::trigger::__buffa::oneof::{list_triggers_request, trigger_spec};
use aerie_wire::flyteidl2::trigger::*;
use buffa::Message;
use connectrpc::{RequestContext, Response, ServiceRequest, ServiceResult};

/// Longest trigger description kept.
const MAX_DESCRIPTION: usize = 4096;

/// The TriggerService handlers.
#[derive(Clone)]
pub struct TriggerHandlers {
    pub app: AppState,
}

/// The stored id a wire trigger name names; every part but the org is required.
pub fn trigger_id(wire: Option<&TriggerName>, field: &str) -> ApiResult<TriggerId> {
    let wire = wire.ok_or_else(|| ApiError::missing(field))?;
    ids::require_parts(
        field,
        &[
            ("project", &wire.project),
            ("domain", &wire.domain),
            ("task_name", &wire.task_name),
            ("name", &wire.name),
        ],
    )?;
    Ok(TriggerId {
        project: wire.project.parse()?,
        domain: wire.domain.parse()?,
        task_name: wire.task_name.clone(),
        name: wire.name.clone(),
    })
}

fn wire_name(id: &TriggerId) -> TriggerName {
    aerie_convert::wire_trigger_name(&id.project, &id.domain, &id.task_name, &id.name, "")
}

fn not_found(id: &TriggerId) -> ApiError {
    ApiError::NotFound(format!("{id} not found"))
}

fn corrupt(id: &TriggerId, what: &str, err: buffa::DecodeError) -> ApiError {
    ApiError::Internal(format!("the stored {what} of {id} does not decode: {err}"))
}

fn status(record: &TriggerRecord) -> TriggerStatus {
    TriggerStatus {
        deployed_at: wire_timestamp(record.deployed_at).into(),
        updated_at: wire_timestamp(record.updated_at).into(),
        triggered_at: record.triggered_at.map(wire_timestamp).into(),
        deleted_at: record.deleted_at.map(wire_timestamp).into(),
        ..Default::default()
    }
}

fn metadata(record: &TriggerRecord) -> TriggerMetadata {
    TriggerMetadata {
        deployed_by: wire_identity(&record.deployed_by).into(),
        updated_by: wire_identity(&record.updated_by).into(),
        ..Default::default()
    }
}

fn automation(record: &TriggerRecord) -> ApiResult<TriggerAutomationSpec> {
    TriggerAutomationSpec::decode_from_slice(&record.automation)
        .map_err(|err| corrupt(&record.id, "automation spec", err))
}

/// The stored spec with the record's own version and state.
fn spec(record: &TriggerRecord) -> ApiResult<TriggerSpec> {
    let mut spec = TriggerSpec::decode_from_slice(&record.spec)
        .map_err(|err| corrupt(&record.id, "spec", err))?;
    spec.active = record.active;
    spec.task_version = record.task_version.clone();
    spec.description = record.description.clone();
    Ok(spec)
}

fn identifier(record: &TriggerRecord) -> TriggerIdentifier {
    TriggerIdentifier {
        name: wire_name(&record.id).into(),
        revision: u64::try_from(record.revision).unwrap_or(0),
        ..Default::default()
    }
}

/// A trigger as `GetTriggerDetails` and `DeployTrigger` return it.
pub fn details(record: &TriggerRecord) -> ApiResult<TriggerDetails> {
    Ok(TriggerDetails {
        id: identifier(record).into(),
        metadata: metadata(record).into(),
        spec: spec(record)?.into(),
        status: status(record).into(),
        automation_spec: automation(record)?.into(),
        description: Some(record.description.clone()),
        ..Default::default()
    })
}

/// A trigger as lists show it.
fn summary(record: &TriggerRecord) -> ApiResult<Trigger> {
    Ok(Trigger {
        id: identifier(record).into(),
        metadata: metadata(record).into(),
        status: status(record).into(),
        active: record.active,
        automation_spec: automation(record)?.into(),
        ..Default::default()
    })
}

/// A trigger to store, checked: a known type of automation with a valid schedule, and a
/// description of bounded size.
fn new_trigger(
    id: TriggerId,
    task_version: &str,
    automation_spec: &TriggerAutomationSpec,
    mut spec: TriggerSpec,
    by: String,
) -> ApiResult<NewTrigger> {
    schedule_of(automation_spec)?;
    if let Some(run_spec) = spec.run_spec.as_option() {
        check_run_spec(run_spec)?;
    }
    if spec.description.len() > MAX_DESCRIPTION {
        return Err(ApiError::InvalidArgument(format!(
            "the description of {id} is {} bytes; at most {MAX_DESCRIPTION} are kept",
            spec.description.len()
        )));
    }
    spec.task_version = task_version.to_owned();
    Ok(NewTrigger {
        id,
        task_version: task_version.to_owned(),
        active: spec.active,
        automation: automation_spec.encode_to_vec(),
        description: std::mem::take(&mut spec.description),
        spec: spec.encode_to_vec(),
        by,
    })
}

/// The triggers deployed with task version `version`, as they will be stored.
pub fn deployed_with_task(
    version: &TaskVersionId,
    triggers: &[TaskTrigger],
    by: &str,
) -> ApiResult<Vec<NewTrigger>> {
    triggers
        .iter()
        .map(|trigger| {
            if trigger.name.is_empty() {
                return Err(ApiError::missing("triggers.name"));
            }
            let id = TriggerId {
                project: version.project.clone(),
                domain: version.domain.clone(),
                task_name: version.name.clone(),
                name: trigger.name.clone(),
            };
            let task_spec = trigger.spec.as_option().cloned().unwrap_or_default();
            let spec = TriggerSpec {
                run_spec: task_spec.run_spec,
                active: task_spec.active,
                description: task_spec.description,
                input_wrapper: task_spec.input_wrapper.map(|inputs| match inputs {
                    aerie_wire::flyteidl2::task::__buffa::oneof::task_trigger_spec::InputWrapper::Inputs(inputs) => {
                        trigger_spec::InputWrapper::Inputs(inputs)
                    }
                    aerie_wire::flyteidl2::task::__buffa::oneof::task_trigger_spec::InputWrapper::OffloadedInputData(data) => {
                        trigger_spec::InputWrapper::OffloadedInputData(data)
                    }
                }),
                ..Default::default()
            };
            let automation_spec = trigger.automation_spec.as_option().cloned().unwrap_or_default();
            new_trigger(id, &version.version, &automation_spec, spec, by.to_owned())
        })
        .collect()
}

/// What a fire of a trigger runs: the deployed spec of its task version, its inputs and run
/// settings, and the provenance the run records.
pub struct Fired {
    pub task_spec: TaskSpec,
    pub inputs: RunInputs,
    pub run_spec: RunSpec,
    pub trigger: RunTrigger,
}

/// What firing `record` runs; `scheduled_at` is the instant a scheduled fire stands for.
pub async fn fired(
    app: &AppState,
    record: &TriggerRecord,
    scheduled_at: Option<Timestamp>,
) -> ApiResult<Fired> {
    let version = TaskVersionId {
        project: record.id.project.clone(),
        domain: record.id.domain.clone(),
        name: record.id.task_name.clone(),
        version: record.task_version.clone(),
    };
    let task_spec = deployed::stored_spec(app, &version).await?;
    let spec = spec(record)?;
    let inputs = match spec.input_wrapper {
        Some(trigger_spec::InputWrapper::OffloadedInputData(data)) => {
            RunInputs::Offloaded(data.uri.clone())
        }
        Some(trigger_spec::InputWrapper::Inputs(inputs)) => RunInputs::Inline(*inputs),
        None => RunInputs::Inline(Default::default()),
    };
    Ok(Fired {
        task_spec,
        inputs,
        run_spec: spec.run_spec.into_option().unwrap_or_default(),
        trigger: RunTrigger {
            task_name: record.id.task_name.clone(),
            name: record.id.name.clone(),
            revision: record.revision,
            scheduled_at,
        },
    })
}

/// The trigger `name` fired now for the run `run` (`CreateRun` by trigger name): in the
/// run's project and domain, active or not.
pub async fn fire_on_demand(app: &AppState, name: &TriggerName, run: &RunId) -> ApiResult<Fired> {
    let mut id = trigger_id(Some(name), "trigger_name")?;
    id.project = run.project.clone();
    id.domain = run.domain.clone();
    let record = app
        .store
        .trigger(&id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    fired(app, &record, None).await
}

/// The listing a `ListTriggers` request asks for.
fn trigger_query(request: &ListTriggersRequest) -> ApiResult<TriggerQuery> {
    let list = request.request.as_option().cloned().unwrap_or_default();
    let window = PageWindow::of(&list.token, list.limit)?;
    let parse = |project: &str, domain: &str| -> ApiResult<_> {
        if project.is_empty() || domain.is_empty() {
            return Err(ApiError::missing(
                "the project and domain to list triggers of",
            ));
        }
        Ok((project.parse()?, domain.parse()?))
    };
    let (project, domain, task_name, task_version) = match &request.scope_by {
        Some(list_triggers_request::ScopeBy::ProjectId(project)) => {
            let (project, domain) = ids::project_scope(project)?;
            let domain = domain.ok_or_else(|| ApiError::missing("project_id.domain"))?;
            (project, domain, None, None)
        }
        Some(list_triggers_request::ScopeBy::TaskName(task)) => {
            let (project, domain) = parse(&task.project, &task.domain)?;
            (project, domain, Some(task.name.clone()), None)
        }
        Some(list_triggers_request::ScopeBy::TaskId(task)) => {
            let (project, domain) = parse(&task.project, &task.domain)?;
            let version = Some(task.version.clone()).filter(|version| !version.is_empty());
            (project, domain, Some(task.name.clone()), version)
        }
        Some(list_triggers_request::ScopeBy::Org(_)) | None => {
            return Err(ApiError::missing("project_id, task_name or task_id"));
        }
    };
    Ok(TriggerQuery {
        project,
        domain,
        task_name,
        task_version,
        offset: window.offset,
        limit: window.limit,
    })
}

impl TriggerHandlers {
    async fn deploy_trigger_inner(
        &self,
        ctx: &RequestContext,
        request: DeployTriggerRequest,
    ) -> ApiResult<DeployTriggerResponse> {
        let id = trigger_id(request.name.as_option(), "name")?;
        known_project(&self.app, &id.project).await?;
        let spec = request
            .spec
            .as_option()
            .cloned()
            .ok_or_else(|| ApiError::missing("spec"))?;
        if spec.task_version.is_empty() {
            return Err(ApiError::missing("spec.task_version"));
        }
        let version = TaskVersionId {
            project: id.project.clone(),
            domain: id.domain.clone(),
            name: id.task_name.clone(),
            version: spec.task_version.clone(),
        };
        deployed::stored_spec(&self.app, &version).await?;
        let automation_spec = request
            .automation_spec
            .as_option()
            .cloned()
            .unwrap_or_default();
        let task_version = spec.task_version.clone();
        let new = new_trigger(
            id.clone(),
            &task_version,
            &automation_spec,
            spec,
            caller(ctx),
        )?;
        let record = self.app.store.deploy_trigger(new, next_fire()).await?;
        self.app.scheduler_wake.notify_one();
        tracing::info!(trigger = %id, revision = record.revision, "trigger deployed");
        Ok(DeployTriggerResponse {
            trigger: details(&record)?.into(),
            ..Default::default()
        })
    }

    async fn get_trigger_details_inner(
        &self,
        request: GetTriggerDetailsRequest,
    ) -> ApiResult<GetTriggerDetailsResponse> {
        let id = trigger_id(request.name.as_option(), "name")?;
        let record = self
            .app
            .store
            .trigger(&id)
            .await?
            .ok_or_else(|| not_found(&id))?;
        Ok(GetTriggerDetailsResponse {
            trigger: details(&record)?.into(),
            ..Default::default()
        })
    }

    async fn list_triggers_inner(
        &self,
        request: ListTriggersRequest,
    ) -> ApiResult<ListTriggersResponse> {
        let query = trigger_query(&request)?;
        let (records, more) = self.app.store.list_triggers(&query).await?;
        let window = PageWindow {
            offset: query.offset,
            limit: query.limit,
        };
        let token = window.next_token(records.len(), more);
        Ok(ListTriggersResponse {
            triggers: records.iter().map(summary).collect::<ApiResult<_>>()?,
            token,
            ..Default::default()
        })
    }

    fn ids(names: &[TriggerName]) -> ApiResult<Vec<TriggerId>> {
        if names.is_empty() {
            return Err(ApiError::missing("names"));
        }
        names
            .iter()
            .map(|name| trigger_id(Some(name), "names"))
            .collect()
    }
}

#[allow(refining_impl_trait)]
impl TriggerService for TriggerHandlers {
    async fn deploy_trigger(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, DeployTriggerRequest>,
    ) -> ServiceResult<DeployTriggerResponse> {
        let reply = self
            .deploy_trigger_inner(&ctx, request.to_owned_message())
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_trigger_details(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetTriggerDetailsRequest>,
    ) -> ServiceResult<GetTriggerDetailsResponse> {
        let reply = self
            .get_trigger_details_inner(request.to_owned_message())
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_trigger_revision_details(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, GetTriggerRevisionDetailsRequest>,
    ) -> ServiceResult<GetTriggerRevisionDetailsResponse> {
        Err(ApiError::Unimplemented(
            "aerie keeps a trigger's current revision only; use GetTriggerDetails".into(),
        )
        .into())
    }

    async fn list_triggers(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, ListTriggersRequest>,
    ) -> ServiceResult<ListTriggersResponse> {
        let reply = self.list_triggers_inner(request.to_owned_message()).await?;
        Ok(Response::new(reply))
    }

    async fn get_trigger_revision_history(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, GetTriggerRevisionHistoryRequest>,
    ) -> ServiceResult<GetTriggerRevisionHistoryResponse> {
        Err(ApiError::Unimplemented(
            "aerie keeps a trigger's current revision only; use GetTriggerDetails".into(),
        )
        .into())
    }

    async fn update_triggers(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, UpdateTriggersRequest>,
    ) -> ServiceResult<UpdateTriggersResponse> {
        let request = request.to_owned_message();
        let ids = Self::ids(&request.names)?;
        self.app
            .store
            .set_triggers_active(ids, request.active, caller(&ctx), next_fire())
            .await
            .map_err(ApiError::from)?;
        self.app.scheduler_wake.notify_one();
        Ok(Response::new(UpdateTriggersResponse::default()))
    }

    async fn delete_triggers(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, DeleteTriggersRequest>,
    ) -> ServiceResult<DeleteTriggersResponse> {
        let ids = Self::ids(&request.to_owned_message().names)?;
        self.app
            .store
            .delete_triggers(ids, caller(&ctx))
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(DeleteTriggersResponse::default()))
    }
}
