//! The run record (what ran, from which code, where) and the other run events a run sends about itself.
//!
//! A *run event* is one JSON object with a `"type"` ([`RunEvent`]). The writer thread writes
//! each one into the event file as a value of runboard's own plugin (tag
//! [`RUN_EVENT_TAG`](crate::event::RUN_EVENT_TAG), built by [`crate::summary::run_event`],
//! ignored by TensorBoard) and, when streaming, sends the same text as a point
//! (`Point.run_event`). A [`SummaryWriter`](crate::SummaryWriter) starts with a `record`
//! event and a `running` status, and ends with a `finished` or `crashed` status; a
//! [`Run`](crate::Run) adds `config`, `summary` and `metric` events.
//!
//! # Collecting the record
//! [`RunRecord::collect`] runs once, on the writer thread, when a writer starts: the training
//! thread never waits for it. Nothing in it can fail: a fact that cannot be read is left out
//! (`null`), and `git` and NVML are asked quietly (no prompt, no lock, nothing on stderr).
//!
//! - `git`: the commit, branch, `origin` remote (credentials removed, see
//!   [`strip_credentials`]), whether tracked files differ from the commit, and `git diff HEAD`
//!   capped at [`MAX_DIFF_BYTES`]. Untracked files do not make a checkout dirty: the logdir
//!   itself is usually one of them. `null` outside a repository, without `git`, or when opted
//!   out (`RUNBOARD_DISABLE_GIT=1`, or [`WriterOptions::record_git`](crate::WriterOptions::record_git)).
//! - `gpus`: the GPUs' names from NVML, `[]` without it.
//! - `torch`: only with the `tch` feature.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::event::HParamValue;

/// The record's schema version.
pub const SCHEMA: u32 = 1;
/// The most bytes of `git diff HEAD` a record holds; a longer diff is cut and marked
/// [`GitRecord::diff_truncated`].
pub const MAX_DIFF_BYTES: usize = 1 << 20;
/// Set to anything but `""` or `0`, the record holds no git information.
pub const DISABLE_GIT_ENV: &str = "RUNBOARD_DISABLE_GIT";

/// What ran, from which code, where (the `record` event; every field but `schema` may be
/// missing in records from other SDKs).
///
/// ```
/// use runboard_sdk::run_record::RunRecord;
/// let record = RunRecord::collect(&[("lr", 0.1.into())], None); // None: no git
/// assert_eq!(record.pid, Some(std::process::id()));
/// assert!(record.git.is_none());
/// assert_eq!(record.config["lr"], 0.1);
/// let json = serde_json::to_string(&record)?;
/// assert!(json.starts_with(r#"{"schema":1,"#));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`SCHEMA`].
    pub schema: u32,
    /// When the writer started, in seconds since the Unix epoch.
    #[serde(default)]
    pub started_at: Option<f64>,
    /// The machine's host name.
    #[serde(default)]
    pub host: Option<String>,
    /// `USER` (or `USERNAME` on Windows).
    #[serde(default)]
    pub user: Option<String>,
    /// The process id.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The command line (`std::env::args`, lossy).
    #[serde(default)]
    pub command: Vec<String>,
    /// The working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// This SDK's version.
    #[serde(default)]
    pub runboard_version: Option<String>,
    /// `rustc --version` of the compiler that built this SDK.
    #[serde(default)]
    pub rustc_version: Option<String>,
    /// The code's git state; `None` outside a repository or when opted out.
    #[serde(default)]
    pub git: Option<GitRecord>,
    /// tch and libtorch (feature `tch` only; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch: Option<TorchRecord>,
    /// The GPUs' names from NVML; empty without it.
    #[serde(default)]
    pub gpus: Vec<String>,
    /// The run's config (a [`Run`](crate::Run)'s `init` config; empty for a plain writer).
    #[serde(default)]
    pub config: Map<String, Json>,
}

