//! Runs as experiments, end to end with the real binary: run records and status sent by
//! processes, `runboard runs` in a terminal, edits that survive a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::process::Command;

use common::Server;
use serde_json::{Value as Json, json};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs a JSON ingest batch.
fn ingest(base: &str, body: Json) {
    let mut res = agent()
        .post(format!("{base}/api/v1/ingest"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("server answers");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.body_mut().read_to_string().unwrap_or_default()
    );
}

/// `runboard runs ARGS` against `base`: (success, stdout, stderr).
fn runs(base: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .arg("runs")
        .args(args)
        .env("RUNBOARD_URL", base)
        .env_remove("RUNBOARD_TOKEN")
        .output()
        .expect("runboard runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run_batch(run: &str, lr: f64, acc: &[f64], state: &str) -> Json {
    let mut points = vec![
        json!({"tag": "_runboard/run", "step": 0, "run_event": {"type": "record", "record": {
            "schema": 1, "host": "node-1", "config": {"lr": lr},
            "git": {"commit": "feedc0de00000000000000000000000000000000", "dirty": false}}}}),
        json!({"tag": "_runboard/run", "step": 0, "run_event": {"type": "status", "state": state, "exit_code": 0}}),
    ];
    for (i, a) in acc.iter().enumerate() {
        points.push(json!({"tag": "val/acc", "step": i, "scalar": a}));
    }
    json!({"run": run, "session": format!("s-{run}"), "seq": 1, "points": points})
}

#[test]
fn runs_in_a_terminal_list_filter_tag_archive_and_delete_and_edits_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (logdir, db) = (dir.path().join("logs"), dir.path().join("db.sqlite"));
    let server = Server::start(&logdir, &db);
    let base = server.base.clone();
    ingest(
        &base,
        run_batch("sweep/lr-0.1", 0.1, &[0.2, 0.6, 0.5], "finished"),
    );
    ingest(
        &base,
        run_batch("sweep/lr-0.001", 0.001, &[0.3, 0.8, 0.9], "finished"),
    );
    ingest(&base, run_batch("sweep/broken", 0.5, &[0.1], "crashed"));

    let (ok, table, err) = runs(&base, &[]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("STATUS") && lines[0].contains("val/acc"),
        "{table}"
    );
    let row = lines
        .iter()
        .find(|l| l.contains("sweep/lr-0.001"))
        .expect("the run is listed");
    assert!(
        row.starts_with("finished") && row.contains("feedc0d") && row.contains("0.9"),
        "best, not last: {row}"
    );
    assert!(table.contains("3 runs"), "{table}");

    let (ok, out, err) = runs(
        &base,
        &[
            "list",
            "--filter",
            "lr < 0.01 or status = crashed",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let json: Json = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sweep/lr-0.001", "sweep/broken"]);

    let (ok, _, err) = runs(&base, &["list", "--filter", "lr <"]);
    assert!(!ok);
    assert!(err.contains("expected a value at column 5"), "{err}");

    assert!(runs(&base, &["tag", "sweep/lr-0.001", "baseline", "best"]).0);
    assert!(runs(&base, &["tag", "sweep/lr-0.001", "best", "--remove"]).0);
    assert!(runs(&base, &["rename", "sweep/lr-0.001", "the good one"]).0);
    assert!(runs(&base, &["note", "sweep/lr-0.001", "lr **1e-3** wins"]).0);
    assert!(runs(&base, &["archive", "sweep/lr-0.1"]).0);
    let (ok, out, err) = runs(&base, &["delete", "sweep/broken"]);
    assert!(ok && out.contains("deleted"), "{err}");
    let (ok, _, err) = runs(&base, &["delete", "sweep/broken"]);
    assert!(!ok && err.contains("404"), "deleting twice: {err}");
    let (ok, _, err) = runs(&base, &["tag", "no/such/run", "x"]);
    assert!(!ok && err.contains("404"), "{err}");

    let (_, table, _) = runs(&base, &[]);
    assert!(
        table.contains("the good one (sweep/lr-0.001)") && table.contains("baseline"),
        "{table}"
    );
    assert!(
        !table.contains("sweep/lr-0.1") && !table.contains("broken"),
        "{table}"
    );
    assert!(table.contains("1 run "), "{table}");

    // The same after a restart on the same database.
    drop(server);
    let server = Server::start(&logdir, &db);
    let (status, all) = server.get("/api/v1/runs?archived=true");
    assert_eq!(status, 200);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let good = all.iter().find(|r| r["name"] == "sweep/lr-0.001").unwrap();
    assert_eq!(good["display_name"], "the good one");
    assert_eq!(good["tags"], json!(["baseline"]));
    assert_eq!(good["notes"], "lr **1e-3** wins");
    assert_eq!(good["status"]["state"], "finished");
    let archived = all.iter().find(|r| r["name"] == "sweep/lr-0.1").unwrap();
    assert_eq!(archived["archived"], true);
    let (_, one) = server.get("/api/v1/run?run=sweep%2Flr-0.001");
    let origins: Vec<&str> = one["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["origin"].as_str().unwrap())
        .collect();
    assert_eq!(origins.len(), 4, "{one}");
    assert!(
        origins.iter().all(|o| o.starts_with("127.0.0.1:")),
        "who asked is recorded: {origins:?}"
    );
}
