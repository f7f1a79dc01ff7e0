//! `runboard export` end to end: the real binary on SDK-written logdirs and on a running server's database; its files read back by the real TensorBoard, a CSV/JSON parser, a PNG decoder and an XML parser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Server, TensorBoard, int, num, same, same_f32, tb_dump};
use runboard_sdk::event_file::{find_event_files, read_events, run_name};
use runboard_sdk::{SummaryWriter, Value};
use serde_json::Value as Json;

/// Runs `runboard export` with `args`; returns its output.
fn export<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runboard"))
        .arg("export")
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("runs runboard")
}

/// Runs an export that must succeed; returns its stdout (the summary line).
fn export_ok<S: AsRef<OsStr>>(args: &[S]) -> String {
    let out = export(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "export failed ({}): {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8(out.stdout).expect("UTF-8 summary")
}

/// The arguments of an export of `logdir` into `out` as `format`.
fn logdir_args(logdir: &Path, out: &Path, format: &str) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["--logdir".into(), logdir.into()];
    args.extend(["--out".into(), out.into(), "--format".into(), format.into()]);
    args
}

/// The tag that needs CSV quoting (a comma and quotes).
const QUOTED_TAG: &str = "a,b \"quoted\"";

/// Writes the fixture logdir with the SDK: run `train` (5,000 `loss` points over two stored
/// chunks, `acc` every 10 steps, `special` = NaN, +Inf, -Inf, 0.5, histograms, Markdown text,
/// an image, hparams with a metric) and run `nested/eval` (a run name with a `/`; `loss`, and a
/// tag with a comma and quotes).
/// The mesh and the embedding `write_logdir` logs in `train`.
const MESH: [[f32; 3]; 3] = [[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 0.1, 2.0]];
const EMBEDDING: [[f32; 2]; 3] = [[0.1, 0.2], [-3.0, 1e-7], [4.5, 6.0]];

fn write_logdir(logdir: &Path) {
    let mut train = SummaryWriter::new(logdir.join("train")).unwrap();
    for s in 0..5000i64 {
        train.add_scalar("loss", 1.0 / (s as f64 + 1.0), s);
        if s % 10 == 0 {
            train.add_scalar("acc", s as f64 / 5000.0, s);
        }
    }
    for (s, v) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.5]
        .into_iter()
        .enumerate()
    {
        train.add_scalar("special", v, s as i64);
    }
    for step in [0, 100, 4000] {
        let values: Vec<f64> = (0..500)
            .map(|i| (i as f64 * 0.37 + step as f64).sin())
            .collect();
        train.add_histogram("weights", &values, step);
    }
    train.add_text(
        "notes",
        "**hello** <b>world</b>\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        10,
    );
    let pixels: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 17) as u8).collect();
    train.add_image("sample", &pixels, 4, 3, 3, 20).unwrap();
    train.add_graph_def(&runboard_sdk::proto::tensorboard::GraphDef {
        node: vec![runboard_sdk::proto::tensorboard::NodeDef {
            name: "net/fc".into(),
            op: "aten::linear".into(),
            input: vec!["input/x".into()],
            ..Default::default()
        }],
        ..Default::default()
    });
    train.add_hparams(
        &[("lr", 1e-3.into()), ("opt", "adam".into())],
        &[("hparam/acc", 0.875)],
    );
    train.add_hparams_end(true);
    train.add_pr_curve(
        "pr",
        &[true, false, true, true],
        &[0.9, 0.3, 0.6, 0.1],
        7,
        21,
    );
    train.add_audio("clip", &[0.0, 0.25, -0.75, 1.0], 8000, 9);
    train
        .add_mesh("tri", &MESH, &[[0, 1, 2]], &[[9, 99, 199]; 3], None, 11)
        .unwrap();
    train
        .add_embedding("points", &EMBEDDING, &["a", "b", "c"], 12)
        .unwrap();
    train.close().unwrap();
    let mut eval = SummaryWriter::new(logdir.join("nested/eval")).unwrap();
    for s in (0..200).step_by(25) {
        eval.add_scalar("loss", 2.0 / (s as f64 + 1.0), s);
    }
    eval.add_scalar(QUOTED_TAG, 1.5, 0);
    eval.close().unwrap();
    // A TF1 writer's meta graph and run metadata, in a second file of `train`.
    let mut w =
        runboard_sdk::event_file::EventFileWriter::create(&logdir.join("train"), ".tf1").unwrap();
    for event in tf1_events() {
        w.write_event(&event).unwrap();
    }
    w.flush().unwrap();
}

