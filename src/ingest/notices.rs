//! Warnings about files that change under the ingester: each said once per file and problem, and at most a few lines a second in all.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

/// A problem with one path of the logdir, worth one log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Problem {
    /// The file got shorter than what was already read.
    Shrank,
    /// The file vanished.
    Removed,
    /// A folder now stands where the file was.
    ReplacedByFolder,
    /// Neither a file nor a folder (a socket, a device, a fifo).
    NotAFile,
    /// A symlink that leads outside the logdir (or nowhere).
    SymlinkOutside,
    /// Another file now has the name (other first bytes): read from its start.
    NewContent,
    /// Opening, reading or listing failed.
    Unreadable,
    /// The folder cannot be watched: it is polled.
    NotWatched,
    /// The file's folder does not make a valid run name (control characters, too long).
    BadRunName,
}

/// Lines a window may hold before further notices are counted instead of logged.
const LINES_PER_WINDOW: u32 = 20;
/// The rate limit's window.
const WINDOW: Duration = Duration::from_secs(10);

/// Remembers which (path, problem) pairs were logged, so each is logged once until the path is
/// healthy again, and limits how many lines all of them write.
#[derive(Debug, Default)]
pub(super) struct Notices {
    said: FxHashMap<PathBuf, Vec<Problem>>,
    window_start: Option<Instant>,
    in_window: u32,
    suppressed: u64,
    /// Lines written (for tests).
    pub(super) lines: u64,
}

impl Notices {
    /// Logs `message()` as a warning unless this problem of this path was already logged.
    pub(super) fn say(&mut self, path: &Path, problem: Problem, message: impl FnOnce() -> String) {
        let said = self.said.entry(path.to_path_buf()).or_default();
        if said.contains(&problem) {
            return;
        }
        said.push(problem);
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < WINDOW => {}
            _ => {
                if self.suppressed > 0 {
                    tracing::warn!(
                        "{} more notices about logdir files were not logged (at most {LINES_PER_WINDOW} every {} s)",
                        self.suppressed,
                        WINDOW.as_secs()
                    );
                    self.lines += 1;
                }
                self.window_start = Some(now);
                self.in_window = 0;
                self.suppressed = 0;
            }
        }
        if self.in_window < LINES_PER_WINDOW {
            self.in_window += 1;
            self.lines += 1;
            tracing::warn!("{}", message());
        } else {
            self.suppressed += 1;
        }
    }

    /// The path is healthy again: its problems are logged again if they recur.
    pub(super) fn clear(&mut self, path: &Path) {
        if !self.said.is_empty() {
            self.said.remove(path);
        }
    }

    /// Forgets every path under `dir` (it is gone).
    pub(super) fn clear_under(&mut self, dir: &Path) {
        self.said.retain(|p, _| !p.starts_with(dir));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_logged_once_until_the_path_recovers() {
        let mut n = Notices::default();
        let p = Path::new("/logs/a/events.out.tfevents.1");
        for _ in 0..1000 {
            n.say(p, Problem::Shrank, || "shrank".into());
        }
        assert_eq!(n.lines, 1);
        n.say(p, Problem::Removed, || "removed".into());
        assert_eq!(n.lines, 2, "another problem of the same file is news");
        n.clear(p);
        n.say(p, Problem::Shrank, || "shrank again".into());
        assert_eq!(n.lines, 3);
    }

    #[test]
    fn many_files_at_once_write_a_bounded_number_of_lines() {
        let mut n = Notices::default();
        for i in 0..10_000 {
            n.say(
                &PathBuf::from(format!("/logs/{i}")),
                Problem::Removed,
                || format!("{i} removed"),
            );
        }
        assert_eq!(n.lines, u64::from(LINES_PER_WINDOW));
        assert_eq!(n.suppressed, 10_000 - u64::from(LINES_PER_WINDOW));
    }
}
