//! The domain's vocabulary: what a series holds ([`Kind`]) and the names of runs ([`RunName`]), each checked once where it enters and trusted after.
//!
//! A series kind is stored as text in the `series.kind` column and named in every API answer;
//! [`Kind::as_str`] is that text, [`Kind::from_str`] reads it back, and serde writes it, so no
//! other code spells a kind. A run name reads like a path (`mnist/lr=0.1`) and becomes one in
//! exports, so one rule ([`RunName::new`]) admits it, whether it comes from a logdir folder,
//! an HTTP batch, the GPU sampler or a query.

use std::fmt;
use std::str::FromStr;

use runboard_sdk::event::Value;
use serde::Serialize;

/// What a series holds; one kind per series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Scalar points, stored in chunks.
    Scalar,
    /// Histogram rows `[left, right, count]`.
    Histogram,
    /// Markdown strings.
    Text,
    /// Encoded images (PNG, JPEG, GIF as logged).
    Image,
    /// Tensors of plugins runboard stores but does not interpret yet (PR curves, meshes, ...).
    Tensor,
}

/// Plugins of tensor series the dashboard shows (the Graphs tab draws graphs and colours them
/// by run metadata; the Custom Scalars, PR Curves, Audio and Mesh tabs draw theirs). The store
/// says once when it keeps tensors of another plugin, and the page lists those as stored but not
/// shown (`static/app.js`, `SHOWN_PLUGINS`, keeps the same list).
pub const DASHBOARD_TENSOR_PLUGINS: [&str; 6] = [
    runboard_sdk::event::plugin::GRAPHS,
    runboard_sdk::event::plugin::GRAPH_TAGGED_RUN_METADATA,
    runboard_sdk::event::plugin::CUSTOM_SCALARS,
    runboard_sdk::event::plugin::PR_CURVES,
    runboard_sdk::event::plugin::AUDIO,
    runboard_sdk::event::plugin::MESH,
];

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [
        Kind::Scalar,
        Kind::Histogram,
        Kind::Text,
        Kind::Image,
        Kind::Tensor,
    ];

    /// The kind's name, as stored and as the APIs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Scalar => "scalar",
            Kind::Histogram => "histogram",
            Kind::Text => "text",
            Kind::Image => "image",
            Kind::Tensor => "tensor",
        }
    }

    /// The kind a decoded value is stored as; `None` for hyperparameters and run events, which
    /// belong to the run rather than to a series.
    pub fn of(value: &Value) -> Option<Kind> {
        match value {
            Value::Scalar(_) => Some(Kind::Scalar),
            Value::Histogram(_) => Some(Kind::Histogram),
            Value::Text(_) => Some(Kind::Text),
            Value::Images(_) => Some(Kind::Image),
            Value::Tensor { .. } => Some(Kind::Tensor),
            Value::HParams(_) | Value::Run(_) => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name that is none of [`Kind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown series kind {0:?} (scalar, histogram, text, image or tensor)")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

impl rusqlite::types::FromSql for Kind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Kind> {
        let text = value.as_str()?;
        text.parse()
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

impl rusqlite::ToSql for Kind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// The longest run name, in bytes.
pub const MAX_RUN_NAME_LEN: usize = 256;

/// A valid run name: `.` (the logdir's own folder, as TensorBoard names it) or `/`-separated
/// parts, none of them empty, `.` or `..`; 1 to [`MAX_RUN_NAME_LEN`] bytes of printable text.
/// It names a folder in exports, so it never climbs out of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RunName(String);

/// Why a run name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid run name {0:?}: use 1 to {MAX_RUN_NAME_LEN} printable bytes in '/'-separated parts, none empty, '.' or '..' (or '.' alone for the logdir's own folder)"
)]
pub struct InvalidRunName(pub String);

impl RunName {
    /// The run of the logdir's own folder (event files directly in it).
    pub const ROOT: &'static str = ".";

    /// Checks `name` against the one rule.
    pub fn new(name: impl Into<String>) -> Result<RunName, InvalidRunName> {
        let name = name.into();
        let bad = name.is_empty()
            || name.len() > MAX_RUN_NAME_LEN
            || name.chars().any(char::is_control)
            || (name != Self::ROOT
                && name
                    .split('/')
                    .any(|part| part.is_empty() || part == "." || part == ".."));
        if bad {
            Err(InvalidRunName(name))
        } else {
            Ok(RunName(name))
        }
    }

    /// The run the GPU sampler writes to.
    pub fn system() -> RunName {
        RunName("system".to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RunName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RunName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for RunName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// How many points a downsampled read of a scalar series returns at most: from
/// [`MaxPoints::MIN`] (the first, the last, a min, a max and one more) to [`MaxPoints::MAX`].
/// The API's `max_points`, the server's charts and `runboard export --max-points` all read
/// through it, so they accept the same range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "usize")]
pub struct MaxPoints(usize);

/// A points limit outside [`MaxPoints::MIN`]..=[`MaxPoints::MAX`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be between {min} and {max}, not {n}", min = MaxPoints::MIN, max = MaxPoints::MAX, n = .0)]
pub struct InvalidMaxPoints(pub usize);

impl MaxPoints {
    /// The fewest points a downsampled read may ask for.
    pub const MIN: usize = 5;
    /// The most points a downsampled read may ask for.
    pub const MAX: usize = 100_000;

    /// Checks `n` against the range.
    pub fn new(n: usize) -> Result<MaxPoints, InvalidMaxPoints> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(MaxPoints(n))
        } else {
            Err(InvalidMaxPoints(n))
        }
    }

    /// The limit.
    pub fn get(self) -> usize {
        self.0
    }
}

impl TryFrom<usize> for MaxPoints {
    type Error = InvalidMaxPoints;

    fn try_from(n: usize) -> Result<MaxPoints, InvalidMaxPoints> {
        MaxPoints::new(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(k.to_string(), k.as_str());
        }
        assert!("scalars".parse::<Kind>().is_err());
    }

    #[test]
    fn points_limits_have_one_range() {
        assert!(MaxPoints::new(4).is_err());
        assert_eq!(MaxPoints::new(5).map(MaxPoints::get), Ok(5));
        assert_eq!(MaxPoints::new(100_000).map(MaxPoints::get), Ok(100_000));
        assert_eq!(
            MaxPoints::new(100_001).unwrap_err().to_string(),
            "must be between 5 and 100000, not 100001"
        );
        let parsed: Result<MaxPoints, _> = serde_json::from_str("3");
        assert!(parsed.is_err());
    }

    #[test]
    fn the_system_run_follows_the_rule() {
        assert_eq!(RunName::new("system"), Ok(RunName::system()));
    }

    #[test]
    fn one_rule_for_run_names() {
        for ok in [
            ".",
            "a",
            "mnist/lr=0.1",
            "a b/ü",
            "system",
            &"x".repeat(256),
        ] {
            assert!(RunName::new(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "..",
            "./a",
            "a/.",
            "a//b",
            "/a",
            "a/",
            "a/../b",
            "tab\there",
            "new\nline",
            &"x".repeat(257),
        ] {
            assert!(RunName::new(bad).is_err(), "{bad:?}");
        }
    }
}
