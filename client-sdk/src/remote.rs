//! The remote sink: streams what a `SummaryWriter` logs to a runboard server, batched, acknowledged, spooled, never wedged.
//!
//! # Batches
//! A thread (`runboard-remote`) sends a point as soon as it is idle; points that arrive while a
//! request is in flight form the next batch, capped at [`BATCH_POINTS`] points and
//! [`BATCH_BYTES`] encoded bytes, well under any runboard server's body limit (a single point
//! larger than the cap goes alone). It numbers each batch within this writer's session, writes
//! it to the spool folder (`<run dir>/.runboard-spool/<session>-<seq>.rbbatch`) and POSTs it to
//! `<url>/api/v1/ingest`. A batch's spool file is deleted once the server acknowledges it
//! (after its commit). Batches are idempotent by (session, seq) at the server, so a retry after
//! a lost acknowledgement stores nothing twice. Spool files left by an earlier session in the
//! same folder are sent first. Nothing here ever blocks or fails a logging call.
//!
//! # What the server says, and what happens next ([`Outbox::deliver`])
//! - 200: acknowledged; the spool file is deleted.
//! - 413 (too large): the batch is split in two halves with *new* sequence numbers at the end
//!   of the sending session's sequence (the server never stored the original), spooled in its
//!   place and in its order (`<name>_1.rbbatch`, `<name>_2.rbbatch` sort right after
//!   `<name>.rbbatch` and before the next batch), until each half fits. A lone point that is
//!   still too large is rejected like a 400. Large bodies are sent with `Expect:
//!   100-continue`, so a server that refuses one answers 413 before it is sent instead of
//!   closing the connection on it.
//! - 400 (malformed) or 409 (its key was stored for another run or with other points): the
//!   server will never take it; the file is moved to `<spool>/rejected/` with one log line
//!   saying why, and the stream goes on with the next batch. [`spool_files`] never picks up
//!   what is in `rejected/`.
//! - No connection: the batches wait on disk and are retried in order with exponential backoff;
//!   this is logged once, when it starts. Other failures (a 5xx, a reset) are retried the same
//!   way.
//!
//! # Heartbeats
//! A sender that has had nothing to send for the heartbeat interval (30 s by default,
//! [`crate::writer::LIVENESS_INTERVAL`]) and has every batch acknowledged sends a
//! `{"type":"heartbeat"}` run event, so the server can tell a quiet live run from a dead one.
//! Heartbeats exist only on the wire: they are never written to event files.
//!
//! # Closing
//! [`RemoteSink::close`] waits for acknowledgements only while the server answers, at most
//! [`RemoteOptions::close_timeout`]: when the server cannot be reached it makes one more
//! attempt and returns at once. What was not sent stays in the spool, and one log line names
//! the `runboard sync <spool> --url <url>` command that sends it later ([`RemoteReport`]).
//! `runboard sync` delivers through the same [`Outbox`].

use std::borrow::Cow;
use std::collections::VecDeque;
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
/// Most encoded bytes a batch of more than one point holds: half of the 1 MiB that any
/// runboard server accepts in a request body, so a batch always fits with room to spare.
pub const BATCH_BYTES: usize = 512 << 10;
/// Bodies at least this large are sent with `Expect: 100-continue`: a server that refuses
/// them answers 413 before the body is sent. (Sent in full, a body over the server's limit is
/// cut off by a closed connection, which looks like a network failure, not like a 413.)
pub const EXPECT_CONTINUE_BYTES: usize = 64 << 10;
/// The spool folder's name inside the writer's folder.
pub const SPOOL_DIR: &str = ".runboard-spool";
/// Spool files' extension.
pub const SPOOL_EXT: &str = "rbbatch";
/// The folder, inside a spool folder, that batches the server refused for good are moved to.
pub const REJECTED_DIR: &str = "rejected";

/// Where and how to stream.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// The server's base URL.
    pub url: String,
    /// The run's name at the server.
    pub run: String,
    /// The write token, if the server needs one.
    pub token: Option<String>,
    /// The longest `close()` waits for acknowledgements from a server that answers (one that
    /// cannot be reached is not waited for). Default 10 s.
    pub close_timeout: Duration,
}

impl RemoteOptions {
    /// From `RUNBOARD_URL` (required), `RUNBOARD_RUN` (default: the last component of `dir`)
    /// and `RUNBOARD_TOKEN`; `None` when `RUNBOARD_URL` is unset or empty.
    ///
    /// ```
    /// use runboard_sdk::remote::RemoteOptions;
    /// // Streaming is off unless RUNBOARD_URL names a server.
    /// if std::env::var_os("RUNBOARD_URL").is_none() {
    ///     assert!(RemoteOptions::from_env(std::path::Path::new("runs/exp1")).is_none());
    /// }
    /// ```
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
    /// The server's base URL.
    pub url: String,
    /// Batches acknowledged by the server.
    pub acknowledged: u64,
    /// Batches not acknowledged (the server was away, or did not answer before the close
    /// timeout). They are in the spool folder, except `unspooled` of them.
    pub left: u64,
    /// Of the `left` batches, those that could not be written to the spool either: their
    /// points are only in the event file. This is the one loss `close()` reports as an error.
    pub unspooled: u64,
    /// Batches the server refused for good (400, 409, or a lone point too large), moved to
    /// `<spool>/rejected/`.
    pub rejected: u64,
    /// The spool folder.
    pub spool: PathBuf,
}

