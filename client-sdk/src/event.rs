//! Event decoding: every summary encoding that real writers produce, turned into one small typed model.
//!
//! Writers differ (see TENSORBOARD_COMPAT.md): tensorboardX and torch write `simple_value` and
//! legacy `histo`; TensorBoard's Python ops write rank-0 tensors in `float_val`; TF2 writes
//! `tensor_content` and `[k, 3]` histogram tensors. [`EventDecoder`] accepts them all and
//! yields [`Value`]s that no longer say which writer produced them.
//!
//! Writers put a value's `SummaryMetadata` (its plugin) on the first value of a tag only, so a
//! decoder remembers each tag's plugin: use one decoder per run (or per file, read in order).
//! Nothing here panics on bad input: a value that cannot be understood is counted in
//! [`DecodeStats`] and skipped, and the rest of the event is kept.

use prost::Message;
use runboard_proto::tensorboard::{
    self as pb, DataType, Event, SessionLog, Summary, TensorProto, event::What, hparams,
    summary::value::Value as PbValue,
};
use rustc_hash::FxHashMap;

/// Plugin names as TensorBoard spells them.
pub mod plugin {
    /// Scalars.
    pub const SCALARS: &str = "scalars";
    /// Histograms (and distributions).
    pub const HISTOGRAMS: &str = "histograms";
    /// Markdown text.
    pub const TEXT: &str = "text";
    /// Images.
    pub const IMAGES: &str = "images";
    /// Hyperparameters.
    pub const HPARAMS: &str = "hparams";
    /// runboard's own run events (record, config, status, ...): a JSON string tensor that
    /// TensorBoard ignores (its data class is unknown).
    pub const RUNBOARD: &str = "runboard";
    /// Model graphs: a run's `Event.graph_def` is kept as this plugin's tensor under
    /// [`super::RUN_GRAPH_TAG`], as TensorBoard's data provider keeps it (a blob sequence).
    pub const GRAPHS: &str = "graphs";
    /// Audio: a DT_STRING tensor `[k, 2]` per step, each row an encoded clip (WAV) and its
    /// label (legacy `Summary.Audio` values are kept in this form, as TensorBoard converts them).
    pub const AUDIO: &str = "audio";
    /// Precision–recall curves: a `[6, num_thresholds]` numeric tensor per step (true and false
    /// positives, true and false negatives, precision, recall at each threshold).
    pub const PR_CURVES: &str = "pr_curves";
    /// Custom Scalars layouts (a serialized `Layout` under
    /// [`super::CUSTOM_SCALARS_LAYOUT_TAG`]).
    pub const CUSTOM_SCALARS: &str = "custom_scalars";
    /// Run metadata (`Event.tagged_run_metadata`: a serialized `RunMetadata` with per-node
    /// times and memory), kept under its tag as TensorBoard's data provider keeps it.
    pub const GRAPH_TAGGED_RUN_METADATA: &str = "graph_tagged_run_metadata";
    /// Meshes and point clouds: per mesh, one tensor series for each of its vertices, faces
    /// and colours (`[B, N, 3]`), each tag's metadata a `MeshPluginData` (see `crate::mesh`).
    pub const MESH: &str = "mesh";
}

/// The tag a Custom Scalars layout is logged under (TensorBoard's and tensorboardX's).
pub const CUSTOM_SCALARS_LAYOUT_TAG: &str = "custom_scalars__config__";

/// The tag a run's graph (`Event.graph_def`, a serialized `GraphDef`) is kept under: a rank-0
/// DT_STRING tensor of plugin [`plugin::GRAPHS`] holding the bytes as written (TensorBoard's
/// name for it).
pub const RUN_GRAPH_TAG: &str = "__run_graph__";

/// The tag a run's meta graph (`Event.meta_graph_def`, a serialized `MetaGraphDef`) is kept
/// under, as written (a rank-0 DT_STRING tensor of plugin [`plugin::GRAPHS`]). TensorBoard
/// 2.21 shows nothing of it; runboard serves its graph when the run has no `graph_def`, as
/// TensorBoard's older loader did.
pub const META_GRAPH_TAG: &str = "__meta_graph__";

/// A run's graph (a serialized `GraphDef`) as the value kept under [`RUN_GRAPH_TAG`].
pub fn run_graph_value(graph_def: Vec<u8>) -> Value {
    blob_value(plugin::GRAPHS, graph_def)
}

/// Bytes kept as they are (a graph, run metadata): a rank-0 DT_STRING tensor of `plugin`.
pub fn blob_value(plugin: &str, bytes: Vec<u8>) -> Value {
    let tensor = TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: Some(pb::TensorShapeProto::default()),
        string_val: vec![bytes],
        ..TensorProto::default()
    };
    Value::Tensor {
        plugin: plugin.to_owned(),
        content: Vec::new(),
        tensor: Box::new(tensor),
    }
}

/// The serialized `GraphDef` of a value kept under [`RUN_GRAPH_TAG`], if it is one.
pub fn run_graph_bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Tensor { plugin, tensor, .. } if plugin == plugin::GRAPHS => {
            tensor.string_val.first().map(Vec::as_slice)
        }
        _ => None,
    }
}

/// The tag of runboard's run events in event files and HTTP batches.
pub const RUN_EVENT_TAG: &str = "_runboard/run";

/// The tags the HParams plugin uses.
pub mod hparams_tag {
    /// The experiment description (hparam and metric infos).
    pub const EXPERIMENT: &str = "_hparams_/experiment";
    /// A session's hyperparameter values.
    pub const SESSION_START: &str = "_hparams_/session_start_info";
    /// A session's end status.
    pub const SESSION_END: &str = "_hparams_/session_end_info";
}

/// One decoded event: its step, wall time and what it carried.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// Wall time in seconds since the Unix epoch.
    pub wall_time: f64,
    /// Training step.
    pub step: i64,
    /// The tagged values of a summary event (empty for other events).
    pub values: Vec<TaggedValue>,
    /// What else the event was, when it was not (only) a summary.
    pub marker: Option<Marker>,
}

