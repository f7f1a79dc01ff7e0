//! The run API against a real store: run events from files and HTTP, status, summaries,
//! edits, deletion and restarts.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use runboard_sdk::event::Value;
use serde_json::{Value as Json, json};

use super::super::testing::*;
use super::super::{AppState, router};
use crate::store::{Batch, FileProgress, Item, Store};
use crate::types::RunName;

fn event(json: Json) -> Item {
    Item::Value {
        tag: crate::runs::RUN_EVENT_TAG.into(),
        step: 0,
        wall_time: 1000.0,
        value: Value::Run(json.to_string()),
    }
}

fn scalar(tag: &str, step: i64, v: f64) -> Item {
    Item::Value {
        tag: tag.into(),
        step,
        wall_time: 1000.0 + step as f64,
        value: Value::Scalar(v),
    }
}

fn submit(store: &Store, run: &str, items: Vec<Item>, from_file: Option<&str>) {
    store
        .submit(Batch {
            run: RunName::new(run).unwrap(),
            items,
            progress: from_file.map(|path| FileProgress {
                path: path.into(),
                offset: 1,
                ..FileProgress::default()
            }),
            dedup: None,
        })
        .unwrap();
    store.flush().unwrap();
}

/// `method uri` with a JSON body, as the dashboard sends it.
async fn send_json(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, Json) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let (status, _, body) = send(router, req).await;
    (status, serde_json::from_slice(&body).unwrap_or(Json::Null))
}

fn record() -> Json {
    json!({"type": "record", "record": {
        "schema": 1, "host": "gpu-node-3", "user": "alice", "pid": 42,
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main",
                "dirty": true, "diff": "diff --git a/train.rs b/train.rs\n+lr = 0.1\n"},
        "config": {"lr": 0.1, "seed": 1}
    }})
}

