//! Event files on disk: naming, a synchronous event-file writer, and a whole-file reader.
//!
//! [`EventFileWriter`] is the plain, blocking writer: [`crate::SummaryWriter`] drives one from
//! its background thread, and `runboard export` uses one directly. [`read_events`] reads a
//! finished file into memory (tools and tests); the server tails growing files with
//! [`crate::record::RecordReader`] and [`crate::event::EventDecoder`] instead.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use runboard_proto::tensorboard::{Event, Summary, event::What};

use crate::event::{DecodeStats, DecodedEvent, EventDecoder};
use crate::record::{self, Next, ReadStats, RecordReader};

/// The `file_version` of the first record of every file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// True for a file name TensorBoard reads as an event file (it contains `tfevents`).
pub fn is_event_file_name(name: &str) -> bool {
    name.contains("tfevents")
}

/// The files under `root` (at any depth) whose path passes `keep`, sorted by path (so a run's
/// files come in name order). Unreadable or vanishing folders are skipped, not fatal: a logdir
/// changes while it is read.
pub fn files_under(root: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(ty) = entry.file_type() else { continue };
            let path = entry.path();
            if ty.is_dir() {
                dirs.push(path);
            } else if ty.is_file() && keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The event files under a logdir, at any depth, in path order.
pub fn find_event_files(logdir: &Path) -> Vec<PathBuf> {
    files_under(logdir, |p| {
        p.file_name()
            .is_some_and(|n| is_event_file_name(&n.to_string_lossy()))
    })
}

/// The run an event file belongs to: its folder relative to the logdir (`.` at the root).
pub fn run_name(logdir: &Path, file: &Path) -> String {
    file.parent()
        .and_then(|d| d.strip_prefix(logdir).ok())
        .map(|r| r.to_string_lossy().into_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| ".".into())
}

/// Seconds since the Unix epoch, as event wall times are written.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `events.out.tfevents.<10-digit secs>.<hostname>.<pid>.<n><suffix>`, as torch names files.
fn event_file_name(secs: u64, n: u64, suffix: &str) -> String {
    let host = gethostname::gethostname();
    let host = host.to_string_lossy();
    let host: String = host
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    format!(
        "events.out.tfevents.{secs:010}.{host}.{pid}.{n}{suffix}",
        pid = std::process::id()
    )
}

/// Writes events to one new tfevents file, synchronously.
#[derive(Debug)]
pub struct EventFileWriter {
    path: PathBuf,
    out: BufWriter<File>,
    payload: Vec<u8>,
}

impl EventFileWriter {
    /// Creates `dir` (and parents) and a new, uniquely named event file in it, and writes the
    /// `file_version` record.
    pub fn create(dir: &Path, suffix: &str) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let file = loop {
            let n = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(event_file_name(secs, n, suffix));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => break (f, path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        };
        let mut w = Self {
            path: file.1,
            out: BufWriter::with_capacity(256 * 1024, file.0),
            payload: Vec::new(),
        };
        w.write_event(&Event {
            wall_time: now_secs(),
            step: 0,
            what: Some(What::FileVersion(FILE_VERSION.to_owned())),
            source_metadata: None,
        })?;
        w.flush()?;
        Ok(w)
    }

    /// Creates exactly `path` (which must not exist yet; its folder is created) and writes the
    /// `file_version` record with `wall_time`: for tools that name files themselves, such as
    /// `runboard export` (`events.out.tfevents.<secs>.runboard`, timed as the run started).
    pub fn create_new(path: &Path, wall_time: f64) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let mut w = Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 * 1024, file),
            payload: Vec::new(),
        };
        w.write_event(&Event {
            wall_time,
            step: 0,
            what: Some(What::FileVersion(FILE_VERSION.to_owned())),
            source_metadata: None,
        })?;
        Ok(w)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one event record (buffered).
    pub fn write_event(&mut self, event: &Event) -> io::Result<()> {
        self.payload.clear();
        event
            .encode(&mut self.payload)
            .map_err(|e| io::Error::other(e.to_string()))?;
        record::write_record(&mut self.out, &self.payload)
    }

    /// Writes a summary event with the given values.
    pub fn write_summary(
        &mut self,
        wall_time: f64,
        step: i64,
        values: Vec<runboard_proto::tensorboard::summary::Value>,
    ) -> io::Result<()> {
        self.write_event(&Event {
            wall_time,
            step,
            what: Some(What::Summary(Summary { value: values })),
            source_metadata: None,
        })
    }

    /// Hands buffered records to the operating system (visible to readers; not an fsync).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and asks the OS to put the data on disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }

    /// Sets the file's modification time to now without writing to it: the writer's sign of
    /// life for readers of a logdir while a run logs nothing.
    pub fn touch(&mut self) -> io::Result<()> {
        self.out.get_ref().set_modified(SystemTime::now())
    }
}