impl RemoteReport {
    /// The command that sends what was left: `runboard sync <spool> --url <url>`.
    ///
    /// ```
    /// use runboard_sdk::remote::RemoteReport;
    /// let report = RemoteReport {
    ///     url: "http://127.0.0.1:6006".into(),
    ///     left: 3,
    ///     spool: "runs/exp1/.runboard-spool".into(),
    ///     ..RemoteReport::default()
    /// };
    /// assert_eq!(
    ///     report.sync_command(),
    ///     "runboard sync runs/exp1/.runboard-spool --url http://127.0.0.1:6006"
    /// );
    /// ```
    pub fn sync_command(&self) -> String {
        format!("runboard sync {} --url {}", self.spool.display(), self.url)
    }
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
    /// Starts the remote thread for the writer folder `dir` (its spool folder is
    /// `dir/.runboard-spool`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use runboard_sdk::remote::{RemoteOptions, RemoteSink};
    /// # let dir = tempfile::tempdir()?;
    /// # let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let options = RemoteOptions {
    ///     url: format!("http://127.0.0.1:{port}"), // nothing listens there
    ///     run: "exp1".into(),
    ///     token: None,
    ///     close_timeout: Duration::from_secs(10),
    /// };
    /// let sink = RemoteSink::start(dir.path(), options)?;
    /// sink.push(runboard_sdk::proto::runboard::ingest::Point {
    ///     tag: "loss".into(),
    ///     step: 1,
    ///     wall_time: 1.7e9,
    ///     value: Some(runboard_sdk::proto::runboard::ingest::point::Value::Scalar(0.5)),
    /// });
    /// let report = sink.close(); // returns at once: the server cannot be reached
    /// assert_eq!((report.acknowledged, report.left, report.unspooled), (0, 1, 0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(dir: &Path, options: RemoteOptions) -> std::io::Result<RemoteSink> {
        Self::start_with_heartbeat(dir, options, crate::writer::LIVENESS_INTERVAL)
    }

    /// [`RemoteSink::start`], sending a heartbeat run event (`{"type":"heartbeat"}`, tag
    /// [`RUN_EVENT_TAG`](crate::event::RUN_EVENT_TAG)) whenever it has had nothing to send for
    /// `heartbeat` and every batch is acknowledged (the server then knows the run is alive, if
    /// quiet). A sender still retrying batches sends no heartbeat: the batches say it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use runboard_sdk::remote::{RemoteOptions, RemoteSink};
    /// # let dir = tempfile::tempdir()?;
    /// let options = RemoteOptions {
    ///     url: "http://127.0.0.1:6006".into(),
    ///     run: "exp1".into(),
    ///     token: None,
    ///     close_timeout: Duration::from_secs(10),
    /// };
    /// let sink = RemoteSink::start_with_heartbeat(dir.path(), options, Duration::from_secs(5))?;
    /// # drop(sink);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start_with_heartbeat(
        dir: &Path,
        options: RemoteOptions,
        heartbeat: Duration,
    ) -> std::io::Result<RemoteSink> {
        let spool = dir.join(SPOOL_DIR);
        std::fs::create_dir_all(&spool)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("runboard-remote".into())
            .spawn(move || Sender::new(spool, options, heartbeat).run(rx))?;
        Ok(RemoteSink {
            tx,
            thread: Some(thread),
        })
    }

    /// Queues a point (never blocks).
    pub fn push(&self, point: pb::Point) {
        let _ = self.tx.send(Msg::Point(point));
    }

    /// Spools what is queued, waits for acknowledgements while the server answers (see the
    /// module docs) and stops the thread.
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

/// Why the server did not acknowledge a batch, and so what to do with it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be made (refused, unknown host, connect timeout): the server is
    /// away. Keep the batch and retry later; do not wait for it when closing.
    #[error("cannot connect to {url}: {message}")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// What the network said.
        message: String,
    },
    /// The connection failed during the exchange (reset, timed out, garbled): the server may
    /// or may not have stored the batch. Retry it unchanged (its key makes that safe).
    #[error("sending to {url} failed: {message}")]
    Interrupted {
        /// The server's base URL.
        url: String,
        /// What the network said.
        message: String,
    },
    /// HTTP 413: the batch is larger than the server accepts. Split it ([`Outbox::deliver`]
    /// does), or reject it if it is a single point.
    #[error("HTTP 413: the batch is larger than the server accepts")]
    TooLarge,
    /// HTTP 400 (malformed) or 409 (its key was stored for another run or with other
    /// points): the server will never store this batch. Set it aside; never retry it.
    #[error("HTTP {status}: {message}")]
    Rejected {
        /// The status.
        status: u16,
        /// The server's answer.
        message: String,
    },
    /// Any other answer (401 without the right token, 503 while the server shuts down, a 200
    /// that is not an acknowledgement): the server did not store it now. Retry later.
    #[error("HTTP {status}: {message}")]
    Failed {
        /// The status.
        status: u16,
        /// The server's answer.
        message: String,
    },
}

/// The text of an error body, on one line and at most a few hundred bytes.
fn answer_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > 500 {
        let mut end = 500;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}

/// Whether a transport error means that no connection could be made.
fn is_connect_failure(e: &ureq::Error) -> bool {
    use std::io::ErrorKind;
    match e {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => true,
        ureq::Error::Timeout(t) => {
            matches!(t, ureq::Timeout::Connect | ureq::Timeout::Resolve)
        }
        ureq::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::AddrNotAvailable
                | ErrorKind::HostUnreachable
                | ErrorKind::NetworkUnreachable
        ),
        _ => false,
    }
}

