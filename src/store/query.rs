//! Reads: every question the API, export and the dashboard ask of the database.

use crate::types::Kind;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::chunk::{self, ChunkSummary, Point};
use super::downsample::{self, Segment};

/// A run as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The run's name.
    pub name: String,
    /// First wall time seen.
    pub started_at: f64,
    /// Last wall time seen.
    pub updated_at: f64,
    /// Hyperparameters (JSON object), if logged.
    pub hparams: Option<serde_json::Value>,
}

/// A series as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    /// The run.
    pub run: String,
    /// The tag.
    pub tag: String,
    /// What it holds.
    pub kind: Kind,
    /// The plugin that wrote it ("" when implied).
    pub plugin: String,
    /// The plugin's metadata content for the tag (empty when none was logged).
    pub content: Vec<u8>,
    /// Points stored.
    pub count: u64,
    /// Smallest step (None when empty).
    pub first_step: Option<i64>,
    /// Largest step.
    pub last_step: Option<i64>,
}

/// Runs in start order (then name).
pub fn runs(conn: &Connection) -> Result<Vec<RunInfo>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, started_at, updated_at, hparams FROM runs WHERE deleted_at IS NULL
         ORDER BY started_at, name",
    )?;
    let rows = stmt.query_map([], |r| {
        let hparams: Option<String> = r.get(3)?;
        Ok(RunInfo {
            name: r.get(0)?,
            started_at: r.get(1)?,
            updated_at: r.get(2)?,
            hparams: hparams.as_deref().and_then(super::codec::hparams_json),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every series (of one run, or of all), with counts and step ranges.
pub fn series(conn: &Connection, run: Option<&str>) -> Result<Vec<SeriesInfo>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.name, s.tag, s.kind, s.plugin, coalesce(s.content, x''),
            CASE s.kind WHEN 'scalar'
                THEN (SELECT coalesce(sum(count), 0) FROM scalar_chunks c WHERE c.series_id = s.id)
                ELSE (SELECT count(*) FROM tensors t WHERE t.series_id = s.id) END,
            CASE s.kind WHEN 'scalar'
                THEN (SELECT min(first_step) FROM scalar_chunks c WHERE c.series_id = s.id)
                ELSE (SELECT min(step) FROM tensors t WHERE t.series_id = s.id) END,
            CASE s.kind WHEN 'scalar'
                THEN (SELECT max(last_step) FROM scalar_chunks c WHERE c.series_id = s.id)
                ELSE (SELECT max(step) FROM tensors t WHERE t.series_id = s.id) END
         FROM series s JOIN runs r ON r.id = s.run_id
         WHERE ?1 IS NULL OR r.name = ?1
         ORDER BY r.started_at, r.name, s.tag",
    )?;
    let rows = stmt.query_map([run], |r| {
        Ok(SeriesInfo {
            run: r.get(0)?,
            tag: r.get(1)?,
            kind: r.get(2)?,
            plugin: r.get(3)?,
            content: r.get(4)?,
            count: r.get::<_, i64>(5)? as u64,
            first_step: r.get(6)?,
            last_step: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The id and kind of a series, if it exists.
pub fn series_id(
    conn: &Connection,
    run: &str,
    tag: &str,
) -> Result<Option<(i64, Kind)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT s.id, s.kind FROM series s JOIN runs r ON r.id = s.run_id
             WHERE r.name = ?1 AND s.tag = ?2",
        )?
        .query_row(params![run, tag], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The id of `run`'s tensor series `tag` when `plugin` wrote it (one indexed lookup, not a
/// listing of the run's series).
pub fn plugin_series(
    conn: &Connection,
    run: &str,
    tag: &str,
    plugin: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT s.id FROM series s JOIN runs r ON r.id = s.run_id
             WHERE r.name = ?1 AND s.tag = ?2 AND s.kind = 'tensor' AND s.plugin = ?3",
        )?
        .query_row(params![run, tag, plugin], |r| r.get(0))
        .optional()?)
}

/// Whether any run not deleted has logged something for the HParams plugin.
pub fn has_hparams_data(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM hparams_data h JOIN runs r ON r.id = h.run_id
                        WHERE r.deleted_at IS NULL)",
        [],
        |r| r.get(0),
    )?)
}

fn null_nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// A chunk's summary from its row (columns as in [`scalars`]).
fn summary_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChunkSummary> {
    let pt = |s: usize| -> rusqlite::Result<Point> {
        Ok(Point {
            step: r.get(s)?,
            wall_time: r.get(s + 1)?,
            value: null_nan(r.get(s + 2)?),
        })
    };
    let nan_step: Option<i64> = r.get(14)?;
    let nan_wall: Option<f64> = r.get(15)?;
    Ok(ChunkSummary {
        count: r.get::<_, i64>(1)? as u32,
        first: pt(2)?,
        last: pt(5)?,
        min: pt(8)?,
        max: pt(11)?,
        first_nan: nan_step.zip(nan_wall).map(|(step, wall_time)| Point {
            step,
            wall_time,
            value: f64::NAN,
        }),
    })
}

/// A scalar series, in order: every point in `[start, end]` (inclusive steps, open when `None`),
/// or, with `max_points`, at most that many points downsampled so that each bucket's first,
/// last, min, max and first NaN are kept. Whole chunks inside the range are read by their
/// summary only; only the chunks cut by the range are decoded.
pub fn scalars(
    conn: &Connection,
    series_id: i64,
    start: Option<i64>,
    end: Option<i64>,
    max_points: Option<usize>,
) -> Result<Vec<Point>, StoreError> {
    let lo = start.unwrap_or(i64::MIN);
    let hi = end.unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT seq, count, first_step, first_wall, first_value, last_step, last_wall, last_value,
                min_step, min_wall, min_value, max_step, max_wall, max_value, nan_step, nan_wall
         FROM scalar_chunks WHERE series_id = ?1 AND last_step >= ?2 AND first_step <= ?3
         ORDER BY seq",
    )?;
    let summaries: Vec<(i64, ChunkSummary)> = stmt
        .query_map(params![series_id, lo, hi], |r| {
            Ok((r.get(0)?, summary_of(r)?))
        })?
        .collect::<Result<_, _>>()?;
    let total: usize = summaries.iter().map(|s| s.1.count as usize).sum();
    let inside = |s: &ChunkSummary| s.first.step >= lo && s.last.step <= hi;
    // Decode every chunk when returning everything, or when chunks are big relative to buckets.
    let decode_all = match max_points {
        None => true,
        Some(m) => total <= m || summaries.len() < m / downsample::POINTS_PER_BUCKET,
    };
    let mut blob_stmt =
        conn.prepare_cached("SELECT points FROM scalar_points WHERE series_id = ?1 AND seq = ?2")?;
    let mut decoded: Vec<Vec<Point>> = Vec::new();
    let mut plan: Vec<Result<usize, ChunkSummary>> = Vec::new(); // index into decoded, or a summary
    for (seq, s) in &summaries {
        if decode_all || !inside(s) {
            let blob: Vec<u8> = blob_stmt.query_row(params![series_id, seq], |r| r.get(0))?;
            let mut pts = Vec::with_capacity(s.count as usize);
            chunk::decode_points(&blob, &mut pts)?;
            pts.retain(|p| p.step >= lo && p.step <= hi);
            plan.push(Ok(decoded.len()));
            decoded.push(pts);
        } else {
            plan.push(Err(*s));
        }
    }
    match max_points {
        None => Ok(decoded.into_iter().flatten().collect()),
        Some(m) => {
            let segments: Vec<Segment<'_>> = plan
                .iter()
                .map(|p| match p {
                    Ok(i) => Segment::Points(&decoded[*i]),
                    Err(s) => Segment::Chunk(*s),
                })
                .collect();
            Ok(downsample::downsample(&segments, m))
        }
    }
}

/// Every step and value of a scalar series, in order (one statement over its chunks).
pub fn steps_values(conn: &Connection, series_id: i64) -> Result<chunk::StepValues, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT points FROM scalar_points WHERE series_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([series_id])?;
    let mut out = chunk::StepValues::default();
    while let Some(r) = rows.next()? {
        let blob = r.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        chunk::decode_steps_values(blob, &mut out)?;
    }
    Ok(out)
}

