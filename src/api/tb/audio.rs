//! TensorBoard's Audio plugin routes (`/data/plugin/audio/*`), in TensorBoard 2.21's shapes:
//! which runs and tags have clips and how many a step holds at most (`tags`), a tag's clips of
//! one sample index with where to fetch each (`audio`), and a clip's bytes
//! (`individualAudio`). Clips are kept as the audio plugin's `[k, 2]` string tensor (the
//! clip, its label), legacy `Summary.Audio` values converted as TensorBoard converts them.
//! Every step is served (TensorBoard samples 10 a tag).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::super::json::{Num, Ordered, tb_json};
use super::super::{ApiError, ApiQuery, AppState, read};
use super::{TagInfo, all_series, hex_key, parse_hex_key};
use crate::store::{codec, query};
use crate::types::Kind;

pub use runboard_sdk::event::plugin::AUDIO as PLUGIN;

/// The media type of the clips (TensorBoard's for `WAV`).
const WAV: &str = "audio/wav";
/// The media types `individualAudio` serves as (TensorBoard's list).
const ALLOWED: [&str; 2] = [WAV, "application/octet-stream"];

/// A clip's media type: `audio/wav` for a RIFF WAVE file, else `application/octet-stream`.
/// (TensorBoard 2.21 takes it from the plugin metadata, which its data server does not write
/// for a `Summary.Audio`: torch's and tensorboardX's WAV clips come out as
/// `application/octet-stream` there, although their `content_type` says `audio/wav`.)
fn media_type(clip: &[u8]) -> &'static str {
    if clip.len() >= 12 && &clip[..4] == b"RIFF" && &clip[8..12] == b"WAVE" {
        WAV
    } else {
        ALLOWED[1]
    }
}

/// Whether a stored series holds audio.
pub(in crate::api) fn is_audio(s: &query::SeriesInfo) -> bool {
    s.kind == Kind::Tensor && s.plugin == PLUGIN
}

/// The clips of a stored value (their bytes; TensorBoard 2.21 serves no label).
fn clips(data: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    let tensor = codec::tensor(data)?;
    runboard_sdk::event::audio_clips(&tensor)
        .map(|c| c.into_iter().map(|(a, _)| a.to_vec()).collect())
        .ok_or_else(|| ApiError::Unprocessable("stored audio is not a [k, 2] string tensor".into()))
}

/// How many clips a stored value holds: kept beside it (`width`), else read from its bytes.
fn clip_count(
    c: &rusqlite::Connection,
    series: i64,
    row: &query::TensorMeta,
) -> Result<usize, ApiError> {
    match row.width {
        Some(n) => Ok(n as usize),
        None => {
            let data = query::tensor_data(c, series, row.id)?.unwrap_or_default();
            Ok(clips(&data)?.len())
        }
    }
}

/// `GET /data/plugin/audio/tags`: `{run: {tag: {"displayName", "description", "samples"}}}`,
/// `samples` the most clips a step of the tag holds.
pub(in crate::api) async fn tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let wanted: Vec<(String, String)> = series
        .iter()
        .filter(|s| is_audio(s))
        .map(|s| (s.run.clone(), s.tag.clone()))
        .collect();
    let out = read(&state, move |c| {
        let mut out: Ordered<Ordered<TagInfo>> = Ordered::default();
        for (run, tag) in wanted {
            let Some(id) = query::plugin_series(c, &run, &tag, PLUGIN)? else {
                continue;
            };
            let mut samples = 0;
            for row in query::tensor_meta(c, id)? {
                samples = samples.max(clip_count(c, id, &row)?);
            }
            out.entry(&run, Ordered::default).0.push((
                tag,
                TagInfo {
                    display_name: "",
                    description: "",
                    samples: Some(u32::try_from(samples).unwrap_or(u32::MAX)),
                },
            ));
        }
        Ok(out)
    })
    .await?;
    Ok(tb_json(&out))
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct AudioParams {
    run: String,
    tag: String,
    sample: Option<usize>,
}

#[derive(Serialize)]
struct Clip {
    wall_time: Num,
    label: &'static str,
    step: i64,
    #[serde(rename = "contentType")]
    content_type: &'static str,
    query: String,
}

/// `GET /data/plugin/audio/audio?run=&tag=[&sample=]`: `[{"wall_time", "label", "step",
/// "contentType", "query"}]`, one for each step that has a clip at index `sample` (default 0),
/// `query` being what `individualAudio?` takes. `label` is empty, as TensorBoard 2.21 sends it.
pub(in crate::api) async fn audio(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<AudioParams>,
) -> Result<Response, ApiError> {
    let sample = p.sample.unwrap_or(0);
    let (run, tag) = (p.run.clone(), p.tag.clone());
    let rows = read(&state, move |c| {
        match query::plugin_series(c, &run, &tag, PLUGIN)? {
            Some(id) => {
                // The clips are read only for the media type, once: a tag's clips share one
                // writer and one format.
                let mut media = None;
                let mut out = Vec::new();
                for row in query::tensor_meta(c, id)? {
                    if clip_count(c, id, &row)? <= sample {
                        continue;
                    }
                    let kind = match media {
                        Some(m) => m,
                        None => {
                            let data = query::tensor_data(c, id, row.id)?.unwrap_or_default();
                            let m = clips(&data)?
                                .get(sample)
                                .map_or(ALLOWED[1], |c| media_type(c));
                            *media.insert(m)
                        }
                    };
                    out.push((row.id, row.step, row.wall_time, kind));
                }
                Ok(out)
            }
            _ => Err(ApiError::NotFound(format!(
                "no audio data for run {run:?}, tag {tag:?}"
            ))),
        }
    })
    .await?;
    let out: Vec<Clip> = rows
        .into_iter()
        .map(|(id, step, wall_time, media)| Clip {
            wall_time: Num(wall_time),
            label: "",
            step,
            content_type: media,
            query: format!(
                "blob_key={}&content_type={}",
                hex_key(&serde_json::json!([p.run, p.tag, id, sample])),
                media.replace('/', "%2F")
            ),
        })
        .collect();
    Ok(tb_json(&out))
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct IndividualParams {
    blob_key: String,
    content_type: String,
}

/// `GET /data/plugin/audio/individualAudio?blob_key=&content_type=`: the clip's bytes, served
/// as `content_type` (`audio/wav` or `application/octet-stream`, else a 400).
pub(in crate::api) async fn individual_audio(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<IndividualParams>,
) -> Result<Response, ApiError> {
    let Some(media) = ALLOWED.iter().find(|m| **m == p.content_type) else {
        return Err(ApiError::BadRequest(format!(
            "Illegal mime type {:?}",
            p.content_type
        )));
    };
    let (run, tag, id, sample): (String, String, i64, usize) =
        parse_hex_key(&p.blob_key, "an audio key")?;
    let bytes = read(&state, move |c| {
        let series = query::plugin_series(c, &run, &tag, PLUGIN)?.ok_or_else(|| {
            ApiError::NotFound(format!("no audio data for run {run:?}, tag {tag:?}"))
        })?;
        let data = query::tensor_data(c, series, id)?
            .ok_or_else(|| ApiError::NotFound(format!("no clip {id} for this key (purged?)")))?;
        clips(&data)?
            .into_iter()
            .nth(sample)
            .ok_or_else(|| ApiError::NotFound(format!("no clip {sample} at this step")))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, *media),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'",
            ),
        ],
        bytes,
    )
        .into_response())
}
