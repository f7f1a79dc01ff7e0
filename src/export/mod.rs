//! `runboard export`: a logdir or a database to files, without a server: every scalar point as CSV or JSON Lines, event files TensorBoard reads, or one chart per tag.
//!
//! ```text
//! --logdir DIR ── ingest::ingest_once ──► temporary database ──┐
//! --db FILE ─────────────────── store::open_read_only ──────────┴─► one read snapshot ──► selection (--run, --tag)
//!     ├─ csv       <out>/scalars.csv     run,tag,step,wall_time,value: every point, chunk by chunk
//!     ├─ json      <out>/scalars.jsonl   one JSON object a point, same fields, same order
//!     ├─ tfevents  <out>/<run>/events.out.tfevents.<secs>.runboard, every kind, in step order
//!     └─ png, svg  <out>/<tag>.png|svg   chart::render of each tag's downsampled runs
//! ```
//! Nothing holds a whole series in memory: points are read one stored chunk (4,096 points) at
//! a time and written through a buffer. The export reads one consistent snapshot of the
//! database (one read transaction), so a server committing meanwhile changes nothing in it.
//! Files are written under a temporary name and renamed when complete: a failed export
//! leaves no half-written `scalars.csv` behind.
//!
//! Numbers are exact (the shortest text that parses back to the same f64), laid out as each
//! format's readers expect ([`crate::format`]): the CSV as TensorBoard's own `?format=csv`
//! writes it (Python's `csv` module, floats as `repr`: `1e-05`, `1e+16`, `2.0`, `nan`, `inf`,
//! `-inf`), JSON Lines as runboard's JSON API (`1e-5`, `1e16`, `2.0`, and the strings `"NaN"`,
//! `"Infinity"`, `"-Infinity"`).

use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use regex::Regex;
use runboard_sdk::event::{HParamValue, Value};
use runboard_sdk::event_file::EventFileWriter;
use runboard_sdk::summary;
use rusqlite::Connection;

use crate::chart::{self, ChartError, ChartFormat, ChartOptions};
use crate::format::{PyRepr, json_float};
use crate::ingest::{IngestError, IngestOptions};
use crate::store::codec;
use crate::store::query::{self, RunInfo, SeriesInfo, TensorCursor, TensorRow};
use crate::store::{Point, ReadOnlyError, Store, StoreError};
use crate::types::Kind;

