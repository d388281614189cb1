//! `aerie serve`: validate the options, bind the port, run the server until SIGINT or SIGTERM,
//! then shut down in order. A second signal exits at once.

use aerie_server::{ExecutorKind, ServeConfig, TlsFiles};
use aerie_store::Backend;
use anyhow::{Context, bail};
use clap::Args;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// Options of `aerie serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. `localhost` listens on every loopback address it resolves to.
    #[arg(
        long,
        env = "AERIE_ADDR",
        default_value = "localhost:30080",
        value_name = "HOST:PORT"
    )]
    pub addr: String,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Python virtual environment whose `bin/a0` runs tasks (default: `a0` on PATH).
    #[arg(long, env = "AERIE_PYTHON_ENV", value_name = "DIR")]
    pub python_env: Option<PathBuf>,

    /// Most task attempts running at once.
    #[arg(
        long,
        env = "AERIE_MAX_RUNNING",
        default_value_t = 16,
        value_name = "N"
    )]
    pub max_running: usize,

    /// What runs task attempts. `local` starts each attempt as a process (the default);
    /// `noop` starts nothing: every attempt goes through the same phases, store writes and
    /// events and succeeds with empty outputs (a task whose container sets
    /// AERIE_NOOP_HOLD=SECONDS stays RUNNING that long first). `noop` is a benchmark tool for
    /// measuring the control plane alone.
    #[arg(long, env = "AERIE_EXECUTOR", value_enum, default_value_t = ExecutorArg::Local)]
    pub executor: ExecutorArg,

    /// Require a credential (API key or access token) on every request but health checks.
    /// On by default when --addr is not a loopback address. Needs --tls-cert and --tls-key:
    /// the Flyte SDK sends credentials over TLS only.
    #[arg(long, env = "AERIE_AUTH")]
    pub auth: bool,

    /// Serve a non-loopback address without credentials: anyone who can reach the port can
    /// read every run and run any program as aerie's user.
    #[arg(long, conflicts_with = "auth")]
    pub insecure_no_auth: bool,

    /// PEM certificate chain to serve TLS with (with --tls-key).
    #[arg(
        long,
        env = "AERIE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "AERIE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// A host name clients reach aerie by, besides localhost and IP addresses (repeatable).
    /// Requests naming any other host are refused, which defeats DNS rebinding.
    #[arg(
        long = "public-host",
        env = "AERIE_PUBLIC_HOSTS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub public_hosts: Vec<String>,

    /// How long an access token from the token endpoint lives, in seconds.
    #[arg(long, env = "AERIE_TOKEN_TTL", default_value_t = aerie_server::DEFAULT_TOKEN_TTL.as_secs(), value_name = "SECONDS")]
    pub token_ttl: u64,

    /// Names of aerie's own environment variables that tasks get too (repeatable or
    /// comma-separated), beyond the defaults (DO_NOT_TRACK, HOME, USER, LOGNAME, LANG,
    /// LC_ALL, LC_CTYPE, TZ, SSL_CERT_FILE, SSL_CERT_DIR). Name PATH to pass aerie's PATH.
    /// Nothing else of aerie's environment reaches a task.
    #[arg(
        long = "task-env-allow",
        env = "AERIE_TASK_ENV_ALLOW",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub task_env_allow: Vec<String>,

    /// The key secrets are sealed with (32 bytes, readable by aerie's user only); created if
    /// missing. Default: secrets.key in the data directory. Keep it safe and back it up with
    /// the database: without it, stored secrets cannot be read.
    #[arg(long, env = "AERIE_SECRET_KEY_FILE", value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,

    /// Create a project on the first run, deploy or trigger in it (otherwise work in an
    /// unknown project is refused with not_found; `flyte create project` creates one).
    #[arg(long, env = "AERIE_CREATE_PROJECTS")]
    pub create_projects: bool,

    /// This node's id among the nodes sharing a PostgreSQL database: unique, and kept across
    /// restarts so that a restarted node takes its unfinished attempts back at once (default:
    /// the host name and process id).
    #[arg(long, env = "AERIE_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,

    /// How long, in seconds, an attempt's lease lasts without renewal when nodes share a
    /// PostgreSQL database: a node that stops renewing (dies, pauses, loses the database)
    /// loses its attempts to another node this long after its last renewal, at most. Renewed
    /// every fifth of it.
    #[arg(long, env = "AERIE_LEASE_TTL", default_value_t = aerie_store::cluster::DEFAULT_LEASE_TTL.as_secs(), value_name = "SECONDS")]
    pub lease_ttl: u64,

    /// Where task data and logs live: `local` (the data directory, served as aerie's own
    /// bucket) or `s3://BUCKET[/PREFIX]`, an S3-compatible store several nodes share. The
    /// store's endpoint and credential come from AWS_ENDPOINT_URL, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_ALLOW_HTTP; tasks get the same
    /// credential.
    #[arg(
        long,
        env = "AERIE_STORAGE",
        default_value = "local",
        value_name = "URL"
    )]
    pub storage: String,

    /// Most connections open at once.
    #[arg(
        long,
        env = "AERIE_MAX_CONNECTIONS",
        default_value_t = 4096,
        value_name = "N"
    )]
    pub max_connections: usize,
}