/// Sends one encoded batch to `url`; the server's acknowledgement once it committed it.
///
/// ```no_run
/// use prost::Message;
/// use runboard_sdk::proto::runboard::ingest as pb;
/// use runboard_sdk::remote::{agent, send_batch, SendError};
/// let batch = pb::Batch { run: "exp1".into(), session: "s1".into(), seq: 1, points: vec![] };
/// match send_batch(&agent(), "http://127.0.0.1:6006", None, &batch.encode_to_vec()) {
///     Ok(ack) => println!("stored {} points", ack.points),
///     Err(SendError::Unreachable { .. }) => println!("the server is away: retry later"),
///     Err(e) => println!("not stored: {e}"),
/// }
/// ```
pub fn send_batch(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<pb::Ack, SendError> {
    let mut req = agent
        .post(format!("{}/api/v1/ingest", url.trim_end_matches('/')))
        .header("content-type", "application/x-protobuf");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.len() >= EXPECT_CONTINUE_BYTES {
        req = req.header("expect", "100-continue");
    }
    let transport = |e: ureq::Error| {
        let (url, message) = (url.to_owned(), e.to_string());
        if is_connect_failure(&e) {
            SendError::Unreachable { url, message }
        } else {
            SendError::Interrupted { url, message }
        }
    };
    let mut resp = req.send(body).map_err(transport)?;
    let status = resp.status().as_u16();
    let bytes = resp.body_mut().read_to_vec().map_err(transport)?;
    let message = || answer_text(&bytes);
    match status {
        200 => pb::Ack::decode(bytes.as_slice()).map_err(|e| SendError::Failed {
            status,
            message: format!("not an acknowledgement: {e}"),
        }),
        413 => Err(SendError::TooLarge),
        400 | 409 => Err(SendError::Rejected {
            status,
            message: message(),
        }),
        _ => Err(SendError::Failed {
            status,
            message: message(),
        }),
    }
}

/// An HTTP client with timeouts suited to batches on a local network (5 s to connect, 30 s
/// for a whole exchange), which returns error statuses as responses.
///
/// ```
/// let agent = runboard_sdk::remote::agent(); // for `send_batch`
/// # let _ = agent;
/// ```
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .timeout_connect(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// The spool files under `dir` (any depth), in send order (by name: session, then sequence,
/// a split batch's halves right after it), leaving out what is in a `rejected/` folder below
/// `dir`.
///
/// ```
/// use runboard_sdk::remote::spool_files;
/// # let dir = tempfile::tempdir()?;
/// # let spool = dir.path();
/// std::fs::write(spool.join("s-000000000001.rbbatch"), b"")?;
/// std::fs::write(spool.join("s-000000000001_2.rbbatch"), b"")?;
/// std::fs::write(spool.join("s-000000000001_1.rbbatch"), b"")?;
/// std::fs::create_dir(spool.join("rejected"))?;
/// std::fs::write(spool.join("rejected/s-000000000000.rbbatch"), b"")?;
/// let names: Vec<_> = spool_files(spool)
///     .iter()
///     .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
///     .collect();
/// assert_eq!(names, ["s-000000000001.rbbatch", "s-000000000001_1.rbbatch", "s-000000000001_2.rbbatch"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spool_files(dir: &Path) -> Vec<PathBuf> {
    crate::event_file::files_under(dir, |p| {
        let set_aside = p
            .strip_prefix(dir)
            .ok()
            .and_then(Path::parent)
            .is_some_and(|folders| folders.components().any(|c| c.as_os_str() == REJECTED_DIR));
        p.extension().is_some_and(|x| x == SPOOL_EXT) && !set_aside
    })
}

/// A new session id: the time in nanoseconds and the process id, so that sessions sort by
/// start time and two processes never share one.
///
/// ```
/// let (a, b) = (runboard_sdk::remote::new_session(), runboard_sdk::remote::new_session());
/// assert!(a <= b, "later sessions sort after earlier ones");
/// assert_eq!(a.len(), 32 + 1 + 8); // hex nanoseconds, '-', hex process id
/// ```
pub fn new_session() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:032x}-{:08x}", std::process::id())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that a crash leaves
/// either the whole file or none (a half-written batch would be garbage to send).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The spool file of half `i` (1 or 2) of the batch spooled at `path`: `<name>_<i>.rbbatch`,
/// which sorts after `<name>.rbbatch` (`_` > `.`) and before the batch after it.
fn half_path(path: &Path, i: u8) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}_{i}.{SPOOL_EXT}"))
}

/// A batch waiting for its acknowledgement: its spool file, and its bytes when they are in
/// memory (a batch of this session); a file found on disk is read when its turn comes.
#[derive(Debug, Clone)]
pub struct Spooled {
    path: PathBuf,
    body: Option<Vec<u8>>,
    /// Whether `path` holds the batch. False only when writing it failed: the batch then
    /// lives in memory alone.
    on_disk: bool,
}

impl Spooled {
    /// A batch file found on disk (e.g. by [`spool_files`]).
    pub fn file(path: PathBuf) -> Spooled {
        Spooled {
            path,
            body: None,
            on_disk: true,
        }
    }

    /// The batch's spool file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Puts the halves of a split batch at the front of a send queue, in order, and drops any
/// other entry for their files (left by a split that a crash cut short: those files now hold
/// the new halves, which must be sent once).
///
/// ```
/// use std::collections::VecDeque;
/// use runboard_sdk::remote::{requeue_halves, Spooled};
/// let mut queue: VecDeque<Spooled> = ["a_2.rbbatch", "b.rbbatch"]
///     .into_iter()
///     .map(|p| Spooled::file(p.into()))
///     .collect();
/// let halves = vec![Spooled::file("a_1.rbbatch".into()), Spooled::file("a_2.rbbatch".into())];
/// requeue_halves(&mut queue, halves);
/// let order: Vec<_> = queue.iter().map(|s| s.path().to_str().unwrap()).collect();
/// assert_eq!(order, ["a_1.rbbatch", "a_2.rbbatch", "b.rbbatch"]);
/// ```
pub fn requeue_halves(queue: &mut VecDeque<Spooled>, halves: Vec<Spooled>) {
    queue.retain(|q| halves.iter().all(|h| h.path != q.path));
    for h in halves.into_iter().rev() {
        queue.push_front(h);
    }
}

/// What became of a batch that [`Outbox::deliver`] dealt with.
#[derive(Debug)]
pub enum Delivered {
    /// The server acknowledged it (after its commit); its spool file is deleted.
    Acked(pb::Ack),
    /// It was too large (413): these smaller batches replace it in the spool, and are to be
    /// sent next, in this order.
    Split(Vec<Spooled>),
    /// The server will never take it: set aside in `rejected/`.
    Rejected(Rejection),
    /// Its file is gone (another sender delivered it meanwhile): nothing to do.
    Gone,
}

/// A batch set aside because the server will never take it.
#[derive(Debug)]
pub struct Rejection {
    /// Its spool file.
    pub path: PathBuf,
    /// Why: the server's answer, or why it could not be sent at all.
    pub reason: String,
    /// Where it was moved (`<spool>/rejected/<name>`), or why it could not be.
    pub moved_to: Result<PathBuf, String>,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; ", self.path.display(), self.reason)?;
        match &self.moved_to {
            Ok(to) => write!(f, "moved to {}", to.display()),
            Err(e) => write!(f, "left in place (cannot move it aside: {e})"),
        }
    }
}

/// Why [`Outbox::deliver`] left a batch where it was, to be retried later.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The server did not take it now (away, failing, interrupted). Retry later; when it
    /// [`is_unreachable`](DeliverError::is_unreachable), the server is away.
    #[error(transparent)]
    Send(#[from] SendError),
    /// It was too large, and its halves could not be written to the spool (the disk is full
    /// or read-only): it stays whole. Retry later.
    #[error("cannot spool the halves of {path}: {source}")]
    Spool {
        /// The batch that was to be split.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
}

impl DeliverError {
    /// Whether no connection to the server could be made.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DeliverError::Send(SendError::Unreachable { .. }))
    }
}

