//! The writer thread: the only code that writes to the database.
//!
//! It takes [`Batch`]es from a bounded channel (a full channel makes submitters wait:
//! backpressure, never loss), applies as many as are waiting in one transaction, commits, then
//! acknowledges them and publishes the [`Change`]. A failed transaction is rolled back whole,
//! its batches are answered with the error, and the in-memory caches are dropped so that they
//! are reloaded from what was actually committed.
//!
//! Scalars are buffered per series during a transaction and written as chunks of at most
//! [`CHUNK_TARGET`] points. Live tailing adds small chunks; once a series has
//! [`COMPACT_AFTER`] small chunks at its end they are merged, so every point is rewritten only
//! a bounded number of times and reads stay fast.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use runboard_sdk::event::{HParams, Value};
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use tokio::sync::broadcast;

use super::chunk::{self, Point};
use super::codec::{self, StoredValue};
use super::{
    Batch, BatchKey, Change, CommitFailure, Conflict, FileProgress, Ingested, Item, RunOp,
    RunOpDone, StoreError,
};
use crate::types::Kind;

mod projector;
mod runs;

/// Points per full chunk.
pub const CHUNK_TARGET: usize = 4096;
/// Small chunks a series may end with before they are merged.
pub const COMPACT_AFTER: usize = 16;
/// Batches waiting for the writer before submitters wait.
const CHANNEL_BOUND: usize = 4;
/// Items one transaction takes before it commits (the rest go in the next one).
const MAX_TX_ITEMS: usize = 100_000;

/// Answers a submitter after the commit with what was done with its batch (see
/// [`Batch::dedup`]), or with the error that rolled the transaction back.
pub enum Ack {
    /// A thread that blocks on the answer.
    Blocking(mpsc::Sender<Result<Ingested, CommitFailure>>),
    /// A task that awaits it.
    Async(tokio::sync::oneshot::Sender<Result<Ingested, CommitFailure>>),
}

impl Ack {
    fn send(self, answer: Result<Ingested, CommitFailure>) {
        match self {
            Ack::Blocking(tx) => {
                let _ = tx.send(answer);
            }
            Ack::Async(tx) => {
                let _ = tx.send(answer);
            }
        }
    }
}

/// Answers a [`RunOp`] after its commit.
pub type RunOpAck = tokio::sync::oneshot::Sender<Result<RunOpDone, CommitFailure>>;

enum Msg {
    Batch(Batch, Option<Ack>),
    /// A user's change to a run: its own transaction, after the batches taken with it.
    Run(RunOp, RunOpAck),
    /// Answered once everything queued before it is committed (or failed).
    Flush(Ack),
    Close,
}

/// What the writer tells every handle about its failures (see [`super::Store::failures`]).
#[derive(Default)]
struct Failures {
    /// Failed commits plus batches dropped for not continuing their file.
    count: AtomicU64,
    /// The last failed commit.
    last: Mutex<Option<CommitFailure>>,
}

/// The submitting side of the writer thread.
pub struct WriterHandle {
    tx: Mutex<Option<mpsc::SyncSender<Msg>>>,
    changes: broadcast::Sender<Arc<Change>>,
    failures: Arc<Failures>,
    /// Transactions committed (data or run edits) since the writer started.
    commits: Arc<AtomicU64>,
}

impl WriterHandle {
    fn sender(&self) -> Result<mpsc::SyncSender<Msg>, StoreError> {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(StoreError::WriterGone)
    }

    /// Queues a batch (waits while the channel is full).
    pub fn submit(&self, batch: Batch, ack: Option<Ack>) -> Result<(), StoreError> {
        self.sender()?
            .send(Msg::Batch(batch, ack))
            .map_err(|_| StoreError::WriterGone)
    }

