//! `runboard serve` against a logdir that sits idle, changes under it, or whose database disk fills up: the real binary on loopback, real files, a real full file system.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{poll, spawn_runboard, spawn_runboard_with};
use runboard_sdk::SummaryWriter;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// The value of one metric on `/metrics`.
fn metric(base: &str, name: &str) -> u64 {
    let (status, body) = common::http_get(&agent(), base, "/metrics", &[]).expect("metrics");
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// The work counters of the ingester: walks, polls, file reads, wake-ups.
fn work(base: &str) -> [u64; 4] {
    [
        metric(base, "runboard_ingest_scans_total"),
        metric(base, "runboard_ingest_polls_total"),
        metric(base, "runboard_ingest_file_reads_total"),
        metric(base, "runboard_ingest_wakeups_total"),
    ]
}

/// How many points `run`/`tag` has at the server (0 when unknown).
fn count(base: &str, run: &str, tag: &str) -> usize {
    let q = [("run", run), ("tag", tag)];
    match common::http_get(&agent(), base, "/api/v1/scalars", &q) {
        Some((200, body)) => {
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            v["points"].as_array().map_or(0, Vec::len)
        }
        _ => 0,
    }
}

fn first_value(base: &str, run: &str, tag: &str) -> Option<f64> {
    let q = [("run", run), ("tag", tag)];
    let (_, body) = common::http_get(&agent(), base, "/api/v1/scalars", &q)?;
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    v["points"][0][2].as_f64()
}

fn write_run(dir: &Path, steps: std::ops::Range<i64>, base_value: f64) -> PathBuf {
    let mut w = SummaryWriter::new(dir).unwrap();
    for s in steps {
        w.add_scalar("loss", base_value + s as f64, s);
    }
    let path = w.path().to_path_buf();
    w.close().unwrap();
    path
}

fn lines_mentioning(log: &Arc<Mutex<String>>, needle: &str) -> Vec<String> {
    log.lock()
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An idle server does no work: over a few seconds its walks, polls, reads and wake-ups do not
/// grow, whether the logdir is empty or holds 1,000 runs.
#[test]
fn an_idle_server_does_no_work_on_an_empty_or_a_1000_run_logdir() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let full = dir.path().join("full");
    for r in 0..1000 {
        write_run(&full.join(format!("sweep/run{r:04}")), 0..3, 0.0);
    }
    let (a, base_a, _) = spawn_runboard_with(&empty, &dir.path().join("a.sqlite"), &["--no-gpu"]);
    let _a = Killed(a);
    let (b, base_b, log_b) =
        spawn_runboard_with(&full, &dir.path().join("b.sqlite"), &["--no-gpu"]);
    let _b = Killed(b);
    poll(Duration::from_secs(60), "1,000 runs loaded", || {
        (count(&base_b, "sweep/run0999", "loss") == 3
            && metric(&base_b, "runboard_ingest_files") == 1000)
            .then_some(())
    });
    poll(Duration::from_secs(10), "the load summary", || {
        (!lines_mentioning(&log_b, "loaded ").is_empty()).then_some(())
    });
    let before = (work(&base_a), work(&base_b));
    std::thread::sleep(Duration::from_secs(3));
    let after = (work(&base_a), work(&base_b));
    assert_eq!(
        after.0, before.0,
        "empty logdir: [scans, polls, reads, wake-ups] changed while idle"
    );
    assert_eq!(
        after.1, before.1,
        "1,000 runs: [scans, polls, reads, wake-ups] changed while idle"
    );
    assert_eq!(metric(&base_b, "runboard_ingest_polled_dirs"), 0);
    assert_eq!(metric(&base_b, "runboard_ingest_watched_dirs"), 1002);
    // A change wakes the reader of that file only: no walk.
    let mut w = SummaryWriter::new(full.join("sweep/run0500")).unwrap();
    w.add_scalar("loss", 9.0, 3);
    w.close().unwrap();
    poll(Duration::from_secs(20), "the appended point", || {
        (count(&base_b, "sweep/run0500", "loss") == 4).then_some(())
    });
    let changed = work(&base_b);
    assert_eq!(changed[0], before.1[0], "no walk for a data change");
    assert!(
        changed[2] - before.1[2] <= 4,
        "{} file reads for one new file",
        changed[2] - before.1[2]
    );
}

/// Files deleted, shrunk, replaced by a folder or by a symlink leading out of the logdir, and
/// rewritten in place: each is logged once, what was stored stays, other runs keep updating
/// and new runs still appear.
#[test]
fn files_that_change_under_the_server_are_logged_once_and_nothing_else_stops() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let outside = write_run(&dir.path().join("elsewhere"), 0..50, 0.0);
    let mut files = std::collections::BTreeMap::new();
    for run in [
        "deleted",
        "shrunk",
        "folder",
        "symlink",
        "rewritten",
        "steady",
    ] {
        files.insert(run, write_run(&logdir.join(run), 0..20, 0.0));
    }
    let (child, base, log) = spawn_runboard(&logdir, &dir.path().join("db.sqlite"));
    let _server = Killed(child);
    poll(Duration::from_secs(30), "six runs", || {
        files
            .keys()
            .all(|r| count(&base, r, "loss") == 20)
            .then_some(())
    });

    std::fs::remove_file(&files["deleted"]).unwrap();
    let len = std::fs::metadata(&files["shrunk"]).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&files["shrunk"])
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    std::fs::remove_file(&files["folder"]).unwrap();
    std::fs::create_dir(&files["folder"]).unwrap();
    // Swapped atomically for a symlink (renamed over it), as a tool that replaces files does.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    std::fs::rename(&link, &files["symlink"]).unwrap();
    std::thread::sleep(Duration::from_millis(20)); // another file_version wall time
    let other = write_run(&dir.path().join("other"), 0..40, 1000.0);
    std::fs::write(&files["rewritten"], std::fs::read(other).unwrap()).unwrap();

    // Life goes on: the steady run grows, a new run appears, the rewritten file is read anew.
    let mut w = SummaryWriter::new(logdir.join("steady")).unwrap();
    for s in 20..30 {
        w.add_scalar("loss", s as f64, s);
    }
    w.close().unwrap();
    write_run(&logdir.join("fresh"), 0..5, 0.0);
    poll(
        Duration::from_secs(30),
        "steady grows, fresh appears, rewritten re-read",
        || {
            (count(&base, "steady", "loss") == 30
                && count(&base, "fresh", "loss") == 5
                && count(&base, "rewritten", "loss") == 40
                && first_value(&base, "rewritten", "loss") == Some(1000.0))
            .then_some(())
        },
    );
    // More wake-ups of the same files (touches) say nothing more.
    for _ in 0..10 {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&files["shrunk"])
            .unwrap();
        f.set_len(len / 2).unwrap();
    }
    let changed = ["deleted", "shrunk", "folder", "symlink", "rewritten"];
    let mentions = |run: &str| {
        let name = files[run]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        lines_mentioning(&log, &format!("{run}/{name}")).len()
    };
    poll(Duration::from_secs(10), "a line about each change", || {
        changed.iter().all(|r| mentions(r) > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    for run in changed {
        let name = files[run]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let lines = lines_mentioning(&log, &format!("{run}/{name}"));
        assert_eq!(lines.len(), 1, "{run}: one line, got {lines:#?}");
    }
    for run in ["deleted", "shrunk", "folder", "symlink"] {
        assert_eq!(count(&base, run, "loss"), 20, "{run}: stored data kept");
    }
    assert_eq!(
        count(
            &base,
            &format!(
                "folder/{}",
                files["folder"].file_name().unwrap().to_string_lossy()
            ),
            "loss"
        ),
        0
    );
    let warnings = lines_mentioning(&log, "WARN").len();
    assert!(
        warnings <= 6,
        "{warnings} warnings:\n{}",
        log.lock().unwrap()
    );
}

/// The database's disk fills up: logdir ingestion pauses and says why once, resumes by itself
/// when space returns, and every point is stored exactly once. The disk is a real tmpfs of
/// 1 MiB mounted in a private mount namespace (`unshare`), grown with `nsenter`.
#[test]
fn a_full_disk_pauses_ingestion_which_resumes_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let db_dir = dir.path().join("db");
    std::fs::create_dir_all(&db_dir).unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=1m runboard-test "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(&db_dir)
        .arg(env!("CARGO_BIN_EXE_runboard"))
        .args(common::serve_args(
            &logdir,
            &db_dir.join("db.sqlite"),
            &["--no-gpu"],
        ));
    let (child, base, log) = common::spawn_command(cmd);
    let pid = child.id();
    let _server = Killed(child);
    // 60,000 points need about 1.5 MB of SQLite: more than the disk holds.
    let total = 60_000;
    write_run(&logdir.join("big"), 0..total, 0.0);
    poll(Duration::from_secs(60), "ingestion paused", || {
        (metric(&base, "runboard_ingest_paused") == 1).then_some(())
    });
    let stored = count(&base, "big", "loss");
    assert!(
        stored < total as usize,
        "{stored} points fit on a 1 MiB disk?"
    );
    let paused = lines_mentioning(&log, "logdir ingestion paused");
    assert_eq!(paused.len(), 1, "{paused:#?}");
    assert!(
        paused[0].contains("db.sqlite is full"),
        "names the database: {}",
        paused[0]
    );
    // The server still answers reads, and a batch sent over HTTP is refused by name.
    assert_eq!(
        common::http_get(&agent(), &base, "/api/v1/runs", &[])
            .unwrap()
            .0,
        200
    );
    let points: Vec<String> = (0..20_000)
        .map(|s| format!(r#"{{"tag":"x","step":{s},"wall_time":1.0,"scalar":{s}}}"#))
        .collect();
    let batch = format!(
        r#"{{"run":"http","session":"s","seq":1,"points":[{}]}}"#,
        points.join(",")
    );
    let mut resp = agent()
        .post(format!("{base}/api/v1/ingest"))
        .header("content-type", "application/json")
        .send(batch.as_bytes())
        .unwrap();
    let status = resp.status().as_u16();
    let answer: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(status, 507, "{answer}");
    assert_eq!(answer["code"], "storage_full");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("db.sqlite is full"),
        "{answer}"
    );

    let status = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "--user",
            "--mount",
            "--preserve-credentials",
        ])
        .args(["mount", "-o", "remount,size=64m"])
        .arg(&db_dir)
        .status()
        .unwrap();
    assert!(status.success(), "growing the tmpfs");
    poll(Duration::from_secs(60), "every point stored", || {
        (count(&base, "big", "loss") == total as usize).then_some(())
    });
    poll(Duration::from_secs(10), "ingestion resumed", || {
        (metric(&base, "runboard_ingest_paused") == 0).then_some(())
    });
    assert_eq!(lines_mentioning(&log, "ingestion resumed").len(), 1);
    let (_, body) = common::http_get(
        &agent(),
        &base,
        "/api/v1/scalars",
        &[("run", "big"), ("tag", "loss")],
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let steps: Vec<i64> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_i64().unwrap())
        .collect();
    assert_eq!(
        steps,
        (0..total).collect::<Vec<_>>(),
        "each point once, in order"
    );
    // The refused HTTP batch is accepted once there is room: nothing was half-stored.
    let resp = agent()
        .post(format!("{base}/api/v1/ingest"))
        .header("content-type", "application/json")
        .send(batch.as_bytes())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(count(&base, "http", "x"), 20_000);
}

