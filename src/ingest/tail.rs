//! One tailed event file: where its committed data ends, its identity (first bytes, inode), and what a change of the file on disk means.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use runboard_sdk::record::{ReadStats, RecordReader};

use crate::store::FileProgress;
use crate::types::RunName;

/// How many first bytes of a file make its identity. A tfevents file starts with a
/// `file_version` event holding the wall time it was created at, so two files (or a file
/// rewritten in place) differ within these bytes, while a copy of the same file does not.
pub(super) const HEAD_LEN: usize = 256;

/// How long a file may stay shorter than what was read before that is said: a file rewritten
/// in place is truncated first, and only its new content is news.
pub(super) const SHRINK_GRACE: Duration = Duration::from_secs(1);

/// The first backoff after an error reading a file; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between attempts to read a failing file.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A file being tailed.
pub(super) struct TailedFile {
    /// The run: the file's folder relative to the logdir (`.` at the root).
    pub(super) run: RunName,
    /// The path relative to the logdir: the key of its committed offset.
    pub(super) key: String,
    /// Positioned where the data handed to the store ends.
    pub(super) reader: RecordReader,
    /// Counts committed before this reader started (earlier sessions).
    base: ReadStats,
    /// Where the next batch's data starts: the end of the last batch submitted.
    submitted: u64,
    /// The next batch starts the file over (other content under this name).
    reset: bool,
    /// The file's first bytes (up to [`HEAD_LEN`]) as last read.
    head: Vec<u8>,
    /// (device, inode) when last looked at.
    identity: Option<(u64, u64)>,
    /// While it is shorter than what was committed: since when (a rewrite in place passes
    /// through a truncation: it is said only if the file is still short after
    /// [`SHRINK_GRACE`]), and whether it was said.
    pub(super) shrunk: Option<(Instant, bool)>,
    /// Look at the file again at this instant (the end of a shrink's grace).
    pub(super) recheck_at: Option<Instant>,
    /// After an error: not before this instant, and the next backoff.
    pub(super) retry: Option<(Instant, Duration)>,
}

/// What a look at a file found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Nothing new.
    Quiet,
    /// Bytes after what was read: read on.
    ReadOn,
    /// Other content under this name (replaced, or rewritten in place): read it from its start.
    StartOver,
    /// Shorter than what was committed, with the same first bytes: wait for it to grow back.
    Shrank,
}

/// Decides what a file's change means from what was read of it (`committed` bytes handed to
/// the store, `read_pos` bytes taken from the file, its first bytes `known_head`) and what is
/// there now (`len`, first bytes `head`).
pub(super) fn judge(
    committed: u64,
    read_pos: u64,
    known_head: &[u8],
    len: u64,
    head: &[u8],
) -> Verdict {
    let n = known_head.len().min(head.len());
    if known_head[..n] != head[..n] {
        Verdict::StartOver
    } else if len < committed {
        Verdict::Shrank
    } else if len > read_pos {
        Verdict::ReadOn
    } else {
        Verdict::Quiet
    }
}

/// Reads the first bytes of `file` (of length `len`) and leaves it positioned at `pos`.
pub(super) fn read_head(file: &mut File, len: u64, pos: u64) -> std::io::Result<Vec<u8>> {
    let n = len.min(HEAD_LEN as u64) as usize;
    let mut head = vec![0; n];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    file.seek(SeekFrom::Start(pos))?;
    Ok(head)
}

/// The (device, inode) of a file, where the platform has them.
pub(super) fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

impl TailedFile {
    /// A file to tail from where its committed data ends (`None`: nothing committed yet).
    pub(super) fn resume(run: RunName, key: String, committed: Option<FileProgress>) -> TailedFile {
        let committed = committed.unwrap_or_default();
        TailedFile {
            run,
            key,
            reader: RecordReader::with_offset(committed.offset),
            base: ReadStats {
                records: committed.records,
                skipped_records: committed.skipped_records,
                skipped_bytes: committed.skipped_bytes,
            },
            submitted: committed.offset,
            reset: false,
            head: committed.head,
            identity: None,
            shrunk: None,
            recheck_at: None,
            retry: None,
        }
    }

    /// Bytes taken from the file so far (committed, submitted or buffered).
    pub(super) fn read_pos(&self) -> u64 {
        self.reader.offset() + self.reader.pending_bytes() as u64
    }

    /// Records the file's (device, inode); true when it differs from the last look (another
    /// file now has this name).
    pub(super) fn note_identity(&mut self, id: Option<(u64, u64)>) -> bool {
        let changed = matches!((self.identity, id), (Some(a), Some(b)) if a != b);
        self.identity = id;
        changed
    }

    /// The file's first bytes as last read.
    pub(super) fn head(&self) -> &[u8] {
        &self.head
    }

