//! The Rust client as a Flyte SDK, end to end against a live aerie: launching deployed tasks
//! with typed inputs and reading typed outputs, watching, aborting, signalling a condition,
//! listing with filters, following logs, triggers, reruns and recoveries, and connecting with an
//! API key over TLS.
//!
//! Tasks are shell scripts deployed through TaskService/DeployTask. `rust.echo` copies its
//! inputs file to its outputs file (`task.Inputs` and `task.Outputs` share the field of their
//! named literals), so every typed input comes back as an output of the same name, stored and
//! served by the real engine.

use crate::harness::{Aerie, PATIENCE};
use aerie_client::wire::flyteidl2::common::{ActionIdentifier, RunIdentifier};
use aerie_client::wire::flyteidl2::core::__buffa::oneof::task_template::Target;
use aerie_client::wire::flyteidl2::core::__buffa::oneof::{literal_type, parameter};
use aerie_client::wire::flyteidl2::core::blob_type::BlobDimensionality;
use aerie_client::wire::flyteidl2::core::{
    BlobType, Container, Identifier, LiteralType, Parameter, SimpleType, TaskTemplate,
    TypedInterface, UnionType, Variable, VariableEntry, VariableMap,
};
use aerie_client::wire::flyteidl2::task::{
    DeployTaskRequest, NamedParameter, TaskIdentifier, TaskServiceClient, TaskSpec, TaskTrigger,
    TaskTriggerSpec,
};
use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::enqueue_action_request;
use aerie_client::wire::flyteidl2::workflow::{EnqueueActionRequest, QueueServiceClient};
use aerie_client::{
    ActionDetails, ActionPhase, ActionSummary, Client, Config, ErrorCode, Follow, Launch,
    ListFilter, Logs, Relation, Run, RunOptions, SignalValue, Timestamp, Value,
};
use connectrpc::client::{ClientConfig, HttpClient};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

fn simple(simple: SimpleType) -> LiteralType {
    LiteralType {
        r#type: Some(literal_type::Type::Simple(simple.into())),
        ..Default::default()
    }
}

fn wrapped(kind: literal_type::Type) -> LiteralType {
    LiteralType {
        r#type: Some(kind),
        ..Default::default()
    }
}

/// The interface of `rust.echo`: one input of each type the SDK's type engine writes.
fn echo_interface() -> Vec<(&'static str, LiteralType)> {
    vec![
        ("n", simple(SimpleType::INTEGER)),
        ("x", simple(SimpleType::FLOAT)),
        ("s", simple(SimpleType::STRING)),
        ("b", simple(SimpleType::BOOLEAN)),
        ("d", simple(SimpleType::DURATION)),
        ("t", simple(SimpleType::DATETIME)),
        (
            "xs",
            wrapped(literal_type::Type::CollectionType(Box::new(simple(
                SimpleType::INTEGER,
            )))),
        ),
        (
            "m",
            wrapped(literal_type::Type::MapValueType(Box::new(simple(
                SimpleType::FLOAT,
            )))),
        ),
        (
            "f",
            wrapped(literal_type::Type::Blob(Box::new(BlobType {
                dimensionality: BlobDimensionality::SINGLE.into(),
                ..Default::default()
            }))),
        ),
        (
            "maybe",
            wrapped(literal_type::Type::UnionType(Box::new(UnionType {
                variants: vec![simple(SimpleType::INTEGER), simple(SimpleType::NONE)],
                ..Default::default()
            }))),
        ),
        ("greeting", simple(SimpleType::STRING)),
    ]
}

