//! [`Run`]: one run, seen through its root action `a0`, as `flyte.remote.Run`.
//!
//! A run's phase, times and attempts are those of its root action, so [`ActionSummary`] answers
//! them. Waiting watches `a0`; outputs are `a0`'s.

use crate::action::Action;
use crate::action_details::ActionDetails;
use crate::client::Client;
use crate::convert::action_id_from_wire;
use crate::data::{ActionInputs, ActionOutputs};
use crate::error::{Error, Result};
use crate::filter::ListFilter;
use crate::json;
use crate::rpc::collect_pages_up_to;
use crate::summary::ActionSummary;
use crate::watch::{last_update, watch_action};
use aerie_core::{ActionId, RunId, RunName};
use aerie_wire::flyteidl2::workflow::{
    Action as WireAction, ActionMetadata, ActionStatus, Run as WireRun,
};
use futures::stream::BoxStream;

/// A run: its root action's id, metadata and status, and its labels.
#[derive(Debug, Clone)]
pub struct Run {
    root: ActionId,
    wire: WireRun,
    /// The root action's full details, when they came with the run (get, wait).
    root_details: Option<ActionDetails>,
}

impl Run {
    /// Wraps a wire `Run` (as ListRuns returns it), validating its root action's id.
    pub fn from_wire(wire: WireRun) -> Result<Self> {
        if wire.action.is_unset() {
            return Err(Error::malformed("run", "no root action"));
        }
        Ok(Self {
            root: action_id_from_wire(&wire.action.id)?,
            wire,
            root_details: None,
        })
    }

    /// Fetches run `name` in the client's project and domain (RunService/GetRunDetails). The
    /// root action's full details come along ([`root_details`](Self::root_details)).
    pub async fn get(client: &Client, name: &RunName) -> Result<Self> {
        let details = client.get_run_details(&client.run_id(name.clone())).await?;
        let root = ActionDetails::from_wire(
            details
                .action
                .into_option()
                .ok_or_else(|| Error::malformed("GetRunDetails response", "no root action"))?,
        )?;
        let labels = details
            .run_spec
            .into_option()
            .and_then(|spec| spec.labels.into_option())
            .map(|labels| labels.values)
            .unwrap_or_default();
        let root_wire = root.wire();
        let run = Self::from_wire(WireRun {
            action: WireAction {
                id: root_wire.id.clone(),
                metadata: root_wire.metadata.clone(),
                status: root_wire.status.clone(),
                ..Default::default()
            }
            .into(),
            labels,
            ..Default::default()
        })?;
        Ok(Self {
            root_details: Some(root),
            ..run
        })
    }

    /// Every run in the client's project and domain, in the server's default order (aerie's:
    /// newest first), fetched page by page until the server returns an empty token.
    pub async fn list(client: &Client) -> Result<Vec<Self>> {
        Self::list_where(client, &ListFilter::new()).await
    }

    /// The runs in the client's project and domain that `filter` selects (phase, root task,
    /// labels, creation time), in its order, up to its limit.
    pub async fn list_where(client: &Client, filter: &ListFilter) -> Result<Vec<Self>> {
        collect_pages_up_to(filter.max_items(), |token| {
            client.list_runs_page(filter, token)
        })
        .await?
        .into_iter()
        .map(Self::from_wire)
        .collect()
    }

    /// The run's id.
    pub fn run_id(&self) -> &RunId {
        &self.root.run
    }

    /// The console page of the run, as the SDK prints it
    /// (`http://HOST:PORT/v2/domain/D/project/P/runs/RUN`).
    pub fn url(&self, client: &Client) -> String {
        let run = self.run_id();
        format!(
            "{}v2/domain/{}/project/{}/runs/{}",
            client.endpoint(),
            run.domain,
            run.project,
            run.name
        )
    }

