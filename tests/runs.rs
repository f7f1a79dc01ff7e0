//! Runs as experiments, end to end with the real binary: run records and status sent by
//! processes, `runboard runs` in a terminal, edits that survive a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::process::Command;

use common::Server;
use serde_json::{Value as Json, json};

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
    common::ingest_json(
        &base,
        run_batch("sweep/lr-0.1", 0.1, &[0.2, 0.6, 0.5], "finished"),
    );
    common::ingest_json(
        &base,
        run_batch("sweep/lr-0.001", 0.001, &[0.3, 0.8, 0.9], "finished"),
    );
    common::ingest_json(&base, run_batch("sweep/broken", 0.5, &[0.1], "crashed"));

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

#[test]
fn a_groups_mean_and_band_equal_numpys_at_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("logs"), &dir.path().join("db.sqlite"));
    // 8 runs: lr 0.1 or 0.01, 4 seeds each; seeds log different steps, one value is NaN.
    let mut by_lr: serde_json::Map<String, Json> = serde_json::Map::new();
    let mut state = 12345u64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    for (i, lr) in [0.1, 0.01].iter().enumerate() {
        let mut members = Vec::new();
        for seed in 0..4 {
            let run = format!("lr{lr}/seed{seed}");
            let mut series = Vec::new();
            let mut points = vec![json!({"tag": "_runboard/run", "step": 0, "run_event":
                {"type": "record", "record": {"schema": 1, "config": {"lr": lr, "seed": seed}}}})];
            for step in (0..3000).filter(|s| (s + seed) % (seed + 1) == 0 || s % 7 == 0) {
                let v = if step == 42 && seed == 1 {
                    f64::NAN
                } else {
                    (i as f64 + 1.0) / (1.0 + step as f64 / 100.0) + 0.3 * rand()
                };
                let value = if v.is_nan() { json!("NaN") } else { json!(v) };
                points.push(json!({"tag": "loss", "step": step, "scalar": value}));
                series.push(json!([
                    step,
                    if v.is_nan() { Json::Null } else { json!(v) }
                ]));
            }
            common::ingest_json(
                &server.base,
                json!({"run": run, "session": run, "seq": 1, "points": points}),
            );
            members.push(Json::Array(series));
        }
        by_lr.insert(lr.to_string(), Json::Array(members));
    }
    let want = common::numpy_groups(&Json::Object(by_lr));
    for band in ["std", "minmax"] {
        let (status, got) = server.get(&format!(
            "/api/v1/group_scalars?tag=loss&by=lr&band={band}&max_points=100000"
        ));
        assert_eq!(status, 200, "{got}");
        let groups = got["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2);
        for g in groups {
            let key = g["key"].as_str().unwrap();
            assert_eq!(g["runs"].as_array().unwrap().len(), 4);
            let rows = want[key]
                .as_array()
                .unwrap_or_else(|| panic!("group {key} in {want}"));
            let points = g["points"].as_array().unwrap();
            assert_eq!(
                points.len(),
                rows.len(),
                "one point per step any run logged"
            );
            for (p, w) in points.iter().zip(rows) {
                let f = |v: &Json| v.as_f64().unwrap();
                // numpy's row: [step, mean, mean - std, mean + std, min, max, n].
                let mean = f(&w[1]);
                let (lo, hi) = if band == "std" {
                    (f(&w[2]), f(&w[3]))
                } else {
                    (f(&w[4]), f(&w[5]))
                };
                assert_eq!(p[0], w[0], "step");
                assert_eq!(p[4], w[6], "n at step {}", w[0]);
                for (got, want, what) in [
                    (f(&p[1]), mean, "mean"),
                    (f(&p[2]), lo, "low"),
                    (f(&p[3]), hi, "high"),
                ] {
                    assert!(
                        (got - want).abs() <= 1e-9,
                        "{what} at step {}: {got} vs numpy {want}",
                        w[0]
                    );
                }
            }
        }
    }
    // Thinned for a chart: at most max_points, each an exact point of the full computation.
    let (_, thin) = server.get("/api/v1/group_scalars?tag=loss&by=lr&max_points=50");
    let g = &thin["groups"][0];
    let points = g["points"].as_array().unwrap();
    assert_eq!(points.len(), 50);
    let full = want[g["key"].as_str().unwrap()].as_array().unwrap();
    for p in points {
        let w = full
            .iter()
            .find(|w| w[0] == p[0])
            .expect("a step of the full computation");
        assert!((p[1].as_f64().unwrap() - w[1].as_f64().unwrap()).abs() <= 1e-9);
    }
    // Only the runs named (exactly; repeatable).
    let (_, named) =
        server.get("/api/v1/group_scalars?tag=loss&by=lr&run=lr0.1%2Fseed0&run=lr0.1%2Fseed2");
    let groups = named["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{named}");
    assert_eq!(groups[0]["runs"], json!(["lr0.1/seed0", "lr0.1/seed2"]));
    // By a regex capture of the name, and filtered; bad input is a 400 JSON.
    let (_, by_name) =
        server.get("/api/v1/group_scalars?tag=loss&name_regex=seed(%5Cd)&filter=lr%20%3D%200.1");
    let keys: Vec<&str> = by_name["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["0", "1", "2", "3"]);
    for bad in [
        "/api/v1/group_scalars?tag=loss&band=iqr",
        "/api/v1/group_scalars?tag=loss&name_regex=(",
        "/api/v1/group_scalars?tag=loss&filter=lr%20%3C",
        "/api/v1/group_scalars?tag=loss&max_points=1",
    ] {
        let (status, body) = server.get(bad);
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "bad_request");
    }
}

