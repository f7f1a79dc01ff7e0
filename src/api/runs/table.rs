//! `GET /api/v1/run_table`: every run with its config and metric summaries, as rows (one
//! object per run, what scripts read) or as columns (each metric's summaries as arrays in run
//! order, a third of the bytes: what the dashboard reads). Unfiltered answers are kept, as
//! bytes, until the store commits again or a run's status would change with time
//! ([`TableCache`]): a table of 10,000 runs takes most of a second to build and a page load
//! asks for it first.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json_};

use super::{
    ApiError, ApiQuery, AppState, Context, MetricOut, RunOut, TableOut, TableParams, TableRunOut,
    check_fields, parse_filter, read,
};
use crate::api::json::Num;
use crate::runs::Goal;
use crate::store::experiments;

/// How `/api/v1/run_table` lays its answer out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(in crate::api) enum Layout {
    /// `runs`: one object per run, its metrics inside.
    #[default]
    Rows,
    /// `runs` without metrics, and `metrics`: per tag, arrays aligned with `runs`.
    Columns,
}

/// A run of the columns layout: everything but its metrics.
#[derive(Debug, Serialize)]
struct RunCore<'a> {
    #[serde(flatten)]
    run: &'a RunOut,
    config: &'a Map<String, Json_>,
    summary: &'a Map<String, Json_>,
}

/// One metric's summaries for every run of the answer, in its order (`null`: the run has no
/// such series). A run's goal is `declared[i]`, else `goal` (guessed from the tag's name);
/// `best` is `min` or `max` by that goal, at `best_step`.
#[derive(Debug, Default, Serialize)]
struct MetricColumns {
    goal: Option<Goal>,
    /// Goals runs declared, by their index in `runs`.
    declared: BTreeMap<usize, Goal>,
    count: Vec<Option<u64>>,
    first_step: Vec<Option<i64>>,
    last_step: Vec<Option<i64>>,
    last: Vec<Option<Num>>,
    min: Vec<Option<Num>>,
    max: Vec<Option<Num>>,
    best_step: Vec<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_step: Option<Vec<Option<Num>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_step_step: Option<Vec<Option<i64>>>,
}

#[derive(Debug, Serialize)]
struct ColumnsOut<'a> {
    layout: Layout,
    runs: Vec<RunCore<'a>>,
    total: usize,
    config_keys: &'a [String],
    metric_tags: &'a [String],
    metrics: BTreeMap<&'a str, MetricColumns>,
}

/// The rows layout of the first runs of a table.
#[derive(Debug, Serialize)]
struct RowsOut<'a> {
    runs: &'a [TableRunOut],
    total: usize,
    config_keys: &'a [String],
    metric_tags: &'a [String],
}

impl<'a> ColumnsOut<'a> {
    /// `rows` of `table` with their metrics taken out into columns.
    fn new(table: &'a TableOut, rows: &'a [TableRunOut], at_step: bool) -> ColumnsOut<'a> {
        let n = rows.len();
        let mut metrics: BTreeMap<&str, MetricColumns> = table
            .metric_tags
            .iter()
            .map(|tag| {
                let column = MetricColumns {
                    goal: crate::runs::guess_goal(tag),
                    count: vec![None; n],
                    first_step: vec![None; n],
                    last_step: vec![None; n],
                    last: vec![None; n],
                    min: vec![None; n],
                    max: vec![None; n],
                    best_step: vec![None; n],
                    at_step: at_step.then(|| vec![None; n]),
                    at_step_step: at_step.then(|| vec![None; n]),
                    ..MetricColumns::default()
                };
                (tag.as_str(), column)
            })
            .collect();
        let mut runs = Vec::with_capacity(n);
        for (i, row) in rows.iter().enumerate() {
            for (tag, m) in &row.metrics {
                let Some(c) = metrics.get_mut(tag.as_str()) else {
                    continue;
                };
                let MetricOut {
                    last,
                    min,
                    max,
                    first_step,
                    last_step,
                    count,
                    best_step,
                    goal,
                    goal_guessed,
                    at_step,
                    at_step_step,
                    best: _,
                } = *m;
                if !goal_guessed && let Some(g) = goal {
                    c.declared.insert(i, g);
                }
                c.count[i] = Some(count);
                c.first_step[i] = Some(first_step);
                c.last_step[i] = Some(last_step);
                c.last[i] = Some(last);
                c.min[i] = min;
                c.max[i] = max;
                c.best_step[i] = best_step;
                if let Some(a) = &mut c.at_step {
                    a[i] = at_step;
                }
                if let Some(a) = &mut c.at_step_step {
                    a[i] = at_step_step;
                }
            }
            runs.push(RunCore {
                run: &row.run,
                config: &row.config,
                summary: &row.summary,
            });
        }
        ColumnsOut {
            layout: Layout::Columns,
            runs,
            total: table.total,
            config_keys: &table.config_keys,
            metric_tags: &table.metric_tags,
            metrics,
        }
    }
}

/// One kept table.
struct Kept {
    /// The store's generation read before the table was built.
    generation: u64,
    /// When a status in it would change without a commit (seconds since the epoch).
    valid_until: f64,
    table: std::sync::Arc<TableOut>,
    /// Its whole answer in each layout asked for so far.
    bodies: rustc_hash::FxHashMap<Layout, Bytes>,
}

