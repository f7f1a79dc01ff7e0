//! runboard and the real TensorBoard (2.21, `--load_fast=true`: its Rust data server) serve the
//! same logdir, and their `/data/*` answers are compared: runs, scalar tags and every scalar
//! series (JSON and CSV), histogram tags and series, text tags and series.
//!
//! The logdir holds the committed fixtures (tensorboardX, TensorBoard's own summary ops, a model
//! graph, compared as TensorBoard's Graphs plugin serves it, byte for byte), a run
//! written with runboard's `SummaryWriter`, a restarted run (two files, the second going back to
//! an earlier step), a file cut inside its last record and a file with a damaged record.
//! Where the answers may differ, the rule is stated where it is checked: runboard keeps more
//! ([`DATA_SERVER_DROPS`], [`check_damaged`]); tag display names and descriptions are not
//! compared; histograms, legacy ones included, must be the same bucket lists bit for bit;
//! text HTML is compared by its rendered text and elements, not byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TensorBoard, int, num, parse_exact, same};
use runboard_sdk::event_file::{EventFileWriter, read_events};
use runboard_sdk::{SummaryWriter, Value};
use serde_json::Value as Json;

const TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The two servers.

/// A running `runboard serve`, killed when dropped (its log shown if the test fails).
struct Runboard {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

impl Runboard {
    fn start(logdir: &Path, db: &Path) -> Runboard {
        let (child, base, log) = common::spawn_runboard(logdir, db);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        Runboard {
            child,
            base,
            log,
            agent,
        }
    }
}

impl Drop for Runboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            eprintln!("--- runboard output ({}) ---\n{log}", self.base);
        }
    }
}

/// What the comparison needs of a server: GET with query pairs.
trait Server {
    fn name(&self) -> &'static str;
    /// `Some((status, body))`, or `None` while nothing answers.
    fn try_get(&mut self, path: &str, query: &[(&str, &str)]) -> Option<(u16, Vec<u8>)>;

    fn bytes(&mut self, path: &str, query: &[(&str, &str)]) -> Vec<u8> {
        match self.try_get(path, query) {
            Some((200, body)) => body,
            Some((status, body)) => panic!(
                "{}: GET {path} {query:?}: HTTP {status}: {}",
                self.name(),
                String::from_utf8_lossy(&body)
            ),
            None => panic!("{}: GET {path} {query:?}: no response", self.name()),
        }
    }

    /// A JSON answer, numbers kept as their exact text (see [`common::parse_exact`]).
    fn json(&mut self, path: &str, query: &[(&str, &str)]) -> Json {
        let body = self.bytes(path, query);
        parse_exact(std::str::from_utf8(&body).expect("UTF-8 JSON"))
    }

    /// `Some(json)` of a 200 answer, `None` otherwise (still loading, not up yet).
    fn try_json(&mut self, path: &str, query: &[(&str, &str)]) -> Option<Json> {
        match self.try_get(path, query)? {
            (200, body) => {
                serde_json::from_str(&common::quote_numbers(std::str::from_utf8(&body).ok()?)).ok()
            }
            _ => None,
        }
    }
}

impl Server for Runboard {
    fn name(&self) -> &'static str {
        "runboard"
    }

    fn try_get(&mut self, path: &str, query: &[(&str, &str)]) -> Option<(u16, Vec<u8>)> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("runboard exited ({status})");
        }
        common::http_get(&self.agent, &self.base, path, query)
    }
}

impl Server for TensorBoard {
    fn name(&self) -> &'static str {
        "TensorBoard"
    }

    fn try_get(&mut self, path: &str, query: &[(&str, &str)]) -> Option<(u16, Vec<u8>)> {
        TensorBoard::try_get(self, path, query)
    }
}

// ---------------------------------------------------------------------------------------------
// The logdir.

const MARKDOWN: &str = "# Results\n\n**bold** and _italic_, `code`\n\n\
                        | metric | value |\n|---|---|\n| loss | 0.25 |\n\n\
                        <script>alert('xss')</script>\n";

/// Wall time of the points written with [`EventFileWriter`] (exact in binary).
fn wall(step: i64) -> f64 {
    1_700_000_000.0 + step as f64 * 0.25
}

/// Scalars of one tag, one event per step, into a new file of `dir`; returns the file.
fn write_scalars(dir: &Path, tag: &str, points: &[(i64, f64, f64)]) -> PathBuf {
    let mut w = EventFileWriter::create(dir, "").unwrap();
    for &(step, wall_time, v) in points {
        w.write_summary(wall_time, step, vec![runboard_sdk::summary::scalar(tag, v)])
            .unwrap();
    }
    w.flush().unwrap();
    w.path().to_path_buf()
}

/// The value `SummaryWriter`/`summary::scalar` stores (`simple_value` is a float32).
fn f32_of(v: f64) -> f64 {
    f64::from(v as f32)
}

fn restart_value(file: usize, step: i64) -> f64 {
    step as f64 * 0.5 + if file == 0 { 0.0 } else { 1000.0 }
}

fn cut_value(step: i64) -> f64 {
    (-(step as f64) / 70.0).exp()
}

/// Points written to the truncated and to the damaged file.
const N: i64 = 300;

/// The tag of the one point in the damaged run's second file.
const SENTINEL: &str = "after";

/// What was written where, beyond the committed fixtures.
struct Logdir {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    /// The step of the damaged record in `damaged`.
    lost_step: i64,
}

fn build_logdir() -> Logdir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("logs");
    let fixtures = common::repo().join("tests/fixtures/logdirs");
    // (a) The committed fixtures, as runs `tbx` (with its sub-run `tbx/hp`) and `tb_ops`.
    common::copy_dir(&fixtures.join("tbx"), &root.join("tbx"));
    common::copy_dir(&fixtures.join("tb_ops"), &root.join("tb_ops"));
    common::copy_dir(&fixtures.join("graph"), &root.join("graph"));
    common::copy_dir(&fixtures.join("graph_tf"), &root.join("graph_tf"));
    common::copy_dir(&fixtures.join("pr_curves"), &root.join("pr_curves"));
    common::copy_dir(&fixtures.join("audio"), &root.join("audio"));
    common::copy_dir(&fixtures.join("mesh"), &root.join("mesh"));
    common::copy_dir(&fixtures.join("projector"), &root.join("projector"));
    common::copy_dir(
        &fixtures.join("custom_scalars"),
        &root.join("custom_scalars"),
    );

    // (b) runboard's SummaryWriter: scalars with non-finite values, histograms, text.
    let mut w = SummaryWriter::new(root.join("sdk")).unwrap();
    for step in 0..200 {
        let s = step as f64;
        w.add_scalar(
            "train/loss",
            2.0 / (1.0 + 0.05 * s) + 0.01 * (s * 0.7).sin(),
            step,
        );
        w.add_scalar("train/accuracy", 1.0 - 1.0 / (1.0 + 0.1 * s), step);
    }
    let special = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1e-45,
        1e39,
        1.0 / 3.0,
        -2.5e-8,
        0.1,
    ];
    for (step, v) in special.into_iter().enumerate() {
        w.add_scalar("special", v, step as i64);
    }
    for step in [0i64, 100, 200] {
        let mut values: Vec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.0259 + step as f64).sin() * (1.0 + step as f64 / 100.0))
            .collect();
        values.push(f64::NAN);
        w.add_histogram("weights", &values, step);
    }
    w.add_text("notes", MARKDOWN, 0);
    w.add_text("notes", "second **entry** & <b>bold</b>", 1);
    // A mesh with faces and colours at two steps, and a point cloud.
    let vertices = [
        [0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.5],
    ];
    let faces = [[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]];
    let colors = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [200, 200, 200]];
    let config = serde_json::json!({"camera": {"cls": "PerspectiveCamera", "fov": 60}});
    for step in [0, 10] {
        let scaled: Vec<[f32; 3]> = vertices
            .iter()
            .map(|v| v.map(|x| x * (1.0 + step as f32 / 10.0)))
            .collect();
        w.add_mesh("tetra", &scaled, &faces, &colors, Some(&config), step)
            .unwrap();
    }
    w.add_mesh("points", &vertices, &[], &[], None, 3).unwrap();
    // An embedding with labels and a sprite, in tensorboardX's file layout.
    let rows: Vec<[f32; 3]> = (0..20)
        .map(|i| {
            let x = i as f32;
            [x.sin(), x.cos() * 0.1, x / 7.0 - 1e-6]
        })
        .collect();
    let labels: Vec<String> = (0..20).map(|i| format!("point {i}")).collect();
    // With a thumbnail a point (RGB 3 × 3), laid out as a sprite.
    let thumbs: Vec<u8> = (0..20u8)
        .flat_map(|i| [i * 12, 255 - i * 12, 90].repeat(9))
        .collect();
    w.add_embedding_with_thumbnails("features", &rows, &labels, &thumbs, 3, 3, 2)
        .unwrap();
    w.close().unwrap();

    // (c) A restarted run: steps 0..400 in one file, then 300..600 in a second file whose
    // name sorts after the first (the files are renamed to pin the order).
    let dir = root.join("restart");
    let first: Vec<_> = (0..400)
        .map(|s| (s, wall(s), restart_value(0, s)))
        .collect();
    let second: Vec<_> = (300..600)
        .map(|s| (s, wall(s) + 1000.0, restart_value(1, s)))
        .collect();
    let a = write_scalars(&dir, "loss", &first);
    let b = write_scalars(&dir, "loss", &second);
    std::fs::rename(a, dir.join("events.out.tfevents.1700000000.restart.1")).unwrap();
    std::fs::rename(b, dir.join("events.out.tfevents.1700000100.restart.2")).unwrap();

    // (d) A file cut inside its last record.
    let points: Vec<_> = (0..N).map(|s| (s, wall(s), cut_value(s))).collect();
    let file = write_scalars(&root.join("truncated"), "loss", &points);
    let bytes = std::fs::read(&file).unwrap();
    let (last_at, _) = *common::record_spans(&bytes).last().unwrap();
    let cut = bytes.len() - 7;
    assert!(cut > last_at + 12);
    std::fs::write(&file, &bytes[..cut]).unwrap();

    // (e) A file whose middle record's data has one byte flipped: its data CRC fails. The byte
    // is in the scalar's float32 (the last 4 bytes of the event), so the record still parses.
    let file = write_scalars(&root.join("damaged"), "loss", &points);
    let mut bytes = std::fs::read(&file).unwrap();
    let spans = common::record_spans(&bytes);
    assert_eq!(
        spans.len() as i64,
        N + 1,
        "a version record, then one per point"
    );
    let damaged = spans.len() / 2;
    let (at, len) = spans[damaged];
    let lost_step = i64::try_from(damaged - 1).unwrap(); // record k > 0 holds step k - 1
    let value_at = at + len - 4 - 4;
    let value = (cut_value(lost_step) as f32).to_le_bytes();
    assert_eq!(
        bytes[value_at..value_at + 4],
        value,
        "the value ends the event"
    );
    bytes[value_at + 1] ^= 0x5a;
    std::fs::write(&file, &bytes).unwrap();
    // A second file after it, with one point of another tag: once a server serves that, it
    // has read the damaged file as far as it ever will (a reader that stops at the bad record
    // still goes on to the run's next file).
    let dir = root.join("damaged");
    std::fs::rename(&file, dir.join("events.out.tfevents.1700000000.damaged.1")).unwrap();
    let sentinel = write_scalars(&dir, SENTINEL, &[(N, wall(N), 1.0)]);
    std::fs::rename(
        sentinel,
        dir.join("events.out.tfevents.1700000001.damaged.2"),
    )
    .unwrap();

    Logdir {
        _tmp: tmp,
        root,
        lost_step,
    }
}

