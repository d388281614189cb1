//! How an attempt's process is built from its action's launch spec: program, argument
//! templates, environment and working directory (contract §4.1–4.4). Pure: no I/O here.
//!
//! The environment is the process's whole environment: nothing of aerie's own reaches a task
//! unless the executor copied it into [`LaunchInputs::inherited_env`].

use aerie_blob::ActionLayout;
use aerie_core::{ActionId, Launch, Timestamp};
use std::path::{Path, PathBuf};

/// The PATH a task gets when aerie's own is not passed on.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Why an attempt cannot be launched; each is a SYSTEM failure of the attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}")]
    Refused(String),
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
    pub run_envs: &'a [(String, String)],
    /// The endpoint task processes call back on, e.g. `127.0.0.1:30080`.
    pub endpoint: &'a str,
    /// A virtual environment whose `bin/` holds `a0`; `None` means `a0` from PATH.
    pub python_env: Option<&'a Path>,
    /// The attempt's fresh working directory.
    pub work_dir: PathBuf,
    /// Variables of aerie's own environment the configuration passes on (PATH among them
    /// replaces [`DEFAULT_PATH`]).
    pub inherited_env: &'a [(String, String)],
    /// The attempt's own variables (credentials the server hands it); they win over all else.
    pub attempt_env: &'a [(String, String)],
}

/// A ready-to-spawn process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPlan {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The process's whole environment, later entries winning.
    pub env: Vec<(String, String)>,
    pub work_dir: PathBuf,
    /// The attempt's output prefix, where `outputs.pb` and `error.pb` land.
    pub output_prefix: String,
}

/// Builds the process for one attempt.
pub fn plan(launch: &Launch, inputs: &LaunchInputs<'_>) -> Result<LaunchPlan, LaunchError> {
    let (raw_args, container_env) = match launch {
        Launch::Container { args, env } => (args, env),
        Launch::Refused(reason) => return Err(LaunchError::Refused(reason.clone())),
    };
    let (program, rest) = raw_args.split_first().ok_or(LaunchError::EmptyArgs)?;
    let action = inputs.action;
    let layout = ActionLayout::new(inputs.run_base, &action.name);
    let attempt = layout.attempt(inputs.attempt);
    let output_prefix = attempt.prefix().to_owned();
    let previous_checkpoint = if inputs.attempt > 1 {
        layout.attempt(inputs.attempt - 1).checkpoint()
    } else {
        String::new()
    };
    let substitutions = [
        ("{{.input}}", inputs.input_uri.to_owned()),
        ("{{.outputPrefix}}", output_prefix.clone()),
        ("{{.rawOutputDataPrefix}}", layout.raw_data()),
        ("{{.checkpointOutputPrefix}}", attempt.checkpoint()),
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
        env: environment(inputs, container_env),
        work_dir: inputs.work_dir.clone(),
        output_prefix,
    })
}

