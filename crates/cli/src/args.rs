//! The command line as typed: every flag, its default, its environment variable and its help.
//!
//! Names are parsed into aerie's validated types here (a bad run name is a usage error, exit 2);
//! nothing else in the binary reads arguments or the environment.

use crate::serve::{ServeArgs, StoreArgs};
use aerie_client::{
    ActionId, ActionName, Client, Config, DEFAULT_ENDPOINT, Domain, Project, RunName,
};
use aerie_core::Role;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Run a Flyte 2 control plane, and inspect, follow and stop the runs it executes.
///
/// Runs are started with the Flyte SDK pointed at aerie, e.g.
/// `flyte --endpoint localhost:30080 --insecure run hello.py main`; this tool reads them back.
/// A run is named by the SDK (e.g. `r7kq2x9mzt`); its root action is `a0`.
#[derive(Debug, Parser)]
#[command(name = "aerie", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Where to find the runs; accepted before or after the subcommand. What is not given comes
/// from the flyte config file and the SDK's environment variables, as the `flyte` CLI reads them
/// (`FLYTE_API_KEY` included), else the defaults below.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The aerie server: HOST:PORT, http://HOST:PORT or dns:///HOST:PORT (plaintext), or
    /// https://HOST[:PORT] (TLS) [default: the flyte config's admin.endpoint, else
    /// localhost:30080].
    #[arg(long, global = true, env = "AERIE_ENDPOINT", value_name = "ENDPOINT")]
    pub endpoint: Option<String>,

    /// The project the runs belong to [default: the flyte config's task.project, else
    /// flytesnacks].
    #[arg(short, long, global = true)]
    pub project: Option<Project>,

    /// The domain the runs belong to [default: the flyte config's task.domain, else
    /// development].
    #[arg(short, long, global = true)]
    pub domain: Option<Domain>,
}

impl GlobalArgs {
    /// The connection settings: the flyte config and environment, with these flags over them.
    pub fn config(&self) -> aerie_client::Result<Config> {
        let mut config = Config::discover()?;
        if let Some(endpoint) = &self.endpoint {
            config.insecure = !endpoint.trim().starts_with("https://");
            config.endpoint = Some(endpoint.clone());
        }
        if let Some(project) = &self.project {
            config.project = Some(project.to_string());
        }
        if let Some(domain) = &self.domain {
            config.domain = Some(domain.to_string());
        }
        Ok(config)
    }

    /// The endpoint calls go to, for messages.
    pub fn shown_endpoint(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => Config::discover()
                .ok()
                .and_then(|config| config.endpoint)
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the aerie server.
    Serve(ServeArgs),
    /// List runs, actions, deployed tasks or triggers, or show one.
    #[command(subcommand)]
    Get(GetCommand),
    /// Run a deployed task: its latest version (or --version), with inputs given as
    /// `-i NAME=VALUE`, each read as the type the task declares (`n=3`, `xs=[1,2]`,
    /// `pause=1m30s`, `data=s3://bucket/key`). Prints the run, follows it until it ends and
    /// prints its outputs; exit 0 if it succeeded, 1 if not.
    #[command(disable_version_flag = true)]
    Run(RunArgs),
    /// Follow an action live until it ends; exit 0 if it succeeded, 1 if not.
    Watch(WatchArgs),
    /// Print the log of one attempt of an action, as the task wrote it.
    Logs(LogsArgs),
    /// Stop a run (with everything in it) or one action (with its children).
    #[command(subcommand)]
    Abort(AbortCommand),
    /// Show the inputs and outputs of an action.
    Io(IoArgs),
    /// Signal the paused condition ACTION of run RUN with VALUE, read as the type the condition
    /// declares (`true/false/yes/no/1/0` for a boolean).
    Signal(SignalArgs),
    /// Make, list and revoke API keys, in the data directory or database directly (aerie may
    /// be running). See `aerie serve --auth`.
    #[command(subcommand, name = "apikey")]
    ApiKey(ApiKeyCommand),
    /// Credentials for aerie's S3 bucket, where task data lives, made from the data directory's
    /// storage key (so only who can read the data directory can make them).
    #[command(subcommand)]
    Storage(StorageCommand),
    /// The task cache, read and cleared in the store directly (an operator's tool, like
    /// `apikey`); a running aerie sees a cleared entry on its next lookup.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// The aerie nodes sharing a PostgreSQL database: alive or silent, their load, and how
    /// many attempts each holds a lease on (read from the database directly).
    Nodes(NodesArgs),
}

#[derive(Debug, Args)]
pub struct NodesArgs {
    /// Also list every lease: which node runs which attempt, and until when it holds it.
    #[arg(long)]
    pub leases: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List cache entries, newest first.
    List(CacheListArgs),
    /// Delete the entries of one task (`--task`), or every entry (`--all`); the outputs stay
    /// with the runs that made them, and the next call of the task runs again.
    Clear(CacheClearArgs),
}

#[derive(Debug, Args)]
pub struct CacheSelectionArgs {
    /// Only entries of this task (its full name, e.g. `my_env.square`), from any project and
    /// domain.
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
}

#[derive(Debug, Args)]
pub struct CacheListArgs {
    #[command(flatten)]
    pub selection: CacheSelectionArgs,

