//! The `runboard-writer` thread: writes the run record, drains the queue, encodes its items into events (grouping the scalars of one step), writes the event file, feeds the remote sink and keeps a quiet file's modification time fresh.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prost::bytes::Bytes;
use runboard_proto::runboard::ingest as pb;
use runboard_proto::tensorboard::{Event, Summary, event::What, summary::value::Value as PbValue};

use super::SharedRecord;
use super::queue::{Item, Pending, PendingKind, Queue};
use crate::event::HParamValue;
use crate::event_file::{EventFileWriter, now_secs};
use crate::remote::RemoteSink;
use crate::run_record::{RunEvent, RunState};
use crate::summary;
use pb::point::Value as RemoteValue;

/// How often the writer thread looks at the queue when it also streams to a server.
const REMOTE_WAKE: Duration = Duration::from_millis(10);

/// What the writer thread needs besides the queue: the file, how it writes and whether it
/// records the run.
pub(super) struct Setup {
    pub(super) file: EventFileWriter,
    pub(super) flush_interval: Duration,
    pub(super) histogram_buckets: usize,
    pub(super) remote: Option<RemoteSink>,
    /// The run record to write first (with the `running` status); `None` writes no run events.
    pub(super) record: Option<Arc<SharedRecord>>,
    /// After this long without writing, the file's modification time is set to now.
    pub(super) liveness_interval: Duration,
}

/// Starts the `runboard-writer` thread, which owns the file and the remote sink until it
/// stops: when the queue is closed and drained, or on a panic (the queue is then marked as
/// without a writer, so logging calls never wait on it).
pub(super) fn spawn(queue: Arc<Queue>, setup: Setup) -> std::io::Result<JoinHandle<()>> {
    // Sleep out the interval unless there is a reason to write now. A streaming writer wakes
    // more often so a point reaches the server in milliseconds.
    let interval = if setup.remote.is_some() {
        setup.flush_interval.min(REMOTE_WAKE)
    } else {
        setup.flush_interval
    };
    let encoder = Encoder {
        remote: setup.remote,
        file: setup.file,
        tags: Vec::new(),
        scalar_event: Event::default(),
        group_tags: Vec::new(),
        histogram_buckets: setup.histogram_buckets,
        first_error: None,
        lost: 0,
    };
    let (record, liveness) = (setup.record, setup.liveness_interval);
    std::thread::Builder::new()
        .name("runboard-writer".into())
        .spawn(move || run(&queue, encoder, interval, record.as_deref(), liveness))
}

/// Marks the writer thread gone however it exits (including a panic).
struct AliveGuard<'a>(&'a Queue);

impl Drop for AliveGuard<'_> {
    fn drop(&mut self) {
        self.0.worker_gone();
    }
}

/// The thread's loop: the run record first (collected here, off the training thread), then a
/// round every `interval` (or sooner when asked) until closed. A round that finds nothing to
/// write after `liveness` of quiet sets the file's modification time instead, so that a
/// reader of the logdir tells a quiet live run from a dead one.
fn run(
    queue: &Queue,
    mut enc: Encoder,
    interval: Duration,
    record: Option<&SharedRecord>,
    liveness: Duration,
) {
    let _alive = AliveGuard(queue);
    if let Some(record) = record {
        let running = RunEvent::status(RunState::Running, None, None).to_json();
        for json in [record.json().to_owned(), running] {
            enc.write(Item::Other(Box::new(Pending {
                step: 0,
                wall_time: now_secs(),
                kind: PendingKind::RunEvent(json),
            })));
        }
    }
    let mut batch: Vec<Item> = Vec::new();
    let mut last_write = Instant::now();
    loop {
        let round = queue.take(&mut batch, interval);
        if batch.is_empty() {
            if last_write.elapsed() >= liveness {
                if let Err(e) = enc.file.touch() {
                    tracing::debug!("runboard: touching {}: {e}", enc.file.path().display());
                }
                last_write = Instant::now();
            }
        } else {
            last_write = Instant::now();
        }
        for item in batch.drain(..) {
            enc.write(item);
        }
        enc.finish_group();
        let flushed = if round.closing {
            enc.file.sync()
        } else {
            enc.file.flush()
        };
        if let Err(e) = flushed {
            enc.error(&e);
        }
        let lost = std::mem::take(&mut enc.lost);
        if queue.done(&round, enc.first_error.as_deref(), lost) {
            if let Some(remote) = enc.remote.take() {
                let report = remote.close();
                queue.lock().remote_report = Some(report);
            }
            return;
        }
    }
}

/// A point for the remote sink.
fn remote_point(tag: &str, step: i64, wall_time: f64, value: RemoteValue) -> pb::Point {
    pb::Point {
        tag: tag.to_owned(),
        step,
        wall_time,
        value: Some(value),
    }
}

