//! `runboard inspect`: what a logdir holds, per run and tag, read with the SDK's tolerant reader.

use crate::types::Kind;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use runboard_sdk::event::Value;
use runboard_sdk::event_file::{find_event_files, read_events, run_name};

/// Why a path could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The path does not exist or cannot be read.
    #[error("cannot read {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The path holds no event files.
    #[error("no event files (names containing 'tfevents') under {0}")]
    NoEventFiles(PathBuf),
}

/// Per-tag summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagSummary {
    /// "scalar", "histogram", "text", "image", "hparams" or `tensor:<plugin>`.
    pub kind: String,
    /// Values seen.
    pub count: u64,
    /// Smallest step seen.
    pub first_step: i64,
    /// Largest step seen.
    pub last_step: i64,
    /// The last scalar value (scalars only).
    pub last_value: Option<f64>,
}

/// Per-run summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    /// Event files read.
    pub files: u64,
    /// Intact records.
    pub records: u64,
    /// Damaged regions skipped.
    pub skipped_records: u64,
    /// Bytes at file ends that do not form a whole record yet.
    pub unfinished_tail_bytes: u64,
    /// Tags by name.
    pub tags: BTreeMap<String, TagSummary>,
}

/// What `inspect` found, by run name (the directory relative to the logdir, `.` at its root).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Runs by name.
    pub runs: BTreeMap<String, RunSummary>,
}

/// The kind a value is stored as ([`Kind`]), with a tensor's plugin; hyperparameters are
/// `hparams` (they belong to the run, not to a series).
fn kind_of(v: &Value) -> String {
    match (v, Kind::of(v)) {
        (Value::Tensor { plugin, .. }, _) => format!("{}:{plugin}", Kind::Tensor),
        (_, Some(kind)) => kind.to_string(),
        (_, None) => "hparams".into(),
    }
}

/// The event files to read: `root` itself when it is a file, else every event file under it.
fn event_files(root: &Path) -> Result<Vec<PathBuf>, InspectError> {
    let meta = fs::metadata(root).map_err(|source| InspectError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    Ok(find_event_files(root))
}

/// Reads every event file under `path` and summarises it.
pub fn inspect(path: &Path) -> Result<Report, InspectError> {
    let files = event_files(path)?;
    if files.is_empty() {
        return Err(InspectError::NoEventFiles(path.to_path_buf()));
    }
    let root = if path.is_file() {
        path.parent().unwrap_or(Path::new("."))
    } else {
        path
    };
    let mut report = Report::default();
    for file in files {
        let run = run_name(root, &file);
        let (events, read) = read_events(&file).map_err(|source| InspectError::Io {
            path: file.clone(),
            source,
        })?;
        let summary = report.runs.entry(run).or_default();
        summary.files += 1;
        summary.records += read.records.records;
        summary.skipped_records += read.records.skipped_records;
        summary.unfinished_tail_bytes += read.unfinished_tail_bytes;
        for ev in events {
            for tv in ev.values {
                let tag = summary.tags.entry(tv.tag).or_insert_with(|| TagSummary {
                    kind: kind_of(&tv.value),
                    first_step: ev.step,
                    last_step: ev.step,
                    ..TagSummary::default()
                });
                tag.count += 1;
                tag.first_step = tag.first_step.min(ev.step);
                tag.last_step = tag.last_step.max(ev.step);
                if let Value::Scalar(x) = tv.value {
                    tag.last_value = Some(x);
                }
            }
        }
    }
    Ok(report)
}

impl Report {
    /// The report as JSON (NaN and infinities as strings, like TensorBoard's API).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let num = |x: f64| {
            if x.is_finite() {
                json!(x)
            } else if x.is_nan() {
                json!("NaN")
            } else if x > 0.0 {
                json!("Infinity")
            } else {
                json!("-Infinity")
            }
        };
        let runs: serde_json::Map<String, serde_json::Value> = self
            .runs
            .iter()
            .map(|(name, r)| {
                let tags: serde_json::Map<String, serde_json::Value> = r
                    .tags
                    .iter()
                    .map(|(t, s)| {
                        (
                            t.clone(),
                            json!({
                                "kind": s.kind, "count": s.count,
                                "first_step": s.first_step, "last_step": s.last_step,
                                "last_value": s.last_value.map(num),
                            }),
                        )
                    })
                    .collect();
                (
                    name.clone(),
                    json!({
                        "files": r.files, "records": r.records,
                        "skipped_records": r.skipped_records,
                        "unfinished_tail_bytes": r.unfinished_tail_bytes,
                        "tags": tags,
                    }),
                )
            })
            .collect();
        json!({ "runs": runs })
    }

    /// A human-readable table.
    pub fn print_table(&self, out: &mut impl Write) -> io::Result<()> {
        for (name, r) in &self.runs {
            writeln!(
                out,
                "run {name}: {} file(s), {} records, {} damaged record(s) skipped, {} unfinished tail byte(s)",
                r.files, r.records, r.skipped_records, r.unfinished_tail_bytes
            )?;
            for (tag, s) in &r.tags {
                let last = s
                    .last_value
                    .map(|v| format!("  last {v}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  {tag:<40} {:<10} {:>9} values  steps {}..={}{last}",
                    s.kind, s.count, s.first_step, s.last_step
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runboard_sdk::SummaryWriter;

    #[test]
    fn summarises_runs_at_any_depth() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = SummaryWriter::new(dir.path().join("a")).unwrap();
        let mut b = SummaryWriter::new(dir.path().join("b/c")).unwrap();
        for s in 0..10 {
            a.add_scalar("loss", s as f64, s);
        }
        b.add_text("notes", "hi", 3);
        a.close().unwrap();
        b.close().unwrap();
        let report = inspect(dir.path()).unwrap();
        assert_eq!(report.runs.keys().collect::<Vec<_>>(), vec!["a", "b/c"]);
        let loss = &report.runs["a"].tags["loss"];
        assert_eq!(
            (loss.count, loss.first_step, loss.last_step, loss.last_value),
            (10, 0, 9, Some(9.0))
        );
        assert_eq!(report.runs["b/c"].tags["notes"].kind, "text");
    }

    #[test]
    fn missing_path_and_empty_dir_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            inspect(&dir.path().join("nope")),
            Err(InspectError::Io { .. })
        ));
        assert!(matches!(
            inspect(dir.path()),
            Err(InspectError::NoEventFiles(_))
        ));
    }
}
