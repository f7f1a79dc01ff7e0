//! Reads for runs as experiments: every stored field of a run, metric summaries from the
//! scalar chunks' summaries (no point is decoded), the edit log, a run's files.

use rusqlite::{Connection, OptionalExtension, Row, params};
use rustc_hash::FxHashMap;
use serde_json::{Map, Value as Json};

use super::StoreError;
use crate::runs::{Goal, State};

/// A run with everything stored about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// The row id.
    pub id: i64,
    /// The run's name.
    pub name: String,
    /// First wall time seen.
    pub started_at: f64,
    /// Last wall time seen.
    pub updated_at: f64,
    /// TensorBoard's hparams (JSON object), if logged.
    pub hparams: Option<Json>,
    /// The SDK's run record: only read for one run ([`run_row_named`]); lists leave it out
    /// (a record holds a diff of up to 1 MiB) and read its `commit` and `dirty` alone.
    pub record: Option<Map<String, Json>>,
    /// The record's git commit.
    pub commit: Option<String>,
    /// Whether the record's checkout had uncommitted changes.
    pub dirty: Option<bool>,
    /// The config: the record's, then config events.
    pub config: Map<String, Json>,
    /// What the user set as the run's summary.
    pub summary: Map<String, Json>,
    /// Declared metric goals.
    pub goals: FxHashMap<String, Goal>,
    /// The recorded state (`None`: never said).
    pub state: Option<State>,
    /// The exit status the run said.
    pub exit_code: Option<i64>,
    /// The crash message.
    pub message: Option<String>,
    /// When a live process last sent anything (server clock).
    pub seen_at: Option<f64>,
    /// The host it ran on.
    pub host: Option<String>,
    /// The user's name for it.
    pub display_name: Option<String>,
    /// The user's tags.
    pub tags: Vec<String>,
    /// The user's notes (Markdown).
    pub notes: String,
    /// Hidden from the lists by default.
    pub archived: bool,
}

/// The columns of a run as lists read it (the record's git commit and dirty flag, not the
/// record); `{record}` is `NULL` or `record`.
const COLUMNS: &str = "id, name, started_at, updated_at, hparams, {record}, config, summary, goals,
    state, exit_code, message, seen_at, host, display_name, tags, notes, archived,
    json_extract(record, '$.git.commit'), json_extract(record, '$.git.dirty')";

fn columns(with_record: bool) -> String {
    COLUMNS.replace("{record}", if with_record { "record" } else { "NULL" })
}

fn object(text: Option<String>) -> Map<String, Json> {
    match text.as_deref().map(serde_json::from_str::<Json>) {
        Some(Ok(Json::Object(m))) => m,
        _ => Map::new(),
    }
}

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    let hparams: Option<String> = r.get(4)?;
    let record: Option<String> = r.get(5)?;
    let goals = object(r.get(8)?)
        .into_iter()
        .filter_map(|(tag, g)| Some((tag, serde_json::from_value::<Goal>(g).ok()?)))
        .collect();
    let state: Option<String> = r.get(9)?;
    let tags: String = r.get(15)?;
    Ok(RunRow {
        id: r.get(0)?,
        name: r.get(1)?,
        started_at: r.get(2)?,
        updated_at: r.get(3)?,
        hparams: hparams.as_deref().and_then(super::codec::hparams_json),
        record: record.is_some().then(|| object(record)),
        config: object(r.get(6)?),
        summary: object(r.get(7)?),
        goals,
        state: state.as_deref().and_then(State::parse),
        exit_code: r.get(10)?,
        message: r.get(11)?,
        seen_at: r.get(12)?,
        host: r.get(13)?,
        display_name: r.get(14)?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        notes: r.get(16)?,
        archived: r.get(17)?,
        commit: r.get(18)?,
        dirty: r.get::<_, Option<i64>>(19)?.map(|d| d != 0),
    })
}

