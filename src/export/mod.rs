//! `runboard export`: a logdir or a database to files, without a server: every scalar point as CSV or JSON Lines, event files TensorBoard reads, or one chart per tag.
//!
//! ```text
//! --logdir DIR ── ingest::ingest_once ──► temporary database ──┐
//! --db FILE ─────────────────── store::open_read_only ──────────┴─► one read snapshot ──► select.rs (--run, --tag)
//!     ├─ csv       <out>/scalars.csv     run,tag,step,wall_time,value: every point, chunk by chunk   points.rs
//!     ├─ json      <out>/scalars.jsonl   one JSON object a point, same fields, same order           points.rs
//!     ├─ tfevents  <out>/<run>/events.out.tfevents.<secs>.runboard, every kind, in step order       tfevents.rs
//!     └─ png, svg  <out>/<tag>.png|svg   chart::render of each tag's downsampled runs               charts.rs
//!                  every file under <out>: safe names, written whole                                files.rs
//! ```
//! This file holds the options, the errors, the summary line and [`export`], which opens the
//! source and hands the chosen series to the writer of the format; `progress.rs` draws the
//! progress bar.
//!
//! Nothing holds a whole series in memory: points are read one stored chunk (4,096 points) at
//! a time and written through a buffer. The export reads one consistent snapshot of the
//! database (one read transaction), so a server committing meanwhile changes nothing in it.
//! Files are written under a temporary name and renamed when complete: a failed export
//! leaves no half-written `scalars.csv` behind.
//!
//! Numbers are exact (the shortest text that parses back to the same f64), laid out as each
//! format's readers expect ([`crate::format`]): the CSV as TensorBoard's own `?format=csv`
//! writes it (Python's `csv` module, floats as `repr`: `1e-05`, `1e+16`, `2.0`, `nan`, `inf`,
//! `-inf`), JSON Lines as runboard's JSON API (`0.00001`, `1e16`, `2.0`, and the strings
//! `"NaN"`, `"Infinity"`, `"-Infinity"`).
mod charts;
mod files;
mod points;
mod progress;
mod projector;
mod select;
mod tfevents;

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use rusqlite::Connection;

use crate::chart::{self, ChartError, ChartFormat, ChartOptions};
use crate::ingest::{IngestError, IngestOptions};
use crate::store::query;
use crate::store::{ReadOnlyError, Store, StoreError};
use crate::types::MaxPoints;

pub use files::{FileNames, run_folder, sanitize_file_name};
pub use select::Selection;

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// OUT/scalars.csv: every scalar point as a row run,tag,step,wall_time,value.
    Csv,
    /// OUT/scalars.jsonl: every scalar point as a JSON object (JSON Lines), same fields.
    Json,
    /// OUT/RUN/events.out.tfevents.SECS.runboard: event files TensorBoard reads (scalars,
    /// histograms, text, images, hparams).
    Tfevents,
    /// OUT/TAG.png: one chart per tag, a line per run.
    Png,
    /// OUT/TAG.svg: one chart per tag, a line per run.
    Svg,
}

impl Format {
    /// The chart format, for `png` and `svg`.
    pub fn chart(self) -> Option<ChartFormat> {
        match self {
            Format::Png => Some(ChartFormat::Png),
            Format::Svg => Some(ChartFormat::Svg),
            Format::Csv | Format::Json | Format::Tfevents => None,
        }
    }

    /// True when only scalar series are exported.
    fn scalars_only(self) -> bool {
        self != Format::Tfevents
    }
}

/// Where the data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A logdir, read once into a temporary database that is deleted afterwards.
    Logdir(PathBuf),
    /// A runboard database, opened read-only (a running server's database is fine).
    Db(PathBuf),
}

/// Everything `runboard export` needs.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Where the data comes from.
    pub source: Source,
    /// The output folder (created if missing).
    pub out: PathBuf,
    /// What to write.
    pub format: Format,
    /// Only runs whose name this regex matches (unanchored, like TensorBoard's filter).
    pub run: Option<String>,
    /// Only tags this regex matches (unanchored).
    pub tag: Option<String>,
    /// Size, smoothing and log scale of charts (png and svg only).
    pub chart: ChartOptions,
    /// Points read per run for a chart (png and svg only).
    pub max_points: usize,
}

/// What an export wrote, for the summary line.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    /// The format written.
    pub format: Format,
    /// Points (or values, for tfevents) written; for charts, points drawn.
    pub points: u64,
    /// Series exported.
    pub series: usize,
    /// Runs exported.
    pub runs: usize,
    /// Files written.
    pub files: usize,
    /// The file written (csv, json) or the output folder.
    pub target: PathBuf,
    /// Wall-clock time of the whole export.
    pub elapsed: Duration,
}

impl fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let what = match self.format {
            Format::Png | Format::Svg => format!(
                "drew {} chart{} ({} points) of {} series",
                thousands(self.files as u64),
                plural(self.files as u64),
                thousands(self.points),
                thousands(self.series as u64)
            ),
            Format::Tfevents => format!(
                "exported {} value{} of {} series",
                thousands(self.points),
                plural(self.points),
                thousands(self.series as u64)
            ),
            Format::Csv | Format::Json => format!(
                "exported {} point{} of {} series",
                thousands(self.points),
                plural(self.points),
                thousands(self.series as u64)
            ),
        };
        write!(
            f,
            "{what} in {} run{} to {} in {secs:.1} s",
            thousands(self.runs as u64),
            plural(self.runs as u64),
            self.target.display()
        )
    }
}

/// `s` unless `n` is 1.
fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

use runboard_sdk::fmt::thousands;

