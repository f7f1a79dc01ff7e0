//! The command line: clap definitions, logging set-up and dispatch to the commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// runboard: experiment tracking with TensorBoard-compatible files, at full fidelity.
///
/// `runboard` alone serves ./runs on http://127.0.0.1:6006, like `tensorboard --logdir runs`.
#[derive(Debug, Parser)]
#[command(name = "runboard", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: `serve` with its defaults).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `runboard serve` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The logdir to read: event files (names containing `tfevents`) at any depth; each
    /// directory holding event files is a run named by its path relative to the logdir.
    /// Files are tailed as they grow.
    #[arg(long, default_value = "runs")]
    pub logdir: PathBuf,
    /// The SQLite database. Default: one per logdir under $XDG_DATA_HOME/runboard/
    /// (~/.local/share/runboard/<logdir name>-<hash>.sqlite), created on first use. A restart
    /// on the same database resumes where the committed data ends instead of re-reading.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// TCP port for the dashboard and the APIs (0 picks a free port).
    #[arg(long, default_value_t = 6006)]
    pub port: u16,
    /// Address to listen on. Default 127.0.0.1: only this machine can connect.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Seconds between checks of the logdir when no file-system event arrives (inotify wakes
    /// the reader at once on Linux; this is the fallback).
    #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
    pub poll_interval: f64,
    /// The token that writes (POST /api/v1/ingest) must carry as `Authorization: Bearer
    /// <token>`. Required when --host is not a loopback address. Default: none (writes are
    /// open to this machine only, since the default host is 127.0.0.1).
    #[arg(long, env = "RUNBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Listen on a non-loopback --host WITHOUT a write token: anyone who can reach the port can
    /// write runs. Only for trusted networks.
    #[arg(long)]
    pub insecure_public_writes: bool,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            logdir: PathBuf::from("runs"),
            db: None,
            port: 6006,
            host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            poll_interval: 1.0,
            token: None,
            insecure_public_writes: false,
        }
    }
}

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if (0.01..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err("the poll interval must be between 0.01 and 3600 seconds".into())
    }
}

impl ServeArgs {
    /// The validated server configuration.
    pub fn into_config(self) -> anyhow::Result<crate::server::Config> {
        if self.logdir.exists() && !self.logdir.is_dir() {
            anyhow::bail!("logdir {} is not a directory", self.logdir.display());
        }
        if !self.logdir.exists() {
            // Like TensorBoard: serve it anyway; training will create it and it is picked up then.
            tracing::warn!(
                "logdir {} does not exist (yet); it will be read once it does",
                self.logdir.display()
            );
        }
        let token = self.token.filter(|t| !t.is_empty());
        if !self.host.is_loopback() && token.is_none() {
            if !self.insecure_public_writes {
                anyhow::bail!(
                    "listening on {} would let anyone who can reach it write runs: set a token with \
                     --token or RUNBOARD_TOKEN (or pass --insecure-public-writes on a trusted network)",
                    self.host
                );
            }
            tracing::warn!(
                "INSECURE: listening on {} with no write token: anyone who can reach it can write",
                self.host
            );
        }
        let mut config = crate::server::Config::for_logdir(self.logdir);
        config.write_token = token;
        if let Some(db) = self.db {
            config.db = db;
        }
        config.host = self.host;
        config.port = self.port;
        config.ingest.poll_interval = std::time::Duration::from_secs_f64(self.poll_interval);
        Ok(config)
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send batches that an SDK left in a spool folder (`.runboard-spool`, when the server was
    /// unreachable) to a server, in order; each is deleted once acknowledged. Batches are
    /// idempotent: sending one twice stores it once.
    Sync {
        /// A spool folder, or any folder above spool folders (e.g. the logdir).
        dir: PathBuf,
        /// The server's base URL.
        #[arg(long, env = "RUNBOARD_URL")]
        url: String,
        /// The server's write token, if it has one.
        #[arg(long, env = "RUNBOARD_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Serve a logdir: the dashboard, runboard's API and TensorBoard's data API (default command).
    Serve(ServeArgs),
    /// Summarise the event files of a logdir (or one file): runs, tags, kinds, step ranges,
    /// and damaged records skipped. Like `tensorboard --inspect`, without the sampling.
    Inspect {
        /// A logdir (searched at any depth for files whose name contains `tfevents`) or one event file.
        path: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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

/// Parses the arguments, sets up logging (`RUST_LOG`, default `info`) and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("runboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()))
    {
        Command::Serve(args) => {
            let config = args.into_config()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("runboard-http")
                .build()?;
            runtime.block_on(async move {
                let addr = config.addr();
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
                crate::server::serve(config, listener, shutdown_signal()).await
            })
        }
        Command::Sync { dir, url, token } => {
            use runboard_sdk::remote;
            let files = remote::spool_files(&dir);
            if files.is_empty() {
                anyhow::bail!(
                    "no spooled batches (*.{}) under {}",
                    remote::SPOOL_EXT,
                    dir.display()
                );
            }
            let agent = remote::agent();
            for (i, file) in files.iter().enumerate() {
                let body = std::fs::read(file)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                remote::send_batch(
                    &agent,
                    &url,
                    token.as_deref().filter(|t| !t.is_empty()),
                    &body,
                )
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{} of {} batches sent; {} failed: {e}",
                        i,
                        files.len(),
                        file.display()
                    )
                })?;
                std::fs::remove_file(file).map_err(|e| {
                    anyhow::anyhow!("sent but cannot remove {}: {e}", file.display())
                })?;
            }
            tracing::info!(
                "sent {} batch(es) from {} to {url}",
                files.len(),
                dir.display()
            );
            Ok(())
        }
        Command::Inspect { path, json } => {
            let report = crate::inspect::inspect(&path)?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &report.to_json())?;
                use std::io::Write;
                writeln!(out)?;
            } else {
                report.print_table(&mut out)?;
            }
            Ok(())
        }
    }
}