/// Bad items in a logdir are each said and skipped, and everything else is served: a mesh whose
/// faces name vertices it does not have, a PR curve of the wrong shape, and a projector config
/// naming a missing tensor file, a huge one (past the read limit: a sparse file), a file
/// outside its folder and a missing metadata file. While the server runs, a config that changes
/// is read again.
#[test]
fn bad_meshes_curves_and_projector_files_are_said_and_the_rest_is_served() {
    use runboard_sdk::proto::tensorboard::summary::value::Value as PbValue;
    use runboard_sdk::proto::tensorboard::{Event, Summary, event::What};
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("logs");
    let run = logdir.join("r");
    let mut w = SummaryWriter::new(&run).unwrap();
    let vertices = [[0.0f32; 3]; 3];
    w.add_mesh("good", &vertices, &[[0, 1, 2]], &[], None, 0)
        .unwrap();
    w.close().unwrap();
    // A writer that does not check: faces naming vertex 7 of 3, and a [5, 3] "curve".
    let mut bad =
        runboard_sdk::mesh::summary("bad", 1, &vertices, &[[0, 1, 2]], &[], None).unwrap();
    let Some(PbValue::Tensor(t)) = &mut bad[1].value else {
        panic!()
    };
    t.float_val[2] = 7.0;
    let curve = runboard_sdk::event::PrCurve {
        rows: std::array::from_fn(|_| vec![1.0; 3]),
    };
    let mut wrong = runboard_sdk::summary::pr_curve("pr", &curve);
    let Some(PbValue::Tensor(t)) = &mut wrong.value else {
        panic!()
    };
    t.tensor_shape.as_mut().unwrap().dim[0].size = 5;
    t.float_val.truncate(15);
    let mut f = runboard_sdk::event_file::EventFileWriter::create(&run, ".bad").unwrap();
    bad.push(wrong);
    f.write_event(&Event {
        wall_time: 1.0,
        step: 1,
        what: Some(What::Summary(Summary { value: bad })),
        ..Event::default()
    })
    .unwrap();
    f.flush().unwrap();
    std::fs::write(run.join("ok.tsv"), "1\t2\n3\t4\n5\t6\n").unwrap();
    std::fs::File::create(run.join("huge.tsv"))
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    std::fs::write(dir.path().join("secret.tsv"), "1\t2\n").unwrap();
    let config = |extra: &str| {
        format!(
            "embeddings {{ tensor_name: \"ok\" tensor_path: \"ok.tsv\" metadata_path: \"gone.tsv\" }}
             embeddings {{ tensor_name: \"missing\" tensor_path: \"nope.tsv\" }}
             embeddings {{ tensor_name: \"huge\" tensor_path: \"huge.tsv\" }}
             embeddings {{ tensor_name: \"outside\" tensor_path: \"../../secret.tsv\" }}
             {extra}"
        )
    };
    std::fs::write(run.join("projector_config.pbtxt"), config("")).unwrap();
    // Served from a relative logdir (notifications name files by absolute paths).
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runboard"));
    cmd.current_dir(dir.path()).args(common::serve_args(
        Path::new("logs"),
        &dir.path().join("db.sqlite"),
        &["--no-gpu"],
    ));
    let (child, base, log) = common::spawn_command(cmd);
    let _server = Killed(child);
    let get = |path: &str| -> serde_json::Value {
        agent()
            .get(format!("{base}{path}"))
            .call()
            .ok()
            .and_then(|r| r.into_body().read_to_string().ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    let meshes = poll(Duration::from_secs(30), "the good mesh", || {
        let tags = get("/data/plugin/mesh/tags");
        tags["r"]["good"].is_object().then_some(tags)
    });
    // The bad mesh's vertices were fine; its faces were not.
    let parts = get("/data/plugin/mesh/meshes?run=r&tag=bad");
    assert_eq!(parts.as_array().map(Vec::len), Some(1), "{meshes} {parts}");
    assert_eq!(parts[0]["content_type"], 1, "{parts}");
    assert!(get("/data/plugin/pr_curves/tags")["r"].is_null());
    poll(Duration::from_secs(10), "the skipped values said", || {
        let faces = lines_mentioning(&log, "\"bad_FACE\"");
        let curve = lines_mentioning(&log, "\"pr\", step 1");
        (faces
            .iter()
            .any(|l| l.contains("names vertex 7, but the mesh has 3 vertices"))
            && curve
                .iter()
                .any(|l| l.contains("not a valid pr_curves value")))
        .then_some(())
    });
    let embeddings = poll(Duration::from_secs(30), "the embeddings listed", || {
        let e = get("/api/v1/projector");
        (e.as_array().map(Vec::len) == Some(4)).then_some(e)
    });
    let by_name = |name: &str| {
        embeddings
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap()
    };
    let ok = by_name("ok");
    assert_eq!(
        (ok["rows"].as_u64(), ok["dims"].as_u64()),
        (Some(3), Some(2))
    );
    assert!(ok["error"].as_str().unwrap().contains("gone.tsv"), "{ok}");
    assert!(
        by_name("missing")["error"]
            .as_str()
            .unwrap()
            .contains("nope.tsv")
    );
    assert!(
        by_name("huge")["error"]
            .as_str()
            .unwrap()
            .contains("more than the")
    );
    assert!(
        by_name("outside")["error"]
            .as_str()
            .unwrap()
            .contains("outside the config directory")
    );
    // Listed first, its values stored just after.
    poll(Duration::from_secs(10), "the tensor stored", || {
        let r = agent()
            .get(format!("{base}/data/plugin/projector/tensor?run=r&name=ok"))
            .call()
            .ok()?;
        (r.status() == 200).then_some(())?;
        let bytes = r.into_body().read_to_vec().ok()?;
        assert_eq!(bytes.len(), 3 * 2 * 4);
        Some(())
    });
    let status = |path: &str| {
        agent()
            .get(format!("{base}{path}"))
            .call()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(
        status("/data/plugin/projector/tensor?run=r&name=missing"),
        400
    );
    assert_eq!(status("/data/plugin/projector/metadata?run=r&name=ok"), 400);
    // A new entry appended to the config (as tensorboardX appends one a call) is read.
    std::fs::write(run.join("more.tsv"), "7\t8\t9\n").unwrap();
    std::fs::write(
        run.join("projector_config.pbtxt"),
        config("embeddings { tensor_name: \"more\" tensor_path: \"more.tsv\" }"),
    )
    .unwrap();
    poll(Duration::from_secs(30), "the appended embedding", || {
        let e = get("/api/v1/projector");
        e.as_array()?
            .iter()
            .any(|e| e["name"] == "more" && e["dims"] == 3)
            .then_some(())
    });
    // A new run folder holding only a config and its tensor is picked up too.
    let fresh = logdir.join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("t.tsv"), "1\t2\n").unwrap();
    std::fs::write(
        fresh.join("projector_config.pbtxt"),
        "embeddings { tensor_name: \"new\" tensor_path: \"t.tsv\" }",
    )
    .unwrap();
    poll(Duration::from_secs(30), "the new run's embedding", || {
        let e = get("/api/v1/projector");
        e.as_array()?
            .iter()
            .any(|e| e["run"] == "fresh" && e["name"] == "new" && e["rows"] == 1)
            .then_some(())
    });
    // Errors name files as the config does, not by the server's paths.
    let listed = get("/api/v1/projector").to_string();
    assert!(!listed.contains(&*dir.path().to_string_lossy()), "{listed}");
}
