//! Tests of TensorBoard's data API as runboard serves it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use super::super::testing::*;
use super::{compress_histogram, image_key, parse_image_key};

fn text_of(body: &[u8]) -> &str {
    std::str::from_utf8(body).expect("UTF-8")
}

#[tokio::test]
async fn runs_environment_and_plugins() {
    let f = fixture();
    let (status, headers, body) = get(&f.router, "/data/runs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(text_of(&body), r#"["train", "eval"]"#);
    let env = get_json(&f.router, "/data/environment").await;
    assert_eq!(
        env,
        json!({"version": format!("runboard {}", env!("CARGO_PKG_VERSION")),
               "data_location": "/tmp/logs", "window_title": "my runs",
               "experiment_name": "", "experiment_description": "", "creation_time": 0})
    );
    let (_, _, body) = get(&f.router, "/data/plugins_listing").await;
    let listing = text_of(&body);
    assert!(listing.starts_with(r#"{"timeseries": {"disable_reload": false, "enabled": true, "remove_dom": false, "tab_name": "Time Series", "loading_mechanism": {"type": "NG_COMPONENT"}}, "scalars": {"#), "{listing}");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    for (name, enabled) in [
        ("scalars", true),
        ("histograms", true),
        ("distributions", true),
        ("text", true),
        ("images", true),
        ("hparams", false),
        ("graphs", false),
    ] {
        assert_eq!(v[name]["enabled"], enabled, "{name}");
    }
    assert_eq!(
        v["scalars"]["loading_mechanism"],
        json!({"type": "CUSTOM_ELEMENT", "element_name": "tf-scalar-dashboard"})
    );
    assert_eq!(
        v["projector"]["loading_mechanism"]["module_path"],
        "/data/plugin/projector/index.js"
    );
    assert_eq!(v.as_object().expect("object").len(), 16);
}

#[tokio::test]
async fn tags_are_grouped_by_run() {
    let f = fixture();
    let (_, _, body) = get(&f.router, "/data/plugin/scalars/tags").await;
    assert_eq!(
        text_of(&body),
        r#"{"train": {"loss": {"displayName": "", "description": ""}, "spike": {"displayName": "", "description": ""}}, "eval": {"loss": {"displayName": "", "description": ""}}}"#
    );
    let h = get_json(&f.router, "/data/plugin/histograms/tags").await;
    assert_eq!(
        h,
        json!({"train": {"weights": {"displayName": "", "description": ""}}})
    );
    assert_eq!(
        get_json(&f.router, "/data/plugin/distributions/tags").await,
        h
    );
    let t = get_json(&f.router, "/data/plugin/text/tags").await;
    assert_eq!(t, json!({"train": ["notes", "pair"]}));
    let i = get_json(&f.router, "/data/plugin/images/tags").await;
    assert_eq!(
        i,
        json!({"train": {"img": {"displayName": "", "description": "", "samples": 1}}})
    );
    let (_, _, body) = get(&f.router, "/data/plugin/timeseries/tags").await;
    assert_eq!(
        text_of(&body),
        r#"{"scalars": {"runTagInfo": {"train": ["loss", "spike"], "eval": ["loss"]}, "tagDescriptions": {}}, "histograms": {"runTagInfo": {"train": ["weights"]}, "tagDescriptions": {}}, "images": {"tagDescriptions": {}, "tagRunSampledInfo": {"img": {"train": {"maxSamplesPerStep": 1}}}}}"#
    );
}

#[tokio::test]
async fn scalars_as_tensorboard_encodes_them() {
    let f = fixture();
    let (status, headers, body) =
        get(&f.router, "/data/plugin/scalars/scalars?run=train&tag=loss").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        text_of(&body),
        r#"[[1000.0, 0, 1.0], [1000.25, 1, "NaN"], [1000.5, 2, "Infinity"], [1000.75, 3, "-Infinity"], [1001.0, 4, 2.5]]"#
    );
    let all = get_json(
        &f.router,
        "/data/plugin/scalars/scalars?run=train&tag=spike",
    )
    .await;
    assert_eq!(
        all.as_array().expect("array").len(),
        20_000,
        "full fidelity"
    );
}

#[tokio::test]
async fn scalars_as_csv() {
    let f = fixture();
    let (status, headers, body) = get(
        &f.router,
        "/data/plugin/scalars/scalars?run=train&tag=loss&format=csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        text_of(&body),
        "Wall time,Step,Value\r\n1000.0,0,1.0\r\n1000.25,1,nan\r\n1000.5,2,inf\r\n1000.75,3,-inf\r\n1001.0,4,2.5\r\n"
    );
}

#[tokio::test]
async fn unknown_or_malformed_requests_fail_in_json() {
    let f = fixture();
    for uri in [
        "/data/plugin/scalars/scalars?run=nope&tag=loss",
        "/data/plugin/scalars/scalars?run=train&tag=nope",
        "/data/plugin/scalars/scalars?run=train&tag=weights",
        "/data/plugin/histograms/histograms?run=train&tag=loss",
        "/data/plugin/distributions/distributions?run=eval&tag=weights",
        "/data/plugin/images/images?run=train&tag=nope",
    ] {
        get_error(&f.router, uri, StatusCode::NOT_FOUND, "not_found").await;
    }
    for uri in [
        "/data/plugin/scalars/scalars?run=train",
        "/data/plugin/histograms/histograms?tag=weights",
        "/data/plugin/text/text",
        "/data/plugin/images/individualImage?blob_key=zz",
        "/data/plugin/timeseries/timeSeries",
        "/data/plugin/timeseries/timeSeries?requests=notjson",
    ] {
        get_error(&f.router, uri, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[tokio::test]
async fn histograms_and_distributions() {
    let f = fixture();
    let (_, _, body) = get(
        &f.router,
        "/data/plugin/histograms/histograms?run=train&tag=weights",
    )
    .await;
    assert_eq!(
        text_of(&body),
        "[[1001.5, 1, [[0.0, 1.0, 3.0], [1.0, 2.0, 1.0]]], [1001.5, 2, [[0.0, 1.0, 3.0], [1.0, 2.0, 2.0]]]]"
    );
    let (_, _, body) = get(
        &f.router,
        "/data/plugin/distributions/distributions?run=train&tag=weights",
    )
    .await;
    // The first histogram's values are TensorBoard's own (compressor.compress_histogram).
    assert!(
        text_of(&body).starts_with(
            "[[1001.5, 1, [[0, 0.0], [668, 0.08906666666666667], [1587, 0.2116], [3085, 0.41133333333333333], [5000, 0.6666666666666666], [6915, 0.922], [8413, 1.3652], [9332, 1.7328000000000001], [10000, 2.0]]], "
        ),
        "{}",
        text_of(&body)
    );
}

#[test]
fn compression_matches_tensorboard() {
    let got = compress_histogram(&[[-1.0, 0.5, 2.0], [0.5, 0.5, 0.0], [0.5, 3.0, 5.0]]);
    let want = [
        (0, -1.0),
        (668, -0.6493),
        (1587, -0.1668250000000001),
        (3085, 0.57975),
        (5000, 1.25),
        (6915, 1.92025),
        (8413, 2.4445500000000004),
        (9332, 2.7662),
        (10000, 3.0),
    ];
    assert_eq!(got, want);
    let empty_counts = compress_histogram(&[[0.0, 1.0, 0.0], [1.0, 2.0, 0.0]]);
    assert!(empty_counts.iter().all(|(_, v)| *v == 2.0));
    let point_mass = compress_histogram(&[[7.0, 7.0, 0.0], [7.0, 7.0, 1.0]]);
    assert!(point_mass.iter().all(|(_, v)| *v == 7.0));
    assert!(compress_histogram(&[]).iter().all(|(_, v)| *v == 0.0));
}

#[tokio::test]
async fn text_is_safe_html() {
    let f = fixture();
    let v = get_json(&f.router, "/data/plugin/text/text?run=train&tag=notes").await;
    assert_eq!(v[0]["step"], 2);
    assert_eq!(v[0]["wall_time"], 1002.0);
    let keys: Vec<&String> = v[0].as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 3);
    let html = v[0]["text"].as_str().expect("html");
    assert!(html.starts_with("<h1>Notes</h1>\n<p>hello <strong>bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>"), "{html}");
    assert!(
        html.contains("<th>a</th>") && !html.contains("<script"),
        "{html}"
    );
    // TensorBoard answers an unknown text tag with an empty list.
    assert_eq!(
        get_json(&f.router, "/data/plugin/text/text?run=train&tag=nope").await,
        json!([])
    );
}

#[tokio::test]
async fn images_by_key() {
    let f = fixture();
    let v = get_json(&f.router, "/data/plugin/images/images?run=train&tag=img").await;
    assert_eq!(v.as_array().expect("array").len(), 2);
    assert_eq!(
        (&v[1]["step"], &v[1]["wall_time"]),
        (&json!(4), &json!(1007.0))
    );
    let query = v[1]["query"].as_str().expect("query");
    let ids = image_ids(&f);
    assert_eq!(
        query,
        format!("blob_key={}", image_key("train", "img", ids[1]))
    );
    let (status, headers, body) = get(
        &f.router,
        &format!("/data/plugin/images/individualImage?{query}&ts=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(&body[..], PNG);
    let none = get_json(
        &f.router,
        "/data/plugin/images/images?run=train&tag=img&sample=1",
    )
    .await;
    assert_eq!(none, json!([]));
    assert_eq!(
        parse_image_key(&image_key("a/b", "é\"", 7)).expect("key"),
        ("a/b".into(), "é\"".into(), 7)
    );
}

const REQUESTS: &str = r#"[{"plugin":"scalars","tag":"loss"},{"plugin":"histograms","tag":"weights","run":"train"},{"plugin":"scalars","tag":"loss","run":"eval"},{"plugin":"scalars","tag":"nope"},{"plugin":"images","tag":"img","run":"train","sample":0},{"plugin":"foo","tag":"x"},{"plugin":"images","tag":"img"},{"plugin":"histograms","tag":"weights"}]"#;

fn check_time_series(body: &[u8], ids: &[i64]) {
    let text = text_of(body);
    assert!(
        text.starts_with(r#"[{"plugin": "scalars", "tag": "loss", "runToSeries": {"train": [{"wallTime": 1000.0, "step": 0, "value": 1.0}, {"wallTime": 1000.25, "step": 1, "value": "NaN"}, "#),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_slice(body).expect("json");
    assert_eq!(
        v[0]["runToSeries"]["eval"],
        json!([{"wallTime": 5000.0, "step": 1, "value": 0.5}])
    );
    assert_eq!(
        v[1],
        json!({"plugin": "histograms", "tag": "weights", "run": "train", "runToSeries": {"train": [
            {"wallTime": 1001.5, "step": 1, "bins": [{"min": 0.0, "max": 1.0, "count": 3.0}, {"min": 1.0, "max": 2.0, "count": 1.0}]},
            {"wallTime": 1001.5, "step": 2, "bins": [{"min": 0.0, "max": 1.0, "count": 3.0}, {"min": 1.0, "max": 2.0, "count": 2.0}]}]}})
    );
    assert_eq!(
        v[2],
        json!({"plugin": "scalars", "tag": "loss", "run": "eval", "runToSeries": {"eval": [{"wallTime": 5000.0, "step": 1, "value": 0.5}]}})
    );
    assert_eq!(
        v[3],
        json!({"plugin": "scalars", "tag": "nope", "runToSeries": {}})
    );
    assert_eq!(
        v[4],
        json!({"plugin": "images", "tag": "img", "run": "train", "sample": 0, "runToSeries": {"train": [
            {"step": 3, "wallTime": 1006.0, "imageId": image_key("train", "img", ids[0])},
            {"step": 4, "wallTime": 1007.0, "imageId": image_key("train", "img", ids[1])}]}})
    );
    assert_eq!(
        v[5],
        json!({"plugin": "foo", "tag": "x", "error": "Invalid plugin"})
    );
    assert_eq!(
        v[6],
        json!({"plugin": "images", "tag": "img", "error": "Missing run"})
    );
    assert_eq!(
        v[7],
        json!({"plugin": "histograms", "tag": "weights", "error": "Missing run"})
    );
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn time_series_from_a_urlencoded_form() {
    let f = fixture();
    let req = Request::post("/data/plugin/timeseries/timeSeries")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("requests={}", form_encode(REQUESTS))))
        .expect("request");
    let (status, headers, body) = send(&f.router, req).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    check_time_series(&body, &image_ids(&f));
}

#[tokio::test]
async fn time_series_from_a_multipart_form_and_a_query() {
    let f = fixture();
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"requests\"\r\n\r\n{REQUESTS}\r\n--XyZ--\r\n"
    );
    let req = Request::post("/data/plugin/timeseries/timeSeries")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
        .body(Body::from(body))
        .expect("request");
    let (status, _, body) = send(&f.router, req).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    check_time_series(&body, &image_ids(&f));
    let uri = format!(
        "/data/plugin/timeseries/timeSeries?requests={}",
        form_encode(REQUESTS)
    );
    let (status, _, body) = get(&f.router, &uri).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    check_time_series(&body, &image_ids(&f));
}

#[tokio::test]
async fn time_series_without_requests_is_a_400() {
    let f = fixture();
    let req = Request::post("/data/plugin/timeseries/timeSeries")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("other=1"))
        .expect("request");
    let (status, _, body) = send(&f.router, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["code"], "bad_request");
    let req = Request::post("/data/plugin/timeseries/timeSeries")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("requests=%7B%7D"))
        .expect("request");
    let (status, _, _) = send(&f.router, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an object is not an array");
}

/// A run whose graph is `graph_def` (as the ingester keeps an `Event.graph_def`).
fn state_with_graph(graph_def: Vec<u8>) -> (tempfile::TempDir, crate::api::AppState) {
    use runboard_proto::tensorboard::Event;
    use runboard_proto::tensorboard::event::What;
    let (dir, state) = empty_state();
    let event = Event {
        wall_time: 1.0,
        what: Some(What::GraphDef(graph_def)),
        ..Event::default()
    };
    store_events(&state, "net", vec![event]);
    (dir, state)
}

#[tokio::test]
async fn graphs_bad_requests_and_undecodable_graphs_are_4xx_json() {
    let (_dir, state) = state_with_graph(vec![0xff, 0xff, 0xff]);
    let r = crate::api::router(state);
    let listing = get_json(&r, "/data/plugins_listing").await;
    assert_eq!(listing["graphs"]["enabled"], true);
    let info = get_json(&r, "/data/plugin/graphs/info").await;
    assert_eq!(
        info,
        json!({"net": {"run": "net", "tags": {}, "run_graph": true}})
    );
    let m = get_error(
        &r,
        "/data/plugin/graphs/graph?run=net",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    assert!(m.contains("does not decode as a GraphDef"), "{m}");
    for (uri, status, code) in [
        (
            "/data/plugin/graphs/graph",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/data/plugin/graphs/graph?run=other",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/data/plugin/graphs/graph?run=net&tag=step1",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/data/plugin/graphs/graph?run=net&conceptual=true",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/data/plugin/graphs/graph?run=net&limit_attr_size=big",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/data/plugin/graphs/run_metadata?run=net",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "/data/plugin/graphs/run_metadata?run=net&tag=t",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ] {
        get_error(&r, uri, status, code).await;
    }
}

#[tokio::test]
async fn large_and_odd_graphs_are_served_whole() {
    use runboard_proto::prost::Message;
    use runboard_proto::tensorboard::{AttrValue, GraphDef, NodeDef, attr_value};
    // 200,000 nodes, one with 10,000 inputs, a cycle (a -> b -> a), an attribute of 2 KiB.
    let mut node: Vec<NodeDef> = (0..200_000)
        .map(|i| NodeDef {
            name: format!("scope{}/n{i}", i % 100),
            op: "aten::add".into(),
            input: vec![format!("scope{}/n{}", (i + 1) % 100, (i + 1) % 200_000)],
            ..NodeDef::default()
        })
        .collect();
    node[0].input = (1..=10_000)
        .map(|i| format!("scope{}/n{i}", i % 100))
        .collect();
    node[1].attr.insert(
        "big".into(),
        AttrValue {
            value: Some(attr_value::Value::S(vec![b'x'; 2048])),
        },
    );
    let graph = GraphDef {
        node,
        ..GraphDef::default()
    };
    let (_dir, state) = state_with_graph(graph.encode_to_vec());
    let r = crate::api::router(state);
    let (status, headers, body) = get(&r, "/data/plugin/graphs/graph?run=net").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/x-protobuf; charset=utf-8"
    );
    let text = text_of(&body);
    assert_eq!(
        text.matches("\nnode {\n").count() + 1,
        200_000,
        "every node"
    );
    assert_eq!(
        text.matches("  input: ").count(),
        10_000 + 199_999,
        "every input"
    );
    let (_, _, body) = get(
        &r,
        "/data/plugin/graphs/graph?run=net&limit_attr_size=1024&large_attrs_key=_too_large_attrs",
    )
    .await;
    let text = text_of(&body);
    assert!(!text.contains("xxxx") && text.contains("key: \"_too_large_attrs\""));
    assert!(
        text.contains("s: \"big\""),
        "the dropped attribute is named"
    );
}

#[tokio::test]
async fn a_custom_scalars_layout_that_does_not_decode_is_a_422() {
    let (_dir, state) = empty_state();
    let bad = runboard_proto::tensorboard::TensorProto {
        dtype: runboard_proto::tensorboard::DataType::DtString as i32,
        string_val: vec![vec![0xff, 0xff, 0xff]],
        ..Default::default()
    };
    state
        .store
        .submit(crate::store::Batch {
            run: crate::types::RunName::new("r").expect("name"),
            items: vec![crate::store::Item::Value {
                tag: crate::custom_scalars::LAYOUT_TAG.into(),
                step: 0,
                wall_time: 1.0,
                value: runboard_sdk::Value::Tensor {
                    plugin: crate::custom_scalars::PLUGIN.into(),
                    content: Vec::new(),
                    tensor: Box::new(bad),
                },
            }],
            progress: None,
            dedup: None,
        })
        .expect("submit");
    state.store.flush().expect("flush");
    let r = crate::api::router(state);
    assert_eq!(
        get_json(&r, "/data/plugins_listing").await["custom_scalars"]["enabled"],
        true
    );
    let m = get_error(
        &r,
        "/data/plugin/custom_scalars/layout",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    assert!(
        m.contains("run \"r\"") && m.contains("does not decode"),
        "{m}"
    );
    // No layout at all: `{}`, as TensorBoard answers.
    let (_dir, empty) = empty_state();
    let r = crate::api::router(empty);
    let (status, _, body) = get(&r, "/data/plugin/custom_scalars/layout").await;
    assert_eq!((status, text_of(&body)), (StatusCode::OK, "{}"));
}

#[tokio::test]
async fn the_latest_graph_is_served_and_bad_run_metadata_is_a_422() {
    use runboard_proto::prost::Message;
    use runboard_proto::tensorboard::{GraphDef, NodeDef};
    let (_dir, state) = empty_state();
    let graph = |name: &str| {
        GraphDef {
            node: vec![NodeDef {
                name: name.into(),
                op: "X".into(),
                ..NodeDef::default()
            }],
            ..GraphDef::default()
        }
        .encode_to_vec()
    };
    let items = vec![
        (0, runboard_sdk::event::run_graph_value(graph("first"))),
        (1, runboard_sdk::event::run_graph_value(graph("second"))),
    ];
    let mut items: Vec<crate::store::Item> = items
        .into_iter()
        .map(|(step, value)| crate::store::Item::Value {
            tag: crate::graphs::RUN_GRAPH_TAG.into(),
            step,
            wall_time: 1.0,
            value,
        })
        .collect();
    items.push(crate::store::Item::Value {
        tag: "step1".into(),
        step: 0,
        wall_time: 1.0,
        value: runboard_sdk::event::blob_value(
            crate::graphs::RUN_METADATA_PLUGIN,
            vec![0xff, 0xff],
        ),
    });
    state
        .store
        .submit(crate::store::Batch {
            run: crate::types::RunName::new("net").expect("name"),
            items,
            progress: None,
            dedup: None,
        })
        .expect("submit");
    state.store.flush().expect("flush");
    let r = crate::api::router(state);
    let (_, _, body) = get(&r, "/data/plugin/graphs/graph?run=net").await;
    assert!(
        text_of(&body).starts_with("node {\n  name: \"second\"\n"),
        "{}",
        text_of(&body)
    );
    let info = get_json(&r, "/data/plugin/graphs/info").await;
    assert_eq!(
        info["net"]["tags"]["step1"],
        json!({"tag": "step1", "conceptual_graph": false, "op_graph": false, "profile": true})
    );
    let m = get_error(
        &r,
        "/data/plugin/graphs/run_metadata?run=net&tag=step1",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
    assert!(m.contains("does not decode as a RunMetadata"), "{m}");
    // A tag that is not run metadata (the graph's own) is not found.
    get_error(
        &r,
        "/data/plugin/graphs/run_metadata?run=net&tag=__run_graph__",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_graph_view_opens_scopes_finds_ops_and_says_what_is_missing() {
    use runboard_proto::prost::Message;
    use runboard_proto::tensorboard::{GraphDef, NodeDef};
    let node = |name: &str, inputs: &[&str]| NodeDef {
        name: name.into(),
        op: "aten::op".into(),
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        ..NodeDef::default()
    };
    let graph = GraphDef {
        node: vec![
            node("input/x", &[]),
            node("Net/fc1/y", &["input/x"]),
            node("Net/fc2/y", &["Net/fc1/y"]),
            node("output/y", &["Net/fc2/y"]),
        ],
        ..GraphDef::default()
    };
    let (_dir, state) = state_with_graph(graph.encode_to_vec());
    let r = crate::api::router(state);
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let top = get_json(&r, "/api/v1/graph?run=net").await;
    assert_eq!(names(&top), ["Net", "input", "output"]);
    assert_eq!(top["nodes"][0]["ops"], 2);
    assert_eq!(top["edges"].as_array().unwrap().len(), 2);
    assert_eq!(top["total_ops"], 4);
    let net = get_json(&r, "/api/v1/graph?run=net&open=Net&open=Net/fc1&find=FC2").await;
    assert_eq!(
        names(&net),
        ["Net", "Net/fc1", "Net/fc1/y", "Net/fc2", "input", "output"]
    );
    assert_eq!(net["nodes"][0]["open"], true);
    assert_eq!(net["nodes"][2]["parent"], "Net/fc1");
    assert_eq!(net["nodes"][2]["kind"], "op");
    assert_eq!(net["nodes"][2]["op"], "aten::op");
    assert_eq!(net["edges"][0]["from"], "Net/fc1/y");
    assert_eq!(net["edges"][0]["to"], "Net/fc2");
    assert_eq!(net["matches"], json!(["Net/fc2/y"]));
    get_error(
        &r,
        "/api/v1/graph?run=other",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    get_error(&r, "/api/v1/graph", StatusCode::BAD_REQUEST, "bad_request").await;
    let (_dir, bad) = state_with_graph(vec![0xff, 0xff]);
    let r = crate::api::router(bad);
    get_error(
        &r,
        "/api/v1/graph?run=net",
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
    )
    .await;
}

#[tokio::test]
async fn the_graph_view_adds_a_profile_from_run_metadata() {
    use runboard_proto::prost::Message;
    use runboard_proto::tensorboard::{
        DeviceStepStats, GraphDef, NodeDef, NodeExecStats, RunMetadata, StepStats,
    };
    let graph = GraphDef {
        node: vec![NodeDef {
            name: "Net/fc/y".into(),
            op: "aten::linear".into(),
            ..NodeDef::default()
        }],
        ..GraphDef::default()
    };
    let m = RunMetadata {
        step_stats: Some(StepStats {
            dev_stats: vec![DeviceStepStats {
                node_stats: vec![NodeExecStats {
                    node_name: "Net/fc/y".into(),
                    all_end_rel_micros: 12,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }),
        ..Default::default()
    };
    let (_dir, state) = state_with_graph(graph.encode_to_vec());
    state
        .store
        .submit(crate::store::Batch {
            run: crate::types::RunName::new("net").expect("name"),
            items: vec![crate::store::Item::Value {
                tag: "step1".into(),
                step: 0,
                wall_time: 1.0,
                value: runboard_sdk::event::blob_value(
                    crate::graphs::RUN_METADATA_PLUGIN,
                    m.encode_to_vec(),
                ),
            }],
            progress: None,
            dedup: None,
        })
        .expect("submit");
    state.store.flush().expect("flush");
    let r = crate::api::router(state);
    let v = get_json(&r, "/api/v1/graph?run=net&profile=step1").await;
    assert_eq!(v["nodes"][0]["time_us"], 12);
    assert!(
        get_json(&r, "/api/v1/graph?run=net").await["nodes"][0]
            .get("time_us")
            .is_none()
    );
    get_error(
        &r,
        "/api/v1/graph?run=net&profile=step2",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// A run streamed over HTTP with an experiment (declared metrics), its session start and end
/// and a metric's points, as the SDK streams them.
async fn hparams_router() -> (tempfile::TempDir, axum::Router) {
    use runboard_proto::prost::Message;
    use runboard_proto::runboard::ingest as pb;
    use runboard_sdk::hparams::{HParam, Metric};
    let (dir, state) = empty_state();
    let router = crate::api::router(state);
    let experiment =
        runboard_sdk::event::HParams::Experiment(Box::new(runboard_sdk::hparams::experiment(
            &[HParam::new("lr").interval(0.0, 1.0)],
            &[Metric::new("acc").display_name("Accuracy")],
            5.0,
        )));
    let end = runboard_sdk::event::HParams::SessionEnd {
        status: 1,
        end_time_secs: 9.0,
    };
    let plugin = |h: &runboard_sdk::event::HParams| pb::Point {
        tag: h.tag().into(),
        step: 0,
        wall_time: 1.0,
        value: Some(pb::point::Value::Hparams(pb::HParams {
            values: Default::default(),
            plugin_data: h.to_plugin_data().encode_to_vec(),
        })),
    };
    let start = pb::Point {
        tag: "_hparams_/session_start_info".into(),
        step: 0,
        wall_time: 2.0,
        value: Some(pb::point::Value::Hparams(pb::HParams {
            values: [(
                "lr".to_owned(),
                runboard_sdk::HParamValue::Number(0.5).to_proto(),
            )]
            .into_iter()
            .collect(),
            plugin_data: Vec::new(),
        })),
    };
    let mut points = vec![plugin(&experiment), start, plugin(&end)];
    for step in 0..3 {
        points.push(pb::Point {
            tag: "acc".into(),
            step,
            wall_time: 3.0 + step as f64,
            value: Some(pb::point::Value::Scalar(0.25 * step as f64)),
        });
    }
    let batch = pb::Batch {
        run: "trial".into(),
        session: "s".into(),
        seq: 1,
        points,
    };
    let req = Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Body::from(batch.encode_to_vec()))
        .expect("request");
    let (status, _, body) = send(&router, req).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    (dir, router)
}

async fn post_text(
    router: &axum::Router,
    uri: &str,
    body: &str,
    origin: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let (status, _, body) = send(
        router,
        req.body(Body::from(body.to_owned())).expect("request"),
    )
    .await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn the_hparams_plugin_answers_posts_as_its_front_end_sends_them() {
    let (_dir, router) = hparams_router().await;
    let listing = get_json(&router, "/data/plugins_listing").await;
    assert_eq!(listing["hparams"]["enabled"], true);
    // The front end posts `text/plain` JSON: a read, not a write (no token, any content type).
    let (status, e) = post_text(&router, "/data/plugin/hparams/experiment", "{}", None).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(e["timeCreatedSecs"], 5.0);
    assert_eq!(
        e["hparamInfos"][0]["domainInterval"],
        json!({"minValue": 0.0, "maxValue": 1.0})
    );
    assert_eq!(e["metricInfos"][0]["displayName"], "Accuracy");
    let request = r#"{"allowedStatuses":["STATUS_SUCCESS"],"sliceSize":10}"#;
    let (status, g) = post_text(
        &router,
        "/data/plugin/hparams/session_groups",
        request,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert_eq!(g["totalSize"], 1);
    let session = &g["sessionGroups"][0]["sessions"][0];
    assert_eq!(session["name"], "trial");
    assert_eq!(session["status"], "STATUS_SUCCESS");
    assert_eq!(session["endTimeSecs"], 9.0);
    assert_eq!(
        session["metricValues"][0],
        json!({"name": {"group": "", "tag": "acc"}, "value": 0.5, "trainingStep": 2, "wallTimeSecs": 5.0})
    );
    assert_eq!(g["sessionGroups"][0]["hparams"], json!({"lr": 0.5}));
    let (status, evals) = post_text(
        &router,
        "/data/plugin/hparams/metric_evals",
        r#"{"sessionName":"trial","metricName":{"tag":"acc"}}"#,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(evals, json!([[3.0, 0, 0.0], [4.0, 1, 0.25], [5.0, 2, 0.5]]));
    // GET with ?request= as well.
    let uri = format!(
        "/data/plugin/hparams/session_groups?request={}",
        form_encode(request)
    );
    assert_eq!(get_json(&router, &uri).await["totalSize"], 1);
    // A foreign page cannot ask; a bad request is a 400 in JSON.
    let (status, _) = post_text(
        &router,
        "/data/plugin/hparams/experiment",
        "{}",
        Some("http://evil.example"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, e) = post_text(
        &router,
        "/data/plugin/hparams/session_groups",
        "{\"colParams\":[{}]}",
        None,
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    get_error(
        &router,
        "/data/plugin/hparams/experiment",
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    get_error(
        &router,
        "/data/plugin/hparams/download_data?format=xml&columnsVisibility=[]&request={}",
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    // Writes elsewhere still need their exact content type.
    let (status, _) = post_text(&router, "/api/v1/ingest", "{}", None).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn hparams_plugin_data_over_http_is_checked() {
    use runboard_proto::prost::Message;
    use runboard_proto::runboard::ingest as pb;
    let (_dir, state) = empty_state();
    let router = crate::api::router(state);
    let end = runboard_sdk::event::HParams::SessionEnd {
        status: 2,
        end_time_secs: 1.0,
    };
    let with = |tag: &str, values: bool, data: Vec<u8>| pb::Batch {
        run: "r".into(),
        session: "s".into(),
        seq: 1,
        points: vec![pb::Point {
            tag: tag.into(),
            step: 0,
            wall_time: 1.0,
            value: Some(pb::point::Value::Hparams(pb::HParams {
                values: if values {
                    [(
                        "x".to_owned(),
                        runboard_sdk::HParamValue::Bool(true).to_proto(),
                    )]
                    .into_iter()
                    .collect()
                } else {
                    Default::default()
                },
                plugin_data: data,
            })),
        }],
    };
    for (batch, why) in [
        (
            with("_hparams_/session_end_info", false, vec![0xff, 0xff]),
            "does not decode",
        ),
        (
            with(
                "_hparams_/experiment",
                false,
                end.to_plugin_data().encode_to_vec(),
            ),
            "belongs under",
        ),
        (
            with(
                "_hparams_/session_end_info",
                true,
                end.to_plugin_data().encode_to_vec(),
            ),
            "not both",
        ),
    ] {
        let req = Request::post("/api/v1/ingest")
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .body(Body::from(batch.encode_to_vec()))
            .expect("request");
        let (status, _, body) = send(&router, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{}", text_of(&body));
        assert!(text_of(&body).contains(why), "{}", text_of(&body));
    }
    // Nothing was stored: the plugin stays off.
    let listing = get_json(&router, "/data/plugins_listing").await;
    assert_eq!(listing["hparams"]["enabled"], false);
}

/// `events` (as an event file holds them) decoded and stored in run `run`.
fn store_events(
    state: &crate::api::AppState,
    run: &str,
    events: Vec<runboard_proto::tensorboard::Event>,
) {
    let mut decoder = runboard_sdk::event::EventDecoder::default();
    let mut items = Vec::new();
    for (step, event) in events.into_iter().enumerate() {
        for v in decoder.convert(event).values {
            items.push(crate::store::Item::Value {
                tag: v.tag,
                step: step as i64,
                wall_time: 1.0,
                value: v.value,
            });
        }
    }
    state
        .store
        .submit(crate::store::Batch {
            run: crate::types::RunName::new(run).expect("name"),
            items,
            progress: None,
            dedup: None,
        })
        .expect("submit");
    state.store.flush().expect("flush");
}

#[tokio::test]
async fn a_meta_graphs_graph_is_served_when_the_run_has_no_graph_def() {
    use runboard_proto::prost::Message;
    use runboard_proto::tensorboard::event::What;
    use runboard_proto::tensorboard::{Event, GraphDef, MetaGraphDef, NodeDef};
    let graph = |name: &str| GraphDef {
        node: vec![NodeDef {
            name: name.into(),
            op: "Const".into(),
            ..NodeDef::default()
        }],
        ..GraphDef::default()
    };
    let meta = |g: Option<GraphDef>| Event {
        what: Some(What::MetaGraphDef(
            MetaGraphDef { graph_def: g }.encode_to_vec(),
        )),
        ..Event::default()
    };
    let (_dir, state) = empty_state();
    // Only a meta graph; a meta graph and a graph_def (the graph_def wins, whatever the order);
    // a meta graph without a graph.
    store_events(&state, "meta", vec![meta(Some(graph("from/meta")))]);
    store_events(
        &state,
        "both",
        vec![
            Event {
                what: Some(What::GraphDef(graph("from/graph_def").encode_to_vec())),
                ..Event::default()
            },
            meta(Some(graph("from/meta"))),
        ],
    );
    store_events(&state, "empty", vec![meta(None)]);
    let router = crate::api::router(state);
    let info = get_json(&router, "/data/plugin/graphs/info").await;
    for run in ["meta", "both", "empty"] {
        assert_eq!(info[run]["run_graph"], true, "{info}");
    }
    assert_eq!(
        get_json(&router, "/data/plugins_listing").await["graphs"]["enabled"],
        true
    );
    for (run, want) in [("meta", "from/meta"), ("both", "from/graph_def")] {
        let (status, _, body) = get(&router, &format!("/data/plugin/graphs/graph?run={run}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            text_of(&body),
            crate::graphs::to_text(&graph(want)),
            "{run}"
        );
    }
    get_error(
        &router,
        "/data/plugin/graphs/graph?run=empty",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The dashboard's view reads the same graph.
    let view = get_json(&router, "/api/v1/graph?run=meta").await;
    assert!(view.to_string().contains("from"), "{view}");
}

#[tokio::test]
async fn a_pr_curve_of_the_wrong_shape_over_http_is_a_400_and_the_routes_say_what_is_missing() {
    use runboard_proto::prost::Message;
    use runboard_proto::runboard::ingest as pb;
    use runboard_proto::tensorboard::{
        DataType, TensorProto, TensorShapeProto, tensor_shape_proto::Dim,
    };
    let (_dir, state) = empty_state();
    let router = crate::api::router(state);
    let tensor = |dims: &[i64]| TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: Some(TensorShapeProto {
            dim: dims
                .iter()
                .map(|&size| Dim {
                    size,
                    name: String::new(),
                })
                .collect(),
            unknown_rank: false,
        }),
        float_val: vec![1.0; dims.iter().product::<i64>() as usize],
        ..TensorProto::default()
    };
    let post = |dims: &[i64], seq: u64| {
        let batch = pb::Batch {
            run: "r".into(),
            session: "s".into(),
            seq,
            points: vec![pb::Point {
                tag: "pr".into(),
                step: 0,
                wall_time: 1.0,
                value: Some(pb::point::Value::PluginTensor(pb::PluginTensor {
                    plugin: "pr_curves".into(),
                    tensor: tensor(dims).encode_to_vec(),
                    content: Vec::new(),
                })),
            }],
        };
        Request::post("/api/v1/ingest")
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .body(Body::from(batch.encode_to_vec()))
            .expect("request")
    };
    let (status, _, body) = send(&router, post(&[5, 4], 1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", text_of(&body));
    assert!(text_of(&body).contains("[6, N]"), "{}", text_of(&body));
    // Audio must be a [k, 2] string tensor: numbers are refused.
    let numbers = pb::Batch {
        run: "r".into(),
        session: "audio".into(),
        seq: 1,
        points: vec![pb::Point {
            tag: "clip".into(),
            step: 0,
            wall_time: 1.0,
            value: Some(pb::point::Value::PluginTensor(pb::PluginTensor {
                plugin: "audio".into(),
                tensor: tensor(&[1, 2]).encode_to_vec(),
                content: Vec::new(),
            })),
        }],
    };
    let req = Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Body::from(numbers.encode_to_vec()))
        .expect("request");
    let (status, _, body) = send(&router, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", text_of(&body));
    assert!(text_of(&body).contains("[k, 2]"), "{}", text_of(&body));
    let (status, _, body) = send(&router, post(&[6, 4], 2)).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    let tags = get_json(&router, "/data/plugin/pr_curves/tags").await;
    assert_eq!(
        tags,
        json!({"r": {"pr": {"displayName": "", "description": ""}}})
    );
    assert_eq!(
        get_json(&router, "/data/plugin/pr_curves/available_time_entries").await,
        json!({"r": [{"step": 0, "wall_time": 1.0}]})
    );
    let curves = get_json(&router, "/data/plugin/pr_curves/pr_curves?run=r&tag=pr").await;
    assert_eq!(
        curves["r"][0]["thresholds"],
        json!([0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0])
    );
    for uri in [
        "/data/plugin/pr_curves/pr_curves?tag=pr",
        "/data/plugin/pr_curves/pr_curves?run=r",
        "/data/plugin/pr_curves/pr_curves?run=r&run=nope&tag=pr",
        "/data/plugin/pr_curves/pr_curves?run=r&tag=nope",
    ] {
        get_error(&router, uri, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    assert_eq!(
        get_json(&router, "/data/plugins_listing").await["pr_curves"]["enabled"],
        true
    );
}

/// A protobuf ingest request of `points` for run `r` (session `s`).
fn ingest_request(points: Vec<runboard_proto::runboard::ingest::Point>, seq: u64) -> Request<Body> {
    use runboard_proto::prost::Message;
    let batch = runboard_proto::runboard::ingest::Batch {
        run: "r".into(),
        session: "s".into(),
        seq,
        points,
    };
    Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "application/x-protobuf")
        .body(Body::from(batch.encode_to_vec()))
        .expect("request")
}

/// Meshes and embeddings over HTTP: faces naming a vertex the batch's vertices do not have, and
/// embeddings whose bytes do not split into rows or whose labels do not pair with them, are
/// 400s saying why; good ones are served.
#[tokio::test]
async fn bad_meshes_and_embeddings_over_http_are_400s() {
    use runboard_proto::prost::Message;
    use runboard_proto::runboard::ingest as pb;
    let (_dir, state) = empty_state();
    let router = crate::api::router(state);
    let post = ingest_request;
    // Points of the mesh parts the SDK writes, with the face indices given.
    let mesh = |faces: [u32; 3]| -> Vec<pb::Point> {
        let vertices = [[0.0f32; 3]; 3];
        runboard_sdk::mesh::summary("m", 1, &vertices, &[[0, 1, 2]], &[], None)
            .expect("a good mesh")
            .into_iter()
            .map(|v| {
                let metadata = v.metadata.expect("metadata");
                let plugin = metadata.plugin_data.expect("plugin data");
                let Some(runboard_proto::tensorboard::summary::value::Value::Tensor(mut t)) =
                    v.value
                else {
                    panic!("a tensor")
                };
                if String::from_utf8_lossy(&v.tag).ends_with("_FACE") {
                    t.float_val = faces.iter().map(|&i| i as f32).collect();
                }
                pb::Point {
                    tag: String::from_utf8_lossy(&v.tag).into_owned(),
                    step: 1,
                    wall_time: 1.0,
                    value: Some(pb::point::Value::PluginTensor(pb::PluginTensor {
                        plugin: plugin.plugin_name,
                        tensor: t.encode_to_vec(),
                        content: plugin.content,
                    })),
                }
            })
            .collect()
    };
    let (status, _, body) = send(&router, post(mesh([0, 1, 7]), 1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", text_of(&body));
    assert!(
        text_of(&body).contains("names vertex 7, but the mesh has 3 vertices"),
        "{}",
        text_of(&body)
    );
    let (status, _, body) = send(&router, post(mesh([0, 1, 2]), 2)).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    assert_eq!(
        get_json(&router, "/data/plugin/mesh/tags").await,
        json!({"r": {"m": {"samples": 1}}})
    );
    let embedding = |values: Vec<u8>, labels: &[&str]| {
        vec![pb::Point {
            tag: "e:00000".into(),
            step: 0,
            wall_time: 1.0,
            value: Some(pb::point::Value::Embedding(pb::Embedding {
                dims: 2,
                values,
                labels: labels.iter().map(|l| l.to_string()).collect(),
                ..Default::default()
            })),
        }]
    };
    let floats = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    for (values, labels, why) in [
        (floats(&[1.0, 2.0, 3.0]), vec![], "multiple of 8 bytes"),
        (floats(&[1.0, 2.0]), vec!["a", "b"], "2 labels for 1 rows"),
        (Vec::new(), vec![], "multiple of 8 bytes"),
    ] {
        let (status, _, body) = send(&router, post(embedding(values, &labels), 3)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{}", text_of(&body));
        assert!(text_of(&body).contains(why), "{}", text_of(&body));
    }
    let (status, _, body) = send(
        &router,
        post(embedding(floats(&[1.0, 2.0, 3.0, 4.0]), &["a", "b"]), 3),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    let listed = get_json(&router, "/api/v1/projector").await;
    assert_eq!(listed[0]["rows"], 2, "{listed}");
    assert_eq!(
        get_json(&router, "/data/plugin/projector/runs").await,
        json!(["r"])
    );
    let near = get_json(
        &router,
        "/api/v1/projector/neighbors?run=r&name=e:00000&index=0&metric=euclidean",
    )
    .await;
    assert_eq!(near["neighbors"][0]["index"], 1, "{near}");
    assert_eq!(near["neighbors"][0]["distance"], 8f64.sqrt(), "{near}");
}

/// The projector's t-SNE runs on the server: the first request starts it (202 with progress),
/// later ones get the embedding of the sample; two well separated clusters stay apart.
#[tokio::test]
async fn a_tsne_is_computed_once_on_the_server_and_keeps_clusters_apart() {
    use runboard_proto::runboard::ingest as pb;
    let (_dir, state) = empty_state();
    let router = crate::api::router(state);
    // 60 points of 5 values: two clusters 100 apart.
    let values: Vec<u8> = (0..60)
        .flat_map(|i| {
            let base = if i < 30 { 0.0f32 } else { 100.0 };
            (0..5).map(move |j| base + ((i * 7 + j * 3) % 11) as f32 * 0.1)
        })
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let point = pb::Point {
        tag: "e:00000".into(),
        step: 0,
        wall_time: 1.0,
        value: Some(pb::point::Value::Embedding(pb::Embedding {
            dims: 5,
            values,
            ..Default::default()
        })),
    };
    let (status, _, body) = send(&router, ingest_request(vec![point], 1)).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&body));
    let uri = "/api/v1/projector/tsne?run=r&name=e:00000&epochs=300";
    let (status, _, body) = get(&router, uri).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{}", text_of(&body));
    let done = loop {
        let (status, _, body) = get(&router, uri).await;
        let answer: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        match status {
            StatusCode::OK => break answer,
            StatusCode::ACCEPTED => assert_eq!(answer["state"], "running", "{answer}"),
            other => panic!("{other}: {answer}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let indices: Vec<u64> = serde_json::from_value(done["indices"].clone()).expect("indices");
    let coords: Vec<f64> = serde_json::from_value(done["coords"].clone()).expect("coords");
    assert_eq!(indices, (0..60).collect::<Vec<u64>>());
    assert_eq!(coords.len(), 120);
    assert!(coords.iter().all(|c| c.is_finite()));
    // Each point's nearest other point (in the t-SNE) is in its own cluster.
    let point = |i: usize| (coords[2 * i], coords[2 * i + 1]);
    for i in 0..60 {
        let (x, y) = point(i);
        let nearest = (0..60)
            .filter(|&j| j != i)
            .min_by(|&a, &b| {
                let d = |j: usize| (point(j).0 - x).powi(2) + (point(j).1 - y).powi(2);
                d(a).total_cmp(&d(b))
            })
            .expect("others");
        assert_eq!(i < 30, nearest < 30, "point {i}'s nearest is {nearest}");
    }
    // Too few points, and an unknown embedding, are 400s.
    let (status, _, _) = get(&router, "/api/v1/projector/tsne?run=r&name=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