    /// The run's labels, in no particular order.
    pub fn labels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.wire
            .labels
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.wire.labels.get(key).map(String::as_str)
    }

    /// The name of the trigger that started the run (the root action's
    /// `metadata.trigger_name`); `None` for a run started directly.
    pub fn trigger(&self) -> Option<&str> {
        Some(self.wire.action.metadata.trigger_name.as_str()).filter(|name| !name.is_empty())
    }

    /// The wire message.
    pub fn wire(&self) -> &WireRun {
        &self.wire
    }

    /// The root action's full details (error and abort info, attempts, spec) as of the last
    /// [`get`](Self::get) or [`wait`](Self::wait); `None` for runs from [`list`](Self::list).
    pub fn root_details(&self) -> Option<&ActionDetails> {
        self.root_details.as_ref()
    }

    /// Fresh details of the root action (RunService/GetActionDetails of `a0`).
    pub async fn details(&self, client: &Client) -> Result<ActionDetails> {
        ActionDetails::from_wire(client.get_action_details(&self.wire.action.id).await?)
    }

    /// Watches the root action until it is terminal (see [`ActionDetails::watch`]).
    pub fn watch(&self, client: &Client) -> BoxStream<'static, Result<ActionDetails>> {
        watch_action(client.clone(), (*self.wire.action.id).clone())
    }

    /// Waits until the run is over and returns its root action's final details; this run's
    /// phase and status are updated too.
    pub async fn wait(&mut self, client: &Client) -> Result<ActionDetails> {
        let done = last_update(self.watch(client), &self.root).await?;
        let action = self.wire.action.get_or_insert_default();
        action.metadata = done.metadata().clone().into();
        action.status = done.status().clone().into();
        self.root_details = Some(done.clone());
        Ok(done)
    }

    /// The first action of the run that failed, preferring a failed child over the root (whose
    /// error usually repeats the child's), as Python's `first_failure`; `None` when nothing
    /// failed.
    pub async fn first_failure(&self, client: &Client) -> Result<Option<ActionDetails>> {
        let failed = ListFilter::new()
            .phase(aerie_core::ActionPhase::Failed)
            .oldest_first();
        let actions = Action::list_where(client, &self.run_id().name, &failed).await?;
        let first = actions
            .iter()
            .find(|action| action.parent_name().is_some())
            .or_else(|| actions.first());
        match first {
            Some(action) => Ok(Some(action.details(client).await?)),
            None => Ok(None),
        }
    }

    /// Aborts the run and everything in it (RunService/AbortRun).
    pub async fn abort(&self, client: &Client, reason: Option<&str>) -> Result<()> {
        client.abort_run(self.run_id(), reason).await
    }

    /// The root action's inputs.
    pub async fn inputs(&self, client: &Client) -> Result<ActionInputs> {
        Ok(self.details(client).await?.inputs(client).await?.clone())
    }

    /// The root action's outputs; [`Error::NotTerminal`] while the run is not over.
    pub async fn outputs(&self, client: &Client) -> Result<ActionOutputs> {
        Ok(self.details(client).await?.outputs(client).await?.clone())
    }

    /// The proto3 JSON of the wire `Run` as a value.
    pub fn to_dict(&self) -> Result<serde_json::Value> {
        json::to_dict(&self.wire)
    }

    /// The proto3 JSON of the wire `Run`, indented.
    pub fn to_json(&self) -> Result<String> {
        json::to_json(&self.wire)
    }
}

impl ActionSummary for Run {
    fn action_id(&self) -> &ActionId {
        &self.root
    }

    fn metadata(&self) -> &ActionMetadata {
        &self.wire.action.metadata
    }

    fn status(&self) -> &ActionStatus {
        &self.wire.action.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_core::ActionPhase;
    use aerie_wire::flyteidl2::common::ActionPhase as WirePhase;

    fn wire_run(phase: WirePhase) -> WireRun {
        let root = ActionId::parse_uri("flyte://v1/p/d/r1").unwrap();
        WireRun {
            action: WireAction {
                id: aerie_convert::wire_action_id(&root, "").into(),
                status: ActionStatus {
                    phase: phase.into(),
                    attempts: 1,
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            }
            .into(),
            labels: [("team".to_owned(), "ml".to_owned())].into_iter().collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_run_reads_as_its_root_action() {
        let run = Run::from_wire(wire_run(WirePhase::ACTION_PHASE_SUCCEEDED)).unwrap();
        assert_eq!(run.run_id().to_string(), "p/d/r1");
        assert_eq!(run.name(), "a0");
        assert_eq!(run.run_name(), "r1");
        assert_eq!(run.phase().unwrap(), ActionPhase::Succeeded);
        assert!(run.done());
        assert_eq!(run.label("team"), Some("ml"));
        assert_eq!(run.labels().collect::<Vec<_>>(), [("team", "ml")]);
        assert_eq!(run.trigger(), None);
    }

    #[test]
    fn a_run_names_the_trigger_that_started_it() {
        let mut wire = wire_run(WirePhase::ACTION_PHASE_QUEUED);
        wire.action.get_or_insert_default().metadata = ActionMetadata {
            trigger_name: "nightly".into(),
            ..Default::default()
        }
        .into();
        assert_eq!(Run::from_wire(wire).unwrap().trigger(), Some("nightly"));
    }

    #[test]
    fn a_run_without_a_root_action_is_malformed() {
        assert!(matches!(
            Run::from_wire(WireRun::default()),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn run_json_uses_proto3_names() {
        let run = Run::from_wire(wire_run(WirePhase::ACTION_PHASE_RUNNING)).unwrap();
        let dict = run.to_dict().unwrap();
        assert_eq!(dict["action"]["id"]["run"]["name"], "r1");
        assert_eq!(dict["action"]["status"]["phase"], "ACTION_PHASE_RUNNING");
        assert_eq!(dict["labels"]["team"], "ml");
    }
}
