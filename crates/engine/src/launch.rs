//! How an attempt's process is built from its task spec: program, argument templates,
//! environment and working directory (contract §4.1–4.4). Pure: no I/O here.

use aerie_blob::Blobs;
use aerie_core::{ActionId, Timestamp};
use aerie_wire::flyteidl2::core::__buffa::oneof::task_template::Target;
use aerie_wire::flyteidl2::core::KeyValuePair;
use aerie_wire::flyteidl2::task::TaskSpec;
use buffa_types::google::protobuf::Struct;
use std::path::{Path, PathBuf};

/// Why an attempt cannot be launched; each is a SYSTEM failure of the attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("the task spec cannot be decoded: {0}")]
    BadSpec(String),
    #[error("task type {0:?} has no container; only container and pod tasks run on aerie")]
    NoContainer(String),
    #[error("the task's container has no arguments to run")]
    EmptyArgs,
}

/// Everything the launch needs to know about the attempt.
#[derive(Debug, Clone)]
pub struct LaunchInputs<'a> {
    pub action: &'a ActionId,
    pub attempt: u32,
    pub org: &'a str,
    pub input_uri: &'a str,
    pub run_base: &'a str,
    pub run_started_at: Timestamp,
    pub run_envs: &'a [KeyValuePair],
    /// The endpoint task processes call back on, e.g. `127.0.0.1:30080`.
    pub endpoint: &'a str,
    /// A virtual environment whose `bin/` holds `a0`; `None` means `a0` from PATH.
    pub python_env: Option<&'a Path>,
    /// The attempt's fresh working directory.
    pub work_dir: PathBuf,
}

/// A ready-to-spawn process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPlan {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Set on top of aerie's own environment, later entries winning.
    pub env: Vec<(String, String)>,
    pub work_dir: PathBuf,
    /// The attempt's output prefix, where `outputs.pb` and `error.pb` land.
    pub output_prefix: String,
}

