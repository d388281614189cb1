//! What an action runs, read from the wire once: the one place that turns a `TaskSpec` or a
//! `TraceAction` into an [`ActionSpec`] (when the action is created), and that decodes the
//! stored wire spec again for the full details a client asks for. Nothing else reads spec
//! bytes; the engine, recovery and every other handler use the [`ActionSpec`] on the record.

use aerie_core::{
    ActionKind, ActionSpec, Backoff, CacheSettings, Launch, RetryPolicy, SecretMount,
    SecretRequest, TaskRef,
};
use aerie_wire::flyteidl2::core::__buffa::oneof::task_template::Target;
use aerie_wire::flyteidl2::core::{KeyValuePair, RetryStrategy, TaskTemplate};
use aerie_wire::flyteidl2::task::TaskSpec;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::action_details;
use aerie_wire::flyteidl2::workflow::{ConditionAction, TraceAction};
use buffa::Message;
use buffa_types::google::protobuf::{Duration as WireDuration, Struct};
use std::time::Duration;

/// The [`ActionSpec`] of a task action created from `spec`.
pub fn task(spec: &TaskSpec) -> ActionSpec {
    let template = &*spec.task_template;
    let metadata = &*template.metadata;
    let id = &*template.id;
    ActionSpec {
        kind: ActionKind::Task,
        task: TaskRef {
            org: id.org.clone(),
            project: id.project.clone(),
            domain: id.domain.clone(),
            name: id.name.clone(),
            version: id.version.clone(),
        },
        task_type: template.r#type.clone(),
        short_name: spec.short_name.clone(),
        environment: spec.environment.name.clone(),
        retry: retry_policy(&metadata.retries),
        timeout: metadata.timeout.as_option().and_then(positive_duration),
        queued_timeout: metadata
            .timeouts
            .queued_timeout
            .as_option()
            .and_then(positive_duration),
        deadline: metadata
            .timeouts
            .deadline
            .as_option()
            .and_then(positive_duration),
        launch: Some(launch(template)),
        code_bundle_uri: code_bundle_uri(template),
        cache: metadata.discoverable.then(|| CacheSettings {
            key: String::new(),
            version: metadata.discovery_version.clone(),
            serializable: metadata.cache_serializable,
            ignored_inputs: metadata.cache_ignore_input_vars.clone(),
            // Unset and zero both mean entries never expire.
            max_age: metadata
                .cache_max_age
                .as_option()
                .and_then(positive_duration),
        }),
        trace_outputs_uri: None,
        secrets: template
            .security_context
            .secrets
            .iter()
            .map(secret_request)
            .collect(),
        condition_type: None,
    }
}

/// A secret the task template asks for: as the environment variable the SDK named, or (a
/// `FILE` mount without one) as a file.
fn secret_request(secret: &aerie_wire::flyteidl2::core::Secret) -> SecretRequest {
    use aerie_wire::flyteidl2::core::secret::MountType;
    let as_file = secret.mount_requirement.as_known() == Some(MountType::FILE);
    let mount = if secret.env_var.is_empty() && as_file {
        SecretMount::File
    } else if secret.env_var.is_empty() {
        // The SDK always names the variable; a spec from elsewhere gets the SDK's default.
        let name = match secret.group.as_str() {
            "" => secret.key.clone(),
            group => format!("{group}_{}", secret.key),
        };
        SecretMount::EnvVar(name.replace('-', "_").to_uppercase())
    } else {
        SecretMount::EnvVar(secret.env_var.clone())
    };
    SecretRequest {
        key: secret.key.clone(),
        group: secret.group.clone(),
        mount,
    }
}

/// The [`ActionSpec`] of a trace its parent recorded.
pub fn trace(trace: &TraceAction) -> ActionSpec {
    ActionSpec::trace(&trace.name, &trace.outputs.output_uri)
}

/// The [`ActionSpec`] of an action stored before typed specs were kept, from its wire spec; a
/// spec that no longer decodes becomes one that refuses to launch, saying why.
pub fn from_stored(kind: ActionKind, wire_spec: &[u8]) -> ActionSpec {
    let decoded = match kind {
        ActionKind::Task => TaskSpec::decode_from_slice(wire_spec).map(|spec| task(&spec)),
        ActionKind::Trace => TraceAction::decode_from_slice(wire_spec).map(|spec| trace(&spec)),
        ActionKind::Condition => Ok(ActionSpec {
            kind: ActionKind::Condition,
            ..ActionSpec::trace("", "")
        }),
    };
    decoded.unwrap_or_else(|err| {
        let mut spec = ActionSpec::trace("", "");
        spec.kind = kind;
        spec.launch = Some(Launch::Refused(format!(
            "the stored task spec cannot be decoded: {err}"
        )));
        spec
    })
}

