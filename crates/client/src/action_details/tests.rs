//! Every member of [`ActionDetails`], on constructed wire data: no server, no network.
//! Calls that would go to the server use a client pointed at a closed port, so a test that
//! reached the network would fail with `unavailable` instead of passing.

use super::*;
use crate::data::{ActionInputs, ActionOutputs};
use crate::literal::{render, tests::primitive_literal};
use aerie_core::{ActionPhase, Timestamp};
use aerie_wire::flyteidl2::common::ActionPhase as WirePhase;
use aerie_wire::flyteidl2::core::primitive;
use aerie_wire::flyteidl2::task::{Inputs, NamedLiteral, Outputs, TaskIdentifier};
use aerie_wire::flyteidl2::workflow::__buffa::oneof::action_metadata::Spec as MetadataSpec;
use aerie_wire::flyteidl2::workflow::{TaskActionMetadata, TraceActionMetadata, error_info};
use buffa::Enumeration;
use buffa_types::google::protobuf::Timestamp as WireTimestamp;
use std::time::Duration;

const START_SECONDS: i64 = 1_764_216_000;

fn action_id() -> ActionId {
    ActionId::parse_uri("flyte://v1/flytesnacks/development/r1/n3").unwrap()
}

fn attempt(number: u32, logs_available: bool) -> ActionAttempt {
    ActionAttempt {
        attempt: number,
        phase: WirePhase::ACTION_PHASE_FAILED.into(),
        logs_available,
        ..Default::default()
    }
}

/// A task action in `phase`, started at `START_SECONDS`, on its second attempt; the first
/// attempt has no logs, the second has.
fn wire_details(phase: WirePhase) -> WireActionDetails {
    WireActionDetails {
        id: aerie_convert::wire_action_id(&action_id(), "").into(),
        metadata: ActionMetadata {
            parent: "a0".into(),
            spec: Some(MetadataSpec::Task(Box::new(TaskActionMetadata {
                id: TaskIdentifier {
                    name: "wf.say_hello".into(),
                    version: "v1".into(),
                    ..Default::default()
                }
                .into(),
                task_type: "python".into(),
                ..Default::default()
            }))),
            ..Default::default()
        }
        .into(),
        status: ActionStatus {
            phase: phase.into(),
            start_time: WireTimestamp::from_unix(START_SECONDS, 0).into(),
            attempts: 2,
            ..Default::default()
        }
        .into(),
        attempts: vec![attempt(1, false), attempt(2, true)],
        ..Default::default()
    }
}

fn details(phase: WirePhase) -> ActionDetails {
    ActionDetails::from_wire(wire_details(phase)).unwrap()
}

fn ended_after(mut wire: WireActionDetails, seconds: i64) -> ActionDetails {
    wire.status.get_or_insert_default().end_time =
        WireTimestamp::from_unix(START_SECONDS + seconds, 250_000_000).into();
    ActionDetails::from_wire(wire).unwrap()
}

fn offline_client() -> Client {
    Client::connect("localhost:1").unwrap()
}

fn named(name: &str, value: i64) -> NamedLiteral {
    NamedLiteral {
        name: name.into(),
        value: primitive_literal(primitive::Value::Integer(value)).into(),
        ..Default::default()
    }
}

#[test]
fn from_wire_rejects_an_id_that_does_not_validate() {
    let mut wire = wire_details(WirePhase::ACTION_PHASE_RUNNING);
    wire.id.get_or_insert_default().name = "a/b".into();
    assert!(matches!(
        ActionDetails::from_wire(wire),
        Err(Error::Malformed { .. })
    ));
    assert!(ActionDetails::try_from(WireActionDetails::default()).is_err());
}

#[test]
fn action_id_name_and_run_name_come_from_the_id() {
    let details = details(WirePhase::ACTION_PHASE_RUNNING);
    assert_eq!(details.action_id(), &action_id());
    assert_eq!(details.name(), "n3");
    assert_eq!(details.run_name(), "r1");
}

