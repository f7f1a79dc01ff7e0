//! Interop with the real TensorBoard and tensorboardX: their files decode in runboard exactly as TensorBoard reads them, and TensorBoard serves SummaryWriter's files (also truncated or damaged) faithfully.
#![allow(clippy::unwrap_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{TensorBoard, int, num, poll, same, same_f32, tb_dump};
use runboard_sdk::event::{HParams, Image};
use runboard_sdk::event_file::{FileReadReport, read_events};
use runboard_sdk::{DecodedEvent, HParamValue, SummaryWriter, Value};
use serde_json::Value as Json;

/// How long a TensorBoard gets to start and load a small logdir (CI is a slow 2-core machine).
const SERVE_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// One run's data, as runboard decodes it or as TensorBoard reads it, in a shape both produce.

type Series<T> = BTreeMap<String, Vec<(i64, f64, T)>>;

#[derive(Debug, Default)]
struct RunData {
    /// tag -> (step, wall_time, value).
    scalars: Series<f64>,
    /// tag -> (step, wall_time, [left, right, count] rows).
    histograms: Series<Vec<[f64; 3]>>,
    /// tag -> (step, wall_time, strings of the tensor, flattened).
    text: Series<Vec<String>>,
    /// tag -> (step, wall_time, (width, height, encoded images as hex)).
    images: Series<(u32, u32, Vec<String>)>,
    /// tag -> (step, wall_time, serialized GraphDefs as hex): a run's `Event.graph_def`.
    graphs: Series<Vec<String>>,
    /// `__meta_graph__` -> (step, wall_time, serialized `MetaGraphDef`s as hex): a run's
    /// `Event.meta_graph_def` (TensorBoard 2.21 shows nothing of it; runboard keeps it).
    meta_graphs: Series<Vec<String>>,
    /// tag -> (step, wall_time, the `[6, N]` values as little-endian float32, in hex).
    pr_curves: Series<Vec<String>>,
    /// tag -> (step, wall_time, each clip's bytes in hex).
    audio: Series<Vec<String>>,
    /// tag -> (step, wall_time, [the `[B, N, 3]` values as little-endian float32, the tag's
    /// `MeshPluginData`, both in hex]).
    meshes: Series<Vec<String>>,
    /// tag -> (step, wall_time, serialized custom scalars `Layout`s as hex).
    layouts: Series<Vec<String>>,
    /// tag -> (step, wall_time, serialized `RunMetadata` as hex): `Event.tagged_run_metadata`.
    run_metadata: Series<Vec<String>>,
    /// tag -> the hparams plugin data of the tag's first value (TensorBoard keeps the first
    /// metadata of a tag).
    hparams: BTreeMap<String, HParams>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Every event file under `logdir`, grouped by run (the file's directory relative to
/// `logdir`, `.` at the root), files of a run in name order.
fn event_files(logdir: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<PathBuf>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .contains("tfevents")
            {
                let rel = dir.strip_prefix(root).unwrap();
                let run = if rel.as_os_str().is_empty() {
                    ".".to_owned()
                } else {
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                };
                out.entry(run).or_default().push(path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(logdir, logdir, &mut out);
    out
}

/// Adds one file's decoded events to a run. Values runboard could not type are returned as
/// problems: every value in these files is of a kind runboard claims to understand.
fn add_events(run: &mut RunData, events: &[DecodedEvent], problems: &mut Vec<String>) {
    for ev in events {
        let (step, wall) = (ev.step, ev.wall_time);
        for tv in &ev.values {
            let tag = tv.tag.clone();
            match &tv.value {
                Value::Scalar(v) => run.scalars.entry(tag).or_default().push((step, wall, *v)),
                Value::Histogram(rows) => {
                    run.histograms
                        .entry(tag)
                        .or_default()
                        .push((step, wall, rows.clone()))
                }
                Value::Text(s) => run
                    .text
                    .entry(tag)
                    .or_default()
                    .push((step, wall, s.clone())),
                Value::Images(images) => {
                    // TensorBoard serves one width and height per image summary.
                    let (w, h) = images.first().map_or((0, 0), |i| (i.width, i.height));
                    let encoded = images.iter().map(|i: &Image| hex(&i.encoded)).collect();
                    run.images
                        .entry(tag)
                        .or_default()
                        .push((step, wall, (w, h, encoded)));
                }
                Value::HParams(h) => {
                    run.hparams.entry(tag).or_insert_with(|| h.clone());
                }
                // runboard's own run events (record, status): TensorBoard has no plugin for
                // them and shows nothing of them; neither is compared here.
                Value::Run(_) => {}
                // Bytes kept as written (graphs, run metadata, layouts): compared as hex.
                Value::Tensor { plugin, tensor, .. }
                    if plugin == runboard_sdk::event::plugin::AUDIO =>
                {
                    let Some(clips) = runboard_sdk::event::audio_clips(tensor) else {
                        problems.push(format!(
                            "tag {tag:?} at step {step}: not a [k, 2] clip list"
                        ));
                        continue;
                    };
                    let clips = clips.iter().map(|(a, _)| hex(a)).collect();
                    run.audio.entry(tag).or_default().push((step, wall, clips));
                }
                Value::Tensor { plugin, tensor, .. }
                    if plugin == runboard_sdk::event::plugin::PR_CURVES =>
                {
                    let Some(curve) = runboard_sdk::event::pr_curve(tensor) else {
                        problems.push(format!("tag {tag:?} at step {step}: not a [6, N] curve"));
                        continue;
                    };
                    let bytes: Vec<u8> = curve
                        .rows
                        .iter()
                        .flatten()
                        .flat_map(|&v| (v as f32).to_le_bytes())
                        .collect();
                    run.pr_curves
                        .entry(tag)
                        .or_default()
                        .push((step, wall, vec![hex(&bytes)]));
                }
                Value::Tensor {
                    plugin,
                    tensor,
                    content,
                } if plugin == runboard_sdk::event::plugin::MESH => {
                    let Some((_, values)) = runboard_sdk::mesh::part_values(tensor) else {
                        problems.push(format!("tag {tag:?} at step {step}: not a [B, N, 3] part"));
                        continue;
                    };
                    let bytes: Vec<u8> = values
                        .iter()
                        .flat_map(|&v| (v as f32).to_le_bytes())
                        .collect();
                    run.meshes.entry(tag).or_default().push((
                        step,
                        wall,
                        vec![hex(&bytes), hex(content)],
                    ));
                }
                Value::Tensor { plugin, tensor, .. } => {
                    use runboard_sdk::event::plugin as p;
                    let series = match plugin.as_str() {
                        p::GRAPHS if tag == runboard_sdk::event::META_GRAPH_TAG => {
                            &mut run.meta_graphs
                        }
                        p::GRAPHS => &mut run.graphs,
                        p::GRAPH_TAGGED_RUN_METADATA => &mut run.run_metadata,
                        p::CUSTOM_SCALARS => &mut run.layouts,
                        _ => {
                            problems.push(format!(
                                "tag {tag:?} at step {step}: left as a raw tensor of plugin {plugin:?}"
                            ));
                            continue;
                        }
                    };
                    let bytes = tensor.string_val.iter().map(|b| hex(b)).collect();
                    series.entry(tag).or_default().push((step, wall, bytes));
                }
            }
        }
    }
}

/// Nothing skipped, nothing unfinished, nothing that failed to decode.
fn reads_cleanly(r: &FileReadReport) -> bool {
    r.records.skipped_records == 0
        && r.unfinished_tail_bytes == 0
        && r.decode.bad_events == 0
        && r.decode.bad_values == 0
        && r.decode.unsupported_values == 0
}

/// What runboard's `read_events` makes of every file under `logdir`, by run. Files must read
/// cleanly: nothing skipped, nothing unfinished, nothing undecodable.
fn runboard_reads(logdir: &Path) -> (BTreeMap<String, RunData>, Vec<String>) {
    let mut runs = BTreeMap::new();
    let mut problems = Vec::new();
    for (run, files) in event_files(logdir) {
        let data: &mut RunData = runs.entry(run).or_default();
        for file in files {
            let (events, report) = read_events(&file).unwrap();
            if !reads_cleanly(&report) {
                problems.push(format!("{}: {report:?}", file.display()));
            }
            add_events(data, &events, &mut problems);
        }
    }
    (runs, problems)
}

fn hparam_value(v: &Json) -> HParamValue {
    if let Some(n) = v.get("number") {
        HParamValue::Number(num(n))
    } else if let Some(s) = v.get("string") {
        HParamValue::String(s.as_str().unwrap().to_owned())
    } else if let Some(b) = v.get("bool") {
        HParamValue::Bool(b.as_bool().unwrap())
    } else {
        panic!("unexpected hparam value {v}")
    }
}

/// What TensorBoard's loader found under an hparams tag: the plugin data's bytes, decoded as
/// runboard decodes them. (The parsed fields `tb_dump.py` also writes are checked against these
/// by [`hparams_fields_agree`].)
fn hparams_of(v: &Json) -> HParams {
    use runboard_sdk::proto::prost::Message;
    let hex = v["content_hex"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let data =
        runboard_sdk::proto::tensorboard::hparams::HParamsPluginData::decode(bytes.as_slice())
            .unwrap();
    let h = HParams::from_plugin_data(data).unwrap();
    hparams_fields_agree(&h, v);
    h
}

/// The fields TensorBoard's hparams plugin parsed from the bytes are those runboard's decoding
/// holds.
fn hparams_fields_agree(h: &HParams, v: &Json) {
    let strings = |v: &Json| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    match h {
        HParams::Experiment(e) => {
            let names: Vec<String> = e.hparam_infos.iter().map(|i| i.name.clone()).collect();
            let metrics: Vec<String> = e
                .metric_infos
                .iter()
                .map(|m| m.name.clone().unwrap_or_default().tag)
                .collect();
            assert_eq!(names, strings(&v["experiment"]["hparams"]), "{v}");
            assert_eq!(metrics, strings(&v["experiment"]["metrics"]), "{v}");
        }
        HParams::SessionStart {
            hparams,
            group_name,
            start_time_secs,
            ..
        } => {
            let s = &v["session_start"];
            let mut want: Vec<(String, HParamValue)> = s["hparams"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| v.get("other").is_none())
                .map(|(k, v)| (k.clone(), hparam_value(v)))
                .collect();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            // As text: a NaN value equals itself there (not by `==`).
            assert_eq!(format!("{hparams:?}"), format!("{want:?}"), "{v}");
            assert_eq!(group_name, s["group_name"].as_str().unwrap(), "{v}");
            assert!(same(*start_time_secs, num(&s["start_time_secs"])), "{v}");
        }
        HParams::SessionEnd {
            status,
            end_time_secs,
        } => {
            let e = &v["session_end"];
            assert_eq!(i64::from(*status), int(&e["status"]), "{v}");
            assert!(same(*end_time_secs, num(&e["end_time_secs"])), "{v}");
        }
    }
}

/// `tb_dump.py`'s series `{run: {tag: [[step, wall_time, ...rest], ...]}}`, by run.
fn tb_series<T>(
    dump: &Json,
    kind: &str,
    mut rest: impl FnMut(&[Json]) -> T,
) -> BTreeMap<String, Series<T>> {
    let mut out = BTreeMap::new();
    for (run, tags) in dump[kind].as_object().unwrap() {
        let series: &mut Series<T> = out.entry(run.clone()).or_default();
        for (tag, points) in tags.as_object().unwrap() {
            let points = points
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = p.as_array().unwrap();
                    (int(&p[0]), num(&p[1]), rest(&p[2..]))
                })
                .collect();
            series.insert(tag.clone(), points);
        }
    }
    out
}

/// What TensorBoard's own loader reads from `logdir` (through `tb_dump.py`), by run.
fn tensorboard_reads(dump: &Json) -> BTreeMap<String, RunData> {
    let mut runs: BTreeMap<String, RunData> = dump["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r.as_str().unwrap().to_owned(), RunData::default()))
        .collect();
    for (run, s) in tb_series(dump, "scalars", |rest| num(&rest[0])) {
        runs.entry(run).or_default().scalars = s;
    }
    let rows = |rest: &[Json]| -> Vec<[f64; 3]> {
        rest[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let r = r.as_array().unwrap();
                [num(&r[0]), num(&r[1]), num(&r[2])]
            })
            .collect()
    };
    for (run, s) in tb_series(dump, "histograms", rows) {
        runs.entry(run).or_default().histograms = s;
    }
    let strings = |rest: &[Json]| -> Vec<String> {
        rest[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    for (run, s) in tb_series(dump, "text", strings) {
        runs.entry(run).or_default().text = s;
    }
    let images = |rest: &[Json]| -> (u32, u32, Vec<String>) {
        let dim = |v: &Json| u32::try_from(int(v)).unwrap();
        let encoded = rest[2]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        (dim(&rest[0]), dim(&rest[1]), encoded)
    };
    for (run, s) in tb_series(dump, "images", images) {
        runs.entry(run).or_default().images = s;
    }
    for (run, s) in tb_series(dump, "graphs", strings) {
        runs.entry(run).or_default().graphs = s;
    }
    for (run, s) in tb_series(dump, "meta_graphs", strings) {
        runs.entry(run).or_default().meta_graphs = s;
    }
    for (run, s) in tb_series(dump, "pr_curves", strings) {
        runs.entry(run).or_default().pr_curves = s;
    }
    for (run, s) in tb_series(dump, "meshes", strings) {
        runs.entry(run).or_default().meshes = s;
    }
    for (run, s) in tb_series(dump, "audio", strings) {
        runs.entry(run).or_default().audio = s;
    }
    for (run, s) in tb_series(dump, "custom_scalars", strings) {
        runs.entry(run).or_default().layouts = s;
    }
    for (run, s) in tb_series(dump, "run_metadata", strings) {
        runs.entry(run).or_default().run_metadata = s;
    }
    for (run, tags) in dump["hparams"].as_object().unwrap() {
        let run = runs.entry(run.clone()).or_default();
        for (tag, v) in tags.as_object().unwrap() {
            run.hparams.insert(tag.clone(), hparams_of(v));
        }
    }
    runs
}

/// Compares two series tag by tag and point by point: `same` decides value equality and
/// `describe` says how two values differ.
fn compare_series<T>(
    what: &str,
    ours: &Series<T>,
    theirs: &Series<T>,
    same: impl Fn(&T, &T) -> bool,
    describe: impl Fn(&T, &T) -> String,
    problems: &mut Vec<String>,
) {
    let our_tags: BTreeSet<_> = ours.keys().collect();
    let their_tags: BTreeSet<_> = theirs.keys().collect();
    if our_tags != their_tags {
        problems.push(format!(
            "{what}: runboard has tags {our_tags:?}, TensorBoard {their_tags:?}"
        ));
    }
    for (tag, a) in ours {
        let Some(b) = theirs.get(tag) else { continue };
        if a.len() != b.len() {
            problems.push(format!(
                "{what} {tag:?}: runboard has {} points, TensorBoard {}",
                a.len(),
                b.len()
            ));
        }
        for ((s1, w1, v1), (s2, w2, v2)) in a.iter().zip(b) {
            if s1 != s2 || w1.to_bits() != w2.to_bits() || !same(v1, v2) {
                problems.push(format!(
                    "{what} {tag:?}: runboard at (step {s1}, time {w1}), TensorBoard at \
                     (step {s2}, time {w2}): {}",
                    describe(v1, v2)
                ));
            }
        }
    }
}

fn rows_equal(a: &[[f64; 3]], b: &[[f64; 3]], eq: fn(f64, f64) -> bool) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.iter().zip(y).all(|(p, q)| eq(*p, *q)))
}

fn debug_pair<T: std::fmt::Debug>(ours: &T, theirs: &T) -> String {
    format!("runboard {ours:?}, TensorBoard {theirs:?}")
}

/// The row counts and the first rows that differ (histograms can have hundreds of rows).
fn rows_difference(ours: &[[f64; 3]], theirs: &[[f64; 3]], eq: fn(f64, f64) -> bool) -> String {
    let first = ours
        .iter()
        .zip(theirs)
        .position(|(x, y)| !x.iter().zip(y).all(|(p, q)| eq(*p, *q)))
        .unwrap_or(ours.len().min(theirs.len()));
    format!(
        "runboard has {} rows, TensorBoard {}; first difference at row {first}: \
         runboard {:?}, TensorBoard {:?}",
        ours.len(),
        theirs.len(),
        ours.get(first..(first + 2).min(ours.len())).unwrap_or(&[]),
        theirs
            .get(first..(first + 2).min(theirs.len()))
            .unwrap_or(&[]),
    )
}

/// Runs whose histograms were written in the legacy `histo` format (tensorboardX). TensorBoard's
/// Python loader converts those to a float32 `[k, 3]` tensor
/// (`data_compat._migrate_histogram_value`) after dropping the empty buckets at both ends, so
/// runboard's rows (converted as TensorBoard's data server converts them, every bucket kept;
/// `tests/tb_compare.rs` checks those bit for bit) go through [`python_loader_rows`] and both
/// sides are compared after rounding to float32; TF2 `[k, 3]` double tensors bit for bit.
const LEGACY_HISTOGRAM_RUNS: &[&str] = &["tbx"];

/// TensorBoard's data server keeps a legacy histogram's empty end buckets (the first left edge
/// `min`, the last right edge `max`); its Python loader drops them first, then puts `min` and
/// `max` on the ends of what is left. This turns the first form into the second.
fn python_loader_rows(rows: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Vec::new();
    };
    let (min, max) = (first[0], last[1]);
    let Some(start) = rows.iter().position(|r| r[2] > 0.0) else {
        return Vec::new();
    };
    let end = rows.iter().rposition(|r| r[2] > 0.0).unwrap_or(start);
    let mut out = rows[start..=end].to_vec();
    out[0][0] = min;
    let last = out.len() - 1;
    out[last][1] = max;
    out
}

fn compare_runs(
    ours: &BTreeMap<String, RunData>,
    theirs: &BTreeMap<String, RunData>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let our_runs: BTreeSet<_> = ours.keys().collect();
    let their_runs: BTreeSet<_> = theirs.keys().collect();
    if our_runs != their_runs {
        problems.push(format!(
            "runs: runboard {our_runs:?}, TensorBoard {their_runs:?}"
        ));
    }
    for (run, a) in ours {
        let Some(b) = theirs.get(run) else { continue };
        let p = &mut problems;
        let scalar_eq = |x: &f64, y: &f64| same(*x, *y);
        let scalars = format!("[{run}] scalar");
        compare_series(&scalars, &a.scalars, &b.scalars, scalar_eq, debug_pair, p);
        let eq: fn(f64, f64) -> bool = if LEGACY_HISTOGRAM_RUNS.contains(&run.as_str()) {
            same_f32
        } else {
            same
        };
        let histogram_eq = |x: &Vec<[f64; 3]>, y: &Vec<[f64; 3]>| rows_equal(x, y, eq);
        let describe = |x: &Vec<[f64; 3]>, y: &Vec<[f64; 3]>| rows_difference(x, y, eq);
        let histograms = format!("[{run}] histogram");
        let mut ours_histograms = a.histograms.clone();
        if LEGACY_HISTOGRAM_RUNS.contains(&run.as_str()) {
            for points in ours_histograms.values_mut() {
                for point in points.iter_mut() {
                    point.2 = python_loader_rows(&point.2);
                }
            }
        }
        compare_series(
            &histograms,
            &ours_histograms,
            &b.histograms,
            histogram_eq,
            describe,
            p,
        );
        let (text, images) = (format!("[{run}] text"), format!("[{run}] image"));
        compare_series(&text, &a.text, &b.text, |x, y| x == y, debug_pair, p);
        compare_series(&images, &a.images, &b.images, |x, y| x == y, debug_pair, p);
        let graphs = format!("[{run}] graph");
        compare_series(&graphs, &a.graphs, &b.graphs, |x, y| x == y, debug_pair, p);
        let meta = format!("[{run}] meta graph");
        compare_series(
            &meta,
            &a.meta_graphs,
            &b.meta_graphs,
            |x, y| x == y,
            debug_pair,
            p,
        );
        let audio = format!("[{run}] audio");
        compare_series(&audio, &a.audio, &b.audio, |x, y| x == y, debug_pair, p);
        let meshes = format!("[{run}] mesh part");
        compare_series(&meshes, &a.meshes, &b.meshes, |x, y| x == y, debug_pair, p);
        let pr = format!("[{run}] PR curve");
        compare_series(
            &pr,
            &a.pr_curves,
            &b.pr_curves,
            |x, y| x == y,
            debug_pair,
            p,
        );
        let layouts = format!("[{run}] custom scalars layout");
        compare_series(
            &layouts,
            &a.layouts,
            &b.layouts,
            |x, y| x == y,
            debug_pair,
            p,
        );
        // As text: a NaN value equals itself there (not by `==`).
        if format!("{:?}", a.hparams) != format!("{:?}", b.hparams) {
            p.push(format!(
                "[{run}] hparams: runboard {:#?}\n    TensorBoard {:#?}",
                a.hparams, b.hparams
            ));
        }
    }
    problems
}

fn fail_on(problems: &[String], context: &str) {
    if problems.is_empty() {
        return;
    }
    let shown: Vec<&str> = problems.iter().take(25).map(String::as_str).collect();
    panic!(
        "{context}: {} difference(s):\n  {}{}",
        problems.len(),
        shown.join("\n  "),
        if problems.len() > shown.len() {
            "\n  ..."
        } else {
            ""
        }
    );
}

fn fixtures() -> PathBuf {
    common::repo().join("tests/fixtures/logdirs")
}

/// Every fixture file written by tensorboardX and by TensorBoard's own summary ops decodes in
/// runboard to exactly what TensorBoard's loader reads from it.
#[test]
fn fixtures_decode_to_what_tensorboard_reads() {
    let logdir = fixtures();
    let dump = tb_dump(&logdir);
    let theirs = tensorboard_reads(&dump);

    // The fixtures hold what they are meant to (regenerated by make_fixtures.py): without
    // these the comparison below could pass on nearly empty files.
    let has_non_finite = |run: &str| {
        let values: Vec<f64> = theirs[run]
            .scalars
            .values()
            .flatten()
            .map(|p| p.2)
            .collect();
        values.iter().any(|v| v.is_nan())
            && values.contains(&f64::INFINITY)
            && values.contains(&f64::NEG_INFINITY)
    };
    for run in ["tbx", "tb_ops"] {
        let r = &theirs[run];
        assert!(has_non_finite(run), "{run}: NaN and ±Inf scalars");
        assert!(!r.histograms.is_empty(), "{run}: histograms");
        assert!(
            r.text
                .values()
                .flatten()
                .any(|t| t.2.iter().any(|s| s.contains("<script>"))),
            "{run}: text with <script>"
        );
    }
    assert!(!theirs["tbx"].images.is_empty(), "tbx: an image");
    assert!(
        theirs["graph"]
            .graphs
            .contains_key(runboard_sdk::event::RUN_GRAPH_TAG),
        "graph: a model graph"
    );
    for run in ["tbx/hp", "tb_ops"] {
        let start = theirs[run].hparams.get("_hparams_/session_start_info");
        assert!(
            matches!(start, Some(HParams::SessionStart { hparams, .. }) if !hparams.is_empty()),
            "{run}: hparams, got {start:?}"
        );
    }
    assert!(
        theirs["tbx"].text.contains_key("notes/text_summary"),
        "tensorboardX's text tag gets /text_summary"
    );

    let (ours, mut problems) = runboard_reads(&logdir);
    problems.extend(compare_runs(&ours, &theirs));
    fail_on(&problems, "fixtures: runboard vs TensorBoard");
}

// ---------------------------------------------------------------------------------------------
// A logdir written by runboard's SummaryWriter, served by the real TensorBoard.

const MARKDOWN: &str = "# Results\n\n**bold** and _italic_, `code`\n\n\
                        | metric | value |\n|---|---|\n| loss | 0.25 |\n\n\
                        <script>alert('xss')</script>\n";

/// What the SDK was asked to log, and the file it wrote.
struct SdkLog {
    tmp: tempfile::TempDir,
    logdir: PathBuf,
    run: &'static str,
    file: PathBuf,
    /// tag -> (step, value as logged); TensorBoard must serve `f64::from(value as f32)`.
    scalars: BTreeMap<&'static str, Vec<(i64, f64)>>,
    /// step -> values given to `add_histogram("weights", ...)`.
    histograms: Vec<(i64, Vec<f64>)>,
    hparams: Vec<(&'static str, HParamValue)>,
    /// The model graph given to `add_graph_def`.
    graph: runboard_sdk::proto::tensorboard::GraphDef,
    /// The layout given to `add_custom_scalars`.
    layout: runboard_sdk::proto::tensorboard::Layout,
}

/// A custom scalars layout over the SDK log's tags: a multiline and a margin chart.
fn sdk_layout() -> runboard_sdk::proto::tensorboard::Layout {
    use runboard_sdk::proto::tensorboard::{
        Category, Chart, Layout, MarginChartContent, MultilineChartContent, chart,
        margin_chart_content::Series,
    };
    Layout {
        version: 0,
        category: vec![Category {
            title: "training".into(),
            chart: vec![
                Chart {
                    title: "both".into(),
                    content: Some(chart::Content::Multiline(MultilineChartContent {
                        tag: vec!["train/loss".into(), "train/accuracy".into()],
                    })),
                },
                Chart {
                    title: "band".into(),
                    content: Some(chart::Content::Margin(MarginChartContent {
                        series: vec![Series {
                            value: "train/loss".into(),
                            lower: "special".into(),
                            upper: "train/accuracy".into(),
                        }],
                    })),
                },
            ],
            closed: false,
        }],
    }
}

const IMAGE_W: u32 = 5;

/// A small model graph in torch's `add_graph` shape: name scopes, `_output_shapes`, a device.
fn sdk_graph() -> runboard_sdk::proto::tensorboard::GraphDef {
    use runboard_sdk::proto::tensorboard::{
        AttrValue, GraphDef, NodeDef, TensorShapeProto, VersionDef, attr_value,
        tensor_shape_proto::Dim,
    };
    let shapes = |dims: &[i64]| AttrValue {
        value: Some(attr_value::Value::List(attr_value::ListValue {
            shape: vec![TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&size| Dim {
                        size,
                        name: String::new(),
                    })
                    .collect(),
                unknown_rank: false,
            }],
            ..Default::default()
        })),
    };
    let node = |name: &str, op: &str, input: &[&str], dims: &[i64]| NodeDef {
        name: name.into(),
        op: op.into(),
        input: input.iter().map(|s| (*s).to_owned()).collect(),
        device: "/device:CPU:0".into(),
        attr: [("_output_shapes".to_owned(), shapes(dims))]
            .into_iter()
            .collect(),
        ..NodeDef::default()
    };
    GraphDef {
        node: vec![
            node("input/x", "IO Node", &[], &[8, 4]),
            node(
                "Net/Linear[fc1]/input.1",
                "aten::linear",
                &["input/x"],
                &[8, 16],
            ),
            node(
                "Net/ReLU[act]/input.2",
                "aten::relu",
                &["Net/Linear[fc1]/input.1"],
                &[8, 16],
            ),
            node(
                "Net/Linear[fc2]/y",
                "aten::linear",
                &["Net/ReLU[act]/input.2"],
                &[8, 1],
            ),
            node("output/y", "IO Node", &["Net/Linear[fc2]/y"], &[8, 1]),
        ],
        versions: Some(VersionDef {
            producer: 22,
            ..VersionDef::default()
        }),
        ..GraphDef::default()
    }
}
const IMAGE_H: u32 = 3;

/// The tag of the SDK's audio clip in [`write_sdk_log`].
const AUDIO_TAG: &str = "audio/tone";

/// The clip [`write_sdk_log`] logs: 0.1 s of a 440 Hz tone at 8 kHz, over full scale at its
/// peaks (clipped).
fn tone() -> Vec<f32> {
    (0..800)
        .map(|i| 1.2 * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 8000.0).sin())
        .collect()
}

