//! TensorBoard's HParams plugin over what runs logged: the experiment (the declared
//! hyperparameters and metrics, else what the runs' values and scalar tags imply), the session
//! groups (each run that logged a session start is a session; sessions of one `group_name` form
//! a group) with their metrics' last values, filtered, sorted, aggregated and paged, and the
//! download of that table — with the semantics of TensorBoard 2.21's `hparams` plugin
//! (`backend_context.py`, `list_session_groups.py`, `download_data.py`), so its front end and
//! scripts get the same answers.
//!
//! Where TensorBoard's answer depends on chance (which run's experiment when several runs
//! logged one: the first in its data provider's order; the order of a map or of a Python set),
//! runboard takes the first run in name order and sorts. Where TensorBoard fails with a 500
//! (an aggregation metric no session has, sorting strings against numbers), runboard answers:
//! no aggregated metrics, and numbers before strings.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use runboard_proto::prost::Message;
use runboard_proto::prost_types::{self, value::Kind as PbKind};
use runboard_proto::tensorboard::hparams::{
    self as pb, Experiment, HParamsPluginData, SessionEndInfo, SessionStartInfo,
    h_params_plugin_data::Data,
};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

pub use runboard_sdk::event::hparams_tag as tag;

use crate::store::query::LastScalar;

/// A request TensorBoard's front end would not send: said with its reason (a 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct HParamsError(pub String);

/// What one run logged for the plugin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunLog {
    /// The run.
    pub run: String,
    /// `_hparams_/experiment`.
    pub experiment: Option<Experiment>,
    /// `_hparams_/session_start_info`: the run is a session.
    pub start: Option<SessionStartInfo>,
    /// `_hparams_/session_end_info`.
    pub end: Option<SessionEndInfo>,
}

/// Everything the plugin's answers are made of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logged {
    /// Runs that logged something for the plugin, in name order.
    pub runs: Vec<RunLog>,
    /// The last point of every scalar series, by (run, tag).
    pub last: BTreeMap<(String, String), LastScalar>,
    /// Stored plugin data that did not decode, as (run, tag): left out.
    pub undecodable: Vec<(String, String)>,
}

impl Logged {
    /// From the stored `(run, tag, HParamsPluginData)` rows (in run order) and last scalars.
    pub fn new(
        rows: Vec<(String, String, Vec<u8>)>,
        last: Vec<(String, String, LastScalar)>,
    ) -> Logged {
        let mut out = Logged {
            last: last.into_iter().map(|(r, t, p)| ((r, t), p)).collect(),
            ..Logged::default()
        };
        for (run, tag, content) in rows {
            let data = HParamsPluginData::decode(content.as_slice())
                .ok()
                .and_then(|d| d.data);
            if out.runs.last().is_none_or(|r| r.run != run) {
                out.runs.push(RunLog {
                    run: run.clone(),
                    ..RunLog::default()
                });
            }
            let log = out.runs.last_mut().expect("pushed above");
            match data {
                Some(Data::Experiment(e)) if tag == tag::EXPERIMENT => log.experiment = Some(e),
                Some(Data::SessionStartInfo(s)) if tag == tag::SESSION_START => log.start = Some(s),
                Some(Data::SessionEndInfo(e)) if tag == tag::SESSION_END => log.end = Some(e),
                _ => out.undecodable.push((run, tag)),
            }
        }
        out
    }

    /// Whether any run logged anything the plugin shows (its `plugins_listing` entry).
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    fn sessions(&self) -> impl Iterator<Item = (&str, &SessionStartInfo)> {
        self.runs
            .iter()
            .filter_map(|r| Some((r.run.as_str(), r.start.as_ref()?)))
    }
}

// ---- the experiment ---------------------------------------------------------------------

