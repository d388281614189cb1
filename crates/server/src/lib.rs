//! aerie's server: Connect, gRPC and gRPC-Web handlers plus plain HTTP routes, on one port,
//! over HTTP/1.1 and h2c.
//!
//! # Layout
//! - [`start`] opens the store, blobs and engine, and serves on already-bound listeners;
//!   [`RunningServer::shut_down`] stops it in order.
//! - `run_service`, `data_proxy`, `cluster`: runs, data and logs; `queue_service`,
//!   `state_service`, `actions_service`: thin adapters over `children`, what running parents
//!   call; `http`: health and signed URLs; `console`: read-only web pages at the URLs the
//!   SDK prints.
//! - `maintenance`: pruning the event log of finished runs.
//! - `details`: the one place records become wire `ActionDetails`; `spec`: what a record's
//!   spec bytes hold and where its outputs are; `ids` and `list`: wire
//!   requests into domain types; `watch`: following the event log; `error`: Connect codes.
//!
//! Handlers hold no state of their own: reads go to the store, changes to the engine.

mod actions_service;
mod caller;
mod children;
mod cluster;
mod console;
mod data;
mod data_proxy;
mod details;
mod error;
mod http;
mod ids;
mod list;
mod maintenance;
mod queue_service;
mod run_service;
mod spec;
mod state;
mod state_service;
mod watch;

use aerie_blob::{Blobs, LogStore, UrlSigner};
pub use aerie_engine::ExecutorKind;
use aerie_engine::{Engine, EngineConfig, LocalConfig};
use aerie_store::{Backend, Store};
use aerie_wire::flyteidl2::actions::ActionsServiceExt;
use aerie_wire::flyteidl2::cluster::ClusterServiceExt;
use aerie_wire::flyteidl2::dataproxy::DataProxyServiceExt;
use aerie_wire::flyteidl2::workflow::{QueueServiceExt, RunServiceExt, StateServiceExt};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, put};
use axum::serve::ListenerExt;
use connectrpc::{ConnectRpcService, Limits};
use state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Largest RPC request body, before and after decompression.
pub const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;
/// How long open connections get to finish after shutdown begins.
const DRAIN_GRACE: Duration = Duration::from_secs(10);

