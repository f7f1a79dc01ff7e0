//! TensorBoard's Custom Scalars plugin routes (`/data/plugin/custom_scalars/*`), in
//! TensorBoard 2.21's shapes: the layout merged over every run (`layout`), the scalars of the
//! tags of a run that a regex matches (`scalars`), and one series for download
//! (`download_data`, the scalars plugin's answer).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::super::json::{Num, Ordered, tb_json};
use super::super::{ApiError, ApiQuery, AppState, read};
use crate::custom_scalars;
use crate::store::query;
use crate::types::Kind;

/// `GET /data/plugin/custom_scalars/layout`: the layouts runs logged, merged in run-name order
/// (each run's latest), as TensorBoard writes it; `{}` when no run has one.
pub(in crate::api) async fn layout(State(state): State<AppState>) -> Result<Response, ApiError> {
    let layouts = read(&state, |c| {
        let mut series: Vec<_> = query::series(c, None)?
            .into_iter()
            .filter(custom_scalars::is_layout)
            .collect();
        series.sort_by(|a, b| a.run.cmp(&b.run));
        let mut layouts = Vec::with_capacity(series.len());
        for s in series {
            let Some(id) = super::tb_series(c, &s.run, &s.tag, Kind::Tensor)? else {
                continue;
            };
            let Some(last) = query::tensors(c, id)?.pop() else {
                continue;
            };
            let tensor = crate::store::codec::tensor(&last.data)?;
            let bytes = tensor.string_val.first().map_or(&[][..], Vec::as_slice);
            let layout = custom_scalars::decode(bytes).map_err(|e| {
                ApiError::Unprocessable(format!(
                    "run {:?}: its custom scalars layout does not decode: {e}",
                    s.run
                ))
            })?;
            layouts.push(layout);
        }
        Ok(layouts)
    })
    .await?;
    match custom_scalars::merge(layouts) {
        Some(merged) => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            custom_scalars::to_json(&merged),
        )
            .into_response()),
        None => Ok(tb_json(&Ordered::<()>::default())),
    }
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct ScalarsParams {
    run: Option<String>,
    tag: Option<String>,
}

#[derive(Serialize)]
struct ScalarsOut {
    regex_valid: bool,
    tag_to_events: Ordered<Vec<(Num, i64, Num)>>,
}

/// `GET /data/plugin/custom_scalars/scalars?run=&tag=REGEX`: `{"regex_valid", "tag_to_events":
/// {tag: [[wall_time, step, value], ...]}}` for every scalar tag of the run that the regex
/// matches at its start (Python's `re.match`), every point; an empty or invalid regex is
/// `regex_valid: false` with no tags, an unknown run no tags.
pub(in crate::api) async fn scalars(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ScalarsParams>,
) -> Result<Response, ApiError> {
    let invalid = || {
        tb_json(&ScalarsOut {
            regex_valid: false,
            tag_to_events: Ordered::default(),
        })
    };
    let Some(pattern) = p.tag.filter(|t| !t.is_empty()) else {
        return Ok(invalid());
    };
    let Ok(regex) = regex::RegexBuilder::new(&format!("^(?:{pattern})"))
        .size_limit(1 << 20)
        .build()
    else {
        return Ok(invalid());
    };
    let run = p.run.unwrap_or_default();
    let payload = read(&state, move |c| {
        let mut payload = Ordered::default();
        for s in query::series(c, Some(&run))? {
            if s.kind != Kind::Scalar || !regex.is_match(&s.tag) {
                continue;
            }
            let Some(id) = super::tb_series(c, &s.run, &s.tag, Kind::Scalar)? else {
                continue;
            };
            let points = query::scalars(c, id, None, None, None)?
                .iter()
                .map(|pt| (Num(pt.wall_time), pt.step, Num(pt.value)))
                .collect();
            payload.0.push((s.tag, points));
        }
        Ok(payload)
    })
    .await?;
    Ok(tb_json(&ScalarsOut {
        regex_valid: true,
        tag_to_events: payload,
    }))
}
