//! aerie's bucket on the main port: path-style S3 requests (`/aerie`, `/aerie/{key}`) go to
//! the S3 service, which checks their signatures and scopes itself. Bodies stream both ways,
//! and no RPC size limit applies to them. [`StoreRunActivity`] tells the service which runs
//! are still going, so a run's storage credential ends with its run.

use aerie_blob::BUCKET;
use aerie_core::{ActionId, ActionName, RunId};
use aerie_s3::{RunActivity, S3Service};
use aerie_store::Store;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::StatusCode;
use tower::ServiceExt;

/// Runs are in progress while their root action has not ended, as the store says.
pub struct StoreRunActivity(pub Store);

#[async_trait::async_trait]
impl RunActivity for StoreRunActivity {
    async fn in_progress(&self, run: &RunId) -> bool {
        let root = ActionId {
            run: run.clone(),
            name: ActionName::root(),
        };
        match self.0.get_action(&root).await {
            Ok(action) => !action.state.phase.is_terminal(),
            Err(_) => false,
        }
    }

    async fn may_read(&self, reader: &RunId, source: &RunId) -> bool {
        self.0.may_read(reader, source).await.unwrap_or(false)
    }
}

/// Whether a request for `path` is an S3 request for aerie's bucket.
pub fn is_bucket_path(path: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|rest| rest.strip_prefix(BUCKET))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The bucket's routes; `None` (S3 storage) answers every bucket request that the bucket is
/// off.
pub fn routes(s3: Option<S3Service>) -> axum::Router {
    let Some(s3) = s3 else {
        return axum::Router::new()
            .route(&format!("/{BUCKET}"), any(bucket_off))
            .route(&format!("/{BUCKET}/"), any(bucket_off))
            .route(&format!("/{BUCKET}/{{*key}}"), any(bucket_off));
    };
    axum::Router::new()
        .route(&format!("/{BUCKET}"), any(serve))
        .route(&format!("/{BUCKET}/"), any(serve))
        .route(&format!("/{BUCKET}/{{*key}}"), any(serve))
        .with_state(s3)
}

/// What the bucket answers when this node keeps data in an S3 store.
async fn bucket_off() -> Response {
    (
        StatusCode::NOT_IMPLEMENTED,
        "aerie's own bucket is off: this node keeps task data in an S3 store; use the store's \
         endpoint and the s3:// URIs aerie hands out\n",
    )
        .into_response()
}

/// Hands one request to the S3 service.
async fn serve(State(s3): State<S3Service>, request: Request) -> Response {
    match s3.oneshot(request).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(err) => {
            tracing::warn!(error = ?err, "the S3 service failed a request");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage request failed\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bucket_and_its_keys_are_bucket_paths() {
        for path in ["/aerie", "/aerie/", "/aerie/runs/p/d/r/a0/1/outputs.pb"] {
            assert!(is_bucket_path(path), "{path}");
        }
        for path in [
            "/aeriex",
            "/aerie-other/x",
            "/blobs/aerie/x",
            "/",
            "/v2/aerie",
        ] {
            assert!(!is_bucket_path(path), "{path}");
        }
    }
}