/// An `Event.meta_graph_def` and an `Event.tagged_run_metadata` (bytes kept as written).
fn tf1_events() -> Vec<runboard_sdk::proto::tensorboard::Event> {
    use runboard_sdk::proto::prost::Message;
    use runboard_sdk::proto::tensorboard::{
        Event, GraphDef, MetaGraphDef, NodeDef, RunMetadata, TaggedRunMetadata, event::What,
    };
    let graph = GraphDef {
        node: vec![NodeDef {
            name: "tf1/const".into(),
            op: "Const".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let meta = MetaGraphDef {
        graph_def: Some(graph),
    };
    vec![
        Event {
            wall_time: 1_700_000_000.5,
            step: 0,
            what: Some(What::MetaGraphDef(meta.encode_to_vec())),
            ..Default::default()
        },
        Event {
            wall_time: 1_700_000_001.25,
            step: 3,
            what: Some(What::TaggedRunMetadata(TaggedRunMetadata {
                tag: "step3".into(),
                run_metadata: RunMetadata::default().encode_to_vec(),
            })),
            ..Default::default()
        },
    ]
}

/// (run, tag, step) -> (wall_time, value): every scalar point in the logdir's files, read with
/// the SDK's reader (the ground truth).
type Points = BTreeMap<(String, String, i64), (f64, f64)>;

fn scalars_in_files(logdir: &Path) -> Points {
    let mut out = Points::new();
    for file in find_event_files(logdir) {
        let run = run_name(logdir, &file);
        let (events, report) = read_events(&file).unwrap();
        assert_eq!(report.records.skipped_records, 0);
        for ev in events {
            for v in ev.values {
                if let Value::Scalar(x) = v.value {
                    let key = (run.clone(), v.tag.clone(), ev.step);
                    assert!(
                        out.insert(key, (ev.wall_time, x)).is_none(),
                        "fixture steps are unique"
                    );
                }
            }
        }
    }
    out
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    write_logdir(&logdir);
    (dir, logdir)
}

fn same_point(a: (f64, f64), b: (f64, f64)) -> bool {
    same(a.0, b.0) && same(a.1, b.1)
}

#[test]
fn csv_holds_every_point_of_the_logdir_exactly_once() {
    let (dir, logdir) = fixture();
    let out = dir.path().join("out");
    let summary = export_ok(&[
        OsStr::new("--logdir"),
        logdir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("csv"),
    ]);
    let want = scalars_in_files(&logdir);
    assert_eq!(want.len(), 5514);
    assert!(
        summary.starts_with("exported 5,514 points of 6 series in 2 runs to "),
        "{summary}"
    );
    let mut reader = csv::Reader::from_path(out.join("scalars.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["run", "tag", "step", "wall_time", "value"]
    );
    let mut got = Points::new();
    for row in reader.records() {
        let row = row.unwrap();
        let value = match &row[4] {
            // What TensorBoard's CSV writes for non-finite values (Python's repr).
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap(),
        };
        let key = (
            row[0].to_owned(),
            row[1].to_owned(),
            row[2].parse().unwrap(),
        );
        let point = (row[3].parse().unwrap(), value);
        assert!(got.insert(key.clone(), point).is_none(), "{key:?} twice");
    }
    assert_eq!(got.len(), want.len());
    for (key, w) in &want {
        let g = got.get(key).unwrap_or_else(|| panic!("{key:?} missing"));
        assert!(same_point(*g, *w), "{key:?}: {g:?} != {w:?}");
    }
    assert!(got.contains_key(&("nested/eval".into(), QUOTED_TAG.into(), 0)));
    assert!(!out.join(".scalars.csv.partial").exists());
}

/// (wall_time, value) pairs whose Python `repr` differs from the shortest round-trip text
/// (`1e-05` vs `0.00001`, `1e+16` vs `1e16`, `1.0` vs `1`), non-finite values, and values that
/// are exact in float32 (a `simple_value` is one, in TensorBoard as in runboard).
const FORMAT_POINTS: [(f64, f64); 7] = [
    (1e-05, 7.62939453125e-06),
    (1e+16, f64::NAN),
    (1_700_000_000.25, f64::INFINITY),
    (0.1, f64::NEG_INFINITY),
    (1.5e-07, 1_152_921_504_606_846_976.0),
    (1_795_319_404.530_852_6, 1.0),
    (123_456_789_012_345_680.0, -0.0),
];

#[test]
fn csv_numbers_are_written_as_tensorboards_csv_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let run = logdir.join("fmt");
    std::fs::create_dir_all(&run).unwrap();
    let mut w = runboard_sdk::event_file::EventFileWriter::create(&run, "").unwrap();
    for (step, (wall_time, value)) in FORMAT_POINTS.iter().enumerate() {
        let v = runboard_sdk::summary::scalar("x", *value);
        w.write_summary(*wall_time, step as i64, vec![v]).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let out = dir.path().join("out");
    export_ok(&logdir_args(&logdir, &out, "csv"));
    let text = std::fs::read_to_string(out.join("scalars.csv")).unwrap();
    let ours: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .enumerate()
        .map(|(step, line)| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields[..3], ["fmt", "x", &step.to_string()], "{line}");
            (fields[3].to_owned(), fields[4].to_owned())
        })
        .collect();
    // Python's repr, as TensorBoard's `?format=csv` (Python's csv module) writes floats.
    let want = [
        ("1e-05", "7.62939453125e-06"),
        ("1e+16", "nan"),
        ("1700000000.25", "inf"),
        ("0.1", "-inf"),
        ("1.5e-07", "1.152921504606847e+18"),
        ("1795319404.5308526", "1.0"),
        ("1.2345678901234568e+17", "-0.0"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(ours, want, "the export's CSV:\n{text}");
    // The real TensorBoard's CSV of the same points, field for field.
    let mut tb = TensorBoard::start(&logdir, true, &dir.path().join("tensorboard.log"));
    tb.wait_for_run("fmt", Duration::from_secs(90));
    let theirs = common::poll(Duration::from_secs(60), "every point served", || {
        let body = tb.get_bytes(
            "/data/plugin/scalars/scalars",
            &[("run", "fmt"), ("tag", "x"), ("format", "csv")],
        );
        let text = String::from_utf8(body).unwrap();
        let rows: Vec<Vec<String>> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect();
        (rows.len() == FORMAT_POINTS.len()).then_some(rows)
    });
    for (step, row) in theirs.iter().enumerate() {
        assert_eq!(
            row[1],
            step.to_string(),
            "TensorBoard's rows are in step order"
        );
        assert_eq!(
            (&row[0], &row[2]),
            (&ours[step].0, &ours[step].1),
            "step {step}: TensorBoard's CSV (left) and the export's (right) differ"
        );
    }
}

#[test]
fn python_repr_text_is_pythons_own() {
    // Random bits, values where training data lives, and ties (a value exactly halfway between
    // two shortest texts: Python takes the even digit), each formatted here and by Python.
    let mut values = vec![
        920_370_289_492_681.0 + 0.25, // a tie: ...681.2 (even), not ...681.3
        1e-05,
        1e16,
        0.1,
        -0.0,
        5e-324,
        f64::MAX,
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..40_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        values.push(match i % 5 {
            0 => f64::from_bits(x),
            1 => unit * 2e-3 - 1e-3,
            2 => (unit - 0.5) * 4e16,
            3 => 1.7e9 + unit * 1e8,
            _ => ((1u64 << 49) + (x >> 15)) as f64 + [0.25, 0.75][(x & 1) as usize],
        });
    }
    let input: String = values
        .iter()
        .map(|v| format!("{:016x}\n", v.to_bits()))
        .collect();
    let script = "import struct, sys\n\
                  for line in sys.stdin:\n    \
                  print(repr(struct.unpack('>d', bytes.fromhex(line.strip()))[0]))";
    let mut child = Command::new(common::python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    let theirs = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = theirs.lines().collect();
    assert_eq!(theirs.len(), values.len());
    for (v, want) in values.iter().zip(theirs) {
        assert_eq!(runboard::format::py_repr(*v), want, "{:016x}", v.to_bits());
    }
}

#[test]
fn json_lines_hold_every_point_exactly() {
    let (dir, logdir) = fixture();
    let out = dir.path().join("out");
    export_ok(&[
        OsStr::new("--logdir"),
        logdir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("json"),
    ]);
    let want = scalars_in_files(&logdir);
    let text = std::fs::read_to_string(out.join("scalars.jsonl")).unwrap();
    let mut got = Points::new();
    for line in text.lines() {
        let v: Json = serde_json::from_str(line).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 5, "{line}");
        let value = match &v["value"] {
            Json::String(s) if s == "NaN" => f64::NAN,
            Json::String(s) if s == "Infinity" => f64::INFINITY,
            Json::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
            n => n.as_f64().unwrap(),
        };
        let key = (
            v["run"].as_str().unwrap().to_owned(),
            v["tag"].as_str().unwrap().to_owned(),
            v["step"].as_i64().unwrap(),
        );
        let point = (v["wall_time"].as_f64().unwrap(), value);
        assert!(got.insert(key.clone(), point).is_none(), "{key:?} twice");
    }
    assert_eq!(got.len(), want.len());
    for (key, w) in &want {
        assert!(same_point(got[key], *w), "{key:?}: {:?} != {w:?}", got[key]);
    }
}

#[test]
fn run_and_tag_regexes_select_series_anywhere_in_the_name() {
    let (dir, logdir) = fixture();
    let out = dir.path().join("out");
    let summary = export_ok(&[
        OsStr::new("--logdir"),
        logdir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("csv"),
        OsStr::new("--run"),
        OsStr::new("eval"),
        OsStr::new("--tag"),
        OsStr::new("^lo"),
    ]);
    assert!(
        summary.starts_with("exported 8 points of 1 series in 1 run to "),
        "{summary}"
    );
    let mut reader = csv::Reader::from_path(out.join("scalars.csv")).unwrap();
    let keys: BTreeSet<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([("nested/eval".to_owned(), "loss".to_owned())])
    );
}

/// Where two JSON documents first differ (a short message, not two huge documents).
fn first_difference(a: &Json, b: &Json, path: &str) -> Option<String> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let (kx, ky): (Vec<&String>, Vec<&String>) = (x.keys().collect(), y.keys().collect());
            if kx != ky {
                return Some(format!("{path}: keys {kx:?} != {ky:?}"));
            }
            x.iter()
                .find_map(|(k, v)| first_difference(v, &y[k], &format!("{path}/{k}")))
        }
        (Json::Array(x), Json::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} items != {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]")))
        }
        _ => (a != b).then(|| format!("{path}: {a} != {b}")),
    }
}

