//! Benchmark: the Runs tab (the run table) in headless Chromium on 10,000 runs (Debian's Chromium, driven by playwright-core from `tests/browser/node_modules`).
//!
//! `cargo bench --bench run_table` (sizes: `RUNS` × `KEYS` config keys × `METRICS` scalar tags
//! of `POINTS` points, default 10,000 × 20 × 10 × 5; `REPEAT` page loads, default 5;
//! `BENCH_DB=FILE` keeps the database there and reuses it; `HOLD=S` keeps the server up S s
//! before the browser starts). Builds the database through the store's writer (each run: a run record with host, git commit and
//! config, a status, and its scalars), serves it with the real binary, then
//! `bench/run_table.mjs` measures, in the page's own clock:
//! - first paint: navigation start → the first rows of the table drawn (goal ≤ 1 s): the first
//!   load (the server builds the table) and the median of the others (it answers what it kept);
//! - sort: a header clicked → the next frame drawn, per column kind (goal ≤ 100 ms);
//! - filter: an expression or a column filter applied (Enter) → the next frame (goal ≤ 100 ms);
//! - scroll: a jump of a screenful → the next frame with the new rows.
//!
//! Needs `bash .ci/test` to have installed Chromium and playwright-core.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use runboard::store::{Batch, Item, Store};
use runboard::types::RunName;
use runboard_sdk::Value;
use runboard_sdk::event::RUN_EVENT_TAG;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::env_or;

const OPTIMIZERS: [&str; 4] = ["adam", "adamw", "sgd", "lion"];
const TAGS: [&str; 10] = [
    "train/loss",
    "val/loss",
    "val/acc",
    "train/acc",
    "lr",
    "grad_norm",
    "val/f1",
    "throughput",
    "val/perplexity",
    "epoch_time",
];

/// A cheap deterministic hash of (run, salt) in [0, 1).
fn unit(run: u64, salt: u64) -> f64 {
    let mut x = run
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Run `r`'s config: `keys` keys of every kind (floats, integers, strings, booleans).
fn config(r: u64, keys: u64) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let mut c = serde_json::Map::new();
    for k in 0..keys {
        let u = unit(r, 100 + k);
        let (name, value) = match k {
            0 => ("lr".to_owned(), json!(10f64.powf(-5.0 + 4.0 * u))),
            1 => (
                "optimizer".to_owned(),
                json!(OPTIMIZERS[(u * 4.0) as usize]),
            ),
            2 => ("batch_size".to_owned(), json!(16u64 << (u * 5.0) as u32)),
            3 => ("seed".to_owned(), json!(r)),
            4 => ("amp".to_owned(), json!(u < 0.5)),
            5 => ("dropout".to_owned(), json!((u * 50.0).round() / 100.0)),
            k if k % 3 == 0 => (format!("layer{k}.width"), json!(64 << (u * 4.0) as u32)),
            k if k % 3 == 1 => (
                format!("aug{k}"),
                json!(["none", "flip", "crop"][(u * 3.0) as usize]),
            ),
            k => (format!("coef{k}"), json!(u)),
        };
        c.insert(name, value);
    }
    c
}

