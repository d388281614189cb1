//! Blocking twins of the async API, for programs without an async runtime.
//!
//! [`Client`] owns a current-thread tokio runtime, shared by its clones. Every other type here
//! holds a `Client` and wraps its async counterpart: read-only members come from that type
//! through `Deref` (bring [`ActionSummary`](crate::ActionSummary) into scope for `phase()`,
//! `done()`, …), and each call is the async one run to completion, so no logic lives here twice.
//! Streams become iterators. Do not use this module from async code: blocking inside a runtime
//! panics.

use crate::data::{ActionInputs, ActionOutputs};
use crate::error::{Error, Result};
use crate::filter::ListFilter;
use crate::logs::{Follow, LogLine};
use aerie_core::{ActionId, ActionName, Domain, Project, RunName};
use futures::stream::{BoxStream, StreamExt};
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use tokio::runtime::Runtime;

/// A [`crate::Client`] with its own runtime.
#[derive(Clone, Debug)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<Runtime>,
}

impl Client {
    /// A blocking client for `endpoint` (see [`crate::Client::connect`]).
    pub fn connect(endpoint: &str) -> Result<Self> {
        Self::new(crate::Client::connect(endpoint)?)
    }

    /// A blocking client from connection settings (see [`crate::Client::from_config`]).
    pub fn from_config(config: &crate::Config) -> Result<Self> {
        Self::new(crate::Client::from_config(config)?)
    }

    /// A blocking client from the settings found in the environment (see
    /// [`crate::Client::discover`]).
    pub fn discover() -> Result<Self> {
        Self::new(crate::Client::discover()?)
    }

    /// Wraps an async client, starting a runtime for it.
    pub fn new(inner: crate::Client) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        Ok(Self {
            inner,
            runtime: Arc::new(runtime),
        })
    }

    /// The same connection, defaulting to `project`.
    #[must_use]
    pub fn with_project(self, project: Project) -> Self {
        Self {
            inner: self.inner.with_project(project),
            ..self
        }
    }

    /// The same connection, defaulting to `domain`.
    #[must_use]
    pub fn with_domain(self, domain: Domain) -> Self {
        Self {
            inner: self.inner.with_domain(domain),
            ..self
        }
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn iter<'a, T>(&self, stream: BoxStream<'a, T>) -> Iter<'a, T> {
        Iter {
            stream,
            runtime: Arc::clone(&self.runtime),
        }
    }

    /// Wraps a stream of async details into an iterator of blocking ones.
    fn details_iter<'a>(
        &self,
        updates: BoxStream<'a, Result<crate::ActionDetails>>,
    ) -> Iter<'a, Result<ActionDetails>> {
        let client = self.clone();
        self.iter(
            updates
                .map(move |update| update.map(|inner| client.wrap(inner)))
                .boxed(),
        )
    }

    fn wrap(&self, inner: crate::ActionDetails) -> ActionDetails {
        ActionDetails {
            inner,
            client: self.clone(),
        }
    }
}

impl Deref for Client {
    type Target = crate::Client;

    fn deref(&self) -> &crate::Client {
        &self.inner
    }
}

/// A stream read one item at a time, blocking for each.
pub struct Iter<'a, T> {
    stream: BoxStream<'a, T>,
    runtime: Arc<Runtime>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.runtime.block_on(self.stream.next())
    }
}

/// Blocking [`crate::ActionDetails`].
#[derive(Debug, Clone)]
pub struct ActionDetails {
    inner: crate::ActionDetails,
    client: Client,
}

impl ActionDetails {
    /// See [`crate::ActionDetails::get`] for the URI forms.
    pub fn get(client: &Client, uri: &str) -> Result<Self> {
        let inner = client.block_on(crate::ActionDetails::get(client, uri))?;
        Ok(client.wrap(inner))
    }

    /// See [`crate::ActionDetails::get_by_name`].
    pub fn get_by_name(
        client: &Client,
        run_name: &RunName,
        action_name: &ActionName,
    ) -> Result<Self> {
        let inner = client.block_on(crate::ActionDetails::get_by_name(
            client,
            run_name,
            action_name,
        ))?;
        Ok(client.wrap(inner))
    }

    /// See [`crate::ActionDetails::get_details`].
    pub fn get_details(client: &Client, action_id: &ActionId) -> Result<Self> {
        let inner = client.block_on(crate::ActionDetails::get_details(client, action_id))?;
        Ok(client.wrap(inner))
    }

