//! The embedding projector's data: a run folder's `projector_config.pbtxt` (protobuf text
//! format) and the files it names, read as TensorBoard 2.21's projector plugin reads them, with
//! limits, and the PCA the dashboard draws.
//!
//! ```text
//!   <run>/projector_config.pbtxt ─► ProjectorConfig ─► per embedding: tensor file (TSV, or raw
//!   (or its plugin assets folder)    float32 with tensor_shape), metadata TSV, bookmarks JSON,
//!                                    sprite image ─► EmbeddingData (+ PCA) ─► store
//! ```
//!
//! tensorboardX's `add_embedding` writes `<logdir>/<step:05>/<tag>/tensors.tsv` (and
//! `metadata.tsv`, `sprite.png`) and appends an `embeddings { ... }` entry to the writer
//! folder's config; runboard's SDK writes the same layout.
//!
//! Where runboard departs from TensorBoard: a file that is missing, too large, unreadable or
//! outside the config's folder is an error of that embedding (kept and said), not a failure of
//! the whole plugin (TensorBoard answers 500 for every route when one tensor file is missing);
//! `~` in paths is not expanded; checkpoints (TensorFlow's) are not read.

use std::path::{Component, Path, PathBuf};

use prost_reflect::{DescriptorPool, DynamicMessage};
use runboard_proto::tensorboard::projector::{EmbeddingInfo, ProjectorConfig, SpriteMetadata};
use serde::Serialize;

/// The config file's name (TensorBoard's `PROJECTOR_FILENAME`).
pub const CONFIG_FILE: &str = "projector_config.pbtxt";

/// Where a run may also keep its config: its projector plugin assets folder,
/// `<run>/plugins/org_tensorflow_tensorboard_projector/` (TensorFlow's writers put it there).
const PLUGIN_ASSETS_DIR: [&str; 2] = ["plugins", "org_tensorflow_tensorboard_projector"];

/// How many components of the PCA are kept (TensorBoard offers the first 10).
pub const PCA_COMPONENTS: usize = 10;
/// Rows the PCA's covariance is estimated from at most (TensorBoard's projector samples
/// 50,000 points for PCA too).
const PCA_SAMPLE_ROWS: usize = 50_000;
/// Above this many columns, rows are first projected at random down to it (as TensorBoard's
/// projector does, to 200).
const PCA_MAX_DIMS: usize = 200;

/// The most bytes of each file read; a larger file is an error of its embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `projector_config.pbtxt`.
    pub config: u64,
    /// A tensor file (TSV or raw float32).
    pub tensor: u64,
    /// A metadata TSV.
    pub metadata: u64,
    /// A sprite image.
    pub sprite: u64,
    /// A bookmarks JSON file.
    pub bookmarks: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        const MIB: u64 = 1 << 20;
        Limits {
            config: MIB,
            tensor: 4096 * MIB,
            metadata: 512 * MIB,
            sprite: 64 * MIB,
            bookmarks: 16 * MIB,
        }
    }
}

/// The run a config file belongs to, from its folder relative to the logdir: the folder itself
/// (`.` for the logdir), or the run above its plugin assets folder.
pub fn run_of_config(logdir: &Path, config: &Path) -> Option<String> {
    let folder = config.parent()?.strip_prefix(logdir).ok()?;
    let mut parts: Vec<String> = folder
        .components()
        .map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if parts.len() >= 2 && parts[parts.len() - 2..] == PLUGIN_ASSETS_DIR {
        parts.truncate(parts.len() - 2);
    }
    Some(if parts.is_empty() {
        crate::types::RunName::ROOT.to_owned()
    } else {
        parts.join("/")
    })
}

/// `ProjectorConfig`'s descriptor, for protobuf text format (decoded from the compiled
/// descriptors once).
fn config_descriptor() -> prost_reflect::MessageDescriptor {
    static DESCRIPTOR: std::sync::OnceLock<prost_reflect::MessageDescriptor> =
        std::sync::OnceLock::new();
    DESCRIPTOR
        .get_or_init(|| {
            DescriptorPool::decode(runboard_proto::FILE_DESCRIPTOR_SET)
                .expect("the compiled descriptors load")
                .get_message_by_name("tensorboard.projector.ProjectorConfig")
                .expect("ProjectorConfig is compiled in")
        })
        .clone()
}