/// The experiment: the first run's logged `_hparams_/experiment` (its metrics dropped without
/// `include_metrics`), else one built from the sessions' values (types, domains, `differs`)
/// and the scalar tags of the session runs and their sub-runs, else an empty one. Hyperparameters
/// sorted (those whose values differ first, then by name) and cut to `hparams_limit` (0: all).
pub fn experiment(logged: &Logged, include_metrics: bool, hparams_limit: i32) -> Experiment {
    let mut experiment = match logged.runs.iter().find_map(|r| r.experiment.as_ref()) {
        Some(e) => {
            let mut e = e.clone();
            if !include_metrics {
                e.metric_infos.clear();
            }
            e
        }
        None => {
            let hparam_infos = hparam_infos_of_sessions(logged);
            let metric_infos = if include_metrics && !hparam_infos.is_empty() {
                metric_names(logged)
                    .into_iter()
                    .map(|name| pb::MetricInfo {
                        name: Some(name),
                        ..pb::MetricInfo::default()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Experiment {
                hparam_infos,
                metric_infos,
                ..Experiment::default()
            }
        }
    };
    experiment
        .hparam_infos
        .sort_by(|a, b| b.differs.cmp(&a.differs).then_with(|| a.name.cmp(&b.name)));
    if hparams_limit > 0 {
        experiment.hparam_infos.truncate(hparams_limit as usize);
    }
    experiment
}

/// The `DataType` a value gives a hyperparameter (`None`: not a number, string or bool).
fn value_type(v: &prost_types::Value) -> Option<pb::DataType> {
    match v.kind.as_ref()? {
        PbKind::NumberValue(_) => Some(pb::DataType::Float64),
        PbKind::StringValue(_) => Some(pb::DataType::String),
        PbKind::BoolValue(_) => Some(pb::DataType::Bool),
        _ => None,
    }
}

/// A value as the string TensorBoard's discrete domain of a mixed hyperparameter holds: its
/// JSON text, a string's without the quotes.
fn value_string(v: &prost_types::Value) -> Option<String> {
    match v.kind.as_ref()? {
        PbKind::NumberValue(n) if n.is_finite() => Some(crate::format::py_repr(*n)),
        PbKind::BoolValue(b) => Some(b.to_string()),
        PbKind::StringValue(s) => Some(json_ascii(s)),
        _ => None,
    }
}

/// A string's JSON text without its quotes, as Python's `json.dumps` writes it (non-ASCII as
/// `\uXXXX`).
fn json_ascii(s: &str) -> String {
    let quoted = crate::format::py_json_str(s);
    quoted[1..quoted.len() - 1].to_owned()
}

fn hparam_infos_of_sessions(logged: &Logged) -> Vec<pb::HParamInfo> {
    let mut values: BTreeMap<&str, Vec<&prost_types::Value>> = BTreeMap::new();
    for (_, start) in logged.sessions() {
        for (name, v) in &start.hparams {
            values.entry(name).or_default().push(v);
        }
    }
    let mut out = Vec::new();
    for (name, vs) in values {
        let mut kind: Option<pb::DataType> = None;
        for v in &vs {
            let Some(t) = value_type(v) else { continue };
            kind = Some(match kind {
                None => t,
                Some(k) if k == t => k,
                Some(_) => pb::DataType::String,
            });
        }
        let Some(kind) = kind else { continue };
        let mut info = pb::HParamInfo {
            name: name.to_owned(),
            r#type: kind as i32,
            ..pb::HParamInfo::default()
        };
        use pb::h_param_info::Domain;
        let list = |values: Vec<PbKind>| {
            Domain::DomainDiscrete(prost_types::ListValue {
                values: values
                    .into_iter()
                    .map(|k| prost_types::Value { kind: Some(k) })
                    .collect(),
            })
        };
        match kind {
            pb::DataType::String => {
                let mut distinct: Vec<String> = vs.iter().filter_map(|v| value_string(v)).collect();
                distinct.sort();
                distinct.dedup();
                info.differs = distinct.len() > 1;
                info.domain = Some(list(
                    distinct.into_iter().map(PbKind::StringValue).collect(),
                ));
            }
            pb::DataType::Bool => {
                let has = |b: bool| {
                    vs.iter()
                        .any(|v| matches!(v.kind, Some(PbKind::BoolValue(x)) if x == b))
                };
                let distinct: Vec<PbKind> = [false, true]
                    .into_iter()
                    .filter(|b| has(*b))
                    .map(PbKind::BoolValue)
                    .collect();
                info.differs = distinct.len() > 1;
                info.domain = Some(list(distinct));
            }
            _ => {
                // NaN has no place in an interval (TensorBoard's sort of it is order-dependent).
                let mut numbers: Vec<f64> = vs
                    .iter()
                    .filter_map(|v| match v.kind {
                        Some(PbKind::NumberValue(n)) if !n.is_nan() => Some(n),
                        _ => None,
                    })
                    .collect();
                numbers.sort_by(f64::total_cmp);
                if let (Some(&min), Some(&max)) = (numbers.first(), numbers.last()) {
                    info.domain = Some(Domain::DomainInterval(pb::Interval {
                        min_value: min,
                        max_value: max,
                    }));
                    numbers.dedup_by(|a, b| a.total_cmp(b) == Ordering::Equal);
                    info.differs = numbers.len() > 1;
                }
            }
        }
        out.push(info);
    }
    out
}

/// `dirname` of a run name (`a/b` → `a`, `a` → ``).
fn parent(run: &str) -> &str {
    run.rfind('/').map_or("", |i| &run[..i])
}

/// The session a run belongs to: the longest of its ancestors (itself included) that is a
/// session run.
fn session_of<'a>(sessions: &[&'a str], run: &str) -> Option<&'a str> {
    let mut path = run;
    loop {
        if let Some(s) = sessions.iter().find(|s| **s == path) {
            return Some(s);
        }
        if path.is_empty() {
            return None;
        }
        path = parent(path);
    }
}

/// The metric names the scalar series imply: each scalar tag of a session run or of a run
/// under one, grouped by the run's path below its session (`""` for the session's own,
/// `"."` for a session named `.` as TensorBoard's `os.path.relpath` has it), sorted by (tag,
/// group).
fn metric_names(logged: &Logged) -> Vec<pb::MetricName> {
    let sessions: Vec<&str> = logged.sessions().map(|(r, _)| r).collect();
    let mut names: Vec<(String, String)> = Vec::new();
    for (run, tag) in logged.last.keys() {
        let Some(session) = session_of(&sessions, run) else {
            continue;
        };
        let group = if run == session {
            if run.ends_with('.') { "." } else { "" }
        } else {
            &run[session.len() + 1..]
        };
        names.push((tag.clone(), group.to_owned()));
    }
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|(tag, group)| pb::MetricName { group, tag })
        .collect()
}

/// The run and tag holding a session's metric (`os.path.join(session, group)`).
pub fn metric_run(session: &str, metric: &pb::MetricName) -> String {
    if metric.group.is_empty() {
        session.to_owned()
    } else {
        format!("{session}/{}", metric.group)
    }
}

// ---- requests -----------------------------------------------------------------------------

/// An `int32` in protobuf's JSON: a number or a string of one.
fn int32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(0),
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| D::Error::custom(format!("{n} is not an int32"))),
        serde_json::Value::String(s) => s
            .parse()
            .map_err(|_| D::Error::custom(format!("{s:?} is not an int32"))),
        other => Err(D::Error::custom(format!("{other} is not an int32"))),
    }
}

