//! The raw Connect calls the figures make, on aerie-client's generated clients, and the task
//! specs they send.
//!
//! Every task is `sh -c true` (so it also succeeds on the local executor); under
//! `aerie serve --executor noop` the arguments are ignored, and a task whose container env
//! holds `AERIE_NOOP_HOLD=<seconds>` stays RUNNING that long, or until aborted.
//!
//! Nothing here waits without a limit: callers wrap calls in [`crate::deadline::within`].

use aerie_client::wire::flyteidl2::common::{
    ActionIdentifier, ActionPhase, Filter, ListRequest, ProjectIdentifier, RunIdentifier,
    filter::Function,
};
use aerie_client::wire::flyteidl2::core::__buffa::oneof::task_template::Target;
use aerie_client::wire::flyteidl2::core::{
    Container, Identifier, KeyValuePair, TaskMetadata, TaskTemplate,
};
use aerie_client::wire::flyteidl2::task::TaskSpec;
use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::{
    create_run_request, enqueue_action_request, list_runs_request, watch_request,
};
use aerie_client::wire::flyteidl2::workflow::{
    AbortActionRequest, AbortRunRequest, Action, CreateRunRequest, EnqueueActionRequest,
    GetActionDataURIsRequest, GetActionDetailsRequest, ListActionsRequest, ListRunsRequest,
    QueueServiceClient, RunServiceClient, StateServiceClient, TaskAction,
    WatchActionDetailsRequest, WatchRequest,
};
use anyhow::{Context, bail};
use buffa::EnumValue;
use connectrpc::client::{ClientConfig, HttpClient};

pub const PROJECT: &str = "flytesnacks";
pub const DOMAIN: &str = "development";
/// The root action of every run.
pub const ROOT: &str = "a0";
/// Hold for actions a figure keeps RUNNING until it aborts them; far beyond any figure's length.
pub const HOLD_SECONDS: u32 = 600;

/// Whether a noop attempt is held RUNNING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Walks straight to SUCCEEDED.
    No,
    /// Stays RUNNING for [`HOLD_SECONDS`] or until aborted.
    Running,
}

/// RunService, QueueService and StateService clients sharing one transport.
#[derive(Clone)]
pub struct Rpc {
    pub runs: RunServiceClient<HttpClient>,
    pub queue: QueueServiceClient<HttpClient>,
    pub state: StateServiceClient<HttpClient>,
}

impl Rpc {
    /// Clients on a new HTTP/1.1 connection pool (one connection per concurrent call), speaking
    /// Connect with binary protobuf.
    pub fn http1(endpoint: &str) -> Self {
        Self::over(HttpClient::plaintext(), endpoint)
    }

    /// Clients on one new HTTP/2 (h2c) connection that multiplexes every call as its own stream.
    pub fn http2(endpoint: &str) -> Self {
        Self::over(HttpClient::plaintext_http2_only(), endpoint)
    }

    fn over(transport: HttpClient, endpoint: &str) -> Self {
        let base = format!("http://{endpoint}")
            .parse()
            .expect("a HOST:PORT from the ready line is a valid URI");
        let config = ClientConfig::new(base);
        Self {
            runs: RunServiceClient::new(transport.clone(), config.clone()),
            queue: QueueServiceClient::new(transport.clone(), config.clone()),
            state: StateServiceClient::new(transport, config),
        }
    }

    /// CreateRun of `spec` as run `run`, with empty inline inputs.
    pub async fn create_run(&self, run: &str, spec: TaskSpec) -> anyhow::Result<()> {
        let request = CreateRunRequest {
            id: Some(create_run_request::Id::RunId(Box::new(run_id(run)))),
            task: Some(create_run_request::Task::TaskSpec(Box::new(spec))),
            input_wrapper: Some(create_run_request::InputWrapper::Inputs(Box::default())),
            ..Default::default()
        };
        self.runs
            .create_run(request)
            .await
            .with_context(|| format!("CreateRun {run}"))?;
        Ok(())
    }

    /// EnqueueAction of a noop child `child` of the root of `run`.
    pub async fn enqueue_child(&self, child: &ChildAction<'_>) -> anyhow::Result<()> {
        let request = EnqueueActionRequest {
            action_id: action_id(child.run, &child.name).into(),
            parent_action_name: Some(ROOT.into()),
            input_uri: child.input_uri.into(),
            run_output_base: child.run_output_base.into(),
            spec: Some(enqueue_action_request::Spec::Task(Box::new(TaskAction {
                spec: noop_task(child.hold).into(),
                ..Default::default()
            }))),
            ..Default::default()
        };
        self.queue
            .enqueue_action(request)
            .await
            .with_context(|| format!("EnqueueAction {}/{}", child.run, child.name))?;
        Ok(())
    }