/// Non-summary events a reader cares about.
#[derive(Debug, Clone, PartialEq)]
pub enum Marker {
    /// The first record of a file: `brain.Event:2`.
    FileVersion(String),
    /// `SessionLog` START: TensorBoard treats it as a restart of the run at this step.
    SessionStart,
    /// `SessionLog` STOP or CHECKPOINT (kept for completeness).
    SessionLog(i32),
    /// A graph, run metadata or log message: not decoded by runboard.
    Other(&'static str),
}

/// An event's step, wall time and marker, as passed to [`EventDecoder::decode_with`].
#[derive(Debug, Clone, PartialEq)]
pub struct EventInfo {
    /// Wall time in seconds since the Unix epoch.
    pub wall_time: f64,
    /// Training step.
    pub step: i64,
    /// What else the event was, when it was not (only) a summary.
    pub marker: Option<Marker>,
}

/// A value with its tag.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedValue {
    /// The tag as written (lossily decoded if it was not UTF-8).
    pub tag: String,
    /// The decoded value.
    pub value: Value,
}

/// A decoded summary value, independent of the writer that produced it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar. NaN and ±Inf are data.
    Scalar(f64),
    /// Histogram rows `[left, right, count]`, as TensorBoard serves them.
    Histogram(Vec<[f64; 3]>),
    /// Markdown strings (one for a rank-0 string tensor, several for a rank-1 one).
    Text(Vec<String>),
    /// Encoded images (PNG bytes in practice), with their declared size.
    Images(Vec<Image>),
    /// Hyperparameter plugin data.
    HParams(HParams),
    /// A run event of runboard's own plugin: its JSON text (see the SDK's `run_record` module).
    Run(String),
    /// A tensor of another plugin (PR curves, audio, meshes, ...), kept as logged.
    Tensor {
        /// The plugin that wrote it ("" when there was no metadata).
        plugin: String,
        /// The plugin's metadata content for the tag (`SummaryMetadata.plugin_data.content` of
        /// the tag's first value: a mesh's `MeshPluginData`, a PR curve's thresholds), empty
        /// when none was logged.
        content: Vec<u8>,
        /// The tensor, unchanged.
        tensor: Box<TensorProto>,
    },
}

/// One image of an image summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels as declared by the writer (0 when unknown).
    pub width: u32,
    /// Height in pixels as declared by the writer (0 when unknown).
    pub height: u32,
    /// The encoded image (PNG, JPEG, ... as written).
    pub encoded: Vec<u8>,
}

/// A hyperparameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum HParamValue {
    /// A number (ints are stored as numbers, as in TensorBoard).
    Number(f64),
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
}

impl From<f64> for HParamValue {
    fn from(v: f64) -> Self {
        Self::Number(v)
    }
}
impl From<f32> for HParamValue {
    fn from(v: f32) -> Self {
        Self::Number(f64::from(v))
    }
}
impl From<i64> for HParamValue {
    fn from(v: i64) -> Self {
        Self::Number(v as f64)
    }
}
impl From<i32> for HParamValue {
    fn from(v: i32) -> Self {
        Self::Number(f64::from(v))
    }
}
impl From<u32> for HParamValue {
    fn from(v: u32) -> Self {
        Self::Number(f64::from(v))
    }
}
impl From<usize> for HParamValue {
    fn from(v: usize) -> Self {
        Self::Number(v as f64)
    }
}
impl From<bool> for HParamValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<&str> for HParamValue {
    fn from(v: &str) -> Self {
        Self::String(v.to_owned())
    }
}
impl From<String> for HParamValue {
    fn from(v: String) -> Self {
        Self::String(v)
    }
}

impl HParamValue {
    /// As a `google.protobuf.Value`, the form the HParams plugin stores.
    pub fn to_proto(&self) -> prost_types::Value {
        use prost_types::value::Kind;
        let kind = match self {
            Self::Number(n) => Kind::NumberValue(*n),
            Self::String(s) => Kind::StringValue(s.clone()),
            Self::Bool(b) => Kind::BoolValue(*b),
        };
        prost_types::Value { kind: Some(kind) }
    }

    fn from_proto(v: &prost_types::Value) -> Option<Self> {
        use prost_types::value::Kind;
        match v.kind.as_ref()? {
            Kind::NumberValue(n) => Some(Self::Number(*n)),
            Kind::StringValue(s) => Some(Self::String(s.clone())),
            Kind::BoolValue(b) => Some(Self::Bool(*b)),
            Kind::NullValue(_) | Kind::StructValue(_) | Kind::ListValue(_) => None,
        }
    }
}

/// What the HParams plugin recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum HParams {
    /// `_hparams_/experiment`: the declared hyperparameters (names, types, domains) and metrics.
    Experiment(Box<hparams::Experiment>),
    /// `_hparams_/session_start_info`: this run's hyperparameter values.
    SessionStart {
        /// Name → value, sorted by name (values that are not a number, string or bool are left
        /// out).
        hparams: Vec<(String, HParamValue)>,
        /// The session group ("" when the run is its own group).
        group_name: String,
        /// Start time in seconds since the epoch (0 when unset).
        start_time_secs: f64,
        /// Where the trained model is ("" when unset).
        model_uri: String,
        /// Where the session can be monitored ("" when unset).
        monitor_url: String,
        /// The values that are not a number, string or bool (null, lists, structs), by name:
        /// kept so that the plugin data is stored as logged.
        other_values: Vec<(String, prost_types::Value)>,
    },
    /// `_hparams_/session_end_info`.
    SessionEnd {
        /// The `tensorboard.hparams.Status` value (1 success, 2 failure, 3 running).
        status: i32,
        /// End time in seconds since the epoch.
        end_time_secs: f64,
    },
}

impl HParams {
    /// The tag the HParams plugin logs this under.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Experiment(_) => hparams_tag::EXPERIMENT,
            Self::SessionStart { .. } => hparams_tag::SESSION_START,
            Self::SessionEnd { .. } => hparams_tag::SESSION_END,
        }
    }

    /// As the plugin's `HParamsPluginData` (what its summary metadata holds).
    pub fn to_plugin_data(&self) -> hparams::HParamsPluginData {
        use hparams::h_params_plugin_data::Data;
        let data = match self {
            Self::Experiment(e) => Data::Experiment((**e).clone()),
            Self::SessionStart {
                hparams,
                group_name,
                start_time_secs,
                model_uri,
                monitor_url,
                other_values,
            } => Data::SessionStartInfo(hparams::SessionStartInfo {
                hparams: hparams
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_proto()))
                    .chain(other_values.iter().cloned())
                    .collect(),
                model_uri: model_uri.clone(),
                monitor_url: monitor_url.clone(),
                group_name: group_name.clone(),
                start_time_secs: *start_time_secs,
            }),
            Self::SessionEnd {
                status,
                end_time_secs,
            } => Data::SessionEndInfo(hparams::SessionEndInfo {
                status: *status,
                end_time_secs: *end_time_secs,
            }),
        };
        hparams::HParamsPluginData {
            version: 0,
            data: Some(data),
        }
    }

    /// From the plugin's `HParamsPluginData`; `None` when it holds nothing.
    pub fn from_plugin_data(data: hparams::HParamsPluginData) -> Option<Self> {
        use hparams::h_params_plugin_data::Data;
        Some(match data.data? {
            Data::Experiment(e) => Self::Experiment(Box::new(e)),
            Data::SessionStartInfo(s) => {
                let mut values: Vec<(String, HParamValue)> = Vec::new();
                let mut other_values = Vec::new();
                for (k, v) in s.hparams {
                    match HParamValue::from_proto(&v) {
                        Some(known) => values.push((k, known)),
                        None => other_values.push((k, v)),
                    }
                }
                values.sort_by(|a, b| a.0.cmp(&b.0));
                other_values.sort_by(|a, b| a.0.cmp(&b.0));
                Self::SessionStart {
                    hparams: values,
                    group_name: s.group_name,
                    start_time_secs: s.start_time_secs,
                    model_uri: s.model_uri,
                    monitor_url: s.monitor_url,
                    other_values,
                }
            }
            Data::SessionEndInfo(e) => Self::SessionEnd {
                status: e.status,
                end_time_secs: e.end_time_secs,
            },
        })
    }
}