fn opt_int32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    int32(d).map(Some)
}

/// A protobuf enum in JSON: its name, or its number.
fn enum_value<'de, D: serde::Deserializer<'de>>(d: D, names: &[&str]) -> Result<i32, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(0),
        serde_json::Value::String(s) => names
            .iter()
            .position(|n| *n == s)
            .map(|i| i as i32)
            .ok_or_else(|| {
                D::Error::custom(format!("unknown value {s:?}; expected one of {names:?}"))
            }),
        serde_json::Value::Number(n) => n
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| D::Error::custom(format!("{n} is not an enum value"))),
        other => Err(D::Error::custom(format!("{other} is not an enum value"))),
    }
}

const STATUS_NAMES: [&str; 4] = [
    "STATUS_UNKNOWN",
    "STATUS_SUCCESS",
    "STATUS_FAILURE",
    "STATUS_RUNNING",
];
const ORDER_NAMES: [&str; 3] = ["ORDER_UNSPECIFIED", "ORDER_ASC", "ORDER_DESC"];
const AGGREGATION_NAMES: [&str; 5] = [
    "AGGREGATION_UNSET",
    "AGGREGATION_AVG",
    "AGGREGATION_MEDIAN",
    "AGGREGATION_MIN",
    "AGGREGATION_MAX",
];

fn statuses<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i32>, D::Error> {
    #[derive(Deserialize)]
    struct One(#[serde(deserialize_with = "status")] i32);
    fn status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        enum_value(d, &STATUS_NAMES)
    }
    Ok(Option::<Vec<One>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.0)
        .collect())
}

fn order<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_value(d, &ORDER_NAMES)
}

fn aggregation<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    enum_value(d, &AGGREGATION_NAMES)
}

/// A metric's name in requests and answers: a scalar tag in a session's run or sub-run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricNameRequest {
    /// The sub-run below the session (`""`: the session's own run).
    pub group: String,
    /// The scalar tag.
    pub tag: String,
}

impl MetricNameRequest {
    fn to_pb(&self) -> pb::MetricName {
        pb::MetricName {
            group: self.group.clone(),
            tag: self.tag.clone(),
        }
    }
}

/// `GetExperimentRequest` in protobuf JSON (camelCase or the proto's names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExperimentRequest {
    /// The experiment's name (one experiment: ignored).
    #[serde(rename = "experimentName", alias = "experiment_name")]
    pub experiment_name: String,
    /// Whether the metrics are wanted (absent: yes).
    #[serde(rename = "includeMetrics", alias = "include_metrics")]
    pub include_metrics: Option<bool>,
    /// The most hyperparameters to list (absent or 0: all).
    #[serde(
        rename = "hparamsLimit",
        alias = "hparams_limit",
        deserialize_with = "opt_int32"
    )]
    pub hparams_limit: Option<i32>,
}

/// A column of the session groups' table: what to filter, sort and keep.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColParams {
    /// The column is this metric...
    pub metric: Option<MetricNameRequest>,
    /// ...or this hyperparameter.
    pub hparam: Option<String>,
    /// Sort by it: 1 ascending, 2 descending.
    #[serde(deserialize_with = "order")]
    pub order: i32,
    /// Groups without a value sort first.
    #[serde(rename = "missingValuesFirst", alias = "missing_values_first")]
    pub missing_values_first: bool,
    /// Keep values a regex matches somewhere in.
    #[serde(rename = "filterRegexp", alias = "filter_regexp")]
    pub filter_regexp: Option<String>,
    /// Keep numbers in a closed interval.
    #[serde(rename = "filterInterval", alias = "filter_interval")]
    pub filter_interval: Option<IntervalRequest>,
    /// Keep these values.
    #[serde(rename = "filterDiscrete", alias = "filter_discrete")]
    pub filter_discrete: Option<Vec<serde_json::Value>>,
    /// Drop groups without a value.
    #[serde(rename = "excludeMissingValues", alias = "exclude_missing_values")]
    pub exclude_missing_values: bool,
    /// Whether the hyperparameter is in the answer (when any column says: those that do not
    /// say `false`).
    #[serde(rename = "includeInResult", alias = "include_in_result")]
    pub include_in_result: Option<bool>,
}

/// An interval in a request.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntervalRequest {
    /// Lower bound, included.
    #[serde(rename = "minValue", alias = "min_value")]
    pub min_value: f64,
    /// Upper bound, included.
    #[serde(rename = "maxValue", alias = "max_value")]
    pub max_value: f64,
}

/// `ListSessionGroupsRequest` in protobuf JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionGroupsRequest {
    /// The experiment's name (one experiment: ignored).
    #[serde(rename = "experimentName", alias = "experiment_name")]
    pub experiment_name: String,
    /// Sessions of these statuses are listed (none: no session).
    #[serde(
        rename = "allowedStatuses",
        alias = "allowed_statuses",
        deserialize_with = "statuses"
    )]
    pub allowed_statuses: Vec<i32>,
    /// Columns: filters, sort order, what to keep.
    #[serde(rename = "colParams", alias = "col_params")]
    pub col_params: Vec<ColParams>,
    /// How a group's metrics come from its sessions': 0/1 mean, 2 median, 3 min, 4 max session
    /// by `aggregation_metric`.
    #[serde(
        rename = "aggregationType",
        alias = "aggregation_type",
        deserialize_with = "aggregation"
    )]
    pub aggregation_type: i32,
    /// The metric a median, min or max aggregation picks the session by.
    #[serde(rename = "aggregationMetric", alias = "aggregation_metric")]
    pub aggregation_metric: Option<MetricNameRequest>,
    /// The first group of the page (Python slice semantics).
    #[serde(
        rename = "startIndex",
        alias = "start_index",
        deserialize_with = "int32"
    )]
    pub start_index: i32,
    /// Groups in the page (0: none).
    #[serde(rename = "sliceSize", alias = "slice_size", deserialize_with = "int32")]
    pub slice_size: i32,
    /// Whether metrics are wanted (absent: yes).
    #[serde(rename = "includeMetrics", alias = "include_metrics")]
    pub include_metrics: Option<bool>,
}