// ---------------------------------------------------------------------------------------------
// What each server must serve once it has loaded everything.

const SCALARS: &str = "scalars";
const HISTOGRAMS: &str = "histograms";
const TEXT: &str = "text";

/// `(plugin, run, tag)`.
type Key = (&'static str, String, String);

/// Scalar series TensorBoard's Rust data server (tensorboard-data-server 0.7) leaves out:
/// rank-0 DT_DOUBLE tensors (tb_ops' `tf2/double` in `tensor_content`, `double_val` in
/// `double_val`). Its Python loader (`--load_fast=false`) serves them, and so does runboard
/// (`tests/interop.rs` checks runboard's values against that loader): runboard keeps more.
const DATA_SERVER_DROPS: [(&str, &str); 2] = [("tb_ops", "double_val"), ("tb_ops", "tf2/double")];

fn dropped_by_data_server(run: &str, tag: &str) -> bool {
    DATA_SERVER_DROPS.contains(&(run, tag))
}

/// Runs whose histograms are legacy `HistogramProto`s (tensorboardX's `histo`).
const LEGACY_HISTOGRAM_RUNS: [&str; 1] = ["tbx"];

fn data_path(plugin: &str) -> &'static str {
    match plugin {
        SCALARS => "/data/plugin/scalars/scalars",
        HISTOGRAMS => "/data/plugin/histograms/histograms",
        _ => "/data/plugin/text/text",
    }
}

/// How many points of each series there are to serve: for the committed fixtures, what
/// runboard's reader finds in their files (`tests/interop.rs` checks that against TensorBoard's
/// loader); for the runs written here, what was written.
fn expected_counts(root: &Path) -> BTreeMap<Key, usize> {
    let mut want: BTreeMap<Key, usize> = BTreeMap::new();
    for run in [
        "tbx",
        "tbx/hp",
        "tb_ops",
        "graph",
        "graph_tf",
        "custom_scalars/a",
        "custom_scalars/b",
    ] {
        for entry in std::fs::read_dir(root.join(run)).unwrap() {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let (events, _) = read_events(&path).unwrap();
            for v in events.iter().flat_map(|e| &e.values) {
                let plugin = match v.value {
                    Value::Scalar(_) => SCALARS,
                    Value::Histogram(_) => HISTOGRAMS,
                    Value::Text(_) => TEXT,
                    _ => continue,
                };
                *want
                    .entry((plugin, run.to_owned(), v.tag.clone()))
                    .or_default() += 1;
            }
        }
    }
    let n = usize::try_from(N).unwrap();
    for (plugin, run, tag, count) in [
        (SCALARS, "sdk", "train/loss", 200),
        (SCALARS, "sdk", "train/accuracy", 200),
        (SCALARS, "sdk", "special", 10),
        (HISTOGRAMS, "sdk", "weights", 3),
        (TEXT, "sdk", "notes", 2),
        // 0..300 of the first file, then 300..600 of the second.
        (SCALARS, "restart", "loss", 600),
        (SCALARS, "truncated", "loss", n - 1),
        (SCALARS, "damaged", "loss", n - 1),
        (SCALARS, "damaged", SENTINEL, 1),
    ] {
        want.insert((plugin, run.to_owned(), tag.to_owned()), count);
    }
    want
}

/// Polls `s` until every series of `want` has its number of points.
fn wait_loaded(s: &mut dyn Server, want: &BTreeMap<Key, usize>) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let missing = want.iter().find_map(|((plugin, run, tag), n)| {
            let got = s
                .try_json(data_path(plugin), &[("run", run), ("tag", tag)])
                .and_then(|j| j.as_array().map(Vec::len));
            (got != Some(*n)).then(|| format!("{plugin} {run}/{tag}: {got:?} points, want {n}"))
        });
        let Some(missing) = missing else { return };
        assert!(
            Instant::now() < deadline,
            "{} has not loaded everything after {TIMEOUT:?}: {missing}",
            s.name()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the answers.

/// A GET's body, or why there is none.
fn fetch(s: &mut dyn Server, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    match s.try_get(path, query) {
        Some((200, body)) => Ok(body),
        Some((status, body)) => Err(format!(
            "{} answers GET {path} {query:?} with HTTP {status}: {}",
            s.name(),
            String::from_utf8_lossy(&body)
        )),
        None => Err(format!("{} does not answer GET {path} {query:?}", s.name())),
    }
}

fn exact(body: &[u8]) -> Json {
    parse_exact(std::str::from_utf8(body).expect("UTF-8 JSON"))
}

/// The first 300 characters of a body, for messages.
fn head(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

/// `(wall_time, step, value)`.
type Point = (f64, i64, f64);

/// `[[wall_time, step, value], ...]`.
fn scalar_points(json: &Json) -> Vec<Point> {
    json.as_array()
        .unwrap_or_else(|| panic!("not a list of scalars: {json}"))
        .iter()
        .map(|p| (num(&p[0]), int(&p[1]), num(&p[2])))
        .collect()
}

/// `[[wall_time, step, [[left, right, count], ...]], ...]`.
fn histogram_points(json: &Json) -> Vec<(f64, i64, Vec<[f64; 3]>)> {
    json.as_array()
        .unwrap_or_else(|| panic!("not a list of histograms: {json}"))
        .iter()
        .map(|p| {
            let rows = p[2]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| [num(&r[0]), num(&r[1]), num(&r[2])])
                .collect();
            (num(&p[0]), int(&p[1]), rows)
        })
        .collect()
}

/// `[{"wall_time", "step", "text"}, ...]`.
fn text_points(json: &Json) -> Vec<(f64, i64, String)> {
    json.as_array()
        .unwrap_or_else(|| panic!("not a list of texts: {json}"))
        .iter()
        .map(|p| {
            let html = p["text"].as_str().unwrap().to_owned();
            (num(&p["wall_time"]), int(&p["step"]), html)
        })
        .collect()
}

/// `{run: {tag: {...}}}` or `{run: [tag, ...]}` as run -> tags.
fn tag_sets(json: &Json) -> BTreeMap<String, BTreeSet<String>> {
    json.as_object()
        .unwrap_or_else(|| panic!("not a tag listing: {json}"))
        .iter()
        .map(|(run, tags)| {
            let tags = match tags {
                Json::Object(m) => m.keys().cloned().collect(),
                Json::Array(a) => a.iter().map(|t| t.as_str().unwrap().to_owned()).collect(),
                other => panic!("tags of {run}: {other}"),
            };
            (run.clone(), tags)
        })
        .collect()
}

/// Every tag of a `{run: {tag: info}}` listing has TensorBoard's `displayName` and
/// `description` (their values differ: runboard leaves them empty, a documented difference).
fn check_tag_info(who: &str, plugin: &str, json: &Json, problems: &mut Vec<String>) {
    for (run, tags) in json.as_object().unwrap() {
        for (tag, info) in tags.as_object().unwrap() {
            if !(info["displayName"].is_string() && info["description"].is_string()) {
                problems.push(format!("{who} {plugin} tags: {run}/{tag} has {info}"));
            }
        }
    }
}

/// Compares two tag listings as run -> set of tags (the order of either is not compared).
fn compare_tags(
    plugin: &str,
    ours: &BTreeMap<String, BTreeSet<String>>,
    theirs: &BTreeMap<String, BTreeSet<String>>,
    problems: &mut Vec<String>,
) {
    if ours != theirs {
        problems.push(format!(
            "{plugin} tags: runboard lists {ours:?}\nTensorBoard lists {theirs:?}"
        ));
    }
}

fn same_point(a: &Point, b: &Point) -> bool {
    same(a.0, b.0) && a.1 == b.1 && same(a.2, b.2)
}

/// Where two lists of points first differ, if they do.
fn points_difference(ours: &[Point], theirs: &[Point]) -> Option<String> {
    if ours.len() != theirs.len() {
        return Some(format!(
            "runboard serves {} points, TensorBoard {}",
            ours.len(),
            theirs.len()
        ));
    }
    let i = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| !same_point(a, b))?;
    Some(format!(
        "point {i}: runboard (wall_time, step, value) {:?}, TensorBoard {:?}",
        ours[i], theirs[i]
    ))
}

