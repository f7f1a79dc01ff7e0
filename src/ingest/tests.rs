//! Tests of logdir ingestion: reading and resuming, a logdir that changes under the reader, and data it does not read yet.

#![allow(unused_imports)] // each group of tests uses part of these

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::store::{Store, query};

/// Points of `run`/`tag` in the store (0 when there is no such series).
fn count(store: &Store, run: &str, tag: &str) -> usize {
    store
        .read(|c| match query::series_id(c, run, tag)? {
            Some((id, _)) => Ok(query::scalars(c, id, None, None, None)?.len()),
            None => Ok(0),
        })
        .unwrap()
}

mod reading {
    use super::*;
    use crate::ingest::*;
    use runboard_sdk::SummaryWriter;

    fn wait_for(store: &Store, run: &str, tag: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while count(store, run, tag) != n {
            assert!(
                Instant::now() < deadline,
                "{run}/{tag}: {} of {n}",
                count(store, run, tag)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn options() -> IngestOptions {
        IngestOptions {
            poll_interval: Duration::from_millis(50),
            batch_items: 1000,
            ..IngestOptions::default()
        }
    }

    #[test]
    fn reads_nested_runs_tails_growth_and_resumes_without_doubling() {
        let dir = tempfile::tempdir().unwrap();
        let logdir = dir.path().join("logs");
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let mut a = SummaryWriter::new(logdir.join("a")).unwrap();
        let mut b = SummaryWriter::new(logdir.join("b/c")).unwrap();
        for s in 0..2500 {
            a.add_scalar("loss", s as f64, s);
        }
        b.add_text("notes", "hello", 0);
        a.flush().unwrap();
        b.flush().unwrap();
        let ingester = Ingester::start(&logdir, store.clone(), options()).unwrap();
        wait_for(&store, "a", "loss", 2500);
        for s in 2500..3000 {
            a.add_scalar("loss", s as f64, s);
        }
        a.flush().unwrap();
        wait_for(&store, "a", "loss", 3000);
        ingester.stop();
        store.flush().unwrap();
        // More data while nothing runs, then a new ingester on the same store: it resumes.
        for s in 3000..3100 {
            a.add_scalar("loss", s as f64, s);
        }
        a.close().unwrap();
        b.close().unwrap();
        let ingester = Ingester::start(&logdir, store.clone(), options()).unwrap();
        wait_for(&store, "a", "loss", 3100);
        ingester.stop();
        store.flush().unwrap();
        assert_eq!(count(&store, "a", "loss"), 3100, "nothing doubled");
        let series = store.read(|c| query::series(c, Some("b/c"))).unwrap();
        assert_eq!(series[0].kind, crate::types::Kind::Text);
    }

    #[test]
    fn ingest_once_reads_everything_then_returns() {
        let dir = tempfile::tempdir().unwrap();
        let logdir = dir.path().join("logs");
        let mut a = SummaryWriter::new(logdir.join("a")).unwrap();
        for s in 0..25_000 {
            a.add_scalar("loss", s as f64, s);
        }
        a.add_text("notes", "hi", 3);
        a.close().unwrap();
        let mut b = SummaryWriter::new(logdir.join("b/c")).unwrap();
        b.add_scalar("x", 1.0, 1);
        b.close().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let options = IngestOptions {
            batch_items: 1000,
            ..IngestOptions::default()
        };
        let report = ingest_once(&logdir, &store, options.clone()).unwrap();
        assert_eq!((report.runs, report.files), (2, 2));
        assert_eq!(report.skipped_records, 0);
        assert_eq!(count(&store, "a", "loss"), 25_000, "committed on return");
        assert_eq!(count(&store, "b/c", "x"), 1);
        assert!(matches!(
            ingest_once(&dir.path().join("nope"), &store, options),
            Err(IngestError::Missing(_))
        ));
    }

    #[test]
    fn a_partial_record_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let logdir = dir.path().join("logs");
        let src = dir.path().join("src");
        // No run events: the file's last record is the last point.
        let no_run_events = runboard_sdk::WriterOptions {
            record_run: false,
            ..runboard_sdk::WriterOptions::default()
        };
        let mut w = SummaryWriter::with_options(&src, no_run_events).unwrap();
        for s in 0..10 {
            w.add_scalar("x", s as f64, s);
        }
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::create_dir_all(logdir.join("r")).unwrap();
        let target = logdir.join("r").join(path.file_name().unwrap());
        let cut = bytes.len() - 7;
        std::fs::write(&target, &bytes[..cut]).unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let ingester = Ingester::start(&logdir, store.clone(), options()).unwrap();
        wait_for(&store, "r", "x", 9);
        // The writer finishes the record: the last point arrives, nothing is counted as damage.
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&target)
            .unwrap()
            .write_all(&bytes[cut..])
            .unwrap();
        wait_for(&store, "r", "x", 10);
        ingester.stop();
        store.flush().unwrap();
        let files = store.read(query::files).unwrap();
        assert_eq!(files[0].skipped_records, 0);
        assert_eq!(files[0].offset, bytes.len() as u64);
    }
}

/// The ingester against a logdir that changes under it: files deleted, shrunk, replaced by
/// folders, symlinks or other files, folders that cannot be watched; and an idle ingester that
/// does nothing.
mod changing_logdir {
    use super::*;
    use crate::ingest::*;
    use runboard_sdk::SummaryWriter;