    /// Queues a batch if the channel has room; otherwise gives it back (`Ok(Err(batch))`)
    /// for a caller that must not wait here.
    pub fn try_submit(&self, batch: Batch, ack: Ack) -> Result<Result<(), Batch>, StoreError> {
        match self.sender()?.try_send(Msg::Batch(batch, Some(ack))) {
            Ok(()) => Ok(Ok(())),
            Err(mpsc::TrySendError::Full(Msg::Batch(batch, _))) => Ok(Err(batch)),
            Err(_) => Err(StoreError::WriterGone),
        }
    }

    /// Queues a user's change to a run (waits while the channel is full).
    pub fn run_op(&self, op: RunOp, ack: RunOpAck) -> Result<(), StoreError> {
        self.sender()?
            .send(Msg::Run(op, ack))
            .map_err(|_| StoreError::WriterGone)
    }

    /// Queues a flush: `ack` is answered once everything queued before it is committed.
    pub fn flush(&self, ack: Ack) -> Result<(), StoreError> {
        self.sender()?
            .send(Msg::Flush(ack))
            .map_err(|_| StoreError::WriterGone)
    }

    /// See [`super::Store::failures`].
    pub fn failures(&self) -> u64 {
        self.failures.count.load(Ordering::SeqCst)
    }

    /// See [`super::Store::last_failure`].
    pub fn last_failure(&self) -> Option<CommitFailure> {
        self.failures
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// See [`super::Store::generation`].
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// New subscription to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// Asks the writer to commit what is queued and stop.
    pub fn close(&self) {
        if let Some(tx) = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = tx.send(Msg::Close);
        }
    }
}

/// Starts the writer thread on `conn`, the database at `path`.
pub fn spawn(
    conn: Connection,
    path: std::path::PathBuf,
) -> Result<(WriterHandle, JoinHandle<()>), StoreError> {
    let (tx, rx) = mpsc::sync_channel(CHANNEL_BOUND);
    let (changes, _) = broadcast::channel(16);
    let publisher = changes.clone();
    let failures = Arc::new(Failures::default());
    let shared = Arc::clone(&failures);
    let commits = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&commits);
    let thread = std::thread::Builder::new()
        .name("runboard-store".into())
        .spawn(move || Writer::new(conn, path, publisher, shared, counter).run(rx))
        .map_err(StoreError::Spawn)?;
    Ok((
        WriterHandle {
            tx: Mutex::new(Some(tx)),
            changes,
            failures,
            commits,
        },
        thread,
    ))
}

struct RunState {
    id: i64,
    name: String,
}

struct SeriesState {
    id: i64,
    run: String,
    tag: String,
    kind: Kind,
    /// The step of the last point stored or pending (restart detection).
    last_step: Option<i64>,
    /// The next chunk's sequence number.
    next_seq: i64,
    /// How many chunks at the end of the series are smaller than [`CHUNK_TARGET`].
    small_tail: usize,
    /// Scalar points not yet written in this transaction.
    pending: Vec<Point>,
}

struct Writer {
    conn: Connection,
    /// The database file (named in errors).
    path: std::path::PathBuf,
    changes: broadcast::Sender<Arc<Change>>,
    failures: Arc<Failures>,
    /// Bumped after every commit, before its change is published.
    pub(super) commits: Arc<AtomicU64>,
    /// Committed offsets of the files seen in this session (the continuity check).
    file_offsets: FxHashMap<String, u64>,
    /// Plugins of stored tensor series that were named in the log (once each).
    unshown_plugins: rustc_hash::FxHashSet<String>,
    runs: FxHashMap<String, RunState>,
    series: FxHashMap<(i64, String), SeriesState>,
    /// Series keys with pending points, in first-touched order.
    dirty: Vec<(i64, String)>,
    change: Change,
}

