//! `aerie get task [NAME] [--version V | --latest]` and `aerie get trigger [TASK] [NAME]`: what is
//! deployed, as tables of versions and triggers or one in full.
//!
//! Listed triggers lack their task version, so the trigger table fetches each one's details
//! (a few at a time); one deleted in between is shown as it was listed.

use super::write_json;
use crate::args::{GetTaskArgs, GetTriggerArgs, OutputFormat, TaskSelection};
use crate::output::{Table, format_time};
use aerie_client::value::describe_type;
use aerie_client::wire::flyteidl2::core::__buffa::oneof::task_template::Target;
use aerie_client::{Client, Task, Timestamp, Trigger};
use futures::{StreamExt, TryStreamExt};
use std::io::{self, Write, stdout};

/// How many trigger details the trigger table fetches at once.
const DETAIL_FETCHES_AT_ONCE: usize = 8;

pub async fn get_task(client: &Client, args: GetTaskArgs) -> anyhow::Result<()> {
    let json = args.output.format == OutputFormat::Json;
    let mut out = stdout().lock();
    let tasks = match args.selection() {
        TaskSelection::One { name, version } => {
            let task = Task::get(client, name, version).await?;
            if json {
                write_json(&mut out, task.wire())?;
            } else {
                write_task_details(&task, &mut out)?;
            }
            return Ok(out.flush()?);
        }
        TaskSelection::VersionsOf { name } => Task::versions(client, name).await?,
        TaskSelection::Every => Task::list(client, None).await?,
    };
    if json {
        write_json(&mut out, &tasks.iter().map(Task::wire).collect::<Vec<_>>())?;
    } else {
        task_table(&tasks).write_to(&mut out)?;
    }
    Ok(out.flush()?)
}

pub async fn get_trigger(client: &Client, args: GetTriggerArgs) -> anyhow::Result<()> {
    let json = args.output.format == OutputFormat::Json;
    let mut out = stdout().lock();
    if let (Some(task_name), Some(name)) = (&args.task, &args.name) {
        let trigger = Trigger::get(client, task_name, name).await?;
        if json {
            write_json(&mut out, trigger.wire())?;
        } else {
            write_trigger_details(&trigger, &mut out)?;
        }
        return Ok(out.flush()?);
    }
    let listed = Trigger::list(client, args.task.as_deref()).await?;
    let triggers = in_full(client, listed).await?;
    if json {
        write_json(
            &mut out,
            &triggers.iter().map(Trigger::wire).collect::<Vec<_>>(),
        )?;
    } else {
        trigger_table(&triggers).write_to(&mut out)?;
    }
    Ok(out.flush()?)
}

/// The details of each listed trigger, in list order; a trigger deleted since it was listed
/// stays as listed.
async fn in_full(client: &Client, listed: Vec<Trigger>) -> aerie_client::Result<Vec<Trigger>> {
    futures::stream::iter(listed)
        .map(|trigger| async move {
            match trigger.details(client).await {
                Err(err) if err.is_not_found() => Ok(trigger),
                fetched => fetched,
            }
        })
        .buffered(DETAIL_FETCHES_AT_ONCE)
        .try_collect()
        .await
}

