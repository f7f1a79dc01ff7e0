//! Runs as experiments: the run events the SDK sends (record, config, summary, metric goals,
//! status, heartbeat), a run's state as served, metric goals, and the edits a user makes.
//!
//! A run event is one JSON object with a `"type"`, the same text in an event file (runboard's
//! own plugin, tag [`RUN_EVENT_TAG`], which TensorBoard ignores) and in an HTTP batch
//! (`Point.run_event`). Unknown types and fields are ignored, so older servers accept newer
//! SDKs.

pub mod filter;
pub mod group;
pub mod xaxis;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::api::ApiError;

pub use runboard_sdk::event::RUN_EVENT_TAG;

/// The longest run event accepted (a record carries a diff capped at 1 MiB by the SDK).
pub const MAX_RUN_EVENT_BYTES: usize = 2 << 20;
/// The longest display name, in bytes.
pub const MAX_DISPLAY_NAME: usize = 256;
/// The most tags a run has.
pub const MAX_TAGS: usize = 64;
/// The longest tag, in bytes.
pub const MAX_TAG: usize = 64;
/// The longest notes, in bytes.
pub const MAX_NOTES: usize = 65_536;
/// How long a running run may be silent before it is served as `stalled`, by default.
pub const DEFAULT_STALL_AFTER_SECS: f64 = 300.0;

/// A run event as the store applies it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// What ran, from which code, where (the SDK's `RunRecord`, kept as sent).
    Record(Map<String, Json>),
    /// Config keys, merged into the run's config (later wins).
    Config(Map<String, Json>),
    /// User summary keys, merged into the run's summary (later wins).
    Summary(Map<String, Json>),
    /// The direction in which a metric is better.
    Metric {
        /// The metric's tag.
        tag: String,
        /// Its goal.
        goal: Goal,
    },
    /// How the run stands.
    Status {
        /// `running`, `finished` or `crashed`.
        state: State,
        /// The process's exit status, when it said one.
        exit_code: Option<i64>,
        /// The error or panic message of a crash.
        message: Option<String>,
    },
    /// The run is alive (it only refreshes when the run was last heard from).
    Heartbeat,
    /// A type this server does not know (a newer SDK): ignored.
    Unknown,
}

impl RunEvent {
    /// Parses a run event's JSON text; `Err` says what is wrong with it.
    pub fn parse(text: &str) -> Result<RunEvent, String> {
        let json: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Json::Object(mut obj) = json else {
            return Err("a run event is a JSON object".into());
        };
        let ty = match obj.get("type") {
            Some(Json::String(t)) => t.clone(),
            _ => return Err("a run event needs a string \"type\"".into()),
        };
        let mut object = |key: &str| match obj.remove(key) {
            Some(Json::Object(m)) => Ok(m),
            None | Some(Json::Null) => Ok(Map::new()),
            Some(_) => Err(format!("\"{key}\" of a {ty:?} event must be an object")),
        };
        Ok(match ty.as_str() {
            "record" => RunEvent::Record(object("record")?),
            "config" => RunEvent::Config(object("config")?),
            "summary" => RunEvent::Summary(object("summary")?),
            "metric" => {
                let tag = match obj.get("tag") {
                    Some(Json::String(t)) if !t.is_empty() => t.clone(),
                    _ => return Err("a metric event needs a \"tag\"".into()),
                };
                let goal = obj
                    .get("goal")
                    .and_then(|g| Goal::deserialize(g).ok())
                    .ok_or("a metric event's \"goal\" is \"min\" or \"max\"")?;
                RunEvent::Metric { tag, goal }
            }
            "status" => {
                let state = match obj.get("state").and_then(Json::as_str) {
                    Some("running") => State::Running,
                    Some("finished") => State::Finished,
                    Some("crashed") => State::Crashed,
                    _ => {
                        return Err(
                            "a status event's \"state\" is running, finished or crashed".into()
                        );
                    }
                };
                RunEvent::Status {
                    state,
                    exit_code: obj.get("exit_code").and_then(Json::as_i64),
                    message: obj
                        .get("message")
                        .and_then(Json::as_str)
                        .map(|m| truncate(m, MAX_NOTES).to_owned()),
                }
            }
            "heartbeat" => RunEvent::Heartbeat,
            _ => RunEvent::Unknown,
        })
    }
}

/// Checks a run event received over HTTP: at most [`MAX_RUN_EVENT_BYTES`], and parseable.
pub fn check_event_text(text: String) -> Result<String, ApiError> {
    if text.len() > MAX_RUN_EVENT_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a run event of {} bytes: at most {MAX_RUN_EVENT_BYTES}",
            text.len()
        )));
    }
    RunEvent::parse(&text).map_err(|e| ApiError::BadRequest(format!("run event: {e}")))?;
    Ok(text)
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A run's state as recorded by its own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Started and not ended.
    Running,
    /// Ended by `finish` or `close`.
    Finished,
    /// Ended by a panic or an error.
    Crashed,
    /// Said `running`, then silent for longer than the stall timeout (served, never stored).
    Stalled,
    /// No status ever recorded (files of other tools) and not heard from recently.
    Unknown,
}