#[test]
fn task_name_is_the_task_id_name_and_none_for_traces() {
    let task = details(WirePhase::ACTION_PHASE_RUNNING);
    assert_eq!(task.task_name(), Some("wf.say_hello"));
    let mut wire = wire_details(WirePhase::ACTION_PHASE_SUCCEEDED);
    wire.metadata.get_or_insert_default().spec =
        Some(MetadataSpec::Trace(Box::new(TraceActionMetadata {
            name: "fetch".into(),
            ..Default::default()
        })));
    assert_eq!(ActionDetails::from_wire(wire).unwrap().task_name(), None);
}

#[test]
fn phase_maps_every_wire_phase_to_the_core_phase() {
    for phase in ActionPhase::ALL {
        let wire_phase = WirePhase::from_i32(phase.as_i32()).unwrap();
        let details = details(wire_phase);
        assert_eq!(details.phase().unwrap(), phase);
        assert_eq!(details.raw_phase(), buffa::EnumValue::Known(wire_phase));
    }
}

#[test]
fn an_unspecified_or_unknown_phase_is_an_error_not_a_default() {
    let unspecified = details(WirePhase::ACTION_PHASE_UNSPECIFIED);
    assert!(matches!(
        unspecified.phase(),
        Err(Error::UnknownPhase { raw: 0, .. })
    ));
    assert!(!unspecified.done() && !unspecified.is_running());
    let mut wire = wire_details(WirePhase::ACTION_PHASE_RUNNING);
    wire.status.get_or_insert_default().phase = buffa::EnumValue::from(42);
    let unknown = ActionDetails::from_wire(wire).unwrap();
    assert_eq!(unknown.raw_phase().to_i32(), 42);
    assert!(matches!(
        unknown.phase(),
        Err(Error::UnknownPhase { raw: 42, .. })
    ));
}

#[test]
fn status_and_metadata_are_the_wire_messages() {
    let details = details(WirePhase::ACTION_PHASE_QUEUED);
    assert_eq!(details.status(), &*details.wire().status);
    assert_eq!(details.metadata().parent, "a0");
    assert_eq!(
        details.start_time(),
        Some(Timestamp::from_seconds_and_nanos(START_SECONDS, 0))
    );
    assert_eq!(details.end_time(), None);
}

#[test]
fn attempts_is_the_count_in_the_status_like_python() {
    assert_eq!(details(WirePhase::ACTION_PHASE_RUNNING).attempts(), 2);
    let mut wire = wire_details(WirePhase::ACTION_PHASE_RUNNING);
    wire.status.get_or_insert_default().attempts = 0;
    assert_eq!(ActionDetails::from_wire(wire).unwrap().attempts(), 0);
}

#[test]
fn error_info_is_there_only_when_the_action_failed() {
    let running = details(WirePhase::ACTION_PHASE_RUNNING);
    assert!(running.error_info().is_none() && running.abort_info().is_none());
    let mut wire = wire_details(WirePhase::ACTION_PHASE_FAILED);
    wire.result = Some(DetailsResult::ErrorInfo(Box::new(ErrorInfo {
        message: "ValueError: x must be positive".into(),
        kind: error_info::Kind::KIND_USER.into(),
        code: "ValueError".into(),
        ..Default::default()
    })));
    let failed = ActionDetails::from_wire(wire).unwrap();
    let info = failed.error_info().unwrap();
    assert_eq!(
        failed.error_message(),
        Some("ValueError: x must be positive")
    );
    assert_eq!(running.error_message(), None);
    assert_eq!(info.code, "ValueError");
    assert_eq!(info.kind, error_info::Kind::KIND_USER);
    assert!(failed.abort_info().is_none());
}

