//! Shared by the benchmarks: find the Python interpreter of the test virtualenv (TensorBoard,
//! tensorboardX) and run a peer script with it.

use std::path::PathBuf;
use std::process::Command;

/// `$RUNBOARD_PYTHON`, else `.venv/bin/python` at the repository root (made by `.ci/test`).
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RUNBOARD_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    p.exists().then_some(p)
}

/// Runs `bench/<script>` with `args` and returns its stdout's last line parsed as JSON.
pub fn run_peer(script: &str, args: &[&str]) -> Option<serde_json::Value> {
    let Some(py) = python() else {
        eprintln!(
            "peer: no Python venv (run `bash .ci/test` once, or set RUNBOARD_PYTHON); skipping the side-by-side figure"
        );
        return None;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("bench")
        .join(script);
    let out = Command::new(py).arg(&script).args(args).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "peer {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last()?).ok()
}

/// Median of a sample (sorts it).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The `q` quantile (0..=1) of a sample (sorts it).
pub fn quantile(xs: &mut [f64], q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

/// An integer from the environment, or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A child process killed when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU seconds (user + system) that process `pid` (a number, or "self") has used, from /proc.
pub fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0 // utime, stime (fields 14 and 15); USER_HZ = 100
}

/// Resident memory of process `pid` (a number, or "self") in KiB, from /proc.
pub fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// `pid` and its descendants (TensorBoard runs its data server as a child), from /proc.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        let tasks = std::fs::read_dir(format!("/proc/{p}/task"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            .unwrap_or_default();
        for t in tasks {
            let children =
                std::fs::read_to_string(format!("/proc/{p}/task/{}/children", t.to_string_lossy()))
                    .unwrap_or_default();
            out.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        i += 1;
    }
    out
}

/// CPU seconds of `pid` and its descendants.
pub fn tree_cpu_secs(pid: u32) -> f64 {
    process_tree(pid)
        .iter()
        .map(|p| cpu_secs(&p.to_string()))
        .sum()
}

/// CPU seconds per thread name (`comm`, at most 15 bytes) of process `pid`.
pub fn thread_cpu_secs(pid: u32) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let tid = t.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        *out.entry(comm).or_insert(0.0) += cpu_secs(&format!("{pid}/task/{tid}"));
    }
    out
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `runboard serve` (the benchmark's build of it) for `logdir` and `db` on a free loopback
/// port, with `extra` flags, logging warnings only; returns the process and its base URL.
pub fn start_runboard(
    logdir: &std::path::Path,
    db: &std::path::Path,
    extra: &[&str],
) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_runboard"))
        .args(["serve", "--port", &port.to_string(), "--logdir"])
        .arg(logdir)
        .arg("--db")
        .arg(db)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("spawn runboard");
    (Proc(child), format!("http://127.0.0.1:{port}"))
}

/// The repository root, once Chromium and playwright-core (which `bash .ci/test` installs)
/// are there for the browser benchmarks.
pub fn browser_repo() -> &'static std::path::Path {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let playwright = repo.join("tests/browser/node_modules/playwright-core");
    assert!(
        playwright.exists() && std::path::Path::new("/usr/bin/chromium").exists(),
        "needs Chromium and playwright-core: run `bash .ci/test` once"
    );
    repo
}

/// GET `url`'s body (no size limit), `None` on any failure.
pub fn get_bytes(url: &str) -> Option<Vec<u8>> {
    ureq::get(url)
        .call()
        .ok()?
        .into_body()
        .into_with_config()
        .limit(u64::MAX)
        .read_to_vec()
        .ok()
}

/// The median milliseconds and the bytes of 5 GETs of `url`.
pub fn time_get(url: &str) -> (f64, usize) {
    let mut ms = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        bytes = get_bytes(url).unwrap_or_else(|| panic!("GET {url}")).len();
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (median(&mut ms), bytes)
}
