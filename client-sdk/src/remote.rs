//! The remote sink: streams what a `SummaryWriter` logs to a runboard server, batched, acknowledged, spooled, never lost.
//!
//! A thread (`runboard-remote`) sends a point as soon as it is idle; points that arrive while a
//! request is in flight form the next batch (at most [`BATCH_POINTS`]). It numbers each batch
//! within this writer's session, writes it to the
//! spool folder (`<run dir>/.runboard-spool/<session>-<seq>.rbbatch`) and POSTs it to
//! `<url>/api/v1/ingest`. A batch's spool file is deleted once the server acknowledges it
//! (after its commit). While the server is away the batches wait on disk and are retried in
//! order with exponential backoff; batches are idempotent by (session, seq) at the server, so a
//! retry after a lost acknowledgement stores nothing twice. Spool files left by an earlier
//! session in the same folder are sent first. Nothing here ever blocks or fails a logging call.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::Message;
use runboard_proto::runboard::ingest as pb;

/// The environment variable naming the server to stream to (e.g. `http://127.0.0.1:6006`).
pub const URL_ENV: &str = "RUNBOARD_URL";
/// The environment variable naming the run at the server (default: the writer folder's name).
pub const RUN_ENV: &str = "RUNBOARD_RUN";
/// The environment variable holding the server's write token.
pub const TOKEN_ENV: &str = "RUNBOARD_TOKEN";
/// How often an idle sender looks for work (batches never wait for it: see the module docs).
pub const BATCH_INTERVAL: Duration = Duration::from_millis(100);
/// Most points a batch holds.
pub const BATCH_POINTS: usize = 10_000;
/// The spool folder's name inside the writer's folder.
pub const SPOOL_DIR: &str = ".runboard-spool";
/// Spool files' extension.
pub const SPOOL_EXT: &str = "rbbatch";

/// Where and how to stream.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The server's base URL.
    pub url: String,
    /// The run's name at the server.
    pub run: String,
    /// The write token, if the server needs one.
    pub token: Option<String>,
    /// How long `close()` waits for acknowledgements before leaving batches in the spool.
    pub close_timeout: Duration,
}

impl RemoteOptions {
    /// From `RUNBOARD_URL` (required), `RUNBOARD_RUN` (default: the last component of `dir`)
    /// and `RUNBOARD_TOKEN`; `None` when `RUNBOARD_URL` is unset or empty.
    pub fn from_env(dir: &Path) -> Option<RemoteOptions> {
        let url = std::env::var(URL_ENV).ok().filter(|u| !u.is_empty())?;
        let run = std::env::var(RUN_ENV)
            .ok()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "run".into())
            });
        Some(RemoteOptions {
            url,
            run,
            token: std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty()),
            close_timeout: Duration::from_secs(10),
        })
    }
}

/// What the remote thread reports when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteReport {
    /// Batches acknowledged by the server.
    pub acknowledged: u64,
    /// Batches still in the spool folder (not acknowledged before the close timeout).
    pub left: u64,
    /// The spool folder.
    pub spool: PathBuf,
}

enum Msg {
    Point(pb::Point),
    Close,
}

/// The sending side, owned by the writer thread.
pub struct RemoteSink {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<RemoteReport>>,
}

impl RemoteSink {
    /// Starts the remote thread for the writer folder `dir`.
    pub fn start(dir: &Path, options: RemoteOptions) -> std::io::Result<RemoteSink> {
        let spool = dir.join(SPOOL_DIR);
        std::fs::create_dir_all(&spool)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("runboard-remote".into())
            .spawn(move || Sender::new(spool, options).run(rx))?;
        Ok(RemoteSink {
            tx,
            thread: Some(thread),
        })
    }

    /// Queues a point (never blocks).
    pub fn push(&self, point: pb::Point) {
        let _ = self.tx.send(Msg::Point(point));
    }