/// Delivers spooled batches to one server: sends them, splits what is too large, sets aside
/// what is refused. Both the SDK's sender thread and `runboard sync` deliver through it.
///
/// ```no_run
/// use runboard_sdk::remote::{requeue_halves, spool_files, Delivered, Outbox, Spooled};
/// let mut outbox = Outbox::new("http://127.0.0.1:6006", None);
/// let mut queue: std::collections::VecDeque<Spooled> =
///     spool_files("runs".as_ref()).into_iter().map(Spooled::file).collect();
/// while let Some(batch) = queue.pop_front() {
///     match outbox.deliver(&batch) {
///         Ok(Delivered::Split(halves)) => requeue_halves(&mut queue, halves),
///         Ok(Delivered::Rejected(r)) => eprintln!("not sent: {r}"),
///         Ok(_) => {}
///         Err(e) => { eprintln!("{e}"); break; }
///     }
/// }
/// ```
pub struct Outbox {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
    /// The session whose sequence numbers split halves get.
    session: String,
    /// The last sequence number used in `session`.
    seq: u64,
}

impl Outbox {
    /// An outbox for the server at `url`, with a new session for the halves of split batches.
    pub fn new(url: &str, token: Option<&str>) -> Outbox {
        Outbox::with_session(url, token, new_session())
    }

    fn with_session(url: &str, token: Option<&str>, session: String) -> Outbox {
        Outbox {
            agent: agent(),
            url: url.to_owned(),
            token: token.filter(|t| !t.is_empty()).map(str::to_owned),
            session,
            seq: 0,
        }
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next sequence number of this outbox's session.
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Sends one spooled batch and deals with the answer (see the module docs): `Ok` when the
    /// batch is done with here (acknowledged, split, set aside, gone), an error when it stays
    /// where it is, to be retried.
    pub fn deliver(&mut self, batch: &Spooled) -> Result<Delivered, DeliverError> {
        let body = match &batch.body {
            Some(b) => Cow::Borrowed(b.as_slice()),
            None => match std::fs::read(&batch.path) {
                Ok(b) => Cow::Owned(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Delivered::Gone),
                Err(e) => {
                    let reason = format!("cannot read it: {e}");
                    return Ok(Delivered::Rejected(set_aside(batch, None, reason)));
                }
            },
        };
        if batch.body.is_none() {
            // A file from disk: anything could be in it. Garbage is set aside, never sent.
            if let Err(e) = pb::Batch::decode(body.as_ref()) {
                let reason = format!("not a batch (it does not decode: {e})");
                return Ok(Delivered::Rejected(set_aside(batch, Some(&body), reason)));
            }
        }
        match send_batch(&self.agent, &self.url, self.token.as_deref(), &body) {
            Ok(ack) => {
                if batch.on_disk {
                    // A file left behind by a failed delete is sent again later: a duplicate.
                    let _ = std::fs::remove_file(&batch.path);
                }
                Ok(Delivered::Acked(ack))
            }
            Err(SendError::TooLarge) => self.split(batch, &body),
            Err(SendError::Rejected { status, message }) => {
                let reason = format!("HTTP {status}: {message}");
                Ok(Delivered::Rejected(set_aside(batch, Some(&body), reason)))
            }
            Err(e) => Err(DeliverError::Send(e)),
        }
    }

    /// Replaces a batch the server found too large by its two halves, numbered anew in this
    /// outbox's session and spooled in its place.
    fn split(&mut self, batch: &Spooled, body: &[u8]) -> Result<Delivered, DeliverError> {
        let mut first = match pb::Batch::decode(body) {
            Ok(b) => b,
            Err(e) => {
                let reason = format!("HTTP 413, and it does not decode to be split: {e}");
                return Ok(Delivered::Rejected(set_aside(batch, Some(body), reason)));
            }
        };
        if first.points.len() <= 1 {
            let reason = format!(
                "HTTP 413: a single point of {} bytes is larger than the server accepts",
                body.len()
            );
            return Ok(Delivered::Rejected(set_aside(batch, Some(body), reason)));
        }
        let rest = first.points.split_off(first.points.len() / 2);
        first.session.clone_from(&self.session);
        first.seq = self.next_seq();
        let second = pb::Batch {
            run: first.run.clone(),
            session: self.session.clone(),
            seq: self.next_seq(),
            points: rest,
        };
        // Spool the halves, then drop the batch. A crash in between leaves the batch, which
        // is sent (and split) again: the halves were never sent, so overwriting them is safe.
        let mut halves: Vec<Spooled> = Vec::with_capacity(2);
        for (i, half) in [(1, first), (2, second)] {
            let path = half_path(&batch.path, i);
            let bytes = half.encode_to_vec();
            let on_disk = match write_atomically(&path, &bytes) {
                Ok(()) => true,
                // A batch only in memory loses nothing by halves only in memory.
                Err(_) if !batch.on_disk => false,
                Err(source) => {
                    for h in &halves {
                        let _ = std::fs::remove_file(&h.path);
                    }
                    return Err(DeliverError::Spool { path, source });
                }
            };
            halves.push(Spooled {
                path,
                body: Some(bytes),
                on_disk,
            });
        }
        if batch.on_disk {
            match std::fs::remove_file(&batch.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    // The batch would be sent again beside its halves: undo the split.
                    for h in &halves {
                        let _ = std::fs::remove_file(&h.path);
                    }
                    return Err(DeliverError::Spool {
                        path: batch.path.clone(),
                        source,
                    });
                }
            }
        }
        Ok(Delivered::Split(halves))
    }
}

