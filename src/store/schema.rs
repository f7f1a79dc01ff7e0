//! The SQLite schema, as numbered migrations applied in order (never edit an applied one).

use rusqlite::Connection;

/// Migrations; `PRAGMA user_version` records how many are applied.
const MIGRATIONS: &[&str] = &[
    // 1: runs, series, chunked scalars, tensors (histograms, text, images), ingest offsets.
    r#"
    CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        started_at  REAL NOT NULL,            -- first wall time seen, seconds since the epoch
        updated_at  REAL NOT NULL,            -- last wall time seen
        hparams     TEXT                      -- JSON object, from the HParams plugin's session start
    );
    CREATE TABLE series (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        tag         TEXT NOT NULL,
        kind        TEXT NOT NULL,            -- scalar | histogram | text | image | tensor
        plugin      TEXT NOT NULL DEFAULT '', -- the plugin that wrote it (remembered across restarts)
        UNIQUE (run_id, tag)
    );
    -- A scalar series is a sequence of chunks (seq order = series order). Each holds up to a few
    -- thousand points as 24-byte records (in scalar_points), plus the summary a downsampled read
    -- needs (here). Summaries live apart from the blobs so that a zoomed-out read of a 10M-point
    -- series scans a few hundred kilobytes of dense rows, not the blobs' pages.
    CREATE TABLE scalar_chunks (
        series_id   INTEGER NOT NULL REFERENCES series(id),
        seq         INTEGER NOT NULL,
        count       INTEGER NOT NULL,
        first_step  INTEGER NOT NULL,
        first_wall  REAL NOT NULL,
        first_value REAL,
        last_step   INTEGER NOT NULL,
        last_wall   REAL NOT NULL,
        last_value  REAL,
        min_step    INTEGER NOT NULL,
        min_wall    REAL NOT NULL,
        min_value   REAL,
        max_step    INTEGER NOT NULL,
        max_wall    REAL NOT NULL,
        max_value   REAL,
        nan_step    INTEGER,                  -- the first NaN point, if any
        nan_wall    REAL,
        PRIMARY KEY (series_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE scalar_points (
        series_id   INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        points      BLOB NOT NULL,
        PRIMARY KEY (series_id, seq)
    );
    -- Histograms (JSON rows [left, right, count]), text (JSON array of strings), images (PNG).
    CREATE TABLE tensors (
        id          INTEGER PRIMARY KEY,
        series_id   INTEGER NOT NULL REFERENCES series(id),
        step        INTEGER NOT NULL,
        wall_time   REAL NOT NULL,
        width       INTEGER,
        height      INTEGER,
        data        BLOB NOT NULL
    );
    CREATE INDEX tensors_by_series ON tensors (series_id, step);
    -- Where each event file's committed data ends: written in the same transaction as the data.
    CREATE TABLE files (
        path            TEXT PRIMARY KEY,
        run_id          INTEGER NOT NULL REFERENCES runs(id),
        offset          INTEGER NOT NULL,
        records         INTEGER NOT NULL DEFAULT 0,
        skipped_records INTEGER NOT NULL DEFAULT 0,
        skipped_bytes   INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // 2: batches received over HTTP, by (session, seq): committed with their data, so a retried
    // batch is recognised and stored once.
    r#"
    CREATE TABLE ingest_batches (
        session     TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        points      INTEGER NOT NULL,
        PRIMARY KEY (session, seq)
    ) WITHOUT ROWID;
    "#,
    // 3: a file's identity (its first bytes when last read: a file rewritten or replaced under
    // the same name is recognised and read from its start), and what each HTTP batch key stored
    // (its run and a digest of its content: the same key with other content is a conflict, not
    // a duplicate). NULL in rows written before this migration: nothing to compare with.
    r#"
    ALTER TABLE files ADD COLUMN head BLOB;
    ALTER TABLE ingest_batches ADD COLUMN run_id INTEGER;
    ALTER TABLE ingest_batches ADD COLUMN digest INTEGER;
    "#,
    // 4: a value's id names it for good: AUTOINCREMENT, so the id of a value a restart purged
    // is never given to a later one (the APIs fetch images by id).
    r#"
    CREATE TABLE tensors_new (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        series_id   INTEGER NOT NULL REFERENCES series(id),
        step        INTEGER NOT NULL,
        wall_time   REAL NOT NULL,
        width       INTEGER,
        height      INTEGER,
        data        BLOB NOT NULL
    );
    INSERT INTO tensors_new (id, series_id, step, wall_time, width, height, data)
        SELECT id, series_id, step, wall_time, width, height, data FROM tensors;
    DROP TABLE tensors;
    ALTER TABLE tensors_new RENAME TO tensors;
    CREATE INDEX tensors_by_series ON tensors (series_id, step);
    "#,
    // 5: runs as experiments: what the SDK recorded (record, config, summary, metric goals,
    // status), when the run was last heard from, the user's edits (display name, tags, notes,
    // archived), deletion (the row stays as a tombstone: its files' offsets keep a deleted
    // logdir run from being read again), and the edit log.
    r#"
    ALTER TABLE runs ADD COLUMN record       TEXT;   -- the SDK's run record (JSON object)
    ALTER TABLE runs ADD COLUMN config       TEXT;   -- JSON object: the record's config, then config events
    ALTER TABLE runs ADD COLUMN summary      TEXT;   -- JSON object set by the user
    ALTER TABLE runs ADD COLUMN goals        TEXT;   -- JSON object: tag -> "min" | "max"
    ALTER TABLE runs ADD COLUMN state        TEXT;   -- running | finished | crashed (NULL: never said)
    ALTER TABLE runs ADD COLUMN exit_code    INTEGER;
    ALTER TABLE runs ADD COLUMN message      TEXT;
    ALTER TABLE runs ADD COLUMN seen_at      REAL;   -- server clock: last data or heartbeat
    ALTER TABLE runs ADD COLUMN host         TEXT;
    ALTER TABLE runs ADD COLUMN display_name TEXT;
    ALTER TABLE runs ADD COLUMN tags         TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE runs ADD COLUMN notes        TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN archived     INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN deleted_at   REAL;
    CREATE TABLE run_edits (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        at          REAL NOT NULL,
        origin      TEXT NOT NULL,            -- who asked: the client's address
        change      TEXT NOT NULL             -- JSON: the edit, or {"delete": true}
    );
    CREATE INDEX run_edits_by_run ON run_edits (run_id, id);
    "#,
    // 6: what the HParams plugin logged for a run, as logged (a serialized HParamsPluginData
    // under its tag: the experiment, the session's start or its end), for TensorBoard's
    // hparams API and the HParams tab. The latest of each tag is kept.
    r#"
    CREATE TABLE hparams_data (
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        tag         TEXT NOT NULL,            -- _hparams_/experiment | session_start_info | session_end_info
        content     BLOB NOT NULL,
        PRIMARY KEY (run_id, tag)
    ) WITHOUT ROWID;
    "#,
    // 7: a tensor series' plugin metadata content (`SummaryMetadata.plugin_data.content` of the
    // tag's first value): a mesh part's MeshPluginData, a PR curve's thresholds. NULL when none
    // was logged (and for series stored before).
    r#"
    ALTER TABLE series ADD COLUMN content BLOB;
    "#,
    // 8: the embedding projector's data: a run's projector config as TensorBoard serves it,
    // and each embedding it names with its files as read (the tensor as float32 rows in
    // chunks, the metadata, bookmarks and sprite as logged) and its PCA.
    r#"
    CREATE TABLE projector_configs (
        run_id      INTEGER PRIMARY KEY REFERENCES runs(id),
        path        TEXT NOT NULL,            -- the config file
        config      BLOB NOT NULL,            -- a serialized ProjectorConfig (shapes filled)
        error       TEXT                      -- why the file could not be read last time
    );
    CREATE TABLE embeddings (
        id          INTEGER PRIMARY KEY,
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        seq         INTEGER NOT NULL,         -- its place in the config
        name        TEXT NOT NULL,            -- its tensor name
        source      TEXT NOT NULL,            -- the files read: paths, sizes, modification times
        rows        INTEGER NOT NULL DEFAULT 0,
        dims        INTEGER NOT NULL DEFAULT 0,
        metadata    BLOB,
        bookmarks   BLOB,
        sprite      BLOB,
        pca         BLOB,                     -- rows × pca_k float32, little-endian
        pca_k       INTEGER NOT NULL DEFAULT 0,
        pca_info    TEXT,                     -- JSON: variance per component, sampled, projected
        error       TEXT                      -- what could not be read, a line each
    );
    CREATE INDEX embeddings_by_run ON embeddings (run_id, seq);
    -- A rowid table: its 4 MiB rows are never compared or moved when one is added (in a
    -- WITHOUT ROWID table each insert re-reads neighbouring rows whole: 3× slower).
    CREATE TABLE embedding_chunks (
        embedding_id INTEGER NOT NULL REFERENCES embeddings(id),
        chunk       INTEGER NOT NULL,
        data        BLOB NOT NULL,            -- float32 values, little-endian, whole rows
        PRIMARY KEY (embedding_id, chunk)
    );
    "#,
];

/// The schema version this build writes and reads (`PRAGMA user_version` once migrated).
pub fn version() -> usize {
    MIGRATIONS.len()
}

/// Applies the migrations not yet applied, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == 6 {
            backfill_hparams_data(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Migration 6's data: each run's hyperparameters as databases before it kept them (the
/// `runs.hparams` object) become its session start, so their runs stay in the HParams tab and
/// TensorBoard's hparams API (their experiments and session ends were not kept).
fn backfill_hparams_data(conn: &Connection) -> rusqlite::Result<()> {
    use runboard_proto::prost::Message;
    use runboard_sdk::event::HParams;
    let mut rows = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT id, started_at, hparams FROM runs
             WHERE hparams IS NOT NULL AND deleted_at IS NULL",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let (id, started_at, text): (i64, f64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let Some(json) = super::codec::hparams_json(&text) else {
                continue;
            };
            let start = HParams::SessionStart {
                hparams: super::codec::decode_hparams(&json),
                group_name: String::new(),
                start_time_secs: started_at,
                model_uri: String::new(),
                monitor_url: String::new(),
                other_values: Vec::new(),
            };
            rows.push((id, start.tag(), start.to_plugin_data().encode_to_vec()));
        }
    }
    let mut insert = conn
        .prepare("INSERT OR IGNORE INTO hparams_data (run_id, tag, content) VALUES (?1, ?2, ?3)")?;
    for (id, tag, content) in rows {
        insert.execute(rusqlite::params![id, tag, content])?;
    }
    Ok(())
}

/// Connection settings every connection uses: incremental auto-vacuum (new databases), WAL (readers never block the writer), foreign
/// keys, and a busy timeout so a reader waits out a checkpoint instead of failing.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // On a new database (before WAL mode and the first table), freed pages (a deleted run)
    // can be given back to the file system by `PRAGMA incremental_vacuum`. A no-op on older
    // databases, which reuse freed pages for new data instead.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_6_keeps_runs_hparams_as_their_session_start() {
        use runboard_proto::prost::Message;
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        configure(&conn).unwrap();
        for (i, sql) in MIGRATIONS.iter().enumerate().take(5) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64)
                .unwrap();
        }
        conn.execute_batch(
            r#"INSERT INTO runs (id, name, started_at, updated_at, hparams)
                   VALUES (1, 'a', 7, 8, '{"lr":0.1,"opt":"adam"}'), (2, 'b', 0, 0, NULL);"#,
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(i64, String, Vec<u8>)> = conn
            .prepare("SELECT run_id, tag, content FROM hparams_data")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].0, rows[0].1.as_str()),
            (1, "_hparams_/session_start_info")
        );
        let data =
            runboard_proto::tensorboard::hparams::HParamsPluginData::decode(rows[0].2.as_slice())
                .unwrap();
        match runboard_sdk::event::HParams::from_plugin_data(data) {
            Some(runboard_sdk::event::HParams::SessionStart {
                hparams,
                start_time_secs,
                ..
            }) => {
                assert_eq!(hparams.len(), 2);
                assert_eq!(start_time_secs, 7.0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tensors_keep_their_ids_across_migration_4_and_ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        configure(&conn).unwrap();
        // A database of version 3 holding two values.
        for (i, sql) in MIGRATIONS.iter().enumerate().take(3) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", (i + 1) as i64)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO runs (id, name, started_at, updated_at) VALUES (1, 'r', 0, 0);
             INSERT INTO series (id, run_id, tag, kind) VALUES (1, 1, 'img', 'image');
             INSERT INTO tensors (id, series_id, step, wall_time, data) VALUES (7, 1, 1, 0, x'01');
             INSERT INTO tensors (id, series_id, step, wall_time, data) VALUES (9, 1, 2, 0, x'02');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM tensors ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids, [7, 9]);
        // The newest value is purged; the next one gets a new id, not 9 again.
        conn.execute("DELETE FROM tensors WHERE id = 9", [])
            .unwrap();
        conn.execute(
            "INSERT INTO tensors (series_id, step, wall_time, data) VALUES (1, 2, 0, x'03')",
            [],
        )
        .unwrap();
        assert_eq!(conn.last_insert_rowid(), 10);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        configure(&conn).unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }
}