/// Every run that is not deleted (archived ones only when asked), in start order.
pub fn run_rows(conn: &Connection, include_archived: bool) -> Result<Vec<RunRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM runs WHERE deleted_at IS NULL AND (?1 OR archived = 0)
         ORDER BY started_at, name",
        columns(false)
    ))?;
    let rows = stmt.query_map([include_archived], run_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The config keys of every run that is not deleted (archived ones only when asked), sorted:
/// its record's config, else its TensorBoard hparams (as the run table's columns).
pub fn config_keys(
    conn: &Connection,
    include_archived: bool,
) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT config, hparams FROM runs WHERE deleted_at IS NULL AND (?1 OR archived = 0)",
    )?;
    let mut rows = stmt.query([include_archived])?;
    let mut keys = std::collections::BTreeSet::new();
    while let Some(r) = rows.next()? {
        let config = object(r.get(0)?);
        if !config.is_empty() {
            keys.extend(config.into_iter().map(|(k, _)| k));
        } else if let Some(Json::Object(h)) = r
            .get::<_, Option<String>>(1)?
            .as_deref()
            .and_then(super::codec::hparams_json)
        {
            keys.extend(h.into_iter().map(|(k, _)| k));
        }
    }
    Ok(keys)
}

/// One run that is not deleted, archived or not.
pub fn run_row_named(conn: &Connection, name: &str) -> Result<Option<RunRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {} FROM runs WHERE name = ?1 AND deleted_at IS NULL",
            columns(true)
        ))?
        .query_row([name], run_row)
        .optional()?)
}

/// What a scalar series holds, from its chunks' summaries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricSummary {
    /// Points stored.
    pub count: u64,
    /// The first point's step.
    pub first_step: i64,
    /// The last point's step and value.
    pub last_step: i64,
    /// The last value (NaN when it was NaN).
    pub last: f64,
    /// The smallest value that is not NaN, and its step.
    pub min: Option<(f64, i64)>,
    /// The largest value that is not NaN, and its step.
    pub max: Option<(f64, i64)>,
}

/// The summary of every scalar series, by run id then tag (runs not deleted; archived too);
/// with `run`, that run's series only.
pub fn metric_summaries(
    conn: &Connection,
    run: Option<i64>,
) -> Result<FxHashMap<i64, Vec<(String, MetricSummary)>>, StoreError> {
    // Series first (a few per run), then every chunk summary in key order (no sort).
    // One run's: the same reads through the indexes (two statements, as a query plan is
    // made before the parameters are known).
    let (series, chunks) = match run {
        None => (
            "SELECT id, run_id, tag FROM series WHERE kind = 'scalar' AND ?1 IS NULL",
            "SELECT series_id, count, first_step, last_step, last_value,
                    min_step, min_value, max_step, max_value
             FROM scalar_chunks WHERE ?1 IS NULL ORDER BY series_id, seq",
        ),
        Some(_) => (
            "SELECT id, run_id, tag FROM series WHERE kind = 'scalar' AND run_id = ?1",
            "SELECT series_id, count, first_step, last_step, last_value,
                    min_step, min_value, max_step, max_value
             FROM scalar_chunks
             WHERE series_id IN (SELECT id FROM series WHERE run_id = ?1)
             ORDER BY series_id, seq",
        ),
    };
    let mut names: FxHashMap<i64, (i64, String)> = FxHashMap::default();
    let mut stmt = conn.prepare_cached(series)?;
    let mut rows = stmt.query([run])?;
    while let Some(r) = rows.next()? {
        names.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
    }
    let mut stmt = conn.prepare_cached(chunks)?;
    let mut rows = stmt.query([run])?;
    let mut by_series: Vec<(i64, MetricSummary)> = Vec::new();
    while let Some(r) = rows.next()? {
        let series_id: i64 = r.get(0)?;
        let count: i64 = r.get(1)?;
        let (first_step, last_step): (i64, i64) = (r.get(2)?, r.get(3)?);
        let last: Option<f64> = r.get(4)?;
        let min = match r.get::<_, Option<f64>>(6)? {
            Some(v) => Some((v, r.get(5)?)),
            None => None,
        };
        let max = match r.get::<_, Option<f64>>(8)? {
            Some(v) => Some((v, r.get(7)?)),
            None => None,
        };
        let chunk = MetricSummary {
            count: count as u64,
            first_step,
            last_step,
            last: last.unwrap_or(f64::NAN),
            min,
            max,
        };
        match by_series.last_mut() {
            Some((id, s)) if *id == series_id => {
                s.count += chunk.count;
                s.last_step = chunk.last_step;
                s.last = chunk.last;
                s.min = pick(s.min, chunk.min, |new, old| new < old);
                s.max = pick(s.max, chunk.max, |new, old| new > old);
            }
            _ => by_series.push((series_id, chunk)),
        }
    }
    let mut out: FxHashMap<i64, Vec<(String, MetricSummary)>> = FxHashMap::default();
    for (series_id, summary) in by_series {
        if let Some((run_id, tag)) = names.remove(&series_id) {
            out.entry(run_id).or_default().push((tag, summary));
        }
    }
    for series in out.values_mut() {
        series.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(out)
}

/// The better of two (value, step) extremes by `better` (the earlier one on ties).
fn pick(
    old: Option<(f64, i64)>,
    new: Option<(f64, i64)>,
    better: impl Fn(f64, f64) -> bool,
) -> Option<(f64, i64)> {
    match (old, new) {
        (Some(o), Some(n)) if better(n.0, o.0) => Some(n),
        (Some(o), _) => Some(o),
        (None, n) => n,
    }
}

/// One logged edit of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEditRow {
    /// When (seconds since the epoch).
    pub at: f64,
    /// Who asked (the client's address).
    pub origin: String,
    /// What changed (the edit, or `{"delete": true}`).
    pub change: Json,
}

