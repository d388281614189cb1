//! [`Action`]: the summary of one action (id, metadata, status), as `flyte.remote.Action`.
//!
//! This is what RunService/ListActions returns for every action of a run; [`Action::details`]
//! fetches the full [`ActionDetails`].

use crate::action_details::ActionDetails;
use crate::client::Client;
use crate::convert::action_id_from_wire;
use crate::error::Result;
use crate::filter::ListFilter;
use crate::json;
use crate::rpc::collect_pages_up_to;
use crate::summary::ActionSummary;
use crate::watch::{last_update, watch_action};
use aerie_core::{ActionId, ActionName, RunName};
use aerie_wire::flyteidl2::workflow::{Action as WireAction, ActionMetadata, ActionStatus};
use futures::stream::BoxStream;

/// One action of a run: id, metadata and status.
#[derive(Debug, Clone)]
pub struct Action {
    id: ActionId,
    wire: WireAction,
}

impl Action {
    /// Wraps a wire `Action`, validating its id.
    pub fn from_wire(wire: WireAction) -> Result<Self> {
        Ok(Self {
            id: action_id_from_wire(&wire.id)?,
            wire,
        })
    }

    /// Fetches action `name` of run `run_name` in the client's project and domain.
    pub async fn get(client: &Client, run_name: &RunName, name: &ActionName) -> Result<Self> {
        let details = ActionDetails::get_by_name(client, run_name, name).await?;
        Ok(Self::from_details(details))
    }

    /// The summary part of `details`.
    pub fn from_details(details: ActionDetails) -> Self {
        let id = details.action_id().clone();
        let wire = details.into_wire();
        Self {
            id,
            wire: WireAction {
                id: wire.id,
                metadata: wire.metadata,
                status: wire.status,
                ..Default::default()
            },
        }
    }

    /// Every action of run `run_name` (in the client's project and domain), `a0` first,
    /// fetched page by page until the server returns an empty token.
    pub async fn list(client: &Client, run_name: &RunName) -> Result<Vec<Self>> {
        Self::list_where(client, run_name, &ListFilter::new()).await
    }

    /// The actions of run `run_name` that `filter` selects (phase, task, creation time), in
    /// its order, up to its limit.
    pub async fn list_where(
        client: &Client,
        run_name: &RunName,
        filter: &ListFilter,
    ) -> Result<Vec<Self>> {
        let run = client.run_id(run_name.clone());
        collect_pages_up_to(filter.max_items(), |token| {
            client.list_actions_page(&run, filter, token)
        })
        .await?
        .into_iter()
        .map(Self::from_wire)
        .collect()
    }

    /// The wire message.
    pub fn wire(&self) -> &WireAction {
        &self.wire
    }

    /// The full details of this action (RunService/GetActionDetails).
    pub async fn details(&self, client: &Client) -> Result<ActionDetails> {
        ActionDetails::from_wire(client.get_action_details(&self.wire.id).await?)
    }

    /// Watches this action until it is terminal (see [`ActionDetails::watch`]).
    pub fn watch(&self, client: &Client) -> BoxStream<'static, Result<ActionDetails>> {
        watch_action(client.clone(), (*self.wire.id).clone())
    }

    /// Waits until the action is over and returns its final details.
    pub async fn wait(&self, client: &Client) -> Result<ActionDetails> {
        last_update(self.watch(client), &self.id).await
    }

    /// Aborts this action and its children (RunService/AbortAction).
    pub async fn abort(&self, client: &Client, reason: Option<&str>) -> Result<()> {
        client.abort_action(&self.wire.id, reason).await
    }

    /// The proto3 JSON of the wire `Action` as a value.
    pub fn to_dict(&self) -> Result<serde_json::Value> {
        json::to_dict(&self.wire)
    }

    /// The proto3 JSON of the wire `Action`, indented.
    pub fn to_json(&self) -> Result<String> {
        json::to_json(&self.wire)
    }
}

impl ActionSummary for Action {
    fn action_id(&self) -> &ActionId {
        &self.id
    }

    fn metadata(&self) -> &ActionMetadata {
        &self.wire.metadata
    }

    fn status(&self) -> &ActionStatus {
        &self.wire.status
    }
}
