//! `aerie abort run RUN` and `aerie abort action RUN ACTION`: quiet on success.

use crate::args::AbortCommand;
use aerie_client::{Action, Client, Run};

pub async fn run(client: &Client, command: AbortCommand) -> anyhow::Result<()> {
    match command {
        AbortCommand::Run(args) => {
            let run = Run::get(client, &args.run).await?;
            run.abort(client, args.reason.reason.as_deref()).await?;
        }
        AbortCommand::Action(args) => {
            let action = Action::get(client, &args.run, &args.action).await?;
            action.abort(client, args.reason.reason.as_deref()).await?;
        }
    }
    Ok(())
}
