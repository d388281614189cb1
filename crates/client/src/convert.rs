//! Identifiers the server sent, checked as they enter the client: the parsing is
//! `aerie_convert`'s (shared with the server), an id that breaks the rules is
//! [`Error::Malformed`]. The wire ids the client sends are built with `aerie_convert` too, with
//! an empty org: aerie treats org as opaque and keys runs by project, domain and name only.

use crate::error::{Error, Result};
use aerie_core::{ActionId, RunId};
use aerie_wire::flyteidl2::common::{ActionIdentifier, RunIdentifier};

/// The core id of a run identifier the server sent.
pub(crate) fn run_id_from_wire(run: &RunIdentifier) -> Result<RunId> {
    aerie_convert::run_id(run).map_err(|err| Error::malformed("run id", err))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_round_trip_through_the_wire() {
        let id = ActionId::parse_uri("flyte://v1/flytesnacks/development/r1/n2").unwrap();
        assert_eq!(
            action_id_from_wire(&aerie_convert::wire_action_id(&id, "")).unwrap(),
            id
        );
    }

    #[test]
    fn a_server_id_that_does_not_validate_is_malformed() {
        let id = ActionId::parse_uri("flyte://v1/p/d/r1").unwrap();
        let mut wire = aerie_convert::wire_action_id(&id, "");
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
