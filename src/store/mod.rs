//! The store: SQLite at full fidelity, one writer thread, reads on a small connection pool.
//!
//! Every input (a logdir file being tailed, an HTTP batch) becomes a [`Batch`] handed to
//! [`Store::submit`]. The writer thread (`runboard-store`) commits batches in transactions of
//! of whatever is queued (up to 100,000 items), each covering its data *and* the file offsets it came from,
//! so a crash at any moment neither loses nor doubles a point. After each commit the writer
//! publishes a [`Change`] to subscribers (the live stream). Reads go through [`Store::read`]
//! on one of a few reader connections; WAL mode keeps readers and the writer out of each
//! other's way. Scalars are stored in chunks ([`chunk`]); every other value, and a run's
//! hyperparameters, in the form [`codec`] writes and reads (nothing else knows it).
//!
//! Lock order: the reader pool's mutex is held only to take or return a connection, never
//! while a query runs, and never together with anything else.

pub mod chunk;
pub mod codec;
pub mod downsample;
pub mod experiments;
pub mod query;
pub mod schema;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;

use runboard_sdk::event::Value;
use rusqlite::Connection;

use crate::types::RunName;
pub use chunk::Point;

/// Errors of the store. Callers map them to HTTP 5xx (database) or 4xx (the named variants).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, damaged file, ...). Retry later or give up; nothing half-done
    /// was committed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file could not be created or opened.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The path.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database's folder could not be created (permissions, a file in the way): fix the
    /// path or choose another `--db`.
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The writer thread could not be started (the system is out of threads or memory).
    #[error("cannot start the store's writer thread: {0}")]
    Spawn(std::io::Error),
    /// The writer thread has stopped (shutdown, or it failed); nothing more can be written.
    #[error("the store's writer has stopped")]
    WriterGone,
    /// The transaction holding this batch failed and was rolled back: nothing of it was stored.
    /// Retry later (once space is freed, when it is full).
    #[error("{}", .0.message)]
    CommitFailed(CommitFailure),
    /// A scalar chunk in the database is damaged.
    #[error(transparent)]
    BadChunk(#[from] chunk::BadChunk),
    /// A stored value (histogram rows, text, tensor) cannot be decoded: the database was
    /// damaged or written by something else.
    #[error("damaged stored value: {0}")]
    Damaged(String),
}

impl StoreError {
    /// True when the disk holding the database is full (or the database reached its size
    /// limit): the same write succeeds once space is freed.
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            StoreError::CommitFailed(f) => f.full,
            _ => false,
        }
    }
}

/// Where a batch's data came from, when it came from an event file: committed with the data.
///
/// The writer applies a batch with progress only when it continues the file's committed data:
/// `start` must equal the committed offset (0 for a file never committed), unless `reset` says
/// the file's content is new. A batch that does not continue it (one submitted before an
/// earlier batch of the same file failed to commit) is dropped whole and counted in
/// [`Store::failures`], so the reader rewinds to what was committed: nothing is skipped,
/// nothing stored twice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileProgress {
    /// The event file's path (as the ingester names it).
    pub path: String,
    /// The byte offset just after the last record whose data is in this batch.
    pub offset: u64,
    /// Intact records read so far.
    pub records: u64,
    /// Damaged regions skipped so far.
    pub skipped_records: u64,
    /// Bytes skipped so far.
    pub skipped_bytes: u64,
    /// The offset this batch's data starts at (the committed offset it continues).
    pub start: u64,
    /// The file was replaced or rewritten: its committed offset starts over at `start`.
    pub reset: bool,
    /// The file's first bytes (up to a few hundred), its identity: a file with other first
    /// bytes under the same name is another file, read from its start.
    pub head: Vec<u8>,
}

/// Why a commit failed, as the store's users need to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFailure {
    /// The disk (or the database's size limit) is full: retry once space is freed.
    pub full: bool,
    /// The error, for logs.
    pub message: String,
}

