//! The connection to a control plane, and the project and domain calls default to.
//!
//! A [`Client`] is cheap to clone (the HTTP connection pool is shared) and makes no call when it
//! is created: like `flyte.init`, [`Client::connect`] only checks the endpoint, and the first
//! request dials. The RPCs themselves live in the private `rpc` module.

use crate::config::Config;
use crate::credentials::{ApiKey, Credentials, Transport};
use crate::endpoint::{DEFAULT_ENDPOINT, parse_endpoint};
use crate::error::{Error, Result};
use aerie_core::{ActionId, ActionName, Domain, Project, RunId, RunName};
use aerie_wire::flyteidl2::dataproxy::DataProxyServiceClient;
use aerie_wire::flyteidl2::task::TaskServiceClient;
use aerie_wire::flyteidl2::trigger::TriggerServiceClient;
use aerie_wire::flyteidl2::workflow::RunServiceClient;
use connectrpc::client::{ClientConfig, HttpClient};
use http::Uri;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The project calls use unless told otherwise (the Flyte examples' project).
pub const DEFAULT_PROJECT: &str = "flytesnacks";
/// The domain calls use unless told otherwise.
pub const DEFAULT_DOMAIN: &str = "development";

/// A connection to an aerie server (or any Flyte 2 control plane speaking Connect).
#[derive(Clone)]
pub struct Client {
    pub(crate) runs: RunServiceClient<Transport>,
    pub(crate) data: DataProxyServiceClient<Transport>,
    pub(crate) tasks: TaskServiceClient<Transport>,
    pub(crate) triggers: TriggerServiceClient<Transport>,
    endpoint: Uri,
    project: Project,
    domain: Domain,
    org: String,
    authenticated: bool,
}

impl Client {
    /// A client for `endpoint`: `localhost:30080`, `http://host:port` or `dns:///host:port` in
    /// plaintext, `https://host[:port]` over TLS with the system's roots; no credential.
    ///
    /// Makes no request; an unreachable server shows up on the first call as an `unavailable`
    /// [`Error::Rpc`]. Project and domain default to [`DEFAULT_PROJECT`] and
    /// [`DEFAULT_DOMAIN`].
    pub fn connect(endpoint: &str) -> Result<Self> {
        let endpoint = parse_endpoint(endpoint, false)?;
        let http = http_client(&endpoint, None)?;
        Self::with_transport(
            endpoint,
            Transport {
                http,
                credentials: None,
            },
        )
    }

    /// A client as the `flyte` CLI would connect from these settings: endpoint (aerie's local
    /// default when none), TLS unless `insecure` (trusting `ca_cert_file` if given, else the
    /// system's roots), the API key's token with every call (over TLS only, as in the SDK), and
    /// the default project and domain.
    pub fn from_config(config: &Config) -> Result<Self> {
        let key = match &config.api_key {
            Some(encoded) if !config.insecure => Some(
                ApiKey::decode(encoded)
                    .map_err(|reason| Error::Config(format!("FLYTE_API_KEY: {reason}")))?,
            ),
            _ => None,
        };
        let (endpoint, tls) = match (&config.endpoint, &key) {
            (Some(endpoint), _) => (endpoint.clone(), !config.insecure),
            (None, Some(key)) => (key.endpoint.clone(), true),
            (None, None) => (DEFAULT_ENDPOINT.to_owned(), false),
        };
        let endpoint = parse_endpoint(&endpoint, tls)?;
        let http = http_client(&endpoint, config.ca_cert_file.as_deref())?;
        let key_org = key.as_ref().and_then(|key| key.org.clone());
        let credentials = key.map(|key| Arc::new(Credentials::new(key, endpoint.clone())));
        let mut client = Self::with_transport(endpoint, Transport { http, credentials })?;
        if let Some(project) = &config.project {
            client.project = project.parse()?;
        }
        if let Some(domain) = &config.domain {
            client.domain = domain.parse()?;
        }
        let key_org = key_org.filter(|_| config.org.is_none());
        if let Some(org) = config.org.clone().or(key_org) {
            client = client.with_org(org)?;
        }
        Ok(client)
    }

    /// A client from the settings [`Config::discover`] finds: the flyte config file, the SDK's
    /// environment variables, and `AERIE_ENDPOINT`.
    pub fn discover() -> Result<Self> {
        Self::from_config(&Config::discover()?)
    }

    fn with_transport(endpoint: Uri, transport: Transport) -> Result<Self> {
        let config = ClientConfig::new(endpoint.clone());
        let authenticated = transport.credentials.is_some();
        Ok(Self {
            runs: RunServiceClient::new(transport.clone(), config.clone()),
            data: DataProxyServiceClient::new(transport.clone(), config.clone()),
            tasks: TaskServiceClient::new(transport.clone(), config.clone()),
            triggers: TriggerServiceClient::new(transport, config),
            endpoint,
            project: DEFAULT_PROJECT.parse()?,
            domain: DEFAULT_DOMAIN.parse()?,
            org: String::new(),
            authenticated,
        })
    }

    /// Whether calls carry an API key's token.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
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

    /// The same connection in organization `org` (sent in every id, as the SDK sends
    /// `task.org`); aerie keeps no organizations and ignores it. An org the server would refuse
    /// (too long, control characters) is refused here.
    pub fn with_org(mut self, org: impl Into<String>) -> Result<Self> {
        let org = org.into();
        aerie_core::Org::parse(&org)?;
        self.org = org;
        Ok(self)
    }

    /// The organization sent in every id; empty when none is set.
    pub fn org(&self) -> &str {
        &self.org
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

/// The HTTP client for `endpoint`: plaintext, or TLS trusting `ca_cert_file` alone (as the SDK
/// does) or else the system's roots.
fn http_client(endpoint: &Uri, ca_cert_file: Option<&Path>) -> Result<HttpClient> {
    if endpoint.scheme_str() != Some("https") {
        return Ok(HttpClient::plaintext());
    }
    let mut roots = rustls::RootCertStore::empty();
    match ca_cert_file {
        Some(path) => {
            let unreadable = |err: &dyn fmt::Display| {
                Error::Config(format!("CA certificates {}: {err}", path.display()))
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|err| unreadable(&err))? {
                roots
                    .add(cert.map_err(|err| unreadable(&err))?)
                    .map_err(|err| unreadable(&err))?;
            }
            if roots.is_empty() {
                return Err(unreadable(&"no certificate in the file"));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system root rustls cannot parse is skipped, as browsers skip it.
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Config(format!("TLS: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(HttpClient::with_tls(Arc::new(tls)))
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("project", &self.project)
            .field("domain", &self.domain)
            .field("org", &self.org)
            .field("authenticated", &self.authenticated)
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
    fn a_config_sets_scope_and_org_and_an_api_key_needs_tls() {
        use base64::Engine as _;
        let key =
            base64::engine::general_purpose::STANDARD.encode("aerie.example:id:secret:keyorg");
        let from_key = Client::from_config(&Config {
            api_key: Some(key.clone()),
            project: Some("ml".into()),
            ..Config::default()
        })
        .unwrap();
        assert_eq!(from_key.endpoint().to_string(), "https://aerie.example/");
        assert!(from_key.is_authenticated());
        assert_eq!(from_key.org(), "keyorg");
        assert_eq!(from_key.project().as_str(), "ml");
        let insecure = Client::from_config(&Config {
            endpoint: Some("localhost:30080".into()),
            insecure: true,
            api_key: Some(key),
            org: Some("acme".into()),
            ..Config::default()
        })
        .unwrap();
        assert!(!insecure.is_authenticated(), "no credential over plaintext");
        assert_eq!(insecure.org(), "acme");
        assert_eq!(
            Client::from_config(&Config::default())
                .unwrap()
                .endpoint()
                .to_string(),
            "http://localhost:30080/"
        );
        assert!(matches!(
            Client::from_config(&Config {
                api_key: Some("not a key".into()),
                ..Config::default()
            }),
            Err(Error::Config(_))
        ));
        assert!(
            Client::connect("localhost:1")
                .unwrap()
                .with_org("bad\norg")
                .is_err()
        );
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