/// The git state of the code that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRecord {
    /// `HEAD`'s commit (40 hex digits).
    pub commit: String,
    /// The branch checked out; `None` on a detached `HEAD`.
    pub branch: Option<String>,
    /// The `origin` remote's URL, without credentials; `None` without an `origin`.
    pub remote: Option<String>,
    /// Whether tracked files differ from the commit (untracked files do not count).
    pub dirty: bool,
    /// `git diff HEAD` (tracked files), at most [`MAX_DIFF_BYTES`].
    pub diff: String,
    /// Whether `diff` was cut at [`MAX_DIFF_BYTES`].
    pub diff_truncated: bool,
}

/// The torch stack a `tch` build runs on (feature `tch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorchRecord {
    /// The `tch` crate's version requirement this SDK is built with.
    pub tch: String,
    /// libtorch's version, when known (tch does not report it at run time).
    #[serde(default)]
    pub libtorch: Option<String>,
    /// The CUDA runtime version libtorch was built with, when it has CUDA.
    #[serde(default)]
    pub cuda: Option<String>,
    /// The cuDNN version, when libtorch has CUDA.
    #[serde(default)]
    pub cudnn: Option<String>,
}

/// The direction in which a metric is better (a [`Run::define_metric`](crate::Run::define_metric)
/// goal; the server's run table picks each metric's best value by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    /// Lower is better (a loss, an error rate).
    #[serde(rename = "min")]
    Minimize,
    /// Higher is better (an accuracy, a reward).
    #[serde(rename = "max")]
    Maximize,
}

/// How a run stands, as its `status` events say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Started (right after the record).
    Running,
    /// Ended by `close` / `finish`.
    Finished,
    /// Dropped while its thread was panicking.
    Crashed,
}

/// One run event: the JSON object written to event files and sent to servers.
///
/// ```
/// use runboard_sdk::run_record::{RunEvent, RunState};
/// let finished = RunEvent::Status { state: RunState::Finished, exit_code: Some(0), message: None };
/// assert_eq!(
///     finished.to_json(),
///     r#"{"type":"status","state":"finished","exit_code":0,"message":null}"#
/// );
/// assert_eq!(RunEvent::Heartbeat.to_json(), r#"{"type":"heartbeat"}"#);
/// let back: RunEvent = serde_json::from_str(&finished.to_json())?;
/// assert_eq!(back, finished);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RunEvent {
    /// Once, when a writer starts.
    Record {
        /// The record.
        record: Box<RunRecord>,
    },
    /// Config keys, merged into the run's config (later wins).
    Config {
        /// Keys and their number, string or bool values.
        config: Map<String, Json>,
    },
    /// User summary keys (a final score), merged into the run's summary (later wins).
    Summary {
        /// Keys and their values.
        summary: Map<String, Json>,
    },
    /// The goal of a metric.
    Metric {
        /// The metric's tag.
        tag: String,
        /// `"min"` or `"max"`.
        goal: Goal,
    },
    /// How the run stands.
    Status {
        /// Running, finished or crashed.
        state: RunState,
        /// The exit status given to `Run::finish`; `None` otherwise.
        exit_code: Option<i32>,
        /// The panic message of a crash, when known.
        message: Option<String>,
    },
    /// "Still alive": sent to servers by an idle streaming writer, never written to files.
    Heartbeat,
}

impl RunEvent {
    /// The event's JSON text.
    pub fn to_json(&self) -> String {
        // A map with string keys and plain values cannot fail to serialise.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"type":"invalid"}"#.into())
    }

    /// A `status` event.
    pub fn status(state: RunState, exit_code: Option<i32>, message: Option<String>) -> RunEvent {
        RunEvent::Status {
            state,
            exit_code,
            message,
        }
    }
}