/// The smallest `--max-points`.
pub const MIN_MAX_POINTS: usize = crate::api::v1::MIN_MAX_POINTS;
/// The largest `--max-points`.
pub const MAX_MAX_POINTS: usize = crate::api::v1::MAX_MAX_POINTS;

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

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `10000000` as `10,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

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

/// The regexes of `--run` and `--tag`.
#[derive(Debug, Clone)]
pub struct Selection {
    run: Option<Regex>,
    tag: Option<Regex>,
}

impl Selection {
    /// Compiles the patterns; an invalid one is an error naming its flag.
    pub fn new(run: Option<&str>, tag: Option<&str>) -> Result<Selection, ExportError> {
        let compile = |flag: &'static str, pattern: Option<&str>| {
            pattern
                .map(|p| {
                    Regex::new(p).map_err(|e| ExportError::BadRegex {
                        flag,
                        pattern: p.to_owned(),
                        message: one_line_regex_error(&e),
                    })
                })
                .transpose()
        };
        Ok(Selection {
            run: compile("run", run)?,
            tag: compile("tag", tag)?,
        })
    }

    /// True when the series' run and tag both match (`is_match`: anywhere in the name).
    pub fn matches(&self, run: &str, tag: &str) -> bool {
        self.run.as_ref().is_none_or(|r| r.is_match(run))
            && self.tag.as_ref().is_none_or(|t| t.is_match(tag))
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.run {
            parts.push(format!("--run {:?}", r.as_str()));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("--tag {:?}", t.as_str()));
        }
        parts.join(" and ")
    }
}

/// regex's syntax errors span several lines (the pattern, a caret, the reason): keep the reason.
fn one_line_regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid pattern");
    last.trim().trim_start_matches("error: ").to_owned()
}

/// Makes a file name of a tag: letters, digits, `-`, `_` and `.` are kept, anything else
/// (`/`, spaces, `:`, ...) becomes `_`; a name that would be hidden or empty gets a leading
/// `_`, and it is cut to 200 bytes. Different tags can give the same name: see [`FileNames`].
pub fn sanitize_file_name(tag: &str) -> String {
    let mut name: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    if name.len() > 200 {
        name.truncate(200); // ASCII only: any byte index is a char boundary
    }
    name
}

/// Unique file names for tags within one folder: the sanitized name, then `-2`, `-3`, ... for
/// later tags that sanitize to a name already taken (compared without case, so the files do
/// not collide on case-insensitive file systems either).
#[derive(Debug, Default)]
pub struct FileNames {
    taken: HashSet<String>,
}

impl FileNames {
    /// The file name for `tag` with `extension`.
    pub fn name(&mut self, tag: &str, extension: &str) -> String {
        let base = sanitize_file_name(tag);
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{base}.{extension}")
            } else {
                format!("{base}-{n}.{extension}")
            };
            if self.taken.insert(name.to_lowercase()) {
                return name;
            }
            n += 1;
        }
    }
}

/// The folder of a run under `out` (`/` in a run's name makes sub-folders; `.` is the root
/// run), refusing names that would escape `out`.
pub fn run_folder(out: &Path, run: &str) -> Result<PathBuf, ExportError> {
    if run == "." {
        return Ok(out.to_path_buf());
    }
    let unsafe_name = || ExportError::UnsafeRunName(run.to_owned());
    let mut path = out.to_path_buf();
    for part in run.split('/') {
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(c)), None) if c == part => path.push(part),
            _ => return Err(unsafe_name()),
        }
    }
    Ok(path)
}

/// The output folder, created if missing and checked writable.
fn prepare_out(out: &Path) -> Result<(), ExportError> {
    let unwritable = |reason: String| ExportError::Unwritable {
        path: out.to_path_buf(),
        reason,
    };
    if out.exists() && !out.is_dir() {
        return Err(unwritable("it exists and is not a folder".into()));
    }
    std::fs::create_dir_all(out).map_err(|e| unwritable(e.to_string()))?;
    tempfile::Builder::new()
        .prefix(".runboard-export-probe")
        .tempfile_in(out)
        .map_err(|e| unwritable(e.to_string()))?;
    Ok(())
}

/// A file written under a temporary name (`.<name>.partial`) and renamed into place by
/// [`PartialFile::finish`]; dropped unfinished, the temporary file is removed.
struct PartialFile {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    done: bool,
}

impl PartialFile {
    fn create(path: PathBuf) -> Result<PartialFile, ExportError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.partial"));
        let file = File::create(&tmp).map_err(|source| ExportError::Write {
            path: tmp.clone(),
            source,
        })?;
        Ok(PartialFile {
            path,
            tmp,
            out: BufWriter::with_capacity(1 << 20, file),
            done: false,
        })
    }

    fn error(&self, source: io::Error) -> ExportError {
        ExportError::Write {
            path: self.path.clone(),
            source,
        }
    }

    fn finish(mut self) -> Result<PathBuf, ExportError> {
        self.out.flush().map_err(|e| self.error(e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| self.error(e))?;
        self.done = true;
        Ok(self.path.clone())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// An open source: the connection, and the temporary folder of a logdir's database (deleted
/// when this is dropped).
struct Opened {
    conn: Connection,
    _temp: Option<tempfile::TempDir>,
}

fn open_source(source: &Source, progress: &ProgressBar) -> Result<Opened, ExportError> {
    match source {
        Source::Db(path) => Ok(Opened {
            conn: crate::store::open_read_only(path)?,
            _temp: None,
        }),
        Source::Logdir(logdir) => {
            progress.set_style(spinner_style());
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

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg} [{bar:30}] {human_pos}/{human_len} {percent}% ({elapsed}, {eta} left)",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A series chosen for export, with its database id.
#[derive(Debug, Clone)]
struct Chosen {
    info: SeriesInfo,
    id: i64,
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
    if !(MIN_MAX_POINTS..=MAX_MAX_POINTS).contains(&options.max_points) {
        return Err(ExportError::BadOption(format!(
            "--max-points must be between {MIN_MAX_POINTS} and {MAX_MAX_POINTS}, not {}",
            options.max_points
        )));
    }
    prepare_out(&options.out)?;
    let opened = open_source(&options.source, progress)?;
    let conn = &opened.conn;
    // One read transaction: every query below sees the same committed state.
    conn.execute_batch("BEGIN")?;
    let runs = query::runs(conn)?;
    let all = query::series(conn, None)?;
    let eligible = |s: &SeriesInfo| !options.format.scalars_only() || s.kind == Kind::Scalar;
    let chosen: Vec<Chosen> = all
        .iter()
        .filter(|s| eligible(s) && selection.matches(&s.run, &s.tag))
        .map(|s| {
            let id = query::series_id(conn, &s.run, &s.tag)?.map(|(id, _)| id);
            Ok(id.map(|id| Chosen {
                info: s.clone(),
                id,
            }))
        })
        .filter_map(Result::transpose)
        .collect::<Result<_, ExportError>>()?;
    if chosen.is_empty() {
        return Err(empty_selection(
            &selection,
            &runs,
            &all,
            options.format.scalars_only(),
        ));
    }
    let run_names: Vec<&str> = {
        let chosen_runs: HashSet<&str> = chosen.iter().map(|c| c.info.run.as_str()).collect();
        runs.iter()
            .map(|r| r.name.as_str())
            .filter(|r| chosen_runs.contains(r))
            .collect()
    };
    // Colours by place among all runs, as the dashboard and the server's charts give them.
    let colors = chart::RunColors::new(runs.iter().map(|r| r.name.as_str()));
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
    progress.set_style(bar_style());
    progress.set_message("exporting");
    progress.set_position(0);
    match options.format {
        Format::Csv | Format::Json => {
            progress.set_length(total);
            let (points, path) = write_points(conn, &chosen, options, progress)?;
            summary.points = points;
            summary.files = 1;
            summary.target = path;
        }
        Format::Tfevents => {
            // Every run's folder is checked before anything is written.
            let mut folders = Vec::with_capacity(run_names.len());
            for run in &run_names {
                let dir = run_folder(&options.out, run)?;
                if has_event_files(&dir) {
                    return Err(ExportError::EventFilesExist(dir));
                }
                folders.push(dir);
            }
            progress.set_length(total);
            let mut ticker = Ticker {
                progress,
                pending: 0,
            };
            for (run, dir) in run_names.iter().zip(&folders) {
                let info = runs.iter().find(|r| r.name == *run);
                let series: Vec<&Chosen> = chosen.iter().filter(|c| c.info.run == *run).collect();
                summary.points += write_run_events(conn, dir, info, &series, &mut ticker)?;
                summary.files += 1;
            }
        }
        Format::Png | Format::Svg => {
            let format = options.format.chart().unwrap_or(ChartFormat::Png);
            let mut by_tag: BTreeMap<&str, Vec<&Chosen>> = BTreeMap::new();
            for c in &chosen {
                by_tag.entry(c.info.tag.as_str()).or_default().push(c);
            }
            progress.set_length(by_tag.len() as u64);
            let mut names = FileNames::default();
            for (tag, series) in by_tag {
                let lines = series
                    .iter()
                    .map(|c| {
                        let color = colors.index(&c.info.run);
                        chart::read_line(conn, &c.info.run, c.id, color, options.max_points)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                summary.points += lines.iter().map(|l| l.points.len() as u64).sum::<u64>();
                let bytes = chart::render(tag, &lines, &options.chart, format)?;
                let path = options.out.join(names.name(tag, format.extension()));
                let mut file = PartialFile::create(path)?;
                if let Err(e) = file.out.write_all(&bytes) {
                    return Err(file.error(e));
                }
                file.finish()?;
                summary.files += 1;
                progress.inc(1);
            }
        }
    }
    conn.execute_batch("COMMIT")?;
    progress.finish_and_clear();
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn empty_selection(
    selection: &Selection,
    runs: &[RunInfo],
    all: &[SeriesInfo],
    scalars_only: bool,
) -> ExportError {
    let kind = if scalars_only { "scalar " } else { "" };
    let tags: HashSet<&str> = all
        .iter()
        .filter(|s| !scalars_only || s.kind == Kind::Scalar)
        .map(|s| s.tag.as_str())
        .collect();
    let filters = selection.describe();
    let what = if filters.is_empty() {
        format!("there is no {kind}series")
    } else {
        format!("no {kind}series matches {filters}")
    };
    ExportError::EmptySelection(format!(
        "{what} ({} run{} and {} {kind}tag{} exist)",
        runs.len(),
        plural(runs.len() as u64),
        tags.len(),
        plural(tags.len() as u64),
    ))
}

/// Progress counted locally and reported every few thousand items (a report reads the clock).
struct Ticker<'a> {
    progress: &'a ProgressBar,
    pending: u64,
}

impl Ticker<'_> {
    fn add(&mut self, n: u64) {
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

/// Writes `scalars.csv` or `scalars.jsonl`; returns the points written and the file.
fn write_points(
    conn: &Connection,
    chosen: &[Chosen],
    options: &ExportOptions,
    progress: &ProgressBar,
) -> Result<(u64, PathBuf), ExportError> {
    let json = options.format == Format::Json;
    let name = if json { "scalars.jsonl" } else { "scalars.csv" };
    let mut file = PartialFile::create(options.out.join(name))?;
    let path = file.path.clone();
    let io = |source: io::Error| ExportError::Write {
        path: path.clone(),
        source,
    };
    let mut ticker = Ticker {
        progress,
        pending: 0,
    };
    let written = if json {
        write_jsonl(conn, chosen, &mut file.out, &mut ticker).map_err(|e| e.into_export(&io))?
    } else {
        write_csv(conn, chosen, &mut file.out, &mut ticker).map_err(|e| e.into_export(&io))?
    };
    drop(ticker);
    Ok((written, file.finish()?))
}

/// A failure while streaming points: the output (I/O) or the database.
enum StreamError {
    Io(io::Error),
    Export(ExportError),
}

impl StreamError {
    fn into_export(self, io: &impl Fn(io::Error) -> ExportError) -> ExportError {
        match self {
            StreamError::Io(e) => io(e),
            StreamError::Export(e) => e,
        }
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

impl From<csv::Error> for StreamError {
    fn from(e: csv::Error) -> Self {
        StreamError::Io(e.into())
    }
}

impl From<StoreError> for StreamError {
    fn from(e: StoreError) -> Self {
        StreamError::Export(e.into())
    }
}

/// Every point of every chosen series, read chunk by chunk, to `out`, as
/// `run,tag,step,wall_time,value` rows (quoted where needed, RFC 4180).
fn write_csv(
    conn: &Connection,
    chosen: &[Chosen],
    out: &mut BufWriter<File>,
    ticker: &mut Ticker<'_>,
) -> Result<u64, StreamError> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(out);
    w.write_record(["run", "tag", "step", "wall_time", "value"])?;
    let mut points: Vec<Point> = Vec::with_capacity(4096);
    let (mut step, mut wall, mut value) = (itoa::Buffer::new(), PyRepr::new(), PyRepr::new());
    let mut written = 0u64;
    for c in chosen {
        let (run, tag) = (c.info.run.as_bytes(), c.info.tag.as_bytes());
        let mut after = None;
        while let Some(seq) = query::next_scalar_chunk(conn, c.id, after, &mut points)? {
            after = Some(seq);
            for p in &points {
                w.write_record([
                    run,
                    tag,
                    step.format(p.step).as_bytes(),
                    wall.format(p.wall_time).as_bytes(),
                    value.format(p.value).as_bytes(),
                ])?;
            }
            written += points.len() as u64;
            ticker.add(points.len() as u64);
        }
    }
    w.flush()?;
    Ok(written)
}

/// Every point of every chosen series to `out` as JSON Lines:
/// `{"run":..,"tag":..,"step":..,"wall_time":..,"value":..}`.
fn write_jsonl(
    conn: &Connection,
    chosen: &[Chosen],
    out: &mut BufWriter<File>,
    ticker: &mut Ticker<'_>,
) -> Result<u64, StreamError> {
    let mut points: Vec<Point> = Vec::with_capacity(4096);
    let (mut step, mut wall, mut value) =
        (itoa::Buffer::new(), ryu::Buffer::new(), ryu::Buffer::new());
    let mut written = 0u64;
    for c in chosen {
        // serde_json escapes the names once per series; the numbers are written directly.
        let prefix = format!(
            "{{\"run\":{},\"tag\":{},\"step\":",
            serde_json::Value::String(c.info.run.clone()),
            serde_json::Value::String(c.info.tag.clone())
        );
        let mut after = None;
        while let Some(seq) = query::next_scalar_chunk(conn, c.id, after, &mut points)? {
            after = Some(seq);
            for p in &points {
                out.write_all(prefix.as_bytes())?;
                out.write_all(step.format(p.step).as_bytes())?;
                out.write_all(b",\"wall_time\":")?;
                out.write_all(json_float(&mut wall, p.wall_time).as_bytes())?;
                out.write_all(b",\"value\":")?;
                out.write_all(json_float(&mut value, p.value).as_bytes())?;
                out.write_all(b"}\n")?;
            }
            written += points.len() as u64;
            ticker.add(points.len() as u64);
        }
    }
    Ok(written)
}

/// True when `dir` directly holds a file whose name contains `tfevents`.
fn has_event_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_type().is_ok_and(|t| t.is_file())
                && runboard_sdk::event_file::is_event_file_name(&e.file_name().to_string_lossy())
        })
    })
}

/// Reads one series in step order, a stored chunk or page at a time, for the merge of
/// [`write_run_events`].
enum Cursor<'a> {
    Scalar {
        series: &'a Chosen,
        buf: Vec<Point>,
        pos: usize,
        after: Option<i64>,
        done: bool,
    },
    Other {
        series: &'a Chosen,
        buf: Vec<TensorRow>,
        pos: usize,
        next: Option<TensorCursor>,
        done: bool,
    },
}

/// Values of non-scalar series read at a time (images can be large).
const TENSOR_PAGE: usize = 64;

impl<'a> Cursor<'a> {
    fn new(series: &'a Chosen) -> Cursor<'a> {
        if series.info.kind == Kind::Scalar {
            Cursor::Scalar {
                series,
                buf: Vec::new(),
                pos: 0,
                after: None,
                done: false,
            }
        } else {
            Cursor::Other {
                series,
                buf: Vec::new(),
                pos: 0,
                next: None,
                done: false,
            }
        }
    }

    /// The step of the next value, reading the next chunk or page when needed.
    fn peek(&mut self, conn: &Connection) -> Result<Option<i64>, ExportError> {
        match self {
            Cursor::Scalar {
                series,
                buf,
                pos,
                after,
                done,
            } => {
                while *pos >= buf.len() && !*done {
                    match query::next_scalar_chunk(conn, series.id, *after, buf)? {
                        Some(seq) => *after = Some(seq),
                        None => *done = true,
                    }
                    *pos = 0;
                }
                Ok(buf.get(*pos).map(|p| p.step))
            }
            Cursor::Other {
                series,
                buf,
                pos,
                next,
                done,
            } => {
                while *pos >= buf.len() && !*done {
                    let (page, cursor) = query::tensors_page(conn, series.id, *next, TENSOR_PAGE)?;
                    *buf = page;
                    *pos = 0;
                    *next = cursor;
                    *done = cursor.is_none();
                }
                Ok(buf.get(*pos).map(|r| r.step))
            }
        }
    }

    /// Writes the value [`Cursor::peek`] found and moves past it.
    /// `path` names the file in errors.
    fn write_next(&mut self, w: &mut EventFileWriter, path: &Path) -> Result<(), ExportError> {
        let io = |e: io::Error| ExportError::Write {
            path: path.to_path_buf(),
            source: e,
        };
        match self {
            Cursor::Scalar {
                series, buf, pos, ..
            } => {
                if let Some(p) = buf.get(*pos) {
                    let value = summary::scalar(&series.info.tag, p.value);
                    let result = w.write_summary(p.wall_time, p.step, vec![value]);
                    result.map_err(io)?;
                }
                *pos += 1;
            }
            Cursor::Other {
                series, buf, pos, ..
            } => {
                if let Some(row) = buf.get(*pos) {
                    let value = other_value(&series.info, row)?;
                    let result = w.write_summary(row.wall_time, row.step, vec![value]);
                    result.map_err(io)?;
                }
                *pos += 1;
            }
        }
        Ok(())
    }
}

/// The summary value of a stored histogram, text, image or tensor, as TensorBoard's plugins
/// read it (built by the SDK's summary builders).
fn other_value(
    info: &SeriesInfo,
    row: &TensorRow,
) -> Result<runboard_sdk::proto::tensorboard::summary::Value, ExportError> {
    let tag = info.tag.as_str();
    let damaged =
        |what: String| StoreError::Damaged(format!("{what} (run {:?}, tag {tag:?})", info.run));
    let value = codec::decode_value(info.kind, &info.plugin, row).map_err(|e| match e {
        StoreError::Damaged(what) => damaged(what),
        other => other,
    })?;
    Ok(match value {
        Value::Histogram(rows) => summary::histogram(tag, &rows),
        Value::Text(strings) => summary::text_strings(tag, &strings),
        Value::Images(mut images) if !images.is_empty() => {
            let image = images.swap_remove(0);
            let channels = png_channels(&image.encoded);
            summary::image(tag, image.encoded, image.width, image.height, channels)
        }
        Value::Tensor { plugin, tensor } => summary::tensor(tag, &plugin, *tensor),
        Value::Scalar(v) => summary::scalar(tag, v),
        Value::Images(_) | Value::HParams(_) => {
            return Err(damaged("no value to write".into()).into());
        }
    })
}

/// The channel count of a PNG from its header's colour type (1 grey, 2 grey+alpha, 3 RGB or
/// palette, 4 RGBA); 3 when it is not a PNG.
fn png_channels(bytes: &[u8]) -> u8 {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 26 || !bytes.starts_with(SIGNATURE) {
        return 3;
    }
    match bytes[25] {
        0 => 1,
        4 => 2,
        6 => 4,
        _ => 3,
    }
}

/// Writes one run's event file: its hyperparameters first, then every value of its chosen
/// series merged in step order (as a training job writes them; TensorBoard drops a tag's
/// points when its step goes backwards, so per-series order alone is not enough), each with its
/// own wall time. Returns the values written.
fn write_run_events(
    conn: &Connection,
    dir: &Path,
    info: Option<&RunInfo>,
    series: &[&Chosen],
    ticker: &mut Ticker<'_>,
) -> Result<u64, ExportError> {
    let started = info.map_or(0.0, |r| r.started_at);
    let secs = if started.is_finite() && started > 0.0 {
        started as u64
    } else {
        0
    };
    let path = dir.join(format!("events.out.tfevents.{secs:010}.runboard"));
    // Written under a name without "tfevents" (which a watching TensorBoard would pick up
    // half-done) and renamed at the end.
    let tmp = dir.join(".runboard-export.partial");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source: io::Error| ExportError::Write { path: p, source }
    };
    let _ = std::fs::remove_file(&tmp);
    let mut w = EventFileWriter::create_new(&tmp, started).map_err(io(&path))?;
    let result = (|| {
        if let Some(h) = info.and_then(|r| r.hparams.as_ref()) {
            let pairs = codec::decode_hparams(h);
            let refs: Vec<(&str, HParamValue)> =
                pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            let value = summary::hparams_session_start(&refs, started);
            w.write_summary(started, 0, vec![value])
                .map_err(io(&path))?;
        }
        let mut cursors: Vec<Cursor<'_>> = series.iter().map(|s| Cursor::new(s)).collect();
        let mut heap = BinaryHeap::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(step) = c.peek(conn)? {
                heap.push(std::cmp::Reverse((step, i)));
            }
        }
        let mut written = 0u64;
        while let Some(std::cmp::Reverse((_, i))) = heap.pop() {
            let c = &mut cursors[i];
            c.write_next(&mut w, &path)?;
            written += 1;
            ticker.add(1);
            if let Some(step) = c.peek(conn)? {
                heap.push(std::cmp::Reverse((step, i)));
            }
        }
        w.flush().map_err(io(&path))?;
        Ok(written)
    })();
    drop(w);
    match result {
        Ok(written) => {
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
            Ok(written)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_unique() {
        assert_eq!(sanitize_file_name("train/loss"), "train_loss");
        assert_eq!(sanitize_file_name("a b:c*?<>|\\\"d"), "a_b_c_______d");
        assert_eq!(sanitize_file_name("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(sanitize_file_name(".hidden"), "_.hidden");
        assert_eq!(sanitize_file_name(""), "_");
        assert_eq!(sanitize_file_name("ünï"), "_n_");
        assert_eq!(sanitize_file_name(&"x".repeat(300)).len(), 200);
        let mut names = FileNames::default();
        assert_eq!(names.name("train/loss", "png"), "train_loss.png");
        assert_eq!(names.name("train:loss", "png"), "train_loss-2.png");
        // Compared without case: Train_Loss.png would overwrite train_loss.png on macOS.
        assert_eq!(names.name("Train/Loss", "png"), "Train_Loss-3.png");
        assert_eq!(names.name("train loss", "png"), "train_loss-4.png");
        assert_eq!(names.name("train/loss", "svg"), "train_loss.svg");
    }

    #[test]
    fn run_folders_stay_under_out() {
        let out = Path::new("/out");
        assert_eq!(run_folder(out, "a/b").unwrap(), Path::new("/out/a/b"));
        assert_eq!(run_folder(out, ".").unwrap(), Path::new("/out"));
        assert_eq!(run_folder(out, "a.b").unwrap(), Path::new("/out/a.b"));
        for bad in ["..", "a/../b", "/etc", "a//b", "a/", "./a", "a/.", ""] {
            assert!(
                matches!(run_folder(out, bad), Err(ExportError::UnsafeRunName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_regexes_name_their_flag_on_one_line() {
        let e = Selection::new(Some("ok"), Some("a[")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("--tag: invalid regex \"a[\""), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        let e = Selection::new(Some("(x"), None).unwrap_err();
        assert!(e.to_string().starts_with("--run:"), "{e}");
    }

    #[test]
    fn selection_is_unanchored_like_tensorboards_filter() {
        let s = Selection::new(Some("trai"), Some("loss$")).unwrap();
        assert!(s.matches("mnist/train", "train/loss"));
        assert!(!s.matches("mnist/train", "loss/ema"));
        assert!(!s.matches("eval", "loss"));
        assert!(Selection::new(None, None).unwrap().matches("any", "thing"));
    }

    #[test]
    fn thousands_are_separated_by_commas() {
        assert_eq!(thousands(10_000_000), "10,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(0), "0");
    }

    #[test]
    fn png_channels_come_from_the_header() {
        let grey = runboard_sdk::summary::encode_png(&[7u8; 4], 2, 2, 1).unwrap();
        let rgba = runboard_sdk::summary::encode_png(&[7u8; 16], 2, 2, 4).unwrap();
        assert_eq!((png_channels(&grey), png_channels(&rgba)), (1, 4));
        assert_eq!(png_channels(b"not a png"), 3);
    }
}