/// `ListMetricEvalsRequest` in protobuf JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricEvalsRequest {
    /// The experiment's name (one experiment: ignored).
    #[serde(rename = "experimentName", alias = "experiment_name")]
    pub experiment_name: String,
    /// The session (a run name).
    #[serde(rename = "sessionName", alias = "session_name")]
    pub session_name: String,
    /// The metric.
    #[serde(rename = "metricName", alias = "metric_name")]
    pub metric_name: Option<MetricNameRequest>,
}

impl MetricEvalsRequest {
    /// The (run, tag) of the asked metric.
    pub fn run_tag(&self) -> (String, String) {
        let metric = self.metric_name.clone().unwrap_or_default().to_pb();
        (metric_run(&self.session_name, &metric), metric.tag)
    }
}

// ---- session groups -----------------------------------------------------------------------

/// A metric's value in a session (its series' last point) or a group (aggregated).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    /// The metric.
    pub name: pb::MetricName,
    /// The value.
    pub value: f64,
    /// The step it was logged at.
    pub training_step: i32,
    /// When.
    pub wall_time_secs: f64,
}

/// A session: a run that logged a session start.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The run.
    pub name: String,
    /// From its session start.
    pub start_time_secs: f64,
    /// From its session end (0 without).
    pub end_time_secs: f64,
    /// From its session end (`STATUS_UNKNOWN` without).
    pub status: i32,
    /// From its session start.
    pub model_uri: String,
    /// Its metrics, in the experiment's order (those it has).
    pub metric_values: Vec<MetricValue>,
    /// From its session start.
    pub monitor_url: String,
}

/// Sessions that share a `group_name` (else a session alone, named as its run).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionGroup {
    /// The group's name.
    pub name: String,
    /// The first session's hyperparameters (NaN and infinities left out), by name.
    pub hparams: BTreeMap<String, prost_types::Value>,
    /// The aggregated metrics.
    pub metric_values: Vec<MetricValue>,
    /// Its sessions, by name.
    pub sessions: Vec<Session>,
    /// The first session's monitor URL.
    pub monitor_url: String,
}

/// A page of session groups and how many passed the filters.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionGroups {
    /// The page.
    pub session_groups: Vec<SessionGroup>,
    /// Groups that passed the filters.
    pub total_size: i32,
}

/// A hyperparameter's or metric's value, as TensorBoard's filters and sorts see it (Python's
/// `float`, `str` and `bool`, a bool equal to the number 0 or 1).
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Number(f64),
    Bool(bool),
    Text(String),
}

impl Cell {
    fn of(v: &prost_types::Value) -> Option<Cell> {
        match v.kind.as_ref()? {
            PbKind::NumberValue(n) => Some(Cell::Number(*n)),
            PbKind::StringValue(s) => Some(Cell::Text(s.clone())),
            PbKind::BoolValue(b) => Some(Cell::Bool(*b)),
            _ => None,
        }
    }

    fn of_json(v: &serde_json::Value) -> Option<Cell> {
        match v {
            serde_json::Value::Number(n) => n.as_f64().map(Cell::Number),
            serde_json::Value::String(s) => Some(Cell::Text(s.clone())),
            serde_json::Value::Bool(b) => Some(Cell::Bool(*b)),
            _ => None,
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Cell::Number(n) => Some(*n),
            Cell::Bool(b) => Some(f64::from(u8::from(*b))),
            Cell::Text(_) => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Cell::Number(_) => "number",
            Cell::Bool(_) => "bool",
            Cell::Text(_) => "string",
        }
    }

    /// Python's `==` between these types.
    fn same(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Text(a), Cell::Text(b)) => a == b,
            (Cell::Text(_), _) | (_, Cell::Text(_)) => false,
            (a, b) => a.number() == b.number(),
        }
    }

    /// Python's `<` where it is defined; numbers before strings where it is not.
    fn cmp(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            (Cell::Text(_), _) => Ordering::Greater,
            (_, Cell::Text(_)) => Ordering::Less,
            (a, b) => a
                .number()
                .partial_cmp(&b.number())
                .unwrap_or(Ordering::Equal),
        }
    }
}

/// What a column reads from a group.
enum Column {
    Metric(pb::MetricName),
    HParam(String),
}

impl Column {
    fn of(c: &ColParams) -> Result<Column, HParamsError> {
        match (&c.metric, &c.hparam) {
            (Some(m), None) => Ok(Column::Metric(m.to_pb())),
            (None, Some(h)) => Ok(Column::HParam(h.clone())),
            (Some(_), Some(_)) => Err(HParamsError(
                "a column names a metric or a hyperparameter, not both".into(),
            )),
            (None, None) => Err(HParamsError(
                "a column needs \"metric\" or \"hparam\"".into(),
            )),
        }
    }

    fn read(&self, g: &SessionGroup) -> Option<Cell> {
        match self {
            Column::Metric(m) => find_metric(&g.metric_values, m).map(|v| Cell::Number(v.value)),
            Column::HParam(h) => g.hparams.get(h).and_then(Cell::of),
        }
    }
}