/// A hyperparameter as JSON: non-finite numbers as the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"`, as everywhere in runboard's JSON (JSON has no such numbers).
///
/// ```
/// use runboard_sdk::run_record::json_value;
/// assert_eq!(json_value(&0.5.into()), serde_json::json!(0.5));
/// assert_eq!(json_value(&"adam".into()), serde_json::json!("adam"));
/// assert_eq!(json_value(&f64::INFINITY.into()), serde_json::json!("Infinity"));
/// ```
pub fn json_value(v: &HParamValue) -> Json {
    match v {
        HParamValue::Number(n) => match serde_json::Number::from_f64(*n) {
            Some(n) => Json::Number(n),
            None if n.is_nan() => Json::String("NaN".into()),
            None if *n > 0.0 => Json::String("Infinity".into()),
            None => Json::String("-Infinity".into()),
        },
        HParamValue::String(s) => Json::String(s.clone()),
        HParamValue::Bool(b) => Json::Bool(*b),
    }
}

/// Key/value pairs as a JSON object (a later duplicate key wins).
pub fn json_object(pairs: &[(&str, HParamValue)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json_value(v)))
        .collect()
}

impl RunRecord {
    /// Collects the record of this process now: `config`, the process's facts, the git state
    /// of `git_dir` (any folder in the repository; `None`: no git), the GPUs' names and, with
    /// the `tch` feature, the torch versions. Never fails; slow only as far as `git` is (a
    /// few processes, once).
    pub fn collect(config: &[(&str, HParamValue)], git_dir: Option<&Path>) -> RunRecord {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        RunRecord {
            schema: SCHEMA,
            started_at: Some(crate::event_file::now_secs()),
            host: Some(gethostname::gethostname().to_string_lossy().into_owned()),
            user: env("USER").or_else(|| env("USERNAME")),
            pid: Some(std::process::id()),
            command: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            cwd: std::env::current_dir()
                .ok()
                .map(|d| d.to_string_lossy().into_owned()),
            runboard_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            rustc_version: Some(env!("RUNBOARD_RUSTC_VERSION").to_owned())
                .filter(|v| !v.is_empty()),
            git: git_dir.and_then(git_record),
            torch: torch_record(),
            gpus: crate::gpu::names(),
            config: json_object(config),
        }
    }
}