/// The unfiltered run tables last served, with and without archived runs. One request builds
/// a table at a time: another waits for it and answers from it.
#[derive(Default)]
pub(crate) struct TableCache {
    kept: tokio::sync::Mutex<rustc_hash::FxHashMap<bool, Kept>>,
}

impl std::fmt::Debug for TableCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableCache").finish_non_exhaustive()
    }
}

/// `table` (its first `limit` runs) in `layout`, as JSON.
fn body(
    table: &TableOut,
    layout: Layout,
    limit: Option<usize>,
    at_step: bool,
) -> Result<Bytes, ApiError> {
    let rows = &table.runs[..limit.unwrap_or(usize::MAX).min(table.runs.len())];
    match layout {
        Layout::Rows => serde_json::to_vec(&RowsOut {
            runs: rows,
            total: table.total,
            config_keys: &table.config_keys,
            metric_tags: &table.metric_tags,
        }),
        Layout::Columns => serde_json::to_vec(&ColumnsOut::new(table, rows, at_step)),
    }
    .map(Bytes::from)
    .map_err(|e| ApiError::Internal(format!("run table: {e}")))
}

fn json_response(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /api/v1/run_table[?archived=true][&filter=EXPR][&at_step=S][&layout=rows|columns][&limit=N]`:
/// every run (or those the [`crate::runs::filter::Filter`] expression matches; the first
/// `limit`) with its config, user summary and metric summaries (with `at_step`, also each
/// metric's value at step S), plus the union of config keys and metric tags of every run (the
/// table's columns) and `total`, the runs before the limit.
pub(in crate::api) async fn run_table(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<TableParams>,
) -> Result<Response, ApiError> {
    let filter = parse_filter(p.filter.as_deref())?;
    let (layout, limit) = (p.layout, p.limit);
    if filter.is_some() || p.at_step.is_some() {
        let st = state.clone();
        let body = read(&state, move |c| {
            let cx = Context::load(c, &st)?;
            let mut table = table_rows(c, &cx, p.archived, p.at_step)?;
            if let Some(f) = &filter {
                let rows = table.json_rows();
                check_fields(f, &rows)?;
                let mut keep = rows.iter().map(|r| f.matches(r));
                table.runs.retain(|_| keep.next().unwrap_or(false));
                table.total = table.runs.len();
            }
            body(&table, layout, limit, p.at_step.is_some())
        })
        .await?;
        return Ok(json_response(body));
    }
    let mut kept = state.run_table.kept.lock().await;
    let generation = state.store.generation();
    let fresh = kept.get(&p.archived).is_some_and(|k| {
        k.generation == generation && runboard_sdk::event_file::now_secs() < k.valid_until
    });
    if !fresh {
        let st = state.clone();
        let (table, valid_until) = read(&state, move |c| {
            let cx = Context::load(c, &st)?;
            let table = table_rows(c, &cx, p.archived, None)?;
            Ok((table, cx.valid_until.get()))
        })
        .await?;
        let entry = Kept {
            generation,
            valid_until,
            table: std::sync::Arc::new(table),
            bodies: Default::default(),
        };
        kept.insert(p.archived, entry);
    }
    let Some(k) = kept.get_mut(&p.archived) else {
        return Err(ApiError::Internal("run table: not kept".into()));
    };
    if limit.is_none()
        && let Some(b) = k.bodies.get(&layout)
    {
        return Ok(json_response(b.clone()));
    }
    let table = std::sync::Arc::clone(&k.table);
    let b = tokio::task::spawn_blocking(move || body(&table, layout, limit, false))
        .await
        .map_err(|e| ApiError::Internal(format!("run table task failed: {e}")))??;
    if limit.is_none() {
        k.bodies.insert(layout, b.clone());
    }
    Ok(json_response(b))
}

/// Every run's table row, with the union of config keys and metric tags.
pub(super) fn table_rows(
    c: &rusqlite::Connection,
    cx: &Context,
    archived: bool,
    at_step: Option<i64>,
) -> Result<TableOut, ApiError> {
    let rows = experiments::run_rows(c, archived)?;
    let summaries = experiments::metric_summaries(c, None)?;
    let at = match at_step {
        Some(step) => Some(experiments::values_at_step(c, step)?),
        None => None,
    };
    let mut config_keys = BTreeSet::new();
    let mut metric_tags = BTreeSet::new();
    let runs: Vec<TableRunOut> = rows
        .into_iter()
        .map(|r| {
            let id = r.id;
            let metrics = summaries.get(&id).map_or(&[][..], Vec::as_slice);
            let mut row = cx.table_row(r, metrics);
            if let Some(at) = &at {
                for (tag, m) in row.metrics.iter_mut() {
                    if let Some(p) = at.get(&(id, tag.clone())) {
                        m.at_step = Some(Num(p.value));
                        m.at_step_step = Some(p.step);
                    }
                }
            }
            config_keys.extend(row.config.keys().cloned());
            metric_tags.extend(row.metrics.keys().cloned());
            row
        })
        .collect();
    Ok(TableOut {
        total: runs.len(),
        runs,
        config_keys: config_keys.into_iter().collect(),
        metric_tags: metric_tags.into_iter().collect(),
    })
}
