//! Benchmark: reading a large tfevents file (framing + CRC + decoding to typed values), in
//! scalar events per second on one core, side by side with TensorBoard's own Python loader
//! (`bench/tb_read_events.py`).
//!
//! `cargo bench --bench read_events` (set `EVENTS=` to change the 5M events).

use std::fs::File;
use std::io::Read;
use std::time::Instant;

use runboard_sdk::event::EventDecoder;
use runboard_sdk::event_file::{EventFileWriter, read_events_from};
use runboard_sdk::record::{Next, RecordReader};
use runboard_sdk::summary;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

fn main() {
    let events: i64 = std::env::var("EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let tags = ["train/loss", "train/acc", "train/lr", "grad_norm"];

    // A tensorboardX-shaped file: one simple_value per event.
    let mut w = EventFileWriter::create(dir.path(), "").expect("file");
    for s in 0..events {
        w.write_summary(
            1.7e9 + s as f64 * 1e-3,
            s,
            vec![summary::scalar(tags[s as usize % 4], s as f64 * 0.5)],
        )
        .expect("write");
    }
    w.flush().expect("flush");
    let path = w.path().to_path_buf();
    let mut bytes = Vec::new();
    File::open(&path)
        .expect("open")
        .read_to_end(&mut bytes)
        .expect("read");
    println!(
        "file: {} events, {:.1} MB",
        events,
        bytes.len() as f64 / 1e6
    );

    // Framing and CRC only.
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut r = RecordReader::new();
        r.feed(&bytes);
        let mut n = 0u64;
        while let Next::Record { data, .. } = r.next_record() {
            n += data.len() as u64 & 1;
        }
        std::hint::black_box(n);
        rates.push(r.stats().records as f64 / t.elapsed().as_secs_f64());
    }
    println!(
        "framing + CRC: median {:.2} M records/s",
        peer::median(&mut rates) / 1e6
    );

    // Framing + decoding to typed values with borrowed tags (the ingest path).
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut r = RecordReader::new();
        let mut dec = EventDecoder::new();
        r.feed(&bytes);
        let mut sum = 0.0;
        while let Next::Record { data, .. } = r.next_record() {
            let _ = dec.decode_with(data, |_, _tag, value| {
                if let runboard_sdk::Value::Scalar(x) = value {
                    sum += x;
                }
            });
        }
        std::hint::black_box(sum);
        rates.push(dec.stats().events as f64 / t.elapsed().as_secs_f64());
    }
    let rate = peer::median(&mut rates);
    println!(
        "framing + CRC + decode: median {:.2} M events/s",
        rate / 1e6
    );

    // The whole-file reader from disk (page cache), collecting every event.
    let t = Instant::now();
    let (all, report) = read_events_from(&mut File::open(&path).expect("open")).expect("read");
    println!(
        "read_events (file, collecting): {:.2} M events/s ({} events, {} skipped)",
        all.len() as f64 / t.elapsed().as_secs_f64() / 1e6,
        all.len(),
        report.records.skipped_records
    );

    // TensorBoard's Python loader on a smaller file of the same shape.
    let small = dir.path().join("small");
    let mut w = EventFileWriter::create(&small, "").expect("file");
    for s in 0..200_000i64 {
        w.write_summary(
            1.7e9,
            s,
            vec![summary::scalar(tags[s as usize % 4], s as f64)],
        )
        .expect("write");
    }
    w.flush().expect("flush");
    if let Some(v) = peer::run_peer(
        "tb_read_events.py",
        &[w.path().to_str().expect("utf-8 temp path")],
    ) {
        let tb = v["events_per_s"].as_f64().unwrap_or(f64::NAN);
        println!(
            "TensorBoard {} EventFileLoader: {:.0} events/s",
            v["version"], tb
        );
        println!("ratio: runboard decodes {:.0}x faster", rate / tb);
    }
}
