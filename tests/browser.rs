//! The dashboard in a real browser: Debian's headless Chromium driven by playwright-core (`tests/browser/*.mjs`) against the real server, with live appends to a served event file and a server restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use runboard_sdk::SummaryWriter;

/// The browser: `$CHROMIUM`, else Debian's. Missing, the test fails (it is never skipped):
/// `bash .ci/test` installs it.
fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "no Chromium at {} (set CHROMIUM): `bash .ci/test` installs Debian's chromium",
        path.display()
    );
    path
}

/// `tests/browser` with its node_modules (playwright-core); `bash .ci/test` runs `npm ci` there.
fn browser_dir() -> PathBuf {
    let dir = common::repo().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `bash .ci/test` (or `npm ci --prefix tests/browser`)"
    );
    dir
}

/// Where the browser tests leave their screenshots: `target/browser-artifacts/<name>`.
pub fn artifacts(name: &str) -> PathBuf {
    let dir = common::repo().join("target/browser-artifacts").join(name);
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    dir
}

/// Two runs with hparams: scalars `loss` (a NaN at step 50), `accuracy`, `train/lr`; a
/// histogram, a text value with a `<script>`, and an 8x8 image. Returns the writer of the first
/// run, left open so the test can append to its event file.
fn fixture(logdir: &Path) -> SummaryWriter {
    let mut writers = Vec::new();
    for (run, lr) in [("mnist/lr=0.1", 0.1), ("mnist/lr=0.01", 0.01)] {
        let mut w = SummaryWriter::new(logdir.join(run)).unwrap();
        w.add_hparams(&[("lr", lr.into()), ("optimizer", "adam".into())], &[]);
        for step in 0..100i64 {
            let t = step as f64;
            let loss = if run.ends_with("0.1") && step == 50 {
                f64::NAN
            } else {
                2.0 / (1.0 + t * lr) + 0.1 * (t * 1.7).sin()
            };
            w.add_scalar("loss", loss, step);
            w.add_scalar("accuracy", 1.0 - 1.0 / (1.0 + t * lr), step);
            w.add_scalar("train/lr", lr * 0.99f64.powi(step as i32), step);
            if step % 10 == 0 {
                let values: Vec<f64> = (0..200).map(|i| (i as f64 * 0.37 + t).sin()).collect();
                w.add_histogram("weights", &values, step);
            }
        }
        w.add_text(
            "notes",
            "# Notes\n\nlogged <script>window.__pwned = 1</script> and \
             <img src=x onerror=\"window.__pwned = 2\"> and [a link](javascript:window.__pwned=3)",
            5,
        );
        let pixels: Vec<u8> = (0..8 * 8 * 3).map(|i| (i * 5 % 256) as u8).collect();
        w.add_image("samples", &pixels, 8, 8, 3, 10).unwrap();
        w.flush().unwrap();
        writers.push(w);
    }
    let live = writers.remove(0);
    for w in writers {
        w.close().unwrap();
    }
    live
}

#[test]
fn the_dashboard_works_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    let db = tmp.path().join("runboard.sqlite");
    let mut live = fixture(&logdir);
    let port = common::free_port().to_string();
    let extra = ["--port", port.as_str(), "--gpu-sim", "2"];
    let (mut server, base, log) = common::spawn_runboard_with(&logdir, &db, &extra);
    let artifacts = artifacts("dashboard");

    let (ok, passed) = run_node("dashboard.mjs", &base, &artifacts, &[], |words, to_node| {
        match words {
            ["append", step, value] => {
                live.add_scalar("loss", value.parse::<f64>().unwrap(), step.parse().unwrap());
                live.flush().unwrap();
            }
            ["restart"] => {
                // A crash, then a start on the same port and database.
                server.kill().unwrap();
                server.wait().unwrap();
                let (s, again, _) = common::spawn_runboard_with(&logdir, &db, &extra);
                assert_eq!(again, base);
                server = s;
            }
            _ => return false,
        }
        writeln!(to_node, "ok").unwrap();
        true
    });
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        ok,
        "browser checks failed after {passed:?} (screenshots in {}); server log:\n{}",
        artifacts.display(),
        log.lock().unwrap()
    );
    for check in [
        "loads-without-errors",
        "charts-for-every-tag",
        "live-append-without-reload",
        "smoothing-slider",
        "logged-script-does-not-run",
        "histograms-images-hparams",
        "gpu-pane",
        "screenshot",
        "state-in-url",
        "no-console-errors",
        "reconnects-after-server-restart",
    ] {
        assert!(
            passed.iter().any(|p| p == check),
            "{check} did not pass: {passed:?}"
        );
    }
    let shot = std::fs::read(artifacts.join("dashboard.png")).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 10_000,
        "the screenshot is a real PNG ({} bytes)",
        shot.len()
    );
    live.close().unwrap();
}

