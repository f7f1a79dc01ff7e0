//! Numbers as text: Python's `repr` where TensorBoard's format is promised, the shortest round-trip text everywhere else.
//!
//! Both write the shortest digits that parse back to the same `f64`; they differ only in layout
//! and in the words for NaN and the infinities:
//!
//! | where | function | `1e-5` | `1e16` | `2.0` | NaN, ±Inf |
//! |---|---|---|---|---|---|
//! | TensorBoard's `/data` JSON (`api::json::tb_json`) | [`PyRepr`], non-finite by [`json_non_finite`] | `1e-05` | `1e+16` | `2.0` | `"NaN"`, `"Infinity"`, `"-Infinity"` ([`json_non_finite`]) |
//! | TensorBoard's `/data` CSV (`?format=csv`) and `runboard export --format csv` | [`PyRepr`] | `1e-05` | `1e+16` | `2.0` | `nan`, `inf`, `-inf` |
//! | runboard's JSON API (`/api/v1`, SSE) | `serde_json` (`ryu`), non-finite by [`json_non_finite`] (`api::json::Num`) | `0.00001` | `1e16` | `2.0` | `"NaN"`, `"Infinity"`, `"-Infinity"` |
//! | `runboard export --format json` (JSON Lines) | [`json_float`] (`ryu`) | `0.00001` | `1e16` | `2.0` | `"NaN"`, `"Infinity"`, `"-Infinity"` |
//!
//! TensorBoard writes every float with Python (`json.dumps`, and the `csv` module, which writes
//! a float with `repr`), so wherever runboard promises TensorBoard's format a byte comparison
//! with TensorBoard's output must hold. runboard's own formats are JSON read by programs:
//! there the shortest text is enough, and `ryu` writes it fastest.

/// The JSON word for a non-finite float (JSON has no literal for them): `"NaN"`, `"Infinity"`
/// or `"-Infinity"` without quotes, as TensorBoard's API and runboard's API and JSON Lines
/// export all write them; `None` for a finite float.
pub fn json_non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("Infinity")
    } else if v == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

/// A float as a JSON value, shortest round-trip text (`ryu`, what `serde_json` writes for
/// runboard's JSON API): a number when finite, else the string `"NaN"`, `"Infinity"` or
/// `"-Infinity"` with its quotes ([`json_non_finite`]). Used by `runboard export --format json`
/// (JSON Lines), which writes its numbers directly rather than through `serde_json`.
pub fn json_float(buf: &mut ryu::Buffer, v: f64) -> &str {
    match v {
        v if v.is_finite() => buf.format_finite(v),
        v if v.is_nan() => "\"NaN\"",
        v if v > 0.0 => "\"Infinity\"",
        _ => "\"-Infinity\"",
    }
}

/// Formats floats as Python's `repr` writes them, without allocating (a reusable buffer, like
/// `ryu::Buffer`): the shortest digits that round-trip, positional when the decimal exponent
/// is in `-4..16` (`0.0001`, `1000000000000000.0`, always with a `.`), else `d.ddde±XX`
/// (`1e-05`, `1e+16`, two exponent digits at least); `nan`, `inf`, `-inf`.
///
/// Used wherever runboard promises TensorBoard's format, which Python writes: the `/data` API's
/// JSON (`json.dumps`) and CSV, and the CSV of `runboard export` (TensorBoard's `?format=csv`
/// uses Python's `csv` module, which writes a float with `repr`).
#[derive(Default)]
pub struct PyRepr {
    digits: ryu::Buffer,
    /// The longest text is 24 bytes (`-1.2345678901234567e-308`).
    out: [u8; 32],
}

impl PyRepr {
    /// A new buffer.
    pub fn new() -> PyRepr {
        PyRepr::default()
    }