    fn options() -> IngestOptions {
        IngestOptions {
            poll_interval: Duration::from_millis(100),
            batch_items: 1000,
            ..IngestOptions::default()
        }
    }

    fn values(store: &Store, run: &str, tag: &str) -> Vec<(i64, f64)> {
        store
            .read(|c| match query::series_id(c, run, tag)? {
                Some((id, _)) => Ok(query::scalars(c, id, None, None, None)?
                    .iter()
                    .map(|p| (p.step, p.value))
                    .collect()),
                None => Ok(Vec::new()),
            })
            .unwrap()
    }

    /// Waits (bounded) until `f` holds.
    fn until(what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn writer(dir: &Path, steps: std::ops::Range<i64>, value: f64) -> PathBuf {
        let mut w = SummaryWriter::new(dir).unwrap();
        for s in steps {
            w.add_scalar("loss", value + s as f64, s);
        }
        let path = w.path().to_path_buf();
        w.close().unwrap();
        path
    }

    fn append(dir: &Path, steps: std::ops::Range<i64>) {
        let mut w = SummaryWriter::new(dir).unwrap();
        for s in steps {
            w.add_scalar("loss", s as f64, s);
        }
        w.close().unwrap();
    }

    fn get(stats: &IngestStats) -> [u64; 4] {
        [
            stats.scans.load(Ordering::SeqCst),
            stats.file_reads.load(Ordering::SeqCst),
            stats.wakeups.load(Ordering::SeqCst),
            stats.polls.load(Ordering::SeqCst),
        ]
    }

    struct Setup {
        dir: tempfile::TempDir,
        logdir: PathBuf,
        store: Store,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let logdir = dir.path().join("logs");
        std::fs::create_dir_all(&logdir).unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        Setup { dir, logdir, store }
    }

    #[test]
    fn an_idle_ingester_does_nothing_at_all() {
        let s = setup();
        for r in 0..200 {
            writer(&s.logdir.join(format!("run{r:03}")), 0..5, 0.0);
        }
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        let stats = ingester.stats();
        until("200 runs read", || count(&s.store, "run199", "loss") == 5);
        until("a settled ingester", || {
            stats.files.load(Ordering::SeqCst) == 200 && stats.paused.load(Ordering::SeqCst) == 0
        });
        let settled = get(&stats);
        // Nothing changes on disk: nothing may happen, however long we watch.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            get(&stats),
            settled,
            "scans, reads, wake-ups, polls of an idle ingester"
        );
        assert_eq!(stats.polled_dirs.load(Ordering::SeqCst), 0);
        assert_eq!(stats.watched_dirs.load(Ordering::SeqCst), 201);
        // One file grows: that file is read, nothing is walked.
        append(&s.logdir.join("run007"), 5..8);
        until("the append", || count(&s.store, "run007", "loss") == 8);
        let after = get(&stats);
        assert_eq!(after[0], settled[0], "no walk for a data change");
        assert!(
            after[1] - settled[1] <= 4,
            "{} reads for one appended file",
            after[1] - settled[1]
        );
        ingester.stop();
    }

