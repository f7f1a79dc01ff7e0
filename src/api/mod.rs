//! The HTTP API: runboard's JSON API and live stream under `/api/v1/`, TensorBoard's data API under `/data/`.
//!
//! ```text
//! GET  /api/v1/runs | series | scalars | histograms | text | images | image | files   (v1.rs)
//! GET  /api/v1/chart.svg | chart.png   a tag's chart, drawn on the server            (chart.rs)
//! GET  /api/v1/stream      Server-Sent Events of every commit                          (sse.rs)
//! GET  /  /static/...   the dashboard, embedded                                       (dashboard.rs)
//! GET  /data/runs | environment | plugins_listing | plugin/<name>/...                  (tb.rs)
//! POST /data/plugin/timeseries/timeSeries                                              (tb.rs)
//! POST /api/v1/ingest      batches from the SDK                                        (ingest.rs)
//! GET  /metrics            Prometheus text (ingest counters, GPU gauges)
//! GET|POST /login          the token form, for a server whose reads need the token      (guard.rs)
//! ```
//! Every request passes [`guard`] first (Host check, same-origin writes with an exact content
//! type, tokens, `nosniff`, a body deadline): [`router_with`] puts it around everything it
//! serves, so a route added to `routes` (the whole route table) is guarded without more code. Handlers read through [`crate::store::query`] on a blocking thread ([`read`]); every failure
//! is an [`ApiError`] with a JSON body `{"code", "message"}`, including malformed query strings
//! and unknown paths under `/api` and `/data`.

pub mod chart;
pub mod dashboard;
pub mod error;
pub mod guard;
mod hparams;
pub mod ingest;
pub mod json;
pub mod markdown;
mod projector;
pub mod runs;
pub mod sse;
pub mod tb;
pub mod v1;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{DefaultBodyLimit, Extension};
use axum::http::{StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;
use tokio::sync::watch;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyDeadlineLayer;
use tower_http::trace::TraceLayer;

use crate::store::Store;
use crate::store::query;
use crate::types::Kind;

pub use error::{ApiError, ApiQuery};

/// The largest request body [`router`] accepts, except at [`INGEST_PATH`].
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;
/// The largest request body [`router`] accepts at [`INGEST_PATH`]: a batch holding one large
/// image fits (the SDK caps its batches far below this, at
/// [`runboard_sdk::remote::BATCH_BYTES`], and sends a larger point alone).
pub const INGEST_BODY_LIMIT: usize = 8 << 20;
/// The route with its own body limit ([`INGEST_BODY_LIMIT`]).
pub const INGEST_PATH: &str = "/api/v1/ingest";

/// How long a request body may take to arrive, by default: a slow client cannot hold a handler
/// (and its connection) longer.
pub const DEFAULT_BODY_DEADLINE: Duration = Duration::from_secs(30);

/// What every handler shares. Cloned per request, so it only holds handles.
#[derive(Clone)]
pub struct AppState {
    /// The store every read goes through.
    pub store: Store,
    /// The logdir being watched, if any (TensorBoard's `data_location`).
    pub logdir: Option<PathBuf>,
    /// The browser window's title (TensorBoard's `--window_title`).
    pub window_title: String,
    /// Who may read and write: the token writes need (as `Authorization: Bearer`), and whether
    /// reads need it too. Enforced by [`guard`], before any handler.
    pub tokens: guard::TokenPolicy,
    /// The latest GPU readings, rendered by `/metrics`.
    pub gpus: crate::gpu::GpuSnapshot,
    /// What the logdir ingester has done, rendered by `/metrics` (zeros without a logdir).
    pub ingest: Arc<crate::ingest::IngestStats>,
    /// Bounds how many charts are drawn at once (each holds a canvas while it is drawn).
    pub charts: chart::RenderSlots,
    /// Seconds a running run may be silent before it is served as `stalled`.
    pub stall_after: f64,
    /// The unfiltered run tables last served (see [`runs::TableCache`]).
    pub(crate) run_table: Arc<runs::TableCache>,
    /// The projector's t-SNE jobs and their results.
    pub(crate) tsne: Arc<projector::TsneJobs>,
}

impl AppState {
    /// The state of a server on `store`: no logdir, no title, no token, no GPU readings yet,
    /// one chart slot per CPU.
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            logdir: None,
            window_title: String::new(),
            tokens: guard::TokenPolicy::open(),
            gpus: crate::gpu::GpuSnapshot::default(),
            charts: chart::RenderSlots::for_this_machine(),
            ingest: Arc::default(),
            stall_after: crate::runs::DEFAULT_STALL_AFTER_SECS,
            run_table: Arc::default(),
            tsne: Arc::default(),
        }
    }
}

