//! [`Config`]: where to connect and as whom, found the way the `flyte` CLI finds it.
//!
//! [`Config::discover`] reads the first flyte config file of the SDK's search order
//! (`./config.yaml`, `./.flyte/config.yaml`, `.flyte/config.yaml` at the git root,
//! `$UCTL_CONFIG`, `$FLYTECTL_CONFIG`, `~/.union/config.yaml`, `~/.flyte/config.yaml`), then lays
//! the SDK's environment variables over it: `FLYTE_ADMIN_ENDPOINT`, `FLYTE_ADMIN_INSECURE`,
//! `FLYTE_ADMIN_CACERTFILEPATH`, `FLYTE_TASK_PROJECT`, `FLYTE_TASK_DOMAIN`, `FLYTE_TASK_ORG` and
//! `FLYTE_API_KEY` (whose endpoint is used when no other is set). `AERIE_ENDPOINT`, as the
//! `aerie` CLI reads it, names the endpoint above all of them.
//!
//! Two of the SDK's quirks are not copied: its environment variables count here even when no
//! file is found, and `FLYTE_ADMIN_INSECURE=false` means false.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Connection settings: endpoint, transport security, credential, and default project and
/// domain. [`crate::Client::from_config`] connects with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The control plane, as written: `dns:///host:port`, `host:port`, `https://host`, ...
    /// `None` means aerie's local default, [`crate::DEFAULT_ENDPOINT`], in plaintext.
    pub endpoint: Option<String>,
    /// Plaintext HTTP instead of TLS (`admin.insecure`). As in the SDK, no credential is sent
    /// over plaintext.
    pub insecure: bool,
    /// A PEM bundle to trust instead of the system's roots (`admin.caCertFilePath`).
    pub ca_cert_file: Option<PathBuf>,
    /// The default project (`task.project`).
    pub project: Option<String>,
    /// The default domain (`task.domain`).
    pub domain: Option<String>,
    /// The organization (`task.org`).
    pub org: Option<String>,
    /// An API key as `flyte create api-key` or `aerie apikey create` prints it
    /// (`FLYTE_API_KEY`).
    pub api_key: Option<String>,
    /// The config file these settings came from, if any.
    pub file: Option<PathBuf>,
}

/// The parts of a flyte config file the client reads; every other key is ignored.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    admin: AdminSection,
    #[serde(default)]
    task: TaskSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminSection {
    endpoint: Option<String>,
    insecure: Option<bool>,
    ca_cert_file_path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct TaskSection {
    project: Option<String>,
    domain: Option<String>,
    org: Option<String>,
}

/// Where [`Config::discover`] looks: the process's environment, working directory and home.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Environment variables.
    pub vars: HashMap<String, String>,
    /// The working directory.
    pub cwd: Option<PathBuf>,
    /// The home directory.
    pub home: Option<PathBuf>,
}

impl Environment {
    /// The environment of this process.
    pub fn current() -> Self {
        Self {
            vars: std::env::vars().collect(),
            cwd: std::env::current_dir().ok(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }
}

impl Environment {
    /// The variable `name`, if set and not empty.
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .filter(|value| !value.is_empty())
            .cloned()
    }
}

impl Config {
    /// The settings of this process: the first flyte config file found, the SDK's environment
    /// variables over it, and `AERIE_ENDPOINT` over both (see the module docs).
    pub fn discover() -> Result<Self> {
        Self::discover_in(&Environment::current())
    }

    /// [`discover`](Self::discover) in a given environment.
    pub fn discover_in(env: &Environment) -> Result<Self> {
        let mut config = match search_paths(env).into_iter().find(|path| path.is_file()) {
            Some(path) => Self::from_file(&path)?,
            None => Self::default(),
        };
        config.apply_env(env);
        Ok(config)
    }

    /// The settings of one flyte config file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            Error::Config(format!(
                "cannot read flyte config {}: {err}",
                path.display()
            ))
        })?;
        let file: ConfigFile = serde_yaml_ng::from_str(&text).map_err(|err| {
            Error::Config(format!(
                "flyte config {} is not valid: {err}",
                path.display()
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Ok(Self {
            endpoint: file.admin.endpoint,
            insecure: file.admin.insecure.unwrap_or(false),
            ca_cert_file: file.admin.ca_cert_file_path.map(|ca| base.join(ca)),
            project: file.task.project,
            domain: file.task.domain,
            org: file.task.org,
            api_key: None,
            file: Some(path.to_owned()),
        })
    }

    /// Lays the SDK's environment variables, then `AERIE_ENDPOINT`, over these settings.
    fn apply_env(&mut self, env: &Environment) {
        let var = |name| env.var(name);
        if let Some(endpoint) = var("FLYTE_ADMIN_ENDPOINT") {
            self.endpoint = Some(endpoint);
        }
        if let Some(insecure) = var("FLYTE_ADMIN_INSECURE") {
            self.insecure = matches!(
                insecure.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "y" | "t"
            );
        }
        if let Some(ca) = var("FLYTE_ADMIN_CACERTFILEPATH") {
            self.ca_cert_file = Some(PathBuf::from(ca));
        }
        for (name, slot) in [
            ("FLYTE_TASK_PROJECT", &mut self.project),
            ("FLYTE_TASK_DOMAIN", &mut self.domain),
            ("FLYTE_TASK_ORG", &mut self.org),
        ] {
            if let Some(value) = var(name) {
                *slot = Some(value);
            }
        }
        if let Some(key) = var("FLYTE_API_KEY") {
            self.api_key = Some(key);
        }
        if let Some(endpoint) = var("AERIE_ENDPOINT") {
            self.insecure = !endpoint.trim().starts_with("https://");
            self.endpoint = Some(endpoint);
        }
    }
}

/// The SDK's config search order, first match wins.
fn search_paths(env: &Environment) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(cwd) = &env.cwd {
        paths.push(cwd.join("config.yaml"));
        paths.push(cwd.join(".flyte").join("config.yaml"));
        if let Some(root) = cwd.ancestors().find(|dir| dir.join(".git").exists()) {
            paths.push(root.join(".flyte").join("config.yaml"));
        }
    }
    for name in ["UCTL_CONFIG", "FLYTECTL_CONFIG"] {
        if let Some(path) = env.var(name) {
            paths.push(PathBuf::from(path));
        }
    }
    if let Some(home) = &env.home {
        paths.push(home.join(".union").join("config.yaml"));
        paths.push(home.join(".flyte").join("config.yaml"));
    }
    paths
}

#[cfg(test)]
mod tests;
