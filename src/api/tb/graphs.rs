//! TensorBoard's Graphs plugin routes (`/data/plugin/graphs/*`), in TensorBoard 2.21's shapes:
//! which runs have a graph (`info`), a run's graph as protobuf text format (`graph`), and run
//! metadata (`run_metadata`, none stored yet: 404). Graphs are a run's `Event.graph_def`, kept
//! under [`graphs::RUN_GRAPH_TAG`] (see [`crate::graphs`]).

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
    /// Op graphs and profiles by tag (run metadata): none stored yet.
    tags: Ordered<()>,
    run_graph: bool,
}

/// `GET /data/plugin/graphs/info`: `{run: {"run", "tags", "run_graph"}}` for every run with a
/// graph, in start order.
pub(in crate::api) async fn info(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let mut out: Ordered<RunItem> = Ordered::default();
    for s in series.iter().filter(|s| graphs::is_run_graph(s)) {
        out.entry(&s.run, || RunItem {
            run: s.run.clone(),
            tags: Ordered::default(),
            run_graph: true,
        });
    }
    Ok(tb_json(&out))
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
/// (its first) as protobuf text format (`text/x-protobuf`), attributes over `limit_attr_size`
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
        let rows = match super::tb_series(c, &run, graphs::RUN_GRAPH_TAG, Kind::Tensor)? {
            Some(id) => query::tensors(c, id)?,
            None => Vec::new(),
        };
        let Some(first) = rows.first() else {
            return Err(ApiError::NotFound(format!("no graph for run {run:?}")));
        };
        let tensor = crate::store::codec::tensor(&first.data)?;
        let bytes = tensor.string_val.first().map_or(&[][..], Vec::as_slice);
        let unprocessable =
            |e: graphs::GraphError| ApiError::Unprocessable(format!("run {run:?}: {e}"));
        let mut graph = graphs::decode(bytes).map_err(unprocessable)?;
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

/// `GET /data/plugin/graphs/run_metadata?run=&tag=`: no run metadata is stored yet, so a 404
/// (after TensorBoard's checks of the parameters).
pub(in crate::api) async fn run_metadata(
    ApiQuery(p): ApiQuery<RunMetadataParams>,
) -> Result<Response, ApiError> {
    let (Some(run), Some(tag)) = (p.run, p.tag) else {
        return Err(ApiError::BadRequest(
            "query parameters \"run\" and \"tag\" are required".into(),
        ));
    };
    Err(ApiError::NotFound(format!(
        "no run metadata for run {run:?}, tag {tag:?}"
    )))
}
