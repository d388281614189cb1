//! Starting runs: [`Launch`] runs a deployed task (a named version, or the latest) with typed
//! inputs, fires a trigger, or reruns or recovers an earlier run, with the settings of
//! [`RunOptions`] (the module `run_options`).
//!
//! ```no_run
//! use aerie_client::{Client, Launch, RunOptions};
//! # async fn example(client: &Client) -> aerie_client::Result<()> {
//! let mut run = Launch::task("env.square")
//!     .input("x", 7)
//!     .options(RunOptions::new().label("team", "ml"))
//!     .start(client)
//!     .await?;
//! run.wait(client).await?;
//! let square: i64 = run.outputs(client).await?.get_as("o0")?;
//! # Ok(())
//! # }
//! ```
//!
//! Inputs are checked against the task's interface before anything is sent: an unknown name, a
//! missing required input or a value its type cannot hold is an [`Error::Value`] naming the
//! input. Inputs left out take the defaults the task was deployed with.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::run::Run;
use crate::run_options::{RunOptions, RunTarget};
use crate::task::{Task, declared_inputs};
use crate::value::{Value, ValueError, describe_type, text};
use aerie_core::RunName;
use aerie_wire::flyteidl2::common::{Relation, RelationType};
use aerie_wire::flyteidl2::dataproxy::__buffa::oneof::upload_inputs_request;
use aerie_wire::flyteidl2::dataproxy::UploadInputsRequest;
use aerie_wire::flyteidl2::task::{Inputs, NamedLiteral, Recover, TaskIdentifier, TaskSpec};
use aerie_wire::flyteidl2::workflow::__buffa::oneof::{action_details, create_run_request};
use aerie_wire::flyteidl2::workflow::CreateRunRequest;

/// An input as given: a value, or text to read as the input's declared type.
#[derive(Debug, Clone)]
enum Given {
    Value(Value),
    Text(String),
}

/// What a launch starts.
#[derive(Debug, Clone)]
enum Target {
    /// A deployed task, the latest version when none is named.
    Task {
        name: String,
        version: Option<String>,
    },
    /// A trigger of a deployed task.
    Trigger { task: String, name: String },
    /// Another run's root task again, with its inputs; a recovery reuses what succeeded.
    Rerun {
        source: RunName,
        recover: bool,
        force: Vec<String>,
    },
}

/// The task a CreateRun runs: a deployed version by id, or a spec by value (a rerun).
#[derive(Debug, Clone)]
enum TaskRef {
    Id(TaskIdentifier),
    Spec(Box<TaskSpec>),
}

/// A run about to be started; [`start`](Self::start) sends it.
#[derive(Debug, Clone)]
#[must_use = "a launch does nothing until `start` is awaited"]
pub struct Launch {
    target: Target,
    inputs: Vec<(String, Given)>,
    options: RunOptions,
    /// A builder call that does not apply to the target, refused at start.
    misuse: Option<&'static str>,
}

impl Launch {
    fn of(target: Target) -> Self {
        Self {
            target,
            inputs: Vec::new(),
            options: RunOptions::default(),
            misuse: None,
        }
    }

    /// A run of the latest deployed version of task `name` (e.g. `env.main`), in the client's
    /// project and domain.
    pub fn task(name: impl Into<String>) -> Self {
        Self::of(Target::Task {
            name: name.into(),
            version: None,
        })
    }

    /// A run fired from trigger `trigger` of task `task`, with the inputs the trigger was
    /// deployed with (run options given here replace the trigger's).
    pub fn trigger(task: impl Into<String>, trigger: impl Into<String>) -> Self {
        Self::of(Target::Trigger {
            task: task.into(),
            name: trigger.into(),
        })
    }

    /// A new run of run `source`'s root task, by value, with its inputs (those given here
    /// replace them by name) and its settings (run options given here are laid over them), as
    /// `flyte.rerun(source)`. The new run names `source` as the run it reruns.
    pub fn rerun(source: RunName) -> Self {
        Self::of(Target::Rerun {
            source,
            recover: false,
            force: Vec::new(),
        })
    }

    /// A recovery of run `source`, as `flyte.rerun(source, recover=True)`: like
    /// [`rerun`](Self::rerun), but every action that succeeded in `source` is reused (RECOVERED,
    /// with its outputs) instead of run again.
    pub fn recover(source: RunName) -> Self {
        Self::of(Target::Rerun {
            source,
            recover: true,
            force: Vec::new(),
        })
    }

