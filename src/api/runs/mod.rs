//! Runs as experiments over HTTP: the run list with status and the user's edits
//! (`GET /api/v1/runs`), the run table with config and metric summaries (`GET
//! /api/v1/run_table`), one run with its record and edit log (`GET /api/v1/run`), and the
//! edits (`PATCH` / `DELETE /api/v1/run`), which pass the same write guard as every write.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::response::Json;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json_};

use super::json::Num;
use super::{ApiError, ApiQuery, AppState, read};
use crate::runs::filter::{Filter, field_of};
use crate::runs::group::{self, Band};
use crate::runs::{Goal, RunEdit, State as RunState};
use crate::store::chunk::StepValues;
use crate::store::experiments::{self, MetricSummary, RunEditRow, RunRow};
use crate::store::query;
use crate::store::{RunOp, RunOpDone};
use crate::types::{Kind, MaxPoints};

mod table;
pub(crate) use table::TableCache;
pub(super) use table::run_table;
use table::table_rows;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListParams {
    /// Archived runs too.
    #[serde(default)]
    archived: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TableParams {
    /// Archived runs too.
    #[serde(default)]
    archived: bool,
    /// Only the runs this [`Filter`] expression matches.
    filter: Option<String>,
    /// Add each metric's value at this step (`at_step`: the last point at or before it).
    at_step: Option<i64>,
    /// `rows` (the default: one object per run) or `columns` (each metric's summaries as
    /// arrays in run order: what the dashboard reads).
    #[serde(default)]
    layout: table::Layout,
    /// Only the first `limit` runs (the page's first screen; `total` says how many there are).
    limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RunParam {
    run: String,
}

#[derive(Debug, Serialize)]
pub(super) struct StatusOut {
    state: RunState,
    exit_code: Option<i64>,
    message: Option<String>,
}

/// A run as every list shows it.
#[derive(Debug, Serialize)]
pub(super) struct RunOut {
    name: String,
    /// CSS colour of the run in every chart ([`crate::chart::RunColors`]).
    color: String,
    started_at: Num,
    updated_at: Num,
    hparams: Option<Json_>,
    display_name: Option<String>,
    tags: Vec<String>,
    notes: String,
    archived: bool,
    status: StatusOut,
    seen_at: Option<Num>,
    host: Option<String>,
    commit: Option<String>,
    dirty: Option<bool>,
}

#[derive(Debug, Serialize)]
pub(super) struct MetricOut {
    last: Num,
    min: Option<Num>,
    max: Option<Num>,
    first_step: i64,
    last_step: i64,
    count: u64,
    best: Option<Num>,
    best_step: Option<i64>,
    goal: Option<Goal>,
    goal_guessed: bool,
    /// With `at_step=S`: the value of the last point at or before step S, and its step.
    #[serde(skip_serializing_if = "Option::is_none")]
    at_step: Option<Num>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_step_step: Option<i64>,
}

/// A row of the run table.
#[derive(Debug, Serialize)]
pub(super) struct TableRunOut {
    #[serde(flatten)]
    run: RunOut,
    config: Map<String, Json_>,
    summary: Map<String, Json_>,
    metrics: std::collections::BTreeMap<String, MetricOut>,
}

/// The run table: its rows and columns.
#[derive(Debug, Serialize)]
pub(super) struct TableOut {
    runs: Vec<TableRunOut>,
    /// Runs in the whole table (more than `runs` when a `limit` cut it).
    total: usize,
    config_keys: Vec<String>,
    metric_tags: Vec<String>,
}

impl TableOut {
    /// The rows as JSON values, which filters and groups read.
    fn json_rows(&self) -> Vec<Json_> {
        self.runs
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or(Json_::Null))
            .collect()
    }
}

#[derive(Debug, Serialize)]
pub(super) struct EditOut {
    at: Num,
    origin: String,
    change: Json_,
}

/// One run in full.
#[derive(Debug, Serialize)]
pub(super) struct RunDetailOut {
    #[serde(flatten)]
    row: TableRunOut,
    record: Option<Map<String, Json_>>,
    edits: Vec<EditOut>,
}

/// What every answer here needs besides the rows: colours (by start order of every run,
/// archived included, so hiding a run does not recolour the others), when each run was last
/// heard from, the time now and the stall timeout.
struct Context {
    /// Goals guessed from tag names, once per tag.
    guesses: std::cell::RefCell<FxHashMap<String, Option<Goal>>>,
    colors: crate::chart::RunColors,
    files: FxHashMap<i64, Vec<std::path::PathBuf>>,
    now: f64,
    stall_after: f64,
    /// Until when the statuses served so far stay true without a new commit: the earliest
    /// time a running run turns stalled, or soon for a quiet run whose files a live process
    /// may touch (an answer cached by the store's generation expires then).
    valid_until: std::cell::Cell<f64>,
}

impl Context {
    fn load(conn: &rusqlite::Connection, state: &AppState) -> Result<Context, ApiError> {
        let all = crate::store::query::runs(conn)?;
        Ok(Context {
            guesses: Default::default(),
            colors: crate::chart::RunColors::new(all.iter().map(|r| r.name.as_str())),
            // The ingester names files relative to the logdir it reads.
            files: experiments::run_files(conn)?
                .into_iter()
                .map(|(run, paths)| {
                    let full = paths
                        .into_iter()
                        .map(|p| match &state.logdir {
                            Some(logdir) => logdir.join(p),
                            None => std::path::PathBuf::from(p),
                        })
                        .collect();
                    (run, full)
                })
                .collect(),
            now: runboard_sdk::event_file::now_secs(),
            stall_after: state.stall_after,
            valid_until: std::cell::Cell::new(f64::INFINITY),
        })
    }

    /// The state of `row` served now; notes when it may change without a commit.
    fn state(&self, row: &RunRow) -> RunState {
        /// How long a quiet run's status is trusted when its files may be touched (at most
        /// half the stall timeout, so that a touched file shows before it is stale again).
        const RECHECK_FILES_SECS: f64 = 5.0;
        let heard = self.last_heard(row);
        if matches!(row.state, None | Some(RunState::Running)) {
            let until = match heard {
                Some(t) if self.now - t <= self.stall_after => t + self.stall_after,
                _ if self.files.contains_key(&row.id) => {
                    self.now + RECHECK_FILES_SECS.min(self.stall_after / 2.0)
                }
                _ => f64::INFINITY,
            };
            self.valid_until.set(self.valid_until.get().min(until));
        }
        RunState::served(row.state, heard, self.now, self.stall_after)
    }

    /// When the run was last heard from: a live process's last batch, or its event files'
    /// latest modification (a quiet SDK touches its file; other tools' files just grow).
    /// The files are only looked at when the batches alone would call the run silent.
    fn last_heard(&self, row: &RunRow) -> Option<f64> {
        let recent = |t: f64| self.now - t <= self.stall_after;
        if row.seen_at.is_some_and(recent)
            || matches!(row.state, Some(RunState::Finished | RunState::Crashed))
        {
            return row.seen_at;
        }
        let files = self.files.get(&row.id).into_iter().flatten();
        let mtime = files
            .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64())
            .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.max(t))));
        match (row.seen_at, mtime) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// [`guess_goal`], remembered per tag (a table has many runs of the same tags).
    fn guess(&self, tag: &str) -> Option<Goal> {
        let mut guesses = self.guesses.borrow_mut();
        if let Some(g) = guesses.get(tag) {
            return *g;
        }
        let g = crate::runs::guess_goal(tag);
        guesses.insert(tag.to_owned(), g);
        g
    }

    fn run_out(&self, row: &RunRow) -> RunOut {
        RunOut {
            name: row.name.clone(),
            color: self.colors.hex(&row.name),
            started_at: Num(row.started_at),
            updated_at: Num(row.updated_at),
            hparams: row.hparams.clone(),
            display_name: row.display_name.clone(),
            tags: row.tags.clone(),
            notes: row.notes.clone(),
            archived: row.archived,
            status: StatusOut {
                state: self.state(row),
                exit_code: row.exit_code,
                message: row.message.clone(),
            },
            seen_at: row.seen_at.map(Num),
            host: row.host.clone(),
            commit: row.commit.clone(),
            dirty: row.dirty,
        }
    }

    fn table_row(&self, mut row: RunRow, metrics: &[(String, MetricSummary)]) -> TableRunOut {
        let run = self.run_out(&row);
        // The config: what the SDK recorded, else TensorBoard's hparams (other tools' runs).
        let config = if row.config.is_empty() {
            match row.hparams.take() {
                Some(Json_::Object(h)) => h,
                _ => Map::new(),
            }
        } else {
            std::mem::take(&mut row.config)
        };
        let metrics = metrics
            .iter()
            .map(|(tag, s)| {
                let declared = row.goals.get(tag).copied();
                let goal = declared.or_else(|| self.guess(tag));
                let best = match goal {
                    Some(Goal::Minimize) => s.min,
                    Some(Goal::Maximize) => s.max,
                    None => None,
                };
                let out = MetricOut {
                    last: Num(s.last),
                    min: s.min.map(|m| Num(m.0)),
                    max: s.max.map(|m| Num(m.0)),
                    first_step: s.first_step,
                    last_step: s.last_step,
                    count: s.count,
                    best: best.map(|b| Num(b.0)),
                    best_step: best.map(|b| b.1),
                    goal,
                    goal_guessed: declared.is_none() && goal.is_some(),
                    at_step: None,
                    at_step_step: None,
                };
                (tag.clone(), out)
            })
            .collect();
        TableRunOut {
            run,
            config,
            summary: row.summary,
            metrics,
        }
    }
}

