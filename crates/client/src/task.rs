//! [`Task`]: one deployed version of a task, as `flyte.remote.Task` shows it.
//!
//! A version is what TaskService/DeployTask stored: immutable, named by project, domain, task
//! name and version. [`Task::get`] fetches one with its spec (the latest when no version is
//! named); [`Task::list`] lists versions without their specs, newest deploy first. The wire
//! message comes in two shapes, kept as received in [`TaskMessage`].

use crate::client::Client;
use crate::error::{Error, Result};
use crate::rpc::{TaskListing, collect_pages};
use crate::value::Value;
use aerie_core::Timestamp;
use aerie_wire::flyteidl2::core::__buffa::oneof::parameter;
use aerie_wire::flyteidl2::core::{Literal, LiteralType};
use aerie_wire::flyteidl2::task::{
    Task as WireTask, TaskDetails, TaskIdentifier, TaskMetadata, TaskSpec,
};
use serde::{Serialize, Serializer};

/// The wire message a [`Task`] was read from.
#[derive(Debug, Clone)]
pub enum TaskMessage {
    /// From TaskService/GetTaskDetails: id, metadata and spec.
    Details(Box<TaskDetails>),
    /// From TaskService/ListTasks: id and metadata, no spec.
    Listed(Box<WireTask>),
}

impl Serialize for TaskMessage {
    /// The proto3 JSON of the message as received.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Details(details) => details.serialize(serializer),
            Self::Listed(task) => task.serialize(serializer),
        }
    }
}

/// One deployed task version: its id, who deployed it and when, and (from [`Task::get`]) its
/// spec.
#[derive(Debug, Clone)]
pub struct Task {
    message: TaskMessage,
}

impl Task {
    /// Wraps the details GetTaskDetails returned; an id without a name or version is malformed.
    pub fn from_details(details: TaskDetails) -> Result<Self> {
        check_id(&details.task_id)?;
        Ok(Self {
            message: TaskMessage::Details(Box::new(details)),
        })
    }

    /// Wraps one version ListTasks returned; an id without a name or version is malformed.
    pub fn from_listed(task: WireTask) -> Result<Self> {
        check_id(&task.task_id)?;
        Ok(Self {
            message: TaskMessage::Listed(Box::new(task)),
        })
    }

    /// Fetches version `version` of task `name` in the client's project and domain, spec
    /// included; with `None`, the version deployed last. A task with no deployed version is
    /// [`Error::TaskNotDeployed`] (and [`Error::is_not_found`]).
    pub async fn get(client: &Client, name: &str, version: Option<&str>) -> Result<Self> {
        let task_id = match version {
            Some(version) => aerie_convert::wire_task_id(
                client.project(),
                client.domain(),
                name,
                version,
                client.org(),
            ),
            None => latest_version_id(client, name).await?,
        };
        Self::from_details(client.get_task_details(&task_id).await?)
    }

    /// Every deployed version in the client's project and domain, of task `name` only when
    /// given, newest deploy first, fetched page by page. Listed versions carry no spec.
    pub async fn list(client: &Client, name: Option<&str>) -> Result<Vec<Self>> {
        let listing = TaskListing {
            name_opt: name,
            limit: crate::rpc::PAGE_SIZE,
        };
        collect_pages(|token| client.list_tasks_page(&listing, token))
            .await?
            .into_iter()
            .map(Self::from_listed)
            .collect()
    }

    /// Every deployed version of task `name`, newest first, as [`list`](Self::list) gives
    /// them; [`Error::TaskNotDeployed`] when there is none.
    pub async fn versions(client: &Client, name: &str) -> Result<Vec<Self>> {
        let versions = Self::list(client, Some(name)).await?;
        if versions.is_empty() {
            return Err(not_deployed(client, name));
        }
        Ok(versions)
    }

    /// The task's id: project, domain, name and version.
    pub fn task_id(&self) -> &TaskIdentifier {
        match &self.message {
            TaskMessage::Details(details) => &details.task_id,
            TaskMessage::Listed(task) => &task.task_id,
        }
    }

    /// The task's name, e.g. `env.main`.
    pub fn name(&self) -> &str {
        &self.task_id().name
    }

    /// The version's name.
    pub fn version(&self) -> &str {
        &self.task_id().version
    }

    /// Who deployed it and when, short name and environment: the wire `TaskMetadata`.
    pub fn metadata(&self) -> &TaskMetadata {
        match &self.message {
            TaskMessage::Details(details) => &details.metadata,
            TaskMessage::Listed(task) => &task.metadata,
        }
    }

    /// When the version was deployed.
    pub fn deployed_at(&self) -> Option<Timestamp> {
        self.metadata()
            .deployed_at
            .as_option()
            .map(aerie_convert::timestamp)
    }

    /// Who deployed the version: a user's handle (or subject), or an application's subject.
    pub fn deployed_by(&self) -> Option<&str> {
        aerie_convert::identity_name(&self.metadata().deployed_by)
    }

