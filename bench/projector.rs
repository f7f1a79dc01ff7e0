//! Benchmark: the embedding projector on 1,000,000 × 128 embeddings: PCA and first draw, against
//! TensorBoard 2.21's projector at 100,000 (where it stops), in headless Chromium (Debian's
//! Chromium, driven by playwright-core from `tests/browser/node_modules`, WebGL by SwiftShader).
//!
//! `cargo bench --bench projector` (`ROWS`: the sizes, comma-separated, default
//! `100000,1000000`; `DIMS` columns, default 128; `CLUSTERS` Gaussian clusters the rows are drawn
//! from, default 10; `SEED`, default 16; `REPEAT` page loads per figure, default 3;
//! `INGEST_REPEAT` server starts on a fresh database per size, default 3; `TB_ROWS` the largest
//! size TensorBoard is measured at, default 100,000; `TB_TIMEOUT_S` default 180).
//!
//! For each size, a logdir with one run `emb` holding the rows as raw little-endian float32
//! (`vectors.bin`), a `projector_config.pbtxt` naming it (`tensor_shape` given: a file that is
//! not UTF-8 is read as binary by both servers) and one scalar (so that TensorBoard lists the
//! run). Then:
//! - in this process, the steps runboard's ingest takes, with its library: read the file,
//!   convert to float32, PCA (`runboard::projector::pca`);
//! - the real binary serving the logdir: spawn → `GET /api/v1/projector` lists the embedding
//!   with its PCA (read + PCA + stored), with the server's CPU by thread (`runboard-ingest`
//!   reads and decomposes, `runboard-store` writes the tensor and the coordinates to SQLite)
//!   and its peak RSS; `GET /api/v1/projector/pca` (3 components, what the page fetches in 3D;
//!   2 in 2D);
//! - `bench/projector.mjs`: navigation → runboard's Projector tab has drawn every point (in its
//!   default 2D, then the switch to 3D, TensorBoard's default view), median of `REPEAT` fresh
//!   loads; at the sizes up to `TB_ROWS` also TensorBoard's projector on the same logdir
//!   (`bench/tb_projector.mjs`: it fetches the tensor and computes the PCA in the page), loads
//!   alternating.
//!
//! runboard computes the PCA when it reads the files, so the goal (≤ 5 s at 1M) is reported
//! as two figures and their sum: ingest + PCA on the server, and navigation → drawn in the page.
//!
//! Needs `bash .ci/test` to have installed Chromium, playwright-core and the venv.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runboard_sdk::SummaryWriter;

#[path = "peer.rs"]
#[allow(dead_code)] // each benchmark uses part of the shared helpers
mod peer;

use peer::{Proc, env_or};

/// The run every logdir holds, and its embedding's tensor name.
const RUN: &str = "emb";
const NAME: &str = "vectors";
/// The 5 s goal at 1M rows, in ms.
const GOAL_MS: f64 = 5_000.0;

/// splitmix64: a small seeded generator for the embeddings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// An approximately standard normal number: the sum of four uniforms (Irwin–Hall),
    /// centred and scaled to variance 1. Cheap, and enough for clusters.
    fn normal(&mut self) -> f32 {
        let (a, b) = (self.next(), self.next());
        let u = |x: u64| (x & 0xffff_ffff) as f32 / 4_294_967_296.0;
        let sum = u(a) + u(a >> 32) + u(b) + u(b >> 32);
        (sum - 2.0) * 3f32.sqrt()
    }
}

