//! The SDK streaming to a real `runboard serve` over loopback: values served, outages survived, spooled batches synced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)] // each test binary uses part of the shared helpers
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Server;
use runboard_sdk::remote::RemoteOptions;
use runboard_sdk::{SummaryWriter, WriterError, WriterOptions};
use serde_json::Value as Json;

fn get_json(base: &str, path: &str) -> Option<Json> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let (status, body) = common::http_get(&agent, base, path, &[])?;
    (status == 200).then(|| serde_json::from_slice(&body).ok())?
}

fn streaming(url: &str, run: &str) -> WriterOptions {
    WriterOptions {
        remote: Some(RemoteOptions {
            url: url.to_owned(),
            run: run.to_owned(),
            token: None,
            close_timeout: Duration::from_secs(20),
        }),
        ..WriterOptions::default()
    }
}

fn scalar_values(base: &str, run: &str, tag: &str) -> Vec<(i64, f64)> {
    get_json(base, &format!("/api/v1/scalars?run={run}&tag={tag}"))
        .map(|j| {
            j["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_i64().unwrap(), p[2].as_f64().unwrap_or(f64::NAN)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sdk_values_reach_the_server_at_full_precision() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = Server::start(&served, &dir.path().join("db.sqlite"));
    let run_dir = dir.path().join("local/exp1");
    let mut w =
        SummaryWriter::with_options(&run_dir, streaming(&server.base, "remote/exp1")).unwrap();
    for s in 0..1000 {
        w.add_scalar("loss", 0.1 + s as f64 * 1e-9, s);
    }
    w.add_histogram("weights", &[1.0, 2.0, 2.5, 4.0], 999);
    w.add_text("notes", "**streamed**", 999);
    w.add_hparams(&[("lr", 0.01.into())], &[]);
    w.close().unwrap();
    let got = scalar_values(&server.base, "remote/exp1", "loss");
    assert_eq!(got.len(), 1000);
    for (i, (step, v)) in got.iter().enumerate() {
        assert_eq!(*step, i as i64);
        assert_eq!(
            *v,
            0.1 + i as f64 * 1e-9,
            "f64 over HTTP, not float32 as in files"
        );
    }
    let hist = get_json(
        &server.base,
        "/data/plugin/histograms/histograms?run=remote/exp1&tag=weights",
    )
    .unwrap();
    assert_eq!(hist.as_array().unwrap().len(), 1);
    let runs = get_json(&server.base, "/api/v1/runs").unwrap();
    assert_eq!(runs[0]["hparams"]["lr"], 0.01);
    assert!(
        !run_dir
            .join(".runboard-spool")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "spool emptied"
    );
}

#[test]
fn a_server_killed_mid_run_loses_and_doubles_nothing_and_logging_never_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let db = dir.path().join("db.sqlite");
    let server = Server::start(&served, &db);
    let run_dir = dir.path().join("local/r");
    let mut w = SummaryWriter::with_options(&run_dir, streaming(&server.base, "r")).unwrap();
    let base = server.base.clone();
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let mut slowest = Duration::ZERO;
    let mut log = |w: &mut SummaryWriter, range: std::ops::Range<i64>| {
        for s in range {
            let t = Instant::now();
            w.add_scalar("x", s as f64, s);
            slowest = slowest.max(t.elapsed());
            if s % 100 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    log(&mut w, 0..3000);
    server.kill9();
    log(&mut w, 3000..6000);
    // The server comes back on the same port and database.
    let restarted = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["serve", "--port", &port.to_string(), "--logdir"])
        .arg(&served)
        .arg("--db")
        .arg(&db)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child: restarted,
        base,
    };
    log(&mut w, 6000..9000);
    w.close().unwrap();
    let got = scalar_values(&server.base, "r", "x");
    assert_eq!(got.len(), 9000, "every point exactly once");
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, (s, v))| *s == i as i64 && *v == i as f64)
    );
    assert!(
        slowest < Duration::from_millis(50),
        "a logging call took {slowest:?}"
    );
}

#[test]
fn batches_left_in_the_spool_are_sent_by_runboard_sync() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("local/offline");
    // Nothing listens on this port: every batch stays in the spool.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = streaming(&format!("http://127.0.0.1:{port}"), "offline");
    if let Some(r) = options.remote.as_mut() {
        r.close_timeout = Duration::from_millis(300);
    }
    let mut w = SummaryWriter::with_options(&run_dir, options).unwrap();
    for s in 0..500 {
        w.add_scalar("y", s as f64, s);
    }
    let err = w.close().unwrap_err();
    let spool = match &err {
        WriterError::NotSent { left, spool } => {
            assert!(*left >= 1);
            spool.clone()
        }
        other => panic!("{other}"),
    };
    assert!(err.to_string().contains("runboard sync"), "{err}");
    let served = dir.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = Server::start(&served, &dir.path().join("db.sqlite"));
    let sync = || {
        Command::new(env!("CARGO_BIN_EXE_runboard"))
            .args(["sync", "--url", &server.base])
            .arg(&spool)
            .output()
            .unwrap()
    };
    let first = sync();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Everything was sent and removed: a second sync finds nothing and says so.
    let second = sync();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("no spooled batches"));
    let got = scalar_values(&server.base, "offline", "y");
    assert_eq!(got.len(), 500);
    assert!(runboard_sdk::remote::spool_files(&spool).is_empty());
}