/// One thing to store.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A value of a tag.
    Value {
        /// The tag.
        tag: String,
        /// Training step.
        step: i64,
        /// Wall time, seconds since the epoch.
        wall_time: f64,
        /// The value.
        value: Value,
    },
    /// The run's projector config and embeddings as read from its files (replacing what was
    /// stored).
    Projector(Box<ProjectorUpdate>),
    /// A `SessionLog` START at `step`: the run restarted there, so every tag's points at or
    /// after `step` are dropped (TensorBoard's purge of orphaned data).
    SessionStart {
        /// The step the run restarted at.
        step: i64,
        /// Wall time of the event.
        wall_time: f64,
    },
}

/// What a run's projector config file says now.
#[derive(Debug, Clone, PartialEq)]
pub enum ProjectorUpdate {
    /// It was read (`path` relative to the logdir).
    Read {
        /// The config file.
        path: String,
        /// The config and its embeddings.
        read: crate::projector::ConfigRead,
    },
    /// It could not be read or parsed: what was stored stays, with the error.
    Failed {
        /// The config file.
        path: String,
        /// Why.
        error: String,
    },
    /// It is gone: so is the run's projector data.
    Removed,
    /// The values of the embedding at `seq` of the run's config, read from files of `source`
    /// (sent after the embedding, which was stored without them).
    Tensor {
        /// Its place in the config.
        seq: usize,
        /// The files it was read from (it is dropped if the stored embedding is of others).
        source: String,
        /// Its values, row by row.
        values: Vec<f32>,
    },
    /// One embedding sent over HTTP: added to the run's config (replacing an entry of the same
    /// tensor name).
    Append {
        /// Its config entry.
        info: Box<runboard_proto::tensorboard::projector::EmbeddingInfo>,
        /// Its data.
        data: Box<crate::projector::EmbeddingData>,
    },
}

/// Everything one source has to store, committed atomically with its [`FileProgress`].
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The run's name.
    pub run: RunName,
    /// The items, in the order they were logged.
    pub items: Vec<Item>,
    /// The file offset this batch brings the run's file to, if it came from a file.
    pub progress: Option<FileProgress>,
    /// The key and content digest of a batch sent over HTTP. A batch whose key was already
    /// committed stores nothing: it is a [`Ingested::Duplicate`] when that commit was for the
    /// same run and content (a retry), a [`Ingested::Conflict`] otherwise.
    pub dedup: Option<BatchKey>,
}

/// What identifies a batch sent over HTTP, and a digest of what it holds (see [`Batch::dedup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchKey {
    /// The writer session that numbered the batch.
    pub session: String,
    /// The batch's number within its session.
    pub seq: u64,
    /// A stable digest of the batch's points (the API computes it): the same key with another
    /// digest is other content, not a retry.
    pub digest: u64,
}

/// What the writer did with a batch, answered after its commit ([`Store::submit_acked`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Stored now (every batch without a [`BatchKey`] is).
    Stored,
    /// Its key was committed before for the same run with the same content (or by a version
    /// that did not record them: rows without run or digest cannot tell, and count as the
    /// same): nothing was stored twice.
    Duplicate,
    /// Its key was committed before for another run or with other content: nothing was
    /// stored. The sender must not reuse a key for other data.
    Conflict(Conflict),
    /// It came from a file and does not continue the file's committed data (see
    /// [`FileProgress`]): nothing was stored; the reader rewinds and sends it again.
    Skipped,
}

/// How a batch differs from the one committed under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The key was committed for another run: `stored` names it (`None` if it no longer
    /// exists).
    OtherRun {
        /// The run the key was committed for.
        stored: Option<String>,
    },
    /// The key was committed for this run with other points.
    OtherContent,
}

/// What one commit changed, published to subscribers after the commit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    /// New scalar points, by (run, tag).
    pub scalars: Vec<(String, String, Vec<Point>)>,
    /// (run, tag, kind) of series that got non-scalar data.
    pub other: Vec<(String, String, crate::types::Kind)>,
    /// Runs whose record changed (their hyperparameters), besides new ones.
    pub updated_runs: Vec<String>,
    /// Series whose points at or after a step were dropped (a restart): (run, tag, step).
    pub purged: Vec<(String, String, i64)>,
    /// Runs created by this commit.
    pub new_runs: Vec<String>,
    /// Runs deleted by this commit.
    pub deleted_runs: Vec<String>,
    /// Runs whose projector data changed.
    pub projector: Vec<String>,
}