    /// `v` as Python's `repr(v)`.
    pub fn format(&mut self, v: f64) -> &str {
        if v.is_nan() {
            return "nan";
        }
        if v.is_infinite() {
            return if v > 0.0 { "inf" } else { "-inf" };
        }
        // Where both write positional text (a decimal exponent in -4..16, and zero), `ryu`'s
        // shortest text is Python's: no check, no copy. The common case by far.
        let magnitude = v.abs();
        if magnitude == 0.0 || (1e-4..1e16).contains(&magnitude) {
            return self.digits.format_finite(v);
        }
        let text = self.digits.format_finite(v);
        if is_python_positional(text) {
            return text;
        }
        let decimal = Decimal::of(text);
        let (negative, digits, decpt) = (decimal.negative, decimal.digits(), decimal.decpt);
        let mut out = Out {
            buf: &mut self.out,
            len: 0,
        };
        if negative {
            out.push(b"-");
        }
        let n = digits.len() as i32;
        if digits.is_empty() {
            out.push(b"0.0");
        } else if decpt <= -4 || decpt > 16 {
            let exp = decpt - 1;
            out.push(&digits[..1]);
            if n > 1 {
                out.push(b".");
                out.push(&digits[1..]);
            }
            out.push(if exp < 0 { b"e-" } else { b"e+" });
            let mut exp_digits = itoa::Buffer::new();
            let exp_text = exp_digits.format(exp.unsigned_abs());
            if exp_text.len() < 2 {
                out.push(b"0");
            }
            out.push(exp_text.as_bytes());
        } else if decpt <= 0 {
            out.push(b"0.");
            for _ in decpt..0 {
                out.push(b"0");
            }
            out.push(digits);
        } else if decpt >= n {
            out.push(digits);
            for _ in n..decpt {
                out.push(b"0");
            }
            out.push(b".0");
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            out.push(int);
            out.push(b".");
            out.push(frac);
        }
        let len = out.len;
        std::str::from_utf8(&self.out[..len]).expect("only ASCII is written")
    }
}

/// `v` as Python's `repr(v)`, in a new `String` (see [`PyRepr`], which does not allocate).
pub fn py_repr(v: f64) -> String {
    PyRepr::new().format(v).to_owned()
}

/// Bytes appended to a fixed buffer that is long enough for any float's text.
struct Out<'a> {
    buf: &'a mut [u8; 32],
    len: usize,
}

impl Out<'_> {
    fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