/// In layers, later entries winning: a safe PATH, the ActionsService path, and what aerie passes
/// on of its own environment; the container env; the run's envs; aerie's identity variables; the python env's
/// `bin` in front of PATH; the attempt's own variables.
fn environment(
    inputs: &LaunchInputs<'_>,
    container_env: &[(String, String)],
) -> Vec<(String, String)> {
    let action = inputs.action;
    let org = if inputs.org.is_empty() {
        "local"
    } else {
        inputs.org
    };
    let mut env: Vec<(String, String)> = [
        ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
        // The SDK's ActionsService path: the only one that sends a condition's spec. A run's
        // envs (or the task's) may still choose the QueueService path.
        ("_U_USE_ACTIONS".to_owned(), "1".to_owned()),
    ]
    .into_iter()
    .chain(inputs.inherited_env.iter().cloned())
    .chain(container_env.iter().cloned())
    .chain(inputs.run_envs.iter().cloned())
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
    ];
    env.extend(identity.map(|(key, value)| (key.to_owned(), value)));
    if let Some(python_env) = inputs.python_env {
        let path = env
            .iter()
            .rev()
            .find(|(name, _)| name == "PATH")
            .map_or(DEFAULT_PATH, |(_, value)| value.as_str());
        let with_bin = format!("{}:{path}", python_env.join("bin").display());
        env.push(("PATH".into(), with_bin));
        env.push(("VIRTUAL_ENV".into(), python_env.display().to_string()));
    }
    env.extend(inputs.attempt_env.iter().cloned());
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with_args(args: &[&str]) -> Launch {
        Launch::Container {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: vec![("LOG_LEVEL".into(), "10".into())],
        }
    }

    fn inputs<'a>(
        action: &'a ActionId,
        run_envs: &'a [(String, String)],
        attempt: u32,
    ) -> LaunchInputs<'a> {
        LaunchInputs {
            action,
            attempt,
            org: "",
            input_uri: "s3://aerie/inputs/x/inputs.pb",
            run_base: "s3://aerie/runs/p/d/r1",
            run_started_at: Timestamp::from_micros(1_764_216_326_000_000),
            run_envs,
            endpoint: "127.0.0.1:4000",
            python_env: Some(Path::new("/venv")),
            work_dir: PathBuf::from("/work/1"),
            inherited_env: &[],
            attempt_env: &[],
        }
    }

    /// The value `name` ends up with: its last entry.
    fn last<'a>(plan: &'a LaunchPlan, name: &str) -> Option<&'a str> {
        plan.env
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
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
                "s3://aerie/inputs/x/inputs.pb",
                "--outputs-path",
                "s3://aerie/runs/p/d/r1/a0/2",
                "--raw-data-path",
                "s3://aerie/runs/p/d/r1/a0/raw",
                "--checkpoint-path",
                "s3://aerie/runs/p/d/r1/a0/2/checkpoint",
                "--prev-checkpoint",
                "s3://aerie/runs/p/d/r1/a0/1/checkpoint",
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
        assert_eq!(plan.output_prefix, "s3://aerie/runs/p/d/r1/a0/2");
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
            ("LOG_LEVEL".to_owned(), "20".to_owned()),
            ("_U_RUN_BASE".to_owned(), "/spoofed".to_owned()),
        ];
        let plan = plan(&spec_with_args(&["a0"]), &inputs(&action, &run_envs, 3)).unwrap();
        assert_eq!(last(&plan, "LOG_LEVEL"), Some("20"));
        assert_eq!(last(&plan, "_U_RUN_BASE"), Some("s3://aerie/runs/p/d/r1"));
        assert_eq!(last(&plan, "_U_ORG_NAME"), Some("local"));
        assert_eq!(last(&plan, "FLYTE_ATTEMPT_NUMBER"), Some("2"));
        assert_eq!(last(&plan, "ACTION_NAME"), Some("n1"));
        assert_eq!(
            last(&plan, "PATH"),
            Some("/venv/bin:/usr/local/bin:/usr/bin:/bin")
        );
    }

    #[test]
    fn the_environment_is_what_aerie_passes_on_and_nothing_else() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/n1").unwrap();
        let inherited = pairs(&[("DO_NOT_TRACK", "1"), ("HOME", "/home/aerie")]);
        let mut inputs = inputs(&action, &[], 1);
        inputs.python_env = None;
        inputs.inherited_env = &inherited;
        let plan = plan(&spec_with_args(&["a0"]), &inputs).unwrap();
        let mut names: Vec<&str> = plan.env.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names,
            [
                "ACTION_NAME",
                "DO_NOT_TRACK",
                "FLYTE_ATTEMPT_NUMBER",
                "FLYTE_INTERNAL_EXECUTION_DOMAIN",
                "FLYTE_INTERNAL_EXECUTION_PROJECT",
                "HOME",
                "LOG_LEVEL",
                "PATH",
                "RUN_NAME",
                "_U_EP_OVERRIDE",
                "_U_INSECURE",
                "_U_ORG_NAME",
                "_U_RUN_BASE",
                "_U_USE_ACTIONS",
            ]
        );
        assert_eq!(last(&plan, "PATH"), Some(DEFAULT_PATH));
    }

    #[test]
    fn a_passed_on_path_replaces_the_default_behind_the_python_env() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/n1").unwrap();
        let inherited = pairs(&[("PATH", "/opt/tools/bin:/usr/bin")]);
        let mut inputs = inputs(&action, &[], 1);
        inputs.inherited_env = &inherited;
        let plan = plan(&spec_with_args(&["a0"]), &inputs).unwrap();
        assert_eq!(
            last(&plan, "PATH"),
            Some("/venv/bin:/opt/tools/bin:/usr/bin")
        );
    }

    #[test]
    fn the_attempts_own_variables_win_over_everything() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/n1").unwrap();
        let run_envs = pairs(&[("FLYTE_API_KEY", "from-the-run")]);
        let attempt_env = pairs(&[("FLYTE_API_KEY", "short-lived"), ("TMPDIR", "/fast")]);
        let mut inputs = inputs(&action, &run_envs, 1);
        inputs.attempt_env = &attempt_env;
        let plan = plan(&spec_with_args(&["a0"]), &inputs).unwrap();
        assert_eq!(last(&plan, "FLYTE_API_KEY"), Some("short-lived"));
        assert_eq!(last(&plan, "TMPDIR"), Some("/fast"));
    }

    #[test]
    fn refused_launches_and_empty_args_are_launch_errors() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
        let refused = Launch::Refused("no container".into());
        assert_eq!(
            plan(&refused, &inputs(&action, &[], 1)),
            Err(LaunchError::Refused("no container".into()))
        );
        assert_eq!(
            plan(&spec_with_args(&[]), &inputs(&action, &[], 1)),
            Err(LaunchError::EmptyArgs)
        );
    }
}