/// Writes run `emb` of `logdir`: `rows` × `dims` float32 rows around `clusters` centres (each
/// centre's coordinates N(0, 3²), each row its centre plus N(0, 1) noise, centres of unequal
/// weights so the clusters differ in size), its projector config, and one scalar.
fn write_logdir(logdir: &Path, rows: u64, dims: u64, clusters: u64, seed: u64) {
    let run = logdir.join(RUN);
    std::fs::create_dir_all(&run).expect("run folder");
    let mut rng = Rng(seed);
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dims).map(|_| 3.0 * rng.normal()).collect())
        .collect();
    // Cluster c has weight c + 1.
    let total: u64 = (1..=clusters).sum();
    let file = std::fs::File::create(run.join("vectors.bin")).expect("tensor file");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut row = Vec::with_capacity(dims as usize * 4);
    for _ in 0..rows {
        let mut pick = rng.next() % total;
        let mut c = 0;
        while pick > c as u64 {
            pick -= c as u64 + 1;
            c += 1;
        }
        row.clear();
        for &m in &centres[c.min(centres.len() - 1)] {
            row.extend_from_slice(&(m + rng.normal()).to_le_bytes());
        }
        out.write_all(&row).expect("write the tensor");
    }
    out.flush().expect("write the tensor");
    std::fs::write(
        run.join(runboard::projector::CONFIG_FILE),
        format!(
            "embeddings {{\n  tensor_name: \"{NAME}\"\n  tensor_path: \"vectors.bin\"\n  \
             tensor_shape: {rows}\n  tensor_shape: {dims}\n}}\n"
        ),
    )
    .expect("projector config");
    let mut w = SummaryWriter::new(&run).expect("writer");
    w.add_scalar("loss", 1.0, 0);
    w.close().expect("close");
}

/// `VmHWM` (peak resident memory) of process `pid` in MiB, from /proc.
fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The steps of runboard's ingest of one embedding, timed in this process with its library,
/// medians of `repeat` (the file is in the page cache, as it is for the server right after it
/// was written).
struct Steps {
    read_ms: f64,
    convert_ms: f64,
    pca_ms: f64,
    /// The PCA's part that does not grow with the rows (the covariance of at most
    /// `PCA_SAMPLE` sampled rows, the eigenvectors) and its part per row (each row projected
    /// on 10 components), from the PCA of the first `PCA_SAMPLE` rows and of all of them.
    pca_fixed_ms: f64,
    pca_row_ns: f64,
    /// The explained variance of the first three components.
    variance: Vec<f64>,
}

impl Steps {
    /// The PCA's time split into its fixed part and its part per row, when it could be.
    fn pca_split(&self) -> String {
        if self.pca_row_ns.is_nan() {
            format!("not split below {} rows", 2 * PCA_SAMPLE)
        } else {
            format!(
                "≈ {:.0} ms covariance of ≤ {PCA_SAMPLE} rows + eigenvectors, {:.0} ns a row projected",
                self.pca_fixed_ms, self.pca_row_ns
            )
        }
    }
}

/// The rows runboard's PCA estimates the covariance from at most (`PCA_SAMPLE_ROWS` in
/// src/projector.rs).
const PCA_SAMPLE: u64 = 50_000;

fn ingest_steps(logdir: &Path, rows: u64, dims: u64, repeat: u64) -> Steps {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let (mut read, mut convert, mut full, mut sample) = (vec![], vec![], vec![], vec![]);
    let mut tensor = Vec::new();
    let mut variance = Vec::new();
    for _ in 0..repeat {
        drop(std::mem::take(&mut tensor));
        let t = Instant::now();
        let bytes = std::fs::read(logdir.join(RUN).join("vectors.bin")).expect("read the tensor");
        read.push(ms(t));
        let t = Instant::now();
        // As `projector::parse_binary` does (after `from_utf8` fails at the first bytes).
        tensor = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        convert.push(ms(t));
        drop(bytes);
        let t = Instant::now();
        let pca = runboard::projector::pca(&tensor, rows as usize, dims as usize);
        full.push(ms(t));
        variance = pca.variance.into_iter().take(3).collect();
        let head = rows.min(PCA_SAMPLE);
        let t = Instant::now();
        runboard::projector::pca(
            &tensor[..(head * dims) as usize],
            head as usize,
            dims as usize,
        );
        sample.push(ms(t));
    }
    let (pca_ms, sample_ms) = (peer::median(&mut full), peer::median(&mut sample));
    // Only where the rows beyond the sample outweigh the noise of two timings.
    let pca_row_ns = if rows >= 2 * PCA_SAMPLE {
        (pca_ms - sample_ms) / (rows - PCA_SAMPLE) as f64 * 1e6
    } else {
        f64::NAN
    };
    Steps {
        read_ms: peer::median(&mut read),
        convert_ms: peer::median(&mut convert),
        pca_ms,
        pca_fixed_ms: sample_ms - pca_row_ns * 1e-6 * rows.min(PCA_SAMPLE) as f64,
        pca_row_ns,
        variance,
    }
}