/// The training process of [`a_run_records_its_code_and_ends_as_it_ended`], run as a child
/// (this test binary again, with `RUNBOARD_TEST_CHILD` naming what to do): a user's program
/// using `Run`, streaming to `RUNBOARD_URL`, in the current directory's git repository.
#[test]
#[ignore = "the child process of a_run_records_its_code_and_ends_as_it_ended"]
fn training_child() {
    let mode = std::env::var("RUNBOARD_TEST_CHILD").expect("RUNBOARD_TEST_CHILD");
    let config = [("lr", 0.01.into()), ("optimizer", "adam".into())];
    let options = runboard_sdk::WriterOptions {
        liveness_interval: std::time::Duration::from_millis(200),
        ..runboard_sdk::WriterOptions::default()
    };
    let mut run = runboard_sdk::Run::init_with(
        std::env::var("RUNBOARD_LOGDIR").expect("RUNBOARD_LOGDIR"),
        "proj",
        &mode,
        &config,
        options,
    )
    .expect("run starts");
    for step in 0..5 {
        run.log(&[("loss", 1.0 / (step as f64 + 1.0))], None);
    }
    match mode.as_str() {
        "finish" => run.finish(0).expect("finish"),
        "panic" => panic!("loss diverged at step {}", run.step()),
        "hang" => {
            run.writer().flush().expect("flush");
            println!("ready");
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
        other => panic!("unknown mode {other}"),
    }
}

fn git(repo: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn child(
    mode: &str,
    repo: &std::path::Path,
    logdir: &std::path::Path,
    url: &str,
) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["training_child", "--exact", "--ignored", "--nocapture"])
        .current_dir(repo)
        .env("RUNBOARD_TEST_CHILD", mode)
        .env("RUNBOARD_LOGDIR", logdir)
        .env("RUNBOARD_URL", url)
        .env_remove("RUNBOARD_RUN")
        .env_remove("RUNBOARD_DISABLE_GIT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("child starts")
}

/// The run `name` as `/api/v1/run` serves it, once `ready` says so.
fn wait_run(server: &Server, name: &str, what: &str, ready: impl Fn(&Json) -> bool) -> Json {
    common::poll(std::time::Duration::from_secs(30), what, || {
        let (status, run) = server.get(&format!("/api/v1/run?run={}", name.replace('/', "%2F")));
        (status == 200 && ready(&run)).then_some(run)
    })
}

#[test]
fn a_run_records_its_code_and_ends_as_it_ended() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.email", "t@example.com"]);
    git(&repo, &["config", "user.name", "T"]);
    std::fs::write(repo.join("train.py"), "lr = 0.1\n").unwrap();
    git(&repo, &["add", "train.py"]);
    git(&repo, &["commit", "-q", "-m", "first"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(repo.join("train.py"), "lr = 0.01\n").unwrap(); // not committed
    let (logdir, db) = (dir.path().join("served"), dir.path().join("db.sqlite"));
    let train_logdir = dir.path().join("train-logs");
    let mut server = common::spawn_runboard_with(&logdir, &db, &["--stall-after", "2"]);
    let base = server.1.clone();
    let srv = Server {
        child: server.0,
        base: base.clone(),
    };

    // A run that finishes: its commit, the uncommitted diff, its config, `finished` 0.
    let out = child("finish", &repo, &train_logdir, &base)
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runboard: run proj/finish"),
        "the start line"
    );
    let run = wait_run(&srv, "proj/finish", "finished", |r| {
        r["status"]["state"] == "finished"
    });
    assert_eq!(run["status"]["exit_code"], 0);
    assert_eq!(run["commit"], head.as_str());
    assert_eq!(run["dirty"], true);
    let diff = run["record"]["git"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("-lr = 0.1") && diff.contains("+lr = 0.01"),
        "{diff}"
    );
    assert_eq!(run["record"]["git"]["branch"], "main");
    assert_eq!(run["config"]["lr"], 0.01);
    assert_eq!(run["config"]["optimizer"], "adam");
    assert!(run["record"]["pid"].as_u64().is_some() && run["record"]["command"].is_array());
    assert_eq!(run["metrics"]["loss"]["count"], 5);

    // A run that panics: `crashed`, with the message.
    let out = child("panic", &repo, &train_logdir, &base)
        .wait_with_output()
        .unwrap();
    assert!(!out.status.success());
    let run = wait_run(&srv, "proj/panic", "crashed", |r| {
        r["status"]["state"] == "crashed"
    });
    let message = run["status"]["message"].as_str().unwrap();
    assert!(message.contains("loss diverged at step 5"), "{message}");

    // A live run stays `running` past the stall timeout (heartbeats); killed, it turns `stalled`.
    let mut hang = child("hang", &repo, &train_logdir, &base);
    use std::io::BufRead;
    // The test harness prints its own lines first.
    let ready = std::io::BufReader::new(hang.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|l| l.trim() == "ready");
    assert!(ready, "the child logged and flushed");
    wait_run(&srv, "proj/hang", "running", |r| {
        r["status"]["state"] == "running"
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    let (_, run) = srv.get("/api/v1/run?run=proj%2Fhang");
    assert_eq!(
        run["status"]["state"], "running",
        "alive past --stall-after: {run}"
    );
    hang.kill().unwrap(); // SIGKILL: nothing more is sent
    hang.wait().unwrap();
    wait_run(&srv, "proj/hang", "stalled", |r| {
        r["status"]["state"] == "stalled"
    });

    // All of it survives a restart.
    drop(srv);
    server = common::spawn_runboard_with(&logdir, &db, &["--stall-after", "2"]);
    let srv = Server {
        child: server.0,
        base: server.1,
    };
    let (_, runs) = srv.get("/api/v1/runs");
    let state = |name: &str| {
        runs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["status"]["state"]
            .clone()
    };
    assert_eq!(state("proj/finish"), "finished");
    assert_eq!(state("proj/panic"), "crashed");
    assert_eq!(state("proj/hang"), "stalled");
    let (_, run) = srv.get("/api/v1/run?run=proj%2Ffinish");
    assert!(
        run["record"]["git"]["diff"]
            .as_str()
            .unwrap()
            .contains("+lr = 0.01")
    );
}

/// The run record and status travel in the event file as runboard's own plugin: runboard reads
/// them from a logdir, the real TensorBoard shows nothing of them and serves the rest unchanged.
#[test]
fn run_events_in_an_event_file_are_read_by_runboard_and_ignored_by_tensorboard() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let options = runboard_sdk::WriterOptions {
        remote: None,
        ..runboard_sdk::WriterOptions::default()
    };
    let mut run =
        runboard_sdk::Run::init_with(&logdir, "proj", "r", &[("lr", 0.5.into())], options).unwrap();
    for _ in 0..3 {
        run.log(&[("loss", 0.25)], None);
    }
    run.finish(2).unwrap();

    let server = Server::start(&logdir, &dir.path().join("db.sqlite"));
    let run = wait_run(&server, "proj/r", "read from the file", |r| {
        r["status"]["state"] == "finished"
    });
    assert_eq!(run["status"]["exit_code"], 2);
    assert_eq!(run["config"]["lr"], 0.5);
    assert_eq!(run["host"], run["record"]["host"]);
    assert!(run["host"].as_str().is_some_and(|h| !h.is_empty()));
    let (_, series) = server.get("/api/v1/series?run=proj%2Fr");
    let tags: Vec<&str> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["loss"], "run events are the run's, not a series");

    let mut tb = common::TensorBoard::start(&logdir, true, &dir.path().join("tb.log"));
    tb.wait_for_run("proj/r", std::time::Duration::from_secs(60));
    let listing = tb.get_json("/data/plugins_listing", &[]);
    assert!(
        listing
            .get("runboard")
            .is_none_or(|p| p["enabled"] == false),
        "{listing}"
    );
    let scalars = tb.get_json("/data/plugin/scalars/tags", &[]);
    let tb_tags: Vec<&String> = scalars["proj/r"].as_object().unwrap().keys().collect();
    assert_eq!(tb_tags, ["loss"], "{scalars}");
    let ts = tb.get_json("/data/plugin/timeseries/tags", &[]);
    assert!(!ts.to_string().contains("_runboard"), "{ts}");
}
