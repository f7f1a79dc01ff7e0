//! The `runboard-ingest` thread's work: sleep until an event, walk what changed, read what grew, and rewind when a commit failed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use runboard_sdk::event::{EventDecoder, Marker};
use runboard_sdk::event_file::{is_event_file_name, run_name};
use runboard_sdk::record::Next;
use rustc_hash::FxHashMap;

use super::notices::{Notices, Problem};
use super::tail::{self, TailedFile, Verdict};
use super::watch::{self, Wake, Watches};
use super::{IngestOptions, IngestReport, IngestStats};
use crate::store::{Batch, Item, Store, StoreError, query};
use crate::types::RunName;

/// A pause after a failed commit.
struct Pause {
    /// Not before this instant.
    until: Instant,
    /// The current backoff (doubles while commits keep failing).
    backoff: Duration,
}

/// The first pause after a failed commit; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between attempts while the store cannot commit.
const MAX_PAUSE: Duration = Duration::from_secs(10);
/// Rescans (after lost events) happen at most this often.
const MIN_RESCAN_GAP: Duration = Duration::from_secs(1);

pub(super) struct Tailer {
    logdir: PathBuf,
    /// The logdir with symlinks resolved (where followed symlinks must lead), once it exists.
    logdir_real: Option<PathBuf>,
    store: Store,
    options: IngestOptions,
    files: BTreeMap<PathBuf, TailedFile>,
    decoders: FxHashMap<String, EventDecoder>,
    stats: Arc<IngestStats>,
    notices: Notices,
    watches: Watches,
    /// Whether folders are watched and polled (false for one-shot reads).
    live: bool,
    /// Files to look at.
    dirty: BTreeSet<PathBuf>,
    /// Paths to walk (folders) or look at (anything that appeared or vanished).
    to_walk: BTreeSet<PathBuf>,
    /// The whole logdir must be walked.
    rescan: bool,
    last_rescan: Option<Instant>,
    next_poll: Option<Instant>,
    /// [`Store::failures`] as last seen.
    failures_seen: u64,
    pause: Option<Pause>,
    /// Batches submitted so far.
    batches: u64,
    /// (run, kind) pairs of skipped data already named in the log.
    skipped_said: rustc_hash::FxHashSet<(String, &'static str)>,
    /// The embedding projector's configs and the files they name.
    projector: super::projector::Follower,
}

impl Tailer {
    pub(super) fn new(
        logdir: &Path,
        store: Store,
        options: IngestOptions,
        wake: mpsc::Sender<Wake>,
        live: bool,
        stats: Arc<IngestStats>,
    ) -> Tailer {
        let failures_seen = store.failures();
        #[cfg_attr(not(test), allow(unused_mut))]
        let mut watches = Watches::new(wake, live);
        #[cfg(test)]
        {
            watches.refuse = options.refuse_watch.clone();
        }
        Tailer {
            logdir: logdir.to_path_buf(),
            logdir_real: logdir.canonicalize().ok(),
            store,
            options,
            files: BTreeMap::new(),
            decoders: FxHashMap::default(),
            stats,
            notices: Notices::default(),
            watches,
            live,
            dirty: BTreeSet::new(),
            to_walk: BTreeSet::new(),
            rescan: true,
            last_rescan: None,
            next_poll: None,
            failures_seen,
            pause: None,
            batches: 0,
            skipped_said: Default::default(),
            projector: Default::default(),
        }
    }