    /// Runs version `version` of the task instead of the latest. Only a task launch takes a
    /// version; [`start`](Self::start) refuses one on a trigger or a rerun.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        match &mut self.target {
            Target::Task { version: slot, .. } => *slot = Some(version.into()),
            _ => self.misuse = Some("a version applies to a task launch only"),
        }
        self
    }

    /// In a recovery, runs action `action` (e.g. `a1`) again even if it succeeded. Only a
    /// recovery takes this; [`start`](Self::start) refuses it on anything else.
    pub fn force_rerun(mut self, action: impl Into<String>) -> Self {
        match &mut self.target {
            Target::Rerun {
                force,
                recover: true,
                ..
            } => force.push(action.into()),
            _ => self.misuse = Some("force_rerun applies to a recovery only (Launch::recover)"),
        }
        self
    }

    /// Sets input `name` to `value` (`7`, `2.5`, `"text"`, `vec![1, 2]`, a [`Value`], ...).
    pub fn input(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.inputs.push((name.into(), Given::Value(value.into())));
        self
    }

    /// Sets input `name` from text, read as the type the task declares for it (see
    /// [`crate::value::text`]), as `aerie run -i name=text` does.
    pub fn input_text(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.inputs.push((name.into(), Given::Text(text.into())));
        self
    }

    /// The run's settings: name, labels, environment variables, cache overwrite, concurrency.
    pub fn options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts the run and returns it, queued. A task's spec is fetched first (for a rerun, the
    /// source run's), the inputs are checked and encoded against its interface and uploaded
    /// (DataProxyService/UploadInputs), then RunService/CreateRun starts it, as the SDK does.
    pub async fn start(self, client: &Client) -> Result<Run> {
        if let Some(misuse) = self.misuse {
            return Err(Error::InvalidLaunch(misuse.to_owned()));
        }
        let run = self.options.run_target(client);
        let target = self.describe(client);
        let (task, inputs, run_spec) = match &self.target {
            Target::Task { name, version } => {
                let task = Task::get(client, name, version.as_deref()).await?;
                let spec = task.spec().ok_or_else(|| {
                    Error::malformed("GetTaskDetails response", "a task without its spec")
                })?;
                let inputs = encode_inputs(spec, &self.inputs, None)?;
                let id = task.task_id().clone();
                (TaskRef::Id(id), inputs, self.options.to_run_spec())
            }
            Target::Trigger { task, name } => return self.start_trigger(client, task, name).await,
            Target::Rerun {
                source,
                recover,
                force,
            } => {
                let source_id = client.run_id(source.clone());
                let details = client.get_run_details(&source_id).await?;
                let root = details
                    .action
                    .into_option()
                    .ok_or_else(|| Error::malformed("GetRunDetails response", "no root action"))?;
                let Some(action_details::Spec::Task(spec)) = root.spec else {
                    return Err(Error::malformed(
                        "GetRunDetails response",
                        format_args!("run {source}'s root action carries no task spec"),
                    ));
                };
                let source_inputs = client.get_action_data(&root.id).await?.inputs;
                let inputs = encode_inputs(&spec, &self.inputs, source_inputs.as_option())?;
                let mut run_spec = details.run_spec.into_option().unwrap_or_default();
                run_spec.relation = Relation {
                    related_to: aerie_convert::wire_run_id(&source_id, client.org()).into(),
                    relation_type: if *recover {
                        RelationType::RELATION_TYPE_RECOVER
                    } else {
                        RelationType::RELATION_TYPE_RERUN
                    }
                    .into(),
                    ..Default::default()
                }
                .into();
                run_spec.related_to = Default::default();
                run_spec.recover = Default::default();
                if !force.is_empty() {
                    run_spec.recover = Recover {
                        force_rerun_actions: force.clone(),
                        ..Default::default()
                    }
                    .into();
                }
                self.options.apply_to(&mut run_spec);
                (TaskRef::Spec(spec), inputs, run_spec)
            }
        };
        let offloaded = client
            .upload_inputs(
                UploadInputsRequest {
                    id: Some(match &run {
                        RunTarget::Run(id) => {
                            upload_inputs_request::Id::RunId(Box::new(id.clone()))
                        }
                        RunTarget::Project(project) => {
                            upload_inputs_request::Id::ProjectId(Box::new(project.clone()))
                        }
                    }),
                    task: Some(match &task {
                        TaskRef::Id(id) => {
                            upload_inputs_request::Task::TaskId(Box::new(id.clone()))
                        }
                        TaskRef::Spec(spec) => upload_inputs_request::Task::TaskSpec(spec.clone()),
                    }),
                    inputs: inputs.into(),
                    ..Default::default()
                },
                &target,
            )
            .await?;
        let request = CreateRunRequest {
            id: Some(run.into()),
            task: Some(match task {
                TaskRef::Id(id) => create_run_request::Task::TaskId(Box::new(id)),
                TaskRef::Spec(spec) => create_run_request::Task::TaskSpec(spec),
            }),
            input_wrapper: Some(create_run_request::InputWrapper::OffloadedInputData(
                Box::new(offloaded),
            )),
            run_spec: run_spec.into(),
            ..Default::default()
        };
        Run::from_wire(client.create_run(request, &target).await?)
    }

    /// CreateRun of a trigger: the server fires it with its own inputs.
    async fn start_trigger(&self, client: &Client, task: &str, name: &str) -> Result<Run> {
        if !self.inputs.is_empty() {
            return Err(Error::InvalidLaunch(format!(
                "a run of trigger {name} takes the inputs the trigger was deployed with"
            )));
        }
        let request = CreateRunRequest {
            id: Some(self.options.run_target(client).into()),
            task: Some(create_run_request::Task::TriggerName(Box::new(
                aerie_convert::wire_trigger_name(
                    client.project(),
                    client.domain(),
                    task,
                    name,
                    client.org(),
                ),
            ))),
            run_spec: if self.options.is_empty() {
                Default::default()
            } else {
                self.options.to_run_spec().into()
            },
            ..Default::default()
        };
        Run::from_wire(client.create_run(request, &self.describe(client)).await?)
    }

    /// What the launch runs, for errors: `project/domain/task[@version]`,
    /// `project/domain/task/trigger`, or `project/domain/run` (a rerun's source).
    fn describe(&self, client: &Client) -> String {
        let scope = format!("{}/{}", client.project(), client.domain());
        match &self.target {
            Target::Task {
                name,
                version: Some(version),
            } => format!("{scope}/{name}@{version}"),
            Target::Task {
                name,
                version: None,
            } => format!("{scope}/{name}"),
            Target::Trigger { task, name } => format!("{scope}/{task}/{name}"),
            Target::Rerun { source, .. } => format!("{scope}/{source}"),
        }
    }
}