// ---------------------------------------------------------------------------------------------
// The comparisons.

fn compare_runs(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    // Both list runs in start order, but ties and clocks make the order unreliable: compared
    // as sets.
    let set = |json: Json| -> BTreeSet<String> {
        json.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    };
    let ours = set(rb.json("/data/runs", &[]));
    let theirs = set(tb.json("/data/runs", &[]));
    let want: BTreeSet<String> = [
        "tbx",
        "tbx/hp",
        "tb_ops",
        "graph",
        "graph_tf",
        "pr_curves/a",
        "pr_curves/b",
        "audio/a",
        "audio/b",
        "mesh/a",
        "mesh/b",
        "projector/a",
        "projector/b",
        "custom_scalars/a",
        "custom_scalars/b",
        "sdk",
        "restart",
        "truncated",
        "damaged",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    if ours != want || theirs != want {
        problems.push(format!(
            "/data/runs: runboard {ours:?}, TensorBoard {theirs:?}, written {want:?}"
        ));
    }
}

/// The damaged file: runboard skips exactly the damaged record (its data CRC fails) and keeps
/// every other point. TensorBoard's data server does not check data CRCs: it may stop at the
/// bad record, or (2.21 with data server 0.7) serve the record with the flipped byte, a value
/// nobody wrote. The rule: runboard serves exactly the N - 1 written points that are not the
/// damaged one, with their written values; TensorBoard serves at least the points before the
/// damaged record; and every point TensorBoard serves at a step runboard also serves is
/// equal to runboard's.
fn check_damaged(ours: &[Point], theirs: &[Point], lost_step: i64, problems: &mut Vec<String>) {
    let want: Vec<Point> = (0..N)
        .filter(|&s| s != lost_step)
        .map(|s| (wall(s), s, f32_of(cut_value(s))))
        .collect();
    if let Some(d) = points_difference(ours, &want) {
        problems.push(format!(
            "damaged/loss: runboard vs the points written less step {lost_step}: {d}"
        ));
    }
    let by_step: BTreeMap<i64, &Point> = ours.iter().map(|p| (p.1, p)).collect();
    for p in theirs {
        if let Some(q) = by_step.get(&p.1)
            && !same_point(p, q)
        {
            problems.push(format!(
                "damaged/loss step {}: runboard {q:?}, TensorBoard {p:?}",
                p.1
            ));
        }
    }
    let served: BTreeSet<i64> = theirs.iter().map(|p| p.1).collect();
    if let Some(s) = (0..lost_step).find(|s| !served.contains(s)) {
        problems.push(format!(
            "damaged/loss: TensorBoard lacks step {s}, before the damaged record"
        ));
    }
    let at_lost = theirs.iter().find(|p| p.1 == lost_step);
    eprintln!(
        "damaged/loss: runboard serves {} points, TensorBoard {} (at the damaged step {lost_step}: {at_lost:?}, written {})",
        ours.len(),
        theirs.len(),
        f32_of(cut_value(lost_step))
    );
}

/// The restarted run: steps 0..300 from the first file, 300..600 from the second (the restart
/// at step 300 drops the first file's 300..400).
fn check_restart(ours: &[Point], problems: &mut Vec<String>) {
    let want: Vec<Point> = (0..600)
        .map(|s| {
            if s < 300 {
                (wall(s), s, f32_of(restart_value(0, s)))
            } else {
                (wall(s) + 1000.0, s, f32_of(restart_value(1, s)))
            }
        })
        .collect();
    if let Some(d) = points_difference(ours, &want) {
        problems.push(format!("restart/loss: runboard vs what was written: {d}"));
    }
}

/// The truncated file: every point before the cut record.
fn check_truncated(ours: &[Point], problems: &mut Vec<String>) {
    let want: Vec<Point> = (0..N - 1)
        .map(|s| (wall(s), s, f32_of(cut_value(s))))
        .collect();
    if let Some(d) = points_difference(ours, &want) {
        problems.push(format!("truncated/loss: runboard vs what was written: {d}"));
    }
}

fn compare_scalars(
    rb: &mut Runboard,
    tb: &mut TensorBoard,
    lost_step: i64,
    problems: &mut Vec<String>,
) {
    let (rb_json, tb_json) = (
        rb.json("/data/plugin/scalars/tags", &[]),
        tb.json("/data/plugin/scalars/tags", &[]),
    );
    check_tag_info("runboard", SCALARS, &rb_json, problems);
    check_tag_info("TensorBoard", SCALARS, &tb_json, problems);
    let (ours, theirs) = (tag_sets(&rb_json), tag_sets(&tb_json));
    for (run, tag) in DATA_SERVER_DROPS {
        if theirs.get(run).is_some_and(|t| t.contains(tag)) {
            problems.push(format!(
                "TensorBoard now serves {run}/{tag}: drop it from DATA_SERVER_DROPS"
            ));
        }
    }
    let mut want = theirs.clone();
    for (run, tag) in DATA_SERVER_DROPS {
        want.entry(run.to_owned())
            .or_default()
            .insert(tag.to_owned());
    }
    compare_tags("scalars (plus DATA_SERVER_DROPS)", &ours, &want, problems);

    let path = data_path(SCALARS);
    let mut compared = 0;
    for (run, tags) in &ours {
        for tag in tags {
            let q = [("run", run.as_str()), ("tag", tag.as_str())];
            let rb_body = match fetch(rb, path, &q) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let ours = scalar_points(&exact(&rb_body));
            if dropped_by_data_server(run, tag) {
                // runboard keeps these; TensorBoard's data server serves nothing for them.
                let theirs = fetch(tb, path, &q).map(|b| scalar_points(&exact(&b)));
                if ours.is_empty() || !theirs.as_ref().map_or(true, Vec::is_empty) {
                    problems.push(format!(
                        "{run}/{tag}: runboard serves {} points, TensorBoard {:?} points",
                        ours.len(),
                        theirs.map(|t| t.len())
                    ));
                }
                continue;
            }
            let tb_body = match fetch(tb, path, &q) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let theirs = scalar_points(&exact(&tb_body));
            compared += 1;
            match (run.as_str(), tag.as_str()) {
                ("damaged", "loss") => {
                    check_damaged(&ours, &theirs, lost_step, problems);
                    continue;
                }
                ("restart", "loss") => check_restart(&ours, problems),
                ("truncated", "loss") => check_truncated(&ours, problems),
                _ => {}
            }
            if let Some(d) = points_difference(&ours, &theirs) {
                problems.push(format!("scalars {run}/{tag}: {d}"));
            } else if rb_body != tb_body {
                // Same values: the JSON text too (runboard encodes as TensorBoard's Python).
                problems.push(format!(
                    "scalars {run}/{tag}: same points, other JSON text:\nrunboard    {}\nTensorBoard {}",
                    head(&rb_body),
                    head(&tb_body)
                ));
            }
        }
    }
    assert!(compared >= 16, "only {compared} scalar series compared");

    // CSV, byte for byte (NaN and infinities included).
    for (run, tag) in [("sdk", "special"), ("tbx", "special"), ("restart", "loss")] {
        let q = [("run", run), ("tag", tag), ("format", "csv")];
        match (fetch(rb, path, &q), fetch(tb, path, &q)) {
            (Ok(a), Ok(b)) if a == b => {}
            (a, b) => problems.push(format!(
                "scalars {run}/{tag} as CSV:\nrunboard    {:?}\nTensorBoard {:?}",
                a.map(|a| head(&a)),
                b.map(|b| head(&b))
            )),
        }
    }
    let csv = rb.bytes(
        path,
        &[("run", "sdk"), ("tag", "special"), ("format", "csv")],
    );
    let csv = String::from_utf8(csv).unwrap();
    for want in [",0,nan\r\n", ",1,inf\r\n", ",2,-inf\r\n"] {
        assert!(csv.contains(want), "{want:?} in {csv:?}");
    }
}

/// Where two histograms' rows first differ, if they do.
fn rows_difference(
    ours: &[[f64; 3]],
    theirs: &[[f64; 3]],
    eq: fn(f64, f64) -> bool,
) -> Option<String> {
    if ours.len() != theirs.len() {
        return Some(format!(
            "runboard has {} buckets, TensorBoard {}",
            ours.len(),
            theirs.len()
        ));
    }
    let i = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| !a.iter().zip(b).all(|(x, y)| eq(*x, *y)))?;
    let bits = |r: &[f64; 3]| r.map(|x| format!("{:#018x}", x.to_bits()));
    Some(format!(
        "bucket {i}: runboard {:?} (bits {:?}), TensorBoard {:?} (bits {:?})",
        ours[i],
        bits(&ours[i]),
        theirs[i],
        bits(&theirs[i])
    ))
}

