//! JSON conventions: NaN and infinities as strings, and TensorBoard's Python-style encoding.
//!
//! TensorBoard answers with Python's `json.dumps`: `", "` and `": "` separators, non-ASCII
//! escaped as `\uXXXX`, floats as Python's `repr` (`1.0`, `1e-05`, `3.4e+38`:
//! [`crate::format::PyRepr`]), and NaN and infinities as the strings `"NaN"`, `"Infinity"`,
//! `"-Infinity"`. [`tb_json`] writes exactly that, so a byte comparison with TensorBoard's
//! answer is meaningful. runboard's own API is plain `serde_json` (shortest round-trip numbers,
//! see [`crate::format`]) with the same strings for NaN and infinities ([`Num`]).

use std::io;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::format::{PyRepr, json_non_finite};

/// A float that serialises as a JSON number when finite, else as `"NaN"`, `"Infinity"` or
/// `"-Infinity"` (what TensorBoard's API and runboard's API both send).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match json_non_finite(self.0) {
            Some(word) => s.serialize_str(word),
            None => s.serialize_f64(self.0),
        }
    }
}

/// A JSON object whose keys keep the order they were pushed in (runs in start order).
#[derive(Debug, Clone, PartialEq)]
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<V> Ordered<V> {
    /// The value under `key`, inserted with `make` if absent (a linear search: these maps are
    /// as small as a list of runs).
    pub fn entry(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.0.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.0.push((key.to_owned(), make()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// serde_json formatting as Python's `json.dumps` with its defaults.
struct PyFormatter(PyRepr);

impl serde_json::ser::Formatter for PyFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
        w.write_all(self.0.format(v).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
        w.write_all(self.0.format(f64::from(v)).as_bytes())
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // `ensure_ascii`: everything past ASCII as UTF-16 escapes.
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// `value` encoded as TensorBoard encodes its answers.
pub fn to_tb_string<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter(PyRepr::new()));
    value.serialize(&mut ser)?;
    Ok(out)
}

/// An `application/json` response encoded as TensorBoard encodes it.
pub fn tb_json<T: Serialize + ?Sized>(value: &T) -> Response {
    match to_tb_string(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => super::ApiError::Internal(format!("encoding a response: {e}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tb_encoding_matches_python_json_dumps() {
        let value =
            serde_json::json!([{"a": [1, 1.0, "é"]}, Num(f64::NAN), Num(f64::NEG_INFINITY)]);
        let got = String::from_utf8(to_tb_string(&value).unwrap()).unwrap();
        assert_eq!(got, r#"[{"a": [1, 1.0, "\u00e9"]}, "NaN", "-Infinity"]"#);
        let emoji = String::from_utf8(to_tb_string("x😀").unwrap()).unwrap();
        assert_eq!(emoji, r#""x\ud83d\ude00""#);
    }

    #[test]
    fn ordered_maps_keep_insertion_order() {
        let mut m = Ordered::default();
        *m.entry("b", || 0) += 1;
        *m.entry("a", || 0) += 2;
        *m.entry("b", || 0) += 3;
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"b":4,"a":2}"#);
    }
}
