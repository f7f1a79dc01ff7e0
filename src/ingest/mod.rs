//! Logdir ingestion: finds event files at any depth, tails them as they change, and hands batches to the store.
//!
//! ```text
//! inotify, a watch per folder ─► watch::classify ─► Wake ──┐   (our own reads wake nothing)
//! poll timer: only folders that cannot be watched ──────────┤
//!                                                           ▼
//! runboard-ingest thread (tailer.rs): walk(folder) ─► track(file) ─► read_file ─► Batch ─► Store
//!                                                          tail::judge: grew, shrank, replaced
//! ```
//!
//! One thread (`runboard-ingest`) owns the state of every file (`tail::TailedFile`): a
//! `RecordReader` positioned at the file's committed offset (read from the store, so a
//! restart resumes exactly where the committed data ends), the file's identity (its first
//! bytes and inode) and, per run, an [`EventDecoder`] seeded with the plugins the store already
//! knows. Each read turns new records into a [`Batch`] whose [`crate::store::FileProgress`] is committed with
//! its data. A partial record at the end of a file stays in the reader's buffer until the
//! writer finishes it; a damaged record is skipped and counted.
//!
//! **Idle means asleep.** The thread blocks until a file-system event asks for something: a
//! data change wakes the reader of that one file, a folder entry that appears or vanishes asks
//! for a walk of that path, lost events for a walk of the logdir. Only folders that cannot be
//! watched are polled, every [`IngestOptions::poll_interval`]; so are files backing off after
//! an error, on their own timers. `/metrics` counts walks, polls and file reads
//! ([`IngestStats`]).
//!
//! **Files that change under us** are handled once, quietly: a file that shrinks, vanishes, or
//! is replaced by a folder, a socket or a symlink leading out of the logdir is logged once
//! (`notices`) and its stored data kept; another file under an old name (other first bytes)
//! is read from its start; an error on one file backs off that file only. Read buffers are
//! released when a file has nothing pending.
//!
//! **A commit that fails** (a full disk) makes the store drop every later batch that does not
//! continue its file's committed data; the thread sees [`Store::failures`] move, rewinds every
//! file to its committed offset, pauses with a growing backoff and reads again: nothing is
//! skipped, nothing stored twice, and ingestion resumes by itself when space returns.

mod notices;
mod projector;
mod tail;
mod tailer;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::store::{Store, StoreError};
use tailer::Tailer;
use watch::Wake;

/// Tunables of the ingester.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// How often folders that cannot be watched are polled (watched folders are never polled).
    /// Default 1 s.
    pub poll_interval: Duration,
    /// Items per batch handed to the store. Default 10,000.
    pub batch_items: usize,
    /// Follow symlinks that lead outside the logdir (those inside it are always followed).
    pub follow_symlinks: bool,
    /// A folder whose watch is refused, as if the kernel refused it (tests of the polling
    /// fallback: as root, no folder can be made unwatchable).
    #[cfg(test)]
    pub refuse_watch: Option<PathBuf>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch_items: 10_000,
            follow_symlinks: false,
            #[cfg(test)]
            refuse_watch: None,
        }
    }
}

/// Why ingestion could not start.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The logdir is a file, not a directory.
    #[error("logdir {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The thread could not be spawned.
    #[error("cannot start the ingest thread: {0}")]
    Spawn(std::io::Error),
    /// The logdir does not exist (only [`ingest_once`] requires it to).
    #[error("logdir {0} does not exist")]
    Missing(PathBuf),
}

/// What [`ingest_once`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Runs (folders holding event files).
    pub runs: usize,
    /// Event files read.
    pub files: usize,
    /// Intact records read.
    pub records: u64,
    /// Damaged records skipped.
    pub skipped_records: u64,
}

/// What the ingester has done, for `/metrics`: counters only grow; gauges are current values.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Walks of the logdir or of one of its folders.
    pub scans: AtomicU64,
    /// Polls of the folders that cannot be watched.
    pub polls: AtomicU64,
    /// Times an event file was opened to be read.
    pub file_reads: AtomicU64,
    /// Times the thread woke up (an event, a poll, a retry).
    pub wakeups: AtomicU64,
    /// Intact records read.
    pub records: AtomicU64,
    /// Notices logged about files that changed under the reader.
    pub file_notices: AtomicU64,
    /// Reads that met data runboard does not read yet (graphs, run metadata, legacy audio).
    pub skipped_kinds: AtomicU64,
    /// Gauge: files being tailed.
    pub files: AtomicU64,
    /// Gauge: folders watched.
    pub watched_dirs: AtomicU64,
    /// Gauge: folders polled because they cannot be watched.
    pub polled_dirs: AtomicU64,
    /// Gauge: 1 while ingestion is paused because the store cannot commit (a full disk).
    pub paused: AtomicU64,
}

