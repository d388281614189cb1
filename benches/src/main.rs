//! `aerie-bench`: measures aerie's benchmark figures against the real `aerie serve` binary,
//! started as a subprocess and driven over the network, and compares each with its target.
//!
//! `scripts/bench` builds both binaries in release mode and runs this one; see
//! `docs/benchmarks.md` for what each figure measures and how.
//!
//! Figures go to stdout, one line each; progress and errors go to stderr. The exit status is 0
//! when every selected figure was measured (met or not), 1 when any could not be measured, and
//! 2 for a usage error.
//!
//! # Layout
//! - [`figures`]: the figure catalogue and one module per group of figures.
//! - [`server`]: starting, measuring and stopping `aerie serve`.
//! - [`rpc`]: the raw Connect calls and task specs.
//! - [`report`]: figure lines and the JSON file.
//! - [`deadline`], [`concurrency`], [`stats`]: limits on waits, concurrent workers, percentiles.

mod concurrency;
mod deadline;
mod figures;
mod report;
mod rpc;
mod server;
mod stats;

use anyhow::{Context, bail};
use clap::Parser;
use figures::{Bench, FIGURES, FigureSpec, Group};
use report::Figure;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Measure aerie's benchmark figures against the real binary and compare them with their targets.
#[derive(Debug, Parser)]
#[command(name = "aerie-bench")]
struct Args {
    /// The aerie binary to measure (`cargo build --release -p aerie-cli` builds target/release/aerie).
    #[arg(long, value_name = "PATH", required_unless_present = "list")]
    aerie: Option<PathBuf>,

    /// Also write the figures to FILE as a JSON array of {name, value, unit, target, met}.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Measure only these figures (comma-separated names, see --list).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    only: Vec<String>,

    /// Print every figure's name, unit and target, and exit.
    #[arg(long)]
    list: bool,

    /// Python virtual environment holding the official Flyte SDK, for the sdk_* figures.
    #[arg(long, value_name = "DIR", default_value_os_t = default_venv())]
    venv: PathBuf,

    /// PostgreSQL server URL, without a database, for lifecycle_postgres_actions_per_s; a fresh
    /// database is created in it and dropped afterwards.
    #[arg(
        long,
        env = "AERIE_BENCH_POSTGRES",
        value_name = "URL",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    postgres: String,
}

/// The repository's `.venv`, which `scripts/setup` creates.
fn default_venv() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.join(".venv"), |root| root.join(".venv"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("aerie-bench: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        for spec in FIGURES {
            println!("{:<34} {:<14} target {}", spec.name, spec.unit, spec.target);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let selected = select(&args.only)?;
    let aerie = args.aerie.context("--aerie is required")?;
    let aerie = aerie
        .canonicalize()
        .with_context(|| format!("no aerie binary at {}", aerie.display()))?;
    let bench = Bench {
        aerie,
        venv: args.venv,
        postgres: args.postgres,
    };

    let mut groups: Vec<Group> = Vec::new();
    for spec in &selected {
        if !groups.contains(&spec.group) {
            groups.push(spec.group);
        }
    }
    let mut figures = Vec::with_capacity(selected.len());
    for group in groups {
        eprintln!("aerie-bench: {}", group.describe());
        let started = Instant::now();
        let measured = group.measure(&bench).await;
        match &measured {
            Ok(_) => eprintln!(
                "aerie-bench: done in {:.1}s",
                started.elapsed().as_secs_f64()
            ),
            Err(err) => eprintln!("aerie-bench: failed: {err:#}"),
        }
        for spec in selected.iter().filter(|spec| spec.group == group) {
            let outcome = match &measured {
                Ok(values) => values
                    .iter()
                    .find(|(name, _)| *name == spec.name)
                    .map(|&(_, value)| value)
                    .ok_or_else(|| "the group did not report this figure".to_owned()),
                Err(err) => Err(format!("{err:#}")),
            };
            let figure = Figure {
                name: spec.name,
                unit: spec.unit,
                target: spec.target,
                outcome,
            };
            println!("{}", figure.line());
            figures.push(figure);
        }
    }

    if let Some(path) = &args.json {
        report::write_json(path, &figures)?;
    }
    let failed = figures.iter().filter(|f| f.outcome.is_err()).count();
    let met = figures.iter().filter(|f| f.met()).count();
    eprintln!(
        "aerie-bench: {} figures: {met} met, {} missed, {failed} not measured",
        figures.len(),
        figures.len() - met - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The figures `--only` names, in catalogue order; all of them when it names none.
fn select(only: &[String]) -> anyhow::Result<Vec<&'static FigureSpec>> {
    let wanted: Vec<&str> = only
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .collect();
    for name in &wanted {
        if !FIGURES.iter().any(|spec| spec.name == *name) {
            let known: Vec<&str> = FIGURES.iter().map(|spec| spec.name).collect();
            bail!(
                "unknown figure {name:?}; the figures are: {}",
                known.join(", ")
            );
        }
    }
    Ok(FIGURES
        .iter()
        .filter(|spec| wanted.is_empty() || wanted.contains(&spec.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_selection_means_every_figure_and_names_select_in_catalogue_order() {
        assert_eq!(select(&[]).unwrap().len(), FIGURES.len());
        let picked = select(&["watch_p99_ms".into(), "reads_per_s".into()]).unwrap();
        let names: Vec<&str> = picked.iter().map(|spec| spec.name).collect();
        assert_eq!(names, ["watch_p99_ms", "reads_per_s"]);
    }

    #[test]
    fn an_unknown_figure_is_a_usage_error_naming_the_known_ones() {
        let err = select(&["reads".into()]).unwrap_err().to_string();
        assert!(err.contains("unknown figure \"reads\""));
        assert!(err.contains("reads_per_s"));
    }

    #[test]
    fn figure_names_are_unique() {
        let mut names: Vec<&str> = FIGURES.iter().map(|spec| spec.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIGURES.len());
    }
}
