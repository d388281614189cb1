//! aerie's server: Connect, gRPC and gRPC-Web handlers plus plain HTTP routes, on one port,
//! over HTTP/1.1 and h2, in plain text or TLS.
//!
//! # Layout
//! - [`start`] opens the store, blobs and engine, and serves on already-bound listeners;
//!   [`RunningServer::shut_down`] stops it in order.
//! - `rpc`: one module per Connect service (runs, data and logs, the services running parents
//!   call, deployed tasks, triggers, secrets, projects, the cluster stub) and `children`, what
//!   those parents' calls share.
//! - `web`: everything HTTP: connections and TLS (`listen`), which path goes where and behind
//!   which middleware (`routes`), request limits, signed blob URLs and health, the S3 bucket
//!   (`bucket`), the console and its API; `signed_urls`: the blob URLs aerie signs.
//! - `auth`: API keys, tokens, roles, the `Host`/`Origin` checks and the OAuth2 endpoints.
//! - `convert`: wire to domain and back: request identifiers and list queries, wire specs, and
//!   the one place records become wire `ActionDetails`.
//! - `launch`: starting a run, whatever asked for it, and `cache_key`: a root action's cache
//!   key; `deployed`: reading deployed task versions; `schedule` and `scheduler`: when
//!   triggers fire, and firing them; `secrets`: sealing secret values and handing them to
//!   tasks; `attempt_env`: what each attempt gets besides its spec.
//! - `conditions`: conditions created by parents and the signals that end them, and `webhook`:
//!   telling the world a condition waits;
//! - `data`: inputs and outputs; `watch`: following the event log; `caller`: who asked;
//!   `maintenance`: pruning the event log of finished runs; `error`: Connect codes;
//!   `state`: what every handler shares.
//!
//! Handlers hold no state of their own: reads go to the store, changes to the engine.

mod attempt_env;
pub mod auth;
mod cache_key;
mod caller;
mod conditions;
mod convert;
mod data;
mod deployed;
mod error;
mod launch;
mod maintenance;
mod rpc;
mod schedule;
mod scheduler;
pub mod secrets;
mod signed_urls;
mod state;
mod watch;
pub mod web;
mod webhook;

use aerie_blob::{Blobs, LogStore, UrlSigner, load_or_create_key};
pub use aerie_engine::ExecutorKind;
use aerie_engine::{Engine, EngineConfig, LocalConfig};
use aerie_s3::StorageKeys;
use aerie_store::{Backend, Store};
use auth::Auth;
pub use auth::DEFAULT_TOKEN_TTL;
use state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
pub use web::listen::TlsFiles;

/// The file in the data directory holding the key storage credentials derive from.
pub const STORAGE_KEY_FILE: &str = "storage.key";
/// The file in the data directory holding the key secrets are sealed with, unless another is
/// named.
pub const SECRET_KEY_FILE: &str = "secrets.key";
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
    /// Whether every request needs a credential.
    pub auth: bool,
    /// Serve TLS with this certificate and key.
    pub tls: Option<TlsFiles>,
    /// Host names aerie answers to besides `localhost` and IP addresses.
    pub public_hosts: Vec<String>,
    /// How long an access token from the token endpoint lives.
    pub token_ttl: Duration,
    /// Most connections open at once (lowered to what the open-file limit allows).
    pub max_connections: usize,
    /// Names of aerie's environment variables tasks get too, beyond
    /// [`aerie_engine::DEFAULT_ENV_ALLOW`].
    pub task_env_allow: Vec<String>,
    /// The key secrets are sealed with; `None` means [`SECRET_KEY_FILE`] in the data directory.
    pub secret_key_file: Option<PathBuf>,
    /// Whether work in an unknown project creates it (otherwise it is `not_found`).
    pub create_projects: bool,
    /// This node's id among the nodes sharing a PostgreSQL database; `None` makes one up.
    pub node_id: Option<String>,
    /// How long this node's attempt leases last without renewal (PostgreSQL only).
    pub lease_ttl: Duration,
    /// Where task data and logs live: `None` for the data directory (and aerie's own bucket),
    /// or an S3 store several nodes share.
    pub storage: Option<aerie_blob::S3Config>,
}

