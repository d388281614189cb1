//! Identifiers, timestamps, identities and cache outcomes between the flyteidl2 wire (`aerie-wire`) and the
//! domain (`aerie-core`): the one copy the server and the client share.
//!
//! Parsing checks every part with the domain's rules and returns [`IdError`]; each side says
//! which field it was (the server) or that the server sent it (the client). Building a wire id
//! takes the org to write: aerie keys everything by project, domain and name, and carries the
//! org only to send it back.

use aerie_core::{ActionId, CacheStatus, Domain, IdError, Project, RunId, Timestamp};
use aerie_wire::flyteidl2::common::__buffa::oneof::enriched_identity::Principal;
use aerie_wire::flyteidl2::common::{
    ActionIdentifier, EnrichedIdentity, ProjectIdentifier, RunIdentifier, TriggerName, User,
    UserIdentifier, UserSpec,
};
use aerie_wire::flyteidl2::core::CatalogCacheStatus;
use aerie_wire::flyteidl2::task::{TaskIdentifier, TaskName};
use buffa_types::google::protobuf::Timestamp as WireTimestamp;

/// The run a wire run identifier names (its org aside).
pub fn run_id(wire: &RunIdentifier) -> Result<RunId, IdError> {
    Ok(RunId {
        project: wire.project.parse()?,
        domain: wire.domain.parse()?,
        name: wire.name.parse()?,
    })
}

/// The action a wire action identifier names (its org aside).
pub fn action_id(wire: &ActionIdentifier) -> Result<ActionId, IdError> {
    Ok(ActionId {
        run: run_id(&wire.run)?,
        name: wire.name.parse()?,
    })
}

/// The wire identifier of `run`, carrying `org`.
pub fn wire_run_id(run: &RunId, org: &str) -> RunIdentifier {
    RunIdentifier {
        org: org.to_owned(),
        project: run.project.to_string(),
        domain: run.domain.to_string(),
        name: run.name.to_string(),
        ..Default::default()
    }
}

/// The wire identifier of `action`, carrying `org`.
pub fn wire_action_id(action: &ActionId, org: &str) -> ActionIdentifier {
    ActionIdentifier {
        run: wire_run_id(&action.run, org).into(),
        name: action.name.to_string(),
        ..Default::default()
    }
}

/// The wire identifier of `project` within `domain`.
pub fn wire_project(project: &Project, domain: &Domain, org: &str) -> ProjectIdentifier {
    ProjectIdentifier {
        organization: org.to_owned(),
        name: project.to_string(),
        domain: domain.to_string(),
        ..Default::default()
    }
}

/// The wire id of version `version` of task `name` in `project`/`domain`.
pub fn wire_task_id(
    project: &Project,
    domain: &Domain,
    name: &str,
    version: &str,
    org: &str,
) -> TaskIdentifier {
    TaskIdentifier {
        org: org.to_owned(),
        project: project.to_string(),
        domain: domain.to_string(),
        name: name.to_owned(),
        version: version.to_owned(),
        ..Default::default()
    }
}

/// The wire name of task `name` (every version of it) in `project`/`domain`.
pub fn wire_task_name(project: &Project, domain: &Domain, name: &str, org: &str) -> TaskName {
    TaskName {
        org: org.to_owned(),
        project: project.to_string(),
        domain: domain.to_string(),
        name: name.to_owned(),
        ..Default::default()
    }
}

/// The wire name of trigger `name` of task `task_name` in `project`/`domain`.
pub fn wire_trigger_name(
    project: &Project,
    domain: &Domain,
    task_name: &str,
    name: &str,
    org: &str,
) -> TriggerName {
    TriggerName {
        org: org.to_owned(),
        project: project.to_string(),
        domain: domain.to_string(),
        task_name: task_name.to_owned(),
        name: name.to_owned(),
        ..Default::default()
    }
}

/// `instant` as a protobuf timestamp.
pub fn wire_timestamp(instant: Timestamp) -> WireTimestamp {
    let (seconds, nanos) = instant.to_seconds_and_nanos();
    WireTimestamp {
        seconds,
        nanos,
        ..Default::default()
    }
}

