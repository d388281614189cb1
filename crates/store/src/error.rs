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
    #[error("an active API key named {0:?} already exists")]
    ApiKeyExists(String),
    #[error(
        "{0} is already deployed with a different spec; a deployed version never changes (deploy a new version)"
    )]
    TaskVersionExists(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    StaleFire(String),
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
    #[error(transparent)]
    Write(WriteFailure),
    #[error("the store is shutting down")]
    Closed,
    #[error(
        "the database's schema is newer than this aerie: it has migration {database}, and this \
         aerie knows migrations up to {known}; run the aerie release that migrated it (or a newer one)"
    )]
    SchemaTooNew { database: i64, known: i64 },
}

/// Why a batch of writes was refused as a whole; nothing of it was saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteFailure {
    #[error("disk full: the database could not save the change (free space, then retry)")]
    DiskFull,
    #[error("the database failed while {op}; the change was not saved: {detail}")]
    Unavailable { op: &'static str, detail: String },
}

impl WriteFailure {
    /// Classifies a database error; the detail is the database's own message, never a path.
    pub(crate) fn from_database(op: &'static str, err: &sqlx::Error) -> Self {
        let (code, message) = match err {
            sqlx::Error::Database(db) => (
                db.code().map(|code| code.into_owned()).unwrap_or_default(),
                db.message().to_owned(),
            ),
            sqlx::Error::Io(io) if io.raw_os_error() == Some(libc_enospc()) => {
                return Self::DiskFull;
            }
            sqlx::Error::Io(io) => (String::new(), format!("I/O error ({:?})", io.kind())),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                (String::new(), "no database connection".to_owned())
            }
            other => (String::new(), other.to_string()),
        };
        // SQLITE_FULL is 13; PostgreSQL's disk_full is 53100.
        let full = code == "13"
            || code == "53100"
            || message.contains("disk is full")
            || message.contains("No space left");
        if full {
            Self::DiskFull
        } else {
            Self::Unavailable {
                op,
                detail: message,
            }
        }
    }

    /// The failure a store error amounts to when it ends a batch.
    pub(crate) fn from_store(err: &StoreError) -> Self {
        match err {
            StoreError::Database { op, source } => Self::from_database(op, source),
            StoreError::Write(failure) => failure.clone(),
            other => Self::Unavailable {
                op: "writing",
                detail: other.to_string(),
            },
        }
    }
}

/// `ENOSPC` on Linux.
const fn libc_enospc() -> i32 {
    28
}

impl StoreError {
    /// Whether the request was refused by the rules or the data (nothing was written), as
    /// opposed to the database failing.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Database { .. } | Self::Write(_) | Self::Closed)
    }

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