/// Reads a scalar series one chunk at a time, in order, for exports that must not hold a whole
/// series in memory: replaces `out` with the points of the first chunk after `after` (a chunk
/// sequence number, `None` for the first chunk) and returns that chunk's sequence number, or
/// `None` (and an empty `out`) past the end.
pub fn next_scalar_chunk(
    conn: &Connection,
    series_id: i64,
    after: Option<i64>,
    out: &mut Vec<Point>,
) -> Result<Option<i64>, StoreError> {
    out.clear();
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT seq, points FROM scalar_points WHERE series_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT 1",
        )?
        .query_row(params![series_id, after.unwrap_or(i64::MIN)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match row {
        Some((seq, blob)) => {
            chunk::decode_points(&blob, out)?;
            Ok(Some(seq))
        }
        None => Ok(None),
    }
}

/// Where a page of [`tensors_page`] ended: pass it back to read the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorCursor {
    step: i64,
    id: i64,
}

/// Up to `limit` values of a non-scalar series in step order (as [`tensors`]), after `after`;
/// with the cursor to read on from, `None` once a page comes back short (the end).
pub fn tensors_page(
    conn: &Connection,
    series_id: i64,
    after: Option<TensorCursor>,
    limit: usize,
) -> Result<(Vec<TensorRow>, Option<TensorCursor>), StoreError> {
    let after = after.unwrap_or(TensorCursor {
        step: i64::MIN,
        id: i64::MIN,
    });
    let mut stmt = conn.prepare_cached(
        "SELECT step, wall_time, width, height, data, id FROM tensors
         WHERE series_id = ?1 AND (step, id) > (?2, ?3) ORDER BY step, id LIMIT ?4",
    )?;
    let mut last = None;
    let rows = stmt.query_map(
        params![series_id, after.step, after.id, limit as i64],
        |r| {
            Ok((
                TensorRow {
                    id: r.get(5)?,
                    step: r.get(0)?,
                    wall_time: r.get(1)?,
                    width: r.get(2)?,
                    height: r.get(3)?,
                    data: r.get(4)?,
                },
                r.get::<_, i64>(5)?,
            ))
        },
    )?;
    let mut page = Vec::new();
    for row in rows {
        let (row, id) = row?;
        last = Some(TensorCursor { step: row.step, id });
        page.push(row);
    }
    let next = if page.len() < limit { None } else { last };
    Ok((page, next))
}