/// Moves a refused batch to `rejected/` next to it (or writes it there, when it was only in
/// memory). A batch already in a `rejected/` folder stays where it is.
fn set_aside(batch: &Spooled, body: Option<&[u8]>, reason: String) -> Rejection {
    let moved_to = (|| -> Result<PathBuf, String> {
        let dir = batch.path.parent().unwrap_or(Path::new("."));
        if dir.file_name().is_some_and(|n| n == REJECTED_DIR) {
            return Ok(batch.path.clone());
        }
        let rejected = dir.join(REJECTED_DIR);
        std::fs::create_dir_all(&rejected).map_err(|e| e.to_string())?;
        let name = batch.path.file_name().ok_or("a spool file has a name")?;
        let to = rejected.join(name);
        if batch.on_disk {
            std::fs::rename(&batch.path, &to).map_err(|e| e.to_string())?;
        } else {
            let body = body.or(batch.body.as_deref()).unwrap_or_default();
            write_atomically(&to, body).map_err(|e| e.to_string())?;
        }
        Ok(to)
    })();
    Rejection {
        path: batch.path.clone(),
        reason,
        moved_to,
    }
}

/// Collects points into batches of at most [`BATCH_POINTS`] points and `max_bytes` encoded
/// bytes (the batch's own fields included); a point larger than that on its own makes a batch
/// of one.
pub struct BatchBuilder {
    points: Vec<pb::Point>,
    /// Encoded bytes of `points` inside a batch.
    bytes: usize,
    /// Encoded bytes of a batch without points (run, session, the largest seq).
    envelope: usize,
    max_bytes: usize,
}

impl BatchBuilder {
    /// A builder for batches of `run` in `session`, capped at `max_bytes` ([`BATCH_BYTES`]
    /// for the SDK).
    ///
    /// ```
    /// use prost::Message;
    /// use runboard_sdk::proto::runboard::ingest as pb;
    /// use runboard_sdk::remote::BatchBuilder;
    /// let mut builder = BatchBuilder::new("exp1", "s1", 1000);
    /// let point = |step| pb::Point {
    ///     tag: "x".repeat(90),
    ///     step,
    ///     wall_time: 1.7e9,
    ///     value: Some(pb::point::Value::Scalar(0.5)),
    /// };
    /// let mut batches = Vec::new();
    /// for step in 0..100 {
    ///     batches.extend(builder.push(point(step)));
    /// }
    /// batches.extend(builder.take());
    /// assert!(batches.len() > 1);
    /// for points in batches {
    ///     let batch = pb::Batch { run: "exp1".into(), session: "s1".into(), seq: u64::MAX, points };
    ///     assert!(batch.encoded_len() <= 1000);
    /// }
    /// ```
    pub fn new(run: &str, session: &str, max_bytes: usize) -> BatchBuilder {
        let envelope = pb::Batch {
            run: run.to_owned(),
            session: session.to_owned(),
            seq: u64::MAX,
            points: Vec::new(),
        }
        .encoded_len();
        BatchBuilder {
            points: Vec::new(),
            bytes: 0,
            envelope,
            max_bytes,
        }
    }

    /// Adds a point. When it does not fit in the batch being built, returns that batch, and
    /// the point starts the next one.
    pub fn push(&mut self, point: pb::Point) -> Option<Vec<pb::Point>> {
        // Field 4 of `Batch`: key, length, message.
        let size = prost::encoding::message::encoded_len(4, &point);
        let full = !self.points.is_empty()
            && (self.points.len() >= BATCH_POINTS
                || self.envelope + self.bytes + size > self.max_bytes);
        let done = if full { self.take() } else { None };
        self.bytes += size;
        self.points.push(point);
        done
    }

    /// The batch being built, if it has any point.
    pub fn take(&mut self) -> Option<Vec<pb::Point>> {
        self.bytes = 0;
        (!self.points.is_empty()).then(|| std::mem::take(&mut self.points))
    }

    /// Whether no point is waiting.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// A heartbeat run event, now.
fn heartbeat_point() -> pb::Point {
    pb::Point {
        tag: crate::event::RUN_EVENT_TAG.to_owned(),
        step: 0,
        wall_time: crate::event_file::now_secs(),
        value: Some(pb::point::Value::RunEvent(
            crate::run_record::RunEvent::Heartbeat.to_json(),
        )),
    }
}

/// The remote thread's state.
struct Sender {
    spool: PathBuf,
    run: String,
    close_timeout: Duration,
    outbox: Outbox,
    builder: BatchBuilder,
    /// Batches not yet acknowledged, in send order.
    pending: VecDeque<Spooled>,
    backoff: Duration,
    retry_at: Instant,
    acknowledged: u64,
    rejected: u64,
    /// The last attempt could not connect (and that was logged, once).
    unreachable: bool,
    /// The last attempt failed otherwise (and that was logged, once).
    failing: bool,
    /// Quiet for this long with nothing pending, the sender sends a heartbeat.
    heartbeat: Duration,
    /// When the last point (or heartbeat) was queued for sending.
    last_point: Instant,
}

impl Sender {
    fn new(spool: PathBuf, options: RemoteOptions, heartbeat: Duration) -> Sender {
        let session = new_session();
        // Batches an earlier session left behind are read from disk when their turn comes.
        let pending = spool_files(&spool).into_iter().map(Spooled::file).collect();
        let builder = BatchBuilder::new(&options.run, &session, BATCH_BYTES);
        Sender {
            spool,
            run: options.run,
            close_timeout: options.close_timeout,
            outbox: Outbox::with_session(&options.url, options.token.as_deref(), session),
            builder,
            pending,
            backoff: Duration::from_millis(100),
            retry_at: Instant::now(),
            acknowledged: 0,
            rejected: 0,
            unreachable: false,
            failing: false,
            heartbeat: heartbeat.max(Duration::from_millis(10)),
            last_point: Instant::now(),
        }
    }