/// Where aerie keeps its data: what `serve` opens, and `apikey` changes.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Directory for the database, blobs, logs and working directories.
    #[arg(long, env = "AERIE_HOME", default_value = ".aerie", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Where runs live: `sqlite://PATH` or `postgres://…` (default: SQLite in the data dir).
    #[arg(long, env = "AERIE_DATABASE", value_name = "URL")]
    pub database: Option<String>,
}

impl StoreArgs {
    /// The database `--database` names, or SQLite in the data dir.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        Ok(match self.database.as_deref() {
            None => Backend::Sqlite {
                path: self.data_dir.join("aerie.db"),
            },
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Backend::Postgres {
                    url: url.to_owned(),
                    schema: None,
                }
            }
            Some(url) => match url.strip_prefix("sqlite://") {
                Some(path) if !path.is_empty() => Backend::Sqlite { path: path.into() },
                _ => bail!("--database must be sqlite://PATH or postgres://…, not {url:?}"),
            },
        })
    }
}

/// The executors `--executor` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorArg {
    Local,
    Noop,
}

impl From<ExecutorArg> for ExecutorKind {
    fn from(arg: ExecutorArg) -> Self {
        match arg {
            ExecutorArg::Local => Self::Local,
            ExecutorArg::Noop => Self::Noop,
        }
    }
}

impl ServeArgs {
    /// The validated configuration; nothing is touched on disk yet.
    fn config(&self) -> anyhow::Result<ServeConfig> {
        let backend = self.store.backend()?;
        if let Some(env) = &self.python_env
            && !env.join("bin").is_dir()
        {
            bail!(
                "--python-env {} is not a virtual environment (no bin/ directory)",
                env.display()
            );
        }
        if self.max_running == 0 {
            bail!("--max-running must be at least 1");
        }
        if self.token_ttl == 0 {
            bail!("--token-ttl must be at least 1 second");
        }
        if self.lease_ttl < 2 {
            bail!("--lease-ttl must be at least 2 seconds");
        }
        if let Some(id) = &self.node_id
            && (id.is_empty()
                || id.len() > 63
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            bail!("--node-id must be 1 to 63 letters, digits, '-', '_' or '.', not {id:?}");
        }
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        let python_env = match &self.python_env {
            Some(env) => Some(
                env.canonicalize()
                    .with_context(|| format!("resolving --python-env {}", env.display()))?,
            ),
            None => None,
        };
        Ok(ServeConfig {
            data_dir: self.store.data_dir.clone(),
            backend,
            python_env,
            max_running: self.max_running,
            executor: self.executor.into(),
            auth: self.auth,
            tls,
            public_hosts: self.served_hosts(),
            token_ttl: Duration::from_secs(self.token_ttl),
            max_connections: self.max_connections.max(1),
            task_env_allow: self.task_env_allow.clone(),
            secret_key_file: self.secret_key_file.clone(),
            create_projects: self.create_projects,
            node_id: self.node_id.clone(),
            lease_ttl: Duration::from_secs(self.lease_ttl),
            storage: match self.storage.as_str() {
                "local" | "" => None,
                url => Some(
                    aerie_blob::S3Config::from_url(url, |name| std::env::var(name).ok())
                        .context("--storage")?,
                ),
            },
        })
    }
}

