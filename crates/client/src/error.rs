//! The one error type of the client, and the single place where a Connect error becomes one.
//!
//! Every failed call names what it was doing and to which run or action, and keeps the Connect
//! code so callers can branch on it ([`Error::code`], [`Error::is_not_found`]). Data the server
//! sent that breaks the contract (an action id that does not validate, a response without its
//! payload) is [`Error::Malformed`], never silently defaulted.

use aerie_core::{ActionId, ActionPhase, IdError};
use connectrpc::{ConnectError, ErrorCode};
use std::fmt::Display;

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered a call with an error, or the call could not reach it.
    #[error("{op} {target}: {message} ({})", .code.as_str())]
    Rpc {
        /// What the client was doing, e.g. `get action details`.
        op: &'static str,
        /// The run or action (or project) the call was about.
        target: String,
        /// The Connect code the server answered with (`unavailable` when it was not reached).
        code: ErrorCode,
        /// The server's message, with the causes of a transport failure.
        message: String,
    },
    /// No version of the task is deployed (the server listed none), so there is no latest.
    #[error("no version of task {task} is deployed")]
    TaskNotDeployed {
        /// `project/domain/name` of the task.
        task: String,
    },
    /// The endpoint string is not something the client can dial.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A name or URI given by the caller does not validate.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// The server sent something the contract rules out.
    #[error("malformed {what} from the server: {detail}")]
    Malformed {
        /// What the server sent, e.g. `run id`.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The action's phase is UNSPECIFIED or a number this client does not know.
    #[error("action {action} has no known phase (wire value {raw})")]
    UnknownPhase {
        /// The action.
        action: ActionId,
        /// The wire value of its phase.
        raw: i32,
    },
    /// Outputs were asked for before the action finished.
    #[error("action {action} is {phase}: outputs exist only once it is done")]
    NotTerminal {
        /// The action.
        action: ActionId,
        /// The phase it is in.
        phase: ActionPhase,
    },
    /// A watch ended without delivering a single update.
    #[error("the watch of action {action} ended without any update")]
    NoUpdates {
        /// The action watched.
        action: ActionId,
    },
    /// An input given to a launch, or an output asked for, does not fit: unknown name, missing
    /// required input, or a value its type cannot hold.
    #[error("{what} {name:?}: {reason}")]
    Value {
        /// `input` or `output`.
        what: &'static str,
        /// The input's or output's name.
        name: String,
        /// What is wrong, e.g. `a string does not fit type INTEGER`.
        reason: String,
    },
    /// A launch asks for something its target cannot take: a version for a trigger, inputs for
    /// a trigger run, `force_rerun` outside a recovery.
    #[error("{0}")]
    InvalidLaunch(String),
    /// The connection settings (flyte config file, environment, API key, CA certificate) are
    /// unusable.
    #[error("{0}")]
    Config(String),
    /// The blocking client could not start its runtime.
    #[error("could not start the runtime of the blocking client")]
    Runtime(#[source] std::io::Error),
}

impl Error {
    /// The Connect code, for errors that came from a call.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the server said the run, action, attempt, task or trigger does not exist (yet),
    /// or a task has no deployed version.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(ErrorCode::NotFound) || matches!(self, Self::TaskNotDeployed { .. })
    }

    /// Wraps a failed call `op` on `target` (a run or action, displayed). The message gains the
    /// causes the Connect error carries (e.g. `connection refused` under a transport failure).
    pub(crate) fn rpc(op: &'static str, target: impl Display) -> impl FnOnce(ConnectError) -> Self {
        move |err| {
            let mut message = err
                .message
                .clone()
                .filter(|message| !message.is_empty())
                .unwrap_or_else(|| err.code.as_str().replace('_', " "));
            let mut cause = std::error::Error::source(&err);
            while let Some(source) = cause {
                let text = source.to_string();
                if !message.contains(&text) {
                    message = format!("{message}: {text}");
                }
                cause = source.source();
            }
            Self::Rpc {
                op,
                target: target.to_string(),
                code: err.code,
                message,
            }
        }
    }

    /// Server data that breaks the contract.
    pub(crate) fn malformed(what: &'static str, detail: impl Display) -> Self {
        Self::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_errors_name_the_operation_target_and_code() {
        let err = Error::rpc("get action details", "p/d/r1/a0")(ConnectError::not_found(
            "action a0 not found",
        ));
        assert_eq!(
            err.to_string(),
            "get action details p/d/r1/a0: action a0 not found (not_found)"
        );
        assert!(err.is_not_found());
    }

    #[test]
    fn rpc_errors_keep_the_causes_of_a_transport_failure() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = Error::rpc("list runs of", "p/d")(ConnectError::unavailable_from_transport(
            "HTTP request failed",
            refused,
        ));
        assert_eq!(
            err.to_string(),
            "list runs of p/d: HTTP request failed: refused (unavailable)"
        );
    }

    #[test]
    fn rpc_errors_without_a_message_still_say_something() {
        let err = Error::rpc("abort run", "p/d/r1")(ConnectError::new(ErrorCode::Unavailable, ""));
        assert_eq!(
            err.to_string(),
            "abort run p/d/r1: unavailable (unavailable)"
        );
        assert_eq!(err.code(), Some(ErrorCode::Unavailable));
        assert!(!err.is_not_found());
    }
}