    /// Remembers the first bytes seen now (they only grow, up to [`HEAD_LEN`]).
    pub(super) fn set_head(&mut self, head: Vec<u8>) {
        if head.len() >= self.head.len() {
            self.head = head;
        }
    }

    /// Other content under this name: forget what was read (the store keeps what was
    /// committed) and read it from its first byte; the next batch resets the file's offset.
    pub(super) fn start_over(&mut self) {
        self.reader = RecordReader::new();
        self.base = ReadStats::default();
        self.submitted = 0;
        self.reset = true;
        self.head.clear();
        self.shrunk = None;
        self.recheck_at = None;
    }

    /// Goes back to what the store committed (a commit failed: what was submitted after it is
    /// read again).
    pub(super) fn rewind(&mut self, committed: Option<FileProgress>) {
        let identity = self.identity;
        *self = TailedFile::resume(self.run.clone(), std::mem::take(&mut self.key), committed);
        self.identity = identity;
    }

    /// Counts including earlier sessions'.
    pub(super) fn stats(&self) -> ReadStats {
        let r = self.reader.stats();
        ReadStats {
            records: self.base.records + r.records,
            skipped_records: self.base.skipped_records + r.skipped_records,
            skipped_bytes: self.base.skipped_bytes + r.skipped_bytes,
        }
    }

    /// True when a batch would record something: data, progress, or a reset.
    pub(super) fn has_progress(&self) -> bool {
        self.reset || self.reader.offset() != self.submitted
    }

    /// The progress of the next batch (from the last one's end to the reader's offset); the
    /// batch is then counted as submitted.
    pub(super) fn take_progress(&mut self) -> FileProgress {
        let stats = self.stats();
        let progress = FileProgress {
            path: self.key.clone(),
            offset: self.reader.offset(),
            records: stats.records,
            skipped_records: stats.skipped_records,
            skipped_bytes: stats.skipped_bytes,
            start: self.submitted,
            reset: self.reset,
            head: self.head.clone(),
        };
        self.submitted = self.reader.offset();
        self.reset = false;
        progress
    }

    /// Reading failed: not again before a backoff that doubles with each failure.
    pub(super) fn back_off(&mut self, now: Instant) {
        let wait = self
            .retry
            .map_or(FIRST_BACKOFF, |(_, w)| (w * 2).min(MAX_BACKOFF));
        self.retry = Some((now + wait, wait));
    }

    /// True while a backoff is running.
    pub(super) fn backing_off(&self, now: Instant) -> bool {
        self.retry.is_some_and(|(at, _)| now < at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_a_file() {
        let head = b"first-record-of-file-A".to_vec();
        // Grown: read on. Unchanged: quiet.
        assert_eq!(judge(100, 100, &head, 150, &head), Verdict::ReadOn);
        assert_eq!(judge(100, 100, &head, 100, &head), Verdict::Quiet);
        // A partial record is buffered: only bytes beyond it are new.
        assert_eq!(judge(100, 120, &head, 120, &head), Verdict::Quiet);
        // Shorter than committed, same first bytes: wait.
        assert_eq!(judge(100, 100, &head, 40, &head), Verdict::Shrank);
        assert_eq!(judge(100, 100, &head, 0, b""), Verdict::Shrank);
        // Other first bytes, whatever the length: another file.
        let other = b"other-record-of-file-B".to_vec();
        assert_eq!(judge(100, 100, &head, 500, &other), Verdict::StartOver);
        assert_eq!(judge(100, 100, &head, 10, &other[..10]), Verdict::StartOver);
        // A file first seen short: its head grows with it.
        assert_eq!(judge(10, 10, &head[..10], 150, &head), Verdict::ReadOn);
    }

    #[test]
    fn batches_chain_and_a_reset_is_sent_once() {
        let mut f = TailedFile::resume(
            RunName::new("r").unwrap(),
            "r/f".into(),
            Some(FileProgress {
                offset: 50,
                records: 3,
                ..FileProgress::default()
            }),
        );
        assert!(!f.has_progress());
        f.reader.feed(&[0u8; 0]);
        f.start_over();
        assert!(f.has_progress(), "a reset is progress");
        let p = f.take_progress();
        assert_eq!((p.start, p.offset, p.reset, p.records), (0, 0, true, 0));
        assert!(!f.has_progress());
        let mut again = f.take_progress();
        assert!(!again.reset);
        again.head.clear();
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let mut f = TailedFile::resume(RunName::new("r").unwrap(), "r/f".into(), None);
        let now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..10 {
            f.back_off(now);
            waits.push(f.retry.unwrap().1.as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        assert!(f.backing_off(now));
        assert!(!f.backing_off(now + Duration::from_secs(61)));
    }
}