/// `GET /metrics`: Prometheus text format (ingest counters, GPU gauges with DCGM-like names).
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let gpus = state
        .gpus
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.ingest.prometheus() + &crate::gpu::prometheus(&gpus),
    )
        .into_response()
}

/// How [`router_with`] builds the router.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// The largest request body accepted, in bytes (after decompression), except at
    /// [`INGEST_PATH`].
    pub body_limit: usize,
    /// The largest request body accepted at [`INGEST_PATH`], in bytes (after decompression).
    pub ingest_body_limit: usize,
    /// Ends every live stream when it turns `true` (or its sender is dropped). Without it a
    /// stream lasts as long as the store's change channel, and an open dashboard holds a
    /// graceful shutdown open: send `true` when shutdown starts.
    pub shutdown: Option<watch::Receiver<bool>>,
    /// The `Host` names served (see [`guard::HostPolicy`]; default: a server bound to 127.0.0.1).
    pub hosts: guard::HostPolicy,
    /// How long a request body may take to arrive; a handler reading it later gets a JSON 408.
    pub body_deadline: Duration,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            body_limit: DEFAULT_BODY_LIMIT,
            ingest_body_limit: INGEST_BODY_LIMIT,
            shutdown: None,
            hosts: guard::HostPolicy::default(),
            body_deadline: DEFAULT_BODY_DEADLINE,
        }
    }
}

/// The API's routes with their state applied, behind the [`guard`], request bodies limited to
/// [`DEFAULT_BODY_LIMIT`] ([`INGEST_BODY_LIMIT`] at [`INGEST_PATH`]), and each request traced.
pub fn router(state: AppState) -> Router {
    router_with(state, RouterOptions::default())
}

/// [`router`] with other [`RouterOptions`].
pub fn router_with(state: AppState, options: RouterOptions) -> Router {
    with_layers(routes(), state, options)
}

