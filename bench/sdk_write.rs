//! Benchmark: the cost of `SummaryWriter::add_scalar` on the training thread and end-to-end write
//! throughput, side by side with tensorboardX's `add_scalar` (run by `bench/tbx_add_scalar.py`).
//!
//! `cargo bench --bench sdk_write` (set `CALLS=` to change the 10M calls).

use std::time::Instant;

use runboard_sdk::SummaryWriter;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

const BLOCK: usize = 100;

fn main() {
    let calls: usize = std::env::var("CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let tags = ["train/loss", "train/acc", "train/lr", "grad_norm"];

    // 1. Cost on the calling thread: time blocks of BLOCK calls; the per-call figure of a block is
    //    its time / BLOCK (timing single calls would mostly measure the clock).
    let mut writer = SummaryWriter::new(dir.path().join("per_call")).expect("writer");
    let mut per_call_ns = Vec::with_capacity(calls / BLOCK);
    let total = Instant::now();
    let mut step = 0i64;
    for _ in 0..calls / BLOCK {
        let t = Instant::now();
        for i in 0..BLOCK {
            writer.add_scalar(tags[i % tags.len()], step as f64 * 1e-3, step);
            step += 1;
        }
        per_call_ns.push(t.elapsed().as_nanos() as f64 / BLOCK as f64);
    }
    let logging_s = total.elapsed().as_secs_f64();
    writer.close().expect("close");
    let e2e_s = total.elapsed().as_secs_f64();
    let median = peer::median(&mut per_call_ns);
    let p99 = peer::quantile(&mut per_call_ns, 0.99);
    println!(
        "add_scalar on the calling thread: median {median:.1} ns/call, p99 {p99:.1} ns/call ({calls} calls, blocks of {BLOCK})"
    );
    println!("  all calls returned after {logging_s:.2} s; close() returned after {e2e_s:.2} s");

    // 2. End-to-end throughput: log N scalars and close (everything on disk), median of 3.
    //    Two patterns: a new step for every scalar (the worst case: one record each), and four
    //    metrics a step, as a training loop logs them (one record a step).
    let e2e = |tags_per_step: usize| {
        let mut rates = Vec::new();
        for run in 0..3 {
            let mut w = SummaryWriter::new(dir.path().join(format!("e2e{tags_per_step}_{run}")))
                .expect("writer");
            let t = Instant::now();
            for s in 0..calls {
                w.add_scalar(
                    tags[s % tags_per_step],
                    s as f64,
                    (s / tags_per_step) as i64,
                );
            }
            w.close().expect("close");
            rates.push(calls as f64 / t.elapsed().as_secs_f64());
        }
        peer::median(&mut rates)
    };
    let rate1 = e2e(1);
    let rate4 = e2e(4);
    println!(
        "end-to-end with close(): median {:.2} M scalars/s with one scalar a step, {:.2} M scalars/s with 4 a step (3 runs of {calls})",
        rate1 / 1e6,
        rate4 / 1e6
    );
    let rate = rate1;

    // 3. The peer: tensorboardX's add_scalar, in its own process.
    if let Some(v) = peer::run_peer("tbx_add_scalar.py", &["20000"]) {
        let tbx_ns = v["median_ns"].as_f64().unwrap_or(f64::NAN);
        let tbx_rate = v["e2e_per_s"].as_f64().unwrap_or(f64::NAN);
        println!(
            "tensorboardX {}: add_scalar median {:.0} ns/call, end-to-end {:.0} scalars/s",
            v["version"], tbx_ns, tbx_rate
        );
        println!(
            "ratio: runboard add_scalar is {:.0}x cheaper on the calling thread; {:.0}x the end-to-end throughput",
            tbx_ns / median,
            rate / tbx_rate
        );
    }
}
