//! `flyteidl2.workflow.RunService`: create, read, list, watch and abort runs and actions (the
//! long-lived watch streams are in `run_watches`).

use crate::caller::{AbortSource, abort_info, caller};
use crate::conditions;
use crate::convert::details;
use crate::convert::ids::{self, required_action_id, required_run_id};
use crate::convert::list::{DefaultOrder, list_query};
use crate::convert::spec;
use crate::data::action_data;
use crate::deployed;
use crate::error::{ApiError, ApiResult};
use crate::launch::{self, RunInputs, RunStart};
use crate::rpc::{run_watches, trigger_service};
use crate::state::AppState;
use crate::watch;
use aerie_core::{Org, Project, RunId};
use aerie_store::{ActionRecord, RunRecord};
use aerie_wire::flyteidl2::core::primitive;
use aerie_wire::flyteidl2::task::Inputs;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::{
    create_run_request, list_runs_request, watch_runs_request,
};
use aerie_wire::flyteidl2::workflow::*;
use connectrpc::{
    ConnectError, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};
use futures::StreamExt;

/// The RunService handlers.
#[derive(Clone)]
pub struct RunHandlers {
    pub app: AppState,
}

fn ok<T>(body: T) -> ServiceResult<T> {
    Ok(Response::new(body))
}

impl RunHandlers {
    async fn create_run_inner(
        &self,
        ctx: &RequestContext,
        request: CreateRunRequest,
    ) -> ApiResult<CreateRunResponse> {
        let (run_id, org) = match &request.id {
            Some(create_run_request::Id::RunId(run)) => {
                (ids::run_id(run, "run_id")?, ids::org_of(run)?)
            }
            Some(create_run_request::Id::ProjectId(project)) => {
                let (project_name, domain) = ids::project_scope(project)?;
                let domain = domain.ok_or_else(|| ApiError::missing("project_id.domain"))?;
                let run = RunId {
                    project: project_name,
                    domain,
                    name: launch::new_run_name(),
                };
                (run, Org::parse(&project.organization)?)
            }
            None => return Err(ApiError::missing("run_id or project_id")),
        };
        let (task_spec, trigger, stored_inputs, stored_run_spec) = match request.task {
            Some(create_run_request::Task::TaskSpec(spec)) => (*spec, None, None, None),
            Some(create_run_request::Task::TaskId(task_id)) => (
                deployed::deployed_spec(&self.app, Some(&task_id)).await?,
                None,
                None,
                None,
            ),
            Some(create_run_request::Task::TriggerName(name)) => {
                let fired = trigger_service::fire_on_demand(&self.app, &name, &run_id).await?;
                (
                    fired.task_spec,
                    Some(fired.trigger),
                    Some(fired.inputs),
                    Some(fired.run_spec),
                )
            }
            None => return Err(ApiError::missing("task_spec, task_id or trigger_name")),
        };
        let inputs = match request.input_wrapper {
            Some(create_run_request::InputWrapper::OffloadedInputData(offloaded)) => {
                RunInputs::Offloaded(offloaded.uri.clone())
            }
            Some(create_run_request::InputWrapper::Inputs(inputs)) => RunInputs::Inline(*inputs),
            None => stored_inputs.unwrap_or(RunInputs::Inline(Inputs::default())),
        };
        let run_spec = request
            .run_spec
            .into_option()
            .or(stored_run_spec)
            .unwrap_or_default();
        let created = launch::start_run(
            &self.app,
            RunStart {
                id: run_id,
                org,
                created_by: caller(ctx),
                task_spec,
                inputs,
                run_spec,
                trigger,
                fire: None,
            },
        )
        .await?;
        Ok(CreateRunResponse {
            run: details::run(&created.run, &created.root).into(),
            ..Default::default()
        })
    }

    async fn run_details_inner(&self, run_id: &RunId) -> ApiResult<RunDetails> {
        let run = self.app.store.get_run(run_id).await?;
        let (root, wire_spec) = self
            .app
            .store
            .get_action_with_wire_spec(&aerie_core::ActionId::root_of(run_id.clone()))
            .await?;
        let spec = spec::details_spec(root.kind(), &wire_spec);
        Ok(details::run_details(&run, &root, &root.state, spec))
    }

    async fn list_runs_inner(&self, request: ListRunsRequest) -> ApiResult<ListRunsResponse> {
        let (project, domain) = match &request.scope_by {
            Some(list_runs_request::ScopeBy::ProjectId(project)) => ids::project_scope(project)?,
            Some(list_runs_request::ScopeBy::Org(_)) | None => (default_project()?, None),
            Some(_) => {
                return Err(ApiError::Unimplemented(
                    "listing runs by task or trigger is not supported yet".into(),
                ));
            }
        };
        let mut query = list_query(&request.request, DefaultOrder::NewestFirst)?;
        query.paused_only = request.paused_actions_only;
        let page = self
            .app
            .store
            .list_runs(&project, domain.as_ref(), &query)
            .await?;
        Ok(ListRunsResponse {
            runs: page
                .items
                .iter()
                .map(|item| details::run(&item.run, &item.root))
                .collect(),
            token: page.next_token.unwrap_or_default(),
            ..Default::default()
        })
    }