/// The tag of the SDK's PR curve in [`write_sdk_log`].
const PR_TAG: &str = "pr/sdk";

/// The fixture script's `pr_formula`: labels and float32 predictions from a formula.
fn pr_formula(n: usize) -> (Vec<bool>, Vec<f32>) {
    let labels = (0..n).map(|i| (i * 13) % 7 < 3).collect();
    let predictions = (0..n)
        .map(|i| (((i * 37) % 101) as f64 / 100.0) as f32)
        .collect();
    (labels, predictions)
}

/// The SDK computes a PR curve as tensorboardX does: the fixture's `formula` curve (tensorboardX
/// `add_pr_curve`, 33 thresholds, predictions from a formula, some above 1) equals the SDK's
/// for the same inputs, every value as float32.
#[test]
fn the_sdk_computes_pr_curves_as_tensorboardx_does() {
    let file = common::repo().join("tests/fixtures/logdirs/pr_curves/a");
    let file = std::fs::read_dir(file)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (events, _) = read_events(&file).unwrap();
    let tensor = events
        .iter()
        .flat_map(|e| &e.values)
        .find_map(|v| match &v.value {
            Value::Tensor { tensor, .. } if v.tag == "formula" => Some(tensor.clone()),
            _ => None,
        })
        .expect("the formula curve");
    let theirs = runboard_sdk::event::pr_curve(&tensor).expect("a [6, N] curve");
    let (labels, predictions) = pr_formula(500);
    let ours = runboard_sdk::summary::pr_curve_counts(&labels, &predictions, 33);
    assert_eq!(theirs.thresholds(), 33);
    for (row, (a, b)) in ours.rows.iter().zip(&theirs.rows).enumerate() {
        let a: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        assert_eq!(a, b, "row {row}");
    }
    // Not a trivial curve: predictions over 1 count nowhere, some thresholds have positives.
    assert!(theirs.rows[0][0] > 0.0 && theirs.rows[0][0] < 500.0);
}

