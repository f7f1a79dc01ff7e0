//! The projector's files, rebuilt beside a run's exported events: `projector_config.pbtxt`
//! (the stored config, in protobuf text format) and each embedding's files at the paths it
//! names — the tensor as TSV (its float32 values exactly), the metadata, bookmarks and sprite as
//! logged. A path that would leave the run's folder is replaced by `embedding-<n>/<file>`.

use std::io::Write;
use std::path::{Component, Path};

use prost::Message;
use runboard_proto::tensorboard::projector::ProjectorConfig;
use rusqlite::Connection;

use super::ExportError;
use crate::projector::CONFIG_FILE;
use crate::store::StoreError;
use crate::store::query::{self, EmbeddingFile};

/// Whether `path` stays inside the folder it is relative to (plain names only).
fn stays_inside(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Writes `run`'s projector files into `dir` (nothing when it has none); returns the
/// embeddings written.
pub(super) fn write_run(conn: &Connection, dir: &Path, run: &str) -> Result<u64, ExportError> {
    let Some(bytes) = query::projector_config(conn, run)? else {
        return Ok(0);
    };
    let mut config = ProjectorConfig::decode(bytes.as_slice())
        .map_err(|e| StoreError::Damaged(format!("run {run:?}'s projector config: {e}")))?;
    let stored = query::embeddings(conn, Some(run))?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| ExportError::Write {
            path: path.clone(),
            source,
        }
    };
    let mut written = 0;
    for (seq, info) in config.embeddings.iter_mut().enumerate() {
        let found = stored.iter().find(|e| e.seq == seq as i64 && e.rows > 0);
        let Some((e, values)) = found
            .map(|e| Ok::<_, StoreError>((e, query::embedding_values(conn, e)?)))
            .transpose()?
            .and_then(|(e, v)| Some((e, v?)))
        else {
            continue; // not read (or not stored yet): its entry is kept, naming absent files
        };
        let place = |path: &mut String, file: &str| {
            if !stays_inside(path) {
                *path = format!("embedding-{seq}/{file}");
            }
            dir.join(path.as_str())
        };
        let tensor_path = place(&mut info.tensor_path, "tensors.tsv");
        let failed = io(&tensor_path);
        std::fs::create_dir_all(tensor_path.parent().unwrap_or(dir)).map_err(&failed)?;
        let mut tsv =
            std::io::BufWriter::new(std::fs::File::create(&tensor_path).map_err(&failed)?);
        for row in values.chunks_exact(e.dims as usize * 4) {
            for (i, v) in row.chunks_exact(4).enumerate() {
                let v = f32::from_le_bytes(v.try_into().expect("4 bytes"));
                if i > 0 {
                    tsv.write_all(b"\t").map_err(&failed)?;
                }
                write!(tsv, "{}", f64::from(v)).map_err(&failed)?;
            }
            tsv.write_all(b"\n").map_err(&failed)?;
        }
        tsv.flush().map_err(&failed)?;
        let files = [
            (
                EmbeddingFile::Metadata,
                &mut info.metadata_path,
                "metadata.tsv",
            ),
            (
                EmbeddingFile::Bookmarks,
                &mut info.bookmarks_path,
                "bookmarks.json",
            ),
        ];
        for (file, path, name) in files {
            if let Some(bytes) = query::embedding_file(conn, e.id, file)? {
                let target = place(path, name);
                write_file(&target, &bytes)?;
            }
        }
        if let (Some(bytes), Some(sprite)) = (
            query::embedding_file(conn, e.id, EmbeddingFile::Sprite)?,
            info.sprite.as_mut(),
        ) {
            let target = place(&mut sprite.image_path, "sprite.png");
            write_file(&target, &bytes)?;
        }
        written += 1;
    }
    write_file(
        &dir.join(CONFIG_FILE),
        crate::projector::config_text(&config).as_bytes(),
    )?;
    Ok(written)
}

/// Writes `bytes` to `path`, creating its folder.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let failed = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(failed)?;
    std::fs::write(path, bytes).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_round_trip_through_text_format() {
        let config = crate::projector::parse_config(
            r#"embeddings { tensor_name: "a:00000" tensor_path: "00000/a/tensors.tsv"
               tensor_shape: 3 tensor_shape: 2 sprite { image_path: "s.png" single_image_dim: 8 } }"#,
        )
        .unwrap();
        assert_eq!(
            crate::projector::parse_config(&crate::projector::config_text(&config)).unwrap(),
            config
        );
        assert!(stays_inside("00000/a/tensors.tsv"));
        for bad in ["../x", "/etc/passwd", "a/../../b", ""] {
            assert!(!stays_inside(bad), "{bad}");
        }
    }
}
