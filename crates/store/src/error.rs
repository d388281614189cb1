//! The store's one error type; every variant names what was being done or looked for.

use aerie_core::{ActionId, RunId, TransitionError};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("run {0} not found")]
    RunNotFound(RunId),
    #[error("action {0} not found")]
    ActionNotFound(ActionId),
    #[error("run {0} already exists")]
    RunAlreadyExists(RunId),
    #[error("action {0} already exists")]
    ActionAlreadyExists(ActionId),
    #[error("action {action}: {source}")]
    Transition {
        action: ActionId,
        #[source]
        source: TransitionError,
    },
    #[error("action {0} kept changing under concurrent writers; gave up")]
    Contention(ActionId),
    #[error("invalid list request: {0}")]
    InvalidQuery(String),
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("database error while {op}")]
    Database {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Attaches the operation's name to a `sqlx` error.
pub(crate) trait DbContext<T> {
    fn during(self, op: &'static str) -> Result<T, StoreError>;
}

impl<T> DbContext<T> for Result<T, sqlx::Error> {
    fn during(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Database { op, source })
    }
}
