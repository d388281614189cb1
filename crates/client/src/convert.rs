//! Conversions between wire identifiers and timestamps and their `aerie-core` types.
//!
//! Ids from the server are validated here, once, as they enter the client; ids sent to the server
//! are built here from validated core types. The client sends an empty org: aerie treats org as
//! opaque and keys runs by project, domain and name only.

use crate::error::{Error, Result};
use aerie_core::{ActionId, Project, RunId, Timestamp};
use aerie_wire::flyteidl2::common::{ActionIdentifier, ProjectIdentifier, RunIdentifier};

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
pub(crate) fn project_to_wire(project: &Project, domain: &aerie_core::Domain) -> ProjectIdentifier {
    ProjectIdentifier {
        name: project.to_string(),
        domain: domain.to_string(),
        ..Default::default()
    }
}

/// A protobuf timestamp as a core [`Timestamp`].
pub(crate) fn timestamp_from_wire(
    timestamp: &buffa_types::google::protobuf::Timestamp,
) -> Timestamp {
    Timestamp::from_seconds_and_nanos(timestamp.seconds, timestamp.nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