    /// The run of a root action (whose details say who made the run and what it reruns);
    /// `None` for any other action.
    async fn root_run(&self, record: &ActionRecord) -> ApiResult<Option<RunRecord>> {
        if record.parent.is_some() {
            return Ok(None);
        }
        Ok(Some(self.app.store.get_run(&record.id.run).await?))
    }

    async fn list_actions_inner(
        &self,
        request: ListActionsRequest,
    ) -> ApiResult<ListActionsResponse> {
        let run_id = required_run_id(request.run_id.as_option(), "run_id")?;
        let query = list_query(&request.request, DefaultOrder::OldestFirst)?;
        if !query.labels.is_empty() {
            return Err(ApiError::InvalidArgument(
                "labels belong to runs, not actions: filter ListRuns by label instead".into(),
            ));
        }
        let page = self.app.store.list_actions(&run_id, &query).await?;
        Ok(ListActionsResponse {
            actions: page
                .items
                .iter()
                .map(|record| details::action(record, &record.state))
                .collect(),
            token: page.next_token.unwrap_or_default(),
            ..Default::default()
        })
    }
}

/// The project a request without a scope lists: the SDK's default project.
fn default_project() -> ApiResult<Project> {
    Err(ApiError::missing("project_id"))
}

fn stream<T, S>(items: S) -> ServiceStream<T>
where
    S: futures::Stream<Item = ApiResult<T>> + Send + 'static,
    T: Send + 'static,
{
    Box::pin(items.map(|item| item.map_err(ConnectError::from)))
}

#[allow(refining_impl_trait)]
impl RunService for RunHandlers {
    async fn create_run(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, CreateRunRequest>,
    ) -> ServiceResult<CreateRunResponse> {
        let request = request.to_owned_message();
        ok(self.create_run_inner(&ctx, request).await?)
    }

    async fn abort_run(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, AbortRunRequest>,
    ) -> ServiceResult<AbortRunResponse> {
        let run_id = required_run_id(request.to_owned_message().run_id.as_option(), "run_id")?;
        let info = abort_info(request.reason, AbortSource::User, caller(&ctx));
        self.app
            .store
            .get_run(&run_id)
            .await
            .map_err(ApiError::from)?;
        self.app
            .engine
            .abort_run(&run_id, &info)
            .await
            .map_err(ApiError::from)?;
        ok(AbortRunResponse::default())
    }

    async fn get_run_details(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetRunDetailsRequest>,
    ) -> ServiceResult<GetRunDetailsResponse> {
        let run_id = required_run_id(request.to_owned_message().run_id.as_option(), "run_id")?;
        let details = self.run_details_inner(&run_id).await?;
        ok(GetRunDetailsResponse {
            details: details.into(),
            ..Default::default()
        })
    }

    async fn watch_run_details(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, WatchRunDetailsRequest>,
    ) -> ServiceResult<ServiceStream<WatchRunDetailsResponse>> {
        let run_id = required_run_id(request.to_owned_message().run_id.as_option(), "run_id")?;
        let changes = self.app.store.hub().subscribe_run(&run_id);
        let run = self
            .app
            .store
            .get_run(&run_id)
            .await
            .map_err(ApiError::from)?;
        let (root, wire_spec) = self
            .app
            .store
            .get_action_with_wire_spec(&aerie_core::ActionId::root_of(run_id))
            .await
            .map_err(ApiError::from)?;
        let spec = spec::details_spec(root.kind(), &wire_spec);
        let states = watch::action_states(self.app.clone(), root.clone(), changes);
        let responses = states.map(move |state| {
            state.map(|state| WatchRunDetailsResponse {
                details: details::run_details(&run, &root, &state, spec.clone()).into(),
                ..Default::default()
            })
        });
        ok(stream(responses))
    }

    async fn get_action_details(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetActionDetailsRequest>,
    ) -> ServiceResult<GetActionDetailsResponse> {
        let id = required_action_id(
            request.to_owned_message().action_id.as_option(),
            "action_id",
        )?;
        let (record, wire_spec) = self
            .app
            .store
            .get_action_with_wire_spec(&id)
            .await
            .map_err(ApiError::from)?;
        let spec = spec::details_spec(record.kind(), &wire_spec);
        let run = self.root_run(&record).await?;
        ok(GetActionDetailsResponse {
            details: action_details_of(run.as_ref(), &record, &record.state, spec).into(),
            ..Default::default()
        })
    }