    /// The loop: do what was asked, then sleep until the next event (or the next poll or retry,
    /// when there are any). Store errors are logged and end nothing but this round.
    pub(super) fn run(&mut self, woken: &mpsc::Receiver<Wake>) {
        let started = Instant::now();
        let mut summary_logged = false;
        loop {
            let now = Instant::now();
            if self.pause.as_ref().is_none_or(|p| now >= p.until) {
                let before = self.batches;
                match self.work(now) {
                    Err(StoreError::WriterGone) => break,
                    Err(e) => tracing::error!("ingest: {e}"),
                    Ok(()) => {}
                }
                if self.batches != before
                    || self.pause.is_some()
                    || self.store.failures() != self.failures_seen
                {
                    self.check_store();
                }
            }
            if !summary_logged && self.logdir_real.is_some() && self.pause.is_none() {
                summary_logged = true;
                self.log_summary(started.elapsed());
            }
            self.publish_gauges();
            let first = match self.next_deadline() {
                None => match woken.recv() {
                    Ok(w) => Some(w),
                    Err(_) => break,
                },
                Some(at) => {
                    match woken.recv_timeout(at.saturating_duration_since(Instant::now())) {
                        Ok(w) => Some(w),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            self.stats.wakeups.fetch_add(1, Ordering::Relaxed);
            // A burst of events is handled in one round.
            let mut stop = false;
            for w in first.into_iter().chain(woken.try_iter()) {
                match w {
                    Wake::File(p) => {
                        self.dirty.insert(p);
                    }
                    Wake::Path(p) => {
                        self.to_walk.insert(p);
                    }
                    Wake::Rescan => self.rescan = true,
                    Wake::Stop => stop = true,
                }
            }
            if stop {
                break;
            }
        }
    }

    /// When the loop must wake without an event: the next poll of unwatched folders, the next
    /// retry of a failing file, the end of a pause, a delayed rescan. `None`: only events.
    fn next_deadline(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        if let Some(p) = &self.pause {
            at(p.until);
        }
        let must_poll = self.logdir_real.is_none() || self.watches.any_polled();
        if must_poll {
            let poll = *self
                .next_poll
                .get_or_insert(now + self.options.poll_interval);
            at(poll);
        } else {
            self.next_poll = None;
        }
        if self.rescan
            && let Some(last) = self.last_rescan
        {
            at(last + MIN_RESCAN_GAP);
        }
        for f in self.files.values() {
            if let Some((t, _)) = f.retry {
                at(t);
            }
            if let Some(t) = f.recheck_at {
                at(t);
            }
        }
        next
    }

    /// One round: polls and retries that are due, walks asked for, then every dirty file.
    fn work(&mut self, now: Instant) -> Result<(), StoreError> {
        if self.logdir_real.is_none() {
            if !self.logdir.is_dir() {
                return Ok(()); // not there yet: polled for
            }
            self.logdir_real = self.logdir.canonicalize().ok();
            self.rescan = true;
        }
        if self.next_poll.is_some_and(|t| now >= t) {
            self.next_poll = None;
            self.poll_unwatched();
        }
        for (path, f) in &self.files {
            if f.retry.is_some_and(|(t, _)| now >= t) || f.recheck_at.is_some_and(|t| now >= t) {
                self.dirty.insert(path.clone());
            }
        }
        if self.rescan && self.last_rescan.is_none_or(|t| now >= t + MIN_RESCAN_GAP) {
            self.rescan = false;
            self.last_rescan = Some(now);
            let logdir = self.logdir.clone();
            self.walk(&logdir);
        }
        for path in std::mem::take(&mut self.to_walk) {
            self.walk(&path);
        }
        self.read_dirty()?;
        self.read_projector()
    }

    /// Reads the projector configs that changed (after the event files: a run's events first).
    pub(super) fn read_projector(&mut self) -> Result<(), StoreError> {
        self.projector.read_dirty(&self.logdir, &self.store)
    }

    /// Reads every dirty file (what the walks and events marked).
    pub(super) fn read_dirty(&mut self) -> Result<(), StoreError> {
        let now = Instant::now();
        while let Some(path) = self.dirty.pop_first() {
            if self.files.get(&path).is_some_and(|f| f.backing_off(now)) {
                continue; // its retry timer brings it back
            }
            self.read_file(&path)?;
        }
        Ok(())
    }

    /// Looks at `path` after a change: walks it when it is a folder (watching every folder
    /// found, tracking every event file), forgets what was under it when it is gone.
    pub(super) fn walk(&mut self, path: &Path) {
        self.stats.scans.fetch_add(1, Ordering::Relaxed);
        if std::fs::symlink_metadata(path).is_err() {
            self.forget_under(path);
            self.projector.gone_under(path);
            self.projector.changed(path);
            return;
        }
        if !path.is_dir() {
            self.projector.changed(path);
            let is_event = path
                .file_name()
                .is_some_and(|n| is_event_file_name(&n.to_string_lossy()));
            if is_event || self.files.contains_key(path) {
                self.dirty.insert(path.to_path_buf());
            }
            return;
        }
        let spool = std::ffi::OsStr::new(runboard_sdk::remote::SPOOL_DIR);
        let mut refused: Vec<PathBuf> = Vec::new();
        let mut found: BTreeSet<PathBuf> = BTreeSet::new();
        let follow_all = self.options.follow_symlinks;
        let real = self.logdir_real.clone();
        let walker = walkdir::WalkDir::new(path)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| {
                if e.file_name() == spool {
                    return false; // the SDK's outbox: no event files, busy while streaming
                }
                if e.path_is_symlink() && !follow_all {
                    let inside = match (e.path().canonicalize(), &real) {
                        (Ok(target), Some(real)) => target.starts_with(real),
                        _ => false,
                    };
                    if !inside {
                        refused.push(e.path().to_path_buf());
                        return false;
                    }
                }
                true
            });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_dir() => {
                    if self.live
                        && let Err(why) = self.watches.add(e.path())
                    {
                        let what = match why {
                            watch::NotWatched::NoNotifications => "no notifications".to_owned(),
                            watch::NotWatched::Refused(e) => e,
                        };
                        self.say(e.path(), Problem::NotWatched, || {
                            format!(
                                "cannot watch {} ({what}); polling it instead",
                                e.path().display()
                            )
                        });
                    }
                }
                Ok(e) => {
                    if e.file_type().is_file()
                        && is_event_file_name(&e.file_name().to_string_lossy())
                    {
                        found.insert(e.path().to_path_buf());
                    } else if e.file_name() == crate::projector::CONFIG_FILE {
                        self.projector.changed(e.path());
                    }
                }
                Err(err) => {
                    let at = err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| path.to_path_buf());
                    let message = err.to_string();
                    self.say(&at, Problem::Unreadable, || {
                        format!("cannot read {}: {message}", at.display())
                    });
                }
            }
        }
        for link in refused {
            let target = std::fs::read_link(&link)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            self.say(&link, Problem::SymlinkOutside, || {
                format!(
                    "not following {} -> {target}: it leads outside the logdir (--follow-symlinks follows it)",
                    link.display()
                )
            });
        }
        // Known files under this path that the walk did not find are looked at too (gone?).
        let known: Vec<PathBuf> = self
            .files
            .range(path.to_path_buf()..)
            .take_while(|(p, _)| p.starts_with(path))
            .map(|(p, _)| p.clone())
            .collect();
        self.dirty.extend(known);
        self.dirty.extend(found);
    }

