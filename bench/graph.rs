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
//! Needs `bash .ci/test` to have installed Chromium and playwright-core.

use std::process::Command;
use std::time::Instant;

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
    let top = loop {
        if let Ok(r) = ureq::get(&format!("{base}/api/v1/graph?run=model")).call() {
            break r.into_body().read_to_string().expect("body");
        }
        assert!(
            t.elapsed().as_secs() < 60,
            "the server did not read the graph"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let time = |q: &str| {
        let mut ms = Vec::new();
        let mut bytes = 0;
        for _ in 0..5 {
            let t = Instant::now();
            bytes = ureq::get(&format!("{base}/api/v1/graph?run=model{q}"))
                .call()
                .expect("graph")
                .into_body()
                .read_to_string()
                .expect("body")
                .len();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        (ms[ms.len() / 2], bytes)
    };
    let (ms, bytes) = time("");
    eprintln!("GET /api/v1/graph (top level of {nodes} ops): median {ms:.1} ms, {bytes} bytes");
    let mut all = String::from("&open=Net");
    for b in 0..scopes {
        all.push_str(&format!("&open=Net/Block{b}"));
        for l in 0..scopes {
            all.push_str(&format!("&open=Net/Block{b}/Layer{l}"));
        }
    }
    let (ms, bytes) = time(&all);
    eprintln!("GET /api/v1/graph (every scope open: every op): median {ms:.1} ms, {bytes} bytes");
    drop(top);
    let status = Command::new("node")
        .arg(repo.join("bench/graph.mjs"))
        .env("RUNBOARD_URL", &base)
        .env("REPEAT", repeat.to_string())
        .env("NODES", nodes.to_string())
        .status()
        .expect("node runs");
    assert!(status.success(), "bench/graph.mjs failed");
}