/// `GET /api/v1/config_keys[?archived=true]`: the config keys of every run, sorted (the run
/// table's `config_keys`, without building the table: what a "group by" menu offers).
pub(super) async fn config_keys(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<String>>, ApiError> {
    read(&state, move |c| {
        Ok(Json(
            experiments::config_keys(c, p.archived)?
                .into_iter()
                .collect(),
        ))
    })
    .await
}

/// `GET /api/v1/runs[?archived=true]`: every run in start order with its colour, status and
/// the user's edits (archived runs only when asked).
pub(super) async fn runs(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Vec<RunOut>>, ApiError> {
    let st = state.clone();
    read(&state, move |c| {
        let cx = Context::load(c, &st)?;
        let rows = experiments::run_rows(c, p.archived)?;
        Ok(Json(rows.iter().map(|r| cx.run_out(r)).collect()))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct GroupParams {
    /// The metric.
    tag: String,
    /// Group by this field (a config key, `tags`, `status`, `host`, ... as in filters).
    by: Option<String>,
    /// Group by this regex's first capture group (or whole match) in the run's name.
    name_regex: Option<String>,
    #[serde(default)]
    band: Band,
    max_points: Option<MaxPoints>,
    /// Only the runs this expression matches.
    filter: Option<String>,
    #[serde(default)]
    archived: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct GroupOut {
    /// The group's value of the `by` field (or the regex capture); `""` for one group of all.
    key: String,
    runs: Vec<String>,
    /// `[step, mean, low, high, n]` at each step shown.
    points: Vec<(i64, Num, Num, Num, u32)>,
}

#[derive(Debug, Serialize)]
pub(super) struct GroupsOut {
    tag: String,
    band: Band,
    groups: Vec<GroupOut>,
}

/// The groups a run belongs to (a run with several tags is in each tag's group).
fn group_keys(row: &Json_, by: Option<&str>, regex: Option<&regex::Regex>) -> Vec<String> {
    if let Some(re) = regex {
        let name = row["name"].as_str().unwrap_or_default();
        return match re.captures(name) {
            Some(c) => vec![c.get(1).or(c.get(0)).map_or("", |m| m.as_str()).to_owned()],
            None => vec!["(no match)".to_owned()],
        };
    }
    let Some(by) = by else {
        return vec![String::new()];
    };
    match field_of(row, by) {
        Some(Json_::Array(items)) if items.is_empty() => vec!["(none)".to_owned()],
        Some(Json_::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        Some(Json_::String(s)) => vec![s],
        Some(v) => vec![v.to_string()],
        None => vec!["(none)".to_owned()],
    }
}

/// `GET /api/v1/group_scalars?tag=&by=|name_regex=&band=std|minmax&max_points=&filter=&run=`:
/// the runs (those named by `run=`, repeatable, and those `filter` matches) grouped by a field or a regex capture of their names,
/// each group's mean and band of `tag` at every step any of its runs logged, computed on
/// every point, then thinned to `max_points` (default 1,000) exact points.
pub(super) async fn group_scalars(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<GroupParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Json<GroupsOut>, ApiError> {
    let filter = parse_filter(p.filter.as_deref())?;
    // `run=NAME` (repeatable): only these runs, by their exact names.
    let only: Option<rustc_hash::FxHashSet<String>> = {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
        let runs: rustc_hash::FxHashSet<String> = pairs
            .into_iter()
            .filter(|(k, _)| k == "run")
            .map(|(_, v)| v)
            .collect();
        (!runs.is_empty()).then_some(runs)
    };
    let regex = match &p.name_regex {
        Some(re) => Some(
            regex::RegexBuilder::new(re)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| ApiError::BadRequest(format!("name_regex: {e}")))?,
        ),
        None => None,
    };
    let st = state.clone();
    let tag = p.tag.clone();
    let (archived, by) = (p.archived, p.by.clone());
    // The groups, and the series id of each member that has the tag as scalars.
    let groups = read(&state, move |c| {
        let cx = Context::load(c, &st)?;
        let runs = table_rows(c, &cx, archived, None)?.json_rows();
        if let Some(f) = &filter {
            check_fields(f, &runs)?;
        }
        // Groups in the order their first run started.
        let mut groups: Vec<(String, Vec<(String, i64)>)> = Vec::new();
        let chosen = |r: &&Json_| {
            only.as_ref()
                .is_none_or(|o| r["name"].as_str().is_some_and(|n| o.contains(n)))
        };
        for row in runs
            .iter()
            .filter(chosen)
            .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)))
        {
            let name = row["name"].as_str().unwrap_or_default().to_owned();
            let Some((id, Kind::Scalar)) = query::series_id(c, &name, &tag)? else {
                continue;
            };
            for key in group_keys(row, by.as_deref(), regex.as_ref()) {
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, members)) => members.push((name.clone(), id)),
                    None => groups.push((key, vec![(name.clone(), id)])),
                }
            }
        }
        Ok(groups)
    })
    .await?;
    // Every member's points, read on several connections at once.
    let mut ids: Vec<i64> = groups
        .iter()
        .flat_map(|(_, m)| m.iter().map(|(_, id)| *id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let started = std::time::Instant::now();
    let series = read_series_parallel(&state, ids).await?;
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    let max = p.max_points.map_or(1000, MaxPoints::get);
    let band = p.band;
    let out = tokio::task::spawn_blocking(move || {
        groups
            .into_iter()
            .map(|(key, members)| {
                let member_series: Vec<&StepValues> = members
                    .iter()
                    .filter_map(|(_, id)| series.get(id).map(|s| &**s))
                    .collect();
                let points = group::thin(group::align(&member_series), max)
                    .into_iter()
                    .map(|a| {
                        let (lo, hi) = a.band(band);
                        (a.step, Num(a.mean), Num(lo), Num(hi), a.n)
                    })
                    .collect();
                GroupOut {
                    key,
                    runs: members.into_iter().map(|(name, _)| name).collect(),
                    points,
                }
            })
            .collect()
    })
    .await
    .map_err(|e| ApiError::Internal(format!("group task failed: {e}")))?;
    tracing::debug!(
        read_ms,
        total_ms = started.elapsed().as_secs_f64() * 1e3,
        "group_scalars"
    );
    Ok(Json(GroupsOut {
        tag: p.tag,
        band: p.band,
        groups: out,
    }))
}

/// The steps and values of the scalar series `ids`, read by up to four reader connections at
/// once (a group of a hundred 100k-point runs is tens of megabytes of chunks).
async fn read_series_parallel(
    state: &AppState,
    ids: Vec<i64>,
) -> Result<FxHashMap<i64, std::sync::Arc<StepValues>>, ApiError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4)
        .min(ids.len().max(1));
    let per = ids.len().div_ceil(threads).max(1);
    let mut tasks = Vec::new();
    for part in ids.chunks(per) {
        let part = part.to_vec();
        let store = state.store.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            store.read(|c| {
                part.iter()
                    .map(|id| Ok((*id, std::sync::Arc::new(query::steps_values(c, *id)?))))
                    .collect::<Result<Vec<_>, crate::store::StoreError>>()
            })
        }));
    }
    let mut out = FxHashMap::default();
    for t in tasks {
        let part = t
            .await
            .map_err(|e| ApiError::Internal(format!("read task failed: {e}")))??;
        out.extend(part);
    }
    Ok(out)
}

