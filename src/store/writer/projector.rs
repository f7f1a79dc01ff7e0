//! The writer's side of the embedding projector: a run's config and embeddings replaced by
//! what its config file says now, embeddings whose files did not change kept as stored.

use prost::Message;
use runboard_proto::tensorboard::projector::ProjectorConfig;
use rusqlite::{OptionalExtension, params};

use super::{StoreError, Writer};
use crate::projector::{EmbeddingData, EmbeddingRead};
use crate::store::ProjectorUpdate;

/// The config path and source of embeddings sent over HTTP (no file).
const STREAMED: &str = "(streamed)";

/// Values a stored tensor chunk holds at most (4 MiB of float32; whole rows, at least one).
const CHUNK_VALUES: usize = 1 << 20;

impl Writer {
    /// Stores what run `run_id`'s projector config says now.
    pub(super) fn apply_projector(
        &mut self,
        run_id: i64,
        update: ProjectorUpdate,
    ) -> Result<(), StoreError> {
        match update {
            ProjectorUpdate::Removed => {
                self.conn.execute(
                    "DELETE FROM embedding_chunks WHERE embedding_id IN
                         (SELECT id FROM embeddings WHERE run_id = ?1)",
                    [run_id],
                )?;
                self.conn
                    .execute("DELETE FROM embeddings WHERE run_id = ?1", [run_id])?;
                self.conn
                    .execute("DELETE FROM projector_configs WHERE run_id = ?1", [run_id])?;
            }
            ProjectorUpdate::Append { info, data } => {
                let stored: Option<Vec<u8>> = self
                    .conn
                    .query_row(
                        "SELECT config FROM projector_configs WHERE run_id = ?1",
                        [run_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                let mut config = stored
                    .and_then(|b| ProjectorConfig::decode(b.as_slice()).ok())
                    .unwrap_or_default();
                let seq = match config
                    .embeddings
                    .iter()
                    .position(|e| e.tensor_name == info.tensor_name)
                {
                    Some(seq) => {
                        config.embeddings[seq] = *info.clone();
                        seq
                    }
                    None => {
                        config.embeddings.push(*info.clone());
                        config.embeddings.len() - 1
                    }
                };
                self.conn.execute(
                    "INSERT INTO projector_configs (run_id, path, config, error) VALUES (?1, ?2, ?3, NULL)
                     ON CONFLICT (run_id) DO UPDATE SET config = ?3, error = NULL",
                    params![run_id, STREAMED, config.encode_to_vec()],
                )?;
                let old: Vec<i64> = self
                    .conn
                    .prepare_cached("SELECT id FROM embeddings WHERE run_id = ?1 AND seq = ?2")?
                    .query_map(params![run_id, seq as i64], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                for id in old {
                    self.conn
                        .execute("DELETE FROM embedding_chunks WHERE embedding_id = ?1", [id])?;
                    self.conn
                        .execute("DELETE FROM embeddings WHERE id = ?1", [id])?;
                }
                self.insert_embedding(run_id, seq, &info.tensor_name, STREAMED, Some(&data), None)?;
            }
            ProjectorUpdate::Tensor {
                seq,
                source,
                values,
            } => {
                let id: Option<(i64, i64)> = self
                    .conn
                    .query_row(
                        "SELECT id, dims FROM embeddings WHERE run_id = ?1 AND seq = ?2 AND source = ?3",
                        params![run_id, seq as i64, source],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some((id, dims)) = id {
                    self.conn
                        .execute("DELETE FROM embedding_chunks WHERE embedding_id = ?1", [id])?;
                    self.insert_chunks(id, dims as usize, &values)?;
                }
            }
            ProjectorUpdate::Failed { path, error } => {
                tracing::warn!(
                    config = path,
                    "the projector config cannot be read: {error}"
                );
                self.conn.execute(
                    "INSERT INTO projector_configs (run_id, path, config, error) VALUES (?1, ?2, x'', ?3)
                     ON CONFLICT (run_id) DO UPDATE SET path = ?2, error = ?3",
                    params![run_id, path, error],
                )?;
            }
            ProjectorUpdate::Read { path, read } => {
                self.conn.execute(
                    "INSERT INTO projector_configs (run_id, path, config, error) VALUES (?1, ?2, ?3, NULL)
                     ON CONFLICT (run_id) DO UPDATE SET path = ?2, config = ?3, error = NULL",
                    params![run_id, path, read.config.encode_to_vec()],
                )?;
                let stored: Vec<(i64, String)> = self
                    .conn
                    .prepare_cached(
                        "SELECT id, name FROM embeddings WHERE run_id = ?1 ORDER BY seq",
                    )?
                    .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let mut kept = Vec::new();
                for (seq, e) in read.embeddings.into_iter().enumerate() {
                    let old = stored
                        .iter()
                        .find(|(id, name)| *name == e.name && !kept.contains(id))
                        .map(|(id, _)| *id);
                    let id = match (e.read, old) {
                        (EmbeddingRead::Unchanged, Some(id)) => {
                            self.conn.execute(
                                "UPDATE embeddings SET seq = ?2 WHERE id = ?1",
                                params![id, seq as i64],
                            )?;
                            id
                        }
                        (EmbeddingRead::Unchanged, None) => {
                            // Said unchanged, but not stored (never happens: the reader asks
                            // the store): stored as failed, read again on the next change.
                            self.insert_embedding(
                                run_id,
                                seq,
                                &e.name,
                                "",
                                None,
                                Some("not read yet"),
                            )?
                        }
                        (EmbeddingRead::Read(data), _) => self.insert_embedding(
                            run_id,
                            seq,
                            &e.name,
                            &e.source,
                            Some(&data),
                            None,
                        )?,
                        (EmbeddingRead::Failed(why), _) => {
                            tracing::warn!(config = path, embedding = e.name, "{why}");
                            self.insert_embedding(
                                run_id,
                                seq,
                                &e.name,
                                &e.source,
                                None,
                                Some(&why),
                            )?
                        }
                    };
                    kept.push(id);
                }
                for (id, _) in stored.iter().filter(|(id, _)| !kept.contains(id)) {
                    self.conn
                        .execute("DELETE FROM embedding_chunks WHERE embedding_id = ?1", [id])?;
                    self.conn
                        .execute("DELETE FROM embeddings WHERE id = ?1", [id])?;
                }
            }
        }
        Ok(())
    }

    /// Inserts an embedding (its data, or the error that kept it from being read).
    fn insert_embedding(
        &mut self,
        run_id: i64,
        seq: usize,
        name: &str,
        source: &str,
        data: Option<&EmbeddingData>,
        error: Option<&str>,
    ) -> Result<i64, StoreError> {
        let f32_bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
        let error = match (data, error) {
            (Some(d), _) if !d.errors.is_empty() => Some(d.errors.join("\n")),
            (_, e) => e.map(str::to_owned),
        };
        let pca_info = data.map(|d| serde_json::to_string(&d.pca).unwrap_or_default());
        self.conn
            .prepare_cached(
                "INSERT INTO embeddings (run_id, seq, name, source, rows, dims, metadata, bookmarks,
                     sprite, pca, pca_k, pca_info, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                run_id,
                seq as i64,
                name,
                source,
                data.map_or(0, |d| d.rows as i64),
                data.map_or(0, |d| d.dims as i64),
                data.and_then(|d| d.metadata.as_deref()),
                data.and_then(|d| d.bookmarks.as_deref()),
                data.and_then(|d| d.sprite.as_deref()),
                data.map(|d| f32_bytes(&d.pca.coords)),
                data.map_or(0, |d| d.pca.k as i64),
                pca_info,
                error,
            ])?;
        let id = self.conn.last_insert_rowid();
        if let Some(d) = data {
            self.insert_chunks(id, d.dims, &d.tensor)?;
        }
        Ok(id)
    }

    /// Stores embedding `id`'s values (rows of `dims`) in chunks of whole rows.
    fn insert_chunks(&mut self, id: i64, dims: usize, values: &[f32]) -> Result<(), StoreError> {
        let per_chunk = (CHUNK_VALUES / dims.max(1)).max(1) * dims.max(1);
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO embedding_chunks (embedding_id, chunk, data) VALUES (?1, ?2, ?3)",
        )?;
        for (i, chunk) in values.chunks(per_chunk).enumerate() {
            let bytes: Vec<u8> = chunk.iter().flat_map(|x| x.to_le_bytes()).collect();
            insert.execute(params![id, i as i64, bytes])?;
        }
        Ok(())
    }
}