fn find_metric<'a>(values: &'a [MetricValue], name: &pb::MetricName) -> Option<&'a MetricValue> {
    values.iter().find(|v| v.name == *name)
}

/// A column's filter.
enum Filter {
    Regex(regex::Regex),
    Interval(f64, f64),
    Discrete(Vec<Cell>),
    None,
}

impl Filter {
    fn of(c: &ColParams) -> Result<Filter, HParamsError> {
        let set = [
            c.filter_regexp.is_some(),
            c.filter_interval.is_some(),
            c.filter_discrete.is_some(),
        ];
        if set.iter().filter(|s| **s).count() > 1 {
            return Err(HParamsError("a column has one filter at most".into()));
        }
        Ok(if let Some(r) = &c.filter_regexp {
            let re = regex::RegexBuilder::new(r)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| HParamsError(format!("filter regexp {r:?}: {e}")))?;
            Filter::Regex(re)
        } else if let Some(i) = c.filter_interval {
            Filter::Interval(i.min_value, i.max_value)
        } else if let Some(values) = &c.filter_discrete {
            Filter::Discrete(values.iter().filter_map(Cell::of_json).collect())
        } else {
            Filter::None
        })
    }

    fn passes(&self, v: &Cell) -> Result<bool, HParamsError> {
        match self {
            Filter::None => Ok(true),
            Filter::Regex(re) => match v {
                Cell::Text(s) => Ok(re.is_match(s)),
                other => Err(HParamsError(format!(
                    "a regexp filter needs strings; this column holds a {}",
                    other.kind()
                ))),
            },
            Filter::Interval(lo, hi) => match v.number() {
                Some(n) => Ok(*lo <= n && n <= *hi),
                None => Err(HParamsError(format!(
                    "an interval filter needs numbers; this column holds a {}",
                    v.kind()
                ))),
            },
            Filter::Discrete(set) => Ok(set.iter().any(|c| c.same(v))),
        }
    }
}

fn clamp_step(step: i64) -> i32 {
    i32::try_from(step).unwrap_or(if step < 0 { i32::MIN } else { i32::MAX })
}

/// The session groups for a request, as TensorBoard's `ListSessionGroups` answers it.
pub fn session_groups(
    logged: &Logged,
    request: &SessionGroupsRequest,
) -> Result<SessionGroups, HParamsError> {
    let include_metrics = request.include_metrics.unwrap_or(true);
    let experiment = experiment(logged, include_metrics, 0);
    let columns: Vec<Column> = request
        .col_params
        .iter()
        .map(Column::of)
        .collect::<Result<_, _>>()?;
    let filters: Vec<Filter> = request
        .col_params
        .iter()
        .map(Filter::of)
        .collect::<Result<_, _>>()?;
    if !(0..=4).contains(&request.aggregation_type) {
        return Err(HParamsError(format!(
            "unknown aggregation type {}",
            request.aggregation_type
        )));
    }
    let metrics: Vec<pb::MetricName> = experiment
        .metric_infos
        .iter()
        .filter_map(|m| m.name.clone())
        .collect();

    // Sessions, grouped (groups in run order, first session's hyperparameters).
    let mut groups: Vec<SessionGroup> = Vec::new();
    for log in &logged.runs {
        let Some(start) = &log.start else { continue };
        let session = session_of_run(logged, log, start, &metrics);
        if !request.allowed_statuses.contains(&session.status) {
            continue;
        }
        let group_name = if start.group_name.is_empty() {
            &log.run
        } else {
            &start.group_name
        };
        match groups.iter_mut().find(|g| g.name == *group_name) {
            Some(g) => g.sessions.push(session),
            None => groups.push(SessionGroup {
                name: group_name.clone(),
                hparams: start
                    .hparams
                    .iter()
                    .filter(
                        |(_, v)| !matches!(v.kind, Some(PbKind::NumberValue(n)) if !n.is_finite()),
                    )
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                metric_values: Vec::new(),
                sessions: vec![session],
                monitor_url: start.monitor_url.clone(),
            }),
        }
    }
    let by = request
        .aggregation_metric
        .clone()
        .unwrap_or_default()
        .to_pb();
    for g in &mut groups {
        g.sessions.sort_by(|a, b| a.name.cmp(&b.name));
        g.metric_values = aggregate(&g.sessions, request.aggregation_type, &by);
    }

    // Filters, then the sort: by name, then by each sorted column, the first the primary key.
    let mut kept = Vec::with_capacity(groups.len());
    for g in groups {
        let mut pass = true;
        for ((col, filter), params) in columns.iter().zip(&filters).zip(&request.col_params) {
            let ok = match col.read(&g) {
                None => !params.exclude_missing_values,
                Some(v) => filter.passes(&v)?,
            };
            if !ok {
                pass = false;
                break;
            }
        }
        if pass {
            kept.push(g);
        }
    }
    kept.sort_by(|a, b| a.name.cmp(&b.name));
    for (col, params) in columns.iter().zip(&request.col_params).rev() {
        let descending = match params.order {
            0 => continue,
            1 => false,
            2 => true,
            other => return Err(HParamsError(format!("unknown sort order {other}"))),
        };
        // Python's key `(value is None, value)` (missing last) or `(value is not None, value)`.
        let missing_last = params.missing_values_first == descending;
        let key = |g: &SessionGroup| col.read(g);
        kept.sort_by(|a, b| {
            let ord = match (key(a), key(b)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) if missing_last => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) if missing_last => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => x.cmp(&y),
            };
            if descending { ord.reverse() } else { ord }
        });
    }

    // Only the hyperparameters asked for, when any column says.
    if request
        .col_params
        .iter()
        .any(|c| c.include_in_result.is_some())
    {
        let wanted: Vec<&str> = request
            .col_params
            .iter()
            .filter(|c| c.include_in_result != Some(false))
            .filter_map(|c| c.hparam.as_deref())
            .collect();
        for g in &mut kept {
            g.hparams.retain(|k, _| wanted.contains(&k.as_str()));
        }
    }

    let total = kept.len();
    let (from, to) = python_slice(total, request.start_index, request.slice_size);
    let page = kept
        .into_iter()
        .skip(from)
        .take(to.saturating_sub(from))
        .collect();
    Ok(SessionGroups {
        session_groups: page,
        total_size: i32::try_from(total).unwrap_or(i32::MAX),
    })
}