    /// See [`crate::ActionDetails::watch`].
    pub fn watch(client: &Client, action_id: &ActionId) -> Iter<'static, Result<Self>> {
        client.details_iter(crate::ActionDetails::watch(client, action_id))
    }

    /// See [`crate::ActionDetails::watch_updates`].
    pub fn watch_updates(&mut self, cache_data_on_done: bool) -> Iter<'_, Result<Self>> {
        let client = self.client.clone();
        let updates = self.inner.watch_updates(&client, cache_data_on_done);
        client.details_iter(updates)
    }

    /// See [`crate::ActionDetails::inputs`].
    pub fn inputs(&self) -> Result<&ActionInputs> {
        self.client.block_on(self.inner.inputs(&self.client))
    }

    /// See [`crate::ActionDetails::outputs`].
    pub fn outputs(&self) -> Result<&ActionOutputs> {
        self.client.block_on(self.inner.outputs(&self.client))
    }

    /// See [`crate::ActionDetails::signal`].
    pub fn signal(&self, value: &crate::SignalValue) -> Result<()> {
        self.client.block_on(self.inner.signal(&self.client, value))
    }

    /// The async details.
    pub fn into_inner(self) -> crate::ActionDetails {
        self.inner
    }
}

impl Deref for ActionDetails {
    type Target = crate::ActionDetails;

    fn deref(&self) -> &crate::ActionDetails {
        &self.inner
    }
}

/// Blocking [`crate::Run`].
#[derive(Debug, Clone)]
pub struct Run {
    inner: crate::Run,
    client: Client,
}

impl Run {
    /// See [`crate::Run::get`].
    pub fn get(client: &Client, name: &RunName) -> Result<Self> {
        let inner = client.block_on(crate::Run::get(client, name))?;
        Ok(Self {
            inner,
            client: client.clone(),
        })
    }

    /// Starts `launch` (see [`crate::Launch::start`]).
    pub fn launch(client: &Client, launch: crate::Launch) -> Result<Self> {
        let inner = client.block_on(launch.start(client))?;
        Ok(Self {
            inner,
            client: client.clone(),
        })
    }

    /// See [`crate::Run::list`].
    pub fn list(client: &Client) -> Result<Vec<Self>> {
        Self::list_where(client, &ListFilter::new())
    }

    /// See [`crate::Run::list_where`].
    pub fn list_where(client: &Client, filter: &ListFilter) -> Result<Vec<Self>> {
        let runs = client.block_on(crate::Run::list_where(client, filter))?;
        Ok(runs
            .into_iter()
            .map(|inner| Self {
                inner,
                client: client.clone(),
            })
            .collect())
    }

    /// See [`crate::Run::details`].
    pub fn details(&self) -> Result<ActionDetails> {
        let inner = self.client.block_on(self.inner.details(&self.client))?;
        Ok(self.client.wrap(inner))
    }

    /// See [`crate::Run::watch`].
    pub fn watch(&self) -> Iter<'static, Result<ActionDetails>> {
        self.client.details_iter(self.inner.watch(&self.client))
    }

    /// See [`crate::Run::wait`].
    pub fn wait(&mut self) -> Result<ActionDetails> {
        let client = self.client.clone();
        let inner = client.block_on(self.inner.wait(&client))?;
        Ok(client.wrap(inner))
    }

    /// See [`crate::Run::abort`].
    pub fn abort(&self, reason: Option<&str>) -> Result<()> {
        self.client.block_on(self.inner.abort(&self.client, reason))
    }

    /// See [`crate::Run::inputs`].
    pub fn inputs(&self) -> Result<ActionInputs> {
        self.client.block_on(self.inner.inputs(&self.client))
    }

    /// See [`crate::Run::outputs`].
    pub fn outputs(&self) -> Result<ActionOutputs> {
        self.client.block_on(self.inner.outputs(&self.client))
    }

    /// The async run.
    pub fn into_inner(self) -> crate::Run {
        self.inner
    }
}

impl Deref for Run {
    type Target = crate::Run;

    fn deref(&self) -> &crate::Run {
        &self.inner
    }
}

/// Blocking [`crate::Action`].
#[derive(Debug, Clone)]
pub struct Action {
    inner: crate::Action,
    client: Client,
}

impl Action {
    /// See [`crate::Action::get`].
    pub fn get(client: &Client, run_name: &RunName, name: &ActionName) -> Result<Self> {
        let inner = client.block_on(crate::Action::get(client, run_name, name))?;
        Ok(Self {
            inner,
            client: client.clone(),
        })
    }

    /// See [`crate::Action::list`].
    pub fn list(client: &Client, run_name: &RunName) -> Result<Vec<Self>> {
        Self::list_where(client, run_name, &ListFilter::new())
    }

    /// See [`crate::Action::list_where`].
    pub fn list_where(
        client: &Client,
        run_name: &RunName,
        filter: &ListFilter,
    ) -> Result<Vec<Self>> {
        let actions = client.block_on(crate::Action::list_where(client, run_name, filter))?;
        Ok(actions
            .into_iter()
            .map(|inner| Self {
                inner,
                client: client.clone(),
            })
            .collect())
    }

    /// See [`crate::Action::details`].
    pub fn details(&self) -> Result<ActionDetails> {
        let inner = self.client.block_on(self.inner.details(&self.client))?;
        Ok(self.client.wrap(inner))
    }