/// The runs of the run table's test: config (as hparams) that differs per run, with a key one
/// run lacks and a string holding HTML; scalars `loss` (goal guessed: min), `accuracy` (max)
/// and `train/lr` (no goal); one run named with HTML.
fn run_table_fixture(logdir: &Path) {
    let runs: [(&str, f64, &str, Option<f64>); 7] = [
        ("exp/adam-lr0.1", 0.1, "adam", Some(64.0)),
        ("exp/adam-lr0.01", 0.01, "adam", Some(32.0)),
        ("exp/sgd-lr0.03", 0.03, "sgd", Some(64.0)),
        ("exp/sgd-lr0.003", 0.003, "sgd", Some(128.0)),
        ("exp/adamw-lr0.3", 0.3, "adamw", Some(16.0)),
        (
            "exp/rmsprop",
            0.001,
            "<img src=x onerror=\"window.__pwned=7\">",
            None,
        ),
        (
            "<img src=x onerror=window.__pwned=8>",
            0.2,
            "sgd",
            Some(8.0),
        ),
    ];
    for (i, (run, lr, optimizer, batch)) in runs.into_iter().enumerate() {
        let mut w = SummaryWriter::new(logdir.join(run)).unwrap();
        let mut hp = vec![("lr", lr.into()), ("optimizer", optimizer.into())];
        if let Some(b) = batch {
            hp.push(("batch", b.into()));
        }
        w.add_hparams(&hp, &[]);
        let k = i as f64;
        for step in 0..20i64 {
            let t = step as f64;
            // Minima and maxima inside the series (not at its end), so best and last differ.
            w.add_scalar(
                "loss",
                1.5 + k * 0.25 - t * 0.05 + (t - 12.0).abs() * 0.04,
                step,
            );
            w.add_scalar(
                "accuracy",
                0.5 + k * 0.03 + t * 0.01 - (t - 15.0).abs() * 0.004,
                step,
            );
            w.add_scalar("train/lr", lr * (1.0 - t / 40.0), step);
        }
        w.close().unwrap();
    }
}

/// Issue 14: the Runs tab on a real server: the table against `/api/v1/run_table`, sorting,
/// per-column and expression filters, the column picker, selection driving the charts, edits
/// (rename, tags, notes, archive, delete) that round-trip and reach a second page live, user
/// text that never runs, and a virtualised table of hundreds of runs
/// (`tests/browser/runs.mjs`). First the unit tests of the filter grammar and the table's
/// pure parts (`tests/browser/filter.test.mjs`, `runtable.test.mjs`, `node --test`).
#[test]
fn the_run_table_works_in_chromium() {
    let browser_dir = browser_dir();
    let unit = Command::new("node")
        .args(["--test", "filter.test.mjs", "runtable.test.mjs"])
        .current_dir(&browser_dir)
        .stdin(Stdio::null())
        .output()
        .expect("node (Node.js) runs: install it");
    assert!(
        unit.status.success(),
        "the run table's unit tests (node --test) failed:\n{}{}",
        String::from_utf8_lossy(&unit.stdout),
        String::from_utf8_lossy(&unit.stderr)
    );

    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    run_table_fixture(&logdir);
    let (child, base, log) =
        common::spawn_runboard_with(&logdir, &tmp.path().join("runboard.sqlite"), &["--no-gpu"]);
    let server = common::Server { child, base };
    let artifacts = artifacts("runs");
    let (ok, passed) = run_node("runs.mjs", &server.base, &artifacts, &[], |_, _| false);
    let expected = [
        "table-lists-every-run",
        "sort-by-config",
        "sort-by-metric",
        "column-filter",
        "expression-filter",
        "expression-error",
        "column-picker",
        "state-in-url",
        "selection-drives-every-tab",
        "rename-live",
        "tags-live",
        "notes-live",
        "edit-errors-shown",
        "archive-and-show-archived",
        "delete-with-confirm",
        "edits-after-reload",
        "user-text-never-runs",
        "virtualised",
        "no-console-errors",
    ];
    assert_passed(ok, &passed, &expected, &artifacts, &log.lock().unwrap());
}

/// The Graphs tab on the committed graph fixture (`tests/browser/graph.mjs`): every top-level
/// scope and the edges between them as the API gives them, a scope opened by a click and closed
/// from its header, a node found by search and revealed, an op's details, a name with quotes
/// and non-ASCII letters drawn as text, zoom and pan.
#[test]
fn the_graph_tab_works_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    common::copy_dir(
        &common::repo().join("tests/fixtures/logdirs/graph"),
        &logdir.join("graph"),
    );
    let expected = [
        "top-level-scopes-and-edges",
        "a-scope-opens-on-click",
        "search-finds-and-reveals-a-node",
        "a-scope-closes-from-its-header",
        "colour-by-run-metadata",
        "zoom-and-pan",
        "no-console-errors",
    ];
    check_in_chromium(&tmp, &logdir, "graph", "graph.mjs", &expected, |_, _| false);
}

