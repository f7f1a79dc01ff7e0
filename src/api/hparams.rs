//! `GET /api/v1/hparams`: runboard's own view of the HParams plugin's data, for the dashboard's
//! HParams tab: the hyperparameters and metrics every declared experiment names (merged over
//! runs, where TensorBoard's API takes one run's), else those the sessions imply, and every
//! session with its status, hyperparameters and metrics' last values (see
//! [`crate::hparams::overview`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Json;
use runboard_proto::prost_types::{self, value::Kind as PbKind};
use runboard_proto::tensorboard::hparams as pb;
use serde::Serialize;

use super::json::Num;
use super::{ApiError, AppState, read};
use crate::hparams::{self, Logged};
use crate::store::query;

/// Everything the HParams answers are made of, read once.
pub(super) async fn logged(state: &AppState) -> Result<Logged, ApiError> {
    read(state, |c| {
        Ok(Logged::new(
            query::hparams_data(c)?,
            query::last_scalars(c)?,
        ))
    })
    .await
}

#[derive(Debug, Serialize)]
pub(super) struct HParamsOut {
    declared: bool,
    hparams: Vec<HParamOut>,
    metrics: Vec<MetricOut>,
    sessions: Vec<SessionOut>,
}

#[derive(Debug, Serialize)]
struct HParamOut {
    name: String,
    display_name: String,
    description: String,
    /// `number`, `string`, `bool` or `unset`.
    r#type: &'static str,
    /// `{"values": [...]}`, `{"min", "max"}`, or null.
    domain: Option<DomainOut>,
    differs: bool,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum DomainOut {
    Values { values: Vec<ValueOut> },
    Interval { min: Num, max: Num },
}

/// A hyperparameter's value: a number (non-finite as a string), string, bool, or null.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ValueOut {
    Number(Num),
    Text(String),
    Bool(bool),
    Null(()),
}

impl ValueOut {
    fn of(v: &prost_types::Value) -> ValueOut {
        match &v.kind {
            Some(PbKind::NumberValue(n)) => ValueOut::Number(Num(*n)),
            Some(PbKind::StringValue(s)) => ValueOut::Text(s.clone()),
            Some(PbKind::BoolValue(b)) => ValueOut::Bool(*b),
            _ => ValueOut::Null(()),
        }
    }
}

#[derive(Debug, Serialize)]
struct MetricOut {
    tag: String,
    group: String,
    display_name: String,
    description: String,
}

#[derive(Debug, Serialize)]
struct SessionOut {
    run: String,
    group_name: String,
    /// `success`, `failure`, `running` or `unknown`.
    status: &'static str,
    start_time: Num,
    end_time: Option<Num>,
    hparams: BTreeMap<String, ValueOut>,
    metrics: Vec<MetricValueOut>,
}

#[derive(Debug, Serialize)]
struct MetricValueOut {
    tag: String,
    group: String,
    value: Num,
    step: i32,
    wall_time: Num,
}

fn status_name(status: i32) -> &'static str {
    match status {
        1 => "success",
        2 => "failure",
        3 => "running",
        _ => "unknown",
    }
}

/// `GET /api/v1/hparams`: `{"declared", "hparams": [{"name", "display_name", "description",
/// "type", "domain", "differs"}], "metrics": [{"tag", "group", "display_name",
/// "description"}], "sessions": [{"run", "group_name", "status", "start_time", "end_time",
/// "hparams": {name: value}, "metrics": [{"tag", "group", "value", "step", "wall_time"}]}]}`.
pub(super) async fn overview(State(state): State<AppState>) -> Result<Json<HParamsOut>, ApiError> {
    let o = hparams::overview(&logged(&state).await?);
    let hparams = o
        .experiment
        .hparam_infos
        .iter()
        .map(|h| {
            use pb::h_param_info::Domain;
            HParamOut {
                name: h.name.clone(),
                display_name: h.display_name.clone(),
                description: h.description.clone(),
                r#type: match pb::DataType::try_from(h.r#type) {
                    Ok(pb::DataType::Float64) => "number",
                    Ok(pb::DataType::String) => "string",
                    Ok(pb::DataType::Bool) => "bool",
                    _ => "unset",
                },
                domain: match &h.domain {
                    Some(Domain::DomainDiscrete(l)) => Some(DomainOut::Values {
                        values: l.values.iter().map(ValueOut::of).collect(),
                    }),
                    Some(Domain::DomainInterval(i)) => Some(DomainOut::Interval {
                        min: Num(i.min_value),
                        max: Num(i.max_value),
                    }),
                    None => None,
                },
                differs: h.differs,
            }
        })
        .collect();
    let metrics = o
        .experiment
        .metric_infos
        .iter()
        .map(|m| {
            let name = m.name.clone().unwrap_or_default();
            MetricOut {
                tag: name.tag,
                group: name.group,
                display_name: m.display_name.clone(),
                description: m.description.clone(),
            }
        })
        .collect();
    let sessions = o
        .sessions
        .into_iter()
        .map(|row| {
            let s = row.session;
            SessionOut {
                run: s.name,
                group_name: row.group_name,
                status: status_name(s.status),
                start_time: Num(s.start_time_secs),
                end_time: (s.end_time_secs != 0.0).then_some(Num(s.end_time_secs)),
                hparams: row
                    .hparams
                    .iter()
                    .map(|(k, v)| (k.clone(), ValueOut::of(v)))
                    .collect(),
                metrics: s
                    .metric_values
                    .into_iter()
                    .map(|v| MetricValueOut {
                        tag: v.name.tag,
                        group: v.name.group,
                        value: Num(v.value),
                        step: v.training_step,
                        wall_time: Num(v.wall_time_secs),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Json(HParamsOut {
        declared: o.declared,
        hparams,
        metrics,
        sessions,
    }))
}