/// The parts of TensorBoard's view that must survive an export unchanged.
fn tensorboard_view(dump: &Json) -> Json {
    // Every entry as TensorBoard's hparams plugin parses it (the bytes may differ: a map's
    // entries are written in any order).
    let mut hparams = serde_json::Map::new();
    for (run, tags) in dump["hparams"].as_object().unwrap() {
        for (tag, entry) in tags.as_object().unwrap() {
            let mut entry = entry.clone();
            entry.as_object_mut().unwrap().remove("content_hex");
            hparams.insert(format!("{run}/{tag}"), entry);
        }
    }
    serde_json::json!({
        "runs": dump["runs"],
        "scalars": dump["scalars"],
        "histograms": dump["histograms"],
        "text": dump["text"],
        "images": dump["images"],
        "graphs": dump["graphs"],
        "run_metadata": dump["run_metadata"],
        "pr_curves": dump["pr_curves"],
        "audio": dump["audio"],
        "hparams": hparams,
    })
}

#[test]
fn tfevents_round_trip_through_the_real_tensorboard() {
    let (dir, logdir) = fixture();
    let out = dir.path().join("exported");
    let summary = export_ok(&[
        OsStr::new("--logdir"),
        logdir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("tfevents"),
    ]);
    assert!(summary.contains(" in 2 runs to "), "{summary}");
    for run in ["train", "nested/eval"] {
        let files: Vec<String> = std::fs::read_dir(out.join(run))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tfevents"))
            .collect();
        assert_eq!(files.len(), 1, "{run}: {files:?}");
        assert!(files[0].starts_with("events.out.tfevents.") && files[0].ends_with(".runboard"));
    }
    // TensorBoard's own loader reads the same values from the export as from the original files.
    let original = tb_dump(&logdir);
    let exported = tb_dump(&out);
    let (a, b) = (tensorboard_view(&original), tensorboard_view(&exported));
    assert_eq!(
        a["graphs"]["train"][runboard_sdk::event::RUN_GRAPH_TAG]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the original has a graph: {}",
        a["graphs"]
    );
    for key in [
        "runs",
        "scalars",
        "histograms",
        "text",
        "images",
        "graphs",
        "run_metadata",
        "pr_curves",
        "audio",
        "hparams",
    ] {
        if let Some(diff) = first_difference(&a[key], &b[key], key) {
            panic!("TensorBoard reads the export differently: {diff}");
        }
    }
    assert_eq!(
        b["scalars"]["train"]["loss"].as_array().unwrap().len(),
        5000
    );
    assert_eq!(
        a["hparams"].as_object().unwrap().len(),
        3,
        "the experiment, the session's start and its end: {}",
        a["hparams"]
    );
    assert!(
        a["run_metadata"]["train"]["step3"].is_array(),
        "{}",
        a["run_metadata"]
    );
    assert!(
        a["pr_curves"]["train"]["pr"].is_array(),
        "{}",
        a["pr_curves"]
    );
    assert!(a["audio"]["train"]["clip"].is_array(), "{}", a["audio"]);
    // The meta graph (which TensorBoard 2.21 does not read) comes back byte for byte.
    let meta_graphs = |dir: &Path| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir.join("train")).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().contains("tfevents") {
                continue; // the projector's files
            }
            let (events, _) = runboard_sdk::event_file::read_events(&path).unwrap();
            for v in events.iter().flat_map(|e| &e.values) {
                if v.tag == runboard_sdk::event::META_GRAPH_TAG {
                    out.push(
                        runboard_sdk::event::run_graph_bytes(&v.value)
                            .unwrap()
                            .to_vec(),
                    );
                }
            }
        }
        out
    };
    let want = meta_graphs(&logdir);
    assert_eq!(want.len(), 1);
    assert_eq!(meta_graphs(&out), want);
    assert_eq!(
        b["histograms"]["train"]["weights"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        b["hparams"]["train/_hparams_/session_start_info"]["session_start"]["hparams"]["opt"]["string"],
        "adam"
    );
    // And the real server (`--load_fast=true`, its Rust data server) serves them.
    let mut tb = TensorBoard::start(&out, true, &dir.path().join("tensorboard.log"));
    tb.wait_for_run("train", Duration::from_secs(90));
    // The mesh, as logged, and the projector's files rebuilt beside the events.
    let f32_bytes = |rows: &[&[f32]]| -> Vec<u8> {
        rows.iter()
            .flat_map(|r| r.iter().flat_map(|v| v.to_le_bytes()))
            .collect()
    };
    let vertices = common::poll(Duration::from_secs(60), "the mesh served", || {
        let q = [
            ("run", "train"),
            ("tag", "tri"),
            ("content_type", "VERTEX"),
            ("step", "11"),
        ];
        Some(tb.get_bytes("/data/plugin/mesh/data", &q)).filter(|b| !b.is_empty())
    });
    let mesh_rows: Vec<&[f32]> = MESH.iter().map(|r| &r[..]).collect();
    assert_eq!(vertices, f32_bytes(&mesh_rows));
    let q = [
        ("run", "train"),
        ("tag", "tri"),
        ("content_type", "COLOR"),
        ("step", "11"),
    ];
    assert_eq!(
        tb.get_bytes("/data/plugin/mesh/data", &q),
        [9, 99, 199].repeat(3)
    );
    let name = "points:00012";
    let tensor = common::poll(Duration::from_secs(60), "the projector's runs", || {
        let runs = tb.get_json("/data/plugin/projector/runs", &[]);
        (runs.as_array().map(Vec::len) == Some(1)).then(|| {
            tb.get_bytes(
                "/data/plugin/projector/tensor",
                &[("run", "train"), ("name", name)],
            )
        })
    });
    let embedding_rows: Vec<&[f32]> = EMBEDDING.iter().map(|r| &r[..]).collect();
    assert_eq!(tensor, f32_bytes(&embedding_rows));
    let metadata = tb.get_bytes(
        "/data/plugin/projector/metadata",
        &[("run", "train"), ("name", name)],
    );
    assert_eq!(metadata, b"a\nb\nc\n");
    let want = scalars_in_files(&logdir);
    for (run, tag) in [
        ("train", "loss"),
        ("train", "special"),
        ("nested/eval", QUOTED_TAG),
    ] {
        let served = common::poll(Duration::from_secs(60), "every point served", || {
            let v = tb.get_json(
                "/data/plugin/scalars/scalars",
                &[("run", run), ("tag", tag)],
            );
            let n = want.keys().filter(|k| k.0 == run && k.1 == tag).count();
            (v.as_array().map(Vec::len) == Some(n)).then_some(v)
        });
        for row in served.as_array().unwrap() {
            let (wall, step, value) = (num(&row[0]), int(&row[1]), num(&row[2]));
            let (w_wall, w_value) = want[&(run.to_owned(), tag.to_owned(), step)];
            assert!(
                same(wall, w_wall) && same(value, w_value),
                "{run}/{tag}@{step}"
            );
        }
    }
}

