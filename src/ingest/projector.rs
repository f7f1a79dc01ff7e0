//! Following the embedding projector's files: a `projector_config.pbtxt` anywhere in the
//! logdir, and the files it names, read again (into the store) when any of them changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::projector::{self, CONFIG_FILE, Limits};
use crate::store::{Batch, Item, ProjectorUpdate, Store, StoreError, query};
use crate::types::RunName;

/// The configs seen and what they name.
#[derive(Debug, Default)]
pub(super) struct Follower {
    /// Configs read (their data is in the store).
    configs: BTreeSet<PathBuf>,
    /// Each file a config names → that config.
    named: BTreeMap<PathBuf, PathBuf>,
    /// Configs to read again.
    dirty: BTreeSet<PathBuf>,
}

impl Follower {
    /// Notes that `path` changed (appeared, grew, vanished): a config, or a file one names,
    /// makes that config dirty. Returns whether it did.
    pub(super) fn changed(&mut self, path: &Path) -> bool {
        let config = if path.file_name().is_some_and(|n| n == CONFIG_FILE) {
            Some(path.to_path_buf())
        } else if self.named.is_empty() {
            None
        } else {
            // Named files are kept with symlinks resolved.
            let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
            self.named.get(&real).cloned()
        };
        match config {
            Some(c) => self.dirty.insert(c),
            None => false,
        }
    }

    /// Notes that everything under `folder` is gone.
    pub(super) fn gone_under(&mut self, folder: &Path) {
        let gone: Vec<PathBuf> = self
            .configs
            .iter()
            .filter(|c| c.starts_with(folder))
            .cloned()
            .collect();
        self.dirty.extend(gone);
    }

    /// Reads each dirty config (and the files it names that changed) into the store.
    pub(super) fn read_dirty(&mut self, logdir: &Path, store: &Store) -> Result<(), StoreError> {
        // Paths from notifications are absolute, the logdir may not be: compare them resolved.
        let real_logdir = logdir
            .canonicalize()
            .unwrap_or_else(|_| logdir.to_path_buf());
        while let Some(config) = self.dirty.pop_first() {
            let real_config = config
                .parent()
                .and_then(|p| p.canonicalize().ok())
                .zip(config.file_name())
                .map_or_else(|| config.clone(), |(dir, name)| dir.join(name));
            let Some(run) = projector::run_of_config(&real_logdir, &real_config)
                .and_then(|r| RunName::new(r).ok())
            else {
                tracing::debug!(config = %config.display(), "a projector config outside the logdir");
                continue;
            };
            let path = real_config
                .strip_prefix(&real_logdir)
                .unwrap_or(&config)
                .to_string_lossy()
                .into_owned();
            self.named.retain(|_, c| *c != config);
            let update = if !config.is_file() {
                if !self.configs.remove(&config) {
                    continue;
                }
                ProjectorUpdate::Removed
            } else {
                let previous = |name: &str| {
                    store
                        .read(|c| query::embedding_source(c, &run, name))
                        .ok()
                        .flatten()
                };
                self.configs.insert(config.clone());
                match projector::read_config(&config, Limits::default(), &previous) {
                    Ok(read) => {
                        let dir = config.parent().unwrap_or(logdir);
                        for e in &read.config.embeddings {
                            let names = [
                                e.tensor_path.as_str(),
                                e.metadata_path.as_str(),
                                e.bookmarks_path.as_str(),
                                e.sprite.as_ref().map_or("", |s| s.image_path.as_str()),
                            ];
                            for name in names.into_iter().filter(|n| !n.is_empty()) {
                                if let Ok(file) = projector::resolve(dir, name) {
                                    self.named.insert(file, config.clone());
                                }
                            }
                        }
                        ProjectorUpdate::Read { path, read }
                    }
                    Err(error) => ProjectorUpdate::Failed { path, error },
                }
            };
            // The embeddings and their PCA are committed first, so the projector lists and
            // draws them at once; each tensor (what neighbours and TensorBoard's `tensor`
            // route read: the bulk of the bytes) follows in a commit of its own.
            let mut update = update;
            let tensors = match &mut update {
                ProjectorUpdate::Read { read, .. } => read
                    .embeddings
                    .iter_mut()
                    .enumerate()
                    .filter_map(|(seq, e)| match &mut e.read {
                        projector::EmbeddingRead::Read(data) => Some(ProjectorUpdate::Tensor {
                            seq,
                            source: e.source.clone(),
                            values: std::mem::take(&mut data.tensor),
                        }),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let has_tensors = !tensors.is_empty();
            for (i, update) in std::iter::once(update).chain(tensors).enumerate() {
                store.submit(Batch {
                    run: run.clone(),
                    items: vec![Item::Projector(Box::new(update))],
                    progress: None,
                    dedup: None,
                })?;
                if i == 0 && has_tensors {
                    // Committed on its own (the writer would group queued batches).
                    store.flush()?;
                }
            }
        }
        Ok(())
    }
}
