//! The run table's filter expressions, e.g. `lr < 0.01 and status = finished and tags has
//! "baseline"`: one small grammar for the API (`/api/v1/run_table?filter=`), `runboard runs
//! --filter` and the dashboard (`static/js/filter.js` implements the same).
//!
//! ```text
//! expr       = or
//! or         = and { "or" and }
//! and        = not { "and" not }
//! not        = "not" not | "(" expr ")" | comparison
//! comparison = field op value
//! op         = "=" | "!=" | "<" | "<=" | ">" | ">=" | "~" (regex) | "has" (a tag, or a substring)
//! field      = a word of letters, digits and _ . / - : (or `any text` in backquotes)
//! value      = a number | "text" | 'text' | a word (text)
//! ```
//!
//! Fields, first match wins: `name`, `display_name`, `status`, `host`, `commit`, `tags`,
//! `notes`, `created` (start, seconds since the epoch), `duration` (seconds), `archived`; a
//! config key; a metric's summary `TAG.last|min|max|best|count|first_step|last_step`, or the
//! metric `TAG` alone (its best value when its goal is known, else its last); `summary.KEY`
//! (what the run set as its summary), `config.KEY`. Keywords are case-insensitive. Text compares without regard to case;
//! numbers numerically. A run without the field matches no comparison (`!=` included).

use serde_json::Value as Json;

/// A parse error, with the 1-based column it points at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct FilterError {
    /// What was expected or wrong.
    pub message: String,
    /// Where (1-based, in characters).
    pub column: usize,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `~`: the regex matches somewhere in the text.
    Matches,
    /// `has`: a tag of the list, or a substring of the text.
    Has,
}

/// A literal to compare with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
}

/// A parsed filter.
#[derive(Debug, Clone)]
pub enum Filter {
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
    /// Not.
    Not(Box<Filter>),
    /// `field op value`.
    Compare {
        /// The field as written.
        field: String,
        /// The operator.
        op: Op,
        /// The value.
        value: Literal,
        /// The compiled regex of `~`.
        regex: Option<regex::Regex>,
        /// Where the field starts (1-based).
        column: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Number(f64),
    Op(Op),
    Open,
    Close,
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |message: &str, at: usize| FilterError {
        message: message.into(),
        column: at + 1,
    };
    let is_word = |c: char| c.is_alphanumeric() || "_./-:+".contains(c);
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::Open
            }
            ')' => {
                i += 1;
                Tok::Close
            }
            '"' | '\'' | '`' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(err("an unclosed quote", start)),
                        Some('\\') if c != '`' => {
                            if let Some(n) = chars.get(i + 1) {
                                s.push(*n);
                            }
                            i += 2;
                        }
                        Some(q) if *q == c => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                if c == '`' {
                    Tok::Word(s)
                } else {
                    Tok::Quoted(s)
                }
            }
            '=' => {
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
                Tok::Op(Op::Eq)
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op(Op::Ne)
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                i += if eq { 2 } else { 1 };
                Tok::Op(match (c, eq) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    _ => Op::Ge,
                })
            }
            '~' => {
                i += 1;
                Tok::Op(Op::Matches)
            }
            c if is_word(c) => {
                while i < chars.len() && is_word(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.parse::<f64>() {
                    Ok(n) if !word.starts_with(|c: char| c.is_alphabetic()) => Tok::Number(n),
                    _ if word.eq_ignore_ascii_case("has") => Tok::Op(Op::Has),
                    _ => Tok::Word(word),
                }
            }
            _ => return Err(err(&format!("unexpected {c:?}"), start)),
        };
        out.push((tok, start + 1));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, c)| *c)
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }

    fn fail<T>(&self, message: &str) -> Result<T, FilterError> {
        Err(FilterError {
            message: message.into(),
            column: self.column(),
        })
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.not()?;
        while self.keyword("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Tok::Close) {
                return self.fail("expected ')'");
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Filter, FilterError> {
        let column = self.column();
        let field = match self.peek() {
            Some(Tok::Word(w)) => w.clone(),
            _ => return self.fail("expected a field name"),
        };
        self.pos += 1;
        let op = match self.peek() {
            Some(Tok::Op(op)) => *op,
            _ => return self.fail("expected an operator (= != < <= > >= ~ has)"),
        };
        self.pos += 1;
        let value_column = self.column();
        let value = match self.peek() {
            Some(Tok::Number(n)) => Literal::Number(*n),
            Some(Tok::Quoted(s) | Tok::Word(s)) => Literal::Text(s.clone()),
            _ => return self.fail("expected a value"),
        };
        self.pos += 1;
        let regex = match (op, &value) {
            (Op::Matches, v) => {
                let pattern = match v {
                    Literal::Text(s) => s.clone(),
                    Literal::Number(n) => n.to_string(),
                };
                let re = regex::RegexBuilder::new(&pattern)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| FilterError {
                        message: format!(
                            "not a regex ({})",
                            e.to_string().lines().last().unwrap_or("")
                        ),
                        column: value_column,
                    })?;
                Some(re)
            }
            _ => None,
        };
        Ok(Filter::Compare {
            field,
            op,
            value,
            regex,
            column,
        })
    }
}

