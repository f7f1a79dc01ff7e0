//! `SummaryWriter`: tensorboardX/torch-style logging whose cost on the training thread is a few tens of nanoseconds.
//!
//! # How a call stays cheap
//! The calling thread does almost nothing: it maps the tag to a small integer (a hash lookup in
//! a map only it touches), reads the clock, and pushes a 32-byte item onto a shared queue under
//! an uncontended mutex. A background thread (`runboard-writer`) wakes every
//! [`WriterOptions::flush_interval`] (100 ms by default), takes the whole queue in one swap,
//! encodes and frames the events and hands them to the OS, so a file is live-viewable within
//! about a tenth of a second.
//!
//! # Queue policy: nothing is ever dropped
//! The queue holds up to [`WriterOptions::queue_capacity`] items (1,048,576 by default). When
//! it is half full the writer thread is woken early; when it is full, the logging call *waits*
//! for the writer thread to drain it (backpressure) rather than drop a point. The only time data
//! is discarded is when the writer thread is gone (it hit a panic), so that training never hangs
//! on logging; such losses are counted and reported by [`SummaryWriter::flush`] and
//! [`SummaryWriter::close`].
//!
//! # Errors
//! Logging calls never fail and never panic (logging must not crash training). I/O errors on
//! the writer thread are logged once through `tracing`, counted, and returned by the next
//! `flush()` or `close()`.
//!
//! # Streaming
//! With [`WriterOptions::remote`] (or `RUNBOARD_URL`) everything logged is also streamed to a
//! server ([`crate::remote`]). The event file stays the durable record: `close()` succeeds
//! when the event file is complete, whether or not the server was reachable. What was not sent
//! stays in the spool folder (one log line names the `runboard sync` command that sends it;
//! [`SummaryWriter::close_with_report`] returns the details). `close()` fails for streaming
//! only when a batch could neither be spooled nor sent ([`WriterError::NotSpooled`]).
//!
//! # The run's own events
//! Unless [`WriterOptions::record_run`] is off, a writer also says what it is
//! ([`crate::run_record`]): its writer thread first writes the run record (collected there,
//! so starting costs the training thread nothing) and a `running` status; [`SummaryWriter::close`]
//! writes `finished`; a writer dropped while its thread panics writes `crashed` with the panic
//! message. A writer dropped otherwise writes everything it was given and no status. While
//! nothing is logged, the writer keeps the file's modification time fresh (and, streaming,
//! sends heartbeats) every [`WriterOptions::liveness_interval`], so that a quiet live run is
//! told from a dead one.
//!
//! # Inside
//! This file is the public API. `queue` is the bounded queue between the logging calls and the
//! writer thread (backpressure, flush tickets, errors reported back); `worker` is the
//! `runboard-writer` thread that drains it, encodes events, writes the event file and feeds the
//! remote sink; `panic` remembers panic messages for the `crashed` status.

mod panic;
mod queue;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use runboard_proto::tensorboard::hparams::Status;
use rustc_hash::FxHashMap;

use crate::event::HParamValue;
use crate::event_file::{EventFileWriter, now_secs};
use crate::remote::{RemoteOptions, RemoteReport, RemoteSink};
use crate::run_record::{RunEvent, RunRecord, RunState};
use crate::summary::{self, ImageError};
use queue::{Item, Pending, PendingKind, Queue, State};

/// How long a writer may be quiet before it shows it is alive: it sets its event file's
/// modification time to now and, when streaming, sends a heartbeat (the server calls a
/// running run that it has not heard from for 300 s stalled).
pub const LIVENESS_INTERVAL: Duration = Duration::from_secs(30);

/// Tunables of a [`SummaryWriter`]; `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// How often the writer thread hands logged events to the OS. Default 100 ms.
    pub flush_interval: Duration,
    /// Items the queue holds before logging calls wait. Default 1,048,576 (about 32 MiB).
    pub queue_capacity: usize,
    /// Buckets per histogram. Default 30, as TF2.
    pub histogram_buckets: usize,
    /// Appended to the event file's name (tensorboardX's `filename_suffix`). Default empty.
    pub filename_suffix: String,
    /// Also stream everything to a runboard server. Default: from `RUNBOARD_URL`,
    /// `RUNBOARD_RUN` and `RUNBOARD_TOKEN` when `RUNBOARD_URL` is set (see [`crate::remote`]).
    /// The event file stays the durable record either way.
    pub remote: Option<RemoteOptions>,
    /// Write the run's own events: the run record and `running` at the start, `finished` at
    /// `close()`, `crashed` when dropped during a panic ([`crate::run_record`]). Default true.
    pub record_run: bool,
    /// Put the code's git state (commit, branch, remote, diff) in the run record. Default true;
    /// `RUNBOARD_DISABLE_GIT=1` turns it off too.
    pub record_git: bool,
    /// The folder whose git state the record holds (any folder of the repository). Default
    /// `None`: the current directory.
    pub git_dir: Option<PathBuf>,
    /// How long a quiet writer waits before it refreshes its file's modification time and,
    /// streaming, sends a heartbeat. Default [`LIVENESS_INTERVAL`] (30 s).
    pub liveness_interval: Duration,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_millis(100),
            queue_capacity: 1 << 20,
            histogram_buckets: summary::DEFAULT_HISTOGRAM_BUCKETS,
            filename_suffix: String::new(),
            remote: None,
            record_run: true,
            record_git: true,
            git_dir: None,
            liveness_interval: LIVENESS_INTERVAL,
        }
    }
}

/// Why a writer could not start, or what went wrong while it wrote.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The directory or the event file could not be created. Nothing was started.
    #[error("cannot create event file in {dir}: {source}")]
    Create {
        /// The directory asked for.
        dir: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The writer thread could not be spawned.
    #[error("cannot start the writer thread: {0}")]
    Spawn(std::io::Error),
    /// Streaming: `batches` batches were neither acknowledged by the server nor written to the
    /// spool folder (the disk refused them), so their points are only in the event file. The
    /// event file itself is complete (else this would be [`WriterError::Write`]); fix the disk
    /// holding `spool`, and serve or re-send the event file if the server needs those points.
    #[error(
        "{batches} batch(es) could neither be spooled to {spool} nor acknowledged by the server: their points are only in the event file"
    )]
    NotSpooled {
        /// Batches neither spooled nor acknowledged.
        batches: u64,
        /// The spool folder.
        spool: PathBuf,
    },
    /// Writing failed on the writer thread; `lost` events may be missing from the file.
    #[error("writing {path} failed: {message} ({lost} events lost)")]
    Write {
        /// The event file.
        path: PathBuf,
        /// The first error seen.
        message: String,
        /// Events that could not be written.
        lost: u64,
    },
}

