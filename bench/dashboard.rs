//! Benchmark: the dashboard in headless Chromium (Debian's, driven by playwright-core from `tests/browser/node_modules`).
//!
//! `cargo bench --bench dashboard` (sizes: `RUNS` × `TAGS` × `STEPS`, default 50 × 10 × 2,000;
//! `BIG_SERIES` points in one more series, default 1,000,000; `REPEAT` page loads, default 5).
//! Starts the real server on a generated logdir, waits until everything is ingested, then
//! `bench/dashboard.mjs` measures, in the page's own clock:
//! - first charts: navigation start → every scalar card in the first viewport drawn
//!   (50 runs overlaid on each; goal ≤ 1.5 s);
//! - big series: the card of a 1M-point series fetched downsampled and drawn (goal ≤ 200 ms);
//! - live: a point POSTed to `/api/v1/ingest` → drawn on its chart (goal ≤ 250 ms).
//!
//! Needs `bash .ci/test` to have installed Chromium and playwright-core.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runboard_sdk::event_file::EventFileWriter;
use runboard_sdk::summary;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::{Proc, env_or};

fn write_logdir(dir: &Path, runs: u64, tags: u64, steps: u64, big: u64) {
    for r in 0..runs {
        let mut w = EventFileWriter::create(&dir.join(format!("run{r:03}")), "").expect("file");
        for s in 0..steps as i64 {
            let values = (0..tags)
                .map(|t| {
                    let v = (-(s as f64) / 500.0).exp() * (1.0 + t as f64)
                        + (s as f64 * 0.37 + r as f64).sin() * 0.05;
                    summary::scalar(&format!("metric{t}"), v)
                })
                .collect();
            w.write_summary(1.7e9 + s as f64, s, values).expect("write");
        }
        w.flush().expect("flush");
    }
    let mut w = EventFileWriter::create(&dir.join("big"), "").expect("file");
    for s in 0..big as i64 {
        let v = (s as f64 * 1e-4).sin() + if s % 100_003 == 0 { 10.0 } else { 0.0 };
        w.write_summary(
            1.7e9 + s as f64 * 0.01,
            s,
            vec![summary::scalar("big/series", v)],
        )
        .expect("write");
    }
    w.flush().expect("flush");
}

/// Points the server has committed, from `/api/v1/series`.
fn committed(base: &str) -> u64 {
    let Ok(resp) = ureq::get(&format!("{base}/api/v1/series")).call() else {
        return 0;
    };
    let Ok(body) = resp.into_body().read_to_string() else {
        return 0;
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s["count"].as_u64()).sum())
        .unwrap_or(0)
}

fn main() {
    let runs = env_or("RUNS", 50);
    let tags = env_or("TAGS", 10);
    let steps = env_or("STEPS", 2_000);
    let big = env_or("BIG_SERIES", 1_000_000);
    let repeat = env_or("REPEAT", 5);
    let repo = peer::browser_repo();
    let tmp = tempfile::tempdir().expect("temp dir");
    let logdir = tmp.path().join("logs");
    let t = Instant::now();
    write_logdir(&logdir, runs, tags, steps, big);
    let total = runs * tags * steps + big;
    eprintln!(
        "wrote {runs} runs x {tags} tags x {steps} steps + {big}-point series ({total} points) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let port = peer::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_runboard"))
            .args(["serve", "--no-gpu", "--port", &port.to_string(), "--logdir"])
            .arg(&logdir)
            .arg("--db")
            .arg(tmp.path().join("runboard.sqlite"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn runboard"),
    );
    let t = Instant::now();
    while committed(&base) < total {
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "ingest did not finish"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("ingested in {:.1} s", t.elapsed().as_secs_f64());

    if let Ok(secs) = std::env::var("HOLD") {
        // For profiling by hand: keep the server up.
        eprintln!("serving on {base} for {secs} s");
        std::thread::sleep(Duration::from_secs(secs.parse().unwrap_or(60)));
    }
    let status = Command::new("node")
        .arg(repo.join("bench/dashboard.mjs"))
        .env("RUNBOARD_URL", &base)
        .env("REPEAT", repeat.to_string())
        .env("RUNS", runs.to_string())
        .env("TAGS", tags.to_string())
        .status()
        .expect("node runs");
    assert!(status.success(), "bench/dashboard.mjs failed");
}
