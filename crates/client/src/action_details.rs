//! [`ActionDetails`]: everything the server knows about one action, as `flyte.remote.ActionDetails`.
//!
//! Each member of the Python class has a counterpart here or in [`ActionSummary`] (name, phase,
//! attempts, runtime, done, …). Reads of the held message are pure; the calls that go to the
//! server take the [`Client`] explicitly. Inputs and outputs are fetched from
//! DataProxyService/GetActionData once and cached; `outputs` refuses before any I/O while the
//! action is not terminal.

use crate::client::Client;
use crate::condition::{SignalValue, ValueType};
use crate::convert::action_id_from_wire;
use crate::data::{ActionInputs, ActionOutputs};
use crate::error::{Error, Result};
use crate::json;
use crate::summary::ActionSummary;
use crate::watch::watch_action;
use aerie_core::{
    ActionId, ActionName, ActionPhase, CacheSource, CacheStatus, RunId, RunName, Timestamp,
};
use aerie_wire::flyteidl2::common::RelationType;
use aerie_wire::flyteidl2::core::literal_type;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::action_details::Result as DetailsResult;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::action_details::Spec as DetailsSpec;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::action_metadata::Spec as MetadataSpec;
use aerie_wire::flyteidl2::workflow::{
    AbortInfo, ActionAttempt, ActionDetails as WireActionDetails, ActionMetadata, ActionStatus,
    ErrorInfo, PhaseTransition,
};
use futures::stream::{self, BoxStream, StreamExt};
use std::sync::OnceLock;
use std::time::Duration;

/// How a run relates to the run it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `flyte rerun`: everything ran again.
    Rerun,
    /// `flyte rerun --recover`: what succeeded before was reused.
    Recover,
    /// Another relation (a spawn, a trigger).
    Other,
}

/// The full record of one action: id, metadata, status, every attempt, the error or abort info
/// and the spec, plus its inputs and outputs once fetched.
#[derive(Debug, Clone)]
pub struct ActionDetails {
    id: ActionId,
    wire: WireActionDetails,
    inputs: OnceLock<ActionInputs>,
    outputs: OnceLock<ActionOutputs>,
}

impl ActionDetails {
    /// Wraps a wire `ActionDetails`, validating its id.
    pub fn from_wire(wire: WireActionDetails) -> Result<Self> {
        Ok(Self {
            id: action_id_from_wire(&wire.id)?,
            wire,
            inputs: OnceLock::new(),
            outputs: OnceLock::new(),
        })
    }

    /// The same details with inputs and/or outputs already known, so that
    /// [`inputs`](Self::inputs) and [`outputs`](Self::outputs) need no call (the Python
    /// constructor's `_inputs` and `_outputs`).
    #[must_use]
    pub fn with_cached_data(
        self,
        inputs: Option<ActionInputs>,
        outputs: Option<ActionOutputs>,
    ) -> Self {
        Self {
            inputs: inputs.map(OnceLock::from).unwrap_or_default(),
            outputs: outputs.map(OnceLock::from).unwrap_or_default(),
            ..self
        }
    }

    /// Fetches the action named by `uri`, in either form [`ActionId::parse_uri`] accepts:
    ///
    /// - `flyte://v1/{project}/{domain}/{run}[/{action}]`
    /// - a console URL, `http(s)://HOST/v2/domain/{domain}/project/{project}/runs/{run}[/{action}]`
    ///
    /// Without an action the root action `a0` is meant. Project and domain come from the URI,
    /// not from the client's defaults.
    pub async fn get(client: &Client, uri: &str) -> Result<Self> {
        Self::get_details(client, &ActionId::parse_uri(uri)?).await
    }

    /// Fetches action `action_name` of run `run_name` in the client's project and domain.
    pub async fn get_by_name(
        client: &Client,
        run_name: &RunName,
        action_name: &ActionName,
    ) -> Result<Self> {
        let id = client.action_id(run_name.clone(), action_name.clone());
        Self::get_details(client, &id).await
    }