/// Parses a config in protobuf text format.
pub fn parse_config(text: &str) -> Result<ProjectorConfig, String> {
    let message = DynamicMessage::parse_text_format(config_descriptor(), text)
        .map_err(|e| format!("not a ProjectorConfig in text format: {e}"))?;
    message
        .transcode_to::<ProjectorConfig>()
        .map_err(|e| format!("not a ProjectorConfig: {e}"))
}

/// A config in protobuf text format (what [`parse_config`] reads back).
pub fn config_text(config: &ProjectorConfig) -> String {
    let mut message = DynamicMessage::new(config_descriptor());
    message
        .transcode_from(config)
        .expect("a ProjectorConfig transcodes to its own descriptor");
    message.to_text_format()
}

/// The canonical form of a tensor name (`name:0`), as TensorBoard matches names.
fn canonical(name: &str) -> String {
    if name.contains(':') {
        name.to_owned()
    } else {
        format!("{name}:0")
    }
}

/// The first embedding of `config` whose tensor name matches `name` (TensorBoard's lookup).
pub fn find<'a>(config: &'a ProjectorConfig, name: &str) -> Option<(usize, &'a EmbeddingInfo)> {
    let want = canonical(name);
    config
        .embeddings
        .iter()
        .enumerate()
        .find(|(_, e)| canonical(&e.tensor_name) == want)
}

/// `path` (as a config names it) resolved against the config's folder; an error when it leads
/// outside that folder (TensorBoard's rule, symlinks resolved).
pub fn resolve(config_dir: &Path, path: &str) -> Result<PathBuf, String> {
    let outside = || format!("Asset path \"{path}\" resolves outside the config directory");
    let dir = config_dir.canonicalize().map_err(|e| e.to_string())?;
    let joined = dir.join(path);
    // A missing file cannot be canonicalized: resolve its folder, then check the name.
    let resolved = match joined.canonicalize() {
        Ok(p) => p,
        Err(_) => {
            let parent = joined.parent().ok_or_else(outside)?;
            let name = joined.file_name().ok_or_else(outside)?;
            parent
                .canonicalize()
                .map_err(|_| format!("\"{path}\" not found"))?
                .join(name)
        }
    };
    if resolved.starts_with(&dir) {
        Ok(resolved)
    } else {
        Err(outside())
    }
}

/// What was read of one embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingData {
    /// Rows (points).
    pub rows: usize,
    /// Columns (dimensions).
    pub dims: usize,
    /// The values, row by row, as float32 (what TensorBoard serves).
    pub tensor: Vec<f32>,
    /// The metadata TSV as logged.
    pub metadata: Option<Vec<u8>>,
    /// The bookmarks JSON as logged.
    pub bookmarks: Option<Vec<u8>>,
    /// The sprite image as logged.
    pub sprite: Option<Vec<u8>>,
    /// The projection on the first principal components.
    pub pca: Pca,
    /// What could not be read (a file missing, too large, malformed), one line each.
    pub errors: Vec<String>,
}

/// An embedding as a config entry gives it: read, unchanged since the last read, or failed.
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingRead {
    /// Read now.
    Read(Box<EmbeddingData>),
    /// The files are those read before (same sizes and modification times).
    Unchanged,
    /// The tensor could not be read: why.
    Failed(String),
}

/// One entry of a config, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// Its tensor name as TensorBoard lists it.
    pub name: String,
    /// The sizes and modification times of the files read, to tell when they change.
    pub source: String,
    /// What was read.
    pub read: EmbeddingRead,
}

/// A config file and its embeddings, read.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRead {
    /// The config as TensorBoard serves it (`:0` suffixes cut, shapes filled from the tensors).
    pub config: ProjectorConfig,
    /// One per entry of `config.embeddings`, in order.
    pub embeddings: Vec<Embedding>,
}

/// A file's size and modification time, as a signature of its content.
fn signature(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{}:{mtime}", path.display(), m.len())
        }
        Err(_) => format!("{}:missing", path.display()),
    }
}