#[test]
fn abort_info_is_there_only_when_the_action_was_aborted() {
    let mut wire = wire_details(WirePhase::ACTION_PHASE_ABORTED);
    wire.result = Some(DetailsResult::AbortInfo(Box::new(AbortInfo {
        reason: "user asked".into(),
        ..Default::default()
    })));
    let aborted = ActionDetails::from_wire(wire).unwrap();
    assert_eq!(aborted.abort_info().unwrap().reason, "user asked");
    assert!(aborted.error_info().is_none());
}

#[test]
fn runtime_is_end_minus_start_once_the_action_ended() {
    let done = ended_after(wire_details(WirePhase::ACTION_PHASE_SUCCEEDED), 90);
    let much_later = Timestamp::from_seconds_and_nanos(START_SECONDS + 10_000, 0);
    assert_eq!(done.runtime_at(much_later), Duration::from_millis(90_250));
    assert_eq!(done.runtime(), Duration::from_millis(90_250));
}

#[test]
fn runtime_runs_on_from_the_start_while_the_action_has_no_end() {
    let running = details(WirePhase::ACTION_PHASE_RUNNING);
    let now = Timestamp::from_seconds_and_nanos(START_SECONDS + 7, 500_000_000);
    assert_eq!(running.runtime_at(now), Duration::from_millis(7_500));
    assert!(
        running.runtime() > Duration::from_secs(1),
        "start is in the past"
    );
}

#[test]
fn runtime_is_zero_without_a_start_time() {
    let mut wire = wire_details(WirePhase::ACTION_PHASE_QUEUED);
    wire.status.get_or_insert_default().start_time = Default::default();
    assert_eq!(
        ActionDetails::from_wire(wire).unwrap().runtime(),
        Duration::ZERO
    );
}

#[test]
fn done_is_true_for_the_five_terminal_phases_and_is_running_only_for_running() {
    for phase in ActionPhase::ALL {
        let details = details(WirePhase::from_i32(phase.as_i32()).unwrap());
        assert_eq!(details.done(), phase.is_terminal(), "{phase}");
        assert_eq!(
            details.is_running(),
            phase == ActionPhase::Running,
            "{phase}"
        );
    }
}

#[test]
fn logs_available_defaults_to_the_latest_attempt() {
    let details = details(WirePhase::ACTION_PHASE_RUNNING);
    assert!(details.logs_available(None));
    assert_eq!(details.latest_attempt().unwrap().attempt, 2);
    let mut first_only = wire_details(WirePhase::ACTION_PHASE_RUNNING);
    first_only.status.get_or_insert_default().attempts = 1;
    assert!(
        !ActionDetails::from_wire(first_only)
            .unwrap()
            .logs_available(None)
    );
}

#[test]
fn logs_available_without_an_attempt_count_reads_the_last_attempt() {
    let mut wire = wire_details(WirePhase::ACTION_PHASE_RUNNING);
    wire.status.get_or_insert_default().attempts = 0;
    assert!(ActionDetails::from_wire(wire).unwrap().logs_available(None));
}

#[test]
fn logs_available_reads_the_given_attempt() {
    let details = details(WirePhase::ACTION_PHASE_RUNNING);
    assert!(!details.logs_available(Some(1)));
    assert!(details.logs_available(Some(2)));
}

#[test]
fn logs_available_is_false_for_an_attempt_that_does_not_exist() {
    let details = details(WirePhase::ACTION_PHASE_RUNNING);
    assert!(!details.logs_available(Some(0)));
    assert!(!details.logs_available(Some(3)));
    assert!(!details.logs_available(Some(u32::MAX)));
    let mut none = wire_details(WirePhase::ACTION_PHASE_QUEUED);
    none.attempts.clear();
    assert!(!ActionDetails::from_wire(none).unwrap().logs_available(None));
}