    #[test]
    fn a_deleted_file_is_said_once_and_everything_else_goes_on() {
        let s = setup();
        let a = writer(&s.logdir.join("a"), 0..10, 0.0);
        writer(&s.logdir.join("b"), 0..10, 0.0);
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        let stats = ingester.stats();
        until("a and b", || {
            count(&s.store, "a", "loss") == 10 && count(&s.store, "b", "loss") == 10
        });
        std::fs::remove_file(&a).unwrap();
        append(&s.logdir.join("b"), 10..20);
        writer(&s.logdir.join("c"), 0..3, 0.0);
        until("b grows, c appears", || {
            count(&s.store, "b", "loss") == 20 && count(&s.store, "c", "loss") == 3
        });
        until("the removal noticed", || {
            stats.files.load(Ordering::SeqCst) == 3
        });
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            stats.file_notices.load(Ordering::SeqCst),
            1,
            "one line for one deletion"
        );
        assert_eq!(
            count(&s.store, "a", "loss"),
            10,
            "what was read from it stays stored"
        );
        // A new file under the old name is another file: read from its start.
        append(&s.logdir.join("a"), 100..105);
        until("the new file in a", || count(&s.store, "a", "loss") == 15);
        ingester.stop();
    }

    #[test]
    fn a_file_that_shrinks_is_said_once_and_read_on_when_it_grows_back() {
        let s = setup();
        let a = writer(&s.logdir.join("a"), 0..50, 0.0);
        let whole = std::fs::read(&a).unwrap();
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        let stats = ingester.stats();
        until("a", || count(&s.store, "a", "loss") == 50);
        let file = std::fs::OpenOptions::new().write(true).open(&a).unwrap();
        file.set_len(whole.len() as u64 / 2).unwrap();
        until("the shrink noticed", || {
            stats.file_notices.load(Ordering::SeqCst) == 1
        });
        // Many more wake-ups of the short file (touches): nothing more is said.
        for _ in 0..20 {
            file.set_len(whole.len() as u64 / 2).unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(stats.file_notices.load(Ordering::SeqCst), 1);
        assert_eq!(count(&s.store, "a", "loss"), 50, "stored data kept");
        // It grows back (same first bytes) with more records: they are read, nothing doubled.
        drop(file);
        let mut more = whole.clone();
        let extra = writer(&s.dir.path().join("extra"), 50..60, 0.0);
        let extra_bytes = std::fs::read(extra).unwrap();
        let spans = crate::ingest::tests::changing_logdir::records(&extra_bytes);
        for (at, len) in spans.into_iter().skip(1) {
            more.extend_from_slice(&extra_bytes[at..at + len]); // its records, not its header
        }
        std::fs::write(&a, &more).unwrap();
        until("a read on", || count(&s.store, "a", "loss") == 60);
        ingester.stop();
    }

    /// (offset, length) of each record of an event file.
    fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 12 <= bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize + 16;
            out.push((at, len));
            at += len;
        }
        out
    }

    #[test]
    fn a_file_replaced_by_a_folder_is_said_once_and_discovery_goes_on() {
        let s = setup();
        let a = writer(&s.logdir.join("a"), 0..10, 0.0);
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        let stats = ingester.stats();
        until("a", || count(&s.store, "a", "loss") == 10);
        std::fs::remove_file(&a).unwrap();
        std::fs::create_dir(&a).unwrap();
        // The folder itself holds a run, and a new run appears elsewhere.
        writer(&a, 0..4, 0.0);
        writer(&s.logdir.join("later"), 0..6, 0.0);
        let folder_run = a
            .strip_prefix(&s.logdir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        until("the run inside the folder and the new run", || {
            count(&s.store, &folder_run, "loss") == 4 && count(&s.store, "later", "loss") == 6
        });
        let settled = get(&stats);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(get(&stats), settled, "nothing spins");
        assert_eq!(stats.file_notices.load(Ordering::SeqCst), 1);
        assert_eq!(count(&s.store, "a", "loss"), 10);
        ingester.stop();
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_inside_the_logdir_only() {
        let s = setup();
        let outside = writer(&s.dir.path().join("outside"), 0..7, 0.0);
        let inside = writer(&s.logdir.join("real"), 0..3, 0.0);
        std::fs::create_dir_all(s.logdir.join("out")).unwrap();
        std::os::unix::fs::symlink(&outside, s.logdir.join("out/events.out.tfevents.9.x")).unwrap();
        std::fs::create_dir_all(s.logdir.join("in")).unwrap();
        std::os::unix::fs::symlink(&inside, s.logdir.join("in/events.out.tfevents.9.x")).unwrap();
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        let stats = ingester.stats();
        until("the file and the inside link to it read", || {
            count(&s.store, "in", "loss") == 3 && count(&s.store, "real", "loss") == 3
        });
        assert_eq!(
            count(&s.store, "out", "loss"),
            0,
            "a link out of the logdir is not followed"
        );
        assert_eq!(
            stats.file_notices.load(Ordering::SeqCst),
            1,
            "and said once"
        );
        // A tailed file swapped for a link to outside: not followed either.
        let real = s.logdir.join("real");
        std::fs::remove_file(&inside).unwrap();
        std::os::unix::fs::symlink(&outside, &inside).unwrap();
        until("the swap noticed", || {
            stats.file_notices.load(Ordering::SeqCst) >= 2
        });
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            count(&s.store, "real", "loss"),
            3,
            "nothing read through the link"
        );
        drop(real);
        ingester.stop();
        // With --follow-symlinks they are read.
        let store = Store::open(&s.dir.path().join("db2.sqlite")).unwrap();
        let opts = IngestOptions {
            follow_symlinks: true,
            ..options()
        };
        let ingester = Ingester::start(&s.logdir, store.clone(), opts).unwrap();
        until("the outside link read", || {
            count(&store, "out", "loss") == 7
        });
        ingester.stop();
    }

    #[test]
    fn a_file_rewritten_in_place_is_read_from_its_start() {
        let s = setup();
        let a = writer(&s.logdir.join("a"), 0..10, 0.0);
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        let stats = ingester.stats();
        until("a", || count(&s.store, "a", "loss") == 10);
        // Another, longer file (written later: other first bytes) copied over it in place.
        std::thread::sleep(Duration::from_millis(20));
        let b = writer(&s.dir.path().join("b"), 0..30, 1000.0);
        let bytes = std::fs::read(&b).unwrap();
        assert!(bytes.len() > std::fs::metadata(&a).unwrap().len() as usize);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&a)
            .unwrap()
            .write_all_at_start(&bytes);
        until("the new content read from its start", || {
            values(&s.store, "a", "loss").first() == Some(&(0, 1000.0))
                && count(&s.store, "a", "loss") == 30
        });
        assert_eq!(stats.file_notices.load(Ordering::SeqCst), 1);
        ingester.stop();
        // A restart on the same store keeps going from the new file's offset: nothing doubled.
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        ingester.stop();
        s.store.flush().unwrap();
        assert_eq!(count(&s.store, "a", "loss"), 30);
    }

    trait WriteAtStart {
        fn write_all_at_start(&mut self, bytes: &[u8]);
    }

    impl WriteAtStart for File {
        fn write_all_at_start(&mut self, bytes: &[u8]) {
            use std::io::{Seek, SeekFrom, Write};
            self.seek(SeekFrom::Start(0)).unwrap();
            self.write_all(bytes).unwrap();
        }
    }

    #[test]
    fn a_file_replaced_while_the_server_was_down_is_read_from_its_start() {
        let s = setup();
        let a = writer(&s.logdir.join("a"), 0..10, 0.0);
        ingest_once(&s.logdir, &s.store, options()).unwrap();
        assert_eq!(count(&s.store, "a", "loss"), 10);
        std::thread::sleep(Duration::from_millis(20));
        let b = writer(&s.dir.path().join("b"), 0..40, 500.0);
        std::fs::rename(&b, &a).unwrap();
        ingest_once(&s.logdir, &s.store, options()).unwrap();
        assert_eq!(count(&s.store, "a", "loss"), 40);
        assert_eq!(values(&s.store, "a", "loss")[0], (0, 500.0));
        // A copy of the same file (another inode, same bytes) is not read again.
        let copy = s.dir.path().join("copy");
        std::fs::copy(&a, &copy).unwrap();
        std::fs::rename(&copy, &a).unwrap();
        let files = s.store.read(query::files).unwrap();
        ingest_once(&s.logdir, &s.store, options()).unwrap();
        assert_eq!(
            s.store.read(query::files).unwrap(),
            files,
            "nothing read again"
        );
        assert_eq!(count(&s.store, "a", "loss"), 40);
    }

    #[test]
    fn a_folder_that_cannot_be_watched_is_polled_while_the_rest_stays_live() {
        let s = setup();
        std::fs::create_dir_all(s.logdir.join("slow")).unwrap();
        writer(&s.logdir.join("fast"), 0..2, 0.0);
        let opts = IngestOptions {
            refuse_watch: Some(s.logdir.join("slow")),
            ..options()
        };
        let ingester = Ingester::start(&s.logdir, s.store.clone(), opts).unwrap();
        let stats = ingester.stats();
        until("fast", || count(&s.store, "fast", "loss") == 2);
        until("the unwatched folder polled", || {
            stats.polled_dirs.load(Ordering::SeqCst) == 1
        });
        // A run in the polled folder is found by polling; the watched one by its events.
        writer(&s.logdir.join("slow"), 0..5, 0.0);
        until("slow found by a poll", || {
            count(&s.store, "slow", "loss") == 5
        });
        append(&s.logdir.join("fast"), 2..9);
        until("fast live", || count(&s.store, "fast", "loss") == 9);
        assert!(stats.polls.load(Ordering::SeqCst) > 0);
        assert_eq!(
            stats.file_notices.load(Ordering::SeqCst),
            1,
            "the unwatched folder, said once"
        );
        ingester.stop();
    }

    #[test]
    fn a_folder_that_makes_no_valid_run_name_is_said_once_and_skipped() {
        let s = setup();
        writer(&s.logdir.join("bad\nname"), 0..3, 0.0);
        writer(&s.logdir.join("good"), 0..3, 0.0);
        let ingester = Ingester::start(&s.logdir, s.store.clone(), options()).unwrap();
        let stats = ingester.stats();
        until("good", || count(&s.store, "good", "loss") == 3);
        until("the bad name said", || {
            stats.file_notices.load(Ordering::SeqCst) == 1
        });
        let runs = s.store.read(query::runs).unwrap();
        assert_eq!(runs.len(), 1, "{runs:?}");
        ingester.stop();
    }

    #[test]
    fn a_missing_logdir_is_picked_up_when_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let logdir = dir.path().join("later");
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let ingester = Ingester::start(&logdir, store.clone(), options()).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        writer(&logdir.join("r"), 0..3, 0.0);
        until("the run", || count(&store, "r", "loss") == 3);
        writer(&logdir.join("s"), 0..2, 0.0);
        until("a second run, from events", || {
            count(&store, "s", "loss") == 2
        });
        ingester.stop();
    }
}