/// Reads a file of at most `limit` bytes; errors name it as `shown` (as the config names it:
/// the server's own paths are not told to clients).
fn read_limited(path: &Path, shown: &str, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("the {what} file \"{shown}\" cannot be read: {e}"))?;
    if meta.is_dir() {
        return Err(format!("the {what} file \"{shown}\" is a folder"));
    }
    if meta.len() > limit {
        return Err(format!(
            "the {what} file \"{shown}\" holds {} bytes, more than the {limit} read at most",
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("the {what} file \"{shown}\" cannot be read: {e}"))
}

/// Reads the config at `config_path` and each embedding's files. `previous` gives the source
/// signature stored for each tensor name; an embedding whose files still match is not read
/// again. A config that cannot be read or parsed is an error; an embedding's problems are its
/// own.
pub fn read_config(
    config_path: &Path,
    limits: Limits,
    previous: &dyn Fn(&str) -> Option<String>,
) -> Result<ConfigRead, String> {
    let bytes = read_limited(config_path, CONFIG_FILE, limits.config, "projector config")?;
    let text =
        String::from_utf8(bytes).map_err(|_| "the projector config is not UTF-8".to_owned())?;
    let mut config = parse_config(&text)?;
    let dir = config_path.parent().unwrap_or(Path::new("."));
    // TensorBoard names the first embedding with a tensor file after its file when unnamed.
    if let Some(e) = config
        .embeddings
        .iter_mut()
        .find(|e| !e.tensor_path.is_empty())
        .filter(|e| e.tensor_name.is_empty())
    {
        e.tensor_name = Path::new(&e.tensor_path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let mut embeddings = Vec::with_capacity(config.embeddings.len());
    for info in &mut config.embeddings {
        if let Some(stripped) = info.tensor_name.strip_suffix(":0") {
            info.tensor_name = stripped.to_owned();
        }
        let paths: Vec<&str> = [
            info.tensor_path.as_str(),
            info.metadata_path.as_str(),
            info.bookmarks_path.as_str(),
            info.sprite.as_ref().map_or("", |s| s.image_path.as_str()),
        ]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
        let source = paths
            .iter()
            .map(|p| resolve(dir, p).map_or_else(|e| e, |p| signature(&p)))
            .collect::<Vec<_>>()
            .join("\n");
        let read = if info.tensor_path.is_empty() {
            EmbeddingRead::Failed(
                "no tensor_path: tensors in TensorFlow checkpoints are not read".into(),
            )
        } else if previous(&info.tensor_name).as_deref() == Some(source.as_str()) {
            EmbeddingRead::Unchanged
        } else {
            match read_embedding(dir, info, limits) {
                Ok(data) => EmbeddingRead::Read(Box::new(data)),
                Err(e) => EmbeddingRead::Failed(e),
            }
        };
        if let EmbeddingRead::Read(data) = &read {
            if info.tensor_shape.is_empty() {
                info.tensor_shape = vec![data.rows as u32, data.dims as u32];
            }
        }
        embeddings.push(Embedding {
            name: info.tensor_name.clone(),
            source,
            read,
        });
    }
    Ok(ConfigRead { config, embeddings })
}

/// Reads one embedding's tensor (an error if it cannot be) and its other files (their errors
/// kept with the data).
fn read_embedding(
    dir: &Path,
    info: &EmbeddingInfo,
    limits: Limits,
) -> Result<EmbeddingData, String> {
    let path = resolve(dir, &info.tensor_path)?;
    let bytes = read_limited(&path, &info.tensor_path, limits.tensor, "tensor")?;
    let (rows, dims, tensor) = match std::str::from_utf8(&bytes) {
        Ok(text) => parse_tsv(text)?,
        Err(_) => parse_binary(&bytes, &info.tensor_shape)?,
    };
    drop(bytes);
    let mut errors = Vec::new();
    let mut optional = |p: &str, limit: u64, what: &str| -> Option<Vec<u8>> {
        if p.is_empty() {
            return None;
        }
        match resolve(dir, p).and_then(|path| read_limited(&path, p, limit, what)) {
            Ok(b) => Some(b),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    };
    let metadata = optional(&info.metadata_path, limits.metadata, "metadata");
    let bookmarks = optional(&info.bookmarks_path, limits.bookmarks, "bookmarks");
    let sprite = optional(
        info.sprite.as_ref().map_or("", |s| s.image_path.as_str()),
        limits.sprite,
        "sprite image",
    );
    if let Some(m) = &metadata {
        let lines = metadata_rows(m);
        if lines != rows {
            errors.push(format!(
                "the metadata has {lines} rows (after its header) for the tensor's {rows}"
            ));
        }
    }
    let pca = pca(&tensor, rows, dims);
    Ok(EmbeddingData {
        rows,
        dims,
        tensor,
        metadata,
        bookmarks,
        sprite,
        pca,
        errors,
    })
}

/// The data rows of a metadata TSV: its lines, less a header (a first line with a tab, as
/// TensorBoard decides), less a final empty line.
pub fn metadata_rows(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let header = lines.first().is_some_and(|l| l.contains('\t'));
    lines.len() - usize::from(header)
}

/// An embedding sent over HTTP (`tag` its tensor name, `<tag>:<step:05>` from the SDK): its
/// config entry, naming the files the SDK writes beside its events (so an export lays them out
/// the same way), and its data with the PCA. An error says why it cannot be stored.
pub fn streamed(
    tag: &str,
    step: i64,
    e: &runboard_proto::runboard::ingest::Embedding,
) -> Result<(EmbeddingInfo, EmbeddingData), String> {
    let (dims, values, labels) = (e.dims as usize, e.values.as_slice(), e.labels.as_slice());
    if !e.sprite.is_empty() && crate::api::image_media_type(&e.sprite) != Some("image/png") {
        return Err("a sprite is a PNG image".into());
    }
    if dims == 0 || values.is_empty() || values.len() % (4 * dims) != 0 {
        return Err(format!(
            "an embedding of {dims} values a row needs a positive multiple of {} bytes, not {}",
            4 * dims,
            values.len()
        ));
    }
    let rows = values.len() / (4 * dims);
    if !labels.is_empty() && labels.len() != rows {
        return Err(format!("{} labels for {rows} rows", labels.len()));
    }
    let tensor: Vec<f32> = values
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect();
    let base = tag
        .strip_suffix(&format!(":{step:05}"))
        .unwrap_or(tag)
        .replace('%', "%25")
        .replace('/', "%2f")
        .replace('\\', "%5c");
    let subdir = format!("{step:05}/{base}");
    let metadata = (!labels.is_empty()).then(|| {
        labels
            .iter()
            .flat_map(|l| [l.replace(['\n', '\r'], " "), "\n".to_owned()])
            .collect::<String>()
            .into_bytes()
    });
    let sprite = (!e.sprite.is_empty()).then(|| e.sprite.clone());
    let info = EmbeddingInfo {
        sprite: sprite.as_ref().map(|_| SpriteMetadata {
            image_path: format!("{subdir}/sprite.png"),
            single_image_dim: vec![e.thumbnail_size; 2],
        }),
        tensor_name: tag.to_owned(),
        tensor_path: format!("{subdir}/tensors.tsv"),
        metadata_path: if metadata.is_some() {
            format!("{subdir}/metadata.tsv")
        } else {
            String::new()
        },
        tensor_shape: vec![rows as u32, dims as u32],
        ..Default::default()
    };
    let pca = pca(&tensor, rows, dims);
    Ok((
        info,
        EmbeddingData {
            rows,
            dims,
            tensor,
            metadata,
            bookmarks: None,
            sprite,
            pca,
            errors: Vec::new(),
        },
    ))
}

/// A TSV tensor: one row a line (empty lines skipped), values separated by tabs, each read as
/// Python's `float` reads it and rounded to float32 (TensorBoard's `np.array(..., float32)`).
fn parse_tsv(text: &str) -> Result<(usize, usize, Vec<f32>), String> {
    let mut values = Vec::new();
    let mut rows = 0;
    let mut dims = None;
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let before = values.len();
        for field in line.split('\t') {
            let v: f64 = parse_float(field)
                .ok_or_else(|| format!("tensor line {}: {field:?} is not a number", i + 1))?;
            values.push(v as f32);
        }
        let n = values.len() - before;
        match dims {
            None => dims = Some(n),
            Some(d) if d != n => {
                return Err(format!(
                    "tensor line {}: {n} values where the first row has {d}",
                    i + 1
                ));
            }
            Some(_) => {}
        }
        rows += 1;
    }
    match dims {
        Some(d) => Ok((rows, d, values)),
        None => Err("the tensor file holds no rows".into()),
    }
}

/// A number as Python's `float()` reads it: surrounding whitespace, `nan`, `inf`, `infinity`
/// in any case, with a sign.
fn parse_float(s: &str) -> Option<f64> {
    let s = s.trim();
    s.parse().ok().or_else(|| {
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'-') => (-1.0, &s[1..]),
            Some(b'+') => (1.0, &s[1..]),
            _ => (1.0, s),
        };
        match rest.to_ascii_lowercase().as_str() {
            "nan" => Some(f64::NAN),
            "inf" | "infinity" => Some(sign * f64::INFINITY),
            _ => None,
        }
    })
}

/// A raw little-endian float32 tensor of the config's `tensor_shape` (2D).
fn parse_binary(bytes: &[u8], shape: &[u32]) -> Result<(usize, usize, Vec<f32>), String> {
    let [rows, dims] = shape[..] else {
        return Err(format!(
            "the tensor file is not text, and a binary tensor needs a 2D tensor_shape, not {shape:?}"
        ));
    };
    let (rows, dims) = (rows as usize, dims as usize);
    if rows * dims * 4 != bytes.len() {
        return Err(format!(
            "the binary tensor file holds {} bytes, not the {} of a {rows} × {dims} float32 tensor",
            bytes.len(),
            rows * dims * 4
        ));
    }
    let tensor = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    Ok((rows, dims, tensor))
}

/// An embedding's principal components: each row projected on the first `k` of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pca {
    /// Components kept.
    pub k: usize,
    /// Row by row, `k` coordinates each.
    #[serde(skip)]
    pub coords: Vec<f32>,
    /// The share of the variance each component explains.
    pub variance: Vec<f64>,
    /// Whether the covariance was estimated from a sample of the rows.
    pub sampled: bool,
    /// Whether rows were first projected at random to fewer columns.
    pub projected: bool,
}

