//! Shared helpers for the integration tests: the venv's Python and TensorBoard, exact JSON, real TensorBoard and runboard servers guarded by Drop.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// The repository root (the root package's manifest directory).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python interpreter with the real TensorBoard and tensorboardX: `$RUNBOARD_PYTHON`, else
/// `<repo>/.venv/bin/python`. A missing interpreter fails the test (it is never skipped).
pub fn python() -> PathBuf {
    let candidate = match std::env::var_os("RUNBOARD_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo().join(".venv/bin/python"),
    };
    assert!(
        candidate.exists(),
        "no Python with TensorBoard at {} (set RUNBOARD_PYTHON or create .venv): \
         run `bash .ci/test`, which installs tests/requirements.txt into .venv",
        candidate.display()
    );
    candidate
}

/// The `tensorboard` script next to [`python`] (not canonicalized: a venv's `python` is a
/// symlink out of the venv).
pub fn tensorboard_bin() -> PathBuf {
    let py = python();
    let bin = py
        .parent()
        .map(|d| d.join("tensorboard"))
        .unwrap_or_else(|| PathBuf::from("tensorboard"));
    assert!(
        bin.exists(),
        "no `tensorboard` script at {} next to {}: run `bash .ci/test`",
        bin.display(),
        py.display()
    );
    bin
}

/// Runs `tests/py/tb_dump.py` on `logdir`: what TensorBoard's own loader reads, as exact JSON
/// (see [`parse_exact`]).
pub fn tb_dump(logdir: &Path) -> Json {
    let script = repo().join("tests/py/tb_dump.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(logdir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "tb_dump.py {} failed ({}):\n{}",
        logdir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("tb_dump.py prints UTF-8");
    parse_exact(&text)
}

/// Turns every JSON number outside strings into a string holding its exact text.
///
/// serde_json's default float parser is not correctly rounded (that needs its `float_roundtrip`
/// feature), so a value can come back one ulp off; Rust's `str::parse::<f64>` is exact. With
/// numbers kept as text, [`num`] and [`int`] parse them exactly, and NaN and infinities (which
/// TensorBoard sends as the strings "NaN", "Infinity", "-Infinity") go through the same path.
pub fn quote_numbers(json: &str) -> String {
    let b = json.as_bytes();
    let mut out = Vec::with_capacity(b.len() + b.len() / 4);
    let mut i = 0;
    let mut in_string = false;
    while i < b.len() {
        let c = b[i];
        if in_string {
            out.push(c);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1]);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_string = false;
            }
            i += 1;
        } else if c == b'"' {
            in_string = true;
            out.push(c);
            i += 1;
        } else if c == b'-' || c.is_ascii_digit() {
            let start = i;
            while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            out.push(b'"');
            out.extend_from_slice(&b[start..i]);
            out.push(b'"');
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII was inserted into valid UTF-8")
}

/// Parses JSON with every number kept as its exact text (see [`quote_numbers`]).
pub fn parse_exact(json: &str) -> Json {
    serde_json::from_str(&quote_numbers(json)).unwrap_or_else(|e| {
        let head: String = json.chars().take(500).collect();
        panic!("invalid JSON ({e}): {head}")
    })
}

/// A number from [`parse_exact`] output: decimal text, "NaN", "Infinity" or "-Infinity".
pub fn num(v: &Json) -> f64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a number, got {v}"));
    match s {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => s
            .parse()
            .unwrap_or_else(|e| panic!("bad number {s:?}: {e}")),
    }
}

/// An integer from [`parse_exact`] output.
pub fn int(v: &Json) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"));
    s.parse()
        .unwrap_or_else(|e| panic!("bad integer {s:?}: {e}"))
}

