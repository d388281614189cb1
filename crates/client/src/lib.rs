//! The Rust client of aerie and any Flyte 2 control plane: launch runs of deployed tasks, watch,
//! signal and abort them, and read runs, actions, action details, typed inputs and outputs, logs,
//! tasks and triggers, over the Connect protocol the official Python SDK speaks.
//!
//! ```no_run
//! use aerie_client::{ActionDetails, ActionSummary, Client};
//! # async fn example() -> aerie_client::Result<()> {
//! let client = Client::connect("localhost:30080")?;
//! let details = ActionDetails::get(&client, "flyte://v1/flytesnacks/development/r1").await?;
//! println!("{} is {}", details.name(), details.phase()?);
//! # Ok(())
//! # }
//! ```
//!
//! Every call is async; [`blocking`] has twins for programs without a runtime.
//!
//! Runs are started with [`Launch`]: a deployed task by name (its latest version, or one named)
//! with typed inputs ([`Value`]), a trigger, or a rerun or recovery of an earlier run, with the
//! settings of [`RunOptions`]. A [`Run`] is waited on, watched, aborted, and its outputs read as
//! Rust types ([`NamedLiterals::get_as`]).
//!
//! A client connects as the `flyte` CLI does with [`Client::discover`]: the flyte config file,
//! the SDK's environment variables (`FLYTE_API_KEY` included) and `AERIE_ENDPOINT`; TLS and API
//! keys are handled as the Python SDK handles them ([`Config`], [`credentials`]).
//!
//! # Layout
//! - [`client`], [`config`], [`credentials`], [`endpoint`]: [`Client`] and how it connects:
//!   settings found like the SDK's, TLS, and the OAuth2 client-credentials flow of API keys.
//! - [`launch`], [`run_options`]: [`Launch`] and [`RunOptions`], starting runs.
//! - [`action_details`]: [`ActionDetails`], the mirror of `flyte.remote.ActionDetails`.
//! - [`summary`]: [`ActionSummary`], the id/phase/timing accessors every action record shares.
//! - [`action`], [`run`]: [`Action`] (list and get actions of a run) and [`Run`] (get, list,
//!   wait, abort, outputs); [`filter`]: [`ListFilter`], which of them a listing returns.
//! - [`watch`]: the reconnecting WatchActionDetails stream and its retry rules.
//! - [`data`]: [`ActionInputs`] and [`ActionOutputs`]; [`value`]: [`Value`], typed inputs and
//!   outputs; [`literal`]: how a literal is shown.
//! - [`condition`]: the values a paused condition is signalled with.
//! - [`logs`]: [`Logs`], the lines of one attempt.
//! - [`task`], [`trigger`]: [`Task`] (deployed task versions) and [`Trigger`] (their schedules).
//! - [`blocking`]: the blocking twins.
//! - [`error`]: [`Error`], the one error type, with the Connect code and what was being done.
//! - `rpc` and `convert` (private): every Connect call, and checking the ids the server sends
//!   (the conversions themselves are `aerie-convert`'s, shared with the server).

#![deny(missing_docs)]

pub mod action;
pub mod action_details;
pub mod blocking;
pub mod client;
pub mod condition;
pub mod config;
mod convert;
pub mod credentials;
pub mod data;
pub mod endpoint;
pub mod error;
pub mod filter;
mod json;
pub mod launch;
pub mod literal;
pub mod logs;
mod rpc;
pub mod run;
pub mod run_options;
pub mod summary;
pub mod task;
pub mod trigger;
pub mod value;
pub mod watch;

pub use action::Action;
pub use action_details::{ActionDetails, Relation};
pub use client::{Client, DEFAULT_DOMAIN, DEFAULT_PROJECT};
pub use condition::{SignalValue, ValueType};
pub use config::Config;
pub use credentials::ApiKey;
pub use data::{ActionInputs, ActionOutputs, NamedLiterals};
pub use endpoint::DEFAULT_ENDPOINT;
pub use error::{Error, Result};
pub use filter::ListFilter;
pub use launch::Launch;
pub use logs::{Follow, LogLine, Logs};
pub use run::Run;
pub use run_options::RunOptions;
pub use summary::ActionSummary;
pub use task::{Task, TaskInput};
pub use trigger::Trigger;
pub use value::{FromValue, Value, ValueError};

pub use aerie_core::{
    ActionId, ActionName, ActionPhase, CacheSource, CacheStatus, Domain, Project, RunId, RunName,
    Timestamp,
};
/// The generated flyteidl2 messages, for the fields this crate has no accessor for.
pub use aerie_wire as wire;
pub use connectrpc::ErrorCode;