/// POSTs a JSON batch to a server's ingest endpoint.
fn post_batch(base: &str, body: &Json) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(format!("{base}/api/v1/ingest"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{text}");
}

#[test]
fn a_run_sent_over_http_exports_from_the_running_servers_database() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let db = dir.path().join("server.sqlite");
    let server = Server::start(&served, &db);
    // f64 values that float32 would round: HTTP keeps them.
    let points: Vec<Json> = (0..3000)
        .map(|s| {
            serde_json::json!({"tag": "loss", "step": s, "wall_time": 1.7e9 + s as f64 * 0.001,
                               "scalar": 0.1 + s as f64 * 1e-12})
        })
        .chain([
            serde_json::json!({"tag": "weights", "step": 5, "wall_time": 1.7e9 + 5.0,
                               "histogram": [[0.0, 0.5, 3.0], [0.5, 1.0, 7.0]]}),
            serde_json::json!({"tag": "notes", "step": 6, "wall_time": 1.7e9 + 6.0,
                               "text": "sent **over HTTP**"}),
        ])
        .collect();
    post_batch(
        &server.base,
        &serde_json::json!({"run": "remote/exp", "session": "s1", "seq": 1, "points": points}),
    );
    // The server keeps running: the export reads its live database read-only.
    let out = dir.path().join("out");
    export_ok(&[
        OsStr::new("--db"),
        db.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("csv"),
    ]);
    let mut reader = csv::Reader::from_path(out.join("scalars.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3000);
    for (s, row) in rows.iter().enumerate() {
        assert_eq!((&row[0], &row[1]), ("remote/exp", "loss"));
        assert_eq!(row[2].parse::<i64>().unwrap(), s as i64);
        assert_eq!(row[3].parse::<f64>().unwrap(), 1.7e9 + s as f64 * 0.001);
        assert_eq!(
            row[4].parse::<f64>().unwrap(),
            0.1 + s as f64 * 1e-12,
            "f64, exactly"
        );
    }
    // Event files of the HTTP run, which TensorBoard reads (scalars as float32, as in any file).
    let tfe = dir.path().join("tfe");
    export_ok(&[
        OsStr::new("--db"),
        db.as_os_str(),
        OsStr::new("--out"),
        tfe.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("tfevents"),
    ]);
    let (status, _) = server.get("/api/v1/runs");
    assert_eq!(status, 200, "the server is unharmed by the export");
    drop(server);
    let dump = tb_dump(&tfe);
    assert_eq!(dump["runs"], serde_json::json!(["remote/exp"]));
    let loss = dump["scalars"]["remote/exp"]["loss"].as_array().unwrap();
    assert_eq!(loss.len(), 3000);
    for (s, p) in loss.iter().enumerate() {
        assert_eq!(int(&p[0]), s as i64);
        assert!(same(num(&p[1]), 1.7e9 + s as f64 * 0.001));
        assert!(same_f32(num(&p[2]), 0.1 + s as f64 * 1e-12));
    }
    let h = &dump["histograms"]["remote/exp"]["weights"][0];
    assert_eq!(int(&h[0]), 5);
    let rows: Vec<Vec<f64>> = h[2]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(num).collect())
        .collect();
    assert_eq!(rows, vec![vec![0.0, 0.5, 3.0], vec![0.5, 1.0, 7.0]]);
    assert_eq!(
        dump["text"]["remote/exp"]["notes"][0][2],
        serde_json::json!(["sent **over HTTP**"])
    );
}

/// The distinct colours of a PNG (RGB or RGBA), after checking its size.
fn png_colours(path: &Path, width: u32, height: u32) -> usize {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    assert_eq!(
        (reader.info().width, reader.info().height),
        (width, height),
        "{}",
        path.display()
    );
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let bytes_per_pixel = frame.color_type.samples();
    pixels[..frame.buffer_size()]
        .chunks(bytes_per_pixel)
        .collect::<HashSet<_>>()
        .len()
}

#[test]
fn png_charts_decode_at_the_requested_size_with_drawn_content() {
    let (dir, logdir) = fixture();
    let out = dir.path().join("charts");
    let summary = export_ok(&[
        OsStr::new("--logdir"),
        logdir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("png"),
        OsStr::new("--width"),
        OsStr::new("640"),
        OsStr::new("--height"),
        OsStr::new("400"),
        OsStr::new("--smoothing"),
        OsStr::new("0.6"),
        OsStr::new("--max-points"),
        OsStr::new("500"),
    ]);
    assert!(summary.starts_with("drew 5 charts"), "{summary}");
    let names: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = [
        "a_b__quoted_.png",
        "acc.png",
        "hparam_acc.png",
        "loss.png",
        "special.png",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(names, want, "one file per scalar tag, names made safe");
    for name in &names {
        let colours = png_colours(&out.join(name), 640, 400);
        assert!(colours > 10, "{name}: drawn, not blank ({colours} colours)");
    }
    // A log scale draws too (the non-positive and non-finite values are left out).
    let log = dir.path().join("log");
    export_ok(&[
        OsStr::new("--logdir"),
        logdir.as_os_str(),
        OsStr::new("--out"),
        log.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("png"),
        OsStr::new("--tag"),
        OsStr::new("special|loss"),
        OsStr::new("--log-scale"),
    ]);
    assert!(png_colours(&log.join("loss.png"), 800, 500) > 10);
    assert!(png_colours(&log.join("special.png"), 800, 500) > 10);
}

#[test]
fn svg_charts_parse_and_name_the_tag_and_every_run() {
    let (dir, logdir) = fixture();
    let out = dir.path().join("charts");
    export_ok(&[
        OsStr::new("--logdir"),
        logdir.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("svg"),
        OsStr::new("--tag"),
        OsStr::new("^loss$"),
    ]);
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["loss.svg".to_owned()]);
    let text = std::fs::read_to_string(out.join("loss.svg")).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses as XML");
    let root = doc.root_element();
    assert!(root.has_tag_name("svg"));
    assert_eq!(
        (root.attribute("width"), root.attribute("height")),
        (Some("800"), Some("500"))
    );
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::trim))
        .collect();
    for want in ["loss", "train", "nested/eval", "step"] {
        assert!(texts.contains(&want), "{want} in {texts:?}");
    }
    assert!(
        doc.descendants().any(|n| n.has_tag_name("polyline")),
        "lines are drawn"
    );
}