/// The session a run's start (and end) make, with the last values of `metrics`.
fn session_of_run(
    logged: &Logged,
    log: &RunLog,
    start: &SessionStartInfo,
    metrics: &[pb::MetricName],
) -> Session {
    let mut session = Session {
        name: log.run.clone(),
        start_time_secs: start.start_time_secs,
        end_time_secs: 0.0,
        status: 0,
        model_uri: start.model_uri.clone(),
        metric_values: Vec::new(),
        monitor_url: start.monitor_url.clone(),
    };
    for m in metrics {
        let key = (metric_run(&log.run, m), m.tag.clone());
        if let Some(p) = logged.last.get(&key) {
            session.metric_values.push(MetricValue {
                name: m.clone(),
                value: p.value,
                training_step: clamp_step(p.step),
                wall_time_secs: p.wall_time,
            });
        }
    }
    if let Some(end) = &log.end {
        session.status = end.status;
        session.end_time_secs = end.end_time_secs;
    }
    session
}

/// runboard's own view, for its HParams tab: the experiments runs declared, merged (each
/// hyperparameter and metric as first declared, in run order; a hyperparameter declared
/// without a domain takes the one the sessions' values give), else the one built from the
/// sessions as TensorBoard builds it; and every session with its metrics' last values and the
/// group it names. `declared` says which.
pub fn overview(logged: &Logged) -> Overview {
    let computed = hparam_infos_of_sessions(logged);
    let mut declared = false;
    let mut merged = Experiment::default();
    for e in logged.runs.iter().filter_map(|r| r.experiment.as_ref()) {
        declared = true;
        for h in &e.hparam_infos {
            if merged.hparam_infos.iter().all(|m| m.name != h.name) {
                let mut h = h.clone();
                if let Some(c) = computed.iter().find(|c| c.name == h.name) {
                    h.differs = c.differs;
                    if h.domain.is_none() {
                        h.domain = c.domain.clone();
                        h.r#type = c.r#type;
                    }
                }
                merged.hparam_infos.push(h);
            }
        }
        for m in &e.metric_infos {
            if merged.metric_infos.iter().all(|x| x.name != m.name) {
                merged.metric_infos.push(m.clone());
            }
        }
    }
    let mut experiment = if declared {
        merged
    } else {
        experiment(logged, true, 0)
    };
    // A domain built from the values lists them as logged (TensorBoard's API lists a mixed
    // hyperparameter's values as JSON text).
    for h in &mut experiment.hparam_infos {
        if h.r#type == pb::DataType::String as i32
            && computed
                .iter()
                .any(|c| c.name == h.name && c.domain == h.domain)
        {
            h.domain = Some(pb::h_param_info::Domain::DomainDiscrete(
                prost_types::ListValue {
                    values: distinct_values(logged, &h.name),
                },
            ));
        }
    }
    let metrics: Vec<pb::MetricName> = experiment
        .metric_infos
        .iter()
        .filter_map(|m| m.name.clone())
        .collect();
    let sessions = logged
        .runs
        .iter()
        .filter_map(|log| {
            let start = log.start.as_ref()?;
            Some(SessionRow {
                session: session_of_run(logged, log, start, &metrics),
                group_name: start.group_name.clone(),
                hparams: start
                    .hparams
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            })
        })
        .collect();
    Overview {
        declared,
        experiment,
        sessions,
    }
}

/// The distinct values sessions logged for a hyperparameter: numbers (ascending), then
/// strings, then booleans.
fn distinct_values(logged: &Logged, name: &str) -> Vec<prost_types::Value> {
    let mut cells: Vec<Cell> = logged
        .sessions()
        .filter_map(|(_, start)| Cell::of(start.hparams.get(name)?))
        .filter(|c| !matches!(c, Cell::Number(n) if n.is_nan()))
        .collect();
    let rank = |c: &Cell| match c {
        Cell::Number(_) => 0,
        Cell::Text(_) => 1,
        Cell::Bool(_) => 2,
    };
    cells.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    cells.dedup_by(|a, b| rank(a) == rank(b) && a.same(b));
    cells
        .into_iter()
        .map(|c| prost_types::Value {
            kind: Some(match c {
                Cell::Number(n) => PbKind::NumberValue(n),
                Cell::Text(t) => PbKind::StringValue(t),
                Cell::Bool(b) => PbKind::BoolValue(b),
            }),
        })
        .collect()
}

/// What [`overview`] gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Whether the metrics are declared (else every scalar tag of the session runs).
    pub declared: bool,
    /// The hyperparameters and metrics.
    pub experiment: Experiment,
    /// Every session, in run order.
    pub sessions: Vec<SessionRow>,
}

/// A session and what its start said.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// The session.
    pub session: Session,
    /// Its group ("" when alone).
    pub group_name: String,
    /// Its hyperparameters, by name.
    pub hparams: BTreeMap<String, prost_types::Value>,
}

