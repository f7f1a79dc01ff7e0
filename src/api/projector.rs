//! runboard's projector API, for the dashboard's Projector tab: the embeddings with what was
//! read of them (`/api/v1/projector`), their PCA coordinates as float32 arrays
//! (`/api/v1/projector/pca`), and the nearest neighbours of a point over the full tensor
//! (`/api/v1/projector/neighbors`).
//!
//! The PCA is computed once, when the files are read (`crate::projector::pca`), and only the
//! chosen components travel: a million 128-dimensional points are 12 MB of coordinates to the
//! page instead of 512 MB of values to decompose in a browser tab (where TensorBoard's
//! projector stops at 100,000 points). Neighbours are searched here, over every row.

use std::collections::BinaryHeap;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::json::Num;
use super::{ApiError, ApiQuery, AppState, read};
use crate::store::query::{self, EmbeddingFile};

/// The answer while an embedding's values are still being stored (just after it was listed).
pub(super) fn still_storing() -> ApiError {
    ApiError::NotFound(
        "the embedding's values are still being stored: ask again in a moment".into(),
    )
}

#[derive(Serialize)]
struct EmbeddingOut {
    run: String,
    name: String,
    rows: u64,
    dims: u64,
    metadata: bool,
    bookmarks: bool,
    sprite: bool,
    /// `{"k", "variance", "sampled", "projected"}`, when the tensor was read.
    pca: Option<serde_json::Value>,
    error: Option<String>,
}

