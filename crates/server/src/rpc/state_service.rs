//! `flyteidl2.workflow.StateService`: the QueueService path's child watch (contract §5.3).

use crate::error::ApiError;
use crate::rpc::children::{self, ChildMessage};
use crate::state::AppState;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::{watch_request, watch_response};
use aerie_wire::flyteidl2::workflow::*;
use connectrpc::{ConnectError, RequestContext, ServiceRequest, ServiceResult, ServiceStream};
use futures::StreamExt;

/// The StateService handlers.
#[derive(Clone)]
pub struct StateHandlers {
    pub app: AppState,
}

fn response(message: ChildMessage) -> WatchResponse {
    let message = match message {
        ChildMessage::Update(update) => watch_response::Message::ActionUpdate(update),
        ChildMessage::Sentinel => {
            watch_response::Message::ControlMessage(Box::new(ControlMessage {
                sentinel: true,
                ..Default::default()
            }))
        }
    };
    WatchResponse {
        message: Some(message),
        ..Default::default()
    }
}

#[allow(refining_impl_trait)]
impl StateService for StateHandlers {
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
        let parent = self
            .app
            .requested_action(Some(parent), "parent_action_id")
            .await?;
        let updates = children::watch(self.app.clone(), parent.id)
            .map(|item| item.map(response).map_err(ConnectError::from));
        Ok(connectrpc::Response::new(Box::pin(updates)))
    }
}