/// The wire inputs of a run of `spec`: every declared input, in interface order, from what was
/// given, else `source` (a rerun's inputs), else the deployed default.
fn encode_inputs(
    spec: &TaskSpec,
    given: &[(String, Given)],
    source: Option<&Inputs>,
) -> Result<Inputs> {
    let task = &spec.task_template.id.name;
    let declared = declared_inputs(spec);
    let input_error = |name: &str, reason: String| Error::Value {
        what: "input",
        name: name.to_owned(),
        reason,
    };
    for (name, _) in given {
        if !declared.iter().any(|input| input.name == name) {
            let names: Vec<&str> = declared.iter().map(|input| input.name).collect();
            return Err(input_error(
                name,
                if names.is_empty() {
                    format!("task {task} takes no inputs")
                } else {
                    format!(
                        "task {task} has no such input; its inputs are {}",
                        names.join(", ")
                    )
                },
            ));
        }
    }
    let mut literals = Vec::with_capacity(declared.len());
    for input in &declared {
        let (name, ty) = (input.name, input.ty);
        let fallback = source
            .and_then(|inputs| inputs.literals.iter().find(|named| named.name == name))
            .map(|named| &*named.value)
            .or(input.default);
        let literal = match given.iter().rev().find(|(given, _)| given == name) {
            Some((_, Given::Value(value))) => value.to_literal(ty),
            Some((_, Given::Text(raw))) => {
                text::parse(raw, ty).and_then(|value| value.to_literal(ty))
            }
            None => fallback
                .cloned()
                .ok_or_else(|| ValueError(format!("is required ({})", describe_type(ty)))),
        }
        .map_err(|err| input_error(name, err.0))?;
        literals.push(NamedLiteral {
            name: name.to_owned(),
            value: literal.into(),
            ..Default::default()
        });
    }
    Ok(Inputs {
        literals,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests;
