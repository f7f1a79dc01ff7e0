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
    /// Thumbnails that are not one `size × size` image a row.
    #[error("thumbnails: {bytes} bytes for {rows} rows of {size} × {size} × {channels} pixels")]
    Thumbnails {
        /// Bytes given.
        bytes: usize,
        /// Rows given.
        rows: usize,
        /// Side of a thumbnail.
        size: u32,
        /// Channels a pixel.
        channels: u8,
    },
    /// The sprite would be larger than TensorBoard's projector loads (8192 pixels a side).
    #[error(
        "a sprite of {side} × {side} pixels: TensorBoard's projector loads at most 8192 a side"
    )]
    SpriteTooLarge {
        /// Its side.
        side: u64,
    },
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
    /// One square thumbnail a row for the sprite image, or none.
    pub thumbnails: Option<Thumbnails>,
}

/// One square thumbnail a row: `size × size` pixels of `channels` bytes (1 grey, 3 RGB, 4
/// RGBA), row-major, one image after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnails {
    /// The pixels.
    pub pixels: Vec<u8>,
    /// A thumbnail's side.
    pub size: u32,
    /// Bytes a pixel.
    pub channels: u8,
}

/// TensorBoard's projector loads sprites up to this many pixels a side.
pub const MAX_SPRITE_SIDE: u64 = 8192;

impl Thumbnails {
    /// Checks that they are one thumbnail for each of `rows` rows, and that their sprite fits.
    pub fn check(&self, rows: usize) -> Result<(), EmbeddingError> {
        let side = sprite_grid(rows) as u64 * u64::from(self.size);
        if side > MAX_SPRITE_SIDE {
            return Err(EmbeddingError::SpriteTooLarge { side });
        }
        let one = self.size as usize * self.size as usize * usize::from(self.channels);
        if one == 0 || self.pixels.len() != one * rows || ![1, 3, 4].contains(&self.channels) {
            return Err(EmbeddingError::Thumbnails {
                bytes: self.pixels.len(),
                rows,
                size: self.size,
                channels: self.channels,
            });
        }
        Ok(())
    }

    /// The sprite: a square grid of the thumbnails, row-major from the top left, as a PNG
    /// (tensorboardX's `make_sprite` layout: `ceil(sqrt(n))` a row).
    pub fn sprite_png(&self, rows: usize) -> Result<Vec<u8>, crate::summary::ImageError> {
        let per_row = sprite_grid(rows);
        let (size, ch) = (self.size as usize, usize::from(self.channels));
        let side = per_row * size;
        let mut canvas = vec![0u8; side * side * ch];
        for (i, thumb) in self.pixels.chunks_exact(size * size * ch).enumerate() {
            let (gx, gy) = (i % per_row, i / per_row);
            for y in 0..size {
                let from = &thumb[y * size * ch..(y + 1) * size * ch];
                let at = ((gy * size + y) * side + gx * size) * ch;
                canvas[at..at + size * ch].copy_from_slice(from);
            }
        }
        crate::summary::encode_png(&canvas, side as u32, side as u32, self.channels)
    }
}

/// Thumbnails a sprite row holds for `rows` thumbnails.
fn sprite_grid(rows: usize) -> usize {
    ((rows as f64).sqrt().ceil() as usize).max(1)
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
            thumbnails: None,
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

    /// As streamed to a server (the sprite as its PNG).
    pub fn to_proto(&self) -> runboard_proto::runboard::ingest::Embedding {
        let rows = self.values.len() / self.dims.max(1);
        let sprite = self
            .thumbnails
            .as_ref()
            .and_then(|t| Some((t.sprite_png(rows).ok()?, t.size)));
        runboard_proto::runboard::ingest::Embedding {
            dims: u32::try_from(self.dims).unwrap_or(u32::MAX),
            values: self.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            labels: self.labels.clone(),
            sprite: sprite.as_ref().map(|s| s.0.clone()).unwrap_or_default(),
            thumbnail_size: sprite.map_or(0, |s| s.1),
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
        if let Some(t) = &self.thumbnails {
            let rows = self.values.len() / self.dims;
            let png = t.sprite_png(rows).map_err(std::io::Error::other)?;
            std::fs::write(folder.join("sprite.png"), png)?;
            entry.push_str(&format!(
                "sprite {{\nimage_path: \"{subdir}/sprite.png\"\nsingle_image_dim: {0}\nsingle_image_dim: {0}\n}}\n",
                t.size
            ));
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
    fn thumbnails_make_a_square_sprite_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        // 5 grey 2 × 2 thumbnails, each filled with its index: a 3 × 3 grid of 6 × 6 pixels.
        let pixels: Vec<u8> = (0..5u8).flat_map(|i| [i * 50; 4]).collect();
        let mut e =
            EmbeddingFiles::new(dir.path(), "t", &[[0.0f32]; 5], &[] as &[&str], 0).unwrap();
        let thumbs = Thumbnails {
            pixels,
            size: 2,
            channels: 1,
        };
        thumbs.check(5).unwrap();
        e.thumbnails = Some(thumbs);
        e.write().unwrap();
        let png = std::fs::read(dir.path().join("00000/t/sprite.png")).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (6, 6));
        // Thumbnail 4 is the second of the second row: pixels (2..4, 2..4).
        assert_eq!(buf[2 * 6 + 2], 200);
        assert_eq!(buf[2 * 6 + 4], 0, "the sixth place is empty");
        let config = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(config.contains("image_path: \"00000/t/sprite.png\"\nsingle_image_dim: 2\n"));
        let wrong = Thumbnails {
            pixels: vec![0; 7],
            size: 2,
            channels: 1,
        };
        assert!(wrong.check(5).is_err());
        let huge = Thumbnails {
            pixels: Vec::new(),
            size: 1000,
            channels: 1,
        };
        assert!(matches!(
            huge.check(100),
            Err(EmbeddingError::SpriteTooLarge { .. })
        ));
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