    /// See [`crate::Action::watch`].
    pub fn watch(&self) -> Iter<'static, Result<ActionDetails>> {
        self.client.details_iter(self.inner.watch(&self.client))
    }

    /// See [`crate::Action::wait`].
    pub fn wait(&self) -> Result<ActionDetails> {
        let inner = self.client.block_on(self.inner.wait(&self.client))?;
        Ok(self.client.wrap(inner))
    }

    /// See [`crate::Action::abort`].
    pub fn abort(&self, reason: Option<&str>) -> Result<()> {
        self.client.block_on(self.inner.abort(&self.client, reason))
    }

    /// The async action.
    pub fn into_inner(self) -> crate::Action {
        self.inner
    }
}

impl Deref for Action {
    type Target = crate::Action;

    fn deref(&self) -> &crate::Action {
        &self.inner
    }
}

/// Blocking [`crate::Task`]. A task version makes no further calls, so this only fetches.
#[derive(Debug, Clone)]
pub struct Task {
    inner: crate::Task,
}

impl Task {
    /// See [`crate::Task::get`].
    pub fn get(client: &Client, name: &str, version: Option<&str>) -> Result<Self> {
        let inner = client.block_on(crate::Task::get(client, name, version))?;
        Ok(Self { inner })
    }

    /// See [`crate::Task::list`].
    pub fn list(client: &Client, name: Option<&str>) -> Result<Vec<Self>> {
        let tasks = client.block_on(crate::Task::list(client, name))?;
        Ok(tasks.into_iter().map(|inner| Self { inner }).collect())
    }

    /// See [`crate::Task::versions`].
    pub fn versions(client: &Client, name: &str) -> Result<Vec<Self>> {
        let tasks = client.block_on(crate::Task::versions(client, name))?;
        Ok(tasks.into_iter().map(|inner| Self { inner }).collect())
    }

    /// The async task.
    pub fn into_inner(self) -> crate::Task {
        self.inner
    }
}

impl Deref for Task {
    type Target = crate::Task;

    fn deref(&self) -> &crate::Task {
        &self.inner
    }
}

/// Blocking [`crate::Trigger`].
#[derive(Debug, Clone)]
pub struct Trigger {
    inner: crate::Trigger,
    client: Client,
}

impl Trigger {
    /// See [`crate::Trigger::get`].
    pub fn get(client: &Client, task_name: &str, name: &str) -> Result<Self> {
        let inner = client.block_on(crate::Trigger::get(client, task_name, name))?;
        Ok(Self {
            inner,
            client: client.clone(),
        })
    }

    /// See [`crate::Trigger::list`].
    pub fn list(client: &Client, task_name: Option<&str>) -> Result<Vec<Self>> {
        let triggers = client.block_on(crate::Trigger::list(client, task_name))?;
        Ok(triggers
            .into_iter()
            .map(|inner| Self {
                inner,
                client: client.clone(),
            })
            .collect())
    }

    /// See [`crate::Trigger::details`].
    pub fn details(&self) -> Result<Self> {
        let inner = self.client.block_on(self.inner.details(&self.client))?;
        Ok(Self {
            inner,
            client: self.client.clone(),
        })
    }

    /// The async trigger.
    pub fn into_inner(self) -> crate::Trigger {
        self.inner
    }
}

impl Deref for Trigger {
    type Target = crate::Trigger;

    fn deref(&self) -> &crate::Trigger {
        &self.inner
    }
}

/// Blocking [`crate::Logs`]: an iterator of lines.
pub struct Logs {
    attempt: u32,
    lines: Iter<'static, Result<LogLine>>,
}

impl Logs {
    /// See [`crate::Logs::tail`].
    pub fn tail(
        client: &Client,
        action: &ActionId,
        attempt: Option<u32>,
        follow: Follow,
    ) -> Result<Self> {
        let logs = client.block_on(crate::Logs::tail(client, action, attempt, follow))?;
        Ok(Self {
            attempt: logs.attempt(),
            lines: client.iter(logs.into_stream()),
        })
    }

    /// The attempt being read (1-based).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl Iterator for Logs {
    type Item = Result<LogLine>;

    fn next(&mut self) -> Option<Self::Item> {
        self.lines.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocking_client_needs_no_outer_runtime_and_shares_its_own() {
        let client = Client::connect("localhost:1")
            .unwrap()
            .with_project("p".parse().unwrap());
        let clone = client.clone();
        assert!(Arc::ptr_eq(&client.runtime, &clone.runtime));
        assert_eq!(clone.project().as_str(), "p");
    }

    #[test]
    fn blocking_calls_run_the_async_code_to_completion() {
        let client = Client::connect("localhost:1").unwrap();
        let err = ActionDetails::get(&client, "not a uri").unwrap_err();
        assert!(matches!(err, Error::InvalidId(_)), "{err}");
    }
}
