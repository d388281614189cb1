//! `aerie cache list|clear`: the task cache's entries, read and deleted in the store directly.

use crate::args::{CacheCommand, CacheSelectionArgs};
use crate::output::Table;
use aerie_store::{CacheSelection, Store};
use anyhow::{Context, bail};
use std::io::Write;

/// Runs one `cache` subcommand.
pub async fn run(command: CacheCommand) -> anyhow::Result<()> {
    let store_args = match &command {
        CacheCommand::List(args) => &args.store,
        CacheCommand::Clear(args) => &args.store,
    };
    aerie_server::private_data_dir(store_args.data_dir.clone())?;
    let store = Store::open(&store_args.backend()?)
        .await
        .context("opening aerie's store")?;
    let outcome = match command {
        CacheCommand::List(args) => list(&store, selection(&args.selection), args.limit).await,
        CacheCommand::Clear(args) => {
            let chosen = selection(&args.selection);
            if chosen == CacheSelection::default() && !args.all {
                bail!("say which entries to clear: --task NAME, or --all");
            }
            let cleared = store.clear_cache(chosen).await?;
            println!(
                "cleared {cleared} cache entr{}",
                if cleared == 1 { "y" } else { "ies" }
            );
            Ok(())
        }
    };
    store.close().await;
    outcome
}

fn selection(args: &CacheSelectionArgs) -> CacheSelection {
    CacheSelection {
        task_name: args.task.clone(),
    }
}

async fn list(store: &Store, selection: CacheSelection, limit: u32) -> anyhow::Result<()> {
    let (entries, more) = store.list_cache(&selection, 0, limit).await?;
    let mut table = Table::with_header(&[
        "TASK", "VERSION", "PROJECT", "DOMAIN", "CREATED", "SOURCE", "KEY",
    ]);
    for entry in entries {
        let source = &entry.source;
        table.push(vec![
            entry.task_name,
            entry.version,
            entry.project.to_string(),
            entry.domain.to_string(),
            entry.created_at.to_rfc3339(),
            format!(
                "{}/{} (attempt {})",
                source.action.run.name, source.action.name, source.attempt
            ),
            entry.key,
        ]);
    }
    let mut out = std::io::stdout().lock();
    table.write_to(&mut out)?;
    if more {
        writeln!(out, "(more entries than --limit {limit})")?;
    }
    Ok(())
}
