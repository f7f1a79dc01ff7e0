//! TensorBoard's Graphs plugin routes (`/data/plugin/graphs/*`), in TensorBoard 2.21's shapes:
//! which runs have a graph or run metadata (`info`), a run's graph as protobuf text format
//! (`graph`), and a run's metadata of a tag, also as text (`run_metadata`). Graphs are a run's
//! `Event.graph_def`, kept under [`graphs::RUN_GRAPH_TAG`]; run metadata its
//! `Event.tagged_run_metadata`, under its tag (see [`crate::graphs`]).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::super::json::{Ordered, tb_json};
use super::super::{ApiError, ApiQuery, AppState, read};
use super::all_series;
use crate::graphs;
use crate::store::query;
use crate::types::Kind;

#[derive(Serialize)]
struct RunItem {
    run: String,
    /// Run metadata by tag (profiles).
    tags: Ordered<TagItem>,
    run_graph: bool,
}

#[derive(Serialize)]
struct TagItem {
    tag: String,
    conceptual_graph: bool,
    op_graph: bool,
    profile: bool,
}

/// `GET /data/plugin/graphs/info`: `{run: {"run", "tags": {tag: {"tag", "conceptual_graph",
/// "op_graph", "profile"}}, "run_graph"}}` for every run with a graph or run metadata (a
/// profile: per-node times and memory), in start order.
pub(in crate::api) async fn info(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let mut out: Ordered<RunItem> = Ordered::default();
    let item = |run: &str| RunItem {
        run: run.to_owned(),
        tags: Ordered::default(),
        run_graph: false,
    };
    // TensorBoard's order: runs with a graph (its own, or its meta graph's), then those with
    // run metadata only.
    for s in series.iter().filter(|s| graphs::gives_a_graph(s)) {
        out.entry(&s.run, || item(&s.run)).run_graph = true;
    }
    for s in series.iter().filter(|s| graphs::is_run_metadata(s)) {
        let tags = &mut out.entry(&s.run, || item(&s.run)).tags;
        tags.entry(&s.tag, || TagItem {
            tag: s.tag.clone(),
            conceptual_graph: false,
            op_graph: false,
            profile: false,
        })
        .profile = true;
    }
    Ok(tb_json(&out))
}

/// The latest graph of `run`, decoded: its latest `graph_def`, else the graph of its latest
/// meta graph (as TensorBoard's older loader chose); 404 when it has none, 422 when it does not
/// decode.
pub(in crate::api) fn latest_graph(
    c: &rusqlite::Connection,
    run: &str,
) -> Result<runboard_proto::tensorboard::GraphDef, ApiError> {
    let latest = |tag: &str| -> Result<Option<Vec<u8>>, ApiError> {
        let Some(id) = super::tb_series(c, run, tag, Kind::Tensor)? else {
            return Ok(None);
        };
        let Some(row) = query::tensors(c, id)?.pop() else {
            return Ok(None);
        };
        let tensor = crate::store::codec::tensor(&row.data)?;
        Ok(Some(
            tensor.string_val.into_iter().next().unwrap_or_default(),
        ))
    };
    let undecodable = |e| ApiError::Unprocessable(format!("run {run:?}: its graph {e}"));
    if let Some(bytes) = latest(graphs::RUN_GRAPH_TAG)? {
        return graphs::decode(&bytes).map_err(undecodable);
    }
    match latest(graphs::META_GRAPH_TAG)? {
        Some(bytes) => graphs::decode_meta_graph(&bytes)
            .map_err(undecodable)?
            .ok_or_else(|| ApiError::NotFound(format!("run {run:?}: its meta graph has no graph"))),
        None => Err(ApiError::NotFound(format!("no graph for run {run:?}"))),
    }
}

/// The latest run metadata of `run` under `tag`, decoded: 404 when there is none, 422 when it
/// does not decode.
pub(in crate::api) fn latest_run_metadata(
    c: &rusqlite::Connection,
    run: &str,
    tag: &str,
) -> Result<runboard_proto::tensorboard::RunMetadata, ApiError> {
    let none = || ApiError::NotFound(format!("no run metadata for run {run:?}, tag {tag:?}"));
    let id = query::plugin_series(c, run, tag, graphs::RUN_METADATA_PLUGIN)?.ok_or_else(none)?;
    let latest = query::tensors(c, id)?.pop().ok_or_else(none)?;
    let tensor = crate::store::codec::tensor(&latest.data)?;
    let bytes = tensor.string_val.first().map_or(&[][..], Vec::as_slice);
    graphs::decode_run_metadata(bytes).map_err(|e| {
        ApiError::Unprocessable(format!("run {run:?}, tag {tag:?}: its run metadata {e}"))
    })
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct GraphParams {
    run: Option<String>,
    tag: Option<String>,
    conceptual: Option<String>,
    limit_attr_size: Option<String>,
    large_attrs_key: Option<String>,
}

/// `GET /data/plugin/graphs/graph?run=[&limit_attr_size=N&large_attrs_key=K]`: the run's graph
/// (its latest) as protobuf text format (`text/x-protobuf`), attributes over `limit_attr_size`
/// bytes dropped and named under `large_attrs_key` (what TensorBoard's front end asks for).
/// Op graphs of a tag (run metadata) and Keras conceptual graphs are not stored yet: 404.
pub(in crate::api) async fn graph(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<GraphParams>,
) -> Result<Response, ApiError> {
    let Some(run) = p.run else {
        return Err(ApiError::BadRequest(
            "query parameter \"run\" is required".into(),
        ));
    };
    let limit = match p.limit_attr_size.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            ApiError::BadRequest("query parameter `limit_attr_size` must be an integer".into())
        })?),
    };
    if p.conceptual.as_deref() == Some("true") || p.tag.is_some() {
        return Err(ApiError::NotFound(format!(
            "no {} graph for run {run:?}: runboard keeps a run's graph_def only",
            if p.tag.is_some() { "op" } else { "conceptual" }
        )));
    }
    let key = p.large_attrs_key;
    let text = read(&state, move |c| {
        let mut graph = latest_graph(c, &run)?;
        let unprocessable =
            |e: graphs::GraphError| ApiError::Unprocessable(format!("run {run:?}: its graph {e}"));
        graphs::prepare_for_ui(&mut graph, limit, key.as_deref()).map_err(|e| match e {
            graphs::GraphError::Limit(m) => ApiError::BadRequest(m),
            other => unprocessable(other),
        })?;
        Ok(graphs::to_text(&graph))
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/x-protobuf; charset=utf-8")],
        text,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct RunMetadataParams {
    run: Option<String>,
    tag: Option<String>,
}

/// `GET /data/plugin/graphs/run_metadata?run=&tag=`: the run's metadata of that tag (its
/// latest) as protobuf text format, as TensorBoard serves it.
pub(in crate::api) async fn run_metadata(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunMetadataParams>,
) -> Result<Response, ApiError> {
    let (Some(run), Some(tag)) = (p.run, p.tag) else {
        return Err(ApiError::BadRequest(
            "query parameters \"run\" and \"tag\" are required".into(),
        ));
    };
    let text = read(&state, move |c| {
        let m = latest_run_metadata(c, &run, &tag)?;
        Ok(graphs::run_metadata_to_text(&m))
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/x-protobuf; charset=utf-8")],
        text,
    )
        .into_response())
}
