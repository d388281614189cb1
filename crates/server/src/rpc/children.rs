//! Child actions, shared by the two paths a running parent may use (contract §5): the
//! QueueService/StateService pair and the ActionsService. A parent enqueues children and
//! traces and conditions, watches its direct children (snapshot, sentinel, then every change,
//! with a condition's value once signalled), and aborts children it stopped waiting for.

use crate::conditions;
use crate::convert::ids::required_action_id;
use crate::convert::spec;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::watch::follow_run;
use crate::webhook;
use aerie_blob::ActionLayout;
use aerie_core::{
    ActionId, ActionKind, ActionName, ActionPhase, ActionState, ErrorInfo, ErrorKind, Timestamp,
};
use aerie_store::{ActionRecord, NewAction};
use aerie_wire::flyteidl2::common::ActionIdentifier;
use aerie_wire::flyteidl2::core::ExecutionError;
use aerie_wire::flyteidl2::core::container_error::Kind as Recoverability;
use aerie_wire::flyteidl2::core::execution_error::ErrorKind as Origin;
use aerie_wire::flyteidl2::workflow::{ActionUpdate, ConditionAction, TaskAction, TraceAction};
use buffa::Message;
use futures::StreamExt;
use std::collections::HashMap;

/// What a parent asks to enqueue, whichever service it came through.
pub struct ChildRequest {
    pub action_id: Option<ActionIdentifier>,
    pub parent_action_name: Option<String>,
    pub input_uri: String,
    pub run_output_base: String,
    pub group: String,
    pub spec: ChildSpec,
    /// Where the request reached aerie (for a condition's callback URL).
    pub origin: String,
}

/// The kind of child, as sent.
pub enum ChildSpec {
    Task(Box<TaskAction>),
    Trace(Box<TraceAction>),
    /// A condition, with its spec (the ActionsService path) or without (the QueueService
    /// path, where the SDK sends none).
    Condition(Option<Box<ConditionAction>>),
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
    let parent = app.store.get_action(&parent).await?;
    if request.run_output_base.is_empty() {
        return Err(ApiError::missing("run_output_base"));
    }
    let run_output_base = request.run_output_base.trim_end_matches('/').to_owned();
    app.blobs.key_of(&run_output_base)?;
    let mut webhook_to_send = None;
    let new = match request.spec {
        ChildSpec::Task(task) => {
            app.blobs.key_of(&request.input_uri)?;
            let spec = task
                .spec
                .as_option()
                .ok_or_else(|| ApiError::missing("task.spec"))?;
            spec.task_template
                .as_option()
                .ok_or_else(|| ApiError::missing("task.spec.task_template"))?;
            spec::check_limits(spec)
                .map_err(|reason| ApiError::InvalidArgument(format!("task.spec: {reason}")))?;
            let mut action_spec = spec::task(spec);
            if let Some(cache) = action_spec.cache.as_mut() {
                // The parent computed the key: it folds in the name, interface, version and
                // the inputs that count.
                cache.key = task
                    .cache_key
                    .as_option()
                    .map_or_else(String::new, |key| key.value.clone());
            }
            NewAction {
                name: id.name.clone(),
                parent: Some(parent.id.name.clone()),
                spec: action_spec,
                wire_spec: spec.encode_to_vec(),
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
                parent: Some(parent.id.name.clone()),
                spec: spec::trace(&trace),
                wire_spec: trace.encode_to_vec(),
                input_uri: request.input_uri.clone(),
                run_output_base,
                group: request.group.clone(),
                state,
            }
        }
        ChildSpec::Condition(condition) => {
            app.blobs.key_of(&request.input_uri)?;
            let (spec, wire_spec, state) = conditions::new_condition(condition.as_deref(), &id)?;
            webhook_to_send = condition
                .as_ref()
                .and_then(|condition| condition.webhook.as_option().cloned())
                .map(|hook| (hook, spec.deadline));
            NewAction {
                name: id.name.clone(),
                parent: Some(parent.id.name.clone()),
                spec,
                wire_spec,
                input_uri: request.input_uri.clone(),
                run_output_base,
                group: request.group.clone(),
                state,
            }
        }
        ChildSpec::Missing => return Err(ApiError::missing("one of task, trace or condition")),
    };
    app.engine.enqueue_action(&parent, new).await?;
    if let Some((hook, timeout)) = webhook_to_send {
        let callback = webhook::callback_uri(app, &request.origin, &id, timeout);
        webhook::notify(app, id, hook.url, hook.payload.into_option(), callback);
    }
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
        let error_uri = ActionLayout::new(run_output_base, &id.name).trace_error();
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
    let layout = ActionLayout::new(&record.run_output_base, &record.id.name);
    let attempt = layout.attempt(state.current_attempt().number);
    let output_uri = match (state.phase.is_success(), record.kind()) {
        (false, _) | (true, ActionKind::Condition) => String::new(),
        (true, ActionKind::Task) => attempt.prefix().to_owned(),
        (true, ActionKind::Trace) => record.spec.trace_outputs_uri.clone().unwrap_or_default(),
    };
    let error = state.error.as_ref().map(|error| {
        let error_uri = match record.kind() {
            ActionKind::Task => attempt.error(),
            ActionKind::Trace | ActionKind::Condition => layout.trace_error(),
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
        action_id: aerie_convert::wire_action_id(&record.id, record.org.as_str()).into(),
        phase: state.phase.as_i32().into(),
        error: error.into(),
        output_uri,
        value: conditions::signalled_value(state).into(),
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
        let changes = app.store.hub().subscribe_run(&run);
        // Every change after `start_seq` is followed below; the snapshot rows may already
        // reflect some of them, so a child's change at or below its row's sequence is skipped
        // and no child ever appears to go backwards.
        let start_seq = app.store.last_seq(&run).await?;
        let parent_record = app.store.get_action(&parent).await?;
        let mut children: HashMap<ActionName, ActionRecord> = HashMap::new();
        for child in app.store.children(&parent).await? {
            yield ChildMessage::Update(Box::new(action_update(&child, &child.state)));
            children.insert(child.id.name.clone(), child);
        }
        yield ChildMessage::Sentinel;
        if parent_record.state.phase.is_terminal() {
            return;
        }
        let followed = follow_run(app.clone(), run.clone(), changes, start_seq);
        futures::pin_mut!(followed);
        while let Some(change) = followed.next().await {
            let change = change?;
            let event = &change.event;
            if event.action == parent.name {
                if event.state.phase.is_terminal() {
                    break;
                }
                continue;
            }
            if event.parent.as_ref() != Some(&parent.name) {
                continue;
            }
            let Some(record) = change.newer_record(&app, &run, children.get(&event.action)).await? else {
                continue;
            };
            yield ChildMessage::Update(Box::new(action_update(&record, &event.state)));
            children.insert(event.action.clone(), ActionRecord { seq: event.seq, ..record });
        }
    }
}