impl ServeArgs {
    /// The names requests may use besides localhost and IP addresses: `--public-host`, plus the
    /// host of `--addr` when it is a name.
    fn served_hosts(&self) -> Vec<String> {
        let mut hosts = self.public_hosts.clone();
        let host = self
            .addr
            .rsplit_once(':')
            .map_or(self.addr.as_str(), |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        if !host.is_empty() && host.parse::<std::net::IpAddr>().is_err() {
            hosts.push(host.to_owned());
        }
        hosts
    }
}

/// Turns auth on for a non-loopback listener unless --insecure-no-auth says otherwise, and
/// refuses auth without TLS (the SDK would never send its credentials).
fn settle_auth(
    config: &mut ServeConfig,
    args: &ServeArgs,
    addresses: &[SocketAddr],
) -> anyhow::Result<()> {
    let exposed = addresses.iter().any(|address| !address.ip().is_loopback());
    if exposed && !args.insecure_no_auth {
        config.auth = true;
    }
    if config.auth && config.tls.is_none() {
        if exposed && !args.auth {
            bail!(
                "aerie listens on a non-loopback address, so it requires credentials, which the \
                 Flyte SDK only sends over TLS: pass --tls-cert and --tls-key (and create keys \
                 with `aerie apikey create`), or --insecure-no-auth to let anyone who can reach \
                 the port in"
            );
        }
        bail!(
            "--auth needs --tls-cert and --tls-key: the Flyte SDK sends credentials only over TLS"
        );
    }
    Ok(())
}

/// Binds every address `addr` resolves to, on one port (the first bound one's, for port 0).
async fn bind(addr: &str) -> anyhow::Result<Vec<TcpListener>> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("cannot resolve --addr {addr}"))?
        .collect();
    let (first, rest) = resolved
        .split_first()
        .with_context(|| format!("--addr {addr} resolves to no address"))?;
    let first_listener = TcpListener::bind(first).await.with_context(|| {
        format!("cannot listen on {first} (is another aerie or a Flyte devbox using the port?)")
    })?;
    let port = first_listener.local_addr()?.port();
    let mut listeners = vec![first_listener];
    for other in rest {
        let other = SocketAddr::new(other.ip(), port);
        match TcpListener::bind(other).await {
            Ok(listener) => listeners.push(listener),
            Err(err) => tracing::warn!(address = %other, error = %err, "not listening here"),
        }
    }
    Ok(listeners)
}