    /// The task's short name, as the SDK shows it (e.g. `main`); empty if the deploy set none.
    pub fn short_name(&self) -> &str {
        &self.metadata().short_name
    }

    /// The name of the environment the task belongs to; empty if the deploy set none.
    pub fn environment_name(&self) -> &str {
        &self.metadata().environment_name
    }

    /// The spec exactly as deployed; `None` for versions from [`list`](Self::list).
    pub fn spec(&self) -> Option<&TaskSpec> {
        match &self.message {
            TaskMessage::Details(details) => details.spec.as_option(),
            TaskMessage::Listed(_) => None,
        }
    }

    /// The inputs the version declares, in order, with their types and deployed defaults (as
    /// Python's `interface`, `required_args` and `default_input_args`); `None` for versions from
    /// [`list`](Self::list), which carry no spec.
    pub fn inputs(&self) -> Option<Vec<TaskInput<'_>>> {
        self.spec().map(declared_inputs)
    }

    /// The wire message as received.
    pub fn wire(&self) -> &TaskMessage {
        &self.message
    }
}

/// One input a task declares.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInput<'a> {
    /// The input's name.
    pub name: &'a str,
    /// Its declared type.
    pub ty: &'a LiteralType,
    /// The default it was deployed with, if any.
    pub default: Option<&'a Literal>,
}

impl TaskInput<'_> {
    /// Whether a run must give this input (it has no default).
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }

    /// The default as a [`Value`].
    pub fn default_value(&self) -> Option<Value> {
        self.default.map(Value::from_literal)
    }
}

/// The inputs `spec` declares, in interface order, each with its deployed default.
pub fn declared_inputs(spec: &TaskSpec) -> Vec<TaskInput<'_>> {
    spec.task_template
        .interface
        .inputs
        .variables
        .iter()
        .map(|entry| TaskInput {
            name: &entry.key,
            ty: &entry.value.r#type,
            default: spec
                .default_inputs
                .iter()
                .find(|default| default.name == entry.key)
                .and_then(|default| match &default.parameter.behavior {
                    Some(parameter::Behavior::Default(literal)) => Some(&**literal),
                    _ => None,
                }),
        })
        .collect()
}

/// The id of the version of task `name` deployed last (ListTasks, name EQUAL, newest first,
/// one item).
async fn latest_version_id(client: &Client, name: &str) -> Result<TaskIdentifier> {
    let listing = TaskListing {
        name_opt: Some(name),
        limit: 1,
    };
    let page = client.list_tasks_page(&listing, String::new()).await?;
    let latest = page
        .items
        .into_iter()
        .next()
        .ok_or_else(|| not_deployed(client, name))?;
    let task_id = latest
        .task_id
        .into_option()
        .ok_or_else(|| Error::malformed("ListTasks response", "a task without an id"))?;
    check_id(&task_id)?;
    Ok(task_id)
}

fn not_deployed(client: &Client, name: &str) -> Error {
    Error::TaskNotDeployed {
        task: format!("{}/{}/{name}", client.project(), client.domain()),
    }
}

/// A task id the server sent must name the task and the version.
fn check_id(task_id: &TaskIdentifier) -> Result<()> {
    if task_id.name.is_empty() || task_id.version.is_empty() {
        return Err(Error::malformed(
            "task id",
            format_args!(
                "name {:?} and version {:?} must both be set",
                task_id.name, task_id.version
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, version: &str) -> WireTask {
        WireTask {
            task_id: TaskIdentifier {
                project: "p".into(),
                domain: "d".into(),
                name: name.into(),
                version: version.into(),
                ..Default::default()
            }
            .into(),
            metadata: TaskMetadata {
                short_name: "main".into(),
                environment_name: "env".into(),
                deployed_at: buffa_types::google::protobuf::Timestamp {
                    seconds: 1_764_216_326,
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_listed_version_reads_its_id_and_metadata_and_has_no_spec() {
        let task = Task::from_listed(listed("env.main", "v1")).unwrap();
        assert_eq!(task.name(), "env.main");
        assert_eq!(task.version(), "v1");
        assert_eq!(task.short_name(), "main");
        assert_eq!(task.environment_name(), "env");
        assert_eq!(
            task.deployed_at(),
            Some(Timestamp::from_seconds_and_nanos(1_764_216_326, 0))
        );
        assert_eq!(task.deployed_by(), None);
        assert!(task.spec().is_none());
    }

    #[test]
    fn a_task_id_without_a_version_is_malformed() {
        assert!(matches!(
            Task::from_listed(listed("env.main", "")),
            Err(Error::Malformed {
                what: "task id",
                ..
            })
        ));
    }

    #[test]
    fn task_json_is_the_message_as_received() {
        let task = Task::from_listed(listed("env.main", "v1")).unwrap();
        let json = serde_json::to_value(task.wire()).unwrap();
        assert_eq!(json["taskId"]["name"], "env.main");
        assert_eq!(json["metadata"]["shortName"], "main");
    }
}