/// A non-scalar value as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRow {
    /// The value's id (stable: never reused).
    pub id: i64,
    /// Training step.
    pub step: i64,
    /// Wall time.
    pub wall_time: f64,
    /// Image width (images only).
    pub width: Option<u32>,
    /// Image height (images only).
    pub height: Option<u32>,
    /// JSON (histogram rows, text strings), PNG bytes (images) or an encoded TensorProto: see
    /// [`super::codec`].
    pub data: Vec<u8>,
}

/// (run, series id, kind) of every series with this tag, runs in start order.
pub fn series_with_tag(
    conn: &Connection,
    tag: &str,
) -> Result<Vec<(String, i64, Kind)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.name, s.id, s.kind FROM series s JOIN runs r ON r.id = s.run_id
         WHERE s.tag = ?1 ORDER BY r.started_at, r.name",
    )?;
    let rows = stmt.query_map([tag], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The values of a non-scalar series in step order.
pub fn tensors(conn: &Connection, series_id: i64) -> Result<Vec<TensorRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT step, wall_time, width, height, data, id FROM tensors WHERE series_id = ?1 ORDER BY step, id",
    )?;
    let rows = stmt.query_map([series_id], |r| {
        Ok(TensorRow {
            id: r.get(5)?,
            step: r.get(0)?,
            wall_time: r.get(1)?,
            width: r.get(2)?,
            height: r.get(3)?,
            data: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Where each file of the logdir stands: the last committed [`super::FileProgress`].
pub fn files(conn: &Connection) -> Result<Vec<super::FileProgress>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, offset, records, skipped_records, skipped_bytes, head FROM files ORDER BY path",
    )?;
    let rows = stmt.query_map([], file_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A `files` row as the [`super::FileProgress`] that committed it (`start` = `offset`).
fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<super::FileProgress> {
    let offset = r.get::<_, i64>(1)? as u64;
    Ok(super::FileProgress {
        path: r.get(0)?,
        offset,
        records: r.get::<_, i64>(2)? as u64,
        skipped_records: r.get::<_, i64>(3)? as u64,
        skipped_bytes: r.get::<_, i64>(4)? as u64,
        start: offset,
        reset: false,
        head: r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default(),
    })
}

/// Where one file's committed data ends, with its counts and identity; `None` when nothing of
/// it was committed.
pub fn file(conn: &Connection, path: &str) -> Result<Option<super::FileProgress>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT path, offset, records, skipped_records, skipped_bytes, head FROM files WHERE path = ?1",
        )?
        .query_row([path], file_row)
        .optional()?)
}

/// (tag, plugin) of every series of a run: a resumed reader needs the plugins that were named
/// in records before its offset.
pub fn plugins(conn: &Connection, run: &str) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.tag, s.plugin, coalesce(s.content, x'') FROM series s JOIN runs r ON r.id = s.run_id
         WHERE r.name = ?1 AND s.plugin != ''",
    )?;
    let rows = stmt.query_map([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A non-scalar value's place without its bytes: what a list of images needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorMeta {
    /// The value's stable id: it names this value until a restart purges it, never another.
    pub id: i64,
    /// Training step.
    pub step: i64,
    /// Wall time.
    pub wall_time: f64,
    /// Image width (images); the clip count (audio).
    pub width: Option<u32>,
    /// Image height (images only).
    pub height: Option<u32>,
}

/// The values of a non-scalar series in step order, without their bytes.
pub fn tensor_meta(conn: &Connection, series_id: i64) -> Result<Vec<TensorMeta>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, step, wall_time, width, height FROM tensors WHERE series_id = ?1 ORDER BY step, id",
    )?;
    let rows = stmt.query_map([series_id], |r| {
        Ok(TensorMeta {
            id: r.get(0)?,
            step: r.get(1)?,
            wall_time: r.get(2)?,
            width: r.get(3)?,
            height: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The bytes of value `id` of series `series_id`; `None` when the series has no such value
/// (it was purged by a restart, or the id belongs to another series).
pub fn tensor_data(
    conn: &Connection,
    series_id: i64,
    id: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT data FROM tensors WHERE id = ?1 AND series_id = ?2")?
        .query_row(params![id, series_id], |r| r.get(0))
        .optional()?)
}

/// What the HParams plugin logged, as `(run, tag, HParamsPluginData bytes)` in run-name order
/// (runs not deleted).
pub fn hparams_data(conn: &Connection) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.name, h.tag, h.content FROM hparams_data h JOIN runs r ON r.id = h.run_id
         WHERE r.deleted_at IS NULL ORDER BY r.name, h.tag",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What the HParams plugin logged for one run, as `(tag, HParamsPluginData bytes)` in tag order.
pub fn hparams_data_of(conn: &Connection, run: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.tag, h.content FROM hparams_data h JOIN runs r ON r.id = h.run_id
         WHERE r.name = ?1 AND r.deleted_at IS NULL ORDER BY h.tag",
    )?;
    let rows = stmt.query_map([run], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The last point of a scalar series: what TensorBoard's `read_last_scalars` gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastScalar {
    /// Its step.
    pub step: i64,
    /// Its wall time.
    pub wall_time: f64,
    /// Its value (NaN when it was NaN).
    pub value: f64,
}

/// The last point of every scalar series, as `(run, tag, point)` in run and tag order (runs
/// not deleted).
pub fn last_scalars(conn: &Connection) -> Result<Vec<(String, String, LastScalar)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.name, s.tag, c.last_step, c.last_wall, c.last_value
         FROM series s JOIN runs r ON r.id = s.run_id
         JOIN scalar_chunks c ON c.series_id = s.id
             AND c.seq = (SELECT max(seq) FROM scalar_chunks m WHERE m.series_id = s.id)
         WHERE s.kind = 'scalar' AND r.deleted_at IS NULL
         ORDER BY r.name, s.tag",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            LastScalar {
                step: r.get(2)?,
                wall_time: r.get(3)?,
                value: r.get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN),
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The source signature (files, sizes, modification times) stored for `run`'s embedding
/// `name`, if its tensor was read.
pub fn embedding_source(
    conn: &rusqlite::Connection,
    run: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT e.source FROM embeddings e JOIN runs r ON r.id = e.run_id
             WHERE r.name = ?1 AND e.name = ?2 AND e.rows > 0 ORDER BY e.seq LIMIT 1",
        )?
        .query_row(params![run, name], |r| r.get(0))
        .optional()?)
}