/// Whether [`DISABLE_GIT_ENV`] opts out of git information.
pub fn git_disabled_by_env() -> bool {
    std::env::var_os(DISABLE_GIT_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A quiet `git -C <dir> <args>`: no prompt, no optional lock, no stdin, stderr discarded.
fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// The trimmed output of a git command that succeeded.
fn git_line(dir: &Path, args: &[&str]) -> Option<String> {
    let out = git(dir).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!line.is_empty()).then_some(line)
}

/// The git state of the repository holding `dir`; `None` when it is not in one (or has no
/// commit yet), or `git` cannot be run.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// // Not a repository: no git state, and nothing printed.
/// assert!(runboard_sdk::run_record::git_record(dir.path()).is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn git_record(dir: &Path) -> Option<GitRecord> {
    let commit = git_line(dir, &["rev-parse", "--verify", "HEAD"])?;
    let branch = git_line(dir, &["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD");
    let remote = git_line(dir, &["remote", "get-url", "origin"]).map(|u| strip_credentials(&u));
    let dirty = git_line(dir, &["status", "--porcelain", "--untracked-files=no"]).is_some();
    let (diff, diff_truncated) = if dirty {
        git_diff(dir).unwrap_or_default()
    } else {
        (String::new(), false)
    };
    Some(GitRecord {
        commit,
        branch,
        remote,
        dirty,
        diff,
        diff_truncated,
    })
}

/// `git diff HEAD` (no external diff or text conversion programs, no colour), read up to
/// [`MAX_DIFF_BYTES`]; the rest is not read (the process is stopped).
fn git_diff(dir: &Path) -> Option<(String, bool)> {
    let mut child = git(dir)
        .args([
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            "HEAD",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut bytes = Vec::new();
    let read = child
        .stdout
        .take()
        .map(|out| out.take(MAX_DIFF_BYTES as u64 + 1).read_to_end(&mut bytes));
    let truncated = bytes.len() > MAX_DIFF_BYTES;
    if truncated {
        let _ = child.kill();
    }
    let status = child.wait().ok()?;
    // Cut short on purpose, git's exit status says nothing; else it must have succeeded.
    let complete = status.success() && matches!(read, Some(Ok(_)));
    if !(truncated || complete) {
        return None;
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if truncated {
        let mut end = MAX_DIFF_BYTES.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Some((text, truncated))
}

/// A remote URL without the user name and password (`https://user:token@host/x` →
/// `https://host/x`). scp-like remotes (`git@host:path`) name a user, not a secret, and are
/// kept.
///
/// ```
/// use runboard_sdk::run_record::strip_credentials;
/// assert_eq!(strip_credentials("https://user:tok@host/x"), "https://host/x");
/// assert_eq!(strip_credentials("https://ghp_abc@github.com/a/b.git"), "https://github.com/a/b.git");
/// assert_eq!(strip_credentials("git@github.com:a/b.git"), "git@github.com:a/b.git");
/// assert_eq!(strip_credentials("https://github.com/a/b.git"), "https://github.com/a/b.git");
/// ```
pub fn strip_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(feature = "tch")]
fn torch_record() -> Option<TorchRecord> {
    let cuda = tch::utils::has_cuda();
    // `version_cudart` / `version_cudnn` are ints such as 12080 and 90100.
    let cudart = cuda.then(tch::utils::version_cudart).filter(|&v| v > 0);
    Some(TorchRecord {
        tch: TCH_VERSION.to_owned(),
        libtorch: None,
        cuda: cudart.map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10)),
        cudnn: cuda
            .then(tch::utils::version_cudnn)
            .filter(|&v| v > 0)
            .map(|v| v.to_string()),
    })
}

/// The `tch` requirement in this crate's manifest (tch reports no version of its own).
#[cfg(feature = "tch")]
const TCH_VERSION: &str = "0.26";

#[cfg(not(feature = "tch"))]
fn torch_record() -> Option<TorchRecord> {
    None
}

/// Test helpers: the run events of a file, and git repositories to record.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The run events in the event file at `path`, in order (each checked to carry the run
    /// event tag).
    pub(crate) fn read_run_events(path: &Path) -> Vec<RunEvent> {
        let (events, _) = crate::event_file::read_events(path).unwrap();
        events
            .into_iter()
            .flat_map(|e| e.values)
            .filter_map(|v| match v.value {
                crate::event::Value::Run(json) => {
                    assert_eq!(v.tag, crate::event::RUN_EVENT_TAG);
                    Some(serde_json::from_str(&json).unwrap())
                }
                _ => None,
            })
            .collect()
    }

    /// The record of a file's first run event, which must be one.
    pub(crate) fn first_record(path: &Path) -> RunRecord {
        match read_run_events(path).into_iter().next() {
            Some(RunEvent::Record { record }) => *record,
            other => panic!("no record first: {other:?}"),
        }
    }

    /// `git <args>` in `dir` (no commit signing); its stdout. Panics when it fails.
    pub(crate) fn git_in(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// A new repository (its identity set locally) with `train.py` committed on `main`.
    pub(crate) fn committed_repo() -> tempfile::TempDir {
        let repo = tempfile::tempdir().unwrap();
        let dir = repo.path();
        git_in(dir, &["init", "-q"]);
        git_in(dir, &["config", "user.email", "test@example.com"]);
        git_in(dir, &["config", "user.name", "Test"]);
        std::fs::write(dir.join("train.py"), "lr = 0.1\n").unwrap();
        git_in(dir, &["add", "train.py"]);
        git_in(dir, &["commit", "-q", "-m", "first"]);
        repo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_removed_from_remote_urls_in_every_form() {
        for (url, want) in [
            ("https://user:tok@host/x", "https://host/x"),
            ("https://user:tok@host", "https://host"),
            ("ssh://git@host:22/a/b.git", "ssh://host:22/a/b.git"),
            ("https://a:b@c@host/x?q=1@2", "https://host/x?q=1@2"),
            ("https://host/x@y", "https://host/x@y"),
            ("/local/path", "/local/path"),
        ] {
            assert_eq!(strip_credentials(url), want, "{url}");
        }
    }

    #[test]
    fn every_event_has_the_contract_shape() {
        let json = |e: RunEvent| serde_json::from_str::<Json>(&e.to_json()).unwrap();
        assert_eq!(
            json(RunEvent::Metric {
                tag: "val/acc".into(),
                goal: Goal::Maximize
            }),
            serde_json::json!({"type": "metric", "tag": "val/acc", "goal": "max"})
        );
        assert_eq!(
            json(RunEvent::status(
                RunState::Crashed,
                None,
                Some("boom".into())
            )),
            serde_json::json!({"type": "status", "state": "crashed", "exit_code": null, "message": "boom"})
        );
        assert_eq!(
            json(RunEvent::Config {
                config: json_object(&[("lr", 0.1.into()), ("opt", "adam".into())])
            }),
            serde_json::json!({"type": "config", "config": {"lr": 0.1, "opt": "adam"}})
        );
        let record = json(RunEvent::Record {
            record: Box::new(RunRecord::collect(&[], None)),
        });
        assert_eq!(record["type"], "record");
        assert_eq!(record["record"]["schema"], 1);
        assert_eq!(record["record"]["git"], Json::Null);
        assert!(record["record"]["gpus"].is_array());
        assert_eq!(
            record["record"]["runboard_version"],
            env!("CARGO_PKG_VERSION")
        );
        assert!(
            record["record"]["rustc_version"]
                .as_str()
                .is_some_and(|v| v.starts_with("rustc ")),
            "{record}"
        );
    }

    #[test]
    #[cfg(feature = "tch")]
    fn with_tch_the_record_names_the_torch_stack() {
        let torch = RunRecord::collect(&[], None).torch.expect("torch with tch");
        assert_eq!(torch.tch, TCH_VERSION);
        // CUDA versions only where libtorch has CUDA.
        assert_eq!(torch.cuda.is_some(), tch::utils::has_cuda());
    }

    #[test]
    #[cfg(not(feature = "tch"))]
    fn without_tch_the_record_has_no_torch_field() {
        let json = serde_json::to_value(RunRecord::collect(&[], None)).unwrap();
        assert!(json.get("torch").is_none(), "{json}");
    }

    #[test]
    fn a_clean_checkout_is_not_dirty_and_untracked_files_do_not_count() {
        let repo = testing::committed_repo();
        std::fs::create_dir(repo.path().join("runs")).unwrap();
        std::fs::write(repo.path().join("runs/untracked"), "x").unwrap();
        let git = git_record(repo.path()).unwrap();
        assert_eq!(
            git.commit,
            testing::git_in(repo.path(), &["rev-parse", "HEAD"])
        );
        assert_eq!(git.branch.as_deref(), Some("main"));
        assert_eq!(git.remote, None);
        assert!(!git.dirty && git.diff.is_empty() && !git.diff_truncated);
        // A detached HEAD has no branch.
        testing::git_in(repo.path(), &["checkout", "-q", "--detach"]);
        assert_eq!(git_record(repo.path()).unwrap().branch, None);
    }

    #[test]
    fn a_diff_over_the_cap_is_cut_and_marked() {
        let repo = testing::committed_repo();
        let dir = repo.path();
        std::fs::write(dir.join("train.py"), "é\n".repeat(MAX_DIFF_BYTES)).unwrap();
        let git = git_record(dir).unwrap();
        assert!(git.dirty && git.diff_truncated);
        assert!(git.diff.len() <= MAX_DIFF_BYTES && git.diff.len() > MAX_DIFF_BYTES - 4);
        assert!(git.diff.starts_with("diff --git a/train.py b/train.py"));
    }
}
