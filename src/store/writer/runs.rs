//! The writer's side of runs as experiments: run events from the SDK (record, config,
//! summary, metric goals, status) and the user's edits and deletions.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value as Json};

use super::{RunOp, RunOpAck, RunOpDone, StoreError, Writer};
use crate::runs::{RunEdit, RunEvent};

/// Seconds since the epoch, now.
fn now() -> f64 {
    runboard_sdk::event_file::now_secs()
}

impl Writer {
    /// Applies a run event of run `run_id` (its JSON text; one that does not parse is logged
    /// once per run and skipped: the rest of the batch is kept).
    pub(super) fn apply_run_event(
        &mut self,
        run_id: i64,
        run: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let event = match RunEvent::parse(text) {
            Ok(e) => e,
            Err(why) => {
                tracing::warn!(run, "a run event that cannot be read was skipped: {why}");
                return Ok(());
            }
        };
        match event {
            RunEvent::Record(record) => {
                let host = record.get("host").and_then(Json::as_str).map(str::to_owned);
                let config = match record.get("config") {
                    Some(Json::Object(c)) => c.clone(),
                    _ => Map::new(),
                };
                self.conn
                    .prepare_cached(
                        "UPDATE runs SET record = ?2, host = coalesce(?3, host) WHERE id = ?1",
                    )?
                    .execute(params![run_id, Json::Object(record).to_string(), host])?;
                self.merge_json_column(run_id, "config", config)?;
            }
            RunEvent::Config(config) => self.merge_json_column(run_id, "config", config)?,
            RunEvent::Summary(summary) => self.merge_json_column(run_id, "summary", summary)?,
            RunEvent::Metric { tag, goal } => {
                let mut m = Map::new();
                m.insert(tag, serde_json::to_value(goal).unwrap_or(Json::Null));
                self.merge_json_column(run_id, "goals", m)?;
            }
            RunEvent::Status {
                state,
                exit_code,
                message,
            } => {
                self.conn
                    .prepare_cached(
                        "UPDATE runs SET state = ?2, exit_code = ?3, message = ?4 WHERE id = ?1",
                    )?
                    .execute(params![run_id, state.as_str(), exit_code, message])?;
            }
            // Being heard from is recorded for every batch (`seen_at`).
            RunEvent::Heartbeat | RunEvent::Unknown => return Ok(()),
        }
        self.note_updated(run);
        Ok(())
    }

    /// Merges `keys` into the JSON object in `column` of the run (later keys win).
    fn merge_json_column(
        &mut self,
        run_id: i64,
        column: &'static str,
        keys: Map<String, Json>,
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let old: Option<String> = self
            .conn
            .prepare_cached(&format!("SELECT {column} FROM runs WHERE id = ?1"))?
            .query_row([run_id], |r| r.get(0))?;
        let mut merged = match old.as_deref().map(serde_json::from_str::<Json>) {
            Some(Ok(Json::Object(m))) => m,
            _ => Map::new(),
        };
        merged.extend(keys);
        self.conn
            .prepare_cached(&format!("UPDATE runs SET {column} = ?2 WHERE id = ?1"))?
            .execute(params![run_id, Json::Object(merged).to_string()])?;
        Ok(())
    }

    /// Names `run` in the change as updated (subscribers refetch the run list).
    pub(super) fn note_updated(&mut self, run: &str) {
        if !self.change.updated_runs.iter().any(|r| r == run) {
            self.change.updated_runs.push(run.to_owned());
        }
    }

    /// Applies the users' run changes, each in its own transaction, answering each and
    /// publishing what changed.
    pub(super) fn run_ops(&mut self, ops: Vec<(RunOp, RunOpAck)>) {
        for (op, ack) in ops {
            let answer = self.run_op(op).map_err(|e| super::CommitFailure {
                full: e.is_full(),
                message: e.to_string(),
            });
            match &answer {
                Ok(_) => {
                    self.commits
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let change = std::mem::take(&mut self.change);
                    if change != super::Change::default() {
                        let _ = self.changes.send(std::sync::Arc::new(change));
                    }
                }
                Err(failure) => {
                    tracing::error!("store: a run edit failed: {}", failure.message);
                    self.change = super::Change::default();
                }
            }
            let _ = ack.send(answer);
        }
    }

