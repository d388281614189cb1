//! What every action record answers, whether it came from a list, a get or a watch.
//!
//! [`Action`](crate::Action) (from ListActions), [`ActionDetails`](crate::ActionDetails) (from
//! GetActionDetails and watches) and [`Run`](crate::Run) (its root action) all carry an action's
//! id, metadata and status. [`ActionSummary`] derives everything else from those three, once;
//! bring it into scope (`use aerie_client::ActionSummary`) to call `phase()`, `done()` and the rest.

use crate::error::{Error, Result};
use aerie_core::{ActionId, ActionPhase, Timestamp};
use aerie_wire::flyteidl2::common::ActionPhase as WireActionPhase;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::action_metadata::Spec as MetadataSpec;
use aerie_wire::flyteidl2::workflow::{ActionMetadata, ActionStatus};
use buffa::EnumValue;
use std::time::Duration;

/// Id, phase and timing of an action; implemented by every type that holds one.
pub trait ActionSummary {
    /// The action's validated id.
    fn action_id(&self) -> &ActionId;

    /// Parent, group, task or trace, environment: the wire `ActionMetadata`.
    fn metadata(&self) -> &ActionMetadata;

    /// Phase, times and attempt count: the wire `ActionStatus`.
    fn status(&self) -> &ActionStatus;

    /// The action's name within its run, e.g. `a0`.
    fn name(&self) -> &str {
        self.action_id().name.as_str()
    }

    /// The name of the run the action belongs to.
    fn run_name(&self) -> &str {
        self.action_id().run.name.as_str()
    }

    /// The name of the action that started this one; `None` for a run's root.
    fn parent_name(&self) -> Option<&str> {
        Some(self.metadata().parent.as_str()).filter(|parent| !parent.is_empty())
    }

    /// The task's name (`metadata.task.id.name`); `None` for traces and conditions.
    fn task_name(&self) -> Option<&str> {
        match &self.metadata().spec {
            Some(MetadataSpec::Task(task)) => Some(task.id.name.as_str()),
            _ => None,
        }
    }

    /// The phase as the wire carries it, including UNSPECIFIED and unknown numbers.
    fn raw_phase(&self) -> EnumValue<WireActionPhase> {
        self.status().phase
    }

    /// The current phase. UNSPECIFIED (or a number this client does not know) is an error, as
    /// it is in the Python SDK: the contract says a server never sends it.
    fn phase(&self) -> Result<ActionPhase> {
        let raw = self.raw_phase().to_i32();
        ActionPhase::from_i32(raw).ok_or_else(|| Error::UnknownPhase {
            action: self.action_id().clone(),
            raw,
        })
    }

    /// How many attempts the action has had so far (`status.attempts`).
    fn attempts(&self) -> u32 {
        self.status().attempts
    }

    /// Whether the action is RUNNING right now.
    fn is_running(&self) -> bool {
        self.phase()
            .is_ok_and(|phase| phase == ActionPhase::Running)
    }

    /// Whether the action is over: succeeded, failed, aborted, timed out or recovered.
    fn done(&self) -> bool {
        self.phase().is_ok_and(ActionPhase::is_terminal)
    }

    /// When the action was created (`status.start_time`).
    fn start_time(&self) -> Option<Timestamp> {
        self.status()
            .start_time
            .as_option()
            .map(aerie_convert::timestamp)
    }

    /// When the action finished (`status.end_time`); `None` while it runs.
    fn end_time(&self) -> Option<Timestamp> {
        self.status()
            .end_time
            .as_option()
            .map(aerie_convert::timestamp)
    }

    /// How long the action ran: end − start once it finished, now − start before.
    fn runtime(&self) -> Duration {
        self.runtime_at(Timestamp::now())
    }

    /// [`runtime`](Self::runtime) as seen at `now`; zero when the server sent no start time.
    fn runtime_at(&self, now: Timestamp) -> Duration {
        match self.start_time() {
            Some(start) => self.end_time().unwrap_or(now).since(start),
            None => Duration::ZERO,
        }
    }
}
