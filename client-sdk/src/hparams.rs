//! Declaring an experiment's hyperparameters and metrics for the HParams plugin, as
//! TensorBoard's `hp.hparams_config` does: what each hyperparameter may be (its domain), which
//! scalar tags are the metrics the HParams tab shows, and how to label them.
//!
//! ```
//! use runboard_sdk::hparams::{HParam, Metric};
//! # let dir = tempfile::tempdir()?;
//! let mut writer = runboard_sdk::SummaryWriter::new(dir.path())?;
//! writer.add_hparams_config(
//!     &[
//!         HParam::new("lr").interval(1e-4, 1e-1).display_name("learning rate"),
//!         HParam::new("optimizer").discrete(["adam".into(), "sgd".into()]),
//!     ],
//!     &[Metric::new("val/accuracy").display_name("Accuracy")],
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use runboard_proto::prost_types::ListValue;
use runboard_proto::tensorboard::hparams as pb;

use crate::event::HParamValue;

/// The values a hyperparameter may take.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Domain {
    /// Not said: the HParams tab learns it from the runs' values.
    #[default]
    Unknown,
    /// One of these values (all numbers, all strings or all booleans).
    Discrete(Vec<HParamValue>),
    /// A number in `[min, max]`.
    Interval {
        /// The smallest value.
        min: f64,
        /// The largest value.
        max: f64,
    },
}

/// A hyperparameter of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct HParam {
    name: String,
    domain: Domain,
    display_name: String,
    description: String,
}

impl HParam {
    /// A hyperparameter named as in the runs' `add_hparams` (its domain left to the runs).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            domain: Domain::Unknown,
            display_name: String::new(),
            description: String::new(),
        }
    }

    /// Its values lie in `[min, max]` (TensorBoard's `RealInterval` and `IntInterval`).
    pub fn interval(mut self, min: f64, max: f64) -> Self {
        self.domain = Domain::Interval { min, max };
        self
    }

    /// Its values are these (TensorBoard's `Discrete`).
    pub fn discrete(mut self, values: impl IntoIterator<Item = HParamValue>) -> Self {
        self.domain = Domain::Discrete(values.into_iter().collect());
        self
    }

    /// The name shown instead of [`HParam::new`]'s.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// A description shown with it.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    fn to_proto(&self) -> pb::HParamInfo {
        use pb::h_param_info::Domain as D;
        let (kind, domain) = match &self.domain {
            Domain::Unknown => (pb::DataType::Unset, None),
            Domain::Interval { min, max } => (
                pb::DataType::Float64,
                Some(D::DomainInterval(pb::Interval {
                    min_value: *min,
                    max_value: *max,
                })),
            ),
            Domain::Discrete(values) => (
                match values.first() {
                    Some(HParamValue::String(_)) => pb::DataType::String,
                    Some(HParamValue::Bool(_)) => pb::DataType::Bool,
                    Some(HParamValue::Number(_)) | None => pb::DataType::Float64,
                },
                Some(D::DomainDiscrete(ListValue {
                    values: values.iter().map(HParamValue::to_proto).collect(),
                })),
            ),
        };
        pb::HParamInfo {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            r#type: kind as i32,
            differs: false,
            domain,
        }
    }
}

/// A metric of an experiment: a scalar tag, in the session's run or in a sub-run of it (its
/// `group`, e.g. `validation` for `RUN/validation`).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    tag: String,
    group: String,
    display_name: String,
    description: String,
}

impl Metric {
    /// The scalar tag `tag` of the session's own run.
    pub fn new(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            group: String::new(),
            display_name: String::new(),
            description: String::new(),
        }
    }

    /// The tag is logged in the sub-run `RUN/group` instead.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// The name shown instead of the tag.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// A description shown with it.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    fn to_proto(&self) -> pb::MetricInfo {
        pb::MetricInfo {
            name: Some(pb::MetricName {
                group: self.group.clone(),
                tag: self.tag.clone(),
            }),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            dataset_type: pb::DatasetType::DatasetUnknown as i32,
        }
    }
}

/// The `Experiment` TensorBoard's `hparams_config_pb` writes for these declarations.
pub fn experiment(
    hparams: &[HParam],
    metrics: &[Metric],
    time_created_secs: f64,
) -> pb::Experiment {
    pb::Experiment {
        hparam_infos: hparams.iter().map(HParam::to_proto).collect(),
        metric_infos: metrics.iter().map(Metric::to_proto).collect(),
        time_created_secs,
        ..Default::default()
    }
}

/// The `Experiment` torch's `add_hparams` writes: each hyperparameter with the type of its
/// value and no domain, and the metric tags.
pub fn experiment_of_values(
    hparams: &[(&str, HParamValue)],
    metrics: &[&str],
    time_created_secs: f64,
) -> pb::Experiment {
    let infos = hparams
        .iter()
        .map(|(name, value)| pb::HParamInfo {
            name: (*name).to_owned(),
            r#type: match value {
                HParamValue::Number(_) => pb::DataType::Float64,
                HParamValue::String(_) => pb::DataType::String,
                HParamValue::Bool(_) => pb::DataType::Bool,
            } as i32,
            ..Default::default()
        })
        .collect();
    let metrics: Vec<Metric> = metrics.iter().map(|t| Metric::new(*t)).collect();
    pb::Experiment {
        hparam_infos: infos,
        metric_infos: metrics.iter().map(Metric::to_proto).collect(),
        time_created_secs,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_become_tensorboards_experiment() {
        let e = experiment(
            &[
                HParam::new("lr").interval(1e-4, 0.1).description("step"),
                HParam::new("opt").discrete(["adam".into(), "sgd".into()]),
                HParam::new("bn").discrete([true.into(), false.into()]),
                HParam::new("free"),
            ],
            &[Metric::new("acc").group("validation").display_name("Acc")],
            7.0,
        );
        let types: Vec<i32> = e.hparam_infos.iter().map(|h| h.r#type).collect();
        assert_eq!(
            types,
            [
                pb::DataType::Float64 as i32,
                pb::DataType::String as i32,
                pb::DataType::Bool as i32,
                pb::DataType::Unset as i32
            ]
        );
        assert_eq!(e.hparam_infos[0].description, "step");
        assert!(matches!(
            e.hparam_infos[0].domain,
            Some(pb::h_param_info::Domain::DomainInterval(pb::Interval { min_value, max_value }))
                if min_value == 1e-4 && max_value == 0.1
        ));
        assert!(e.hparam_infos[3].domain.is_none());
        let m = &e.metric_infos[0];
        assert_eq!(
            m.name,
            Some(pb::MetricName {
                group: "validation".into(),
                tag: "acc".into()
            })
        );
        assert_eq!(m.display_name, "Acc");
        assert_eq!(e.time_created_secs, 7.0);
    }
}