/// `GET /api/v1/projector`: every embedding of every run (runs in start order, each run's in
/// its config's order), with what was read of it and why anything was not.
pub(super) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let rows = read(&state, |c| Ok(query::embeddings(c, None)?)).await?;
    let out: Vec<EmbeddingOut> = rows
        .into_iter()
        .map(|e| EmbeddingOut {
            pca: e
                .pca_info
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok()),
            run: e.run,
            name: e.name,
            rows: e.rows,
            dims: e.dims,
            metadata: e.metadata,
            bookmarks: e.bookmarks,
            sprite: e.sprite,
            error: e.error,
        })
        .collect();
    Ok(axum::Json(out).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct PcaParams {
    run: String,
    name: String,
    /// Comma-separated component indices (default `0,1,2`; one to three of them).
    components: Option<String>,
}

/// `GET /api/v1/projector/pca?run=R&name=N&components=0,1,2`: each row's coordinates on the
/// chosen principal components, float32 little-endian, row by row.
pub(super) async fn pca(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<PcaParams>,
) -> Result<Response, ApiError> {
    let components: Vec<usize> = p
        .components
        .as_deref()
        .unwrap_or("0,1,2")
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::BadRequest("components are indices like 0,1,2".into()))?;
    if components.is_empty() || components.len() > 3 {
        return Err(ApiError::BadRequest(
            "ask for one to three components".into(),
        ));
    }
    let bytes = read(&state, move |c| {
        let (e, _) = super::tb::projector_embedding(c, &p.run, &p.name)?;
        let k = e.pca_k as usize;
        if let Some(bad) = components.iter().find(|&&i| i >= k) {
            return Err(ApiError::BadRequest(format!(
                "component {bad} of an embedding with {k}"
            )));
        }
        let coords = query::embedding_file(c, e.id, EmbeddingFile::Pca)?
            .ok_or_else(|| ApiError::BadRequest(e.error.unwrap_or_else(|| "no PCA".into())))?;
        let mut out = Vec::with_capacity(e.rows as usize * components.len() * 4);
        for row in coords.chunks_exact(k * 4) {
            for &i in &components {
                out.extend_from_slice(&row[i * 4..i * 4 + 4]);
            }
        }
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct NeighborParams {
    run: String,
    name: String,
    index: usize,
    /// How many (default 10, at most 1,000).
    k: Option<usize>,
    /// `cosine` (default) or `euclidean`.
    metric: Option<String>,
}

#[derive(Serialize)]
struct Neighbor {
    index: usize,
    distance: Num,
}

/// A candidate in the search: ordered by distance, so the heap's top is the farthest kept.
#[derive(PartialEq)]
struct Candidate(f64, usize);

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// `GET /api/v1/projector/neighbors?run=R&name=N&index=I[&k=10][&metric=cosine]`: the `k`
/// rows nearest to row `I` over the full tensor (not the projection), nearest first:
/// `{"index", "metric", "neighbors": [{"index", "distance"}]}`. Cosine distance is `1 − cos`.
pub(super) async fn neighbors(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<NeighborParams>,
) -> Result<Response, ApiError> {
    let k = p.k.unwrap_or(10).clamp(1, 1000);
    let cosine = match p.metric.as_deref().unwrap_or("cosine") {
        "cosine" => true,
        "euclidean" => false,
        other => {
            return Err(ApiError::BadRequest(format!(
                "metric {other:?}: cosine or euclidean"
            )));
        }
    };
    let index = p.index;
    let found = read(&state, move |c| {
        let (e, _) = super::tb::projector_embedding(c, &p.run, &p.name)?;
        let (rows, dims) = (e.rows as usize, e.dims as usize);
        if index >= rows {
            return Err(ApiError::BadRequest(format!(
                "row {index} of an embedding with {rows}"
            )));
        }
        let tensor = query::embedding_values(c, &e)?.ok_or_else(still_storing)?;
        let values: Vec<f32> = tensor
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let row = |r: usize| &values[r * dims..(r + 1) * dims];
        let norm = |x: &[f32]| x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
        let target = row(index);
        let target_norm = norm(target);
        let mut heap = BinaryHeap::with_capacity(k + 1);
        for r in (0..rows).filter(|&r| r != index) {
            let x = row(r);
            let d = if cosine {
                let dot: f64 = x
                    .iter()
                    .zip(target)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                1.0 - dot / (norm(x) * target_norm).max(f64::MIN_POSITIVE)
            } else {
                x.iter()
                    .zip(target)
                    .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            if d.is_nan() {
                continue;
            }
            heap.push(Candidate(d, r));
            if heap.len() > k {
                heap.pop();
            }
        }
        Ok(heap.into_sorted_vec())
    })
    .await?;
    let neighbors: Vec<Neighbor> = found
        .into_iter()
        .map(|Candidate(d, i)| Neighbor {
            index: i,
            distance: Num(d),
        })
        .collect();
    Ok(axum::Json(serde_json::json!({
        "index": index,
        "metric": if cosine { "cosine" } else { "euclidean" },
        "neighbors": neighbors,
    }))
    .into_response())
}

/// t-SNE jobs: each embedding's 2D t-SNE of an evenly spaced sample, computed on a thread of
/// the server (bhtsne, Barnes–Hut), one at a time, the last few results kept.
///
/// Where and why: t-SNE is quadratic-ish and iterative; TensorBoard runs it in the browser tab
/// and caps it at 10,000 points. Here it runs once on the server with every core, while the
/// page polls for progress, and any number of tabs then read the result. It stays a sample
/// (`max_points`, 10,000 by default, at most [`TSNE_MAX_POINTS`]): PCA draws every point.
#[derive(Debug, Default)]
pub(crate) struct TsneJobs {
    jobs: std::sync::Mutex<Vec<TsneJob>>,
}

/// The most points a t-SNE may embed.
pub const TSNE_MAX_POINTS: usize = 50_000;
/// Finished t-SNEs kept.
const TSNE_KEPT: usize = 4;

#[derive(Debug, Clone, PartialEq)]
struct TsneKey {
    embedding: i64,
    points: usize,
    perplexity: u32,
    epochs: usize,
}

#[derive(Debug)]
struct TsneJob {
    key: TsneKey,
    epoch: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    result: Option<Result<std::sync::Arc<TsneResult>, String>>,
}

#[derive(Debug, Serialize)]
struct TsneResult {
    /// The rows embedded (an evenly spaced sample).
    indices: Vec<usize>,
    /// Their 2D coordinates, `x, y` a row.
    coords: Vec<f32>,
    seconds: f64,
}

#[derive(Debug, Deserialize)]
pub(super) struct TsneParams {
    run: String,
    name: String,
    /// Points embedded at most (default 10,000; at most [`TSNE_MAX_POINTS`]).
    max_points: Option<usize>,
    /// Default 30 (kept below a third of the points).
    perplexity: Option<f64>,
    /// Default 1,000 (at most 5,000).
    epochs: Option<usize>,
}

/// `GET /api/v1/projector/tsne?run=R&name=N[&max_points=10000&perplexity=30&epochs=1000]`: the
/// embedding's t-SNE: `{"state":"done","indices","coords","seconds"}` once computed, else
/// `{"state":"running","epoch","epochs"}` (202; the first request starts it, ask again), or a
/// 503 `busy` while another embedding's t-SNE runs. A failed t-SNE is a 422 saying why.
pub(super) async fn tsne(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<TsneParams>,
) -> Result<Response, ApiError> {
    use std::sync::atomic::Ordering;
    let wanted = p.max_points.unwrap_or(10_000).clamp(3, TSNE_MAX_POINTS);
    let perplexity = p.perplexity.unwrap_or(30.0);
    if !(perplexity.is_finite() && perplexity >= 1.0) {
        return Err(ApiError::BadRequest("perplexity is a number ≥ 1".into()));
    }
    let epochs = p.epochs.unwrap_or(1000).clamp(250, 5000);
    let (run, name) = (p.run.clone(), p.name.clone());
    let e = read(&state, move |c| {
        Ok(super::tb::projector_embedding(c, &run, &name)?.0)
    })
    .await?;
    if e.rows < 3 {
        return Err(ApiError::BadRequest(format!(
            "a t-SNE needs at least 3 points; this embedding has {}",
            e.rows
        )));
    }
    let points = wanted.min(e.rows as usize);
    // Perplexity below a third of the points (bhtsne's bound).
    let perplexity = perplexity.min((points as f64 - 1.0) / 3.0 - 1e-3).max(0.5);
    let key = TsneKey {
        embedding: e.id,
        points,
        perplexity: (perplexity * 100.0) as u32,
        epochs,
    };
    let jobs = std::sync::Arc::clone(&state.tsne);
    let mut list = jobs.jobs.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(at) = list.iter().position(|j| j.key == key) {
        let job = &list[at];
        return Ok(match &job.result {
            Some(Ok(r)) => axum::Json(serde_json::json!({
                "state": "done", "indices": r.indices, "coords": r.coords, "seconds": r.seconds,
            }))
            .into_response(),
            // Said once; the next request tries again.
            Some(Err(why)) => {
                let why = why.clone();
                list.remove(at);
                return Err(ApiError::Unprocessable(why));
            }
            None => (
                axum::http::StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({
                    "state": "running", "epoch": job.epoch.load(Ordering::Relaxed), "epochs": epochs,
                })),
            )
                .into_response(),
        });
    }
    if list.iter().any(|j| j.result.is_none()) {
        // Another embedding's t-SNE is running: ask again when it is done.
        return Err(ApiError::Busy);
    }
    // Keep the last few finished ones.
    while list.len() >= TSNE_KEPT {
        list.remove(0);
    }
    let epoch = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    list.push(TsneJob {
        key: key.clone(),
        epoch: std::sync::Arc::clone(&epoch),
        result: None,
    });
    drop(list);
    let store = state.store.clone();
    let jobs = std::sync::Arc::clone(&state.tsne);
    std::thread::Builder::new()
        .name("runboard-tsne".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_tsne(&store, &key, perplexity as f32, &epoch)
            }))
            .unwrap_or_else(|_| Err("the t-SNE failed".into()))
            .map(|(indices, coords)| {
                std::sync::Arc::new(TsneResult {
                    indices,
                    coords,
                    seconds: started.elapsed().as_secs_f64(),
                })
            });
            let mut list = jobs.jobs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(job) = list.iter_mut().find(|j| j.key == key) {
                job.result = Some(result);
            }
        })
        .map_err(|e| ApiError::Internal(format!("starting a t-SNE thread: {e}")))?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({"state": "running", "epoch": 0, "epochs": epochs})),
    )
        .into_response())
}

