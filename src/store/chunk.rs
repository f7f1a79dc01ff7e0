//! Scalar chunks: a series' points packed in blocks, each with the summary a downsampled read needs.
//!
//! A chunk holds up to a few thousand consecutive points of one series as a blob of fixed-width
//! little-endian records (`step i64`, `wall_time f64`, `value f64`: 24 bytes a point), plus a
//! [`ChunkSummary`]: step range, count, first and last point, the min and max with their steps,
//! and the first NaN. A zoomed-out chart of a 10M-point series reads the summaries of its
//! chunks (a few thousand small rows) and decodes only the chunks cut by the requested range.

/// Bytes a point takes in a chunk blob.
pub const POINT_BYTES: usize = 24;

/// One scalar point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Training step.
    pub step: i64,
    /// Wall time, seconds since the epoch.
    pub wall_time: f64,
    /// The value (NaN and ±Inf are data).
    pub value: f64,
}

impl Point {
    /// Equality that treats NaN as equal to NaN (for tests and deduplication).
    pub fn same(&self, other: &Point) -> bool {
        self.step == other.step
            && self.wall_time.to_bits() == other.wall_time.to_bits()
            && (self.value.to_bits() == other.value.to_bits()
                || (self.value.is_nan() && other.value.is_nan()))
    }
}

/// What a chunk holds, without decoding it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkSummary {
    /// Points in the chunk (at least 1).
    pub count: u32,
    /// The first point.
    pub first: Point,
    /// The last point.
    pub last: Point,
    /// The smallest non-NaN value and its point (the first point when every value is NaN).
    pub min: Point,
    /// The largest non-NaN value and its point (the first point when every value is NaN).
    pub max: Point,
    /// The first NaN point, if any: NaNs are data and a downsampled chart must show them.
    pub first_nan: Option<Point>,
}

/// Appends the points to a blob.
pub fn encode_points(points: &[Point], out: &mut Vec<u8>) {
    out.reserve(points.len() * POINT_BYTES);
    for p in points {
        out.extend_from_slice(&p.step.to_le_bytes());
        out.extend_from_slice(&p.wall_time.to_le_bytes());
        out.extend_from_slice(&p.value.to_le_bytes());
    }
}

/// Why a chunk blob could not be decoded (the database was damaged or written by something else).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("chunk blob of {0} bytes is not a whole number of {POINT_BYTES}-byte points")]
pub struct BadChunk(pub usize);

/// Decodes a blob, appending its points to `out`.
pub fn decode_points(blob: &[u8], out: &mut Vec<Point>) -> Result<(), BadChunk> {
    if blob.len() % POINT_BYTES != 0 {
        return Err(BadChunk(blob.len()));
    }
    out.reserve(blob.len() / POINT_BYTES);
    for rec in blob.chunks_exact(POINT_BYTES) {
        let (s, rest) = rec.split_at(8);
        let (w, v) = rest.split_at(8);
        out.push(Point {
            step: i64::from_le_bytes(s.try_into().expect("8-byte split")),
            wall_time: f64::from_le_bytes(w.try_into().expect("8-byte split")),
            value: f64::from_le_bytes(v.try_into().expect("8-byte split")),
        });
    }
    Ok(())
}

/// A series as two columns, steps and values (what computations over many series read: a
/// third less memory than [`Point`]s).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepValues {
    /// Steps, in stored order.
    pub steps: Vec<i64>,
    /// The value at each step.
    pub values: Vec<f64>,
}

/// Decodes a blob's steps and values (not wall times), appending them to `out`.
pub fn decode_steps_values(blob: &[u8], out: &mut StepValues) -> Result<(), BadChunk> {
    if blob.len() % POINT_BYTES != 0 {
        return Err(BadChunk(blob.len()));
    }
    let n = blob.len() / POINT_BYTES;
    out.steps.reserve(n);
    out.values.reserve(n);
    for rec in blob.chunks_exact(POINT_BYTES) {
        out.steps
            .push(i64::from_le_bytes(rec[..8].try_into().expect("8 bytes")));
        out.values
            .push(f64::from_le_bytes(rec[16..].try_into().expect("8 bytes")));
    }
    Ok(())
}

/// Summarises a non-empty run of points; `None` for an empty slice.
pub fn summarize(points: &[Point]) -> Option<ChunkSummary> {
    let first = *points.first()?;
    let last = *points.last()?;
    let mut min: Option<Point> = None;
    let mut max: Option<Point> = None;
    let mut first_nan = None;
    for p in points {
        if p.value.is_nan() {
            first_nan.get_or_insert(*p);
            continue;
        }
        if min.is_none_or(|m| p.value < m.value) {
            min = Some(*p);
        }
        if max.is_none_or(|m| p.value > m.value) {
            max = Some(*p);
        }
    }
    Some(ChunkSummary {
        count: u32::try_from(points.len()).unwrap_or(u32::MAX),
        first,
        last,
        min: min.unwrap_or(first),
        max: max.unwrap_or(first),
        first_nan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(step: i64, value: f64) -> Point {
        Point {
            step,
            wall_time: 1000.0 + step as f64,
            value,
        }
    }

    #[test]
    fn summary_finds_extremes_and_the_first_nan() {
        let pts = [
            p(0, 1.0),
            p(1, f64::NAN),
            p(2, -3.0),
            p(3, 9.0),
            p(4, f64::NAN),
            p(5, 2.0),
        ];
        let s = summarize(&pts).unwrap();
        assert_eq!(s.count, 6);
        assert_eq!((s.first.step, s.last.step), (0, 5));
        assert_eq!((s.min.step, s.min.value), (2, -3.0));
        assert_eq!((s.max.step, s.max.value), (3, 9.0));
        assert_eq!(s.first_nan.map(|n| n.step), Some(1));
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn all_nan_chunk_still_has_a_summary() {
        let s = summarize(&[p(3, f64::NAN), p(4, f64::NAN)]).unwrap();
        assert_eq!(s.min.step, 3);
        assert_eq!(s.first_nan.map(|n| n.step), Some(3));
    }

    #[test]
    fn infinities_are_extremes() {
        let s = summarize(&[p(0, 1.0), p(1, f64::INFINITY), p(2, f64::NEG_INFINITY)]).unwrap();
        assert_eq!(s.max.value, f64::INFINITY);
        assert_eq!(s.min.value, f64::NEG_INFINITY);
    }

    #[test]
    fn damaged_blob_is_an_error() {
        let mut out = Vec::new();
        assert_eq!(decode_points(&[0u8; 25], &mut out), Err(BadChunk(25)));
    }

    proptest! {
        #[test]
        fn blob_round_trips(raw in prop::collection::vec((any::<i64>(), any::<f64>(), any::<f64>()), 0..300)) {
            let points: Vec<Point> = raw.iter().map(|&(step, wall_time, value)| Point { step, wall_time, value }).collect();
            let mut blob = Vec::new();
            encode_points(&points, &mut blob);
            prop_assert_eq!(blob.len(), points.len() * POINT_BYTES);
            let mut back = Vec::new();
            decode_points(&blob, &mut back).unwrap();
            prop_assert!(back.len() == points.len() && back.iter().zip(&points).all(|(a, b)| a.same(b)));
        }
    }
}