    /// Fetches the action `action_id` (RunService/GetActionDetails).
    pub async fn get_details(client: &Client, action_id: &ActionId) -> Result<Self> {
        let wire = client
            .get_action_details(&aerie_convert::wire_action_id(action_id, client.org()))
            .await?;
        Self::from_wire(wire)
    }

    /// Watches the action: the current details at once, then every change, ending after the
    /// first terminal one. Transient failures (`unavailable`, `deadline_exceeded`, `canceled`,
    /// `internal`, dropped connections) reconnect with backoff; a stream the server closes before
    /// the action is done is re-opened. See [`crate::watch`] for the exact rules.
    pub fn watch(client: &Client, action_id: &ActionId) -> BoxStream<'static, Result<Self>> {
        watch_action(
            client.clone(),
            aerie_convert::wire_action_id(action_id, client.org()),
        )
    }

    /// Like [`watch`](Self::watch), and keeps `self` up to date with every update. With
    /// `cache_data_on_done`, inputs and outputs are fetched and cached when the action finishes,
    /// before the final update is yielded. Cached data survives updates.
    pub fn watch_updates<'a>(
        &'a mut self,
        client: &Client,
        cache_data_on_done: bool,
    ) -> BoxStream<'a, Result<Self>> {
        let updates = watch_action(client.clone(), (*self.wire.id).clone());
        let client = client.clone();
        stream::unfold(
            (self, updates, client),
            move |(this, mut updates, client)| async move {
                let item = match updates.next().await? {
                    Ok(update) => this.absorb(update, &client, cache_data_on_done).await,
                    Err(err) => Err(err),
                };
                Some((item, (this, updates, client)))
            },
        )
        .boxed()
    }

    /// Takes `update`'s record, keeps the cache, and fetches the data if asked and done.
    async fn absorb(
        &mut self,
        update: Self,
        client: &Client,
        cache_data_on_done: bool,
    ) -> Result<Self> {
        self.id = update.id;
        self.wire = update.wire;
        if cache_data_on_done && self.done() {
            self.fetch_data(client).await?;
        }
        Ok(self.clone())
    }

    /// The wire message, for fields this type has no accessor for (spec, attempts' details).
    pub fn wire(&self) -> &WireActionDetails {
        &self.wire
    }

    /// The wire message, unwrapped.
    pub fn into_wire(self) -> WireActionDetails {
        self.wire
    }

    /// Why the action failed or timed out, if it did.
    pub fn error_info(&self) -> Option<&ErrorInfo> {
        match &self.wire.result {
            Some(DetailsResult::ErrorInfo(info)) => Some(info),
            _ => None,
        }
    }

    /// The error's message, if the action failed or timed out.
    pub fn error_message(&self) -> Option<&str> {
        self.error_info().map(|info| info.message.as_str())
    }

    /// The phases attempt `number` (the latest when `None`) went through, each with when it
    /// started and ended; empty for an attempt that does not exist.
    pub fn phase_transitions(&self, number: Option<u32>) -> &[PhaseTransition] {
        let attempt = match number {
            Some(number) => self.attempt(number),
            None => self.latest_attempt(),
        };
        attempt.map_or(&[], |attempt| attempt.phase_transitions.as_slice())
    }

    /// How long the latest attempt spent in each phase it entered, in order (as Python's
    /// `phase_durations`); a phase not left yet counts up to `now`. A transition with an unknown
    /// phase or no start time is skipped.
    pub fn phase_durations_at(&self, now: Timestamp) -> Vec<(ActionPhase, Duration)> {
        self.phase_transitions(None)
            .iter()
            .filter_map(|transition| {
                let phase = ActionPhase::from_i32(transition.phase.to_i32())?;
                let start = aerie_convert::timestamp(transition.start_time.as_option()?);
                let end = transition
                    .end_time
                    .as_option()
                    .map_or(now, aerie_convert::timestamp);
                Some((phase, end.since(start)))
            })
            .collect()
    }

    /// [`phase_durations_at`](Self::phase_durations_at) now.
    pub fn phase_durations(&self) -> Vec<(ActionPhase, Duration)> {
        self.phase_durations_at(Timestamp::now())
    }

    /// How long the latest attempt spent in `phase` (Python's `queued_time`, `running_time`,
    /// ...); `None` if it never entered it.
    pub fn time_in(&self, phase: ActionPhase) -> Option<Duration> {
        self.phase_durations()
            .into_iter()
            .find(|(entered, _)| *entered == phase)
            .map(|(_, duration)| duration)
    }

    /// Why and by whom the action was aborted, if it was.
    pub fn abort_info(&self) -> Option<&AbortInfo> {
        match &self.wire.result {
            Some(DetailsResult::AbortInfo(info)) => Some(info),
            _ => None,
        }
    }

    /// The latest attempt: number `status.attempts`, or the last one listed when that is 0.
    pub fn latest_attempt(&self) -> Option<&ActionAttempt> {
        match self.status().attempts {
            0 => self.wire.attempts.last(),
            count => self.attempt(count),
        }
    }

    /// Attempt `number` (1-based).
    pub fn attempt(&self, number: u32) -> Option<&ActionAttempt> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.wire.attempts.get(index)
    }

    /// Where the action stands with the task cache: [`CacheStatus::Hit`] when it ran nothing
    /// and ended with a cached result, [`CacheStatus::Populated`] when its result was stored,
    /// [`CacheStatus::Disabled`] for a task that is not cached.
    pub fn cache_status(&self) -> CacheStatus {
        let status = self.status().cache_status;
        status
            .as_known()
            .map_or(CacheStatus::Disabled, aerie_convert::cache_status)
    }

    /// For a cache hit: the action and attempt whose outputs it reused.
    pub fn cache_source(&self) -> Option<CacheSource> {
        self.wire.attempts.iter().find_map(|attempt| {
            let source = attempt
                .cache_metadata
                .as_option()?
                .source_action_attempt
                .as_option()?;
            let action = aerie_convert::action_id(source.action_id.as_option()?).ok()?;
            Some(CacheSource {
                action,
                attempt: source.attempt,
            })
        })
    }

    /// For a condition: the type of value it takes (`None` for an untyped one, or an action that
    /// is not a condition; see [`ActionDetails::is_condition`]).
    pub fn condition_type(&self) -> Option<ValueType> {
        let Some(MetadataSpec::Condition(condition)) = &self.metadata().spec else {
            return None;
        };
        match &condition.r#type.as_option()?.r#type {
            Some(literal_type::Type::Simple(simple)) => ValueType::from_wire(simple.as_known()?),
            _ => None,
        }
    }

    /// For a condition: the prompt it shows whoever signals it.
    pub fn condition_prompt(&self) -> Option<&str> {
        match &self.wire.spec {
            Some(DetailsSpec::Condition(condition)) => Some(&condition.prompt),
            _ => None,
        }
    }

    /// For a condition that was signalled: the value, and who sent it.
    pub fn signalled(&self) -> Option<(SignalValue, Option<&str>)> {
        let Some(DetailsResult::SignalInfo(info)) = &self.wire.result else {
            return None;
        };
        let value = SignalValue::from_literal(info.output.as_option()?)?;
        let by = info
            .signalled_by
            .as_option()
            .and_then(aerie_convert::identity_name);
        Some((value, by))
    }

    /// For an action a recovery run took over: the action of the earlier run that ran it.
    pub fn recovered_from(&self) -> Option<ActionId> {
        aerie_convert::action_id(self.metadata().recovered_from.as_option()?).ok()
    }

    /// For the root of a rerun or a recovery: the run it came from, and how.
    pub fn related_run(&self) -> Option<(RunId, Relation)> {
        let relation = self.metadata().relation.as_option()?;
        let run = aerie_convert::run_id(relation.related_to.as_option()?).ok()?;
        let kind = match relation.relation_type.as_known()? {
            RelationType::RELATION_TYPE_RERUN => Relation::Rerun,
            RelationType::RELATION_TYPE_RECOVER => Relation::Recover,
            _ => Relation::Other,
        };
        Some((run, kind))
    }

    /// Whether the action is a condition (`flyte.new_condition`).
    pub fn is_condition(&self) -> bool {
        matches!(self.metadata().spec, Some(MetadataSpec::Condition(_)))
    }

    /// Signals this condition with `value` (RunService/SignalEvent); the server checks the
    /// value against the declared type.
    pub async fn signal(&self, client: &Client, value: &SignalValue) -> Result<()> {
        client
            .signal_event(&self.wire.id, &self.metadata().parent, value.to_wire())
            .await
    }

    /// Whether logs can be read for `attempt` (1-based), or for the latest attempt when `None`.
    /// An attempt that does not exist has none.
    pub fn logs_available(&self, attempt: Option<u32>) -> bool {
        let attempt = match attempt {
            Some(number) => self.attempt(number),
            None => self.latest_attempt(),
        };
        attempt.is_some_and(|attempt| attempt.logs_available)
    }

    /// The action's inputs, fetched once (DataProxyService/GetActionData) and then cached.
    pub async fn inputs(&self, client: &Client) -> Result<&ActionInputs> {
        if let Some(inputs) = self.inputs.get() {
            return Ok(inputs);
        }
        Ok(self.fetch_data(client).await?.0)
    }

    /// The action's outputs, fetched once and then cached. An action that is not terminal yet
    /// is refused with [`Error::NotTerminal`] before any call; one that ended without success
    /// has empty outputs.
    pub async fn outputs(&self, client: &Client) -> Result<&ActionOutputs> {
        let phase = self.phase()?;
        let not_terminal = || Error::NotTerminal {
            action: self.id.clone(),
            phase,
        };
        if !phase.is_terminal() {
            return Err(not_terminal());
        }
        if let Some(outputs) = self.outputs.get() {
            return Ok(outputs);
        }
        self.fetch_data(client).await?.1.ok_or_else(not_terminal)
    }

    /// The inputs and outputs already fetched, without a call.
    pub fn cached_data(&self) -> (Option<&ActionInputs>, Option<&ActionOutputs>) {
        (self.inputs.get(), self.outputs.get())
    }

    /// Fetches inputs and outputs and caches what is final: inputs always, outputs only once the
    /// action is terminal.
    async fn fetch_data(&self, client: &Client) -> Result<(&ActionInputs, Option<&ActionOutputs>)> {
        let data = client.get_action_data(&self.wire.id).await?;
        let inputs = self
            .inputs
            .get_or_init(|| ActionInputs::new(data.inputs.into_option().unwrap_or_default()));
        let outputs = self.done().then(|| {
            self.outputs
                .get_or_init(|| ActionOutputs::new(data.outputs.into_option().unwrap_or_default()))
        });
        Ok((inputs, outputs))
    }

    /// The proto3 JSON of the wire message as a value (Python's `to_dict`).
    pub fn to_dict(&self) -> Result<serde_json::Value> {
        json::to_dict(&self.wire)
    }

    /// The proto3 JSON of the wire message, indented (Python's `to_json`): camelCase keys such
    /// as `id`, `metadata`, `status`, `startTime`, `errorInfo`.
    pub fn to_json(&self) -> Result<String> {
        json::to_json(&self.wire)
    }
}

impl TryFrom<WireActionDetails> for ActionDetails {
    type Error = Error;

    fn try_from(wire: WireActionDetails) -> Result<Self> {
        Self::from_wire(wire)
    }
}

impl ActionSummary for ActionDetails {
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

#[cfg(test)]
mod tests;
