//! An action's inputs and outputs (contract §6.4): inputs from its input URI, outputs only once
//! it succeeded, from the last attempt's `outputs.pb` (a condition's: its signalled value).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use aerie_blob::ActionLayout;
use aerie_core::{ActionId, ActionKind};
use aerie_store::ActionRecord;
use aerie_wire::flyteidl2::task::{Inputs, NamedLiteral, Outputs};
use buffa::Message;

/// Stores encoded inputs at the content-addressed URI `uri_for(digest)`, once: inputs are
/// immutable, so runs with identical inputs share one file and a repeat costs one lookup.
/// Returns the URI and the digest (hex SHA-256 of the bytes).
pub async fn store_inputs(
    app: &AppState,
    encoded: Vec<u8>,
    uri_for: impl FnOnce(&str) -> ApiResult<String>,
) -> ApiResult<(String, String)> {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(&encoded));
    let uri = uri_for(&digest)?;
    if !app.blobs.exists(&uri).await? {
        app.blobs.put(&uri, bytes::Bytes::from(encoded)).await?;
    }
    Ok((uri, digest))
}

/// What `GetActionData` and `GetActionDataURIs` return.
pub struct ActionData {
    pub inputs: Inputs,
    /// Set only when the action succeeded.
    pub outputs: Option<Outputs>,
    pub inputs_uri: String,
    pub outputs_uri: String,
}

/// The file holding the action's outputs once it succeeded: a task's last attempt's
/// `outputs.pb`, a trace's outputs URI as its parent sent it ("" if it has none).
fn outputs_file(record: &ActionRecord) -> String {
    match record.kind() {
        ActionKind::Task => ActionLayout::new(&record.run_output_base, &record.id.name)
            .attempt(record.state.current_attempt().number)
            .outputs(),
        ActionKind::Trace => record.spec.trace_outputs_uri.clone().unwrap_or_default(),
        ActionKind::Condition => String::new(),
    }
}

pub async fn action_data(app: &AppState, id: &ActionId) -> ApiResult<ActionData> {
    let record = app.store.get_action(id).await?;
    if record.kind() == ActionKind::Condition {
        return Ok(condition_data(record));
    }
    let inputs_bytes = app.blobs.get(&record.input_uri).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "inputs of {id} are missing from storage ({})",
            record.input_uri
        ))
    })?;
    let inputs = Inputs::decode_from_slice(&inputs_bytes).map_err(|err| {
        ApiError::Internal(format!("stored inputs of {id} cannot be decoded: {err}"))
    })?;
    let outputs_uri = outputs_file(&record);
    let outputs = if record.state.phase.is_success() && !outputs_uri.is_empty() {
        let bytes = app.blobs.get(&outputs_uri).await?;
        Some(match bytes {
            Some(bytes) => Outputs::decode_from_slice(&bytes).map_err(|err| {
                ApiError::Internal(format!("stored outputs of {id} cannot be decoded: {err}"))
            })?,
            // A task that returns nothing writes no outputs file.
            None => Outputs::default(),
        })
    } else {
        None
    };
    Ok(ActionData {
        inputs,
        outputs,
        inputs_uri: record.input_uri,
        outputs_uri,
    })
}

/// A condition has no inputs (its input URI is a placeholder nothing is written to); once
/// signalled, its one output `o0` is the value.
fn condition_data(record: ActionRecord) -> ActionData {
    let outputs = crate::conditions::signalled_value(&record.state).map(|value| Outputs {
        literals: vec![NamedLiteral {
            name: "o0".into(),
            value: value.into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    ActionData {
        inputs: Inputs::default(),
        outputs,
        inputs_uri: record.input_uri,
        outputs_uri: String::new(),
    }
}
