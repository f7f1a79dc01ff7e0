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
    /// (`~/.local/share/runboard/<logdir name>-<hash>.sqlite`), created on first use. A restart
    /// on the same database resumes where the committed data ends instead of re-reading.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// TCP port for the dashboard and the APIs (0 picks a free port).
    #[arg(long, default_value_t = 6006)]
    pub port: u16,
    /// Address to listen on. Default 127.0.0.1: only this machine can connect.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Seconds between polls of logdir folders that cannot be watched (no permission, the
    /// inotify watch limit reached, no notifications on this platform). Watched folders are
    /// never polled: an idle server sleeps until a file changes.
    #[arg(long, default_value_t = 1.0, value_parser = parse_interval)]
    pub poll_interval: f64,
    /// Follow symlinks in the logdir that lead outside it (symlinks that stay inside it are
    /// always followed).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// The token that writes (POST /api/v1/ingest) must carry as `Authorization: Bearer
    /// <token>`. Required when --host is not a loopback address; there, reads need it too
    /// (unless --public-reads): a browser logs in once at /login, or with the `/?token=` link
    /// printed at start-up. Default: none (writes are open to this machine only, since the
    /// default host is 127.0.0.1).
    #[arg(long, env = "RUNBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Listen on a non-loopback --host WITHOUT a write token: anyone who can reach the port can
    /// write runs. Only for trusted networks.
    #[arg(long)]
    pub insecure_public_writes: bool,
    /// On a non-loopback --host, serve reads (the dashboard, the APIs' GETs, /metrics) without
    /// the token. Writes still need it.
    #[arg(long)]
    pub public_reads: bool,
    /// Also answer requests whose `Host` is NAME (repeatable), e.g. the machine's DNS name or a
    /// reverse proxy's. Loopback names and addresses (localhost, 127.0.0.1, ::1) are always
    /// answered, and so is the --host address (any IP address when --host is 0.0.0.0 or ::);
    /// other names are refused with 403 so that a web page cannot reach the server through
    /// DNS rebinding.
    #[arg(long, value_name = "NAME", value_parser = parse_allowed_host)]
    pub allowed_host: Vec<String>,
    /// Connections served at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Seconds a client may take to send a request's headers (also on an idle kept-alive
    /// connection, and before the first byte), before its connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_timeout)]
    pub header_timeout: f64,
    /// Seconds a client may take to send a request's body, from its headers on (408 after).
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse_timeout)]
    pub body_timeout: f64,
    /// Sample N simulated GPUs instead of the host's (for demos and tests). Without it the
    /// host's GPUs are sampled every second when NVML loads.
    #[arg(long, value_name = "N")]
    pub gpu_sim: Option<usize>,
    /// Do not sample GPUs.
    #[arg(long, conflicts_with = "gpu_sim")]
    pub no_gpu: bool,
    /// Seconds a running run may send nothing (no data, no heartbeat, no change to its event
    /// files) before it is shown as stalled.
    #[arg(long, value_name = "SECS", default_value_t = crate::runs::DEFAULT_STALL_AFTER_SECS, value_parser = parse_timeout)]
    pub stall_after: f64,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            logdir: PathBuf::from("runs"),
            db: None,
            port: 6006,
            host: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            poll_interval: 1.0,
            follow_symlinks: false,
            token: None,
            insecure_public_writes: false,
            public_reads: false,
            allowed_host: Vec::new(),
            max_connections: 512,
            header_timeout: 10.0,
            body_timeout: 30.0,
            gpu_sim: None,
            no_gpu: false,
            stall_after: crate::runs::DEFAULT_STALL_AFTER_SECS,
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

fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if (0.1..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err("a timeout must be between 0.1 and 3600 seconds".into())
    }
}

