//! TensorBoard's HTTP data API under `/data/`, answered from the store at full fidelity (no sampling) in TensorBoard's exact shapes.
//!
//! Every JSON answer is encoded as TensorBoard's Python encodes it ([`tb_json`]): same keys in
//! the same order, `1.0` not `1`, NaN and infinities as strings. Where TensorBoard answers an
//! unknown run or tag with a plain-text 404, runboard answers a JSON 404 (`not_found`); where
//! it answers an empty list (text), so does runboard.

use axum::extract::{Form, FromRequest, Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::error::from_rejection;
use super::json::{Num, Ordered, tb_json};
use super::markdown::strings_to_safe_html;
use super::{ApiError, ApiQuery, AppState, read};
use crate::format::py_repr;
use crate::store::codec;
use crate::store::query::{self, SeriesInfo, TensorRow};
use crate::types::Kind;

/// Every series (all runs, start order, then tag).
async fn all_series(state: &AppState) -> Result<Vec<SeriesInfo>, ApiError> {
    read(state, |c| Ok(query::series(c, None)?)).await
}

/// The id of `run`/`tag` if it holds `expected` data; TensorBoard treats another kind as absent.
fn tb_series(
    c: &Connection,
    run: &str,
    tag: &str,
    expected: Kind,
) -> Result<Option<i64>, ApiError> {
    Ok(query::series_id(c, run, tag)?
        .filter(|(_, k)| *k == expected)
        .map(|(id, _)| id))
}

/// The rows of `run`/`tag` of kind `expected`; 404 when there is no such series.
async fn tb_rows(
    state: &AppState,
    run: String,
    tag: String,
    expected: Kind,
) -> Result<Vec<TensorRow>, ApiError> {
    read(state, move |c| match tb_series(c, &run, &tag, expected)? {
        Some(id) => Ok(query::tensors(c, id)?),
        None => Err(ApiError::NotFound(format!(
            "no {expected} data for run {run:?}, tag {tag:?}"
        ))),
    })
    .await
}

/// `GET /data/runs`: run names in start order.
pub(super) async fn runs(State(state): State<AppState>) -> Result<Response, ApiError> {
    let runs = read(&state, |c| Ok(query::runs(c)?)).await?;
    let names: Vec<String> = runs.into_iter().map(|r| r.name).collect();
    Ok(tb_json(&names))
}

#[derive(Serialize)]
struct Environment {
    version: String,
    data_location: String,
    window_title: String,
    experiment_name: &'static str,
    experiment_description: &'static str,
    creation_time: i64,
}

/// `GET /data/environment`.
pub(super) async fn environment(State(state): State<AppState>) -> Response {
    tb_json(&Environment {
        version: format!("runboard {}", env!("CARGO_PKG_VERSION")),
        data_location: state
            .logdir
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        window_title: state.window_title.clone(),
        experiment_name: "",
        experiment_description: "",
        creation_time: 0,
    })
}

#[derive(Serialize)]
struct LoadingMechanism {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    element_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    module_path: Option<&'static str>,
}

#[derive(Serialize)]
struct PluginListing {
    disable_reload: bool,
    enabled: bool,
    remove_dom: bool,
    tab_name: &'static str,
    loading_mechanism: LoadingMechanism,
}

/// How TensorBoard 2.21 lists a plugin's front end.
enum Frontend {
    Angular,
    Element(&'static str),
    Iframe(&'static str),
}

/// TensorBoard 2.21's plugins in its order: (name, tab name, disable_reload, front end).
const PLUGINS: [(&str, &str, bool, Frontend); 16] = [
    ("timeseries", "Time Series", false, Frontend::Angular),
    (
        "scalars",
        "scalars",
        false,
        Frontend::Element("tf-scalar-dashboard"),
    ),
    (
        "custom_scalars",
        "Custom Scalars",
        false,
        Frontend::Element("tf-custom-scalar-dashboard"),
    ),
    (
        "images",
        "images",
        false,
        Frontend::Element("tf-image-dashboard"),
    ),
    (
        "audio",
        "audio",
        false,
        Frontend::Element("tf-audio-dashboard"),
    ),
    ("debugger-v2", "Debugger V2", false, Frontend::Angular),
    (
        "graphs",
        "graphs",
        true,
        Frontend::Element("tf-graph-dashboard"),
    ),
    (
        "distributions",
        "distributions",
        false,
        Frontend::Element("tf-distribution-dashboard"),
    ),
    (
        "histograms",
        "histograms",
        false,
        Frontend::Element("tf-histogram-dashboard"),
    ),
    (
        "text",
        "text",
        false,
        Frontend::Element("tf-text-dashboard"),
    ),
    (
        "pr_curves",
        "PR Curves",
        false,
        Frontend::Element("tf-pr-curve-dashboard"),
    ),
    (
        "profile_redirect",
        "Profile",
        false,
        Frontend::Element("tf-profile-redirect-dashboard"),
    ),
    (
        "hparams",
        "hparams",
        false,
        Frontend::Element("tf-hparams-dashboard"),
    ),
    ("mesh", "mesh", false, Frontend::Element("mesh-dashboard")),
    (
        "wit_redirect",
        "What-If Tool",
        false,
        Frontend::Element("tf-wit-redirect-dashboard"),
    ),
    (
        "projector",
        "projector",
        true,
        Frontend::Iframe("/data/plugin/projector/index.js"),
    ),
];

/// `GET /data/plugins_listing`: TensorBoard's plugins, enabled where runboard serves the
/// plugin's routes and the store holds its kind of data (`timeseries` always).
pub(super) async fn plugins_listing(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let has = |k: Kind| series.iter().any(|s| s.kind == k);
    let mut out = Ordered::default();
    for (name, tab_name, disable_reload, frontend) in PLUGINS {
        let enabled = match name {
            "timeseries" => true,
            "scalars" => has(Kind::Scalar),
            "histograms" | "distributions" => has(Kind::Histogram),
            "text" => has(Kind::Text),
            "images" => has(Kind::Image),
            "graphs" => series.iter().any(crate::graphs::gives_a_graph),
            "custom_scalars" => series.iter().any(crate::custom_scalars::is_layout),
            "hparams" => hparams::has_data(&state).await?,
            "pr_curves" => series.iter().any(pr_curves::is_pr_curve),
            "audio" => series.iter().any(audio::is_audio),
            "mesh" => series.iter().any(mesh::is_mesh),
            "projector" => projector::has_data(&state).await?,
            _ => false,
        };
        let loading_mechanism = match frontend {
            Frontend::Angular => LoadingMechanism {
                kind: "NG_COMPONENT",
                element_name: None,
                module_path: None,
            },
            Frontend::Element(e) => LoadingMechanism {
                kind: "CUSTOM_ELEMENT",
                element_name: Some(e),
                module_path: None,
            },
            Frontend::Iframe(m) => LoadingMechanism {
                kind: "IFRAME",
                element_name: None,
                module_path: Some(m),
            },
        };
        out.0.push((
            name.to_owned(),
            PluginListing {
                disable_reload,
                enabled,
                remove_dom: false,
                tab_name,
                loading_mechanism,
            },
        ));
    }
    Ok(tb_json(&out))
}

#[derive(Serialize)]
pub(in crate::api) struct TagInfo {
    #[serde(rename = "displayName")]
    display_name: &'static str,
    description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples: Option<u32>,
}

/// `{run: {tag: {"displayName", "description"[, "samples"]}}}` for the series of `k`.
async fn tags_of(state: &AppState, k: Kind, samples: Option<u32>) -> Result<Response, ApiError> {
    let series = all_series(state).await?;
    let mut out: Ordered<Ordered<TagInfo>> = Ordered::default();
    for s in series.iter().filter(|s| s.kind == k) {
        out.entry(&s.run, Ordered::default).0.push((
            s.tag.clone(),
            TagInfo {
                display_name: "",
                description: "",
                samples,
            },
        ));
    }
    Ok(tb_json(&out))
}

/// `GET /data/plugin/scalars/tags`.
pub(super) async fn scalar_tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    tags_of(&state, Kind::Scalar, None).await
}

/// `GET /data/plugin/histograms/tags` and `/data/plugin/distributions/tags`.
pub(super) async fn histogram_tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    tags_of(&state, Kind::Histogram, None).await
}

/// `GET /data/plugin/images/tags` (the store keeps one image per step: `samples` is 1).
pub(super) async fn image_tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    tags_of(&state, Kind::Image, Some(1)).await
}

