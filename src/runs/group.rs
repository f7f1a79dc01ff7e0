//! A group of runs drawn as one line: at each step any of them logged, the mean of their
//! values with a band (± one standard deviation, or min to max), computed on every point,
//! then thinned to the points a chart can show.

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::store::chunk::StepValues;

/// The band drawn around a group's mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Mean ± the population standard deviation (numpy's `std` with `ddof=0`).
    #[default]
    Std,
    /// The smallest and largest value.
    Minmax,
}

/// The group's statistics at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aligned {
    /// The step.
    pub step: i64,
    /// The mean of the runs' values at this step.
    pub mean: f64,
    /// The population standard deviation.
    pub std: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many runs have a finite value at this step.
    pub n: u32,
}

impl Aligned {
    /// The band's low and high edge.
    pub fn band(&self, band: Band) -> (f64, f64) {
        match band {
            Band::Std => (self.mean - self.std, self.mean + self.std),
            Band::Minmax => (self.min, self.max),
        }
    }
}

/// The statistics at one step of the finite values in `values` (`None` when there are none).
fn stats(step: i64, values: &[f64]) -> Option<Aligned> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    Some(Aligned {
        step,
        mean,
        std: var.sqrt(),
        min,
        max,
        n: values.len() as u32,
    })
}

/// The statistics of several runs' series at every step any of them has, in step order.
/// Each series is in step order (as stored); a run with several points at one step counts with
/// its last. NaN and infinite values are left out (a diverged run does not erase the band); a
/// step where no run has a finite value is left out.
pub fn align<S: Borrow<StepValues>>(series: &[S]) -> Vec<Aligned> {
    let series: Vec<&StepValues> = series.iter().map(Borrow::borrow).collect();
    let mut values: Vec<f64> = Vec::with_capacity(series.len());
    // The common case: runs of one sweep log the same steps. Then the i-th points align, and
    // the statistics are summed series by series (sequential memory, in the same order as
    // the general path, so the same numbers).
    if let Some(first) = series.first()
        && first.steps.windows(2).all(|w| w[0] < w[1])
        && series.iter().all(|s| s.steps == first.steps)
    {
        return align_same_steps(&first.steps, &series);
    }
    let mut out = Vec::new();
    // A min-heap of (next step, run): a k-way merge.
    let mut heap: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    let mut at = vec![0usize; series.len()];
    for (i, s) in series.iter().enumerate() {
        if let Some(step) = s.steps.first() {
            heap.push(Reverse((*step, i)));
        }
    }
    while let Some(Reverse((step, _))) = heap.peek().copied() {
        values.clear();
        while let Some(Reverse((s, i))) = heap.peek().copied() {
            if s != step {
                break;
            }
            heap.pop();
            let steps = &series[i].steps;
            // The run's last point at this step.
            let mut j = at[i];
            while j + 1 < steps.len() && steps[j + 1] == steps[j] {
                j += 1;
            }
            let v = series[i].values[j];
            if v.is_finite() {
                values.push(v);
            }
            at[i] = j + 1;
            if let Some(next) = steps.get(j + 1) {
                // A step that goes back (not stored by runboard, but possible in old data) is
                // taken as the next step.
                heap.push(Reverse(((*next).max(step + 1), i)));
            }
        }
        out.extend(stats(step, &values));
    }
    out
}

