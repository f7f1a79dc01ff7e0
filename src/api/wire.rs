//! What scalar points look like on the wire: shared by `/api/v1/scalars`, `/api/v1/tag_scalars` and the live stream's `scalars` events.

use serde::Serialize;

use super::json::Num;
use crate::store::Point;

/// A scalar point on the wire: `[step, wall_time, value]`.
pub type WirePoint = (i64, Num, Num);

/// `point` as sent: `[step, wall_time, value]` with non-finite values as strings.
pub fn wire_point(p: &Point) -> WirePoint {
    (p.step, Num(p.wall_time), Num(p.value))
}

/// The body of `/api/v1/scalars` and of the stream's `scalars` events.
#[derive(Debug, Serialize)]
pub struct ScalarsOut {
    /// The run.
    pub run: String,
    /// The tag.
    pub tag: String,
    /// `[step, wall_time, value]` in step order.
    pub points: Vec<WirePoint>,
    /// With `x=TAG`: each point's value of that series, paired by step (points without one
    /// are left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<Vec<Num>>,
}
