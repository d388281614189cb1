//! `aerie get run [NAME]` and `aerie get action RUN [ACTION]`; `get task` and `get trigger` are
//! in [`super::deployed`].

use super::{deployed, write_json};
use crate::args::{GetActionArgs, GetCommand, GetRunArgs, OutputFormat};
use crate::output::{Table, format_duration, phase_label, start_label, task_label, write_details};
use aerie_client::{Action, ActionDetails, ActionSummary, Client, Run};
use std::io::{Write, stdout};

pub async fn run(client: &Client, command: GetCommand) -> anyhow::Result<()> {
    match command {
        GetCommand::Run(args) => get_run(client, args).await,
        GetCommand::Action(args) => get_action(client, args).await,
        GetCommand::Task(args) => deployed::get_task(client, args).await,
        GetCommand::Trigger(args) => deployed::get_trigger(client, args).await,
    }
}

async fn get_run(client: &Client, args: GetRunArgs) -> anyhow::Result<()> {
    let json = args.output.format == OutputFormat::Json;
    let mut out = stdout().lock();
    match args.name {
        Some(name) => {
            let run = Run::get(client, &name).await?;
            match (json, run.root_details()) {
                (true, _) => write_json(&mut out, run.wire())?,
                (false, Some(details)) => write_details(details, &mut out)?,
                (false, None) => list_table(&[run]).write_to(&mut out)?,
            }
        }
        None => {
            let runs = Run::list(client).await?;
            if json {
                let dicts = runs
                    .iter()
                    .map(Run::to_dict)
                    .collect::<Result<Vec<_>, _>>()?;
                write_json(&mut out, &serde_json::Value::Array(dicts))?;
            } else {
                list_table(&runs).write_to(&mut out)?;
            }
        }
    }
    Ok(out.flush()?)
}

async fn get_action(client: &Client, args: GetActionArgs) -> anyhow::Result<()> {
    let json = args.output.format == OutputFormat::Json;
    let mut out = stdout().lock();
    match args.action {
        Some(action) => {
            let details = ActionDetails::get_by_name(client, &args.run, &action).await?;
            if json {
                write_json(&mut out, details.wire())?;
            } else {
                write_details(&details, &mut out)?;
            }
        }
        None => {
            let actions = Action::list(client, &args.run).await?;
            if json {
                write_json(
                    &mut out,
                    &actions.iter().map(Action::wire).collect::<Vec<_>>(),
                )?;
            } else {
                list_table(&actions).write_to(&mut out)?;
            }
        }
    }
    Ok(out.flush()?)
}

/// One row per run or action: who it is, where it stands, how long it took.
fn list_table<A: ActionSummary>(actions: &[A]) -> Table {
    let mut table = Table::with_header(&[
        "RUN", "ACTION", "PARENT", "PHASE", "TASK", "ATTEMPTS", "STARTED", "RUNTIME",
    ]);
    for action in actions {
        let parent = &action.metadata().parent;
        table.push(vec![
            action.run_name().to_owned(),
            action.name().to_owned(),
            if parent.is_empty() {
                "-".to_owned()
            } else {
                parent.clone()
            },
            phase_label(action),
            task_label(action),
            action.attempts().to_string(),
            start_label(action),
            format_duration(action.runtime()),
        ]);
    }
    table
}
