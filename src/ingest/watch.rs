//! File-system watching for the ingester: one inotify watch per folder, and events sorted into what each means for the tailer.
//!
//! The watcher (through `notify`) reports every event of a watched folder, our own reads
//! included: inotify sees the ingester open files and list folders. Waking on every event made
//! an idle server walk its logdir thousands of times a second. So events are classified here,
//! on the watcher's thread: opens, closes and reads are dropped; data changes of an event file
//! wake the reader of that file only; entries that appear, vanish or are renamed ask for a look
//! at that one path (a walk when it is a folder). Nothing else wakes the tailer.
//!
//! Each folder gets its own non-recursive watch, so a folder that cannot be watched (no
//! permission, the watch limit reached) is polled on its own while the rest stays live.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use notify::event::{CreateKind, EventKind, ModifyKind, RemoveKind};
use runboard_sdk::event_file::is_event_file_name;
use rustc_hash::FxHashSet;

/// What the tailer is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Wake {
    /// An event file's data or existence changed: read (or forget) that file.
    File(PathBuf),
    /// An entry appeared, vanished or was renamed: look at that path (walk it if it is a
    /// folder, forget what was under it if it is gone).
    Path(PathBuf),
    /// Events were lost (the kernel's queue overflowed) or the watcher failed: walk everything.
    Rescan,
    /// Stop the tailer.
    Stop,
}

fn is_event_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| is_event_file_name(&n.to_string_lossy()))
}

/// What one file-system event asks of the tailer (often nothing).
pub(super) fn classify(event: &notify::Event) -> Vec<Wake> {
    if event.need_rescan() {
        return vec![Wake::Rescan];
    }
    // An event file to read, or a projector config to look at (see `super::projector`; the
    // files a config names are read again when it changes).
    let files = || {
        event
            .paths
            .iter()
            .filter_map(|p| {
                if is_event_file(p) {
                    Some(Wake::File(p.clone()))
                } else if p
                    .file_name()
                    .is_some_and(|n| n == crate::projector::CONFIG_FILE)
                {
                    Some(Wake::Path(p.clone()))
                } else {
                    None
                }
            })
            .collect()
    };
    let entries = || {
        event
            .paths
            .iter()
            .map(|p| {
                if is_event_file(p) {
                    Wake::File(p.clone())
                } else {
                    Wake::Path(p.clone())
                }
            })
            .collect()
    };
    match event.kind {
        // Our own reads and folder listings, and anyone else's: never news.
        EventKind::Access(_) => Vec::new(),
        EventKind::Create(CreateKind::File)
        | EventKind::Remove(RemoveKind::File)
        | EventKind::Modify(
            ModifyKind::Data(_) | ModifyKind::Metadata(_) | ModifyKind::Any | ModifyKind::Other,
        ) => files(),
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => {
            entries()
        }
        EventKind::Any | EventKind::Other => vec![Wake::Rescan],
    }
}

/// The watches of a logdir's folders, and the folders that could not be watched.
pub(super) struct Watches {
    /// `None` when the platform gives no notifications: every folder is polled.
    watcher: Option<notify::RecommendedWatcher>,
    watched: FxHashSet<PathBuf>,
    polled: BTreeSet<PathBuf>,
    /// Folders that refuse a watch (tests simulate a folder that cannot be watched).
    #[cfg(test)]
    pub(super) refuse: Option<PathBuf>,
}

/// Why a folder is not watched.
#[derive(Debug)]
pub(super) enum NotWatched {
    /// Notifications are unavailable on this platform (or failed to start).
    NoNotifications,
    /// The watch was refused (permission, the inotify watch limit, ...).
    Refused(String),
}

