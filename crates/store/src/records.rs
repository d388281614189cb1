//! What the store keeps and hands back: runs, actions and events.
//!
//! Specs and run specs are opaque bytes here (encoded protobuf chosen by the caller); the store
//! indexes only the fields it filters on.

use aerie_core::{ActionId, ActionName, ActionPhase, ActionState, Org, RunId, Timestamp};

/// What kind of work an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// A task run as a process.
    Task,
    /// A trace recorded by its parent, finished when it arrives.
    Trace,
    /// A condition waiting for a signal.
    Condition,
}

impl ActionKind {
    /// The `flyteidl2.workflow.ActionType` number.
    pub const fn as_i32(self) -> i32 {
        match self {
            Self::Task => 1,
            Self::Trace => 2,
            Self::Condition => 3,
        }
    }

    /// The kind with wire number `value`.
    pub fn from_i32(value: i32) -> Option<Self> {
        match value {
            1 => Some(Self::Task),
            2 => Some(Self::Trace),
            3 => Some(Self::Condition),
            _ => None,
        }
    }
}

/// An action to insert.
#[derive(Debug, Clone)]
pub struct NewAction {
    pub name: ActionName,
    pub parent: Option<ActionName>,
    pub kind: ActionKind,
    pub task_name: String,
    pub task_version: String,
    /// Encoded spec (a `TaskSpec` for tasks, a `TraceSpec` for traces).
    pub spec: Vec<u8>,
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
    pub root: NewAction,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: RunId,
    pub org: Org,
    pub created_at: Timestamp,
    pub created_by: String,
    pub run_spec: Vec<u8>,
}

/// A stored action with its current lifecycle record.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub id: ActionId,
    pub org: Org,
    pub parent: Option<ActionName>,
    pub kind: ActionKind,
    pub task_name: String,
    pub task_version: String,
    pub spec: Vec<u8>,
    pub input_uri: String,
    pub run_output_base: String,
    pub group: String,
    pub state: ActionState,
    /// How many changes the action has seen; grows by one per change.
    pub version: i64,
    pub updated_at: Timestamp,
}

impl ActionRecord {
    /// The action's current phase.
    pub fn phase(&self) -> ActionPhase {
        self.state.phase
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