/// The stored wire spec of an action as the details' `spec` field: a task's `TaskSpec`, a
/// trace's `TraceSpec`; `None` for conditions or bytes that no longer decode (logged).
pub fn details_spec(kind: ActionKind, wire_spec: &[u8]) -> Option<action_details::Spec> {
    let decoded = match kind {
        ActionKind::Task => TaskSpec::decode_from_slice(wire_spec)
            .map(|spec| Some(action_details::Spec::Task(Box::new(spec)))),
        ActionKind::Trace => TraceAction::decode_from_slice(wire_spec).map(|trace| {
            trace
                .spec
                .into_option()
                .map(|spec| action_details::Spec::Trace(Box::new(spec)))
        }),
        ActionKind::Condition => ConditionAction::decode_from_slice(wire_spec)
            .map(|condition| Some(action_details::Spec::Condition(Box::new(condition)))),
    };
    decoded.unwrap_or_else(|err| {
        tracing::error!(error = %err, "a stored spec cannot be decoded");
        None
    })
}

/// Most retries a task may ask for.
pub const MAX_RETRIES: u32 = 1000;
/// Longest time bound a task may set: ten years.
const MAX_BOUND_SECONDS: i64 = 10 * 366 * 24 * 3600;

/// Refuses time bounds, retries and backoffs no task can mean: negative durations, more than
/// [`MAX_RETRIES`] retries, bounds beyond ten years, a backoff factor below 1 or not finite
/// (0 is read as 1, as another client may leave it unset).
pub fn check_limits(spec: &TaskSpec) -> Result<(), String> {
    let metadata = &*spec.task_template.metadata;
    let retries = &*metadata.retries;
    if retries.retries > MAX_RETRIES {
        return Err(format!(
            "metadata.retries.retries is {}; at most {MAX_RETRIES} are allowed",
            retries.retries
        ));
    }
    let backoff = retries.backoff.as_option();
    let durations = [
        ("metadata.timeout", metadata.timeout.as_option()),
        (
            "metadata.timeouts.queued_timeout",
            metadata.timeouts.queued_timeout.as_option(),
        ),
        (
            "metadata.timeouts.deadline",
            metadata.timeouts.deadline.as_option(),
        ),
        ("metadata.cache_max_age", metadata.cache_max_age.as_option()),
        (
            "metadata.retries.backoff.base",
            backoff.and_then(|backoff| backoff.base.as_option()),
        ),
        (
            "metadata.retries.backoff.cap",
            backoff.and_then(|backoff| backoff.cap.as_option()),
        ),
    ];
    for (field, duration) in durations {
        let Some(duration) = duration else { continue };
        if duration.seconds < 0 || duration.nanos < 0 {
            return Err(format!("{field} may not be negative"));
        }
        if duration.seconds > MAX_BOUND_SECONDS {
            return Err(format!("{field} is longer than ten years"));
        }
    }
    if let Some(factor) = backoff.and_then(|backoff| backoff.factor)
        && factor != 0.0
        && !(factor.is_finite() && factor >= 1.0)
    {
        return Err(format!(
            "metadata.retries.backoff.factor is {factor}; it must be a finite number of at least 1"
        ));
    }
    Ok(())
}

fn positive_duration(duration: &WireDuration) -> Option<Duration> {
    let total_nanos = i128::from(duration.seconds) * 1_000_000_000 + i128::from(duration.nanos);
    u64::try_from(total_nanos)
        .ok()
        .filter(|nanos| *nanos > 0)
        .map(Duration::from_nanos)
}

fn retry_policy(strategy: &RetryStrategy) -> RetryPolicy {
    let backoff = strategy.backoff.as_option().and_then(|backoff| {
        Some(Backoff {
            base: backoff.base.as_option().and_then(positive_duration)?,
            factor: backoff.factor.unwrap_or(1.0),
            cap: backoff.cap.as_option().and_then(positive_duration),
        })
    });
    RetryPolicy {
        retries: strategy.retries,
        backoff,
    }
}

