//! End-to-end tests of `runboard serve`: the real binary on a loopback port, a real SQLite file, real event files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use runboard_sdk::SummaryWriter;

fn poll<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn steps_of(server: &Server, run: &str, tag: &str) -> Option<Vec<i64>> {
    let (status, body) = server.get(&format!("/api/v1/scalars?run={run}&tag={tag}"));
    if status != 200 {
        return None;
    }
    Some(
        body["points"]
            .as_array()?
            .iter()
            .map(|p| p[0].as_i64().unwrap())
            .collect(),
    )
}

#[test]
fn appended_points_are_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let mut w = SummaryWriter::new(logdir.join("live")).unwrap();
    for s in 0..100 {
        w.add_scalar("loss", s as f64, s);
    }
    w.flush().unwrap();
    let server = Server::start(&logdir, &dir.path().join("db.sqlite"));
    poll(Duration::from_secs(30), "first 100 points", || {
        steps_of(&server, "live", "loss").filter(|s| s.len() == 100)
    });
    let mut latencies = Vec::new();
    for round in 0..5 {
        let step = 100 + round;
        w.add_scalar("loss", step as f64, step);
        w.flush().unwrap();
        let t = Instant::now();
        poll(Duration::from_secs(10), "appended point", || {
            steps_of(&server, "live", "loss").filter(|s| s.last() == Some(&step))
        });
        latencies.push(t.elapsed());
    }
    let steps = steps_of(&server, "live", "loss").unwrap();
    assert_eq!(steps, (0..105).collect::<Vec<i64>>());
    eprintln!("append -> served latencies: {latencies:?}");
}

fn write_big_logdir(logdir: &Path, runs: usize, tags: usize, steps: i64) {
    for r in 0..runs {
        let mut w = SummaryWriter::new(logdir.join(format!("run{r:02}"))).unwrap();
        for s in 0..steps {
            for t in 0..tags {
                w.add_scalar(&format!("tag{t}"), (s * (t as i64 + 1)) as f64, s);
            }
        }
        w.close().unwrap();
    }
}

#[test]
fn kill_9_at_random_moments_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let (runs, tags, steps) = (12, 4, 20_000i64);
    write_big_logdir(&logdir, runs, tags, steps);
    let db = dir.path().join("db.sqlite");
    // A deterministic "random" schedule of kills, from early (mid first batch) to late.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..4 {
        let server = Server::start(&logdir, &db);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(50 + seed % 400));
        server.kill9();
    }
    let server = Server::start(&logdir, &db);
    for r in 0..runs {
        for t in 0..tags {
            let (run, tag) = (format!("run{r:02}"), format!("tag{t}"));
            let got = poll(Duration::from_secs(60), "everything served", || {
                steps_of(&server, &run, &tag).filter(|s| s.len() >= steps as usize)
            });
            assert_eq!(got.len(), steps as usize, "{run}/{tag}: no point doubled");
            assert!(
                got.iter().copied().eq(0..steps),
                "{run}/{tag}: each step exactly once, in order"
            );
        }
    }
}

#[test]
fn damaged_and_truncated_files_keep_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let mut w = SummaryWriter::new(logdir.join("r")).unwrap();
    for s in 0..500 {
        w.add_scalar("x", s as f64, s);
    }
    let path = w.path().to_path_buf();
    w.close().unwrap();
    // Damage one record in the middle: flip a byte inside the data of the record of step 250
    // (not the file's middle byte: the run record the writer starts with holds the code's
    // uncommitted diff, and may be most of the file).
    let mut bytes = std::fs::read(&path).unwrap();
    let spans = common::record_spans(&bytes);
    let (at, total) = spans
        .iter()
        .copied()
        .find(|&(at, total)| {
            let data = &bytes[at + 12..at + total - 4];
            runboard_sdk::EventDecoder::new()
                .decode(data)
                .is_ok_and(|e| e.step == 250 && e.values.iter().any(|v| v.tag == "x"))
        })
        .expect("the record of step 250");
    bytes[at + 12 + (total - 16) / 2] ^= 0x55;
    // And leave a partial record at the end, as a writer killed mid-write would.
    bytes.extend_from_slice(&[0x20, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    std::fs::write(&path, &bytes).unwrap();
    let server = Server::start(&logdir, &dir.path().join("db.sqlite"));
    let steps = poll(Duration::from_secs(30), "499 points", || {
        steps_of(&server, "r", "x").filter(|s| s.len() == 499)
    });
    assert_eq!(
        steps.len(),
        499,
        "only the damaged record is lost (TensorBoard serves 251)"
    );
    let (_, files) = server.get("/api/v1/files");
    assert_eq!(files[0]["skipped_records"], 1, "{files}");
}

#[test]
fn bad_requests_get_clear_4xx_errors() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let mut w = SummaryWriter::new(logdir.join("r")).unwrap();
    w.add_scalar("x", 1.0, 1);
    w.close().unwrap();
    let server = Server::start(&logdir, &dir.path().join("db.sqlite"));
    poll(Duration::from_secs(30), "run listed", || {
        steps_of(&server, "r", "x")
    });
    let cases: BTreeMap<&str, u16> = [
        ("/api/v1/scalars?run=r", 400),
        ("/api/v1/scalars?run=r&tag=x&max_points=abc", 400),
        ("/api/v1/scalars?run=r&tag=x&start_step=x", 400),
        ("/api/v1/scalars?run=nope&tag=x", 404),
        ("/api/v1/scalars?run=r&tag=nope", 404),
        ("/api/v1/scalars?run=..%2F..%2Fetc&tag=passwd", 404),
        ("/data/plugin/scalars/scalars?run=nope&tag=x", 404),
    ]
    .into_iter()
    .collect();
    for (path, want) in cases {
        let (status, body) = server.get(path);
        assert_eq!(status, want, "{path}: {body}");
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{path}: JSON error body, got {body}"
        );
    }
    // The server is still fine afterwards.
    assert_eq!(steps_of(&server, "r", "x"), Some(vec![1]));
}

