//! Who may do what: the roles an API key carries.
//!
//! - `admin`: everything, including starting and aborting runs.
//! - `read-only`: reads only (get, list, watch, inputs and outputs, logs, download links).
//!
//! Running attempts get a third, internal role from the server (see `aerie-server`'s `auth`),
//! never stored with a key.

use std::fmt;
use std::str::FromStr;

/// The role of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// May do everything.
    Admin,
    /// May read everything and change nothing.
    ReadOnly,
}

impl Role {
    /// The name used on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::ReadOnly => "read-only",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of `admin` and `read-only`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected admin or read-only")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "admin" => Ok(Self::Admin),
            "read-only" => Ok(Self::ReadOnly),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names_and_unknown_names_are_refused() {
        for role in [Role::Admin, Role::ReadOnly] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("root".parse::<Role>(), Err(UnknownRole("root".to_owned())));
    }
}
