//! The server: a validated [`Config`], and [`serve`] that runs the store, the ingester and the HTTP API until shutdown.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::api::{self, AppState};
use crate::ingest::{IngestOptions, Ingester};
use crate::store::Store;

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
    /// The token writes must carry; required when listening beyond loopback.
    pub write_token: Option<String>,
    /// Which GPUs to sample into the `system` run and `/metrics`.
    pub gpu: crate::gpu::GpuMode,
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
            write_token: None,
            gpu: crate::gpu::GpuMode::Auto,
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

/// Runs the server on `listener` until `shutdown` resolves: opens the store, starts tailing
/// the logdir, serves the API, then stops everything in order (HTTP, ingest, store) so that
/// what was read is committed.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
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
        store: store.clone(),
        logdir: config.logdir.clone(),
        window_title: String::new(),
        write_token: config.write_token.clone(),
        gpus: crate::gpu::GpuSnapshot::default(),
        ingest: ingester.as_ref().map(Ingester::stats).unwrap_or_default(),
    };
    let gpu_sampler = crate::gpu::start(config.gpu, store.clone(), state.gpus.clone());
    // Live streams end when shutdown starts, so an open dashboard cannot hold the server up.
    let (stop_streams, streams_stopped) = tokio::sync::watch::channel(false);
    let app = api::router_with(
        state,
        api::RouterOptions {
            shutdown: Some(streams_stopped),
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
        listener.local_addr()?,
        config.db.display()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_streams.send(true);
        })
        .await?;
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
