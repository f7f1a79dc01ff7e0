//! TensorBoard's HParams plugin routes (`/data/plugin/hparams/*`), in TensorBoard 2.21's
//! shapes: the experiment (`experiment`), the session groups (`session_groups`), a session's
//! metric as the scalars plugin serves it (`metric_evals`) and the table as JSON, CSV or LaTeX
//! (`download_data`). Each takes its request as TensorBoard's front end sends it: a JSON body
//! (POST, any content type: the front end posts `text/plain`) or `?request=JSON` (GET). The
//! semantics live in [`crate::hparams`].

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::json::tb_json;
use super::super::{ApiError, ApiQuery, AppState, read};
use crate::format::py_repr;
use crate::hparams::{self, HParamsError, TableCell};
use crate::store::query;

impl From<HParamsError> for ApiError {
    fn from(e: HParamsError) -> Self {
        ApiError::BadRequest(e.0)
    }
}

#[derive(Debug, Deserialize)]
struct RequestField {
    request: Option<String>,
}

/// A plugin request: the POST body, or the GET query's `request`, as protobuf JSON.
pub(in crate::api) struct PluginRequest<T>(T);

impl<T: DeserializeOwned> FromRequest<AppState> for PluginRequest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let text = if req.method() == Method::GET {
            let (mut parts, _) = req.into_parts();
            let ApiQuery(f) = <ApiQuery<RequestField> as axum::extract::FromRequestParts<
                AppState,
            >>::from_request_parts(&mut parts, state)
            .await?;
            f.request.ok_or_else(|| {
                ApiError::BadRequest("expected the request as JSON in ?request=".into())
            })?
        } else {
            let body = Bytes::from_request(req, state)
                .await
                .map_err(|e| ApiError::BadRequest(format!("reading the request: {e}")))?;
            String::from_utf8(body.to_vec())
                .map_err(|_| ApiError::BadRequest("the request is not UTF-8".into()))?
        };
        parse(&text).map(PluginRequest)
    }
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected a JSON request of type {}: {e}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("?")
        ))
    })
}

use super::super::hparams::logged;

/// Whether any run logged something for the HParams plugin (its `plugins_listing` entry).
pub(in crate::api) async fn has_data(state: &AppState) -> Result<bool, ApiError> {
    read(state, |c| Ok(query::has_hparams_data(c)?)).await
}

/// `/data/plugin/hparams/experiment`: the experiment (see [`hparams::experiment`]).
pub(in crate::api) async fn experiment(
    State(state): State<AppState>,
    PluginRequest(r): PluginRequest<hparams::ExperimentRequest>,
) -> Result<Response, ApiError> {
    let logged = logged(&state).await?;
    let e = hparams::experiment(
        &logged,
        r.include_metrics.unwrap_or(true),
        r.hparams_limit.unwrap_or(0),
    );
    Ok(tb_json(&hparams::ExperimentJson(&e)))
}

/// `/data/plugin/hparams/session_groups`: the session groups (see
/// [`hparams::session_groups`]).
pub(in crate::api) async fn session_groups(
    State(state): State<AppState>,
    PluginRequest(r): PluginRequest<hparams::SessionGroupsRequest>,
) -> Result<Response, ApiError> {
    let logged = logged(&state).await?;
    Ok(tb_json(&hparams::session_groups(&logged, &r)?))
}

/// `/data/plugin/hparams/metric_evals`: the session's metric series, as
/// `/data/plugin/scalars/scalars` serves it (`[[wall_time, step, value], ...]`).
pub(in crate::api) async fn metric_evals(
    State(state): State<AppState>,
    PluginRequest(r): PluginRequest<hparams::MetricEvalsRequest>,
) -> Result<Response, ApiError> {
    let (run, tag) = r.run_tag();
    super::scalars_json(&state, run, tag).await
}

#[derive(Debug, Deserialize)]
pub(in crate::api) struct DownloadParams {
    format: Option<String>,
    #[serde(rename = "columnsVisibility")]
    columns_visibility: Option<String>,
    request: Option<String>,
}