/// A user's change to a run, applied by the writer in a transaction of its own.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOp {
    /// Display name, tags, notes, archived.
    Edit {
        /// The run.
        run: String,
        /// What changes (checked by the caller, [`crate::runs::RunEdit::check`]).
        edit: crate::runs::RunEdit,
        /// Who asked (the client's address), for the edit log.
        origin: String,
    },
    /// Remove the run's stored data (its event files are never touched).
    Delete {
        /// The run.
        run: String,
        /// Who asked.
        origin: String,
    },
}

/// What a [`RunOp`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOpDone {
    /// Applied and committed.
    Done,
    /// No such run (or it is deleted): nothing changed.
    NotFound,
}

/// Reader connections open at most (reads beyond wait for one).
pub const MAX_READERS: usize = 8;

/// The reader connections: idle ones, and how many exist (idle or in use).
#[derive(Default)]
struct ReaderPool {
    idle: Mutex<Idle>,
    /// Signalled when a connection is returned (or a slot freed).
    returned: std::sync::Condvar,
}

#[derive(Default)]
struct Idle {
    connections: Vec<Connection>,
    open: usize,
}

/// A handle to the store; clones share it.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    readers: ReaderPool,
    writer: writer::WriterHandle,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    schema::configure(&conn)?;
    Ok(conn)
}

/// Why [`open_read_only`] refused a database file.
#[derive(Debug, thiserror::Error)]
pub enum ReadOnlyError {
    /// There is no file at the path.
    #[error("{0} does not exist")]
    Missing(PathBuf),
    /// SQLite could not open or read it (not a database, damaged, no permission).
    #[error("cannot read {path}: {source}")]
    Sqlite {
        /// The path.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// It is an SQLite database, but not one runboard made (or not yet migrated).
    #[error("{0} is not a runboard database (no runboard tables in it)")]
    NotRunboard(PathBuf),
    /// It was written by a newer runboard whose schema this build does not know.
    #[error(
        "{path} has schema version {found}; this runboard reads up to {known}: upgrade runboard"
    )]
    TooNew {
        /// The path.
        path: PathBuf,
        /// The database's `user_version`.
        found: usize,
        /// [`schema::version`].
        known: usize,
    },
}

