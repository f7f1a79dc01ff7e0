//! runboard's own JSON API under `/api/v1/`: runs, series, scalars (downsampled on request), other kinds, ingest status, charts.

use axum::extract::State;
use axum::response::{Json, Response};
use serde::{Deserialize, Serialize};

use super::json::Num;
use super::wire::{ScalarsOut, WirePoint, wire_point};
use super::{ApiError, ApiQuery, AppState, read, series_of_kind};
use crate::store::FileProgress;
use crate::store::{codec, query};
use crate::types::{Kind, MaxPoints};

#[derive(Debug, Deserialize)]
pub(super) struct SeriesParams {
    run: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct SeriesOut {
    run: String,
    tag: String,
    kind: Kind,
    plugin: String,
    count: u64,
    first_step: Option<i64>,
    last_step: Option<i64>,
}

/// `GET /api/v1/series[?run=]`: the series of one run (404 if it does not exist) or of all.
pub(super) async fn series(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SeriesParams>,
) -> Result<Json<Vec<SeriesOut>>, ApiError> {
    let series = read(&state, move |c| {
        if let Some(run) = &p.run {
            if !query::runs(c)?.iter().any(|r| &r.name == run) {
                return Err(ApiError::NotFound(format!("no run {run:?}")));
            }
        }
        Ok(query::series(c, p.run.as_deref())?)
    })
    .await?;
    Ok(Json(
        series
            .into_iter()
            .map(|s| SeriesOut {
                run: s.run,
                tag: s.tag,
                kind: s.kind,
                plugin: s.plugin,
                count: s.count,
                first_step: s.first_step,
                last_step: s.last_step,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct ScalarParams {
    run: String,
    tag: String,
    start_step: Option<i64>,
    end_step: Option<i64>,
    max_points: Option<MaxPoints>,
    /// Another scalar series of the run as the x axis, paired by step.
    x: Option<String>,
}

/// `GET /api/v1/scalars?run=&tag=[&start_step=&end_step=&max_points=&x=]`: every point in the
/// step range, or at most `max_points` of them, downsampled so that each bucket's first, last,
/// min and max survive; with `x=TAG`, each paired with the run's `TAG` value at its step
/// ([`crate::runs::xaxis::pair_by_step`]).
pub(super) async fn scalars(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ScalarParams>,
) -> Result<Json<ScalarsOut>, ApiError> {
    check_scalar_range(p.start_step, p.end_step)?;
    let (run, tag, x_tag) = (p.run.clone(), p.tag.clone(), p.x.clone());
    let (points, x) = read(&state, move |c| {
        let id = series_of_kind(c, &run, &tag, Kind::Scalar)?;
        let points = query::scalars(
            c,
            id,
            p.start_step,
            p.end_step,
            p.max_points.map(MaxPoints::get),
        )?;
        with_x(c, &run, x_tag.as_deref(), points)
    })
    .await?;
    Ok(Json(ScalarsOut {
        run: p.run,
        tag: p.tag,
        points: points.iter().map(wire_point).collect(),
        x,
    }))
}

/// `points` of `run`, paired with its series `x_tag` when one is asked for (404 when the run
/// has no such scalar series).
fn with_x(
    c: &rusqlite::Connection,
    run: &str,
    x_tag: Option<&str>,
    points: Vec<crate::store::Point>,
) -> Result<(Vec<crate::store::Point>, Option<Vec<Num>>), ApiError> {
    let Some(x_tag) = x_tag else {
        return Ok((points, None));
    };
    let x_id = series_of_kind(c, run, x_tag, Kind::Scalar)?;
    let xs = query::scalars(c, x_id, None, None, None)?;
    let (kept, x) = crate::runs::xaxis::pair_by_step(&points, &xs);
    Ok((kept, Some(x.into_iter().map(Num).collect())))
}

#[derive(Debug, Deserialize)]
pub(super) struct TagScalarParams {
    tag: String,
    start_step: Option<i64>,
    end_step: Option<i64>,
    max_points: Option<MaxPoints>,
    /// Another scalar series of each run as the x axis, paired by step (runs without it are
    /// left out).
    x: Option<String>,
}

/// One run's points in [`TagScalarsOut`].
#[derive(Debug, Serialize)]
struct RunPoints {
    run: String,
    points: Vec<WirePoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<Vec<Num>>,
}

/// The body of `/api/v1/tag_scalars`.
#[derive(Debug, Serialize)]
pub(super) struct TagScalarsOut {
    tag: String,
    runs: Vec<RunPoints>,
}

/// Checks the step range of a scalar read (`max_points` is checked as it is parsed).
fn check_scalar_range(start_step: Option<i64>, end_step: Option<i64>) -> Result<(), ApiError> {
    if let Some((start, end)) = start_step.zip(end_step).filter(|(s, e)| s > e) {
        return Err(ApiError::BadRequest(format!(
            "start_step {start} is after end_step {end}"
        )));
    }
    Ok(())
}

/// `GET /api/v1/tag_scalars?tag=[&start_step=&end_step=&max_points=&x=]`: the scalar series
/// `tag` of every run that has it (in run start order), each read as `/api/v1/scalars` reads
/// one, so that a chart of many runs is one request. 404 when no run has a scalar series
/// `tag`. With `x=TAG`, runs without a scalar series `TAG` are left out.
pub(super) async fn tag_scalars(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<TagScalarParams>,
) -> Result<Json<TagScalarsOut>, ApiError> {
    check_scalar_range(p.start_step, p.end_step)?;
    let tag = p.tag.clone();
    let runs = read(&state, move |c| {
        let series: Vec<(String, i64)> = query::series_with_tag(c, &tag)?
            .into_iter()
            .filter(|(_, _, k)| *k == Kind::Scalar)
            .map(|(run, id, _)| (run, id))
            .collect();
        if series.is_empty() {
            return Err(ApiError::NotFound(format!(
                "no run has a scalar series {tag:?}"
            )));
        }
        let mut out = Vec::with_capacity(series.len());
        for (run, id) in series {
            if let Some(x) = &p.x
                && !matches!(query::series_id(c, &run, x)?, Some((_, Kind::Scalar)))
            {
                continue;
            }
            let points = query::scalars(
                c,
                id,
                p.start_step,
                p.end_step,
                p.max_points.map(MaxPoints::get),
            )?;
            let (points, x) = with_x(c, &run, p.x.as_deref(), points)?;
            out.push(RunPoints {
                run,
                points: points.iter().map(wire_point).collect(),
                x,
            });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(TagScalarsOut { tag: p.tag, runs }))
}

#[derive(Debug, Deserialize)]
pub(super) struct RunTag {
    run: String,
    tag: String,
}

/// The rows of a non-scalar series of `expected` kind.
async fn tensor_rows(
    state: &AppState,
    p: RunTag,
    expected: Kind,
) -> Result<Vec<query::TensorRow>, ApiError> {
    read(state, move |c| {
        let id = series_of_kind(c, &p.run, &p.tag, expected)?;
        Ok(query::tensors(c, id)?)
    })
    .await
}

#[derive(Debug, Serialize)]
pub(super) struct HistogramOut {
    step: i64,
    wall_time: Num,
    buckets: Vec<[Num; 3]>,
}

/// `GET /api/v1/histograms?run=&tag=`: every histogram, rows `[left, right, count]`.
pub(super) async fn histograms(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunTag>,
) -> Result<Json<Vec<HistogramOut>>, ApiError> {
    let rows = tensor_rows(&state, p, Kind::Histogram).await?;
    let out = rows
        .iter()
        .map(|r| {
            Ok(HistogramOut {
                step: r.step,
                wall_time: Num(r.wall_time),
                buckets: codec::histogram_rows(&r.data)?
                    .into_iter()
                    .map(|b| b.map(Num))
                    .collect(),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(out))
}

#[derive(Debug, Serialize)]
pub(super) struct TextOut {
    step: i64,
    wall_time: Num,
    text: Vec<String>,
    html: String,
}

/// `GET /api/v1/text?run=&tag=`: every text value, its Markdown and the safe HTML of it.
pub(super) async fn text(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunTag>,
) -> Result<Json<Vec<TextOut>>, ApiError> {
    let rows = tensor_rows(&state, p, Kind::Text).await?;
    let out = rows
        .iter()
        .map(|r| {
            let text = codec::text_strings(&r.data)?;
            Ok(TextOut {
                step: r.step,
                wall_time: Num(r.wall_time),
                html: super::markdown::strings_to_safe_html(&text),
                text,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(out))
}

#[derive(Debug, Serialize)]
pub(super) struct ImageOut {
    step: i64,
    wall_time: Num,
    width: Option<u32>,
    height: Option<u32>,
    /// The image's stable id (for `/image?id=`).
    id: i64,
    /// Its place in this list (for `/image?index=`, kept for older clients).
    index: usize,
}

/// `GET /api/v1/images?run=&tag=`: every image's step, size and `id` (for `/image`), read
/// without the images' bytes.
pub(super) async fn images(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunTag>,
) -> Result<Json<Vec<ImageOut>>, ApiError> {
    let rows = read(&state, move |c| {
        let id = series_of_kind(c, &p.run, &p.tag, Kind::Image)?;
        Ok(query::tensor_meta(c, id)?)
    })
    .await?;
    Ok(Json(
        rows.iter()
            .enumerate()
            .map(|(index, r)| ImageOut {
                step: r.step,
                wall_time: Num(r.wall_time),
                width: r.width,
                height: r.height,
                id: r.id,
                index,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct ImageParams {
    run: String,
    tag: String,
    id: Option<i64>,
    index: Option<usize>,
}

/// `GET /api/v1/image?run=&tag=&id=`: one image's bytes, with its media type. The `id` (from
/// `/images`) names that image until a restart purges it (then 404), never another one;
/// `index=` (a place in the list) is still taken, resolved without reading other images.
pub(super) async fn image(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ImageParams>,
) -> Result<Response, ApiError> {
    let data = read(&state, move |c| {
        let series = series_of_kind(c, &p.run, &p.tag, Kind::Image)?;
        let id = match (p.id, p.index) {
            (Some(id), _) => id,
            (None, Some(index)) => query::tensor_meta(c, series)?
                .get(index)
                .map(|m| m.id)
                .ok_or_else(|| {
                    ApiError::NotFound(format!("{:?}/{:?} has no image {index}", p.run, p.tag))
                })?,
            (None, None) => {
                return Err(ApiError::BadRequest(
                    "give the image's id (or index)".into(),
                ));
            }
        };
        query::tensor_data(c, series, id)?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "{:?}/{:?} has no image {id} (any more)",
                p.run, p.tag
            ))
        })
    })
    .await?;
    Ok(super::image_response(data))
}

#[derive(Debug, Serialize)]
pub(super) struct FileOut {
    path: String,
    offset: u64,
    records: u64,
    skipped_records: u64,
    skipped_bytes: u64,
}

/// `GET /api/v1/files`: how far ingest has read each event file, and what it skipped.
pub(super) async fn files(State(state): State<AppState>) -> Result<Json<Vec<FileOut>>, ApiError> {
    let files = read(&state, |c| Ok(query::files(c)?)).await?;
    Ok(Json(
        files
            .into_iter()
            .map(|f: FileProgress| FileOut {
                path: f.path,
                offset: f.offset,
                records: f.records,
                skipped_records: f.skipped_records,
                skipped_bytes: f.skipped_bytes,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use serde_json::json;

    use super::super::testing::*;

    #[tokio::test]
    async fn runs_are_listed_in_start_order() {
        let f = fixture();
        let runs = get_json(&f.router, "/api/v1/runs").await;
        assert_eq!(runs[0]["name"], "train");
        assert_eq!(runs[1]["name"], "eval");
        assert_eq!(runs[0]["started_at"], 1000.0);
        assert_eq!(runs[1]["updated_at"], 5000.0);
        assert!(runs[0]["hparams"].is_null());
        // Each run's colour, the one the server's charts draw it in (by start order).
        assert_eq!(runs[0]["color"], "#1f77b4");
        assert_eq!(runs[1]["color"], "#ff7f0e");
        let mut keys: Vec<&str> = runs[0]
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "archived",
                "color",
                "commit",
                "dirty",
                "display_name",
                "host",
                "hparams",
                "name",
                "notes",
                "seen_at",
                "started_at",
                "status",
                "tags",
                "updated_at"
            ]
        );
    }

    #[tokio::test]
    async fn series_are_listed_with_counts_and_steps() {
        let f = fixture();
        let all = get_json(&f.router, "/api/v1/series").await;
        assert_eq!(all.as_array().expect("array").len(), 7);
        let train = get_json(&f.router, "/api/v1/series?run=train").await;
        let loss = train
            .as_array()
            .expect("array")
            .iter()
            .find(|s| s["tag"] == "loss")
            .expect("loss");
        assert_eq!(
            *loss,
            json!({"run": "train", "tag": "loss", "kind": "scalar", "plugin": "scalars",
                   "count": 5, "first_step": 0, "last_step": 4})
        );
        get_error(
            &f.router,
            "/api/v1/series?run=nope",
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    #[tokio::test]
    async fn scalars_carry_non_finite_values_as_strings() {
        let f = fixture();
        let (status, headers, body) = get(&f.router, "/api/v1/scalars?run=train&tag=loss").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            String::from_utf8_lossy(&body),
            r#"{"run":"train","tag":"loss","points":[[0,1000.0,1.0],[1,1000.25,"NaN"],[2,1000.5,"Infinity"],[3,1000.75,"-Infinity"],[4,1001.0,2.5]]}"#
        );
    }

    #[tokio::test]
    async fn scalars_honour_the_step_range() {
        let f = fixture();
        let v = get_json(
            &f.router,
            "/api/v1/scalars?run=train&tag=spike&start_step=100&end_step=199",
        )
        .await;
        let points = v["points"].as_array().expect("points");
        assert_eq!(points.len(), 100);
        assert_eq!((&points[0][0], &points[99][0]), (&json!(100), &json!(199)));
    }

    #[tokio::test]
    async fn downsampling_keeps_the_ends_and_the_spike() {
        let f = fixture();
        let v = get_json(
            &f.router,
            "/api/v1/scalars?run=train&tag=spike&max_points=100",
        )
        .await;
        let points = v["points"].as_array().expect("points");
        assert!(points.len() <= 100 && points.len() > 10, "{}", points.len());
        assert_eq!(points[0][0], 0);
        assert_eq!(points[points.len() - 1][0], 19_999);
        assert!(points.iter().any(|p| p[0] == 12_345 && p[2] == 1e9));
        let steps: Vec<i64> = points
            .iter()
            .map(|p| p[0].as_i64().expect("step"))
            .collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "order kept");
    }

    #[tokio::test]
    async fn tag_scalars_reads_the_tag_of_every_run() {
        let f = fixture();
        let v = get_json(&f.router, "/api/v1/tag_scalars?tag=loss").await;
        assert_eq!(v["tag"], "loss");
        let runs = v["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2, "{v}");
        assert_eq!(
            (&runs[0]["run"], &runs[1]["run"]),
            (&json!("train"), &json!("eval"))
        );
        assert_eq!(runs[0]["points"].as_array().expect("points").len(), 5);
        assert_eq!(runs[1]["points"], json!([[1, 5000.0, 0.5]]));
        let v = get_json(&f.router, "/api/v1/tag_scalars?tag=spike&max_points=100").await;
        let points = v["runs"][0]["points"].as_array().expect("points");
        assert!(points.len() <= 100, "{}", points.len());
        assert!(
            points.iter().any(|p| p[0] == 12_345 && p[2] == 1e9),
            "spike kept"
        );
        let v = get_json(
            &f.router,
            "/api/v1/tag_scalars?tag=spike&start_step=10&end_step=19",
        )
        .await;
        assert_eq!(v["runs"][0]["points"].as_array().expect("points").len(), 10);
        get_error(
            &f.router,
            "/api/v1/tag_scalars?tag=nope",
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        get_error(
            &f.router,
            "/api/v1/tag_scalars?tag=weights",
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        for uri in [
            "/api/v1/tag_scalars",
            "/api/v1/tag_scalars?tag=loss&max_points=2",
            "/api/v1/tag_scalars?tag=loss&start_step=9&end_step=1",
        ] {
            get_error(&f.router, uri, StatusCode::BAD_REQUEST, "bad_request").await;
        }
    }

    #[tokio::test]
    async fn unknown_runs_and_tags_are_404() {
        let f = fixture();
        for uri in [
            "/api/v1/scalars?run=nope&tag=loss",
            "/api/v1/scalars?run=train&tag=nope",
            "/api/v1/histograms?run=train&tag=nope",
            "/api/v1/text?run=nope&tag=notes",
            "/api/v1/images?run=train&tag=nope",
            "/api/v1/image?run=train&tag=img&index=2",
        ] {
            get_error(&f.router, uri, StatusCode::NOT_FOUND, "not_found").await;
        }
    }

    #[tokio::test]
    async fn another_kind_of_series_is_wrong_kind() {
        let f = fixture();
        let msg = get_error(
            &f.router,
            "/api/v1/scalars?run=train&tag=weights",
            StatusCode::BAD_REQUEST,
            "wrong_kind",
        )
        .await;
        assert!(msg.contains("histogram"), "{msg}");
        get_error(
            &f.router,
            "/api/v1/histograms?run=train&tag=loss",
            StatusCode::BAD_REQUEST,
            "wrong_kind",
        )
        .await;
    }

    #[tokio::test]
    async fn malformed_parameters_are_json_400s() {
        let f = fixture();
        for uri in [
            "/api/v1/scalars?run=train",
            "/api/v1/scalars?tag=loss",
            "/api/v1/scalars",
            "/api/v1/scalars?run=train&tag=loss&max_points=abc",
            "/api/v1/scalars?run=train&tag=loss&max_points=1",
            "/api/v1/scalars?run=train&tag=loss&max_points=4",
            "/api/v1/scalars?run=train&tag=loss&max_points=100001",
            "/api/v1/scalars?run=train&tag=loss&max_points=-5",
            "/api/v1/scalars?run=train&tag=loss&start_step=x",
            "/api/v1/scalars?run=train&tag=loss&end_step=1.5",
            "/api/v1/scalars?run=train&tag=loss&start_step=5&end_step=2",
            "/api/v1/histograms?run=train",
            "/api/v1/image?run=train&tag=img",
            "/api/v1/image?run=train&tag=img&index=first",
        ] {
            get_error(&f.router, uri, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        let msg = get_error(
            &f.router,
            "/api/v1/scalars?run=train",
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(msg.contains("tag"), "{msg}");
        // The bounds themselves are allowed.
        for m in [5, 100_000] {
            get_json(
                &f.router,
                &format!("/api/v1/scalars?run=train&tag=loss&max_points={m}"),
            )
            .await;
        }
    }

    #[tokio::test]
    async fn histograms_are_rows_of_left_right_count() {
        let f = fixture();
        let v = get_json(&f.router, "/api/v1/histograms?run=train&tag=weights").await;
        assert_eq!(
            v,
            json!([
                {"step": 1, "wall_time": 1001.5, "buckets": [[0.0, 1.0, 3.0], [1.0, 2.0, 1.0]]},
                {"step": 2, "wall_time": 1001.5, "buckets": [[0.0, 1.0, 3.0], [1.0, 2.0, 2.0]]},
            ])
        );
    }

    #[tokio::test]
    async fn text_is_markdown_rendered_with_html_escaped() {
        let f = fixture();
        let v = get_json(&f.router, "/api/v1/text?run=train&tag=notes").await;
        assert_eq!(v[0]["step"], 2);
        assert_eq!(v[0]["wall_time"], 1002.0);
        assert_eq!(v[0]["text"], json!([NOTES]));
        let html = v[0]["html"].as_str().expect("html");
        assert!(html.starts_with("<h1>Notes</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("<td>1</td>"), "{html}");
        let pair = get_json(&f.router, "/api/v1/text?run=train&tag=pair").await;
        let html = pair[0]["html"].as_str().expect("html");
        assert!(
            html.starts_with("<table>") && html.contains("&lt;b&gt;x&lt;/b&gt;"),
            "{html}"
        );
    }

    #[tokio::test]
    async fn images_are_listed_and_served() {
        let f = fixture();
        let v = get_json(&f.router, "/api/v1/images?run=train&tag=img").await;
        let ids = image_ids(&f);
        assert_eq!(
            v,
            json!([
                {"step": 3, "wall_time": 1006.0, "width": 4, "height": 3, "id": ids[0], "index": 0},
                {"step": 4, "wall_time": 1007.0, "width": 4, "height": 3, "id": ids[1], "index": 1},
            ])
        );
        for uri in [
            format!("/api/v1/image?run=train&tag=img&id={}", ids[1]),
            "/api/v1/image?run=train&tag=img&index=1".to_owned(),
        ] {
            let (status, headers, body) = get(&f.router, &uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert_eq!(headers[header::CONTENT_TYPE], "image/png");
            assert_eq!(&body[..], PNG);
        }
        // An id of another series (a histogram row) is not an image of this one.
        get_error(
            &f.router,
            "/api/v1/image?run=train&tag=img&id=1",
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }

    #[tokio::test]
    async fn an_image_named_before_a_restart_is_that_image_or_gone_never_another() {
        use crate::store::{Batch, Item};
        use runboard_sdk::event::{Image, Value};
        let f = fixture();
        let listed = get_json(&f.router, "/data/plugin/images/images?run=train&tag=img").await;
        let key_of_step_4 = listed[1]["query"].as_str().expect("query").to_owned();
        let id_of_step_3 = image_ids(&f)[0];
        // The run logs step 5, then restarts at step 4 with another image: what it logged at
        // steps 4 and 5 before the restart is purged (TensorBoard's rule), step 3 stays.
        let image = |step: i64, bytes: &[u8]| Item::Value {
            tag: "img".into(),
            step,
            wall_time: 2000.0 + step as f64,
            value: Value::Images(vec![Image {
                width: 1,
                height: 1,
                encoded: bytes.to_vec(),
            }]),
        };
        f.state
            .store
            .submit(Batch {
                run: crate::types::RunName::new("train").unwrap(),
                items: vec![image(5, b"GIF89a-step-5"), image(4, b"GIF89a-step-4-again")],
                progress: None,
                dedup: None,
            })
            .unwrap();
        f.state.store.flush().unwrap();
        // By position, the old key would now serve the new image; by id it is gone.
        get_error(
            &f.router,
            &format!("/data/plugin/images/individualImage?{key_of_step_4}"),
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let (status, _, body) = get(
            &f.router,
            &format!("/api/v1/image?run=train&tag=img&id={id_of_step_3}"),
        )
        .await;
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, PNG),
            "step 3's image is still itself"
        );
    }

    #[tokio::test]
    async fn files_report_ingest_progress() {
        let f = fixture();
        let v = get_json(&f.router, "/api/v1/files").await;
        assert_eq!(
            v,
            json!([{"path": "train/events.out.tfevents.1", "offset": 4096, "records": 12,
                    "skipped_records": 1, "skipped_bytes": 17}])
        );
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct GraphViewParams {
    run: String,
    /// Also list the ops whose names contain this (case-insensitive).
    find: Option<String>,
    /// Add each node's compute time and memory from the run's metadata of this tag.
    profile: Option<String>,
}

/// `GET /api/v1/graph?run=[&open=SCOPE...][&find=TEXT]`: the run's latest graph as a graph view
/// draws it ([`crate::graphs::view`]): scopes collapsed but those `open` names (repeatable;
/// a scope shows once its enclosing scopes are open too), each visible node with its parent
/// scope, the edges between visible nodes with counts and tensor shapes; with `find`, the
/// names of matching ops; with `profile=TAG`, each node's compute time and memory from the
/// run's metadata of that tag (torch's `add_graph` writes `step1`). 404 for a run without a
/// graph or without that run metadata; 422 for stored bytes that do not decode.
pub(super) async fn graph_view(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<GraphViewParams>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Json<crate::graphs::view::GraphView>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
    let open: std::collections::BTreeSet<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "open")
        .map(|(_, v)| v.trim_matches('/').to_owned())
        .collect();
    read(&state, move |c| {
        let graph = super::tb::latest_graph(c, &p.run)?;
        let profile = match &p.profile {
            Some(tag) => Some(crate::graphs::view::Profile::of(
                &super::tb::latest_run_metadata(c, &p.run, tag)?,
            )),
            None => None,
        };
        Ok(Json(crate::graphs::view::view(
            &graph,
            &open,
            p.find.as_deref(),
            profile.as_ref(),
        )))
    })
    .await
}
