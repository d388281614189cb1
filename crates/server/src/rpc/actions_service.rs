//! `flyteidl2.actions.ActionsService`: the path task processes take when `_U_USE_ACTIONS=1`
//! (and the Rust task SDK always takes, over gRPC): the same children, watch and abort as the
//! QueueService/StateService pair (contract §5.5).

use crate::caller::{AbortSource, abort_info, authenticated, caller, may_change};
use crate::convert::ids::required_action_id;
use crate::error::ApiError;
use crate::rpc::children::{self, ChildMessage, ChildRequest, ChildSpec};
use crate::state::AppState;
use aerie_wire::flyteidl2::actions::__buffa::oneof::{
    action, watch_for_updates_request, watch_for_updates_response,
};
use aerie_wire::flyteidl2::actions::*;
use aerie_wire::flyteidl2::common::__buffa::oneof::enriched_identity::Principal;
use aerie_wire::flyteidl2::workflow::ControlMessage;
use connectrpc::{
    ConnectError, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};
use futures::StreamExt;

/// The ActionsService handlers.
#[derive(Clone)]
pub struct ActionsHandlers {
    pub app: AppState,
}

fn response(message: ChildMessage) -> WatchForUpdatesResponse {
    let message = match message {
        ChildMessage::Update(update) => watch_for_updates_response::Message::ActionUpdate(update),
        ChildMessage::Sentinel => {
            watch_for_updates_response::Message::ControlMessage(Box::new(ControlMessage {
                sentinel: true,
                ..Default::default()
            }))
        }
    };
    WatchForUpdatesResponse {
        message: Some(message),
        ..Default::default()
    }
}

#[allow(refining_impl_trait)]
impl ActionsService for ActionsHandlers {
    async fn enqueue(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, EnqueueRequest>,
    ) -> ServiceResult<EnqueueResponse> {
        let request = request.to_owned_message();
        let action = request
            .action
            .into_option()
            .ok_or_else(|| ApiError::missing("action"))?;
        may_change(
            &ctx,
            &required_action_id(action.action_id.as_option(), "action.action_id")?.run,
        )?;
        let child = ChildRequest {
            action_id: action.action_id.into_option(),
            parent_action_name: action.parent_action_name,
            input_uri: action.input_uri,
            run_output_base: action.run_output_base,
            group: action.group,
            spec: match action.spec {
                Some(action::Spec::Task(task)) => ChildSpec::Task(task),
                Some(action::Spec::Trace(trace)) => ChildSpec::Trace(trace),
                Some(action::Spec::Condition(_)) => ChildSpec::Condition,
                None => ChildSpec::Missing,
            },
        };
        children::enqueue(&self.app, child).await?;
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
        let parent = self
            .app
            .requested_action(Some(parent), "parent_action_id")
            .await?;
        let updates = children::watch(self.app.clone(), parent.id)
            .map(|item| item.map(response).map_err(ConnectError::from));
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
        let id = required_action_id(owned.action_id.as_option(), "action_id")?;
        may_change(&ctx, &id.run)?;
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
        let info = abort_info(owned.reason.as_deref(), AbortSource::Parent, aborted_by);
        self.app
            .engine
            .abort_action(&id, &info)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(AbortResponse::default()))
    }

    async fn signal(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, SignalRequest>,
    ) -> ServiceResult<SignalResponse> {
        Err(ConnectError::unimplemented(
            "conditions are not supported yet",
        ))
    }
}