/// Runs an export that must fail: non-zero exit, no panic; returns stderr.
fn export_err<S: AsRef<OsStr>>(args: &[S]) -> String {
    let out = export(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "no summary on failure");
    stderr
}

/// runboard's own errors: exactly one line, starting `runboard: `.
fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("runboard: "), "{stderr}");
    lines[0]
}

#[test]
fn bad_input_fails_with_one_clear_line_and_no_panic() {
    let (dir, logdir) = fixture();
    let out = dir.path().join("out");
    let base = |format: &str| -> Vec<std::ffi::OsString> {
        vec![
            "--logdir".into(),
            logdir.clone().into(),
            "--out".into(),
            out.clone().into(),
            "--format".into(),
            format.into(),
        ]
    };
    let with = |format: &str, extra: &[&str]| {
        let mut args = base(format);
        args.extend(extra.iter().map(Into::into));
        args
    };

    let e = export_err(&with("csv", &["--run", "tr(ain"]));
    let line = one_line(&e);
    assert!(
        line.contains("--run") && line.contains("invalid regex"),
        "{line}"
    );

    let e = export_err(&with("csv", &["--tag", "[a-"]));
    assert!(one_line(&e).contains("--tag: invalid regex \"[a-\""), "{e}");

    let e = export_err(&with("csv", &["--tag", "^no_such_tag$"]));
    let line = one_line(&e);
    assert!(
        line.contains("nothing to export")
            && line.contains("--tag \"^no_such_tag$\"")
            && line.contains("2 runs and 5 scalar tags exist"),
        "{line}"
    );

    // --out is an existing regular file.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let mut args = base("csv");
    args[3] = file.clone().into();
    let line = one_line(&export_err(&args)).to_owned();
    assert!(
        line.contains("cannot write to --out") && line.contains("not a folder"),
        "{line}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x", "left alone");

    // Both, and neither, of --logdir and --db: clap says so on its first line.
    let e = export_err(&[
        "--logdir", "x", "--db", "y", "--out", "o", "--format", "csv",
    ]);
    let first = e.lines().next().unwrap();
    assert!(
        first.starts_with("error:") && first.contains("--logdir") && first.contains("--db"),
        "{e}"
    );
    let e = export_err(&["--out", "o", "--format", "csv"]);
    let first = e.lines().next().unwrap();
    assert!(
        first.starts_with("error:") && first.contains("required"),
        "{e}"
    );
    assert!(e.contains("--logdir") && e.contains("--db"), "{e}");

    // Sources that are not there or not runboard's.
    let e = export_err(&[
        OsStr::new("--db"),
        dir.path().join("missing.sqlite").as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("csv"),
    ]);
    assert!(one_line(&e).contains("does not exist"), "{e}");
    let e = export_err(&[
        OsStr::new("--db"),
        file.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("csv"),
    ]);
    assert!(one_line(&e).starts_with("runboard: --db "), "{e}");
    let e = export_err(&[
        OsStr::new("--logdir"),
        dir.path().join("nope").as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("csv"),
    ]);
    assert!(one_line(&e).contains("does not exist"), "{e}");
    let empty = dir.path().join("empty-logdir");
    std::fs::create_dir_all(&empty).unwrap();
    let e = export_err(&[
        OsStr::new("--logdir"),
        empty.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("csv"),
    ]);
    assert!(one_line(&e).contains("holds no event files"), "{e}");

    // Chart options out of range.
    let e = export_err(&with("png", &["--smoothing", "1.5"]));
    assert!(one_line(&e).contains("smoothing"), "{e}");
    let e = export_err(&with("svg", &["--width", "20"]));
    assert!(one_line(&e).contains("between 100 and 4096"), "{e}");
    let e = export_err(&with("png", &["--max-points", "2"]));
    assert!(one_line(&e).contains("--max-points"), "{e}");

    // Event files exported twice into one folder would be read twice by TensorBoard.
    let tfe = dir.path().join("tfe");
    let mut args = base("tfevents");
    args[3] = tfe.clone().into();
    export_ok(&args);
    let e = export_err(&args);
    assert!(one_line(&e).contains("already holds event files"), "{e}");
}
