//! `Run`: a wandb-style facade (`init`, `log`, `config_update`, `summary_set`, `define_metric`, `finish`) over [`SummaryWriter`].
//!
//! A run writes under `<logdir>/<project>/<name>/`, so `runboard --logdir <logdir>` (or
//! TensorBoard) shows it as run `<project>/<name>`; with `RUNBOARD_URL` set it also streams to
//! that server under the same name (unless `RUNBOARD_RUN` names it). Its config is saved as
//! hparams, so runs of one project line up in the HParams table, and in its run record
//! ([`crate::run_record`]), with the code's git state, the host and the command line.
//! [`Run::finish`] marks it finished with an exit code; a run dropped while its thread panics
//! is marked crashed with the panic message; one dropped otherwise keeps everything it logged
//! and stays `running` (the server calls it stalled once it has been quiet for a while).

use std::path::{Path, PathBuf};

use crate::event::HParamValue;
use crate::run_record::{Goal, RunEvent, json_object};
use crate::writer::{SummaryWriter, WriterError, WriterOptions};

/// The environment variable naming the logdir for [`Run::init`]; `runs` when unset.
pub const LOGDIR_ENV: &str = "RUNBOARD_LOGDIR";
/// Set to anything but `""` or `0`, [`Run::init`] prints nothing.
pub const QUIET_ENV: &str = "RUNBOARD_QUIET";

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A project or run name that is not a single, plain path component. Nothing was
    /// started: fix the name.
    #[error(
        "invalid {what} name {name:?}: use a non-empty name without '/', '\\\\', NUL, '.' or '..'"
    )]
    InvalidName {
        /// "project" or "run".
        what: &'static str,
        /// The name given.
        name: String,
    },
    /// The writer could not start, or could not write everything (see [`WriterError`] for
    /// what to do next).
    #[error(transparent)]
    Writer(#[from] WriterError),
}

/// A training run (see the module docs).
///
/// ```
/// use runboard_sdk::{Goal, Run};
/// # let dir = tempfile::tempdir().unwrap();
/// let mut run = Run::init_in(dir.path(), "mnist", "baseline", &[("lr", 0.001.into()), ("opt", "adam".into())])?;
/// run.define_metric("acc", Goal::Maximize);
/// for epoch in 0..10 {
///     // No step: logged at the run's step, which then moves on by one (0, 1, 2, ...).
///     run.log(&[("loss", 1.0 / (epoch as f64 + 1.0)), ("acc", epoch as f64 / 10.0)], None);
/// }
/// run.summary_set(&[("best_acc", 0.9.into())]);
/// run.finish(0)?;
/// # Ok::<(), runboard_sdk::RunError>(())
/// ```
#[derive(Debug)]
pub struct Run {
    writer: SummaryWriter,
    name: String,
    /// The step a [`Run::log`] without a step logs at.
    step: i64,
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

/// `text` for a URL's query: everything but unreserved characters and `/` percent-encoded.
fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Run {
    /// Starts a run under `$RUNBOARD_LOGDIR` (default `runs`), at `<logdir>/<project>/<name>/`,
    /// and saves `config` as its hparams and in its run record. Prints one line to stderr
    /// naming the run's folder and, when streaming, its dashboard URL (not with
    /// `RUNBOARD_QUIET=1`).
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
        Self::init_with(logdir, project, name, config, WriterOptions::default())
    }