/// An embedding of the projector as stored, without its data.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingRow {
    /// Its id (names its tensor chunks).
    pub id: i64,
    /// The run.
    pub run: String,
    /// Its place in the run's config.
    pub seq: i64,
    /// Its tensor name.
    pub name: String,
    /// Rows (0 when its tensor could not be read).
    pub rows: u64,
    /// Columns.
    pub dims: u64,
    /// Whether a metadata table, bookmarks and a sprite image were read.
    pub metadata: bool,
    /// See `metadata`.
    pub bookmarks: bool,
    /// See `metadata`.
    pub sprite: bool,
    /// Principal components kept.
    pub pca_k: u64,
    /// The PCA's variance per component, and how it was computed (JSON).
    pub pca_info: Option<String>,
    /// What could not be read.
    pub error: Option<String>,
}

/// The embeddings of `run` (or of every run not deleted), runs in start order, each run's in
/// config order.
pub fn embeddings(conn: &Connection, run: Option<&str>) -> Result<Vec<EmbeddingRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, r.name, e.seq, e.name, e.rows, e.dims, e.metadata IS NOT NULL,
                e.bookmarks IS NOT NULL, e.sprite IS NOT NULL, e.pca_k, e.pca_info, e.error
         FROM embeddings e JOIN runs r ON r.id = e.run_id
         WHERE r.deleted_at IS NULL AND (?1 IS NULL OR r.name = ?1)
         ORDER BY r.started_at, r.name, e.seq",
    )?;
    let rows = stmt.query_map([run], |r| {
        Ok(EmbeddingRow {
            id: r.get(0)?,
            run: r.get(1)?,
            seq: r.get(2)?,
            name: r.get(3)?,
            rows: r.get::<_, i64>(4)? as u64,
            dims: r.get::<_, i64>(5)? as u64,
            metadata: r.get(6)?,
            bookmarks: r.get(7)?,
            sprite: r.get(8)?,
            pca_k: r.get::<_, i64>(9)? as u64,
            pca_info: r.get(10)?,
            error: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `run`'s projector config (a serialized `ProjectorConfig`), when one was read.
pub fn projector_config(conn: &Connection, run: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT p.config FROM projector_configs p JOIN runs r ON r.id = p.run_id
             WHERE r.name = ?1 AND r.deleted_at IS NULL AND length(p.config) > 0",
        )?
        .query_row([run], |r| r.get(0))
        .optional()?)
}

/// A file of an embedding as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddingFile {
    /// The metadata TSV.
    Metadata,
    /// The bookmarks JSON.
    Bookmarks,
    /// The sprite image.
    Sprite,
    /// The PCA's coordinates (float32, `pca_k` a row).
    Pca,
}

/// The bytes of one file of embedding `id` (`None` when it was not read).
pub fn embedding_file(
    conn: &Connection,
    id: i64,
    file: EmbeddingFile,
) -> Result<Option<Vec<u8>>, StoreError> {
    let sql = match file {
        EmbeddingFile::Metadata => "SELECT metadata FROM embeddings WHERE id = ?1",
        EmbeddingFile::Bookmarks => "SELECT bookmarks FROM embeddings WHERE id = ?1",
        EmbeddingFile::Sprite => "SELECT sprite FROM embeddings WHERE id = ?1",
        EmbeddingFile::Pca => "SELECT pca FROM embeddings WHERE id = ?1",
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row([id], |r| r.get::<_, Option<Vec<u8>>>(0))
        .optional()?
        .flatten())
}

/// Embedding `e`'s whole tensor (float32 bytes, row by row), or `None` while it is still being
/// stored (an embedding read from files is committed first, its values just after).
pub fn embedding_values(
    conn: &Connection,
    e: &EmbeddingRow,
) -> Result<Option<Vec<u8>>, StoreError> {
    let bytes = embedding_tensor(conn, e.id, None)?;
    Ok((bytes.len() as u64 == e.rows * e.dims * 4).then_some(bytes))
}

/// The first `max_bytes` bytes (all without a limit) of embedding `id`'s tensor: float32
/// values, little-endian, row by row.
pub fn embedding_tensor(
    conn: &Connection,
    id: i64,
    max_bytes: Option<usize>,
) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM embedding_chunks WHERE embedding_id = ?1 ORDER BY chunk",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        let data = row
            .get_ref(0)?
            .as_blob()
            .map_err(|e| StoreError::Damaged(format!("an embedding chunk is not a blob: {e}")))?;
        let room = max_bytes.map_or(data.len(), |m| m.saturating_sub(out.len()).min(data.len()));
        out.extend_from_slice(&data[..room]);
        if max_bytes.is_some_and(|m| out.len() >= m) {
            break;
        }
    }
    Ok(out)
}