impl State {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Finished => "finished",
            State::Crashed => "crashed",
            State::Stalled => "stalled",
            State::Unknown => "unknown",
        }
    }

    /// The stored name read back (`None` for anything else).
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "running" => State::Running,
            "finished" => State::Finished,
            "crashed" => State::Crashed,
            _ => return None,
        })
    }

    /// The state to serve at `now`: a recorded `running` that has been silent since
    /// `last_heard` for longer than `stall_after` is `stalled`; a run that never said is
    /// `running` while it is heard from, else `unknown`.
    pub fn served(
        recorded: Option<State>,
        last_heard: Option<f64>,
        now: f64,
        stall_after: f64,
    ) -> State {
        let quiet = last_heard.is_none_or(|t| now - t > stall_after);
        match recorded {
            Some(State::Running) if quiet => State::Stalled,
            Some(s) => s,
            None if quiet => State::Unknown,
            None => State::Running,
        }
    }
}

/// The direction in which a metric is better: the SDK's own type (`"min"` / `"max"` on the
/// wire), which `Run::define_metric` sends.
pub use runboard_sdk::Goal;

/// The goal guessed from a tag's words: losses and errors are minimised, accuracies and
/// scores maximised; `None` when the name says neither.
pub fn guess_goal(tag: &str) -> Option<Goal> {
    const MIN: &[&str] = &[
        "loss",
        "error",
        "err",
        "perplexity",
        "ppl",
        "mse",
        "mae",
        "rmse",
        "nll",
        "cer",
        "wer",
    ];
    const MAX: &[&str] = &[
        "acc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "auc",
        "score",
        "reward",
        "return",
        "iou",
        "bleu",
        "map",
        "top1",
        "top5",
    ];
    let lower = tag.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // The last word that says something decides (`val/loss_acc` is unusual either way).
    for word in words.iter().rev() {
        if MIN.contains(word) {
            return Some(Goal::Minimize);
        }
        if MAX.contains(word) {
            return Some(Goal::Maximize);
        }
    }
    None
}

/// A user's edit of a run (`PATCH /api/v1/run`): any subset of the fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunEdit {
    /// A name to show instead of the run's own (`null` clears it).
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<Option<String>>,
    /// The run's tags (replacing the old ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Markdown notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Hidden from the run lists by default (restorable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// `Some(None)` for an explicit `null`, so that "clear it" differs from "leave it".
fn some_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl RunEdit {
    /// Checks the sizes and shapes; the error names the field and the limit.
    pub fn check(&self) -> Result<(), String> {
        if self.display_name.is_none()
            && self.tags.is_none()
            && self.notes.is_none()
            && self.archived.is_none()
        {
            return Err("nothing to change: give display_name, tags, notes or archived".into());
        }
        if let Some(Some(name)) = &self.display_name {
            if name.len() > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
                return Err(format!(
                    "display_name: at most {MAX_DISPLAY_NAME} bytes, no control characters"
                ));
            }
        }
        if let Some(tags) = &self.tags {
            if tags.len() > MAX_TAGS {
                return Err(format!("tags: at most {MAX_TAGS} tags, not {}", tags.len()));
            }
            for tag in tags {
                if tag.is_empty()
                    || tag.len() > MAX_TAG
                    || tag.chars().any(|c| c.is_control() || c == ',')
                {
                    return Err(format!(
                        "tag {:?}: 1 to {MAX_TAG} bytes, no commas or control characters",
                        truncate(tag, 80)
                    ));
                }
            }
        }
        if let Some(notes) = &self.notes
            && notes.len() > MAX_NOTES
        {
            return Err(format!(
                "notes: at most {MAX_NOTES} bytes, not {}",
                notes.len()
            ));
        }
        Ok(())
    }

    /// The tags without repeats, in their first order.
    pub fn unique_tags(&self) -> Option<Vec<String>> {
        self.tags.as_ref().map(|tags| {
            let mut out: Vec<String> = Vec::with_capacity(tags.len());
            for t in tags {
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
            out
        })
    }
}