/// Reads the sample's rows and runs the t-SNE: the rows embedded and their coordinates.
fn run_tsne(
    store: &crate::store::Store,
    key: &TsneKey,
    perplexity: f32,
    epoch: &std::sync::atomic::AtomicUsize,
) -> Result<(Vec<usize>, Vec<f32>), String> {
    let (rows, dims, bytes) = store
        .read(|c| {
            let e = query::embeddings(c, None)?
                .into_iter()
                .find(|e| e.id == key.embedding);
            let bytes = match &e {
                Some(e) => query::embedding_values(c, e)?.unwrap_or_default(),
                None => Vec::new(),
            };
            let (rows, dims) = e.map_or((0, 0), |e| (e.rows as usize, e.dims as usize));
            Ok((rows, dims, bytes))
        })
        .map_err(|e: crate::store::StoreError| e.to_string())?;
    if rows == 0 || dims == 0 || bytes.len() != rows * dims * 4 {
        return Err(
            "the embedding is gone, or its values are still being stored: ask again".into(),
        );
    }
    let stride = rows.div_ceil(key.points).max(1);
    let indices: Vec<usize> = (0..rows).step_by(stride).take(key.points).collect();
    let sample: Vec<Vec<f32>> = indices
        .iter()
        .map(|&r| {
            bytes[r * dims * 4..(r + 1) * dims * 4]
                .chunks_exact(4)
                .map(|b| {
                    let v = f32::from_le_bytes(b.try_into().expect("4 bytes"));
                    if v.is_finite() { v } else { 0.0 }
                })
                .collect()
        })
        .collect();
    drop(bytes);
    let refs: Vec<&[f32]> = sample.iter().map(Vec::as_slice).collect();
    let mut tsne = bhtsne::tSNE::<f32, &[f32], 2>::new(&refs);
    tsne.perplexity(perplexity)
        .epochs(key.epochs)
        .epoch_callback(|e, _| epoch.store(e, std::sync::atomic::Ordering::Relaxed))
        .barnes_hut(0.5, |a, b| {
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f32>()
                .sqrt()
        });
    Ok((indices, tsne.embedding()))
}