/// Runs the server until shutdown.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AERIE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rustls=error")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut config = args.config()?;
    let listeners = bind(&args.addr).await?;
    let addresses: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|listener| listener.local_addr().ok())
        .collect();
    settle_auth(&mut config, &args, &addresses)?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let auth_on = config.auth;
    let server = aerie_server::start(config, listeners)
        .await
        .context("starting aerie")?;
    let first = server.addresses()[0];
    let mut stdout = std::io::stdout();
    writeln!(stdout, "aerie ready on {scheme}://{first}")?;
    if !auth_on {
        tracing::info!("credentials are not required: anyone who can reach the port can use aerie");
    }
    stdout.flush()?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("aerie: shutting down (send the signal again to exit at once)");
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        std::process::exit(130);
    });
    server.shut_down().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> ServeArgs {
        let mut argv = vec!["serve"];
        argv.extend_from_slice(args);
        Wrapper::parse_from(argv).serve
    }

    #[test]
    fn no_storage_flag_means_the_data_directory_and_a_bad_url_is_refused() {
        assert_eq!(parse(&[]).config().unwrap().storage, None);
        assert_eq!(
            parse(&["--storage", "local"]).config().unwrap().storage,
            None
        );
        let err = parse(&["--storage", "gs://bucket"]).config().unwrap_err();
        assert!(format!("{err:#}").contains("s3://BUCKET"), "{err:#}");
    }

    #[test]
    fn no_database_flag_means_sqlite_inside_the_data_dir() {
        let config = parse(&["--data-dir", "/tmp/x"]).config().unwrap();
        assert_eq!(
            config.backend,
            Backend::Sqlite {
                path: "/tmp/x/aerie.db".into()
            }
        );
    }

    #[test]
    fn postgres_and_sqlite_urls_select_their_backend() {
        let postgres = parse(&["--database", "postgres://u@h/db"])
            .config()
            .unwrap();
        assert!(matches!(postgres.backend, Backend::Postgres { .. }));
        let sqlite = parse(&["--database", "sqlite:///var/a.db"])
            .config()
            .unwrap();
        assert_eq!(
            sqlite.backend,
            Backend::Sqlite {
                path: "/var/a.db".into()
            }
        );
        assert!(parse(&["--database", "mysql://x"]).config().is_err());
    }

    #[test]
    fn the_executor_defaults_to_local_and_noop_can_be_chosen() {
        assert_eq!(parse(&[]).config().unwrap().executor, ExecutorKind::Local);
        assert_eq!(
            parse(&["--executor", "noop"]).config().unwrap().executor,
            ExecutorKind::Noop
        );
    }

    fn settled(args: &[&str], address: &str) -> anyhow::Result<bool> {
        let args = parse(args);
        let mut config = args.config()?;
        settle_auth(&mut config, &args, &[address.parse().unwrap()])?;
        Ok(config.auth)
    }

    #[test]
    fn auth_is_off_on_loopback_and_forced_on_elsewhere_unless_waived() {
        let tls = ["--tls-cert", "c.pem", "--tls-key", "k.pem"];
        assert!(!settled(&[], "127.0.0.1:30080").unwrap());
        assert!(!settled(&[], "[::1]:30080").unwrap());
        let exposed = settled(&[], "0.0.0.0:30080").unwrap_err().to_string();
        assert!(exposed.contains("--insecure-no-auth"), "{exposed}");
        assert!(!settled(&["--insecure-no-auth"], "0.0.0.0:30080").unwrap());
        assert!(settled(&tls, "0.0.0.0:30443").unwrap());
        let mut with_auth = tls.to_vec();
        with_auth.push("--auth");
        assert!(settled(&with_auth, "127.0.0.1:30443").unwrap());
    }

    #[test]
    fn the_host_named_in_addr_is_served_with_the_public_hosts() {
        let config = parse(&[
            "--addr",
            "aerie.internal:30080",
            "--public-host",
            "a.example",
        ])
        .config()
        .unwrap();
        assert_eq!(config.public_hosts, ["a.example", "aerie.internal"]);
        let config = parse(&["--addr", "0.0.0.0:30080"]).config().unwrap();
        assert!(config.public_hosts.is_empty());
        let config = parse(&["--addr", "[::1]:30080"]).config().unwrap();
        assert!(config.public_hosts.is_empty());
    }

    #[test]
    fn auth_without_tls_is_refused() {
        let err = settled(&["--auth"], "127.0.0.1:30080")
            .unwrap_err()
            .to_string();
        assert!(err.contains("--tls-cert"), "{err}");
    }

    #[test]
    fn a_python_env_without_bin_is_refused() {
        let dir = std::env::temp_dir();
        let err = parse(&["--python-env", dir.to_str().unwrap()])
            .config()
            .unwrap_err();
        assert!(err.to_string().contains("not a virtual environment"));
    }
}