/// `GET /data/plugin/text/tags`: `{run: [tag, ...]}`.
pub(super) async fn text_tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let mut out: Ordered<Vec<String>> = Ordered::default();
    for s in series.iter().filter(|s| s.kind == Kind::Text) {
        out.entry(&s.run, Vec::new).push(s.tag.clone());
    }
    Ok(tb_json(&out))
}

#[derive(Debug, Deserialize)]
pub(super) struct RunTag {
    run: String,
    tag: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct ScalarParams {
    run: String,
    tag: String,
    format: Option<String>,
}

/// `GET /data/plugin/scalars/scalars?run=&tag=[&format=csv]`: `[[wall_time, step, value]]`
/// with every point, or the same as `Wall time,Step,Value` CSV rows.
pub(super) async fn scalars(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ScalarParams>,
) -> Result<Response, ApiError> {
    if p.format.as_deref() == Some("csv") {
        let points = scalar_points(&state, p.run, p.tag).await?;
        let mut csv = String::with_capacity(32 + points.len() * 40);
        csv.push_str("Wall time,Step,Value\r\n");
        for pt in &points {
            csv.push_str(&format!(
                "{},{},{}\r\n",
                py_repr(pt.wall_time),
                pt.step,
                py_repr(pt.value)
            ));
        }
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response());
    }
    scalars_json(&state, p.run, p.tag).await
}

