//! TensorBoard's PR Curves plugin routes (`/data/plugin/pr_curves/*`), in TensorBoard 2.21's
//! shapes: which runs and tags have curves (`tags`) and the curves of one tag for several runs
//! (`pr_curves?run=&run=&tag=`), each step's precision, recall, counts and thresholds cut after
//! the last threshold with any positive prediction, as its `_make_pr_entry` does. Every step is
//! served (TensorBoard samples 100 a tag).

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::super::json::{Num, Ordered, tb_json};
use super::super::{ApiError, ApiQuery, AppState, read};
use super::{TagInfo, all_series};
use crate::store::{codec, query};
use crate::types::Kind;

pub use runboard_sdk::event::plugin::PR_CURVES as PLUGIN;

/// Whether a stored series holds PR curves.
pub(in crate::api) fn is_pr_curve(s: &query::SeriesInfo) -> bool {
    s.kind == Kind::Tensor && s.plugin == PLUGIN
}

/// `GET /data/plugin/pr_curves/tags`: `{run: {tag: {"displayName", "description"}}}` for every
/// run with curves, in start order.
pub(in crate::api) async fn tags(State(state): State<AppState>) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let mut out: Ordered<Ordered<TagInfo>> = Ordered::default();
    for s in series.iter().filter(|s| is_pr_curve(s)) {
        out.entry(&s.run, Ordered::default).0.push((
            s.tag.clone(),
            TagInfo {
                display_name: "",
                description: "",
                samples: None,
            },
        ));
    }
    Ok(tb_json(&out))
}

#[derive(Serialize)]
struct TimeEntry {
    step: i64,
    wall_time: Num,
}

/// `GET /data/plugin/pr_curves/available_time_entries`: `{run: [{"step", "wall_time"}, ...]}`
/// for every run with curves, the steps of its first tag by name (what TensorBoard's step
/// sliders were populated from; TensorBoard 2.21 dropped the route, earlier versions and their
/// front ends call it).
pub(in crate::api) async fn available_time_entries(
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let series = all_series(&state).await?;
    let mut first: Vec<(String, String)> = Vec::new();
    for s in series.iter().filter(|s| is_pr_curve(s)) {
        match first.iter_mut().find(|(run, _)| *run == s.run) {
            Some((_, tag)) if s.tag < *tag => *tag = s.tag.clone(),
            Some(_) => {}
            None => first.push((s.run.clone(), s.tag.clone())),
        }
    }
    let out = read(&state, move |c| {
        let mut out: Ordered<Vec<TimeEntry>> = Ordered::default();
        for (run, tag) in first {
            let Some(id) = query::plugin_series(c, &run, &tag, PLUGIN)? else {
                continue;
            };
            let entries = query::tensor_meta(c, id)?
                .into_iter()
                .map(|row| TimeEntry {
                    step: row.step,
                    wall_time: Num(row.wall_time),
                })
                .collect();
            *out.entry(&run, Vec::new) = entries;
        }
        Ok(out)
    })
    .await?;
    Ok(tb_json(&out))
}

/// One step of a curve, with TensorBoard's keys in its order.
#[derive(Serialize)]
struct Entry {
    wall_time: Num,
    step: i64,
    precision: Vec<Num>,
    recall: Vec<Num>,
    true_positives: Vec<i64>,
    false_positives: Vec<i64>,
    true_negatives: Vec<i64>,
    false_negatives: Vec<i64>,
    thresholds: Vec<Num>,
}

/// A curve as TensorBoard serves it: counts truncated to integers, thresholds `i / (N − 1)`
/// (numpy's `linspace(0, 1, N)`), every row cut after the last threshold at which some
/// prediction is positive (`TP + FP > 0`; the first threshold always stays).
fn entry(step: i64, wall_time: f64, curve: &runboard_sdk::event::PrCurve) -> Entry {
    let [tp, fp, tn, fn_, precision, recall] = &curve.rows;
    let n = curve.thresholds();
    let positives = |i: usize| tp[i] as i64 + fp[i] as i64;
    let mut end = n - 1;
    while end > 0 && positives(end) == 0 {
        end -= 1;
    }
    let end = end + 1;
    let step_size = if n > 1 { 1.0 / (n - 1) as f64 } else { 0.0 };
    let thresholds = (0..end)
        .map(|i| {
            Num(if n > 1 && i == n - 1 {
                1.0
            } else {
                i as f64 * step_size
            })
        })
        .collect();
    let ints = |row: &[f64]| row[..end].iter().map(|&v| v as i64).collect();
    let nums = |row: &[f64]| row[..end].iter().map(|&v| Num(v)).collect();
    Entry {
        wall_time: Num(wall_time),
        step,
        precision: nums(precision),
        recall: nums(recall),
        true_positives: ints(tp),
        false_positives: ints(fp),
        true_negatives: ints(tn),
        false_negatives: ints(fn_),
        thresholds,
    }
}