/// The `filter` parameter, parsed (blank: none).
fn parse_filter(text: Option<&str>) -> Result<Option<Filter>, ApiError> {
    text.filter(|f| !f.trim().is_empty())
        .map(|f| Filter::parse(f).map_err(|e| ApiError::BadRequest(format!("filter: {e}"))))
        .transpose()
}

/// A field no run has is a typo, said with its column (fields every run may lack, like
/// `display_name`, are always known).
fn check_fields(filter: &Filter, runs: &[Json_]) -> Result<(), ApiError> {
    const ALWAYS: &[&str] = &[
        "name",
        "display_name",
        "status",
        "state",
        "host",
        "commit",
        "notes",
        "tags",
        "archived",
        "created",
        "started_at",
        "duration",
    ];
    if runs.is_empty() {
        return Ok(());
    }
    for (field, column) in filter.fields() {
        let known = ALWAYS.contains(&field.to_ascii_lowercase().as_str())
            || runs.iter().any(|r| field_of(r, field).is_some());
        if !known {
            return Err(ApiError::BadRequest(format!(
                "filter: no run has a field {field:?} (a config key, a metric tag, or TAG.best and the like) at column {column}"
            )));
        }
    }
    Ok(())
}

/// The run named `name` in full, or 404.
fn detail(
    c: &rusqlite::Connection,
    state: &AppState,
    name: &str,
) -> Result<RunDetailOut, ApiError> {
    let cx = Context::load(c, state)?;
    let Some(mut row) = experiments::run_row_named(c, name)? else {
        return Err(ApiError::NotFound(format!("no run {name:?}")));
    };
    let summaries = experiments::metric_summaries(c, Some(row.id))?;
    let metrics = summaries.get(&row.id).map_or(&[][..], Vec::as_slice);
    let edits = experiments::run_edits(c, row.id)?
        .into_iter()
        .map(|RunEditRow { at, origin, change }| EditOut {
            at: Num(at),
            origin,
            change,
        })
        .collect();
    let record = row.record.take();
    Ok(RunDetailOut {
        row: cx.table_row(row, metrics),
        record,
        edits,
    })
}

