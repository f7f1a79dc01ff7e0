//! TensorBoard's Mesh plugin routes (`/data/plugin/mesh/*`), in TensorBoard 2.21's shapes:
//! which runs have meshes and how many samples a step holds (`tags`), the parts of a mesh's
//! steps with their metadata (`meshes`), and one part of one sample at one step as a flat
//! binary array (`data`: little-endian float32 vertices, int32 faces, uint8 colours).
//!
//! A mesh is up to three tensor series (see `runboard_sdk::mesh`) whose metadata name the mesh;
//! the routes take the mesh's name as `tag`. Every step is served (TensorBoard samples 100 a
//! series). Where TensorBoard fails with a 500 (a `step` or `sample` that is not a number, a
//! sample the step does not have), runboard answers a 400.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::super::json::{Num, Ordered, tb_json};
use super::super::{ApiError, ApiQuery, AppState, read};
use super::all_series;
use crate::store::{codec, query};
use crate::types::Kind;
use runboard_sdk::mesh::{ContentType, MeshPluginData};

pub use runboard_sdk::event::plugin::MESH as PLUGIN;

/// Whether a stored series holds a part of a mesh.
pub(in crate::api) fn is_mesh(s: &query::SeriesInfo) -> bool {
    s.kind == Kind::Tensor && s.plugin == PLUGIN
}

/// A mesh series' metadata, when TensorBoard would read it (a version it knows, 0).
fn metadata(s: &query::SeriesInfo) -> Option<MeshPluginData> {
    runboard_sdk::mesh::plugin_data(&s.content).filter(|m| m.version == 0)
}

#[derive(Serialize)]
struct Samples {
    samples: i32,
}

/// `GET /data/plugin/mesh/tags`: `{run: {mesh name: {"samples": B}}}` for every run with
/// meshes, `B` the batch size its metadata records.
pub(in crate::api) async fn tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let mut out: Ordered<Ordered<Samples>> = Ordered::default();
    for s in series.iter().filter(|s| is_mesh(s)) {
        let Some(meta) = metadata(s) else { continue };
        let samples = meta.shape.first().copied().unwrap_or(0);
        *out.entry(&s.run, Ordered::default)
            .entry(&meta.name, || Samples { samples }) = Samples { samples };
    }
    Ok(tb_json(&out))
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct MeshParams {
    run: Option<String>,
    tag: Option<String>,
}

/// One stored part: its series' metadata and a row.
struct Part {
    meta: MeshPluginData,
    series: i64,
    row: query::TensorMeta,
}

/// The parts of mesh `tag` in `run`: every step of each of its series (in tag order), each
/// with its series' metadata.
fn parts(c: &rusqlite::Connection, run: &str, tag: &str) -> Result<Vec<Part>, ApiError> {
    let mut out = Vec::new();
    for s in query::series(c, Some(run))?.iter().filter(|s| is_mesh(s)) {
        let Some(meta) = metadata(s).filter(|m| m.name == tag) else {
            continue;
        };
        let Some(series) = query::plugin_series(c, run, &s.tag, PLUGIN)? else {
            continue;
        };
        for row in query::tensor_meta(c, series)? {
            out.push(Part {
                meta: meta.clone(),
                series,
                row,
            });
        }
    }
    Ok(out)
}

/// One part of one step, with TensorBoard's keys in its order.
#[derive(Serialize)]
struct Entry {
    wall_time: Num,
    step: i64,
    content_type: i32,
    components: u32,
    config: String,
    data_shape: Vec<i32>,
}

