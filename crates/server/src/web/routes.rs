//! Which path goes to which handler, behind which middleware. Every request passes, outermost
//! first: request logging, the guard (`Host`, `Origin`, credentials, roles), the RPC limits,
//! the content-type explainer, then its route: health checks, the console and its API, signed blob URLs,
//! the S3 bucket, the token endpoint, and every Connect, gRPC and gRPC-Web service.

use crate::MAX_REQUEST_BYTES;
use crate::auth::{self, Auth};
use crate::error::connect_error_response;
use crate::rpc::{
    child_services, cluster, data_proxy, project_service, run_service, secret_service,
    task_service, trigger_service,
};
use crate::state::AppState;
use crate::web::{blobs, bucket, condition_callback, console, console_api, limits};
use aerie_wire::flyteidl2::actions::ActionsServiceExt;
use aerie_wire::flyteidl2::auth::{AuthMetadataServiceExt, IdentityServiceExt};
use aerie_wire::flyteidl2::cluster::ClusterServiceExt;
use aerie_wire::flyteidl2::dataproxy::DataProxyServiceExt;
use aerie_wire::flyteidl2::project::ProjectServiceExt;
use aerie_wire::flyteidl2::secret::SecretServiceExt;
use aerie_wire::flyteidl2::task::TaskServiceExt;
use aerie_wire::flyteidl2::trigger::TriggerServiceExt;
use aerie_wire::flyteidl2::workflow::{QueueServiceExt, RunServiceExt, StateServiceExt};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post, put};
use connectrpc::{ConnectRpcService, Limits};
use std::convert::Infallible;
use std::sync::Arc;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

/// Costly requests (large or compressed) decoded at once.
const COSTLY_REQUESTS: usize = 2;

/// Every Connect service aerie serves, with the request limits.
fn services(app: &AppState) -> ConnectRpcService {
    let router = Arc::new(cluster::ClusterHandlers).register(connectrpc::Router::new());
    let router = <auth::oauth::AuthHandlers as AuthMetadataServiceExt>::register(
        Arc::new(auth::oauth::AuthHandlers),
        router,
    );
    let router = <auth::oauth::AuthHandlers as IdentityServiceExt>::register(
        Arc::new(auth::oauth::AuthHandlers),
        router,
    );
    let router = Arc::new(run_service::RunHandlers { app: app.clone() }).register(router);
    let router = Arc::new(data_proxy::DataProxyHandlers { app: app.clone() }).register(router);
    let parents = Arc::new(child_services::ChildHandlers { app: app.clone() });
    let router =
        <child_services::ChildHandlers as QueueServiceExt>::register(parents.clone(), router);
    let router =
        <child_services::ChildHandlers as StateServiceExt>::register(parents.clone(), router);
    let router = <child_services::ChildHandlers as ActionsServiceExt>::register(parents, router);
    let router = Arc::new(task_service::TaskHandlers { app: app.clone() }).register(router);
    let router = Arc::new(trigger_service::TriggerHandlers { app: app.clone() }).register(router);
    let router = Arc::new(secret_service::SecretHandlers { app: app.clone() }).register(router);
    let router = Arc::new(project_service::ProjectHandlers { app: app.clone() }).register(router);
    ConnectRpcService::new(router).with_limits(
        Limits::default()
            .with_max_request_body_size(MAX_REQUEST_BYTES)
            .with_max_message_size(MAX_REQUEST_BYTES),
    )
}

/// Every request as one service. The middleware wraps the router as a whole (not each route),
/// so a request clones no route's service on its way in.
pub type Routes = BoxCloneSyncService<Request, Response, Infallible>;

/// The whole router behind its middleware.
pub fn all(
    app: AppState,
    auth: Auth,
    guard: auth::guard::Guard,
    s3: Option<aerie_s3::S3Service>,
) -> Routes {
    let connect = services(&app);
    let request_limits = Arc::new(limits::RequestLimits {
        max_bytes: MAX_REQUEST_BYTES as u64,
        costly: tokio::sync::Semaphore::new(COSTLY_REQUESTS),
    });
    let token_route = axum::Router::new()
        .route(auth::oauth::TOKEN_PATH, post(auth::oauth::token))
        .layer(DefaultBodyLimit::max(auth::oauth::MAX_TOKEN_REQUEST_BYTES))
        .with_state(Arc::new(auth));
    let router = axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/", get(console::shell))
        .route("/v2/{*page}", get(console::shell))
        .route("/console/{file}", get(console::file))
        .route("/console/api/files", get(console_api::files))
        .route("/console/api/next-fires", get(console_api::next_fires))
        .route("/blobs/{*key}", put(blobs::upload).get(blobs::download))
        .merge(
            axum::Router::new()
                .route(
                    "/conditions/{project}/{domain}/{run}/{action}/signal",
                    post(condition_callback::signal),
                )
                .layer(DefaultBodyLimit::max(
                    condition_callback::MAX_CALLBACK_BYTES,
                )),
        )
        .with_state(app)
        .merge(bucket::routes(s3))
        .merge(token_route)
        .fallback_service(connect);
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(from_fn(log_request))
            .layer(from_fn_with_state(Arc::new(guard), auth::guard::guard))
            .layer(from_fn_with_state(request_limits, limits::limit))
            .layer(from_fn(explain_unsupported_media_type))
            .service(router),
    )
}

/// The bucket alone, behind request logging and the guard: what tasks reach on the loopback
/// storage port that serves plain HTTP when the main port speaks TLS.
pub fn bucket_only(guard: auth::guard::Guard, s3: aerie_s3::S3Service) -> Routes {
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(from_fn(log_request))
            .layer(from_fn_with_state(Arc::new(guard), auth::guard::guard))
            .service(bucket::routes(Some(s3))),
    )
}

/// `GET /healthz`: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: this node can serve requests: its database answers and, when nodes share it,
/// it hears the other nodes' commits (otherwise its watchers would miss them). 503 with the
/// reason when not.
async fn readyz(
    axum::extract::State(app): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, String) {
    match app.store.readiness().await {
        Ok(()) => (axum::http::StatusCode::OK, "ok\n".to_owned()),
        Err(reason) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
    }
}

/// Gives a bare `415 Unsupported Media Type` from the RPC layer a Connect error body that says
/// which content types work.
async fn explain_unsupported_media_type(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let content_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(none)")
        .to_owned();
    let response = next.run(request).await;
    if response.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    let message = format!(
        "content-type {content_type:?} is not supported; send application/proto or \
         application/json (Connect), application/grpc, or application/grpc-web"
    );
    connect_error_response(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_argument",
        &message,
    )
}

/// Logs every request at debug level: path, status, time taken and the client's request id.
async fn log_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        path,
        request_id,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