/// Scalars logged at one step within this many seconds of each other share one event.
const GROUP_WINDOW_SECS: f64 = 1e-3;
/// At most this many values share one event.
const GROUP_MAX: usize = 64;

/// The writer thread's state: tag names by id and the scalar event being grouped.
///
/// Consecutive scalars with the same step, logged within [`GROUP_WINDOW_SECS`] of the first
/// and with distinct tags, are written as one event with several values (as TF1 merged
/// summaries are): `run.log(step, &[("loss", ..), ("acc", ..)])` costs one record, not two.
/// Every TensorBoard reader handles multi-value events; the values keep their own tags.
struct Encoder {
    file: EventFileWriter,
    /// Streams every value to a server too, when configured.
    remote: Option<RemoteSink>,
    /// Tag names by id, as shared buffers: every value of a tag points at the same bytes.
    tags: Vec<Bytes>,
    /// The event under construction; its first `group_tags.len()` values are the group.
    scalar_event: Event,
    group_tags: Vec<u32>,
    histogram_buckets: usize,
    first_error: Option<String>,
    lost: u64,
}

impl Encoder {
    fn tag(&self, id: u32) -> &str {
        self.tags
            .get(id as usize)
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or("")
    }

    fn error(&mut self, e: &dyn std::fmt::Display) {
        if self.first_error.is_none() {
            tracing::error!("runboard: writing {}: {e}", self.file.path().display());
            self.first_error = Some(e.to_string());
        }
    }

    fn write(&mut self, item: Item) {
        match item {
            Item::Tag { id, name } => {
                let id = id as usize;
                if self.tags.len() <= id {
                    self.tags.resize(id + 1, Bytes::new());
                }
                self.tags[id] = Bytes::from(name.into_boxed_bytes());
            }
            Item::Scalar {
                tag,
                step,
                wall_time,
                value,
            } => self.group_scalar(tag, step, wall_time, value),
            Item::Other(pending) => {
                self.finish_group();
                if let Err(e) = self.write_pending(*pending) {
                    self.lost += 1;
                    self.error(&e);
                }
            }
        }
    }

    fn group_scalar(&mut self, tag: u32, step: i64, wall_time: f64, value: f64) {
        if let Some(sink) = &self.remote {
            sink.push(remote_point(
                self.tag(tag),
                step,
                wall_time,
                RemoteValue::Scalar(value),
            ));
        }
        if !self.group_tags.is_empty()
            && (step != self.scalar_event.step
                || (wall_time - self.scalar_event.wall_time).abs() > GROUP_WINDOW_SECS
                || self.group_tags.len() >= GROUP_MAX
                || self.group_tags.contains(&tag))
        {
            self.finish_group();
        }
        if self.group_tags.is_empty() {
            self.scalar_event.step = step;
            self.scalar_event.wall_time = wall_time;
        }
        // Overwrite the value slots in place: a summary value is a large struct, and moving
        // or reallocating one per scalar would cost more than encoding it.
        let slot = self.group_tags.len();
        self.group_tags.push(tag);
        let name = self.tags.get(tag as usize).cloned().unwrap_or_default();
        let values = match &mut self.scalar_event.what {
            Some(What::Summary(s)) => &mut s.value,
            other => {
                *other = Some(What::Summary(Summary::default()));
                match other {
                    Some(What::Summary(s)) => &mut s.value,
                    _ => unreachable!("just set to a summary"),
                }
            }
        };
        if values.len() <= slot {
            values.push(summary::scalar("", 0.0));
        }
        let v = &mut values[slot];
        v.tag = name;
        v.value = Some(PbValue::SimpleValue(value as f32));
    }

    /// Writes the grouped scalars, if any, as one event; a failure counts them all as lost.
    fn finish_group(&mut self) {
        if self.group_tags.is_empty() {
            return;
        }
        let n = self.group_tags.len();
        if let Some(What::Summary(s)) = &mut self.scalar_event.what {
            s.value.truncate(n);
        }
        let result = self.file.write_event(&self.scalar_event);
        self.group_tags.clear();
        if let Err(e) = result {
            self.lost += n as u64;
            self.error(&e);
        }
    }

