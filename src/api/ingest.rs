//! `POST /api/v1/ingest`: batches from the SDK (protobuf, or JSON for curl), committed before they are acknowledged.
//!
//! A batch names its run, its writer session and a sequence number. The store records
//! `(session, seq)` in the same transaction as the data, with the run and a digest of the
//! points ([`content_digest`]), so a retried batch (a lost acknowledgement, a server killed
//! mid-request) is acknowledged as a duplicate and stored once, while a key reused for another
//! run or other points is refused with 409 `conflict` instead of being silently dropped.
//! The write token, content type and origin are checked before this handler, by
//! [`super::guard`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message;
use runboard_proto::runboard::ingest as pb;
use runboard_proto::tensorboard::hparams::HParamsPluginData;
use runboard_sdk::event::{HParamValue, HParams, Image, Value};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use crate::store::{Batch, BatchKey, Conflict, Ingested, Item, ProjectorUpdate};
use crate::types::RunName;

/// Longest tag accepted.
const MAX_TAG_LEN: usize = 512;
/// Longest session id accepted.
const MAX_SESSION_LEN: usize = 128;

fn check_tag(tag: &str) -> Result<(), ApiError> {
    if tag.is_empty() || tag.len() > MAX_TAG_LEN || tag.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "invalid tag {tag:?}: use 1 to {MAX_TAG_LEN} printable bytes"
        )));
    }
    Ok(())
}

/// The JSON form of a batch (`pb::Batch` with plain fields).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBatch {
    run: String,
    session: String,
    seq: u64,
    #[serde(default)]
    points: Vec<JsonPoint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonPoint {
    tag: String,
    step: i64,
    wall_time: Option<f64>,
    /// A number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (as runboard's JSON writes them).
    #[serde(default, deserialize_with = "json_scalar")]
    scalar: Option<f64>,
    histogram: Option<Vec<[f64; 3]>>,
    text: Option<String>,
    /// A run event as a JSON object (`{"type": "status", "state": "finished"}`).
    run_event: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A scalar of a JSON batch: a number, or the strings runboard's JSON writes for non-finite
/// numbers.
fn json_scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Number(f64),
        Word(String),
    }
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(Scalar::Number(v)) => Ok(Some(v)),
        Some(Scalar::Word(w)) => match w.as_str() {
            "NaN" => Ok(Some(f64::NAN)),
            "Infinity" => Ok(Some(f64::INFINITY)),
            "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
            _ => Err(serde::de::Error::custom(format!(
                "a scalar is a number, \"NaN\", \"Infinity\" or \"-Infinity\", not {w:?}"
            ))),
        },
    }
}

/// The batch of a JSON body, and the [`content_digest`] of its points as sent: a point
/// without `wall_time` digests as 0 (protobuf's default) before it is given the time of
/// arrival, so that a retried curl request is a duplicate, not a conflict.
fn from_json(body: &[u8]) -> Result<(pb::Batch, u64), ApiError> {
    let b: JsonBatch = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON batch: {e}")))?;
    let mut points = Vec::with_capacity(b.points.len());
    let mut arrived = Vec::with_capacity(b.points.len());
    for p in b.points {
        use pb::point::Value as V;
        let value = match (p.scalar, p.histogram, p.text, p.run_event) {
            (Some(x), None, None, None) => V::Scalar(x),
            (None, Some(rows), None, None) => V::Histogram(pb::Histogram {
                buckets: rows.iter().flatten().copied().collect(),
            }),
            (None, None, Some(t), None) => V::Text(t),
            (None, None, None, Some(e)) => V::RunEvent(serde_json::Value::Object(e).to_string()),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "point {:?} at step {} needs exactly one of scalar, histogram, text, run_event",
                    p.tag, p.step
                )));
            }
        };
        arrived.push(p.wall_time.is_none());
        points.push(pb::Point {
            tag: p.tag,
            step: p.step,
            wall_time: p.wall_time.unwrap_or(0.0),
            value: Some(value),
        });
    }
    let digest = content_digest(&points);
    let now = runboard_sdk::event_file::now_secs();
    for (p, _) in points.iter_mut().zip(arrived).filter(|(_, a)| *a) {
        p.wall_time = now;
    }
    let batch = pb::Batch {
        run: b.run,
        session: b.session,
        seq: b.seq,
        points,
    };
    Ok((batch, digest))
}

