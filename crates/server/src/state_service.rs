//! `flyteidl2.workflow.StateService`: a running parent watches its direct children here
//! (contract §5.3): a snapshot of every child, a sentinel, then every change, until the
//! parent ends.

use crate::error::{ApiError, ApiResult};
use crate::ids::{required_action_id, wire_action_id};
use crate::spec::{self, StoredSpec};
use crate::state::AppState;
use crate::watch;
use aerie_core::{ActionId, ActionName, ActionState, ErrorKind};
use aerie_store::{ActionRecord, EventScope};
use aerie_wire::flyteidl2::core::ExecutionError;
use aerie_wire::flyteidl2::core::container_error::Kind as Recoverability;
use aerie_wire::flyteidl2::core::execution_error::ErrorKind as Origin;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::{watch_request, watch_response};
use aerie_wire::flyteidl2::workflow::*;
use connectrpc::{ConnectError, RequestContext, ServiceRequest, ServiceResult, ServiceStream};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// Events read per round trip while building the snapshot.
const SNAPSHOT_BATCH: u32 = 1000;

/// The StateService handlers.
#[derive(Clone)]
pub struct StateHandlers {
    pub app: AppState,
}

/// What a parent learns about one child: phase, where its outputs are, and its error.
pub fn action_update(record: &ActionRecord, state: &ActionState) -> ActionUpdate {
    let output_uri = if state.phase.is_success() {
        match spec::decode(record) {
            StoredSpec::Task(_) => spec::current_prefix(record, state),
            StoredSpec::Trace(trace) => trace.outputs.output_uri.clone(),
            StoredSpec::None => String::new(),
        }
    } else {
        String::new()
    };
    let error = state.error.as_ref().map(|error| {
        let error_uri = match record.kind {
            aerie_store::ActionKind::Task => {
                format!("{}/error.pb", spec::current_prefix(record, state))
            }
            _ => format!("{}/{}/error.pb", record.run_output_base, record.id.name),
        };
        ExecutionError {
            code: error.code.clone(),
            message: error.message.clone(),
            error_uri,
            kind: match error.kind {
                ErrorKind::User => Origin::USER,
                ErrorKind::System => Origin::SYSTEM,
            }
            .into(),
            recoverability: if error.recoverable {
                Recoverability::RECOVERABLE
            } else {
                Recoverability::NON_RECOVERABLE
            }
            .into(),
            ..Default::default()
        }
    });
    ActionUpdate {
        action_id: wire_action_id(&record.id, &record.org).into(),
        phase: state.phase.as_i32().into(),
        error: error.into(),
        output_uri,
        ..Default::default()
    }
}

fn update_message(update: ActionUpdate) -> WatchResponse {
    WatchResponse {
        message: Some(watch_response::Message::ActionUpdate(Box::new(update))),
        ..Default::default()
    }
}

fn sentinel() -> WatchResponse {
    WatchResponse {
        message: Some(watch_response::Message::ControlMessage(Box::new(
            ControlMessage {
                sentinel: true,
                ..Default::default()
            },
        ))),
        ..Default::default()
    }
}

/// The children of `parent`: snapshot, sentinel, then changes; ends when the parent ends.
fn children(
    app: AppState,
    parent: ActionId,
) -> impl futures::Stream<Item = ApiResult<WatchResponse>> + Send + 'static {
    async_stream::try_stream! {
        let run = parent.run.clone();
        // Fold the children's events into their latest states, so the snapshot and the live
        // part meet at one sequence number and no child ever appears to go backwards.
        let mut latest: BTreeMap<ActionName, ActionState> = BTreeMap::new();
        let mut last_seq = 0;
        loop {
            let events = app
                .store
                .events_after(&run, &EventScope::ChildrenOf(parent.name.clone()), last_seq, SNAPSHOT_BATCH)
                .await?;
            let done = events.len() < SNAPSHOT_BATCH as usize;
            for event in events {
                last_seq = event.seq;
                latest.insert(event.action, event.state);
            }
            if done {
                break;
            }
        }
        let mut records: HashMap<ActionName, ActionRecord> = HashMap::new();
        for (name, state) in &latest {
            let record = app.store.get_action(&ActionId { run: run.clone(), name: name.clone() }).await?;
            yield update_message(action_update(&record, state));
            records.insert(name.clone(), record);
        }
        yield sentinel();
        let parent_name = parent.name.clone();
        let parent_state = app.store.get_action(&parent).await?.state;
        if parent_state.phase.is_terminal() {
            return;
        }
        let events = watch::run_events(app.clone(), run.clone(), last_seq, move |event| {
            event.action == parent_name && event.state.phase.is_terminal()
        });
        futures::pin_mut!(events);
        while let Some(event) = events.next().await {
            let event = event?;
            if event.parent.as_ref() != Some(&parent.name) {
                continue;
            }
            if !records.contains_key(&event.action) {
                let id = ActionId { run: run.clone(), name: event.action.clone() };
                records.insert(event.action.clone(), app.store.get_action(&id).await?);
            }
            yield update_message(action_update(&records[&event.action], &event.state));
        }
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
        let parent_id = match &owned.filter {
            Some(watch_request::Filter::ParentActionId(id)) => {
                required_action_id(Some(id), "parent_action_id")?
            }
            None => return Err(ApiError::missing("parent_action_id").into()),
        };
        self.app
            .store
            .get_action(&parent_id)
            .await
            .map_err(ApiError::from)?;
        let updates = children(self.app.clone(), parent_id);
        Ok(connectrpc::Response::new(Box::pin(
            updates.map(|item| item.map_err(ConnectError::from)),
        )))
    }
}