/// The Custom Scalars tab (`tests/browser/custom_scalars.mjs`) on the committed tensorboardX
/// fixture (runs `a` and `b`: multiline charts over exact tags and `tpex/.*`, a margin chart)
/// and a run `c` written here whose layout adds a category marked closed, with HTML in its
/// title and a chart with an invalid regex. Every category and chart, each multiline chart's
/// lines and the margin chart's band as the server's `/data/plugin/custom_scalars/*` answers
/// say; `c`'s event file is left open so the page sees points appended to it live.
#[test]
fn the_custom_scalars_tab_works_in_chromium() {
    use runboard_sdk::proto::tensorboard::{Category, Chart, Layout, MultilineChartContent, chart};
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    common::copy_dir(
        &common::repo().join("tests/fixtures/logdirs/custom_scalars"),
        &logdir,
    );
    let multiline = |title: &str, tags: &[&str]| Chart {
        title: title.into(),
        content: Some(chart::Content::Multiline(MultilineChartContent {
            tag: tags.iter().map(|t| (*t).into()).collect(),
        })),
    };
    let mut live = SummaryWriter::new(logdir.join("c")).unwrap();
    live.add_custom_scalars(&Layout {
        version: 0,
        category: vec![Category {
            title: "Closed <b>by default</b>".into(),
            chart: vec![
                multiline("c loss", &["loss"]),
                multiline("bad regex", &["(unclosed", "loss"]),
            ],
            closed: true,
        }],
    });
    for step in 0..6i64 {
        live.add_scalar("loss", 4.0 - 0.25 * step as f64, step);
    }
    live.flush().unwrap();
    let expected = [
        "categories-and-charts",
        "multiline-lines",
        "margin-band",
        "closed-category",
        "invalid-regex-said-on-card",
        "live-update",
        "no-console-errors",
    ];
    check_in_chromium(
        &tmp,
        &logdir,
        "custom-scalars",
        "custom_scalars.mjs",
        &expected,
        |words, to_node| {
            let ["append", step, value] = words else {
                return false;
            };
            live.add_scalar("loss", value.parse::<f64>().unwrap(), step.parse().unwrap());
            live.flush().unwrap();
            writeln!(to_node, "ok").unwrap();
            true
        },
    );
    live.close().unwrap();
}

/// Labels and scores of a classifier at `step`: a third positive, scores that separate the
/// classes better as steps go on, spread by a fixed pattern (no randomness: the test is the same
/// every time).
fn classifier_at(step: i64) -> (Vec<bool>, Vec<f32>) {
    let n = 300i64;
    let labels: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
    let scores = labels
        .iter()
        .zip(0..n)
        .map(|(&positive, i)| {
            let spread = ((i * 37 + step * 101) % 97) as f32 / 97.0 - 0.5;
            let lean = 0.1 + 0.02 * step as f32;
            (0.5 + if positive { lean } else { -lean } + 0.8 * spread).clamp(0.0, 1.0)
        })
        .collect();
    (labels, scores)
}

/// The PR Curves tab (`tests/browser/pr_curves.mjs`) on the committed fixture (run `a` with
/// `pr/cat` at 3 steps × 127 thresholds, `pr/dog` and `formula`; run `b` with
/// `quality/pr_curves`) and a run `c` written here that logs `pr/cat` at other steps than `a`:
/// a card per tag, a curve per run as the server's `/data/plugin/pr_curves/*` answers say, the
/// step slider, the values at the pointer; `c`'s event file is left open so the page sees
/// curves appended to it live.
#[test]
fn the_pr_curves_tab_works_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    common::copy_dir(
        &common::repo().join("tests/fixtures/logdirs/pr_curves"),
        &logdir,
    );
    let mut live = SummaryWriter::new(logdir.join("c")).unwrap();
    // Steps 0 and 3 beside `a`'s 0, 1 and 2: the card's slider lists all four, and each run
    // draws its last curve at or before the chosen step.
    for step in [0i64, 3] {
        let (labels, scores) = classifier_at(step);
        live.add_pr_curve("pr/cat", &labels, &scores, step, 127);
    }
    live.flush().unwrap();
    let expected = [
        "cards-per-tag",
        "curve-per-run",
        "step-slider",
        "values-at-cursor",
        "live-update",
        "no-console-errors",
    ];
    check_in_chromium(
        &tmp,
        &logdir,
        "pr-curves",
        "pr_curves.mjs",
        &expected,
        |words, to_node| {
            let ["append", step] = words else {
                return false;
            };
            let step: i64 = step.parse().unwrap();
            let (labels, scores) = classifier_at(step);
            live.add_pr_curve("pr/cat", &labels, &scores, step, 127);
            live.flush().unwrap();
            writeln!(to_node, "ok").unwrap();
            true
        },
    );
    live.close().unwrap();
}

/// A clip of `frames` samples at `sample_rate`: a tone whose pitch and loudness depend on
/// `step`, so that each step's waveform differs (no randomness).
fn tone_at(step: i64, frames: usize, sample_rate: u32) -> Vec<f32> {
    let pitch = 220.0 + 110.0 * step as f32;
    let loudness = 0.3 + 0.1 * (step % 5) as f32;
    (0..frames)
        .map(|i| loudness * (std::f32::consts::TAU * pitch * i as f32 / sample_rate as f32).sin())
        .collect()
}