/// Everything `aerie serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Holds the SQLite database (unless PostgreSQL is used), blobs, logs and work dirs.
    pub data_dir: PathBuf,
    pub backend: Backend,
    /// Virtual environment whose `bin/a0` runs tasks.
    pub python_env: Option<PathBuf>,
    /// Most attempts running at once.
    pub max_running: usize,
    /// What runs attempts: local processes, or nothing (benchmarks).
    pub executor: ExecutorKind,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot prepare the data directory {path}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no listener to serve on")]
    NoListener,
    #[error(transparent)]
    Store(#[from] aerie_store::StoreError),
    #[error(transparent)]
    Blob(#[from] aerie_blob::BlobError),
    #[error(transparent)]
    Engine(#[from] aerie_engine::EngineError),
}

/// A serving aerie.
pub struct RunningServer {
    addresses: Vec<SocketAddr>,
    stop: CancellationToken,
    servers: JoinSet<std::io::Result<()>>,
    engine: Engine,
    store: Store,
}

impl RunningServer {
    /// The addresses being served.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    /// Stops in order: refuse new requests and end open streams, let connections drain, stop
    /// the engine (ending running processes), close the store.
    pub async fn shut_down(mut self) {
        self.stop.cancel();
        let drained = tokio::time::timeout(DRAIN_GRACE, async {
            while let Some(result) = self.servers.join_next().await {
                if let Ok(Err(err)) = result {
                    tracing::warn!(error = %err, "a listener ended with an error");
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("connections still open after the drain grace period; closing");
            self.servers.abort_all();
        }
        self.engine.shutdown(DRAIN_GRACE).await;
        self.store.close().await;
        tracing::info!("aerie stopped");
    }
}

fn prepare_dir(path: PathBuf) -> Result<PathBuf, ServeError> {
    std::fs::create_dir_all(&path).map_err(|source| ServeError::DataDir {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Opens everything under `config` and serves on `listeners` until [`RunningServer::shut_down`].
pub async fn start(
    config: ServeConfig,
    listeners: Vec<TcpListener>,
) -> Result<RunningServer, ServeError> {
    let data_dir = prepare_dir(config.data_dir.clone())?;
    let addresses: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|listener| listener.local_addr().ok())
        .collect();
    let first = *addresses.first().ok_or(ServeError::NoListener)?;
    let store = Store::open(&config.backend).await?;
    let filled = store
        .fill_missing_specs(|stored| spec::from_stored(stored.kind, &stored.wire_spec))
        .await?;
    if filled > 0 {
        tracing::info!(
            filled,
            "filled in the typed specs of actions stored by an older aerie"
        );
    }
    let blobs = Blobs::local(&data_dir.join("blobs"))?;
    let logs = LogStore::new(&prepare_dir(data_dir.join("logs"))?);
    let signer = UrlSigner::load_or_create(&data_dir.join("signing.key")).map_err(|source| {
        ServeError::DataDir {
            path: data_dir.join("signing.key"),
            source,
        }
    })?;
    let engine = Engine::new(
        store.clone(),
        blobs.clone(),
        Arc::clone(&logs),
        EngineConfig {
            executor: config.executor,
            local: LocalConfig {
                work_dir: prepare_dir(data_dir.join("work"))?,
                python_env: config.python_env.clone(),
                endpoint: first.to_string(),
            },
            abort_grace: Duration::from_secs(3),
            max_running: config.max_running,
        },
    );
    engine.start().await?;
    let stop = CancellationToken::new();
    let (store_for_maintenance, stop_maintenance) = (store.clone(), stop.clone());
    let app = AppState {
        store: store.clone(),
        engine: engine.clone(),
        blobs,
        logs,
        signer,
        public_url: format!("http://{first}"),
        shutdown: stop.clone(),
    };
    let router = Arc::new(cluster::ClusterHandlers).register(connectrpc::Router::new());
    let router = Arc::new(run_service::RunHandlers { app: app.clone() }).register(router);
    let router = Arc::new(data_proxy::DataProxyHandlers { app: app.clone() }).register(router);
    let router = Arc::new(queue_service::QueueHandlers { app: app.clone() }).register(router);
    let router = Arc::new(state_service::StateHandlers { app: app.clone() }).register(router);
    let router = Arc::new(actions_service::ActionsHandlers { app: app.clone() }).register(router);
    let connect = ConnectRpcService::new(router).with_limits(
        Limits::default()
            .with_max_request_body_size(MAX_REQUEST_BYTES)
            .with_max_message_size(MAX_REQUEST_BYTES),
    );
    let blob_limit = usize::try_from(data_proxy::MAX_UPLOAD_BYTES).unwrap_or(usize::MAX);
    let routes = axum::Router::new()
        .route("/healthz", get(http::healthz))
        .route("/", get(console::home))
        .route("/v2/domain/{domain}/project/{project}/runs", get(console::runs))
        .route("/v2/domain/{domain}/project/{project}/runs/{run}", get(console::run))
        .route(
            "/v2/domain/{domain}/project/{project}/runs/{run}/actions/{action}",
            get(console::action),
        )
        .route(
            "/v2/domain/{domain}/project/{project}/runs/{run}/actions/{action}/attempts/{attempt}/logs",
            get(console::logs),
        )
        .route(
            "/blobs/{*key}",
            put(http::upload)
                .get(http::download)
                .layer(DefaultBodyLimit::max(blob_limit)),
        )
        .with_state(app)
        .fallback_service(connect)
        .layer(axum::middleware::from_fn(
            http::explain_unsupported_media_type,
        ))
        .layer(axum::middleware::from_fn(http::log_request));
    let mut servers = JoinSet::new();
    for listener in listeners {
        let stopped = stop.clone();
        let routes = routes.clone();
        // Watch streams send small messages one after another: without TCP_NODELAY, each
        // waits for the client's delayed ACK of the one before (about 40 ms).
        let listener = listener.tap_io(|stream| {
            if let Err(err) = stream.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY on a connection");
            }
        });
        servers.spawn(async move {
            axum::serve(listener, routes)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await
        });
    }
    servers.spawn(async move {
        maintenance::prune_events(store_for_maintenance, stop_maintenance).await;
        Ok(())
    });
    tracing::info!(addresses = ?addresses, data_dir = %data_dir.display(), "aerie serving");
    Ok(RunningServer {
        addresses,
        stop,
        servers,
        engine,
        store,
    })
}
