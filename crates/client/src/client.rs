//! The connection to a control plane, and the project and domain calls default to.
//!
//! A [`Client`] is cheap to clone (the HTTP connection pool is shared) and makes no call when it
//! is created: like `flyte.init`, [`Client::connect`] only checks the endpoint, and the first
//! request dials. The RPCs themselves live in the private `rpc` module.

use crate::endpoint::parse_endpoint;
use crate::error::Result;
use aerie_core::{ActionId, ActionName, Domain, Project, RunId, RunName};
use aerie_wire::flyteidl2::dataproxy::DataProxyServiceClient;
use aerie_wire::flyteidl2::task::TaskServiceClient;
use aerie_wire::flyteidl2::trigger::TriggerServiceClient;
use aerie_wire::flyteidl2::workflow::RunServiceClient;
use connectrpc::client::{ClientConfig, HttpClient};
use http::Uri;
use std::fmt;

/// The project calls use unless told otherwise (the Flyte examples' project).
pub const DEFAULT_PROJECT: &str = "flytesnacks";
/// The domain calls use unless told otherwise.
pub const DEFAULT_DOMAIN: &str = "development";

/// A connection to an aerie server (or any Flyte 2 control plane speaking Connect).
#[derive(Clone)]
pub struct Client {
    pub(crate) runs: RunServiceClient<HttpClient>,
    pub(crate) data: DataProxyServiceClient<HttpClient>,
    pub(crate) tasks: TaskServiceClient<HttpClient>,
    pub(crate) triggers: TriggerServiceClient<HttpClient>,
    endpoint: Uri,
    project: Project,
    domain: Domain,
}

impl Client {
    /// A client for `endpoint`: `localhost:30080`, `http://host:port` or `dns:///host:port`.
    ///
    /// Makes no request; an unreachable server shows up on the first call as an `unavailable`
    /// [`Error::Rpc`](crate::Error::Rpc). Project and domain default to [`DEFAULT_PROJECT`] and
    /// [`DEFAULT_DOMAIN`].
    pub fn connect(endpoint: &str) -> Result<Self> {
        let endpoint = parse_endpoint(endpoint)?;
        let transport = HttpClient::plaintext();
        let config = ClientConfig::new(endpoint.clone());
        Ok(Self {
            runs: RunServiceClient::new(transport.clone(), config.clone()),
            data: DataProxyServiceClient::new(transport.clone(), config.clone()),
            tasks: TaskServiceClient::new(transport.clone(), config.clone()),
            triggers: TriggerServiceClient::new(transport, config),
            endpoint,
            project: DEFAULT_PROJECT.parse()?,
            domain: DEFAULT_DOMAIN.parse()?,
        })
    }

    /// The same connection, defaulting to `project`.
    #[must_use]
    pub fn with_project(mut self, project: Project) -> Self {
        self.project = project;
        self
    }

    /// The same connection, defaulting to `domain`.
    #[must_use]
    pub fn with_domain(mut self, domain: Domain) -> Self {
        self.domain = domain;
        self
    }

    /// The base URI calls go to, e.g. `http://localhost:30080/`.
    pub fn endpoint(&self) -> &Uri {
        &self.endpoint
    }

    /// The default project.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The default domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The run `name` in the default project and domain.
    pub fn run_id(&self, name: RunName) -> RunId {
        RunId {
            project: self.project.clone(),
            domain: self.domain.clone(),
            name,
        }
    }

    /// The action `action` of run `run` in the default project and domain.
    pub fn action_id(&self, run: RunName, action: ActionName) -> ActionId {
        ActionId {
            run: self.run_id(run),
            name: action,
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("project", &self.project)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_makes_no_call_and_uses_the_default_scope() {
        let client = Client::connect("localhost:1").unwrap();
        assert_eq!(client.endpoint().to_string(), "http://localhost:1/");
        let id = client.action_id("r1".parse().unwrap(), ActionName::root());
        assert_eq!(id.to_string(), "flytesnacks/development/r1/a0");
    }

    #[test]
    fn project_and_domain_can_be_changed() {
        let client = Client::connect("localhost:1")
            .unwrap()
            .with_project("p".parse().unwrap())
            .with_domain("production".parse().unwrap());
        let run = client.run_id("r1".parse().unwrap());
        assert_eq!(run.to_string(), "p/production/r1");
    }
}
