//! Identifiers of projects, domains, runs and actions.
//!
//! Each name is a newtype whose constructor is the only way in. Names become storage path
//! segments (`{project}/{domain}/{run}/{action}`), so the rules are strict: 1 to 63 ASCII letters,
//! digits, `-`, `_` or `.`, starting with a letter or digit. Org is opaque (the SDK derives it
//! from the endpoint and task processes send their own), never part of a path and never part of
//! an identity: runs are keyed by project, domain and name alone.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest accepted name, in bytes.
pub const MAX_NAME_LEN: usize = 63;
/// Longest accepted org, in bytes.
pub const MAX_ORG_LEN: usize = 255;

/// Why a raw string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} {value:?} is longer than {max} characters")]
    TooLong {
        what: &'static str,
        value: String,
        max: usize,
    },
    #[error(
        "{what} {value:?} may only hold letters, digits, '-', '_' and '.', and must start with a letter or digit"
    )]
    BadCharacter { what: &'static str, value: String },
    #[error("malformed action URI {value:?}: {reason}")]
    BadUri { value: String, reason: &'static str },
}

fn check_path_segment(what: &'static str, raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty { what });
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(IdError::TooLong {
            what,
            value: raw.chars().take(80).collect(),
            max: MAX_NAME_LEN,
        });
    }
    let mut chars = raw.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if starts_well && rest_ok {
        Ok(())
    } else {
        Err(IdError::BadCharacter {
            what,
            value: raw.into(),
        })
    }
}

macro_rules! path_segment_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The validated name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(raw: &str) -> Result<Self, IdError> {
                check_path_segment($what, raw).map(|()| Self(raw.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                check_path_segment($what, &raw).map(|()| Self(raw))
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

path_segment_name!(
    /// A project, e.g. `flytesnacks`.
    Project,
    "project"
);
path_segment_name!(
    /// A domain, e.g. `development`.
    Domain,
    "domain"
);
path_segment_name!(
    /// A run's name, unique within its project and domain.
    RunName,
    "run name"
);
path_segment_name!(
    /// An action's name, unique within its run; the root action is always `a0`.
    ActionName,
    "action name"
);

impl ActionName {
    /// The name of every run's root action.
    pub fn root() -> Self {
        Self("a0".into())
    }

    /// Whether this is the root action `a0`.
    pub fn is_root(&self) -> bool {
        self.0 == "a0"
    }
}

/// An organisation as clients send it: opaque, possibly empty, never part of an identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Org(String);

impl Org {
    /// Accepts any org up to [`MAX_ORG_LEN`] bytes without control characters.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if raw.len() > MAX_ORG_LEN {
            return Err(IdError::TooLong {
                what: "org",
                value: raw.chars().take(80).collect(),
                max: MAX_ORG_LEN,
            });
        }
        if raw.chars().any(char::is_control) {
            return Err(IdError::BadCharacter {
                what: "org",
                value: raw.into(),
            });
        }
        Ok(Self(raw.into()))
    }

    /// The org as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A run: project, domain and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId {
    pub project: Project,
    pub domain: Domain,
    pub name: RunName,
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.project, self.domain, self.name)
    }
}

/// An action: its run and its name within that run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ActionId {
    pub run: RunId,
    pub name: ActionName,
}

impl ActionId {
    /// The root action `a0` of `run`.
    pub fn root_of(run: RunId) -> Self {
        Self {
            run,
            name: ActionName::root(),
        }
    }

    /// The action URI: `flyte://v1/{project}/{domain}/{run}/{action}`.
    pub fn to_uri(&self) -> String {
        format!(
            "flyte://v1/{}/{}/{}/{}",
            self.run.project, self.run.domain, self.run.name, self.name
        )
    }