/// Counts of what a decoder could not use. Every count is a value (or event) skipped, not a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Events decoded.
    pub events: u64,
    /// Records that are not a valid `Event` protobuf.
    pub bad_events: u64,
    /// Values skipped because their contents did not fit their plugin (wrong dtype, shape, ...).
    pub bad_values: u64,
    /// Values of kinds runboard does not keep (audio, old-style histograms, values with no data).
    pub unsupported_values: u64,
}

/// Why a record could not be decoded at all.
#[derive(Debug, thiserror::Error)]
#[error("record is not a valid Event protobuf: {0}")]
pub struct DecodeEventError(#[from] prost::DecodeError);

/// Decodes events, remembering each tag's plugin across calls (see the module docs).
#[derive(Debug, Default)]
pub struct EventDecoder {
    /// Each tag's plugin and its metadata content, from the tag's first value that named it.
    plugins: FxHashMap<String, TagPlugin>,
    /// Checks meshes' faces against the vertices logged with them.
    meshes: crate::mesh::MeshCheck,
    /// Why values were dropped since [`EventDecoder::take_problems`] last ran (the first few).
    problems: Vec<ValueProblem>,
    /// Why the value being converted is bad, when a check says more than "cannot be read".
    why: Option<String>,
    stats: DecodeStats,
    /// The last summary's emptied value list, decoded into again so that its allocation is
    /// reused (protobuf merges a oneof message into the one already present).
    scratch: Option<Summary>,
}

impl EventDecoder {
    /// A decoder that has seen no tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the decoder which plugin a tag belongs to and its metadata content, as if its
    /// first value (with the metadata) had been read: a reader resuming in the middle of a file
    /// needs this.
    pub fn remember_plugin(&mut self, tag: &str, plugin: &str, content: &[u8]) {
        if !plugin.is_empty() {
            self.plugins.insert(
                tag.to_owned(),
                TagPlugin {
                    name: plugin.to_owned(),
                    content: content.to_vec(),
                },
            );
        }
    }

    /// What was skipped so far.
    pub fn stats(&self) -> DecodeStats {
        self.stats
    }

    /// The values dropped as bad since the last call (the first [`MAX_PROBLEMS`] of them), with
    /// why: a reader says them, so that nothing vanishes without a word.
    pub fn take_problems(&mut self) -> Vec<ValueProblem> {
        std::mem::take(&mut self.problems)
    }

    /// Decodes one record's payload. A payload that is not an `Event` is an error (and counted);
    /// values inside a good event that cannot be understood are counted and dropped.
    pub fn decode(&mut self, payload: &[u8]) -> Result<DecodedEvent, DecodeEventError> {
        let mut values = Vec::new();
        let info = self.decode_with(payload, |_, tag, value| {
            values.push(TaggedValue {
                tag: tag.to_owned(),
                value,
            })
        })?;
        Ok(DecodedEvent {
            wall_time: info.wall_time,
            step: info.step,
            values,
            marker: info.marker,
        })
    }

    /// Decodes one record's payload and hands each value to `on_value` with a borrowed tag,
    /// allocating nothing per value beyond what protobuf decoding needs. This is the fast path
    /// for ingestion; [`EventDecoder::decode`] is built on it.
    pub fn decode_with(
        &mut self,
        payload: &[u8],
        on_value: impl FnMut(&EventInfo, &str, Value),
    ) -> Result<EventInfo, DecodeEventError> {
        let mut event = Event {
            wall_time: 0.0,
            step: 0,
            what: self.scratch.take().map(What::Summary),
            source_metadata: None,
        };
        match event.merge(payload) {
            Ok(()) => Ok(self.convert_with(event, on_value)),
            Err(e) => {
                self.stats.bad_events += 1;
                Err(e.into())
            }
        }
    }

    /// Converts an already decoded `Event`.
    pub fn convert(&mut self, event: Event) -> DecodedEvent {
        let mut values = Vec::new();
        let info = self.convert_with(event, |_, tag, value| {
            values.push(TaggedValue {
                tag: tag.to_owned(),
                value,
            })
        });
        DecodedEvent {
            wall_time: info.wall_time,
            step: info.step,
            values,
            marker: info.marker,
        }
    }

    fn convert_with(
        &mut self,
        event: Event,
        mut on_value: impl FnMut(&EventInfo, &str, Value),
    ) -> EventInfo {
        self.stats.events += 1;
        let mut info = EventInfo {
            wall_time: event.wall_time,
            step: event.step,
            marker: None,
        };
        match event.what {
            Some(What::Summary(mut summary)) => {
                for v in summary.value.drain(..) {
                    let tag = String::from_utf8_lossy(&v.tag);
                    if let Some(value) = self.convert_value(&tag, event.step, v.metadata, v.value) {
                        on_value(&info, &tag, value);
                    }
                }
                self.scratch = Some(summary);
            }
            Some(What::FileVersion(v)) => info.marker = Some(Marker::FileVersion(v)),
            Some(What::SessionLog(SessionLog { status, .. })) => {
                info.marker = Some(if status == pb::session_log::SessionStatus::Start as i32 {
                    Marker::SessionStart
                } else {
                    Marker::SessionLog(status)
                });
            }
            Some(What::GraphDef(graph)) => on_value(&info, RUN_GRAPH_TAG, run_graph_value(graph)),
            Some(What::MetaGraphDef(meta)) => {
                on_value(&info, META_GRAPH_TAG, blob_value(plugin::GRAPHS, meta));
            }
            Some(What::TaggedRunMetadata(m)) => {
                let value = blob_value(plugin::GRAPH_TAGGED_RUN_METADATA, m.run_metadata);
                on_value(&info, &m.tag, value);
            }
            Some(What::LogMessage(_)) => info.marker = Some(Marker::Other("log_message")),
            None => {}
        }
        info
    }

    fn convert_value(
        &mut self,
        tag: &str,
        step: i64,
        metadata: Option<Box<pb::SummaryMetadata>>,
        value: Option<PbValue>,
    ) -> Option<Value> {
        // `simple_value` is a scalar whatever the metadata says (TensorBoard's rule): no lookup.
        if let Some(PbValue::SimpleValue(f)) = value {
            return Some(Value::Scalar(f64::from(f)));
        }
        // The plugin: from this value's metadata, else what the tag's first value said. Its
        // content is the first the tag logged under that plugin (TensorBoard keeps the first).
        let metadata_plugin = metadata
            .as_ref()
            .and_then(|m| m.plugin_data.as_ref())
            .filter(|p| !p.plugin_name.is_empty());
        let plugin: String = match metadata_plugin {
            Some(p) => {
                if self.plugins.get(tag).map(|t| t.name.as_str()) != Some(&p.plugin_name) {
                    self.plugins.insert(
                        tag.to_owned(),
                        TagPlugin {
                            name: p.plugin_name.clone(),
                            content: p.content.clone(),
                        },
                    );
                }
                p.plugin_name.clone()
            }
            None => self
                .plugins
                .get(tag)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
        };
        let converted = match value {
            Some(PbValue::SimpleValue(f)) => Some(Value::Scalar(f64::from(f))),
            Some(PbValue::Histo(h)) => legacy_histogram(&h).map(Value::Histogram),
            Some(PbValue::Image(img)) => Some(Value::Images(vec![Image {
                width: u32::try_from(img.width).unwrap_or(0),
                height: u32::try_from(img.height).unwrap_or(0),
                encoded: img.encoded_image_string,
            }])),
            Some(PbValue::Tensor(t)) => {
                self.tensor_value(tag, step, &plugin, *t, metadata.as_deref())
            }
            // A legacy clip becomes the audio plugin's `[1, 2]` tensor (the clip, no label),
            // as TensorBoard's data server converts it.
            Some(PbValue::Audio(a)) => {
                Some(audio_value(vec![(a.encoded_audio_string, Vec::new())]))
            }
            Some(PbValue::ObsoleteOldStyleHistogram(_)) => {
                self.stats.unsupported_values += 1;
                return None;
            }
            None if plugin == plugin::HPARAMS => {
                hparams_value(metadata.as_deref()).map(Value::HParams)
            }
            None => {
                self.stats.unsupported_values += 1;
                return None;
            }
        };
        if converted.is_none() {
            self.stats.bad_values += 1;
            if self.problems.len() < MAX_PROBLEMS {
                let why = self.why.take().unwrap_or_else(|| {
                    let kind = if plugin.is_empty() {
                        "summary"
                    } else {
                        plugin.as_str()
                    };
                    format!("not a valid {kind} value")
                });
                self.problems.push(ValueProblem {
                    tag: tag.to_owned(),
                    step,
                    why,
                });
            }
        }
        converted
    }

    fn tensor_value(
        &mut self,
        tag: &str,
        step: i64,
        plugin: &str,
        t: TensorProto,
        metadata: Option<&pb::SummaryMetadata>,
    ) -> Option<Value> {
        let kept = |t: TensorProto, content: &[u8]| Value::Tensor {
            plugin: plugin.to_owned(),
            content: content.to_vec(),
            tensor: Box::new(t),
        };
        let content = self
            .plugins
            .get(tag)
            .map(|t| t.content.as_slice())
            .unwrap_or_default();
        match plugin {
            plugin::SCALARS => tensor_scalar(&t).map(Value::Scalar),
            plugin::HISTOGRAMS => tensor_histogram(&t).map(Value::Histogram),
            plugin::TEXT => tensor_strings(&t).map(Value::Text),
            plugin::IMAGES => tensor_images(&t).map(Value::Images),
            plugin::HPARAMS => hparams_value(metadata).map(Value::HParams),
            plugin::AUDIO => audio_clips(&t).is_some().then(|| kept(t, content)),
            // Kept as logged, once it is known to be a curve (a wrong shape is a bad value).
            plugin::PR_CURVES => pr_curve(&t).is_some().then(|| kept(t, content)),
            // A mesh part whose metadata, shape or face indices are wrong is a bad value.
            plugin::MESH => match self.meshes.check(step, content, &t) {
                Ok(_) => Some(kept(t, content)),
                Err(e) => {
                    self.why = Some(format!("a mesh part: {e}"));
                    None
                }
            },
            plugin::RUNBOARD => tensor_strings(&t)
                .and_then(|mut s| (s.len() == 1).then(|| s.swap_remove(0)))
                .map(Value::Run),
            // No plugin: a rank-0 number is a scalar (TensorBoard's data class rules), anything
            // else is kept raw.
            "" if is_single_number(&t) => tensor_scalar(&t).map(Value::Scalar),
            _ => Some(kept(t, content)),
        }
    }
}

/// The most dropped values [`EventDecoder::take_problems`] keeps between calls.
pub const MAX_PROBLEMS: usize = 16;

/// A value dropped as bad, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProblem {
    /// Its tag.
    pub tag: String,
    /// Its event's step.
    pub step: i64,
    /// What is wrong with it.
    pub why: String,
}