/// `GET /data/plugin/hparams/download_data?format=json|csv|latex&columnsVisibility=[bool,
/// ...]&request=ListSessionGroupsRequest`: the session groups' table, a column per
/// hyperparameter then per metric, cut to the visible columns.
pub(in crate::api) async fn download_data(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<DownloadParams>,
) -> Result<Response, ApiError> {
    let visible: Vec<bool> = match p.columns_visibility.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            ApiError::BadRequest(format!("columnsVisibility is a JSON list of booleans: {e}"))
        })?,
        None => {
            return Err(ApiError::BadRequest(
                "columnsVisibility is missing (a JSON list of booleans)".into(),
            ));
        }
    };
    let request: hparams::SessionGroupsRequest = parse(p.request.as_deref().unwrap_or(""))?;
    let format = p.format.unwrap_or_default();
    if !["json", "csv", "latex"].contains(&format.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "invalid format {format:?}: json, csv or latex"
        )));
    }
    let logged = logged(&state).await?;
    let groups = hparams::session_groups(&logged, &request)?;
    let experiment = hparams::experiment(&logged, request.include_metrics.unwrap_or(true), 0);
    let (header, rows) = hparams::table(&experiment, &groups, &visible);
    Ok(match format.as_str() {
        "json" => {
            let rows: Vec<Vec<serde_json::Value>> = rows
                .iter()
                .map(|r| r.iter().map(cell_json).collect())
                .collect();
            tb_json(&serde_json::json!({ "header": header, "rows": rows }))
        }
        "csv" => {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new());
            let write = |w: &mut csv::Writer<Vec<u8>>, fields: Vec<String>| {
                w.write_record(fields)
                    .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
            };
            write(&mut w, header)?;
            for r in &rows {
                write(&mut w, r.iter().map(cell_csv).collect())?;
            }
            let body = w
                .into_inner()
                .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))?;
            ([(header::CONTENT_TYPE, "text/csv")], body).into_response()
        }
        _ => {
            let mut out = format!(
                "\\begin{{table}}[tbp]\n\\begin{{tabular}}{{{}}}\n",
                "l".repeat(header.len())
            );
            let line = |cells: Vec<String>| cells.join(" & ");
            out.push_str(&line(header.iter().map(|h| latex_text(h)).collect()));
            out.push_str(" \\\\ \\hline\n");
            for r in &rows {
                out.push_str(&line(r.iter().map(cell_latex).collect()));
                out.push_str(" \\\\\n");
            }
            out.push_str("\\hline\n\\end{tabular}\n\\end{table}\n");
            ([(header::CONTENT_TYPE, "application/x-latex")], out).into_response()
        }
    })
}

fn cell_json(c: &TableCell) -> serde_json::Value {
    match c {
        TableCell::Number(n) => serde_json::Number::from_f64(*n)
            .map_or_else(|| crate::format::json_non_finite(*n).into(), Into::into),
        TableCell::Text(t) => t.clone().into(),
        TableCell::Bool(b) => (*b).into(),
        TableCell::Missing => serde_json::Value::Null,
    }
}

/// As Python's `csv` module writes it (`repr` for floats, `True`/`False`, nothing for None).
fn cell_csv(c: &TableCell) -> String {
    match c {
        TableCell::Number(n) => py_repr(*n),
        TableCell::Text(t) => t.clone(),
        TableCell::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        TableCell::Missing => String::new(),
    }
}

fn latex_text(s: &str) -> String {
    s.replace('_', "\\_").replace('%', "\\%")
}

/// As TensorBoard's LaTeX table writes it: `%.3g` numbers as `$c\cdot 10^{e}$`.
fn cell_latex(c: &TableCell) -> String {
    match c {
        TableCell::Missing => "-".to_owned(),
        TableCell::Bool(b) => format!("${}$", u8::from(*b)),
        TableCell::Text(t) => latex_text(t),
        TableCell::Number(n) if n.is_nan() => "$\\mathrm{NaN}$".to_owned(),
        TableCell::Number(n) if n.is_infinite() => {
            format!("${}\\infty$", if *n < 0.0 { "-" } else { "+" })
        }
        TableCell::Number(n) => {
            let g = crate::format::c_g(*n, 3);
            match g.split_once('e') {
                Some((coefficient, exponent)) => format!(
                    "${coefficient}\\cdot 10^{{{}}}$",
                    exponent.parse::<i32>().unwrap_or(0)
                ),
                None => format!("${g}$"),
            }
        }
    }
}