/// The container a task runs: the task's own, or a pod task's primary container.
fn container_args_and_env(
    spec: &TaskSpec,
) -> Result<(Vec<String>, Vec<KeyValuePair>), LaunchError> {
    let template = &*spec.task_template;
    match &template.target {
        Some(Target::Container(container)) => {
            let mut command = container.command.clone();
            command.extend(container.args.iter().cloned());
            Ok((command, container.env.clone()))
        }
        Some(Target::K8sPod(pod)) => primary_container(&pod.pod_spec, &pod.primary_container_name)
            .ok_or_else(|| LaunchError::NoContainer(template.r#type.clone())),
        Some(Target::Sql(_)) | None => Err(LaunchError::NoContainer(template.r#type.clone())),
    }
}

/// Command, args and env of the pod spec's container named `primary` (a Kubernetes PodSpec as
/// a protobuf Struct).
fn primary_container(pod_spec: &Struct, primary: &str) -> Option<(Vec<String>, Vec<KeyValuePair>)> {
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
    let mut command = strings(container, "command");
    command.extend(strings(container, "args"));
    let env = container
        .get("env")
        .and_then(|value| value.as_list())
        .map(|list| {
            list.iter()
                .filter_map(|item| item.as_struct())
                .filter_map(|pair| {
                    Some(KeyValuePair {
                        key: pair.get("name")?.as_str()?.to_owned(),
                        value: pair
                            .get("value")
                            .and_then(|value| value.as_str())
                            .unwrap_or_default()
                            .to_owned(),
                        ..Default::default()
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some((command, env))
}

/// Builds the process for one attempt.
pub fn plan(spec: &TaskSpec, inputs: &LaunchInputs<'_>) -> Result<LaunchPlan, LaunchError> {
    let (raw_args, container_env) = container_args_and_env(spec)?;
    let (program, rest) = raw_args.split_first().ok_or(LaunchError::EmptyArgs)?;
    let action = inputs.action;
    let output_prefix = Blobs::attempt_prefix(inputs.run_base, &action.name, inputs.attempt);
    let previous_checkpoint = if inputs.attempt > 1 {
        format!(
            "{}/checkpoint",
            Blobs::attempt_prefix(inputs.run_base, &action.name, inputs.attempt - 1)
        )
    } else {
        String::new()
    };
    let substitutions = [
        ("{{.input}}", inputs.input_uri.to_owned()),
        ("{{.outputPrefix}}", output_prefix.clone()),
        (
            "{{.rawOutputDataPrefix}}",
            format!("{}/{}/raw", inputs.run_base, action.name),
        ),
        (
            "{{.checkpointOutputPrefix}}",
            format!("{output_prefix}/checkpoint"),
        ),
        ("{{.prevCheckpointPrefix}}", previous_checkpoint),
        ("{{.runName}}", action.run.name.to_string()),
        ("{{.actionName}}", action.name.to_string()),
        ("{{.runStartTime}}", inputs.run_started_at.to_rfc3339()),
    ];
    let args = rest
        .iter()
        .map(|arg| {
            substitutions
                .iter()
                .fold(arg.clone(), |arg, (token, value)| arg.replace(token, value))
        })
        .collect();
    let program = match inputs.python_env {
        Some(env) if !program.contains('/') => env.join("bin").join(program),
        _ => PathBuf::from(program),
    };
    Ok(LaunchPlan {
        program,
        args,
        env: environment(inputs, &container_env),
        work_dir: inputs.work_dir.clone(),
        output_prefix,
    })
}

/// Container env, then the run's envs, then aerie's identity and path variables.
fn environment(inputs: &LaunchInputs<'_>, container_env: &[KeyValuePair]) -> Vec<(String, String)> {
    let action = inputs.action;
    let org = if inputs.org.is_empty() {
        "local"
    } else {
        inputs.org
    };
    let mut env: Vec<(String, String)> = container_env
        .iter()
        .chain(inputs.run_envs)
        .map(|pair| (pair.key.clone(), pair.value.clone()))
        .collect();
    let identity = [
        ("_U_RUN_BASE", inputs.run_base.to_owned()),
        ("_U_ORG_NAME", org.to_owned()),
        (
            "FLYTE_INTERNAL_EXECUTION_PROJECT",
            action.run.project.to_string(),
        ),
        (
            "FLYTE_INTERNAL_EXECUTION_DOMAIN",
            action.run.domain.to_string(),
        ),
        ("_U_EP_OVERRIDE", inputs.endpoint.to_owned()),
        ("_U_INSECURE", "true".to_owned()),
        ("RUN_NAME", action.run.name.to_string()),
        ("ACTION_NAME", action.name.to_string()),
        ("FLYTE_ATTEMPT_NUMBER", (inputs.attempt - 1).to_string()),
        ("FSSPEC_FILE_AUTO_MKDIR", "1".to_owned()),
    ];
    env.extend(identity.map(|(key, value)| (key.to_owned(), value)));
    if let Some(python_env) = inputs.python_env {
        let host_path = std::env::var("PATH").unwrap_or_default();
        let bin = python_env.join("bin");
        env.push(("PATH".into(), format!("{}:{host_path}", bin.display())));
        env.push(("VIRTUAL_ENV".into(), python_env.display().to_string()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_wire::flyteidl2::core::{Container, TaskTemplate};

    fn spec_with_args(args: &[&str]) -> TaskSpec {
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
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }
    }

    fn inputs<'a>(
        action: &'a ActionId,
        run_envs: &'a [KeyValuePair],
        attempt: u32,
    ) -> LaunchInputs<'a> {
        LaunchInputs {
            action,
            attempt,
            org: "",
            input_uri: "/data/inputs/x/inputs.pb",
            run_base: "/data/runs/p/d/r1",
            run_started_at: Timestamp::from_micros(1_764_216_326_000_000),
            run_envs,
            endpoint: "127.0.0.1:4000",
            python_env: Some(Path::new("/venv")),
            work_dir: PathBuf::from("/work/1"),
        }
    }

    #[test]
    fn templates_are_filled_and_a0_comes_from_the_python_env() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
        let spec = spec_with_args(&[
            "a0",
            "--inputs",
            "{{.input}}",
            "--outputs-path",
            "{{.outputPrefix}}",
            "--raw-data-path",
            "{{.rawOutputDataPrefix}}",
            "--checkpoint-path",
            "{{.checkpointOutputPrefix}}",
            "--prev-checkpoint",
            "{{.prevCheckpointPrefix}}",
            "--run-name",
            "{{.runName}}",
            "--name",
            "{{.actionName}}",
            "--run-start-time",
            "{{.runStartTime}}",
            "--version",
            "v1",
        ]);
        let plan = plan(&spec, &inputs(&action, &[], 2)).unwrap();
        assert_eq!(plan.program, PathBuf::from("/venv/bin/a0"));
        assert_eq!(
            plan.args,
            [
                "--inputs",
                "/data/inputs/x/inputs.pb",
                "--outputs-path",
                "/data/runs/p/d/r1/a0/2",
                "--raw-data-path",
                "/data/runs/p/d/r1/a0/raw",
                "--checkpoint-path",
                "/data/runs/p/d/r1/a0/2/checkpoint",
                "--prev-checkpoint",
                "/data/runs/p/d/r1/a0/1/checkpoint",
                "--run-name",
                "r1",
                "--name",
                "a0",
                "--run-start-time",
                "2025-11-27T04:05:26Z",
                "--version",
                "v1",
            ]
        );
        assert_eq!(plan.output_prefix, "/data/runs/p/d/r1/a0/2");
    }

    #[test]
    fn first_attempt_has_no_previous_checkpoint() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
        let spec = spec_with_args(&["a0", "--prev-checkpoint", "{{.prevCheckpointPrefix}}"]);
        let plan = plan(&spec, &inputs(&action, &[], 1)).unwrap();
        assert_eq!(plan.args, ["--prev-checkpoint", ""]);
    }

    #[test]
    fn environment_layers_container_then_run_then_identity() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/n1").unwrap();
        let run_envs = [
            KeyValuePair {
                key: "LOG_LEVEL".into(),
                value: "20".into(),
                ..Default::default()
            },
            KeyValuePair {
                key: "_U_RUN_BASE".into(),
                value: "/spoofed".into(),
                ..Default::default()
            },
        ];
        let plan = plan(&spec_with_args(&["a0"]), &inputs(&action, &run_envs, 3)).unwrap();
        let last = |key: &str| {
            plan.env
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(last("LOG_LEVEL"), Some("20"));
        assert_eq!(last("_U_RUN_BASE"), Some("/data/runs/p/d/r1"));
        assert_eq!(last("_U_ORG_NAME"), Some("local"));
        assert_eq!(last("FLYTE_ATTEMPT_NUMBER"), Some("2"));
        assert_eq!(last("ACTION_NAME"), Some("n1"));
        assert_eq!(last("FSSPEC_FILE_AUTO_MKDIR"), Some("1"));
        assert!(last("PATH").unwrap().starts_with("/venv/bin:"));
    }

    #[test]
    fn pod_tasks_run_their_primary_container() {
        use aerie_wire::flyteidl2::core::K8sPod;
        use buffa_types::google::protobuf::{ListValue, Value};
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
        let mut spec = spec_with_args(&[]);
        spec.task_template.get_or_insert_default().target =
            Some(Target::K8sPod(Box::new(K8sPod {
                pod_spec: pod_spec.into(),
                primary_container_name: "main".into(),
                ..Default::default()
            })));
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
        let plan = plan(&spec, &inputs(&action, &[], 1)).unwrap();
        assert_eq!(plan.program, PathBuf::from("/venv/bin/a0"));
        assert_eq!(plan.args, ["r1"]);
        assert!(
            plan.env
                .contains(&("FROM_POD".to_owned(), "yes".to_owned()))
        );
    }

    #[test]
    fn tasks_without_a_container_or_args_are_refused() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
        let mut no_container = spec_with_args(&[]);
        no_container.task_template.get_or_insert_default().target = None;
        assert!(matches!(
            plan(&no_container, &inputs(&action, &[], 1)),
            Err(LaunchError::NoContainer(_))
        ));
        assert_eq!(
            plan(&spec_with_args(&[]), &inputs(&action, &[], 1)),
            Err(LaunchError::EmptyArgs)
        );
    }
}