/// Writes TensorBoard event files from a training loop (see the module docs for the cost model,
/// the queue policy and error handling).
///
/// ```
/// use runboard_sdk::SummaryWriter;
/// # let dir = tempfile::tempdir().unwrap();
/// # let logdir = dir.path().join("exp1");
/// let mut writer = SummaryWriter::new(&logdir)?;
/// for step in 0..100 {
///     let loss = 1.0 / (step as f64 + 1.0);
///     writer.add_scalar("train/loss", loss, step);
/// }
/// writer.add_histogram("weights", &[0.1, 0.2, 0.2, 0.9], 99);
/// writer.add_text("notes", "**baseline** run", 99);
/// writer.close()?;
/// # Ok::<(), runboard_sdk::WriterError>(())
/// ```
pub struct SummaryWriter {
    queue: Arc<Queue>,
    worker: Option<JoinHandle<()>>,
    /// Tag ids by name; only the logging thread touches it (the writer thread learns each
    /// name once, from an [`Item::Tag`]).
    tags: FxHashMap<Box<str>, u32>,
    path: PathBuf,
    dir: PathBuf,
    max_step: i64,
    /// The options it started with (the remote resolved from the environment), for siblings.
    options: WriterOptions,
    /// The run record its writer thread writes first; `None` when it writes no run events.
    record: Option<Arc<SharedRecord>>,
    /// The writers of [`SummaryWriter::add_scalars`], by folder name; closed with this one.
    siblings: FxHashMap<String, SummaryWriter>,
}

impl std::fmt::Debug for SummaryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryWriter")
            .field("path", &self.path)
            .field("tags", &self.tags.len())
            .field("siblings", &self.siblings.len())
            .finish_non_exhaustive()
    }
}

/// The run record event of a writer and its [`SummaryWriter::add_scalars`] siblings: collected
/// once, by whichever of their writer threads asks first (the others wait for it).
pub(crate) struct SharedRecord {
    config: Vec<(String, HParamValue)>,
    /// Where git is asked; `None`: the record holds no git state.
    git_dir: Option<PathBuf>,
    json: OnceLock<String>,
}

impl SharedRecord {
    fn new(config: &[(&str, HParamValue)], options: &WriterOptions) -> SharedRecord {
        let git_dir = if options.record_git && !crate::run_record::git_disabled_by_env() {
            options
                .git_dir
                .clone()
                .or_else(|| std::env::current_dir().ok())
        } else {
            None
        };
        SharedRecord {
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            git_dir,
            json: OnceLock::new(),
        }
    }

    /// The `record` event's JSON text (collected on the first call).
    fn json(&self) -> &str {
        self.json.get_or_init(|| {
            let config: Vec<(&str, HParamValue)> = self
                .config
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            let record = RunRecord::collect(&config, self.git_dir.as_deref());
            RunEvent::Record {
                record: Box::new(record),
            }
            .to_json()
        })
    }
}