/// `GET /api/v1/run?run=`: one run with its full record (the git diff included) and its
/// edit log.
pub(super) async fn run(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunParam>,
) -> Result<Json<RunDetailOut>, ApiError> {
    let st = state.clone();
    read(&state, move |c| detail(c, &st, &p.run).map(Json)).await
}

/// Who asked, for the edit log: the client's address ("local" inside the process).
fn origin(peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> String {
    peer.map_or_else(
        || "local".to_owned(),
        |Extension(ConnectInfo(a))| a.to_string(),
    )
}

/// `PATCH /api/v1/run?run=` with a JSON [`RunEdit`]: answers the run as `/runs` lists it.
pub(super) async fn edit(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunParam>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: axum::body::Bytes,
) -> Result<Json<RunOut>, ApiError> {
    let edit: RunEdit = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("a run edit: {e}")))?;
    edit.check().map_err(ApiError::BadRequest)?;
    let op = RunOp::Edit {
        run: p.run.clone(),
        edit,
        origin: origin(peer),
    };
    if state.store.run_op(op).await? == RunOpDone::NotFound {
        return Err(ApiError::NotFound(format!("no run {:?}", p.run)));
    }
    let st = state.clone();
    read(&state, move |c| {
        let d = detail(c, &st, &p.run)?;
        Ok(Json(d.row.run))
    })
    .await
}

#[derive(Debug, Serialize)]
pub(super) struct DeletedOut {
    deleted: String,
}

/// `DELETE /api/v1/run?run=`: removes the run's stored data (never its files).
pub(super) async fn delete(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunParam>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Json<DeletedOut>, ApiError> {
    let op = RunOp::Delete {
        run: p.run.clone(),
        origin: origin(peer),
    };
    match state.store.run_op(op).await? {
        RunOpDone::Done => Ok(Json(DeletedOut { deleted: p.run })),
        RunOpDone::NotFound => Err(ApiError::NotFound(format!("no run {:?}", p.run))),
    }
}

#[cfg(test)]
mod tests;