/// The histograms in a run's files as runboard's reader decodes them (for tensor histograms,
/// the f64 values as written): (tag, step) -> rows. Used to say which server is off.
fn file_histograms(dir: &Path) -> BTreeMap<(String, i64), Vec<[f64; 3]>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let (events, _) = read_events(&path).unwrap();
        for e in &events {
            for v in &e.values {
                if let Value::Histogram(rows) = &v.value {
                    out.insert((v.tag.clone(), e.step), rows.clone());
                }
            }
        }
    }
    out
}

fn compare_histograms(
    rb: &mut Runboard,
    tb: &mut TensorBoard,
    root: &Path,
    problems: &mut Vec<String>,
) {
    let (rb_json, tb_json) = (
        rb.json("/data/plugin/histograms/tags", &[]),
        tb.json("/data/plugin/histograms/tags", &[]),
    );
    check_tag_info("runboard", HISTOGRAMS, &rb_json, problems);
    check_tag_info("TensorBoard", HISTOGRAMS, &tb_json, problems);
    let (ours, theirs) = (tag_sets(&rb_json), tag_sets(&tb_json));
    compare_tags(HISTOGRAMS, &ours, &theirs, problems);
    let path = data_path(HISTOGRAMS);
    let mut compared = 0;
    for (run, tags) in &ours {
        let legacy = LEGACY_HISTOGRAM_RUNS.contains(&run.as_str());
        for tag in tags {
            let q = [("run", run.as_str()), ("tag", tag.as_str())];
            let (a, b) = match (fetch(rb, path, &q), fetch(tb, path, &q)) {
                (Ok(a), Ok(b)) => (histogram_points(&exact(&a)), histogram_points(&exact(&b))),
                (a, b) => {
                    problems.extend(a.err());
                    problems.extend(b.err());
                    continue;
                }
            };
            compared += 1;
            let steps = |h: &[(f64, i64, Vec<[f64; 3]>)]| -> Vec<(f64, i64)> {
                h.iter().map(|p| (p.0, p.1)).collect()
            };
            if steps(&a) != steps(&b) {
                problems.push(format!(
                    "histograms {run}/{tag}: (wall_time, step) runboard {:?}, TensorBoard {:?}",
                    steps(&a),
                    steps(&b)
                ));
                continue;
            }
            for (x, y) in a.iter().zip(&b) {
                // Served bit for bit: tensor histograms are f64 in the file, and legacy ones are
                // converted as TensorBoard's data server converts them (every bucket kept, the
                // first left edge `min`, the last right edge `max`), in f64.
                let d = rows_difference(&x.2, &y.2, same);
                if let Some(d) = d {
                    let mut msg = format!("histograms {run}/{tag} step {}: {d}", x.1);
                    if !legacy {
                        let file = file_histograms(&root.join(run));
                        let written = &file[&(tag.clone(), x.1)];
                        for (who, rows) in [("runboard", &x.2), ("TensorBoard", &y.2)] {
                            let d = rows_difference(rows, written, same);
                            let d = d.map_or("equal".to_owned(), |d| {
                                d.replace("TensorBoard", "the file")
                            });
                            msg.push_str(&format!(
                                "\n  {who} vs the file's f64 rows: {}",
                                d.replace("runboard", who)
                            ));
                        }
                    }
                    problems.push(msg);
                }
            }
        }
    }
    assert!(compared >= 7, "only {compared} histogram series compared");
}

/// The text of some HTML: tags removed, and all whitespace (Markdown renderers differ in line
/// breaks between block elements). Entities are kept: `&lt;script&gt;` stays.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag && !c.is_whitespace() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The elements an HTML fragment uses, less the table that TensorBoard wraps a rank-1 (and
/// rank-2) text tensor in.
fn elements(html: &str) -> BTreeSet<String> {
    html.split('<')
        .skip(1)
        .map(|s| {
            s.trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|e| !e.is_empty() && !matches!(e.as_str(), "table" | "tbody" | "tr" | "td"))
        .collect()
}

/// GET `path` with `q` from both servers: the body when they answer the same bytes; else the
/// difference (from the first line that differs) or the failures go to `problems`.
fn same_bytes(
    rb: &mut Runboard,
    tb: &mut TensorBoard,
    path: &str,
    q: &[(&str, &str)],
    problems: &mut Vec<String>,
) -> Option<String> {
    match (fetch(rb, path, q), fetch(tb, path, q)) {
        (Ok(a), Ok(b)) if a == b => Some(String::from_utf8_lossy(&a).into_owned()),
        (Ok(a), Ok(b)) => {
            let (a, b) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y);
            problems.push(format!(
                "{path} {q:?}: the answers differ from line {line:?} ({} and {} bytes):\nours:   {:?}\ntheirs: {:?}",
                a.len(),
                b.len(),
                line.and_then(|l| a.lines().nth(l)),
                line.and_then(|l| b.lines().nth(l)),
            ));
            None
        }
        (a, b) => {
            problems.extend(a.err());
            problems.extend(b.err());
            None
        }
    }
}

/// PR curves: the `pr_curves` entry of `plugins_listing`, the tags, and every curve byte for
/// byte (each run's, and several runs' in one request); requests TensorBoard refuses are 400s
/// here too. The fixtures' curves are in float_val (tensorboardX) and tensor_content (TF).
fn compare_pr_curves(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    let want: BTreeMap<&str, Vec<(&str, usize)>> = [
        (
            "pr_curves/a",
            vec![("formula", 1), ("pr/cat", 3), ("pr/dog", 3)],
        ),
        ("pr_curves/b", vec![("quality/pr_curves", 2)]),
    ]
    .into_iter()
    .collect();
    let path = "/data/plugin/pr_curves/pr_curves";
    // Both have read every step of every curve.
    let steps: Vec<(&str, &str, usize)> = want
        .iter()
        .flat_map(|(run, tags)| tags.iter().map(move |(tag, n)| (*run, *tag, *n)))
        .collect();
    for s in [rb as &mut dyn Server, tb as &mut dyn Server] {
        wait_for_lengths(s, path, &steps, |j, run| j[run].as_array().map(Vec::len));
    }
    let listing = |s: &mut dyn Server| {
        exact(&fetch(s, "/data/plugins_listing", &[]).unwrap())["pr_curves"].clone()
    };
    let (ours, theirs) = (listing(rb), listing(tb));
    if ours != theirs || ours["enabled"] != true {
        problems.push(format!(
            "plugins_listing pr_curves: ours {ours}, TensorBoard's {theirs}"
        ));
    }
    // Tags (display names and descriptions are not compared, as for every plugin).
    let listed = |s: &mut dyn Server| tag_sets(&s.json("/data/plugin/pr_curves/tags", &[]));
    let (ours, theirs) = (listed(rb), listed(tb));
    if ours != theirs {
        problems.push(format!(
            "pr_curves/tags: ours {ours:?}, TensorBoard's {theirs:?}"
        ));
    }
    for (run, tags) in &want {
        for (tag, _) in tags {
            if let Some(text) = same_bytes(rb, tb, path, &[("run", run), ("tag", tag)], problems) {
                assert!(text.contains("\"thresholds\": [0.0"), "{text}");
            }
        }
    }
    // One tag over two runs, in the asked order (a run listed twice once).
    let q = [
        ("run", "pr_curves/a"),
        ("tag", "pr/cat"),
        ("run", "pr_curves/a"),
    ];
    same_bytes(rb, tb, path, &q, problems);
    // A run without that tag: a 400 from both. Without a run or a tag, TensorBoard 2.21 means
    // a 400 too but fails with a 500 (it passes the status where `Respond` takes the content
    // type); runboard answers the 400.
    let cases: [(&[(&str, &str)], u16); 3] = [
        (&[("tag", "pr/cat")], 500),
        (&[("run", "pr_curves/a")], 500),
        (
            &[
                ("run", "pr_curves/a"),
                ("run", "pr_curves/b"),
                ("tag", "pr/cat"),
            ],
            400,
        ),
    ];
    for (q, tensorboard) in cases {
        let ours = rb.try_get(path, q).map(|r| r.0);
        let theirs = tb.try_get(path, q).map(|r| r.0);
        if ours != Some(400) || theirs != Some(tensorboard) {
            problems.push(format!(
                "{path} {q:?}: HTTP {ours:?} vs {theirs:?}, want 400 and {tensorboard}"
            ));
        }
    }
}