/// Opens an existing database for reading only: no migration, no writer thread, no change to
/// the file. A running server's database is fine (WAL: this reader sees committed data and
/// never blocks the server's writer). Queries of [`query`] run on the connection.
pub fn open_read_only(path: &Path) -> Result<Connection, ReadOnlyError> {
    use rusqlite::OpenFlags;
    if !path.is_file() {
        return Err(ReadOnlyError::Missing(path.to_path_buf()));
    }
    let sqlite = |source| ReadOnlyError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sqlite)?;
    let found = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(sqlite)? as usize;
    if found > schema::version() {
        return Err(ReadOnlyError::TooNew {
            path: path.to_path_buf(),
            found,
            known: schema::version(),
        });
    }
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'
             AND name IN ('runs', 'series', 'scalar_chunks', 'scalar_points', 'tensors')",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    if found == 0 || tables != 5 {
        return Err(ReadOnlyError::NotRunboard(path.to_path_buf()));
    }
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database at `path`, applies migrations and starts the
    /// writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut conn = open_connection(path)?;
        schema::migrate(&mut conn)?;
        let (writer, thread) = writer::spawn(conn, path.to_path_buf())?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                readers: ReaderPool::default(),
                writer,
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Queues a batch for the writer; returns at once. Commit order is submission order.
    pub fn submit(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner.writer.submit(batch, None)
    }

    /// Queues a batch and returns a receiver that answers once it is committed (or failed)
    /// with what was done with it (see [`Batch::dedup`]).
    pub fn submit_acked(
        &self,
        batch: Batch,
    ) -> Result<mpsc::Receiver<Result<Ingested, CommitFailure>>, StoreError> {
        let (tx, rx) = mpsc::channel();
        self.inner
            .writer
            .submit(batch, Some(writer::Ack::Blocking(tx)))?;
        Ok(rx)
    }

    /// Blocks until everything submitted before this call is committed (or failed: then the
    /// transaction it was part of failed too, see [`Store::failures`]).
    pub fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = mpsc::channel();
        self.inner.writer.flush(writer::Ack::Blocking(tx))?;
        rx.recv()
            .map_err(|_| StoreError::WriterGone)?
            .map(|_| ())
            .map_err(StoreError::CommitFailed)
    }

    /// Submits a batch and waits for its commit without blocking the async runtime: queued
    /// at once when the writer's queue has room, else from a blocking thread (backpressure);
    /// the answer is awaited, not blocked on. What the HTTP ingest route uses.
    pub async fn submit_async(&self, batch: Batch) -> Result<Ingested, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Err(batch) = self
            .inner
            .writer
            .try_submit(batch, writer::Ack::Async(tx))?
        {
            let store = self.clone();
            let (tx, rx2) = tokio::sync::oneshot::channel();
            tokio::task::spawn_blocking(move || {
                store
                    .inner
                    .writer
                    .submit(batch, Some(writer::Ack::Async(tx)))
            })
            .await
            .map_err(|_| StoreError::WriterGone)??;
            return rx2
                .await
                .map_err(|_| StoreError::WriterGone)?
                .map_err(StoreError::CommitFailed);
        }
        rx.await
            .map_err(|_| StoreError::WriterGone)?
            .map_err(StoreError::CommitFailed)
    }

    /// Applies a user's change to a run and waits for its commit (without blocking the async
    /// runtime). Every edit is logged in `run_edits` in the same transaction.
    pub async fn run_op(&self, op: RunOp) -> Result<RunOpDone, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let writer = self.clone();
        tokio::task::spawn_blocking(move || writer.inner.writer.run_op(op, tx))
            .await
            .map_err(|_| StoreError::WriterGone)??;
        rx.await
            .map_err(|_| StoreError::WriterGone)?
            .map_err(StoreError::CommitFailed)
    }

    /// How many commits have failed (rolled back) or dropped a batch that did not continue its
    /// file since the store opened. A reader of files that sees it change rewinds to the
    /// committed offsets and retries later.
    pub fn failures(&self) -> u64 {
        self.inner.writer.failures()
    }

    /// The last failed commit's error, if any commit failed.
    pub fn last_failure(&self) -> Option<CommitFailure> {
        self.inner.writer.last_failure()
    }

    /// How many transactions (data or run edits) have committed since the store opened: a
    /// reader that saw the same number before it read saw everything since (answers cached by
    /// generation stay valid until it moves).
    pub fn generation(&self) -> u64 {
        self.inner.writer.commits()
    }

    /// Subscribes to the changes of every later commit.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<Change>> {
        self.inner.writer.subscribe()
    }

    /// Runs `f` on a reader connection (blocking: call it from a blocking thread). At most
    /// [`MAX_READERS`] connections exist; a read waits for one when all are busy.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pool = &self.inner.readers;
        let conn = {
            let mut idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(c) = idle.connections.pop() {
                    break Some(c);
                }
                if idle.open < MAX_READERS {
                    idle.open += 1;
                    break None; // opened below, outside the lock
                }
                idle = pool
                    .returned
                    .wait(idle)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let conn = match conn {
            Some(c) => c,
            None => match open_connection(&self.inner.path) {
                Ok(c) => c,
                Err(e) => {
                    let mut idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
                    idle.open -= 1;
                    pool.returned.notify_one();
                    return Err(e);
                }
            },
        };
        let result = f(&conn);
        pool.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .connections
            .push(conn);
        pool.returned.notify_one();
        result
    }

    /// Commits what is queued and stops the writer thread. Later submissions fail.
    pub fn shutdown(&self) {
        self.inner.writer.close();
        let thread = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.writer.close();
        if let Some(t) = self
            .thread
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::query;
    use super::*;

    #[test]
    fn reads_share_a_bounded_pool_of_connections() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let busy = Arc::new(AtomicUsize::new(0));
        // MAX_READERS reads that hold their connection until released.
        let holders: Vec<_> = (0..MAX_READERS)
            .map(|_| {
                let (store, released, busy) = (store.clone(), released.clone(), busy.clone());
                std::thread::spawn(move || {
                    store
                        .read(|_| {
                            busy.fetch_add(1, Ordering::SeqCst);
                            released.lock().unwrap().recv().unwrap();
                            Ok(())
                        })
                        .unwrap()
                })
            })
            .collect();
        while busy.load(Ordering::SeqCst) < MAX_READERS {
            std::thread::yield_now();
        }
        // One more read waits for a connection instead of opening a ninth.
        let (done, finished) = std::sync::mpsc::channel();
        let extra = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.read(|_| Ok(())).unwrap();
                done.send(()).unwrap();
            })
        };
        assert!(
            finished
                .recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "a read past the bound waits"
        );
        release.send(()).unwrap();
        finished
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("it gets the returned connection");
        for _ in 1..MAX_READERS {
            release.send(()).unwrap();
        }
        for h in holders {
            h.join().unwrap();
        }
        extra.join().unwrap();
        let idle = store.inner.readers.idle.lock().unwrap();
        assert_eq!(
            (idle.open, idle.connections.len()),
            (MAX_READERS, MAX_READERS)
        );
    }

    fn scalar(tag: &str, step: i64, value: f64) -> Item {
        Item::Value {
            tag: tag.into(),
            step,
            wall_time: 1000.0 + step as f64,
            value: Value::Scalar(value),
        }
    }

    /// Submits `items` to run "r" and waits for the commit.
    fn commit(store: &Store, items: Vec<Item>) {
        store
            .submit(Batch {
                run: crate::types::RunName::new("r").unwrap(),
                items,
                progress: None,
                dedup: None,
            })
            .unwrap();
        store.flush().unwrap();
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("runboard.sqlite")).unwrap();
        (dir, store)
    }

    fn points(store: &Store, run: &str, tag: &str, max: Option<usize>) -> Vec<Point> {
        store
            .read(|c| {
                let (id, _) = query::series_id(c, run, tag)?.expect("series exists");
                query::scalars(c, id, None, None, max)
            })
            .unwrap()
    }

    #[test]
    fn scalars_round_trip_across_many_small_commits() {
        let (_d, store) = open();
        for s in 0..10_000i64 {
            store
                .submit(Batch {
                    run: crate::types::RunName::new("r").unwrap(),
                    items: vec![scalar("loss", s, s as f64 * 0.5)],
                    progress: None,
                    dedup: None,
                })
                .unwrap();
            if s % 97 == 0 {
                store.flush().unwrap(); // force many small transactions
            }
        }
        store.flush().unwrap();
        let pts = points(&store, "r", "loss", None);
        assert_eq!(pts.len(), 10_000);
        assert!(
            pts.iter()
                .enumerate()
                .all(|(i, p)| p.step == i as i64 && p.value == i as f64 * 0.5)
        );
        let chunks: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM scalar_chunks", [], |r| r.get(0))?))
            .unwrap();
        assert!(
            chunks <= 3 + writer::COMPACT_AFTER as i64,
            "small chunks are merged: {chunks}"
        );
    }

    #[test]
    fn a_step_going_backwards_replaces_the_later_points() {
        let (_d, store) = open();
        let first: Vec<Item> = (0..400).map(|s| scalar("loss", s, 1.0)).collect();
        let second: Vec<Item> = (300..600).map(|s| scalar("loss", s, 2.0)).collect();
        commit(&store, first);
        commit(&store, second);
        let pts = points(&store, "r", "loss", None);
        assert_eq!(pts.len(), 600);
        assert!(pts[..300].iter().all(|p| p.value == 1.0));
        assert!(
            pts[300..]
                .iter()
                .enumerate()
                .all(|(i, p)| p.value == 2.0 && p.step == 300 + i as i64)
        );
    }

    #[test]
    fn a_restart_across_many_chunks_leaves_no_orphan_blobs() {
        let (_d, store) = open();
        let first: Vec<Item> = (0..20_000).map(|s| scalar("x", s, 1.0)).collect();
        commit(&store, first);
        let second: Vec<Item> = (9_000..9_100).map(|s| scalar("x", s, 2.0)).collect();
        commit(&store, second);
        let pts = points(&store, "r", "x", None);
        assert_eq!(pts.len(), 9_100);
        assert!(pts.iter().enumerate().all(|(i, p)| p.step == i as i64));
        assert!(pts[9_000..].iter().all(|p| p.value == 2.0));
        let (chunks, blobs): (i64, i64) = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT count(*) FROM scalar_chunks), (SELECT count(*) FROM scalar_points)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap();
        assert_eq!(
            chunks, blobs,
            "every summary has its blob and no blob is orphaned"
        );
    }

    #[test]
    fn a_restart_exactly_at_a_chunk_boundary_keeps_the_chunks_before_it() {
        let (_d, store) = open();
        commit(&store, (0..3 * 4096).map(|s| scalar("x", s, 1.0)).collect());
        commit(&store, vec![scalar("x", 4096, 2.0)]);
        let pts = points(&store, "r", "x", None);
        assert_eq!(pts.len(), 4097);
        assert!(pts[..4096].iter().all(|p| p.value == 1.0));
        assert_eq!((pts[4096].step, pts[4096].value), (4096, 2.0));
    }

    #[test]
    fn session_start_purges_every_tag_of_the_run() {
        let (_d, store) = open();
        let mut items: Vec<Item> = (0..10)
            .flat_map(|s| [scalar("a", s, 1.0), scalar("b", s, 1.0)])
            .collect();
        items.push(Item::SessionStart {
            step: 5,
            wall_time: 2000.0,
        });
        items.push(scalar("a", 5, 9.0));
        commit(&store, items);
        assert_eq!(points(&store, "r", "a", None).len(), 6);
        assert_eq!(points(&store, "r", "a", None)[5].value, 9.0);
        assert_eq!(points(&store, "r", "b", None).len(), 5);
    }

    #[test]
    fn offsets_commit_with_data_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let store = Store::open(&path).unwrap();
            store
                .submit(Batch {
                    run: crate::types::RunName::new("r").unwrap(),
                    items: vec![scalar("x", 1, 1.0)],
                    progress: Some(FileProgress {
                        path: "r/events.out.tfevents.1".into(),
                        offset: 123,
                        records: 2,
                        skipped_records: 0,
                        skipped_bytes: 0,
                        ..FileProgress::default()
                    }),
                    dedup: None,
                })
                .unwrap();
            store.shutdown();
        }
        let store = Store::open(&path).unwrap();
        let offset = store
            .read(|c| query::file(c, "r/events.out.tfevents.1"))
            .unwrap()
            .map(|f| f.offset);
        assert_eq!(offset, Some(123));
        assert_eq!(points(&store, "r", "x", None).len(), 1);
        // The series' end was reloaded: a later, larger step appends, a smaller one purges.
        store
            .submit(Batch {
                run: crate::types::RunName::new("r").unwrap(),
                items: vec![scalar("x", 2, 2.0)],
                progress: None,
                dedup: None,
            })
            .unwrap();
        store.flush().unwrap();
        assert_eq!(points(&store, "r", "x", None).len(), 2);
    }

    /// Submits a keyed batch of one scalar to `run` and waits for the writer's answer.
    fn keyed(store: &Store, run: &str, seq: u64, digest: u64) -> Ingested {
        let batch = Batch {
            run: crate::types::RunName::new(run).unwrap(),
            items: vec![scalar("x", seq as i64, 1.0)],
            progress: None,
            dedup: Some(BatchKey {
                session: "s".into(),
                seq,
                digest,
            }),
        };
        store.submit_acked(batch).unwrap().recv().unwrap().unwrap()
    }

    #[test]
    fn a_batch_key_answers_stored_then_duplicate_or_conflict() {
        let (_d, store) = open();
        assert_eq!(keyed(&store, "a", 1, 7), Ingested::Stored);
        assert_eq!(keyed(&store, "a", 1, 7), Ingested::Duplicate);
        assert_eq!(
            keyed(&store, "a", 1, 8),
            Ingested::Conflict(Conflict::OtherContent)
        );
        assert_eq!(
            keyed(&store, "b", 1, 7),
            Ingested::Conflict(Conflict::OtherRun {
                stored: Some("a".into())
            })
        );
        assert_eq!(keyed(&store, "a", 2, 8), Ingested::Stored);
        assert_eq!(points(&store, "a", "x", None).len(), 2);
        let runs: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM runs", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(runs, 1, "a conflicting batch creates no run");
    }

    #[test]
    fn keys_stored_before_digests_were_recorded_count_as_duplicates() {
        let (dir, store) = open();
        // A row as schema version 2 wrote it: no run, no digest.
        let conn = Connection::open(dir.path().join("runboard.sqlite")).unwrap();
        conn.execute(
            "INSERT INTO ingest_batches (session, seq, points) VALUES ('s', 1, 1)",
            [],
        )
        .unwrap();
        for run in ["a", "b"] {
            assert_eq!(keyed(&store, run, 1, 99), Ingested::Duplicate, "{run}");
        }
    }

    #[test]
    fn downsampled_reads_keep_spikes_and_ends() {
        let (_d, store) = open();
        let items: Vec<Item> = (0..50_000)
            .map(|s| scalar("x", s, if s == 31_337 { 1e9 } else { (s % 10) as f64 }))
            .collect();
        commit(&store, items);
        let pts = points(&store, "r", "x", Some(200));
        assert!(pts.len() <= 200);
        assert_eq!(pts.first().unwrap().step, 0);
        assert_eq!(pts.last().unwrap().step, 49_999);
        assert!(pts.iter().any(|p| p.step == 31_337 && p.value == 1e9));
        let zoom = store
            .read(|c| {
                let (id, _) = query::series_id(c, "r", "x")?.unwrap();
                query::scalars(c, id, Some(31_000), Some(31_999), None)
            })
            .unwrap();
        assert_eq!(zoom.len(), 1000);
        assert_eq!((zoom[0].step, zoom[999].step), (31_000, 31_999));
    }

    #[test]
    fn nan_and_infinities_are_stored_and_summarised() {
        let (_d, store) = open();
        let items = vec![
            scalar("x", 0, f64::NAN),
            scalar("x", 1, f64::INFINITY),
            scalar("x", 2, f64::NEG_INFINITY),
            scalar("x", 3, 1.0),
        ];
        commit(&store, items);
        let pts = points(&store, "r", "x", None);
        assert!(pts[0].value.is_nan());
        assert_eq!(
            (pts[1].value, pts[2].value),
            (f64::INFINITY, f64::NEG_INFINITY)
        );
    }

    #[test]
    fn other_kinds_are_stored_and_a_kind_clash_is_skipped() {
        let (_d, store) = open();
        let items = vec![
            Item::Value {
                tag: "h".into(),
                step: 1,
                wall_time: 1.0,
                value: Value::Histogram(vec![[0.0, 1.0, 3.0]]),
            },
            Item::Value {
                tag: "t".into(),
                step: 1,
                wall_time: 1.0,
                value: Value::Text(vec!["**hi**".into()]),
            },
            Item::Value {
                tag: "h".into(),
                step: 2,
                wall_time: 2.0,
                value: Value::Scalar(1.0),
            },
        ];
        commit(&store, items);
        let series = store.read(|c| query::series(c, Some("r"))).unwrap();
        let kinds: Vec<(&str, &str, u64)> = series
            .iter()
            .map(|s| (s.tag.as_str(), s.kind.as_str(), s.count))
            .collect();
        assert_eq!(kinds, vec![("h", "histogram", 1), ("t", "text", 1)]);
        let rows = store
            .read(|c| {
                let (id, _) = query::series_id(c, "r", "t")?.unwrap();
                query::tensors(c, id)
            })
            .unwrap();
        assert_eq!(rows[0].data, br#"["**hi**"]"#);
    }
}
