use crate::harness::Aerie;
use aerie_client::wire::flyteidl2::common::{RunIdentifier, TriggerName};
use aerie_client::wire::flyteidl2::core::__buffa::oneof::task_template::Target;
use aerie_client::wire::flyteidl2::core::{Container, Identifier, TaskTemplate};
use aerie_client::wire::flyteidl2::task::__buffa::oneof::schedule::Expression;
use aerie_client::wire::flyteidl2::task::__buffa::oneof::trigger_automation_spec::Automation;
use aerie_client::wire::flyteidl2::task::{
    Cron, DeployTaskRequest, Schedule, TaskIdentifier, TaskServiceClient, TaskSpec, TaskTrigger,
    TaskTriggerSpec, TriggerAutomationSpec, TriggerAutomationSpecType,
};
use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::create_run_request;
use aerie_client::wire::flyteidl2::workflow::{CreateRunRequest, RunServiceClient};
use connectrpc::client::{ClientConfig, HttpClient};
use std::process::Output;

fn config(aerie: &Aerie) -> ClientConfig {
    ClientConfig::new(format!("http://{}", aerie.endpoint).parse().unwrap())
}

/// Deploys version v1 of task `env.t` (a container task) with the trigger `nightly`, a cron at
/// 03:00 UTC, through TaskService/DeployTask as the SDK's `flyte deploy` would.
async fn deploy_env_t_with_nightly_trigger(aerie: &Aerie) {
    let tasks = TaskServiceClient::new(HttpClient::plaintext(), config(aerie));
    let template = TaskTemplate {
        id: Identifier {
            project: "flytesnacks".into(),
            domain: "development".into(),
            name: "env.t".into(),
            version: "v1".into(),
            ..Default::default()
        }
        .into(),
        r#type: "python".into(),
        target: Some(Target::Container(Box::new(Container {
            image: "x".into(),
            args: vec!["a0".into()],
            ..Default::default()
        }))),
        ..Default::default()
    };
    let nightly = TaskTrigger {
        name: "nightly".into(),
        spec: TaskTriggerSpec {
            active: true,
            ..Default::default()
        }
        .into(),
        automation_spec: TriggerAutomationSpec {
            r#type: TriggerAutomationSpecType::TYPE_SCHEDULE.into(),
            automation: Some(Automation::Schedule(Box::new(Schedule {
                expression: Some(Expression::Cron(Box::new(Cron {
                    expression: "0 3 * * *".into(),
                    timezone: "UTC".into(),
                    ..Default::default()
                }))),
                ..Default::default()
            }))),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    let request = DeployTaskRequest {
        task_id: TaskIdentifier {
            project: "flytesnacks".into(),
            domain: "development".into(),
            name: "env.t".into(),
            version: "v1".into(),
            ..Default::default()
        }
        .into(),
        spec: TaskSpec {
            task_template: template.into(),
            ..Default::default()
        }
        .into(),
        triggers: vec![nightly],
        ..Default::default()
    };
    tasks.deploy_task(request).await.expect("DeployTask");
}

/// Stdout of a command that must have exited 0; on anything else, panics with both streams.
#[track_caller]
fn succeeded(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The whitespace-separated cells of the table row that starts with `first_cell`.
fn row<'a>(table: &'a str, first_cell: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.first() == Some(&first_cell))
        .unwrap_or_else(|| panic!("no row {first_cell:?} in\n{table}"))
}

/// A deployed version shows in the table of every task, in the versions of its task, and in
/// full (latest or named).
#[tokio::test]
async fn get_task_lists_and_shows_a_deployed_version() {
    let aerie = Aerie::start().await;
    deploy_env_t_with_nightly_trigger(&aerie).await;

    let every = succeeded(&aerie.cli(&["get", "task"]).await);
    assert!(
        every.starts_with("NAME   VERSION  SHORT NAME  ENVIRONMENT  DEPLOYED"),
        "{every}"
    );
    assert_eq!(row(&every, "env.t")[..2], ["env.t", "v1"], "{every}");

    let versions = succeeded(&aerie.cli(&["get", "task", "env.t"]).await);
    assert_eq!(
        versions.lines().count(),
        2,
        "one header, one version:\n{versions}"
    );
    assert_eq!(row(&versions, "env.t")[1], "v1", "{versions}");

    for args in [
        &["get", "task", "env.t", "--latest"][..],
        &["get", "task", "env.t", "--version", "v1"],
    ] {
        let details = succeeded(&aerie.cli(args).await);
        assert!(
            details.contains("task         env.t\n"),
            "{args:?}:\n{details}"
        );
        assert!(
            details.contains("version      v1\n"),
            "{args:?}:\n{details}"
        );
        assert!(
            details.contains("type         python\n"),
            "{args:?}:\n{details}"
        );
        assert!(details.contains("image        x\n"), "{args:?}:\n{details}");
    }

    let json = succeeded(&aerie.cli(&["get", "task", "-o", "json"]).await);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json[0]["taskId"]["name"], "env.t", "{json}");
    assert_eq!(json[0]["taskId"]["version"], "v1", "{json}");
}