/// Same bits, except that every NaN equals every NaN.
pub fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Same value once both are rounded to float32 (NaN equals NaN).
pub fn same_f32(a: f64, b: f64) -> bool {
    let (a, b) = (a as f32, b as f32);
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// A port on 127.0.0.1 that was free a moment ago (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Calls `f` until it returns `Some`, every 100 ms, failing the test after `timeout`.
pub fn poll<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real `tensorboard` serving a logdir on a loopback port; killed (with the data server it
/// may have started) when dropped, including on panic.
pub struct TensorBoard {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    log: PathBuf,
    agent: ureq::Agent,
}

impl TensorBoard {
    /// Starts `tensorboard --logdir logdir` keeping every point (no sampling of these small
    /// logdirs), reloading every second, `--load_fast` as given. Its output goes to `log`, shown if the test fails.
    pub fn start(logdir: &Path, load_fast: bool, log: &Path) -> TensorBoard {
        let port = free_port();
        let out = File::create(log).expect("creating the TensorBoard log");
        let err = out.try_clone().expect("cloning the log handle");
        let child = Command::new(tensorboard_bin())
            .arg("--logdir")
            .arg(logdir)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .arg(format!("--load_fast={load_fast}"))
            .args([
                // Enough samples that nothing is dropped. Not 0: TensorBoard 2.21's plugins
                // downsample every response to this many points, so 0 serves empty lists.
                "--samples_per_plugin",
                "scalars=100000,histograms=10000,images=1000,text=1000",
                "--reload_interval",
                "1",
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("starting tensorboard");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build()
            .into();
        TensorBoard {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
            agent,
        }
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test (with the server's output) if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "tensorboard exited ({status}) before serving; its output:\n{}",
                self.log()
            );
        }
    }

    /// GET `path` (with query pairs): `Some((status, body))`, or `None` while nothing listens.
    pub fn try_get(&mut self, path: &str, query: &[(&str, &str)]) -> Option<(u16, Vec<u8>)> {
        self.assert_running();
        http_get(&self.agent, &self.base, path, query)
    }

    /// GET returning the body of a 200 response as bytes.
    pub fn get_bytes(&mut self, path: &str, query: &[(&str, &str)]) -> Vec<u8> {
        match self.try_get(path, query) {
            Some((200, body)) => body,
            Some((status, body)) => panic!(
                "GET {path} {query:?}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ),
            None => panic!("GET {path} {query:?}: no response\n{}", self.log()),
        }
    }

    /// GET a JSON document, numbers kept exact (see [`parse_exact`]).
    pub fn get_json(&mut self, path: &str, query: &[(&str, &str)]) -> Json {
        let body = self.get_bytes(path, query);
        parse_exact(&String::from_utf8(body).expect("UTF-8 JSON"))
    }

    /// POST a JSON body, returning the JSON answer (numbers kept exact).
    pub fn post_json(&mut self, path: &str, body: &str) -> Json {
        self.assert_running();
        let url = format!("{}{path}", self.base);
        let mut resp = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap_or_else(|e| panic!("POST {path}: {e}\n{}", self.log()));
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("POST {path}: reading the body: {e}"));
        assert_eq!(status, 200, "POST {path} {body}: {text}");
        parse_exact(&text)
    }

    /// Waits until `/data/plugin/scalars/tags` lists `run`.
    pub fn wait_for_run(&mut self, run: &str, timeout: Duration) {
        poll(
            timeout,
            &format!("tensorboard at {} lists run {run:?}", self.base),
            || {
                let (status, body) = self.try_get("/data/plugin/scalars/tags", &[])?;
                if status != 200 {
                    return None;
                }
                let tags: Json = serde_json::from_slice(&body).ok()?;
                tags.get(run).map(|_| ())
            },
        );
    }
}

impl Drop for TensorBoard {
    fn drop(&mut self) {
        // SIGKILL cannot be ignored. The data server (`--load_fast=true`) runs with
        // `--die-after-stdin`, so it exits when this process's pipe to it closes.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- tensorboard output ({}) ---\n{}", self.base, self.log());
        }
    }
}

/// A `runboard serve` child process on a free port: the process, its base URL, and everything it
/// logged so far (kept for failure messages). The caller kills it.
pub fn spawn_runboard(
    logdir: &Path,
    db: &Path,
) -> (Child, String, std::sync::Arc<std::sync::Mutex<String>>) {
    spawn_runboard_with(logdir, db, &[])
}

/// [`spawn_runboard`] with extra `serve` flags (`--port N` replaces the free port).
pub fn spawn_runboard_with(
    logdir: &Path,
    db: &Path,
    extra: &[&str],
) -> (Child, String, std::sync::Arc<std::sync::Mutex<String>>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runboard"));
    cmd.args(serve_args(logdir, db, extra));
    spawn_command(cmd)
}

/// The arguments of `runboard serve` for `logdir` and `db` with `extra` flags: a free port
/// unless `extra` names one, a 0.2 s poll interval.
pub fn serve_args(logdir: &Path, db: &Path, extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["serve".into()];
    if !extra.contains(&"--port") {
        args.extend(["--port".into(), "0".into()]);
    }
    args.extend(["--poll-interval".into(), "0.2".into(), "--logdir".into()]);
    args.push(logdir.into());
    args.push("--db".into());
    args.push(db.into());
    args.extend(extra.iter().map(|a| a.into()));
    args
}

/// Starts `cmd` (a `runboard serve`, possibly wrapped), waits until it logs its address, and
/// keeps everything it logs.
pub fn spawn_command(
    mut cmd: Command,
) -> (Child, String, std::sync::Arc<std::sync::Mutex<String>>) {
    use std::io::{BufRead, BufReader};
    use std::sync::{Arc, Mutex};
    let mut child = cmd
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn runboard");
    // The server logs its address; read stderr until it does, and keep all of it.
    let stderr = child.stderr.take().expect("piped stderr");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let keep = Arc::clone(&log);
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(i) = line.find("http://") {
                let addr: String = line[i..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(addr);
                sent = true;
            }
            let mut log = keep.lock().unwrap_or_else(|e| e.into_inner());
            log.push_str(&line);
            log.push('\n');
        }
    });
    let base = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(base) => base,
        Err(_) => {
            let _ = child.kill();
            panic!(
                "runboard did not print its address; its output:\n{}",
                log.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
    };
    (child, base, log)
}

/// GET `base + path` with query pairs: `Some((status, body))`, or `None` while nothing listens.
pub fn http_get(
    agent: &ureq::Agent,
    base: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Option<(u16, Vec<u8>)> {
    let mut req = agent.get(format!("{base}{path}"));
    for (k, v) in query {
        req = req.query(*k, *v);
    }
    let mut resp = req.call().ok()?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .ok()?;
    Some((status, body))
}

/// Copies the folder `from` (files and sub-folders) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

/// `(offset, total length)` of each record of an event file, from the framing alone (lengths,
/// not CRCs); the file must be whole records.
pub fn record_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let total = 16 + usize::try_from(len).expect("a length that fits");
        spans.push((at, total));
        at += total;
    }
    assert_eq!(at, bytes.len(), "the file is whole records");
    spans
}

