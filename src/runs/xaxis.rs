//! Any logged series as a chart's x axis (`epoch`, `tokens_seen`): a metric's points paired
//! with the x series by step.

use crate::store::chunk::Point;

/// Pairs each of `points` (in step order) with the x series' value at its step: the x value
/// logged at the same step, else the latest one logged before it (an `epoch` logged once per
/// epoch holds until the next). Points before the first x value, or whose x is NaN, are left
/// out. Returns the points kept and their x values.
pub fn pair_by_step(points: &[Point], x: &[Point]) -> (Vec<Point>, Vec<f64>) {
    let mut kept = Vec::with_capacity(points.len());
    let mut xs = Vec::with_capacity(points.len());
    let mut j = 0usize;
    let mut current: Option<f64> = None;
    for p in points {
        while j < x.len() && x[j].step <= p.step {
            current = Some(x[j].value);
            j += 1;
        }
        if let Some(v) = current.filter(|v| !v.is_nan()) {
            kept.push(*p);
            xs.push(v);
        }
    }
    (kept, xs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Point> {
        v.iter()
            .map(|&(step, value)| Point {
                step,
                wall_time: 0.0,
                value,
            })
            .collect()
    }

    #[test]
    fn points_take_the_x_of_their_step_or_the_latest_before() {
        let loss = pts(&[(0, 9.0), (5, 8.0), (10, 7.0), (15, 6.0), (20, 5.0)]);
        let epoch = pts(&[(5, 0.0), (15, 1.0), (20, f64::NAN)]);
        let (kept, xs) = pair_by_step(&loss, &epoch);
        let steps: Vec<i64> = kept.iter().map(|p| p.step).collect();
        assert_eq!(
            steps,
            [5, 10, 15],
            "none before the first epoch; none with a NaN x"
        );
        assert_eq!(xs, [0.0, 0.0, 1.0]);
        assert_eq!(pair_by_step(&loss, &[]).0.len(), 0);
    }
}