/// The bounds of Python's `list[start:start + size]` on a list of `len`.
fn python_slice(len: usize, start: i32, size: i32) -> (usize, usize) {
    let len = len as i64;
    let at = |i: i64| -> usize {
        let i = if i < 0 { (len + i).max(0) } else { i.min(len) };
        i as usize
    };
    let start = i64::from(start);
    (at(start), at(start + i64::from(size)))
}

/// A group's metrics from its sessions': each metric's mean (steps' floor mean, wall times'
/// mean), or the metrics of the session with the median, least or largest `by`.
fn aggregate(sessions: &[Session], kind: i32, by: &pb::MetricName) -> Vec<MetricValue> {
    if kind == 0 || kind == 1 {
        let mut stats: Vec<(pb::MetricName, f64, i64, i64, f64)> = Vec::new();
        for s in sessions {
            for v in &s.metric_values {
                let i = match stats.iter().position(|e| e.0 == v.name) {
                    Some(i) => i,
                    None => {
                        stats.push((v.name.clone(), 0.0, 0, 0, 0.0));
                        stats.len() - 1
                    }
                };
                let e = &mut stats[i];
                e.1 += v.value;
                e.2 += 1;
                e.3 += i64::from(v.training_step);
                e.4 += v.wall_time_secs;
            }
        }
        return stats
            .into_iter()
            .map(|(name, total, count, steps, walls)| MetricValue {
                name,
                value: total / count as f64,
                training_step: clamp_step(steps.div_euclid(count)),
                wall_time_secs: walls / count as f64,
            })
            .collect();
    }
    let mut measured: Vec<(f64, usize)> = sessions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| find_metric(&s.metric_values, by).map(|v| (v.value, i)))
        .collect();
    let pick = match kind {
        2 => {
            measured.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
            measured.get(measured.len().saturating_sub(1) / 2).copied()
        }
        // The first of equal extremes, as Python's `min` and `max`.
        3 => measured
            .iter()
            .copied()
            .reduce(|best, x| if x.0 < best.0 { x } else { best }),
        _ => measured
            .iter()
            .copied()
            .reduce(|best, x| if x.0 > best.0 { x } else { best }),
    };
    pick.map(|(_, i)| sessions[i].metric_values.clone())
        .unwrap_or_default()
}

// ---- the answers as JSON ------------------------------------------------------------------

/// A double as protobuf's JSON has it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn double<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    match crate::format::json_non_finite(*v) {
        Some(word) => s.serialize_str(word),
        None => s.serialize_f64(*v),
    }
}

fn enum_name<S: Serializer>(names: &[&str], v: i32, s: S) -> Result<S::Ok, S::Error> {
    match usize::try_from(v).ok().and_then(|i| names.get(i)) {
        Some(name) => s.serialize_str(name),
        None => s.serialize_i32(v),
    }
}

/// A `google.protobuf.Value` as protobuf's JSON has it.
struct JsonValue<'a>(&'a prost_types::Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.kind {
            None | Some(PbKind::NullValue(_)) => s.serialize_unit(),
            Some(PbKind::NumberValue(n)) => double(n, s),
            Some(PbKind::StringValue(v)) => s.serialize_str(v),
            Some(PbKind::BoolValue(b)) => s.serialize_bool(*b),
            Some(PbKind::ListValue(l)) => {
                let mut seq = s.serialize_seq(Some(l.values.len()))?;
                for v in &l.values {
                    seq.serialize_element(&JsonValue(v))?;
                }
                seq.end()
            }
            Some(PbKind::StructValue(st)) => {
                let mut map = s.serialize_map(Some(st.fields.len()))?;
                for (k, v) in &st.fields {
                    map.serialize_entry(k, &JsonValue(v))?;
                }
                map.end()
            }
        }
    }
}

/// Serialises a message with `MessageToJson(always_print_fields_with_no_presence=True)`'s
/// fields: every scalar and repeated field, a message or oneof field only when set.
macro_rules! json_struct {
    ($s:expr, [$(($name:expr, $value:expr)),* $(,)?], [$(($oname:expr, $ovalue:expr)),* $(,)?]) => {{
        let mut map = $s.serialize_map(None)?;
        $( map.serialize_entry($name, $value)?; )*
        $( if let Some(v) = $ovalue { map.serialize_entry($oname, v)?; } )*
        map.end()
    }};
}

struct Num(f64);
impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        double(&self.0, s)
    }
}

struct Enum(&'static [&'static str], i32);
impl Serialize for Enum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        enum_name(self.0, self.1, s)
    }
}

const DATA_TYPE_NAMES: [&str; 4] = [
    "DATA_TYPE_UNSET",
    "DATA_TYPE_STRING",
    "DATA_TYPE_BOOL",
    "DATA_TYPE_FLOAT64",
];
const DATASET_NAMES: [&str; 3] = ["DATASET_UNKNOWN", "DATASET_TRAINING", "DATASET_VALIDATION"];

struct MetricNameJson<'a>(&'a pb::MetricName);
impl Serialize for MetricNameJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json_struct!(s, [("group", &self.0.group), ("tag", &self.0.tag)], [])
    }
}

struct IntervalJson<'a>(&'a pb::Interval);
impl Serialize for IntervalJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json_struct!(
            s,
            [
                ("minValue", &Num(self.0.min_value)),
                ("maxValue", &Num(self.0.max_value))
            ],
            []
        )
    }
}

struct ListJson<'a>(&'a prost_types::ListValue);
impl Serialize for ListJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.values.len()))?;
        for v in &self.0.values {
            seq.serialize_element(&JsonValue(v))?;
        }
        seq.end()
    }
}