/// The Audio tab (`tests/browser/audio.mjs`) on the committed fixture (run `a` with `tone` and
/// `noise`, run `b` with `speech` holding 2 clips a step) and a run `c` written here with the
/// SDK: a card per run and tag, players whose duration and waveform match the WAV the server's
/// `/data/plugin/audio/individualAudio` serves, the step slider, a player per clip; `c`'s event
/// file is left open so the page sees clips appended to it live.
#[test]
fn the_audio_tab_works_in_chromium() {
    const RATE: u32 = 8000;
    const FRAMES: usize = 1200;
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    common::copy_dir(
        &common::repo().join("tests/fixtures/logdirs/audio"),
        &logdir,
    );
    let mut live = SummaryWriter::new(logdir.join("c")).unwrap();
    for step in [0i64, 2] {
        live.add_audio("voice", &tone_at(step, FRAMES, RATE), RATE, step);
    }
    live.flush().unwrap();
    let expected = [
        "cards-per-run-and-tag",
        "audio-duration",
        "waveform-drawn",
        "step-slider",
        "clips-per-step",
        "truncated-clip-said",
        "live-update",
        "no-console-errors",
    ];
    check_in_chromium(
        &tmp,
        &logdir,
        "audio",
        "audio.mjs",
        &expected,
        |words, to_node| {
            let ["append", step] = words else {
                return false;
            };
            let step: i64 = step.parse().unwrap();
            live.add_audio("voice", &tone_at(step, FRAMES, RATE), RATE, step);
            live.flush().unwrap();
            writeln!(to_node, "ok").unwrap();
            true
        },
    );
    live.close().unwrap();
}

/// A tetrahedron whose size grows with `step` (no randomness), coloured per vertex, and a config
/// naming every kind of light the Mesh tab applies.
fn tetrahedron_at(step: i64) -> (Vec<[f32; 3]>, serde_json::Value) {
    let size = 1.0 + 0.5 * step as f32;
    let vertices = [
        [1.0, 1.0, 1.0],
        [1.0, -1.0, -1.0],
        [-1.0, 1.0, -1.0],
        [-1.0, -1.0, 1.0],
    ]
    .map(|v: [f32; 3]| v.map(|x| x * size));
    let config = serde_json::json!({
        "camera": {"cls": "PerspectiveCamera", "fov": 60},
        "lights": [
            {"cls": "AmbientLight", "color": "#ffffff", "intensity": 0.5},
            {"cls": "DirectionalLight", "color": "#ffffff", "intensity": 0.6, "position": [1, 2, 3]},
            {"cls": "PointLight", "color": "#ffcc88", "intensity": 0.2},
        ],
        "material": {"cls": "MeshStandardMaterial", "roughness": 0.5},
    });
    (vertices.to_vec(), config)
}

/// Logs `tetrahedron_at(step)` as the mesh `tetra`.
fn add_tetrahedron(w: &mut SummaryWriter, step: i64) {
    const FACES: [[u32; 3]; 4] = [[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]];
    const COLORS: [[u8; 3]; 4] = [[230, 60, 60], [60, 200, 90], [70, 110, 240], [240, 200, 60]];
    let (vertices, config) = tetrahedron_at(step);
    w.add_mesh("tetra", &vertices, &FACES, &COLORS, Some(&config), step)
        .unwrap();
}

/// The Mesh tab (`tests/browser/mesh.mjs`) on the committed fixture (run `a` with a coloured
/// `cube` at 3 steps and a point cloud `cloud`, run `b` with `pyramid` holding 2 samples a step)
/// and a run `c` written here with the SDK (`tetra`): a card per run and mesh, a canvas drawn
/// with WebGL (SwiftShader), vertex and face counts and bounding radii as the server's
/// `/data/plugin/mesh/*` answers say, the step slider, the sample selector, the point cloud's
/// point size, rendering only on change, and a bad face index kept to its card; `c`'s event file
/// is left open so the page sees meshes appended to it live.
#[test]
fn the_mesh_tab_works_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    common::copy_dir(&common::repo().join("tests/fixtures/logdirs/mesh"), &logdir);
    let mut live = SummaryWriter::new(logdir.join("c")).unwrap();
    for step in [0i64, 2] {
        add_tetrahedron(&mut live, step);
    }
    live.flush().unwrap();
    let expected = [
        "cards-per-run-and-mesh",
        "counts-match-api",
        "canvas-drawn",
        "step-slider",
        "sample-selector",
        "point-cloud",
        "renders-on-change-only",
        "live-update",
        "bad-data-stays-in-its-card",
        "no-console-errors",
    ];
    check_in_chromium(
        &tmp,
        &logdir,
        "mesh",
        "mesh.mjs",
        &expected,
        |words, to_node| {
            let ["append", step] = words else {
                return false;
            };
            add_tetrahedron(&mut live, step.parse().unwrap());
            live.flush().unwrap();
            writeln!(to_node, "ok").unwrap();
            true
        },
    );
    live.close().unwrap();
}