/// A tag's plugin and the metadata content it logged.
#[derive(Debug, Clone, Default)]
struct TagPlugin {
    name: String,
    content: Vec<u8>,
}

/// Converts a legacy `HistogramProto` (tensorboardX's and torch's `histo`) to `[left, right,
/// count]` rows exactly as TensorBoard 2.21's data server does (`data_compat.rs`,
/// `EventValue::into_tensor`): bucket `i` spans `(bucket_limit[i-1], bucket_limit[i]]`, except
/// that the first left edge is `min` and the last right edge is `max`; every bucket is kept,
/// the empty ones at both ends included (their edges can run backwards, e.g. `[3.0, 2.88, 0]`:
/// a first `bucket_limit` below `min` gives the empty bucket `[min, limit0, 0]`). A proto whose
/// two lists differ in length is damaged: `None` (TensorBoard drops it too).
pub fn legacy_histogram(h: &pb::HistogramProto) -> Option<Vec<[f64; 3]>> {
    let n = h.bucket.len();
    if n != h.bucket_limit.len() {
        return None;
    }
    let rows = (0..n)
        .map(|i| {
            let left = if i == 0 { h.min } else { h.bucket_limit[i - 1] };
            let right = if i + 1 == n { h.max } else { h.bucket_limit[i] };
            [left, right, h.bucket[i]]
        })
        .collect();
    Some(rows)
}