/// Polls `s` until `path?run=R&tag=T` answers, for every `(R, T, n)` of `want`, with a length
/// of `n` as `len(answer, R)` reads it.
fn wait_for_lengths(
    s: &mut dyn Server,
    path: &str,
    want: &[(&str, &str, usize)],
    len: impl Fn(&Json, &str) -> Option<usize>,
) {
    let deadline = Instant::now() + TIMEOUT;
    for &(run, tag, n) in want {
        let q = [("run", run), ("tag", tag)];
        loop {
            let got = s.try_json(path, &q).and_then(|j| len(&j, run));
            if got == Some(n) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {path} {run}/{tag} has {got:?}, want {n}",
                s.name()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The pairs of a URL query (`+` and `%XX` decoded).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| -> String {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1..i + 3)) {
                (b'%', Some(hex)) => {
                    let hex = std::str::from_utf8(hex).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Meshes: the `mesh` entry of `plugins_listing`, the meshes and their batch sizes (`tags`),
/// each mesh's parts and their metadata (`meshes`; parts of one step sorted by content type,
/// as TensorBoard lists them in its data server's hash order), and the bytes of every part of
/// every step and sample (`data`: float32 vertices, int32 faces, uint8 colours), from
/// tensorboardX (`name_1` tags, float tensors), TensorBoard's own form (a batch of two,
/// `tensor_content`) and runboard's SummaryWriter (torch's form). Bad requests: a bad content
/// type is a 400 from both; a bad step or a missing run is runboard's 400 where TensorBoard
/// fails with a 500.
fn compare_mesh(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    // (run, mesh, parts over all steps)
    let want = [
        ("mesh/a", "cube", 9),
        ("mesh/a", "cloud", 4),
        ("mesh/b", "pyramid", 6),
        ("sdk", "tetra", 6),
        ("sdk", "points", 1),
    ];
    let path = "/data/plugin/mesh/meshes";
    for s in [rb as &mut dyn Server, tb as &mut dyn Server] {
        wait_for_lengths(s, path, &want, |j, _| j.as_array().map(Vec::len));
    }
    let listing = |s: &mut dyn Server| {
        exact(&fetch(s, "/data/plugins_listing", &[]).unwrap())["mesh"].clone()
    };
    let (ours, theirs) = (listing(rb), listing(tb));
    if ours != theirs || ours["enabled"] != true {
        problems.push(format!(
            "plugins_listing mesh: ours {ours}, TensorBoard's {theirs}"
        ));
    }
    let tags = |s: &mut dyn Server| s.json("/data/plugin/mesh/tags", &[]);
    let (ours, theirs) = (tags(rb), tags(tb));
    if ours != theirs {
        problems.push(format!("mesh/tags: ours {ours}, TensorBoard's {theirs}"));
    }
    let parts = |s: &mut dyn Server, run: &str, tag: &str| -> Vec<Json> {
        let mut parts = s
            .json(path, &[("run", run), ("tag", tag)])
            .as_array()
            .cloned()
            .unwrap();
        parts.sort_by_key(|p| (p["step"].to_string(), p["content_type"].to_string()));
        parts
    };
    let data = "/data/plugin/mesh/data";
    for (run, tag, _) in want {
        let (ours, theirs) = (parts(rb, run, tag), parts(tb, run, tag));
        if ours != theirs {
            problems.push(format!(
                "{path} {run}/{tag}: ours {ours:?}, TensorBoard's {theirs:?}"
            ));
            continue;
        }
        for part in &ours {
            let text = |v: &Json| v.as_str().unwrap_or_else(|| panic!("{part}")).to_owned();
            let step = text(&part["step"]);
            let content_type = match text(&part["content_type"]).as_str() {
                "1" => "VERTEX",
                "2" => "FACE",
                _ => "COLOR",
            };
            let batch: i64 = text(&part["data_shape"][0]).parse().unwrap();
            let rows: i64 = text(&part["data_shape"][1]).parse().unwrap();
            // Every sample, and the last one counted from the end (numpy's -1).
            let samples: Vec<String> = (0..batch)
                .map(|i| i.to_string())
                .chain(["-1".into()])
                .collect();
            for sample in &samples {
                let q = [
                    ("run", run),
                    ("tag", tag),
                    ("content_type", content_type),
                    ("step", &step),
                    ("sample", sample),
                ];
                match (fetch(rb, data, &q), fetch(tb, data, &q)) {
                    (Ok(a), Ok(b)) if a == b => {
                        let size = if content_type == "COLOR" { 1 } else { 4 };
                        if a.len() as i64 != rows * 3 * size {
                            problems.push(format!("{data} {q:?}: {} bytes", a.len()));
                        }
                    }
                    (a, b) => {
                        problems.push(format!("{data} {q:?}: ours {a:?}, TensorBoard's {b:?}"))
                    }
                }
            }
        }
    }
    // Bad requests: (query, TensorBoard's status); runboard answers 400 to each.
    let cases: [(&[(&str, &str)], u16); 4] = [
        (
            &[("run", "mesh/a"), ("tag", "cube"), ("content_type", "EDGE")],
            400,
        ),
        (&[("run", "mesh/a"), ("tag", "cube")], 400),
        (
            &[
                ("run", "mesh/a"),
                ("tag", "cube"),
                ("content_type", "VERTEX"),
                ("step", "x"),
            ],
            500,
        ),
        (&[("content_type", "VERTEX")], 500),
    ];
    for (q, tensorboard) in cases {
        let ours = rb.try_get(data, q).map(|r| r.0);
        let theirs = tb.try_get(data, q).map(|r| r.0);
        if ours != Some(400) || theirs != Some(tensorboard) {
            problems.push(format!(
                "{data} {q:?}: HTTP {ours:?} vs {theirs:?}, want 400 and {tensorboard}"
            ));
        }
    }
}

/// The projector: the `projector` entry of `plugins_listing`, the runs with embeddings, each
/// run's config (`info`, byte for byte), and for each embedding its tensor, metadata, sprite
/// image and bookmarks, whole and cut to `num_rows`: the same status, and the same bytes when
/// it is a 200. The fixtures hold tensorboardX's `add_embedding` (TSV tensors, a metadata
/// column, a metadata table with a header, a sprite) and a config in a run's plugin assets
/// folder naming a raw float32 tensor and bookmarks, and the SDK's `add_embedding`. Bad requests (no run, an unknown run, no
/// name, `num_rows=0`) are 400s from both.
fn compare_projector(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    // TensorBoard finds configs on a thread its first `plugins_listing` starts.
    for s in [rb as &mut dyn Server, tb as &mut dyn Server] {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let listing = s.try_json("/data/plugins_listing", &[]);
            let runs = s.try_json("/data/plugin/projector/runs", &[]);
            let ready = listing.is_some_and(|l| l["projector"]["enabled"] == true)
                && runs.and_then(|r| r.as_array().map(Vec::len)) == Some(3);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "{}: no projector data", s.name());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let listing = |s: &mut dyn Server| {
        exact(&fetch(s, "/data/plugins_listing", &[]).unwrap())["projector"].clone()
    };
    let (ours, theirs) = (listing(rb), listing(tb));
    if ours != theirs {
        problems.push(format!(
            "plugins_listing projector: ours {ours}, TensorBoard's {theirs}"
        ));
    }
    let runs = |s: &mut dyn Server| -> BTreeSet<String> {
        s.json("/data/plugin/projector/runs", &[])
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    };
    let (ours, theirs) = (runs(rb), runs(tb));
    if ours != theirs {
        problems.push(format!(
            "projector/runs: ours {ours:?}, TensorBoard's {theirs:?}"
        ));
    }
    let same = |rb: &mut Runboard,
                tb: &mut TensorBoard,
                route: &str,
                q: &[(&str, &str)],
                problems: &mut Vec<String>| {
        let path = format!("/data/plugin/projector/{route}");
        let (a, b) = (rb.try_get(&path, q), tb.try_get(&path, q));
        match (a, b) {
            (Some((200, a)), Some((200, b))) if a == b => {}
            (Some((400, _)), Some((400, _))) => {}
            (a, b) => problems.push(format!(
                "{path} {q:?}: ours {:?}, TensorBoard's {:?}",
                a.map(|(s, body)| (s, head(&body))),
                b.map(|(s, body)| (s, head(&body)))
            )),
        }
    };
    let mut names = 0;
    for run in theirs {
        same(rb, tb, "info", &[("run", &run)], problems);
        let info = tb.json("/data/plugin/projector/info", &[("run", &run)]);
        for e in info["embeddings"].as_array().unwrap() {
            let name = e["tensorName"].as_str().unwrap();
            names += 1;
            // runboard lists an embedding before its values are stored (a 404 until then).
            let q = [("run", run.as_str()), ("name", name)];
            let deadline = Instant::now() + TIMEOUT;
            while rb.try_get("/data/plugin/projector/tensor", &q).map(|r| r.0) == Some(404)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            for route in ["tensor", "metadata", "sprite_image", "bookmarks"] {
                same(rb, tb, route, &[("run", &run), ("name", name)], problems);
            }
            for route in ["tensor", "metadata"] {
                let q = [("run", run.as_str()), ("name", name), ("num_rows", "2")];
                same(rb, tb, route, &q, problems);
            }
        }
    }
    assert_eq!(names, 4, "the fixtures' embeddings and the SDK's");
    let bad: [(&str, &[(&str, &str)]); 4] = [
        ("info", &[]),
        ("info", &[("run", "nope")]),
        ("tensor", &[("run", "projector/a")]),
        (
            "tensor",
            &[
                ("run", "projector/a"),
                ("name", "default:00000"),
                ("num_rows", "0"),
            ],
        ),
    ];
    for (route, q) in bad {
        let path = format!("/data/plugin/projector/{route}");
        let (a, b) = (rb.try_get(&path, q), tb.try_get(&path, q));
        if a.as_ref().map(|r| r.0) != Some(400) || b.as_ref().map(|r| r.0) != Some(400) {
            problems.push(format!(
                "{path} {q:?}: HTTP {:?} vs {:?}, want 400 from both",
                a.map(|r| r.0),
                b.map(|r| r.0)
            ));
        }
    }
}

/// Audio: the `audio` entry of `plugins_listing`, the tags with their most clips a step, each
/// clip's listing (all but the opaque `query`, whose blob key is each server's own) and its
/// bytes fetched with that query from each server; a media type TensorBoard does not serve as
/// is a 400 from both, an unknown tag a 404. The fixtures hold legacy `Summary.Audio` values
/// (tensorboardX) and TF2's `[k, 2]` tensors with labels.
fn compare_audio(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    // (run, tag, clips a step, steps)
    let want = [
        ("audio/a", "noise", 1, 2),
        ("audio/a", "tone", 1, 2),
        ("audio/b", "speech", 2, 2),
    ];
    let path = "/data/plugin/audio/audio";
    let steps: Vec<(&str, &str, usize)> = want.iter().map(|(r, t, _, n)| (*r, *t, *n)).collect();
    for s in [rb as &mut dyn Server, tb as &mut dyn Server] {
        wait_for_lengths(s, path, &steps, |j, _| j.as_array().map(Vec::len));
    }
    let listing = |s: &mut dyn Server| {
        exact(&fetch(s, "/data/plugins_listing", &[]).unwrap())["audio"].clone()
    };
    let (ours, theirs) = (listing(rb), listing(tb));
    if ours != theirs || ours["enabled"] != true {
        problems.push(format!(
            "plugins_listing audio: ours {ours}, TensorBoard's {theirs}"
        ));
    }
    let samples = |s: &mut dyn Server| -> BTreeMap<(String, String), Json> {
        let tags = s.json("/data/plugin/audio/tags", &[]);
        let mut out = BTreeMap::new();
        for (run, tags) in tags.as_object().unwrap() {
            for (tag, info) in tags.as_object().unwrap() {
                out.insert((run.clone(), tag.clone()), info["samples"].clone());
            }
        }
        out
    };
    let (ours, theirs) = (samples(rb), samples(tb));
    if ours != theirs {
        problems.push(format!(
            "audio/tags samples: ours {ours:?}, TensorBoard's {theirs:?}"
        ));
    }
    let individual = "/data/plugin/audio/individualAudio";
    let clip = |s: &mut dyn Server, query: &str| -> Result<Vec<u8>, String> {
        let pairs = query_pairs(query);
        let q: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        fetch(s, individual, &q)
    };
    for (run, tag, clips, _) in want {
        // (A sample index equal to a step's clip count is a 500 in TensorBoard 2.21: it checks
        // `len(values) < sample`, then indexes; runboard answers without that step.)
        for sample in 0..clips {
            let sample = sample.to_string();
            let q = [("run", run), ("tag", tag), ("sample", sample.as_str())];
            let (ours, theirs) = (exact(&rb.bytes(path, &q)), exact(&tb.bytes(path, &q)));
            let without_query = |j: &Json| -> Json {
                let mut j = j.clone();
                for e in j.as_array_mut().unwrap() {
                    e.as_object_mut().unwrap().remove("query");
                }
                j
            };
            // TensorBoard 2.21 calls tensorboardX's WAV clips (legacy `Summary.Audio`)
            // application/octet-stream (its data server writes no encoding for them); runboard
            // says audio/wav, as their `content_type` does.
            let mut theirs_seen = theirs.clone();
            if run == "audio/a" {
                for e in theirs_seen.as_array_mut().unwrap() {
                    assert_eq!(e["contentType"], "application/octet-stream", "{theirs}");
                    e["contentType"] = Json::from("audio/wav");
                }
            }
            if without_query(&ours) != without_query(&theirs_seen) {
                problems.push(format!("{path} {q:?}: ours {ours}, TensorBoard's {theirs}"));
                continue;
            }
            for (a, b) in ours
                .as_array()
                .unwrap()
                .iter()
                .zip(theirs.as_array().unwrap())
            {
                let (a, b) = (
                    clip(rb, a["query"].as_str().unwrap()),
                    clip(tb, b["query"].as_str().unwrap()),
                );
                match (a, b) {
                    (Ok(a), Ok(b)) if a == b => assert!(a.starts_with(b"RIFF")),
                    (a, b) => problems.push(format!(
                        "{individual} for {run}/{tag} sample {sample}: ours {:?}, TensorBoard's {:?}",
                        a.map(|x| x.len()),
                        b.map(|x| x.len())
                    )),
                }
            }
        }
    }
    // A media type TensorBoard does not serve as, and an unknown tag.
    let status = |s: &mut dyn Server| {
        let listed = s.json(path, &[("run", "audio/a"), ("tag", "tone")]);
        let mut pairs = query_pairs(listed[0]["query"].as_str().unwrap());
        for (k, v) in &mut pairs {
            if k == "content_type" {
                *v = "text/html".into();
            }
        }
        let q: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        s.try_get(individual, &q).map(|r| r.0)
    };
    let (a, b) = (status(rb), status(tb));
    if (a, b) != (Some(400), Some(400)) {
        problems.push(format!(
            "{individual} as text/html: HTTP {a:?} vs {b:?}, want 400"
        ));
    }
    let q = [("run", "audio/a"), ("tag", "nope")];
    let (a, b) = (
        rb.try_get(path, &q).map(|r| r.0),
        tb.try_get(path, &q).map(|r| r.0),
    );
    if (a, b) != (Some(404), Some(404)) {
        problems.push(format!("{path} {q:?}: HTTP {a:?} vs {b:?}, want 404"));
    }
}

/// Graphs: the `graphs` entry of `plugins_listing`, `info`, and each run's graph as text, whole
/// and as TensorBoard's front end asks for it (attributes over 1 KiB dropped and named), byte
/// for byte.
fn compare_graphs(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    let listing = |s: &mut dyn Server| {
        exact(&fetch(s, "/data/plugins_listing", &[]).unwrap())["graphs"].clone()
    };
    let (ours, theirs) = (listing(rb), listing(tb));
    if ours != theirs || ours["enabled"] != true {
        problems.push(format!(
            "plugins_listing graphs: ours {ours}, TensorBoard's {theirs}"
        ));
    }
    let info = "/data/plugin/graphs/info";
    let (ours, theirs) = (
        exact(&fetch(rb, info, &[]).unwrap()),
        exact(&fetch(tb, info, &[]).unwrap()),
    );
    if ours != theirs {
        problems.push(format!("{info}: ours {ours}, TensorBoard's {theirs}"));
    }
    let runs: Vec<String> = theirs
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    assert!(
        runs.contains(&"graph".to_owned()),
        "TensorBoard lists no graph: {theirs}"
    );
    assert_eq!(
        theirs["graph"]["tags"]["step1"]["profile"], true,
        "{theirs}"
    );
    // Run metadata (a profile) of every tag, as text.
    let path = "/data/plugin/graphs/run_metadata";
    for run in &runs {
        let tags: Vec<String> = theirs[run]["tags"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for tag in &tags {
            let q = [("run", run.as_str()), ("tag", tag.as_str())];
            if let Some(text) = same_bytes(rb, tb, path, &q, problems) {
                assert!(text.contains("node_stats {"), "{text}");
            }
        }
    }
    let path = "/data/plugin/graphs/graph";
    for run in &runs {
        let whole = [("run", run.as_str())];
        let limited = [
            ("run", run.as_str()),
            ("limit_attr_size", "1024"),
            ("large_attrs_key", "_too_large_attrs"),
        ];
        for q in [&whole[..], &limited[..]] {
            let Some(text) = same_bytes(rb, tb, path, q, problems) else {
                continue;
            };
            if run == "graph_tf" {
                // Its graph_def, not its meta graph's (the same graph here, but TensorBoard
                // 2.21 reads only graph_def).
                assert!(text.contains("op: \"VariableV2\""), "{text}");
                continue;
            }
            assert!(text.contains("op: \"aten::linear\""), "{text}");
            assert_eq!(
                text.contains("key: \"_too_large_attrs\""),
                q.len() > 1,
                "{text}"
            );
        }
    }
}

/// Custom scalars: the `custom_scalars` entry of `plugins_listing`, the merged layout (byte for
/// byte), the scalars of the tags a regex matches (valid, invalid, empty) and `download_data`.
fn compare_custom_scalars(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    let listing = |s: &mut dyn Server| {
        exact(&fetch(s, "/data/plugins_listing", &[]).unwrap())["custom_scalars"].clone()
    };
    let (ours, theirs) = (listing(rb), listing(tb));
    if ours != theirs || ours["enabled"] != true {
        problems.push(format!(
            "plugins_listing custom_scalars: ours {ours}, TensorBoard's {theirs}"
        ));
    }
    let layout = "/data/plugin/custom_scalars/layout";
    if let Some(text) = same_bytes(rb, tb, layout, &[], problems) {
        // Both runs' categories, merged by title: Taiwan holds twse once and tpex.
        assert!(
            text.contains("\"tpex\"") && text.contains("Caf\\u00e9"),
            "{text}"
        );
        assert_eq!(text.matches("\"title\": \"twse\"").count(), 1, "{text}");
    }
    let scalars = "/data/plugin/custom_scalars/scalars";
    for (run, tag) in [
        ("custom_scalars/a", "twse/.*"),
        ("custom_scalars/b", "tpex/.*"),
        ("custom_scalars/b", "loss"),
        ("custom_scalars/a", "("),
        ("custom_scalars/a", ""),
        ("no_such_run", "loss"),
    ] {
        let q = [("run", run), ("tag", tag)];
        match (fetch(rb, scalars, &q), fetch(tb, scalars, &q)) {
            (Ok(a), Ok(b)) => {
                let (a, b) = (exact(&a), exact(&b));
                if a != b {
                    problems.push(format!("{scalars} {q:?}: ours {a}, TensorBoard's {b}"));
                }
            }
            (a, b) => {
                problems.extend(a.err());
                problems.extend(b.err());
            }
        }
    }
    let download = "/data/plugin/custom_scalars/download_data";
    for format in ["json", "csv"] {
        let q = [
            ("run", "custom_scalars/a"),
            ("tag", "dow/bbb"),
            ("format", format),
        ];
        same_bytes(rb, tb, download, &q, problems);
    }
}

fn compare_text(rb: &mut Runboard, tb: &mut TensorBoard, problems: &mut Vec<String>) {
    let ours = tag_sets(&rb.json("/data/plugin/text/tags", &[]));
    let theirs = tag_sets(&tb.json("/data/plugin/text/tags", &[]));
    compare_tags(TEXT, &ours, &theirs, problems);
    let path = data_path(TEXT);
    let mut with_script = 0;
    for (run, tags) in &ours {
        for tag in tags {
            let q = [("run", run.as_str()), ("tag", tag.as_str())];
            let (a, b) = match (fetch(rb, path, &q), fetch(tb, path, &q)) {
                (Ok(a), Ok(b)) => (text_points(&exact(&a)), text_points(&exact(&b))),
                (a, b) => {
                    problems.extend(a.err());
                    problems.extend(b.err());
                    continue;
                }
            };
            let steps = |t: &[(f64, i64, String)]| -> Vec<(f64, i64)> {
                t.iter().map(|p| (p.0, p.1)).collect()
            };
            if steps(&a) != steps(&b) {
                problems.push(format!(
                    "text {run}/{tag}: (wall_time, step) runboard {:?}, TensorBoard {:?}",
                    steps(&a),
                    steps(&b)
                ));
                continue;
            }
            for ((_, step, ours), (_, _, theirs)) in a.iter().zip(&b) {
                let what = format!("text {run}/{tag} step {step}");
                let mut differs = |why: &str| {
                    problems.push(format!(
                        "{what}: {why}\nrunboard    {ours:?}\nTensorBoard {theirs:?}"
                    ))
                };
                if visible_text(ours) != visible_text(theirs) {
                    differs("not the same rendered text");
                }
                if elements(ours) != elements(theirs) {
                    differs("not the same Markdown elements");
                }
                for html in [ours, theirs] {
                    if html.to_ascii_lowercase().contains("<script") {
                        differs("a raw <script>");
                    }
                }
                let escaped = [ours, theirs].map(|h| h.contains("&lt;script&gt;"));
                if escaped[0] != escaped[1] {
                    differs("&lt;script&gt; in one only");
                }
                if escaped[0] && escaped[1] {
                    with_script += 1;
                    for want in [
                        "<h1>",
                        "<strong>bold</strong>",
                        "<em>italic</em>",
                        "<code>code</code>",
                        "<th>metric</th>",
                    ] {
                        if !(ours.contains(want) && theirs.contains(want)) {
                            differs(&format!("{want} missing"));
                        }
                    }
                }
            }
        }
    }
    // sdk/notes, tbx/notes/text_summary and tb_ops/readme hold the Markdown with <script>.
    assert!(
        with_script >= 3,
        "only {with_script} texts with an escaped <script> compared"
    );
}

// ---------------------------------------------------------------------------------------------

/// The same logdir (fixtures from tensorboardX and TensorBoard's own ops, runboard's
/// SummaryWriter, a restarted run, a truncated file, a damaged record) served by runboard and
/// by TensorBoard 2.21 with its Rust data server: the `/data/*` answers agree, except where
/// runboard keeps more (see [`DATA_SERVER_DROPS`], [`check_damaged`]) and in the documented
/// presentation differences (tag display names, text HTML layout).
#[test]
fn runboard_and_tensorboard_serve_the_same_data() {
    let started = Instant::now();
    let logdir = build_logdir();
    let tmp = logdir.root.parent().unwrap().to_path_buf();
    let mut tb = TensorBoard::start(&logdir.root, true, &tmp.join("tb.log"));
    let mut rb = Runboard::start(&logdir.root, &tmp.join("db.sqlite"));

    let want = expected_counts(&logdir.root);
    wait_loaded(&mut rb, &want);
    // TensorBoard: less the series its data server drops, and the damaged file's (it may stop
    // at the bad record): the sentinel after it says the file has been read.
    let mut tb_want = want.clone();
    tb_want.retain(|(plugin, run, tag), _| {
        !(*plugin == SCALARS
            && (dropped_by_data_server(run, tag) || (run == "damaged" && tag == "loss")))
    });
    wait_loaded(&mut tb, &tb_want);
    let loaded = started.elapsed();

    // `--load_fast=true` fails rather than fall back; check that the data server answers.
    let env = tb.json("/data/environment", &[]);
    let provider = env["debug"]["data_provider"].as_str().unwrap_or_default();
    assert!(provider.starts_with("GrpcDataProvider"), "{env}");

    let mut problems = Vec::new();
    compare_runs(&mut rb, &mut tb, &mut problems);
    compare_scalars(&mut rb, &mut tb, logdir.lost_step, &mut problems);
    compare_histograms(&mut rb, &mut tb, &logdir.root, &mut problems);
    compare_text(&mut rb, &mut tb, &mut problems);
    compare_graphs(&mut rb, &mut tb, &mut problems);
    compare_custom_scalars(&mut rb, &mut tb, &mut problems);
    compare_pr_curves(&mut rb, &mut tb, &mut problems);
    compare_audio(&mut rb, &mut tb, &mut problems);
    compare_mesh(&mut rb, &mut tb, &mut problems);
    compare_projector(&mut rb, &mut tb, &mut problems);
    eprintln!(
        "loaded by both in {loaded:?}, compared in {:?}",
        started.elapsed() - loaded
    );
    assert!(
        problems.is_empty(),
        "{} differences between runboard and TensorBoard:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The HParams plugin: its own logdirs (one experiment each, as TensorBoard picks one of several
// by chance).

/// The scalar series of a fixture logdir (every run under `root`) and their point counts.
fn fixture_scalar_counts(root: &Path) -> BTreeMap<Key, usize> {
    let mut want = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let run = dir
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let run = if run.is_empty() { ".".to_owned() } else { run };
            let (events, _) = read_events(&path).unwrap();
            for v in events.iter().flat_map(|e| &e.values) {
                if matches!(v.value, Value::Scalar(_)) {
                    *want
                        .entry((SCALARS, run.clone(), v.tag.clone()))
                        .or_default() += 1;
                }
            }
        }
    }
    want
}

/// A JSON answer with every number as an `f64` (both servers write the same numbers in
/// different text: `1e-05` and `1e-5`), and, with `sort_domains`, each hyperparameter's
/// discrete domain sorted (TensorBoard builds it from a Python set: its order is chance).
fn normalized(body: &[u8], sort_domains: bool) -> Json {
    fn walk(v: &mut Json, sort_domains: bool) {
        match v {
            Json::Object(map) => {
                for (k, child) in map.iter_mut() {
                    walk(child, sort_domains);
                    if sort_domains && k == "domainDiscrete" {
                        if let Json::Array(items) = child {
                            items.sort_by_key(|i| i.to_string());
                        }
                    }
                }
            }
            Json::Array(items) => items.iter_mut().for_each(|i| walk(i, sort_domains)),
            _ => {}
        }
    }
    let mut json: Json = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)));
    walk(&mut json, sort_domains);
    json
}

/// The requests TensorBoard's HParams front end and scripts send, for a logdir whose
/// experiment has these hyperparameters.
fn hparams_requests(hparams: &[String], declared: bool) -> Vec<(&'static str, String)> {
    let all = r#""allowedStatuses":["STATUS_FAILURE","STATUS_RUNNING","STATUS_SUCCESS","STATUS_UNKNOWN"]"#;
    let front_end: Vec<String> = hparams
        .iter()
        .map(|h| {
            format!(
                r#"{{"hparam":{},"includeInResult":true}}"#,
                Json::from(h.as_str())
            )
        })
        .collect();
    let mut out = vec![
        ("experiment", "{}".to_owned()),
        ("experiment", r#"{"experimentName":"","includeMetrics":false}"#.to_owned()),
        ("experiment", r#"{"hparamsLimit":2}"#.to_owned()),
        ("experiment", r#"{"hparams_limit":"1","include_metrics":true}"#.to_owned()),
        // What the front end asks (metrics left out, every hparam included).
        (
            "session_groups",
            format!(
                r#"{{"experimentName":"",{all},"colParams":[{}],"startIndex":0,"sliceSize":1000000,"includeMetrics":false}}"#,
                front_end.join(",")
            ),
        ),
        ("session_groups", format!(r#"{{{all},"sliceSize":100}}"#)),
        // No allowed status: no session.
        ("session_groups", r#"{"sliceSize":100}"#.to_owned()),
        ("session_groups", format!(r#"{{{all},"startIndex":1,"sliceSize":2}}"#)),
        ("session_groups", format!(r#"{{{all},"startIndex":-2,"sliceSize":5}}"#)),
        (
            "session_groups",
            r#"{"allowedStatuses":[1, "STATUS_UNKNOWN"],"sliceSize":100,"aggregationType":"AGGREGATION_AVG"}"#
                .to_owned(),
        ),
    ];
    let (first, second) = (&hparams[0], &hparams[hparams.len() - 1]);
    for order in ["ORDER_ASC", "ORDER_DESC"] {
        for missing_first in [false, true] {
            out.push((
                "session_groups",
                format!(
                    r#"{{{all},"sliceSize":100,"colParams":[{{"hparam":"{second}","order":"{order}","missingValuesFirst":{missing_first}}},{{"hparam":"{first}","order":"ORDER_DESC"}}]}}"#
                ),
            ));
        }
    }
    if declared {
        out.extend([
            (
                "session_groups",
                format!(
                    r#"{{{all},"sliceSize":100,"colParams":[{{"metric":{{"tag":"loss"}},"order":"ORDER_DESC"}},{{"hparam":"optimizer","filterDiscrete":["adam"]}},{{"hparam":"lr","filterInterval":{{"minValue":0.005,"maxValue":0.2}}}}],"aggregationType":"AGGREGATION_MEDIAN","aggregationMetric":{{"tag":"loss"}}}}"#
                ),
            ),
            (
                "session_groups",
                format!(
                    r#"{{{all},"sliceSize":100,"colParams":[{{"hparam":"optimizer","filterRegexp":"^s"}},{{"hparam":"lr","order":"ORDER_ASC","includeInResult":false}},{{"hparam":"layers","includeInResult":true}}]}}"#
                ),
            ),
            (
                "session_groups",
                // Not the running session (no accuracy: TensorBoard's `min` of nothing fails).
                r#"{"allowedStatuses":[0,1,2],"sliceSize":100,"aggregationType":"AGGREGATION_MIN","aggregationMetric":{"group":"validation","tag":"accuracy"}}"#
                    .to_owned(),
            ),
            (
                "session_groups",
                // Not the running session (no accuracy: TensorBoard's `max` of nothing fails
                // with a 500; runboard gives such a group no metrics).
                r#"{"allowedStatuses":[0,1,2],"sliceSize":100,"aggregationType":"AGGREGATION_MAX","aggregationMetric":{"group":"validation","tag":"accuracy"},"colParams":[{"metric":{"group":"validation","tag":"accuracy"},"excludeMissingValues":true,"order":"ORDER_ASC"}]}"#
                    .to_owned(),
            ),
            (
                "session_groups",
                r#"{"allowedStatuses":["STATUS_SUCCESS"],"sliceSize":100,"colParams":[{"hparam":"batch_norm","filterDiscrete":[true]},{"hparam":"dropout","excludeMissingValues":true}]}"#
                    .to_owned(),
            ),
            (
                "metric_evals",
                r#"{"sessionName":"trial_0","metricName":{"group":"validation","tag":"accuracy"}}"#
                    .to_owned(),
            ),
            ("metric_evals", r#"{"sessionName":"trial_3","metricName":{"tag":"loss"}}"#.to_owned()),
        ]);
    } else {
        out.extend([
            (
                "session_groups",
                format!(r#"{{{all},"sliceSize":100,"colParams":[{{"hparam":"lr","filterRegexp":"a"}}]}}"#),
            ),
            (
                "session_groups",
                format!(r#"{{{all},"sliceSize":100,"colParams":[{{"hparam":"lr","filterDiscrete":[0.5,"auto"]}},{{"metric":{{"group":"eval","tag":"acc"}},"order":"ORDER_DESC"}}]}}"#),
            ),
            (
                "metric_evals",
                r#"{"sessionName":"sweep/a","metricName":{"group":"eval","tag":"acc"}}"#.to_owned(),
            ),
        ]);
    }
    out
}

/// runboard and TensorBoard 2.21 answer the HParams plugin's routes alike: for a logdir whose
/// experiment one run declares (domains, labels, a metric of a sub-run; sessions of every
/// status, a group of two, NaN and null values) and for one with sessions only (the
/// experiment built from their values and scalar tags).
#[test]
fn runboard_and_tensorboard_serve_the_same_hparams() {
    let fixtures = common::repo().join("tests/fixtures/logdirs");
    let mut problems = Vec::new();
    for (name, declared) in [("hparams", true), ("hparams_runs", false)] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("logs");
        common::copy_dir(&fixtures.join(name), &root);
        let want = fixture_scalar_counts(&root);
        let mut tb = TensorBoard::start(&root, true, &tmp.path().join("tb.log"));
        let mut rb = Runboard::start(&root, &tmp.path().join("db.sqlite"));
        wait_loaded(&mut rb, &want);
        wait_loaded(&mut tb, &want);

        let listing = |s: &mut dyn Server| s.json("/data/plugins_listing", &[])["hparams"].clone();
        let (ours, theirs) = (listing(&mut rb), listing(&mut tb));
        if ours != theirs {
            problems.push(format!(
                "{name}: plugins_listing hparams: {ours} vs {theirs}"
            ));
        }
        let path = |route: &str| format!("/data/plugin/hparams/{route}");
        let experiment = normalized(&tb.bytes(&path("experiment"), &[("request", "{}")]), false);
        let hparams: Vec<String> = experiment["hparamInfos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(hparams.len() >= 4, "{name}: {experiment}");
        for (route, request) in hparams_requests(&hparams, declared) {
            let query = [("request", request.as_str())];
            let ours = rb.try_get(&path(route), &query).unwrap();
            let theirs = tb.try_get(&path(route), &query).unwrap();
            if ours.0 != theirs.0 {
                problems.push(format!(
                    "{name}: {route} {request}: HTTP {} vs {}: {}",
                    ours.0,
                    theirs.0,
                    String::from_utf8_lossy(&ours.1)
                ));
                continue;
            }
            if ours.0 != 200 {
                continue; // refused by both
            }
            let (a, b) = (
                normalized(&ours.1, !declared),
                normalized(&theirs.1, !declared),
            );
            if a != b {
                problems.push(format!(
                    "{name}: {route} {request}:\nrunboard:    {a}\nTensorBoard: {b}"
                ));
            }
        }
        // The table as a file: CSV byte for byte, JSON as values.
        let columns = hparams.len() + experiment["metricInfos"].as_array().unwrap().len();
        let visible: Vec<bool> = (0..columns).map(|i| i % 3 != 1).collect();
        for (format, visible) in [
            ("csv", vec![true; columns]),
            ("csv", visible.clone()),
            ("json", visible),
        ] {
            let visible = Json::from(visible).to_string();
            let request = r#"{"allowedStatuses":[0,1,2,3],"sliceSize":100}"#;
            let query = [
                ("format", format),
                ("columnsVisibility", visible.as_str()),
                ("request", request),
            ];
            let ours = rb.bytes(&path("download_data"), &query);
            let theirs = tb.bytes(&path("download_data"), &query);
            let same = match format {
                "json" => normalized(&ours, false) == normalized(&theirs, false),
                _ => ours == theirs,
            };
            if !same {
                problems.push(format!(
                    "{name}: download_data {format} {visible}:\nrunboard:    {}\nTensorBoard: {}",
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs)
                ));
            }
        }
        // Requests TensorBoard refuses are refused alike (400).
        for bad in [
            "not json",
            r#"{"colParams":[{"order":"ORDER_ASC"}],"allowedStatuses":[0]}"#,
            r#"{"unknownField":1}"#,
            r#"{"allowedStatuses":["STATUS_NOPE"]}"#,
        ] {
            let query = [("request", bad)];
            let ours = rb.try_get(&path("session_groups"), &query).unwrap().0;
            let theirs = tb.try_get(&path("session_groups"), &query).unwrap().0;
            if (ours, theirs) != (400, 400) {
                problems.push(format!(
                    "{name}: session_groups {bad}: HTTP {ours} vs {theirs}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences between runboard and TensorBoard:\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}
