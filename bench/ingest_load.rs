//! Benchmark: streaming over HTTP to `runboard serve` on loopback.
//!
//! `cargo bench --bench ingest_load` (`CLIENTS` default 32, `RATE` scalars/s per client default
//! 10,000, `SECONDS` default 60). Measures:
//! 1. `add_scalar` on a streaming `SummaryWriter` → the point's event at an SSE subscriber
//!    (median and p90 of 100 points, one at a time);
//! 2. load: CLIENTS threads each posting protobuf batches (every 100 ms, RATE/10 points) for
//!    SECONDS: acknowledgement latency p50/p99, points stored vs sent, server CPU.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use runboard_proto::runboard::ingest as pb;
use runboard_sdk::remote::RemoteOptions;
use runboard_sdk::{SummaryWriter, WriterOptions};

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::{Proc, env_or};

fn main() {
    let clients = env_or("CLIENTS", 32);
    let rate = env_or("RATE", 10_000);
    let seconds = env_or("SECONDS", 60);
    let work = tempfile::tempdir().expect("temp dir");
    let logdir = work.path().join("served");
    std::fs::create_dir_all(&logdir).expect("logdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let server = Proc(
        Command::new(env!("CARGO_BIN_EXE_runboard"))
            .args(["serve", "--port", &port.to_string(), "--logdir"])
            .arg(&logdir)
            .arg("--db")
            .arg(work.path().join("db.sqlite"))
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn runboard"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let agent = runboard_sdk::remote::agent();
    let t = Instant::now();
    while agent.get(format!("{base}/api/v1/runs")).call().is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // 1. add_scalar -> SSE event.
    let arrivals: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    {
        let arrivals = Arc::clone(&arrivals);
        let url = format!("{base}/api/v1/stream");
        std::thread::spawn(move || {
            let resp = ureq::get(&url).call().expect("stream");
            let reader = BufReader::new(resp.into_body().into_reader());
            for line in reader.lines().map_while(Result::ok) {
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                    continue;
                };
                if v["run"] == "latency" {
                    let now = Instant::now();
                    let mut a = arrivals.lock().expect("lock");
                    for p in v["points"].as_array().into_iter().flatten() {
                        a.push((p[0].as_i64().unwrap_or(-1), now));
                    }
                }
            }
        });
    }
    std::thread::sleep(Duration::from_millis(300)); // the subscription is open before logging
    let options = WriterOptions {
        remote: Some(RemoteOptions {
            url: base.clone(),
            run: "latency".into(),
            token: None,
            close_timeout: Duration::from_secs(10),
        }),
        ..WriterOptions::default()
    };
    let mut w =
        SummaryWriter::with_options(work.path().join("local/latency"), options).expect("writer");
    let mut lat_ms = Vec::new();
    for step in 0..100i64 {
        let t0 = Instant::now();
        w.add_scalar("loss", step as f64, step);
        loop {
            if let Some((_, at)) = arrivals
                .lock()
                .expect("lock")
                .iter()
                .find(|(s, _)| *s == step)
            {
                lat_ms.push(at.duration_since(t0).as_secs_f64() * 1e3);
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "step {step} never arrived"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    w.close().expect("close");
    let median = peer::median(&mut lat_ms);
    let p90 = peer::quantile(&mut lat_ms, 0.9);
    println!(
        "add_scalar -> SSE event at a subscriber: median {median:.1} ms, p90 {p90:.1} ms (100 points)"
    );

    // 2. Load: CLIENTS clients, RATE scalars/s each, SECONDS seconds.
    let per_batch = (rate / 10).max(1) as usize;
    let cpu0 = peer::cpu_secs(&server.0.id().to_string());
    let t_load = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let base = base.clone();
            std::thread::spawn(move || {
                let agent = runboard_sdk::remote::agent();
                let mut acks_ms = Vec::new();
                let mut sent = 0u64;
                let start = Instant::now();
                let mut step = 0i64;
                for seq in 1..=(seconds * 10) {
                    let due = start + Duration::from_millis(100 * (seq - 1));
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let points = (0..per_batch)
                        .map(|_| {
                            step += 1;
                            pb::Point {
                                tag: "loss".into(),
                                step,
                                wall_time: 1.7e9 + step as f64,
                                value: Some(pb::point::Value::Scalar(step as f64)),
                            }
                        })
                        .collect();
                    let body = pb::Batch {
                        run: format!("load/c{c:02}"),
                        session: format!("c{c}"),
                        seq,
                        points,
                    }
                    .encode_to_vec();
                    let t = Instant::now();
                    runboard_sdk::remote::send_batch(&agent, &base, None, &body).expect("ack");
                    acks_ms.push(t.elapsed().as_secs_f64() * 1e3);
                    sent += per_batch as u64;
                }
                (acks_ms, sent)
            })
        })
        .collect();
    let mut all_acks = Vec::new();
    let mut sent = 0;
    for h in handles {
        let (acks, n) = h.join().expect("client");
        all_acks.extend(acks);
        sent += n;
    }
    let wall = t_load.elapsed().as_secs_f64();
    let cpu = peer::cpu_secs(&server.0.id().to_string()) - cpu0;
    let stored: u64 = agent
        .get(format!("{base}/api/v1/series"))
        .call()
        .ok()
        .and_then(|r| r.into_body().read_to_string().ok())
        .and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok())
        .and_then(|s| {
            s.as_array().map(|a| {
                a.iter()
                    .filter(|x| x["run"].as_str().is_some_and(|r| r.starts_with("load/")))
                    .filter_map(|x| x["count"].as_u64())
                    .sum()
            })
        })
        .unwrap_or(0);
    let p50 = peer::quantile(&mut all_acks, 0.5);
    let p99 = peer::quantile(&mut all_acks, 0.99);
    println!(
        "load: {clients} clients x {rate} scalars/s for {seconds} s: {sent} sent, {stored} stored ({}), \
         ack latency p50 {p50:.1} ms, p99 {p99:.1} ms; server CPU {:.0} % of one core ({cpu:.1} s over {wall:.1} s)",
        if stored == sent {
            "nothing lost"
        } else {
            "MISMATCH"
        },
        100.0 * cpu / wall
    );
}
