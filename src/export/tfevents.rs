//! Event files TensorBoard reads, rebuilt from the store: one file per run, hyperparameters first, then every value of the chosen series merged in step order.

use std::collections::BinaryHeap;
use std::io;
use std::path::Path;

use indicatif::ProgressBar;
use runboard_sdk::event::Value;
use runboard_sdk::event_file::EventFileWriter;
use runboard_sdk::summary;
use rusqlite::Connection;

use super::ExportError;
use super::files::{has_event_files, run_folder};
use super::progress::Ticker;
use super::select::Chosen;
use crate::store::codec;
use crate::store::query::{self, RunInfo, SeriesInfo, TensorCursor, TensorRow};
use crate::store::{Point, StoreError};
use crate::types::Kind;

/// Writes one event file per run of `run_names` into its folder under `out` (every folder is
/// checked before anything is written: one already holding event files is refused, as
/// TensorBoard would read both); returns the values written.
pub(super) fn write_runs(
    conn: &Connection,
    out: &Path,
    runs: &[RunInfo],
    run_names: &[&str],
    chosen: &[Chosen],
    progress: &ProgressBar,
) -> Result<u64, ExportError> {
    let mut folders = Vec::with_capacity(run_names.len());
    for run in run_names {
        let dir = run_folder(out, run)?;
        if has_event_files(&dir) {
            return Err(ExportError::EventFilesExist(dir));
        }
        folders.push(dir);
    }
    let mut ticker = Ticker::new(progress);
    let mut written = 0;
    for (run, dir) in run_names.iter().zip(&folders) {
        let info = runs.iter().find(|r| r.name == *run);
        let series: Vec<&Chosen> = chosen.iter().filter(|c| c.info.run == *run).collect();
        written += write_run_events(conn, dir, info, &series, &mut ticker)?;
        super::projector::write_run(conn, dir, run)?;
    }
    Ok(written)
}

/// Reads one series in step order, a stored chunk or page at a time, for the merge of
/// [`write_run_events`].
enum Cursor<'a> {
    Scalar {
        series: &'a Chosen,
        buf: Vec<Point>,
        pos: usize,
        after: Option<i64>,
        done: bool,
    },
    Other {
        series: &'a Chosen,
        buf: Vec<TensorRow>,
        pos: usize,
        next: Option<TensorCursor>,
        done: bool,
    },
}

/// Values of non-scalar series read at a time (images can be large).
const TENSOR_PAGE: usize = 64;