    /// Whether the sender has been quiet for a heartbeat interval with every batch sent.
    fn heartbeat_due(&self) -> bool {
        self.builder.is_empty()
            && self.pending.is_empty()
            && self.last_point.elapsed() >= self.heartbeat
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) -> RemoteReport {
        let mut closing = false;
        while !closing {
            // Wait for the first point (or the next retry); then take whatever else is already
            // waiting. An idle sender sends a point at once; under load, points pile up while a
            // request is in flight and go in the next batches.
            let timeout = if !self.builder.is_empty() {
                Duration::ZERO
            } else if self.pending.is_empty() {
                let to_heartbeat = self.heartbeat.saturating_sub(self.last_point.elapsed());
                BATCH_INTERVAL.min(to_heartbeat)
            } else {
                self.retry_at.saturating_duration_since(Instant::now())
            };
            let mut drained = false;
            let mut full = false;
            match rx.recv_timeout(timeout) {
                Ok(Msg::Point(p)) => full = self.add(p),
                Ok(Msg::Close) | Err(mpsc::RecvTimeoutError::Disconnected) => closing = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    drained = true;
                    if self.heartbeat_due() {
                        self.add(heartbeat_point());
                    }
                }
            }
            // Up to one full batch at a time, so that sending keeps up under load.
            while !closing && !drained && !full {
                match rx.try_recv() {
                    Ok(Msg::Point(p)) => full = self.add(p),
                    Ok(Msg::Close) | Err(mpsc::TryRecvError::Disconnected) => closing = true,
                    Err(mpsc::TryRecvError::Empty) => drained = true,
                }
            }
            if drained || closing {
                if let Some(points) = self.builder.take() {
                    self.spool_batch(points);
                }
            }
            if !closing && Instant::now() >= self.retry_at {
                self.send_pending();
            }
        }
        self.close()
    }

    /// Adds a point to the batch being built; true when that completed a batch.
    fn add(&mut self, point: pb::Point) -> bool {
        self.last_point = Instant::now();
        match self.builder.push(point) {
            Some(points) => {
                self.spool_batch(points);
                true
            }
            None => false,
        }
    }

    /// One more attempt at once, then more only while the server answers, until the close
    /// timeout; reports what is left.
    fn close(mut self) -> RemoteReport {
        let give_up = Instant::now() + self.close_timeout;
        self.send_pending();
        while !self.pending.is_empty() && !self.unreachable && Instant::now() < give_up {
            std::thread::sleep(
                self.backoff
                    .min(give_up.saturating_duration_since(Instant::now())),
            );
            self.send_pending();
        }
        let left = self.pending.len() as u64;
        let unspooled = self.pending.iter().filter(|s| !s.on_disk).count() as u64;
        let report = RemoteReport {
            url: self.outbox.url.clone(),
            acknowledged: self.acknowledged,
            left,
            unspooled,
            rejected: self.rejected,
            spool: self.spool,
        };
        if unspooled > 0 {
            tracing::error!(
                "runboard: {unspooled} batch(es) of run {:?} could neither be spooled to {} nor sent to {}: their points are only in the event file",
                self.run,
                report.spool.display(),
                report.url,
            );
        }
        if left > unspooled {
            tracing::warn!(
                "runboard: {} batch(es) of run {:?} were not sent to {}; they are kept in {}: send them with `{}`",
                left - unspooled,
                self.run,
                report.url,
                report.spool.display(),
                report.sync_command(),
            );
        }
        report
    }

    fn spool_batch(&mut self, points: Vec<pb::Point>) {
        let batch = pb::Batch {
            run: self.run.clone(),
            session: self.outbox.session.clone(),
            seq: self.outbox.next_seq(),
            points,
        };
        let path = self
            .spool
            .join(format!("{}-{:012}.{SPOOL_EXT}", batch.session, batch.seq));
        let body = batch.encode_to_vec();
        let on_disk = match write_atomically(&path, &body) {
            Ok(()) => true,
            Err(e) => {
                // Still sent from memory; it is only not safe from a crash of this process.
                tracing::error!("runboard: cannot spool a batch to {}: {e}", path.display());
                false
            }
        };
        self.pending.push_back(Spooled {
            path,
            body: Some(body),
            on_disk,
        });
    }