/// Every route the server has: the route table, before any layer.
pub(crate) fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    let v1 = Router::new()
        .route("/runs", get(runs::runs))
        .route("/run_table", get(runs::run_table))
        .route("/config_keys", get(runs::config_keys))
        .route("/hparams", get(hparams::overview))
        .route("/projector", get(projector::list))
        .route("/projector/pca", get(projector::pca))
        .route("/projector/neighbors", get(projector::neighbors))
        .route("/projector/tsne", get(projector::tsne))
        .route("/group_scalars", get(runs::group_scalars))
        .route(
            "/run",
            get(runs::run).patch(runs::edit).delete(runs::delete),
        )
        .route("/series", get(v1::series))
        .route("/graph", get(v1::graph_view))
        .route("/scalars", get(v1::scalars))
        .route("/tag_scalars", get(v1::tag_scalars))
        .route("/histograms", get(v1::histograms))
        .route("/text", get(v1::text))
        .route("/images", get(v1::images))
        .route("/image", get(v1::image))
        .route("/files", get(v1::files))
        .route("/chart.svg", get(chart::svg))
        .route("/chart.png", get(chart::png))
        .route("/stream", get(sse::stream))
        .route("/ingest", post(ingest::ingest));
    let data = Router::new()
        .route("/runs", get(tb::runs))
        .route("/environment", get(tb::environment))
        .route("/plugins_listing", get(tb::plugins_listing))
        .route("/plugin/scalars/tags", get(tb::scalar_tags))
        .route("/plugin/scalars/scalars", get(tb::scalars))
        .route("/plugin/histograms/tags", get(tb::histogram_tags))
        .route("/plugin/histograms/histograms", get(tb::histograms))
        .route("/plugin/distributions/tags", get(tb::histogram_tags))
        .route(
            "/plugin/distributions/distributions",
            get(tb::distributions),
        )
        .route("/plugin/text/tags", get(tb::text_tags))
        .route("/plugin/graphs/info", get(tb::graphs_info))
        .route(
            "/plugin/custom_scalars/layout",
            get(tb::custom_scalars_layout),
        )
        .route(
            "/plugin/custom_scalars/scalars",
            get(tb::custom_scalars_scalars),
        )
        .route("/plugin/custom_scalars/download_data", get(tb::scalars))
        .route(
            "/plugin/hparams/experiment",
            get(tb::hparams_experiment).post(tb::hparams_experiment),
        )
        .route(
            "/plugin/hparams/session_groups",
            get(tb::hparams_session_groups).post(tb::hparams_session_groups),
        )
        .route(
            "/plugin/hparams/metric_evals",
            get(tb::hparams_metric_evals).post(tb::hparams_metric_evals),
        )
        .route(
            "/plugin/hparams/download_data",
            get(tb::hparams_download_data),
        )
        .route("/plugin/pr_curves/tags", get(tb::pr_curve_tags))
        .route("/plugin/audio/tags", get(tb::audio_tags))
        .route("/plugin/audio/audio", get(tb::audio))
        .route("/plugin/audio/individualAudio", get(tb::individual_audio))
        .route("/plugin/pr_curves/pr_curves", get(tb::pr_curves))
        .route(
            "/plugin/pr_curves/available_time_entries",
            get(tb::available_time_entries),
        )
        .route("/plugin/mesh/tags", get(tb::mesh_tags))
        .route("/plugin/mesh/meshes", get(tb::meshes))
        .route("/plugin/mesh/data", get(tb::mesh_data))
        .route("/plugin/projector/runs", get(tb::projector_runs))
        .route("/plugin/projector/info", get(tb::projector_info))
        .route("/plugin/projector/tensor", get(tb::projector_tensor))
        .route("/plugin/projector/metadata", get(tb::projector_metadata))
        .route("/plugin/projector/bookmarks", get(tb::projector_bookmarks))
        .route("/plugin/projector/sprite_image", get(tb::projector_sprite))
        .route("/plugin/graphs/graph", get(tb::graphs_graph))
        .route("/plugin/graphs/run_metadata", get(tb::graphs_run_metadata))
        .route("/plugin/text/text", get(tb::text))
        .route("/plugin/images/tags", get(tb::image_tags))
        .route("/plugin/images/images", get(tb::images))
        .route("/plugin/images/individualImage", get(tb::individual_image))
        .route("/plugin/timeseries/tags", get(tb::timeseries_tags))
        .route(
            "/plugin/timeseries/timeSeries",
            get(tb::time_series).post(tb::time_series),
        )
        .route("/plugin/timeseries/imageData", get(tb::image_data))
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method);
    let api = Router::new()
        .nest("/v1", v1)
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method);
    let dashboard = Router::new()
        .route("/", get(dashboard::index))
        .route("/static/{*path}", get(dashboard::asset))
        .layer(tower_http::compression::CompressionLayer::new());
    Router::new()
        .merge(dashboard)
        .route(guard::LOGIN_PATH, get(guard::login_page).post(guard::login))
        .route("/metrics", get(metrics))
        .nest("/api", api)
        .nest("/data", data)
}

