//! Every chosen scalar point as `scalars.csv` or `scalars.jsonl`, read one stored chunk at a time, numbers in each format's own text (see `crate::format`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use indicatif::ProgressBar;
use rusqlite::Connection;

use super::files::PartialFile;
use super::progress::Ticker;
use super::select::Chosen;
use super::{ExportError, ExportOptions, Format};
use crate::format::{PyRepr, json_float};
use crate::store::query;
use crate::store::{Point, StoreError};

/// Writes `scalars.csv` or `scalars.jsonl`; returns the points written and the file.
pub(super) fn write_points(
    conn: &Connection,
    chosen: &[Chosen],
    options: &ExportOptions,
    progress: &ProgressBar,
) -> Result<(u64, PathBuf), ExportError> {
    let json = options.format == Format::Json;
    let name = if json { "scalars.jsonl" } else { "scalars.csv" };
    let mut file = PartialFile::create(options.out.join(name))?;
    let path = file.path.clone();
    let io = |source: io::Error| ExportError::Write {
        path: path.clone(),
        source,
    };
    let mut ticker = Ticker::new(progress);
    let written = if json {
        write_jsonl(conn, chosen, &mut file.out, &mut ticker).map_err(|e| e.into_export(&io))?
    } else {
        write_csv(conn, chosen, &mut file.out, &mut ticker).map_err(|e| e.into_export(&io))?
    };
    drop(ticker);
    Ok((written, file.finish()?))
}

/// A failure while streaming points: the output (I/O) or the database.
enum StreamError {
    Io(io::Error),
    Export(ExportError),
}

impl StreamError {
    fn into_export(self, io: &impl Fn(io::Error) -> ExportError) -> ExportError {
        match self {
            StreamError::Io(e) => io(e),
            StreamError::Export(e) => e,
        }
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

impl From<csv::Error> for StreamError {
    fn from(e: csv::Error) -> Self {
        StreamError::Io(e.into())
    }
}

impl From<StoreError> for StreamError {
    fn from(e: StoreError) -> Self {
        StreamError::Export(e.into())
    }
}

/// Hands every point of every chosen series, in order, to `write` one stored chunk at a time
/// (never a whole series in memory), with the series it belongs to; returns the points read.
fn each_chunk(
    conn: &Connection,
    chosen: &[Chosen],
    ticker: &mut Ticker<'_>,
    mut write: impl FnMut(&Chosen, &[Point]) -> Result<(), StreamError>,
) -> Result<u64, StreamError> {
    let mut points: Vec<Point> = Vec::with_capacity(4096);
    let mut read = 0u64;
    for c in chosen {
        let mut after = None;
        while let Some(seq) = query::next_scalar_chunk(conn, c.id, after, &mut points)? {
            after = Some(seq);
            write(c, &points)?;
            read += points.len() as u64;
            ticker.add(points.len() as u64);
        }
    }
    Ok(read)
}

/// Every point of every chosen series to `out` as `run,tag,step,wall_time,value` rows (quoted
/// where needed, RFC 4180), numbers as TensorBoard's CSV writes them (Python's `repr`).
fn write_csv(
    conn: &Connection,
    chosen: &[Chosen],
    out: &mut BufWriter<File>,
    ticker: &mut Ticker<'_>,
) -> Result<u64, StreamError> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(out);
    w.write_record(["run", "tag", "step", "wall_time", "value"])?;
    let (mut step, mut wall, mut value) = (itoa::Buffer::new(), PyRepr::new(), PyRepr::new());
    let written = each_chunk(conn, chosen, ticker, |c, points| {
        let (run, tag) = (c.info.run.as_bytes(), c.info.tag.as_bytes());
        for p in points {
            w.write_record([
                run,
                tag,
                step.format(p.step).as_bytes(),
                wall.format(p.wall_time).as_bytes(),
                value.format(p.value).as_bytes(),
            ])?;
        }
        Ok(())
    })?;
    w.flush()?;
    Ok(written)
}

/// Every point of every chosen series to `out` as JSON Lines:
/// `{"run":..,"tag":..,"step":..,"wall_time":..,"value":..}`, numbers as runboard's JSON API
/// writes them (shortest round-trip, `"NaN"`, `"Infinity"`, `"-Infinity"`).
fn write_jsonl(
    conn: &Connection,
    chosen: &[Chosen],
    out: &mut BufWriter<File>,
    ticker: &mut Ticker<'_>,
) -> Result<u64, StreamError> {
    let (mut step, mut wall, mut value) =
        (itoa::Buffer::new(), ryu::Buffer::new(), ryu::Buffer::new());
    // serde_json escapes the names once per series; the numbers are written directly.
    let mut prefix = (None, String::new());
    each_chunk(conn, chosen, ticker, |c, points| {
        if prefix.0 != Some(c.id) {
            prefix = (
                Some(c.id),
                format!(
                    "{{\"run\":{},\"tag\":{},\"step\":",
                    serde_json::Value::String(c.info.run.clone()),
                    serde_json::Value::String(c.info.tag.clone())
                ),
            );
        }
        for p in points {
            out.write_all(prefix.1.as_bytes())?;
            out.write_all(step.format(p.step).as_bytes())?;
            out.write_all(b",\"wall_time\":")?;
            out.write_all(json_float(&mut wall, p.wall_time).as_bytes())?;
            out.write_all(b",\"value\":")?;
            out.write_all(json_float(&mut value, p.value).as_bytes())?;
            out.write_all(b"}\n")?;
        }
        Ok(())
    })
}
