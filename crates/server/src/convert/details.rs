//! The one place that turns stored records into the wire's `ActionDetails`, `Action`, `Run` and
//! `RunDetails` (contract §3). A watch sends the state an event carries through the same code.

use aerie_blob::ActionLayout;
use aerie_convert::{wire_identity, wire_timestamp};
use aerie_core::{ActionKind, ActionState, AttemptState, ErrorKind, Timestamp};
use aerie_store::{ActionRecord, RunRecord};
use aerie_wire::flyteidl2::common::{ActionAttemptIdentifier, CacheMetadata, TriggerIdentifier};
use aerie_wire::flyteidl2::task::TaskIdentifier;
use aerie_wire::flyteidl2::task::{OutputReferences, RunSpec};
use aerie_wire::flyteidl2::workflow::__buffa::oneof::{action_details, action_metadata};
use aerie_wire::flyteidl2::workflow::{
    AbortInfo, Action, ActionAttempt, ActionDetails, ActionMetadata, ActionStatus, ActionType,
    ClusterEvent, ConditionActionMetadata, ErrorInfo, PhaseTransition, Run, RunDetails, SignalInfo,
    TaskActionMetadata, TraceActionMetadata, cluster_event, error_info,
};
use buffa::Message;
use buffa_types::google::protobuf::Timestamp as WireTimestamp;

fn optional_timestamp<P: buffa::ProtoBox<WireTimestamp>>(
    instant: Option<Timestamp>,
) -> buffa::MessageField<WireTimestamp, P> {
    instant.map(wire_timestamp).into()
}

fn metadata(record: &ActionRecord) -> ActionMetadata {
    let spec = &*record.spec;
    let action_type = match spec.kind {
        ActionKind::Task => ActionType::ACTION_TYPE_TASK,
        ActionKind::Trace => ActionType::ACTION_TYPE_TRACE,
        ActionKind::Condition => ActionType::ACTION_TYPE_CONDITION,
    };
    let spec_metadata = match spec.kind {
        ActionKind::Task => Some(action_metadata::Spec::Task(Box::new(TaskActionMetadata {
            id: TaskIdentifier {
                org: spec.task.org.clone(),
                project: spec.task.project.clone(),
                domain: spec.task.domain.clone(),
                name: spec.task.name.clone(),
                version: spec.task.version.clone(),
                ..Default::default()
            }
            .into(),
            task_type: spec.task_type.clone(),
            short_name: spec.short_name.clone(),
            ..Default::default()
        }))),
        ActionKind::Trace => Some(action_metadata::Spec::Trace(Box::new(
            TraceActionMetadata {
                name: spec.task.name.clone(),
                ..Default::default()
            },
        ))),
        ActionKind::Condition => Some(action_metadata::Spec::Condition(Box::new(
            ConditionActionMetadata {
                name: spec.task.name.clone(),
                r#type: crate::conditions::literal_type(spec).into(),
                ..Default::default()
            },
        ))),
    };
    ActionMetadata {
        parent: record
            .parent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        group: record.group.clone(),
        action_type: action_type.into(),
        environment_name: spec.environment.clone(),
        spec: spec_metadata,
        recovered_from: record
            .state
            .recovered_from
            .as_ref()
            .map(|source| aerie_convert::wire_action_id(source, record.org.as_str()))
            .into(),
        ..Default::default()
    }
}

fn status(state: &ActionState) -> ActionStatus {
    let duration_ms = state
        .ended_at
        .map(|end| u64::try_from(end.since(state.created_at).as_millis()).unwrap_or(u64::MAX));
    ActionStatus {
        phase: state.phase.as_i32().into(),
        start_time: wire_timestamp(state.created_at).into(),
        end_time: optional_timestamp(state.ended_at),
        attempts: u32::try_from(state.attempts.len()).unwrap_or(u32::MAX),
        duration_ms,
        cache_status: aerie_convert::wire_cache_status(state.cache_status).into(),
        ..Default::default()
    }
}

/// Which attempt's outputs a cache hit reused.
fn cache_metadata(record: &ActionRecord, state: &ActionState) -> Option<CacheMetadata> {
    let source = state.cache_source.as_ref()?;
    Some(CacheMetadata {
        source_action_attempt: ActionAttemptIdentifier {
            action_id: aerie_convert::wire_action_id(&source.action, record.org.as_str()).into(),
            attempt: source.attempt,
            ..Default::default()
        }
        .into(),
        ..Default::default()
    })
}

fn error_info(error: &aerie_core::ErrorInfo) -> ErrorInfo {
    ErrorInfo {
        message: error.message.clone(),
        kind: match error.kind {
            ErrorKind::User => error_info::Kind::KIND_USER,
            ErrorKind::System => error_info::Kind::KIND_SYSTEM,
        }
        .into(),
        code: error.code.clone(),
        ..Default::default()
    }
}

fn abort_info(abort: &aerie_core::AbortInfo) -> AbortInfo {
    AbortInfo {
        reason: abort.reason.clone(),
        aborted_by: wire_identity(&abort.aborted_by).into(),
        ..Default::default()
    }
}

/// The root action's metadata names who created the run, the run it reruns or recovers, and
/// the trigger it came from.
fn run_metadata(metadata: &mut ActionMetadata, run: &RunRecord) {
    metadata.executed_by = wire_identity(&run.created_by).into();
    // A rerun or recovery names the run it came from.
    metadata.relation = run_spec(run).relation;
    if let Some(trigger) = &run.trigger {
        metadata.trigger_name = trigger.name.clone();
        metadata.trigger_id = TriggerIdentifier {
            name: aerie_convert::wire_trigger_name(
                &run.id.project,
                &run.id.domain,
                &trigger.task_name,
                &trigger.name,
                run.org.as_str(),
            )
            .into(),
            revision: u64::try_from(trigger.revision).unwrap_or(0),
            ..Default::default()
        }
        .into();
    }
}