fn dtype(t: &TensorProto) -> Option<DataType> {
    DataType::try_from(t.dtype).ok()
}

fn num_elements(t: &TensorProto) -> Option<usize> {
    let shape = t
        .tensor_shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .unwrap_or(&[]);
    shape.iter().try_fold(1usize, |acc, d| {
        usize::try_from(d.size)
            .ok()
            .and_then(|s| acc.checked_mul(s))
    })
}

fn is_single_number(t: &TensorProto) -> bool {
    num_elements(t) == Some(1)
        && matches!(
            dtype(t),
            Some(
                DataType::DtFloat
                    | DataType::DtDouble
                    | DataType::DtHalf
                    | DataType::DtInt32
                    | DataType::DtInt64
                    | DataType::DtInt16
                    | DataType::DtInt8
                    | DataType::DtUint8
                    | DataType::DtBool
            )
        )
}

/// Reads all elements of a numeric tensor as f64, from the typed field or `tensor_content`.
pub(crate) fn tensor_numbers(t: &TensorProto) -> Option<Vec<f64>> {
    let content = t.tensor_content.as_slice();
    fn le<const N: usize, T>(content: &[u8], f: impl Fn([u8; N]) -> T) -> Option<Vec<T>> {
        if content.len() % N != 0 {
            return None;
        }
        Some(
            content
                .chunks_exact(N)
                .map(|c| f(c.try_into().expect("chunks_exact gives N bytes")))
                .collect(),
        )
    }
    let from_content = !content.is_empty();
    let values = match dtype(t)? {
        DataType::DtFloat if from_content => le(content, |b| f64::from(f32::from_le_bytes(b)))?,
        DataType::DtFloat => t.float_val.iter().map(|&f| f64::from(f)).collect(),
        DataType::DtDouble if from_content => le(content, f64::from_le_bytes)?,
        DataType::DtDouble => t.double_val.clone(),
        DataType::DtHalf if from_content => le(content, |b| f16_to_f64(u16::from_le_bytes(b)))?,
        DataType::DtHalf => t.half_val.iter().map(|&h| f16_to_f64(h as u16)).collect(),
        DataType::DtInt32 if from_content => le(content, |b| f64::from(i32::from_le_bytes(b)))?,
        DataType::DtInt16 if from_content => le(content, |b| f64::from(i16::from_le_bytes(b)))?,
        DataType::DtInt8 if from_content => le(content, |b| f64::from(i8::from_le_bytes(b)))?,
        DataType::DtUint8 if from_content => le(content, |b: [u8; 1]| f64::from(b[0]))?,
        DataType::DtInt32 | DataType::DtInt16 | DataType::DtInt8 | DataType::DtUint8 => {
            t.int_val.iter().map(|&i| f64::from(i)).collect()
        }
        DataType::DtInt64 if from_content => le(content, |b| i64::from_le_bytes(b) as f64)?,
        DataType::DtInt64 => t.int64_val.iter().map(|&i| i as f64).collect(),
        DataType::DtBool if from_content => {
            le(content, |b: [u8; 1]| f64::from(u8::from(b[0] != 0)))?
        }
        DataType::DtBool => t.bool_val.iter().map(|&b| f64::from(u8::from(b))).collect(),
        _ => return None,
    };
    Some(values)
}

/// Audio clips (encoded bytes and a label each) as the audio plugin's value.
pub fn audio_value(clips: Vec<(Vec<u8>, Vec<u8>)>) -> Value {
    Value::Tensor {
        plugin: plugin::AUDIO.to_owned(),
        content: Vec::new(),
        tensor: Box::new(audio_tensor(clips)),
    }
}

/// Audio clips (encoded bytes and a label each) as the audio plugin's `[k, 2]` DT_STRING tensor.
pub fn audio_tensor(clips: Vec<(Vec<u8>, Vec<u8>)>) -> TensorProto {
    let k = clips.len() as i64;
    TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: Some(pb::TensorShapeProto {
            dim: [k, 2]
                .into_iter()
                .map(|size| pb::tensor_shape_proto::Dim {
                    size,
                    name: String::new(),
                })
                .collect(),
            unknown_rank: false,
        }),
        string_val: clips.into_iter().flat_map(|(a, l)| [a, l]).collect(),
        ..TensorProto::default()
    }
}

/// A tensor's dimensions (`None` without a shape).
pub(crate) fn dims(t: &TensorProto) -> Option<Vec<i64>> {
    Some(
        t.tensor_shape
            .as_ref()?
            .dim
            .iter()
            .map(|d| d.size)
            .collect(),
    )
}

/// The clips an audio tensor holds, as `(encoded bytes, label)`: a DT_STRING tensor of shape
/// `[k, 2]` (TF2's `tf.summary.audio`; `[k]` without labels is accepted too); `None` otherwise.
pub fn audio_clips(t: &TensorProto) -> Option<Vec<(&[u8], &[u8])>> {
    if dtype(t)? != DataType::DtString {
        return None;
    }
    let dims = dims(t)?;
    let s = &t.string_val;
    match dims[..] {
        [k, 2] if usize::try_from(k).ok()? * 2 == s.len() => Some(
            s.chunks_exact(2)
                .map(|c| (c[0].as_slice(), c[1].as_slice()))
                .collect(),
        ),
        [k] if usize::try_from(k).ok()? == s.len() => {
            Some(s.iter().map(|a| (a.as_slice(), &[][..])).collect())
        }
        _ => None,
    }
}

/// A precision–recall curve at one step: each row has one value per threshold (`thresholds`
/// of them, evenly spaced from 0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct PrCurve {
    /// True positives, false positives, true negatives, false negatives (counts, possibly
    /// weighted), precision and recall, in that order (TensorBoard's rows).
    pub rows: [Vec<f64>; 6],
}

impl PrCurve {
    /// How many thresholds the curve has.
    pub fn thresholds(&self) -> usize {
        self.rows[0].len()
    }
}