#[tokio::test]
async fn a_run_shows_its_record_status_config_and_metric_summaries() {
    let (_dir, state) = empty_state();
    let store = state.store.clone();
    let mut items = vec![
        event(record()),
        event(json!({"type": "status", "state": "running"})),
    ];
    items.extend((0..10).map(|s| scalar("val/acc", s, [0.1, 0.5, 0.9, 0.7][s as usize % 4])));
    items.extend((0..10).map(|s| scalar("train/loss", s, 10.0 - s as f64)));
    items.push(scalar("lr", 0, 0.1));
    items.push(event(
        json!({"type": "config", "config": {"seed": 2, "batch": 64}}),
    ));
    items.push(event(json!({"type": "summary", "summary": {"note": "ok"}})));
    items.push(event(json!({"type": "metric", "tag": "lr", "goal": "min"})));
    items.push(event(
        json!({"type": "status", "state": "finished", "exit_code": 0}),
    ));
    submit(&store, "mnist/a", items, None);
    let r = router(state);

    let table = get_json(&r, "/api/v1/run_table").await;
    let run = &table["runs"][0];
    assert_eq!(run["name"], "mnist/a");
    assert_eq!(
        run["status"],
        json!({"state": "finished", "exit_code": 0, "message": null})
    );
    assert_eq!(run["host"], "gpu-node-3");
    assert_eq!(run["commit"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(run["dirty"], true);
    // The record's config, then config events (later wins).
    assert_eq!(run["config"], json!({"lr": 0.1, "seed": 2, "batch": 64}));
    assert_eq!(run["summary"], json!({"note": "ok"}));
    let acc = &run["metrics"]["val/acc"];
    assert_eq!(
        (
            acc["last"].clone(),
            acc["min"].clone(),
            acc["max"].clone(),
            acc["count"].clone()
        ),
        (json!(0.5), json!(0.1), json!(0.9), json!(10))
    );
    assert_eq!(
        (acc["best"].clone(), acc["best_step"].clone()),
        (json!(0.9), json!(2))
    );
    assert_eq!(
        (acc["goal"].clone(), acc["goal_guessed"].clone()),
        (json!("max"), json!(true))
    );
    let loss = &run["metrics"]["train/loss"];
    assert_eq!(
        (loss["best"].clone(), loss["best_step"].clone()),
        (json!(1.0), json!(9))
    );
    assert_eq!(
        (loss["first_step"].clone(), loss["last_step"].clone()),
        (json!(0), json!(9))
    );
    // Declared, not guessed; a tag whose name says nothing has no best until declared.
    assert_eq!(run["metrics"]["lr"]["goal"], "min");
    assert_eq!(run["metrics"]["lr"]["goal_guessed"], false);
    assert_eq!(table["config_keys"], json!(["batch", "lr", "seed"]));
    assert_eq!(table["metric_tags"], json!(["lr", "train/loss", "val/acc"]));

    let one = get_json(&r, "/api/v1/run?run=mnist/a").await;
    assert!(
        one["record"]["git"]["diff"]
            .as_str()
            .unwrap()
            .contains("+lr = 0.1")
    );
    assert_eq!(one["edits"], json!([]));
}

#[tokio::test]
async fn a_crash_keeps_its_message_and_a_silent_running_run_is_stalled() {
    let (_dir, mut state) = empty_state();
    state.stall_after = 0.5;
    let store = state.store.clone();
    submit(
        &store,
        "crashed",
        vec![event(
            json!({"type": "status", "state": "crashed", "message": "panicked at 'boom'"}),
        )],
        None,
    );
    submit(
        &store,
        "alive",
        vec![event(json!({"type": "status", "state": "running"}))],
        None,
    );
    let r = router(state.clone());
    let states = |runs: &Json| -> Vec<(String, String)> {
        runs.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_owned(),
                    r["status"]["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let runs = get_json(&r, "/api/v1/runs").await;
    assert!(states(&runs).contains(&("alive".into(), "running".into())));
    assert!(states(&runs).contains(&("crashed".into(), "crashed".into())));
    let crashed = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "crashed")
        .unwrap();
    assert_eq!(crashed["status"]["message"], "panicked at 'boom'");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let runs = get_json(&r, "/api/v1/runs").await;
    assert!(states(&runs).contains(&("alive".into(), "stalled".into())));
    // A heartbeat brings it back.
    submit(
        &store,
        "alive",
        vec![event(json!({"type": "heartbeat"}))],
        None,
    );
    let runs = get_json(&r, "/api/v1/runs").await;
    assert!(states(&runs).contains(&("alive".into(), "running".into())));
}

#[tokio::test]
async fn a_logdir_run_is_heard_from_through_its_files_modification_time() {
    let (dir, mut state) = empty_state();
    state.stall_after = 0.5;
    // As the ingester names it: relative to the logdir.
    state.logdir = Some(dir.path().to_path_buf());
    let path = "r/events.out.tfevents.1700000000.node-7.123.0";
    let file = dir.path().join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"x").unwrap();
    submit(
        &state.store,
        "r",
        vec![
            event(json!({"type": "status", "state": "running"})),
            scalar("loss", 0, 1.0),
        ],
        Some(path),
    );
    let r = router(state.clone());
    let runs = get_json(&r, "/api/v1/runs").await;
    assert_eq!(runs[0]["status"]["state"], "running", "{runs}");
    // The host its file name tells.
    assert_eq!(runs[0]["host"], "node-7");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(
        get_json(&r, "/api/v1/runs").await[0]["status"]["state"],
        "stalled"
    );
    // The SDK touches a quiet file: alive again, with no new data.
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    assert_eq!(
        get_json(&r, "/api/v1/runs").await[0]["status"]["state"],
        "running"
    );
}

#[tokio::test]
async fn edits_round_trip_are_logged_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    {
        let store = Store::open(&db).unwrap();
        submit(&store, "a", vec![scalar("loss", 0, 1.0)], None);
        submit(&store, "b", vec![scalar("loss", 0, 2.0)], None);
        let r = router(AppState::new(store.clone()));
        let (status, run) = send_json(
            &r,
            "PATCH",
            "/api/v1/run?run=a",
            r#"{"display_name": "baseline", "tags": ["x", "y", "x"], "notes": "<script>alert(1)</script> **lr** sweep"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{run}");
        assert_eq!(run["display_name"], "baseline");
        assert_eq!(run["tags"], json!(["x", "y"]));
        let (status, _) =
            send_json(&r, "PATCH", "/api/v1/run?run=b", r#"{"archived": true}"#).await;
        assert_eq!(status, StatusCode::OK);
        store.shutdown();
    }
    let store = Store::open(&db).unwrap();
    let r = router(AppState::new(store));
    let runs = get_json(&r, "/api/v1/runs").await;
    assert_eq!(
        runs.as_array().unwrap().len(),
        1,
        "archived runs are hidden by default: {runs}"
    );
    assert_eq!(
        runs[0]["notes"], "<script>alert(1)</script> **lr** sweep",
        "stored as given; the page escapes it"
    );
    let all = get_json(&r, "/api/v1/runs?archived=true").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[1]["archived"], true);
    // Colours do not change when a run is archived (start order of every run).
    assert_eq!(runs[0]["color"], all[0]["color"]);
    let one = get_json(&r, "/api/v1/run?run=a").await;
    assert_eq!(one["edits"][0]["change"]["display_name"], "baseline");
    assert_eq!(one["edits"][0]["origin"], "local");
    // Clearing the display name.
    let (_, run) = send_json(
        &r,
        "PATCH",
        "/api/v1/run?run=a",
        r#"{"display_name": null}"#,
    )
    .await;
    assert_eq!(run["display_name"], Json::Null);
    assert_eq!(
        run["tags"],
        json!(["x", "y"]),
        "fields not named are left alone"
    );
}

#[tokio::test]
async fn bad_edits_are_4xx_json_and_change_nothing() {
    let f = fixture();
    let r = &f.router;
    let before = get_json(r, "/api/v1/runs").await;
    let cases: Vec<(&str, &str, String, StatusCode, &str)> = vec![
        (
            "PATCH",
            "/api/v1/run?run=nope",
            r#"{"archived": true}"#.into(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "DELETE",
            "/api/v1/run?run=nope",
            String::new(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "PATCH",
            "/api/v1/run?run=train",
            r#"{"colour": "red"}"#.into(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "PATCH",
            "/api/v1/run?run=train",
            "{}".into(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "PATCH",
            "/api/v1/run?run=train",
            "not json".into(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "PATCH",
            "/api/v1/run?run=train",
            format!(r#"{{"tags": ["{}"]}}"#, "t".repeat(65)),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "PATCH",
            "/api/v1/run?run=train",
            format!(r#"{{"notes": "{}"}}"#, "n".repeat(65_537)),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "PATCH",
            "/api/v1/run",
            r#"{"archived": true}"#.into(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (method, uri, body, status, code) in cases {
        let (got, json) = send_json(r, method, uri, &body).await;
        assert_eq!(got, status, "{method} {uri}: {json}");
        assert_eq!(json["code"], code, "{method} {uri}: {json}");
        assert!(!json["message"].as_str().unwrap_or_default().is_empty());
    }
    assert_eq!(get_json(r, "/api/v1/runs").await, before);
    assert_eq!(
        get_json(r, "/api/v1/run?run=train").await["edits"],
        json!([])
    );
    // Writes pass the one guard: a form post or a page of another origin is refused.
    let req = Request::builder()
        .method("PATCH")
        .uri("/api/v1/run?run=train")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(r#"{"archived": true}"#))
        .unwrap();
    assert_eq!(send(r, req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let req = Request::builder()
        .method("DELETE")
        .uri("/api/v1/run?run=train")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "http://evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(r, req).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get_json(r, "/api/v1/runs").await, before);
}

#[tokio::test]
async fn a_deleted_run_is_gone_its_space_reused_and_it_comes_back_only_with_new_data() {
    let (dir, state) = empty_state();
    let store = state.store.clone();
    let path = dir
        .path()
        .join("events.out.tfevents.1.h")
        .to_str()
        .unwrap()
        .to_owned();
    let items: Vec<Item> = (0..20_000).map(|s| scalar("loss", s, s as f64)).collect();
    submit(&store, "big", items, Some(&path));
    submit(&store, "other", vec![scalar("loss", 0, 1.0)], None);
    let r = router(state.clone());
    let (status, body) = send_json(&r, "DELETE", "/api/v1/run?run=big", "").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"deleted": "big"})));
    let (status, _) = send_json(&r, "DELETE", "/api/v1/run?run=big", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleting twice");
    let names: Vec<Json> = get_json(&r, "/api/v1/runs?archived=true")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [json!("other")]);
    assert_eq!(
        get_json(&r, "/api/v1/series?run=other")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    get_error(
        &r,
        "/api/v1/series?run=big",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    get_error(
        &r,
        "/api/v1/run?run=big",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let tb_runs = get_json(&r, "/data/runs").await;
    assert_eq!(tb_runs, json!(["other"]));
    // The space: no chunk rows are left, and a new database gives freed pages back.
    let (chunks, free, auto_vacuum): (i64, i64, i64) = store
        .read(|c| {
            Ok((
                c.query_row("SELECT count(*) FROM scalar_points", [], |r| r.get(0))?,
                c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?,
                c.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!(
        auto_vacuum, 2,
        "new databases are created with incremental auto-vacuum"
    );
    assert_eq!(chunks, 1, "only the other run's chunk is left");
    assert_eq!(free, 0, "freed pages were given back");
    // The file's offset is kept: re-reading adds nothing (the ingester continues from it),
    // and only new data brings the run back, with nothing of the deleted one.
    let committed: i64 = store
        .read(|c| {
            Ok(
                c.query_row("SELECT offset FROM files WHERE path = ?1", [&path], |r| {
                    r.get(0)
                })?,
            )
        })
        .unwrap();
    assert_eq!(committed, 1);
    submit(&store, "big", vec![scalar("loss", 20_000, 5.0)], None);
    let table = get_json(&r, "/api/v1/run_table").await;
    let big = table["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "big")
        .unwrap();
    assert_eq!(big["metrics"]["loss"]["count"], 1);
    assert_eq!(big["started_at"], 21_000.0);
}

#[tokio::test]
async fn the_run_table_filters_by_expression_and_says_where_an_expression_is_wrong() {
    let (_dir, state) = empty_state();
    for (name, lr, acc, state_) in [
        ("a", 0.001, 0.9, "finished"),
        ("b", 0.1, 0.5, "finished"),
        ("c", 0.001, 0.7, "crashed"),
    ] {
        submit(
            &state.store,
            name,
            vec![
                event(json!({"type": "record", "record": {"schema": 1, "config": {"lr": lr}}})),
                event(json!({"type": "status", "state": state_})),
                scalar("val/acc", 0, acc),
            ],
            None,
        );
    }
    let r = router(state);
    let (_, _) = send_json(
        &r,
        "PATCH",
        "/api/v1/run?run=c",
        r#"{"tags": ["baseline"]}"#,
    )
    .await;
    let names = |t: &Json| -> Vec<String> {
        t["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let q = |e: &str| format!("/api/v1/run_table?filter={}", urlencoding(e));
    assert_eq!(
        names(&get_json(&r, &q("lr < 0.01 and status = finished")).await),
        ["a"]
    );
    assert_eq!(
        names(&get_json(&r, &q("val/acc.best >= 0.7")).await),
        ["a", "c"]
    );
    assert_eq!(
        names(&get_json(&r, &q(r#"tags has "baseline" or lr > 0.01"#)).await),
        ["b", "c"]
    );
    let t = get_json(&r, &q("lr > 1")).await;
    assert_eq!(names(&t), Vec::<String>::new());
    assert_eq!(
        t["config_keys"],
        json!(["lr"]),
        "the columns are every run's"
    );
    let m = get_error(&r, &q("lr < "), StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(m.contains("expected a value at column 6"), "{m}");
    let m = get_error(
        &r,
        &q("lr < 1 and lrr > 2"),
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(m.contains("\"lrr\"") && m.contains("column 12"), "{m}");
}

/// Percent-encodes a query value.
fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_chart_against_epoch_pairs_points_by_step() {
    let (_dir, state) = empty_state();
    let mut items: Vec<Item> = (0..10)
        .map(|s| scalar("loss", s, 10.0 - s as f64))
        .collect();
    items.extend([(0, 0.0), (4, 1.0), (8, 2.0)].map(|(s, e)| scalar("epoch", s, e)));
    submit(&state.store, "with-epoch", items, None);
    submit(&state.store, "no-epoch", vec![scalar("loss", 0, 1.0)], None);
    let r = router(state);
    let one = get_json(&r, "/api/v1/scalars?run=with-epoch&tag=loss&x=epoch").await;
    let steps: Vec<i64> = one["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_i64().unwrap())
        .collect();
    assert_eq!(steps, (0..10).collect::<Vec<_>>());
    assert_eq!(
        one["x"],
        json!([0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0])
    );
    let all = get_json(&r, "/api/v1/tag_scalars?tag=loss&x=epoch").await;
    let runs: Vec<&str> = all["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].as_str().unwrap())
        .collect();
    assert_eq!(
        runs,
        ["with-epoch"],
        "runs without the x series are left out"
    );
    assert_eq!(all["runs"][0]["x"].as_array().unwrap().len(), 10);
    // Without x, the shape is as before.
    assert!(
        get_json(&r, "/api/v1/scalars?run=with-epoch&tag=loss")
            .await
            .get("x")
            .is_none()
    );
    get_error(
        &r,
        "/api/v1/scalars?run=no-epoch&tag=loss&x=epoch",
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// The rows of a `layout=columns` answer, rebuilt as the rows layout gives them (as the
/// dashboard's `rowsFromColumns` does).
fn rows_from_columns(t: &Json) -> Vec<Json> {
    let mut runs = t["runs"].as_array().unwrap().clone();
    for r in &mut runs {
        r["metrics"] = json!({});
    }
    for (tag, c) in t["metrics"].as_object().unwrap() {
        for (i, run) in runs.iter_mut().enumerate() {
            if c["count"][i].is_null() {
                continue;
            }
            let declared = c["declared"].get(i.to_string());
            let goal = declared.cloned().unwrap_or_else(|| c["goal"].clone());
            let best = match goal.as_str() {
                Some("min") => c["min"][i].clone(),
                Some("max") => c["max"][i].clone(),
                _ => Json::Null,
            };
            let mut m = json!({
                "last": c["last"][i], "min": c["min"][i], "max": c["max"][i],
                "first_step": c["first_step"][i], "last_step": c["last_step"][i],
                "count": c["count"][i], "best": best, "best_step": c["best_step"][i],
                "goal_guessed": declared.is_none() && !goal.is_null(), "goal": goal,
            });
            if let Some(at) = c.get("at_step")
                && !at[i].is_null()
            {
                m["at_step"] = at[i].clone();
                m["at_step_step"] = c["at_step_step"][i].clone();
            }
            run["metrics"][tag.as_str()] = m;
        }
    }
    runs
}

#[tokio::test]
async fn the_columns_layout_and_a_limit_hold_what_the_rows_layout_does() {
    let (_dir, state) = empty_state();
    let metric = |tag: &str, goal: &str| event(json!({"type": "metric", "tag": tag, "goal": goal}));
    let mut a = vec![event(record())];
    a.extend((0..6).map(|s| scalar("val/acc", s, 0.1 * s as f64)));
    a.extend([scalar("loss", 0, 2.0), scalar("loss", 1, f64::NAN)]);
    a.extend([
        scalar("lr", 0, 0.1),
        scalar("lr", 5, 0.01),
        metric("lr", "min"),
    ]);
    submit(&state.store, "a", a, None);
    // b: declares the opposite of the guess for val/acc, has no lr, only NaN losses.
    let mut b = vec![metric("val/acc", "min")];
    b.extend((2..5).map(|s| scalar("val/acc", s, 1.0 - 0.1 * s as f64)));
    b.push(scalar("loss", 3, f64::NAN));
    submit(&state.store, "b", b, None);
    submit(&state.store, "c", vec![scalar("val/acc", 9, 0.5)], None);
    let r = router(state);
    let (status, _) = send_json(&r, "PATCH", "/api/v1/run?run=c", r#"{"archived": true}"#).await;
    assert_eq!(status, StatusCode::OK);
    for query in [
        "",
        "archived=true",
        "at_step=3",
        "archived=true&at_step=0",
        "filter=val%2Facc.count%20%3E%201",
    ] {
        let rows = get_json(&r, &format!("/api/v1/run_table?{query}")).await;
        let cols = get_json(&r, &format!("/api/v1/run_table?layout=columns&{query}")).await;
        assert_eq!(cols["layout"], "columns");
        assert_eq!(
            Json::Array(rows_from_columns(&cols)),
            rows["runs"],
            "{query}: {cols}"
        );
        for key in ["config_keys", "metric_tags", "total"] {
            assert_eq!(cols[key], rows[key], "{query}: {key}");
        }
        assert_eq!(
            rows["total"],
            rows["runs"].as_array().unwrap().len(),
            "{query}"
        );
        // The first screen: the same first runs, and how many there are in all.
        for layout in ["rows", "columns"] {
            let first = get_json(
                &r,
                &format!("/api/v1/run_table?layout={layout}&limit=1&{query}"),
            )
            .await;
            assert_eq!(first["total"], rows["total"], "{query} {layout}");
            let got = if layout == "rows" {
                first["runs"].as_array().unwrap().clone()
            } else {
                rows_from_columns(&first)
            };
            assert_eq!(got.len(), 1, "{query} {layout}");
            assert_eq!(got[0], rows["runs"][0], "{query} {layout}");
            assert_eq!(
                first["config_keys"], rows["config_keys"],
                "{query} {layout}"
            );
        }
    }
    let all = get_json(&r, "/api/v1/run_table?layout=columns&archived=true").await;
    let acc = &all["metrics"]["val/acc"];
    assert_eq!(acc["goal"], "max", "guessed from the name");
    assert_eq!(acc["declared"], json!({"1": "min"}), "b declared its own");
    assert_eq!(acc["count"], json!([6, 3, 1]));
    assert_eq!(all["metrics"]["lr"]["count"], json!([2, null, null]));
    assert_eq!(
        all["metrics"]["loss"]["min"],
        json!([2.0, null, null]),
        "a series of NaNs has no min"
    );
    assert_eq!(all["metrics"]["loss"]["last"], json!(["NaN", "NaN", null]));
    assert!(all["runs"][0].get("metrics").is_none(), "{all}");
    let m = get_error(
        &r,
        "/api/v1/run_table?layout=diagonal",
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert!(m.contains("layout"), "{m}");
}

#[tokio::test]
async fn a_kept_run_table_follows_commits_edits_deletes_and_the_clock() {
    let (dir, mut state) = empty_state();
    state.stall_after = 1.0;
    state.logdir = Some(dir.path().to_path_buf());
    let store = state.store.clone();
    submit(
        &store,
        "alive",
        vec![event(json!({"type": "status", "state": "running"}))],
        None,
    );
    // A logdir run whose file a live SDK touches when it has nothing to write.
    let path = "quiet/events.out.tfevents.1700000000.node-7.123.0";
    let file = dir.path().join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, b"x").unwrap();
    submit(
        &store,
        "quiet",
        vec![event(json!({"type": "status", "state": "running"}))],
        Some(path),
    );
    let r = router(state);
    let table = async |r: &axum::Router| {
        let t = get_json(r, "/api/v1/run_table?layout=columns").await;
        let state_of = |name: &str| {
            t["runs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["name"] == name)
                .map(|r| r["status"]["state"].as_str().unwrap().to_owned())
        };
        (state_of("alive"), state_of("quiet"), t)
    };
    let (alive, quiet, t) = table(&r).await;
    assert_eq!(
        (alive.as_deref(), quiet.as_deref()),
        (Some("running"), Some("running"))
    );
    assert_eq!(t, table(&r).await.2, "answered again from what was kept");
    // New data: the table is built again.
    submit(&store, "alive", vec![scalar("loss", 0, 1.0)], None);
    let t = table(&r).await.2;
    assert_eq!(t["metrics"]["loss"]["last"][0], 1.0, "{t}");
    // An edit, a new run and a delete.
    send_json(
        &r,
        "PATCH",
        "/api/v1/run?run=alive",
        r#"{"tags": ["keep"]}"#,
    )
    .await;
    assert_eq!(table(&r).await.2["runs"][0]["tags"], json!(["keep"]));
    submit(&store, "late", vec![scalar("loss", 0, 3.0)], None);
    assert_eq!(table(&r).await.2["total"], 3);
    send_json(&r, "DELETE", "/api/v1/run?run=late", "{}").await;
    assert_eq!(table(&r).await.2["total"], 2);
    // No commit, only time: the running runs turn stalled.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (alive, quiet, _) = table(&r).await;
    assert_eq!(
        (alive.as_deref(), quiet.as_deref()),
        (Some("stalled"), Some("stalled"))
    );
    // The quiet run's file is touched (no commit): it is running again in the table within
    // half the stall timeout (and for the whole of it).
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(650)).await;
    let (_, quiet, _) = table(&r).await;
    assert_eq!(quiet.as_deref(), Some("running"));
}

#[tokio::test]
async fn config_keys_are_every_listed_runs_without_building_the_table() {
    let (_dir, state) = empty_state();
    let config = |c: Json| event(json!({"type": "record", "record": {"schema": 1, "config": c}}));
    submit(
        &state.store,
        "a",
        vec![config(json!({"lr": 0.1, "seed": 1}))],
        None,
    );
    submit(
        &state.store,
        "b",
        vec![config(json!({"batch size": 64, "lr": 0.2}))],
        None,
    );
    submit(
        &state.store,
        "c",
        vec![config(json!({"secret_knob": 1}))],
        None,
    );
    submit(&state.store, "d", vec![scalar("loss", 0, 1.0)], None);
    let r = router(state);
    send_json(&r, "PATCH", "/api/v1/run?run=c", r#"{"archived": true}"#).await;
    let keys = get_json(&r, "/api/v1/config_keys").await;
    assert_eq!(keys, json!(["batch size", "lr", "seed"]));
    assert_eq!(
        keys,
        get_json(&r, "/api/v1/run_table").await["config_keys"],
        "the table's columns"
    );
    assert_eq!(
        get_json(&r, "/api/v1/config_keys?archived=true").await,
        json!(["batch size", "lr", "secret_knob", "seed"])
    );
}