fn build_db(path: &Path, runs: u64, keys: u64, metrics: u64, points: u64) {
    let store = Store::open(path).expect("store");
    let t0 = 1.76e9;
    for r in 0..runs {
        let started = t0 + r as f64 * 60.0;
        let run_event = |json: serde_json::Value| Item::Value {
            tag: RUN_EVENT_TAG.to_owned(),
            step: 0,
            wall_time: started,
            value: Value::Run(json.to_string()),
        };
        let commit: String = (0..40)
            .map(|i| char::from(b"0123456789abcdef"[(unit(r / 50, i) * 16.0) as usize]))
            .collect();
        let record = serde_json::json!({"type": "record", "record": {
            "schema": 1, "started_at": started, "host": format!("node-{}", r % 37),
            "git": {"commit": commit, "dirty": r % 7 == 0},
            "config": config(r, keys),
        }});
        let u = unit(r, 1);
        let status = if u < 0.8 {
            serde_json::json!({"type": "status", "state": "finished", "exit_code": 0})
        } else if u < 0.9 {
            serde_json::json!({"type": "status", "state": "crashed", "exit_code": 101, "message": "CUDA out of memory"})
        } else {
            serde_json::json!({"type": "status", "state": "running"})
        };
        let mut items = vec![run_event(record), run_event(status)];
        for (t, tag) in TAGS.iter().cycle().take(metrics as usize).enumerate() {
            let tag = if t < TAGS.len() {
                (*tag).to_owned()
            } else {
                format!("{tag}_{t}")
            };
            for p in 0..points {
                let s = p as f64 / points.max(1) as f64;
                items.push(Item::Value {
                    tag: tag.clone(),
                    step: p as i64 * 100,
                    wall_time: started + p as f64 * 30.0,
                    value: Value::Scalar(
                        unit(r, 1000 + t as u64) * (1.0 - 0.5 * s) + 0.01 * p as f64,
                    ),
                });
            }
        }
        store
            .submit(Batch {
                run: RunName::new(format!("sweep/run{r:05}")).expect("a valid run name"),
                items,
                progress: None,
                dedup: None,
            })
            .expect("submit");
    }
    store.flush().expect("flush");
    store.shutdown();
}

/// Runs the server lists (`/api/v1/runs`), 0 while it does not answer.
fn listed(base: &str) -> usize {
    let Ok(resp) = ureq::get(&format!("{base}/api/v1/runs")).call() else {
        return 0;
    };
    let Ok(body) = resp
        .into_body()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
    else {
        return 0;
    };
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

fn main() {
    let runs = env_or("RUNS", 10_000);
    let keys = env_or("KEYS", 20);
    let metrics = env_or("METRICS", 10);
    let points = env_or("POINTS", 5);
    let repeat = env_or("REPEAT", 5);
    let repo = peer::browser_repo();
    let tmp = tempfile::tempdir().expect("temp dir");
    // `BENCH_DB=FILE`: that database, built there once and kept (to compare builds of the
    // server and page on the same data); else a new one in a temporary folder.
    let db = std::env::var_os("BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("runboard.sqlite"));
    let t = Instant::now();
    if !db.exists() {
        build_db(&db, runs, keys, metrics, points);
    }
    eprintln!(
        "built {runs} runs x {keys} config keys x {metrics} metrics x {points} points in {:.1} s ({} MB)",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&db).map(|m| m.len() >> 20).unwrap_or(0)
    );
    let logdir = tmp.path().join("logs");
    std::fs::create_dir_all(&logdir).expect("logdir");
    let (_server, base) = peer::start_runboard(&logdir, &db, &["--no-gpu"]);
    let t = Instant::now();
    while listed(&base) < runs as usize {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the server did not list every run"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let t = Instant::now();
    let n = ureq::get(&format!("{base}/api/v1/run_table"))
        .call()
        .expect("run_table")
        .into_body()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .expect("body")
        .len();
    eprintln!(
        "GET /api/v1/run_table: {:.0} ms, {:.1} MB",
        t.elapsed().as_secs_f64() * 1e3,
        n as f64 / 1e6
    );
    if let Ok(secs) = std::env::var("HOLD") {
        eprintln!("serving on {base} for {secs} s");
        std::thread::sleep(Duration::from_secs(secs.parse().unwrap_or(60)));
    }
    let status = Command::new("node")
        .arg(repo.join("bench/run_table.mjs"))
        .env("RUNBOARD_URL", &base)
        .env("REPEAT", repeat.to_string())
        .env("RUNS", runs.to_string())
        .status()
        .expect("node runs");
    assert!(status.success(), "bench/run_table.mjs failed");
}
