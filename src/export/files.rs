//! Files under `--out`: names made safe from tags and run names, the output folder checked, and files written whole (under a temporary name, renamed when complete).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use super::ExportError;

/// Makes a file name of a tag: letters, digits, `-`, `_` and `.` are kept, anything else
/// (`/`, spaces, `:`, ...) becomes `_`; a name that would be hidden or empty gets a leading
/// `_`, and it is cut to 200 bytes. Different tags can give the same name: see [`FileNames`].
pub fn sanitize_file_name(tag: &str) -> String {
    let mut name: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    if name.len() > 200 {
        name.truncate(200); // ASCII only: any byte index is a char boundary
    }
    name
}

/// Unique file names for tags within one folder: the sanitized name, then `-2`, `-3`, ... for
/// later tags that sanitize to a name already taken (compared without case, so the files do
/// not collide on case-insensitive file systems either).
#[derive(Debug, Default)]
pub struct FileNames {
    taken: HashSet<String>,
}

impl FileNames {
    /// The file name for `tag` with `extension`.
    pub fn name(&mut self, tag: &str, extension: &str) -> String {
        let base = sanitize_file_name(tag);
        let mut n = 1;
        loop {
            let name = if n == 1 {
                format!("{base}.{extension}")
            } else {
                format!("{base}-{n}.{extension}")
            };
            if self.taken.insert(name.to_lowercase()) {
                return name;
            }
            n += 1;
        }
    }
}

/// The folder of a run under `out` (`/` in a run's name makes sub-folders; `.` is the root
/// run), refusing names that would escape `out`.
pub fn run_folder(out: &Path, run: &str) -> Result<PathBuf, ExportError> {
    if run == "." {
        return Ok(out.to_path_buf());
    }
    let unsafe_name = || ExportError::UnsafeRunName(run.to_owned());
    let mut path = out.to_path_buf();
    for part in run.split('/') {
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(c)), None) if c == part => path.push(part),
            _ => return Err(unsafe_name()),
        }
    }
    Ok(path)
}

/// The output folder, created if missing and checked writable.
pub(super) fn prepare_out(out: &Path) -> Result<(), ExportError> {
    let unwritable = |reason: String| ExportError::Unwritable {
        path: out.to_path_buf(),
        reason,
    };
    if out.exists() && !out.is_dir() {
        return Err(unwritable("it exists and is not a folder".into()));
    }
    std::fs::create_dir_all(out).map_err(|e| unwritable(e.to_string()))?;
    tempfile::Builder::new()
        .prefix(".runboard-export-probe")
        .tempfile_in(out)
        .map_err(|e| unwritable(e.to_string()))?;
    Ok(())
}

/// A file written under a temporary name (`.<name>.partial`) and renamed into place by
/// [`PartialFile::finish`]; dropped unfinished, the temporary file is removed.
pub(super) struct PartialFile {
    /// Where the file goes once finished.
    pub(super) path: PathBuf,
    tmp: PathBuf,
    /// The temporary file, buffered.
    pub(super) out: BufWriter<File>,
    done: bool,
}

impl PartialFile {
    /// Creates the temporary file beside `path`.
    pub(super) fn create(path: PathBuf) -> Result<PartialFile, ExportError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.partial"));
        let file = File::create(&tmp).map_err(|source| ExportError::Write {
            path: tmp.clone(),
            source,
        })?;
        Ok(PartialFile {
            path,
            tmp,
            out: BufWriter::with_capacity(1 << 20, file),
            done: false,
        })
    }

    /// A write error, naming the file.
    pub(super) fn error(&self, source: io::Error) -> ExportError {
        ExportError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Flushes the file and renames it into place; returns where it is.
    pub(super) fn finish(mut self) -> Result<PathBuf, ExportError> {
        self.out.flush().map_err(|e| self.error(e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| self.error(e))?;
        self.done = true;
        Ok(self.path.clone())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// True when `dir` directly holds a file whose name contains `tfevents`.
pub(super) fn has_event_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_type().is_ok_and(|t| t.is_file())
                && runboard_sdk::event_file::is_event_file_name(&e.file_name().to_string_lossy())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_unique() {
        assert_eq!(sanitize_file_name("train/loss"), "train_loss");
        assert_eq!(sanitize_file_name("a b:c*?<>|\\\"d"), "a_b_c_______d");
        assert_eq!(sanitize_file_name("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(sanitize_file_name(".hidden"), "_.hidden");
        assert_eq!(sanitize_file_name(""), "_");
        assert_eq!(sanitize_file_name("ünï"), "_n_");
        assert_eq!(sanitize_file_name(&"x".repeat(300)).len(), 200);
        let mut names = FileNames::default();
        assert_eq!(names.name("train/loss", "png"), "train_loss.png");
        assert_eq!(names.name("train:loss", "png"), "train_loss-2.png");
        // Compared without case: Train_Loss.png would overwrite train_loss.png on macOS.
        assert_eq!(names.name("Train/Loss", "png"), "Train_Loss-3.png");
        assert_eq!(names.name("train loss", "png"), "train_loss-4.png");
        assert_eq!(names.name("train/loss", "svg"), "train_loss.svg");
    }

    #[test]
    fn run_folders_stay_under_out() {
        let out = Path::new("/out");
        assert_eq!(run_folder(out, "a/b").unwrap(), Path::new("/out/a/b"));
        assert_eq!(run_folder(out, ".").unwrap(), Path::new("/out"));
        assert_eq!(run_folder(out, "a.b").unwrap(), Path::new("/out/a.b"));
        for bad in ["..", "a/../b", "/etc", "a//b", "a/", "./a", "a/.", ""] {
            assert!(
                matches!(run_folder(out, bad), Err(ExportError::UnsafeRunName(_))),
                "{bad:?}"
            );
        }
    }
}