struct HParamInfoJson<'a>(&'a pb::HParamInfo);
impl Serialize for HParamInfoJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use pb::h_param_info::Domain;
        let h = self.0;
        let discrete = match &h.domain {
            Some(Domain::DomainDiscrete(l)) => Some(ListJson(l)),
            _ => None,
        };
        let interval = match &h.domain {
            Some(Domain::DomainInterval(i)) => Some(IntervalJson(i)),
            _ => None,
        };
        json_struct!(
            s,
            [
                ("name", &h.name),
                ("displayName", &h.display_name),
                ("description", &h.description),
                ("type", &Enum(&DATA_TYPE_NAMES, h.r#type)),
                ("differs", &h.differs),
            ],
            [
                ("domainDiscrete", discrete.as_ref()),
                ("domainInterval", interval.as_ref())
            ]
        )
    }
}

struct MetricInfoJson<'a>(&'a pb::MetricInfo);
impl Serialize for MetricInfoJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        json_struct!(
            s,
            [
                ("displayName", &m.display_name),
                ("description", &m.description),
                ("datasetType", &Enum(&DATASET_NAMES, m.dataset_type)),
            ],
            [("name", m.name.as_ref().map(MetricNameJson).as_ref())]
        )
    }
}

/// An `Experiment` as TensorBoard's `/data/plugin/hparams/experiment` writes it.
pub struct ExperimentJson<'a>(pub &'a Experiment);
impl Serialize for ExperimentJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let hparams: Vec<HParamInfoJson<'_>> = e.hparam_infos.iter().map(HParamInfoJson).collect();
        let metrics: Vec<MetricInfoJson<'_>> = e.metric_infos.iter().map(MetricInfoJson).collect();
        json_struct!(
            s,
            [
                ("name", &e.name),
                ("description", &e.description),
                ("user", &e.user),
                ("timeCreatedSecs", &Num(e.time_created_secs)),
                ("hparamInfos", &hparams),
                ("metricInfos", &metrics),
            ],
            []
        )
    }
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json_struct!(
            s,
            [
                ("value", &Num(self.value)),
                ("trainingStep", &self.training_step),
                ("wallTimeSecs", &Num(self.wall_time_secs)),
            ],
            [("name", Some(&MetricNameJson(&self.name)))]
        )
    }
}

impl Serialize for Session {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json_struct!(
            s,
            [
                ("name", &self.name),
                ("startTimeSecs", &Num(self.start_time_secs)),
                ("endTimeSecs", &Num(self.end_time_secs)),
                ("status", &Enum(&STATUS_NAMES, self.status)),
                ("modelUri", &self.model_uri),
                ("metricValues", &self.metric_values),
                ("monitorUrl", &self.monitor_url),
            ],
            []
        )
    }
}

struct HParamsJson<'a>(&'a BTreeMap<String, prost_types::Value>);
impl Serialize for HParamsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &JsonValue(v))?;
        }
        map.end()
    }
}

impl Serialize for SessionGroup {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json_struct!(
            s,
            [
                ("name", &self.name),
                ("hparams", &HParamsJson(&self.hparams)),
                ("metricValues", &self.metric_values),
                ("sessions", &self.sessions),
                ("monitorUrl", &self.monitor_url),
            ],
            []
        )
    }
}

impl Serialize for SessionGroups {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json_struct!(
            s,
            [
                ("sessionGroups", &self.session_groups),
                ("totalSize", &self.total_size),
            ],
            []
        )
    }
}

// ---- download ---------------------------------------------------------------------------

/// A cell of the downloaded table.
#[derive(Debug, Clone, PartialEq)]
pub enum TableCell {
    /// A number.
    Number(f64),
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// No value (a metric the group lacks).
    Missing,
}

/// The table `download_data` writes: a column per hyperparameter (display name, else name)
/// then per metric (display name, else tag), a row per group, cut to the visible columns.
pub fn table(
    experiment: &Experiment,
    groups: &SessionGroups,
    visible: &[bool],
) -> (Vec<String>, Vec<Vec<TableCell>>) {
    let keep = |row: Vec<TableCell>| -> Vec<TableCell> {
        row.into_iter()
            .zip(visible)
            .filter(|(_, v)| **v)
            .map(|(c, _)| c)
            .collect()
    };
    let header: Vec<String> = experiment
        .hparam_infos
        .iter()
        .map(|h| {
            if h.display_name.is_empty() {
                h.name.clone()
            } else {
                h.display_name.clone()
            }
        })
        .chain(experiment.metric_infos.iter().map(|m| {
            if m.display_name.is_empty() {
                m.name.as_ref().map(|n| n.tag.clone()).unwrap_or_default()
            } else {
                m.display_name.clone()
            }
        }))
        .zip(visible)
        .filter(|(_, v)| **v)
        .map(|(h, _)| h)
        .collect();
    let rows = groups
        .session_groups
        .iter()
        .map(|g| {
            let mut row: Vec<TableCell> = experiment
                .hparam_infos
                .iter()
                .map(|h| match g.hparams.get(&h.name).and_then(Cell::of) {
                    Some(Cell::Number(n)) => TableCell::Number(n),
                    Some(Cell::Text(t)) => TableCell::Text(t),
                    Some(Cell::Bool(b)) => TableCell::Bool(b),
                    None => TableCell::Text(String::new()),
                })
                .collect();
            for m in &experiment.metric_infos {
                let name = m.name.clone().unwrap_or_default();
                row.push(
                    find_metric(&g.metric_values, &name)
                        .map_or(TableCell::Missing, |v| TableCell::Number(v.value)),
                );
            }
            keep(row)
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests;