/// What [`read_events`] found besides the events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileReadReport {
    /// Framing counts: intact records, damaged regions and bytes skipped.
    pub records: ReadStats,
    /// Decoding counts: bad events and values skipped.
    pub decode: DecodeStats,
    /// Bytes at the end of the file that do not (yet) form a whole record.
    pub unfinished_tail_bytes: u64,
}

/// Reads a whole event file: every decodable event, in order, plus what was skipped.
/// Damaged records and undecodable events are skipped and counted, never fatal.
pub fn read_events(path: &Path) -> io::Result<(Vec<DecodedEvent>, FileReadReport)> {
    let mut file = File::open(path)?;
    read_events_from(&mut file)
}

/// [`read_events`] over any reader.
pub fn read_events_from(src: &mut impl Read) -> io::Result<(Vec<DecodedEvent>, FileReadReport)> {
    let mut reader = RecordReader::new();
    let mut decoder = EventDecoder::new();
    let mut events = Vec::new();
    loop {
        while let Next::Record { data, .. } = reader.next_record() {
            if let Ok(ev) = decoder.decode(data) {
                events.push(ev);
            }
        }
        if reader.fill_from(src)? == 0 {
            break;
        }
    }
    let report = FileReadReport {
        records: reader.stats(),
        decode: decoder.stats(),
        unfinished_tail_bytes: reader.pending_bytes() as u64,
    };
    Ok((events, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Marker, Value};
    use crate::summary;

    #[test]
    fn file_is_named_like_torch_and_starts_with_the_version_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventFileWriter::create(&dir.path().join("a/b"), "").unwrap();
        w.write_summary(1.0, 3, vec![summary::scalar("loss", 0.5)])
            .unwrap();
        w.flush().unwrap();
        let name = w.path().file_name().unwrap().to_string_lossy().into_owned();
        let parts: Vec<&str> = name.split('.').collect();
        assert_eq!(&parts[..3], &["events", "out", "tfevents"]);
        assert_eq!(parts[3].len(), 10, "10-digit seconds in {name}");
        assert!(parts[3].bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(parts[parts.len() - 2], std::process::id().to_string());
        let (events, report) = read_events(w.path()).unwrap();
        assert_eq!(
            events[0].marker,
            Some(Marker::FileVersion(FILE_VERSION.into()))
        );
        assert_eq!(events[1].values[0].value, Value::Scalar(0.5));
        assert_eq!(report.records.records, 2);
        assert_eq!(report.unfinished_tail_bytes, 0);
    }

    #[test]
    fn create_new_names_the_file_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r/events.out.tfevents.1700000000.runboard");
        let mut w = EventFileWriter::create_new(&path, 1.7e9).unwrap();
        w.write_summary(1.7e9 + 1.0, 1, vec![summary::scalar("x", 2.0)])
            .unwrap();
        w.flush().unwrap();
        let (events, _) = read_events(&path).unwrap();
        assert_eq!(events[0].wall_time, 1.7e9);
        assert_eq!(events[1].values[0].value, Value::Scalar(2.0));
        let again = EventFileWriter::create_new(&path, 0.0).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
    }

    #[test]
    fn two_writers_in_one_second_get_two_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = EventFileWriter::create(dir.path(), "").unwrap();
        let b = EventFileWriter::create(dir.path(), "").unwrap();
        assert_ne!(a.path(), b.path());
    }

    #[test]
    fn event_files_are_found_at_any_depth_with_their_run_names() {
        let dir = tempfile::tempdir().unwrap();
        let a = EventFileWriter::create(&dir.path().join("a/b"), "").unwrap();
        let root = EventFileWriter::create(dir.path(), "").unwrap();
        fs::write(dir.path().join("a/notes.txt"), b"x").unwrap();
        let found = find_event_files(dir.path());
        assert_eq!(found.len(), 2);
        assert!(
            found.contains(&a.path().to_path_buf()) && found.contains(&root.path().to_path_buf())
        );
        assert_eq!(run_name(dir.path(), a.path()), "a/b");
        assert_eq!(run_name(dir.path(), root.path()), ".");
    }

    #[test]
    fn empty_file_reads_as_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.out.tfevents.empty");
        fs::write(&p, b"").unwrap();
        let (events, report) = read_events(&p).unwrap();
        assert!(events.is_empty());
        assert_eq!(report, FileReadReport::default());
    }
}