impl Writer {
    fn new(
        conn: Connection,
        path: std::path::PathBuf,
        changes: broadcast::Sender<Arc<Change>>,
        failures: Arc<Failures>,
        commits: Arc<AtomicU64>,
    ) -> Self {
        Self {
            conn,
            path,
            changes,
            failures,
            commits,
            file_offsets: FxHashMap::default(),
            unshown_plugins: Default::default(),
            runs: FxHashMap::default(),
            series: FxHashMap::default(),
            dirty: Vec::new(),
            change: Change::default(),
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let mut closing = false;
        while !closing {
            let Ok(first) = rx.recv() else { break };
            let mut msgs = vec![first];
            let mut items = 0usize;
            // Take whatever else is already waiting: one transaction for all of it.
            while items < MAX_TX_ITEMS {
                match rx.try_recv() {
                    Ok(m) => {
                        if let Msg::Batch(b, _) = &m {
                            items += b.items.len();
                        }
                        msgs.push(m);
                    }
                    Err(_) => break,
                }
            }
            let mut acks = Vec::new();
            let mut batches = Vec::new();
            let mut flushes = Vec::new();
            let mut ops = Vec::new();
            for m in msgs {
                match m {
                    Msg::Batch(b, ack) => {
                        batches.push(b);
                        acks.push(ack);
                    }
                    Msg::Run(op, ack) => ops.push((op, ack)),
                    Msg::Flush(ack) => flushes.push(ack),
                    Msg::Close => closing = true,
                }
            }
            if batches.is_empty() {
                self.run_ops(ops);
                for ack in flushes {
                    ack.send(Ok(Ingested::Stored));
                }
                continue;
            }
            let result = self.commit(batches).map_err(|e| {
                let full = e.is_full();
                let message = if full {
                    format!(
                        "the database {} is full (no space left on its disk): {e}",
                        self.path.display()
                    )
                } else {
                    e.to_string()
                };
                CommitFailure { full, message }
            });
            if let Err(failure) = &result {
                tracing::error!(
                    "store: transaction failed and was rolled back: {}",
                    failure.message
                );
                *self
                    .failures
                    .last
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(failure.clone());
                self.failures.count.fetch_add(1, Ordering::SeqCst);
                self.runs.clear();
                self.series.clear();
                self.dirty.clear();
                self.file_offsets.clear();
                self.change = Change::default();
            } else {
                self.commits.fetch_add(1, Ordering::SeqCst);
                let change = std::mem::take(&mut self.change);
                if change != Change::default() {
                    let _ = self.changes.send(Arc::new(change));
                }
            }
            // Queued with the batches, committed after them (a flush waits for them too).
            self.run_ops(ops);
            match result {
                Ok(answers) => {
                    for (ack, answer) in acks.into_iter().zip(answers) {
                        if let Some(ack) = ack {
                            ack.send(Ok(answer));
                        }
                    }
                    for ack in flushes {
                        ack.send(Ok(Ingested::Stored));
                    }
                }
                Err(failure) => {
                    for ack in acks.into_iter().flatten().chain(flushes) {
                        ack.send(Err(failure.clone()));
                    }
                }
            }
        }
        tracing::debug!("store writer stopped");
    }

    /// Applies the batches in one transaction; returns, per batch, what was done with it.
    fn commit(&mut self, batches: Vec<Batch>) -> Result<Vec<Ingested>, StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| {
            let mut answers = Vec::with_capacity(batches.len());
            for b in batches {
                answers.push(self.apply(b)?);
            }
            self.write_pending()?;
            Ok(answers)
        })();
        // A COMMIT that fails (a full disk while writing the log) leaves the transaction
        // open: roll it back like any other failure.
        let result = result.and_then(|d| Ok(self.conn.execute_batch("COMMIT").map(|()| d)?));
        match result {
            Ok(answers) => Ok(answers),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Applies one batch: stores it, or finds its key already committed (a duplicate or a
    /// conflict, and nothing is stored).
    fn apply(&mut self, batch: Batch) -> Result<Ingested, StoreError> {
        if let Some(key) = &batch.dedup {
            if let Some(answer) = self.committed_key(&batch.run, key)? {
                return Ok(answer);
            }
        }
        if let Some(p) = &batch.progress
            && !self.continues_file(p)?
        {
            // Submitted after an earlier batch of this file failed: its reader rewinds to the
            // committed offset and sends this data again.
            tracing::debug!(
                file = p.path,
                start = p.start,
                "dropping a batch that does not continue its file"
            );
            self.failures.count.fetch_add(1, Ordering::SeqCst);
            return Ok(Ingested::Skipped);
        }
        let first_wall = batch
            .items
            .iter()
            .map(|i| match i {
                Item::Value { wall_time, .. } | Item::SessionStart { wall_time, .. } => *wall_time,
                Item::Projector(_) => runboard_sdk::event_file::now_secs(),
            })
            .fold(f64::INFINITY, f64::min);
        let has_values = batch.items.iter().any(|i| matches!(i, Item::Value { .. }));
        let run_id = self.ensure_run(&batch.run, first_wall, has_values)?;
        let from_files =
            batch.progress.is_some() || batch.items.iter().all(|i| matches!(i, Item::Projector(_)));
        if !from_files {
            // Sent by a live process (HTTP, the GPU sampler): it is alive now. Runs read from
            // files are judged by their files' modification times instead (see `crate::runs`).
            self.conn
                .prepare_cached("UPDATE runs SET seen_at = ?2 WHERE id = ?1")?
                .execute(params![run_id, runboard_sdk::event_file::now_secs()])?;
        }
        if let Some(key) = &batch.dedup {
            // Recorded in the same transaction as the data: a retry after a crash or a lost
            // acknowledgement finds it and stores nothing twice.
            self.conn
                .prepare_cached(
                    "INSERT INTO ingest_batches (session, seq, points, run_id, digest)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    key.session,
                    key.seq as i64,
                    batch.items.len() as i64,
                    run_id,
                    key.digest as i64
                ])?;
        }
        let mut max_wall = f64::NEG_INFINITY;
        for item in batch.items {
            match item {
                Item::SessionStart { step, wall_time } => {
                    max_wall = max_wall.max(wall_time);
                    self.purge_run(run_id, step)?;
                }
                Item::Projector(update) => {
                    self.apply_projector(run_id, *update)?;
                    if !self.change.projector.contains(&batch.run.to_string()) {
                        self.change.projector.push(batch.run.to_string());
                    }
                }
                Item::Value {
                    tag,
                    step,
                    wall_time,
                    value,
                } => {
                    max_wall = max_wall.max(wall_time);
                    self.apply_value(run_id, &batch.run, tag, step, wall_time, value)?;
                }
            }
        }
        if max_wall.is_finite() {
            self.conn
                .prepare_cached("UPDATE runs SET updated_at = max(updated_at, ?2) WHERE id = ?1")?
                .execute(params![run_id, max_wall])?;
        }
        if let Some(p) = batch.progress {
            self.write_progress(run_id, &p)?;
        }
        Ok(Ingested::Stored)
    }

    /// What a batch of `run` with `key` is when its key was already committed: a duplicate
    /// (same run, same digest; a row from before migration 3 has neither and cannot tell, so
    /// it counts as the same) or a conflict. `None` when the key is new.
    fn committed_key(&mut self, run: &str, key: &BatchKey) -> Result<Option<Ingested>, StoreError> {
        let stored: Option<(Option<i64>, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT run_id, digest FROM ingest_batches WHERE session = ?1 AND seq = ?2",
            )?
            .query_row(params![key.session, key.seq as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((stored_run, stored_digest)) = stored else {
            return Ok(None);
        };
        if let Some(stored_run) = stored_run {
            if self.run_id(run)? != Some(stored_run) {
                let stored: Option<String> = self
                    .conn
                    .prepare_cached("SELECT name FROM runs WHERE id = ?1")?
                    .query_row([stored_run], |r| r.get(0))
                    .optional()?;
                return Ok(Some(Ingested::Conflict(Conflict::OtherRun { stored })));
            }
        }
        if stored_digest.is_some_and(|d| d != key.digest as i64) {
            return Ok(Some(Ingested::Conflict(Conflict::OtherContent)));
        }
        Ok(Some(Ingested::Duplicate))
    }

    /// The id of the run `name`, if it exists (never creates it).
    fn run_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        if let Some(r) = self.runs.get(name) {
            return Ok(Some(r.id));
        }
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM runs WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?)
    }

    /// The id of run `name`, created if new; a deleted run is brought back when `revive` (the
    /// batch holds values: its files grew, or its process sent more).
    fn ensure_run(&mut self, name: &str, first_wall: f64, revive: bool) -> Result<i64, StoreError> {
        if let Some(r) = self.runs.get(name) {
            return Ok(r.id);
        }
        let existing: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM runs WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?;
        let id = match existing {
            Some(id) => {
                if revive {
                    self.revive_if_deleted(id, name, first_wall)?;
                }
                id
            }
            None => {
                let started = if first_wall.is_finite() {
                    first_wall
                } else {
                    runboard_sdk::event_file::now_secs()
                };
                self.conn
                    .prepare_cached(
                        "INSERT INTO runs (name, started_at, updated_at) VALUES (?1, ?2, ?2)",
                    )?
                    .execute(params![name, started])?;
                self.change.new_runs.push(name.to_owned());
                self.conn.last_insert_rowid()
            }
        };
        self.runs.insert(
            name.to_owned(),
            RunState {
                id,
                name: name.to_owned(),
            },
        );
        Ok(id)
    }

    /// True when `p` starts where the file's committed data ends (or resets the file).
    fn continues_file(&mut self, p: &FileProgress) -> Result<bool, StoreError> {
        if p.reset {
            return Ok(true);
        }
        let committed = match self.file_offsets.get(&p.path) {
            Some(o) => *o,
            None => {
                let o = self
                    .conn
                    .prepare_cached("SELECT offset FROM files WHERE path = ?1")?
                    .query_row([&p.path], |r| r.get::<_, i64>(0))
                    .optional()?
                    .unwrap_or(0) as u64;
                self.file_offsets.insert(p.path.clone(), o);
                o
            }
        };
        Ok(committed == p.start)
    }

    fn write_progress(&mut self, run_id: i64, p: &FileProgress) -> Result<(), StoreError> {
        if p.start == 0 || p.reset {
            // Runs written by other tools: the host their file name tells (when a file is
            // first read; a host the SDK recorded wins).
            let name = std::path::Path::new(&p.path)
                .file_name()
                .and_then(|n| n.to_str());
            if let Some(host) = name.and_then(crate::runs::host_of_file_name) {
                self.conn
                    .prepare_cached("UPDATE runs SET host = ?2 WHERE id = ?1 AND host IS NULL")?
                    .execute(params![run_id, host])?;
            }
        }
        self.conn
            .prepare_cached(
                "INSERT INTO files (path, run_id, offset, records, skipped_records, skipped_bytes, head)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (path) DO UPDATE SET run_id = ?2, offset = ?3, records = ?4,
                     skipped_records = ?5, skipped_bytes = ?6, head = ?7",
            )?
            .execute(params![
                p.path,
                run_id,
                p.offset as i64,
                p.records as i64,
                p.skipped_records as i64,
                p.skipped_bytes as i64,
                p.head
            ])?;
        self.file_offsets.insert(p.path.clone(), p.offset);
        Ok(())
    }

    fn apply_value(
        &mut self,
        run_id: i64,
        run: &str,
        tag: String,
        step: i64,
        wall_time: f64,
        value: Value,
    ) -> Result<(), StoreError> {
        let Some(kind) = Kind::of(&value) else {
            if let Value::Run(text) = &value {
                return self.apply_run_event(run_id, run, text);
            }
            if let Value::HParams(h) = &value {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO hparams_data (run_id, tag, content) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![run_id, h.tag(), runboard_proto::prost::Message::encode_to_vec(&h.to_plugin_data())])?;
                if let HParams::SessionStart { hparams, .. } = h {
                    let json = codec::encode_hparams(hparams);
                    self.conn
                        .prepare_cached("UPDATE runs SET hparams = ?2 WHERE id = ?1")?
                        .execute(params![run_id, json])?;
                }
                // Subscribers refetch the run list, which carries hparams.
                if !self.change.updated_runs.iter().any(|r| r == run) {
                    self.change.updated_runs.push(run.to_owned());
                }
            }
            return Ok(());
        };
        let (plugin, content) = match (&value, kind) {
            (
                Value::Tensor {
                    plugin, content, ..
                },
                _,
            ) => (plugin.as_str(), content.as_slice()),
            (_, Kind::Scalar) => ("scalars", &[][..]),
            (_, Kind::Histogram) => ("histograms", &[][..]),
            (_, Kind::Text) => ("text", &[][..]),
            (_, Kind::Image) => ("images", &[][..]),
            (_, Kind::Tensor) => ("", &[][..]),
        };
        let key = (run_id, tag);
        if !self.series.contains_key(&key) {
            let state = self.load_series(run_id, run, &key.1, kind, plugin, content)?;
            self.series.insert(key.clone(), state);
        }
        let series = self.series.get_mut(&key).expect("inserted above");
        if series.kind != kind {
            tracing::warn!(
                run,
                tag = key.1,
                "a {} value for a {} series: skipped",
                kind.as_str(),
                series.kind.as_str()
            );
            return Ok(());
        }
        // TensorBoard's restart rule: a step going backwards drops this tag's points at or after it.
        if series.last_step.is_some_and(|last| step < last) {
            self.purge_series(&key, step)?;
        }
        let series = self.series.get_mut(&key).expect("present");
        series.last_step = Some(step);
        match value {
            Value::Scalar(v) => {
                if series.pending.is_empty() {
                    self.dirty.push(key.clone());
                }
                let series = self.series.get_mut(&key).expect("present");
                series.pending.push(Point {
                    step,
                    wall_time,
                    value: v,
                });
            }
            other => {
                let id = series.id;
                let Some(StoredValue {
                    width,
                    height,
                    data,
                }) = codec::encode_value(&other)
                else {
                    return Ok(()); // not reached: scalars and hparams are handled above
                };
                self.conn
                    .prepare_cached(
                        "INSERT INTO tensors (series_id, step, wall_time, width, height, data)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![id, step, wall_time, width, height, data])?;
                let entry = (run.to_owned(), key.1.clone(), kind);
                if !self.change.other.contains(&entry) {
                    self.change.other.push(entry);
                }
            }
        }
        Ok(())
    }

    fn load_series(
        &mut self,
        run_id: i64,
        run: &str,
        tag: &str,
        kind: Kind,
        plugin: &str,
        content: &[u8],
    ) -> Result<SeriesState, StoreError> {
        let content = (!content.is_empty()).then_some(content);
        let existing: Option<(i64, Kind)> = self
            .conn
            .prepare_cached("SELECT id, kind FROM series WHERE run_id = ?1 AND tag = ?2")?
            .query_row(params![run_id, tag], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (id, kind) = match existing {
            Some((id, k)) => {
                // A series stored before its plugin's content was kept (or without one).
                if content.is_some() {
                    self.conn
                        .prepare_cached(
                            "UPDATE series SET content = ?2 WHERE id = ?1 AND content IS NULL",
                        )?
                        .execute(params![id, content])?;
                }
                (id, k)
            }
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO series (run_id, tag, kind, plugin, content)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![run_id, tag, kind.as_str(), plugin, content])?;
                if kind == Kind::Tensor
                    && !crate::types::DASHBOARD_TENSOR_PLUGINS.contains(&plugin)
                    && self.unshown_plugins.insert(plugin.to_owned())
                {
                    let what = if plugin.is_empty() {
                        "tensor data without a plugin name".to_owned()
                    } else {
                        format!("`{plugin}` data")
                    };
                    tracing::info!(
                        "storing {what} (first: run {run:?}, tag {tag:?}) in full; the dashboard does not show this kind yet and names it on the page"
                    );
                }
                (self.conn.last_insert_rowid(), kind)
            }
        };
        let mut state = SeriesState {
            id,
            run: run.to_owned(),
            tag: tag.to_owned(),
            kind,
            last_step: None,
            next_seq: 0,
            small_tail: 0,
            pending: Vec::new(),
        };
        self.reload_tail(&mut state)?;
        Ok(state)
    }