    /// Sends what is queued, waits (bounded) for acknowledgements and stops the thread.
    pub fn close(mut self) -> RemoteReport {
        let _ = self.tx.send(Msg::Close);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for RemoteSink {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Close);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends one spooled batch file to `url`; `Ok` once the server acknowledged it.
pub fn send_batch(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<(), String> {
    let mut req = agent
        .post(format!("{}/api/v1/ingest", url.trim_end_matches('/')))
        .header("content-type", "application/x-protobuf");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let mut resp = req.send(body).map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    pb::Ack::decode(bytes.as_slice()).map_err(|e| format!("bad acknowledgement: {e}"))?;
    Ok(())
}

/// An HTTP client with timeouts suited to batches on a local network.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The spool files under `dir` (any depth), in send order (by name: session, then sequence).
pub fn spool_files(dir: &Path) -> Vec<PathBuf> {
    crate::event_file::files_under(dir, |p| p.extension().is_some_and(|x| x == SPOOL_EXT))
}

/// A batch waiting for its acknowledgement: its spool file, and its bytes unless it was left
/// by an earlier session (then they are read from the file when it is sent).
struct Spooled {
    path: PathBuf,
    body: Option<Vec<u8>>,
}

struct Sender {
    spool: PathBuf,
    options: RemoteOptions,
    session: String,
    seq: u64,
    /// Spool files not yet acknowledged, in send order.
    pending: std::collections::VecDeque<Spooled>,
    agent: ureq::Agent,
    backoff: Duration,
    retry_at: Instant,
    acknowledged: u64,
    warned: bool,
}

impl Sender {
    fn new(spool: PathBuf, options: RemoteOptions) -> Sender {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let session = format!("{nanos:032x}-{:08x}", std::process::id());
        // Batches an earlier session left behind are read from disk when their turn comes.
        let pending = spool_files(&spool)
            .into_iter()
            .map(|path| Spooled { path, body: None })
            .collect();
        Sender {
            spool,
            options,
            session,
            seq: 0,
            pending,
            agent: agent(),
            backoff: Duration::from_millis(100),
            retry_at: Instant::now(),
            acknowledged: 0,
            warned: false,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) -> RemoteReport {
        let mut points = Vec::new();
        let mut closing = false;
        while !closing {
            // Wait for the first point (or the next retry); then take whatever else is already
            // waiting. An idle sender sends a point at once; under load, points pile up while a
            // request is in flight and go in the next batch.
            let timeout = if self.pending.is_empty() {
                BATCH_INTERVAL
            } else {
                self.retry_at.saturating_duration_since(Instant::now())
            };
            match rx.recv_timeout(timeout) {
                Ok(Msg::Point(p)) => points.push(p),
                Ok(Msg::Close) | Err(mpsc::RecvTimeoutError::Disconnected) => closing = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            while !closing && points.len() < BATCH_POINTS {
                match rx.try_recv() {
                    Ok(Msg::Point(p)) => points.push(p),
                    Ok(Msg::Close) | Err(mpsc::TryRecvError::Disconnected) => closing = true,
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            if !points.is_empty() {
                self.spool_batch(std::mem::take(&mut points));
            }
            if Instant::now() >= self.retry_at {
                self.send_pending();
            }
        }
        // Closing: keep trying until everything is acknowledged or the timeout passes.
        let give_up = Instant::now() + self.options.close_timeout;
        while !self.pending.is_empty() && Instant::now() < give_up {
            self.send_pending();
            if !self.pending.is_empty() {
                std::thread::sleep(
                    self.backoff
                        .min(give_up.saturating_duration_since(Instant::now())),
                );
            }
        }
        let left = self.pending.len() as u64;
        if left > 0 {
            tracing::warn!(
                "runboard: {left} batch(es) were not acknowledged by {}; they are kept in {} — send them later with `runboard sync {}`",
                self.options.url,
                self.spool.display(),
                self.spool.display()
            );
        }
        RemoteReport {
            acknowledged: self.acknowledged,
            left,
            spool: self.spool,
        }
    }

    fn spool_batch(&mut self, points: Vec<pb::Point>) {
        self.seq += 1;
        let batch = pb::Batch {
            run: self.options.run.clone(),
            session: self.session.clone(),
            seq: self.seq,
            points,
        };
        let path = self
            .spool
            .join(format!("{}-{:012}.{SPOOL_EXT}", self.session, self.seq));
        let body = batch.encode_to_vec();
        if let Err(e) = std::fs::write(&path, &body) {
            // Still sent from memory; it is only not safe from a crash of this process.
            tracing::error!("runboard: cannot spool a batch to {}: {e}", path.display());
        }
        self.pending.push_back(Spooled {
            path,
            body: Some(body),
        });
    }

    /// Sends pending batches in order until one fails (then backs off).
    fn send_pending(&mut self) {
        while let Some(Spooled { path, body }) = self.pending.front() {
            let body = match body {
                Some(b) => std::borrow::Cow::Borrowed(b.as_slice()),
                None => match std::fs::read(path) {
                    Ok(b) => std::borrow::Cow::Owned(b),
                    Err(_) => {
                        self.pending.pop_front(); // sent and removed by `runboard sync` meanwhile
                        continue;
                    }
                },
            };
            match send_batch(
                &self.agent,
                &self.options.url,
                self.options.token.as_deref(),
                &body,
            ) {
                Ok(()) => {
                    let _ = std::fs::remove_file(path);
                    self.pending.pop_front();
                    self.acknowledged += 1;
                    self.backoff = Duration::from_millis(100);
                    self.warned = false;
                }
                Err(e) => {
                    if !self.warned {
                        tracing::warn!(
                            "runboard: {} unreachable ({e}); spooling to {} and retrying",
                            self.options.url,
                            self.spool.display()
                        );
                        self.warned = true;
                    }
                    self.retry_at = Instant::now() + self.backoff;
                    self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
                    return;
                }
            }
        }
    }
}
