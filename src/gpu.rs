//! The server's GPU monitoring: samples the host's GPUs (or simulated ones) into the store and keeps the latest readings for `/metrics`.
//!
//! Every interval (1 s) the thread `runboard-gpu-host` reads a [`GpuSource`], stores the
//! readings in run [`SYSTEM_RUN`] with the SDK's series names (`system/gpu.<i>.*`, from
//! `GpuStatus::metrics`), and replaces the snapshot that `/metrics` renders in Prometheus text
//! format. Without NVML and without `--gpu-sim` nothing starts and one line says so.

use crate::types::RunName;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use runboard_sdk::event::Value;
use runboard_sdk::event_file::now_secs;
use runboard_sdk::gpu::{GpuSource, GpuStatus, NvmlGpus, SimulatedGpus};

use crate::store::{Batch, Item, Store};

/// The run the server's own GPU samples go to.
pub const SYSTEM_RUN: &str = "system";

/// Which GPUs the server samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuMode {
    /// The host's GPUs through NVML when it loads; nothing otherwise (the default).
    #[default]
    Auto,
    /// `n` simulated GPUs (`--gpu-sim N`).
    Simulated(usize),
    /// No GPU sampling.
    Off,
}

/// The latest readings, shared with `/metrics`.
pub type GpuSnapshot = Arc<RwLock<Vec<GpuStatus>>>;

/// The running sampler; dropping it stops the thread.
pub struct HostGpuSampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for HostGpuSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts sampling per `mode` into `store`, updating `snapshot`; `None` when there is nothing
/// to sample (no NVML, or `Off`).
pub fn start(mode: GpuMode, store: Store, snapshot: GpuSnapshot) -> Option<HostGpuSampler> {
    let source: Box<dyn GpuSource> = match mode {
        GpuMode::Off => return None,
        GpuMode::Simulated(n) => Box::new(SimulatedGpus::new(n)),
        GpuMode::Auto => match NvmlGpus::new() {
            Ok(nvml) => Box::new(nvml),
            Err(e) => {
                tracing::info!(
                    "no GPU metrics on this host ({e}); use --gpu-sim N to simulate GPUs"
                );
                return None;
            }
        },
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("runboard-gpu-host".into())
        .spawn(move || run(source, store, snapshot, flag))
        .map_err(|e| tracing::error!("cannot start GPU sampling: {e}"))
        .ok()?;
    Some(HostGpuSampler {
        stop,
        thread: Some(thread),
    })
}

fn run(mut source: Box<dyn GpuSource>, store: Store, snapshot: GpuSnapshot, stop: Arc<AtomicBool>) {
    let mut step = 0i64;
    while !stop.load(Ordering::SeqCst) {
        let gpus = source.gpus();
        let wall_time = now_secs();
        let items = gpus
            .iter()
            .flat_map(|g| {
                g.metrics()
                    .map(move |(name, v)| (format!("system/gpu.{}.{name}", g.index), v))
            })
            .map(|(tag, v)| Item::Value {
                tag,
                step,
                wall_time,
                value: Value::Scalar(v),
            })
            .collect();
        *snapshot.write().unwrap_or_else(PoisonError::into_inner) = gpus;
        if store
            .submit(Batch {
                run: RunName::system(),
                items,
                progress: None,
                dedup: None,
            })
            .is_err()
        {
            return; // the store is shutting down
        }
        step += 1;
        // Sleep a second in small slices so that a stop is prompt.
        for _ in 0..10 {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The GPU readings in Prometheus text format (DCGM-like names), plus `runboard_up`.
pub fn prometheus(gpus: &[GpuStatus]) -> String {
    let mut out = String::from(
        "# HELP runboard_up 1 while the runboard server runs.\n# TYPE runboard_up gauge\nrunboard_up 1\n",
    );
    type Metric = (&'static str, &'static str, fn(&GpuStatus) -> Option<f64>);
    let metrics: [Metric; 6] = [
        (
            "runboard_gpu_memory_used_bytes",
            "GPU memory in use, bytes.",
            |g| Some(g.memory_used_bytes as f64),
        ),
        (
            "runboard_gpu_memory_total_bytes",
            "GPU memory installed, bytes.",
            |g| Some(g.memory_total_bytes as f64),
        ),
        (
            "runboard_gpu_utilization_ratio",
            "GPU utilization, 0 to 1.",
            |g| g.utilization_percent.map(|p| p / 100.0),
        ),
        (
            "runboard_gpu_memory_utilization_ratio",
            "GPU memory bandwidth utilization, 0 to 1.",
            |g| g.memory_utilization_percent.map(|p| p / 100.0),
        ),
        (
            "runboard_gpu_temperature_celsius",
            "GPU temperature, degrees Celsius.",
            |g| g.temperature_celsius,
        ),
        ("runboard_gpu_power_watts", "GPU power draw, watts.", |g| {
            g.power_watts
        }),
    ];
    for (name, help, get) in metrics {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for g in gpus {
            if let Some(v) = get(g) {
                let _ = writeln!(
                    out,
                    "{name}{{gpu=\"{}\",uuid=\"{}\",name=\"{}\"}} {v}",
                    g.index,
                    label(&g.uuid),
                    label(&g.name)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_gpu_with_its_labels() {
        let gpus = SimulatedGpus::new(2).at(10.0);
        let text = prometheus(&gpus);
        for name in [
            "runboard_gpu_memory_used_bytes",
            "runboard_gpu_memory_total_bytes",
            "runboard_gpu_utilization_ratio",
            "runboard_gpu_temperature_celsius",
            "runboard_gpu_power_watts",
        ] {
            assert!(text.contains(&format!("# TYPE {name} gauge")), "{name}");
            for g in &gpus {
                let line = format!(
                    "{name}{{gpu=\"{}\",uuid=\"{}\",name=\"{}\"}} ",
                    g.index, g.uuid, g.name
                );
                assert!(text.contains(&line), "{line} in\n{text}");
            }
        }
        let util = text
            .lines()
            .find(|l| l.starts_with("runboard_gpu_utilization_ratio{gpu=\"0\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap();
        assert!(
            (0.0..=1.0).contains(&util),
            "a ratio, not a percent: {util}"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn simulated_gpus_are_sampled_into_the_system_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let snapshot = GpuSnapshot::default();
        let sampler = start(GpuMode::Simulated(2), store.clone(), Arc::clone(&snapshot)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let series = store
                .read(|c| crate::store::query::series(c, Some(SYSTEM_RUN)))
                .unwrap();
            if series.len() >= 12 {
                assert!(
                    series
                        .iter()
                        .any(|s| s.tag == "system/gpu.1.memory_used_bytes")
                );
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no GPU series: {series:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(snapshot.read().unwrap().len(), 2);
        drop(sampler);
    }

    #[test]
    fn without_nvml_auto_mode_starts_nothing() {
        if std::path::Path::new("/dev/nvidiactl").exists() {
            return; // a GPU host: Auto samples it, which the other tests cover with simulation
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        assert!(start(GpuMode::Auto, store, GpuSnapshot::default()).is_none());
    }
}