impl IngestStats {
    /// The Prometheus text exposition of these metrics.
    pub fn prometheus(&self) -> String {
        let metrics: [(&str, &str, &str, &AtomicU64); 11] = [
            (
                "runboard_ingest_scans_total",
                "counter",
                "Walks of the logdir or of one of its folders.",
                &self.scans,
            ),
            (
                "runboard_ingest_polls_total",
                "counter",
                "Polls of logdir folders that cannot be watched.",
                &self.polls,
            ),
            (
                "runboard_ingest_file_reads_total",
                "counter",
                "Event files opened to be read.",
                &self.file_reads,
            ),
            (
                "runboard_ingest_wakeups_total",
                "counter",
                "Wake-ups of the ingest thread.",
                &self.wakeups,
            ),
            (
                "runboard_ingest_records_total",
                "counter",
                "Intact records read from event files.",
                &self.records,
            ),
            (
                "runboard_ingest_file_notices_total",
                "counter",
                "Notices about event files that changed under the reader.",
                &self.file_notices,
            ),
            (
                "runboard_ingest_skipped_kinds_total",
                "counter",
                "File reads that met data runboard does not read yet (graphs, run metadata, legacy audio).",
                &self.skipped_kinds,
            ),
            (
                "runboard_ingest_files",
                "gauge",
                "Event files being tailed.",
                &self.files,
            ),
            (
                "runboard_ingest_watched_dirs",
                "gauge",
                "Logdir folders watched for changes.",
                &self.watched_dirs,
            ),
            (
                "runboard_ingest_polled_dirs",
                "gauge",
                "Logdir folders polled because they cannot be watched.",
                &self.polled_dirs,
            ),
            (
                "runboard_ingest_paused",
                "gauge",
                "1 while ingestion waits for the store to accept commits again (a full disk).",
                &self.paused,
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in metrics {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

/// Reads every event file under `logdir` once, up to its current end, into `store`, and returns
/// once all of it is committed: the one-shot path of commands that need no server
/// (`runboard export --logdir`). No thread and no watch; a partial record at the end of a file
/// is left out, exactly as a server would wait for it.
pub fn ingest_once(
    logdir: &Path,
    store: &Store,
    options: IngestOptions,
) -> Result<IngestReport, IngestError> {
    if !logdir.exists() {
        return Err(IngestError::Missing(logdir.to_path_buf()));
    }
    if !logdir.is_dir() {
        return Err(IngestError::NotADirectory(logdir.to_path_buf()));
    }
    let (wake, _woken) = mpsc::channel();
    let mut tailer = Tailer::new(logdir, store.clone(), options, wake, false, Arc::default());
    tailer.walk(logdir);
    tailer.read_dirty()?;
    tailer.read_projector()?;
    store.flush()?;
    Ok(tailer.report())
}

/// A running ingester; dropping it (or [`Ingester::stop`]) stops the thread.
pub struct Ingester {
    wake: mpsc::Sender<Wake>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<IngestStats>,
}

impl Ingester {
    /// Starts tailing `logdir` into `store`.
    pub fn start(
        logdir: &Path,
        store: Store,
        options: IngestOptions,
    ) -> Result<Ingester, IngestError> {
        if logdir.exists() && !logdir.is_dir() {
            return Err(IngestError::NotADirectory(logdir.to_path_buf()));
        }
        let (wake, woken) = mpsc::channel();
        let stats = Arc::new(IngestStats::default());
        let mut tailer = Tailer::new(
            logdir,
            store,
            options,
            wake.clone(),
            true,
            Arc::clone(&stats),
        );
        let thread = std::thread::Builder::new()
            .name("runboard-ingest".into())
            .spawn(move || tailer.run(&woken))
            .map_err(IngestError::Spawn)?;
        Ok(Ingester {
            wake,
            thread: Some(thread),
            stats,
        })
    }

    /// What the ingester has done so far (for `/metrics`).
    pub fn stats(&self) -> Arc<IngestStats> {
        Arc::clone(&self.stats)
    }

    /// Stops the thread and waits for it (what it read is submitted to the store).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let _ = self.wake.send(Wake::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Ingester {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests;