/// Every point of a scalar series; a 404 when the run has no such scalar tag.
async fn scalar_points(
    state: &AppState,
    run: String,
    tag: String,
) -> Result<Vec<crate::store::chunk::Point>, ApiError> {
    read(state, move |c| {
        match tb_series(c, &run, &tag, Kind::Scalar)? {
            Some(id) => Ok(query::scalars(c, id, None, None, None)?),
            None => Err(ApiError::NotFound(format!(
                "no scalar data for run {run:?}, tag {tag:?}"
            ))),
        }
    })
    .await
}

/// `[[wall_time, step, value], ...]`: every point of a scalar series, as TensorBoard's
/// scalars plugin answers.
async fn scalars_json(state: &AppState, run: String, tag: String) -> Result<Response, ApiError> {
    let points = scalar_points(state, run, tag).await?;
    let rows: Vec<(Num, i64, Num)> = points
        .iter()
        .map(|pt| (Num(pt.wall_time), pt.step, Num(pt.value)))
        .collect();
    Ok(tb_json(&rows))
}

/// `GET /data/plugin/histograms/histograms?run=&tag=`:
/// `[[wall_time, step, [[left, right, count], ...]], ...]`, every histogram.
pub(super) async fn histograms(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunTag>,
) -> Result<Response, ApiError> {
    let rows = tb_rows(&state, p.run, p.tag, Kind::Histogram).await?;
    let mut out: Vec<(Num, i64, Vec<[Num; 3]>)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let buckets = codec::histogram_rows(&r.data)?;
        out.push((
            Num(r.wall_time),
            r.step,
            buckets.into_iter().map(|b| b.map(Num)).collect(),
        ));
    }
    Ok(tb_json(&out))
}

/// TensorBoard's distribution basis points (hundredths of a percent), those of a normal
/// distribution's -inf, -1.5σ, -σ, -0.5σ, 0, ... +inf.
const NORMAL_HISTOGRAM_BPS: [u32; 9] = [0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000];

