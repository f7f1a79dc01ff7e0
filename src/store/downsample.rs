//! Downsampling that keeps what users look for: every bucket's first, last, min and max (and its first NaN).
//!
//! The input is a series in order, as a sequence of [`Segment`]s: decoded points, or whole
//! chunks known only by their [`ChunkSummary`] (a zoomed-out read never decodes those). The
//! points are cut into buckets of about equal count; each bucket contributes its first and last
//! point, its minimum and maximum (so a spike is never hidden) and its first NaN, deduplicated
//! and in series order. The result is deterministic and never longer than `max_points`.

use super::chunk::{ChunkSummary, Point};

/// Points a bucket can contribute: first, min, max, first NaN, last.
pub const POINTS_PER_BUCKET: usize = 5;

/// A piece of a series, in order.
#[derive(Debug, Clone, Copy)]
pub enum Segment<'a> {
    /// Decoded points.
    Points(&'a [Point]),
    /// A whole chunk, by its summary.
    Chunk(ChunkSummary),
}

impl Segment<'_> {
    fn len(&self) -> usize {
        match self {
            Segment::Points(p) => p.len(),
            Segment::Chunk(s) => s.count as usize,
        }
    }
}

#[derive(Debug, Default)]
struct Bucket {
    first: Option<Point>,
    last: Option<Point>,
    min: Option<Point>,
    max: Option<Point>,
    nan: Option<Point>,
}

impl Bucket {
    fn add_point(&mut self, p: Point) {
        self.first.get_or_insert(p);
        self.last = Some(p);
        if p.value.is_nan() {
            self.nan.get_or_insert(p);
        } else {
            if self.min.is_none_or(|m| p.value < m.value) {
                self.min = Some(p);
            }
            if self.max.is_none_or(|m| p.value > m.value) {
                self.max = Some(p);
            }
        }
    }

    fn add_chunk(&mut self, s: &ChunkSummary) {
        self.first.get_or_insert(s.first);
        self.last = Some(s.last);
        if let Some(n) = s.first_nan {
            self.nan.get_or_insert(n);
        }
        // A chunk of only NaNs has min = max = its first point, which is NaN: skip those.
        if !s.min.value.is_nan() && self.min.is_none_or(|m| s.min.value < m.value) {
            self.min = Some(s.min);
        }
        if !s.max.value.is_nan() && self.max.is_none_or(|m| s.max.value > m.value) {
            self.max = Some(s.max);
        }
    }

    fn emit(&mut self, out: &mut Vec<Point>) {
        let mut pts: Vec<Point> = [self.first, self.min, self.max, self.nan, self.last]
            .into_iter()
            .flatten()
            .collect();
        // Series order is step order (steps never decrease within a series); the sort is stable,
        // so equal steps keep first < min < max < nan < last.
        pts.sort_by_key(|p| p.step);
        for p in pts {
            if !out
                .iter()
                .rev()
                .take(POINTS_PER_BUCKET - 1)
                .any(|q| q.same(&p))
            {
                out.push(p);
            }
        }
        *self = Bucket::default();
    }
}