/// Logs the embedding `points` at `step` into `w`: 40 rows of 6 values on a spiral that turns
/// with the step (no randomness), labelled `p0` to `p39`.
fn add_points(w: &mut SummaryWriter, step: i64) {
    let rows: Vec<[f32; 6]> = (0..40)
        .map(|i| {
            let t = i as f32 * 0.3 + step as f32;
            let i = i as f32;
            [
                t.cos(),
                t.sin(),
                0.1 * i,
                (2.0 * t).sin(),
                (0.5 * t).cos(),
                0.01 * i * i,
            ]
        })
        .collect();
    let labels: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
    w.add_embedding("points", &rows, &labels, step).unwrap();
}

/// The run `bad`: a projector config naming a readable raw float32 tensor (`good`, 8 × 3), a
/// tensor file that does not exist (`gone`), and the good tensor with a metadata file that does
/// not exist (`nometa`).
fn write_bad_projector_run(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let values: Vec<u8> = (0..8 * 3)
        .flat_map(|i| ((i % 7) as f32 - 0.1 * i as f32).to_le_bytes())
        .collect();
    std::fs::write(dir.join("good.bin"), values).unwrap();
    std::fs::write(
        dir.join("projector_config.pbtxt"),
        "embeddings { tensor_name: \"good\" tensor_path: \"good.bin\" tensor_shape: 8 tensor_shape: 3 }\n\
         embeddings { tensor_name: \"gone\" tensor_path: \"gone.bin\" tensor_shape: 8 tensor_shape: 3 }\n\
         embeddings { tensor_name: \"nometa\" tensor_path: \"good.bin\" tensor_shape: 8 tensor_shape: 3 \
         metadata_path: \"nometa.tsv\" }\n",
    )
    .unwrap();
}

/// The Projector tab (`tests/browser/projector.mjs`) on the committed fixture (run `a` with
/// `default:00000`, 100 × 5 in 4 labelled clusters with a sprite, and `words:00003` with a
/// two-column metadata table; run `b` with `vectors` from a raw float32 file), the run `bad`
/// (`write_bad_projector_run`) and a run `c` written here with the SDK (`points`): the picker
/// lists every embedding as `/api/v1/projector` does, a point drawn per row, colours by a
/// metadata column, the search's count, the selected point's neighbours as
/// `/api/v1/projector/neighbors` answers, the 3D view (WebGL through SwiftShader), the sprite
/// thumbnail, each embedding's error, and an embedding logged to `c` while the page is open.
#[test]
fn the_projector_tab_works_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    common::copy_dir(
        &common::repo().join("tests/fixtures/logdirs/projector"),
        &logdir,
    );
    write_bad_projector_run(&logdir.join("bad"));
    let mut live = SummaryWriter::new(logdir.join("c")).unwrap();
    add_points(&mut live, 0);
    live.flush().unwrap();
    let expected = [
        "picker-lists-every-embedding",
        "one-point-per-row",
        "colour-by-metadata",
        "search-counts-matches",
        "click-selects-and-lists-neighbours",
        "sprite-thumbnail",
        "3d-draws",
        "tsne-draws",
        "error-texts",
        "live-update",
        "screenshot",
        "no-console-errors",
    ];
    check_in_chromium(
        &tmp,
        &logdir,
        "projector",
        "projector.mjs",
        &expected,
        |words, to_node| {
            let ["append", step] = words else {
                return false;
            };
            add_points(&mut live, step.parse().unwrap());
            live.flush().unwrap();
            writeln!(to_node, "ok").unwrap();
            true
        },
    );
    live.close().unwrap();
}

/// The HParams tab (`tests/browser/hparams.mjs`) on a copy of the committed fixture
/// `tests/fixtures/logdirs/hparams` (an experiment declared by a `config` run, sessions of every
/// status with metrics in their runs and `validation` sub-runs, a run that is no session), with
/// a scalar tag written here into a session run that the experiment does not declare and a
/// session whose optimizer lies outside the declared domain: the
/// declared metrics as columns, the status column and filter, hyperparameter and metric range
/// filters, brushes on the parallel axes, every category a tick, labels that fit, and the
/// scatter-plot matrix, each as the server's `/api/v1/hparams` says.
#[test]
fn the_hparams_tab_works_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    common::copy_dir(
        &common::repo().join("tests/fixtures/logdirs/hparams"),
        &logdir,
    );
    // A scalar tag the experiment does not declare, in a session's run.
    let mut w = SummaryWriter::new(logdir.join("trial_0")).unwrap();
    for step in 0..3i64 {
        w.add_scalar("debug/grad_norm", 1.0 + step as f64, step);
    }
    w.close().unwrap();
    // A session with an optimizer outside the declared domain: three categories on its axis.
    let mut w = SummaryWriter::new(logdir.join("trial_6")).unwrap();
    w.add_hparams(
        &[
            ("lr", 0.03.into()),
            ("optimizer", "rmsprop".into()),
            ("layers", 3.0.into()),
            ("batch_norm", false.into()),
        ],
        &[],
    );
    for step in 0..4i64 {
        w.add_scalar("loss", 0.3 - 0.02 * step as f64, step);
    }
    w.add_hparams_end(false);
    w.close().unwrap();
    let expected = [
        "declared-metric-columns",
        "status-column-and-filter",
        "hparam-filter",
        "metric-range-filter",
        "brushing",
        "categorical-ticks",
        "labels-fit",
        "scatter-matrix",
        "no-console-errors",
    ];
    check_in_chromium(
        &tmp,
        &logdir,
        "hparams",
        "hparams.mjs",
        &expected,
        |_, _| false,
    );
}