/// How the task's process starts: its container's, or a pod task's primary container's.
fn launch(template: &TaskTemplate) -> Launch {
    let pairs = |env: &[KeyValuePair]| -> Vec<(String, String)> {
        env.iter()
            .map(|pair| (pair.key.clone(), pair.value.clone()))
            .collect()
    };
    match &template.target {
        Some(Target::Container(container)) => {
            let mut args = container.command.clone();
            args.extend(container.args.iter().cloned());
            Launch::Container {
                args,
                env: pairs(&container.env),
            }
        }
        Some(Target::K8sPod(pod)) => primary_container(&pod.pod_spec, &pod.primary_container_name)
            .unwrap_or_else(|| {
                Launch::Refused(format!(
                    "the pod spec has no container named {:?}",
                    pod.primary_container_name
                ))
            }),
        Some(Target::Sql(_)) | None => Launch::Refused(format!(
            "task type {:?} has no container; only container and pod tasks run on aerie",
            template.r#type
        )),
    }
}

/// Command, args and env of the pod spec's container named `primary` (a Kubernetes PodSpec as
/// a protobuf Struct).
fn primary_container(pod_spec: &Struct, primary: &str) -> Option<Launch> {
    let strings = |container: &Struct, key: &str| -> Vec<String> {
        container
            .get(key)
            .and_then(|value| value.as_list())
            .map(|list| {
                list.iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let container = pod_spec
        .get("containers")?
        .as_list()?
        .iter()
        .filter_map(|value| value.as_struct())
        .find(|container| container.get("name").and_then(|name| name.as_str()) == Some(primary))?;
    let mut args = strings(container, "command");
    args.extend(strings(container, "args"));
    let env = container
        .get("env")
        .and_then(|value| value.as_list())
        .map(|list| {
            list.iter()
                .filter_map(|item| item.as_struct())
                .filter_map(|pair| {
                    let name = pair.get("name")?.as_str()?.to_owned();
                    let value = pair
                        .get("value")
                        .and_then(|value| value.as_str())
                        .unwrap_or_default()
                        .to_owned();
                    Some((name, value))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Launch::Container { args, env })
}

/// The code bundle a task names: `metadata.code_bundle_uri`, else its `--tgz`/`--pkl` argument.
fn code_bundle_uri(template: &TaskTemplate) -> Option<String> {
    if !template.metadata.code_bundle_uri.is_empty() {
        return Some(template.metadata.code_bundle_uri.clone());
    }
    let Some(Target::Container(container)) = &template.target else {
        return None;
    };
    container
        .args
        .iter()
        .position(|arg| arg == "--tgz" || arg == "--pkl")
        .and_then(|index| container.args.get(index + 1))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_wire::flyteidl2::core::{Container, K8sPod, TaskMetadata};
    use buffa_types::google::protobuf::{ListValue, Value};

    fn container_spec(args: &[&str]) -> TaskSpec {
        let container = Container {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: vec![KeyValuePair {
                key: "LOG_LEVEL".into(),
                value: "10".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        TaskSpec {
            task_template: TaskTemplate {
                r#type: "python".into(),
                target: Some(Target::Container(Box::new(container))),
                metadata: TaskMetadata {
                    retries: RetryStrategy {
                        retries: 3,
                        ..Default::default()
                    }
                    .into(),
                    timeout: WireDuration {
                        seconds: 30,
                        ..Default::default()
                    }
                    .into(),
                    discoverable: true,
                    discovery_version: "1.0".into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            }
            .into(),
            short_name: "hello".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_task_spec_becomes_retries_timeout_launch_cache_and_bundle() {
        let spec = task(&container_spec(&["a0", "--tgz", "/data/code.tgz", "--x"]));
        assert_eq!(spec.kind, ActionKind::Task);
        assert_eq!(spec.retry.retries, 3);
        assert_eq!(spec.timeout, Some(Duration::from_secs(30)));
        assert_eq!(spec.short_name, "hello");
        assert_eq!(spec.code_bundle_uri.as_deref(), Some("/data/code.tgz"));
        assert_eq!(spec.cache.as_ref().map(|c| c.version.as_str()), Some("1.0"));
        assert_eq!(
            spec.launch,
            Some(Launch::Container {
                args: vec![
                    "a0".into(),
                    "--tgz".into(),
                    "/data/code.tgz".into(),
                    "--x".into()
                ],
                env: vec![("LOG_LEVEL".into(), "10".into())],
            })
        );
    }

    #[test]
    fn pod_tasks_run_their_primary_container() {
        let container = |name: &str, arg: &str| {
            let mut fields = Struct::new();
            fields.insert("name", Value::from(name));
            fields.insert(
                "args",
                Value::from(ListValue::from_values([
                    Value::from("a0"),
                    Value::from(arg),
                ])),
            );
            let mut env = Struct::new();
            env.insert("name", Value::from("FROM_POD"));
            env.insert("value", Value::from("yes"));
            fields.insert(
                "env",
                Value::from(ListValue::from_values([Value::from(env)])),
            );
            Value::from(fields)
        };
        let mut pod_spec = Struct::new();
        pod_spec.insert(
            "containers",
            Value::from(ListValue::from_values([
                container("sidecar", "wrong"),
                container("main", "{{.runName}}"),
            ])),
        );
        let mut spec = container_spec(&[]);
        spec.task_template.get_or_insert_default().target =
            Some(Target::K8sPod(Box::new(K8sPod {
                pod_spec: pod_spec.into(),
                primary_container_name: "main".into(),
                ..Default::default()
            })));
        assert_eq!(
            task(&spec).launch,
            Some(Launch::Container {
                args: vec!["a0".into(), "{{.runName}}".into()],
                env: vec![("FROM_POD".into(), "yes".into())],
            })
        );
    }

    #[test]
    fn tasks_without_a_container_carry_the_reason_they_cannot_run() {
        let mut spec = container_spec(&[]);
        spec.task_template.get_or_insert_default().target = None;
        assert!(
            matches!(task(&spec).launch, Some(Launch::Refused(reason)) if reason.contains("no container"))
        );
    }

    #[test]
    fn specs_stored_by_an_older_aerie_are_decoded_or_refuse_to_launch() {
        let bytes = container_spec(&["a0"]).encode_to_vec();
        assert_eq!(from_stored(ActionKind::Task, &bytes).retry.retries, 3);
        let garbage = from_stored(ActionKind::Task, &[0xff, 0xff]);
        assert_eq!(garbage.kind, ActionKind::Task);
        assert!(
            matches!(garbage.launch, Some(Launch::Refused(reason)) if reason.contains("cannot be decoded"))
        );
    }

    #[test]
    fn details_decode_the_stored_task_and_condition_specs_and_skip_garbage() {
        let bytes = container_spec(&["a0"]).encode_to_vec();
        assert!(matches!(
            details_spec(ActionKind::Task, &bytes),
            Some(action_details::Spec::Task(_))
        ));
        assert!(details_spec(ActionKind::Task, &[0xff, 0xff]).is_none());
        let condition = ConditionAction {
            name: "approve".into(),
            ..Default::default()
        };
        assert!(matches!(
            details_spec(ActionKind::Condition, &condition.encode_to_vec()),
            Some(action_details::Spec::Condition(decoded)) if decoded.name == "approve"
        ));
        assert!(details_spec(ActionKind::Condition, &[0xff, 0xff]).is_none());
    }

    #[test]
    fn limits_no_task_can_mean_are_refused_naming_the_field() {
        assert_eq!(check_limits(&container_spec(&["a0"])), Ok(()));
        let with = |change: fn(&mut TaskMetadata)| {
            let mut spec = container_spec(&["a0"]);
            change(
                spec.task_template
                    .get_or_insert_default()
                    .metadata
                    .get_or_insert_default(),
            );
            check_limits(&spec).unwrap_err()
        };
        let negative = with(|metadata| {
            metadata.timeout = WireDuration {
                seconds: -1,
                ..Default::default()
            }
            .into();
        });
        assert!(
            negative.contains("metadata.timeout may not be negative"),
            "{negative}"
        );
        let absurd = with(|metadata| {
            metadata.timeouts.get_or_insert_default().deadline = WireDuration {
                seconds: i64::MAX,
                ..Default::default()
            }
            .into();
        });
        assert!(
            absurd.contains("deadline is longer than ten years"),
            "{absurd}"
        );
        let retries = with(|metadata| {
            metadata.retries.get_or_insert_default().retries = MAX_RETRIES + 1;
        });
        assert!(retries.contains("at most 1000"), "{retries}");
        let factor = with(|metadata| {
            metadata
                .retries
                .get_or_insert_default()
                .backoff
                .get_or_insert_default()
                .factor = Some(0.5);
        });
        assert!(factor.contains("at least 1"), "{factor}");
    }
}
