//! TensorBoard's projector plugin routes (`/data/plugin/projector/*`), in TensorBoard 2.21's
//! shapes: the runs with embeddings (`runs`), a run's config (`info`, as
//! `json_format.MessageToJson` writes it), an embedding's values as float32 bytes (`tensor`),
//! its metadata TSV (`metadata`), its bookmarks (`bookmarks`) and its sprite image
//! (`sprite_image`), each optionally cut to `num_rows`. They answer from the store (see
//! `crate::projector` for how the files are read and followed); TensorBoard's answers to
//! missing parameters and unknown runs are 400s here too, with the same words in runboard's
//! JSON error.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prost::Message;
use runboard_proto::tensorboard::projector::ProjectorConfig;
use serde::Deserialize;

use super::super::json::tb_json;
use super::super::{ApiError, ApiQuery, AppState, image_response, read};
use crate::store::query::{self, EmbeddingFile};

/// Whether any run's config names an embedding (the projector is enabled).
pub(in crate::api) async fn has_data(state: &AppState) -> Result<bool, ApiError> {
    read(state, |c| Ok(!query::embeddings(c, None)?.is_empty())).await
}

/// `GET /data/plugin/projector/runs`: the runs whose config names at least one embedding.
pub(in crate::api) async fn runs(State(state): State<AppState>) -> Result<Response, ApiError> {
    let runs = read(&state, |c| {
        let mut runs: Vec<String> = query::embeddings(c, None)?
            .into_iter()
            .map(|e| e.run)
            .collect();
        runs.dedup();
        Ok(runs)
    })
    .await?;
    Ok(tb_json(&runs))
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct Params {
    run: Option<String>,
    name: Option<String>,
    num_rows: Option<String>,
}

/// The `run` parameter, required.
fn run_param(run: Option<String>) -> Result<String, ApiError> {
    run.filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::BadRequest("query parameter \"run\" is required".into()))
}

/// `num_rows`: absent or empty is no limit; anything but an integer > 0 is a 400.
fn num_rows(p: &Option<String>) -> Result<Option<usize>, ApiError> {
    match p.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or_else(|| {
                ApiError::BadRequest("query parameter num_rows must be integer > 0".into())
            }),
    }
}

/// `run`'s config, or TensorBoard's 400 for an unknown run.
fn config(c: &rusqlite::Connection, run: &str) -> Result<ProjectorConfig, ApiError> {
    let bytes = query::projector_config(c, run)?
        .ok_or_else(|| ApiError::BadRequest(format!("Unknown run: \"{run}\"")))?;
    ProjectorConfig::decode(bytes.as_slice())
        .map_err(|e| ApiError::Unprocessable(format!("the stored projector config: {e}")))
}

/// `GET /data/plugin/projector/info?run=R`: the run's config as TensorBoard writes it.
pub(in crate::api) async fn info(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let run = run_param(p.run)?;
    let config = read(&state, move |c| config(c, &run)).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        crate::projector::config_json(&config),
    )
        .into_response())
}

/// The stored embedding `name` of `run` (TensorBoard's lookup: the first entry whose tensor
/// name matches, `:0` implied), with its config entry's paths.
pub(in crate::api) fn embedding(
    c: &rusqlite::Connection,
    run: &str,
    name: &str,
) -> Result<
    (
        query::EmbeddingRow,
        runboard_proto::tensorboard::projector::EmbeddingInfo,
    ),
    ApiError,
> {
    let config = config(c, run)?;
    let Some((seq, info)) = crate::projector::find(&config, name) else {
        return Err(ApiError::BadRequest(format!(
            "Tensor \"{name}\" not found in run \"{run}\"'s projector config"
        )));
    };
    let row = query::embeddings(c, Some(run))?
        .into_iter()
        .find(|e| e.seq == seq as i64)
        .ok_or_else(|| ApiError::BadRequest(format!("Tensor \"{name}\" was not read")))?;
    Ok((row, info.clone()))
}

/// The name parameter, required.
fn name_param(name: Option<String>) -> Result<String, ApiError> {
    name.ok_or_else(|| ApiError::BadRequest("query parameter \"name\" is required".into()))
}

/// `GET /data/plugin/projector/tensor?run=R&name=N[&num_rows=K]`: the values as float32
/// bytes, row by row (the first `K` rows).
pub(in crate::api) async fn tensor(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let run = run_param(p.run)?;
    let name = name_param(p.name)?;
    let rows = num_rows(&p.num_rows)?;
    let bytes = read(&state, move |c| {
        let (e, _) = embedding(c, &run, &name)?;
        if e.rows == 0 {
            return Err(ApiError::BadRequest(
                e.error
                    .unwrap_or_else(|| format!("Tensor \"{name}\" could not be read")),
            ));
        }
        let Some(mut bytes) = query::embedding_values(c, &e)? else {
            return Err(super::super::projector::still_storing());
        };
        if let Some(r) = rows {
            bytes.truncate(r.min(e.rows as usize) * e.dims as usize * 4);
        }
        Ok(bytes)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// One of an embedding's files, or TensorBoard's 400 when the config names none (`what`) or
/// it could not be read (the reason kept at ingest).
async fn file(
    state: &AppState,
    p: Params,
    file: EmbeddingFile,
    what: &'static str,
) -> Result<Vec<u8>, ApiError> {
    let run = run_param(p.run)?;
    let name = name_param(p.name)?;
    read(state, move |c| {
        let (e, info) = embedding(c, &run, &name)?;
        let named = match file {
            EmbeddingFile::Metadata => !info.metadata_path.is_empty(),
            EmbeddingFile::Bookmarks => !info.bookmarks_path.is_empty(),
            EmbeddingFile::Sprite => info.sprite.is_some_and(|s| !s.image_path.is_empty()),
            EmbeddingFile::Pca => true,
        };
        if !named {
            return Err(ApiError::BadRequest(format!(
                "No {what} file found for tensor \"{name}\" in the config file of run \"{run}\""
            )));
        }
        query::embedding_file(c, e.id, file)?.ok_or_else(|| {
            ApiError::BadRequest(
                e.error
                    .unwrap_or_else(|| format!("the {what} file of \"{name}\" was not read")),
            )
        })
    })
    .await
}

/// `GET /data/plugin/projector/metadata?run=R&name=N[&num_rows=K]`: the metadata TSV as
/// logged (its header line and the first `K` rows).
pub(in crate::api) async fn metadata(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let rows = num_rows(&p.num_rows)?;
    let bytes = file(&state, p, EmbeddingFile::Metadata, "metadata").await?;
    let text = String::from_utf8_lossy(&bytes);
    let body = match rows {
        None => text.into_owned(),
        Some(k) => {
            let mut lines = text.split_inclusive('\n');
            let first = lines.next().unwrap_or_default();
            let header = usize::from(first.contains('\t'));
            std::iter::once(first)
                .chain(lines)
                .take(k + header)
                .collect()
        }
    };
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// `GET /data/plugin/projector/bookmarks?run=R&name=N`: the bookmarks file as logged.
pub(in crate::api) async fn bookmarks(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let bytes = file(&state, p, EmbeddingFile::Bookmarks, "bookmarks").await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `GET /data/plugin/projector/sprite_image?run=R&name=N`: the sprite image as logged (with
/// its type when it is a PNG, JPEG or GIF).
pub(in crate::api) async fn sprite_image(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Response, ApiError> {
    let bytes = file(&state, p, EmbeddingFile::Sprite, "sprite image").await?;
    Ok(image_response(bytes))
}