fn variables(entries: &[(&str, LiteralType)]) -> VariableMap {
    VariableMap {
        variables: entries
            .iter()
            .map(|(name, ty)| VariableEntry {
                key: (*name).into(),
                value: Variable {
                    r#type: ty.clone().into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// A task to deploy: a shell script with `$1` the output prefix and `$2` the inputs URI.
struct ShellTask<'a> {
    name: &'a str,
    version: &'a str,
    script: String,
    inputs: Vec<(&'a str, LiteralType)>,
    outputs: Vec<(&'a str, LiteralType)>,
    defaults: Vec<(&'a str, Value)>,
    trigger: Option<&'a str>,
}

impl<'a> ShellTask<'a> {
    fn new(name: &'a str, script: impl Into<String>) -> Self {
        Self {
            name,
            version: "v1",
            script: script.into(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            defaults: Vec::new(),
            trigger: None,
        }
    }

    /// Deploys the task (and its trigger) as `flyte deploy` would.
    async fn deploy(self, aerie: &Aerie) {
        let task_id = TaskIdentifier {
            project: "flytesnacks".into(),
            domain: "development".into(),
            name: self.name.into(),
            version: self.version.into(),
            ..Default::default()
        };
        let template = TaskTemplate {
            id: Identifier {
                project: task_id.project.clone(),
                domain: task_id.domain.clone(),
                name: task_id.name.clone(),
                version: task_id.version.clone(),
                ..Default::default()
            }
            .into(),
            r#type: "python".into(),
            interface: TypedInterface {
                inputs: variables(&self.inputs).into(),
                outputs: variables(&self.outputs).into(),
                ..Default::default()
            }
            .into(),
            target: Some(Target::Container(Box::new(Container {
                args: vec![
                    "sh".into(),
                    "-c".into(),
                    self.script,
                    "sh".into(),
                    "{{.outputPrefix}}".into(),
                    "{{.input}}".into(),
                ],
                ..Default::default()
            }))),
            ..Default::default()
        };
        let default_inputs = self
            .defaults
            .iter()
            .map(|(name, value)| {
                let ty = &self
                    .inputs
                    .iter()
                    .find(|(input, _)| input == name)
                    .unwrap()
                    .1;
                NamedParameter {
                    name: (*name).into(),
                    parameter: Parameter {
                        behavior: Some(parameter::Behavior::Default(Box::new(
                            value.to_literal(ty).unwrap(),
                        ))),
                        ..Default::default()
                    }
                    .into(),
                    ..Default::default()
                }
            })
            .collect();
        let triggers = self
            .trigger
            .map(|name| TaskTrigger {
                name: name.into(),
                spec: TaskTriggerSpec {
                    active: true,
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            })
            .into_iter()
            .collect();
        let request = DeployTaskRequest {
            task_id: task_id.into(),
            spec: TaskSpec {
                task_template: template.into(),
                short_name: self.name.into(),
                default_inputs,
                ..Default::default()
            }
            .into(),
            triggers,
            ..Default::default()
        };
        let tasks = TaskServiceClient::new(
            HttpClient::plaintext(),
            ClientConfig::new(format!("http://{}", aerie.endpoint).parse().unwrap()),
        );
        tasks.deploy_task(request).await.expect("DeployTask");
    }
}

/// `rust.echo`: prints `mode=$MODE`, then copies its inputs to its outputs.
async fn deploy_echo(aerie: &Aerie) {
    let blobs = aerie.data_dir().join("blobs");
    let blobs = blobs.display();
    let script = format!(
        "echo \"mode=$MODE\"; out=\"{blobs}/${{1#s3://aerie/}}\"; mkdir -p \"$out\"; \
         cp \"{blobs}/${{2#s3://aerie/}}\" \"$out/outputs.pb\""
    );
    let mut task = ShellTask::new("rust.echo", script);
    task.inputs = echo_interface();
    task.outputs = echo_interface();
    task.defaults = vec![("greeting", Value::from("hello"))];
    task.deploy(aerie).await;
}

/// A launch of `rust.echo` with input `n` and plain values for every other input it requires.
fn echo_launch(n: i64) -> Launch {
    Launch::task("rust.echo")
        .input("n", n)
        .input("x", 1.5)
        .input("s", "s")
        .input("b", false)
        .input("d", Duration::from_secs(1))
        .input("t", Timestamp::now())
        .input("xs", Vec::<i64>::new())
        .input("m", BTreeMap::<String, f64>::new())
        .input("f", Value::File("s3://aerie/x".into()))
        .input("maybe", 3)
}

/// Waits, within the tests' patience, for `run` to end.
async fn wait(run: &mut Run, client: &Client) -> ActionDetails {
    tokio::time::timeout(PATIENCE, run.wait(client))
        .await
        .expect("the run ends in time")
        .expect("wait")
}

/// Waits for the action to reach `phase`.
async fn wait_for(client: &Client, details: &ActionDetails, phase: ActionPhase) -> ActionDetails {
    let mut updates = ActionDetails::watch(client, details.action_id());
    tokio::time::timeout(PATIENCE, async {
        while let Some(update) = updates.next().await {
            let update = update.expect("watch update");
            if update.phase().unwrap() == phase {
                return update;
            }
        }
        panic!("the watch ended before {phase}");
    })
    .await
    .expect("phase reached in time")
}

#[tokio::test]
async fn a_deployed_task_launched_with_typed_inputs_returns_typed_outputs() {
    let aerie = Aerie::start().await;
    deploy_echo(&aerie).await;
    let client = aerie.client();
    let when = Timestamp::parse_rfc3339("2026-12-01T10:30:00.250Z").unwrap();
    let scores: BTreeMap<&str, f64> = [("a", 1.5), ("b", -2.0)].into();
    let mut run = Launch::task("rust.echo")
        .input("n", 7)
        .input("x", 2)
        .input("s", "héllo <b>wörld</b>")
        .input("b", true)
        .input("d", Duration::from_millis(1500))
        .input("t", when)
        .input("xs", vec![1, 2, 3])
        .input("m", scores)
        .input(
            "f",
            Value::File("s3://aerie/flytesnacks/development/in.csv".into()),
        )
        .input("maybe", Option::<i64>::None)
        .options(
            RunOptions::new()
                .name("echo1".parse().unwrap())
                .label("team", "ml")
                .env("MODE", "fast"),
        )
        .start(&client)
        .await
        .expect("launch");
    assert_eq!(run.run_id().name.as_str(), "echo1");
    let done = wait(&mut run, &client).await;
    assert_eq!(done.phase().unwrap(), ActionPhase::Succeeded, "{done:?}");

    let outputs = run.outputs(&client).await.expect("outputs");
    assert_eq!(outputs.get_as::<i64>("n").unwrap(), 7);
    assert_eq!(outputs.get_as::<f64>("x").unwrap(), 2.0);
    assert_eq!(outputs.get_as::<String>("s").unwrap(), "héllo <b>wörld</b>");
    assert!(outputs.get_as::<bool>("b").unwrap());
    assert_eq!(
        outputs.get_as::<Duration>("d").unwrap(),
        Duration::from_millis(1500)
    );
    assert_eq!(outputs.get_as::<Timestamp>("t").unwrap(), when);
    assert_eq!(outputs.get_as::<Vec<i64>>("xs").unwrap(), [1, 2, 3]);
    assert_eq!(
        outputs.get_as::<BTreeMap<String, f64>>("m").unwrap(),
        [("a".to_owned(), 1.5), ("b".to_owned(), -2.0)].into()
    );
    assert_eq!(
        outputs.value("f").unwrap(),
        Value::File("s3://aerie/flytesnacks/development/in.csv".into())
    );
    assert_eq!(outputs.get_as::<Option<i64>>("maybe").unwrap(), None);
    assert_eq!(
        outputs.get_as::<String>("greeting").unwrap(),
        "hello",
        "an input left out takes its deployed default"
    );
    let wrong = outputs.get_as::<i64>("s").unwrap_err().to_string();
    assert_eq!(wrong, "output \"s\": expected an integer, got a string");

    let task = aerie_client::Task::get(&client, "rust.echo", None)
        .await
        .unwrap();
    let inputs = task.inputs().expect("a fetched version has its spec");
    assert_eq!(inputs.len(), 11);
    let greeting = inputs
        .iter()
        .find(|input| input.name == "greeting")
        .unwrap();
    assert_eq!(greeting.default_value(), Some(Value::from("hello")));
    assert!(inputs.iter().filter(|input| input.is_required()).count() == 10);

    let fetched = Run::get(&client, &"echo1".parse().unwrap()).await.unwrap();
    assert_eq!(fetched.label("team"), Some("ml"));
    let log = read_log(&client, &done).await;
    assert_eq!(log, ["mode=fast"], "the run's env var reached the task");
}

#[tokio::test]
async fn bad_inputs_are_refused_before_anything_is_sent() {
    let aerie = Aerie::start().await;
    deploy_echo(&aerie).await;
    let client = aerie.client();
    let refused = |launch: Launch| {
        let client = client.clone();
        async move { launch.start(&client).await.unwrap_err().to_string() }
    };
    assert_eq!(
        refused(Launch::task("rust.echo").input("nope", 1)).await,
        "input \"nope\": task rust.echo has no such input; its inputs are n, x, s, b, d, t, xs, \
         m, f, maybe, greeting"
    );
    assert_eq!(
        refused(Launch::task("rust.echo").input_text("n", "seven")).await,
        "input \"n\": \"seven\" is not INTEGER: expected a whole number"
    );
    assert!(
        refused(Launch::task("rust.echo").input("n", 1))
            .await
            .starts_with("input \"x\": is required (FLOAT)")
    );
    let missing = Launch::task("rust.nothing")
        .start(&client)
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(
        Run::list(&client).await.unwrap().is_empty(),
        "no run was created"
    );
}

#[tokio::test]
async fn the_latest_version_runs_unless_a_version_is_named() {
    let aerie = Aerie::start().await;
    for version in ["v1", "v2"] {
        let mut task = ShellTask::new("rust.versioned", format!("echo {version}"));
        task.version = version;
        task.deploy(&aerie).await;
    }
    // The SDK sends its org in every id; aerie takes it and keys runs without it.
    let client = aerie.client().with_org("acme").unwrap();
    for (launch, printed) in [
        (Launch::task("rust.versioned"), "v2"),
        (Launch::task("rust.versioned").version("v1"), "v1"),
    ] {
        let mut run = launch.start(&client).await.unwrap();
        let done = wait(&mut run, &client).await;
        assert_eq!(read_log(&client, &done).await, [printed]);
    }
}

#[tokio::test]
async fn a_watch_of_a_launched_run_sees_it_start_and_succeed() {
    let aerie = Aerie::start().await;
    ShellTask::new("rust.nap", "sleep 1").deploy(&aerie).await;
    let client = aerie.client();
    let run = Launch::task("rust.nap").start(&client).await.unwrap();
    let phases: Vec<ActionPhase> = tokio::time::timeout(
        PATIENCE,
        run.watch(&client)
            .map(|update| update.unwrap().phase().unwrap())
            .collect(),
    )
    .await
    .expect("the watch ends when the run does");
    assert!(phases.contains(&ActionPhase::Running), "{phases:?}");
    assert_eq!(phases.last(), Some(&ActionPhase::Succeeded), "{phases:?}");
}

#[tokio::test]
async fn an_abort_through_the_client_ends_the_run_with_its_reason() {
    let aerie = Aerie::start().await;
    ShellTask::new("rust.sleeper", "sleep 300")
        .deploy(&aerie)
        .await;
    let client = aerie.client();
    let mut run = Launch::task("rust.sleeper").start(&client).await.unwrap();
    let details = run.details(&client).await.unwrap();
    wait_for(&client, &details, ActionPhase::Running).await;
    run.abort(&client, Some("no longer needed")).await.unwrap();
    let done = wait(&mut run, &client).await;
    assert_eq!(done.phase().unwrap(), ActionPhase::Aborted);
    assert_eq!(done.abort_info().unwrap().reason, "no longer needed");
}

#[tokio::test]
async fn a_paused_condition_is_signalled_through_the_client() {
    let aerie = Aerie::start().await;
    ShellTask::new("rust.parent", "sleep 300")
        .deploy(&aerie)
        .await;
    let client = aerie.client();
    let run = Launch::task("rust.parent").start(&client).await.unwrap();
    let root = run.details(&client).await.unwrap();
    let running = wait_for(&client, &root, ActionPhase::Running).await;
    let run_base = running.wire().attempts[0]
        .outputs
        .output_uri
        .strip_suffix("/a0/1/outputs.pb")
        .unwrap()
        .to_owned();
    // The parent asks for a condition as the SDK's `flyte.new_condition` does.
    let queue = QueueServiceClient::new(
        HttpClient::plaintext(),
        ClientConfig::new(format!("http://{}", aerie.endpoint).parse().unwrap()),
    );
    queue
        .enqueue_action(EnqueueActionRequest {
            action_id: ActionIdentifier {
                run: RunIdentifier {
                    project: "flytesnacks".into(),
                    domain: "development".into(),
                    name: run.run_id().name.to_string(),
                    ..Default::default()
                }
                .into(),
                name: "approval".into(),
                ..Default::default()
            }
            .into(),
            parent_action_name: Some("a0".into()),
            input_uri: format!("{run_base}/inputs.pb"),
            run_output_base: run_base,
            spec: None::<enqueue_action_request::Spec>,
            ..Default::default()
        })
        .await
        .expect("enqueue the condition");
    let uri = format!(
        "flyte://v1/flytesnacks/development/{}/approval",
        run.run_id().name
    );
    let condition = ActionDetails::get(&client, &uri).await.unwrap();
    assert!(condition.is_condition());
    assert_eq!(condition.phase().unwrap(), ActionPhase::Paused);
    condition
        .signal(&client, &SignalValue::Int(42))
        .await
        .expect("signal");
    let done = wait_for(&client, &condition, ActionPhase::Succeeded).await;
    assert_eq!(
        done.signalled().map(|(value, _)| value),
        Some(SignalValue::Int(42))
    );
    run.abort(&client, None).await.unwrap();
}

#[tokio::test]
async fn runs_and_actions_list_by_phase_task_label_and_time() {
    let aerie = Aerie::start().await;
    ShellTask::new("rust.ok", "true").deploy(&aerie).await;
    ShellTask::new("rust.fail", "exit 3").deploy(&aerie).await;
    let client = aerie.client();
    let launch = |task: &str, team: &str, name: &str| {
        Launch::task(task).options(
            RunOptions::new()
                .name(name.parse().unwrap())
                .label("team", team),
        )
    };
    let mut first = launch("rust.ok", "a", "first")
        .start(&client)
        .await
        .unwrap();
    wait(&mut first, &client).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut second = launch("rust.ok", "b", "second")
        .start(&client)
        .await
        .unwrap();
    let mut third = launch("rust.fail", "a", "third")
        .start(&client)
        .await
        .unwrap();
    wait(&mut second, &client).await;
    wait(&mut third, &client).await;

    let names = |runs: Vec<Run>| -> Vec<String> {
        runs.iter()
            .map(|run| run.run_id().name.to_string())
            .collect()
    };
    let list = |filter: ListFilter| {
        let client = client.clone();
        async move { names(Run::list_where(&client, &filter).await.unwrap()) }
    };
    assert_eq!(list(ListFilter::new()).await, ["third", "second", "first"]);
    assert_eq!(
        list(ListFilter::new().phase(ActionPhase::Failed)).await,
        ["third"]
    );
    assert_eq!(
        list(ListFilter::new().task("rust.ok")).await,
        ["second", "first"]
    );
    assert_eq!(
        list(ListFilter::new().label("team", "a")).await,
        ["third", "first"]
    );
    assert_eq!(
        list(ListFilter::new().created_after(between).oldest_first()).await,
        ["second", "third"]
    );
    assert_eq!(
        list(ListFilter::new().created_before(between)).await,
        ["first"]
    );
    assert_eq!(list(ListFilter::new().limit(2)).await, ["third", "second"]);

    let failure = third
        .first_failure(&client)
        .await
        .unwrap()
        .expect("a failure");
    assert_eq!(failure.name(), "a0");
    assert!(failure.error_message().is_some(), "{failure:?}");
    assert!(first.first_failure(&client).await.unwrap().is_none());

    let actions = aerie_client::Action::list_where(
        &client,
        &"third".parse().unwrap(),
        &ListFilter::new().phase(ActionPhase::Failed),
    )
    .await
    .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].name(), "a0");
    let none = aerie_client::Action::list_where(
        &client,
        &"third".parse().unwrap(),
        &ListFilter::new().phase(ActionPhase::Succeeded),
    )
    .await
    .unwrap();
    assert!(none.is_empty());
    let by_label = aerie_client::Action::list_where(
        &client,
        &"third".parse().unwrap(),
        &ListFilter::new().label("team", "a"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        by_label.code(),
        Some(ErrorCode::InvalidArgument),
        "{by_label}"
    );
}

#[tokio::test]
async fn logs_are_followed_while_the_task_prints_them() {
    let aerie = Aerie::start().await;
    ShellTask::new(
        "rust.talker",
        "echo one; sleep 1; echo two; sleep 1; echo three",
    )
    .deploy(&aerie)
    .await;
    let client = aerie.client();
    let run = Launch::task("rust.talker").start(&client).await.unwrap();
    let root = run.details(&client).await.unwrap();
    let running = wait_for(&client, &root, ActionPhase::Running).await;
    assert!(!running.done());
    let logs = Logs::tail(&client, root.action_id(), Some(1), Follow::Yes)
        .await
        .unwrap();
    let lines: Vec<String> = tokio::time::timeout(
        PATIENCE,
        logs.map(|line| line.unwrap().message.trim_end().to_owned())
            .collect(),
    )
    .await
    .expect("following ends when the attempt does");
    assert!(
        lines[0].starts_with("[aerie] attempt 1 started"),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().unwrap(),
        "[aerie] attempt 1 exited with status 0"
    );
    let printed: Vec<&str> = lines[1..lines.len() - 1]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(printed, ["one", "two", "three"]);
}

#[tokio::test]
async fn a_trigger_a_rerun_and_a_recovery_start_runs_that_name_their_source() {
    let aerie = Aerie::start().await;
    deploy_echo(&aerie).await;
    let mut triggered = ShellTask::new("rust.scheduled", "echo fired");
    triggered.trigger = Some("on-demand");
    triggered.deploy(&aerie).await;
    let client = aerie.client();

    let mut fired = Launch::trigger("rust.scheduled", "on-demand")
        .start(&client)
        .await
        .unwrap();
    assert_eq!(fired.trigger(), Some("on-demand"));
    assert_eq!(
        wait(&mut fired, &client).await.phase().unwrap(),
        ActionPhase::Succeeded
    );
    let refused = Launch::trigger("rust.scheduled", "on-demand")
        .input("x", 1)
        .start(&client)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, aerie_client::Error::InvalidLaunch(_)),
        "{refused}"
    );

    let mut source = echo_launch(1)
        .input("maybe", 5)
        .start(&client)
        .await
        .unwrap();
    wait(&mut source, &client).await;
    let source_name = source.run_id().name.clone();

    let mut rerun = Launch::rerun(source_name.clone())
        .input("n", 2)
        .start(&client)
        .await
        .unwrap();
    let done = wait(&mut rerun, &client).await;
    assert_eq!(done.phase().unwrap(), ActionPhase::Succeeded);
    let outputs = rerun.outputs(&client).await.unwrap();
    assert_eq!(outputs.get_as::<i64>("n").unwrap(), 2, "the given input");
    assert_eq!(outputs.get_as::<i64>("maybe").unwrap(), 5, "the source's");
    assert_eq!(
        done.related_run(),
        Some((source.run_id().clone(), Relation::Rerun))
    );

    let mut recovery = Launch::recover(source_name).start(&client).await.unwrap();
    let done = wait(&mut recovery, &client).await;
    assert!(done.phase().unwrap().is_success(), "{done:?}");
    assert_eq!(
        done.related_run(),
        Some((source.run_id().clone(), Relation::Recover))
    );
}

/// The lines the task printed in its latest attempt, once it is over.
async fn read_log(client: &Client, done: &ActionDetails) -> Vec<String> {
    Logs::tail(client, done.action_id(), None, Follow::No)
        .await
        .unwrap()
        .task_lines_only()
        .map(|line| line.unwrap().message.trim_end().to_owned())
        .collect()
        .await
}

#[tokio::test]
async fn an_api_key_over_tls_launches_and_reads_and_nothing_works_without_one() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = crate::harness::tls_files(certs.path());
    let mut aerie = Aerie::start().await;
    ShellTask::new("rust.secure", "echo safe")
        .deploy(&aerie)
        .await;
    aerie
        .restart_with(&[
            "--auth",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .await;
    let admin = aerie.api_key("rust-admin", "admin").await;
    let reader = aerie.api_key("rust-reader", "read-only").await;
    let port = aerie.endpoint.rsplit(':').next().unwrap();
    let config = |api_key: Option<&str>| Config {
        endpoint: Some(format!("dns:///localhost:{port}")),
        ca_cert_file: Some(ca.clone()),
        api_key: api_key.map(str::to_owned),
        ..Config::default()
    };

    let admin_client = Client::from_config(&config(Some(&admin))).unwrap();
    assert!(admin_client.is_authenticated());
    assert_eq!(admin_client.endpoint().scheme_str(), Some("https"));
    let mut run = Launch::task("rust.secure")
        .start(&admin_client)
        .await
        .expect("launch with the admin key");
    let done = wait(&mut run, &admin_client).await;
    assert_eq!(done.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(read_log(&admin_client, &done).await, ["safe"]);

    let reader_client = Client::from_config(&config(Some(&reader))).unwrap();
    assert_eq!(Run::list(&reader_client).await.unwrap().len(), 1);
    let denied = Launch::task("rust.secure")
        .start(&reader_client)
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some(ErrorCode::PermissionDenied), "{denied}");

    let anonymous = Client::from_config(&config(None)).unwrap();
    let refused = Run::list(&anonymous).await.unwrap_err();
    assert_eq!(
        refused.code(),
        Some(ErrorCode::Unauthenticated),
        "{refused}"
    );

    let system_roots = Client::from_config(&Config {
        ca_cert_file: None,
        ..config(Some(&admin))
    })
    .unwrap();
    let untrusted = Run::list(&system_roots).await.unwrap_err();
    assert_eq!(
        untrusted.code(),
        Some(ErrorCode::Unavailable),
        "{untrusted}"
    );

    let plaintext = Client::connect(&format!("localhost:{port}")).unwrap();
    assert!(Run::list(&plaintext).await.is_err());

    // The aerie CLI, given no endpoint, connects as the flyte CLI would: the config file names
    // the endpoint and the CA, FLYTE_API_KEY the credential.
    let config_file = certs.path().join("flyte.yaml");
    std::fs::write(
        &config_file,
        format!(
            "admin:\n  endpoint: dns:///localhost:{port}\n  caCertFilePath: {}\n\
             task:\n  project: flytesnacks\n  domain: development\n",
            ca.display()
        ),
    )
    .unwrap();
    let listed = tokio::process::Command::new(env!("CARGO_BIN_EXE_aerie"))
        .args(["get", "run", "-o", "json"])
        .current_dir(certs.path())
        .env_remove("AERIE_ENDPOINT")
        .env("FLYTECTL_CONFIG", &config_file)
        .env("FLYTE_API_KEY", &reader)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(stdout.contains(run.run_id().name.as_str()), "{stdout}");
}

#[tokio::test]
async fn the_blocking_client_launches_lists_and_reads_outputs_without_a_runtime() {
    let aerie = Aerie::start().await;
    deploy_echo(&aerie).await;
    let endpoint = aerie.endpoint.clone();
    let (n, listed) = tokio::task::spawn_blocking(move || {
        let client = aerie_client::blocking::Client::connect(&endpoint).unwrap();
        let launch = echo_launch(11);
        let mut run = aerie_client::blocking::Run::launch(&client, launch).unwrap();
        let done = run.wait().unwrap();
        assert_eq!(done.phase().unwrap(), ActionPhase::Succeeded);
        let n: i64 = run.outputs().unwrap().get_as("n").unwrap();
        let listed = aerie_client::blocking::Run::list_where(
            &client,
            &ListFilter::new().phase(ActionPhase::Succeeded),
        )
        .unwrap()
        .len();
        (n, listed)
    })
    .await
    .unwrap();
    assert_eq!((n, listed), (11, 1));
}

#[tokio::test]
async fn a_concurrency_limit_of_one_is_refused_by_the_server_and_two_runs() {
    let aerie = Aerie::start().await;
    ShellTask::new("rust.ok", "true").deploy(&aerie).await;
    let client = aerie.client();
    let refused = Launch::task("rust.ok")
        .options(RunOptions::new().max_concurrency(1))
        .start(&client)
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some(ErrorCode::InvalidArgument),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("max_action_concurrency 1"),
        "{refused}"
    );
    let mut run = Launch::task("rust.ok")
        .options(RunOptions::new().max_concurrency(2))
        .start(&client)
        .await
        .unwrap();
    assert_eq!(
        wait(&mut run, &client).await.phase().unwrap(),
        ActionPhase::Succeeded
    );
}