fn write_sdk_log() -> SdkLog {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let run = "sdk_run";
    let mut w = SummaryWriter::new(logdir.join(run)).unwrap();
    let mut scalars: BTreeMap<&'static str, Vec<(i64, f64)>> = BTreeMap::new();
    let mut log = |w: &mut SummaryWriter, tag: &'static str, v: f64, step: i64| {
        w.add_scalar(tag, v, step);
        scalars.entry(tag).or_default().push((step, v));
    };
    for step in 0..300 {
        let s = step as f64;
        // Two tags per step: the SDK groups them into one event.
        log(
            &mut w,
            "train/loss",
            2.0 / (1.0 + 0.05 * s) + 0.01 * (s * 0.7).sin(),
            step,
        );
        log(&mut w, "train/accuracy", 1.0 - 1.0 / (1.0 + 0.1 * s), step);
    }
    let special = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1e-45,     // the smallest float32 subnormal
        1e39,      // overflows float32: +Inf
        1.0 / 3.0, // rounds in float32
        -2.5e-8,
        f64::MAX, // overflows float32: +Inf
        0.1,
    ];
    for (step, v) in special.into_iter().enumerate() {
        log(&mut w, "special", v, step as i64);
    }
    let mut histograms = Vec::new();
    for step in [0i64, 100, 200] {
        let mut values: Vec<f64> = (0..500)
            .map(|i| {
                let x = f64::from(i) / 500.0;
                (x * 12.9898 + step as f64).sin() * 43.758 * (1.0 + step as f64 / 100.0)
            })
            .collect();
        values.push(f64::NAN); // non-finite values are left out of the buckets
        w.add_histogram("weights", &values, step);
        histograms.push((step, values));
    }
    w.add_text("notes", MARKDOWN, 0);
    let pixels: Vec<u8> = (0..IMAGE_W * IMAGE_H * 3)
        .map(|i| u8::try_from(i * 17 % 256).unwrap())
        .collect();
    w.add_image("sample", &pixels, IMAGE_W, IMAGE_H, 3, 0)
        .unwrap();
    let hparams: Vec<(&'static str, HParamValue)> = vec![
        ("lr", 0.01.into()),
        ("optimizer", "adam".into()),
        ("batch_norm", true.into()),
        ("layers", 4i64.into()),
    ];
    let metric = 0.875;
    w.add_hparams(&hparams, &[("hparam/accuracy", metric)]);
    let graph = sdk_graph();
    w.add_graph_def(&graph);
    let layout = sdk_layout();
    w.add_custom_scalars(&layout);
    let (labels, predictions) = pr_formula(500);
    w.add_pr_curve(PR_TAG, &labels, &predictions, 4, 33);
    w.add_audio(AUDIO_TAG, &tone(), 8000, 3);
    scalars
        .entry("hparam/accuracy")
        .or_default()
        .push((299, metric));
    let file = w.path().to_path_buf();
    w.close().unwrap();
    SdkLog {
        tmp: dir,
        logdir,
        run,
        file,
        scalars,
        histograms,
        hparams,
        graph,
        layout,
    }
}