/// What the server's ingest of one embedding took.
struct Ingest {
    /// Spawn → the first answer over HTTP.
    up_ms: f64,
    /// Spawn → `/api/v1/projector` lists the embedding with its PCA.
    listed_ms: f64,
    /// CPU seconds by thread name.
    threads: BTreeMap<String, f64>,
    peak_rss_mib: f64,
    db_mib: f64,
}

/// Starts runboard on `logdir` with a fresh database `db` and waits until it lists the
/// embedding with its PCA; returns the running server, its URL and the timings.
fn serve_and_ingest(logdir: &Path, db: &Path, rows: u64) -> (Proc, String, Ingest) {
    let _ = std::fs::remove_file(db);
    let _ = std::fs::remove_file(db.with_extension("sqlite-wal"));
    let _ = std::fs::remove_file(db.with_extension("sqlite-shm"));
    let t = Instant::now();
    let (server, base) = peer::start_runboard(logdir, db, &["--no-gpu"]);
    let mut up_ms = None;
    let listed_ms = loop {
        if let Some(body) = peer::get_bytes(&format!("{base}/api/v1/projector")) {
            let ms = t.elapsed().as_secs_f64() * 1e3;
            up_ms.get_or_insert(ms);
            let list: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let entry = list
                .as_array()
                .and_then(|l| l.iter().find(|e| e["run"] == RUN && e["name"] == NAME));
            if let Some(e) = entry {
                assert!(
                    e["error"].is_null(),
                    "runboard could not read the embedding: {}",
                    e["error"]
                );
                if !e["pca"].is_null() {
                    assert_eq!(e["rows"].as_u64(), Some(rows), "rows listed");
                    break ms;
                }
            }
        }
        assert!(
            t.elapsed().as_secs() < 600,
            "runboard did not list the embedding's PCA within 600 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let pid = server.0.id();
    let db_bytes: u64 = ["sqlite", "sqlite-wal"]
        .iter()
        .filter_map(|ext| std::fs::metadata(db.with_extension(ext)).ok())
        .map(|m| m.len())
        .sum();
    let ingest = Ingest {
        up_ms: up_ms.unwrap_or(listed_ms),
        listed_ms,
        threads: peer::thread_cpu_secs(pid),
        peak_rss_mib: peak_rss_mib(pid),
        db_mib: db_bytes as f64 / (1 << 20) as f64,
    };
    (server, base, ingest)
}

/// TensorBoard from the test venv serving `logdir` on a free loopback port, as tests/common's
/// `TensorBoard::start` runs it (`--load_fast=true`), its output in `log`; `None` without a
/// venv.
fn start_tensorboard(logdir: &Path, log: &Path) -> Option<(Proc, String)> {
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
    Some((Proc(child), format!("http://127.0.0.1:{port}")))
}

/// Waits until TensorBoard's projector plugin is active and lists run `emb` (its plugin reads
/// every tensor the configs name when it first looks at them), then times the tensor request
/// its page makes. Returns the URL, or `None` (said why) when it does not within `timeout_s`.
fn tensorboard_ready(tb_base: &str, log: &Path, timeout_s: u64, rows: u64) -> Option<String> {
    let t = Instant::now();
    loop {
        let listing = peer::get_bytes(&format!("{tb_base}/data/plugins_listing"))
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let runs = peer::get_bytes(&format!("{tb_base}/data/plugin/projector/runs"))
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let active = listing.is_some_and(|l| l["projector"]["enabled"] == true);
        let listed = runs
            .as_ref()
            .and_then(|r| r.as_array())
            .is_some_and(|r| r.iter().any(|x| x == RUN));
        if active && listed {
            eprintln!(
                "TensorBoard: projector active with run {RUN} {:.1} s after it started",
                t.elapsed().as_secs_f64()
            );
            let (ms, bytes) = peer::time_get(&format!(
                "{tb_base}/data/plugin/projector/tensor?run={RUN}&name={NAME}&num_rows=100000"
            ));
            eprintln!(
                "TensorBoard: GET /data/plugin/projector/tensor (its page's request, {rows} rows, float32): median {ms:.1} ms, {bytes} bytes"
            );
            return Some(tb_base.to_owned());
        }
        if t.elapsed().as_secs() > timeout_s {
            eprintln!(
                "TensorBoard's projector did not list run {RUN} within {timeout_s} s; no side-by-side figures. Its output:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The figures bench/projector.mjs prints as its last line (JSON).
fn run_page_bench(
    repo: &Path,
    base: &str,
    tb_base: Option<&str>,
    rows: u64,
    repeat: u64,
    tb_timeout_s: u64,
) -> serde_json::Value {
    let out = Command::new("node")
        .arg(repo.join("bench/projector.mjs"))
        .env("RUNBOARD_URL", base)
        .env("TENSORBOARD_URL", tb_base.unwrap_or_default())
        .env("RUN", RUN)
        .env("NAME", NAME)
        .env("ROWS", rows.to_string())
        .env("REPEAT", repeat.to_string())
        .env("TB_TIMEOUT_MS", (tb_timeout_s * 1000).to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("node runs");
    assert!(out.status.success(), "bench/projector.mjs failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .expect("bench/projector.mjs prints its figures as JSON on its last line")
}

/// The figures of one size.
struct Size {
    rows: u64,
    steps: Steps,
    ingests: Vec<Ingest>,
    pca_get: (f64, usize),
    page: serde_json::Value,
}

/// `x` of a JSON figure, NaN when absent.
fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn main() {
    let sizes: Vec<u64> = std::env::var("ROWS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("ROWS: comma-separated row counts"))
        .collect();
    let dims = env_or("DIMS", 128);
    let clusters = env_or("CLUSTERS", 10).max(1);
    let seed = env_or("SEED", 16);
    let repeat = env_or("REPEAT", 3).max(1);
    let ingest_repeat = env_or("INGEST_REPEAT", 3).max(1);
    let tb_rows = env_or("TB_ROWS", 100_000);
    let tb_timeout = env_or("TB_TIMEOUT_S", 180);
    let repo = peer::browser_repo();
    let mut results = Vec::new();
    for &rows in &sizes {
        let tmp = tempfile::tempdir().expect("temp dir");
        let logdir = tmp.path().join("logs");
        let t = Instant::now();
        write_logdir(&logdir, rows, dims, clusters, seed);
        eprintln!(
            "== {rows} × {dims}: wrote {:.0} MB of float32 in {:.1} s",
            (rows * dims * 4) as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        let steps = ingest_steps(&logdir, rows, dims, repeat);
        eprintln!(
            "runboard's ingest steps in this process, median of {repeat}: read the file {:.0} ms, to float32 {:.0} ms, \
             PCA {:.0} ms ({}) (variance explained by components 1–3: {:.3?})",
            steps.read_ms,
            steps.convert_ms,
            steps.pca_ms,
            steps.pca_split(),
            steps.variance
        );
        let db = tmp.path().join("db.sqlite");
        let mut ingests = Vec::new();
        let mut served = None;
        for i in 0..ingest_repeat {
            drop(served.take()); // the previous server, before a fresh start
            let (server, base, ingest) = serve_and_ingest(&logdir, &db, rows);
            eprintln!(
                "runboard start {}: answering after {:.0} ms, embedding with PCA listed after {:.0} ms; \
                 CPU by thread: {}; peak RSS {:.0} MiB; database {:.0} MiB",
                i + 1,
                ingest.up_ms,
                ingest.listed_ms,
                ingest
                    .threads
                    .iter()
                    .filter(|(_, s)| **s >= 0.05)
                    .map(|(n, s)| format!("{n} {s:.2} s"))
                    .collect::<Vec<_>>()
                    .join(", "),
                ingest.peak_rss_mib,
                ingest.db_mib
            );
            ingests.push(ingest);
            served = Some((server, base));
        }
        let (_server, base) = served.expect("at least one start");
        let pca_get = peer::time_get(&format!(
            "{base}/api/v1/projector/pca?run={RUN}&name={NAME}&components=0,1,2"
        ));
        eprintln!(
            "runboard: GET /api/v1/projector/pca (3 components): median {:.1} ms, {} bytes",
            pca_get.0, pca_get.1
        );
        let tb = (rows <= tb_rows).then(|| {
            let log = tmp.path().join("tensorboard.log");
            let tb = start_tensorboard(&logdir, &log);
            if tb.is_none() {
                eprintln!(
                    "TensorBoard: no .venv (run `bash .ci/test` once); no side-by-side figures"
                );
            }
            let url = tb
                .as_ref()
                .and_then(|(_, url)| tensorboard_ready(url, &log, tb_timeout, rows));
            (tb, url)
        });
        let tb_url = tb.as_ref().and_then(|(_, url)| url.as_deref());
        let page = run_page_bench(repo, &base, tb_url, rows, repeat, tb_timeout);
        drop(tb);
        results.push(Size {
            rows,
            steps,
            ingests,
            pca_get,
            page,
        });
        // The temp dir (and the 512 MB at 1M) goes here, with the servers.
    }
    report(&results, dims, repeat, tb_rows);
}

/// Prints the summary table.
fn report(results: &[Size], dims: u64, repeat: u64, tb_rows: u64) {
    println!();
    println!(
        "projector, {dims} dims, rows in {} Gaussian clusters; page figures: median of {repeat} fresh loads, \
         performance.now() from navigation start",
        env_or("CLUSTERS", 10)
    );
    println!(
        "| rows | step | runboard | TensorBoard 2.21 | runboard / TensorBoard |\n|---|---|---|---|---|"
    );
    for s in results {
        let mut listed: Vec<f64> = s.ingests.iter().map(|i| i.listed_ms).collect();
        let listed = peer::median(&mut listed);
        let ingest = s.ingests.last().expect("at least one start");
        let cpu = |name: &str| ingest.threads.get(name).copied().unwrap_or(0.0);
        let rb = &s.page["runboard"];
        let tb = &s.page["tensorboard"];
        let rb_drawn = num(&rb["drawn"]);
        let tb_drawn = num(&tb["drawn"]);
        let tb_cell = |v: f64| {
            if !tb.is_object() && s.rows > tb_rows {
                "not run (above TB_ROWS; its page takes ≤ 100,000 rows)".to_owned()
            } else if !tb.is_object() {
                "not run".to_owned()
            } else if let Some(note) = tb["note"].as_str().filter(|_| v.is_nan()) {
                note.to_owned()
            } else if v.is_nan() {
                "—".to_owned()
            } else {
                format!("{v:.0} ms")
            }
        };
        let ratio = |a: f64, b: f64| {
            if a.is_nan() || b.is_nan() {
                "—".to_owned()
            } else {
                format!("{:.3}", a / b)
            }
        };
        let r = s.rows;
        println!(
            "| {r} | ingest + PCA on the server: spawn → listed with PCA, median of {} (server up after {:.0} ms) | {listed:.0} ms \
             ({}; last start's CPU: ingest thread {:.2} s, store thread {:.2} s; peak RSS {:.0} MiB) | — (PCA in the page) | |",
            s.ingests.len(),
            ingest.up_ms,
            s.ingests
                .iter()
                .map(|i| format!("{:.0}", i.listed_ms))
                .collect::<Vec<_>>()
                .join(", "),
            cpu("runboard-ingest"),
            cpu("runboard-store"),
            ingest.peak_rss_mib,
        );
        println!(
            "| {r} | the same steps timed in the bench's process (runboard's library): read {:.0} ms, to float32 {:.0} ms, \
             PCA {:.0} ms ({}) | | | |",
            s.steps.read_ms,
            s.steps.convert_ms,
            s.steps.pca_ms,
            s.steps.pca_split()
        );
        println!(
            "| {r} | GET /api/v1/projector/pca (3 components) | {:.1} ms, {:.1} MB | tensor: {} | |",
            s.pca_get.0,
            s.pca_get.1 as f64 / 1e6,
            if tb.is_object() {
                format!("{:.1} MB fetched by the page", num(&tb["bytes"]) / 1e6)
            } else {
                "—".into()
            }
        );
        println!(
            "| {r} | page: navigation → data requested | {:.0} ms | {} | |",
            num(&rb["requested"]),
            tb_cell(num(&tb["requested"]))
        );
        println!(
            "| {r} | page: navigation → data received | {:.0} ms | {} | |",
            num(&rb["received"]),
            tb_cell(num(&tb["received"]))
        );
        println!(
            "| {r} | page: navigation → every point drawn (runboard: {}, TensorBoard: 3D) | **{rb_drawn:.0} ms** ({}) | {}{} | {} |",
            rb["mode"].as_str().unwrap_or("?"),
            rb["range"].as_str().unwrap_or("?"),
            tb_cell(tb_drawn),
            tb["range"]
                .as_str()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            ratio(rb_drawn, tb_drawn)
        );
        println!(
            "| {r} | runboard page: its own time from asking for the coordinates to drawn ({}); received → drawn | {:.0} ms; {:.0} ms | | |",
            rb["mode"].as_str().unwrap_or("?"),
            num(&rb["drawMs"]),
            num(&rb["afterReceived"])
        );
        if !rb["to3d"].is_null() {
            println!(
                "| {r} | runboard page, then 3D (TensorBoard's default view): picker → drawn in 3D (its own {:.0} ms) | {:.0} ms | | |",
                num(&rb["to3dDrawMs"]),
                num(&rb["to3d"])
            );
        }
        if tb.is_object() && !tb_drawn.is_nan() {
            println!(
                "| {r} | TensorBoard in the page: received → PCA started {:.0} ms, PCA (+ its 200 ms delay) → drawn {:.0} ms | | | |",
                num(&tb["parse"]),
                num(&tb["pca"]),
            );
        }
        let sum = listed + rb_drawn;
        println!(
            "| {r} | runboard total: ingest + PCA ({listed:.0} ms) + navigation → drawn ({rb_drawn:.0} ms) | **{sum:.0} ms** | {} | {} |",
            tb_cell(tb_drawn),
            ratio(sum, tb_drawn),
        );
        if r >= 1_000_000 {
            println!(
                "| {r} | goal ≤ {GOAL_MS:.0} ms: server ingest + PCA {}, page {}, sum {} | | | |",
                if listed <= GOAL_MS { "met" } else { "missed" },
                if rb_drawn <= GOAL_MS { "met" } else { "missed" },
                if sum <= GOAL_MS { "met" } else { "missed" },
            );
        }
    }
}