    /// AbortRun: the run and everything in it.
    pub async fn abort_run(&self, run: &str) -> anyhow::Result<()> {
        let request = AbortRunRequest {
            run_id: run_id(run).into(),
            reason: Some("benchmark done".into()),
            ..Default::default()
        };
        self.runs
            .abort_run(request)
            .await
            .with_context(|| format!("AbortRun {run}"))?;
        Ok(())
    }

    /// AbortAction of one action.
    pub async fn abort_action(&self, run: &str, action: &str) -> anyhow::Result<()> {
        let request = AbortActionRequest {
            action_id: action_id(run, action).into(),
            reason: "benchmark".into(),
            ..Default::default()
        };
        self.runs
            .abort_action(request)
            .await
            .with_context(|| format!("AbortAction {run}/{action}"))?;
        Ok(())
    }

    /// GetActionDetails; returns nothing, as the read itself is what is measured.
    pub async fn get_action_details(&self, run: &str, action: &str) -> anyhow::Result<()> {
        let request = GetActionDetailsRequest {
            action_id: action_id(run, action).into(),
            ..Default::default()
        };
        self.runs
            .get_action_details(request)
            .await
            .with_context(|| format!("GetActionDetails {run}/{action}"))?;
        Ok(())
    }

    /// The inputs URI of an action (GetActionDataURIs).
    pub async fn inputs_uri(&self, run: &str, action: &str) -> anyhow::Result<String> {
        let request = GetActionDataURIsRequest {
            action_id: action_id(run, action).into(),
            ..Default::default()
        };
        let response = self
            .runs
            .get_action_data_ur_is(request)
            .await
            .with_context(|| format!("GetActionDataURIs {run}/{action}"))?
            .into_owned();
        if response.inputs_uri.is_empty() {
            bail!("GetActionDataURIs {run}/{action} returned no inputs URI");
        }
        Ok(response.inputs_uri)
    }

    /// One ListActions page of `run`: the actions and the next page's token (empty at the end).
    pub async fn list_actions_page(
        &self,
        run: &str,
        limit: u32,
        token: String,
    ) -> anyhow::Result<(Vec<Action>, String)> {
        let request = ListActionsRequest {
            request: ListRequest {
                limit,
                token,
                ..Default::default()
            }
            .into(),
            run_id: run_id(run).into(),
            ..Default::default()
        };
        let response = self
            .runs
            .list_actions(request)
            .await
            .with_context(|| format!("ListActions {run}"))?
            .into_owned();
        Ok((response.actions, response.token))
    }

    /// Some run of the project whose root is not SUCCEEDED, with its phase (ListRuns filtered on
    /// `phase != SUCCEEDED`, one item); `None` when every run succeeded.
    pub async fn a_run_not_succeeded(&self) -> anyhow::Result<Option<(String, ActionPhase)>> {
        let request = ListRunsRequest {
            request: ListRequest {
                limit: 1,
                filters: vec![Filter {
                    function: Function::NOT_EQUAL.into(),
                    field: "phase".into(),
                    values: vec!["SUCCEEDED".into()],
                    ..Default::default()
                }],
                ..Default::default()
            }
            .into(),
            scope_by: Some(list_runs_request::ScopeBy::ProjectId(
                Box::new(project_id()),
            )),
            ..Default::default()
        };
        let response = self
            .runs
            .list_runs(request)
            .await
            .context("ListRuns with phase != SUCCEEDED")?
            .into_owned();
        Ok(response.runs.first().map(|run| {
            (
                run.action.id.run.name.clone(),
                phase_of(run.action.status.phase),
            )
        }))
    }

    /// Opens WatchActionDetails on one action.
    pub async fn watch_action(&self, run: &str, action: &str) -> anyhow::Result<ActionWatch> {
        let request = WatchActionDetailsRequest {
            action_id: action_id(run, action).into(),
            ..Default::default()
        };
        let stream = self
            .runs
            .watch_action_details(request)
            .await
            .with_context(|| format!("WatchActionDetails {run}/{action}"))?;
        Ok(ActionWatch {
            stream,
            what: format!("{run}/{action}"),
        })
    }

    /// Opens StateService.Watch on the children of the root of `run`.
    pub async fn watch_children(&self, run: &str) -> anyhow::Result<ChildWatch> {
        let request = WatchRequest {
            filter: Some(watch_request::Filter::ParentActionId(Box::new(action_id(
                run, ROOT,
            )))),
            ..Default::default()
        };
        let stream = self
            .state
            .watch(request)
            .await
            .with_context(|| format!("StateService.Watch children of {run}/{ROOT}"))?;
        Ok(ChildWatch {
            stream,
            what: format!("children of {run}/{ROOT}"),
        })
    }
}

type Body = <HttpClient as connectrpc::client::ClientTransport>::ResponseBody;