/// Equal-width buckets over the finite values' range, computed here from the inputs (the
/// documented behaviour of `add_histogram`): `[left, right, count]`, the last one closed.
fn expected_buckets(values: &[f64], k: usize) -> Vec<[f64; 3]> {
    runboard_sdk::summary::histogram_buckets(values.iter().copied(), k)
}

/// `(step, wall_time, value)` of every scalar of `tag` as runboard reads the file.
fn our_points(events: &[DecodedEvent], tag: &str) -> Vec<(i64, f64, f64)> {
    events
        .iter()
        .flat_map(|e| {
            e.values
                .iter()
                .filter(|v| v.tag == tag)
                .map(move |v| match v.value {
                    Value::Scalar(x) => (e.step, e.wall_time, x),
                    ref other => panic!("{tag}: not a scalar: {other:?}"),
                })
        })
        .collect()
}

/// `[[wall_time, step, value], ...]` from `/data/plugin/scalars/scalars`.
fn served_points(json: &Json) -> Vec<(i64, f64, f64)> {
    json.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = p.as_array().unwrap();
            (int(&p[1]), num(&p[0]), num(&p[2]))
        })
        .collect()
}

fn assert_same_points(what: &str, ours: &[(i64, f64, f64)], served: &[(i64, f64, f64)]) {
    assert_eq!(ours.len(), served.len(), "{what}: number of points");
    for (a, b) in ours.iter().zip(served) {
        assert!(
            a.0 == b.0 && same(a.1, b.1) && same(a.2, b.2),
            "{what}: runboard (step, wall time, value) {a:?}, TensorBoard {b:?}"
        );
    }
}