/// `routes` with the layers every request passes, innermost first: body limit (one per route:
/// [`INGEST_BODY_LIMIT`] at [`INGEST_PATH`], [`DEFAULT_BODY_LIMIT`] elsewhere), gzip
/// decompression, JSON 413, then the [`guard`] around all of it, the body deadline it reports,
/// and tracing. Layers only wrap the routes that exist when they are applied, which is why
/// this takes the finished route table.
pub(crate) fn with_layers(
    routes: Router<AppState>,
    state: AppState,
    options: RouterOptions,
) -> Router {
    let routes = routes.layer(DefaultBodyLimit::disable());
    // The ingest route is answered by the route table under its own limit, every other path by
    // the same table under the default limit (a limit layer on the whole table cannot be raised
    // for one route inside it).
    let limited = |limit: usize| {
        routes
            .clone()
            .layer(RequestBodyLimitLayer::new(limit))
            .with_state(state.clone())
    };
    let router: Router<AppState> = Router::new()
        .route(
            INGEST_PATH,
            axum::routing::any_service(limited(options.ingest_body_limit)),
        )
        .fallback_service(limited(options.body_limit))
        // Outside the limit, so the limit applies to the decompressed body (no gzip bombs).
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(map_response(json_payload_too_large));
    let router = guard::apply(router, options.hosts, state.tokens.clone())
        // Outside the guard, which answers 408 when a handler finds its body late.
        .layer(RequestBodyDeadlineLayer::new(options.body_deadline))
        .layer(TraceLayer::new_for_http());
    let router = match options.shutdown {
        Some(signal) => router.layer(Extension(sse::StreamShutdown(signal))),
        None => router,
    };
    router.with_state(state)
}

async fn unknown_path() -> ApiError {
    ApiError::NotFound("no such endpoint".to_owned())
}

async fn wrong_method() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The body limit layer answers 413 in plain text; the API answers in JSON.
async fn json_payload_too_large<B>(res: axum::http::Response<B>) -> Response
where
    B: HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        ApiError::PayloadTooLarge.into_response()
    } else {
        res.map(Body::new)
    }
}

/// Runs `f` on a reader connection on a blocking thread (rusqlite is synchronous).
pub async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.read(|conn| Ok(f(conn))))
        .await
        .map_err(|e| ApiError::Internal(format!("read task failed: {e}")))??
}

/// The id of the series `run`/`tag`, which must hold `expected` data.
pub fn series_of_kind(
    conn: &Connection,
    run: &str,
    tag: &str,
    expected: Kind,
) -> Result<i64, ApiError> {
    match query::series_id(conn, run, tag)? {
        None => Err(ApiError::no_series(run, tag)),
        Some((id, actual)) if actual == expected => Ok(id),
        Some((_, actual)) => Err(ApiError::WrongKind {
            run: run.to_owned(),
            tag: tag.to_owned(),
            expected,
            actual,
        }),
    }
}

/// The media type of an encoded image, from its signature: PNG, JPEG or GIF; `None` for
/// anything else (logged bytes are not trusted to be an image).
pub fn image_media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// A logged image as a response: with its type when its signature is PNG, JPEG or GIF;
/// otherwise `application/octet-stream` in a CSP sandbox, so that bytes posing as an image
/// (HTML, SVG with script) can neither render nor run as this server's page.
pub fn image_response(bytes: Vec<u8>) -> Response {
    match image_media_type(&bytes) {
        Some(media_type) => ([(header::CONTENT_TYPE, media_type)], bytes).into_response(),
        None => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "sandbox; default-src 'none'",
                ),
            ],
            bytes,
        )
            .into_response(),
    }
}

