//! Conversions between wire identifiers, timestamps and identities and their `aerie-core` types.
//!
//! Ids from the server are validated here, once, as they enter the client; ids sent to the server
//! are built here from validated core types. The client sends an empty org: aerie treats org as
//! opaque and keys runs by project, domain and name only.

use crate::error::{Error, Result};
use aerie_core::{ActionId, Domain, Project, RunId, Timestamp};
use aerie_wire::flyteidl2::common::__buffa::oneof::enriched_identity::Principal;
use aerie_wire::flyteidl2::common::{
    ActionIdentifier, EnrichedIdentity, ProjectIdentifier, RunIdentifier, TriggerName,
};
use aerie_wire::flyteidl2::task::{TaskIdentifier, TaskName};

/// The core id of a run identifier the server sent.
pub(crate) fn run_id_from_wire(run: &RunIdentifier) -> Result<RunId> {
    let parse = || -> Result<RunId, aerie_core::IdError> {
        Ok(RunId {
            project: run.project.parse()?,
            domain: run.domain.parse()?,
            name: run.name.parse()?,
        })
    };
    parse().map_err(|err| Error::malformed("run id", err))
}

/// The core id of an action identifier the server sent.
pub(crate) fn action_id_from_wire(action: &ActionIdentifier) -> Result<ActionId> {
    let run = run_id_from_wire(&action.run)?;
    let name = action
        .name
        .parse()
        .map_err(|err| Error::malformed("action id", err))?;
    Ok(ActionId { run, name })
}

/// The wire identifier of `run`.
pub(crate) fn run_id_to_wire(run: &RunId) -> RunIdentifier {
    RunIdentifier {
        project: run.project.to_string(),
        domain: run.domain.to_string(),
        name: run.name.to_string(),
        ..Default::default()
    }
}

/// The wire identifier of `action`.
pub(crate) fn action_id_to_wire(action: &ActionId) -> ActionIdentifier {
    ActionIdentifier {
        run: run_id_to_wire(&action.run).into(),
        name: action.name.to_string(),
        ..Default::default()
    }
}

/// The wire identifier of a project within `domain`.
pub(crate) fn project_to_wire(project: &Project, domain: &Domain) -> ProjectIdentifier {
    ProjectIdentifier {
        name: project.to_string(),
        domain: domain.to_string(),
        ..Default::default()
    }
}

/// The wire id of version `version` of task `name` in `project`/`domain`.
pub(crate) fn task_id_to_wire(
    project: &Project,
    domain: &Domain,
    name: &str,
    version: &str,
) -> TaskIdentifier {
    TaskIdentifier {
        project: project.to_string(),
        domain: domain.to_string(),
        name: name.to_owned(),
        version: version.to_owned(),
        ..Default::default()
    }
}

/// The wire name of task `name` (every version of it) in `project`/`domain`.
pub(crate) fn task_name_to_wire(project: &Project, domain: &Domain, name: &str) -> TaskName {
    TaskName {
        project: project.to_string(),
        domain: domain.to_string(),
        name: name.to_owned(),
        ..Default::default()
    }
}

/// The wire name of trigger `name` of task `task_name` in `project`/`domain`.
pub(crate) fn trigger_name_to_wire(
    project: &Project,
    domain: &Domain,
    task_name: &str,
    name: &str,
) -> TriggerName {
    TriggerName {
        project: project.to_string(),
        domain: domain.to_string(),
        task_name: task_name.to_owned(),
        name: name.to_owned(),
        ..Default::default()
    }
}

/// A protobuf timestamp as a core [`Timestamp`].
pub(crate) fn timestamp_from_wire(
    timestamp: &buffa_types::google::protobuf::Timestamp,
) -> Timestamp {
    Timestamp::from_seconds_and_nanos(timestamp.seconds, timestamp.nanos)
}

/// The name an identity goes by: a user's handle, else its subject; an application's subject.
pub(crate) fn identity_name(identity: &EnrichedIdentity) -> Option<&str> {
    let name = match &identity.principal {
        Some(Principal::User(user)) => {
            let handle = user.spec.user_handle.as_str();
            if handle.is_empty() {
                user.id.subject.as_str()
            } else {
                handle
            }
        }
        Some(Principal::Application(application)) => application.id.subject.as_str(),
        None => "",
    };
    Some(name).filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_wire::flyteidl2::common::{User, UserIdentifier, UserSpec};

    fn user(handle: &str, subject: &str) -> EnrichedIdentity {
        EnrichedIdentity {
            principal: Some(Principal::User(Box::new(User {
                id: UserIdentifier {
                    subject: subject.into(),
                    ..Default::default()
                }
                .into(),
                spec: UserSpec {
                    user_handle: handle.into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            }))),
            ..Default::default()
        }
    }

    #[test]
    fn action_ids_round_trip_through_the_wire() {
        let id = ActionId::parse_uri("flyte://v1/flytesnacks/development/r1/n2").unwrap();
        assert_eq!(action_id_from_wire(&action_id_to_wire(&id)).unwrap(), id);
    }

    #[test]
    fn a_server_id_that_does_not_validate_is_malformed() {
        let mut wire = action_id_to_wire(&ActionId::parse_uri("flyte://v1/p/d/r1").unwrap());
        wire.name = "../etc".into();
        assert!(matches!(
            action_id_from_wire(&wire),
            Err(Error::Malformed {
                what: "action id",
                ..
            })
        ));
    }

    #[test]
    fn a_deployer_goes_by_handle_then_subject() {
        assert_eq!(identity_name(&user("alice", "sub-1")), Some("alice"));
        assert_eq!(identity_name(&user("", "sub-1")), Some("sub-1"));
        assert_eq!(identity_name(&user("", "")), None);
        assert_eq!(identity_name(&EnrichedIdentity::default()), None);
    }
}