/// The curve a `pr_curves` tensor holds: a numeric tensor of shape `[6, N]` with `N ≥ 1`;
/// `None` for any other shape or type.
pub fn pr_curve(t: &TensorProto) -> Option<PrCurve> {
    let dims = dims(t)?;
    let [6, n] = dims[..] else { return None };
    let n = usize::try_from(n).ok().filter(|&n| n >= 1)?;
    let values = tensor_numbers(t)?;
    if values.len() != 6 * n {
        return None;
    }
    let row = |i: usize| values[i * n..(i + 1) * n].to_vec();
    Some(PrCurve {
        rows: [row(0), row(1), row(2), row(3), row(4), row(5)],
    })
}

/// IEEE 754 half precision to f64.
fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        0x1f if frac == 0.0 => sign * f64::INFINITY,
        0x1f => f64::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

fn tensor_scalar(t: &TensorProto) -> Option<f64> {
    if num_elements(t)? != 1 {
        return None;
    }
    match tensor_numbers(t)?.as_slice() {
        [v] => Some(*v),
        _ => None,
    }
}

fn tensor_histogram(t: &TensorProto) -> Option<Vec<[f64; 3]>> {
    let shape = t.tensor_shape.as_ref()?;
    let [rows, cols] = shape.dim.as_slice() else {
        return None;
    };
    if cols.size != 3 {
        return None;
    }
    let rows = usize::try_from(rows.size).ok()?;
    let numbers = tensor_numbers(t)?;
    if numbers.len() != rows.checked_mul(3)? {
        return None;
    }
    Some(
        numbers
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect(),
    )
}