/// Why an export failed. Every message is one line naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// `--run` or `--tag` is not a valid regex: fix the pattern.
    #[error("--{flag}: invalid regex {pattern:?}: {message}")]
    BadRegex {
        /// `run` or `tag`.
        flag: &'static str,
        /// The pattern given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// Nothing matched the selection: widen `--run` / `--tag`, or check the source.
    #[error("nothing to export: {0}")]
    EmptySelection(String),
    /// The output folder cannot be created or written: choose another `--out`.
    #[error("cannot write to --out {path}: {reason}")]
    Unwritable {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file under `--out` could not be written (disk full, ...): nothing to retry but the export.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// `--db` cannot be read as a runboard database.
    #[error("--db {0}")]
    Database(#[from] ReadOnlyError),
    /// `--logdir` could not be read.
    #[error("--logdir: {0}")]
    Logdir(#[from] IngestError),
    /// `--logdir` holds no event files.
    #[error("--logdir {0} holds no event files (names containing \"tfevents\")")]
    NoEventFiles(PathBuf),
    /// A run's name cannot be a folder under `--out` (absolute, or with an empty, `.` or `..`
    /// component): leave it out with `--run`.
    #[error(
        "run {0:?} cannot be written as a folder under --out (absolute, or an empty, \".\" or \"..\" part); leave it out with --run"
    )]
    UnsafeRunName(String),
    /// A run's folder under `--out` already holds event files; TensorBoard would read both.
    #[error(
        "{0} already holds event files (TensorBoard would read them together with the export): export tfevents into a new or empty --out"
    )]
    EventFilesExist(PathBuf),
    /// An option is out of range.
    #[error("{0}")]
    BadOption(String),
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// Reading the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Store(StoreError::Sqlite(e))
    }
}

/// An open source: the connection, and the temporary folder of a logdir's database (deleted
/// when this is dropped).
struct Opened {
    conn: Connection,
    _temp: Option<tempfile::TempDir>,
}

/// Opens `--db`, or reads `--logdir` once into a temporary database and opens that.
fn open_source(source: &Source, progress: &ProgressBar) -> Result<Opened, ExportError> {
    match source {
        Source::Db(path) => Ok(Opened {
            conn: crate::store::open_read_only(path)?,
            _temp: None,
        }),
        Source::Logdir(logdir) => {
            progress.set_style(progress::spinner_style());
            progress.set_message(format!("reading {}", logdir.display()));
            progress.enable_steady_tick(Duration::from_millis(100));
            let temp = tempfile::Builder::new()
                .prefix("runboard-export-")
                .tempdir()
                .map_err(|e| ExportError::Write {
                    path: std::env::temp_dir(),
                    source: e,
                })?;
            let db = temp.path().join("export.sqlite");
            let store = Store::open(&db)?;
            let report = crate::ingest::ingest_once(logdir, &store, IngestOptions::default());
            store.shutdown();
            progress.disable_steady_tick();
            let report = report?;
            if report.files == 0 {
                return Err(ExportError::NoEventFiles(logdir.clone()));
            }
            if report.skipped_records > 0 {
                tracing::warn!(
                    "{} damaged records skipped while reading {}",
                    report.skipped_records,
                    logdir.display()
                );
            }
            Ok(Opened {
                conn: crate::store::open_read_only(&db)?,
                _temp: Some(temp),
            })
        }
    }
}

/// Runs the export. `progress` is drawn on (set it hidden when stderr is not a terminal).
pub fn export(
    options: &ExportOptions,
    progress: &ProgressBar,
) -> Result<ExportSummary, ExportError> {
    let started = Instant::now();
    let selection = Selection::new(options.run.as_deref(), options.tag.as_deref())?;
    if options.format.chart().is_some() {
        options.chart.validate()?;
    }
    MaxPoints::new(options.max_points)
        .map_err(|e| ExportError::BadOption(format!("--max-points {e}")))?;
    files::prepare_out(&options.out)?;
    let opened = open_source(&options.source, progress)?;
    let conn = &opened.conn;
    // One read transaction: every query below sees the same committed state.
    conn.execute_batch("BEGIN")?;
    let runs = query::runs(conn)?;
    let all = query::series(conn, None)?;
    let scalars_only = options.format.scalars_only();
    let chosen = select::choose(conn, &runs, &all, &selection, scalars_only)?;
    let run_names = select::chosen_runs(&runs, &chosen);
    let total: u64 = chosen.iter().map(|c| c.info.count).sum();
    let mut summary = ExportSummary {
        format: options.format,
        points: 0,
        series: chosen.len(),
        runs: run_names.len(),
        files: 0,
        target: options.out.clone(),
        elapsed: Duration::ZERO,
    };
    progress.set_style(progress::bar_style());
    progress.set_message("exporting");
    progress.set_position(0);
    match options.format {
        Format::Csv | Format::Json => {
            progress.set_length(total);
            let (points, path) = points::write_points(conn, &chosen, options, progress)?;
            summary.points = points;
            summary.files = 1;
            summary.target = path;
        }
        Format::Tfevents => {
            progress.set_length(total);
            summary.points =
                tfevents::write_runs(conn, &options.out, &runs, &run_names, &chosen, progress)?;
            summary.files = run_names.len();
        }
        Format::Png | Format::Svg => {
            let format = options.format.chart().unwrap_or(ChartFormat::Png);
            // Colours by place among all runs, as the dashboard and the server's charts give them.
            let colors = chart::RunColors::new(runs.iter().map(|r| r.name.as_str()));
            (summary.points, summary.files) =
                charts::write_charts(conn, &chosen, &colors, options, format, progress)?;
        }
    }
    conn.execute_batch("COMMIT")?;
    progress.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}
