//! `flyteidl2.workflow.QueueService`: a running parent task enqueues its children and records
//! its traces here (contract §5.2, §5.6), and aborts children it no longer waits for.

use crate::error::{ApiError, ApiResult};
use crate::ids::{required_action_id, required_run_id};
use crate::run_service::caller;
use crate::state::AppState;
use aerie_core::{AbortInfo, ActionId, ActionPhase, ActionState, ErrorInfo, ErrorKind, Timestamp};
use aerie_store::{ActionKind, NewAction};
use aerie_wire::flyteidl2::workflow::__buffa::oneof::enqueue_action_request::Spec;
use aerie_wire::flyteidl2::workflow::*;
use buffa::Message;
use connectrpc::{RequestContext, Response, ServiceRequest, ServiceResult};

/// The QueueService handlers.
#[derive(Clone)]
pub struct QueueHandlers {
    pub app: AppState,
}

fn instant(timestamp: Option<&buffa_types::google::protobuf::Timestamp>) -> Option<Timestamp> {
    timestamp.map(|t| Timestamp::from_seconds_and_nanos(t.seconds, t.nanos))
}

impl QueueHandlers {
    async fn enqueue(&self, request: EnqueueActionRequest) -> ApiResult<()> {
        let id = required_action_id(request.action_id.as_option(), "action_id")?;
        let parent_name = request
            .parent_action_name
            .as_deref()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| ApiError::missing("parent_action_name"))?;
        let parent = ActionId {
            run: id.run.clone(),
            name: parent_name.parse()?,
        };
        self.app.store.get_action(&parent).await?;
        if request.run_output_base.is_empty() {
            return Err(ApiError::missing("run_output_base"));
        }
        let run_output_base = request.run_output_base.trim_end_matches('/').to_owned();
        self.app.blobs.key_of(&run_output_base)?;
        let new = match request.spec {
            Some(Spec::Task(task)) => {
                self.app.blobs.key_of(&request.input_uri)?;
                let spec = task
                    .spec
                    .as_option()
                    .ok_or_else(|| ApiError::missing("task.spec"))?;
                let template = spec
                    .task_template
                    .as_option()
                    .ok_or_else(|| ApiError::missing("task.spec.task_template"))?;
                NewAction {
                    name: id.name.clone(),
                    parent: Some(parent.name.clone()),
                    kind: ActionKind::Task,
                    task_name: template.id.name.clone(),
                    task_version: template.id.version.clone(),
                    spec: spec.encode_to_vec(),
                    input_uri: request.input_uri.clone(),
                    run_output_base,
                    group: request.group.clone(),
                    state: ActionState::queued(Timestamp::now()),
                }
            }
            Some(Spec::Trace(trace)) => {
                let state = self.trace_state(&trace, &run_output_base, &id).await?;
                NewAction {
                    name: id.name.clone(),
                    parent: Some(parent.name.clone()),
                    kind: ActionKind::Trace,
                    task_name: trace.name.clone(),
                    task_version: String::new(),
                    spec: trace.encode_to_vec(),
                    input_uri: request.input_uri.clone(),
                    run_output_base,
                    group: request.group.clone(),
                    state,
                }
            }
            Some(Spec::Condition(_)) => {
                return Err(ApiError::Unimplemented(
                    "conditions are not supported yet".into(),
                ));
            }
            None => return Err(ApiError::missing("one of task, trace or condition")),
        };
        self.app.engine.enqueue_action(&id.run, new).await?;
        Ok(())
    }

    /// A trace arrives finished: its phase and times as sent, and for a failure the error its
    /// parent wrote to `{run_output_base}/{name}/error.pb`.
    async fn trace_state(
        &self,
        trace: &TraceAction,
        run_output_base: &str,
        id: &ActionId,
    ) -> ApiResult<ActionState> {
        let phase = ActionPhase::from_i32(trace.phase.to_i32())
            .filter(|phase| phase.is_terminal())
            .ok_or_else(|| {
                ApiError::InvalidArgument(format!(
                    "trace phase {} is not a terminal phase",
                    trace.phase.to_i32()
                ))
            })?;
        let now = Timestamp::now();
        let started = instant(trace.start_time.as_option()).unwrap_or(now);
        let ended = instant(trace.end_time.as_option())
            .unwrap_or(now)
            .max(started);
        let error = if phase == ActionPhase::Failed {
            let error_uri = format!("{run_output_base}/{}/error.pb", id.name);
            Some(match self.app.blobs.get(&error_uri).await? {
                Some(bytes) => aerie_engine::outcome::error_from_document(&bytes),
                None => ErrorInfo {
                    message: format!("trace {} failed", trace.name),
                    kind: ErrorKind::User,
                    code: "TraceFailed".into(),
                    recoverable: false,
                },
            })
        } else {
            None
        };
        ActionState::finished(phase, started, ended, error)
            .map_err(|err| ApiError::InvalidArgument(err.to_string()))
    }
}

#[allow(refining_impl_trait)]
impl QueueService for QueueHandlers {
    async fn enqueue_action(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, EnqueueActionRequest>,
    ) -> ServiceResult<EnqueueActionResponse> {
        self.enqueue(request.to_owned_message()).await?;
        Ok(Response::new(EnqueueActionResponse::default()))
    }

    async fn abort_queued_run(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, AbortQueuedRunRequest>,
    ) -> ServiceResult<AbortQueuedRunResponse> {
        let owned = request.to_owned_message();
        let run = required_run_id(owned.run_id.as_option(), "run_id")?;
        let info = AbortInfo {
            reason: "aborted by its parent".into(),
            aborted_by: caller(&ctx),
        };
        self.app
            .engine
            .abort_run(&run, &info)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(AbortQueuedRunResponse::default()))
    }

    async fn abort_queued_action(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, AbortQueuedActionRequest>,
    ) -> ServiceResult<AbortQueuedActionResponse> {
        let owned = request.to_owned_message();
        let id = required_action_id(owned.action_id.as_option(), "action_id")?;
        let reason = owned
            .reason
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "aborted by its parent".into());
        let info = AbortInfo {
            reason,
            aborted_by: caller(&ctx),
        };
        self.app
            .engine
            .abort_action(&id, &info)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(AbortQueuedActionResponse::default()))
    }
}
