//! Recovery runs (`flyte rerun --recover`): before an action of such a run starts an attempt,
//! every child its counterpart in the earlier run finished successfully is recorded in the new
//! run as RECOVERED, with the same name, parent, group and spec, and nothing runs for it. Action
//! names are deterministic (the SDK derives them from the parent, the inputs and the call), so
//! when the new parent calls the same child it finds it done: its watch snapshot already holds
//! it, which is what lets a replayed trace skip its body.
//!
//! # Contract
//! - A child listed in the run's `force_rerun_actions` is not recovered; it runs again.
//! - A recovered task's outputs are copied into its own first attempt, and the run may read the
//!   earlier run's data (the files those outputs name); a trace keeps its outputs URI; a
//!   condition keeps its signal.
//! - Taking a child over is idempotent: a retried or restarted parent finds them there.
//! - The root always runs again (an earlier root that succeeded is not RECOVERED: the SDK's
//!   `Run.wait` treats a RECOVERED root as a failure).

use crate::{Inner, outputs};
use aerie_blob::ActionLayout;
use aerie_core::{ActionId, ActionKind, ActionState, RunId, Timestamp};
use aerie_store::{ActionRecord, NewAction, StoreError};
use std::collections::HashSet;
use std::sync::Arc;
use tracing::{info, warn};

/// The earlier run a recovery run reuses, and the actions it must run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecoverFrom {
    pub source: RunId,
    pub forced: HashSet<String>,
}

/// Records in `parent`'s run, as RECOVERED, the children the earlier run's counterpart of
/// `parent` finished successfully. A failure is logged: the children then simply run.
pub(crate) async fn take_over_children(
    inner: &Arc<Inner>,
    parent: &ActionRecord,
    recover: &RecoverFrom,
) {
    let counterpart = ActionId {
        run: recover.source.clone(),
        name: parent.id.name.clone(),
    };
    let children = match inner.store.children(&counterpart).await {
        Ok(children) => children,
        Err(err) => {
            warn!(run = %parent.id.run, action = %parent.id.name, error = %err, "reading the earlier run's children failed; they run again");
            return;
        }
    };
    let reusable: Vec<ActionRecord> = children
        .into_iter()
        .filter(|child| child.phase().is_success())
        .filter(|child| !recover.forced.contains(child.id.name.as_str()))
        .collect();
    if reusable.is_empty() {
        return;
    }
    if let Err(err) = inner
        .store
        .grant_read(&parent.id.run, &recover.source)
        .await
    {
        warn!(run = %parent.id.run, error = %err, "granting the earlier run's data failed; its children run again");
        return;
    }
    let mut taken = 0;
    for child in reusable {
        match take_over(inner, parent, &child).await {
            Ok(true) => taken += 1,
            Ok(false) => {}
            Err(err) => {
                warn!(run = %parent.id.run, action = %child.id.name, error = %err, "recovering a child failed; it runs again");
            }
        }
    }
    if taken > 0 {
        info!(run = %parent.id.run, action = %parent.id.name, recovered = taken, source = %recover.source, "children recovered");
    }
}

/// Records `child` of the earlier run as RECOVERED under `parent`; false if it is there already.
async fn take_over(
    inner: &Arc<Inner>,
    parent: &ActionRecord,
    child: &ActionRecord,
) -> Result<bool, String> {
    let run = &parent.id.run;
    let (_, wire_spec) = inner
        .store
        .get_action_with_wire_spec(&child.id)
        .await
        .map_err(|err| err.to_string())?;
    if child.kind() == ActionKind::Task {
        let source = ActionLayout::new(&child.run_output_base, &child.id.name)
            .attempt(child.state.current_attempt().number)
            .outputs();
        outputs::adopt(
            &inner.blobs,
            &source,
            &parent.run_output_base,
            &child.id.name,
        )
        .await?;
    }
    let original = child
        .state
        .recovered_from
        .clone()
        .unwrap_or_else(|| child.id.clone());
    let new = NewAction {
        name: child.id.name.clone(),
        parent: Some(parent.id.name.clone()),
        spec: (*child.spec).clone(),
        wire_spec: wire_spec.to_vec(),
        input_uri: child.input_uri.clone(),
        run_output_base: parent.run_output_base.clone(),
        group: child.group.clone(),
        state: ActionState::recovered(original, child.state.signal.clone(), Timestamp::now()),
    };
    match inner.store.insert_action(run, new).await {
        Ok(_) => Ok(true),
        Err(StoreError::ActionAlreadyExists(_)) => Ok(false),
        Err(err) => Err(err.to_string()),
    }
}
