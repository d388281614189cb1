//! `flyteidl2.workflow.QueueService`: the QueueService path for a parent's children
//! (contract §5.2): enqueue children and traces, abort children.

use crate::caller::{AbortSource, abort_info, caller, may_change};
use crate::convert::ids::{required_action_id, required_run_id};
use crate::error::ApiError;
use crate::rpc::children::{self, ChildRequest, ChildSpec};
use crate::state::AppState;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::enqueue_action_request::Spec;
use aerie_wire::flyteidl2::workflow::*;
use connectrpc::{RequestContext, Response, ServiceRequest, ServiceResult};

/// The QueueService handlers.
#[derive(Clone)]
pub struct QueueHandlers {
    pub app: AppState,
}

#[allow(refining_impl_trait)]
impl QueueService for QueueHandlers {
    async fn enqueue_action(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, EnqueueActionRequest>,
    ) -> ServiceResult<EnqueueActionResponse> {
        let request = request.to_owned_message();
        may_change(
            &ctx,
            &required_action_id(request.action_id.as_option(), "action_id")?.run,
        )?;
        let child = ChildRequest {
            action_id: request.action_id.into_option(),
            parent_action_name: request.parent_action_name,
            input_uri: request.input_uri,
            run_output_base: request.run_output_base,
            group: request.group,
            spec: match request.spec {
                Some(Spec::Task(task)) => ChildSpec::Task(task),
                Some(Spec::Trace(trace)) => ChildSpec::Trace(trace),
                Some(Spec::Condition(_)) => ChildSpec::Condition,
                None => ChildSpec::Missing,
            },
        };
        children::enqueue(&self.app, child).await?;
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
        let id = required_action_id(owned.action_id.as_option(), "action_id")?;
        may_change(&ctx, &id.run)?;
        let info = abort_info(owned.reason.as_deref(), AbortSource::Parent, caller(&ctx));
        self.app
            .engine
            .abort_action(&id, &info)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(AbortQueuedActionResponse::default()))
    }
}