/// The edits of run `id`, oldest first.
pub fn run_edits(conn: &Connection, id: i64) -> Result<Vec<RunEditRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT at, origin, change FROM run_edits WHERE run_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([id], |r| {
        let change: String = r.get(2)?;
        Ok(RunEditRow {
            at: r.get(0)?,
            origin: r.get(1)?,
            change: serde_json::from_str(&change).unwrap_or(Json::Null),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The event files a run was read from (paths as the ingester named them).
pub fn run_files(conn: &Connection) -> Result<FxHashMap<i64, Vec<String>>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT run_id, path FROM files")?;
    let mut out: FxHashMap<i64, Vec<String>> = FxHashMap::default();
    let mut rows = stmt.query(params![])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(r.get(1)?);
    }
    Ok(out)
}

/// Every scalar series' last point at or before `step` (none when the series starts after it),
/// by run id and tag. A chunk that ends at or before `step` answers from its summary; only a
/// chunk that `step` falls inside is decoded.
pub fn values_at_step(
    conn: &Connection,
    step: i64,
) -> Result<FxHashMap<(i64, String), super::chunk::Point>, StoreError> {
    // The last chunk of each series that starts at or before `step` (SQLite takes the other
    // columns from the row of the max).
    let mut stmt = conn.prepare_cached(
        "SELECT s.run_id, s.tag, c.series_id, max(c.seq), c.last_step, c.last_wall, c.last_value
         FROM series s JOIN scalar_chunks c ON c.series_id = s.id
         WHERE s.kind = 'scalar' AND c.first_step <= ?1
         GROUP BY c.series_id",
    )?;
    let mut blob_stmt =
        conn.prepare_cached("SELECT points FROM scalar_points WHERE series_id = ?1 AND seq = ?2")?;
    let mut out = FxHashMap::default();
    let mut rows = stmt.query([step])?;
    let mut points = Vec::new();
    while let Some(r) = rows.next()? {
        let (run_id, tag, series_id, seq): (i64, String, i64, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let last_step: i64 = r.get(4)?;
        let point = if last_step <= step {
            super::chunk::Point {
                step: last_step,
                wall_time: r.get(5)?,
                value: r.get::<_, Option<f64>>(6)?.unwrap_or(f64::NAN),
            }
        } else {
            let blob: Vec<u8> = blob_stmt.query_row(params![series_id, seq], |b| b.get(0))?;
            points.clear();
            super::chunk::decode_points(&blob, &mut points)?;
            match points.iter().rev().find(|p| p.step <= step) {
                Some(p) => *p,
                None => continue,
            }
        };
        out.insert((run_id, tag), point);
    }
    Ok(out)
}