    /// Polls the folders that cannot be watched: retries the watch, lists them, looks at
    /// their files.
    fn poll_unwatched(&mut self) {
        let polled = self.watches.polled();
        if polled.is_empty() {
            return;
        }
        self.stats.polls.fetch_add(1, Ordering::Relaxed);
        for dir in polled {
            if self.watches.retry(&dir) {
                self.notices.clear(&dir);
                self.to_walk.insert(dir);
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir {
                    if !self.watches.is_polled(&path) {
                        self.to_walk.insert(path);
                    }
                } else if is_event_file_name(&entry.file_name().to_string_lossy()) {
                    self.dirty.insert(path);
                }
            }
        }
    }

    /// Forgets the files under `path` (it is gone): one notice for all of them; their stored
    /// data stays.
    fn forget_under(&mut self, path: &Path) {
        self.watches.forget_under(path);
        let gone: Vec<PathBuf> = self
            .files
            .range(path.to_path_buf()..)
            .take_while(|(p, _)| p.starts_with(path))
            .map(|(p, _)| p.clone())
            .collect();
        self.notices.clear_under(path);
        match gone.len() {
            0 => {}
            1 => self.forget(&gone[0], Problem::Removed),
            n => {
                for p in &gone {
                    self.files.remove(p);
                }
                self.say(path, Problem::Removed, || {
                    format!(
                        "{} was removed with {n} event files; what was read from them stays stored",
                        path.display()
                    )
                });
            }
        }
    }