/// Every scalar the SDK logged, read back from its file: same steps, the float32 value.
fn check_file_against_inputs(log: &SdkLog, events: &[DecodedEvent]) {
    for (tag, logged) in &log.scalars {
        let read = our_points(events, tag);
        assert_eq!(read.len(), logged.len(), "{tag}: points in the file");
        for ((step, v), (s, _, x)) in logged.iter().zip(&read) {
            let want = f64::from(*v as f32);
            assert!(
                *step == *s && same(want, *x),
                "{tag}: logged {v} at {step}, file has {x} at {s}"
            );
        }
    }
}

/// Waits until TensorBoard serves all `n` points of `run`/`tag` (it loads incrementally).
fn wait_for_points(tb: &mut TensorBoard, run: &str, tag: &str, n: usize) -> Json {
    poll(
        SERVE_TIMEOUT,
        &format!("{run}/{tag}: {n} scalars served"),
        || {
            let (status, body) = tb.try_get(
                "/data/plugin/scalars/scalars",
                &[("run", run), ("tag", tag)],
            )?;
            let json = common::parse_exact(std::str::from_utf8(&body).ok()?);
            (status == 200 && json.as_array()?.len() == n).then_some(json)
        },
    )
}

fn check_scalars_served(tb: &mut TensorBoard, log: &SdkLog, events: &[DecodedEvent]) {
    for (tag, logged) in &log.scalars {
        let json = wait_for_points(tb, log.run, tag, logged.len());
        assert_same_points(tag, &our_points(events, tag), &served_points(&json));
    }
    // The special values arrive as TensorBoard's strings, not as numbers.
    let raw = tb.get_bytes(
        "/data/plugin/scalars/scalars",
        &[("run", log.run), ("tag", "special")],
    );
    let raw = String::from_utf8(raw).unwrap();
    for s in ["\"NaN\"", "\"Infinity\"", "\"-Infinity\""] {
        assert!(raw.contains(s), "{s} in {raw}");
    }
}