    /// [`Run::init_in`] with explicit writer options (to leave git out of the record, say).
    /// With `options.remote` unset, streaming follows `RUNBOARD_URL` as in [`Run::init`].
    ///
    /// ```
    /// use runboard_sdk::{Run, WriterOptions};
    /// # let dir = tempfile::tempdir()?;
    /// let options = WriterOptions { record_git: false, ..WriterOptions::default() };
    /// let run = Run::init_with(dir.path(), "mnist", "no-git", &[], options)?;
    /// run.finish(0)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn init_with(
        logdir: impl AsRef<Path>,
        project: &str,
        name: &str,
        config: &[(&str, HParamValue)],
        mut options: WriterOptions,
    ) -> Result<Run, RunError> {
        check_name("project", project)?;
        check_name("run", name)?;
        let dir = logdir.as_ref().join(project).join(name);
        let run_name = format!("{project}/{name}");
        // Streaming (RUNBOARD_URL): the run is `<project>/<name>` at the server, as in the logdir.
        if options.remote.is_none() {
            options.remote = crate::remote::RemoteOptions::from_env(&dir).map(|mut r| {
                if std::env::var_os(crate::remote::RUN_ENV).is_none_or(|v| v.is_empty()) {
                    r.run.clone_from(&run_name);
                }
                r
            });
        }
        let live = options.remote.as_ref().map(|r| {
            format!(
                "{}/?run={}",
                r.url.trim_end_matches('/'),
                query_value(&r.run)
            )
        });
        let mut writer = SummaryWriter::start(&dir, options, config)?;
        if !config.is_empty() {
            writer.add_hparams(config, &[]);
        }
        let quiet = std::env::var_os(QUIET_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        if !quiet {
            match live {
                Some(url) => eprintln!(
                    "runboard: run {run_name} logs to {} and streams to {url}",
                    dir.display()
                ),
                None => eprintln!("runboard: run {run_name} logs to {}", dir.display()),
            }
        }
        Ok(Run {
            writer,
            name: run_name,
            step: 0,
        })
    }

    /// The run's name as servers show it: `<project>/<name>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Logs each `(tag, value)` as a scalar, as wandb's `run.log` steps them: without a step
    /// (`None`), at the run's current step, which then moves on by one; at `Some(step)`, at
    /// that step, and the next step without one is `step + 1`. A step lower than the current
    /// one is logged too (wandb drops it), and the current step does not go back.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut run = runboard_sdk::Run::init_in(dir.path(), "p", "r", &[])?;
    /// run.log(&[("loss", 0.9)], None); // step 0
    /// run.log(&[("loss", 0.8)], None); // step 1
    /// run.log(&[("loss", 0.5)], 10); // step 10
    /// run.log(&[("loss", 0.4)], None); // step 11
    /// assert_eq!(run.step(), 12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn log(&mut self, metrics: &[(&str, f64)], step: impl Into<Option<i64>>) {
        let step = step.into().unwrap_or(self.step);
        self.step = self.step.max(step.saturating_add(1));
        for (tag, value) in metrics {
            self.writer.add_scalar(tag, *value, step);
        }
    }

    /// The step the next [`Run::log`] without a step logs at.
    pub fn step(&self) -> i64 {
        self.step
    }

    /// Adds to (or changes) the run's config: the server merges these keys into the config
    /// the run started with (later wins). Unlike `init`'s config, these are not hparams.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut run = runboard_sdk::Run::init_in(dir.path(), "p", "r", &[("lr", 0.1.into())])?;
    /// run.config_update(&[("batch_size", 256.into()), ("dataset", "mnist".into())]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config_update(&mut self, config: &[(&str, HParamValue)]) {
        self.writer.add_run_event(&RunEvent::Config {
            config: json_object(config),
        });
    }

    /// Sets keys of the run's summary (its final or best numbers, shown in the run table);
    /// later values win.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut run = runboard_sdk::Run::init_in(dir.path(), "p", "r", &[])?;
    /// run.summary_set(&[("best_acc", 0.93.into()), ("best_epoch", 7.into())]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summary_set(&mut self, summary: &[(&str, HParamValue)]) {
        self.writer.add_run_event(&RunEvent::Summary {
            summary: json_object(summary),
        });
    }

    /// Says whether lower or higher values of `tag` are better, so that the run table picks
    /// its best value right (without it the server guesses from the tag's name).
    ///
    /// ```
    /// use runboard_sdk::Goal;
    /// # let dir = tempfile::tempdir()?;
    /// let mut run = runboard_sdk::Run::init_in(dir.path(), "p", "r", &[])?;
    /// run.define_metric("val/bleu", Goal::Maximize);
    /// run.define_metric("val/wer", Goal::Minimize);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn define_metric(&mut self, tag: &str, goal: Goal) {
        self.writer.add_run_event(&RunEvent::Metric {
            tag: tag.to_owned(),
            goal,
        });
    }

    /// The underlying writer, for histograms, text and images.
    pub fn writer(&mut self) -> &mut SummaryWriter {
        &mut self.writer
    }

    /// Ends the run with the process's `exit_code`: marks it finished with that code (and, for
    /// the HParams plugin, successful iff it is 0), writes everything and closes.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let run = runboard_sdk::Run::init_in(dir.path(), "p", "r", &[])?;
    /// let exit_code = 0;
    /// run.finish(exit_code)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self, exit_code: i32) -> Result<(), RunError> {
        self.writer.add_hparams_end(exit_code == 0);
        self.writer.finish_with(Some(exit_code))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{HParams, Value};
    use crate::event_file::read_events;
    use crate::run_record::RunState;
    use crate::run_record::testing::{first_record, read_run_events};

    /// Options that keep the test's own checkout out of the record (faster; no git involved).
    fn no_git() -> WriterOptions {
        WriterOptions {
            record_git: false,
            ..WriterOptions::default()
        }
    }

    fn scalars(path: &Path) -> Vec<(i64, String, f64)> {
        let (events, _) = read_events(path).unwrap();
        events
            .into_iter()
            .flat_map(|e| {
                let step = e.step;
                e.values.into_iter().filter_map(move |v| match v.value {
                    Value::Scalar(x) => Some((step, v.tag, x)),
                    _ => None,
                })
            })
            .collect()
    }

    #[test]
    fn writes_under_project_and_name_with_config_and_end_status() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = Run::init_in(dir.path(), "proj", "r1", &[("lr", 0.1.into())]).unwrap();
        assert_eq!(run.name(), "proj/r1");
        run.log(&[("loss", 2.0), ("acc", 0.5)], 0);
        run.log(&[("loss", 1.0), ("acc", 0.75)], 1);
        let path = run.writer().path().to_path_buf();
        run.finish(0).unwrap();
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
        assert_eq!(first_record(&path).config["lr"], 0.1);
        assert_eq!(
            read_run_events(&path).last(),
            Some(&RunEvent::status(RunState::Finished, Some(0), None))
        );
    }

    #[test]
    fn finish_with_a_nonzero_code_is_finished_with_it_and_not_a_success() {
        let dir = tempfile::tempdir().unwrap();
        let mut run =
            Run::init_with(dir.path(), "p", "r", &[("lr", 0.1.into())], no_git()).unwrap();
        let path = run.writer().path().to_path_buf();
        run.finish(3).unwrap();
        assert_eq!(
            read_run_events(&path).last(),
            Some(&RunEvent::status(RunState::Finished, Some(3), None))
        );
        let (events, _) = read_events(&path).unwrap();
        assert!(events.iter().flat_map(|e| &e.values).any(|v| matches!(
            v.value,
            Value::HParams(HParams::SessionEnd { status: 2, .. }) // failure
        )));
    }

    #[test]
    fn log_steps_like_wandb_and_keeps_a_lower_step() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = Run::init_with(dir.path(), "p", "r", &[], no_git()).unwrap();
        run.log(&[("a", 0.0), ("b", 0.5)], None); // 0, both at one step
        run.log(&[("a", 1.0)], None); // 1
        run.log(&[("a", 10.0)], 10); // 10
        run.log(&[("a", 11.0)], None); // 11
        run.log(&[("a", 5.0)], Some(5)); // lower: kept, the step does not go back
        run.log(&[("a", 12.0)], None); // 12
        assert_eq!(run.step(), 13);
        let path = run.writer().path().to_path_buf();
        run.finish(0).unwrap();
        let got: Vec<(i64, String)> = scalars(&path)
            .into_iter()
            .map(|(step, tag, _)| (step, tag))
            .collect();
        let want: Vec<(i64, String)> = [
            (0, "a"),
            (0, "b"),
            (1, "a"),
            (10, "a"),
            (11, "a"),
            (5, "a"),
            (12, "a"),
        ]
        .into_iter()
        .map(|(s, t)| (s, t.to_owned()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn config_summary_and_metric_goals_are_run_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut run =
            Run::init_with(dir.path(), "p", "r", &[("lr", 0.1.into())], no_git()).unwrap();
        run.config_update(&[("batch", 256.into()), ("opt", "adam".into())]);
        run.summary_set(&[("best_acc", 0.93.into()), ("converged", true.into())]);
        run.define_metric("val/acc", Goal::Maximize);
        run.define_metric("val/ppl", Goal::Minimize);
        let path = run.writer().path().to_path_buf();
        run.finish(0).unwrap();
        let events: Vec<serde_json::Value> = read_run_events(&path)
            .iter()
            .map(|e| serde_json::from_str(&e.to_json()).unwrap())
            .collect();
        let of = |ty: &str| -> Vec<&serde_json::Value> {
            events.iter().filter(|e| e["type"] == ty).collect()
        };
        assert_eq!(
            of("config"),
            [&serde_json::json!({"type": "config", "config": {"batch": 256.0, "opt": "adam"}})]
        );
        assert_eq!(
            of("summary"),
            [
                &serde_json::json!({"type": "summary", "summary": {"best_acc": 0.93, "converged": true}})
            ]
        );
        assert_eq!(
            of("metric"),
            [
                &serde_json::json!({"type": "metric", "tag": "val/acc", "goal": "max"}),
                &serde_json::json!({"type": "metric", "tag": "val/ppl", "goal": "min"}),
            ]
        );
        // The init config is in the record (and hparams); the update is not hparams.
        assert_eq!(
            first_record(&path).config,
            json_object(&[("lr", 0.1.into())])
        );
    }

    #[test]
    fn a_run_dropped_during_a_panic_is_crashed_and_one_dropped_otherwise_stays_running() {
        let dir = tempfile::tempdir().unwrap();
        let logdir = dir.path().to_path_buf();
        let joined = std::thread::spawn(move || {
            let mut run = Run::init_with(&logdir, "p", "crash", &[], no_git()).unwrap();
            run.log(&[("loss", 1.0)], None);
            let v: Vec<i32> = Vec::new();
            let _ = v[3]; // index out of bounds
        })
        .join();
        assert!(joined.is_err());
        let crashed = crate::event_file::find_event_files(&dir.path().join("p/crash"));
        match read_run_events(&crashed[0]).last() {
            Some(RunEvent::Status {
                state: RunState::Crashed,
                message: Some(m),
                ..
            }) => assert!(m.contains("index out of bounds"), "{m}"),
            other => panic!("{other:?}"),
        }
        let path = {
            let mut run = Run::init_with(dir.path(), "p", "dropped", &[], no_git()).unwrap();
            run.log(&[("loss", 1.0)], None);
            run.writer().path().to_path_buf()
        };
        assert_eq!(
            read_run_events(&path).last(),
            Some(&RunEvent::status(RunState::Running, None, None))
        );
        assert_eq!(scalars(&path), [(0, "loss".to_owned(), 1.0)]);
    }

    #[test]
    fn the_dashboard_url_encodes_the_run_name() {
        assert_eq!(query_value("mnist/lr 0.1&x"), "mnist/lr%200.1%26x");
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