/// A running `runboard serve` (see [`spawn_runboard`]), killed when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
}

impl Server {
    /// Starts `runboard serve` for `logdir` with the database `db`.
    pub fn start(logdir: &Path, db: &Path) -> Server {
        let (child, base, _log) = spawn_runboard(logdir, db);
        Server { child, base }
    }

    /// GET `path`: the status and the body as JSON (a JSON string when it is not JSON).
    pub fn get(&self, path: &str) -> (u16, Json) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let (status, body) = http_get(&agent, &self.base, path, &[]).expect("server answers");
        let text = String::from_utf8_lossy(&body).into_owned();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Json::String(text)),
        )
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// numpy's groups of `groups` (key → members, each `[[step, value or null], ...]`): per key,
/// rows `[step, mean, mean - std, mean + std, min, max, n]` over the finite values at each
/// step any member logged (`np.std`, ddof=0), computed by the venv's Python.
pub fn numpy_groups(groups: &serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    let script = r#"
import json, sys
import numpy as np
groups = json.load(sys.stdin)
out = {}
for key, members in groups.items():
    at = {}
    for r in members:
        for s, v in r:
            at.setdefault(s, [])
            if v is not None and np.isfinite(v):
                at[s].append(v)
    rows = []
    for step in sorted(at):
        vals = np.array(at[step], dtype=np.float64)
        if len(vals) == 0:
            continue
        mean = float(np.mean(vals))
        std = float(np.std(vals, ddof=0))
        rows.append([step, mean, mean - std, mean + std, float(np.min(vals)), float(np.max(vals)), len(vals)])
    out[key] = rows
print(json.dumps(out))
"#;
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(groups.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "numpy failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// POSTs a JSON ingest batch to the server at `base`, expecting 200.
pub fn ingest_json(base: &str, body: impl std::borrow::Borrow<Json>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut res = agent
        .post(format!("{base}/api/v1/ingest"))
        .header("Content-Type", "application/json")
        .send(body.borrow().to_string())
        .expect("server answers");
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.body_mut().read_to_string().unwrap_or_default()
    );
}
