//! Benchmark: the GPU sampler's cost per tick with simulated GPUs, and its memory over 100,000 ticks.
//!
//! `cargo bench --bench gpu_sampler` (`GPUS` default 8, `TICKS` default 100,000).

use std::time::Instant;

use runboard_sdk::SummaryWriter;
use runboard_sdk::gpu::{SimulatedGpus, sample_once};

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

/// (CPU seconds of this process: user + system, RSS in KiB).
fn usage() -> (f64, u64) {
    (peer::cpu_secs("self"), peer::rss_kib("self"))
}

fn main() {
    let gpus = peer::env_or("GPUS", 8) as usize;
    let ticks = peer::env_or("TICKS", 100_000) as i64;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut writer = SummaryWriter::new(dir.path().join("gpu")).expect("writer");
    let mut source = SimulatedGpus::new(gpus);
    let mut per_tick_us = Vec::new();
    let mut rss_marks = Vec::new();
    let (cpu0, _) = usage();
    let t = Instant::now();
    for step in 0..ticks {
        let t0 = Instant::now();
        sample_once(&mut source, &mut writer, step);
        per_tick_us.push(t0.elapsed().as_secs_f64() * 1e6);
        if (step + 1) % (ticks / 10).max(1) == 0 {
            writer.flush().expect("flush");
            rss_marks.push(usage().1);
        }
    }
    writer.close().expect("close");
    let wall = t.elapsed().as_secs_f64();
    let (cpu1, _) = usage();
    let median = peer::median(&mut per_tick_us);
    println!(
        "sample_once with {gpus} simulated GPUs: median {median:.1} us a tick on the calling thread; \
         process CPU (sampler + writer thread) {:.1} us a tick ({ticks} ticks in {wall:.2} s)",
        (cpu1 - cpu0) / ticks as f64 * 1e6
    );
    println!(
        "RSS every {} ticks (MiB): {:?}",
        (ticks / 10).max(1),
        rss_marks
            .iter()
            .map(|k| (*k as f64 / 1024.0).round())
            .collect::<Vec<_>>()
    );
}