    /// Sends pending batches in order until one cannot be delivered (then backs off).
    fn send_pending(&mut self) {
        while let Some(front) = self.pending.front() {
            match self.outbox.deliver(front) {
                Ok(delivered) => {
                    self.pending.pop_front();
                    self.backoff = Duration::from_millis(100);
                    if std::mem::take(&mut self.unreachable) {
                        tracing::info!(
                            "runboard: {} is reachable again; sending the spooled batches",
                            self.outbox.url
                        );
                    }
                    self.failing = false;
                    match delivered {
                        Delivered::Acked(_) => self.acknowledged += 1,
                        Delivered::Split(halves) => requeue_halves(&mut self.pending, halves),
                        Delivered::Rejected(r) => {
                            self.rejected += 1;
                            tracing::warn!(
                                "runboard: {} refused a batch of run {:?} for good: {r}; streaming goes on",
                                self.outbox.url,
                                self.run
                            );
                        }
                        Delivered::Gone => {}
                    }
                }
                Err(e) => {
                    if e.is_unreachable() {
                        if !self.unreachable {
                            tracing::warn!(
                                "runboard: cannot reach {} ({e}); batches wait in {} and are retried",
                                self.outbox.url,
                                self.spool.display()
                            );
                        }
                        self.unreachable = true;
                    } else {
                        if !self.failing {
                            tracing::warn!(
                                "runboard: {} did not take a batch ({e}); it waits in {} and is retried",
                                self.outbox.url,
                                self.spool.display()
                            );
                        }
                        self.failing = true;
                        self.unreachable = false;
                    }
                    self.retry_at = Instant::now() + self.backoff;
                    self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use proptest::prelude::*;

    use super::*;
    use crate::test_server::FakeServer;

    fn point(tag: &str, step: i64) -> pb::Point {
        pb::Point {
            tag: tag.into(),
            step,
            wall_time: 1.7e9,
            value: Some(pb::point::Value::Scalar(step as f64)),
        }
    }

    fn text_point(tag: &str, step: i64, len: usize) -> pb::Point {
        pb::Point {
            value: Some(pb::point::Value::Text("x".repeat(len))),
            ..point(tag, step)
        }
    }

    fn options(url: &str) -> RemoteOptions {
        RemoteOptions {
            url: url.into(),
            run: "exp".into(),
            token: None,
            close_timeout: Duration::from_secs(30),
        }
    }

    /// Delivers every file under `dir` in order, as `runboard sync` does; the rejections.
    fn deliver_all(outbox: &mut Outbox, dir: &Path) -> Vec<Rejection> {
        let mut queue: VecDeque<Spooled> =
            spool_files(dir).into_iter().map(Spooled::file).collect();
        let mut rejected = Vec::new();
        while let Some(batch) = queue.pop_front() {
            match outbox.deliver(&batch).unwrap() {
                Delivered::Split(halves) => requeue_halves(&mut queue, halves),
                Delivered::Rejected(r) => rejected.push(r),
                Delivered::Acked(_) | Delivered::Gone => {}
            }
        }
        rejected
    }

    fn batch_points(tag: &str, steps: std::ops::Range<i64>) -> Vec<pb::Point> {
        steps.map(|s| point(tag, s)).collect()
    }

    proptest! {
        #[test]
        fn batches_never_exceed_the_byte_cap_and_keep_the_order(
            sizes in proptest::collection::vec(1usize..3000, 1..300),
            cap in 200usize..5000,
        ) {
            let points: Vec<pb::Point> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| text_point("t", i as i64, n))
                .collect();
            let mut builder = BatchBuilder::new("exp", "s", cap);
            let mut batches = Vec::new();
            for p in points.clone() {
                batches.extend(builder.push(p));
            }
            batches.extend(builder.take());
            for b in &batches {
                let encoded = pb::Batch {
                    run: "exp".into(),
                    session: "s".into(),
                    seq: u64::MAX,
                    points: b.clone(),
                }
                .encoded_len();
                prop_assert!(encoded <= cap || b.len() == 1, "{encoded} bytes in {} points", b.len());
            }
            // Greedy: a batch ends only because the next point would not have fitted.
            for pair in batches.windows(2) {
                let with_next: Vec<pb::Point> = pair[0].iter().chain(&pair[1][..1]).cloned().collect();
                let encoded = pb::Batch { run: "exp".into(), session: "s".into(), seq: u64::MAX, points: with_next }.encoded_len();
                prop_assert!(encoded > cap);
            }
            let flat: Vec<pb::Point> = batches.into_iter().flatten().collect();
            prop_assert_eq!(flat, points);
        }
    }

    #[test]
    fn a_point_larger_than_the_cap_goes_alone() {
        let mut builder = BatchBuilder::new("exp", "s", 1000);
        assert!(builder.push(point("a", 1)).is_none());
        let before = builder.push(text_point("big", 2, 5000)).unwrap();
        assert_eq!(before, [point("a", 1)]);
        let alone = builder.push(point("b", 3)).unwrap();
        assert_eq!(alone, [text_point("big", 2, 5000)]);
        assert_eq!(builder.take().unwrap(), [point("b", 3)]);
        assert!(builder.take().is_none());
    }

    #[test]
    fn a_batch_holds_at_most_batch_points_points() {
        let mut builder = BatchBuilder::new("exp", "s", usize::MAX);
        let full: Vec<_> = (0..=BATCH_POINTS as i64)
            .filter_map(|s| builder.push(point("x", s)))
            .collect();
        assert_eq!(full.len(), 1);
        assert_eq!(full[0].len(), BATCH_POINTS);
    }

    #[test]
    fn halves_sort_right_after_their_batch_and_before_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join(format!("s-000000000007.{SPOOL_EXT}"));
        let names = [
            a.clone(),
            half_path(&a, 1),
            half_path(&half_path(&a, 1), 1),
            half_path(&half_path(&a, 1), 2),
            half_path(&a, 2),
            dir.path().join(format!("s-000000000008.{SPOOL_EXT}")),
        ];
        for n in names.iter().rev() {
            std::fs::write(n, b"").unwrap();
        }
        assert_eq!(spool_files(dir.path()), names);
    }

    #[test]
    fn spool_files_leave_out_rejected_batches_and_unfinished_writes() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("run").join(SPOOL_DIR);
        std::fs::create_dir_all(spool.join(REJECTED_DIR)).unwrap();
        std::fs::write(spool.join("s-1.rbbatch"), b"").unwrap();
        std::fs::write(spool.join("s-2.rbbatch.tmp"), b"").unwrap();
        std::fs::write(spool.join(REJECTED_DIR).join("s-0.rbbatch"), b"").unwrap();
        assert_eq!(spool_files(dir.path()), [spool.join("s-1.rbbatch")]);
        // Asked for the rejected folder itself, it is what there is to send.
        assert_eq!(
            spool_files(&spool.join(REJECTED_DIR)),
            [spool.join(REJECTED_DIR).join("s-0.rbbatch")]
        );
    }

    #[test]
    fn a_413_splits_a_batch_into_spooled_halves_with_new_seqs_until_each_fits() {
        let server = FakeServer::start(2000, 0);
        let dir = tempfile::tempdir().unwrap();
        // About 6 KB of points from an earlier session, then a small batch after it.
        let big = pb::Batch {
            run: "exp".into(),
            session: "old".into(),
            seq: 7,
            points: batch_points("a", 0..200),
        };
        let small = pb::Batch {
            run: "exp".into(),
            session: "old".into(),
            seq: 8,
            points: batch_points("b", 0..3),
        };
        std::fs::write(dir.path().join("old-1.rbbatch"), big.encode_to_vec()).unwrap();
        std::fs::write(dir.path().join("old-2.rbbatch"), small.encode_to_vec()).unwrap();
        let mut outbox = Outbox::with_session(&server.url, None, "sync".into());
        // One delivery: the batch is replaced on disk by its halves, numbered in this session.
        let first = Spooled::file(dir.path().join("old-1.rbbatch"));
        let Delivered::Split(halves) = outbox.deliver(&first).unwrap() else {
            panic!("split")
        };
        let names: Vec<_> = spool_files(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["old-1_1.rbbatch", "old-1_2.rbbatch", "old-2.rbbatch"]
        );
        let halves: Vec<pb::Batch> = halves
            .iter()
            .map(|h| pb::Batch::decode(std::fs::read(&h.path).unwrap().as_slice()).unwrap())
            .collect();
        assert_eq!(
            halves
                .iter()
                .map(|h| (h.session.as_str(), h.seq, h.points.len()))
                .collect::<Vec<_>>(),
            [("sync", 1, 100), ("sync", 2, 100)]
        );
        assert!(halves.iter().all(|h| h.run == "exp"));
        // The rest, as sync does: split until each fits, every point once, in order.
        assert!(deliver_all(&mut outbox, dir.path()).is_empty());
        let mut want: Vec<(String, i64)> = (0..200).map(|s| ("a".into(), s)).collect();
        want.extend((0..3).map(|s| ("b".into(), s)));
        assert_eq!(server.points(), want);
        let seen = server.seen();
        assert!(seen.sizes.iter().all(|&n| n <= 2000), "{:?}", seen.sizes);
        assert!(
            seen.too_large >= 3,
            "split more than once: {}",
            seen.too_large
        );
        let keys: Vec<(&str, u64)> = seen
            .stored
            .iter()
            .map(|b| (b.session.as_str(), b.seq))
            .collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "no key used twice: {keys:?}");
        assert!(
            !keys.contains(&("old", 7)),
            "the original key is never stored"
        );
        assert!(
            keys.contains(&("old", 8)),
            "a batch that fits keeps its key"
        );
        assert!(spool_files(dir.path()).is_empty());
    }

