//! JSON conventions: NaN and infinities as strings, and TensorBoard's Python-style encoding.
//!
//! TensorBoard answers with Python's `json.dumps`: `", "` and `": "` separators, non-ASCII
//! escaped as `\uXXXX`, floats as Python's `repr` (`1.0`, `1e-05`, `3.4e+38`), and NaN and
//! infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`. [`tb_json`] writes exactly
//! that, so a byte comparison with TensorBoard's answer is meaningful.

use std::io;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A float that serialises as a JSON number when finite, else as `"NaN"`, `"Infinity"` or
/// `"-Infinity"` (what TensorBoard's API and runboard's API both send).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v == f64::INFINITY {
            s.serialize_str("Infinity")
        } else if v == f64::NEG_INFINITY {
            s.serialize_str("-Infinity")
        } else {
            s.serialize_f64(v)
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

/// A finite float as Python's `repr` writes it: the shortest digits that round-trip, in
/// positional notation when the decimal exponent is in `-4..16`, else `d.ddde±XX`.
pub fn py_float(v: f64) -> String {
    // Rust's `{:e}` gives the same shortest round-trip digits Python uses.
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1; // digits[..decpt] is the integer part
    let n = digits.len() as i32;
    if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs())
    } else if decpt <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt >= n {
        format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// serde_json formatting as Python's `json.dumps` with its defaults.
struct PyFormatter;

impl serde_json::ser::Formatter for PyFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
        w.write_all(py_float(v).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
        w.write_all(py_float(f64::from(v)).as_bytes())
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
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
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
    fn floats_are_written_as_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (2.5, "2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.401298464324817e-45, "1.401298464324817e-45"),
            (3.3999999521443642e38, "3.3999999521443642e+38"),
            (-123456.7890625, "-123456.7890625"),
            (1700000000.25, "1700000000.25"),
            (1795319404.5308526, "1795319404.5308526"),
            (0.1, "0.1"),
            (-1.5e-7, "-1.5e-07"),
        ];
        for (v, want) in cases {
            assert_eq!(py_float(v), want, "{v:e}");
        }
    }

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
