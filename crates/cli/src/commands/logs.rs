//! `aerie logs RUN [ACTION] [--attempt N] [--follow]`: the attempt's lines, exactly as written.

use crate::args::LogsArgs;
use aerie_client::{Client, Follow, Logs};
use futures::StreamExt;
use std::io::{Write, stdout};

pub async fn run(client: &Client, args: LogsArgs) -> anyhow::Result<()> {
    let follow = if args.follow { Follow::Yes } else { Follow::No };
    let action = args.target.action_id(client);
    let mut logs = Logs::tail(client, &action, args.attempt, follow).await?;
    let mut out = stdout();
    while let Some(line) = logs.next().await {
        // Messages keep their own trailing newline.
        out.write_all(line?.message.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}