/// FNV-1a, 64 bits: a stable digest (the same on every build and platform, unlike std's
/// `Hasher`s), which is all a duplicate check needs (it is not a defence against forgery: a
/// writer who can send a batch can send any batch).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A stable 64-bit digest of a batch's points: FNV-1a over their canonical protobuf encoding,
/// each point length-delimited as in `Batch.points`. Protobuf leaves a map's order open, so a
/// hyperparameters point is digested as its encoding without the map followed by each entry's
/// encoding in key order. Bodies with the same points (a JSON body and a protobuf body, or a
/// protobuf body and its re-encoding) have the same digest.
pub fn content_digest(points: &[pb::Point]) -> u64 {
    let mut hash = Fnv1a::new();
    let mut buf = Vec::new();
    for p in points {
        buf.clear();
        match &p.value {
            Some(pb::point::Value::Hparams(hparams)) => {
                let bare = pb::Point {
                    tag: p.tag.clone(),
                    step: p.step,
                    wall_time: p.wall_time,
                    value: None,
                };
                bare.encode_length_delimited(&mut buf)
                    .expect("a Vec grows to fit any message");
                let data = pb::HParams {
                    values: Default::default(),
                    plugin_data: hparams.plugin_data.clone(),
                };
                data.encode(&mut buf)
                    .expect("a Vec grows to fit any message");
                let mut entries: Vec<_> = hparams.values.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (k, v) in entries {
                    let one = pb::HParams {
                        values: [(k.clone(), v.clone())].into_iter().collect(),
                        plugin_data: Vec::new(),
                    };
                    one.encode(&mut buf)
                        .expect("a Vec grows to fit any message");
                }
            }
            _ => p
                .encode_length_delimited(&mut buf)
                .expect("a Vec grows to fit any message"),
        }
        hash.write(&buf);
    }
    hash.0
}