impl Watches {
    /// Watches that send what they see to `wake`; `enabled: false` (one-shot reads) watches
    /// nothing and polls nothing.
    pub(super) fn new(wake: mpsc::Sender<Wake>, enabled: bool) -> Watches {
        let watcher = if enabled {
            let handler = move |res: notify::Result<notify::Event>| match res {
                Ok(event) => {
                    for w in classify(&event) {
                        let _ = wake.send(w);
                    }
                }
                Err(e) => {
                    tracing::debug!("file-system notification error: {e}; rescanning");
                    let _ = wake.send(Wake::Rescan);
                }
            };
            match notify::recommended_watcher(handler) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(
                        "no file-system notifications ({e}); the logdir is polled instead"
                    );
                    None
                }
            }
        } else {
            None
        };
        Watches {
            watcher,
            watched: FxHashSet::default(),
            polled: BTreeSet::new(),
            #[cfg(test)]
            refuse: None,
        }
    }

    /// Watches `dir` (not its sub-folders) unless it already is; on failure it joins the
    /// polled folders and the reason is returned (once: a polled folder is not retried here).
    pub(super) fn add(&mut self, dir: &Path) -> Result<(), NotWatched> {
        if self.watched.contains(dir) {
            return Ok(());
        }
        let result = self.try_watch(dir);
        match &result {
            Ok(()) => {
                self.polled.remove(dir);
                self.watched.insert(dir.to_path_buf());
            }
            Err(_) => {
                self.polled.insert(dir.to_path_buf());
            }
        }
        result
    }

    fn try_watch(&mut self, dir: &Path) -> Result<(), NotWatched> {
        use notify::Watcher;
        #[cfg(test)]
        if self.refuse.as_deref() == Some(dir) {
            return Err(NotWatched::Refused("refused by the test".into()));
        }
        let Some(w) = self.watcher.as_mut() else {
            return Err(NotWatched::NoNotifications);
        };
        w.watch(dir, notify::RecursiveMode::NonRecursive)
            .map_err(|e| NotWatched::Refused(e.to_string()))
    }

    /// Drops the watches of `dir` and everything under it (it is gone).
    pub(super) fn forget_under(&mut self, dir: &Path) {
        use notify::Watcher;
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for p in gone {
            self.watched.remove(&p);
            if let Some(w) = self.watcher.as_mut() {
                let _ = w.unwatch(&p); // the kernel dropped it already when the folder went
            }
        }
        self.polled.retain(|p| !p.starts_with(dir));
    }

    /// Folders that are polled because they could not be watched.
    pub(super) fn polled(&self) -> Vec<PathBuf> {
        self.polled.iter().cloned().collect()
    }

    /// True when some folder is polled.
    pub(super) fn any_polled(&self) -> bool {
        !self.polled.is_empty()
    }

    /// True when `dir` is polled.
    pub(super) fn is_polled(&self, dir: &Path) -> bool {
        self.polled.contains(dir)
    }

    /// Tries once more to watch a polled folder; true when it is watched now.
    pub(super) fn retry(&mut self, dir: &Path) -> bool {
        if self.watcher.is_none() {
            return false;
        }
        self.add(dir).is_ok()
    }

    /// How many folders are watched and how many polled.
    pub(super) fn counts(&self) -> (usize, usize) {
        (self.watched.len(), self.polled.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, DataChange, RenameMode};

    fn event(kind: EventKind, paths: &[&str]) -> notify::Event {
        let mut e = notify::Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        e
    }

    const FILE: &str = "/logs/a/events.out.tfevents.1.host";

    #[test]
    fn our_own_opens_and_reads_wake_nothing() {
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Access(AccessKind::Read),
        ] {
            assert_eq!(classify(&event(kind, &[FILE])), vec![], "{kind:?}");
            assert_eq!(classify(&event(kind, &["/logs/a"])), vec![], "{kind:?}");
        }
    }

    #[test]
    fn data_changes_wake_the_reader_of_that_file_only() {
        let e = event(
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            &[FILE],
        );
        assert_eq!(classify(&e), vec![Wake::File(FILE.into())]);
        // Other files in a run folder (the SDK's spool, checkpoints) are not ours to read.
        let e = event(
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            &["/logs/a/model.pt"],
        );
        assert_eq!(classify(&e), vec![]);
        let e = event(EventKind::Create(CreateKind::File), &["/logs/a/notes.txt"]);
        assert_eq!(classify(&e), vec![]);
        // A projector config is looked at (it names the files to read).
        let config = "/logs/a/projector_config.pbtxt";
        let e = event(
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            &[config],
        );
        assert_eq!(classify(&e), vec![Wake::Path(config.into())]);
    }

    #[test]
    fn folders_and_renames_ask_for_a_look_at_that_path() {
        let e = event(EventKind::Create(CreateKind::Folder), &["/logs/b"]);
        assert_eq!(classify(&e), vec![Wake::Path("/logs/b".into())]);
        let e = event(EventKind::Remove(RemoveKind::Folder), &["/logs/b"]);
        assert_eq!(classify(&e), vec![Wake::Path("/logs/b".into())]);
        let e = event(
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            &["/logs/tmp", FILE],
        );
        assert_eq!(
            classify(&e),
            vec![Wake::Path("/logs/tmp".into()), Wake::File(FILE.into())]
        );
    }

    #[test]
    fn lost_events_ask_for_a_rescan() {
        let e = event(EventKind::Other, &[]).set_flag(notify::event::Flag::Rescan);
        assert_eq!(classify(&e), vec![Wake::Rescan]);
    }
}
