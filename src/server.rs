//! The server: a validated [`Config`], and [`serve`] that runs the store, the ingester and the HTTP API until shutdown.
//!
//! Connections are accepted by our own loop over hyper-util's HTTP/1 + HTTP/2 connection
//! builder rather than `axum::serve`, so that a slow or silent client cannot hold the server:
//! at most [`Limits::max_connections`] connections are served at once (the next one waits in
//! the kernel's backlog until one ends), each must send a whole request head within
//! [`Limits::header_timeout`] (also the first one: a socket that sends nothing is closed), and
//! a request body must arrive within [`Limits::body_deadline`].

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::api::guard::{HostPolicy, TokenPolicy};
use crate::api::{self, AppState};
use crate::ingest::{IngestOptions, Ingester};
use crate::store::Store;

/// How long a client may take, and how many may be served at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// A request head (request line and headers) must arrive within this, counted from the
    /// connection's start or from the previous response (an idle keep-alive connection is
    /// closed after it too).
    pub header_timeout: Duration,
    /// A request body must arrive within this, counted from its head; a handler that reads it
    /// later answers 408.
    pub body_deadline: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 10 s for a request head, 30 s for a body, 512 connections.
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_deadline: api::DEFAULT_BODY_DEADLINE,
            max_connections: 512,
        }
    }
}

/// Everything `runboard serve` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The logdir to tail, if any.
    pub logdir: Option<PathBuf>,
    /// The SQLite database file.
    pub db: PathBuf,
    /// Address to bind.
    pub host: IpAddr,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// Ingest tunables.
    pub ingest: IngestOptions,
    /// The token writes must carry (and reads, beyond loopback, unless `public_reads`).
    pub token: Option<String>,
    /// On a non-loopback host, serve reads without the token (writes still need it).
    pub public_reads: bool,
    /// `Host` names served besides loopback names and IP addresses (`--allowed-host`).
    pub allowed_hosts: Vec<String>,
    /// Timeouts and the connection cap.
    pub limits: Limits,
    /// Which GPUs to sample into the `system` run and `/metrics`.
    pub gpu: crate::gpu::GpuMode,
    /// Seconds a running run may be silent before it is served as `stalled`.
    pub stall_after: f64,
}

impl Config {
    /// The defaults: logdir `./runs`, the default database for it, 127.0.0.1:6006.
    pub fn for_logdir(logdir: PathBuf) -> Config {
        let db = default_db_path(&logdir);
        Config {
            logdir: Some(logdir),
            db,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 6006,
            ingest: IngestOptions::default(),
            token: None,
            public_reads: false,
            allowed_hosts: Vec::new(),
            limits: Limits::default(),
            gpu: crate::gpu::GpuMode::Auto,
            stall_after: crate::runs::DEFAULT_STALL_AFTER_SECS,
        }
    }

    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// FNV-1a, 64 bits: a stable hash for naming a database after its logdir.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The default database of a logdir: `$XDG_DATA_HOME/runboard/<name>-<hash>.sqlite`
/// (`~/.local/share/runboard/...` when `XDG_DATA_HOME` is unset), one per logdir, outside the
/// logdir so a read-only logdir works and the database's writes never wake the watcher.
pub fn default_db_path(logdir: &Path) -> PathBuf {
    let canonical = logdir
        .canonicalize()
        .unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(logdir));
    let name: String = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = fnv1a(canonical.to_string_lossy().as_bytes());
    data_dir().join(format!("{name}-{hash:016x}.sqlite"))
}

fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("runboard");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/runboard"),
        None => std::env::temp_dir().join("runboard"),
    }
}