/// A histogram's values at TensorBoard's basis points (those of a normal distribution), by linear interpolation of its cumulative
/// counts: TensorBoard's `compressor.compress_histogram`, step for step (same rounding).
pub fn compress_histogram(buckets: &[[f64; 3]]) -> Vec<(u32, f64)> {
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return NORMAL_HISTOGRAM_BPS.iter().map(|&b| (b, 0.0)).collect();
    };
    let (min, max) = (first[0], last[1]);
    let total: f64 = buckets.iter().map(|b| b[2]).sum();
    let total = if total == 0.0 { 1.0 } else { total };
    let full = f64::from(NORMAL_HISTOGRAM_BPS[NORMAL_HISTOGRAM_BPS.len() - 1]);
    let weights: Vec<f64> = buckets
        .iter()
        .scan(0.0, |acc, b| {
            *acc += b[2] * full / total;
            Some(*acc)
        })
        .collect();
    let lerp = |x: f64, x0: f64, x1: f64, y0: f64, y1: f64| y0 + (x - x0) * (y1 - y0) / (x1 - x0);
    let mut out = Vec::with_capacity(NORMAL_HISTOGRAM_BPS.len());
    'points: for &bp in &NORMAL_HISTOGRAM_BPS {
        let x = f64::from(bp);
        let mut i = weights.partition_point(|w| *w <= x);
        loop {
            let Some(&cumsum) = weights.get(i) else {
                break 'points;
            };
            let prev = if i > 0 { weights[i - 1] } else { 0.0 };
            if cumsum == prev {
                i += 1;
                continue;
            }
            let lhs = if i == 0 || prev == 0.0 {
                min
            } else {
                buckets[i - 1][1].max(min)
            };
            let rhs = buckets[i][1].min(max);
            out.push((bp, lerp(x, prev, cumsum, lhs, rhs)));
            break;
        }
    }
    for &bp in &NORMAL_HISTOGRAM_BPS[out.len()..] {
        out.push((bp, max));
    }
    out
}

/// One step of a distribution: `[wall_time, step, [[basis_point, value], ...]]`.
type Distribution = (Num, i64, Vec<(u32, Num)>);

/// `GET /data/plugin/distributions/distributions?run=&tag=`:
/// `[[wall_time, step, [[basis_point, value], ...]], ...]`.
pub(super) async fn distributions(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunTag>,
) -> Result<Response, ApiError> {
    let rows = tb_rows(&state, p.run, p.tag, Kind::Histogram).await?;
    let mut out: Vec<Distribution> = Vec::with_capacity(rows.len());
    for r in &rows {
        let compressed = compress_histogram(&codec::histogram_rows(&r.data)?);
        out.push((
            Num(r.wall_time),
            r.step,
            compressed.into_iter().map(|(bp, v)| (bp, Num(v))).collect(),
        ));
    }
    Ok(tb_json(&out))
}

#[derive(Serialize)]
struct TextDatum {
    wall_time: Num,
    step: i64,
    text: String,
}

/// `GET /data/plugin/text/text?run=&tag=`: `[{"wall_time", "step", "text": html}]`; an
/// unknown run or tag is an empty list, as in TensorBoard.
pub(super) async fn text(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<RunTag>,
) -> Result<Response, ApiError> {
    let rows = read(&state, move |c| {
        match tb_series(c, &p.run, &p.tag, Kind::Text)? {
            Some(id) => Ok(query::tensors(c, id)?),
            None => Ok(Vec::new()),
        }
    })
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(TextDatum {
            wall_time: Num(r.wall_time),
            step: r.step,
            text: strings_to_safe_html(&codec::text_strings(&r.data)?),
        });
    }
    Ok(tb_json(&out))
}

/// An image's opaque key: the hex of the JSON `[run, tag, index]` (URL-safe as it is).
pub fn image_key(run: &str, tag: &str, id: i64) -> String {
    hex_key(&serde_json::json!([run, tag, id]))
}

