//! Benchmark: the Graphs tab on a 10,000-node model graph in headless Chromium (Debian's Chromium,
//! driven by playwright-core from `tests/browser/node_modules`).
//!
//! `cargo bench --bench graph` (`NODES` ops, default 10,000, in `SCOPES` top-level scopes of
//! `SCOPES` sub-scopes each, default 10, wired as a chain with a skip connection every 7th op;
//! `REPEAT` page loads, default 5). Writes the graph with the SDK's `add_graph_def` into a
//! logdir, serves it with the real binary, then `bench/graph.mjs` measures, in the page's own
//! clock: navigation → the graph laid out and drawn (goal ≤ 2 s), and a scope opened (click →
//! drawn). Also prints `GET /api/v1/graph` for the top level and with every scope open.
//!
//! The peer: TensorBoard 2.21 from the test venv (`.venv`, or `$RUNBOARD_PYTHON`), started on the
//! same logdir as tests/common's `TensorBoard::start` starts it (`--load_fast=true`), its Graphs
//! tab loaded alternately with runboard's in the same Chromium (bench/tb_graph.mjs says what
//! "drawn" means there); the ratios are runboard / TensorBoard. A TensorBoard that has not drawn
//! the graph after `TB_TIMEOUT_S` (default 120) is reported as such. Also prints TensorBoard's
//! `GET /data/plugin/graphs/graph` (the whole graph as text, what its page fetches).
//!
//! Needs `bash .ci/test` to have installed Chromium, playwright-core and the venv.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runboard_sdk::SummaryWriter;
use runboard_sdk::proto::tensorboard::{GraphDef, NodeDef};

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::env_or;

fn graph(nodes: u64, scopes: u64) -> GraphDef {
    let name = |i: u64| {
        let top = i * scopes / nodes.max(1);
        let sub = (i * scopes * scopes / nodes.max(1)) % scopes.max(1);
        format!("Net/Block{top}/Layer{sub}/op{i}")
    };
    let node = (0..nodes)
        .map(|i| {
            let mut input = Vec::new();
            if i > 0 {
                input.push(name(i - 1));
            }
            if i >= 7 && i % 7 == 0 {
                input.push(name(i - 7));
            }
            NodeDef {
                name: name(i),
                op: if i % 3 == 0 {
                    "aten::linear"
                } else {
                    "aten::relu"
                }
                .into(),
                input,
                device: "/device:CPU:0".into(),
                ..NodeDef::default()
            }
        })
        .collect();
    GraphDef {
        node,
        ..GraphDef::default()
    }
}

/// TensorBoard from the test venv serving `logdir` on a free loopback port, as tests/common's
/// `TensorBoard::start` runs it (`--load_fast=true`: its Rust data server; no sampling flags, a
/// run has one graph), its output in `log`; `None` without a venv.
fn start_tensorboard(logdir: &Path, log: &Path) -> Option<(peer::Proc, String)> {
    let bin = peer::python()?.with_file_name("tensorboard");
    let port = peer::free_port();
    let out = std::fs::File::create(log).expect("TensorBoard's log file");
    let child = Command::new(bin)
        .arg("--logdir")
        .arg(logdir)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
        .arg("--load_fast=true")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log handle"))
        .stderr(out)
        .spawn()
        .expect("spawn tensorboard");
    Some((peer::Proc(child), format!("http://127.0.0.1:{port}")))
}

/// GET `url`'s body, `None` on any failure.
fn get(url: &str) -> Option<String> {
    ureq::get(url)
        .call()
        .ok()?
        .into_body()
        .read_to_string()
        .ok()
}

fn main() {
    let nodes = env_or("NODES", 10_000);
    let scopes = env_or("SCOPES", 10);
    let repeat = env_or("REPEAT", 5);
    let repo = peer::browser_repo();
    let tmp = tempfile::tempdir().expect("temp dir");
    let logdir = tmp.path().join("logs");
    let mut w = SummaryWriter::new(logdir.join("model")).expect("writer");
    w.add_graph_def(&graph(nodes, scopes));
    w.close().expect("close");
    let (_server, base) =
        peer::start_runboard(&logdir, &tmp.path().join("db.sqlite"), &["--no-gpu"]);
    // Until the server has read the graph.
    let t = Instant::now();
    while get(&format!("{base}/api/v1/graph?run=model")).is_none() {
        assert!(
            t.elapsed().as_secs() < 60,
            "the server did not read the graph"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ms, bytes) = peer::time_get(&format!("{base}/api/v1/graph?run=model"));
    eprintln!("GET /api/v1/graph (top level of {nodes} ops): median {ms:.1} ms, {bytes} bytes");
    let mut all = String::from("&open=Net");
    for b in 0..scopes {
        all.push_str(&format!("&open=Net/Block{b}"));
        for l in 0..scopes {
            all.push_str(&format!("&open=Net/Block{b}/Layer{l}"));
        }
    }
    let (ms, bytes) = peer::time_get(&format!("{base}/api/v1/graph?run=model{all}"));
    eprintln!("GET /api/v1/graph (every scope open: every op): median {ms:.1} ms, {bytes} bytes");

    // TensorBoard on the same logdir, once it serves the graph.
    let tb_log = tmp.path().join("tensorboard.log");
    let tb = start_tensorboard(&logdir, &tb_log);
    let tb_timeout = env_or("TB_TIMEOUT_S", 120);
    let tb_base = tb.as_ref().and_then(|(_, tb_base)| {
        let t = Instant::now();
        let graph = format!("{tb_base}/data/plugin/graphs/graph?run=model&conceptual=false");
        loop {
            let info = get(&format!("{tb_base}/data/plugin/graphs/info"))
                .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok());
            if info.is_some_and(|i| i["model"]["run_graph"] == true) {
                eprintln!(
                    "TensorBoard served the graph {:.1} s after it started",
                    t.elapsed().as_secs_f64()
                );
                let (ms, bytes) = peer::time_get(&graph);
                eprintln!(
                    "TensorBoard GET /data/plugin/graphs/graph (every op, as text): median {ms:.1} ms, {bytes} bytes"
                );
                return Some(tb_base.clone());
            }
            if t.elapsed().as_secs() > tb_timeout {
                eprintln!(
                    "TensorBoard did not serve the graph within {tb_timeout} s; no side-by-side figures. Its output:\n{}",
                    std::fs::read_to_string(&tb_log).unwrap_or_default()
                );
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    if tb.is_none() {
        eprintln!("TensorBoard: no .venv (run `bash .ci/test` once); no side-by-side figures");
    }

    let status = Command::new("node")
        .arg(repo.join("bench/graph.mjs"))
        .env("RUNBOARD_URL", &base)
        .env("REPEAT", repeat.to_string())
        .env("NODES", nodes.to_string())
        .env("RUN", "model")
        .env("TENSORBOARD_URL", tb_base.unwrap_or_default())
        .env("TB_TIMEOUT_MS", (tb_timeout * 1000).to_string())
        .status()
        .expect("node runs");
    assert!(status.success(), "bench/graph.mjs failed");
}