/// True when `text` (a finite float's shortest round-trip text) is already what Python's
/// `repr` writes: positional with a `.` and no trailing zero (but the one of `.0`), at most 16
/// digits before the point, fewer than 4 zeros after `0.`. `ryu` writes every value with a
/// decimal exponent in `-4..16` so, except those in `[1e-5, 1e-4)`.
fn is_python_positional(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let Some((int, frac)) = unsigned.split_once('.') else {
        return false;
    };
    !int.is_empty()
        && int.len() <= 16
        && (int != "0" || frac == "0" || !frac.starts_with("0000"))
        && (frac == "0" || !frac.ends_with('0'))
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// A finite float's decimal: `[-]0.DIGITS × 10^decpt`, from its text in any plain layout
/// (`-12.5`, `1e16`, `1.5e-7`, `0.0001`: what `ryu` writes, at most 24 bytes).
struct Decimal {
    negative: bool,
    /// The significant digits, without leading or trailing zeros (none for zero), at
    /// `buf[start..end]`.
    buf: [u8; 32],
    start: usize,
    end: usize,
    decpt: i32,
}

impl Decimal {
    fn of(text: &str) -> Decimal {
        let (negative, text) = match text.strip_prefix('-') {
            Some(t) => (true, t),
            None => (false, text),
        };
        let (mantissa, exp) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut buf = [0u8; 32];
        let mut end = 0;
        for &b in int.as_bytes().iter().chain(frac.as_bytes()).take(buf.len()) {
            buf[end] = b;
            end += 1;
        }
        let mut start = 0;
        while start < end && buf[start] == b'0' {
            start += 1;
        }
        while end > start && buf[end - 1] == b'0' {
            end -= 1;
        }
        Decimal {
            negative,
            buf,
            start,
            end,
            decpt: int.len() as i32 - start as i32 + exp,
        }
    }

    fn digits(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

/// C's `%.{precision}g` of a finite `v`: `precision` significant digits, in fixed notation when
/// the decimal exponent is in `-4..precision`, else `d.ddde±XX`; trailing zeros (and a trailing
/// point) removed.
pub fn c_g(v: f64, precision: usize) -> String {
    let p = precision.max(1);
    // The exponent after rounding to p significant digits, from Rust's correctly rounded `e`.
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_owned()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A JSON string as Python's `json.dumps` with `ensure_ascii` writes it.
pub fn py_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-2.2250738585072014e-308, "-2.2250738585072014e-308"),
            (1e100, "1e+100"),
            (100.0, "100.0"),
            // Exactly halfway between two 16-digit texts: Python takes the even one.
            (920370289492681.0 + 0.25, "920370289492681.2"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        let mut buf = PyRepr::new();
        for (v, want) in cases {
            assert_eq!(buf.format(v), want, "{v:e}");
            assert_eq!(py_repr(v), want, "{v:e}");
        }
    }

    #[test]
    fn a_tie_goes_to_the_even_digit_as_in_python() {
        let v = 920370289492681.0 + 0.25; // exact: halfway between ...681.2 and ...681.3, both round-trip
        assert_eq!(
            repr_from_sci(v),
            "920370289492681.3",
            "Rust's `{{:e}}` rounds it up"
        );
        assert!(even_side_of_a_tie(
            PyRepr::new().format(v),
            &repr_from_sci(v),
            v
        ));
    }

    #[test]
    fn json_floats_are_shortest_and_non_finite_ones_strings() {
        let mut b = ryu::Buffer::new();
        assert_eq!(json_float(&mut b, 0.1), "0.1");
        assert_eq!(json_float(&mut b, 1e-5), "0.00001");
        assert_eq!(json_float(&mut b, 1.5e-7), "1.5e-7");
        assert_eq!(json_float(&mut b, 1e16), "1e16");
        assert_eq!(json_float(&mut b, f64::NAN), "\"NaN\"");
        assert_eq!(json_float(&mut b, f64::INFINITY), "\"Infinity\"");
        assert_eq!(json_float(&mut b, f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(json_non_finite(f64::NEG_INFINITY), Some("-Infinity"));
        assert_eq!(json_non_finite(-0.0), None);
    }

    /// Python's rule written the other way round: Rust's `{:e}` (shortest digits too) laid out
    /// by its exponent.
    fn repr_from_sci(v: f64) -> String {
        let sci = format!("{v:e}");
        let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
        let exp: i32 = exp.parse().expect("an integer exponent");
        let (sign, mantissa) = match mantissa.strip_prefix('-') {
            Some(m) => ("-", m),
            None => ("", mantissa),
        };
        let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
        let n = digits.len() as i32;
        if !(-4..16).contains(&exp) {
            let (first, rest) = digits.split_at(1);
            let dot = if rest.is_empty() { "" } else { "." };
            let esign = if exp < 0 { '-' } else { '+' };
            format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs())
        } else if exp < 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else if n <= exp + 1 {
            format!("{sign}{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
        } else {
            let (int, frac) = digits.split_at(exp as usize + 1);
            format!("{sign}{int}.{frac}")
        }
    }

    /// `a` and `b` are the two shortest texts of a value that lies exactly halfway between
    /// them, `a` the one with the even last digit (Python, like `ryu`, breaks such ties to
    /// even; Rust's `{:e}` does not always).
    fn even_side_of_a_tie(a: &str, b: &str, v: f64) -> bool {
        let (a_last, b_last) = (last_digit(a), last_digit(b));
        a.len() == b.len()
            && a.parse::<f64>().ok() == Some(v)
            && b.parse::<f64>().ok() == Some(v)
            && a_last.abs_diff(b_last) == 1
            && a_last % 2 == 0
    }

    /// The last significant digit of a float's text.
    fn last_digit(text: &str) -> u8 {
        let mantissa = text.split('e').next().unwrap_or(text);
        let mantissa = mantissa.strip_suffix(".0").unwrap_or(mantissa);
        mantissa
            .bytes()
            .rev()
            .find(u8::is_ascii_digit)
            .unwrap_or(b'0')
            - b'0'
    }

    /// Any bits (mostly huge and tiny exponents), and values where training data lives: both
    /// sides of every layout boundary (`1e-4`, `1e-5`, `1e16`), integers, short decimals.
    fn any_float() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            -1e18..1e18f64,
            -2e-3..2e-3f64,
            -2e-4..2e-4f64,
            -2e-5..2e-5f64,
            9e15..2e16f64,
            any::<i64>().prop_map(|i| i as f64),
            (-1_000_000..1_000_000i64, 0..8i32).prop_map(|(m, e)| m as f64 / 10f64.powi(e)),
        ]
    }

    proptest! {
        #[test]
        fn repr_matches_pythons_rule_and_parses_back(v in any_float()) {
            prop_assume!(v.is_finite());
            let bits = v.to_bits();
            let mut buf = PyRepr::new();
            let text = buf.format(v);
            prop_assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok(bits));
            let other = repr_from_sci(v);
            prop_assert!(text == other || even_side_of_a_tie(text, &other, v), "{} vs {}", text, other);
        }

        #[test]
        fn json_floats_parse_back(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assume!(v.is_finite());
            let mut buf = ryu::Buffer::new();
            prop_assert_eq!(json_float(&mut buf, v).parse::<f64>().map(f64::to_bits), Ok(bits));
        }
    }
}
