//! `GET /api/v1/chart.svg` and `GET /api/v1/chart.png`: one tag's chart, a line per run, drawn on the server for READMEs, notebooks and chat.
//!
//! Parameters: `tag` (required), `run` (repeatable: `run=a&run=b`; none means every run that
//! has a scalar series with this tag), `width` and `height` (pixels, 100..=4096, default
//! 800×500), `smoothing` (TensorBoard's weight in `[0, 1)`, default none), `log_y`
//! (`true`/`false`), `max_points` (points read per run, 5..=100,000, default 2,000). Other
//! parameters are ignored (so a cache-busting `&v=2` works). Each run is read downsampled
//! (every bucket's first, last, min and max kept) and the chart is drawn on a blocking thread,
//! never on the async runtime. A run keeps its colour across charts: it is picked by the run's
//! place among all runs in start order. At most [`RenderSlots`] charts are drawn at once (a
//! 4096×4096 PNG holds a 48 MiB canvas); a request that waits too long for a slot is a 503
//! `busy`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::chart::{self, ChartError, ChartFormat, ChartOptions, Line};
use crate::store::query;
use crate::types::{Kind, MaxPoints};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a chart request waits for a slot before it is answered 503 `busy`.
pub const DEFAULT_SLOT_WAIT: Duration = Duration::from_secs(10);

/// Bounds how many charts are drawn at once, so that many large charts requested together
/// cannot take the server's memory (each holds its canvas while it is drawn). Clones share the
/// slots.
#[derive(Debug, Clone)]
pub struct RenderSlots {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl RenderSlots {
    /// `slots` charts at once (at least 1); a request waits up to `wait` for one.
    pub fn new(slots: usize, wait: Duration) -> RenderSlots {
        RenderSlots {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            wait,
        }
    }

    /// One slot per CPU (at least 2), waiting up to [`DEFAULT_SLOT_WAIT`]: drawing is CPU-bound,
    /// so more at once would only take more memory.
    pub fn for_this_machine() -> RenderSlots {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        RenderSlots::new(cpus.max(2), DEFAULT_SLOT_WAIT)
    }

    /// A slot, held until the permit is dropped; [`ApiError::Busy`] after waiting too long.
    async fn acquire(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a closed one is as good as no slot.
            Ok(Err(_)) | Err(_) => Err(ApiError::Busy),
        }
    }
}

/// The parsed query of a chart request.
#[derive(Debug, Clone, PartialEq)]
struct ChartParams {
    tag: String,
    runs: Vec<String>,
    options: ChartOptions,
    max_points: usize,
}

fn bad(message: String) -> ApiError {
    ApiError::BadRequest(message)
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ApiError> {
    value
        .parse()
        .map_err(|_| bad(format!("{name} must be a number, not {value:?}")))
}

impl ChartParams {
    /// Parses and checks the query string (repeated `run` keys are kept in order).
    fn parse(query: Option<&str>) -> Result<ChartParams, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| bad(format!("malformed query string: {e}")))?;
        let mut tag = None;
        let mut params = ChartParams {
            tag: String::new(),
            runs: Vec::new(),
            options: ChartOptions::default(),
            max_points: chart::DEFAULT_MAX_POINTS,
        };
        for (key, value) in pairs {
            match key.as_str() {
                "tag" if tag.is_some() => return Err(bad("give one tag per chart".into())),
                "tag" => tag = Some(value),
                "run" if params.runs.contains(&value) => {}
                "run" => params.runs.push(value),
                "width" => params.options.width = number("width", &value)?,
                "height" => params.options.height = number("height", &value)?,
                "smoothing" => params.options.smoothing = Some(number("smoothing", &value)?),
                "log_y" => {
                    params.options.log_y = match value.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(bad(format!("log_y must be true or false, not {value:?}")));
                        }
                    }
                }
                "max_points" => params.max_points = number("max_points", &value)?,
                _ => {}
            }
        }
        params.tag = tag.ok_or_else(|| bad("the tag parameter is required".into()))?;
        params.options.validate().map_err(|e| bad(e.to_string()))?;
        MaxPoints::new(params.max_points).map_err(|e| bad(format!("max_points {e}")))?;
        Ok(params)
    }
}