/// What runboard does not read yet is named, once per run and kind.
mod skipped_kinds {
    use super::*;
    use crate::ingest::*;
    use runboard_proto::tensorboard::{Event, event::What};
    use runboard_sdk::event_file::EventFileWriter;
    use runboard_sdk::summary;
    use std::sync::Mutex;

    /// Runs `f` with this thread's log lines captured; returns them.
    fn captured(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn graphs_are_kept_with_the_rest_and_not_called_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let logdir = dir.path().join("logs");
        for run in ["a", "b"] {
            let mut w = EventFileWriter::create(&logdir.join(run), "").unwrap();
            for step in 0..3 {
                w.write_event(&Event {
                    wall_time: 1.0,
                    step,
                    what: Some(What::GraphDef(vec![1, 2, 3])),
                    ..Event::default()
                })
                .unwrap();
                w.write_summary(1.0, step, vec![summary::scalar("loss", 0.5)])
                    .unwrap();
            }
            w.flush().unwrap();
        }
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let log = captured(|| {
            ingest_once(&logdir, &store, IngestOptions::default()).unwrap();
        });
        assert!(!log.contains("model graph"), "{log}");
        let series = store.read(|c| query::series(c, None)).unwrap();
        let graphs: Vec<_> = series
            .iter()
            .filter(|s| s.tag == runboard_sdk::event::RUN_GRAPH_TAG)
            .collect();
        assert_eq!(series.len(), 4, "{series:?}");
        assert_eq!(graphs.len(), 2, "{series:?}");
        assert!(
            graphs.iter().all(|s| s.kind == crate::types::Kind::Tensor
                && s.plugin == runboard_sdk::event::plugin::GRAPHS
                && s.count == 3),
            "{graphs:?}"
        );
    }
}
