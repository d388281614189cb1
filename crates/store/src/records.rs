//! What the store keeps and hands back: runs, actions, events and committed changes.
//!
//! An action carries its decoded [`ActionSpec`]; the wire spec it was decoded from is kept as
//! opaque bytes and read only by [`crate::Store::get_action_with_wire_spec`]. The store
//! indexes only the fields it filters on.

use aerie_core::{
    ActionId, ActionKind, ActionName, ActionPhase, ActionSpec, ActionState, Org, RunId, Timestamp,
};
use std::sync::Arc;

/// An action to insert.
#[derive(Debug, Clone)]
pub struct NewAction {
    pub name: ActionName,
    pub parent: Option<ActionName>,
    pub spec: ActionSpec,
    /// The encoded wire spec the action was created from (a `TaskSpec` or `TraceAction`).
    pub wire_spec: Vec<u8>,
    pub input_uri: String,
    pub run_output_base: String,
    pub group: String,
    pub state: ActionState,
}

/// A run to insert together with its root action.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: RunId,
    pub org: Org,
    pub created_by: String,
    /// Encoded `RunSpec`, kept as received.
    pub run_spec: Vec<u8>,
    /// The run's labels (from its `RunSpec`), kept where list filters can find them.
    pub labels: Vec<(String, String)>,
    /// The trigger the run came from, if any.
    pub trigger: Option<RunTrigger>,
    /// For a scheduled fire: the fire this run is, claimed in the same transaction.
    pub fire: Option<FireClaim>,
    pub root: NewAction,
}

/// The trigger a run came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTrigger {
    pub task_name: String,
    pub name: String,
    pub revision: i64,
    /// The instant a scheduled fire stands for; `None` for a fire on demand.
    pub scheduled_at: Option<Timestamp>,
}

/// A scheduled fire, claimed together with the run it creates: the run is stored only if the
/// trigger is still due at `fire_at` (so a fire never happens twice), and the trigger then
/// waits for `next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FireClaim {
    pub fire_at: Timestamp,
    pub next: Option<Timestamp>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: RunId,
    pub org: Org,
    pub created_at: Timestamp,
    pub created_by: String,
    pub run_spec: Vec<u8>,
    pub trigger: Option<RunTrigger>,
}

impl RunRecord {
    /// When the run counts as started: the instant a scheduled fire stands for, else its
    /// creation.
    pub fn started_at(&self) -> Timestamp {
        self.trigger
            .as_ref()
            .and_then(|trigger| trigger.scheduled_at)
            .unwrap_or(self.created_at)
    }
}

/// A stored action with its current lifecycle record.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub id: ActionId,
    pub org: Org,
    pub parent: Option<ActionName>,
    pub spec: Arc<ActionSpec>,
    pub input_uri: String,
    pub run_output_base: String,
    pub group: String,
    pub state: ActionState,
    /// How many changes the action has seen; grows by one per change.
    pub version: i64,
    /// The run's event sequence number of the action's latest change.
    pub seq: i64,
    pub updated_at: Timestamp,
}

impl ActionRecord {
    /// The action's current phase.
    pub fn phase(&self) -> ActionPhase {
        self.state.phase
    }

    /// What kind of work the action is.
    pub fn kind(&self) -> ActionKind {
        self.spec.kind
    }

    /// The action's latest change as an event.
    pub fn latest_event(&self) -> ActionEvent {
        ActionEvent {
            seq: self.seq,
            action: self.id.name.clone(),
            parent: self.parent.clone(),
            state: self.state.clone(),
            created_at: self.updated_at,
        }
    }
}

/// One change of one action, in the order of its run's event sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionEvent {
    /// Strictly increasing within the run.
    pub seq: i64,
    pub action: ActionName,
    pub parent: Option<ActionName>,
    /// The action's lifecycle record right after the change.
    pub state: ActionState,
    pub created_at: Timestamp,
}

/// A change as the writer committed it, handed to in-process watchers after the commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The action right after the change (`record.seq` is the change's sequence number).
    pub record: ActionRecord,
    /// The run, set when the change is to a run's root action.
    pub run: Option<Arc<RunRecord>>,
}

impl Change {
    /// The change as an event of its run.
    pub fn event(&self) -> ActionEvent {
        self.record.latest_event()
    }
}