/// The longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;

impl Filter {
    /// Parses a filter expression.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                message: format!("a filter of at most {MAX_FILTER_LEN} bytes"),
                column: 1,
            });
        }
        let toks = lex(text)?;
        let end = text.chars().count() + 1;
        let mut p = Parser { toks, pos: 0, end };
        if p.peek().is_none() {
            return p.fail("an empty filter");
        }
        let f = p.or()?;
        if p.pos < p.toks.len() {
            return p.fail("expected 'and', 'or' or the end");
        }
        Ok(f)
    }

    /// The fields it names, with their columns (to say which one no run has).
    pub fn fields(&self) -> Vec<(&str, usize)> {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut v = a.fields();
                v.extend(b.fields());
                v
            }
            Filter::Not(a) => a.fields(),
            Filter::Compare { field, column, .. } => vec![(field.as_str(), *column)],
        }
    }

    /// Whether a run table row (the JSON of `/api/v1/run_table`) matches.
    pub fn matches(&self, row: &Json) -> bool {
        match self {
            Filter::And(a, b) => a.matches(row) && b.matches(row),
            Filter::Or(a, b) => a.matches(row) || b.matches(row),
            Filter::Not(a) => !a.matches(row),
            Filter::Compare {
                field,
                op,
                value,
                regex,
                ..
            } => match field_of(row, field) {
                Some(v) => compare(&v, *op, value, regex.as_ref()),
                None => false,
            },
        }
    }
}

/// The summary statistics a metric field may name.
const STATS: &[&str] = &[
    "last",
    "min",
    "max",
    "best",
    "count",
    "first_step",
    "last_step",
];

/// The value of `field` in a run table row, if the row has it.
pub fn field_of(row: &Json, field: &str) -> Option<Json> {
    let lower = field.to_ascii_lowercase();
    let get = |v: &Json| (!v.is_null()).then(|| v.clone());
    match lower.as_str() {
        "name" => return get(&row["name"]),
        "display_name" => return get(&row["display_name"]),
        "status" | "state" => return get(&row["status"]["state"]),
        "host" | "commit" | "notes" | "tags" | "archived" => return get(&row[lower.as_str()]),
        "created" | "started_at" => return get(&row["started_at"]),
        "duration" => {
            let d = row["updated_at"].as_f64()? - row["started_at"].as_f64()?;
            return Some(Json::from(d));
        }
        _ => {}
    }
    if let Some(v) = row["config"].get(field) {
        return get(v);
    }
    let metrics = &row["metrics"];
    if let Some(m) = metrics.get(field) {
        let default = if m["best"].is_null() { "last" } else { "best" };
        return get(&m[default]);
    }
    if let Some((tag, stat)) = field.rsplit_once('.')
        && STATS.contains(&stat)
        && let Some(m) = metrics.get(tag)
    {
        return get(&m[stat]);
    }
    for (prefix, key) in [("config.", "config"), ("summary.", "summary")] {
        if let Some(name) = field.strip_prefix(prefix) {
            return row[key].get(name).and_then(get);
        }
    }
    None
}