/// Turns a wire batch with the [`content_digest`] of its points into store items, validating
/// everything first (all or nothing).
fn to_batch(b: pb::Batch, digest: u64) -> Result<Batch, ApiError> {
    let run = RunName::new(b.run).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if b.session.is_empty()
        || b.session.len() > MAX_SESSION_LEN
        || b.session.chars().any(char::is_control)
    {
        return Err(ApiError::BadRequest(format!(
            "invalid session {:?}: use 1 to {MAX_SESSION_LEN} printable bytes",
            b.session
        )));
    }
    if b.seq == 0 {
        return Err(ApiError::BadRequest("seq starts at 1".into()));
    }
    let mut items = Vec::with_capacity(b.points.len());
    let mut meshes = runboard_sdk::mesh::MeshCheck::default();
    for p in b.points {
        check_tag(&p.tag)?;
        use pb::point::Value as V;
        let value = match p.value {
            Some(V::Scalar(x)) => Value::Scalar(x),
            Some(V::Histogram(h)) => {
                if h.buckets.len() % 3 != 0 {
                    return Err(ApiError::BadRequest(format!(
                        "histogram {:?} at step {}: buckets must be [left, right, count] triples",
                        p.tag, p.step
                    )));
                }
                Value::Histogram(
                    h.buckets
                        .chunks_exact(3)
                        .map(|c| [c[0], c[1], c[2]])
                        .collect(),
                )
            }
            Some(V::Text(t)) => Value::Text(vec![t]),
            Some(V::Image(img)) => Value::Images(vec![Image {
                width: img.width,
                height: img.height,
                encoded: img.png,
            }]),
            Some(V::Hparams(h)) if !h.plugin_data.is_empty() => {
                let bad = |why: &str| {
                    ApiError::BadRequest(format!(
                        "hparams point {:?} at step {}: {why}",
                        p.tag, p.step
                    ))
                };
                if !h.values.is_empty() {
                    return Err(bad("give values or plugin_data, not both"));
                }
                let data = HParamsPluginData::decode(h.plugin_data.as_slice())
                    .map_err(|e| bad(&format!("plugin_data does not decode: {e}")))?;
                let hparams = HParams::from_plugin_data(data)
                    .ok_or_else(|| bad("plugin_data holds no experiment, session start or end"))?;
                if hparams.tag() != p.tag {
                    return Err(bad(&format!(
                        "its plugin_data belongs under {:?}",
                        hparams.tag()
                    )));
                }
                Value::HParams(hparams)
            }
            Some(V::Hparams(h)) => {
                let mut hparams: Vec<(String, HParamValue)> = h
                    .values
                    .iter()
                    .filter_map(|(k, v)| {
                        use runboard_proto::prost_types::value::Kind;
                        let v = match v.kind.as_ref()? {
                            Kind::NumberValue(n) => HParamValue::Number(*n),
                            Kind::StringValue(s) => HParamValue::String(s.clone()),
                            Kind::BoolValue(b) => HParamValue::Bool(*b),
                            _ => return None,
                        };
                        Some((k.clone(), v))
                    })
                    .collect();
                hparams.sort_by(|a, b| a.0.cmp(&b.0));
                Value::HParams(HParams::SessionStart {
                    hparams,
                    group_name: String::new(),
                    start_time_secs: p.wall_time,
                    model_uri: String::new(),
                    monitor_url: String::new(),
                    other_values: Vec::new(),
                })
            }
            Some(V::RunEvent(json)) => Value::Run(crate::runs::check_event_text(json)?),
            Some(V::PluginTensor(t)) => {
                if t.plugin.is_empty() || t.plugin.len() > 64 {
                    return Err(ApiError::BadRequest(format!(
                        "point {:?} at step {}: a plugin tensor needs a plugin name of 1 to 64 bytes",
                        p.tag, p.step
                    )));
                }
                let tensor = runboard_proto::tensorboard::TensorProto::decode(t.tensor.as_slice())
                    .map_err(|e| {
                        ApiError::BadRequest(format!(
                            "point {:?} at step {}: its tensor does not decode: {e}",
                            p.tag, p.step
                        ))
                    })?;
                use runboard_sdk::event::{audio_clips, plugin, pr_curve};
                let shape = match t.plugin.as_str() {
                    plugin::PR_CURVES if pr_curve(&tensor).is_none() => {
                        Some("a PR curve is a numeric tensor of shape [6, N]".to_owned())
                    }
                    plugin::AUDIO if audio_clips(&tensor).is_none() => {
                        Some("audio is a string tensor of shape [k, 2] (clip, label)".to_owned())
                    }
                    plugin::MESH => meshes
                        .check(p.step, &t.content, &tensor)
                        .err()
                        .map(|e| format!("mesh part: {e}")),
                    _ => None,
                };
                if let Some(why) = shape {
                    return Err(ApiError::BadRequest(format!(
                        "point {:?} at step {}: {why}",
                        p.tag, p.step
                    )));
                }
                Value::Tensor {
                    plugin: t.plugin,
                    content: t.content,
                    tensor: Box::new(tensor),
                }
            }
            Some(V::Embedding(e)) => {
                let (info, data) =
                    crate::projector::streamed(&p.tag, p.step, &e).map_err(|why| {
                        ApiError::BadRequest(format!("point {:?} at step {}: {why}", p.tag, p.step))
                    })?;
                items.push(Item::Projector(Box::new(ProjectorUpdate::Append {
                    info: Box::new(info),
                    data: Box::new(data),
                })));
                continue;
            }
            Some(V::GraphDef(bytes)) => {
                if p.tag != crate::graphs::RUN_GRAPH_TAG {
                    return Err(ApiError::BadRequest(format!(
                        "point {:?} at step {}: a graph_def goes under the tag {:?}",
                        p.tag,
                        p.step,
                        crate::graphs::RUN_GRAPH_TAG
                    )));
                }
                runboard_sdk::event::run_graph_value(bytes)
            }
            None => {
                return Err(ApiError::BadRequest(format!(
                    "point {:?} at step {} has no value",
                    p.tag, p.step
                )));
            }
        };
        items.push(Item::Value {
            tag: p.tag,
            step: p.step,
            wall_time: p.wall_time,
            value,
        });
    }
    Ok(Batch {
        run,
        items,
        progress: None,
        dedup: Some(BatchKey {
            session: b.session,
            seq: b.seq,
            digest,
        }),
    })
}