    fn run_op(&mut self, op: RunOp) -> Result<RunOpDone, StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = match op {
            RunOp::Edit { run, edit, origin } => self.edit_run(&run, &edit, &origin),
            RunOp::Delete { run, origin } => self.delete_run(&run, &origin),
        };
        let result = result.and_then(|d| Ok(self.conn.execute_batch("COMMIT").map(|()| d)?));
        match result {
            Ok(done) => {
                if done == RunOpDone::Done {
                    self.reclaim_space();
                }
                Ok(done)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                // The caches may name rows the rollback removed or restored.
                self.runs.clear();
                self.series.clear();
                self.dirty.clear();
                Err(e)
            }
        }
    }

    /// The id of a run that exists and is not deleted.
    fn live_run_id(&self, run: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM runs WHERE name = ?1 AND deleted_at IS NULL")?
            .query_row([run], |r| r.get(0))
            .optional()?)
    }

    fn log_edit(&mut self, run_id: i64, origin: &str, change: &Json) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO run_edits (run_id, at, origin, change) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![run_id, now(), origin, change.to_string()])?;
        Ok(())
    }

    fn edit_run(
        &mut self,
        run: &str,
        edit: &RunEdit,
        origin: &str,
    ) -> Result<RunOpDone, StoreError> {
        let Some(id) = self.live_run_id(run)? else {
            return Ok(RunOpDone::NotFound);
        };
        if let Some(name) = &edit.display_name {
            let name = name.as_deref().filter(|n| !n.trim().is_empty());
            self.conn
                .prepare_cached("UPDATE runs SET display_name = ?2 WHERE id = ?1")?
                .execute(params![id, name])?;
        }
        if let Some(tags) = edit.unique_tags() {
            let tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
            self.conn
                .prepare_cached("UPDATE runs SET tags = ?2 WHERE id = ?1")?
                .execute(params![id, tags])?;
        }
        if let Some(notes) = &edit.notes {
            self.conn
                .prepare_cached("UPDATE runs SET notes = ?2 WHERE id = ?1")?
                .execute(params![id, notes])?;
        }
        if let Some(archived) = edit.archived {
            self.conn
                .prepare_cached("UPDATE runs SET archived = ?2 WHERE id = ?1")?
                .execute(params![id, archived])?;
        }
        let change = serde_json::to_value(edit).unwrap_or(Json::Null);
        self.log_edit(id, origin, &change)?;
        self.note_updated(run);
        Ok(RunOpDone::Done)
    }

    /// Removes a run's series and values, and resets its row to a tombstone: the row keeps
    /// its id, its files' offsets (a deleted logdir run is read again only from where its
    /// files grow) and its HTTP batch keys (a retried batch is still a duplicate).
    fn delete_run(&mut self, run: &str, origin: &str) -> Result<RunOpDone, StoreError> {
        let Some(id) = self.live_run_id(run)? else {
            return Ok(RunOpDone::NotFound);
        };
        self.conn.execute_batch(&format!(
            "DELETE FROM scalar_points WHERE series_id IN (SELECT id FROM series WHERE run_id = {id});
             DELETE FROM scalar_chunks WHERE series_id IN (SELECT id FROM series WHERE run_id = {id});
             DELETE FROM tensors WHERE series_id IN (SELECT id FROM series WHERE run_id = {id});
             DELETE FROM series WHERE run_id = {id};
             DELETE FROM hparams_data WHERE run_id = {id};"
        ))?;
        self.conn
            .prepare_cached(
                "UPDATE runs SET deleted_at = ?2, hparams = NULL, record = NULL, config = NULL,
                     summary = NULL, goals = NULL, state = NULL, exit_code = NULL, message = NULL,
                     seen_at = NULL, display_name = NULL, tags = '[]', notes = '', archived = 0
                 WHERE id = ?1",
            )?
            .execute(params![id, now()])?;
        self.log_edit(id, origin, &serde_json::json!({"delete": true}))?;
        self.runs.remove(run);
        self.series.retain(|(run_id, _), _| *run_id != id);
        self.dirty.retain(|(run_id, _)| *run_id != id);
        self.change.deleted_runs.push(run.to_owned());
        Ok(RunOpDone::Done)
    }

    /// Gives freed pages back to the file system where the database allows it (databases
    /// created by this version); elsewhere SQLite reuses them for new data.
    fn reclaim_space(&mut self) {
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap_or(0);
        if mode == 2 {
            // It frees a page per step: step it to the end.
            let vacuum = |conn: &rusqlite::Connection| -> rusqlite::Result<()> {
                let mut stmt = conn.prepare("PRAGMA incremental_vacuum")?;
                let mut rows = stmt.query([])?;
                while rows.next()?.is_some() {}
                Ok(())
            };
            if let Err(e) = vacuum(&self.conn) {
                tracing::warn!("store: could not give freed pages back: {e}");
            }
        }
    }

    /// Whether run `id` is a tombstone, and if so brings it back for new data (fresh start
    /// time, nothing of the deleted run's record).
    pub(super) fn revive_if_deleted(
        &mut self,
        id: i64,
        name: &str,
        first_wall: f64,
    ) -> Result<(), StoreError> {
        let deleted: Option<f64> = self
            .conn
            .prepare_cached("SELECT deleted_at FROM runs WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        if deleted.is_some() {
            let started = if first_wall.is_finite() {
                first_wall
            } else {
                now()
            };
            self.conn
                .prepare_cached(
                    "UPDATE runs SET deleted_at = NULL, started_at = ?2, updated_at = ?2 WHERE id = ?1",
                )?
                .execute(params![id, started])?;
            self.change.new_runs.push(name.to_owned());
        }
        Ok(())
    }
}