    /// Parses an action URI in either of the two forms aerie accepts:
    ///
    /// - `flyte://v1/{project}/{domain}/{run}[/{action}]`
    /// - a console URL, `http(s)://HOST/v2/domain/{domain}/project/{project}/runs/{run}[/{action}]`
    ///   (a trailing `/actions/{action}` is accepted too)
    ///
    /// A missing action means the root action `a0`. Query strings and fragments are ignored.
    pub fn parse_uri(uri: &str) -> Result<Self, IdError> {
        let bad = |reason| IdError::BadUri {
            value: uri.chars().take(200).collect(),
            reason,
        };
        let without_query = uri.split(['?', '#']).next().unwrap_or_default();
        let segments = |rest: &str| -> Vec<String> {
            rest.split('/')
                .filter(|segment| !segment.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let (project, domain, run, action) = if let Some(rest) =
            without_query.strip_prefix("flyte://v1/")
        {
            match segments(rest).as_slice() {
                [project, domain, run] => (project.clone(), domain.clone(), run.clone(), None),
                [project, domain, run, action] => (
                    project.clone(),
                    domain.clone(),
                    run.clone(),
                    Some(action.clone()),
                ),
                _ => return Err(bad("expected flyte://v1/PROJECT/DOMAIN/RUN[/ACTION]")),
            }
        } else if let Some(rest) = without_query
            .strip_prefix("http://")
            .or_else(|| without_query.strip_prefix("https://"))
        {
            let parts = segments(rest);
            match parts.as_slice() {
                [_host, v2, d, domain, p, project, runs, run, tail @ ..]
                    if v2 == "v2" && d == "domain" && p == "project" && runs == "runs" =>
                {
                    let action = match tail {
                        [] => None,
                        [action] => Some(action.clone()),
                        [actions, action] if actions == "actions" => Some(action.clone()),
                        _ => return Err(bad("unexpected path after the run name")),
                    };
                    (project.clone(), domain.clone(), run.clone(), action)
                }
                _ => {
                    return Err(bad(
                        "expected http(s)://HOST/v2/domain/DOMAIN/project/PROJECT/runs/RUN[/ACTION]",
                    ));
                }
            }
        } else {
            return Err(bad(
                "expected a flyte://v1/ URI or an http(s):// console URL",
            ));
        };
        let run = RunId {
            project: project.parse()?,
            domain: domain.parse()?,
            name: run.parse()?,
        };
        let name = match action {
            Some(action) => action.parse()?,
            None => ActionName::root(),
        };
        Ok(Self { run, name })
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.run, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_what_flyte_generates() {
        for raw in [
            "a0",
            "rpq7x2mmm9sd",
            "76tnlt9irxnh86oty1k4ytock",
            "my_run-2.v1",
            "X",
        ] {
            assert_eq!(raw.parse::<RunName>().unwrap().as_str(), raw);
        }
    }

    #[test]
    fn names_reject_anything_path_like_or_empty() {
        for raw in [
            "", "..", ".hidden", "a/b", "../etc", "a\\b", "-x", "a b", "a\0b", "é",
        ] {
            assert!(raw.parse::<ActionName>().is_err(), "{raw:?} was accepted");
        }
        assert!(matches!(
            "x".repeat(64).parse::<Project>(),
            Err(IdError::TooLong { .. })
        ));
    }

    #[test]
    fn errors_name_the_field() {
        let message = "a/b".parse::<Domain>().unwrap_err().to_string();
        assert!(message.starts_with("domain \"a/b\""), "{message}");
    }

    #[test]
    fn deserializing_validates_too() {
        assert!(serde_json::from_str::<RunName>("\"../x\"").is_err());
        assert_eq!(
            serde_json::from_str::<RunName>("\"r1\"").unwrap().as_str(),
            "r1"
        );
    }

    #[test]
    fn flyte_uri_round_trips_and_defaults_to_root() {
        let id = ActionId::parse_uri("flyte://v1/flytesnacks/development/r1/n2").unwrap();
        assert_eq!(id.to_uri(), "flyte://v1/flytesnacks/development/r1/n2");
        let root = ActionId::parse_uri("flyte://v1/flytesnacks/development/r1").unwrap();
        assert!(root.name.is_root());
    }

    #[test]
    fn console_urls_are_understood() {
        let id = ActionId::parse_uri(
            "http://localhost:30080/v2/domain/development/project/flytesnacks/runs/r9?x=1",
        )
        .unwrap();
        assert_eq!(id.to_string(), "flytesnacks/development/r9/a0");
        let child = ActionId::parse_uri(
            "https://example.com/v2/domain/development/project/p/runs/r9/actions/c1",
        )
        .unwrap();
        assert_eq!(child.name.as_str(), "c1");
    }

    #[test]
    fn malformed_uris_are_rejected() {
        for uri in [
            "",
            "flyte://v1/p/d",
            "flyte://v1/p/d/r/a/extra",
            "ftp://x",
            "http://h/v2/project/p",
            "flyte://v1/p/d/../a",
        ] {
            assert!(ActionId::parse_uri(uri).is_err(), "{uri:?} was accepted");
        }
    }

    #[test]
    fn org_is_opaque_but_bounded() {
        assert_eq!(Org::parse("").unwrap().as_str(), "");
        assert_eq!(Org::parse("127").unwrap().as_str(), "127");
        assert!(Org::parse(&"o".repeat(256)).is_err());
        assert!(Org::parse("a\nb").is_err());
    }
}