/// Histograms: TensorBoard serves the rows we wrote, bit for bit.
fn check_histograms_served(tb: &mut TensorBoard, log: &SdkLog) {
    let served = poll(SERVE_TIMEOUT, "histograms served", || {
        let (status, body) = tb.try_get(
            "/data/plugin/histograms/histograms",
            &[("run", log.run), ("tag", "weights")],
        )?;
        let json = common::parse_exact(std::str::from_utf8(&body).ok()?);
        (status == 200 && json.as_array()?.len() == log.histograms.len()).then_some(json)
    });
    let served = served.as_array().unwrap();
    for ((step, values), point) in log.histograms.iter().zip(served) {
        let point = point.as_array().unwrap();
        assert_eq!(int(&point[1]), *step);
        let rows: Vec<[f64; 3]> = point[2]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let r = r.as_array().unwrap();
                [num(&r[0]), num(&r[1]), num(&r[2])]
            })
            .collect();
        let want = expected_buckets(values, 30);
        // The bucketing itself, checked against the inputs independently of how it is coded.
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(want.len(), 30);
        assert_eq!(
            (want[0][0], want[29][1]),
            (min, max),
            "edges are min and max"
        );
        assert_eq!(want.iter().map(|r| r[2]).sum::<f64>(), finite.len() as f64);
        for r in &want {
            let inside = finite.iter().filter(|&&v| v >= r[0] && v <= r[1]).count() as f64;
            assert!(
                r[2] <= inside,
                "bucket {r:?} counts at most the values in it"
            );
        }
        assert!(
            rows_equal(&rows, &want, same),
            "step {step}: TensorBoard serves {rows:?}\nwe wrote {want:?}"
        );
    }
}

/// Text: TensorBoard renders the Markdown and escapes the HTML in it.
fn check_text_served(tb: &mut TensorBoard, log: &SdkLog) {
    let text = tb.get_json(
        "/data/plugin/text/text",
        &[("run", log.run), ("tag", "notes")],
    );
    let html = text[0]["text"].as_str().unwrap();
    assert_eq!(int(&text[0]["step"]), 0);
    for want in [
        "<strong>bold</strong>",
        "<em>italic</em>",
        "<code>code</code>",
        "<table>",
        "&lt;script&gt;",
    ] {
        assert!(
            html.contains(want),
            "{want:?} in TensorBoard's HTML:\n{html}"
        );
    }
    assert!(!html.contains("<script>"), "raw <script> in {html}");
}