#[test]
fn to_dict_uses_the_proto3_camel_case_keys_python_prints() {
    let mut wire = wire_details(WirePhase::ACTION_PHASE_FAILED);
    wire.result = Some(DetailsResult::ErrorInfo(Box::new(ErrorInfo {
        message: "boom".into(),
        kind: error_info::Kind::KIND_SYSTEM.into(),
        ..Default::default()
    })));
    let dict = ended_after(wire, 3).to_dict().unwrap();
    let keys: Vec<_> = dict.as_object().unwrap().keys().cloned().collect();
    for key in ["id", "metadata", "status", "attempts", "errorInfo"] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
    assert_eq!(dict["id"]["run"]["name"], "r1");
    assert_eq!(dict["id"]["name"], "n3");
    assert_eq!(dict["status"]["phase"], "ACTION_PHASE_FAILED");
    assert_eq!(dict["status"]["startTime"], "2025-11-27T04:00:00Z");
    assert_eq!(dict["status"]["endTime"], "2025-11-27T04:00:03.250Z");
    assert_eq!(dict["status"]["attempts"], 2);
    assert_eq!(dict["attempts"][1]["logsAvailable"], true);
    assert_eq!(dict["metadata"]["task"]["taskType"], "python");
    assert_eq!(dict["errorInfo"]["kind"], "KIND_SYSTEM");
    assert!(dict["status"].get("start_time").is_none());
}

#[test]
fn to_json_is_indented_text_of_the_same_dict() {
    let details = details(WirePhase::ACTION_PHASE_RUNNING);
    let text = details.to_json().unwrap();
    assert!(text.starts_with("{\n  \""), "{text}");
    assert!(text.contains("\"startTime\": "), "{text}");
    let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reparsed, details.to_dict().unwrap());
}

#[tokio::test]
async fn outputs_of_an_action_that_is_not_terminal_fail_before_any_call() {
    let client = offline_client();
    for phase in [
        WirePhase::ACTION_PHASE_QUEUED,
        WirePhase::ACTION_PHASE_RUNNING,
        WirePhase::ACTION_PHASE_PAUSED,
    ] {
        let err = details(phase).outputs(&client).await.unwrap_err();
        assert!(
            matches!(err, Error::NotTerminal { ref action, .. } if *action == action_id()),
            "{err}"
        );
    }
    let err = details(WirePhase::ACTION_PHASE_UNSPECIFIED)
        .outputs(&client)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownPhase { .. }), "{err}");
}

#[tokio::test]
async fn cached_inputs_and_outputs_are_returned_without_a_call() {
    let client = offline_client();
    let done = details(WirePhase::ACTION_PHASE_SUCCEEDED).with_cached_data(
        Some(ActionInputs::new(Inputs {
            literals: vec![named("x", 3)],
            ..Default::default()
        })),
        Some(ActionOutputs::new(Outputs {
            literals: vec![named("o0", 6)],
            ..Default::default()
        })),
    );
    let inputs = done.inputs(&client).await.unwrap();
    assert_eq!(render(inputs.get("x").unwrap()), "3");
    let outputs = done.outputs(&client).await.unwrap();
    assert_eq!(outputs.to_string(), "o0 = 6");
}

#[test]
fn nothing_is_cached_until_fetched_or_given() {
    let fresh = details(WirePhase::ACTION_PHASE_SUCCEEDED);
    assert!(matches!(fresh.cached_data(), (None, None)));
    let given = fresh.with_cached_data(Some(ActionInputs::default()), None);
    assert!(matches!(given.cached_data(), (Some(_), None)));
}