/// Reads the lines of the chart: the named runs (each must have `tag` as a scalar series), or
/// every run that has it.
fn lines(conn: &rusqlite::Connection, p: &ChartParams) -> Result<Vec<Line>, ApiError> {
    let all_runs: Vec<String> = query::runs(conn)?.into_iter().map(|r| r.name).collect();
    let colors = chart::RunColors::new(all_runs.iter().map(String::as_str));
    let color = |run: &str| colors.index(run);
    let with_tag = query::series_with_tag(conn, &p.tag)?;
    let mut chosen: Vec<(&str, i64)> = Vec::new();
    if p.runs.is_empty() {
        chosen.extend(
            with_tag
                .iter()
                .filter(|(_, _, k)| *k == Kind::Scalar)
                .map(|(run, id, _)| (run.as_str(), *id)),
        );
        if chosen.is_empty() {
            return Err(match with_tag.first() {
                Some((run, _, actual)) => ApiError::WrongKind {
                    run: run.clone(),
                    tag: p.tag.clone(),
                    expected: Kind::Scalar,
                    actual: *actual,
                },
                None => ApiError::NotFound(format!("no run has a tag {:?}", p.tag)),
            });
        }
    } else {
        for run in &p.runs {
            match with_tag.iter().find(|(r, _, _)| r == run) {
                Some((r, id, k)) if *k == Kind::Scalar => chosen.push((r.as_str(), *id)),
                Some((_, _, actual)) => {
                    return Err(ApiError::WrongKind {
                        run: run.clone(),
                        tag: p.tag.clone(),
                        expected: Kind::Scalar,
                        actual: *actual,
                    });
                }
                None if !all_runs.contains(run) => {
                    return Err(ApiError::NotFound(format!("no run {run:?}")));
                }
                None => return Err(ApiError::no_series(run, &p.tag)),
            }
        }
        // Legend in start order, whatever order the runs were named in.
        chosen.sort_by_key(|(run, _)| color(run));
    }
    chosen
        .into_iter()
        .map(|(run, id)| Ok(chart::read_line(conn, run, id, color(run), p.max_points)?))
        .collect()
}

