//! Benchmark: `runboard serve` side by side with TensorBoard on one generated logdir.
//!
//! `cargo bench --bench serve_load` (sizes: `RUNS`, `TAGS`, `STEPS`, default 50 × 10 × 20,000 =
//! 10M scalars; `BIG_SERIES` points for the zoomed-out read, default 10M). Measures:
//! time until every point is served, server RSS after loading, restart on the ingested database
//! until everything is served, a zoomed-out read of a 10M-point series to 2,000 points, and
//! file append → served latency; and, for TensorBoard `--load_fast=true` (from `.venv`), time
//! until its 1000-per-tag sample of every tag is served, its RSS, and its append → served latency.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runboard_sdk::event_file::EventFileWriter;
use runboard_sdk::summary;
use serde_json::Value as Json;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::{Proc, env_or};

fn write_logdir(dir: &Path, runs: u64, tags: u64, steps: u64) {
    for r in 0..runs {
        let mut w = EventFileWriter::create(&dir.join(format!("run{r:03}")), "").expect("file");
        for s in 0..steps as i64 {
            let values = (0..tags)
                .map(|t| summary::scalar(&format!("tag{t}"), ((s as f64) * 0.001 + t as f64).sin()))
                .collect();
            w.write_summary(1.7e9 + s as f64, s, values).expect("write");
        }
        w.flush().expect("flush");
    }
}

fn get(base: &str, path: &str) -> Option<Json> {
    let resp = ureq::get(&format!("{base}{path}")).call().ok()?;
    serde_json::from_str(&resp.into_body().read_to_string().ok()?).ok()
}

fn rss_kib(pid: u32) -> u64 {
    peer::rss_kib(&pid.to_string())
}

/// RSS of a process and its children (TensorBoard runs its data server as a child).
fn tree_rss_kib(pid: u32) -> u64 {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    rss_kib(pid)
        + children
            .split_whitespace()
            .filter_map(|c| c.parse().ok())
            .map(tree_rss_kib)
            .sum::<u64>()
}