/// `runboard demo` stopped with SIGTERM (so it removes its scratch database), killed if it lingers.
struct Demo {
    child: std::process::Child,
    base: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 12: what a TensorBoard user sees. The real `runboard demo` (six runs, one diverging;
/// two simulated GPUs) serves a logdir that also holds a run written by the real tensorboardX
/// with its defaults (`tests/py/tbx_dashboard.py`: ~600-bucket histograms, one-point and
/// NaN-gapped tags, values around 1e6 and 8e-4, a PR curve); a second server has no runs.
#[test]
fn the_dashboard_shows_tensorboardx_files_and_the_demo_as_tensorboard_does() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    std::fs::create_dir_all(&logdir).unwrap();
    let script = common::repo().join("tests/py/tbx_dashboard.py");
    let out = Command::new(common::python())
        .arg(&script)
        .arg(&logdir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tbx_dashboard.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runboard"));
    cmd.args([
        "demo", "--port", "0", "--steps", "1300", "--rate", "4000", "--logdir",
    ])
    .arg(&logdir);
    let (child, base, log) = common::spawn_command(cmd);
    let demo = Demo { child, base };
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (child, empty_base, _) =
        common::spawn_runboard_with(&empty, &tmp.path().join("empty.sqlite"), &["--no-gpu"]);
    let empty_server = common::Server {
        child,
        base: empty_base,
    };
    let artifacts = artifacts("tensorboard-user");
    let empty_logdir = empty.to_str().unwrap();
    let (ok, passed) = run_node(
        "tensorboard_user.mjs",
        &demo.base,
        &artifacts,
        &[
            ("EMPTY_URL", empty_server.base.as_str()),
            ("EMPTY_LOGDIR", empty_logdir),
        ],
        |_, _| false,
    );
    let expected = [
        "histograms-fill-their-cards",
        "lone-points-are-dots",
        "log-y-draws-every-chart",
        "axis-labels-read-back",
        "outliers-ignored-by-default",
        "unshown-kinds-named",
        "cards-follow-selected-runs",
        "controls-only-where-they-act",
        "run-colours-from-the-server",
        "tooltip-sorted-by-value",
        "hovering-a-run-highlights-its-line",
        "plurals",
        "all-non-finite-said-on-the-card",
        "system-digits",
        "images-at-a-useful-size",
        "first-run-snippet",
        "rebin-matches-tensorboard",
        "numbers-for-people",
        "no-errors",
    ];
    assert_passed(ok, &passed, &expected, &artifacts, &log.lock().unwrap());
}

/// A finite value as JSON, a non-finite one as runboard's JSON writes it ("NaN").
fn scalar_json(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::json!(v)
    } else {
        serde_json::json!(if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        })
    }
}

/// The run record of a sweep's run as the SDK sends it: the same host, user, commit and
/// versions for every run; the command line and the config's `lr`, `seed` and `note` its own.
fn sweep_record(lr: f64, seed: u32, note: &str) -> serde_json::Value {
    let record = serde_json::json!({
        "schema": 1, "host": "node-1", "user": "alice",
        "command": ["train", "--lr", lr.to_string(), "--seed", seed.to_string()],
        "git": {"commit": "feedc0de00000000000000000000000000000000", "branch": "main", "dirty": false},
        "versions": {"rustc": "1.85.0", "runboard": "0.1.0"},
        "config": {"lr": lr, "seed": seed, "optimizer": "adam", "note": note},
    });
    serde_json::json!({"tag": "_runboard/run", "step": 0,
        "run_event": {"type": "record", "record": record}})
}