impl<'a> Cursor<'a> {
    fn new(series: &'a Chosen) -> Cursor<'a> {
        if series.info.kind == Kind::Scalar {
            Cursor::Scalar {
                series,
                buf: Vec::new(),
                pos: 0,
                after: None,
                done: false,
            }
        } else {
            Cursor::Other {
                series,
                buf: Vec::new(),
                pos: 0,
                next: None,
                done: false,
            }
        }
    }

    /// The step of the next value, reading the next chunk or page when needed.
    fn peek(&mut self, conn: &Connection) -> Result<Option<i64>, ExportError> {
        match self {
            Cursor::Scalar {
                series,
                buf,
                pos,
                after,
                done,
            } => {
                while *pos >= buf.len() && !*done {
                    match query::next_scalar_chunk(conn, series.id, *after, buf)? {
                        Some(seq) => *after = Some(seq),
                        None => *done = true,
                    }
                    *pos = 0;
                }
                Ok(buf.get(*pos).map(|p| p.step))
            }
            Cursor::Other {
                series,
                buf,
                pos,
                next,
                done,
            } => {
                while *pos >= buf.len() && !*done {
                    let (page, cursor) = query::tensors_page(conn, series.id, *next, TENSOR_PAGE)?;
                    *buf = page;
                    *pos = 0;
                    *next = cursor;
                    *done = cursor.is_none();
                }
                Ok(buf.get(*pos).map(|r| r.step))
            }
        }
    }

    /// Writes the value [`Cursor::peek`] found and moves past it.
    /// `path` names the file in errors.
    fn write_next(&mut self, w: &mut EventFileWriter, path: &Path) -> Result<(), ExportError> {
        let io = |e: io::Error| ExportError::Write {
            path: path.to_path_buf(),
            source: e,
        };
        match self {
            Cursor::Scalar {
                series, buf, pos, ..
            } => {
                if let Some(p) = buf.get(*pos) {
                    let value = summary::scalar(&series.info.tag, p.value);
                    let result = w.write_summary(p.wall_time, p.step, vec![value]);
                    result.map_err(io)?;
                }
                *pos += 1;
            }
            Cursor::Other {
                series, buf, pos, ..
            } => {
                if let Some(row) = buf.get(*pos) {
                    if let Some(what) = event_of(&series.info, row)? {
                        // A graph, meta graph or run metadata goes back where it came from:
                        // its own field of `Event`.
                        let event = runboard_sdk::proto::tensorboard::Event {
                            wall_time: row.wall_time,
                            step: row.step,
                            what: Some(what),
                            ..Default::default()
                        };
                        w.write_event(&event).map_err(io)?;
                    } else {
                        let value = other_value(&series.info, row)?;
                        let result = w.write_summary(row.wall_time, row.step, vec![value]);
                        result.map_err(io)?;
                    }
                }
                *pos += 1;
            }
        }
        Ok(())
    }
}

/// What a stored graph (`Event.graph_def`), meta graph (`Event.meta_graph_def`) or run metadata
/// (`Event.tagged_run_metadata`) was written as; `None` for a summary value.
fn event_of(
    info: &SeriesInfo,
    row: &TensorRow,
) -> Result<Option<runboard_sdk::proto::tensorboard::event::What>, ExportError> {
    use runboard_sdk::proto::tensorboard::{TaggedRunMetadata, event::What};
    let bytes = || -> Result<Vec<u8>, ExportError> {
        let tensor = codec::tensor(&row.data)?;
        Ok(tensor.string_val.into_iter().next().unwrap_or_default())
    };
    Ok(if crate::graphs::is_run_graph(info) {
        Some(What::GraphDef(bytes()?))
    } else if crate::graphs::is_meta_graph(info) {
        Some(What::MetaGraphDef(bytes()?))
    } else if crate::graphs::is_run_metadata(info) {
        Some(What::TaggedRunMetadata(TaggedRunMetadata {
            tag: info.tag.clone(),
            run_metadata: bytes()?,
        }))
    } else {
        None
    })
}

/// The summary value of a stored histogram, text, image or tensor, as TensorBoard's plugins
/// read it (built by the SDK's summary builders).
fn other_value(
    info: &SeriesInfo,
    row: &TensorRow,
) -> Result<runboard_sdk::proto::tensorboard::summary::Value, ExportError> {
    let tag = info.tag.as_str();
    let damaged =
        |what: String| StoreError::Damaged(format!("{what} (run {:?}, tag {tag:?})", info.run));
    let value =
        codec::decode_value(info.kind, &info.plugin, &info.content, row).map_err(|e| match e {
            StoreError::Damaged(what) => damaged(what),
            other => other,
        })?;
    Ok(match value {
        Value::Histogram(rows) => summary::histogram(tag, &rows),
        Value::Text(strings) => summary::text_strings(tag, &strings),
        Value::Images(mut images) if !images.is_empty() => {
            let image = images.swap_remove(0);
            let channels = png_channels(&image.encoded);
            summary::image(tag, image.encoded, image.width, image.height, channels)
        }
        Value::Tensor { plugin, tensor, .. } if plugin == runboard_sdk::event::plugin::AUDIO => {
            summary::audio_tensor(tag, *tensor)
        }
        Value::Tensor {
            plugin,
            content,
            tensor,
        } => summary::tensor(tag, &plugin, content, *tensor),
        Value::Scalar(v) => summary::scalar(tag, v),
        Value::Images(_) | Value::HParams(_) | Value::Run(_) => {
            return Err(damaged("no value to write".into()).into());
        }
    })
}

/// The channel count of a PNG from its header's colour type (1 grey, 2 grey+alpha, 3 RGB or
/// palette, 4 RGBA); 3 when it is not a PNG.
fn png_channels(bytes: &[u8]) -> u8 {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 26 || !bytes.starts_with(SIGNATURE) {
        return 3;
    }
    match bytes[25] {
        0 => 1,
        4 => 2,
        6 => 4,
        _ => 3,
    }
}

/// Writes one run's event file: its hyperparameters first, then every value of its chosen
/// series merged in step order (as a training job writes them; TensorBoard drops a tag's
/// points when its step goes backwards, so per-series order alone is not enough), each with its
/// own wall time. Returns the values written.
fn write_run_events(
    conn: &Connection,
    dir: &Path,
    info: Option<&RunInfo>,
    series: &[&Chosen],
    ticker: &mut Ticker<'_>,
) -> Result<u64, ExportError> {
    let started = info.map_or(0.0, |r| r.started_at);
    let secs = if started.is_finite() && started > 0.0 {
        started as u64
    } else {
        0
    };
    let path = dir.join(format!("events.out.tfevents.{secs:010}.runboard"));
    // Written under a name without "tfevents" (which a watching TensorBoard would pick up
    // half-done) and renamed at the end.
    let tmp = dir.join(".runboard-export.partial");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source: io::Error| ExportError::Write { path: p, source }
    };
    let _ = std::fs::remove_file(&tmp);
    let mut w = EventFileWriter::create_new(&tmp, started).map_err(io(&path))?;
    let result = (|| {
        // What the HParams plugin logged (the experiment, the session's start and end), as
        // logged.
        if let Some(run) = info {
            for (tag, content) in crate::store::query::hparams_data_of(conn, &run.name)? {
                let value = summary::hparams_plugin_value(&tag, content);
                w.write_summary(started, 0, vec![value])
                    .map_err(io(&path))?;
            }
        }
        let mut cursors: Vec<Cursor<'_>> = series.iter().map(|s| Cursor::new(s)).collect();
        let mut heap = BinaryHeap::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(step) = c.peek(conn)? {
                heap.push(std::cmp::Reverse((step, i)));
            }
        }
        let mut written = 0u64;
        while let Some(std::cmp::Reverse((_, i))) = heap.pop() {
            let c = &mut cursors[i];
            c.write_next(&mut w, &path)?;
            written += 1;
            ticker.add(1);
            if let Some(step) = c.peek(conn)? {
                heap.push(std::cmp::Reverse((step, i)));
            }
        }
        w.flush().map_err(io(&path))?;
        Ok(written)
    })();
    drop(w);
    match result {
        Ok(written) => {
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
            Ok(written)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_channels_come_from_the_header() {
        let grey = runboard_sdk::summary::encode_png(&[7u8; 4], 2, 2, 1).unwrap();
        let rgba = runboard_sdk::summary::encode_png(&[7u8; 16], 2, 2, 4).unwrap();
        assert_eq!((png_channels(&grey), png_channels(&rgba)), (1, 4));
        assert_eq!(png_channels(b"not a png"), 3);
    }
}
