//! Child actions, shared by the two paths a running parent may use (contract §5): the
//! QueueService/StateService pair and the ActionsService. A parent enqueues children and
//! traces, watches its direct children (snapshot, sentinel, then every change), and aborts
//! children it stopped waiting for.

use crate::error::{ApiError, ApiResult};
use crate::ids::{required_action_id, wire_action_id};
use crate::spec::{self, StoredSpec};
use crate::state::AppState;
use crate::watch as event_log;
use aerie_core::{ActionId, ActionName, ActionPhase, ActionState, ErrorInfo, ErrorKind, Timestamp};
use aerie_store::{ActionKind, ActionRecord, EventScope, NewAction};
use aerie_wire::flyteidl2::common::ActionIdentifier;
use aerie_wire::flyteidl2::core::ExecutionError;
use aerie_wire::flyteidl2::core::container_error::Kind as Recoverability;
use aerie_wire::flyteidl2::core::execution_error::ErrorKind as Origin;
use aerie_wire::flyteidl2::workflow::{ActionUpdate, TaskAction, TraceAction};
use buffa::Message;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// Events read per round trip while building the snapshot.
const SNAPSHOT_BATCH: u32 = 1000;

/// What a parent asks to enqueue, whichever service it came through.
pub struct ChildRequest {
    pub action_id: Option<ActionIdentifier>,
    pub parent_action_name: Option<String>,
    pub input_uri: String,
    pub run_output_base: String,
    pub group: String,
    pub spec: ChildSpec,
}

/// The kind of child, as sent.
pub enum ChildSpec {
    Task(Box<TaskAction>),
    Trace(Box<TraceAction>),
    Condition,
    Missing,
}

/// One message of a child watch.
pub enum ChildMessage {
    Update(Box<ActionUpdate>),
    /// The snapshot is complete.
    Sentinel,
}

fn instant(timestamp: Option<&buffa_types::google::protobuf::Timestamp>) -> Option<Timestamp> {
    timestamp.map(|t| Timestamp::from_seconds_and_nanos(t.seconds, t.nanos))
}

/// Records a child a parent enqueued: a task to schedule, or a finished trace.
pub async fn enqueue(app: &AppState, request: ChildRequest) -> ApiResult<()> {
    let id = required_action_id(request.action_id.as_ref(), "action_id")?;
    let parent_name = request
        .parent_action_name
        .as_deref()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| ApiError::missing("parent_action_name"))?;
    let parent = ActionId {
        run: id.run.clone(),
        name: parent_name.parse()?,
    };
    app.store.get_action(&parent).await?;
    if request.run_output_base.is_empty() {
        return Err(ApiError::missing("run_output_base"));
    }
    let run_output_base = request.run_output_base.trim_end_matches('/').to_owned();
    app.blobs.key_of(&run_output_base)?;
    let new = match request.spec {
        ChildSpec::Task(task) => {
            app.blobs.key_of(&request.input_uri)?;
            let spec = task
                .spec
                .as_option()
                .ok_or_else(|| ApiError::missing("task.spec"))?;
            let template = spec
                .task_template
                .as_option()
                .ok_or_else(|| ApiError::missing("task.spec.task_template"))?;
            NewAction {
                name: id.name.clone(),
                parent: Some(parent.name.clone()),
                kind: ActionKind::Task,
                task_name: template.id.name.clone(),
                task_version: template.id.version.clone(),
                spec: spec.encode_to_vec(),
                input_uri: request.input_uri.clone(),
                run_output_base,
                group: request.group.clone(),
                state: ActionState::queued(Timestamp::now()),
            }
        }
        ChildSpec::Trace(trace) => {
            let state = trace_state(app, &trace, &run_output_base, &id).await?;
            NewAction {
                name: id.name.clone(),
                parent: Some(parent.name.clone()),
                kind: ActionKind::Trace,
                task_name: trace.name.clone(),
                task_version: String::new(),
                spec: trace.encode_to_vec(),
                input_uri: request.input_uri.clone(),
                run_output_base,
                group: request.group.clone(),
                state,
            }
        }
        ChildSpec::Condition => {
            return Err(ApiError::Unimplemented(
                "conditions are not supported yet".into(),
            ));
        }
        ChildSpec::Missing => return Err(ApiError::missing("one of task, trace or condition")),
    };
    app.engine.enqueue_action(&id.run, new).await?;
    Ok(())
}

/// A trace arrives finished: its phase and times as sent, and for a failure the error its
/// parent wrote to `{run_output_base}/{name}/error.pb`.
async fn trace_state(
    app: &AppState,
    trace: &TraceAction,
    run_output_base: &str,
    id: &ActionId,
) -> ApiResult<ActionState> {
    let phase = ActionPhase::from_i32(trace.phase.to_i32())
        .filter(|phase| phase.is_terminal())
        .ok_or_else(|| {
            ApiError::InvalidArgument(format!(
                "trace phase {} is not a terminal phase",
                trace.phase.to_i32()
            ))
        })?;
    let now = Timestamp::now();
    let started = instant(trace.start_time.as_option()).unwrap_or(now);
    let ended = instant(trace.end_time.as_option())
        .unwrap_or(now)
        .max(started);
    let error = if phase == ActionPhase::Failed {
        let error_uri = format!("{run_output_base}/{}/error.pb", id.name);
        Some(match app.blobs.get(&error_uri).await? {
            Some(bytes) => aerie_engine::outcome::error_from_document(&bytes),
            None => ErrorInfo {
                message: format!("trace {} failed", trace.name),
                kind: ErrorKind::User,
                code: "TraceFailed".into(),
                recoverable: false,
            },
        })
    } else {
        None
    };
    ActionState::finished(phase, started, ended, error)
        .map_err(|err| ApiError::InvalidArgument(err.to_string()))
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

/// The children of `parent`: snapshot, sentinel, then changes; ends when the parent ends.
pub fn watch(
    app: AppState,
    parent: ActionId,
) -> impl futures::Stream<Item = ApiResult<ChildMessage>> + Send + 'static {
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
            yield ChildMessage::Update(Box::new(action_update(&record, state)));
            records.insert(name.clone(), record);
        }
        yield ChildMessage::Sentinel;
        let parent_name = parent.name.clone();
        let parent_state = app.store.get_action(&parent).await?.state;
        if parent_state.phase.is_terminal() {
            return;
        }
        let events = event_log::run_events(app.clone(), run.clone(), last_seq, move |event| {
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
            yield ChildMessage::Update(Box::new(action_update(&records[&event.action], &event.state)));
        }
    }
}
