//! Benchmark: a group's mean and band over 100 runs × 100,000 points, served by the real server.
//!
//! `cargo bench --bench groups` (sizes: `RUNS` default 100, `STEPS` default 100,000, `REPEAT`
//! default 9). Builds a database through the store's writer (each run has a config `seed` = run
//! % 10 and a `loss` series), starts `runboard serve --db` on it, and times, over HTTP from
//! request to the last byte:
//! - one group of every run (`/api/v1/group_scalars?tag=loss&max_points=1000`): every run's
//!   points read, aligned by step, mean ± std at each step (goal ≤ 200 ms);
//! - ten groups by seed (`&by=seed`), and the min–max band;
//! - the run table of those runs (`/api/v1/run_table`), which summarises every metric from
//!   the chunks' summaries without reading points.
//!
//! There is no peer: TensorBoard has no groups (its issue #376 asks for them since 2017).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runboard::store::{Batch, Item, Store};
use runboard_sdk::event::Value;
use serde_json::json;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::{Proc, env_or};

fn build_db(path: &Path, runs: u64, steps: u64) {
    let store = Store::open(path).expect("store");
    for r in 0..runs {
        let mut items = vec![Item::Value {
            tag: "_runboard/run".into(),
            step: 0,
            wall_time: 1.7e9,
            value: Value::Run(
                json!({"type": "record", "record": {"schema": 1, "config": {"seed": r % 10, "lr": 0.001}}})
                    .to_string(),
            ),
        }];
        items.extend((0..steps as i64).map(|s| Item::Value {
            tag: "loss".into(),
            step: s,
            wall_time: 1.7e9 + s as f64,
            value: Value::Scalar(
                (-(s as f64) / 20_000.0).exp() + ((s + r as i64) as f64 * 0.37).sin() * 0.05,
            ),
        }));
        store
            .submit(Batch {
                run: runboard::types::RunName::new(format!("sweep/run{r:03}")).expect("a run name"),
                items,
                progress: None,
                dedup: None,
            })
            .expect("submit");
    }
    store.flush().expect("flush");
    store.shutdown();
}

/// Times GET `base + path` `repeat` times (after one warm-up): median ms, bytes.
fn time_get(base: &str, path: &str, repeat: u64) -> (f64, usize) {
    let get = || {
        let resp = ureq::get(&format!("{base}{path}")).call().expect("answer");
        resp.into_body()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .expect("body")
            .len()
    };
    let bytes = get();
    let mut times: Vec<f64> = (0..repeat)
        .map(|_| {
            let t = Instant::now();
            get();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    (peer::median(&mut times), bytes)
}

fn main() {
    let runs = env_or("RUNS", 100);
    let steps = env_or("STEPS", 100_000);
    let repeat = env_or("REPEAT", 9);
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = tmp.path().join("runboard.sqlite");
    let t = Instant::now();
    build_db(&db, runs, steps);
    eprintln!(
        "built {runs} runs x {steps} points ({} points) in {:.1} s",
        runs * steps,
        t.elapsed().as_secs_f64()
    );
    let port = peer::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let logdir = tmp.path().join("empty");
    std::fs::create_dir_all(&logdir).expect("logdir");
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_runboard"))
            .args(["serve", "--no-gpu", "--port", &port.to_string(), "--logdir"])
            .arg(&logdir)
            .arg("--db")
            .arg(&db)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn runboard"),
    );
    let t = Instant::now();
    while ureq::get(&format!("{base}/api/v1/runs")).call().is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for (what, path) in [
        (
            "one group of every run, mean ± std",
            "/api/v1/group_scalars?tag=loss&max_points=1000",
        ),
        (
            "ten groups by seed, mean ± std",
            "/api/v1/group_scalars?tag=loss&by=seed&max_points=1000",
        ),
        (
            "one group, min-max band",
            "/api/v1/group_scalars?tag=loss&band=minmax&max_points=1000",
        ),
        (
            "the run table (summaries of every metric)",
            "/api/v1/run_table",
        ),
    ] {
        let (ms, bytes) = time_get(&base, path, repeat);
        println!(
            "{what}: {ms:.1} ms median of {repeat} ({runs} runs x {steps} points, {} KB answered)",
            bytes / 1024
        );
    }
}