/// An opaque key: the hex of a JSON value (only ASCII hex digits, safe in any URL).
fn hex_key(value: &serde_json::Value) -> String {
    value
        .to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of a [`hex_key`], read as `T`; a 400 naming `what` when it is not one.
fn parse_hex_key<T: serde::de::DeserializeOwned>(key: &str, what: &str) -> Result<T, ApiError> {
    let bad = || ApiError::BadRequest(format!("not {what}: {key:?}"));
    if key.len() % 2 != 0 || !key.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&key[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// The `(run, tag, id)` of an [`image_key`].
fn parse_image_key(key: &str) -> Result<(String, String, i64), ApiError> {
    parse_hex_key(key, "an image key")
}

/// The bytes of the image an [`image_key`] names, with their media type.
async fn image_response(state: &AppState, key: &str) -> Result<Response, ApiError> {
    let (run, tag, id) = parse_image_key(key)?;
    let data = read(state, move |c| {
        let series = tb_series(c, &run, &tag, Kind::Image)?.ok_or_else(|| {
            ApiError::NotFound(format!("no image data for run {run:?}, tag {tag:?}"))
        })?;
        query::tensor_data(c, series, id)?
            .ok_or_else(|| ApiError::NotFound(format!("no image {id} for this key (purged?)")))
    })
    .await?;
    Ok(super::image_response(data))
}

#[derive(Debug, Deserialize)]
pub(super) struct ImagesParams {
    run: String,
    tag: String,
    sample: Option<usize>,
}

#[derive(Serialize)]
struct ImageDatum {
    wall_time: Num,
    step: i64,
    query: String,
}

/// `GET /data/plugin/images/images?run=&tag=[&sample=]`: `[{"wall_time", "step", "query"}]`,
/// `query` being what `individualImage?` takes.
pub(super) async fn images(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ImagesParams>,
) -> Result<Response, ApiError> {
    let sample = p.sample.unwrap_or(0);
    let (run, tag) = (p.run.clone(), p.tag.clone());
    let rows = read(&state, move |c| {
        match tb_series(c, &run, &tag, Kind::Image)? {
            Some(id) => Ok(query::tensor_meta(c, id)?),
            None => Err(ApiError::NotFound(format!(
                "no image data for run {run:?}, tag {tag:?}"
            ))),
        }
    })
    .await?;
    let out: Vec<ImageDatum> = if sample == 0 {
        rows.iter()
            .map(|r| ImageDatum {
                wall_time: Num(r.wall_time),
                step: r.step,
                query: format!("blob_key={}", image_key(&p.run, &p.tag, r.id)),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(tb_json(&out))
}

#[derive(Debug, Deserialize)]
pub(super) struct BlobKey {
    blob_key: String,
}

/// `GET /data/plugin/images/individualImage?blob_key=`: the image's bytes.
pub(super) async fn individual_image(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<BlobKey>,
) -> Result<Response, ApiError> {
    image_response(&state, &p.blob_key).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ImageId {
    #[serde(rename = "imageId")]
    image_id: String,
}

/// `GET /data/plugin/timeseries/imageData?imageId=`: the image's bytes.
pub(super) async fn image_data(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<ImageId>,
) -> Result<Response, ApiError> {
    image_response(&state, &p.image_id).await
}

#[derive(Serialize)]
struct RunTagInfo {
    #[serde(rename = "runTagInfo")]
    run_tag_info: Ordered<Vec<String>>,
    #[serde(rename = "tagDescriptions")]
    tag_descriptions: Ordered<String>,
}

#[derive(Serialize)]
struct SamplesPerStep {
    #[serde(rename = "maxSamplesPerStep")]
    max_samples_per_step: u32,
}

#[derive(Serialize)]
struct ImageTagInfo {
    #[serde(rename = "tagDescriptions")]
    tag_descriptions: Ordered<String>,
    #[serde(rename = "tagRunSampledInfo")]
    tag_run_sampled_info: Ordered<Ordered<SamplesPerStep>>,
}

#[derive(Serialize)]
struct TimeSeriesTags {
    scalars: RunTagInfo,
    histograms: RunTagInfo,
    images: ImageTagInfo,
}

/// `GET /data/plugin/timeseries/tags`.
pub(super) async fn timeseries_tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let run_tags = |k: Kind| {
        let mut info: Ordered<Vec<String>> = Ordered::default();
        for s in series.iter().filter(|s| s.kind == k) {
            info.entry(&s.run, Vec::new).push(s.tag.clone());
        }
        RunTagInfo {
            run_tag_info: info,
            tag_descriptions: Ordered::default(),
        }
    };
    let mut sampled: Ordered<Ordered<SamplesPerStep>> = Ordered::default();
    for s in series.iter().filter(|s| s.kind == Kind::Image) {
        sampled.entry(&s.tag, Ordered::default).0.push((
            s.run.clone(),
            SamplesPerStep {
                max_samples_per_step: 1,
            },
        ));
    }
    Ok(tb_json(&TimeSeriesTags {
        scalars: run_tags(Kind::Scalar),
        histograms: run_tags(Kind::Histogram),
        images: ImageTagInfo {
            tag_descriptions: Ordered::default(),
            tag_run_sampled_info: sampled,
        },
    }))
}

#[derive(Debug, Deserialize)]
struct RequestsField {
    requests: Option<String>,
}

/// The `requests` field of a timeSeries call: the query string (GET), or a url-encoded or
/// multipart form (POST; TensorBoard's front end sends multipart `FormData`).
async fn requests_field(state: &AppState, req: Request) -> Result<Option<String>, ApiError> {
    if req.method() == Method::GET {
        let (mut parts, _) = req.into_parts();
        let ApiQuery(f) =
            <ApiQuery<RequestsField> as axum::extract::FromRequestParts<AppState>>::from_request_parts(
                &mut parts, state,
            )
            .await?;
        return Ok(f.requests);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(&content_type)
            .map_err(|e| ApiError::BadRequest(format!("bad multipart form: {e}")))?;
        let mut form = multer::Multipart::new(req.into_body().into_data_stream(), boundary);
        let bad = |e: multer::Error| ApiError::BadRequest(format!("bad multipart form: {e}"));
        while let Some(field) = form.next_field().await.map_err(bad)? {
            if field.name() == Some("requests") {
                return Ok(Some(field.text().await.map_err(bad)?));
            }
        }
        return Ok(None);
    }
    match Form::<RequestsField>::from_request(req, state).await {
        Ok(Form(f)) => Ok(f.requests),
        Err(rejection) => Err(from_rejection(rejection.status(), rejection.body_text())),
    }
}

#[derive(Serialize)]
struct ScalarStep {
    #[serde(rename = "wallTime")]
    wall_time: Num,
    step: i64,
    value: Num,
}

#[derive(Serialize)]
struct HistogramBin {
    min: Num,
    max: Num,
    count: Num,
}

#[derive(Serialize)]
struct HistogramStep {
    #[serde(rename = "wallTime")]
    wall_time: Num,
    step: i64,
    bins: Vec<HistogramBin>,
}

#[derive(Serialize)]
struct ImageStep {
    step: i64,
    #[serde(rename = "wallTime")]
    wall_time: Num,
    #[serde(rename = "imageId")]
    image_id: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum StepData {
    Scalars(Vec<ScalarStep>),
    Histograms(Vec<HistogramStep>),
    Images(Vec<ImageStep>),
}

#[derive(Serialize)]
struct TimeSeriesOut {
    plugin: serde_json::Value,
    tag: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    #[serde(rename = "runToSeries", skip_serializing_if = "Option::is_none")]
    run_to_series: Option<Ordered<StepData>>,
}

/// One timeSeries request answered as TensorBoard's metrics plugin answers it: the request's
/// `plugin`, `tag`, `run` and `sample` echoed, then `error` or `runToSeries`.
fn time_series_one(
    c: &Connection,
    runs: &[String],
    req: &serde_json::Value,
) -> Result<TimeSeriesOut, ApiError> {
    let field = |k: &str| req.get(k).cloned().unwrap_or(serde_json::Value::Null);
    let (plugin, tag) = (field("plugin"), field("tag"));
    let run = req.get("run").and_then(|r| r.as_str()).map(str::to_owned);
    let sample = req.get("sample").and_then(|s| s.as_i64());
    let mut out = TimeSeriesOut {
        plugin: plugin.clone(),
        tag: tag.clone(),
        run: run.clone(),
        sample,
        error: None,
        run_to_series: None,
    };
    let plugin = plugin.as_str().unwrap_or_default();
    let error = match tag.as_str() {
        None => Some("Missing tag"),
        Some(_) if !["scalars", "histograms", "images"].contains(&plugin) => Some("Invalid plugin"),
        Some(_) if plugin != "scalars" && run.is_none() => Some("Missing run"),
        Some(_) if plugin == "images" && sample.is_none() => Some("Missing sample"),
        Some(_) => None,
    };
    if error.is_some() {
        out.error = error;
        return Ok(out);
    }
    let tag = tag.as_str().unwrap_or_default();
    // An empty run, like a missing one, means every run.
    let wanted: Vec<&String> = match run.as_deref() {
        Some(r) if !r.is_empty() => runs.iter().filter(|name| name.as_str() == r).collect(),
        _ => runs.iter().collect(),
    };
    let mut series: Ordered<StepData> = Ordered::default();
    for run in wanted {
        let data = match plugin {
            "scalars" => tb_series(c, run, tag, Kind::Scalar)?
                .map(|id| query::scalars(c, id, None, None, None))
                .transpose()?
                .map(|points| {
                    StepData::Scalars(
                        points
                            .iter()
                            .map(|p| ScalarStep {
                                wall_time: Num(p.wall_time),
                                step: p.step,
                                value: Num(p.value),
                            })
                            .collect(),
                    )
                }),
            "histograms" => match tb_series(c, run, tag, Kind::Histogram)? {
                None => None,
                Some(id) => {
                    let mut steps = Vec::new();
                    for r in query::tensors(c, id)? {
                        let bins = codec::histogram_rows(&r.data)?
                            .into_iter()
                            .map(|[min, max, count]| HistogramBin {
                                min: Num(min),
                                max: Num(max),
                                count: Num(count),
                            })
                            .collect();
                        steps.push(HistogramStep {
                            wall_time: Num(r.wall_time),
                            step: r.step,
                            bins,
                        });
                    }
                    Some(StepData::Histograms(steps))
                }
            },
            _ => match tb_series(c, run, tag, Kind::Image)? {
                // One image per step is kept: only sample 0 has data, and a run without any
                // is left out, as TensorBoard leaves it out.
                Some(id) if sample == Some(0) => {
                    let rows = query::tensor_meta(c, id)?;
                    (!rows.is_empty()).then(|| {
                        StepData::Images(
                            rows.iter()
                                .map(|r| ImageStep {
                                    step: r.step,
                                    wall_time: Num(r.wall_time),
                                    image_id: image_key(run, tag, r.id),
                                })
                                .collect(),
                        )
                    })
                }
                _ => None,
            },
        };
        if let Some(data) = data {
            series.0.push((run.clone(), data));
        }
    }
    out.run_to_series = Some(series);
    Ok(out)
}

/// `GET|POST /data/plugin/timeseries/timeSeries` with `requests` = a JSON array of
/// `{plugin, tag, run?, sample?}`: one answer per request, in order.
pub(super) async fn time_series(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let field = requests_field(&state, req)
        .await?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::BadRequest("Missing 'requests' field".to_owned()))?;
    let requests: Vec<serde_json::Value> = serde_json::from_str(&field).map_err(|e| {
        ApiError::BadRequest(format!("Unable to parse 'requests' as a JSON array: {e}"))
    })?;
    let out = read(&state, move |c| {
        let runs: Vec<String> = query::runs(c)?.into_iter().map(|r| r.name).collect();
        requests
            .iter()
            .map(|r| time_series_one(c, &runs, r))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(tb_json(&out))
}

mod audio;
mod custom_scalars;
mod graphs;
mod hparams;
mod mesh;
mod pr_curves;
mod projector;
pub(super) use audio::{audio, individual_audio, tags as audio_tags};
pub(super) use custom_scalars::{
    layout as custom_scalars_layout, scalars as custom_scalars_scalars,
};
pub(super) use graphs::{
    graph as graphs_graph, info as graphs_info, run_metadata as graphs_run_metadata,
};
pub(super) use graphs::{latest_graph, latest_run_metadata};
pub(super) use hparams::{
    download_data as hparams_download_data, experiment as hparams_experiment,
    metric_evals as hparams_metric_evals, session_groups as hparams_session_groups,
};
pub(super) use mesh::{data as mesh_data, meshes, tags as mesh_tags};
pub(super) use pr_curves::{available_time_entries, pr_curves, tags as pr_curve_tags};
pub(super) use projector::{
    bookmarks as projector_bookmarks, embedding as projector_embedding, info as projector_info,
    metadata as projector_metadata, runs as projector_runs, sprite_image as projector_sprite,
    tensor as projector_tensor,
};

#[cfg(test)]
mod tests;