impl SummaryWriter {
    /// Creates `dir` if needed and a new event file
    /// `events.out.tfevents.<10-digit secs>.<hostname>.<pid>.<n>` in it, holding the version
    /// record, and starts the writer thread.
    ///
    /// ```
    /// use runboard_sdk::SummaryWriter;
    /// # let dir = tempfile::tempdir()?;
    /// let writer = SummaryWriter::new(dir.path().join("exp1"))?;
    /// assert!(writer.path().starts_with(writer.dir()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(dir: impl AsRef<Path>) -> Result<SummaryWriter, WriterError> {
        Self::with_options(dir, WriterOptions::default())
    }

    /// [`SummaryWriter::new`] with explicit [`WriterOptions`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use runboard_sdk::{SummaryWriter, WriterOptions};
    /// # let dir = tempfile::tempdir()?;
    /// let options = WriterOptions {
    ///     flush_interval: Duration::from_millis(20),
    ///     filename_suffix: ".v2".into(),
    ///     ..WriterOptions::default()
    /// };
    /// let writer = SummaryWriter::with_options(dir.path(), options)?;
    /// assert!(writer.path().to_string_lossy().ends_with(".v2"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_options(
        dir: impl AsRef<Path>,
        options: WriterOptions,
    ) -> Result<SummaryWriter, WriterError> {
        Self::start(dir.as_ref(), options, &[])
    }

    /// [`SummaryWriter::with_options`] whose run record holds `config` (a `Run`'s).
    pub(crate) fn start(
        dir: &Path,
        options: WriterOptions,
        config: &[(&str, HParamValue)],
    ) -> Result<SummaryWriter, WriterError> {
        let record = options
            .record_run
            .then(|| Arc::new(SharedRecord::new(config, &options)));
        Self::start_with_record(dir, options, record)
    }

    fn start_with_record(
        dir: &Path,
        mut options: WriterOptions,
        record: Option<Arc<SharedRecord>>,
    ) -> Result<SummaryWriter, WriterError> {
        let dir = dir.to_path_buf();
        let file = EventFileWriter::create(&dir, &options.filename_suffix).map_err(|source| {
            WriterError::Create {
                dir: dir.clone(),
                source,
            }
        })?;
        let path = file.path().to_path_buf();
        options.remote = options
            .remote
            .take()
            .or_else(|| RemoteOptions::from_env(&dir));
        let remote = match &options.remote {
            Some(r) => Some(
                RemoteSink::start_with_heartbeat(&dir, r.clone(), options.liveness_interval)
                    .map_err(WriterError::Spawn)?,
            ),
            None => None,
        };
        if record.is_some() {
            panic::install_hook();
        }
        let queue = Arc::new(Queue::new(options.queue_capacity));
        let worker = worker::spawn(
            Arc::clone(&queue),
            worker::Setup {
                file,
                flush_interval: options.flush_interval,
                histogram_buckets: options.histogram_buckets,
                remote,
                record: record.clone(),
                liveness_interval: options.liveness_interval,
            },
        )
        .map_err(WriterError::Spawn)?;
        Ok(SummaryWriter {
            queue,
            worker: Some(worker),
            tags: FxHashMap::default(),
            path,
            dir,
            max_step: 0,
            options,
            record,
            siblings: FxHashMap::default(),
        })
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory (the run) being written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The largest step logged so far (0 before any).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_scalar("loss", 0.5, 7);
    /// writer.add_scalar("loss", 0.4, 3);
    /// assert_eq!(writer.max_step(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_step(&self) -> i64 {
        self.max_step
    }

    /// The id of `tag` (queueing its name the first time it is used), noting `step` as logged.
    fn tag_at(&mut self, tag: &str, step: i64) -> u32 {
        let id = match self.tags.get(tag) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.tags.len()).unwrap_or(u32::MAX);
                self.tags.insert(tag.into(), id);
                self.queue.push(Item::Tag {
                    id,
                    name: tag.into(),
                });
                id
            }
        };
        if step > self.max_step {
            self.max_step = step;
        }
        id
    }

    /// Logs a scalar: any number that converts to `f64` without loss (`f64`, `f32`, `i32`,
    /// `u32`, ...). NaN and ±Inf are kept. Stored as float32, like every TensorBoard writer.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_scalar("train/loss", 0.25, 1);
    /// writer.add_scalar("train/loss", f64::NAN, 2); // kept, not dropped
    /// writer.add_scalar("train/lr", 1e-3f32, 2);
    /// writer.add_scalar("train/epoch", 3, 2); // an i32
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn add_scalar(&mut self, tag: &str, value: impl Into<f64>, step: i64) {
        let value = value.into();
        let tag = self.tag_at(tag, step);
        let wall_time = now_secs();
        self.queue.push(Item::Scalar {
            tag,
            step,
            wall_time,
            value,
        });
    }

    /// Logs several scalars of one chart, as tensorboardX does: each `(name, value)` goes to a
    /// writer of its own in the folder `<this writer's dir>/<main_tag with '/' as '_'>_<name>`
    /// (a run of its own, next to this one), under the tag `main_tag`, so that TensorBoard
    /// draws them as one chart with one line per name. Those writers are opened on first use
    /// and closed with this one. A folder that cannot be created is reported by the next
    /// `flush()` or `close()`, like a write error.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path().join("exp1"))?;
    /// for step in 0..10 {
    ///     let loss = 1.0 / (step as f64 + 1.0);
    ///     writer.add_scalars("loss", &[("train", loss), ("eval", loss * 1.1)], step);
    /// }
    /// writer.close()?;
    /// assert!(dir.path().join("exp1/loss_train").is_dir());
    /// assert!(dir.path().join("exp1/loss_eval").is_dir());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_scalars(&mut self, main_tag: &str, values: &[(&str, f64)], step: i64) {
        let prefix = main_tag.replace('/', "_");
        for (name, value) in values {
            let folder = format!("{prefix}_{name}");
            if !self.siblings.contains_key(&folder) {
                match self.open_sibling(&folder) {
                    Ok(w) => {
                        self.siblings.insert(folder.clone(), w);
                    }
                    Err(e) => {
                        self.report_lost(&e);
                        continue;
                    }
                }
            }
            if let Some(w) = self.siblings.get_mut(&folder) {
                w.add_scalar(main_tag, *value, step);
            }
        }
    }

    /// A writer for `<dir>/<folder>`, with this one's options and run record; streaming, its
    /// run is `<this run>/<folder>` (its name in the logdir too).
    fn open_sibling(&self, folder: &str) -> Result<SummaryWriter, WriterError> {
        let mut options = self.options.clone();
        if let Some(r) = &mut options.remote {
            r.run = format!("{}/{folder}", r.run);
        }
        Self::start_with_record(&self.dir.join(folder), options, self.record.clone())
    }

    /// Reports an error met on the logging thread as the writer thread reports its own: logged
    /// once, returned by the next `flush()` / `close()`, the item counted as lost.
    fn report_lost(&self, e: &dyn std::fmt::Display) {
        let mut q = self.queue.lock();
        if q.first_error.is_none() {
            tracing::error!("runboard: {e}");
            q.first_error = Some(e.to_string());
        }
        q.lost += 1;
    }

    /// Logs a histogram of `values` ([`WriterOptions::histogram_buckets`] equal-width buckets,
    /// computed on the writer thread; non-finite values are left out).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_histogram("weights", &[0.1, 0.2, 0.2, 0.9], 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_histogram(&mut self, tag: &str, values: &[f64], step: i64) {
        self.push_histogram(tag, values.to_vec(), step);
    }

    /// [`SummaryWriter::add_histogram`] for `f32` values.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_histogram_f32("activations", &[0.5f32, 1.5, 2.5], 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_histogram_f32(&mut self, tag: &str, values: &[f32], step: i64) {
        self.push_histogram(tag, values.iter().map(|&v| f64::from(v)).collect(), step);
    }

    fn push_histogram(&mut self, tag: &str, values: Vec<f64>, step: i64) {
        let tag = self.tag_at(tag, step);
        self.push_other(step, PendingKind::Histogram { tag, values });
    }

    fn push_other(&self, step: i64, kind: PendingKind) {
        let wall_time = now_secs();
        self.queue.push(Item::Other(Box::new(Pending {
            step,
            wall_time,
            kind,
        })));
    }

    /// Logs a model graph: a `GraphDef` from any producer (nodes with `name`, `op`, `input`,
    /// `device` and `attr`, name scopes as `/`-separated prefixes), written as the event file's
    /// `Event.graph_def`, where TensorBoard's Graphs tab and runboard read it. It is serialized
    /// on the writer thread.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use runboard_sdk::proto::tensorboard::{GraphDef, NodeDef};
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let node = |name: &str, op: &str, input: &[&str]| NodeDef {
    ///     name: name.into(),
    ///     op: op.into(),
    ///     input: input.iter().map(|s| s.to_string()).collect(),
    ///     ..NodeDef::default()
    /// };
    /// writer.add_graph_def(&GraphDef {
    ///     node: vec![node("x", "Placeholder", &[]), node("net/fc/matmul", "MatMul", &["x"])],
    ///     ..GraphDef::default()
    /// });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_graph_def(&mut self, graph: &runboard_proto::tensorboard::GraphDef) {
        self.push_other(0, PendingKind::Graph(Box::new(graph.clone())));
    }

    /// Logs a Custom Scalars layout (categories of charts, each over several tags or a value
    /// with its bounds), as tensorboardX's `add_custom_scalars` does: TensorBoard's Custom
    /// Scalars tab and runboard's `/data/plugin/custom_scalars/layout` merge the layouts of
    /// every run. Written to the event file, and streamed when the writer streams.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// use runboard_sdk::proto::tensorboard::{Category, Chart, Layout, MultilineChartContent, chart};
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let losses = Chart {
    ///     title: "losses".into(),
    ///     content: Some(chart::Content::Multiline(MultilineChartContent {
    ///         tag: vec!["train/loss".into(), "val/loss".into()],
    ///     })),
    /// };
    /// writer.add_custom_scalars(&Layout {
    ///     version: 0,
    ///     category: vec![Category { title: "loss".into(), chart: vec![losses], closed: false }],
    /// });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_custom_scalars(&mut self, layout: &runboard_proto::tensorboard::Layout) {
        use prost::Message;
        let tensor = runboard_proto::tensorboard::TensorProto {
            dtype: runboard_proto::tensorboard::DataType::DtString as i32,
            tensor_shape: Some(runboard_proto::tensorboard::TensorShapeProto::default()),
            string_val: vec![layout.encode_to_vec()],
            ..Default::default()
        };
        let value = crate::summary::tensor(
            crate::event::CUSTOM_SCALARS_LAYOUT_TAG,
            crate::event::plugin::CUSTOM_SCALARS,
            Vec::new(),
            tensor,
        );
        self.push_other(0, PendingKind::Value(value));
    }

    /// Logs a precision–recall curve of binary `labels` and `predictions` (scores in `[0, 1]`)
    /// at `num_thresholds` thresholds (2 to 127; tensorboardX's default is 127), computed as
    /// tensorboardX's and torch's `add_pr_curve` compute it, for TensorBoard's PR Curves tab
    /// and runboard's. The counts are computed here (one pass over the predictions); the
    /// writer thread writes them.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let labels = [true, false, true, true];
    /// let scores = [0.9f32, 0.4, 0.65, 0.2];
    /// writer.add_pr_curve("pr/cat", &labels, &scores, 10, 127);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_pr_curve(
        &mut self,
        tag: &str,
        labels: &[bool],
        predictions: &[f32],
        step: i64,
        num_thresholds: u32,
    ) {
        let curve = summary::pr_curve_counts(labels, predictions, num_thresholds);
        self.push_other(step, PendingKind::Value(summary::pr_curve(tag, &curve)));
    }

    /// Logs a mono audio clip: `samples` in `[-1, 1]` (clipped) at `sample_rate` Hz, encoded as
    /// 16-bit PCM WAV on the writer thread and written as torch's `add_audio` writes it (a
    /// `Summary.Audio`), for TensorBoard's Audio tab and runboard's.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let tone: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
    /// writer.add_audio("samples/tone", &tone, 8000, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_audio(&mut self, tag: &str, samples: &[f32], sample_rate: u32, step: i64) {
        let tag = self.tag_at(tag, step);
        self.push_other(
            step,
            PendingKind::Audio {
                tag,
                samples: samples.to_vec(),
                sample_rate,
            },
        );
    }

    /// Logs a 3D mesh or point cloud for TensorBoard's Mesh tab and runboard's, written as
    /// torch's `add_mesh` writes it: `vertices` (x, y, z), `faces` as vertex indices (empty for
    /// a point cloud), `colors` as RGB per vertex (empty for the viewer's default) and
    /// `config`, a JSON object of three.js settings (`{"camera": {"cls":
    /// "PerspectiveCamera", "fov": 75}, "material": {"cls": "PointsMaterial", "size": 0.05}}`).
    /// A face naming a missing vertex, colours not one per vertex, or a config that is not an
    /// object are refused at once, before anything is queued.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let vertices = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    /// let faces = [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]];
    /// let colors = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
    /// writer.add_mesh("tetrahedron", &vertices, &faces, &colors, None, 0)?;
    /// assert!(writer.add_mesh("bad", &vertices, &[[0, 1, 4]], &[], None, 0).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_mesh(
        &mut self,
        tag: &str,
        vertices: &[[f32; 3]],
        faces: &[[u32; 3]],
        colors: &[[u8; 3]],
        config: Option<&serde_json::Value>,
        step: i64,
    ) -> Result<(), crate::mesh::MeshError> {
        self.add_mesh_batch(tag, 1, vertices, faces, colors, config, step)
    }

    /// [`SummaryWriter::add_mesh`] for `batch` meshes of the same sizes at one step (the `B` of
    /// torch's `[B, N, 3]`): each list holds the samples one after another.
    #[allow(clippy::too_many_arguments)]
    pub fn add_mesh_batch(
        &mut self,
        tag: &str,
        batch: usize,
        vertices: &[[f32; 3]],
        faces: &[[u32; 3]],
        colors: &[[u8; 3]],
        config: Option<&serde_json::Value>,
        step: i64,
    ) -> Result<(), crate::mesh::MeshError> {
        let values = crate::mesh::summary(tag, batch, vertices, faces, colors, config)?;
        self.max_step = self.max_step.max(step);
        for value in values {
            self.push_other(step, PendingKind::Value(value));
        }
        Ok(())
    }

    /// Logs an embedding for the projector (TensorBoard's and runboard's): `matrix`'s rows are
    /// the points (any number of values, the same for each), `metadata` one label a row (or
    /// none; a tab in a label separates columns). Written as tensorboardX's `add_embedding`
    /// writes it, on the writer thread: `<run>/<step:05>/<tag>/tensors.tsv` and
    /// `metadata.tsv`, and an entry in `<run>/projector_config.pbtxt`. Rows of different
    /// lengths, or labels not one a row, are refused at once.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let points = [[0.1f32, 0.9, 0.3], [0.8, 0.2, 0.4]];
    /// writer.add_embedding("features", &points, &["cat", "dog"], 100)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_embedding<R: AsRef<[f32]>, L: AsRef<str>>(
        &mut self,
        tag: &str,
        matrix: &[R],
        metadata: &[L],
        step: i64,
    ) -> Result<(), crate::projector::EmbeddingError> {
        let files = crate::projector::EmbeddingFiles::new(&self.dir, tag, matrix, metadata, step)?;
        self.max_step = self.max_step.max(step);
        self.push_other(step, PendingKind::Embedding(Box::new(files)));
        Ok(())
    }

    /// [`SummaryWriter::add_embedding`] with a thumbnail a row, shown by the projector on its
    /// points (tensorboardX's `label_img`): `thumbnails` holds one `size × size` image a row,
    /// `channels` bytes a pixel (1, 3 or 4), one after another. They are laid out as a square
    /// sprite PNG on the writer thread (at most 8192 pixels a side, TensorBoard's limit).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let points = [[0.1f32, 0.9], [0.8, 0.2]];
    /// let thumbnails = [[0u8; 4], [255; 4]].concat(); // two grey 2 × 2 images: black, white
    /// writer.add_embedding_with_thumbnails("digits", &points, &["0", "1"], &thumbnails, 2, 1, 0)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn add_embedding_with_thumbnails<R: AsRef<[f32]>, L: AsRef<str>>(
        &mut self,
        tag: &str,
        matrix: &[R],
        metadata: &[L],
        thumbnails: &[u8],
        size: u32,
        channels: u8,
        step: i64,
    ) -> Result<(), crate::projector::EmbeddingError> {
        let mut files =
            crate::projector::EmbeddingFiles::new(&self.dir, tag, matrix, metadata, step)?;
        let thumbs = crate::projector::Thumbnails {
            pixels: thumbnails.to_vec(),
            size,
            channels,
        };
        thumbs.check(matrix.len())?;
        files.thumbnails = Some(thumbs);
        self.max_step = self.max_step.max(step);
        self.push_other(step, PendingKind::Embedding(Box::new(files)));
        Ok(())
    }

    /// Logs Markdown text (TensorBoard's text plugin; HTML in it is escaped when shown).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_text("notes", "**baseline**, lr 1e-3", 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_text(&mut self, tag: &str, markdown: &str, step: i64) {
        let tag = self.tag_at(tag, step);
        self.push_other(
            step,
            PendingKind::Text {
                tag,
                markdown: markdown.to_owned(),
            },
        );
    }

    /// Logs an image from 8-bit pixels, row-major, `channels` bytes a pixel (1 grey, 2 grey+alpha,
    /// 3 RGB, 4 RGBA). It is PNG-encoded on the writer thread. A buffer of the wrong size is
    /// refused at once, before anything is queued.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// let red_then_blue = [255, 0, 0, 0, 0, 255]; // 2x1 RGB
    /// writer.add_image("sample", &red_then_blue, 2, 1, 3, 1)?;
    /// assert!(writer.add_image("sample", &red_then_blue, 3, 1, 3, 1).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_image(
        &mut self,
        tag: &str,
        pixels: &[u8],
        width: u32,
        height: u32,
        channels: u8,
        step: i64,
    ) -> Result<(), ImageError> {
        summary::check_image(pixels, width, height, channels)?;
        let tag = self.tag_at(tag, step);
        self.push_other(
            step,
            PendingKind::Image {
                tag,
                pixels: pixels.to_vec(),
                width,
                height,
                channels,
            },
        );
        Ok(())
    }

    /// Records this run's hyperparameters in the HParams plugin's format (so TensorBoard's HParams
    /// tab lists the run), and logs `metrics` as scalars at the largest step logged so far.
    ///
    /// Unlike torch, this writes into the writer's own run, not a timestamped sub-run. With
    /// `metrics`, it also declares them, as torch does (an `_hparams_/experiment` naming these
    /// hyperparameters and metrics): the HParams tabs then show those metrics, not every
    /// scalar tag. Without, TensorBoard builds the experiment from every run's hparams and
    /// scalar tags. To declare domains, labels or metrics of sub-runs, see
    /// [`SummaryWriter::add_hparams_config`]. Give metrics tags distinct from the curves you
    /// log (e.g. `hparam/accuracy`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_scalar("train/acc", 0.91, 100);
    /// writer.add_hparams(
    ///     &[("lr", 1e-3.into()), ("optimizer", "adam".into())],
    ///     &[("hparam/accuracy", 0.91)], // logged at step 100
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_hparams(&mut self, hparams: &[(&str, HParamValue)], metrics: &[(&str, f64)]) {
        let step = self.max_step;
        if !metrics.is_empty() {
            let tags: Vec<&str> = metrics.iter().map(|(t, _)| *t).collect();
            let experiment = crate::hparams::experiment_of_values(hparams, &tags, now_secs());
            self.push_other(
                step,
                PendingKind::Value(summary::hparams_experiment(experiment)),
            );
        }
        self.push_other(
            step,
            PendingKind::HParams(
                hparams
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            ),
        );
        for (tag, value) in metrics {
            self.add_scalar(tag, *value, step);
        }
    }

    /// Declares the experiment's hyperparameters (their domains and labels) and the metrics the
    /// HParams tabs show, as TensorBoard's `hp.hparams_config` does (`_hparams_/experiment`).
    /// Log it once, in any run of the logdir; each run then records its values with
    /// [`SummaryWriter::add_hparams`].
    ///
    /// ```
    /// use runboard_sdk::hparams::{HParam, Metric};
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_hparams_config(
    ///     &[HParam::new("lr").interval(1e-4, 0.1), HParam::new("batch").discrete([32.0.into(), 64.0.into()])],
    ///     &[Metric::new("val/loss"), Metric::new("accuracy").group("eval")],
    /// );
    /// writer.add_hparams(&[("lr", 1e-3.into()), ("batch", 32.0.into())], &[]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_hparams_config(
        &mut self,
        hparams: &[crate::hparams::HParam],
        metrics: &[crate::hparams::Metric],
    ) {
        let experiment = crate::hparams::experiment(hparams, metrics, now_secs());
        self.push_other(
            0,
            PendingKind::Value(summary::hparams_experiment(experiment)),
        );
    }

    /// Records the end of this run for the HParams plugin (`_hparams_/session_end_info`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_hparams(&[("lr", 1e-3.into())], &[]);
    /// writer.add_hparams_end(true);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_hparams_end(&mut self, success: bool) {
        let status = if success {
            Status::Success
        } else {
            Status::Failure
        };
        let step = self.max_step;
        self.push_other(
            step,
            PendingKind::Value(summary::hparams_session_end(status, now_secs())),
        );
    }

    /// Queues a run event (nothing when this writer writes none).
    pub(crate) fn add_run_event(&mut self, event: &RunEvent) {
        if self.record.is_some() {
            self.push_other(0, PendingKind::RunEvent(event.to_json()));
        }
    }

    /// Waits until everything logged so far (here and in the [`SummaryWriter::add_scalars`]
    /// writers) is written and handed to the OS (readers see it). Returns the first write
    /// error since the writer started, if any.
    ///
    /// ```
    /// use runboard_sdk::event_file::read_events;
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_scalar("loss", 0.5, 1);
    /// writer.flush()?;
    /// let (events, _) = read_events(writer.path())?;
    /// // The version record, the run record, the `running` status and the point.
    /// assert_eq!(events.len(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&mut self) -> Result<(), WriterError> {
        let mut result = {
            let q = self.queue.flush();
            self.error_of(&q)
        };
        for w in self.siblings.values_mut() {
            let r = w.flush();
            result = result.and(r);
        }
        result
    }

    /// The first write error (or the lost items) the writer thread reported, else the batches
    /// streaming could neither spool nor send.
    fn error_of(&self, q: &State) -> Result<(), WriterError> {
        match (&q.first_error, q.lost) {
            (None, 0) => {}
            (message, lost) => {
                return Err(WriterError::Write {
                    path: self.path.clone(),
                    message: message
                        .clone()
                        .unwrap_or_else(|| "the writer thread stopped".into()),
                    lost,
                });
            }
        }
        match q.remote_report.as_ref().filter(|r| r.unspooled > 0) {
            Some(r) => Err(WriterError::NotSpooled {
                batches: r.unspooled,
                spool: r.spool.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Marks the run `finished`, writes everything, syncs the file to disk and stops the
    /// writer thread (and those of [`SummaryWriter::add_scalars`]). When streaming,
    /// first waits for the server's acknowledgements while it answers (see [`crate::remote`]);
    /// batches it did not acknowledge stay in the spool folder and are no error (see
    /// [`SummaryWriter::close_with_report`] for what was left).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
    /// writer.add_scalar("loss", 0.5, 1);
    /// writer.close()?; // everything is on disk
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(self) -> Result<(), WriterError> {
        self.close_with_report().map(|_| ())
    }

    /// [`SummaryWriter::close`], also returning what streaming did (`None` when not
    /// streaming): batches acknowledged, left in the spool, set aside as rejected, and the
    /// `runboard sync` command that sends what was left.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use runboard_sdk::remote::RemoteOptions;
    /// use runboard_sdk::{SummaryWriter, WriterOptions};
    /// # let dir = tempfile::tempdir()?;
    /// # let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let options = WriterOptions {
    ///     remote: Some(RemoteOptions {
    ///         url: format!("http://127.0.0.1:{port}"), // a server that is down
    ///         run: "exp1".into(),
    ///         token: None,
    ///         close_timeout: Duration::from_secs(10),
    ///     }),
    ///     ..WriterOptions::default()
    /// };
    /// let mut writer = SummaryWriter::with_options(dir.path().join("exp1"), options)?;
    /// writer.add_scalar("loss", 0.5, 1);
    /// let started = Instant::now();
    /// let report = writer.close_with_report()?.expect("streaming");
    /// assert!(started.elapsed() < Duration::from_secs(5), "no wait for a server that is down");
    /// assert!(report.left >= 1);
    /// println!("send it later with: {}", report.sync_command());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close_with_report(self) -> Result<Option<RemoteReport>, WriterError> {
        self.finish_with(None)
    }

    /// Closes with a `finished` status holding `exit_code`; the siblings too. The first error
    /// is returned (this writer's before its siblings').
    pub(crate) fn finish_with(
        mut self,
        exit_code: Option<i32>,
    ) -> Result<Option<RemoteReport>, WriterError> {
        let mut siblings = Ok(());
        for (_, w) in self.siblings.drain() {
            let r = w.finish_with(exit_code).map(|_| ());
            siblings = siblings.and(r);
        }
        self.add_run_event(&RunEvent::status(RunState::Finished, exit_code, None));
        self.shutdown()?;
        siblings?;
        Ok(self.queue.lock().remote_report.clone())
    }

    fn shutdown(&mut self) -> Result<(), WriterError> {
        let Some(worker) = self.worker.take() else {
            return Ok(());
        };
        self.queue.close();
        if worker.join().is_err() {
            let mut q = self.queue.lock();
            q.first_error
                .get_or_insert_with(|| "the writer thread panicked".into());
        }
        let q = self.queue.lock();
        self.error_of(&q)
    }
}

impl Drop for SummaryWriter {
    /// Flushes and closes, like [`SummaryWriter::close`] but without a `finished` status; an
    /// error is logged, not raised. Dropped while the thread panics, it first writes a
    /// `crashed` status with the panic message (its siblings do too, as they are dropped).
    fn drop(&mut self) {
        if self.worker.is_some() && std::thread::panicking() {
            let message = panic::last_message();
            self.add_run_event(&RunEvent::status(RunState::Crashed, None, message));
        }
        if let Err(e) = self.shutdown() {
            tracing::error!("runboard: closing {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{HParams, RUN_EVENT_TAG, Value};
    use crate::event_file::{find_event_files, read_events};
    use crate::run_record::testing::{committed_repo, first_record, git_in, read_run_events};
    use crate::test_server::FakeServer;

    /// Every value logged, as (step, tag, value), leaving out the run events.
    fn values_of(path: &Path) -> Vec<(i64, String, Value)> {
        let (events, report) = read_events(path).unwrap();
        assert_eq!(report.records.skipped_records, 0);
        events
            .into_iter()
            .flat_map(|e| {
                let step = e.step;
                e.values.into_iter().map(move |v| (step, v.tag, v.value))
            })
            .filter(|(_, tag, _)| tag != RUN_EVENT_TAG)
            .collect()
    }

    /// Options for a writer that records git state of `repo` (not of the test's directory).
    fn in_repo(repo: &Path) -> WriterOptions {
        WriterOptions {
            git_dir: Some(repo.to_path_buf()),
            ..WriterOptions::default()
        }
    }

    fn status(state: RunState, exit_code: Option<i32>) -> RunEvent {
        RunEvent::status(state, exit_code, None)
    }

    /// The one event file in `dir` (not below it).
    fn only_file(dir: &Path) -> PathBuf {
        let files: Vec<PathBuf> = find_event_files(dir)
            .into_iter()
            .filter(|f| f.parent() == Some(dir))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    }

    #[test]
    fn scalars_come_back_in_order_with_their_steps() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path().join("run")).unwrap();
        for step in 0..1000 {
            w.add_scalar("loss", step as f64 * 0.5, step);
            w.add_scalar("acc", 1.0, step);
        }
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let got = values_of(&path);
        assert_eq!(got.len(), 2000);
        let loss: Vec<_> = got.iter().filter(|v| v.1 == "loss").collect();
        for (i, (step, _, value)) in loss.iter().enumerate() {
            assert_eq!(*step, i as i64);
            assert_eq!(*value, Value::Scalar(i as f64 * 0.5));
        }
    }

    #[test]
    fn flush_makes_points_visible_without_closing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        w.add_scalar("x", 1.0, 1);
        w.flush().unwrap();
        assert_eq!(values_of(w.path()).len(), 1);
        w.add_scalar("x", 2.0, 2);
        w.flush().unwrap();
        assert_eq!(values_of(w.path()).len(), 2);
    }

    #[test]
    fn points_become_visible_within_the_flush_interval_without_a_flush_call() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::with_options(
            dir.path(),
            WriterOptions {
                flush_interval: Duration::from_millis(20),
                ..WriterOptions::default()
            },
        )
        .unwrap();
        w.add_scalar("x", 1.0, 1);
        // Poll the file the way a tailing reader would; bounded, no fixed sleep.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while values_of(w.path()).is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "point never reached the file"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_tiny_queue_applies_backpressure_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::with_options(
            dir.path(),
            WriterOptions {
                queue_capacity: 4,
                ..WriterOptions::default()
            },
        )
        .unwrap();
        for step in 0..5000 {
            w.add_scalar("x", step as f64, step);
        }
        let path = w.path().to_path_buf();
        w.close().unwrap();
        assert_eq!(values_of(&path).len(), 5000);
    }

    #[test]
    fn scalars_of_one_step_share_an_event_and_repeated_tags_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        w.add_scalar("loss", 1.0, 5);
        w.add_scalar("acc", 0.5, 5);
        w.add_scalar("loss", 2.0, 5); // same tag again: a new event
        w.add_scalar("loss", 3.0, 6); // new step: a new event
        w.add_text("t", "x", 6); // other kinds end a group and keep their order
        w.add_scalar("acc", 0.7, 6);
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let (events, _) = read_events(&path).unwrap();
        let shape: Vec<(i64, Vec<String>)> = events[1..]
            .iter()
            .map(|e| (e.step, e.values.iter().map(|v| v.tag.clone()).collect()))
            .filter(|(_, tags): &(i64, Vec<String>)| tags != &[RUN_EVENT_TAG])
            .collect();
        let expect =
            |s: i64, tags: &[&str]| (s, tags.iter().map(|t| t.to_string()).collect::<Vec<_>>());
        assert_eq!(
            shape,
            vec![
                expect(5, &["loss", "acc"]),
                expect(5, &["loss"]),
                expect(6, &["loss"]),
                expect(6, &["t"]),
                expect(6, &["acc"]),
            ]
        );
    }

    #[test]
    fn drop_flushes_and_writes_no_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let mut w = SummaryWriter::new(dir.path()).unwrap();
            w.add_scalar("x", 3.0, 3);
            w.path().to_path_buf()
        };
        assert_eq!(values_of(&path), vec![(3, "x".into(), Value::Scalar(3.0))]);
        let events = read_run_events(&path);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(events[0], RunEvent::Record { .. }));
        assert_eq!(events[1], status(RunState::Running, None));
    }

    #[test]
    fn the_record_holds_the_commit_branch_stripped_remote_and_uncommitted_diff() {
        let repo = committed_repo();
        git_in(repo.path(), &["checkout", "-q", "-b", "exp-lr"]);
        git_in(
            repo.path(),
            &[
                "remote",
                "add",
                "origin",
                "https://alice:ghp_secret@example.com/team/model.git",
            ],
        );
        std::fs::write(repo.path().join("train.py"), "lr = 0.2\n").unwrap();
        let commit = git_in(repo.path(), &["rev-parse", "HEAD"]);
        let logdir = tempfile::tempdir().unwrap();
        let w = SummaryWriter::with_options(logdir.path(), in_repo(repo.path())).unwrap();
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let record = first_record(&path);
        let git = record.git.expect("a git record");
        assert_eq!(git.commit, commit);
        assert_eq!(git.branch.as_deref(), Some("exp-lr"));
        assert_eq!(
            git.remote.as_deref(),
            Some("https://example.com/team/model.git")
        );
        assert!(git.dirty);
        assert!(git.diff.contains("-lr = 0.1\n+lr = 0.2"), "{}", git.diff);
        assert!(!git.diff_truncated);
        assert_eq!(record.pid, Some(std::process::id()));
        assert!(!record.command.is_empty());
        assert!(record.started_at.is_some_and(|t| t > 1.6e9));
        assert!(record.config.is_empty());
    }

    #[test]
    fn record_git_false_leaves_git_out_of_the_record() {
        let repo = committed_repo();
        let logdir = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            record_git: false,
            ..in_repo(repo.path())
        };
        let w = SummaryWriter::with_options(logdir.path(), options).unwrap();
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let record = first_record(&path);
        assert_eq!(record.git, None);
        assert_eq!(record.pid, Some(std::process::id()));
    }

    #[test]
    fn record_run_false_writes_no_run_events() {
        let dir = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            record_run: false,
            ..WriterOptions::default()
        };
        let mut w = SummaryWriter::with_options(dir.path(), options).unwrap();
        w.add_scalar("x", 1.0, 1);
        let path = w.path().to_path_buf();
        w.close().unwrap();
        assert_eq!(read_run_events(&path), []);
        assert_eq!(values_of(&path).len(), 1);
    }

    #[test]
    fn close_writes_record_running_then_finished_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        w.add_scalar("x", 1.0, 1);
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let events = read_run_events(&path);
        assert_eq!(events.len(), 3, "{events:?}");
        assert!(matches!(events[0], RunEvent::Record { .. }));
        assert_eq!(events[1], status(RunState::Running, None));
        assert_eq!(events[2], status(RunState::Finished, None));
        // The status is the file's last event, after the data.
        let (all, _) = read_events(&path).unwrap();
        assert!(matches!(
            &all.last().unwrap().values[0].value,
            Value::Run(_)
        ));
    }

    #[test]
    fn a_writer_dropped_in_a_panicking_thread_is_marked_crashed_with_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("run");
        let in_thread = run_dir.clone();
        let joined = std::thread::spawn(move || {
            let mut w = SummaryWriter::new(&in_thread).unwrap();
            w.add_scalar("loss", 0.5, 1);
            w.add_scalars("acc", &[("train", 0.9)], 1);
            panic!("boom {}", 42);
        })
        .join();
        assert!(joined.is_err());
        let path = only_file(&run_dir);
        assert_eq!(values_of(&path), [(1, "loss".into(), Value::Scalar(0.5))]);
        for file in [path, only_file(&run_dir.join("acc_train"))] {
            let events = read_run_events(&file);
            match events.last() {
                Some(RunEvent::Status {
                    state: RunState::Crashed,
                    exit_code: None,
                    message: Some(m),
                }) => assert!(m.contains("boom 42"), "{m}"),
                other => panic!("{}: {other:?}", file.display()),
            }
        }
    }

    #[test]
    fn an_idle_writer_keeps_its_file_modification_time_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            flush_interval: Duration::from_millis(20),
            liveness_interval: Duration::from_millis(200),
            ..WriterOptions::default()
        };
        let mut w = SummaryWriter::with_options(dir.path(), options).unwrap();
        w.flush().unwrap();
        // Back-date the file; only the writer's touch can bring its time back to now.
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(w.path())
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let mtime = std::fs::metadata(w.path()).unwrap().modified().unwrap();
            if mtime > hour_ago + Duration::from_secs(1800) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the modification time never moved"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(values_of(w.path()), []);
    }

    #[test]
    fn streaming_sends_the_run_events_and_heartbeats_while_idle() {
        let server = FakeServer::start(usize::MAX, 0);
        let dir = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            remote: Some(RemoteOptions {
                url: server.url.clone(),
                run: "exp".into(),
                token: None,
                close_timeout: Duration::from_secs(30),
            }),
            liveness_interval: Duration::from_millis(200),
            ..WriterOptions::default()
        };
        let mut w = SummaryWriter::with_options(dir.path().join("exp"), options).unwrap();
        w.add_scalar("x", 1.0, 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let heartbeat = RunEvent::Heartbeat.to_json();
        while !server.run_events().contains(&heartbeat) {
            assert!(std::time::Instant::now() < deadline, "no heartbeat");
            std::thread::sleep(Duration::from_millis(20));
        }
        let path = w.path().to_path_buf();
        let report = w.close_with_report().unwrap().unwrap();
        assert_eq!(report.left, 0);
        let sent: Vec<RunEvent> = server
            .run_events()
            .iter()
            .map(|j| serde_json::from_str(j).unwrap())
            .collect();
        assert!(matches!(sent[0], RunEvent::Record { .. }), "{sent:?}");
        assert_eq!(sent[1], status(RunState::Running, None));
        assert_eq!(sent.last(), Some(&status(RunState::Finished, None)));
        assert!(server.points().contains(&("x".to_owned(), 1)));
        // Heartbeats are for the server only; the file has the same events without them.
        let unsent: Vec<RunEvent> = sent
            .into_iter()
            .filter(|e| *e != RunEvent::Heartbeat)
            .collect();
        assert_eq!(read_run_events(&path), unsent);
    }

    #[test]
    fn add_scalar_takes_f32_and_integers() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        w.add_scalar("f32", 0.25f32, 1);
        w.add_scalar("i32", -7i32, 1);
        w.add_scalar("u32", 9u32, 1);
        w.add_scalar("literal", 3, 1);
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let got: Vec<(String, Value)> = values_of(&path)
            .into_iter()
            .map(|(_, tag, v)| (tag, v))
            .collect();
        assert_eq!(
            got,
            [
                ("f32".to_owned(), Value::Scalar(0.25)),
                ("i32".to_owned(), Value::Scalar(-7.0)),
                ("u32".to_owned(), Value::Scalar(9.0)),
                ("literal".to_owned(), Value::Scalar(3.0)),
            ]
        );
    }

    #[test]
    fn add_scalars_writes_a_run_per_name_in_tensorboardx_folders() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("exp");
        let mut w = SummaryWriter::new(&run_dir).unwrap();
        for step in [3, 4] {
            w.add_scalars(
                "loss/total",
                &[("train", step as f64), ("eval", step as f64 * 2.0)],
                step,
            );
        }
        w.flush().unwrap();
        let parent = w.path().to_path_buf();
        w.close().unwrap();
        // tensorboardX: <logdir>/<main_tag with '/' -> '_'>_<name>, tag main_tag.
        for (name, scale) in [("train", 1.0), ("eval", 2.0)] {
            let file = only_file(&run_dir.join(format!("loss_total_{name}")));
            assert_eq!(
                values_of(&file),
                [
                    (3, "loss/total".to_owned(), Value::Scalar(3.0 * scale)),
                    (4, "loss/total".to_owned(), Value::Scalar(4.0 * scale)),
                ]
            );
            // Each is a run of its own, with the parent's record, closed with it.
            assert_eq!(first_record(&file), first_record(&parent));
            assert_eq!(
                read_run_events(&file).last(),
                Some(&status(RunState::Finished, None))
            );
        }
        assert_eq!(values_of(&parent), []);
        assert_eq!(find_event_files(dir.path()).len(), 3);
    }

    #[test]
    fn every_kind_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        w.add_histogram("h", &values, 1);
        w.add_histogram_f32("h32", &[1.0f32, 2.0, 3.0], 1);
        w.add_text("t", "# Title\n<script>alert(1)</script>", 2);
        w.add_image("img", &[0u8, 128, 255, 255, 0, 0], 2, 1, 3, 3)
            .unwrap();
        assert!(w.add_image("bad", &[0u8; 5], 2, 1, 3, 3).is_err());
        w.add_hparams(
            &[
                ("lr", 0.01.into()),
                ("opt", "adam".into()),
                ("layers", 3.into()),
            ],
            &[("hparam/acc", 0.9)],
        );
        w.add_scalar("nan", f64::NAN, 4);
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let got = values_of(&path);
        let find = |tag: &str| {
            got.iter()
                .find(|v| v.1 == tag)
                .map(|v| v.2.clone())
                .unwrap()
        };
        match find("h") {
            Value::Histogram(rows) => {
                assert_eq!(rows.len(), 30);
                assert_eq!(rows.iter().map(|r| r[2]).sum::<f64>(), 100.0);
                assert_eq!((rows[0][0], rows[29][1]), (0.0, 99.0));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(find("h32"), Value::Histogram(r) if r.iter().map(|r| r[2]).sum::<f64>() == 3.0)
        );
        assert_eq!(
            find("t"),
            Value::Text(vec!["# Title\n<script>alert(1)</script>".into()])
        );
        match find("img") {
            Value::Images(imgs) => {
                assert_eq!((imgs[0].width, imgs[0].height), (2, 1));
                assert!(imgs[0].encoded.starts_with(b"\x89PNG"));
            }
            other => panic!("{other:?}"),
        }
        match find("_hparams_/session_start_info") {
            Value::HParams(HParams::SessionStart { hparams, .. }) => {
                assert_eq!(hparams.len(), 3);
                assert_eq!(hparams[0], ("layers".into(), HParamValue::Number(3.0)));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(find("hparam/acc"), Value::Scalar(0.9f32 as f64));
        assert!(matches!(find("nan"), Value::Scalar(v) if v.is_nan()));
        // With metrics, `add_hparams` declares them (and the hyperparameters' types), as torch's.
        match find("_hparams_/experiment") {
            Value::HParams(HParams::Experiment(e)) => {
                let names: Vec<&str> = e.hparam_infos.iter().map(|h| h.name.as_str()).collect();
                assert_eq!(names, ["lr", "opt", "layers"]);
                assert_eq!(e.hparam_infos[1].r#type, 1, "a string");
                let tags: Vec<String> = e
                    .metric_infos
                    .iter()
                    .map(|m| m.name.clone().unwrap().tag)
                    .collect();
                assert_eq!(tags, ["hparam/acc"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hparams_config_declares_domains_and_metrics_and_hparams_without_metrics_declare_nothing() {
        use crate::hparams::{HParam, Metric};
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        w.add_hparams(&[("lr", 0.1.into())], &[]);
        let path = w.path().to_path_buf();
        w.close().unwrap();
        assert!(
            !values_of(&path)
                .iter()
                .any(|v| v.1 == "_hparams_/experiment")
        );

        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        w.add_hparams_config(
            &[HParam::new("opt").discrete(["adam".into(), "sgd".into()])],
            &[Metric::new("acc").group("eval").display_name("Accuracy")],
        );
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let got = values_of(&path);
        let Some(Value::HParams(HParams::Experiment(e))) = got
            .iter()
            .find(|v| v.1 == "_hparams_/experiment")
            .map(|v| v.2.clone())
        else {
            panic!("{got:?}")
        };
        assert_eq!(e.hparam_infos[0].name, "opt");
        assert!(e.hparam_infos[0].domain.is_some());
        let m = &e.metric_infos[0];
        assert_eq!(m.display_name, "Accuracy");
        assert_eq!(m.name.as_ref().unwrap().group, "eval");
    }

    #[test]
    fn creating_in_an_unwritable_place_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            SummaryWriter::new(file.join("run")),
            Err(WriterError::Create { .. })
        ));
    }
}