/// `GET /data/plugin/pr_curves/pr_curves?run=R[&run=R2...]&tag=T`: `{run: [{"wall_time",
/// "step", "precision", "recall", "true_positives", "false_positives", "true_negatives",
/// "false_negatives", "thresholds"}, ...]}` in the runs' order; a 400 without a run or a tag, or
/// when a run has no curves under the tag (as TensorBoard answers).
pub(in crate::api) async fn pr_curves(
    State(state): State<AppState>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let runs: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "run")
        .map(|(_, v)| v.clone())
        .collect();
    let tag = pairs
        .iter()
        .find(|(k, _)| k == "tag")
        .map(|(_, v)| v.clone())
        .filter(|t| !t.is_empty());
    if runs.is_empty() {
        return Err(ApiError::BadRequest(
            "No runs provided when fetching PR curve data".into(),
        ));
    }
    let Some(tag) = tag else {
        return Err(ApiError::BadRequest(
            "No tag provided when fetching PR curve data".into(),
        ));
    };
    let out = read(&state, move |c| {
        let mut out: Ordered<Vec<Entry>> = Ordered::default();
        for run in &runs {
            let Some(id) = query::plugin_series(c, run, &tag, PLUGIN)? else {
                return Err(ApiError::BadRequest(format!(
                    "No PR curves could be found for run {run:?} and tag {tag:?}"
                )));
            };
            let mut entries = Vec::new();
            for row in query::tensors(c, id)? {
                let tensor = codec::tensor(&row.data)?;
                let curve = runboard_sdk::event::pr_curve(&tensor).ok_or_else(|| {
                    ApiError::Unprocessable(format!(
                        "run {run:?}, tag {tag:?}, step {}: the stored curve is not a [6, N] tensor",
                        row.step
                    ))
                })?;
                entries.push(entry(row.step, row.wall_time, &curve));
            }
            *out.entry(run, Vec::new) = entries;
        }
        Ok(out)
    })
    .await?;
    Ok(tb_json(&out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use runboard_sdk::event::PrCurve;

    #[test]
    fn rows_are_cut_after_the_last_threshold_with_positives_and_thresholds_are_linspace() {
        let curve = PrCurve {
            rows: [
                vec![3.0, 2.0, 1.0, 0.0, 0.0],
                vec![2.0, 1.0, 0.0, 0.0, 0.0],
                vec![0.0, 1.0, 2.0, 2.0, 2.0],
                vec![0.0, 1.0, 2.0, 3.0, 3.0],
                vec![0.6, 0.6666667, 1.0, 0.0, 0.0],
                vec![1.0, 0.6666667, 0.33333334, 0.0, 0.0],
            ],
        };
        let e = entry(7, 1.5, &curve);
        assert_eq!(e.true_positives, [3, 2, 1]);
        assert_eq!(e.true_negatives, [0, 1, 2]);
        assert_eq!(
            e.thresholds.iter().map(|n| n.0).collect::<Vec<_>>(),
            [0.0, 0.25, 0.5]
        );
        // Nothing positive anywhere: the first threshold stays.
        let none = PrCurve {
            rows: std::array::from_fn(|_| vec![0.0; 3]),
        };
        assert_eq!(entry(0, 0.0, &none).precision.len(), 1);
        // The last threshold is exactly 1 (numpy sets it so).
        let full = PrCurve {
            rows: std::array::from_fn(|_| vec![1.0; 7]),
        };
        assert_eq!(
            entry(0, 0.0, &full).thresholds.last().map(|n| n.0),
            Some(1.0)
        );
    }
}
