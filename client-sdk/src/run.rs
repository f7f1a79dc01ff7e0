//! `Run`: a wandb-style facade (`init`, `log`, `finish`) over [`SummaryWriter`].
//!
//! A run writes under `<logdir>/<project>/<name>/`, so `runboard --logdir <logdir>` (or
//! TensorBoard) shows it as run `<project>/<name>`; with `RUNBOARD_URL` set it also streams to
//! that server under the same name (unless `RUNBOARD_RUN` names it). Its config is saved as hparams, so runs of
//! one project line up in the HParams table. A run dropped without [`Run::finish`] (a crash, a
//! panic) keeps everything it logged but is not marked successful.

use std::path::{Path, PathBuf};

use crate::event::HParamValue;
use crate::writer::{SummaryWriter, WriterError};

/// The environment variable naming the logdir for [`Run::init`]; `runs` when unset.
pub const LOGDIR_ENV: &str = "RUNBOARD_LOGDIR";

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A project or run name that is not a single, plain path component.
    #[error(
        "invalid {what} name {name:?}: use a non-empty name without '/', '\\\\', NUL, '.' or '..'"
    )]
    InvalidName {
        /// "project" or "run".
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// The writer could not start.
    #[error(transparent)]
    Writer(#[from] WriterError),
}

/// A training run (see the module docs).
///
/// ```
/// use runboard_sdk::Run;
/// # let dir = tempfile::tempdir().unwrap();
/// let mut run = Run::init_in(dir.path(), "mnist", "baseline", &[("lr", 0.001.into()), ("opt", "adam".into())])?;
/// for step in 0..10 {
///     run.log(step, &[("loss", 1.0 / (step as f64 + 1.0)), ("acc", step as f64 / 10.0)]);
/// }
/// run.finish()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Run {
    writer: SummaryWriter,
    name: String,
}

fn check_name(what: &'static str, name: &str) -> Result<(), RunError> {
    let bad = name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']);
    if bad {
        return Err(RunError::InvalidName {
            what,
            name: name.to_owned(),
        });
    }
    Ok(())
}

impl Run {
    /// Starts a run under `$RUNBOARD_LOGDIR` (default `runs`), at `<logdir>/<project>/<name>/`,
    /// and saves `config` as its hparams.
    pub fn init(
        project: &str,
        name: &str,
        config: &[(&str, HParamValue)],
    ) -> Result<Run, RunError> {
        let logdir = std::env::var_os(LOGDIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("runs"));
        Self::init_in(logdir, project, name, config)
    }

    /// [`Run::init`] with an explicit logdir.
    pub fn init_in(
        logdir: impl AsRef<Path>,
        project: &str,
        name: &str,
        config: &[(&str, HParamValue)],
    ) -> Result<Run, RunError> {
        check_name("project", project)?;
        check_name("run", name)?;
        let dir = logdir.as_ref().join(project).join(name);
        // Streaming (RUNBOARD_URL): the run is `<project>/<name>` at the server, as in the logdir.
        let remote = crate::remote::RemoteOptions::from_env(&dir).map(|mut r| {
            if std::env::var_os(crate::remote::RUN_ENV).is_none_or(|v| v.is_empty()) {
                r.run = format!("{project}/{name}");
            }
            r
        });
        let options = crate::writer::WriterOptions {
            remote,
            ..crate::writer::WriterOptions::default()
        };
        let mut writer = SummaryWriter::with_options(dir, options)?;
        if !config.is_empty() {
            writer.add_hparams(config, &[]);
        }
        Ok(Run {
            writer,
            name: format!("{project}/{name}"),
        })
    }

    /// The run's name as servers show it: `<project>/<name>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Logs each `(tag, value)` as a scalar at `step`.
    #[inline]
    pub fn log(&mut self, step: i64, metrics: &[(&str, f64)]) {
        for (tag, value) in metrics {
            self.writer.add_scalar(tag, *value, step);
        }
    }

    /// The underlying writer, for histograms, text and images.
    pub fn writer(&mut self) -> &mut SummaryWriter {
        &mut self.writer
    }

    /// Marks the run successful (`_hparams_/session_end_info`), writes everything and closes.
    pub fn finish(mut self) -> Result<(), WriterError> {
        self.writer.add_hparams_end(true);
        self.writer.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{HParams, Value};
    use crate::event_file::read_events;

    #[test]
    fn writes_under_project_and_name_with_config_and_end_status() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = Run::init_in(dir.path(), "proj", "r1", &[("lr", 0.1.into())]).unwrap();
        assert_eq!(run.name(), "proj/r1");
        run.log(0, &[("loss", 2.0), ("acc", 0.5)]);
        run.log(1, &[("loss", 1.0), ("acc", 0.75)]);
        let path = run.writer().path().to_path_buf();
        run.finish().unwrap();
        assert_eq!(path.parent().unwrap(), dir.path().join("proj/r1"));
        let (events, _) = read_events(&path).unwrap();
        let values: Vec<_> = events
            .iter()
            .flat_map(|e| e.values.iter().map(move |v| (e.step, v)))
            .collect();
        assert!(
            values
                .iter()
                .any(|(s, v)| *s == 1 && v.tag == "acc" && v.value == Value::Scalar(0.75))
        );
        assert!(values.iter().any(|(_, v)| matches!(&v.value, Value::HParams(HParams::SessionStart { hparams, .. }) if hparams.len() == 1)));
        assert!(values.iter().any(|(_, v)| matches!(
            &v.value,
            Value::HParams(HParams::SessionEnd { status: 1, .. })
        )));
    }

    #[test]
    fn rejects_names_that_are_not_one_path_component() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", ".", "..", "a/b", "..\\x", "n\0"] {
            assert!(
                matches!(
                    Run::init_in(dir.path(), bad, "r", &[]),
                    Err(RunError::InvalidName { .. })
                ),
                "{bad:?}"
            );
            assert!(
                matches!(
                    Run::init_in(dir.path(), "p", bad, &[]),
                    Err(RunError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