/// Which data provider the server uses: `MultiplexerDataProvider` (`--load_fast=false`, the
/// Python loader) or `GrpcDataProvider` (`--load_fast=true`, the Rust data server).
fn data_provider(tb: &mut TensorBoard) -> String {
    let env = tb.get_json("/data/environment", &[]);
    env["debug"]["data_provider"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A PNG's width and height from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn sdk_files_are_served_by_real_tensorboard() {
    let log = write_sdk_log();
    let (events, report) = read_events(&log.file).unwrap();
    assert_eq!(report.records.skipped_records, 0);
    assert_eq!(report.unfinished_tail_bytes, 0);
    check_file_against_inputs(&log, &events);

    let mut tb = TensorBoard::start(&log.logdir, false, &log.tmp.path().join("tb.log"));
    tb.wait_for_run(log.run, SERVE_TIMEOUT);
    let provider = data_provider(&mut tb);
    assert!(
        provider.starts_with("MultiplexerDataProvider"),
        "{provider}"
    );

    let runs = tb.get_json("/data/runs", &[]);
    assert_eq!(runs, serde_json::json!([log.run]), "/data/runs");

    check_scalars_served(&mut tb, &log, &events);

    check_histograms_served(&mut tb, &log);
    check_text_served(&mut tb, &log);

    // The layout: TensorBoard's Custom Scalars plugin serves it as runboard does.
    let served = tb.get_bytes("/data/plugin/custom_scalars/layout", &[]);
    assert_eq!(
        String::from_utf8(served).unwrap(),
        runboard::custom_scalars::to_json(&log.layout),
        "the layout TensorBoard serves"
    );

    // The audio clip: TensorBoard's plugin serves the SDK's WAV (16-bit PCM, mono, 8 kHz, the
    // samples clipped and scaled as torch's add_audio does).
    let listed = tb.get_json(
        "/data/plugin/audio/audio",
        &[("run", log.run), ("tag", AUDIO_TAG)],
    );
    assert_eq!(int(&listed[0]["step"]), 3, "{listed}");
    let query = listed[0]["query"].as_str().unwrap().to_owned();
    let pairs: Vec<(String, String)> = query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_owned(), v.replace("%2F", "/"))
        })
        .collect();
    let q: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let wav = tb.get_bytes("/data/plugin/audio/individualAudio", &q);
    let u32_at = |i: usize| u32::from_le_bytes(wav[i..i + 4].try_into().unwrap());
    let u16_at = |i: usize| u16::from_le_bytes(wav[i..i + 2].try_into().unwrap());
    assert_eq!((&wav[..4], &wav[8..16]), (&b"RIFF"[..], &b"WAVEfmt "[..]));
    assert_eq!(
        (u16_at(20), u16_at(22), u32_at(24), u16_at(34)),
        (1, 1, 8000, 16)
    );
    assert_eq!(u32_at(40) as usize, 2 * tone().len());
    let samples: Vec<i16> = wav[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let want: Vec<i16> = tone()
        .iter()
        .map(|x| (x.clamp(-1.0, 1.0) * 32767.0) as i16)
        .collect();
    assert_eq!(samples, want);
    assert!(
        samples.contains(&32767),
        "the peaks are clipped to full scale"
    );
    // The PR curve: TensorBoard's plugin serves the SDK's counts.
    let served = tb.get_json(
        "/data/plugin/pr_curves/pr_curves",
        &[("run", log.run), ("tag", PR_TAG)],
    );
    let (labels, predictions) = pr_formula(500);
    let curve = runboard_sdk::summary::pr_curve_counts(&labels, &predictions, 33);
    let entry = &served[log.run][0];
    assert_eq!(int(&entry["step"]), 4, "{served}");
    let tp: Vec<i64> = entry["true_positives"]
        .as_array()
        .unwrap()
        .iter()
        .map(int)
        .collect();
    assert!(!tp.is_empty());
    let want: Vec<i64> = curve.rows[0][..tp.len()]
        .iter()
        .map(|&v| v as i64)
        .collect();
    assert_eq!(tp, want, "true positives");
    // The graph: TensorBoard's Graphs plugin finds it and serves what runboard serves for it.
    let info = tb.get_json("/data/plugin/graphs/info", &[]);
    assert_eq!(info[log.run]["run_graph"], true, "{info}");
    let text = tb.get_bytes("/data/plugin/graphs/graph", &[("run", log.run)]);
    assert_eq!(
        String::from_utf8(text).unwrap(),
        runboard::graphs::to_text(&log.graph),
        "the graph TensorBoard serves"
    );

    // Images: TensorBoard serves our PNG, whose header says the size we logged.
    let images = tb.get_json(
        "/data/plugin/images/images",
        &[("run", log.run), ("tag", "sample")],
    );
    let image = &images[0];
    assert_eq!(images.as_array().map(Vec::len), Some(1), "{images}");
    assert_eq!(int(&image["step"]), 0, "{image}");
    let query = image["query"].as_str().unwrap();
    let png = tb.get_bytes(&format!("/data/plugin/images/individualImage?{query}"), &[]);
    assert_eq!(png_size(&png), (IMAGE_W, IMAGE_H));
    let ours = events
        .iter()
        .flat_map(|e| &e.values)
        .find_map(|v| match &v.value {
            Value::Images(i) if v.tag == "sample" => Some(i[0].encoded.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(png, ours, "the served PNG is the one in the file");

    // HParams: the plugin lists the run's hyperparameters with their values, and the metric.
    let experiment = tb.post_json(
        "/data/plugin/hparams/experiment",
        r#"{"experimentName": ""}"#,
    );
    let names: BTreeSet<&str> = experiment["hparamInfos"]
        .as_array()
        .unwrap_or_else(|| panic!("no hparamInfos in {experiment}"))
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    let want_names: BTreeSet<&str> = log.hparams.iter().map(|(k, _)| *k).collect();
    assert_eq!(names, want_names, "hparams listed: {experiment}");
    let metrics: Vec<&str> = experiment["metricInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"]["tag"].as_str().unwrap())
        .collect();
    assert!(
        metrics.contains(&"hparam/accuracy"),
        "metrics: {experiment}"
    );

    let groups = tb.post_json(
        "/data/plugin/hparams/session_groups",
        r#"{"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS",
            "STATUS_FAILURE", "STATUS_RUNNING"], "colParams": [], "startIndex": 0,
            "sliceSize": 100}"#,
    );
    let group = &groups["sessionGroups"][0];
    assert_eq!(
        groups["sessionGroups"].as_array().map(Vec::len),
        Some(1),
        "{groups}"
    );
    for (name, value) in &log.hparams {
        let got = &group["hparams"][*name];
        let ok = match value {
            HParamValue::Number(n) => got.as_str().map(|s| s.parse::<f64>()) == Some(Ok(*n)),
            HParamValue::String(s) => got.as_str() == Some(s.as_str()),
            HParamValue::Bool(b) => got.as_bool() == Some(*b),
        };
        assert!(
            ok,
            "hparam {name}: logged {value:?}, served {got} in {group}"
        );
    }
    let session = &group["sessions"][0];
    assert_eq!(session["name"].as_str(), Some(log.run), "{group}");
    let metric = session["metricValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"]["tag"] == "hparam/accuracy")
        .unwrap_or_else(|| panic!("no hparam/accuracy in {session}"));
    assert!(same(num(&metric["value"]), f64::from(0.875f32)), "{metric}");
    assert_eq!(int(&metric["trainingStep"]), 299, "{metric}");
}