    #[test]
    fn a_split_cut_short_by_a_crash_is_redone_without_doubling_a_point() {
        let server = FakeServer::start(2000, 0);
        let dir = tempfile::tempdir().unwrap();
        let big = pb::Batch {
            run: "exp".into(),
            session: "old".into(),
            seq: 1,
            points: batch_points("a", 0..200),
        };
        let path = dir.path().join("old-1.rbbatch");
        std::fs::write(&path, big.encode_to_vec()).unwrap();
        // A crash after the halves were written and before the batch was removed.
        for (i, steps) in [(1, 0..100), (2, 100..200)] {
            let half = pb::Batch {
                run: "exp".into(),
                session: "crashed".into(),
                seq: u64::from(i),
                points: batch_points("a", steps),
            };
            std::fs::write(half_path(&path, i), half.encode_to_vec()).unwrap();
        }
        let mut outbox = Outbox::with_session(&server.url, None, "next".into());
        assert!(deliver_all(&mut outbox, dir.path()).is_empty());
        assert_eq!(
            server.points(),
            (0..200).map(|s| ("a".to_owned(), s)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_sender_splits_what_is_too_large_and_sets_aside_what_is_refused_and_sends_the_rest_once_in_order()
     {
        let server = FakeServer::start(4000, 0);
        let dir = tempfile::tempdir().unwrap();
        // An earlier session left a batch too large for this server in the spool.
        let spool = dir.path().join(SPOOL_DIR);
        std::fs::create_dir_all(&spool).unwrap();
        let left = pb::Batch {
            run: "exp".into(),
            session: "0-earlier".into(),
            seq: 1,
            points: batch_points("left", 0..300),
        };
        std::fs::write(spool.join("0-earlier-1.rbbatch"), left.encode_to_vec()).unwrap();
        let sink = RemoteSink::start(dir.path(), options(&server.url)).unwrap();
        let mut want: Vec<(String, i64)> = (0..300).map(|s| ("left".into(), s)).collect();
        for s in 0..3000 {
            match s {
                // A lone point too large, and one the server refuses: each set aside.
                1000 => sink.push(text_point("huge", s, 10_000)),
                2000 => sink.push(point("refuse", s)),
                _ => {
                    sink.push(point("x", s));
                    want.push(("x".into(), s));
                }
            }
        }
        let report = sink.close();
        assert_eq!(
            (report.left, report.rejected, report.unspooled),
            (0, 2, 0),
            "{report:?}"
        );
        // The lone huge point was set aside alone; the refused one with its whole batch.
        let mut set_aside: Vec<Vec<(String, i64)>> = std::fs::read_dir(spool.join(REJECTED_DIR))
            .unwrap()
            .map(|f| {
                let body = std::fs::read(f.unwrap().path()).unwrap();
                let batch = pb::Batch::decode(body.as_slice()).unwrap();
                batch.points.into_iter().map(|p| (p.tag, p.step)).collect()
            })
            .collect();
        set_aside.sort_by_key(|b| b.len());
        assert_eq!(set_aside[0], [("huge".to_owned(), 1000)]);
        assert!(set_aside[1].contains(&("refuse".to_owned(), 2000)));
        // Every other point arrived once, in order.
        let want: Vec<(String, i64)> = want
            .into_iter()
            .filter(|p| !set_aside[1].contains(p))
            .collect();
        assert_eq!(server.points(), want);
        assert!(server.seen().too_large >= 1);
        assert!(spool_files(&spool).is_empty());
    }

    #[test]
    fn the_sender_caps_its_batches_at_batch_bytes() {
        let server = FakeServer::start(usize::MAX, 0);
        let dir = tempfile::tempdir().unwrap();
        let sink = RemoteSink::start(dir.path(), options(&server.url)).unwrap();
        // About 2.4 MB of points with 90-character tags, pushed at once.
        let tag = "t".repeat(90);
        for s in 0..20_000 {
            sink.push(point(&tag, s));
        }
        let report = sink.close();
        assert_eq!(report.left, 0);
        let seen = server.seen();
        assert_eq!(seen.too_large, 0);
        assert!(
            seen.sizes.iter().all(|&n| n <= BATCH_BYTES),
            "{:?}",
            seen.sizes
        );
        assert!(
            seen.sizes.iter().any(|&n| n > BATCH_BYTES / 2),
            "batches fill up under load: {:?}",
            seen.sizes
        );
        drop(seen);
        let steps: Vec<i64> = server.points().into_iter().map(|(_, s)| s).collect();
        assert_eq!(steps, (0..20_000).collect::<Vec<_>>());
    }

    #[test]
    fn close_waits_for_a_server_that_answers_and_not_for_one_that_is_away() {
        // Answers 503 three times, then takes the batch: close() keeps trying.
        let server = FakeServer::start(usize::MAX, 3);
        let dir = tempfile::tempdir().unwrap();
        let sink = RemoteSink::start(dir.path(), options(&server.url)).unwrap();
        sink.push(point("x", 1));
        let report = sink.close();
        assert_eq!((report.acknowledged, report.left), (1, 0), "{report:?}");
        assert_eq!(server.seen().unavailable, 3);
        // Nothing listens: close() tries once more and returns, long before its timeout.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let sink =
            RemoteSink::start(dir.path(), options(&format!("http://127.0.0.1:{port}"))).unwrap();
        sink.push(point("x", 1));
        let started = Instant::now();
        let report = sink.close();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            (report.acknowledged, report.left, report.unspooled),
            (0, 1, 0)
        );
        assert_eq!(spool_files(&report.spool).len(), 1);
    }
}