/// A small deterministic generator (xorshift64*) for sampling and random projections.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A standard normal number (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let v = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The PCA of a `rows × dims` tensor: the covariance estimated from up to
/// [`PCA_SAMPLE_ROWS`] rows (evenly spaced), after a seeded random projection to
/// [`PCA_MAX_DIMS`] columns when there are more, diagonalised by Jacobi rotations; every row
/// is then projected on the first [`PCA_COMPONENTS`] components (signs fixed so that each
/// component's largest coefficient is positive: the same data always draws the same way).
pub fn pca(tensor: &[f32], rows: usize, dims: usize) -> Pca {
    let projected = dims > PCA_MAX_DIMS;
    let d = dims.min(PCA_MAX_DIMS);
    let row = |r: usize| &tensor[r * dims..(r + 1) * dims];
    let stride = rows.div_ceil(PCA_SAMPLE_ROWS).max(1);
    let sample: Vec<usize> = (0..rows)
        .step_by(stride)
        .filter(|&r| row(r).iter().all(|v| v.is_finite()))
        .collect();
    let n = sample.len().max(1) as f64;
    let mut mean = vec![0.0; dims];
    for &r in &sample {
        for (m, &v) in mean.iter_mut().zip(row(r)) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    // The random projection, dims × d, when there are too many columns.
    let projection: Option<Vec<f64>> = projected.then(|| {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let scale = 1.0 / (d as f64).sqrt();
        (0..dims * d).map(|_| rng.normal() * scale).collect()
    });
    // The covariance of the sample (centred, projected).
    let mut cov = vec![0.0; d * d];
    let mut y = vec![0.0; d];
    for &r in &sample {
        match &projection {
            None => {
                for ((o, &v), m) in y.iter_mut().zip(row(r)).zip(&mean) {
                    *o = f64::from(v) - m;
                }
            }
            Some(p) => {
                y.fill(0.0);
                for (i, (&v, m)) in row(r).iter().zip(&mean).enumerate() {
                    let v = f64::from(v) - m;
                    for (o, w) in y.iter_mut().zip(&p[i * d..(i + 1) * d]) {
                        *o += v * w;
                    }
                }
            }
        }
        for i in 0..d {
            let yi = y[i];
            for j in i..d {
                cov[i * d + j] += yi * y[j];
            }
        }
    }
    for i in 0..d {
        for j in i..d {
            let v = cov[i * d + j] / n;
            cov[i * d + j] = v;
            cov[j * d + i] = v;
        }
    }
    let trace: f64 = (0..d).map(|i| cov[i * d + i]).sum();
    let (values, vectors) = jacobi_eigen(cov, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let k = d.min(PCA_COMPONENTS);
    // Each component as a `dims`-long direction in the original space (through the
    // projection), signs fixed.
    let mut directions = vec![0.0; k * dims];
    for (c, &i) in order.iter().take(k).enumerate() {
        let column: Vec<f64> = (0..d).map(|r| vectors[r * d + i]).collect();
        let top = column
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(1.0);
        let sign = if top < 0.0 { -1.0 } else { 1.0 };
        let out = &mut directions[c * dims..(c + 1) * dims];
        match &projection {
            None => out.iter_mut().zip(&column).for_each(|(o, v)| *o = sign * v),
            Some(p) => {
                for (j, o) in out.iter_mut().enumerate() {
                    let w = &p[j * d..(j + 1) * d];
                    *o = sign * w.iter().zip(&column).map(|(a, b)| a * b).sum::<f64>();
                }
            }
        }
    }
    let variance = order
        .iter()
        .take(k)
        .map(|&i| {
            if trace > 0.0 {
                values[i].max(0.0) / trace
            } else {
                0.0
            }
        })
        .collect();
    // Every row, centred and projected in float32 (the coordinates' own precision), eight lanes
    // at a time so that the compiler vectorises the loop: this is most of the PCA's time.
    let directions: Vec<f32> = directions.iter().map(|&v| v as f32).collect();
    let mean: Vec<f32> = mean.iter().map(|&v| v as f32).collect();
    let mut coords = Vec::with_capacity(rows * k);
    let mut x = vec![0.0f32; dims];
    for r in 0..rows {
        for ((o, &v), m) in x.iter_mut().zip(row(r)).zip(&mean) {
            *o = v - m;
        }
        for c in 0..k {
            coords.push(dot_f32(&directions[c * dims..(c + 1) * dims], &x));
        }
    }
    Pca {
        k,
        coords,
        variance,
        sampled: stride > 1,
        projected,
    }
}

/// The dot product of two slices of the same length, summed in eight lanes.
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// The eigenvalues and eigenvectors (as the columns of a `d × d` row-major matrix) of a
/// symmetric matrix, by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let norm: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..50 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-12 * norm.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() <= f64::MIN_POSITIVE {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let akp = a[k * d + p];
                    let akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let apk = a[p * d + k];
                    let aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let vkp = v[k * d + p];
                    let vkq = v[k * d + q];
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

/// A config as TensorBoard's `info` route writes it (`json_format.MessageToJson`: camelCase
/// names in field-number order, defaults left out, two-space indents).
pub fn config_json(config: &ProjectorConfig) -> String {
    /// A JSON value whose objects keep their fields' order.
    enum J {
        S(String),
        U(Vec<u32>),
        O(Vec<(String, J)>),
        A(Vec<J>),
    }
    impl Serialize for J {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            match self {
                J::S(v) => v.serialize(s),
                J::U(v) => v.serialize(s),
                J::A(v) => v.serialize(s),
                J::O(fields) => {
                    let mut m = s.serialize_map(Some(fields.len()))?;
                    for (k, v) in fields {
                        m.serialize_entry(k, v)?;
                    }
                    m.end()
                }
            }
        }
    }
    let obj = |pairs: Vec<(&str, Option<J>)>| {
        J::O(
            pairs
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
                .collect(),
        )
    };
    let s = |v: &str| (!v.is_empty()).then(|| J::S(v.to_owned()));
    let u = |v: &[u32]| (!v.is_empty()).then(|| J::U(v.to_vec()));
    let embeddings: Vec<J> = config
        .embeddings
        .iter()
        .map(|e| {
            let sprite = e.sprite.as_ref().map(|sp| {
                obj(vec![
                    ("imagePath", s(&sp.image_path)),
                    ("singleImageDim", u(&sp.single_image_dim)),
                ])
            });
            obj(vec![
                ("tensorName", s(&e.tensor_name)),
                ("metadataPath", s(&e.metadata_path)),
                ("bookmarksPath", s(&e.bookmarks_path)),
                ("tensorShape", u(&e.tensor_shape)),
                ("sprite", sprite),
                ("tensorPath", s(&e.tensor_path)),
            ])
        })
        .collect();
    let top = obj(vec![
        ("modelCheckpointPath", s(&config.model_checkpoint_path)),
        (
            "embeddings",
            (!embeddings.is_empty()).then_some(J::A(embeddings)),
        ),
        ("modelCheckpointDir", s(&config.model_checkpoint_dir)),
    ]);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    top.serialize(&mut ser)
        .expect("strings and numbers serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests;
