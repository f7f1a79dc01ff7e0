//! Embeddings for TensorBoard's projector and runboard's, written as tensorboardX's
//! `add_embedding` writes them: the projector reads files, not events, so each call writes
//! `<run>/<step:05>/<tag>/tensors.tsv` (one row a line, values tab-separated),
//! `metadata.tsv` beside it when labels are given, and appends an `embeddings { ... }` entry
//! naming them (tensor name `<tag>:<step:05>`) to `<run>/projector_config.pbtxt`.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The config file the projector reads in a run folder.
pub const CONFIG_FILE: &str = "projector_config.pbtxt";

/// Why an embedding was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbeddingError {
    /// No rows, or rows of different lengths.
    #[error(
        "an embedding is rows of one length, at least one: row {row} has {len} values, the first {dims}"
    )]
    Ragged {
        /// The first row of another length.
        row: usize,
        /// Its length.
        len: usize,
        /// The first row's.
        dims: usize,
    },
    /// No rows at all, or empty ones.
    #[error("an embedding needs at least one row of at least one value")]
    Empty,
    /// Labels that do not pair with the rows.
    #[error("{labels} labels for {rows} rows: give one a row, or none")]
    Labels {
        /// Labels given.
        labels: usize,
        /// Rows given.
        rows: usize,
    },
}

/// One call's embedding, written on the writer thread.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingFiles {
    /// The run folder.
    pub dir: PathBuf,
    /// The embedding's tag.
    pub tag: String,
    /// Its step.
    pub step: i64,
    /// Values a row.
    pub dims: usize,
    /// The rows, one after another.
    pub values: Vec<f32>,
    /// One label a row (a tab in a label separates columns), or none.
    pub labels: Vec<String>,
}

impl EmbeddingFiles {
    /// Checks `rows` and `labels` and gathers them (on the caller's thread: a copy).
    pub fn new<R: AsRef<[f32]>, L: AsRef<str>>(
        dir: &Path,
        tag: &str,
        rows: &[R],
        labels: &[L],
        step: i64,
    ) -> Result<EmbeddingFiles, EmbeddingError> {
        let dims = rows.first().map_or(0, |r| r.as_ref().len());
        if dims == 0 {
            return Err(EmbeddingError::Empty);
        }
        if let Some((row, r)) = rows
            .iter()
            .enumerate()
            .find(|(_, r)| r.as_ref().len() != dims)
        {
            return Err(EmbeddingError::Ragged {
                row,
                len: r.as_ref().len(),
                dims,
            });
        }
        if !labels.is_empty() && labels.len() != rows.len() {
            return Err(EmbeddingError::Labels {
                labels: labels.len(),
                rows: rows.len(),
            });
        }
        Ok(EmbeddingFiles {
            dir: dir.to_path_buf(),
            tag: tag.to_owned(),
            step,
            dims,
            values: rows
                .iter()
                .flat_map(|r| r.as_ref().iter().copied())
                .collect(),
            labels: labels.iter().map(|l| l.as_ref().to_owned()).collect(),
        })
    }

    /// The folder of this call's files, relative to the run: `<step:05>/<tag>` with `%`, `/`
    /// and `\` escaped in the tag as tensorboardX escapes them.
    pub fn subdir(&self) -> String {
        let tag = self
            .tag
            .replace('%', "%25")
            .replace('/', "%2f")
            .replace('\\', "%5c");
        format!("{:05}/{tag}", self.step)
    }

    /// Its tensor name in the config: `<tag>:<step:05>`.
    pub fn name(&self) -> String {
        format!("{}:{:05}", self.tag, self.step)
    }

    /// As streamed to a server.
    pub fn to_proto(&self) -> runboard_proto::runboard::ingest::Embedding {
        runboard_proto::runboard::ingest::Embedding {
            dims: u32::try_from(self.dims).unwrap_or(u32::MAX),
            values: self.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            labels: self.labels.clone(),
        }
    }

    /// Writes the files and appends the config entry.
    pub fn write(&self) -> std::io::Result<()> {
        let subdir = self.subdir();
        let folder = self.dir.join(&subdir);
        std::fs::create_dir_all(&folder)?;
        let mut tsv = std::io::BufWriter::new(std::fs::File::create(folder.join("tensors.tsv"))?);
        for row in self.values.chunks_exact(self.dims) {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    tsv.write_all(b"\t")?;
                }
                // The float32's exact value as a double: read back, it rounds to itself.
                write!(tsv, "{}", f64::from(*v))?;
            }
            tsv.write_all(b"\n")?;
        }
        tsv.flush()?;
        if !self.labels.is_empty() {
            let mut text = String::new();
            for label in &self.labels {
                text.push_str(&label.replace(['\n', '\r'], " "));
                text.push('\n');
            }
            std::fs::write(folder.join("metadata.tsv"), text)?;
        }
        let mut entry = format!(
            "embeddings {{\ntensor_name: \"{}\"\ntensor_path: \"{subdir}/tensors.tsv\"\n",
            escape(&self.name()),
        );
        if !self.labels.is_empty() {
            entry.push_str(&format!("metadata_path: \"{subdir}/metadata.tsv\"\n"));
        }
        entry.push_str("}\n");
        let mut config = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(CONFIG_FILE))?;
        config.write_all(entry.as_bytes())
    }
}

/// `s` inside a protobuf text-format string.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_laid_out_as_tensorboardx_lays_them_out() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [[0.1f32, 2.0], [-3.5, f32::NAN]];
        let e = EmbeddingFiles::new(dir.path(), "a/b", &rows, &["x", "y"], 7).unwrap();
        assert_eq!(e.subdir(), "00007/a%2fb");
        e.write().unwrap();
        let tsv = std::fs::read_to_string(dir.path().join("00007/a%2fb/tensors.tsv")).unwrap();
        assert_eq!(tsv, "0.10000000149011612\t2\n-3.5\tNaN\n");
        let meta = std::fs::read_to_string(dir.path().join("00007/a%2fb/metadata.tsv")).unwrap();
        assert_eq!(meta, "x\ny\n");
        EmbeddingFiles::new(dir.path(), "plain", &rows, &[] as &[&str], 0)
            .unwrap()
            .write()
            .unwrap();
        let config = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert_eq!(
            config,
            "embeddings {\ntensor_name: \"a/b:00007\"\ntensor_path: \"00007/a%2fb/tensors.tsv\"\n\
             metadata_path: \"00007/a%2fb/metadata.tsv\"\n}\n\
             embeddings {\ntensor_name: \"plain:00000\"\ntensor_path: \"00000/plain/tensors.tsv\"\n}\n"
        );
    }

    #[test]
    fn bad_embeddings_are_refused() {
        let dir = Path::new("/nowhere");
        let none: &[&str] = &[];
        assert_eq!(
            EmbeddingFiles::new(dir, "t", &[vec![1.0f32, 2.0], vec![3.0]], none, 0).unwrap_err(),
            EmbeddingError::Ragged {
                row: 1,
                len: 1,
                dims: 2
            }
        );
        assert_eq!(
            EmbeddingFiles::new(dir, "t", &[] as &[Vec<f32>], none, 0).unwrap_err(),
            EmbeddingError::Empty
        );
        assert!(matches!(
            EmbeddingFiles::new(dir, "t", &[[1.0f32]], &["a", "b"], 0),
            Err(EmbeddingError::Labels { labels: 2, rows: 1 })
        ));
    }
}