    /// Most entries shown.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct CacheClearArgs {
    #[command(flatten)]
    pub selection: CacheSelectionArgs,

    /// Clear every entry (required when no task is given).
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Print `export` lines that point the Flyte SDK (FLYTE_AWS_*) and other S3 tools (AWS_*)
    /// at aerie's bucket, e.g. `eval "$(aerie storage env)"`; then `File`/`Dir` outputs open
    /// and download in your own Python, as on Flyte.
    Env(StorageEnvArgs),
}

#[derive(Debug, Args)]
pub struct StorageEnvArgs {
    /// Allow writes and deletes too (default: read only).
    #[arg(long)]
    pub write: bool,

    /// How long the credential lasts, in hours.
    #[arg(long, default_value_t = 12, value_name = "HOURS")]
    pub hours: u64,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Make a key; its secret is printed once.
    Create(ApiKeyCreateArgs),
    /// List every key, revoked ones included.
    List(StoreArgs),
    /// Revoke the active key NAME; its tokens stop working at once.
    Revoke(ApiKeyRevokeArgs),
}

#[derive(Debug, Args)]
pub struct ApiKeyCreateArgs {
    /// Who or what the key is for; recorded as the creator of its runs.
    pub name: String,

    /// What the key may do: `admin` (everything) or `read-only` (get, list, watch, logs, data).
    #[arg(long, value_parser = parse_role)]
    pub role: Role,

    /// The host the encoded key points the Flyte SDK at (the SDK reads no port from a key).
    #[arg(
        long = "key-endpoint",
        default_value = "localhost",
        value_name = "HOST"
    )]
    pub endpoint: String,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ApiKeyRevokeArgs {
    /// The key to revoke.
    pub name: String,

    #[command(flatten)]
    pub store: StoreArgs,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|err: aerie_core::UnknownRole| err.to_string())
}

#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// List the runs of the project and domain, or show run NAME.
    Run(GetRunArgs),
    /// List the actions of run RUN, or show action ACTION of it.
    Action(GetActionArgs),
    /// List deployed task versions, newest first (of task NAME only when given), or show one.
    // `--version` here names a task version; `aerie --version` still prints aerie's.
    #[command(disable_version_flag = true)]
    Task(GetTaskArgs),
    /// List the triggers of the project and domain (of task TASK only when given), or show
    /// trigger NAME of TASK.
    Trigger(GetTriggerArgs),
}

#[derive(Debug, Args)]
pub struct GetTaskArgs {
    /// The task whose versions to list, e.g. `env.main`; without it, every task's versions.
    pub name: Option<String>,

    /// Show this version of task NAME.
    #[arg(
        long,
        value_name = "VERSION",
        requires = "name",
        conflicts_with = "latest"
    )]
    pub version: Option<String>,

    /// Show the version of task NAME deployed last.
    #[arg(long, requires = "name")]
    pub latest: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