fn parse_allowed_host(s: &str) -> Result<String, String> {
    crate::api::guard::normalize_host_name(s).map_err(|e| e.to_string())
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
        if self.public_reads && !self.host.is_loopback() && token.is_some() {
            tracing::warn!(
                "--public-reads: anyone who can reach {} can read every run (writes still need the token)",
                self.host
            );
        }
        let mut config = crate::server::Config::for_logdir(self.logdir);
        config.token = token;
        config.public_reads = self.public_reads;
        config.allowed_hosts = self.allowed_host;
        config.limits = crate::server::Limits {
            header_timeout: std::time::Duration::from_secs_f64(self.header_timeout),
            body_deadline: std::time::Duration::from_secs_f64(self.body_timeout),
            max_connections: self.max_connections as usize,
        };
        config.gpu = match (self.gpu_sim, self.no_gpu) {
            (_, true) => crate::gpu::GpuMode::Off,
            (Some(n), false) => crate::gpu::GpuMode::Simulated(n),
            (None, false) => crate::gpu::GpuMode::Auto,
        };
        if let Some(db) = self.db {
            config.db = db;
        }
        config.host = self.host;
        config.port = self.port;
        config.stall_after = self.stall_after;
        config.ingest.poll_interval = std::time::Duration::from_secs_f64(self.poll_interval);
        config.ingest.follow_symlinks = self.follow_symlinks;
        Ok(config)
    }
}

/// `runboard export` flags.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["logdir", "db"])))]
pub struct ExportArgs {
    /// Export this logdir: its event files are read once into a temporary database (deleted
    /// afterwards). No server needs to run. Exactly one of --logdir and --db.
    #[arg(long, value_name = "DIR")]
    pub logdir: Option<PathBuf>,
    /// Export this runboard database (e.g. a server's --db, also while it runs: it is opened
    /// read-only and read as one consistent snapshot). Exactly one of --logdir and --db.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// The output folder, created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// What to write under --out.
    #[arg(long, value_enum)]
    pub format: crate::export::Format,
    /// Only runs whose name matches this regex (anywhere in the name, like TensorBoard's run
    /// filter; anchor it with ^...$).
    #[arg(long, value_name = "REGEX")]
    pub run: Option<String>,
    /// Only tags that match this regex (anywhere in the tag).
    #[arg(long, value_name = "REGEX")]
    pub tag: Option<String>,
    /// Charts only (png, svg): TensorBoard's smoothing weight in [0, 1) (its slider; 0.6 is its
    /// default). The raw line is drawn faint under the smoothed one. Default: no smoothing.
    #[arg(long, value_name = "W")]
    pub smoothing: Option<f64>,
    /// Charts only (png, svg): points read per run, downsampled so that every bucket's first,
    /// last, min and max are kept (spikes stay visible). csv, json and tfevents always export
    /// every point.
    #[arg(long, value_name = "N", default_value_t = crate::chart::DEFAULT_MAX_POINTS)]
    pub max_points: usize,
    /// Charts only (png, svg): a logarithmic y axis (values <= 0 are left out).
    #[arg(long)]
    pub log_scale: bool,
    /// Charts only (png, svg): width in pixels (100 to 4096).
    #[arg(long, value_name = "PX", default_value_t = crate::chart::DEFAULT_WIDTH)]
    pub width: u32,
    /// Charts only (png, svg): height in pixels (100 to 4096).
    #[arg(long, value_name = "PX", default_value_t = crate::chart::DEFAULT_HEIGHT)]
    pub height: u32,
}

