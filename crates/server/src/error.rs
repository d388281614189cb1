//! The one place that chooses Connect codes: every error that leaves a handler passes here.
//!
//! `internal` and `unavailable` make the SDK retry, so they are kept for faults that may pass
//! (a database hiccup); bad input is `invalid_argument`, unknown ids `not_found`.

use aerie_blob::BlobError;
use aerie_core::IdError;
use aerie_engine::EngineError;
use aerie_store::{StoreError, WriteFailure};
use connectrpc::{ConnectError, ErrorCode};

/// An error on its way to the client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Id(#[from] IdError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unimplemented(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// A dependency (the object store, the disk) failed; retrying may help.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// A required request field is unset or empty.
    pub fn missing(field: &str) -> Self {
        Self::InvalidArgument(format!("{field} is required"))
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Store(store) => Self::Store(store),
            EngineError::RunAborted(_) => Self::Aborted(err.to_string()),
        }
    }
}

impl ApiError {
    /// The Connect code this error is sent with.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Id(_) | ApiError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Unimplemented(_) => ErrorCode::Unimplemented,
            ApiError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            ApiError::Internal(_) => ErrorCode::Internal,
            ApiError::Unavailable(_) => ErrorCode::Unavailable,
            ApiError::Aborted(_) => ErrorCode::Aborted,
            ApiError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            ApiError::PermissionDenied(_) => ErrorCode::PermissionDenied,
            ApiError::Store(store) => match store {
                StoreError::RunNotFound(_)
                | StoreError::ActionNotFound(_)
                | StoreError::NotFound(_) => ErrorCode::NotFound,
                StoreError::StaleFire(_) => ErrorCode::Aborted,
                StoreError::RunAlreadyExists(_)
                | StoreError::ActionAlreadyExists(_)
                | StoreError::ApiKeyExists(_)
                | StoreError::TaskVersionExists(_)
                | StoreError::AlreadyExists(_) => ErrorCode::AlreadyExists,
                StoreError::Transition { .. } => ErrorCode::FailedPrecondition,
                StoreError::InvalidQuery(_) => ErrorCode::InvalidArgument,
                StoreError::Contention(_) | StoreError::Database { .. } | StoreError::Closed => {
                    ErrorCode::Unavailable
                }
                StoreError::Write(WriteFailure::DiskFull) => ErrorCode::ResourceExhausted,
                StoreError::Write(WriteFailure::Unavailable { .. }) => ErrorCode::Unavailable,
                StoreError::Corrupt { .. } => ErrorCode::DataLoss,
                StoreError::SchemaTooNew { .. } => ErrorCode::FailedPrecondition,
            },
            ApiError::Blob(blob) => match blob {
                BlobError::OutsideStorage { .. } | BlobError::BadKey { .. } => {
                    ErrorCode::InvalidArgument
                }
                BlobError::Full { .. } => ErrorCode::ResourceExhausted,
                BlobError::CreateRoot { .. } | BlobError::Io { .. } | BlobError::Store { .. } => {
                    ErrorCode::Unavailable
                }
                BlobError::Config { .. } => ErrorCode::Internal,
                BlobError::NotLocal { .. } => ErrorCode::FailedPrecondition,
            },
        }
    }

    /// Whether the fault may pass (a database or disk failure) rather than being the request's.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::Unavailable | ErrorCode::ResourceExhausted
        )
    }
}

impl From<ApiError> for ConnectError {
    fn from(err: ApiError) -> Self {
        let code = err.code();
        if matches!(
            code,
            ErrorCode::Unavailable | ErrorCode::DataLoss | ErrorCode::Internal
        ) {
            tracing::error!(error = ?err, "request failed");
        }
        ConnectError::new(code, err.to_string())
    }
}

/// A Connect error sent by middleware, before any handler ran: `status` with a JSON body
/// naming the Connect `code` and the `message`.
pub fn connect_error_response(
    status: http::StatusCode,
    code: &str,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({ "code": code, "message": message });
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Handler results: `?` on any aerie error converts at this edge.
pub type ApiResult<T> = Result<T, ApiError>;