fn number(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        // NaN and infinities travel as strings.
        Json::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compare(v: &Json, op: Op, lit: &Literal, regex: Option<&regex::Regex>) -> bool {
    if let Json::Array(items) = v {
        // A list (tags): `has` and `=` look for an element; `~` matches any element.
        return match op {
            Op::Has | Op::Eq => items
                .iter()
                .any(|i| text(i).eq_ignore_ascii_case(&lit_text(lit))),
            Op::Ne => !items
                .iter()
                .any(|i| text(i).eq_ignore_ascii_case(&lit_text(lit))),
            Op::Matches => items
                .iter()
                .any(|i| regex.is_some_and(|r| r.is_match(&text(i)))),
            _ => false,
        };
    }
    match op {
        Op::Matches => regex.is_some_and(|r| r.is_match(&text(v))),
        Op::Has => text(v)
            .to_lowercase()
            .contains(&lit_text(lit).to_lowercase()),
        _ => {
            let ord = match (number(v), lit) {
                (Some(a), Literal::Number(b)) => a.partial_cmp(b),
                (Some(_), Literal::Text(t)) if matches!(v, Json::Bool(_)) => {
                    let b = t.eq_ignore_ascii_case("true");
                    Some(v.as_bool().unwrap_or(false).cmp(&b))
                }
                _ => Some(text(v).to_lowercase().cmp(&lit_text(lit).to_lowercase())),
            };
            let Some(ord) = ord else { return false }; // NaN compares with nothing
            match op {
                Op::Eq => ord.is_eq(),
                Op::Ne => ord.is_ne(),
                Op::Lt => ord.is_lt(),
                Op::Le => ord.is_le(),
                Op::Gt => ord.is_gt(),
                Op::Ge => ord.is_ge(),
                Op::Matches | Op::Has => unreachable!("handled above"),
            }
        }
    }
}

fn lit_text(lit: &Literal) -> String {
    match lit {
        Literal::Text(s) => s.clone(),
        Literal::Number(n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows() -> Vec<Json> {
        vec![
            json!({"name": "sweep/a", "display_name": "baseline", "status": {"state": "finished"},
                   "tags": ["baseline", "v1"], "host": "gpu-1", "started_at": 100.0, "updated_at": 400.0,
                   "config": {"lr": 0.001, "opt": "adam", "bn": true},
                   "metrics": {"val/acc": {"last": 0.8, "best": 0.9, "count": 10},
                               "lr": {"last": 0.1, "best": null}}}),
            json!({"name": "sweep/b", "display_name": null, "status": {"state": "crashed"},
                   "tags": [], "host": "gpu-2", "started_at": 200.0, "updated_at": 210.0,
                   "config": {"lr": 0.1, "opt": "sgd", "bn": false},
                   "metrics": {"val/acc": {"last": 0.5, "best": "NaN", "count": 3}}}),
            json!({"name": "other", "status": {"state": "running"}, "tags": ["v1"],
                   "started_at": 300.0, "updated_at": 300.0, "config": {}, "metrics": {}}),
        ]
    }

    fn names(expr: &str) -> Vec<String> {
        let f = Filter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        rows()
            .iter()
            .filter(|r| f.matches(r))
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_issue_example_and_each_operator() {
        assert_eq!(
            names(r#"lr < 0.01 and status = finished and tags has "baseline""#),
            ["sweep/a"]
        );
        assert_eq!(names("lr >= 0.01"), ["sweep/b"]);
        assert_eq!(
            names("opt != adam"),
            ["sweep/b"],
            "a run without the key matches nothing"
        );
        assert_eq!(names("name ~ '^sweep/'"), ["sweep/a", "sweep/b"]);
        assert_eq!(names("tags has V1"), ["sweep/a", "other"]);
        assert_eq!(names("not tags has v1"), ["sweep/b"]);
        assert_eq!(
            names("status = FINISHED or status = running"),
            ["sweep/a", "other"]
        );
        assert_eq!(
            names("(status = crashed or host = gpu-1) and lr > 0.01"),
            ["sweep/b"]
        );
        assert_eq!(names("duration > 100"), ["sweep/a"]);
        assert_eq!(names("bn = true"), ["sweep/a"]);
        assert_eq!(names("config.opt = sgd"), ["sweep/b"]);
        assert_eq!(names("display_name has base"), ["sweep/a"]);
    }

    #[test]
    fn metric_fields_default_to_best_and_name_each_statistic() {
        assert_eq!(
            names("val/acc >= 0.9"),
            ["sweep/a"],
            "best where the goal is known"
        );
        assert_eq!(names("val/acc.last < 0.6"), ["sweep/b"]);
        assert_eq!(names("val/acc.count = 10"), ["sweep/a"]);
        assert_eq!(
            names("val/acc.best > 0"),
            ["sweep/a"],
            "NaN compares with nothing"
        );
        // A metric named like a config key: the config wins; TAG.STAT reaches the metric.
        assert_eq!(names("lr = 0.1"), ["sweep/b"]);
        assert_eq!(names("lr.last = 0.1"), ["sweep/a"]);
        assert_eq!(names("config.lr = 0.1"), ["sweep/b"]);
    }

    #[test]
    fn errors_point_at_the_column() {
        let err = |e: &str| Filter::parse(e).unwrap_err();
        assert_eq!(err("lr < ").column, 6);
        assert_eq!(err("lr < ").message, "expected a value");
        assert_eq!(err("lr 0.1").column, 4);
        assert_eq!(err("lr < 1 and").column, 11);
        assert_eq!(err("(lr < 1").message, "expected ')'");
        assert_eq!(err("lr < 1 lr").message, "expected 'and', 'or' or the end");
        assert_eq!(err("name ~ '('").column, 8);
        assert_eq!(err("x = \"open").message, "an unclosed quote");
        assert_eq!(err("x = 1 ; y").column, 7);
        assert_eq!(err("").message, "an empty filter");
        assert_eq!(err("").to_string(), "an empty filter at column 1");
        assert!(Filter::parse(&"a = 1 and ".repeat(500)).is_err());
    }

    #[test]
    fn fields_are_listed_with_their_columns() {
        let f = Filter::parse("lr < 1 and not (opt = adam)").unwrap();
        assert_eq!(f.fields(), [("lr", 1), ("opt", 17)]);
    }
}
