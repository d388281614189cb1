//! The services a running parent task calls, as one handler (contract §5): the
//! QueueService/StateService pair (enqueue, abort; watch) and the ActionsService (all of it,
//! when a task runs with `_U_USE_ACTIONS=1`). Both paths unpack their own messages and meet in
//! the same calls here, over [`children`]: enqueue a child or trace, watch a parent's
//! children, abort a child or the run, each checked against the caller's own run.

use crate::caller::{AbortSource, abort_info, authenticated, caller, may_change, request_origin};
use crate::conditions;
use crate::convert::ids::{required_action_id, required_run_id};
use crate::error::{ApiError, ApiResult};
use crate::rpc::children::{self, ChildMessage, ChildRequest, ChildSpec};
use crate::state::AppState;
use aerie_wire::flyteidl2::actions::__buffa::oneof::{
    action, watch_for_updates_request, watch_for_updates_response,
};
use aerie_wire::flyteidl2::actions::{
    AbortRequest, AbortResponse, ActionsService, EnqueueRequest, EnqueueResponse, SignalRequest,
    SignalResponse, UpdateRequest, UpdateResponse, WatchForUpdatesRequest, WatchForUpdatesResponse,
};
use aerie_wire::flyteidl2::common::__buffa::oneof::enriched_identity::Principal;
use aerie_wire::flyteidl2::common::ActionIdentifier;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::{
    enqueue_action_request, watch_request, watch_response,
};
use aerie_wire::flyteidl2::workflow::{
    AbortQueuedActionRequest, AbortQueuedActionResponse, AbortQueuedRunRequest,
    AbortQueuedRunResponse, ControlMessage, EnqueueActionRequest, EnqueueActionResponse,
    GetRequest, GetResponse, PutRequest, PutResponse, QueueService, StateService, WatchRequest,
    WatchResponse,
};
use connectrpc::{
    ConnectError, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};
use futures::{Stream, StreamExt};

/// The handler of every service a running parent calls.
#[derive(Clone)]
pub struct ChildHandlers {
    pub app: AppState,
}

fn sentinel() -> Box<ControlMessage> {
    Box::new(ControlMessage {
        sentinel: true,
        ..Default::default()
    })
}

impl ChildHandlers {
    /// Enqueues `child` into its run, which must be the caller's.
    async fn enqueue(&self, ctx: &RequestContext, child: ChildRequest) -> ApiResult<()> {
        may_change(
            ctx,
            &required_action_id(child.action_id.as_ref(), "action_id")?.run,
        )?;
        children::enqueue(&self.app, child).await
    }

    /// The children of the parent `wire` names, as a stream of `respond(message)`.
    async fn watch<T: Send + 'static>(
        &self,
        parent: Option<&ActionIdentifier>,
        respond: fn(ChildMessage) -> T,
    ) -> ApiResult<impl Stream<Item = Result<T, ConnectError>> + Send + 'static> {
        let parent = self
            .app
            .requested_action(parent, "parent_action_id")
            .await?;
        Ok(children::watch(self.app.clone(), parent.id)
            .map(move |item| item.map(respond).map_err(ConnectError::from)))
    }

    /// Aborts the action `wire` names, in the caller's own run, recording `aborted_by`.
    async fn abort_action(
        &self,
        ctx: &RequestContext,
        wire: Option<&ActionIdentifier>,
        reason: Option<&str>,
        aborted_by: String,
    ) -> ApiResult<()> {
        let id = required_action_id(wire, "action_id")?;
        may_change(ctx, &id.run)?;
        let info = abort_info(reason, AbortSource::Parent, aborted_by);
        self.app.engine.abort_action(&id, &info).await?;
        Ok(())
    }
}

#[allow(refining_impl_trait)]
impl QueueService for ChildHandlers {
    async fn enqueue_action(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, EnqueueActionRequest>,
    ) -> ServiceResult<EnqueueActionResponse> {
        let request = request.to_owned_message();
        let child = ChildRequest {
            action_id: request.action_id.into_option(),
            parent_action_name: request.parent_action_name,
            input_uri: request.input_uri,
            run_output_base: request.run_output_base,
            group: request.group,
            origin: request_origin(&ctx)?.0,
            spec: match request.spec {
                Some(enqueue_action_request::Spec::Task(task)) => ChildSpec::Task(task),
                Some(enqueue_action_request::Spec::Trace(trace)) => ChildSpec::Trace(trace),
                Some(enqueue_action_request::Spec::Condition(condition)) => {
                    ChildSpec::Condition(Some(condition))
                }
                // The SDK sends a condition on this path without its spec; a task or a trace
                // always carries one.
                None => ChildSpec::Condition(None),
            },
        };
        self.enqueue(&ctx, child).await?;
        Ok(Response::new(EnqueueActionResponse::default()))
    }