/// A trigger deployed with its task shows in the trigger table and in full, with the version
/// it runs, its schedule in words, and that it is active.
#[tokio::test]
async fn get_trigger_lists_and_shows_a_scheduled_trigger() {
    let aerie = Aerie::start().await;
    deploy_env_t_with_nightly_trigger(&aerie).await;

    for args in [&["get", "trigger"][..], &["get", "trigger", "env.t"]] {
        let table = succeeded(&aerie.cli(args).await);
        assert!(
            table.starts_with("TASK   NAME     VERSION  ACTIVE  SCHEDULE"),
            "{args:?}:\n{table}"
        );
        let line = table.lines().nth(1).unwrap_or_default();
        assert!(
            line.starts_with(r#"env.t  nightly  v1       yes     cron "0 3 * * *" (UTC)"#),
            "{args:?}:\n{table}"
        );
    }

    let details = succeeded(&aerie.cli(&["get", "trigger", "env.t", "nightly"]).await);
    for expected in [
        "task        env.t\n",
        "trigger     nightly\n",
        "version     v1\n",
        "active      yes\n",
        "schedule    cron \"0 3 * * *\" (UTC)\n",
        "revision    1\n",
        "last fired  -\n",
    ] {
        assert!(details.contains(expected), "{expected:?} in\n{details}");
    }

    let json = succeeded(
        &aerie
            .cli(&["get", "trigger", "env.t", "nightly", "-o", "json"])
            .await,
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["spec"]["taskVersion"], "v1", "{json}");
    assert_eq!(json["spec"]["active"], true, "{json}");
    assert_eq!(
        json["automationSpec"]["schedule"]["cron"]["expression"], "0 3 * * *",
        "{json}"
    );
}

/// Asking for a task nothing was deployed under fails with a message naming it, exit code 1.
#[tokio::test]
async fn get_task_of_an_undeployed_task_fails_as_not_found() {
    let aerie = Aerie::start().await;
    deploy_env_t_with_nightly_trigger(&aerie).await;
    let no_version = ["no version of task flytesnacks/development/env.nothing is deployed"];
    let no_such_version = [
        "get task flytesnacks/development/env.t/v9: ",
        "not deployed (not_found)",
    ];
    for (args, expected) in [
        (&["get", "task", "env.nothing"][..], &no_version[..]),
        (&["get", "task", "env.nothing", "--latest"], &no_version),
        (
            &["get", "task", "env.t", "--version", "v9"],
            &no_such_version,
        ),
    ] {
        let output = aerie.cli(args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(stderr.starts_with("aerie: "), "{args:?}: {stderr}");
        for part in expected {
            assert!(stderr.contains(part), "{args:?}: {part:?} in {stderr}");
        }
    }
}

/// A run a trigger started names the trigger, its task and revision in `aerie get run`.
#[tokio::test]
async fn get_run_names_the_trigger_that_started_it() {
    let aerie = Aerie::start().await;
    deploy_env_t_with_nightly_trigger(&aerie).await;
    let runs = RunServiceClient::new(HttpClient::plaintext(), config(&aerie));
    let fire_now = CreateRunRequest {
        id: Some(create_run_request::Id::RunId(Box::new(RunIdentifier {
            project: "flytesnacks".into(),
            domain: "development".into(),
            name: "fired1".into(),
            ..Default::default()
        }))),
        task: Some(create_run_request::Task::TriggerName(Box::new(
            TriggerName {
                project: "flytesnacks".into(),
                domain: "development".into(),
                task_name: "env.t".into(),
                name: "nightly".into(),
                ..Default::default()
            },
        ))),
        ..Default::default()
    };
    runs.create_run(fire_now)
        .await
        .expect("CreateRun by trigger");

    let details = succeeded(&aerie.cli(&["get", "run", "fired1"]).await);
    assert!(
        details.contains("trigger   nightly (task env.t, revision 1)\n"),
        "{details}"
    );
    let client = aerie.client();
    let run = aerie_client::Run::get(&client, &"fired1".parse().unwrap())
        .await
        .expect("get run");
    assert_eq!(run.trigger(), Some("nightly"));
}