/// A protobuf timestamp as an instant (sub-microsecond digits are dropped).
pub fn timestamp(wire: &WireTimestamp) -> Timestamp {
    Timestamp::from_seconds_and_nanos(wire.seconds, wire.nanos)
}

/// The wire identity of the user `name` (subject and handle alike).
pub fn wire_identity(name: &str) -> EnrichedIdentity {
    EnrichedIdentity {
        principal: Some(Principal::User(Box::new(User {
            id: UserIdentifier {
                subject: name.to_owned(),
                ..Default::default()
            }
            .into(),
            spec: UserSpec {
                user_handle: name.to_owned(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }))),
        ..Default::default()
    }
}

/// The name an identity goes by: a user's handle, else its subject; an application's subject.
pub fn identity_name(identity: &EnrichedIdentity) -> Option<&str> {
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

/// The wire's name for a cache outcome.
pub fn wire_cache_status(status: CacheStatus) -> CatalogCacheStatus {
    match status {
        CacheStatus::Disabled => CatalogCacheStatus::CACHE_DISABLED,
        CacheStatus::Miss => CatalogCacheStatus::CACHE_MISS,
        CacheStatus::Hit => CatalogCacheStatus::CACHE_HIT,
        CacheStatus::Populated => CatalogCacheStatus::CACHE_POPULATED,
        CacheStatus::LookupFailure => CatalogCacheStatus::CACHE_LOOKUP_FAILURE,
        CacheStatus::Skipped => CatalogCacheStatus::CACHE_SKIPPED,
        CacheStatus::PutFailure => CatalogCacheStatus::CACHE_PUT_FAILURE,
        CacheStatus::Evicted => CatalogCacheStatus::CACHE_EVICTED,
    }
}

/// A cache outcome from the wire; a number this version does not know reads as disabled.
pub fn cache_status(wire: CatalogCacheStatus) -> CacheStatus {
    match wire {
        CatalogCacheStatus::CACHE_DISABLED => CacheStatus::Disabled,
        CatalogCacheStatus::CACHE_MISS => CacheStatus::Miss,
        CatalogCacheStatus::CACHE_HIT => CacheStatus::Hit,
        CatalogCacheStatus::CACHE_POPULATED => CacheStatus::Populated,
        CatalogCacheStatus::CACHE_LOOKUP_FAILURE => CacheStatus::LookupFailure,
        CatalogCacheStatus::CACHE_SKIPPED => CacheStatus::Skipped,
        CatalogCacheStatus::CACHE_PUT_FAILURE => CacheStatus::PutFailure,
        CatalogCacheStatus::CACHE_EVICTED => CacheStatus::Evicted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_carry_the_org_given() {
        let action = ActionId::parse_uri("flyte://v1/flytesnacks/development/r1/n2").unwrap();
        let wire = wire_action_id(&action, "acme");
        assert_eq!(wire.run.org, "acme");
        assert_eq!(action_id(&wire).unwrap(), action);
    }

    #[test]
    fn a_part_that_breaks_the_rules_is_refused() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1").unwrap();
        let mut wire = wire_action_id(&action, "");
        wire.name = "../etc".into();
        assert!(action_id(&wire).is_err());
    }

    #[test]
    fn timestamps_round_trip_to_the_microsecond() {
        let instant = Timestamp::from_micros(1_764_216_326_123_456);
        assert_eq!(timestamp(&wire_timestamp(instant)), instant);
    }

    #[test]
    fn an_identity_goes_by_its_handle_then_its_subject() {
        assert_eq!(identity_name(&wire_identity("alice")), Some("alice"));
        let subject_only = EnrichedIdentity {
            principal: Some(Principal::User(Box::new(User {
                id: UserIdentifier {
                    subject: "sub-1".into(),
                    ..Default::default()
                }
                .into(),
                ..Default::default()
            }))),
            ..Default::default()
        };
        assert_eq!(identity_name(&subject_only), Some("sub-1"));
        assert_eq!(identity_name(&EnrichedIdentity::default()), None);
    }
}