/// Runs the server until Ctrl-C or SIGTERM: builds the runtime, binds [`Config::addr`], tells
/// `on_bound` the address it got (port 0 picks one), then [`serve`]s. What `runboard serve`
/// and `runboard demo` both call.
pub fn run(config: Config, on_bound: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("runboard-http")
        .build()?;
    runtime.block_on(async move {
        let addr = config.addr();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        on_bound(listener.local_addr()?);
        serve(config, listener, shutdown_signal()).await
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Runs the server on `listener` until `shutdown` resolves: opens the store, starts tailing
/// the logdir, serves the API, then stops everything in order (HTTP, ingest, store) so that
/// what was read is committed.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    let hosts = HostPolicy::new(local.ip(), &config.allowed_hosts)?;
    let tokens = TokenPolicy::for_host(local.ip(), config.token.clone(), config.public_reads);
    let db = config.db.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&db)).await??;
    let ingester = match &config.logdir {
        Some(logdir) => Some(Ingester::start(
            logdir,
            store.clone(),
            config.ingest.clone(),
        )?),
        None => None,
    };
    let state = AppState {
        logdir: config.logdir.clone(),
        tokens: tokens.clone(),
        ingest: ingester.as_ref().map(Ingester::stats).unwrap_or_default(),
        stall_after: config.stall_after,
        ..AppState::new(store.clone())
    };
    let gpu_sampler = crate::gpu::start(config.gpu, store.clone(), state.gpus.clone());
    // Live streams end when shutdown starts, so an open dashboard cannot hold the server up.
    let (stop_streams, streams_stopped) = tokio::sync::watch::channel(false);
    let app = api::router_with(
        state,
        api::RouterOptions {
            shutdown: Some(streams_stopped),
            hosts,
            body_deadline: config.limits.body_deadline,
            ..api::RouterOptions::default()
        },
    );
    tracing::info!(
        "runboard serving {} on http://{} (database {})",
        config
            .logdir
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "no logdir".into()),
        local,
        config.db.display()
    );
    if let (Some(token), true) = (tokens.token(), tokens.reads_need_token()) {
        tracing::info!(
            "reads need the token: open {} once in a browser to log in",
            login_link(local, token)
        );
    }
    accept_loop(listener, app, &config.limits, async move {
        shutdown.await;
        let _ = stop_streams.send(true);
    })
    .await;
    tokio::task::spawn_blocking(move || {
        drop(gpu_sampler);
        if let Some(i) = ingester {
            i.stop();
        }
        store.shutdown();
    })
    .await?;
    Ok(())
}

/// The link that logs a browser in (`/?token=`), on a loopback address when the server is
/// bound to an unspecified one.
fn login_link(local: SocketAddr, token: &str) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let query = serde_urlencoded::to_string([("token", token)]).unwrap_or_default();
    format!("http://{}/?{query}", SocketAddr::new(ip, local.port()))
}

/// Accepts connections until `shutdown` resolves, at most `limits.max_connections` at a time,
/// then waits for the open ones to finish (idle ones close at once, live streams end when
/// `shutdown` has signalled them).
async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // The slot is taken before accepting: over the cap, connections wait in the backlog.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // never closed
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            peer,
            app.clone(),
            Arc::clone(&builder),
            graceful.watcher(),
            limits.header_timeout,
            slot,
        ));
        tracing::trace!(%peer, "connection accepted");
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves one connection until it ends, or closes it when no request arrived within
/// `header_timeout` of its start (hyper's own header timeout only starts once the HTTP version
/// is known, which needs bytes: a silent socket would be held forever). `slot` is given back
/// when it ends.
async fn serve_connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: Watcher,
    header_timeout: Duration,
    slot: OwnedSemaphorePermit,
) {
    let first_request = Arc::new(Notify::new());
    let seen = Arc::clone(&first_request);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        seen.notify_one();
        // The client's address, for handlers that record who asked (the run edit log).
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let app = app.clone();
        async move {
            let res: Result<_, Infallible> =
                tower::ServiceExt::oneshot(app, req.map(Body::new)).await;
            res
        }
    });
    let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
    let silent = async {
        if tokio::time::timeout(header_timeout, first_request.notified())
            .await
            .is_ok()
        {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = connection => {
            if let Err(e) = served {
                tracing::debug!("connection ended: {e}");
            }
        }
        () = silent => tracing::debug!("no request within {header_timeout:?}: connection closed"),
    }
    drop(slot);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_db_is_per_logdir_and_outside_it() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let da = default_db_path(a.path());
        assert_ne!(da, default_db_path(b.path()));
        assert_eq!(da, default_db_path(a.path()), "stable");
        assert!(!da.starts_with(a.path()));
        assert_eq!(da.extension().unwrap(), "sqlite");
    }
}