/// Issue 14: groups, x axes from any series and the compare view. Six runs sent as JSON
/// batches (lr 0.1 or 0.01, seeds 0 to 2, each seed skipping other steps, one NaN), with an
/// `epoch` logged every 10 steps (not by one run) and a `<script>` in a config value; numpy
/// computes what the groups must draw.
#[test]
fn groups_x_series_and_compare_work_in_chromium() {
    use serde_json::{Value as Json, json};
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    std::fs::create_dir_all(&logdir).unwrap();
    let (child, base, log) =
        common::spawn_runboard_with(&logdir, &tmp.path().join("runboard.sqlite"), &["--no-gpu"]);
    let server = common::Server { child, base };
    let mut posted = serde_json::Map::new();
    let mut by_lr = serde_json::Map::new();
    let mut subset = serde_json::Map::new();
    for (k, lr) in [0.1f64, 0.01].into_iter().enumerate() {
        let mut members = Vec::new();
        let mut some = Vec::new();
        for seed in 0..3u32 {
            let run = format!("sweep/lr{lr}/s{seed}");
            let note = if k == 0 && seed == 0 {
                "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\">"
                    .to_owned()
            } else {
                format!("lr {lr} seed {seed}")
            };
            let mut points = vec![sweep_record(lr, seed, &note)];
            let mut loss = Vec::new();
            let mut epoch = Vec::new();
            for step in 0..=120i64 {
                // Seed 1 skips every 3rd step and seed 2 every 4th (from 1): steps differ.
                if (seed == 1 && step % 3 == 1) || (seed == 2 && step % 4 == 1) {
                    continue;
                }
                let t = step as f64;
                let v = if seed == 1 && step == 42 {
                    f64::NAN
                } else {
                    (k as f64 + 1.0) / (1.0 + t / 20.0)
                        + 0.05 * (t * 0.7 + f64::from(seed) * 1.3).sin()
                };
                points.push(json!({"tag": "loss", "step": step, "scalar": scalar_json(v)}));
                loss.push(json!([
                    step,
                    if v.is_finite() { json!(v) } else { Json::Null }
                ]));
            }
            // Every run but one logs its epoch every 10 steps.
            if !(k == 1 && seed == 2) {
                for step in (0..=120i64).step_by(10) {
                    let e = step as f64 / 40.0;
                    points.push(json!({"tag": "epoch", "step": step, "scalar": e}));
                    epoch.push(json!([step, e]));
                }
            }
            common::ingest_json(
                &server.base,
                json!({"run": run, "session": format!("s-{run}"), "seq": 1, "points": points}),
            );
            posted.insert(run.clone(), json!({"loss": loss, "epoch": epoch}));
            if seed != 2 {
                some.push(Json::Array(loss.clone()));
            }
            members.push(Json::Array(loss));
        }
        by_lr.insert(lr.to_string(), Json::Array(members));
        subset.insert(lr.to_string(), Json::Array(some));
    }
    let expected = json!({
        "posted": posted,
        "groups": common::numpy_groups(&Json::Object(by_lr)),
        // Without the seed-2 runs (unselected in the page).
        "subset": common::numpy_groups(&Json::Object(subset)),
    });
    let artifacts = artifacts("groups");
    let data = artifacts.join("expected.json");
    std::fs::write(&data, expected.to_string()).unwrap();
    let base = server.base.clone();
    let (ok, passed) = run_node(
        "groups.mjs",
        &server.base,
        &artifacts,
        &[("EXPECTED", data.to_str().unwrap())],
        |words, to_node| {
            let ["ingest", run, step, value] = words else {
                return false;
            };
            let step: i64 = step.parse().unwrap();
            let value: f64 = value.parse().unwrap();
            common::ingest_json(
                &base,
                json!({"run": run, "session": format!("live-{run}-{step}"), "seq": 1,
                    "points": [{"tag": "loss", "step": step, "scalar": value}]}),
            );
            writeln!(to_node, "ok").unwrap();
            true
        },
    );
    let expected_checks = [
        "loads",
        "group-by-lr-std-band-equals-numpy",
        "min-max-band-equals-numpy",
        "show-runs-draws-members-faintly",
        "tooltip-names-group-mean-band-n",
        "groups-follow-the-selection",
        "groups-follow-live-points",
        "group-by-name-regex",
        "group-state-in-url",
        "chart-against-epoch-pairs-by-step",
        "global-x-axis-lists-series",
        "compare-shows-only-differences",
        "compare-show-all",
        "compare-url-reproduces-the-view",
        "config-text-is-not-html",
        "no-console-errors",
    ];
    assert_passed(
        ok,
        &passed,
        &expected_checks,
        &artifacts,
        &log.lock().unwrap(),
    );
}

/// Serves `logdir` (database in `tmp`, no GPU sampler), runs `tests/browser/<script>` against it
/// with screenshots into `artifacts(name)` and its requests answered by `on_line` (as in
/// `run_node`), and asserts that each of `expected` passed.
fn check_in_chromium(
    tmp: &tempfile::TempDir,
    logdir: &Path,
    name: &str,
    script: &str,
    expected: &[&str],
    on_line: impl FnMut(&[&str], &mut std::process::ChildStdin) -> bool,
) {
    let (child, base, log) =
        common::spawn_runboard_with(logdir, &tmp.path().join("runboard.sqlite"), &["--no-gpu"]);
    let server = common::Server { child, base };
    let artifacts = artifacts(name);
    let (ok, passed) = run_node(script, &server.base, &artifacts, &[], on_line);
    assert_passed(ok, &passed, expected, &artifacts, &log.lock().unwrap());
}

/// Every expected check passed and the script succeeded, else a failure naming what passed,
/// where the screenshots are and the server's log.
fn assert_passed(ok: bool, passed: &[String], expected: &[&str], artifacts: &Path, log: &str) {
    assert!(
        ok && expected.iter().all(|c| passed.iter().any(|p| p == c)),
        "browser checks failed; passed {passed:?} (screenshots in {}); server log:\n{log}",
        artifacts.display()
    );
}

