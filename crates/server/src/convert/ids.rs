//! Identifiers of requests: each is parsed once here (with `aerie_convert`, which the client
//! shares), naming the offending field; the wire ids the server sends are built by
//! `aerie_convert` with the run's canonical org.

use crate::error::{ApiError, ApiResult};
use aerie_core::{ActionId, Domain, Org, Project, RunId};
use aerie_wire::flyteidl2::common::{ActionIdentifier, ProjectIdentifier, RunIdentifier};

fn required<'a, T>(field: Option<&'a T>, name: &str) -> ApiResult<&'a T> {
    field.ok_or_else(|| ApiError::missing(name))
}

/// Refuses a request whose `field` leaves one of `parts` empty, naming it `field.part`.
pub fn require_parts(field: &str, parts: &[(&str, &str)]) -> ApiResult<()> {
    match parts.iter().find(|(_, value)| value.is_empty()) {
        Some((part, _)) => Err(ApiError::missing(&format!("{field}.{part}"))),
        None => Ok(()),
    }
}

/// A run id from the wire; `field` names it in errors.
pub fn run_id(wire: &RunIdentifier, field: &str) -> ApiResult<RunId> {
    require_parts(
        field,
        &[
            ("project", &wire.project),
            ("domain", &wire.domain),
            ("name", &wire.name),
        ],
    )?;
    Org::parse(&wire.org)?;
    Ok(aerie_convert::run_id(wire)?)
}

/// A run id from a required message field.
pub fn required_run_id(field: Option<&RunIdentifier>, name: &str) -> ApiResult<RunId> {
    run_id(required(field, name)?, name)
}

/// An action id from a required message field.
pub fn required_action_id(field: Option<&ActionIdentifier>, name: &str) -> ApiResult<ActionId> {
    let wire = required(field, name)?;
    let run = required_run_id(wire.run.as_option(), &format!("{name}.run"))?;
    if wire.name.is_empty() {
        return Err(ApiError::missing(&format!("{name}.name")));
    }
    Ok(ActionId {
        run,
        name: wire.name.parse()?,
    })
}

/// The org a request carries, checked but never part of identity.
pub fn org_of(wire: &RunIdentifier) -> ApiResult<Org> {
    Ok(Org::parse(&wire.org)?)
}

/// Project and domain of a project id (domain may be empty).
pub fn project_scope(wire: &ProjectIdentifier) -> ApiResult<(Project, Option<Domain>)> {
    if wire.name.is_empty() {
        return Err(ApiError::missing("project_id.name"));
    }
    let domain = if wire.domain.is_empty() {
        None
    } else {
        Some(wire.domain.parse()?)
    };
    Ok((wire.name.parse()?, domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(project: &str, name: &str) -> RunIdentifier {
        RunIdentifier {
            project: project.into(),
            domain: "development".into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn missing_and_malformed_fields_are_named() {
        let missing = run_id(&wire("", "r1"), "run_id").unwrap_err().to_string();
        assert_eq!(missing, "run_id.project is required");
        let bad = run_id(&wire("p", "../etc"), "run_id")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("run name \"../etc\""), "{bad}");
        let unset = required_action_id(None, "action_id").unwrap_err();
        assert_eq!(unset.to_string(), "action_id is required");
    }

    #[test]
    fn ids_round_trip_with_the_canonical_org() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/n1").unwrap();
        let org = Org::parse("acme").unwrap();
        let back = required_action_id(
            Some(&aerie_convert::wire_action_id(&action, org.as_str())),
            "action_id",
        )
        .unwrap();
        assert_eq!(back, action);
        assert_eq!(
            aerie_convert::wire_action_id(&action, org.as_str()).run.org,
            "acme"
        );
    }
}