impl ExportArgs {
    /// The export's options.
    pub fn into_options(self) -> crate::export::ExportOptions {
        use crate::export::Source;
        let source = match (self.logdir, self.db) {
            (_, Some(db)) => Source::Db(db),
            (Some(logdir), None) => Source::Logdir(logdir),
            // clap's `source` group requires one of the two.
            (None, None) => Source::Logdir(PathBuf::from("runs")),
        };
        crate::export::ExportOptions {
            source,
            out: self.out,
            format: self.format,
            run: self.run,
            tag: self.tag,
            chart: crate::chart::ChartOptions {
                width: self.width,
                height: self.height,
                smoothing: self.smoothing,
                log_y: self.log_scale,
            },
            max_points: self.max_points,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send batches that an SDK left in a spool folder (`.runboard-spool`, when the server was
    /// unreachable) to a server, in order; each is deleted once acknowledged. Batches are
    /// idempotent: sending one twice stores it once. A batch the server finds too large (413)
    /// is split and sent in halves; one it refuses for good (400, 409) or a file that is not a
    /// batch is moved to `rejected/` next to it, listed, and skipped. Stops early only when the
    /// server cannot be reached; exits non-zero when anything was not sent.
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
    /// Show the GPUs like gpustat: memory, utilization, temperature, power. Exits non-zero
    /// with a one-line explanation where NVML is not available.
    Gpu {
        /// Refresh every second until interrupted.
        #[arg(long)]
        watch: bool,
        /// Print JSON (one array of GPUs) for scripts.
        #[arg(long)]
        json: bool,
        /// Show N simulated GPUs instead of the host's.
        #[arg(long, value_name = "N")]
        sim: Option<usize>,
    },
    /// Start a server with simulated training runs (different hparams) and two simulated GPUs
    /// logging live: the whole dashboard in seconds. Runs are written to a temporary folder
    /// (removed at exit) unless --logdir names one.
    Demo {
        /// TCP port (0 picks a free port).
        #[arg(long, default_value_t = 6006)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// How many simulated runs (1 to 12).
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..=12))]
        runs: u16,
        /// Steps each run logs.
        #[arg(long, default_value_t = 5000)]
        steps: i64,
        /// Training steps a second, per run.
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Write the runs here (kept) instead of a temporary folder.
        #[arg(long)]
        logdir: Option<PathBuf>,
    },
    /// Export scalars (CSV, JSON Lines), event files TensorBoard reads, or one chart per tag
    /// (PNG, SVG) from a logdir or a database, without a server: every point, not a sample.
    Export(ExportArgs),
    /// List a server's runs (status, config, metric summaries) and tag, archive, rename or
    /// delete them, through its API: what the dashboard's run table does, for scripts and CI.
    Runs(runs::RunsArgs),
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

mod runs;

/// Parses the arguments, sets up logging (`RUST_LOG`, default `info`) and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: logs piped to a file or a service manager stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Command::Serve(args) => crate::server::run(args.into_config()?, |_| {}),
        Command::Sync { dir, url, token } => sync_command(&dir, &url, token.as_deref()),
        Command::Gpu { watch, json, sim } => gpu_command(watch, json, sim),
        Command::Demo {
            port,
            host,
            runs,
            steps,
            rate,
            logdir,
        } => {
            if !host.is_loopback() {
                anyhow::bail!("the demo only listens on a loopback address, not {host}");
            }
            crate::demo::run(crate::demo::DemoOptions {
                port,
                host,
                runs: usize::from(runs),
                steps,
                rate,
                logdir,
            })
        }
        Command::Export(args) => export_command(args),
        Command::Runs(args) => runs::command(args),
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

/// `runboard sync`: delivers every spooled batch under `dir` it can (through the SDK's
/// [`runboard_sdk::remote::Outbox`], as the SDK does), lists on stderr what it could not, and
/// fails when anything was not sent.
fn sync_command(dir: &std::path::Path, url: &str, token: Option<&str>) -> anyhow::Result<()> {
    use runboard_sdk::remote::{self, Delivered, Spooled};
    let files = remote::spool_files(dir);
    if files.is_empty() {
        anyhow::bail!(
            "no spooled batches (*.{}) under {}",
            remote::SPOOL_EXT,
            dir.display()
        );
    }
    let found = files.len();
    let mut queue: std::collections::VecDeque<Spooled> =
        files.into_iter().map(Spooled::file).collect();
    let mut outbox = remote::Outbox::new(url, token);
    let (mut sent, mut points, mut split) = (0u64, 0u64, 0u64);
    let mut not_sent: Vec<String> = Vec::new();
    while let Some(batch) = queue.pop_front() {
        match outbox.deliver(&batch) {
            Ok(Delivered::Acked(ack)) => {
                sent += 1;
                points += ack.points;
            }
            Ok(Delivered::Split(halves)) => {
                split += 1;
                remote::requeue_halves(&mut queue, halves);
            }
            Ok(Delivered::Rejected(rejection)) => not_sent.push(rejection.to_string()),
            Ok(Delivered::Gone) => {}
            Err(e) if e.is_unreachable() => {
                anyhow::bail!(
                    "{e}; {sent} batch(es) sent, {} left in {} (run this again when the server is up){}",
                    queue.len() + 1,
                    dir.display(),
                    listed(&not_sent)
                );
            }
            Err(e) => {
                // The server answered but did not store it (5xx, 401): it stays for a later sync.
                not_sent.push(format!("{}: {e}; left in place", batch.path().display()));
            }
        }
    }
    tracing::info!(
        "sent {sent} batch(es) ({points} points) from {} to {url}{}",
        dir.display(),
        if split > 0 {
            format!(", splitting {split} that were too large")
        } else {
            String::new()
        }
    );
    if !not_sent.is_empty() {
        anyhow::bail!(
            "{} batch(es) of the {found} spooled were not sent{}",
            not_sent.len(),
            listed(&not_sent)
        );
    }
    Ok(())
}

/// `:` and one indented line per entry, or nothing when there is none.
fn listed(lines: &[String]) -> String {
    lines.iter().fold(String::new(), |mut out, l| {
        if out.is_empty() {
            out.push(':');
        }
        out.push_str("\n  ");
        out.push_str(l);
        out
    })
}

fn export_command(args: ExportArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let options = args.into_options();
    // Drawn on stderr only when it is a terminal: logs and CI output get the summary alone.
    let progress = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
    } else {
        indicatif::ProgressBar::hidden()
    };
    let summary = crate::export::export(&options, &progress)?;
    println!("{summary}");
    Ok(())
}