/// [`align`] for series that all have exactly `steps` (strictly increasing).
fn align_same_steps(steps: &[i64], series: &[&StepValues]) -> Vec<Aligned> {
    let len = steps.len();
    let mut sum = vec![0.0f64; len];
    let mut n = vec![0u32; len];
    let mut min = vec![f64::INFINITY; len];
    let mut max = vec![f64::NEG_INFINITY; len];
    for s in series {
        for (i, &v) in s.values.iter().enumerate() {
            if v.is_finite() {
                sum[i] += v;
                n[i] += 1;
                min[i] = min[i].min(v);
                max[i] = max[i].max(v);
            }
        }
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&n)
        .map(|(s, &n)| s / f64::from(n.max(1)))
        .collect();
    let mut sq = vec![0.0f64; len];
    for s in series {
        for (i, &v) in s.values.iter().enumerate() {
            if v.is_finite() {
                sq[i] += (v - mean[i]) * (v - mean[i]);
            }
        }
    }
    (0..len)
        .filter(|&i| n[i] > 0)
        .map(|i| Aligned {
            step: steps[i],
            mean: mean[i],
            std: (sq[i] / f64::from(n[i])).sqrt(),
            min: min[i],
            max: max[i],
            n: n[i],
        })
        .collect()
}

/// At most `max` of the aligned points, evenly spaced by index, the first and last always
/// kept: each one shown is exact (computed on every run's value at that step).
pub fn thin(points: Vec<Aligned>, max: usize) -> Vec<Aligned> {
    let len = points.len();
    if len <= max || max < 2 {
        return points;
    }
    let stride = (len - 1) as f64 / (max - 1) as f64;
    let mut out = Vec::with_capacity(max);
    let mut last = usize::MAX;
    for k in 0..max {
        let i = ((k as f64 * stride).round() as usize).min(len - 1);
        if i != last {
            out.push(points[i]);
            last = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(steps_values: &[(i64, f64)]) -> StepValues {
        StepValues {
            steps: steps_values.iter().map(|p| p.0).collect(),
            values: steps_values.iter().map(|p| p.1).collect(),
        }
    }

    #[test]
    fn the_mean_and_band_are_taken_over_the_runs_at_each_step() {
        let a = pts(&[(0, 1.0), (1, 2.0), (2, 3.0)]);
        let b = pts(&[(0, 3.0), (2, 5.0), (3, 7.0)]);
        let c = pts(&[(1, f64::NAN), (2, 4.0), (2, 1.0)]); // a NaN left out; the last at a step
        let g = align(&[a, b, c]);
        let steps: Vec<i64> = g.iter().map(|p| p.step).collect();
        assert_eq!(steps, [0, 1, 2, 3]);
        assert_eq!((g[0].mean, g[0].std, g[0].n), (2.0, 1.0, 2));
        assert_eq!((g[1].mean, g[1].n), (2.0, 1));
        assert_eq!((g[2].mean, g[2].min, g[2].max, g[2].n), (3.0, 1.0, 5.0, 3));
        assert!((g[2].std - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(g[2].band(Band::Minmax), (1.0, 5.0));
        assert_eq!(g[3].band(Band::Std), (7.0, 7.0));
    }

    #[test]
    fn runs_with_the_same_steps_take_the_fast_path_with_the_same_answer() {
        let a = pts(&[(0, 1.0), (1, f64::NAN), (2, 3.0)]);
        let b = pts(&[(0, 3.0), (1, 2.0), (2, f64::INFINITY)]);
        let fast = align(&[a.clone(), b.clone()]);
        // The general path on the same data (a third, empty series forces it).
        let general = align(&[a, b, StepValues::default()]);
        assert_eq!(fast, general);
        assert_eq!(fast.iter().map(|p| p.n).collect::<Vec<_>>(), [2, 1, 1]);
    }

    #[test]
    fn thinning_keeps_the_ends_and_exact_points() {
        let g: Vec<Aligned> = (0..1000)
            .map(|s| Aligned {
                step: s,
                mean: s as f64,
                std: 0.0,
                min: 0.0,
                max: 0.0,
                n: 1,
            })
            .collect();
        let t = thin(g.clone(), 10);
        assert_eq!(t.len(), 10);
        assert_eq!((t[0].step, t[9].step), (0, 999));
        assert!(t.iter().all(|p| p.mean == p.step as f64));
        assert_eq!(thin(g, 5000).len(), 1000);
    }
}