/// `POST /api/v1/ingest`: answers 200 with an `Ack` (protobuf, or JSON for a JSON request)
/// once the batch is committed.
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let (wire, digest) = if json {
        from_json(&body)?
    } else {
        let wire = pb::Batch::decode(body.as_ref())
            .map_err(|e| ApiError::BadRequest(format!("invalid protobuf batch: {e}")))?;
        let digest = content_digest(&wire.points);
        (wire, digest)
    };
    let (run, session, seq) = (wire.run.clone(), wire.session.clone(), wire.seq);
    let batch = to_batch(wire, digest)?;
    let points = batch.items.len() as u64;
    // Awaited, not blocked on: the handler holds no thread while the batch waits to commit.
    let ingested = state.store.submit_async(batch).await?;
    let duplicate = match ingested {
        Ingested::Stored => false,
        Ingested::Duplicate => true,
        Ingested::Skipped => {
            return Err(ApiError::Internal(
                "an HTTP batch was skipped as if it came from a file".into(),
            ));
        }
        Ingested::Conflict(conflict) => {
            let key = format!("batch (session {session:?}, seq {seq})");
            return Err(ApiError::Conflict(match conflict {
                Conflict::OtherRun {
                    stored: Some(stored),
                } => format!(
                    "{key} was already stored for run {stored:?}; this one is for run {run:?}: a key is never reused, send these points under a new seq"
                ),
                Conflict::OtherRun { stored: None } => format!(
                    "{key} was already stored for another run; this one is for run {run:?}: a key is never reused, send these points under a new seq"
                ),
                Conflict::OtherContent => format!(
                    "{key} was already stored for run {run:?} with other points: a key is never reused, send these points under a new seq"
                ),
            }));
        }
    };
    let ack = pb::Ack {
        seq,
        duplicate,
        points: if duplicate { 0 } else { points },
    };
    Ok(if json {
        let body =
            serde_json::json!({"seq": ack.seq, "duplicate": ack.duplicate, "points": ack.points});
        (StatusCode::OK, axum::Json(body)).into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            ack.encode_to_vec(),
        )
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing;
    use axum::body::Body;
    use axum::http::Request;

    fn post(uri: &str, content_type: &str, token: Option<&str>, body: Vec<u8>) -> Request<Body> {
        let mut b = Request::post(uri).header(header::CONTENT_TYPE, content_type);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b.body(Body::from(body)).expect("request")
    }

    fn scalar_batch(session: &str, seq: u64, steps: std::ops::Range<i64>) -> pb::Batch {
        pb::Batch {
            run: "remote/exp".into(),
            session: session.into(),
            seq,
            points: steps
                .map(|s| pb::Point {
                    tag: "loss".into(),
                    step: s,
                    wall_time: 1000.0 + s as f64,
                    value: Some(pb::point::Value::Scalar(s as f64)),
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn protobuf_batches_are_stored_once_however_often_they_are_sent() {
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        let body = scalar_batch("s1", 1, 0..100).encode_to_vec();
        for attempt in 0..3 {
            let (status, _, bytes) = testing::send(
                &router,
                post(
                    "/api/v1/ingest",
                    "application/x-protobuf",
                    None,
                    body.clone(),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let ack = pb::Ack::decode(bytes.as_ref()).unwrap();
            assert_eq!(
                (ack.seq, ack.duplicate),
                (1, attempt > 0),
                "attempt {attempt}"
            );
        }
        // A later batch out of order, then the one before it: both stored.
        for (seq, steps) in [(3, 200..300), (2, 100..200)] {
            let body = scalar_batch("s1", seq, steps).encode_to_vec();
            let (status, _, _) = testing::send(
                &router,
                post("/api/v1/ingest", "application/x-protobuf", None, body),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
        }
        let json = testing::get_json(&router, "/api/v1/scalars?run=remote/exp&tag=loss").await;
        let steps: Vec<i64> = json["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_i64().unwrap())
            .collect();
        // Batch 3 (steps 200..300) then batch 2 (100..200): the step going back replaces the
        // later points (TensorBoard's restart rule), so the series ends at 199.
        assert_eq!(steps, (0..200).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn points_posted_over_http_reach_live_subscribers_after_the_commit() {
        let (_dir, state) = testing::empty_state();
        let mut changes = state.store.subscribe();
        let router = crate::api::router(state);
        let body = scalar_batch("live", 1, 0..3).encode_to_vec();
        let (status, _, _) = testing::send(
            &router,
            post("/api/v1/ingest", "application/x-protobuf", None, body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        // The acknowledgement came after the commit, so the change is already published.
        let change = changes
            .try_recv()
            .expect("a change was published before the ack");
        let (run, tag, points) = &change.scalars[0];
        assert_eq!(
            (run.as_str(), tag.as_str(), points.len()),
            ("remote/exp", "loss", 3)
        );
    }

    #[tokio::test]
    async fn json_batches_for_curl_users() {
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        let body = br#"{"run":"curl","session":"c","seq":1,"points":[
            {"tag":"acc","step":1,"wall_time":5.0,"scalar":0.5},
            {"tag":"notes","step":1,"text":"**hi**"},
            {"tag":"h","step":1,"histogram":[[0,1,3],[1,2,4]]}]}"#;
        let (status, _, bytes) = testing::send(
            &router,
            post("/api/v1/ingest", "application/json", None, body.to_vec()),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let ack: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            ack,
            serde_json::json!({"seq": 1, "duplicate": false, "points": 3})
        );
        let json = testing::get_json(&router, "/api/v1/scalars?run=curl&tag=acc").await;
        assert_eq!(json["points"], serde_json::json!([[1, 5.0, 0.5]]));
        // Media types are case-insensitive: the guard lets this through, so the handler must
        // read it as JSON too (a retry of the same batch: a duplicate, not a protobuf error).
        let (status, _, bytes) = testing::send(
            &router,
            post(
                "/api/v1/ingest",
                "Application/JSON; charset=utf-8",
                None,
                body.to_vec(),
            ),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let ack: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(ack["duplicate"], true);
    }

    #[tokio::test]
    async fn bad_batches_get_4xx_and_store_nothing() {
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        // A graph under another tag than the run graph's.
        let misplaced_graph = pb::Batch {
            run: "ok".into(),
            session: "s".into(),
            seq: 1,
            points: vec![pb::Point {
                tag: "loss".into(),
                value: Some(pb::point::Value::GraphDef(vec![10, 0])),
                ..Default::default()
            }],
        };
        // Plugin tensors without a plugin, or whose tensor does not decode.
        let tensor_point = |plugin: &str, tensor: Vec<u8>| pb::Batch {
            run: "ok".into(),
            session: "s".into(),
            seq: 1,
            points: vec![pb::Point {
                tag: "layout".into(),
                value: Some(pb::point::Value::PluginTensor(pb::PluginTensor {
                    plugin: plugin.into(),
                    tensor,
                    content: Vec::new(),
                })),
                ..Default::default()
            }],
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("application/x-protobuf", vec![0xff, 0xff, 0xff, 0xff, 0x0f]),
            ("application/x-protobuf", misplaced_graph.encode_to_vec()),
            (
                "application/x-protobuf",
                tensor_point("", Vec::new()).encode_to_vec(),
            ),
            (
                "application/x-protobuf",
                tensor_point("custom_scalars", vec![0xff, 0xff]).encode_to_vec(),
            ),
            ("application/json", b"{not json".to_vec()),
            (
                "application/json",
                br#"{"run":"../x","session":"s","seq":1}"#.to_vec(),
            ),
            (
                "application/json",
                br#"{"run":"a//b","session":"s","seq":1}"#.to_vec(),
            ),
            (
                "application/json",
                br#"{"run":"ok","session":"","seq":1}"#.to_vec(),
            ),
            (
                "application/json",
                br#"{"run":"ok","session":"s","seq":0}"#.to_vec(),
            ),
            (
                "application/json",
                br#"{"run":"ok","session":"s","seq":1,"points":[{"tag":"x","step":1}]}"#.to_vec(),
            ),
            (
                "application/json",
                br#"{"run":"ok","session":"s","seq":1,"points":[{"tag":"","step":1,"scalar":1}]}"#
                    .to_vec(),
            ),
            (
                "application/json",
                br#"{"run":"ok","session":"s","seq":1,"extra":true}"#.to_vec(),
            ),
        ];
        for (ct, body) in cases {
            let shown = String::from_utf8_lossy(&body).into_owned();
            let (status, _, bytes) =
                testing::send(&router, post("/api/v1/ingest", ct, None, body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{shown}");
            let err: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(err["code"], "bad_request", "{shown}");
        }
        let runs = testing::get_json(&router, "/api/v1/runs").await;
        assert_eq!(runs, serde_json::json!([]));
        // Oversized bodies are refused before they are read whole.
        let big = vec![b' '; crate::api::INGEST_BODY_LIMIT + 1];
        let (status, _, _) = testing::send(
            &router,
            post("/api/v1/ingest", "application/json", None, big),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn gzip_bodies_are_decompressed_and_limited_after_decompression() {
        use std::io::Write;
        let gzip = |bytes: &[u8]| {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(bytes).unwrap();
            enc.finish().unwrap()
        };
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        let mut req = post(
            "/api/v1/ingest",
            "application/x-protobuf",
            None,
            gzip(&scalar_batch("g", 1, 0..10).encode_to_vec()),
        );
        req.headers_mut()
            .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let (status, _, bytes) = testing::send(&router, req).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(pb::Ack::decode(bytes.as_ref()).unwrap().points, 10);
        // A small gzip body that inflates past the limit is refused.
        let bomb = gzip(&vec![b' '; crate::api::INGEST_BODY_LIMIT * 2]);
        assert!(bomb.len() < crate::api::DEFAULT_BODY_LIMIT);
        let mut req = post("/api/v1/ingest", "application/json", None, bomb);
        req.headers_mut()
            .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let (status, _, _) = testing::send(&router, req).await;
        assert!(status.is_client_error(), "{status}");
    }

    /// Posts a protobuf batch; returns the status and the body.
    async fn post_batch(router: &axum::Router, batch: &pb::Batch) -> (StatusCode, Bytes) {
        let req = post(
            "/api/v1/ingest",
            "application/x-protobuf",
            None,
            batch.encode_to_vec(),
        );
        let (status, _, body) = testing::send(router, req).await;
        (status, body)
    }

    #[tokio::test]
    async fn a_key_reused_for_another_run_or_other_points_is_a_409_conflict() {
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        let first = scalar_batch("s", 1, 0..10);
        assert_eq!(post_batch(&router, &first).await.0, StatusCode::OK);
        // The same key and content again: a duplicate, acknowledged.
        let (status, body) = post_batch(&router, &first).await;
        assert_eq!(status, StatusCode::OK);
        assert!(pb::Ack::decode(body.as_ref()).unwrap().duplicate);
        // The same key for another run, then for the same run with other points: refused.
        let other_run = pb::Batch {
            run: "elsewhere".into(),
            ..first.clone()
        };
        let other_points = scalar_batch("s", 1, 0..11);
        let mut changed_value = first.clone();
        changed_value.points[3].value = Some(pb::point::Value::Scalar(-1.0));
        for (what, batch) in [
            ("another run", &other_run),
            ("another point", &other_points),
            ("another value", &changed_value),
        ] {
            let (status, body) = post_batch(&router, batch).await;
            assert_eq!(status, StatusCode::CONFLICT, "{what}");
            let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(err["code"], "conflict", "{what}");
            let message = err["message"].as_str().unwrap();
            assert!(message.contains("seq 1"), "{what}: {message}");
        }
        let (_, body) = post_batch(&router, &other_run).await;
        let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            err["message"].as_str().unwrap().contains("\"remote/exp\""),
            "names the run the key was stored for: {err}"
        );
        // Nothing of the refused batches was stored: no run "elsewhere", ten points.
        let runs = testing::get_json(&router, "/api/v1/runs").await;
        assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
        let json = testing::get_json(&router, "/api/v1/scalars?run=remote/exp&tag=loss").await;
        assert_eq!(json["points"].as_array().unwrap().len(), 10);
        assert_eq!(json["points"][3][2], 3.0);
    }

    #[tokio::test]
    async fn json_and_protobuf_bodies_of_the_same_points_are_the_same_batch() {
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        let json = br#"{"run":"remote/exp","session":"j","seq":1,"points":[
            {"tag":"loss","step":0,"wall_time":1000.0,"scalar":0.0},
            {"tag":"loss","step":1,"wall_time":1001.0,"scalar":1.0},
            {"tag":"h","step":1,"wall_time":1001.0,"histogram":[[0,1,3],[1,2,4]]},
            {"tag":"t","step":1,"wall_time":1001.0,"text":"hi"}]}"#;
        let (from_json, json_digest) = from_json(json).unwrap();
        let mut proto = scalar_batch("j", 1, 0..2);
        proto.points.push(pb::Point {
            tag: "h".into(),
            step: 1,
            wall_time: 1001.0,
            value: Some(pb::point::Value::Histogram(pb::Histogram {
                buckets: vec![0.0, 1.0, 3.0, 1.0, 2.0, 4.0],
            })),
        });
        proto.points.push(pb::Point {
            tag: "t".into(),
            step: 1,
            wall_time: 1001.0,
            value: Some(pb::point::Value::Text("hi".into())),
        });
        assert_eq!(from_json, proto);
        assert_eq!(json_digest, content_digest(&proto.points));
        // Over HTTP: the JSON body is stored, the protobuf body is its duplicate (not a conflict).
        let (status, _, body) = testing::send(
            &router,
            post("/api/v1/ingest", "application/json", None, json.to_vec()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let (status, body) = post_batch(&router, &proto).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert!(pb::Ack::decode(body.as_ref()).unwrap().duplicate);
        // A curl retry without wall times is a duplicate too (their arrival time is not content).
        let bare =
            br#"{"run":"curl","session":"c","seq":1,"points":[{"tag":"x","step":1,"scalar":2}]}"#;
        for duplicate in [false, true] {
            let (status, _, body) = testing::send(
                &router,
                post("/api/v1/ingest", "application/json", None, bare.to_vec()),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            let ack: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(ack["duplicate"], duplicate);
        }
    }

    #[test]
    fn the_digest_of_hyperparameters_does_not_depend_on_the_map_order() {
        use runboard_proto::prost_types::{Value as PbValue, value::Kind};
        let point = |keys: &[&str]| pb::Point {
            tag: "_hparams_/session_start_info".into(),
            step: 0,
            wall_time: 1.0,
            value: Some(pb::point::Value::Hparams(pb::HParams {
                values: keys
                    .iter()
                    .map(|k| {
                        let v = PbValue {
                            kind: Some(Kind::StringValue(format!("value of {k}"))),
                        };
                        ((*k).to_owned(), v)
                    })
                    .collect(),
                plugin_data: Vec::new(),
            })),
        };
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let forward: Vec<&str> = keys.iter().map(String::as_str).collect();
        let backward: Vec<&str> = keys.iter().rev().map(String::as_str).collect();
        let digest = content_digest(&[point(&forward)]);
        // Each HashMap has its own random order: many maps, one digest.
        for _ in 0..20 {
            assert_eq!(content_digest(&[point(&backward)]), digest);
            assert_eq!(content_digest(&[point(&forward)]), digest);
        }
        assert_ne!(content_digest(&[point(&forward[1..])]), digest);
    }

    #[tokio::test]
    async fn ingest_takes_bodies_up_to_its_own_limit_while_other_routes_keep_theirs() {
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        // About 2 MiB of points: over the default limit, under the ingest limit.
        let mut batch = scalar_batch("big", 1, 0..20_000);
        for p in &mut batch.points {
            p.tag = "t".repeat(90);
        }
        let body = batch.encode_to_vec();
        assert!(body.len() > crate::api::DEFAULT_BODY_LIMIT);
        assert!(body.len() < crate::api::INGEST_BODY_LIMIT);
        let (status, _, bytes) = testing::send(
            &router,
            post(
                "/api/v1/ingest",
                "application/x-protobuf",
                None,
                body.clone(),
            ),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        assert_eq!(pb::Ack::decode(bytes.as_ref()).unwrap().points, 20_000);
        let (status, headers, bytes) = testing::send(
            &router,
            post(
                "/data/plugin/timeseries/timeSeries",
                "application/x-www-form-urlencoded",
                None,
                body,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let err: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(err["code"], "payload_too_large");
        // A wrong method at the ingest path is still the API's JSON 405.
        let (status, _, _) = testing::get(&router, "/api/v1/ingest").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn run_names_follow_the_one_rule() {
        let (_dir, state) = testing::empty_state();
        let router = crate::api::router(state);
        let batch = |run: &str| pb::Batch {
            run: run.into(),
            session: format!("session of {}", run.len()),
            ..scalar_batch("s", 1, 0..1)
        };
        for bad in [
            "",
            "/abs",
            "a/../b",
            "..",
            "a/",
            "a//b",
            "tab\tname",
            &"x".repeat(300),
        ] {
            let (status, body) = post_batch(&router, &batch(bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
            let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains("invalid run name"),
                "{err}"
            );
        }
        // "." is the logdir's own folder: the same run whether it comes from a file there or
        // over HTTP (refused here before; export always took it as the root run).
        for good in [".", "exp", "mnist/baseline", "a b/c-d_e.f"] {
            let (status, body) = post_batch(&router, &batch(good)).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{good:?}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let runs = testing::get_json(&router, "/api/v1/runs").await;
        let names: Vec<&str> = runs
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"."), "{names:?}");
    }
}
