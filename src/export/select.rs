//! Which series an export writes: the `--run` and `--tag` regexes, matched anywhere in the name as TensorBoard's filters are.

use std::collections::HashSet;

use regex::Regex;
use rusqlite::Connection;

use super::{ExportError, plural};
use crate::store::query::{self, RunInfo, SeriesInfo};
use crate::types::Kind;

/// The regexes of `--run` and `--tag`.
#[derive(Debug, Clone)]
pub struct Selection {
    run: Option<Regex>,
    tag: Option<Regex>,
}

impl Selection {
    /// Compiles the patterns; an invalid one is an error naming its flag.
    pub fn new(run: Option<&str>, tag: Option<&str>) -> Result<Selection, ExportError> {
        let compile = |flag: &'static str, pattern: Option<&str>| {
            pattern
                .map(|p| {
                    Regex::new(p).map_err(|e| ExportError::BadRegex {
                        flag,
                        pattern: p.to_owned(),
                        message: one_line_regex_error(&e),
                    })
                })
                .transpose()
        };
        Ok(Selection {
            run: compile("run", run)?,
            tag: compile("tag", tag)?,
        })
    }

    /// True when the series' run and tag both match (`is_match`: anywhere in the name).
    pub fn matches(&self, run: &str, tag: &str) -> bool {
        self.run.as_ref().is_none_or(|r| r.is_match(run))
            && self.tag.as_ref().is_none_or(|t| t.is_match(tag))
    }

    /// The flags given, for messages: `--run "a" and --tag "b"`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.run {
            parts.push(format!("--run {:?}", r.as_str()));
        }
        if let Some(t) = &self.tag {
            parts.push(format!("--tag {:?}", t.as_str()));
        }
        parts.join(" and ")
    }
}

/// regex's syntax errors span several lines (the pattern, a caret, the reason): keep the reason.
fn one_line_regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid pattern");
    last.trim().trim_start_matches("error: ").to_owned()
}

/// A series chosen for export, with its database id.
#[derive(Debug, Clone)]
pub(super) struct Chosen {
    /// The series as listed.
    pub(super) info: SeriesInfo,
    /// Its id in the database.
    pub(super) id: i64,
}

/// The series of `all` that `selection` matches (only scalar series when `scalars_only`), with
/// their ids; an [`ExportError::EmptySelection`] when there is none.
pub(super) fn choose(
    conn: &Connection,
    runs: &[RunInfo],
    all: &[SeriesInfo],
    selection: &Selection,
    scalars_only: bool,
) -> Result<Vec<Chosen>, ExportError> {
    let eligible = |s: &SeriesInfo| !scalars_only || s.kind == Kind::Scalar;
    let chosen: Vec<Chosen> = all
        .iter()
        .filter(|s| eligible(s) && selection.matches(&s.run, &s.tag))
        .map(|s| {
            let id = query::series_id(conn, &s.run, &s.tag)?.map(|(id, _)| id);
            Ok(id.map(|id| Chosen {
                info: s.clone(),
                id,
            }))
        })
        .filter_map(Result::transpose)
        .collect::<Result<_, ExportError>>()?;
    if chosen.is_empty() {
        return Err(empty_selection(selection, runs, all, scalars_only));
    }
    Ok(chosen)
}

/// The names of the runs with a chosen series, in the order of `runs` (start order).
pub(super) fn chosen_runs<'a>(runs: &'a [RunInfo], chosen: &[Chosen]) -> Vec<&'a str> {
    let with_series: HashSet<&str> = chosen.iter().map(|c| c.info.run.as_str()).collect();
    runs.iter()
        .map(|r| r.name.as_str())
        .filter(|r| with_series.contains(r))
        .collect()
}

/// Why nothing was chosen, with how many runs and tags there are to choose from.
fn empty_selection(
    selection: &Selection,
    runs: &[RunInfo],
    all: &[SeriesInfo],
    scalars_only: bool,
) -> ExportError {
    let kind = if scalars_only { "scalar " } else { "" };
    let tags: HashSet<&str> = all
        .iter()
        .filter(|s| !scalars_only || s.kind == Kind::Scalar)
        .map(|s| s.tag.as_str())
        .collect();
    let filters = selection.describe();
    let what = if filters.is_empty() {
        format!("there is no {kind}series")
    } else {
        format!("no {kind}series matches {filters}")
    };
    ExportError::EmptySelection(format!(
        "{what} ({} run{} and {} {kind}tag{} exist)",
        runs.len(),
        plural(runs.len() as u64),
        tags.len(),
        plural(tags.len() as u64),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_regexes_name_their_flag_on_one_line() {
        let e = Selection::new(Some("ok"), Some("a[")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("--tag: invalid regex \"a[\""), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        let e = Selection::new(Some("(x"), None).unwrap_err();
        assert!(e.to_string().starts_with("--run:"), "{e}");
    }

    #[test]
    fn selection_is_unanchored_like_tensorboards_filter() {
        let s = Selection::new(Some("trai"), Some("loss$")).unwrap();
        assert!(s.matches("mnist/train", "train/loss"));
        assert!(!s.matches("mnist/train", "loss/ema"));
        assert!(!s.matches("eval", "loss"));
        assert!(Selection::new(None, None).unwrap().matches("any", "thing"));
    }
}