fn gpu_command(watch: bool, json: bool, sim: Option<usize>) -> anyhow::Result<()> {
    use runboard_sdk::gpu::{GpuSource, NvmlGpus, SimulatedGpus};
    let mut source: Box<dyn GpuSource> = match sim {
        Some(n) => Box::new(SimulatedGpus::new(n)),
        None => Box::new(NvmlGpus::new().map_err(|e| {
            anyhow::anyhow!("{e} (no NVIDIA driver here? `--sim N` shows simulated GPUs)")
        })?),
    };
    loop {
        let gpus = source.gpus();
        let mut out = String::new();
        if json {
            let list: Vec<serde_json::Value> = gpus
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "index": g.index, "uuid": g.uuid, "name": g.name,
                        "memory_total_bytes": g.memory_total_bytes, "memory_used_bytes": g.memory_used_bytes,
                        "memory_free_bytes": g.memory_free_bytes, "memory_reserved_bytes": g.memory_reserved_bytes,
                        "utilization_percent": g.utilization_percent,
                        "memory_utilization_percent": g.memory_utilization_percent,
                        "temperature_celsius": g.temperature_celsius, "power_watts": g.power_watts,
                        "power_limit_watts": g.power_limit_watts, "driver_version": g.driver_version,
                    })
                })
                .collect();
            out.push_str(&serde_json::to_string(&list)?);
        } else {
            let opt = |v: Option<f64>, unit: &str| {
                v.map(|v| format!("{v:.0}{unit}"))
                    .unwrap_or_else(|| "-".into())
            };
            for g in &gpus {
                out.push_str(&format!(
                    "[{}] {:<28} | {:>6} / {:>6} MiB | {:>4} util | {:>5} | {:>5} / {:>5}\n",
                    g.index,
                    g.name,
                    g.memory_used_bytes >> 20,
                    g.memory_total_bytes >> 20,
                    opt(g.utilization_percent, "%"),
                    opt(g.temperature_celsius, "°C"),
                    opt(g.power_watts, "W"),
                    opt(g.power_limit_watts, "W"),
                ));
            }
            if gpus.is_empty() {
                out.push_str("no GPUs\n");
            }
        }
        if watch && !json {
            print!("\x1b[2J\x1b[H");
        }
        println!("{}", out.trim_end());
        if !watch {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