/// Where task data lives: the data directory, served as aerie's own bucket with credentials
/// made from these keys, or an S3 store several nodes share.
enum DataHome {
    Local(StorageKeys),
    Shared(aerie_blob::S3Config),
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
    #[error("cannot open the loopback port tasks reach storage on")]
    StoragePort(#[source] std::io::Error),
    #[error(transparent)]
    Tls(#[from] web::listen::TlsError),
    #[error(transparent)]
    Store(#[from] aerie_store::StoreError),
    #[error(transparent)]
    Blob(#[from] aerie_blob::BlobError),
    #[error(transparent)]
    Engine(#[from] aerie_engine::EngineError),
    #[error(transparent)]
    Secrets(#[from] secrets::SecretError),
    #[error(
        "this node's secret key differs from the one the other nodes sharing the database use: \
         give every node the same --secret-key-file (secrets, signed URLs and access tokens \
         depend on it)"
    )]
    SecretKeyDiffers,
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

/// Creates `path` if missing, readable by aerie's user only.
fn prepare_dir(path: PathBuf) -> Result<PathBuf, ServeError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let private = || -> std::io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
    };
    private().map_err(|source| ServeError::DataDir {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// `path` made absolute (an attempt's key derives from its working directory's path).
fn absolute(path: PathBuf) -> Result<PathBuf, ServeError> {
    path.canonicalize()
        .map_err(|source| ServeError::DataDir { path, source })
}

/// Makes every file this process creates from now on (database, blobs, logs, keys) private
/// to aerie's user, and creates the data directory `path` (mode 0700).
pub fn private_data_dir(path: PathBuf) -> Result<PathBuf, ServeError> {
    // SAFETY: umask only sets the process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
    prepare_dir(path)
}

/// Opens everything under `config` and serves on `listeners` until [`RunningServer::shut_down`].
pub async fn start(
    config: ServeConfig,
    listeners: Vec<TcpListener>,
) -> Result<RunningServer, ServeError> {
    let data_dir = private_data_dir(config.data_dir.clone())?;
    let tls = config
        .tls
        .as_ref()
        .map(web::listen::tls_acceptor)
        .transpose()?;
    let addresses: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|listener| listener.local_addr().ok())
        .collect();
    let first = *addresses.first().ok_or(ServeError::NoListener)?;
    let node = aerie_store::NodeConfig {
        id: config
            .node_id
            .clone()
            .unwrap_or_else(|| aerie_store::NodeConfig::anonymous().id),
        address: first.to_string(),
        lease_ttl: config.lease_ttl,
        capacity: u32::try_from(config.max_running).unwrap_or(u32::MAX),
    };
    let store = Store::open_as(&config.backend, node).await?;
    let filled = store
        .fill_missing_specs(|stored| convert::spec::from_stored(stored.kind, &stored.wire_spec))
        .await?;
    if filled > 0 {
        tracing::info!(
            filled,
            "filled in the typed specs of actions stored by an older aerie"
        );
    }
    let key_file = |name: &str| {
        let path = data_dir.join(name);
        load_or_create_key(&path).map_err(|source| ServeError::DataDir { path, source })
    };
    // With S3 storage, blobs and logs live in the store, tasks reach it themselves, and aerie's
    // own bucket is off: nothing task-related is written under the data directory but running
    // attempts' work directories. Nodes on PostgreSQL derive their URL and token keys from the
    // secret key they share (below).
    let (blobs, logs, home) = match &config.storage {
        None => (
            Blobs::local(&data_dir.join("blobs"))?,
            LogStore::new(&prepare_dir(data_dir.join("logs"))?),
            DataHome::Local(StorageKeys::new(key_file(STORAGE_KEY_FILE)?)),
        ),
        Some(s3) => {
            let blobs = Blobs::s3(s3.clone())?;
            (
                blobs.clone(),
                LogStore::chunked(blobs),
                DataHome::Shared(s3.clone()),
            )
        }
    };
    let storage_keys = match &home {
        DataHome::Local(keys) => Some(keys.clone()),
        DataHome::Shared(_) => None,
    };
    // Tasks reach the bucket on the main port. Under TLS they get a plain-HTTP port of its own on
    // loopback instead: the SDK's object-store client cannot be told to trust aerie's own
    // certificate, and loopback traffic stays on this machine (as with the SDK's
    // `_U_INSECURE_SKIP_VERIFY` for the RPCs).
    let task_storage = match (&tls, &storage_keys) {
        (Some(_), Some(_)) => Some(
            TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
                .await
                .map_err(ServeError::StoragePort)?,
        ),
        _ => None,
    };
    let storage_endpoint = match &task_storage {
        Some(listener) => format!(
            "http://{}",
            listener.local_addr().map_err(ServeError::StoragePort)?
        ),
        None => format!("http://{first}"),
    };
    let secret_box = secrets::SecretBox::open_key_file(
        &config
            .secret_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(SECRET_KEY_FILE)),
    )?;
    // What one node signs (URLs, access tokens) another must accept: nodes sharing a
    // PostgreSQL database derive both keys from the secret key they must share anyway. One
    // node keeps its own key files.
    let (url_key, token_key) = match config.backend {
        Backend::Postgres { .. } => (
            secret_box.derived_key("url signing"),
            secret_box.derived_key("access tokens"),
        ),
        Backend::Sqlite { .. } => (key_file("signing.key")?, key_file("token.key")?),
    };
    if let Some(cluster) = store.cluster()
        && !cluster
            .agrees_on(
                "secret key fingerprint",
                &hex::encode(secret_box.derived_key("fingerprint")),
            )
            .await?
    {
        return Err(ServeError::SecretKeyDiffers);
    }
    let signer = UrlSigner::new(url_key);
    let auth = Auth::new(config.auth, store.clone(), token_key, config.token_ttl);
    let engine = Engine::new(
        store.clone(),
        blobs.clone(),
        Arc::clone(&logs),
        EngineConfig {
            executor: config.executor,
            local: LocalConfig {
                work_dir: absolute(prepare_dir(data_dir.join("work"))?)?,
                python_env: config.python_env.clone(),
                endpoint: first.to_string(),
                env_allow: config.task_env_allow.clone(),
                attempt_env: Some(Arc::new(attempt_env::AttemptSetup {
                    credentials: auth::AttemptCredentials {
                        auth: auth.clone(),
                        tls: tls.is_some(),
                        storage: match home {
                            DataHome::Local(keys) => auth::TaskStorage::Aerie {
                                keys,
                                endpoint: storage_endpoint,
                            },
                            DataHome::Shared(s3) => auth::TaskStorage::External(s3),
                        },
                    },
                    secrets: secret_box.clone(),
                    store: store.clone(),
                })),
            },
            abort_grace: Duration::from_secs(3),
            max_running: config.max_running,
        },
    );
    engine.start().await?;
    let stop = CancellationToken::new();
    let (store_for_maintenance, stop_maintenance) = (store.clone(), stop.clone());
    let bucket = storage_keys.map(|keys| {
        aerie_s3::service(
            blobs.clone(),
            keys,
            Arc::new(web::bucket::StoreRunActivity(store.clone())),
        )
    });
    let app = AppState {
        store: store.clone(),
        engine: engine.clone(),
        blobs,
        logs,
        signer,
        shutdown: stop.clone(),
        scheduler_wake: Arc::new(tokio::sync::Notify::new()),
        create_projects: config.create_projects,
        known_projects: Arc::default(),
        secrets: secret_box,
        webhooks: reqwest::Client::new(),
    };
    let scheduler_app = app.clone();
    let guard = auth::guard::Guard {
        auth: auth.clone(),
        hosts: auth::hosts::AllowedHosts::new(&config.public_hosts),
        tls: tls.is_some(),
    };
    let task_bucket = bucket.clone().map(|bucket| {
        web::routes::bucket_only(
            auth::guard::Guard {
                tls: false,
                ..guard.clone()
            },
            bucket,
        )
    });
    let routes = web::routes::all(app, auth, guard, bucket);
    let connections = Arc::new(tokio::sync::Semaphore::new(
        web::listen::connection_capacity(config.max_connections),
    ));
    let mut servers = JoinSet::new();
    if let (Some(listener), Some(task_bucket)) = (task_storage, task_bucket) {
        servers.spawn(web::listen::serve(
            listener,
            None,
            task_bucket,
            Arc::clone(&connections),
            stop.clone(),
        ));
    }
    for listener in listeners {
        servers.spawn(web::listen::serve(
            listener,
            tls.clone(),
            routes.clone(),
            Arc::clone(&connections),
            stop.clone(),
        ));
    }
    servers.spawn(async move {
        maintenance::prune_events(store_for_maintenance, stop_maintenance).await;
        Ok(())
    });
    servers.spawn(async move {
        scheduler::run(scheduler_app).await;
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