fn tensor_strings(t: &TensorProto) -> Option<Vec<String>> {
    if dtype(t)? != DataType::DtString {
        return None;
    }
    Some(
        t.string_val
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// TF2 images: a string tensor `[width, height, image, image, ...]`.
fn tensor_images(t: &TensorProto) -> Option<Vec<Image>> {
    if dtype(t)? != DataType::DtString || t.string_val.len() < 2 {
        return None;
    }
    let dim = |b: &[u8]| std::str::from_utf8(b).ok()?.trim().parse::<u32>().ok();
    let width = dim(&t.string_val[0]).unwrap_or(0);
    let height = dim(&t.string_val[1]).unwrap_or(0);
    Some(
        t.string_val[2..]
            .iter()
            .map(|img| Image {
                width,
                height,
                encoded: img.clone(),
            })
            .collect(),
    )
}

fn hparams_value(metadata: Option<&pb::SummaryMetadata>) -> Option<HParams> {
    let content = &metadata?.plugin_data.as_ref()?.content;
    HParams::from_plugin_data(hparams::HParamsPluginData::decode(content.as_slice()).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::summary::Value as SummaryValue;
    use pb::{Summary, SummaryMetadata, TensorShapeProto, summary_metadata::PluginData};

    fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
        Some(TensorShapeProto {
            dim: dims
                .iter()
                .map(|&size| pb::tensor_shape_proto::Dim {
                    size,
                    name: String::new(),
                })
                .collect(),
            unknown_rank: false,
        })
    }

    fn meta(plugin: &str, content: Vec<u8>) -> Option<SummaryMetadata> {
        Some(SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: plugin.into(),
                content,
            }),
            ..Default::default()
        })
    }

    fn event(values: Vec<SummaryValue>) -> Vec<u8> {
        Event {
            wall_time: 1.5,
            step: 7,
            what: Some(What::Summary(Summary { value: values })),
            source_metadata: None,
        }
        .encode_to_vec()
    }

    fn value(tag: &str, metadata: Option<SummaryMetadata>, v: Option<PbValue>) -> SummaryValue {
        SummaryValue {
            node_name: String::new(),
            tag: prost::bytes::Bytes::copy_from_slice(tag.as_bytes()),
            metadata: metadata.map(Box::new),
            value: v,
        }
    }

    fn decode_one(dec: &mut EventDecoder, v: SummaryValue) -> Option<Value> {
        let ev = dec.decode(&event(vec![v])).unwrap();
        assert_eq!((ev.step, ev.wall_time), (7, 1.5));
        ev.values.into_iter().next().map(|tv| tv.value)
    }

    #[test]
    fn scalar_in_every_encoding() {
        let mut dec = EventDecoder::new();
        let simple = value("a", None, Some(PbValue::SimpleValue(0.25)));
        assert_eq!(decode_one(&mut dec, simple), Some(Value::Scalar(0.25)));

        let float_val = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: shape(&[]),
            float_val: vec![1.5],
            ..Default::default()
        };
        let v = value(
            "b",
            meta("scalars", vec![]),
            Some(PbValue::Tensor(Box::new(float_val))),
        );
        assert_eq!(decode_one(&mut dec, v), Some(Value::Scalar(1.5)));

        let content = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: shape(&[]),
            tensor_content: (-2.5f32).to_le_bytes().to_vec(),
            ..Default::default()
        };
        let v = value(
            "c",
            meta("scalars", vec![]),
            Some(PbValue::Tensor(Box::new(content))),
        );
        assert_eq!(decode_one(&mut dec, v), Some(Value::Scalar(-2.5)));

        let double = TensorProto {
            dtype: DataType::DtDouble as i32,
            double_val: vec![0.1],
            ..Default::default()
        };
        let v = value(
            "d",
            meta("scalars", vec![]),
            Some(PbValue::Tensor(Box::new(double))),
        );
        assert_eq!(decode_one(&mut dec, v), Some(Value::Scalar(0.1)));

        let int64 = TensorProto {
            dtype: DataType::DtInt64 as i32,
            tensor_content: 42i64.to_le_bytes().to_vec(),
            ..Default::default()
        };
        let v = value(
            "e",
            meta("scalars", vec![]),
            Some(PbValue::Tensor(Box::new(int64))),
        );
        assert_eq!(decode_one(&mut dec, v), Some(Value::Scalar(42.0)));

        let int32 = TensorProto {
            dtype: DataType::DtInt32 as i32,
            int_val: vec![-3],
            ..Default::default()
        };
        let v = value(
            "f",
            meta("scalars", vec![]),
            Some(PbValue::Tensor(Box::new(int32))),
        );
        assert_eq!(decode_one(&mut dec, v), Some(Value::Scalar(-3.0)));

        let half = TensorProto {
            dtype: DataType::DtHalf as i32,
            half_val: vec![0x3c00], // 1.0
            ..Default::default()
        };
        let v = value(
            "g",
            meta("scalars", vec![]),
            Some(PbValue::Tensor(Box::new(half))),
        );
        assert_eq!(decode_one(&mut dec, v), Some(Value::Scalar(1.0)));
    }

    #[test]
    fn nan_and_infinities_are_data() {
        let mut dec = EventDecoder::new();
        for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let got = decode_one(&mut dec, value("x", None, Some(PbValue::SimpleValue(x))));
            match got {
                Some(Value::Scalar(v)) => {
                    assert!(v.is_nan() == x.is_nan() && (x.is_nan() || v == f64::from(x)))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn pr_curves_of_shape_6_by_n_are_kept_and_other_shapes_are_bad_values() {
        let mut dec = EventDecoder::new();
        let curve = |dims: &[i64], n: usize| TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: shape(dims),
            float_val: (0..n).map(|i| i as f32).collect(),
            ..Default::default()
        };
        let v = |t| {
            value(
                "pr",
                meta("pr_curves", vec![]),
                Some(PbValue::Tensor(Box::new(t))),
            )
        };
        let kept = decode_one(&mut dec, v(curve(&[6, 3], 18)));
        let Some(Value::Tensor { tensor, .. }) = kept else {
            panic!("{kept:?}")
        };
        let c = pr_curve(&tensor).unwrap();
        assert_eq!((c.thresholds(), c.rows[5][2]), (3, 17.0));
        for bad in [
            curve(&[5, 3], 15),
            curve(&[6, 3], 17),
            curve(&[6, 0], 0),
            curve(&[18], 18),
        ] {
            assert_eq!(decode_one(&mut dec, v(bad)), None);
        }
        assert_eq!(dec.stats().bad_values, 4);
    }

    #[test]
    fn plugin_is_remembered_from_the_first_value_of_a_tag() {
        let mut dec = EventDecoder::new();
        let t = |x: f32| TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: shape(&[2]),
            float_val: vec![x, x],
            ..Default::default()
        };
        // Rank-1 tensor of an unknown plugin: kept raw, and the plugin is remembered.
        let first = decode_one(
            &mut dec,
            value(
                "x",
                meta("some_plugin", vec![]),
                Some(PbValue::Tensor(Box::new(t(1.0)))),
            ),
        );
        assert!(matches!(first, Some(Value::Tensor { ref plugin, .. }) if plugin == "some_plugin"));
        let later = decode_one(
            &mut dec,
            value("x", None, Some(PbValue::Tensor(Box::new(t(2.0))))),
        );
        assert!(matches!(later, Some(Value::Tensor { ref plugin, .. }) if plugin == "some_plugin"));

        let text = |s: &str| TensorProto {
            dtype: DataType::DtString as i32,
            string_val: vec![s.as_bytes().to_vec()],
            ..Default::default()
        };
        decode_one(
            &mut dec,
            value(
                "notes",
                meta("text", vec![]),
                Some(PbValue::Tensor(Box::new(text("a")))),
            ),
        );
        let second = decode_one(
            &mut dec,
            value(
                "notes",
                None,
                Some(PbValue::Tensor(Box::new(text("**b**")))),
            ),
        );
        assert_eq!(second, Some(Value::Text(vec!["**b**".into()])));
    }

    #[test]
    fn legacy_histogram_matches_tensorboard_conversion() {
        let h = pb::HistogramProto {
            min: -1.0,
            max: 3.0,
            num: 6.0,
            sum: 5.0,
            sum_squares: 11.0,
            bucket_limit: vec![0.0, 1.0, f64::MAX],
            bucket: vec![2.0, 1.0, 3.0],
        };
        assert_eq!(
            legacy_histogram(&h),
            Some(vec![[-1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [1.0, 3.0, 3.0]])
        );
        // Every bucket is kept, the empty ones at the ends too, edges as TensorBoard's data
        // server sets them: a first limit below `min` gives `[min, limit0, 0]`, and the empty
        // last bucket runs backwards to `max`.
        let tbx = pb::HistogramProto {
            min: 0.5,
            max: 2.5,
            num: 3.0,
            bucket_limit: vec![-1.0, 0.0, 1.0, 2.0, 3.0, f64::MAX],
            bucket: vec![0.0, 0.0, 1.0, 0.0, 2.0, 0.0],
            ..Default::default()
        };
        assert_eq!(
            legacy_histogram(&tbx),
            Some(vec![
                [0.5, -1.0, 0.0],
                [-1.0, 0.0, 0.0],
                [0.0, 1.0, 1.0],
                [1.0, 2.0, 0.0],
                [2.0, 3.0, 2.0],
                [3.0, 2.5, 0.0],
            ])
        );
        let empty = pb::HistogramProto {
            bucket_limit: vec![1.0, 2.0],
            bucket: vec![0.0, 0.0],
            ..Default::default()
        };
        assert_eq!(legacy_histogram(&empty).map(|r| r.len()), Some(2));
        let damaged = pb::HistogramProto {
            bucket_limit: vec![1.0, 2.0],
            bucket: vec![1.0],
            ..Default::default()
        };
        assert_eq!(legacy_histogram(&damaged), None);
        let mut dec = EventDecoder::new();
        let got = decode_one(
            &mut dec,
            value("h", None, Some(PbValue::Histo(Box::new(h)))),
        );
        assert!(matches!(got, Some(Value::Histogram(rows)) if rows.len() == 3));
        let got = decode_one(
            &mut dec,
            value("h", None, Some(PbValue::Histo(Box::new(damaged)))),
        );
        assert!(got.is_none());
        assert_eq!(dec.stats().bad_values, 1);
    }

    #[test]
    fn tf2_histogram_tensor() {
        let rows = [[0.0, 1.0, 4.0], [1.0, 2.0, 6.0]];
        let content: Vec<u8> = rows
            .iter()
            .flatten()
            .flat_map(|x: &f64| x.to_le_bytes())
            .collect();
        let t = TensorProto {
            dtype: DataType::DtDouble as i32,
            tensor_shape: shape(&[2, 3]),
            tensor_content: content,
            ..Default::default()
        };
        let mut dec = EventDecoder::new();
        let got = decode_one(
            &mut dec,
            value(
                "h",
                meta("histograms", vec![]),
                Some(PbValue::Tensor(Box::new(t))),
            ),
        );
        assert_eq!(got, Some(Value::Histogram(rows.to_vec())));

        let bad = TensorProto {
            dtype: DataType::DtDouble as i32,
            tensor_shape: shape(&[2, 3]),
            double_val: vec![1.0],
            ..Default::default()
        };
        assert_eq!(
            decode_one(
                &mut dec,
                value("h", None, Some(PbValue::Tensor(Box::new(bad))))
            ),
            None
        );
        assert_eq!(dec.stats().bad_values, 1);
    }

    #[test]
    fn images_legacy_and_tf2() {
        let mut dec = EventDecoder::new();
        let legacy = pb::summary::Image {
            height: 2,
            width: 3,
            colorspace: 3,
            encoded_image_string: b"\x89PNG...".to_vec(),
        };
        let got = decode_one(
            &mut dec,
            value("img", None, Some(PbValue::Image(Box::new(legacy)))),
        );
        assert_eq!(
            got,
            Some(Value::Images(vec![Image {
                width: 3,
                height: 2,
                encoded: b"\x89PNG...".to_vec()
            }]))
        );
        let tf2 = TensorProto {
            dtype: DataType::DtString as i32,
            tensor_shape: shape(&[3]),
            string_val: vec![b"4".to_vec(), b"5".to_vec(), b"png-bytes".to_vec()],
            ..Default::default()
        };
        let got = decode_one(
            &mut dec,
            value(
                "img2",
                meta("images", vec![]),
                Some(PbValue::Tensor(Box::new(tf2))),
            ),
        );
        assert_eq!(
            got,
            Some(Value::Images(vec![Image {
                width: 4,
                height: 5,
                encoded: b"png-bytes".to_vec()
            }]))
        );
    }

    #[test]
    fn hparams_without_a_value_as_torch_writes_them() {
        let start = hparams::HParamsPluginData {
            version: 0,
            data: Some(hparams::h_params_plugin_data::Data::SessionStartInfo(
                hparams::SessionStartInfo {
                    hparams: [
                        ("lr".to_string(), HParamValue::Number(0.01).to_proto()),
                        ("opt".to_string(), HParamValue::from("adam").to_proto()),
                    ]
                    .into_iter()
                    .collect(),
                    ..Default::default()
                },
            )),
        };
        let mut dec = EventDecoder::new();
        let v = value(
            hparams_tag::SESSION_START,
            meta("hparams", start.encode_to_vec()),
            None,
        );
        assert_eq!(
            decode_one(&mut dec, v),
            Some(Value::HParams(HParams::SessionStart {
                hparams: vec![
                    ("lr".into(), HParamValue::Number(0.01)),
                    ("opt".into(), HParamValue::String("adam".into()))
                ],
                group_name: String::new(),
                start_time_secs: 0.0,
                model_uri: String::new(),
                monitor_url: String::new(),
                other_values: Vec::new(),
            }))
        );
    }

    #[test]
    fn non_utf8_tag_is_kept_lossily() {
        let mut dec = EventDecoder::new();
        let mut v = value("", None, Some(PbValue::SimpleValue(1.0)));
        v.tag = prost::bytes::Bytes::from_static(b"loss\xff");
        let ev = dec.decode(&event(vec![v])).unwrap();
        assert_eq!(ev.values[0].tag, "loss\u{fffd}");
    }

    #[test]
    fn garbage_payload_is_an_error_not_a_panic() {
        let mut dec = EventDecoder::new();
        assert!(dec.decode(b"\xff\xff\xff\xff\xff").is_err());
        assert_eq!(dec.stats().bad_events, 1);
    }

    #[test]
    fn file_version_and_session_start() {
        let mut dec = EventDecoder::new();
        let fv = Event {
            what: Some(What::FileVersion("brain.Event:2".into())),
            ..Default::default()
        };
        let got = dec.decode(&fv.encode_to_vec()).unwrap();
        assert_eq!(
            got.marker,
            Some(Marker::FileVersion("brain.Event:2".into()))
        );
        let start = Event {
            step: 300,
            what: Some(What::SessionLog(SessionLog {
                status: 1,
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(
            dec.decode(&start.encode_to_vec()).unwrap().marker,
            Some(Marker::SessionStart)
        );
    }

    #[test]
    fn reused_buffers_never_leak_values_or_steps_between_events() {
        let mut dec = EventDecoder::new();
        let two = event(vec![
            value("a", None, Some(PbValue::SimpleValue(1.0))),
            value("b", None, Some(PbValue::SimpleValue(2.0))),
        ]);
        assert_eq!(dec.decode(&two).unwrap().values.len(), 2);
        // An event with no step, no time and no payload: nothing carries over.
        let bare = dec.decode(&Event::default().encode_to_vec()).unwrap();
        assert_eq!((bare.step, bare.wall_time, bare.values.len()), (0, 0.0, 0));
        let fv = Event {
            what: Some(What::FileVersion("brain.Event:2".into())),
            ..Default::default()
        };
        assert!(dec.decode(&fv.encode_to_vec()).unwrap().values.is_empty());
        let one = event(vec![value("c", None, Some(PbValue::SimpleValue(3.0)))]);
        let got = dec.decode(&one).unwrap();
        assert_eq!(
            got.values,
            vec![TaggedValue {
                tag: "c".into(),
                value: Value::Scalar(3.0)
            }]
        );
        assert_eq!(got.step, 7);
    }

    #[test]
    fn legacy_audio_becomes_the_audio_plugins_clip_list_and_other_shapes_are_bad_values() {
        let mut dec = EventDecoder::new();
        let clip = pb::summary::Audio {
            sample_rate: 8000.0,
            num_channels: 1,
            length_frames: 2,
            encoded_audio_string: b"RIFF....WAVE".to_vec(),
            content_type: "audio/wav".into(),
        };
        let v = value("a", None, Some(PbValue::Audio(Box::new(clip))));
        let Some(Value::Tensor { plugin, tensor, .. }) = decode_one(&mut dec, v) else {
            panic!("not a tensor")
        };
        assert_eq!(plugin, plugin::AUDIO);
        assert_eq!(
            audio_clips(&tensor),
            Some(vec![(&b"RIFF....WAVE"[..], &b""[..])])
        );
        // TF2's [k, 2] with labels is kept; another shape or type is a bad value.
        let tf2 = audio_tensor(vec![
            (b"a".to_vec(), b"x".to_vec()),
            (b"b".to_vec(), b"y".to_vec()),
        ]);
        let v = |t: TensorProto| {
            value(
                "b",
                meta("audio", vec![]),
                Some(PbValue::Tensor(Box::new(t))),
            )
        };
        assert!(matches!(
            decode_one(&mut dec, v(tf2.clone())),
            Some(Value::Tensor { .. })
        ));
        let mut wrong = tf2.clone();
        wrong.string_val.pop();
        assert_eq!(decode_one(&mut dec, v(wrong)), None);
        let mut numbers = tf2;
        numbers.dtype = DataType::DtFloat as i32;
        assert_eq!(decode_one(&mut dec, v(numbers)), None);
        assert_eq!(dec.stats().bad_values, 2);
    }
}