/// Downsamples `segments` (holding `total` points) to at most `max_points` points (see the
/// module docs). With `total <= max_points` every point of a `Points` segment is kept.
pub fn downsample(segments: &[Segment<'_>], max_points: usize) -> Vec<Point> {
    let total: usize = segments.iter().map(Segment::len).sum();
    let max_points = max_points.max(POINTS_PER_BUCKET);
    if total <= max_points && segments.iter().all(|s| matches!(s, Segment::Points(_))) {
        return segments
            .iter()
            .flat_map(|s| match s {
                Segment::Points(p) => p.iter().copied(),
                Segment::Chunk(_) => [].iter().copied(),
            })
            .collect();
    }
    let buckets = (max_points / POINTS_PER_BUCKET).max(1);
    let bucket_size = total.div_ceil(buckets).max(1);
    let mut out = Vec::with_capacity(max_points);
    let mut bucket = Bucket::default();
    let mut current = 0usize; // index of the bucket being filled
    let mut pos = 0usize; // position of the next point in the series
    for seg in segments {
        match seg {
            Segment::Points(points) => {
                for p in *points {
                    let b = pos / bucket_size;
                    if b != current {
                        bucket.emit(&mut out);
                        current = b;
                    }
                    bucket.add_point(*p);
                    pos += 1;
                }
            }
            Segment::Chunk(s) => {
                // A chunk is indivisible: it joins the bucket its first point falls in.
                let b = pos / bucket_size;
                if b != current {
                    bucket.emit(&mut out);
                    current = b;
                }
                bucket.add_chunk(s);
                pos += s.count as usize;
            }
        }
    }
    bucket.emit(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::super::chunk::summarize;
    use super::*;
    use proptest::prelude::*;

    fn series(values: &[f64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| Point {
                step: i as i64,
                wall_time: i as f64,
                value,
            })
            .collect()
    }

    #[test]
    fn a_single_spike_survives_heavy_downsampling() {
        let mut values = vec![1.0; 100_000];
        values[77_777] = 1e6;
        let pts = series(&values);
        let out = downsample(&[Segment::Points(&pts)], 50);
        assert!(out.len() <= 50);
        assert!(out.iter().any(|p| p.step == 77_777 && p.value == 1e6));
        assert_eq!(out.first().unwrap().step, 0);
        assert_eq!(out.last().unwrap().step, 99_999);
    }

    #[test]
    fn chunks_by_summary_give_the_same_extremes_as_points() {
        let values: Vec<f64> = (0..40_000).map(|i| ((i * 7919) % 1000) as f64).collect();
        let pts = series(&values);
        let chunks: Vec<ChunkSummary> = pts.chunks(1000).map(|c| summarize(c).unwrap()).collect();
        let segs: Vec<Segment> = chunks.iter().map(|&c| Segment::Chunk(c)).collect();
        let out = downsample(&segs, 100);
        assert!(out.len() <= 100);
        assert_eq!(out[0].step, 0);
        assert_eq!(out.last().unwrap().step, 39_999);
        let max = out.iter().map(|p| p.value).fold(f64::MIN, f64::max);
        assert_eq!(max, 999.0);
        assert!(out.windows(2).all(|w| w[0].step <= w[1].step));
    }

    #[test]
    fn nan_is_shown_not_hidden() {
        let mut values = vec![0.5; 10_000];
        values[5000] = f64::NAN;
        let pts = series(&values);
        let out = downsample(&[Segment::Points(&pts)], 20);
        assert!(out.iter().any(|p| p.step == 5000 && p.value.is_nan()));
    }

    #[test]
    fn small_series_come_back_whole() {
        let pts = series(&[1.0, 2.0, 3.0]);
        assert_eq!(downsample(&[Segment::Points(&pts)], 1000).len(), 3);
    }

    proptest! {
        #[test]
        fn keeps_first_last_min_max_in_order_within_budget(
            values in prop::collection::vec(-1e6f64..1e6, 1..3000),
            max_points in 5usize..400,
            chunk in 1usize..700,
            use_summaries in any::<bool>(),
        ) {
            let pts = series(&values);
            let summaries: Vec<ChunkSummary> = pts.chunks(chunk).map(|c| summarize(c).unwrap()).collect();
            let segs: Vec<Segment> = if use_summaries {
                summaries.iter().map(|&c| Segment::Chunk(c)).collect()
            } else {
                pts.chunks(chunk).map(Segment::Points).collect()
            };
            let out = downsample(&segs, max_points);
            let again = downsample(&segs, max_points);
            prop_assert!(out.len() == again.len() && out.iter().zip(&again).all(|(a, b)| a.same(b)), "deterministic");
            if use_summaries || values.len() > max_points {
                prop_assert!(out.len() <= max_points);
            }
            prop_assert!(out.first().unwrap().same(&pts[0]));
            prop_assert!(out.last().unwrap().same(pts.last().unwrap()));
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(out.iter().any(|p| p.value == min));
            prop_assert!(out.iter().any(|p| p.value == max));
            prop_assert!(out.windows(2).all(|w| w[0].step <= w[1].step));
            for p in &out {
                prop_assert!(pts[p.step as usize].same(p), "every output point is a real point");
            }
        }
    }
}