impl GetTaskArgs {
    /// What to show: every version (of one task or all), or one version in full.
    pub fn selection(&self) -> TaskSelection<'_> {
        match (&self.name, &self.version) {
            (None, _) => TaskSelection::Every,
            (Some(name), Some(version)) => TaskSelection::One {
                name,
                version: Some(version),
            },
            (Some(name), None) if self.latest => TaskSelection::One {
                name,
                version: None,
            },
            (Some(name), None) => TaskSelection::VersionsOf { name },
        }
    }
}

/// Which task versions `aerie get task` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSelection<'a> {
    /// A table of every version of every task.
    Every,
    /// A table of the versions of one task.
    VersionsOf { name: &'a str },
    /// One version in full; the latest when `version` is `None`.
    One {
        name: &'a str,
        version: Option<&'a str>,
    },
}

#[derive(Debug, Args)]
pub struct GetTriggerArgs {
    /// The task whose triggers to list or show; without it, every trigger is listed.
    pub task: Option<String>,

    /// The trigger of TASK to show, e.g. `nightly`.
    pub name: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct GetRunArgs {
    /// The run to show; without it, every run is listed.
    pub name: Option<RunName>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct GetActionArgs {
    /// The run whose actions to list or show.
    pub run: RunName,

    /// The action to show (e.g. `a0`, the root); without it, every action of the run is listed.
    pub action: Option<ActionName>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// A run and one of its actions, the root `a0` unless named.
#[derive(Debug, Args)]
pub struct ActionTarget {
    /// The run.
    pub run: RunName,

    /// The action within the run [default: a0, the root action].
    pub action: Option<ActionName>,
}

impl ActionTarget {
    /// The action's id in the client's project and domain.
    pub fn action_id(&self, client: &Client) -> ActionId {
        let action = self.action.clone().unwrap_or_else(ActionName::root);
        client.action_id(self.run.clone(), action)
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The deployed task, e.g. `hello.main` (see `aerie get task`).
    pub task: String,

    /// The version to run [default: the one deployed last].
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,

    /// An input, `NAME=VALUE`; repeat for each. Inputs left out take the task's defaults.
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE", value_parser = key_value)]
    pub inputs: Vec<(String, String)>,

    /// The run's name [default: one the server picks].
    #[arg(long)]
    pub name: Option<RunName>,

    /// A label, `KEY=VALUE`; repeat for each.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = key_value)]
    pub labels: Vec<(String, String)>,

    /// An environment variable for every task of the run, `KEY=VALUE`; repeat for each.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    pub env_vars: Vec<(String, String)>,

    /// Run cached tasks again and overwrite their cache entries.
    #[arg(long)]
    pub overwrite_cache: bool,

    /// At most this many actions of the run at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
    pub max_concurrency: Option<u32>,

    /// Print the run and return at once instead of following it.
    #[arg(long)]
    pub no_wait: bool,

    /// `table` draws one live status line; `json` prints every update as one line of proto3 JSON.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `KEY=VALUE`, split at the first `=`; the key must not be empty.
fn key_value(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{raw:?} is not KEY=VALUE")),
    }
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: ActionTarget,

    /// `table` draws one live status line; `json` prints every update as one line of proto3 JSON.
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub target: ActionTarget,

    /// The attempt to read, counting from 1 [default: the latest].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub attempt: Option<u32>,

    /// Keep printing new lines until the attempt ends (waits for an attempt not started yet).
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct SignalArgs {
    /// The run the condition belongs to.
    pub run: RunName,

    /// The condition's action name (as `flyte get condition` lists it).
    pub action: ActionName,

    /// The value to send.
    pub value: String,
}

#[derive(Debug, Subcommand)]
pub enum AbortCommand {
    /// Abort run RUN and every action in it.
    Run(AbortRunArgs),
    /// Abort action ACTION of run RUN and its children.
    Action(AbortActionArgs),
}

#[derive(Debug, Args)]
pub struct AbortRunArgs {
    /// The run to abort.
    pub run: RunName,

    #[command(flatten)]
    pub reason: ReasonArg,
}

#[derive(Debug, Args)]
pub struct AbortActionArgs {
    /// The run the action belongs to.
    pub run: RunName,

    /// The action to abort.
    pub action: ActionName,

    #[command(flatten)]
    pub reason: ReasonArg,
}

#[derive(Debug, Args)]
pub struct ReasonArg {
    /// Why, recorded with the abort and shown by `get`.
    #[arg(short, long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct IoArgs {
    #[command(flatten)]
    pub target: ActionTarget,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// How to print: an aligned `table` for people, or the proto3 `json` the SDK's `to_json` gives.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("aerie").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_a_task_a_version_and_typed_inputs_as_text() {
        let cli = parse(&[
            "run",
            "hello.say_hello",
            "--version",
            "v2",
            "-i",
            "name=Rust",
            "-i",
            "xs=[1,2]",
            "--label",
            "team=ml",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run: {:?}", cli.command);
        };
        assert_eq!(args.task, "hello.say_hello");
        assert_eq!(args.version.as_deref(), Some("v2"));
        assert_eq!(
            args.inputs,
            [
                ("name".to_owned(), "Rust".to_owned()),
                ("xs".to_owned(), "[1,2]".to_owned())
            ]
        );
        assert_eq!(args.labels, [("team".to_owned(), "ml".to_owned())]);
        assert!(parse(&["run", "t", "-i", "novalue"]).is_err());
        assert!(parse(&["run", "t", "-i", "=3"]).is_err());
    }

    #[test]
    fn flags_lay_over_the_discovered_settings() {
        let cli = parse(&[
            "get",
            "run",
            "--endpoint",
            "https://aerie.example",
            "-p",
            "ml",
        ])
        .unwrap();
        let config = cli.global.config().unwrap();
        assert_eq!(config.endpoint.as_deref(), Some("https://aerie.example"));
        assert!(!config.insecure);
        assert_eq!(config.project.as_deref(), Some("ml"));
        let plain = parse(&["get", "run", "--endpoint", "localhost:1"]).unwrap();
        assert!(plain.global.config().unwrap().insecure);
    }

    #[test]
    fn global_flags_are_accepted_after_the_subcommand() {
        let cli = parse(&[
            "get",
            "action",
            "r1",
            "-p",
            "p2",
            "-d",
            "production",
            "-o",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.project.unwrap().as_str(), "p2");
        assert_eq!(cli.global.domain.unwrap().as_str(), "production");
        let Command::Get(GetCommand::Action(args)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(args.output.format, OutputFormat::Json);
        assert!(args.action.is_none());
    }

    #[test]
    fn a_missing_action_means_the_root_action() {
        let cli = parse(&["logs", "r1", "--attempt", "2", "--follow"]).unwrap();
        let Command::Logs(args) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        let client = Client::connect("localhost:1").unwrap();
        assert_eq!(
            args.target.action_id(&client).to_string(),
            "flytesnacks/development/r1/a0"
        );
        assert_eq!(args.attempt, Some(2));
        assert!(args.follow);
    }

    fn task_args(args: &[&str]) -> GetTaskArgs {
        let cli = parse(args).unwrap();
        let Command::Get(GetCommand::Task(task)) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        task
    }

    #[test]
    fn get_task_lists_everything_one_tasks_versions_or_shows_one_version() {
        assert_eq!(
            task_args(&["get", "task"]).selection(),
            TaskSelection::Every
        );
        assert_eq!(
            task_args(&["get", "task", "env.t"]).selection(),
            TaskSelection::VersionsOf { name: "env.t" }
        );
        assert_eq!(
            task_args(&["get", "task", "env.t", "--version", "v2"]).selection(),
            TaskSelection::One {
                name: "env.t",
                version: Some("v2")
            }
        );
        assert_eq!(
            task_args(&["get", "task", "env.t", "--latest"]).selection(),
            TaskSelection::One {
                name: "env.t",
                version: None
            }
        );
    }

    #[test]
    fn a_task_version_needs_a_task_name_and_excludes_latest() {
        for args in [
            &["get", "task", "--version", "v1"][..],
            &["get", "task", "--latest"],
            &["get", "task", "env.t", "--version", "v1", "--latest"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn bad_names_and_attempt_zero_are_usage_errors() {
        for args in [
            &["get", "run", "../etc"][..],
            &["logs", "r1", "--attempt", "0"],
            &["abort", "action", "r1"],
            &["get", "run", "-o", "yaml"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