/// Test fixtures shared by the API's tests: a store with one value of every kind, and
/// one-shot requests against the router (no socket).
#[cfg(test)]
pub(crate) mod testing {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Request, StatusCode};
    use runboard_sdk::event::{Image, Value};
    use tower::ServiceExt;

    use super::*;
    use crate::store::{Batch, FileProgress, Item};

    /// A tiny PNG's first bytes (only the signature matters to the API).
    pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake-image-data";
    /// The Markdown of the text series `train/notes`.
    pub const NOTES: &str =
        "# Notes\n\nhello **bold** <script>alert(1)</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |";

    /// A store with data, its directory (kept alive by the caller) and the router on it.
    pub struct Fixture {
        /// Holds the database file.
        pub _dir: tempfile::TempDir,
        /// The state the router was built with.
        pub state: AppState,
        /// The router.
        pub router: Router,
    }

    fn value(tag: &str, step: i64, wall_time: f64, value: Value) -> Item {
        Item::Value {
            tag: tag.into(),
            step,
            wall_time,
            value,
        }
    }

    /// Run `train` (started first): `loss` = 1.0, NaN, +Inf, -Inf, 2.5 at steps 0..5;
    /// `spike` = 20 000 points of 0..9 with 1e9 at step 12 345; histogram `weights` at steps
    /// 1 and 2; text `notes` at step 2 (one string) and `pair` (two strings); image `img` at steps
    /// 3 and 4. Run `eval`: `loss` = 0.5 at step 1. One file's ingest progress.
    pub fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("runboard.sqlite")).expect("store opens");
        let losses = [1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.5];
        let mut items: Vec<Item> = losses
            .iter()
            .enumerate()
            .map(|(s, v)| {
                value(
                    "loss",
                    s as i64,
                    1000.0 + s as f64 * 0.25,
                    Value::Scalar(*v),
                )
            })
            .collect();
        items.extend((0..20_000).map(|s| {
            let v = if s == 12_345 { 1e9 } else { (s % 10) as f64 };
            value("spike", s, 1000.0 + s as f64, Value::Scalar(v))
        }));
        for step in [1, 2] {
            items.push(value(
                "weights",
                step,
                1001.5,
                Value::Histogram(vec![[0.0, 1.0, 3.0], [1.0, 2.0, step as f64]]),
            ));
        }
        items.push(value("notes", 2, 1002.0, Value::Text(vec![NOTES.into()])));
        items.push(value(
            "pair",
            2,
            1002.0,
            Value::Text(vec!["a".into(), "<b>x</b>".into()]),
        ));
        for step in [3, 4] {
            items.push(value(
                "img",
                step,
                1003.0 + step as f64,
                Value::Images(vec![Image {
                    width: 4,
                    height: 3,
                    encoded: PNG.to_vec(),
                }]),
            ));
        }
        store
            .submit(Batch {
                run: crate::types::RunName::new("train").unwrap(),
                items,
                progress: Some(FileProgress {
                    path: "train/events.out.tfevents.1".into(),
                    offset: 4096,
                    records: 12,
                    skipped_records: 1,
                    skipped_bytes: 17,
                    ..FileProgress::default()
                }),
                dedup: None,
            })
            .expect("submit");
        store
            .submit(Batch {
                run: crate::types::RunName::new("eval").unwrap(),
                items: vec![value("loss", 1, 5000.0, Value::Scalar(0.5))],
                progress: None,
                dedup: None,
            })
            .expect("submit");
        store.flush().expect("flush");
        let state = AppState {
            logdir: Some(PathBuf::from("/tmp/logs")),
            window_title: "my runs".into(),
            ..AppState::new(store)
        };
        Fixture {
            _dir: dir,
            router: router(state.clone()),
            state,
        }
    }

    /// The stable ids of the fixture's images (`train`/`img`, steps 3 and 4).
    pub fn image_ids(f: &Fixture) -> Vec<i64> {
        f.state
            .store
            .read(|c| {
                let (series, _) = query::series_id(c, "train", "img")?.expect("img series");
                query::tensor_meta(c, series)
            })
            .expect("read")
            .iter()
            .map(|m| m.id)
            .collect()
    }

    /// An empty store's state (no token), with the directory holding its database.
    pub fn empty_state() -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("db.sqlite")).expect("store");
        (dir, AppState::new(store))
    }

    /// Sends one request; returns status, headers and the whole body. A request without a
    /// `Host` gets `Host: localhost`, as every HTTP/1.1 client sends one (the guard refuses a
    /// request without it).
    pub async fn send(router: &Router, mut req: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
        if !req.headers().contains_key(header::HOST) {
            req.headers_mut()
                .insert(header::HOST, header::HeaderValue::from_static("localhost"));
        }
        let res = router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, headers, body)
    }

    /// `GET uri`.
    pub async fn get(router: &Router, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
        let req = Request::get(uri).body(Body::empty()).expect("request");
        send(router, req).await
    }

    /// `GET uri` with extra request headers.
    pub async fn get_with(
        router: &Router,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        send(router, req.body(Body::empty()).expect("request")).await
    }

    /// `GET uri`, expecting 200 and JSON.
    pub async fn get_json(router: &Router, uri: &str) -> serde_json::Value {
        let (status, headers, body) = get(router, uri).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
        serde_json::from_slice(&body).expect("JSON body")
    }

    /// `GET uri`, expecting the error `status` with `code`; returns the message.
    pub async fn get_error(router: &Router, uri: &str, status: StatusCode, code: &str) -> String {
        let (got, headers, body) = get(router, uri).await;
        assert_eq!(got, status, "{uri}: {}", String::from_utf8_lossy(&body));
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON error body");
        assert_eq!(v["code"], code, "{uri}: {v}");
        v["message"].as_str().expect("message").to_owned()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, Request};

    use super::testing::*;
    use super::*;

    #[tokio::test]
    async fn unknown_paths_under_api_and_data_are_json_404s() {
        let f = fixture();
        for uri in [
            "/api/v2/runs",
            "/api/v1/nope",
            "/api",
            "/data/nope",
            "/data/plugin/x/y",
        ] {
            get_error(&f.router, uri, StatusCode::NOT_FOUND, "not_found").await;
        }
    }

    #[tokio::test]
    async fn a_wrong_method_is_a_json_405() {
        let f = fixture();
        // A DELETE is a write: without a write's content type the guard answers 415 first.
        let req = Request::builder()
            .method(Method::DELETE)
            .uri("/api/v1/runs")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::empty())
            .expect("request");
        let (status, _, body) = send(&f.router, req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["code"], "method_not_allowed");
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_rejected_in_json() {
        let f = fixture();
        let options = RouterOptions {
            body_limit: 64,
            ..RouterOptions::default()
        };
        let small = router_with(f.state.clone(), options);
        let req = Request::post("/data/plugin/timeseries/timeSeries")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, "100")
            .body(Body::from(vec![b'a'; 100]))
            .expect("request");
        let (status, headers, body) = send(&small, req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["code"], "payload_too_large");
    }

    #[tokio::test]
    async fn server_errors_do_not_leak_internals() {
        let res = ApiError::Internal("/secret/path: SQL near FROM".into()).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["code"], "internal");
        assert!(!v["message"].as_str().expect("message").contains("secret"));
    }

    #[test]
    fn image_media_types_are_sniffed_from_png_jpeg_and_gif_signatures_only() {
        assert_eq!(image_media_type(PNG), Some("image/png"));
        assert_eq!(
            image_media_type(b"\xff\xd8\xff\xe0rest"),
            Some("image/jpeg")
        );
        assert_eq!(image_media_type(b"GIF89a..."), Some("image/gif"));
        assert_eq!(image_media_type(b"GIF87a..."), Some("image/gif"));
        for other in [
            &b"<html><script>alert(1)</script>"[..],
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            b"BM bitmap",
            b"RIFF....WEBPVP8 ",
            b"\x89PNG",
            b"",
        ] {
            assert_eq!(image_media_type(other), None, "{other:?}");
        }
    }

    #[tokio::test]
    async fn bytes_that_are_not_an_image_are_served_inert() {
        let res = image_response(b"<html><script>alert(1)</script></html>".to_vec());
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/octet-stream"
        );
        assert_eq!(
            res.headers()[header::CONTENT_SECURITY_POLICY],
            "sandbox; default-src 'none'"
        );
        let res = image_response(PNG.to_vec());
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/png");
    }
}
