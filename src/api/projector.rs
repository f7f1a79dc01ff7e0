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
        let tensor = query::embedding_tensor(c, e.id, None)?;
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