    /// Stops tailing `path`, saying why once. What was read from it stays stored.
    fn forget(&mut self, path: &Path, why: Problem) {
        let Some(f) = self.files.remove(path) else {
            return;
        };
        let records = f.stats().records;
        let shown = path.display();
        let message = match why {
            Problem::Removed => format!(
                "event file {shown} was removed; the {records} records read from it stay stored"
            ),
            Problem::ReplacedByFolder => format!(
                "event file {shown} was replaced by a folder; the {records} records read from it stay stored, and the folder is searched for runs"
            ),
            Problem::NotAFile => format!(
                "{shown} is no longer a regular file; the {records} records read from it stay stored"
            ),
            Problem::SymlinkOutside => {
                let target = std::fs::read_link(path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                format!(
                    "event file {shown} is now a symlink to {target}, outside the logdir: not followed (--follow-symlinks follows it); the {records} records read from it stay stored"
                )
            }
            _ => format!("stopped reading {shown}"),
        };
        self.say(path, why, || message);
    }

    fn say(&mut self, path: &Path, problem: Problem, message: impl FnOnce() -> String) {
        let before = self.notices.lines;
        self.notices.say(path, problem, message);
        self.stats
            .file_notices
            .fetch_add(self.notices.lines - before, Ordering::Relaxed);
    }

    /// Starts tailing `path` from where its committed data ends; false when it is not an
    /// event file to tail.
    fn track(&mut self, path: &Path) -> Result<bool, StoreError> {
        if !path.starts_with(&self.logdir)
            || !path
                .file_name()
                .is_some_and(|n| is_event_file_name(&n.to_string_lossy()))
        {
            return Ok(false);
        }
        let rel = path.strip_prefix(&self.logdir).unwrap_or(path);
        let run = match RunName::new(run_name(&self.logdir, path)) {
            Ok(run) => run,
            Err(e) => {
                self.say(path, Problem::BadRunName, || {
                    format!("not reading {}: its folder gives an {e}", path.display())
                });
                return Ok(false);
            }
        };
        let key = rel.to_string_lossy().into_owned();
        let committed = self.store.read(|c| query::file(c, &key))?;
        if !self.decoders.contains_key(run.as_str()) {
            let mut decoder = EventDecoder::new();
            for (tag, plugin, content) in self.store.read(|c| query::plugins(c, &run))? {
                decoder.remember_plugin(&tag, &plugin, &content);
            }
            self.decoders.insert(run.to_string(), decoder);
        }
        tracing::debug!(file = %path.display(), %run, offset = committed.as_ref().map_or(0, |c| c.offset), "new event file");
        self.files
            .insert(path.to_path_buf(), TailedFile::resume(run, key, committed));
        Ok(true)
    }

    /// True when a symlink at `path` may be followed: it leads inside the logdir, or every
    /// symlink is followed.
    fn may_follow(&self, path: &Path) -> bool {
        self.options.follow_symlinks
            || match (path.canonicalize(), &self.logdir_real) {
                (Ok(target), Some(real)) => target.starts_with(real),
                _ => false,
            }
    }

    /// Looks at one file and reads what is new in it; submits it in batches.
    fn read_file(&mut self, path: &Path) -> Result<(), StoreError> {
        if !self.files.contains_key(path) {
            match std::fs::metadata(path) {
                Ok(m) if m.is_dir() => {
                    self.to_walk.insert(path.to_path_buf()); // a folder named like an event file
                    return Ok(());
                }
                Ok(m) if m.is_file() => {}
                _ => return Ok(()), // gone already, or not a file
            }
            if !self.track(path)? {
                return Ok(());
            }
        }
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                if !self.may_follow(path) {
                    self.forget(path, Problem::SymlinkOutside);
                    return Ok(());
                }
                std::fs::metadata(path)
            }
            other => other,
        };
        let meta = match meta {
            Ok(m) => m,
            Err(e) => {
                self.failed(path, &e);
                return Ok(());
            }
        };
        if meta.is_dir() {
            self.forget(path, Problem::ReplacedByFolder);
            self.to_walk.insert(path.to_path_buf());
            return Ok(());
        }
        if !meta.is_file() {
            self.forget(path, Problem::NotAFile);
            return Ok(());
        }
        let Some(state) = self.files.get_mut(path) else {
            return Ok(());
        };
        let replaced = state.note_identity(tail::identity(&meta));
        let len = meta.len();
        let read_pos = state.read_pos();
        if !replaced && len == read_pos && state.shrunk.is_none() {
            state.reader.release_buffer();
            return Ok(()); // the common case: a stat, no open
        }
        if !replaced && len < read_pos && state.shrunk.is_some_and(|(_, said)| said) {
            return Ok(()); // still short: said already
        }
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                self.failed(path, &e);
                return Ok(());
            }
        };
        self.stats.file_reads.fetch_add(1, Ordering::Relaxed);
        let head = match tail::read_head(&mut file, len, read_pos.min(len)) {
            Ok(h) => h,
            Err(e) => {
                self.failed(path, &e);
                return Ok(());
            }
        };
        let Some(state) = self.files.get_mut(path) else {
            return Ok(());
        };
        state.retry = None;
        match tail::judge(state.reader.offset(), read_pos, state.head(), len, &head) {
            Verdict::Quiet => {
                state.reader.release_buffer();
                return Ok(());
            }
            Verdict::Shrank => {
                let committed = state.reader.offset();
                state.reader.release_buffer();
                let now = Instant::now();
                let since = state.shrunk.map_or(now, |(since, _)| since);
                if now < since + tail::SHRINK_GRACE {
                    // Maybe a rewrite in place: look again when the grace ends.
                    state.shrunk = Some((since, false));
                    state.recheck_at = Some(since + tail::SHRINK_GRACE);
                    return Ok(());
                }
                state.shrunk = Some((since, true));
                state.recheck_at = None;
                self.say(path, Problem::Shrank, || {
                    format!(
                        "event file {} shrank from {committed} to {len} bytes; what was read from it stays stored, and it is read on if it grows back",
                        path.display()
                    )
                });
                return Ok(());
            }
            Verdict::StartOver => {
                state.start_over();
                self.say(path, Problem::NewContent, || {
                    format!(
                        "event file {} was replaced or rewritten (other first bytes); reading it from its start",
                        path.display()
                    )
                });
                if std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0)).is_err() {
                    return Ok(());
                }
            }
            Verdict::ReadOn => {}
        }
        let Some(state) = self.files.get_mut(path) else {
            return Ok(());
        };
        state.shrunk = None;
        state.recheck_at = None;
        state.set_head(head);
        self.notices.clear(path);
        let from = state.read_pos();
        let mut src = file.take(len.saturating_sub(from));
        let decoder = self
            .decoders
            .get_mut(state.run.as_str())
            .expect("a decoder is created with the run's first file");
        let records_before = state.reader.stats().records;
        let unsupported_before = decoder.stats().unsupported_values;
        let mut skipped_kinds: Vec<&'static str> = Vec::new();
        let mut items = Vec::new();
        let mut error = None;
        loop {
            let n = match state.reader.fill_from(&mut src) {
                Ok(n) => n,
                Err(e) => {
                    error = Some(e);
                    0
                }
            };
            while let Next::Record { data, .. } = state.reader.next_record() {
                let _ = decoder
                    .decode_with(data, |info, tag, value| {
                        items.push(Item::Value {
                            tag: tag.to_owned(),
                            step: info.step,
                            wall_time: info.wall_time,
                            value,
                        });
                    })
                    .map(|info| match info.marker {
                        Some(Marker::SessionStart) => items.push(Item::SessionStart {
                            step: info.step,
                            wall_time: info.wall_time,
                        }),
                        Some(Marker::Other(what))
                            if what != "log_message" && !skipped_kinds.contains(&what) =>
                        {
                            skipped_kinds.push(what);
                        }
                        _ => {}
                    });
                if items.len() >= self.options.batch_items {
                    submit(&self.store, state, std::mem::take(&mut items))?;
                    self.batches += 1;
                }
            }
            if n == 0 {
                break;
            }
        }
        if !items.is_empty() || state.has_progress() {
            submit(&self.store, state, items)?;
            self.batches += 1;
        }
        state.reader.release_buffer();
        let read = state.reader.stats().records - records_before;
        self.stats.records.fetch_add(read, Ordering::Relaxed);
        let problems = decoder.take_problems();
        let run = state.run.clone();
        let unsupported = decoder.stats().unsupported_values - unsupported_before;
        if unsupported > 0 {
            skipped_kinds.push("values of other kinds (legacy audio, values without data)");
        }
        if !skipped_kinds.is_empty() {
            self.say_skipped(&run, &skipped_kinds);
        }
        for p in problems {
            // Said once per run and tag (a writer that logs bad values logs many).
            if self
                .skipped_said
                .insert((format!("{run}\u{0}{}", p.tag), "bad value"))
            {
                tracing::warn!(
                    file = %path.display(),
                    "run {run:?}, tag {:?}, step {}: a value was skipped: {} (the rest is kept)",
                    p.tag,
                    p.step,
                    p.why
                );
            }
        }
        if let Some(e) = error {
            self.failed(path, &e);
        }
        Ok(())
    }

    /// Says once per run and kind what the run holds that runboard does not read yet (graphs,
    /// run metadata, legacy audio), so that nothing vanishes without a word.
    fn say_skipped(&mut self, run: &str, kinds: &[&'static str]) {
        for kind in kinds {
            self.stats.skipped_kinds.fetch_add(1, Ordering::Relaxed);
            if self.skipped_said.insert((run.to_owned(), kind)) {
                let what = match *kind {
                    "meta_graph_def" => "a meta graph (meta_graph_def)",
                    other => other,
                };
                tracing::info!(
                    "run {run:?} holds {what}: runboard does not read it yet and skips it"
                );
            }
        }
    }

    /// Looking at, opening or reading `path` failed: a file that vanished is forgotten; any
    /// other error is said once and the file retried alone after a backoff.
    fn failed(&mut self, path: &Path, e: &std::io::Error) {
        if e.kind() == std::io::ErrorKind::NotFound {
            self.forget(path, Problem::Removed);
            return;
        }
        if let Some(f) = self.files.get_mut(path) {
            f.back_off(Instant::now());
        }
        let message = e.to_string();
        self.say(path, Problem::Unreadable, || {
            format!(
                "cannot read event file {}: {message}; retrying it with a growing pause",
                path.display()
            )
        });
    }

    /// After a round that submitted batches (or while paused): waits for them to commit; if a
    /// commit failed since the last look, rewinds every file to its committed offset and
    /// pauses before reading again (the pause grows while commits keep failing); when a round
    /// after a pause commits cleanly, says that ingestion resumed.
    fn check_store(&mut self) {
        // Everything submitted commits or is dropped first: the offsets read below are final.
        if let Err(StoreError::WriterGone) = self.store.flush() {
            return; // shutting down
        }
        let failures = self.store.failures();
        if failures == self.failures_seen {
            if self.pause.take().is_some() {
                self.stats.paused.store(0, Ordering::Relaxed);
                tracing::info!("the store commits again: logdir ingestion resumed");
            }
            return;
        }
        self.failures_seen = failures;
        let keys: Vec<(PathBuf, String)> = self
            .files
            .iter()
            .map(|(p, f)| (p.clone(), f.key.clone()))
            .collect();
        for (path, key) in keys {
            let committed = self.store.read(|c| query::file(c, &key)).ok().flatten();
            if let Some(f) = self.files.get_mut(&path) {
                f.rewind(committed);
            }
            self.dirty.insert(path);
        }
        let backoff = self
            .pause
            .as_ref()
            .map_or(FIRST_PAUSE, |p| (p.backoff * 2).min(MAX_PAUSE));
        if self.pause.is_none() {
            let why = self
                .store
                .last_failure()
                .map(|f| f.message)
                .unwrap_or_else(|| "a commit failed".into());
            tracing::warn!(
                "logdir ingestion paused: {why}; nothing committed is lost, and reading resumes by itself once the store commits again"
            );
        }
        self.stats.paused.store(1, Ordering::Relaxed);
        self.pause = Some(Pause {
            until: Instant::now() + backoff,
            backoff,
        });
    }

    fn publish_gauges(&self) {
        let (watched, polled) = self.watches.counts();
        self.stats
            .files
            .store(self.files.len() as u64, Ordering::Relaxed);
        self.stats
            .watched_dirs
            .store(watched as u64, Ordering::Relaxed);
        self.stats
            .polled_dirs
            .store(polled as u64, Ordering::Relaxed);
    }

    pub(super) fn report(&self) -> IngestReport {
        let runs: BTreeSet<&str> = self.files.values().map(|f| f.run.as_str()).collect();
        let mut report = IngestReport {
            runs: runs.len(),
            files: self.files.len(),
            ..IngestReport::default()
        };
        for f in self.files.values() {
            report.records += f.stats().records;
            report.skipped_records += f.stats().skipped_records;
        }
        report
    }

    fn log_summary(&self, elapsed: Duration) {
        let r = self.report();
        let (watched, polled) = self.watches.counts();
        tracing::info!(
            "loaded {} into {}: {} runs, {} files, {} records in {:.2} s, {} damaged records skipped; watching {watched} folders{}",
            self.logdir.display(),
            self.store.path().display(),
            r.runs,
            r.files,
            r.records,
            elapsed.as_secs_f64(),
            r.skipped_records,
            if polled > 0 {
                format!(", polling {polled} that cannot be watched")
            } else {
                String::new()
            }
        );
    }
}

fn submit(store: &Store, state: &mut TailedFile, items: Vec<Item>) -> Result<(), StoreError> {
    store.submit(Batch {
        run: state.run.clone(),
        items,
        progress: Some(state.take_progress()),
        dedup: None,
    })
}
