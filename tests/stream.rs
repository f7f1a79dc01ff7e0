//! The SDK streaming to a real `runboard serve` over loopback: values served, outages survived, spooled batches synced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use common::Server;
use prost::Message;
use runboard_sdk::proto::runboard::ingest as pb;
use runboard_sdk::remote::{self, RemoteOptions};
use runboard_sdk::{SummaryWriter, WriterOptions};
use serde_json::Value as Json;

/// Everything this test binary logged through `tracing` (the SDK logs on its own threads, so
/// the subscriber is global; tests pick their lines by a URL or path of their own).
static LOG: Mutex<String> = Mutex::new(String::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing log lines (once per test binary).
fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        tracing_subscriber::fmt()
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .init();
    });
}

/// The captured log lines that contain `needle`.
fn log_lines_with(needle: &str) -> Vec<String> {
    LOG.lock()
        .unwrap_or_else(|e| e.into_inner())
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// A base URL where nothing listens.
fn dead_url() -> String {
    format!("http://127.0.0.1:{}", common::free_port())
}

/// Waits until the server at `base` answers (it is starting).
fn wait_until_up(base: &str) {
    common::poll(Duration::from_secs(30), "the server answers", || {
        get_json(base, "/api/v1/runs")
    });
}

/// `(tag, count)` of every series of `run`.
fn series_counts(base: &str, run: &str) -> Vec<(String, u64)> {
    let json = get_json(base, &format!("/api/v1/series?run={run}")).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["tag"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The spool files' names under `dir` (rejected ones included).
fn names_under(dir: &Path) -> Vec<String> {
    runboard_sdk::event_file::files_under(dir, |_| true)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect()
}

fn get_json(base: &str, path: &str) -> Option<Json> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let (status, body) = common::http_get(&agent, base, path, &[])?;
    (status == 200).then(|| serde_json::from_slice(&body).ok())?
}

fn streaming(url: &str, run: &str) -> WriterOptions {
    WriterOptions {
        remote: Some(RemoteOptions {
            url: url.to_owned(),
            run: run.to_owned(),
            token: None,
            close_timeout: Duration::from_secs(20),
        }),
        ..WriterOptions::default()
    }
}

fn scalar_values(base: &str, run: &str, tag: &str) -> Vec<(i64, f64)> {
    get_json(base, &format!("/api/v1/scalars?run={run}&tag={tag}"))
        .map(|j| {
            j["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_i64().unwrap(), p[2].as_f64().unwrap_or(f64::NAN)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sdk_values_reach_the_server_at_full_precision() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = Server::start(&served, &dir.path().join("db.sqlite"));
    let run_dir = dir.path().join("local/exp1");
    let mut w =
        SummaryWriter::with_options(&run_dir, streaming(&server.base, "remote/exp1")).unwrap();
    for s in 0..1000 {
        w.add_scalar("loss", 0.1 + s as f64 * 1e-9, s);
    }
    w.add_histogram("weights", &[1.0, 2.0, 2.5, 4.0], 999);
    w.add_text("notes", "**streamed**", 999);
    w.add_hparams(&[("lr", 0.01.into())], &[]);
    w.add_hparams_config(
        &[runboard_sdk::hparams::HParam::new("lr").interval(1e-4, 1.0)],
        &[runboard_sdk::hparams::Metric::new("loss").display_name("Loss")],
    );
    w.add_hparams_end(true);
    w.add_pr_curve("pr", &[true, false, true], &[0.9, 0.2, 0.6], 5, 11);
    w.add_audio("clip", &[0.0, 0.5, -0.5], 4000, 2);
    let vertices = [[0.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 1.0, 0.25]];
    w.add_mesh("tri", &vertices, &[[0, 1, 2]], &[], None, 4)
        .unwrap();
    let points = [[0.5f32, 1.5], [2.5, -1.0], [0.0, 1e-8]];
    let thumbs = [[10u8; 4], [20; 4], [30; 4]].concat();
    w.add_embedding_with_thumbnails("emb", &points, &["x", "y", "z"], &thumbs, 2, 1, 6)
        .unwrap();
    let graph = runboard_sdk::proto::tensorboard::GraphDef {
        node: vec![runboard_sdk::proto::tensorboard::NodeDef {
            name: "net/fc/matmul".into(),
            op: "MatMul".into(),
            input: vec!["x".into(), "net/fc/w".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    w.add_graph_def(&graph);
    let layout = runboard_sdk::proto::tensorboard::Layout {
        version: 0,
        category: vec![runboard_sdk::proto::tensorboard::Category {
            title: "streamed".into(),
            ..Default::default()
        }],
    };
    w.add_custom_scalars(&layout);
    w.close().unwrap();
    // So does a custom scalars layout.
    let served = ureq::get(format!("{}/data/plugin/custom_scalars/layout", server.base))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert_eq!(served, runboard::custom_scalars::to_json(&layout));
    let query_bytes = |path: &str, query: &[(&str, &str)]| {
        let mut req = ureq::get(format!("{}{path}", server.base));
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        req.call().unwrap().into_body().read_to_vec().unwrap()
    };
    let query_json = |path: &str, query: &[(&str, &str)]| -> serde_json::Value {
        serde_json::from_slice(&query_bytes(path, query)).unwrap()
    };
    // A PR curve streams as its tensor and is served as TensorBoard serves one.
    let curves = query_json(
        "/data/plugin/pr_curves/pr_curves",
        &[("run", "remote/exp1"), ("tag", "pr")],
    );
    let curve = &curves["remote/exp1"][0];
    assert_eq!(curve["step"], 5, "{curves}");
    assert_eq!(curve["true_positives"][0], 2, "{curves}");
    assert_eq!(curve["false_positives"][0], 1, "{curves}");
    // An audio clip streams as the audio plugin's tensor; its WAV bytes are served.
    let listed = query_json(
        "/data/plugin/audio/audio",
        &[("run", "remote/exp1"), ("tag", "clip")],
    );
    assert_eq!(listed[0]["step"], 2, "{listed}");
    let key = listed[0]["query"].as_str().unwrap();
    let blob_key = key
        .split('&')
        .next()
        .unwrap()
        .trim_start_matches("blob_key=");
    let wav = query_bytes(
        "/data/plugin/audio/individualAudio",
        &[("blob_key", blob_key), ("content_type", "audio/wav")],
    );
    assert_eq!(
        wav,
        runboard_sdk::summary::wav_pcm16(&[0.0, 0.5, -0.5], 4000)
    );
    // A mesh streams as its parts with their metadata; the vertices are served as logged.
    let vertex_bytes = query_bytes(
        "/data/plugin/mesh/data",
        &[
            ("run", "remote/exp1"),
            ("tag", "tri"),
            ("content_type", "VERTEX"),
            ("step", "4"),
        ],
    );
    let want: Vec<u8> = vertices
        .iter()
        .flatten()
        .flat_map(|v: &f32| v.to_le_bytes())
        .collect();
    assert_eq!(vertex_bytes, want);
    let faces = query_json(
        "/data/plugin/mesh/meshes",
        &[("run", "remote/exp1"), ("tag", "tri")],
    );
    assert_eq!(faces.as_array().map(Vec::len), Some(2), "{faces}");
    // An embedding streams too: the projector serves its values and labels.
    let name = "emb:00006";
    let tensor = query_bytes(
        "/data/plugin/projector/tensor",
        &[("run", "remote/exp1"), ("name", name)],
    );
    let want: Vec<u8> = points
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(tensor, want);
    let labels = query_bytes(
        "/data/plugin/projector/metadata",
        &[("run", "remote/exp1"), ("name", name)],
    );
    assert_eq!(labels, b"x\ny\nz\n");
    let sprite = query_bytes(
        "/data/plugin/projector/sprite_image",
        &[("run", "remote/exp1"), ("name", name)],
    );
    assert!(sprite.starts_with(b"\x89PNG"), "a PNG sprite");
    let info = query_json("/data/plugin/projector/info", &[("run", "remote/exp1")]);
    assert_eq!(
        info["embeddings"][0]["sprite"]["singleImageDim"],
        serde_json::json!([2, 2])
    );
    let listed = query_json("/api/v1/projector", &[]);
    assert_eq!(listed[0]["rows"], 3, "{listed}");
    assert_eq!(listed[0]["pca"]["k"], 2, "{listed}");
    // And what the HParams plugin logged: the declared experiment, the session's end.
    let groups = query_json(
        "/data/plugin/hparams/session_groups",
        &[("request", r#"{"allowedStatuses":[0,1,2,3],"sliceSize":10}"#)],
    );
    let session = &groups["sessionGroups"][0]["sessions"][0];
    assert_eq!(session["name"], "remote/exp1", "{groups}");
    assert_eq!(session["status"], "STATUS_SUCCESS", "{groups}");
    assert_eq!(
        session["metricValues"][0]["name"]["tag"], "loss",
        "{groups}"
    );
    let overview = query_json("/api/v1/hparams", &[]);
    assert_eq!(overview["declared"], true, "{overview}");
    assert_eq!(overview["metrics"][0]["display_name"], "Loss", "{overview}");
    assert_eq!(overview["hparams"][0]["domain"]["max"], 1.0, "{overview}");
    // The graph streams too, and is served as TensorBoard serves a file's.
    let text = ureq::get(format!(
        "{}/data/plugin/graphs/graph?run=remote/exp1",
        server.base
    ))
    .call()
    .unwrap()
    .into_body()
    .read_to_string()
    .unwrap();
    assert_eq!(text, runboard::graphs::to_text(&graph));
    assert!(text.contains("op: \"MatMul\""), "{text}");
    let got = scalar_values(&server.base, "remote/exp1", "loss");
    assert_eq!(got.len(), 1000);
    for (i, (step, v)) in got.iter().enumerate() {
        assert_eq!(*step, i as i64);
        assert_eq!(
            *v,
            0.1 + i as f64 * 1e-9,
            "f64 over HTTP, not float32 as in files"
        );
    }
    let hist = get_json(
        &server.base,
        "/data/plugin/histograms/histograms?run=remote/exp1&tag=weights",
    )
    .unwrap();
    assert_eq!(hist.as_array().unwrap().len(), 1);
    let runs = get_json(&server.base, "/api/v1/runs").unwrap();
    assert_eq!(runs[0]["hparams"]["lr"], 0.01);
    assert!(
        !run_dir
            .join(".runboard-spool")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "spool emptied"
    );
}

#[test]
fn a_server_killed_mid_run_loses_and_doubles_nothing_and_logging_never_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let db = dir.path().join("db.sqlite");
    let server = Server::start(&served, &db);
    let run_dir = dir.path().join("local/r");
    let mut w = SummaryWriter::with_options(&run_dir, streaming(&server.base, "r")).unwrap();
    let base = server.base.clone();
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let mut slowest = Duration::ZERO;
    let mut log = |w: &mut SummaryWriter, range: std::ops::Range<i64>| {
        for s in range {
            let t = Instant::now();
            w.add_scalar("x", s as f64, s);
            slowest = slowest.max(t.elapsed());
            if s % 100 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    log(&mut w, 0..3000);
    server.kill9();
    log(&mut w, 3000..6000);
    // The server comes back on the same port and database.
    let restarted = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["serve", "--port", &port.to_string(), "--logdir"])
        .arg(&served)
        .arg("--db")
        .arg(&db)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child: restarted,
        base,
    };
    log(&mut w, 6000..9000);
    // close() does not wait for a server that cannot be reached: wait until it is up again.
    wait_until_up(&server.base);
    w.close().unwrap();
    let got = scalar_values(&server.base, "r", "x");
    assert_eq!(got.len(), 9000, "every point exactly once");
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, (s, v))| *s == i as i64 && *v == i as f64)
    );
    assert!(
        slowest < Duration::from_millis(50),
        "a logging call took {slowest:?}"
    );
}

#[test]
fn a_server_that_is_down_costs_close_nothing_and_runboard_sync_sends_the_spool_later() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("local/offline");
    let url = dead_url();
    let mut options = streaming(&url, "offline");
    if let Some(r) = options.remote.as_mut() {
        r.close_timeout = Duration::from_secs(10); // the default
    }
    let mut w = SummaryWriter::with_options(&run_dir, options).unwrap();
    for s in 0..500 {
        w.add_scalar("y", s as f64, s);
    }
    let path = w.path().to_path_buf();
    let started = Instant::now();
    let report = w
        .close_with_report()
        .expect("close succeeds: the event file is complete")
        .expect("streaming");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "close() waited {took:?} for a server that is down"
    );
    // The event file is complete.
    let (events, _) = runboard_sdk::event_file::read_events(&path).unwrap();
    let logged = events
        .iter()
        .flat_map(|e| &e.values)
        .filter(|v| v.tag != runboard_sdk::event::RUN_EVENT_TAG)
        .count();
    assert_eq!(logged, 500);
    // The spool holds every batch, and the report says so.
    let spool = report.spool.clone();
    assert_eq!(spool, run_dir.join(".runboard-spool"));
    let files = remote::spool_files(&spool);
    assert!(!files.is_empty());
    assert_eq!(
        (report.left, report.unspooled, report.acknowledged),
        (files.len() as u64, 0, 0)
    );
    let command = format!("runboard sync {} --url {url}", spool.display());
    assert_eq!(report.sync_command(), command);
    // One line said at once that the server cannot be reached, one names the sync command.
    let about_url = log_lines_with(&url);
    assert_eq!(
        about_url
            .iter()
            .filter(|l| l.contains("cannot reach"))
            .count(),
        1,
        "{about_url:#?}"
    );
    assert_eq!(log_lines_with(&command).len(), 1, "{about_url:#?}");
    assert_eq!(about_url.len(), 2, "{about_url:#?}");
    // The server comes up; `runboard sync` sends everything.
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = Server::start(&served, &dir.path().join("db.sqlite"));
    let sync = || {
        Command::new(env!("CARGO_BIN_EXE_runboard"))
            .args(["sync", "--url", &server.base])
            .arg(&spool)
            .output()
            .unwrap()
    };
    let first = sync();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Everything was sent and removed: a second sync finds nothing and says so.
    let second = sync();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("no spooled batches"));
    let got = scalar_values(&server.base, "offline", "y");
    assert_eq!(got.len(), 500);
    assert!(remote::spool_files(&spool).is_empty());
}

#[test]
fn long_tags_and_ten_thousand_point_steps_stream_everything() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = Server::start(&served, &dir.path().join("db.sqlite"));
    let mut options = streaming(&server.base, "wide");
    if let Some(r) = options.remote.as_mut() {
        r.close_timeout = Duration::from_secs(120); // a debug server storing 12,000 series
    }
    let mut w = SummaryWriter::with_options(dir.path().join("local/wide"), options).unwrap();
    // 10,000 distinct 90-character tags at each step: about 1.2 MB a step, more than the
    // server's 1 MiB of old, in one burst.
    let tag = |i: usize| format!("layer{i:05}/{}", "w".repeat(79));
    assert_eq!(tag(0).len(), 90);
    let (steps, tags, histograms) = (3, 10_000, 2_000);
    for step in 0..steps {
        for i in 0..tags {
            w.add_scalar(&tag(i), (i * 10 + step) as f64, step as i64);
        }
    }
    let values: Vec<f64> = (0..1000).map(|v| (v as f64).sin()).collect();
    for i in 0..histograms {
        w.add_histogram(&format!("hist{i:05}/{}", "h".repeat(79)), &values, 7);
    }
    let report = w.close_with_report().unwrap().unwrap();
    assert_eq!(
        (report.left, report.rejected),
        (0, 0),
        "everything acknowledged: {report:?}"
    );
    let series = series_counts(&server.base, "wide");
    let scalars: Vec<_> = series
        .iter()
        .filter(|(t, _)| t.starts_with("layer"))
        .collect();
    let hists: Vec<_> = series
        .iter()
        .filter(|(t, _)| t.starts_with("hist"))
        .collect();
    assert_eq!(scalars.len(), tags);
    assert_eq!(hists.len(), histograms);
    assert!(scalars.iter().all(|(_, n)| *n == steps as u64));
    assert!(hists.iter().all(|(_, n)| *n == 1));
    for i in [0, 4_999, 9_999] {
        let got = scalar_values(&server.base, "wide", &tag(i));
        let want: Vec<(i64, f64)> = (0..steps)
            .map(|s| (s as i64, (i * 10 + s) as f64))
            .collect();
        assert_eq!(got, want, "{}", tag(i));
    }
}

/// A batch as the SDK would spool it.
fn batch(run: &str, session: &str, seq: u64, points: Vec<pb::Point>) -> Vec<u8> {
    pb::Batch {
        run: run.into(),
        session: session.into(),
        seq,
        points,
    }
    .encode_to_vec()
}

fn scalar_point(tag: &str, step: i64) -> pb::Point {
    pb::Point {
        tag: tag.into(),
        step,
        wall_time: 1.7e9 + step as f64,
        value: Some(pb::point::Value::Scalar(step as f64)),
    }
}

#[test]
fn runboard_sync_sends_everything_past_garbage_refused_and_oversized_batches() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("local/offline");
    // A run logged while the server was down leaves its batches in the spool.
    let mut w = SummaryWriter::with_options(&run_dir, streaming(&dead_url(), "offline")).unwrap();
    for s in 0..500 {
        w.add_scalar("y", s as f64, s);
    }
    let report = w.close_with_report().unwrap().unwrap();
    let spool = report.spool;
    assert!(report.left >= 1);
    // Before them (by name): a file that is not a batch, a batch the server refuses (400: a
    // run name that climbs out), and one too large for any request (~10 MB of text).
    std::fs::write(spool.join("0-a-garbage.rbbatch"), b"\xff\xff\xff\xff\x0f").unwrap();
    let bad_run = batch("../escape", "0-b", 1, vec![scalar_point("x", 1)]);
    std::fs::write(spool.join("0-b-bad-run.rbbatch"), bad_run).unwrap();
    let big_text = "t".repeat(100_000);
    let big: Vec<pb::Point> = (0..100)
        .map(|s| pb::Point {
            tag: "big".into(),
            step: s,
            wall_time: 1.7e9,
            value: Some(pb::point::Value::Text(big_text.clone())),
        })
        .collect();
    let big = batch("offline", "0-c", 1, big);
    assert!(big.len() > 8 << 20, "over the server's ingest limit");
    std::fs::write(spool.join("0-c-big.rbbatch"), big).unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = Server::start(&served, &dir.path().join("db.sqlite"));
    let out = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["sync", "--url", &server.base])
        .arg(dir.path().join("local")) // a folder above the spool folder
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "two batches were not sent: {stderr}");
    // The two bad ones are listed with their reasons and set aside.
    let garbage_line = stderr
        .lines()
        .find(|l| l.contains("0-a-garbage.rbbatch"))
        .unwrap_or_else(|| panic!("garbage listed: {stderr}"));
    assert!(garbage_line.contains("does not decode"), "{garbage_line}");
    let bad_line = stderr
        .lines()
        .find(|l| l.contains("0-b-bad-run.rbbatch"))
        .unwrap_or_else(|| panic!("refused batch listed: {stderr}"));
    assert!(
        bad_line.contains("HTTP 400") && bad_line.contains("invalid run name"),
        "{bad_line}"
    );
    assert!(stderr.contains("2 batch(es)"), "{stderr}");
    assert_eq!(
        names_under(&spool),
        [
            "rejected/0-a-garbage.rbbatch",
            "rejected/0-b-bad-run.rbbatch"
        ],
        "everything else was sent and removed"
    );
    // Everything else is stored: the SDK's points and the oversized batch, split.
    assert_eq!(scalar_values(&server.base, "offline", "y").len(), 500);
    let series = series_counts(&server.base, "offline");
    assert!(series.contains(&("big".to_owned(), 100)), "{series:?}");
    let runs = get_json(&server.base, "/api/v1/runs").unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    // What was set aside is not sent again.
    let again = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["sync", "--url", &server.base])
        .arg(&spool)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("no spooled batches"));
}