    /// Reads where a series ends from the database (after a load or a purge).
    fn reload_tail(&self, state: &mut SeriesState) -> Result<(), StoreError> {
        if state.kind == Kind::Scalar {
            let mut stmt = self.conn.prepare_cached(
                "SELECT seq, count, last_step FROM scalar_chunks WHERE series_id = ?1
                 ORDER BY seq DESC LIMIT ?2",
            )?;
            let rows: Vec<(i64, i64, i64)> = stmt
                .query_map(params![state.id, COMPACT_AFTER as i64 + 1], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<Result<_, _>>()?;
            state.next_seq = rows.first().map_or(0, |r| r.0 + 1);
            state.last_step = rows.first().map(|r| r.2);
            state.small_tail = rows
                .iter()
                .take_while(|r| (r.1 as usize) < CHUNK_TARGET)
                .count();
        } else {
            state.last_step = self
                .conn
                .prepare_cached("SELECT max(step) FROM tensors WHERE series_id = ?1")?
                .query_row([state.id], |r| r.get(0))?;
        }
        Ok(())
    }

    fn purge_run(&mut self, run_id: i64, step: i64) -> Result<(), StoreError> {
        let tags: Vec<String> = self
            .conn
            .prepare_cached("SELECT tag FROM series WHERE run_id = ?1")?
            .query_map([run_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let run = self
            .runs
            .values()
            .find(|r| r.id == run_id)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        for tag in tags {
            let key = (run_id, tag);
            if !self.series.contains_key(&key) {
                let kind: Kind = self
                    .conn
                    .prepare_cached("SELECT kind FROM series WHERE run_id = ?1 AND tag = ?2")?
                    .query_row(params![run_id, key.1], |r| r.get(0))?;
                let state = self.load_series(run_id, &run, &key.1, kind, "", &[])?;
                self.series.insert(key.clone(), state);
            }
            if self.series[&key].last_step.is_some_and(|last| last >= step) {
                self.purge_series(&key, step)?;
            }
        }
        Ok(())
    }

    /// Drops the series' points with step >= `step`, pending and stored.
    fn purge_series(&mut self, key: &(i64, String), step: i64) -> Result<(), StoreError> {
        let Some(mut state) = self.series.remove(key) else {
            return Ok(());
        };
        state.pending.retain(|p| p.step < step);
        if state.kind == Kind::Scalar {
            // Steps never decrease along a series: every chunk from the first one reaching
            // `step` goes, and that chunk's points before `step` come back as a new chunk.
            let first: Option<(i64, i64)> = self
                .conn
                .prepare_cached(
                    "SELECT seq, first_step FROM scalar_chunks WHERE series_id = ?1 AND last_step >= ?2
                     ORDER BY seq LIMIT 1",
                )?
                .query_row(params![state.id, step], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((seq, first_step)) = first {
                let mut kept = Vec::new();
                if first_step < step {
                    let blob: Vec<u8> = self
                        .conn
                        .prepare_cached(
                            "SELECT points FROM scalar_points WHERE series_id = ?1 AND seq = ?2",
                        )?
                        .query_row(params![state.id, seq], |r| r.get(0))?;
                    chunk::decode_points(&blob, &mut kept)?;
                    kept.retain(|p| p.step < step);
                }
                self.delete_chunks_from(state.id, seq)?;
                self.insert_chunk(state.id, seq, &kept)?;
            }
        } else {
            self.conn
                .prepare_cached("DELETE FROM tensors WHERE series_id = ?1 AND step >= ?2")?
                .execute(params![state.id, step])?;
        }
        let pending = std::mem::take(&mut state.pending);
        self.reload_tail(&mut state)?;
        if let Some(p) = pending.last() {
            state.last_step = Some(p.step);
        }
        state.pending = pending;
        self.change
            .purged
            .push((state.run.clone(), state.tag.clone(), step));
        self.series.insert(key.clone(), state);
        Ok(())
    }

    /// Deletes the series' chunks (summaries and points) from sequence number `seq` on.
    fn delete_chunks_from(&self, series_id: i64, seq: i64) -> Result<(), StoreError> {
        for sql in [
            "DELETE FROM scalar_chunks WHERE series_id = ?1 AND seq >= ?2",
            "DELETE FROM scalar_points WHERE series_id = ?1 AND seq >= ?2",
        ] {
            self.conn
                .prepare_cached(sql)?
                .execute(params![series_id, seq])?;
        }
        Ok(())
    }

    /// Writes one chunk (nothing for no points).
    fn insert_chunk(&self, series_id: i64, seq: i64, points: &[Point]) -> Result<(), StoreError> {
        let Some(s) = chunk::summarize(points) else {
            return Ok(());
        };
        let mut blob = Vec::new();
        chunk::encode_points(points, &mut blob);
        self.conn
            .prepare_cached(
                "INSERT INTO scalar_chunks (series_id, seq, count,
                    first_step, first_wall, first_value, last_step, last_wall, last_value,
                    min_step, min_wall, min_value, max_step, max_wall, max_value,
                    nan_step, nan_wall)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?
            .execute(params![
                series_id,
                seq,
                s.count,
                s.first.step,
                s.first.wall_time,
                nan_as_null(s.first.value),
                s.last.step,
                s.last.wall_time,
                nan_as_null(s.last.value),
                s.min.step,
                s.min.wall_time,
                nan_as_null(s.min.value),
                s.max.step,
                s.max.wall_time,
                nan_as_null(s.max.value),
                s.first_nan.map(|p| p.step),
                s.first_nan.map(|p| p.wall_time),
            ])?;
        self.conn
            .prepare_cached(
                "INSERT INTO scalar_points (series_id, seq, points) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![series_id, seq, blob])?;
        Ok(())
    }

    /// Writes every series' pending scalar points as chunks, merging small tail chunks.
    fn write_pending(&mut self) -> Result<(), StoreError> {
        let dirty = std::mem::take(&mut self.dirty);
        for key in dirty {
            let Some(mut state) = self.series.remove(&key) else {
                continue;
            };
            let mut points = std::mem::take(&mut state.pending);
            if points.is_empty() {
                self.series.insert(key, state);
                continue;
            }
            if self.changes.receiver_count() > 0 {
                // Copied only for live subscribers: a bulk load with none pays nothing.
                let change = (state.run.clone(), state.tag.clone(), points.clone());
                self.change.scalars.push(change);
            }
            let merge = state.small_tail > 0
                && (state.small_tail + 1 >= COMPACT_AFTER || points.len() >= CHUNK_TARGET / 2);
            if merge {
                let first_small = state.next_seq - state.small_tail as i64;
                let mut merged = Vec::new();
                {
                    let mut stmt = self.conn.prepare_cached(
                        "SELECT points FROM scalar_points WHERE series_id = ?1 AND seq >= ?2 ORDER BY seq",
                    )?;
                    let blobs =
                        stmt.query_map(params![state.id, first_small], |r| r.get::<_, Vec<u8>>(0))?;
                    for blob in blobs {
                        chunk::decode_points(&blob?, &mut merged)?;
                    }
                }
                self.delete_chunks_from(state.id, first_small)?;
                merged.append(&mut points);
                points = merged;
                state.next_seq = first_small;
                state.small_tail = 0;
            }
            for piece in points.chunks(CHUNK_TARGET) {
                self.insert_chunk(state.id, state.next_seq, piece)?;
                state.next_seq += 1;
                if piece.len() < CHUNK_TARGET {
                    state.small_tail += 1;
                } else {
                    state.small_tail = 0;
                }
            }
            points.clear();
            state.pending = points; // keep the allocation
            self.series.insert(key, state);
        }
        Ok(())
    }
}

/// SQLite stores NaN as NULL; the summary columns read NULL back as NaN.
fn nan_as_null(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}