    /// Encodes and writes one non-scalar call as its own event; when streaming, also sends it
    /// as a point under the same tag as the event's value.
    fn write_pending(&mut self, p: Pending) -> std::io::Result<()> {
        let streaming = self.remote.is_some();
        let (value, remote) = match p.kind {
            PendingKind::Graph(graph) => return self.write_graph(&graph, p.step, p.wall_time),
            PendingKind::Embedding(files) => {
                if let Some(sink) = &self.remote {
                    let point = RemoteValue::Embedding(files.to_proto());
                    sink.push(remote_point(&files.name(), p.step, p.wall_time, point));
                }
                return files.write();
            }
            PendingKind::Histogram { tag, values } => {
                let rows =
                    summary::histogram_buckets(values.iter().copied(), self.histogram_buckets);
                let remote = streaming.then(|| {
                    let buckets = rows.iter().flatten().copied().collect();
                    RemoteValue::Histogram(pb::Histogram { buckets })
                });
                (summary::histogram(self.tag(tag), &rows), remote)
            }
            PendingKind::Text { tag, markdown } => (
                summary::text(self.tag(tag), &markdown),
                streaming.then_some(RemoteValue::Text(markdown)),
            ),
            PendingKind::Audio {
                tag,
                samples,
                sample_rate,
            } => {
                let wav = summary::wav_pcm16(&samples, sample_rate);
                // Streamed as the audio plugin's tensor (the clip, no label), the form the
                // server keeps.
                let remote = streaming.then(|| {
                    use prost::Message;
                    let tensor = crate::event::audio_tensor(vec![(wav.clone(), Vec::new())]);
                    RemoteValue::PluginTensor(pb::PluginTensor {
                        plugin: crate::event::plugin::AUDIO.to_owned(),
                        tensor: tensor.encode_to_vec(),
                        content: Vec::new(),
                    })
                });
                (
                    summary::audio(self.tag(tag), wav, sample_rate, samples.len()),
                    remote,
                )
            }
            PendingKind::Image {
                tag,
                pixels,
                width,
                height,
                channels,
            } => {
                let png = summary::encode_png(&pixels, width, height, channels)
                    .map_err(std::io::Error::other)?;
                let remote = streaming.then(|| {
                    RemoteValue::Image(pb::Image {
                        width,
                        height,
                        png: png.clone(),
                    })
                });
                (
                    summary::image(self.tag(tag), png, width, height, channels),
                    remote,
                )
            }
            PendingKind::HParams(values) => {
                let borrowed: Vec<(&str, HParamValue)> = values
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect();
                let remote = streaming.then(|| {
                    let values = values
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_proto()))
                        .collect();
                    RemoteValue::Hparams(pb::HParams {
                        values,
                        plugin_data: Vec::new(),
                    })
                });
                (
                    summary::hparams_session_start(&borrowed, p.wall_time),
                    remote,
                )
            }
            PendingKind::Value(v) => {
                // A plugin's tensor (a custom scalars layout, a PR curve, a mesh part) streams as
                // it is with its metadata content, and so does what the HParams plugin logs (an
                // experiment, a session's end).
                let plugin = v.metadata.as_ref().and_then(|m| m.plugin_data.as_ref());
                let remote = match (plugin, &v.value) {
                    (Some(p), Some(PbValue::Tensor(t)))
                        if streaming
                            && [
                                crate::event::plugin::CUSTOM_SCALARS,
                                crate::event::plugin::PR_CURVES,
                                crate::event::plugin::MESH,
                            ]
                            .contains(&p.plugin_name.as_str()) =>
                    {
                        use prost::Message;
                        Some(RemoteValue::PluginTensor(pb::PluginTensor {
                            plugin: p.plugin_name.clone(),
                            tensor: t.encode_to_vec(),
                            content: p.content.clone(),
                        }))
                    }
                    (Some(p), _) if streaming && p.plugin_name == crate::event::plugin::HPARAMS => {
                        Some(RemoteValue::Hparams(pb::HParams {
                            values: Default::default(),
                            plugin_data: p.content.clone(),
                        }))
                    }
                    _ => None,
                };
                (v, remote)
            }
            PendingKind::RunEvent(json) => (
                summary::run_event(&json),
                streaming.then_some(RemoteValue::RunEvent(json)),
            ),
        };
        if let (Some(sink), Some(point)) = (&self.remote, remote) {
            let tag = String::from_utf8_lossy(&value.tag);
            sink.push(remote_point(&tag, p.step, p.wall_time, point));
        }
        self.file.write_summary(p.wall_time, p.step, vec![value])
    }

    /// A model graph: `Event.graph_def` in the file (where TensorBoard's Graphs tab reads it),
    /// `Point.graph_def` under [`crate::event::RUN_GRAPH_TAG`] when streaming.
    fn write_graph(
        &mut self,
        graph: &runboard_proto::tensorboard::GraphDef,
        step: i64,
        wall_time: f64,
    ) -> std::io::Result<()> {
        use prost::Message;
        let bytes = graph.encode_to_vec();
        if let Some(sink) = &self.remote {
            let point = RemoteValue::GraphDef(bytes.clone());
            sink.push(remote_point(
                crate::event::RUN_GRAPH_TAG,
                step,
                wall_time,
                point,
            ));
        }
        self.file.write_event(&Event {
            wall_time,
            step,
            what: Some(What::GraphDef(bytes)),
            ..Event::default()
        })
    }
}