/// Runs `tests/browser/<script>` in Node against the server at `base` (screenshots into
/// `artifacts`, `env` added to its environment). Each line it prints goes to `on_line` with
/// the script's stdin, for lines that ask the test to act (it answers and returns true);
/// `pass NAME` lines are collected. Returns whether the script succeeded and what passed.
fn run_node(
    script: &str,
    base: &str,
    artifacts: &Path,
    env: &[(&str, &str)],
    mut on_line: impl FnMut(&[&str], &mut std::process::ChildStdin) -> bool,
) -> (bool, Vec<String>) {
    let browser_dir = browser_dir();
    let mut node = Command::new("node")
        .arg(browser_dir.join(script))
        .current_dir(&browser_dir)
        .env("RUNBOARD_URL", base)
        .env("ARTIFACTS", artifacts)
        .env("CHROMIUM", chromium())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node (Node.js) runs: install it");
    let mut to_node = node.stdin.take().unwrap();
    let mut passed = Vec::new();
    for line in BufReader::new(node.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["pass", name] = words.as_slice() {
            eprintln!("browser: pass {name}");
            passed.push(name.to_string());
        } else if !on_line(&words, &mut to_node) {
            eprintln!("browser: {line}");
        }
    }
    (node.wait().unwrap().success(), passed)
}

/// Runs `tests/browser/guard.mjs` in `mode` with `env`, appending to `live` when asked; returns
/// whether it succeeded and the checks that passed.
fn run_guard_checks(
    mode: &str,
    base: &str,
    env: &[(&str, &str)],
    mut live: Option<&mut SummaryWriter>,
) -> (bool, Vec<String>) {
    let artifacts = artifacts(&format!("guard-{mode}"));
    let mut env = env.to_vec();
    env.push(("MODE", mode));
    run_node(
        "guard.mjs",
        base,
        &artifacts,
        &env,
        |words, to_node| match (words, live.as_deref_mut()) {
            (["append", step, value], Some(w)) => {
                w.add_scalar("loss", value.parse::<f64>().unwrap(), step.parse().unwrap());
                w.flush().unwrap();
                writeln!(to_node, "ok").unwrap();
                true
            }
            _ => false,
        },
    )
}

#[test]
fn a_page_on_another_origin_cannot_write_through_the_browser() {
    use runboard_proto::prost::Message;
    use runboard_proto::runboard::ingest as pb;
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    std::fs::create_dir_all(&logdir).unwrap();
    let (child, base, log) =
        common::spawn_runboard_with(&logdir, &tmp.path().join("runboard.sqlite"), &[]);
    let server = common::Server { child, base };
    let json = r#"{"run":"attack-json","session":"a1","seq":1,"points":[{"tag":"loss","step":1,"scalar":1}]}"#;
    // Stored before the guard: any body that decodes as protobuf was taken as a batch.
    let protobuf = pb::Batch {
        run: "attack-protobuf".into(),
        session: "a2".into(),
        seq: 1,
        points: vec![pb::Point {
            tag: "loss".into(),
            step: 1,
            wall_time: 1000.0,
            value: Some(pb::point::Value::Scalar(1.0)),
        }],
    }
    .encode_to_vec();
    let hex: String = protobuf.iter().map(|b| format!("{b:02x}")).collect();
    let (ok, passed) = run_guard_checks(
        "cross-site",
        &server.base,
        &[("BATCH_JSON", json), ("BATCH_PROTOBUF_HEX", &hex)],
        None,
    );
    assert!(
        ok,
        "browser checks failed after {passed:?}; server log:\n{}",
        log.lock().unwrap()
    );
    assert_eq!(passed, ["attack-requests-refused", "nothing-stored"]);
    let (status, runs) = server.get("/api/v1/runs");
    assert_eq!(
        (status, runs),
        (200, serde_json::json!([])),
        "nothing stored"
    );
}

#[test]
fn the_dashboard_asks_for_the_token_once_beyond_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let logdir = tmp.path().join("logs");
    let mut live = fixture(&logdir);
    let port = common::free_port().to_string();
    let extra = [
        "--port",
        port.as_str(),
        "--host",
        "0.0.0.0",
        "--token",
        "s3cret token",
    ];
    let (child, _printed, log) =
        common::spawn_runboard_with(&logdir, &tmp.path().join("runboard.sqlite"), &extra);
    let server = common::Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let (ok, passed) = run_guard_checks(
        "login",
        &server.base,
        &[("TOKEN", "s3cret token")],
        Some(&mut live),
    );
    assert!(
        ok,
        "browser checks failed after {passed:?}; server log:\n{}",
        log.lock().unwrap()
    );
    assert_eq!(
        passed,
        [
            "dashboard-goes-to-login",
            "wrong-token-refused",
            "login-loads-runs",
            "live-with-the-cookie"
        ]
    );
    live.close().unwrap();
}