/// An open WatchActionDetails stream, reduced to the phases it reports.
pub struct ActionWatch {
    stream: connectrpc::client::ServerStream<
        Body,
        aerie_client::wire::flyteidl2::workflow::__buffa::view::WatchActionDetailsResponseView<
            'static,
        >,
    >,
    what: String,
}

impl ActionWatch {
    /// The phase of the next update; an error if the stream ends or fails first.
    pub async fn next_phase(&mut self) -> anyhow::Result<ActionPhase> {
        let message = self
            .stream
            .message()
            .await
            .with_context(|| format!("watching {}", self.what))?
            .with_context(|| format!("the watch on {} ended", self.what))?;
        let response = message.to_owned_message();
        Ok(phase_of(response.details.status.phase))
    }

    /// Reads updates until the action is in `wanted`; a different terminal phase is an error.
    pub async fn until(&mut self, wanted: ActionPhase) -> anyhow::Result<()> {
        loop {
            let phase = self.next_phase().await?;
            if phase == wanted {
                return Ok(());
            }
            if is_terminal(phase) {
                bail!("{} ended {phase:?} while waiting for {wanted:?}", self.what);
            }
        }
    }
}

/// One update of a child watch.
pub enum ChildUpdate {
    /// A child's name and new phase.
    Phase(String, ActionPhase),
    /// The snapshot of existing children is complete.
    Sentinel,
}

/// An open StateService.Watch stream on a parent's children.
pub struct ChildWatch {
    stream: connectrpc::client::ServerStream<
        Body,
        aerie_client::wire::flyteidl2::workflow::__buffa::view::WatchResponseView<'static>,
    >,
    what: String,
}

impl ChildWatch {
    /// The next update; an error if the stream ends or fails first.
    pub async fn next(&mut self) -> anyhow::Result<ChildUpdate> {
        use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::watch_response::Message;
        let message = self
            .stream
            .message()
            .await
            .with_context(|| format!("watching {}", self.what))?
            .with_context(|| format!("the watch on {} ended", self.what))?;
        match message.to_owned_message().message {
            Some(Message::ActionUpdate(update)) => Ok(ChildUpdate::Phase(
                update.action_id.name.clone(),
                phase_of(update.phase),
            )),
            Some(Message::ControlMessage(control)) if control.sentinel => Ok(ChildUpdate::Sentinel),
            other => bail!("unexpected message watching {}: {other:?}", self.what),
        }
    }
}

/// A child action to enqueue under the root of `run`.
pub struct ChildAction<'a> {
    pub run: &'a str,
    pub name: String,
    pub input_uri: &'a str,
    pub run_output_base: &'a str,
    pub hold: Hold,
}

pub fn run_id(run: &str) -> RunIdentifier {
    RunIdentifier {
        project: PROJECT.into(),
        domain: DOMAIN.into(),
        name: run.into(),
        ..Default::default()
    }
}

pub fn project_id() -> ProjectIdentifier {
    ProjectIdentifier {
        name: PROJECT.into(),
        domain: DOMAIN.into(),
        ..Default::default()
    }
}

pub fn action_id(run: &str, action: &str) -> ActionIdentifier {
    ActionIdentifier {
        run: run_id(run).into(),
        name: action.into(),
        ..Default::default()
    }
}

/// A phase as sent; a number this build does not know reads as unspecified.
fn phase_of(phase: EnumValue<ActionPhase>) -> ActionPhase {
    phase.as_known().unwrap_or(ActionPhase::Unspecified)
}

pub fn is_terminal(phase: ActionPhase) -> bool {
    matches!(
        phase,
        ActionPhase::Succeeded | ActionPhase::Failed | ActionPhase::Aborted | ActionPhase::TimedOut
    )
}

/// The benchmark task: `sh -c true`, held RUNNING under the noop executor if `hold` says so.
pub fn noop_task(hold: Hold) -> TaskSpec {
    let env = match hold {
        Hold::No => Vec::new(),
        Hold::Running => vec![KeyValuePair {
            key: "AERIE_NOOP_HOLD".into(),
            value: HOLD_SECONDS.to_string(),
            ..Default::default()
        }],
    };
    let container = Container {
        args: vec!["sh".into(), "-c".into(), "true".into()],
        env,
        ..Default::default()
    };
    let name = match hold {
        Hold::No => "bench-noop",
        Hold::Running => "bench-hold",
    };
    let template = TaskTemplate {
        id: Identifier {
            project: PROJECT.into(),
            domain: DOMAIN.into(),
            name: name.into(),
            version: "v1".into(),
            ..Default::default()
        }
        .into(),
        r#type: "python".into(),
        metadata: TaskMetadata::default().into(),
        target: Some(Target::Container(Box::new(container))),
        ..Default::default()
    };
    TaskSpec {
        task_template: template.into(),
        short_name: name.into(),
        ..Default::default()
    }
}
