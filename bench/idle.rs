//! Benchmark: what a server costs while nothing happens, while `runboard demo` logs, and while it tails 10,000 event files.
//!
//! `cargo bench --bench idle` measures, with the release binary:
//! 1. CPU of an idle `runboard serve` over `SECS` seconds (default 10) on an empty logdir and on
//!    a 1,000-run logdir (goal ≤ 1 % of a core), and TensorBoard 2.21 (`.venv`, its data server
//!    included) on the same two logdirs in the same run;
//! 2. CPU of `runboard demo` (6 simulated runs logging 20 steps a second each) over `SECS`,
//!    split by thread: the server's (ingest, store, HTTP, watcher, GPU sampler; goal ≤ 10 %)
//!    and the simulated trainers' (their loops and SDK writer threads);
//! 3. RSS of a server tailing `FILES` event files (default 10,000, one run each) while 1,000
//!    of them grow (goal ≤ 200 MB).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runboard_sdk::event_file::EventFileWriter;
use runboard_sdk::summary;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::{Proc, env_or};

fn get(base: &str, path: &str) -> Option<String> {
    ureq::get(&format!("{base}{path}"))
        .call()
        .ok()?
        .into_body()
        .read_to_string()
        .ok()
}

fn metric(base: &str, name: &str) -> Option<u64> {
    get(base, "/metrics")?
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `runs` runs of `steps` steps with 3 scalars each, under `dir`.
fn write_logdir(dir: &Path, runs: usize, steps: i64) {
    std::fs::create_dir_all(dir).expect("logdir");
    for r in 0..runs {
        let mut w = EventFileWriter::create(&dir.join(format!("run{r:05}")), "").expect("file");
        for s in 0..steps {
            let values = (0..3)
                .map(|t| summary::scalar(&format!("tag{t}"), (s as f64 * 0.01 + t as f64).sin()))
                .collect();
            w.write_summary(1.7e9 + s as f64, s, values).expect("write");
        }
        w.flush().expect("flush");
    }
}

fn start_tensorboard(logdir: &Path) -> Option<(Proc, String)> {
    let py = peer::python()?;
    let port = peer::free_port();
    let child = Command::new(py.with_file_name("tensorboard"))
        .arg("--logdir")
        .arg(logdir)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some((Proc(child), format!("http://127.0.0.1:{port}")))
}

/// Percent of one core the process tree of `pid` used over `secs`.
fn cpu_percent(pid: u32, secs: u64) -> f64 {
    let before = peer::tree_cpu_secs(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    (peer::tree_cpu_secs(pid) - before) / t.elapsed().as_secs_f64() * 100.0
}

/// An idle runboard on `logdir`: load, settle, then measure.
fn idle_runboard(logdir: &Path, db: &Path, runs: usize, secs: u64) -> f64 {
    let (proc_, base) = peer::start_runboard(logdir, db, &["--no-gpu"]);
    let loaded = wait_until(Duration::from_secs(300), || {
        metric(&base, "runboard_ingest_files").is_some_and(|f| f as usize == runs)
            && get(&base, "/api/v1/runs").is_some()
    });
    assert!(loaded, "runboard did not load {runs} runs");
    std::thread::sleep(Duration::from_secs(2));
    cpu_percent(proc_.0.id(), secs)
}

/// An idle TensorBoard on `logdir`: wait until it lists every run, settle, then measure.
fn idle_tensorboard(logdir: &Path, runs: usize, secs: u64) -> Option<f64> {
    let (proc_, base) = start_tensorboard(logdir)?;
    let loaded = wait_until(Duration::from_secs(600), || {
        get(&base, "/data/plugin/scalars/tags")
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.as_object().map(|o| o.len() >= runs))
            .unwrap_or(false)
    });
    if !loaded {
        eprintln!("TensorBoard did not list {runs} runs in time");
        return None;
    }
    std::thread::sleep(Duration::from_secs(2));
    Some(cpu_percent(proc_.0.id(), secs))
}

fn main() {
    let secs = env_or("SECS", 10);
    let files = env_or("FILES", 10_000) as usize;
    let dir = tempfile::tempdir().expect("temp dir");

    // 1. Idle.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("empty logdir");
    let thousand = dir.path().join("thousand");
    write_logdir(&thousand, 1000, 100);
    let rb_empty = idle_runboard(&empty, &dir.path().join("e.sqlite"), 0, secs);
    let rb_1000 = idle_runboard(&thousand, &dir.path().join("t.sqlite"), 1000, secs);
    println!(
        "idle runboard over {secs} s: empty logdir {rb_empty:.2} % of a core, 1,000 runs {rb_1000:.2} % (goal <= 1 %)"
    );
    match (
        idle_tensorboard(&empty, 0, secs),
        idle_tensorboard(&thousand, 1000, secs),
    ) {
        (Some(tb_empty), Some(tb_1000)) => println!(
            "idle TensorBoard over {secs} s: empty logdir {tb_empty:.2} %, 1,000 runs {tb_1000:.2} %; runboard/TensorBoard {:.3} and {:.3}",
            rb_empty / tb_empty.max(1e-9),
            rb_1000 / tb_1000.max(1e-9)
        ),
        _ => println!(
            "TensorBoard: no .venv (run `bash .ci/test` once) or it failed; no side-by-side figures"
        ),
    }

    // 2. The demo.
    let port = peer::free_port();
    let demo = Proc(
        Command::new(env!("CARGO_BIN_EXE_runboard"))
            .args(["demo", "--port", &port.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn demo"),
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(wait_until(Duration::from_secs(60), || get(
        &base,
        "/api/v1/runs"
    )
    .is_some_and(|r| r.len() > 2)));
    std::thread::sleep(Duration::from_secs(3));
    let pid = demo.0.id();
    let before = peer::thread_cpu_secs(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let after = peer::thread_cpu_secs(pid);
    let elapsed = t.elapsed().as_secs_f64();
    let mut server = 0.0;
    let mut trainers = 0.0;
    let mut by_thread: Vec<(String, f64)> = Vec::new();
    for (name, cpu) in &after {
        let used = (cpu - before.get(name).copied().unwrap_or(0.0)) / elapsed * 100.0;
        if name.starts_with("runboard-demo") || name == "runboard-writer" {
            trainers += used;
        } else {
            server += used;
        }
        by_thread.push((name.clone(), used));
    }
    by_thread.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = by_thread
        .iter()
        .take(6)
        .map(|(n, c)| format!("{n} {c:.2} %"))
        .collect();
    println!(
        "runboard demo over {secs} s: server threads {server:.2} % of a core (goal <= 10 %), simulated trainers {trainers:.2} %; by thread: {}",
        top.join(", ")
    );
    drop(demo);

    // 3. RSS while tailing many files.
    let many = dir.path().join("many");
    write_logdir(&many, files, 10);
    let (server, base) = peer::start_runboard(&many, &dir.path().join("m.sqlite"), &["--no-gpu"]);
    let loaded = wait_until(Duration::from_secs(600), || {
        metric(&base, "runboard_ingest_files").is_some_and(|f| f as usize == files)
            && metric(&base, "runboard_ingest_records_total")
                .is_some_and(|r| r as usize >= files * 11)
    });
    assert!(loaded, "runboard did not load {files} files");
    // Keep 1,000 of them growing for a while: the server tails them all.
    let mut writers: Vec<EventFileWriter> = (0..files.min(1000))
        .map(|r| EventFileWriter::create(&many.join(format!("run{r:05}")), ".more").expect("file"))
        .collect();
    let mut peak = 0;
    for round in 0..5i64 {
        for w in &mut writers {
            w.write_summary(1.8e9, 100 + round, vec![summary::scalar("tag0", 1.0)])
                .expect("write");
            w.flush().expect("flush");
        }
        std::thread::sleep(Duration::from_secs(1));
        peak = peak.max(peer::rss_kib(&server.0.id().to_string()));
    }
    let watched = metric(&base, "runboard_ingest_watched_dirs").unwrap_or(0);
    let polled = metric(&base, "runboard_ingest_polled_dirs").unwrap_or(0);
    println!(
        "runboard tailing {} event files ({files} runs; {watched} folders watched, {polled} polled): RSS {:.0} MB at most (goal <= 200 MB)",
        files + writers.len(),
        peak as f64 / 1024.0
    );
}