#[tokio::test]
async fn an_update_replaces_the_record_and_keeps_the_cache() {
    let client = offline_client();
    let mut watched = details(WirePhase::ACTION_PHASE_RUNNING)
        .with_cached_data(Some(ActionInputs::default()), None);
    let update = ended_after(wire_details(WirePhase::ACTION_PHASE_SUCCEEDED), 5);
    let yielded = watched.absorb(update, &client, false).await.unwrap();
    assert_eq!(watched.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(yielded.phase().unwrap(), ActionPhase::Succeeded);
    assert!(watched.cached_data().0.is_some());
    assert!(watched.end_time().is_some());
}

#[test]
fn cache_status_and_source_come_from_the_status_and_the_attempts() {
    let mut wire = wire_details(WirePhase::ACTION_PHASE_SUCCEEDED);
    assert_eq!(
        ActionDetails::from_wire(wire.clone())
            .unwrap()
            .cache_status(),
        CacheStatus::Disabled
    );
    assert_eq!(
        ActionDetails::from_wire(wire.clone())
            .unwrap()
            .cache_source(),
        None
    );

    let source = ActionId::parse_uri("flyte://v1/flytesnacks/development/r0/n3").unwrap();
    wire.status.get_or_insert_default().cache_status =
        aerie_wire::flyteidl2::core::CatalogCacheStatus::CACHE_HIT.into();
    wire.attempts[0].cache_metadata = aerie_wire::flyteidl2::common::CacheMetadata {
        source_action_attempt: aerie_wire::flyteidl2::common::ActionAttemptIdentifier {
            action_id: aerie_convert::wire_action_id(&source, "").into(),
            attempt: 2,
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
    .into();
    let hit = ActionDetails::from_wire(wire).unwrap();
    assert_eq!(hit.cache_status(), CacheStatus::Hit);
    assert_eq!(
        hit.cache_source(),
        Some(CacheSource {
            action: source,
            attempt: 2
        })
    );
}

#[test]
fn the_parent_and_the_phase_transitions_of_an_attempt_are_read_from_the_record() {
    let mut wire = wire_details(WirePhase::ACTION_PHASE_FAILED);
    wire.attempts[1].phase_transitions = vec![
        PhaseTransition {
            phase: WirePhase::ACTION_PHASE_QUEUED.into(),
            ..Default::default()
        },
        PhaseTransition {
            phase: WirePhase::ACTION_PHASE_RUNNING.into(),
            ..Default::default()
        },
    ];
    let details = ActionDetails::from_wire(wire).unwrap();
    assert_eq!(details.parent_name(), Some("a0"));
    let phases = |number| -> Vec<Option<WirePhase>> {
        details
            .phase_transitions(number)
            .iter()
            .map(|transition| transition.phase.as_known())
            .collect()
    };
    assert_eq!(
        phases(None),
        [
            Some(WirePhase::ACTION_PHASE_QUEUED),
            Some(WirePhase::ACTION_PHASE_RUNNING)
        ]
    );
    assert_eq!(phases(Some(2)), phases(None));
    assert!(phases(Some(1)).is_empty() && phases(Some(9)).is_empty());
    let mut root = wire_details(WirePhase::ACTION_PHASE_RUNNING);
    root.metadata.get_or_insert_default().parent = String::new();
    assert_eq!(ActionDetails::from_wire(root).unwrap().parent_name(), None);
}

#[test]
fn phase_durations_come_from_the_latest_attempts_transitions_with_an_open_one_up_to_now() {
    let at = |seconds: i64| WireTimestamp::from_unix(START_SECONDS + seconds, 0);
    let mut wire = wire_details(WirePhase::ACTION_PHASE_RUNNING);
    wire.attempts[1].phase_transitions = vec![
        PhaseTransition {
            phase: WirePhase::ACTION_PHASE_QUEUED.into(),
            start_time: at(0).into(),
            end_time: at(2).into(),
            ..Default::default()
        },
        PhaseTransition {
            phase: WirePhase::ACTION_PHASE_RUNNING.into(),
            start_time: at(2).into(),
            ..Default::default()
        },
    ];
    let details = ActionDetails::from_wire(wire).unwrap();
    let now = Timestamp::from_seconds_and_nanos(START_SECONDS + 7, 0);
    assert_eq!(
        details.phase_durations_at(now),
        [
            (ActionPhase::Queued, Duration::from_secs(2)),
            (ActionPhase::Running, Duration::from_secs(5))
        ]
    );
    assert_eq!(
        details.time_in(ActionPhase::Queued),
        Some(Duration::from_secs(2))
    );
    assert_eq!(details.time_in(ActionPhase::Initializing), None);
}