async fn chart(state: AppState, uri: Uri, format: ChartFormat) -> Result<Response, ApiError> {
    let params = ChartParams::parse(uri.query())?;
    let slot = state.charts.acquire().await?;
    let store = state.store.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let lines = store.read(|conn| Ok(lines(conn, &params)))??;
        chart::render(&params.tag, &lines, &params.options, format).map_err(|e| match e {
            ChartError::Size { .. } | ChartError::Smoothing(_) => bad(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("chart task failed: {e}")))??;
    Ok((
        [
            (header::CONTENT_TYPE, format.media_type()),
            // Embedded charts show live data: caches (GitHub's image proxy too) revalidate.
            (header::CACHE_CONTROL, "no-cache"),
            // A chart is inert: an SVG opened on its own may load or run nothing.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/chart.svg`: the chart as SVG (`image/svg+xml`).
pub async fn svg(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    chart(state, uri, ChartFormat::Svg).await
}

/// `GET /api/v1/chart.png`: the chart as PNG (`image/png`).
pub async fn png(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    chart(state, uri, ChartFormat::Png).await
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use axum::http::{StatusCode, header};

    use super::super::testing::*;
    use super::*;

    fn svg_texts(body: &[u8]) -> (roxmltree::Document<'_>, Vec<String>) {
        let text = std::str::from_utf8(body).expect("UTF-8 SVG");
        let doc = roxmltree::Document::parse(text).expect("the SVG parses as XML");
        let texts = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
            .collect();
        (doc, texts)
    }

    #[tokio::test]
    async fn svg_chart_names_the_tag_and_every_run_at_the_requested_size() {
        let f = fixture();
        let (status, headers, body) =
            get(&f.router, "/api/v1/chart.svg?tag=loss&width=640&height=360").await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'"
        );
        let (doc, texts) = svg_texts(&body);
        let root = doc.root_element();
        assert_eq!(
            (root.attribute("width"), root.attribute("height")),
            (Some("640"), Some("360"))
        );
        for want in ["loss", "train", "eval", "step"] {
            assert!(texts.iter().any(|t| t == want), "{want} in {texts:?}");
        }
        // Only the named run is drawn when one is given.
        let (_, _, body) = get(&f.router, "/api/v1/chart.svg?tag=loss&run=eval").await;
        let (_, texts) = svg_texts(&body);
        assert!(texts.iter().any(|t| t == "eval") && !texts.iter().any(|t| t == "train"));
    }

    #[tokio::test]
    async fn png_chart_has_the_requested_size_and_drawn_content() {
        let f = fixture();
        let uri = "/api/v1/chart.png?tag=spike&run=train&width=300&height=200&smoothing=0.6&max_points=500";
        let (status, headers, body) = get(&f.router, uri).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers[header::CONTENT_TYPE], "image/png");
        let mut reader = ::png::Decoder::new(std::io::Cursor::new(body.to_vec()))
            .read_info()
            .expect("a PNG");
        assert_eq!((reader.info().width, reader.info().height), (300, 200));
        let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
        let frame = reader.next_frame(&mut pixels).expect("pixels");
        let colors: HashSet<&[u8]> = pixels[..frame.buffer_size()].chunks(3).collect();
        assert!(
            colors.len() > 10,
            "drawn, not blank: {} colours",
            colors.len()
        );
        // The default size, a log scale, and a series full of NaN and infinities draw too.
        let (status, _, body) = get(&f.router, "/api/v1/chart.png?tag=loss&log_y=true").await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let reader = ::png::Decoder::new(std::io::Cursor::new(body.to_vec()))
            .read_info()
            .expect("a PNG");
        assert_eq!((reader.info().width, reader.info().height), (800, 500));
    }

    #[tokio::test]
    async fn unknown_tags_and_runs_are_json_404s() {
        let f = fixture();
        for uri in [
            "/api/v1/chart.svg?tag=nope",
            "/api/v1/chart.png?tag=nope",
            "/api/v1/chart.svg?tag=loss&run=nope",
            "/api/v1/chart.svg?tag=spike&run=eval",
        ] {
            get_error(&f.router, uri, StatusCode::NOT_FOUND, "not_found").await;
        }
    }

    #[tokio::test]
    async fn bad_parameters_are_json_400s() {
        let f = fixture();
        for uri in [
            "/api/v1/chart.svg",
            "/api/v1/chart.svg?run=train",
            "/api/v1/chart.svg?tag=loss&width=99",
            "/api/v1/chart.svg?tag=loss&height=4097",
            "/api/v1/chart.png?tag=loss&width=wide",
            "/api/v1/chart.png?tag=loss&width=-5",
            "/api/v1/chart.svg?tag=loss&smoothing=1",
            "/api/v1/chart.svg?tag=loss&smoothing=-0.5",
            "/api/v1/chart.svg?tag=loss&smoothing=NaN",
            "/api/v1/chart.svg?tag=loss&log_y=maybe",
            "/api/v1/chart.svg?tag=loss&max_points=4",
            "/api/v1/chart.svg?tag=loss&tag=spike",
        ] {
            get_error(&f.router, uri, StatusCode::BAD_REQUEST, "bad_request").await;
        }
        let msg = get_error(
            &f.router,
            "/api/v1/chart.png?tag=loss&width=5000",
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(msg.contains("4096"), "{msg}");
        get_error(
            &f.router,
            "/api/v1/chart.svg?tag=weights",
            StatusCode::BAD_REQUEST,
            "wrong_kind",
        )
        .await;
    }

    #[tokio::test]
    async fn a_chart_that_cannot_get_a_slot_in_time_is_a_json_503_busy() {
        let f = fixture();
        let state = AppState {
            charts: RenderSlots::new(1, Duration::from_millis(50)),
            ..f.state.clone()
        };
        let router = crate::api::router(state.clone());
        let uri = "/api/v1/chart.png?tag=loss&width=100&height=100";
        let held = Arc::clone(&state.charts.slots)
            .try_acquire_owned()
            .expect("the only slot is free");
        let msg = get_error(&router, uri, StatusCode::SERVICE_UNAVAILABLE, "busy").await;
        assert!(msg.contains("retry"), "{msg}");
        drop(held);
        let (status, _, _) = get(&router, uri).await;
        assert_eq!(status, StatusCode::OK);
        // The slot is given back after drawing: it can be taken again.
        assert!(Arc::clone(&state.charts.slots).try_acquire_owned().is_ok());
    }

    #[test]
    fn repeated_runs_are_kept_in_order_once() {
        let p = ChartParams::parse(Some("tag=a%2Fb&run=x&run=y%20z&run=x&v=2")).unwrap();
        assert_eq!(p.tag, "a/b");
        assert_eq!(p.runs, vec!["x".to_owned(), "y z".to_owned()]);
        assert_eq!(p.options, ChartOptions::default());
    }
}
