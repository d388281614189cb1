//! Serving connections: plain TCP or TLS (rustls), HTTP/1.1 and h2 on each, with limits that
//! hold against slow and abusive clients: a cap on open connections, deadlines for the TLS
//! handshake and for a request's headers, and an idle deadline while a request body arrives.

use crate::web::routes::Routes;
use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig as TlsConfig;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// How long a client gets for the TLS handshake and for sending a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request body may go without sending anything.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// File descriptors kept free of connections, for the database, logs, blobs and tasks.
const RESERVED_FDS: u64 = 256;

/// A certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} {path}: {detail}")]
    Read {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("the TLS certificate and key do not work together: {0}")]
    Config(String),
}

fn read_pem<T>(
    what: &'static str,
    path: &Path,
    parse: impl FnOnce(&Path) -> Result<T, rustls_pki_types::pem::Error>,
) -> Result<T, TlsError> {
    parse(path).map_err(|err| TlsError::Read {
        what,
        path: path.to_owned(),
        detail: err.to_string(),
    })
}

/// The acceptor for `files`, offering h2 and HTTP/1.1.
pub fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = read_pem("certificate", &files.cert, |path| {
        CertificateDer::pem_file_iter(path)?.collect::<Result<Vec<_>, _>>()
    })?;
    let key = read_pem("key", &files.key, |path| PrivateKeyDer::from_pem_file(path))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = TlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsError::Config(err.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| TlsError::Config(err.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Raises the open-file limit as far as allowed and returns how many connections fit in it
/// (at most `wanted`).
pub fn connection_capacity(wanted: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    let soft = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return wanted;
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            raised.rlim_cur
        } else {
            limit.rlim_cur
        }
    };
    let room = soft.saturating_sub(RESERVED_FDS).max(16);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Serves `router` on `listener` until `stop`, then lets open connections finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Routes,
    connections: Arc<Semaphore>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut refused_at_capacity = 0u64;
    loop {
        let (stream, _peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors or a connection reset before accept: keep serving.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            refused_at_capacity += 1;
            if refused_at_capacity.is_power_of_two() {
                tracing::warn!(
                    refused = refused_at_capacity,
                    "too many open connections; closing new ones"
                );
            }
            continue;
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY on a connection");
        }
        let router = router.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let service =
                TowerToHyperService::new(router.map_request(|request: http::Request<Incoming>| {
                    request.map(|body| Body::new(IdleTimeout::new(body, BODY_IDLE_TIMEOUT)))
                }));
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            builder.http2().timer(TokioTimer::new());
            let served = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let connection = builder
                                .serve_connection_with_upgrades(TokioIo::new(stream), service);
                            watcher.watch(connection.into_owned()).await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(error = %err, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
                None => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
            };
            if let Err(err) = served {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A request body that fails if it sends nothing for `idle`. The timer starts only when the
/// body has to be waited for, so a body that arrives with its headers costs no timer.
struct IdleTimeout {
    inner: Incoming,
    idle: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl IdleTimeout {
    fn new(inner: Incoming, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            stalled: None,
        }
    }
}

/// A request body stalled past [`BODY_IDLE_TIMEOUT`].
#[derive(Debug, thiserror::Error)]
#[error("the request body stopped arriving")]
struct BodyStalled;

impl HttpBody for IdleTimeout {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stalled = None;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let stalled = this
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match stalled.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