/// `GET /data/plugin/mesh/meshes?run=R&tag=NAME`: `[{"wall_time", "step", "content_type",
/// "components", "config", "data_shape"}, ...]`, one per part and step, by step (`[]` for an
/// unknown run or mesh, as TensorBoard answers; a 400 without a run or a tag, where it fails).
pub(in crate::api) async fn meshes(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<MeshParams>,
) -> Result<Response, ApiError> {
    let (run, tag) = run_and_tag(p.run, p.tag)?;
    let mut parts = read(&state, move |c| parts(c, &run, &tag)).await?;
    parts.sort_by_key(|p| p.row.step);
    let out: Vec<Entry> = parts
        .into_iter()
        .map(|p| Entry {
            wall_time: Num(p.row.wall_time),
            step: p.row.step,
            content_type: p.meta.content_type,
            components: p.meta.components,
            config: p.meta.json_config,
            data_shape: p.meta.shape,
        })
        .collect();
    Ok(tb_json(&out))
}

/// The `run` and `tag` a route needs (a 400 without them; TensorBoard fails with a 500).
fn run_and_tag(run: Option<String>, tag: Option<String>) -> Result<(String, String), ApiError> {
    match (run, tag) {
        (Some(run), Some(tag)) => Ok((run, tag)),
        _ => Err(ApiError::BadRequest(
            "a mesh is named by its run and tag (?run=&tag=)".into(),
        )),
    }
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct DataParams {
    run: Option<String>,
    tag: Option<String>,
    content_type: Option<String>,
    sample: Option<String>,
    step: Option<String>,
}

/// `GET /data/plugin/mesh/data?run=R&tag=NAME&content_type=VERTEX|FACE|COLOR&step=S&sample=I`:
/// sample `I` (default 0; negative counts from the end, as numpy indexes) of every part of that
/// type logged at step `S` (default 0), as one
/// flat little-endian array: float32 for vertices, int32 for faces, uint8 for colours (the
/// numbers TensorBoard's numpy casts give). A bad `content_type` is TensorBoard's 400 ("Bad
/// content_type").
pub(in crate::api) async fn data(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<DataParams>,
) -> Result<Response, ApiError> {
    let step: f64 = match p.step.as_deref() {
        None => 0.0,
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("step {s:?} is not a number")))?,
    };
    let part = p
        .content_type
        .as_deref()
        .and_then(ContentType::from_str_name)
        .filter(|c| *c != ContentType::Undefined)
        .ok_or_else(|| ApiError::BadRequest("Bad content_type".into()))?;
    let sample: i64 = match p.sample.as_deref() {
        None => 0,
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("sample {s:?} is not a sample index")))?,
    };
    let (run, tag) = run_and_tag(p.run, p.tag)?;
    let bytes = read(&state, move |c| {
        let mut out = Vec::new();
        for p in parts(c, &run, &tag)? {
            if p.meta.content_type != part as i32 || p.row.step as f64 != step {
                continue;
            }
            let data = query::tensor_data(c, p.series, p.row.id)?.unwrap_or_default();
            let tensor = codec::tensor(&data)?;
            let ([b, n, _], values) =
                runboard_sdk::mesh::part_values(&tensor).ok_or_else(|| {
                    ApiError::Unprocessable("a stored mesh part is not [B, N, 3]".into())
                })?;
            let index = if sample < 0 {
                sample + b as i64
            } else {
                sample
            };
            let Some(sample) = usize::try_from(index).ok().filter(|&i| i < b) else {
                return Err(ApiError::BadRequest(format!(
                    "sample {sample} of a step with {b} samples"
                )));
            };
            let values = &values[sample * n * 3..(sample + 1) * n * 3];
            match part {
                ContentType::Vertex => {
                    out.extend(values.iter().flat_map(|&v| (v as f32).to_le_bytes()))
                }
                ContentType::Face => {
                    out.extend(values.iter().flat_map(|&v| (v as i32).to_le_bytes()))
                }
                _ => out.extend(values.iter().map(|&v| v as u8)),
            }
        }
        Ok(out)
    })
    .await?;
    Ok(binary(bytes))
}

/// A binary array (TensorBoard labels it `arraybuffer`, which is not a media type).
fn binary(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}