/// The same logdir through TensorBoard's Rust data server (`--load_fast=true`, the
/// `tensorboard-data-server` wheel): scalars point for point, histograms, text.
#[test]
fn sdk_files_are_served_by_tensorboard_data_server() {
    let log = write_sdk_log();
    let (events, _) = read_events(&log.file).unwrap();
    let mut tb = TensorBoard::start(&log.logdir, true, &log.tmp.path().join("tb.log"));
    tb.wait_for_run(log.run, SERVE_TIMEOUT);
    // `--load_fast=true` fails rather than fall back; check that the data server is serving.
    let provider = data_provider(&mut tb);
    assert!(provider.starts_with("GrpcDataProvider"), "{provider}");
    let runs = tb.get_json("/data/runs", &[]);
    assert_eq!(runs, serde_json::json!([log.run]), "/data/runs");
    check_scalars_served(&mut tb, &log, &events);
    check_histograms_served(&mut tb, &log);
    check_text_served(&mut tb, &log);
}

// ---------------------------------------------------------------------------------------------
// Damaged files: a cut tail and a corrupted record.

const POINTS: i64 = 500;

fn loss(step: i64) -> f64 {
    (-(step as f64) / 120.0).exp() + 0.001 * step as f64
}

/// A run of `POINTS` scalars of tag `loss`, one record each (no run events: the records are
/// the version record and the points), and the file's bytes.
fn write_points(dir: &Path) -> Vec<u8> {
    let options = runboard_sdk::WriterOptions {
        record_run: false,
        ..runboard_sdk::WriterOptions::default()
    };
    let mut w = SummaryWriter::with_options(dir, options).unwrap();
    for step in 0..POINTS {
        w.add_scalar("loss", loss(step), step);
    }
    let path = w.path().to_path_buf();
    w.close().unwrap();
    std::fs::read(path).unwrap()
}

fn write_file(logdir: &Path, run: &str, bytes: &[u8]) -> PathBuf {
    let dir = logdir.join(run);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.out.tfevents.1700000000.interop");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn tb_loss_points(dump: &Json, run: &str) -> Vec<(i64, f64, f64)> {
    tb_series(dump, "scalars", |rest| num(&rest[0]))
        .remove(run)
        .and_then(|mut tags| tags.remove("loss"))
        .unwrap_or_default()
}

/// A file cut inside its last record (a writer mid-record, or a copy taken mid-write) is read
/// up to the cut, by TensorBoard and by runboard alike; runboard reports the tail as unfinished.
#[test]
fn truncated_file_is_read_up_to_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_points(&dir.path().join("source"));
    let spans = common::record_spans(&bytes);
    assert_eq!(
        spans.len() as i64,
        POINTS + 1,
        "a version record, then one per point"
    );
    let (last_at, last_len) = *spans.last().unwrap();
    let logdir = dir.path().join("logs");
    // Cut inside the last record's data, and inside its length header.
    let cuts = [("cut_data", bytes.len() - 7), ("cut_header", last_at + 5)];
    let mut files = Vec::new();
    for (run, cut) in cuts {
        assert!(cut > last_at && cut < last_at + last_len);
        files.push((run, cut, write_file(&logdir, run, &bytes[..cut])));
    }
    let dump = tb_dump(&logdir);
    for (run, cut, file) in files {
        let (events, report) = read_events(&file).unwrap();
        assert_eq!(
            report.records.skipped_records, 0,
            "{run}: a cut tail is not damage"
        );
        assert_eq!(
            report.unfinished_tail_bytes,
            (cut - last_at) as u64,
            "{run}: the partial record is reported as unfinished"
        );
        let ours = our_points(&events, "loss");
        assert_eq!(
            ours.len() as i64,
            POINTS - 1,
            "{run}: every point before the cut"
        );
        for (step, (s, _, v)) in (0..POINTS - 1).zip(&ours) {
            assert!(
                step == *s && same(*v, f64::from(loss(step) as f32)),
                "{run}: step {s}"
            );
        }
        assert_same_points(run, &ours, &tb_loss_points(&dump, run));
    }
}

/// One damaged record in the middle of a file costs runboard exactly that record; TensorBoard
/// stops reading the file there and loses everything after it.
#[test]
fn damaged_middle_record_loses_only_that_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = write_points(&dir.path().join("source"));
    let spans = common::record_spans(&bytes);
    let damaged = spans.len() / 2;
    let (at, _) = spans[damaged];
    bytes[at + 12 + 2] ^= 0x5a; // a byte of the record's data: its data CRC no longer matches
    let logdir = dir.path().join("logs");
    let file = write_file(&logdir, "damaged", &bytes);

    let (events, report) = read_events(&file).unwrap();
    assert_eq!(report.records.skipped_records, 1, "{report:?}");
    assert_eq!(report.unfinished_tail_bytes, 0);
    let ours = our_points(&events, "loss");
    assert_eq!(
        ours.len() as i64,
        POINTS - 1,
        "runboard loses one point of {POINTS}"
    );
    // Record k > 0 holds the point of step k - 1.
    let lost = i64::try_from(damaged - 1).unwrap();
    let want: Vec<i64> = (0..POINTS).filter(|&s| s != lost).collect();
    let got: Vec<i64> = ours.iter().map(|p| p.0).collect();
    assert_eq!(got, want, "exactly the damaged record's point is missing");
    for (s, _, v) in &ours {
        assert!(same(*v, f64::from(loss(*s) as f32)), "step {s}");
    }

    let theirs = tb_loss_points(&tb_dump(&logdir), "damaged");
    assert!(
        ours.len() > theirs.len(),
        "runboard keeps {} points, TensorBoard {}",
        ours.len(),
        theirs.len()
    );
    // What TensorBoard did read agrees with runboard.
    assert_same_points("damaged", &ours[..theirs.len()], &theirs);
}
