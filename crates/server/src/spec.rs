//! What a stored action's spec bytes hold, and where its outputs are.
//!
//! Tasks store their `TaskSpec`; traces store the `TraceAction` their parent sent, which
//! carries the trace's interface and the verbatim URI of its outputs file.

use aerie_blob::Blobs;
use aerie_core::ActionState;
use aerie_store::{ActionKind, ActionRecord};
use aerie_wire::flyteidl2::task::TaskSpec;
use aerie_wire::flyteidl2::workflow::TraceAction;
use buffa::Message;

/// A record's decoded spec.
pub enum StoredSpec {
    Task(Box<TaskSpec>),
    Trace(Box<TraceAction>),
    /// Conditions, or bytes that no longer decode (logged).
    None,
}

/// Decodes `record`'s spec.
pub fn decode(record: &ActionRecord) -> StoredSpec {
    let decoded = match record.kind {
        ActionKind::Task => {
            TaskSpec::decode_from_slice(&record.spec).map(|s| StoredSpec::Task(Box::new(s)))
        }
        ActionKind::Trace => {
            TraceAction::decode_from_slice(&record.spec).map(|t| StoredSpec::Trace(Box::new(t)))
        }
        ActionKind::Condition => return StoredSpec::None,
    };
    decoded.unwrap_or_else(|err| {
        tracing::error!(action = %record.id, error = %err, "stored spec cannot be decoded");
        StoredSpec::None
    })
}

/// The prefix of the action's current attempt: `{run_base}/{action}/{attempt}`.
pub fn current_prefix(record: &ActionRecord, state: &ActionState) -> String {
    Blobs::attempt_prefix(
        &record.run_output_base,
        &record.id.name,
        state.current_attempt().number,
    )
}

/// The file holding the action's outputs once it succeeded: a task's last attempt's
/// `outputs.pb`, a trace's outputs URI as its parent sent it ("" if it has none).
pub fn outputs_file(record: &ActionRecord, state: &ActionState) -> String {
    match decode(record) {
        StoredSpec::Task(_) => format!("{}/outputs.pb", current_prefix(record, state)),
        StoredSpec::Trace(trace) => trace.outputs.output_uri.clone(),
        StoredSpec::None => String::new(),
    }
}