/// One attempt of `record` in `state`: the action's cache outcome, decided before the first
/// attempt, holds for each.
fn attempt(record: &ActionRecord, state: &ActionState, attempt: &AttemptState) -> ActionAttempt {
    let files = ActionLayout::new(&record.run_output_base, &record.id.name).attempt(attempt.number);
    let outputs = match record.kind() {
        ActionKind::Task => OutputReferences {
            output_uri: files.outputs(),
            report_uri: files.report(),
            ..Default::default()
        },
        ActionKind::Trace | ActionKind::Condition => OutputReferences::default(),
    };
    ActionAttempt {
        phase: attempt.phase.as_i32().into(),
        start_time: wire_timestamp(attempt.started_at).into(),
        end_time: optional_timestamp(attempt.ended_at),
        error_info: attempt.error.as_ref().map(error_info).into(),
        attempt: attempt.number,
        outputs: outputs.into(),
        logs_available: attempt.logs_available,
        phase_transitions: attempt
            .transitions
            .iter()
            .map(|transition| PhaseTransition {
                phase: transition.phase.as_i32().into(),
                start_time: wire_timestamp(transition.started_at).into(),
                end_time: optional_timestamp(transition.ended_at),
                ..Default::default()
            })
            .collect(),
        cluster_events: waiting_event(attempt).into_iter().collect(),
        cache_status: aerie_convert::wire_cache_status(state.cache_status).into(),
        cache_metadata: cache_metadata(record, state).into(),
        ..Default::default()
    }
}

/// Why the attempt waited in WAITING_FOR_RESOURCES, as the event the wire has for it.
fn waiting_event(attempt: &AttemptState) -> Option<ClusterEvent> {
    let reason = attempt.waiting_reason.as_ref()?;
    let since = attempt
        .transitions
        .iter()
        .find(|transition| transition.phase == aerie_core::ActionPhase::WaitingForResources)?;
    Some(ClusterEvent {
        occurred_at: wire_timestamp(since.started_at).into(),
        message: reason.message.clone(),
        r#type: cluster_event::Type::TYPE_NORMAL.into(),
        reason: reason.code.clone(),
        source_component: "aerie".into(),
        ..Default::default()
    })
}

/// Full details of `record` as it stands in `state` (its current state, or an event's), with
/// `spec`, its decoded wire spec (`crate::convert::spec::details_spec`).
pub fn action_details(
    record: &ActionRecord,
    state: &ActionState,
    spec: Option<action_details::Spec>,
) -> ActionDetails {
    let result = if let Some(abort) = &state.abort {
        Some(action_details::Result::AbortInfo(Box::new(abort_info(
            abort,
        ))))
    } else if let Some(signal) = &state.signal {
        Some(action_details::Result::SignalInfo(Box::new(SignalInfo {
            signalled_by: wire_identity(&signal.by).into(),
            output: crate::conditions::signalled_value(state).into(),
            ..Default::default()
        })))
    } else {
        state
            .error
            .as_ref()
            .map(|error| action_details::Result::ErrorInfo(Box::new(error_info(error))))
    };
    ActionDetails {
        id: aerie_convert::wire_action_id(&record.id, record.org.as_str()).into(),
        metadata: metadata(record).into(),
        status: status(state).into(),
        attempts: state
            .attempts
            .iter()
            .map(|one| attempt(record, state, one))
            .collect(),
        result,
        spec,
        ..Default::default()
    }
}

/// The summary of `record` that lists and `CreateRun` return.
pub fn action(record: &ActionRecord, state: &ActionState) -> Action {
    Action {
        id: aerie_convert::wire_action_id(&record.id, record.org.as_str()).into(),
        metadata: metadata(record).into(),
        status: status(state).into(),
        ..Default::default()
    }
}

fn run_spec(run: &RunRecord) -> RunSpec {
    RunSpec::decode_from_slice(&run.run_spec).unwrap_or_else(|err| {
        tracing::error!(run = %run.id, error = %err, "stored run spec cannot be decoded");
        RunSpec::default()
    })
}

/// A run as lists show it: its root action and labels.
pub fn run(run: &RunRecord, root: &ActionRecord) -> Run {
    let mut root_action = action(root, &root.state);
    run_metadata(root_action.metadata.get_or_insert_default(), run);
    Run {
        action: root_action.into(),
        labels: run_spec(run).labels.values.clone(),
        ..Default::default()
    }
}

/// A run's spec and the full details of its root action in `state`, with the root's decoded
/// wire `spec`.
pub fn run_details(
    run: &RunRecord,
    root: &ActionRecord,
    state: &ActionState,
    spec: Option<action_details::Spec>,
) -> RunDetails {
    RunDetails {
        run_spec: run_spec(run).into(),
        action: root_action_details(run, root, state, spec).into(),
        ..Default::default()
    }
}

/// The full details of `run`'s root action in `state`, with what its metadata says of the run
/// (creator, trigger, the run it reruns).
pub fn root_action_details(
    run: &RunRecord,
    root: &ActionRecord,
    state: &ActionState,
    spec: Option<action_details::Spec>,
) -> ActionDetails {
    let mut details = action_details(root, state, spec);
    run_metadata(details.metadata.get_or_insert_default(), run);
    details
}
