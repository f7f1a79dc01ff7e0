//! The progress shown on stderr while exporting: a spinner while a logdir is read, then a bar fed in batches.

use indicatif::{ProgressBar, ProgressStyle};

/// The spinner shown while a logdir is read.
pub(super) fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// The bar shown while points, values or charts are written.
pub(super) fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg} [{bar:30}] {human_pos}/{human_len} {percent}% ({elapsed}, {eta} left)",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Progress counted locally and reported every few thousand items (a report reads the clock).
pub(super) struct Ticker<'a> {
    progress: &'a ProgressBar,
    pending: u64,
}

impl<'a> Ticker<'a> {
    /// A ticker reporting to `progress`.
    pub(super) fn new(progress: &'a ProgressBar) -> Ticker<'a> {
        Ticker {
            progress,
            pending: 0,
        }
    }

    /// Counts `n` more items done.
    pub(super) fn add(&mut self, n: u64) {
        self.pending += n;
        if self.pending >= 4096 {
            self.progress.inc(self.pending);
            self.pending = 0;
        }
    }
}

impl Drop for Ticker<'_> {
    fn drop(&mut self) {
        self.progress.inc(self.pending);
    }
}