/// `text`, or `-` when empty.
fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// The instant to the second, or `-`.
fn time_or_dash(instant: Option<Timestamp>) -> String {
    instant.map_or_else(|| "-".to_owned(), format_time)
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

/// One row per task version.
fn task_table(tasks: &[Task]) -> Table {
    let mut table = Table::with_header(&[
        "NAME",
        "VERSION",
        "SHORT NAME",
        "ENVIRONMENT",
        "DEPLOYED",
        "BY",
    ]);
    for task in tasks {
        table.push(vec![
            task.name().to_owned(),
            task.version().to_owned(),
            or_dash(task.short_name()),
            or_dash(task.environment_name()),
            time_or_dash(task.deployed_at()),
            or_dash(task.deployed_by().unwrap_or_default()),
        ]);
    }
    table
}

/// One task version, one `key  value` line each.
fn write_task_details(task: &Task, out: &mut impl Write) -> io::Result<()> {
    let mut table = Table::default();
    let mut row = |key: &str, value: String| table.push(vec![key.to_owned(), value]);
    row("task", task.name().to_owned());
    row("version", task.version().to_owned());
    row("short name", or_dash(task.short_name()));
    row("environment", or_dash(task.environment_name()));
    row("deployed", time_or_dash(task.deployed_at()));
    row(
        "deployed by",
        or_dash(task.deployed_by().unwrap_or_default()),
    );
    if let Some(template) = task.spec().and_then(|spec| spec.task_template.as_option()) {
        row("type", or_dash(&template.r#type));
        if let Some(Target::Container(container)) = &template.target {
            row("image", or_dash(&container.image));
        }
    }
    for input in task.inputs().unwrap_or_default() {
        let ty = describe_type(input.ty);
        row(
            "input",
            match input.default_value() {
                Some(default) => format!("{}: {ty} = {default}", input.name),
                None => format!("{}: {ty} (required)", input.name),
            },
        );
    }
    table.write_to(out)
}

/// One row per trigger.
fn trigger_table(triggers: &[Trigger]) -> Table {
    let mut table = Table::with_header(&[
        "TASK",
        "NAME",
        "VERSION",
        "ACTIVE",
        "SCHEDULE",
        "LAST FIRED",
    ]);
    for trigger in triggers {
        table.push(vec![
            trigger.task_name().to_owned(),
            trigger.name().to_owned(),
            or_dash(trigger.task_version().unwrap_or_default()),
            yes_no(trigger.active()),
            trigger.automation_description(),
            time_or_dash(trigger.triggered_at()),
        ]);
    }
    table
}

/// One trigger, one `key  value` line each.
fn write_trigger_details(trigger: &Trigger, out: &mut impl Write) -> io::Result<()> {
    let mut table = Table::default();
    let mut row = |key: &str, value: String| table.push(vec![key.to_owned(), value]);
    row("task", trigger.task_name().to_owned());
    row("trigger", trigger.name().to_owned());
    row(
        "version",
        or_dash(trigger.task_version().unwrap_or_default()),
    );
    row("active", yes_no(trigger.active()));
    row("schedule", trigger.automation_description());
    row("revision", trigger.revision().to_string());
    row("updated", time_or_dash(trigger.updated_at()));
    row("last fired", time_or_dash(trigger.triggered_at()));
    if let Some(description) = trigger.description() {
        row("description", description.to_owned());
    }
    table.write_to(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_client::wire::flyteidl2::common::{TriggerIdentifier, TriggerName};
    use aerie_client::wire::flyteidl2::task::__buffa::oneof::schedule::Expression;
    use aerie_client::wire::flyteidl2::task::__buffa::oneof::trigger_automation_spec::Automation;
    use aerie_client::wire::flyteidl2::task::{
        Cron, Schedule, Task as WireTask, TaskIdentifier, TriggerAutomationSpec,
    };
    use aerie_client::wire::flyteidl2::trigger::{TriggerDetails, TriggerSpec, TriggerStatus};

    fn text(write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn nightly() -> Trigger {
        Trigger::from_details(TriggerDetails {
            id: TriggerIdentifier {
                name: TriggerName {
                    task_name: "env.t".into(),
                    name: "nightly".into(),
                    ..Default::default()
                }
                .into(),
                revision: 1,
                ..Default::default()
            }
            .into(),
            spec: TriggerSpec {
                active: true,
                task_version: "v1".into(),
                ..Default::default()
            }
            .into(),
            status: TriggerStatus::default().into(),
            automation_spec: TriggerAutomationSpec {
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
        })
        .unwrap()
    }

    #[test]
    fn the_trigger_table_shows_version_state_schedule_and_dashes_for_never() {
        let shown = text(|out| trigger_table(&[nightly()]).write_to(out));
        let lines: Vec<_> = shown.lines().collect();
        assert_eq!(
            lines[0],
            "TASK   NAME     VERSION  ACTIVE  SCHEDULE                LAST FIRED"
        );
        assert_eq!(
            lines[1],
            r#"env.t  nightly  v1       yes     cron "0 3 * * *" (UTC)  -"#
        );
    }

    #[test]
    fn trigger_details_name_the_task_version_and_schedule() {
        let shown = text(|out| write_trigger_details(&nightly(), out));
        assert!(shown.contains("task        env.t\n"), "{shown}");
        assert!(shown.contains("version     v1\n"), "{shown}");
        assert!(
            shown.contains("schedule    cron \"0 3 * * *\" (UTC)\n"),
            "{shown}"
        );
        assert!(shown.contains("last fired  -\n"), "{shown}");
        assert!(!shown.contains("description"), "{shown}");
    }

    #[test]
    fn a_listed_task_version_without_metadata_shows_dashes() {
        let task = Task::from_listed(WireTask {
            task_id: TaskIdentifier {
                name: "env.t".into(),
                version: "v1".into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .unwrap();
        let shown = text(|out| task_table(&[task]).write_to(out));
        assert_eq!(
            shown.lines().nth(1),
            Some("env.t  v1       -           -            -         -")
        );
    }
}