    async fn watch_action_details(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, WatchActionDetailsRequest>,
    ) -> ServiceResult<ServiceStream<WatchActionDetailsResponse>> {
        let id = required_action_id(
            request.to_owned_message().action_id.as_option(),
            "action_id",
        )?;
        let changes = self.app.store.hub().subscribe_run(&id.run);
        let (record, wire_spec) = self
            .app
            .store
            .get_action_with_wire_spec(&id)
            .await
            .map_err(ApiError::from)?;
        let spec = spec::details_spec(record.kind(), &wire_spec);
        let run = self.root_run(&record).await?;
        let states = watch::action_states(self.app.clone(), record.clone(), changes);
        let responses = states.map(move |state| {
            state.map(|state| WatchActionDetailsResponse {
                details: action_details_of(run.as_ref(), &record, &state, spec.clone()).into(),
                ..Default::default()
            })
        });
        ok(stream(responses))
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
            ..Default::default()
        })
    }

    async fn list_runs(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, ListRunsRequest>,
    ) -> ServiceResult<ListRunsResponse> {
        ok(self.list_runs_inner(request.to_owned_message()).await?)
    }

    async fn watch_runs(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, WatchRunsRequest>,
    ) -> ServiceResult<ServiceStream<WatchRunsResponse>> {
        let request = request.to_owned_message();
        let (project, domain) = match &request.target {
            Some(watch_runs_request::Target::ProjectId(project)) => ids::project_scope(project)?,
            _ => {
                return Err(ApiError::Unimplemented(
                    "watching runs needs a project_id target".into(),
                )
                .into());
            }
        };
        ok(stream(run_watches::runs(self.app.clone(), project, domain)))
    }

    async fn list_actions(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, ListActionsRequest>,
    ) -> ServiceResult<ListActionsResponse> {
        ok(self.list_actions_inner(request.to_owned_message()).await?)
    }

    async fn watch_actions(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, WatchActionsRequest>,
    ) -> ServiceResult<ServiceStream<WatchActionsResponse>> {
        let run_id = required_run_id(request.to_owned_message().run_id.as_option(), "run_id")?;
        self.app
            .store
            .get_run(&run_id)
            .await
            .map_err(ApiError::from)?;
        ok(stream(run_watches::actions(self.app.clone(), run_id)))
    }

    async fn watch_cluster_events(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, WatchClusterEventsRequest>,
    ) -> ServiceResult<ServiceStream<WatchClusterEventsResponse>> {
        Err(ConnectError::unimplemented(
            "aerie runs tasks as local processes and has no cluster events",
        ))
    }

    async fn abort_action(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, AbortActionRequest>,
    ) -> ServiceResult<AbortActionResponse> {
        let owned = request.to_owned_message();
        let id = required_action_id(owned.action_id.as_option(), "action_id")?;
        let info = abort_info(Some(&owned.reason), AbortSource::User, caller(&ctx));
        self.app
            .engine
            .abort_action(&id, &info)
            .await
            .map_err(ApiError::from)?;
        ok(AbortActionResponse::default())
    }

    async fn signal_event(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, SignalEventRequest>,
    ) -> ServiceResult<SignalEventResponse> {
        let owned = request.to_owned_message();
        let id = required_action_id(owned.action_id.as_option(), "action_id")?;
        let payload = owned
            .payload
            .as_option()
            .and_then(|payload| payload.value.clone())
            .ok_or_else(|| ApiError::missing("payload"))?;
        let value = conditions::primitive_literal(match payload {
            event_payload::Value::BoolValue(value) => primitive::Value::Boolean(value),
            event_payload::Value::IntValue(value) => primitive::Value::Integer(value),
            event_payload::Value::FloatValue(value) => primitive::Value::FloatValue(value),
            event_payload::Value::StringValue(value) => primitive::Value::StringValue(value),
        });
        conditions::signal(&self.app, &id, value, &caller(&ctx)).await?;
        ok(SignalEventResponse::default())
    }

    async fn watch_groups(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, WatchGroupsRequest>,
    ) -> ServiceResult<ServiceStream<WatchGroupsResponse>> {
        Err(ConnectError::unimplemented(
            "group watches are not supported yet",
        ))
    }

    async fn get_action_data_ur_is(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetActionDataURIsRequest>,
    ) -> ServiceResult<GetActionDataURIsResponse> {
        let id = required_action_id(
            request.to_owned_message().action_id.as_option(),
            "action_id",
        )?;
        let data = action_data(&self.app, &id).await?;
        ok(GetActionDataURIsResponse {
            inputs_uri: data.inputs_uri,
            outputs_uri: data.outputs_uri,
            ..Default::default()
        })
    }

    async fn get_action_log_context(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, GetActionLogContextRequest>,
    ) -> ServiceResult<GetActionLogContextResponse> {
        Err(ConnectError::unimplemented(
            "aerie keeps logs itself; use DataProxyService.TailLogs",
        ))
    }
}

/// An action's details, with what a root's say of its run.
fn action_details_of(
    run: Option<&RunRecord>,
    record: &ActionRecord,
    state: &aerie_core::ActionState,
    spec: Option<action_details::Spec>,
) -> ActionDetails {
    match run {
        Some(run) => details::root_action_details(run, record, state, spec),
        None => details::action_details(record, state, spec),
    }
}
