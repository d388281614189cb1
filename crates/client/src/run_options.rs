//! [`RunOptions`]: the settings of a new run, as `flyte.with_runcontext` takes them (name,
//! labels, annotations, environment variables, cache overwrite, concurrency, interruptible), and
//! how they become, or are laid over, a wire `RunSpec`. [`crate::Launch`] takes them.

use crate::client::Client;
use aerie_core::RunName;
use aerie_wire::flyteidl2::common::{ProjectIdentifier, RunIdentifier};
use aerie_wire::flyteidl2::core::KeyValuePair;
use aerie_wire::flyteidl2::task::RunSpec;
use aerie_wire::flyteidl2::workflow::__buffa::oneof::create_run_request;
use std::collections::BTreeMap;

/// The settings of a new run, as `flyte.with_runcontext` takes them. Unset settings are left to
/// the server (for a trigger, to the trigger's own; for a rerun, to the source run's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOptions {
    name: Option<RunName>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    env_vars: BTreeMap<String, String>,
    overwrite_cache: bool,
    max_concurrency: Option<u32>,
    interruptible: Option<bool>,
}

impl RunOptions {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the run (the server picks a name otherwise).
    pub fn name(mut self, name: RunName) -> Self {
        self.name = Some(name);
        self
    }

    /// Adds label `key=value`; list filters can select on labels.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds annotation `key=value`.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// Gives every task of the run environment variable `key=value`.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env_vars.insert(key.into(), value.into());
        self
    }

    /// Runs cached tasks again and overwrites their cache entries.
    pub fn overwrite_cache(mut self, overwrite: bool) -> Self {
        self.overwrite_cache = overwrite;
        self
    }

    /// Lets at most `limit` actions of the run run at once (1 is refused by aerie: a parent
    /// holds a slot while its children wait).
    pub fn max_concurrency(mut self, limit: u32) -> Self {
        self.max_concurrency = Some(limit);
        self
    }

    /// Marks the run's tasks interruptible, or not (as each task says otherwise).
    pub fn interruptible(mut self, interruptible: bool) -> Self {
        self.interruptible = Some(interruptible);
        self
    }

    /// Whether no setting is given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The wire `RunSpec` of a new run with these settings.
    pub fn to_run_spec(&self) -> RunSpec {
        let mut spec = RunSpec::default();
        self.apply_to(&mut spec);
        spec
    }

    /// Lays these settings over `spec` (a rerun's copy of its source's): labels, annotations
    /// and environment variables per key, the rest where set.
    pub(crate) fn apply_to(&self, spec: &mut RunSpec) {
        if self.overwrite_cache {
            spec.overwrite_cache = true;
            spec.cache_config.get_or_insert_default().overwrite_cache = true;
        }
        if let Some(limit) = self.max_concurrency {
            spec.max_action_concurrency = limit;
        }
        if let Some(interruptible) = self.interruptible {
            spec.interruptible = buffa_types::google::protobuf::BoolValue {
                value: interruptible,
                ..Default::default()
            }
            .into();
        }
        if !self.labels.is_empty() {
            let labels = &mut spec.labels.get_or_insert_default().values;
            labels.extend(self.labels.clone());
        }
        if !self.annotations.is_empty() {
            let annotations = &mut spec.annotations.get_or_insert_default().values;
            annotations.extend(self.annotations.clone());
        }
        if !self.env_vars.is_empty() {
            let envs = &mut spec.envs.get_or_insert_default().values;
            envs.retain(|pair| !self.env_vars.contains_key(&pair.key));
            envs.extend(self.env_vars.iter().map(|(key, value)| KeyValuePair {
                key: key.clone(),
                value: value.clone(),
                ..Default::default()
            }));
        }
    }

    /// The run to create: its name if given, else the project the server names one in.
    pub(crate) fn run_target(&self, client: &Client) -> RunTarget {
        match &self.name {
            Some(name) => RunTarget::Run(aerie_convert::wire_run_id(
                &client.run_id(name.clone()),
                client.org(),
            )),
            None => RunTarget::Project(aerie_convert::wire_project(
                client.project(),
                client.domain(),
                client.org(),
            )),
        }
    }
}

/// The run a CreateRun names: an exact id, or a project to pick a name in.
#[derive(Debug, Clone)]
pub(crate) enum RunTarget {
    Run(RunIdentifier),
    Project(ProjectIdentifier),
}

impl From<RunTarget> for create_run_request::Id {
    fn from(target: RunTarget) -> Self {
        match target {
            RunTarget::Run(id) => Self::RunId(Box::new(id)),
            RunTarget::Project(project) => Self::ProjectId(Box::new(project)),
        }
    }
}

#[cfg(test)]
mod tests;