#[test]
fn a_batch_key_reused_for_another_run_is_set_aside_and_streaming_goes_on() {
    capture_logs();
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = Server::start(&served, &dir.path().join("db.sqlite"));
    // Key (reused, 1) is stored for run "first"...
    let agent = remote::agent();
    let first = batch("first", "reused", 1, vec![scalar_point("x", 1)]);
    remote::send_batch(&agent, &server.base, None, &first).unwrap();
    // ...and a batch of run "second" under the same key waits in the SDK's spool.
    let run_dir = dir.path().join("local/second");
    let spool = run_dir.join(".runboard-spool");
    std::fs::create_dir_all(&spool).unwrap();
    let reused = batch("second", "reused", 1, vec![scalar_point("y", 0)]);
    let name = "0-reused-000000000001.rbbatch";
    std::fs::write(spool.join(name), &reused).unwrap();
    assert!(matches!(
        remote::send_batch(&agent, &server.base, None, &reused),
        Err(remote::SendError::Rejected { status: 409, .. })
    ));
    let mut w = SummaryWriter::with_options(&run_dir, streaming(&server.base, "second")).unwrap();
    for s in 1..=100 {
        w.add_scalar("y", s as f64, s);
    }
    let report = w.close_with_report().unwrap().unwrap();
    assert_eq!((report.rejected, report.left), (1, 0), "{report:?}");
    assert_eq!(names_under(&spool), [format!("rejected/{name}")]);
    let lines = log_lines_with(name);
    assert_eq!(lines.len(), 1, "one line says why: {lines:#?}");
    assert!(
        lines[0].contains("HTTP 409") && lines[0].contains("conflict"),
        "{lines:#?}"
    );
    // The stream went on: run "second" has its own 100 points, run "first" kept its one.
    let got = scalar_values(&server.base, "second", "y");
    assert_eq!(got, (1..=100).map(|s| (s, s as f64)).collect::<Vec<_>>());
    assert_eq!(scalar_values(&server.base, "first", "x"), [(1, 1.0)]);
}
