//! Benchmark: `runboard export` of a 10M-point series to CSV (and JSON Lines), and a chart of it rendered from the store.
//!
//! `cargo bench --bench export` (size: `POINTS`, default 10,000,000; `RUNS`, default 3 timed
//! exports each). Builds one database with a single 10M-point series through the store's
//! writer, then measures:
//! - `runboard export --db ... --format csv` (the real binary, this profile): rows/s, median,
//!   and the process's peak RSS (it streams: memory must not grow with the series);
//! - the same for `--format json` (JSON Lines);
//! - a chart of the series from the store (downsampled read to 2,000 points + drawing + PNG
//!   encoding, or SVG), median of 15, and the downsampled read alone.
//!
//! TensorBoard has no peer figure here: its only CSV export is the scalars plugin's
//! `?format=csv`, which serves the 1,000-point reservoir sample of one run and tag, not the
//! series (see bench/RESULTS.md).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use runboard::chart::{self, ChartFormat, ChartOptions};
use runboard::store::{Batch, Item, Store, query};
use runboard_sdk::Value;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::{env_or, median};

const RUN: &str = "big";
const TAG: &str = "train/loss";

/// A noisy decreasing curve with full-precision values (not integers: formatting them costs
/// what real data costs).
fn value(step: u64) -> f64 {
    let s = step as f64;
    1.0 / (1.0 + s * 1e-6) + 0.05 * (s * 0.001).sin() + 1e-4 * ((s * 7919.0) % 101.0)
}

fn build_db(path: &Path, points: u64) {
    let store = Store::open(path).expect("store");
    let t = Instant::now();
    let batch = 100_000u64;
    for start in (0..points).step_by(batch as usize) {
        let items = (start..(start + batch).min(points))
            .map(|s| Item::Value {
                tag: TAG.to_owned(),
                step: s as i64,
                wall_time: 1.7e9 + s as f64 * 0.01,
                value: Value::Scalar(value(s)),
            })
            .collect();
        store
            .submit(Batch {
                run: runboard::types::RunName::new(RUN).expect("a valid run name"),
                items,
                progress: None,
                dedup: None,
            })
            .expect("submit");
    }
    store.flush().expect("flush");
    store.shutdown();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "built a {points}-point database in {:.1} s ({} MB)",
        t.elapsed().as_secs_f64(),
        size >> 20
    );
}

/// The peak resident memory of a running process in KiB (`VmHWM`), 0 once it is gone.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `runboard export --db db --out out --format format`; returns the seconds it took and
/// its peak RSS in KiB (the last `VmHWM` read while it ran, polled every 5 ms).
fn timed_export(db: &Path, out: &Path, format: &str) -> (f64, u64) {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["export", "--format", format, "--db"])
        .arg(db)
        .arg("--out")
        .arg(out)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("runboard export");
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        peak = peak.max(peak_rss_kib(child.id()));
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let secs = t.elapsed().as_secs_f64();
    assert!(status.success(), "export failed");
    (secs, peak)
}

fn main() {
    let points = env_or("POINTS", 10_000_000);
    let runs = env_or("RUNS", 3).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("export.sqlite");
    build_db(&db, points);
    let out = dir.path().join("out");

    for (format, file) in [("csv", "scalars.csv"), ("json", "scalars.jsonl")] {
        let mut secs = Vec::new();
        let mut bytes = 0;
        let mut peak = 0;
        for _ in 0..runs {
            let (t, rss) = timed_export(&db, &out, format);
            secs.push(t);
            peak = peak.max(rss);
            let written = out.join(file);
            bytes = std::fs::metadata(&written).map(|m| m.len()).unwrap_or(0);
            let _ = std::fs::remove_file(&written); // keep the page cache and disk for the next run
        }
        let med = median(&mut secs);
        println!(
            "export --format {format}: {points} rows in {med:.2} s median of {runs} ({:.2} M rows/s, {} MB written, peak RSS {} MB); runs: {secs:.2?}",
            points as f64 / med / 1e6,
            bytes >> 20,
            peak >> 10
        );
    }

    let conn = runboard::store::open_read_only(&db).expect("open");
    let (id, _) = query::series_id(&conn, RUN, TAG)
        .expect("query")
        .expect("series");
    let mut read = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let line = chart::read_line(&conn, RUN, id, 0, chart::DEFAULT_MAX_POINTS).expect("read");
        read.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(line.points.len() <= chart::DEFAULT_MAX_POINTS);
    }
    println!(
        "downsampled read of the {points}-point series to <= {} points: {:.2} ms median of 15",
        chart::DEFAULT_MAX_POINTS,
        median(&mut read)
    );
    let options = ChartOptions::default();
    for format in [ChartFormat::Png, ChartFormat::Svg] {
        let mut ms = Vec::new();
        let mut size = 0;
        let mut drawn = 0;
        for _ in 0..15 {
            let t = Instant::now();
            let line =
                chart::read_line(&conn, RUN, id, 0, chart::DEFAULT_MAX_POINTS).expect("read");
            drawn = line.points.len();
            let bytes = chart::render(TAG, &[line], &options, format).expect("render");
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            size = bytes.len();
        }
        println!(
            "chart of the {points}-point series, {} {}x{} ({drawn} points drawn, {} KB): {:.1} ms median of 15 (read + draw + encode); min {:.1} ms",
            format.extension(),
            options.width,
            options.height,
            size >> 10,
            median(&mut ms),
            ms.iter().copied().fold(f64::INFINITY, f64::min)
        );
    }
}