fn total_served(base: &str) -> u64 {
    get(base, "/api/v1/series")
        .and_then(|s| {
            s.as_array()
                .map(|a| a.iter().filter_map(|x| x["count"].as_u64()).sum())
        })
        .unwrap_or(0)
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn append_latency(
    base: &str,
    dir: &Path,
    run: &str,
    tag: &str,
    served: impl Fn(&str, &str, &str, i64) -> bool,
) -> f64 {
    let mut w = EventFileWriter::create(&dir.join(run), ".append").expect("file");
    let mut lat = Vec::new();
    for i in 0..15i64 {
        let step = 10_000_000 + i;
        w.write_summary(
            runboard_sdk::event_file::now_secs(),
            step,
            vec![summary::scalar(tag, 1.0)],
        )
        .expect("write");
        let t = Instant::now();
        w.flush().expect("flush");
        match wait_until(Duration::from_secs(60), || served(base, run, tag, step)) {
            Some(_) => lat.push(t.elapsed().as_secs_f64() * 1e3),
            None => return f64::NAN,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    peer::median(&mut lat)
}

fn main() {
    let (runs, tags, steps) = (
        env_or("RUNS", 50),
        env_or("TAGS", 10),
        env_or("STEPS", 20_000),
    );
    let big = env_or("BIG_SERIES", 10_000_000);
    let total = runs * tags * steps;
    let work = tempfile::tempdir().expect("temp dir");
    let logdir = work.path().join("logs");
    let t = Instant::now();
    write_logdir(&logdir, runs, tags, steps);
    println!(
        "logdir: {runs} runs x {tags} tags x {steps} steps = {total} scalars, written in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 1. runboard: cold load.
    let db = work.path().join("runboard.sqlite");
    let t = Instant::now();
    let (server, base) = peer::start_runboard(&logdir, &db, &[]);
    let load =
        wait_until(Duration::from_secs(600), || total_served(&base) == total).map(|_| t.elapsed());
    let rss = rss_kib(server.0.id());
    println!(
        "runboard: every point served after {:.2} s; RSS {:.0} MB",
        load.map_or(f64::NAN, |d| d.as_secs_f64()),
        rss as f64 / 1024.0
    );
    let served_rb = |base: &str, run: &str, tag: &str, step: i64| {
        get(
            base,
            &format!("/api/v1/scalars?run={run}&tag={tag}&start_step={step}"),
        )
        .is_some_and(|j| j["points"].as_array().is_some_and(|p| !p.is_empty()))
    };
    let rb_append = append_latency(&base, &logdir, "run000", "tag0", served_rb);
    println!("runboard: file append -> served, median {rb_append:.0} ms (15 appends)");
    drop(server);

    // 2. runboard: restart on the ingested database.
    let t = Instant::now();
    let (server, base) = peer::start_runboard(&logdir, &db, &[]);
    let restart =
        wait_until(Duration::from_secs(120), || total_served(&base) >= total).map(|_| t.elapsed());
    println!(
        "runboard: restart until everything is served: {:.2} s",
        restart.map_or(f64::NAN, |d| d.as_secs_f64())
    );
    drop(server);

    // 3. A zoomed-out read of one big series.
    let big_dir = work.path().join("big");
    let mut w = EventFileWriter::create(&big_dir.join("big"), "").expect("file");
    for s in 0..big as i64 {
        let spike = if s == big as i64 / 3 { 1e6 } else { 0.0 };
        w.write_summary(
            1.7e9 + s as f64,
            s,
            vec![summary::scalar("loss", (s as f64 * 1e-4).cos() + spike)],
        )
        .expect("write");
    }
    w.flush().expect("flush");
    let (server, base) = peer::start_runboard(&big_dir, &work.path().join("big.sqlite"), &[]);
    wait_until(Duration::from_secs(600), || total_served(&base) == big);
    let mut http_ms = Vec::new();
    let mut points = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let j = get(&base, "/api/v1/scalars?run=big&tag=loss&max_points=2000").expect("read");
        http_ms.push(t.elapsed().as_secs_f64() * 1e3);
        points = j["points"].as_array().map_or(0, Vec::len);
    }
    drop(server);
    let store = runboard::store::Store::open(&work.path().join("big.sqlite")).expect("store");
    let mut query_ms = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let n = store
            .read(|c| {
                let (id, _) = runboard::store::query::series_id(c, "big", "loss")?.expect("series");
                runboard::store::query::scalars(c, id, None, None, Some(2000))
            })
            .expect("query")
            .len();
        query_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(n <= 2000);
    }
    println!(
        "runboard: zoomed-out read of a {big}-point series to {points} points: median {:.2} ms in the store, {:.2} ms over HTTP",
        peer::median(&mut query_ms),
        peer::median(&mut http_ms)
    );

    // 4. TensorBoard --load_fast=true on the same logdir.
    let Some(py) = peer::python() else {
        println!("TensorBoard: no .venv (run `bash .ci/test` once); no side-by-side figures");
        return;
    };
    let tb_bin = py.with_file_name("tensorboard");
    let port = peer::free_port();
    let t = Instant::now();
    let mut child = Command::new(&tb_bin)
        .args(["--logdir"])
        .arg(&logdir)
        .args([
            "--port",
            &port.to_string(),
            "--host",
            "127.0.0.1",
            "--load_fast=true",
            "--reload_interval",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tensorboard");
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
    let tb = Proc(child);
    let base = format!("http://127.0.0.1:{port}");
    let series: Vec<(String, String)> = (0..runs)
        .flat_map(|r| (0..tags).map(move |t| (format!("run{r:03}"), format!("tag{t}"))))
        .collect();
    let sample = steps.min(1000) as usize;
    let mut pending: Vec<&(String, String)> = series.iter().collect();
    let tb_load = wait_until(Duration::from_secs(900), || {
        pending.retain(|(run, tag)| {
            get(
                &base,
                &format!("/data/plugin/scalars/scalars?run={run}&tag={tag}"),
            )
            .and_then(|j| j.as_array().map(Vec::len))
                != Some(sample)
        });
        pending.is_empty()
    })
    .map(|_| t.elapsed());
    let tb_rss = tree_rss_kib(tb.0.id());
    let tb_s = tb_load.map_or(f64::NAN, |d| d.as_secs_f64());
    println!(
        "TensorBoard --load_fast=true: its {sample}-per-tag sample of every tag served after {tb_s:.2} s; RSS {:.0} MB",
        tb_rss as f64 / 1024.0
    );
    let served_tb = |base: &str, run: &str, tag: &str, step: i64| {
        get(
            base,
            &format!("/data/plugin/scalars/scalars?run={run}&tag={tag}"),
        )
        .and_then(|j| {
            j.as_array()
                .and_then(|a| a.last().and_then(|p| p[1].as_i64()))
        }) == Some(step)
    };
    let tb_append = append_latency(&base, &logdir, "run001", "tag0", served_tb);
    println!("TensorBoard: file append -> served, median {tb_append:.0} ms");
    if let Some(load) = load {
        println!(
            "ratios: runboard full load / TensorBoard sampled load = {:.2} (goal <= 0.5); RSS {:.2}; append latency {:.3}",
            load.as_secs_f64() / tb_s,
            rss as f64 / tb_rss as f64,
            rb_append / tb_append
        );
    }
}