    async fn abort_queued_run(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, AbortQueuedRunRequest>,
    ) -> ServiceResult<AbortQueuedRunResponse> {
        let owned = request.to_owned_message();
        let run = required_run_id(owned.run_id.as_option(), "run_id")?;
        may_change(&ctx, &run)?;
        let info = abort_info(owned.reason.as_deref(), AbortSource::Parent, caller(&ctx));
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
        self.abort_action(
            &ctx,
            owned.action_id.as_option(),
            owned.reason.as_deref(),
            caller(&ctx),
        )
        .await?;
        Ok(Response::new(AbortQueuedActionResponse::default()))
    }
}

#[allow(refining_impl_trait)]
impl StateService for ChildHandlers {
    async fn put(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, PutRequest>,
    ) -> ServiceResult<PutResponse> {
        Err(ConnectError::unimplemented(
            "StateService.Put is not used by Flyte 2 SDKs; aerie records state itself",
        ))
    }

    async fn get(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, GetRequest>,
    ) -> ServiceResult<GetResponse> {
        Err(ConnectError::unimplemented(
            "StateService.Get is not used by Flyte 2 SDKs; use RunService.GetActionDetails",
        ))
    }

    async fn watch(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, WatchRequest>,
    ) -> ServiceResult<ServiceStream<WatchResponse>> {
        let owned = request.to_owned_message();
        let Some(watch_request::Filter::ParentActionId(parent)) = &owned.filter else {
            return Err(ApiError::missing("parent_action_id").into());
        };
        let updates = ChildHandlers::watch(self, Some(parent), |message| WatchResponse {
            message: Some(match message {
                ChildMessage::Update(update) => watch_response::Message::ActionUpdate(update),
                ChildMessage::Sentinel => watch_response::Message::ControlMessage(sentinel()),
            }),
            ..Default::default()
        })
        .await?;
        Ok(Response::new(Box::pin(updates)))
    }
}

#[allow(refining_impl_trait)]
impl ActionsService for ChildHandlers {
    async fn enqueue(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, EnqueueRequest>,
    ) -> ServiceResult<EnqueueResponse> {
        let action = request
            .to_owned_message()
            .action
            .into_option()
            .ok_or_else(|| ApiError::missing("action"))?;
        let child = ChildRequest {
            action_id: action.action_id.into_option(),
            parent_action_name: action.parent_action_name,
            input_uri: action.input_uri,
            run_output_base: action.run_output_base,
            group: action.group,
            origin: request_origin(&ctx)?.0,
            spec: match action.spec {
                Some(action::Spec::Task(task)) => ChildSpec::Task(task),
                Some(action::Spec::Trace(trace)) => ChildSpec::Trace(trace),
                Some(action::Spec::Condition(condition)) => ChildSpec::Condition(Some(condition)),
                None => ChildSpec::Missing,
            },
        };
        ChildHandlers::enqueue(self, &ctx, child).await?;
        Ok(Response::new(EnqueueResponse::default()))
    }

    async fn watch_for_updates(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, WatchForUpdatesRequest>,
    ) -> ServiceResult<ServiceStream<WatchForUpdatesResponse>> {
        let owned = request.to_owned_message();
        let Some(watch_for_updates_request::Filter::ParentActionId(parent)) = &owned.filter else {
            return Err(ApiError::missing("parent_action_id").into());
        };
        let updates = ChildHandlers::watch(self, Some(parent), |message| WatchForUpdatesResponse {
            message: Some(match message {
                ChildMessage::Update(update) => {
                    watch_for_updates_response::Message::ActionUpdate(update)
                }
                ChildMessage::Sentinel => {
                    watch_for_updates_response::Message::ControlMessage(sentinel())
                }
            }),
            ..Default::default()
        })
        .await?;
        Ok(Response::new(Box::pin(updates)))
    }

    async fn update(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, UpdateRequest>,
    ) -> ServiceResult<UpdateResponse> {
        Err(ConnectError::unimplemented(
            "aerie records attempt status itself; ActionsService.Update is not needed",
        ))
    }

    async fn abort(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, AbortRequest>,
    ) -> ServiceResult<AbortResponse> {
        let owned = request.to_owned_message();
        // A checked credential names the aborter; only without auth may the request name one.
        let named = owned
            .aborted_by
            .as_option()
            .and_then(|who| who.principal.as_ref());
        let aborted_by = match named {
            Some(Principal::User(user)) if !user.id.subject.is_empty() && !authenticated(&ctx) => {
                user.id.subject.clone()
            }
            _ => caller(&ctx),
        };
        self.abort_action(
            &ctx,
            owned.action_id.as_option(),
            owned.reason.as_deref(),
            aborted_by,
        )
        .await?;
        Ok(Response::new(AbortResponse::default()))
    }

    async fn signal(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, SignalRequest>,
    ) -> ServiceResult<SignalResponse> {
        let owned = request.to_owned_message();
        let id = required_action_id(owned.action_id.as_option(), "action_id")?;
        may_change(&ctx, &id.run)?;
        let value = owned
            .value
            .into_option()
            .ok_or_else(|| ApiError::missing("value"))?;
        conditions::signal(&self.app, &id, value, &caller(&ctx)).await?;
        Ok(Response::new(SignalResponse::default()))
    }
}