#[test]
fn a_logdir_that_is_a_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["serve", "--port", "0", "--logdir"])
        .arg(&file)
        .arg("--db")
        .arg(dir.path().join("db.sqlite"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a directory"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_logdir_is_served_and_picked_up_when_created() {
    let dir = tempfile::tempdir().unwrap();
    let logdir: PathBuf = dir.path().join("later");
    let server = Server::start(&logdir, &dir.path().join("db.sqlite"));
    let (status, runs) = server.get("/api/v1/runs");
    assert_eq!((status, runs), (200, serde_json::json!([])));
    let mut w = SummaryWriter::new(logdir.join("r")).unwrap();
    w.add_scalar("x", 1.0, 7);
    w.close().unwrap();
    poll(Duration::from_secs(30), "run appears", || {
        steps_of(&server, "r", "x").filter(|s| s == &[7])
    });
}

#[test]
fn sigterm_stops_the_server_even_with_a_live_stream_open() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    std::fs::create_dir_all(&logdir).unwrap();
    let mut server = Server::start(&logdir, &dir.path().join("db.sqlite"));
    // A dashboard's live stream, held open on another thread.
    let url = format!("{}/api/v1/stream", server.base);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let resp = ureq::get(&url).call().unwrap();
        let _ = tx.send(resp.status().as_u16());
        let mut body = resp.into_body().into_reader();
        let _ = std::io::copy(&mut body, &mut std::io::sink());
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 200);
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = poll(Duration::from_secs(10), "exit after SIGTERM", || {
        server.child.try_wait().unwrap()
    });
    assert!(status.success(), "{status:?}");
}

#[test]
fn listening_publicly_needs_a_token_or_a_loud_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["serve", "--host", "0.0.0.0", "--port", "0", "--logdir"])
        .arg(dir.path())
        .arg("--db")
        .arg(dir.path().join("db.sqlite"))
        .env_remove("RUNBOARD_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--token") && stderr.contains("--insecure-public-writes"),
        "{stderr}"
    );
}

#[test]
fn simulated_gpus_are_served_live_and_exported_for_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    std::fs::create_dir_all(&logdir).unwrap();
    let (child, base, _log) =
        common::spawn_runboard_with(&logdir, &dir.path().join("db.sqlite"), &["--gpu-sim", "2"]);
    let server = Server { child, base };
    let metrics = poll(Duration::from_secs(20), "GPU gauges", || {
        let (status, body) = server.get("/metrics");
        let text = body.as_str()?.to_owned();
        (status == 200 && text.contains("gpu=\"1\"")).then_some(text)
    });
    for name in [
        "runboard_gpu_memory_used_bytes",
        "runboard_gpu_memory_total_bytes",
        "runboard_gpu_utilization_ratio",
        "runboard_gpu_temperature_celsius",
        "runboard_gpu_power_watts",
    ] {
        assert!(
            metrics.contains(&format!("{name}{{gpu=\"0\",uuid=\"GPU-sim-0\"")),
            "{name} in {metrics}"
        );
    }
    // And the same readings are a run of the store, growing every second.
    let first = poll(Duration::from_secs(20), "system run", || {
        steps_of(&server, "system", "system/gpu.0.memory_used_bytes").filter(|s| !s.is_empty())
    });
    poll(Duration::from_secs(20), "a later sample", || {
        steps_of(&server, "system", "system/gpu.0.memory_used_bytes")
            .filter(|s| s.len() > first.len())
    });
}

#[test]
fn runboard_gpu_without_nvml_explains_in_one_line() {
    if Path::new("/dev/nvidiactl").exists() {
        return; // a GPU host: the command shows its GPUs instead
    }
    let out = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .arg("gpu")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NVML is not available") && stderr.contains("--sim"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["gpu", "--sim", "3", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let gpus: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gpus.as_array().map(Vec::len), Some(3));
}