/// The host that wrote an event file, from its name (`events.out.tfevents.<secs>.<host>[.<pid>...]`,
/// TensorFlow's and torch's pattern; tensorboardX appends more after the host).
pub fn host_of_file_name(name: &str) -> Option<String> {
    let rest = name.strip_prefix("events.out.tfevents.")?;
    let (secs, host) = rest.split_once('.')?;
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) || host.is_empty() {
        return None;
    }
    // torch: `<host>.<pid>.<n>`; TF: `<host>`; tensorboardX: `<host>` then an optional suffix.
    // A host name's own dots cannot be told from those suffixes: keep the text up to a part
    // that is all digits (a pid), and drop runboard's `.v2`-style suffixes.
    let mut parts: Vec<&str> = Vec::new();
    for part in host.split('.') {
        if part.is_empty() || part.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        parts.push(part);
    }
    (!parts.is_empty()).then(|| parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_events_parse_and_unknown_types_are_ignored() {
        let e = RunEvent::parse(
            r#"{"type":"status","state":"crashed","message":"boom","exit_code":101}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            RunEvent::Status {
                state: State::Crashed,
                exit_code: Some(101),
                message: Some("boom".into())
            }
        );
        assert_eq!(
            RunEvent::parse(r#"{"type":"later","x":1}"#).unwrap(),
            RunEvent::Unknown
        );
        assert!(matches!(
            RunEvent::parse(r#"{"type":"record","record":{"host":"h"}}"#).unwrap(),
            RunEvent::Record(m) if m["host"] == "h"
        ));
        assert_eq!(
            RunEvent::parse(r#"{"type":"metric","tag":"val/acc","goal":"max"}"#).unwrap(),
            RunEvent::Metric {
                tag: "val/acc".into(),
                goal: Goal::Maximize
            }
        );
        for bad in [
            "[]",
            "{}",
            "not json",
            r#"{"type":"status","state":"sleeping"}"#,
            r#"{"type":"config","config":[1]}"#,
            r#"{"type":"metric","tag":"x","goal":"up"}"#,
        ] {
            assert!(RunEvent::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_silent_running_run_is_stalled_and_a_finished_one_stays_finished() {
        let now = 10_000.0;
        let s = |rec, heard| State::served(rec, heard, now, 300.0);
        assert_eq!(s(Some(State::Running), Some(now - 10.0)), State::Running);
        assert_eq!(s(Some(State::Running), Some(now - 301.0)), State::Stalled);
        assert_eq!(s(Some(State::Running), None), State::Stalled);
        assert_eq!(s(Some(State::Finished), Some(0.0)), State::Finished);
        assert_eq!(s(Some(State::Crashed), None), State::Crashed);
        assert_eq!(s(None, Some(now - 1.0)), State::Running);
        assert_eq!(s(None, Some(now - 1000.0)), State::Unknown);
    }

    #[test]
    fn goals_are_guessed_from_the_tag_words() {
        assert_eq!(guess_goal("train/loss"), Some(Goal::Minimize));
        assert_eq!(guess_goal("val_acc"), Some(Goal::Maximize));
        assert_eq!(guess_goal("eval/Accuracy"), Some(Goal::Maximize));
        assert_eq!(guess_goal("episode_reward"), Some(Goal::Maximize));
        assert_eq!(guess_goal("ppl"), Some(Goal::Minimize));
        assert_eq!(guess_goal("lr"), None);
        assert_eq!(guess_goal("glossary"), None, "words, not substrings");
    }

    #[test]
    fn edits_are_checked_field_by_field() {
        let edit: RunEdit = serde_json::from_str(r#"{"display_name":null}"#).unwrap();
        assert_eq!(edit.display_name, Some(None));
        assert!(edit.check().is_ok());
        let edit: RunEdit = serde_json::from_str(r#"{}"#).unwrap();
        assert!(edit.check().unwrap_err().contains("nothing to change"));
        assert!(serde_json::from_str::<RunEdit>(r#"{"colour":"red"}"#).is_err());
        let long = RunEdit {
            notes: Some("x".repeat(MAX_NOTES + 1)),
            ..RunEdit::default()
        };
        assert!(long.check().unwrap_err().starts_with("notes"));
        let tags = RunEdit {
            tags: Some(vec!["a,b".into()]),
            ..RunEdit::default()
        };
        assert!(tags.check().is_err());
        let many = RunEdit {
            tags: Some((0..65).map(|i| i.to_string()).collect()),
            ..RunEdit::default()
        };
        assert!(many.check().is_err());
        let dup = RunEdit {
            tags: Some(vec!["a".into(), "b".into(), "a".into()]),
            ..RunEdit::default()
        };
        assert_eq!(dup.unique_tags().unwrap(), ["a", "b"]);
    }

    #[test]
    fn the_host_comes_from_the_event_file_name() {
        assert_eq!(
            host_of_file_name("events.out.tfevents.1700000000.gpu-3.12345.0").as_deref(),
            Some("gpu-3")
        );
        assert_eq!(
            host_of_file_name("events.out.tfevents.1700000000.node.example.org").as_deref(),
            Some("node.example.org")
        );
        assert_eq!(host_of_file_name("events.out.tfevents.x.h"), None);
        assert_eq!(host_of_file_name("notes.txt"), None);
    }
}
