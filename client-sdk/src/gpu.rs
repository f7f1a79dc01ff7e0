//! GPU metrics: read from NVML or a simulation, pick free GPUs, and sample them into a run.
//!
//! ```text
//! SimulatedGpus (RUNBOARD_GPU_SIM=N) ─┐
//!                                     ├─ GpuSource::gpus ─► GpuSampler thread "runboard-gpu" ─► SummaryWriter
//! NvmlGpus (libnvidia-ml, run time) ──┘        │
//!                                              └─► gpus() / available(): GPUtil-style selection
//! ```
//!
//! Where no GPU metrics can be had (no `RUNBOARD_GPU_SIM`, no NVML library or driver),
//! [`gpus`] returns an empty list and logs one `tracing::info!` line per process; nothing
//! panics. A metric a GPU does not support is `None` and is simply not logged.
//!
//! # Series written by [`GpuSampler`] and [`sample_once`]
//!
//! `<i>` is the GPU's NVML index; the step is the sample number (0, 1, 2, ...).
//!
//! | series                                      | unit    | when                          |
//! |---------------------------------------------|---------|-------------------------------|
//! | `system/gpu.<i>.memory_used_bytes`          | bytes   | always                        |
//! | `system/gpu.<i>.memory_total_bytes`         | bytes   | always                        |
//! | `system/gpu.<i>.utilization_percent`        | 0..100  | if the GPU reports it         |
//! | `system/gpu.<i>.memory_utilization_percent` | 0..100  | if the GPU reports it         |
//! | `system/gpu.<i>.temperature_celsius`        | °C      | if the GPU reports it         |
//! | `system/gpu.<i>.power_watts`                | W       | if the GPU reports it         |
//! | `system/gpu.<i>.process_memory_bytes`       | bytes   | if NVML lists this process    |

use std::fmt::Write as _;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Once, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::enums::device::UsedGpuMemory;

use crate::SummaryWriter;

/// The environment variable that switches [`gpus`] to `N` simulated GPUs (`RUNBOARD_GPU_SIM=N`).
pub const SIM_ENV: &str = "RUNBOARD_GPU_SIM";

const GIB: u64 = 1 << 30;

/// One GPU's state at one moment. An `Option` field is `None` when the GPU (or driver) does not
/// support that metric: it is skipped, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuStatus {
    /// NVML index (0-based), as `CUDA_VISIBLE_DEVICES` with `CUDA_DEVICE_ORDER=PCI_BUS_ID` counts.
    pub index: u32,
    /// Stable identifier, e.g. `GPU-8f3b...` (`GPU-sim-<index>` when simulated).
    pub uuid: String,
    /// Product name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Installed framebuffer memory.
    pub memory_total_bytes: u64,
    /// Allocated framebuffer memory, all processes together.
    pub memory_used_bytes: u64,
    /// Unallocated framebuffer memory.
    pub memory_free_bytes: u64,
    /// Memory the driver reserves for itself.
    pub memory_reserved_bytes: Option<u64>,
    /// Percent of the last sample period in which a kernel ran (0..100).
    pub utilization_percent: Option<f64>,
    /// Percent of the last sample period in which device memory was read or written (0..100).
    pub memory_utilization_percent: Option<f64>,
    /// Core temperature.
    pub temperature_celsius: Option<f64>,
    /// Current board power draw.
    pub power_watts: Option<f64>,
    /// The power limit the driver enforces.
    pub power_limit_watts: Option<f64>,
    /// The driver's version string (`sim` when simulated).
    pub driver_version: String,
    /// GPU memory used by this process, from NVML's running compute processes.
    pub process_memory_bytes: Option<u64>,
}

impl GpuStatus {
    /// The series this GPU's readings are logged as: `(metric, value)` for each metric it
    /// supports, named as in the module docs (`system/gpu.<index>.<metric>`).
    pub fn metrics(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        [
            ("memory_used_bytes", Some(self.memory_used_bytes as f64)),
            ("memory_total_bytes", Some(self.memory_total_bytes as f64)),
            ("utilization_percent", self.utilization_percent),
            (
                "memory_utilization_percent",
                self.memory_utilization_percent,
            ),
            ("temperature_celsius", self.temperature_celsius),
            ("power_watts", self.power_watts),
            (
                "process_memory_bytes",
                self.process_memory_bytes.map(|b| b as f64),
            ),
        ]
        .into_iter()
        .filter_map(|(name, v)| Some((name, v?)))
    }

    /// Load as a fraction 0..1, `None` when utilization is not reported.
    pub fn load(&self) -> Option<f64> {
        self.utilization_percent.map(|p| p / 100.0)
    }

    /// Used memory as a fraction 0..1 of the total, `None` when the total is 0.
    pub fn memory_fraction(&self) -> Option<f64> {
        (self.memory_total_bytes > 0)
            .then(|| self.memory_used_bytes as f64 / self.memory_total_bytes as f64)
    }
}

/// Something that reports the GPUs' current state ([`NvmlGpus`], [`SimulatedGpus`], a test fake).
pub trait GpuSource: Send {
    /// The GPUs now, in index order. Empty when none can be read.
    fn gpus(&mut self) -> Vec<GpuStatus>;
}

/// Why GPU metrics could not be read or sampled.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// The NVML library is missing or failed to initialise (no NVIDIA driver, no permission).
    /// Callers go on without GPU metrics; retrying in the same process gives the same answer.
    #[error("NVML is not available: {0}")]
    NvmlUnavailable(String),
    /// NVML initialised but a process-wide query (device count) failed. Callers go on without
    /// GPU metrics, or retry later.
    #[error("NVML query failed: {0}")]
    Query(String),
    /// The sampler thread could not be started. Callers go on without GPU sampling.
    #[error("starting the GPU sampler thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The sampler thread panicked; its writer is lost (its `Drop` closed the file).
    #[error("the GPU sampler thread panicked")]
    SamplerPanicked,
}

// ---------------------------------------------------------------------------------------------
// Simulation
// ---------------------------------------------------------------------------------------------

/// `n` simulated GPUs following deterministic, plausible curves of time, for demos, tests and
/// benchmarks on machines without GPUs.
///
/// The model, for GPU `i` at `t` seconds (phases shift with `i` so the GPUs differ):
/// - 80 GiB total, 512 MiB reserved; used memory ramps from 2 GiB to 60 GiB over 30 s, then
///   follows a 20 s sawtooth between 60 and 70 GiB;
/// - utilization `50 + 45·sin(2πt/30 + 0.7i)` (5..95 %), memory utilization 0.6 of it;
/// - temperature 35–80 °C and power 70–400 W (limit 400 W), both linear in utilization;
/// - this process's memory is 90 % of the used memory.
///
/// ```
/// use runboard_sdk::gpu::SimulatedGpus;
/// let sim = SimulatedGpus::new(2);
/// let now = sim.at(42.0);
/// assert_eq!(now.len(), 2);
/// assert_eq!(now[1].uuid, "GPU-sim-1");
/// assert_eq!(now, sim.at(42.0)); // deterministic
/// ```
#[derive(Debug, Clone)]
pub struct SimulatedGpus {
    count: usize,
    start: Instant,
}

impl SimulatedGpus {
    /// `n` simulated GPUs whose clock starts now.
    pub fn new(n: usize) -> SimulatedGpus {
        SimulatedGpus::with_start(n, Instant::now())
    }

    /// `n` simulated GPUs whose clock started at `start` (inject it to control the curves).
    pub fn with_start(n: usize, start: Instant) -> SimulatedGpus {
        SimulatedGpus { count: n, start }
    }

    /// How many GPUs are simulated.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The GPUs at `t_secs` seconds after the start. Pure: the same `t_secs` gives the same
    /// answer. Negative or non-finite times count as 0.
    pub fn at(&self, t_secs: f64) -> Vec<GpuStatus> {
        let t = if t_secs.is_finite() {
            t_secs.max(0.0)
        } else {
            0.0
        };
        (0..self.count)
            .map(|i| simulated_gpu(u32::try_from(i).unwrap_or(u32::MAX), t))
            .collect()
    }
}

fn simulated_gpu(index: u32, t: f64) -> GpuStatus {
    let i = f64::from(index);
    let total = 80 * GIB;
    let reserved = GIB / 2;
    let gib = GIB as f64;
    let used_gib = if t < 30.0 {
        2.0 + 58.0 * t / 30.0
    } else {
        let phase = (t - 30.0) / 20.0 + 0.13 * i;
        60.0 + 10.0 * (phase - phase.floor())
    };
    let used = (used_gib * gib) as u64;
    let util = (50.0 + 45.0 * (std::f64::consts::TAU * t / 30.0 + 0.7 * i).sin()).clamp(0.0, 100.0);
    GpuStatus {
        index,
        uuid: format!("GPU-sim-{index}"),
        name: "runboard simulated GPU".to_owned(),
        memory_total_bytes: total,
        memory_used_bytes: used,
        memory_free_bytes: total.saturating_sub(used).saturating_sub(reserved),
        memory_reserved_bytes: Some(reserved),
        utilization_percent: Some(util),
        memory_utilization_percent: Some(0.6 * util),
        temperature_celsius: Some(35.0 + 45.0 * util / 100.0),
        power_watts: Some(70.0 + 330.0 * util / 100.0),
        power_limit_watts: Some(400.0),
        driver_version: "sim".to_owned(),
        process_memory_bytes: Some((used_gib * 0.9 * gib) as u64),
    }
}

impl GpuSource for SimulatedGpus {
    /// The model at the time elapsed since the start.
    fn gpus(&mut self) -> Vec<GpuStatus> {
        self.at(self.start.elapsed().as_secs_f64())
    }
}

/// `Some(N)` when `RUNBOARD_GPU_SIM=N` is set to a non-negative integer, else `None`.
pub fn sim_count_from_env() -> Option<usize> {
    sim_count_from(std::env::var(SIM_ENV).ok().as_deref())
}

fn sim_count_from(value: Option<&str>) -> Option<usize> {
    value.and_then(|v| v.trim().parse().ok())
}

// ---------------------------------------------------------------------------------------------
// NVML
// ---------------------------------------------------------------------------------------------

/// The process's one NVML initialisation; the error is kept as text so every caller sees it.
static NVML: OnceLock<Result<Nvml, String>> = OnceLock::new();

fn nvml() -> Result<&'static Nvml, GpuError> {
    // nvml-wrapper loads `libnvidia-ml.so.1` (what the driver installs), `nvml.dll` on Windows.
    NVML.get_or_init(|| Nvml::init().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| GpuError::NvmlUnavailable(e.clone()))
}

/// Real GPUs through NVML (`libnvidia-ml`, loaded at run time; nothing is needed at build time).
///
/// NVML is initialised once per process, on the first [`NvmlGpus::new`]; a failure is
/// remembered and returned by every later call. Each metric is read separately and is `None`
/// when the GPU does not support it. A GPU whose memory or identity cannot be read is left out
/// of [`GpuSource::gpus`].
#[derive(Debug)]
pub struct NvmlGpus {
    nvml: &'static Nvml,
    count: u32,
    driver_version: String,
    pid: u32,
}

impl NvmlGpus {
    /// Initialises NVML (once per process) and counts the GPUs.
    ///
    /// Errors: [`GpuError::NvmlUnavailable`] where there is no NVML library or driver,
    /// [`GpuError::Query`] where the GPUs cannot be counted. Never panics.
    pub fn new() -> Result<NvmlGpus, GpuError> {
        let nvml = nvml()?;
        let count = nvml
            .device_count()
            .map_err(|e| GpuError::Query(e.to_string()))?;
        let driver_version = nvml.sys_driver_version().unwrap_or_default();
        Ok(NvmlGpus {
            nvml,
            count,
            driver_version,
            pid: std::process::id(),
        })
    }

    fn read(&self, index: u32) -> Option<GpuStatus> {
        let device = self.nvml.device_by_index(index).ok()?;
        let memory = device.memory_info().ok()?;
        let utilization = device.utilization_rates().ok();
        // `None` when the list cannot be read, this process is not on it, or NVML withholds
        // the amount (WDDM, MIG without permission); several contexts are summed.
        let process_memory_bytes = device.running_compute_processes().ok().and_then(|procs| {
            let mine: Vec<UsedGpuMemory> = procs
                .into_iter()
                .filter(|p| p.pid == self.pid)
                .map(|p| p.used_gpu_memory)
                .collect();
            if mine.is_empty() {
                return None;
            }
            mine.into_iter()
                .map(|m| match m {
                    UsedGpuMemory::Used(bytes) => Some(bytes),
                    UsedGpuMemory::Unavailable => None,
                })
                .sum::<Option<u64>>()
        });
        Some(GpuStatus {
            index,
            uuid: device.uuid().ok()?,
            name: device.name().unwrap_or_default(),
            memory_total_bytes: memory.total,
            memory_used_bytes: memory.used,
            memory_free_bytes: memory.free,
            memory_reserved_bytes: Some(memory.reserved),
            utilization_percent: utilization.as_ref().map(|u| f64::from(u.gpu)),
            memory_utilization_percent: utilization.as_ref().map(|u| f64::from(u.memory)),
            temperature_celsius: device
                .temperature(TemperatureSensor::Gpu)
                .ok()
                .map(f64::from),
            power_watts: device.power_usage().ok().map(|mw| f64::from(mw) / 1000.0),
            power_limit_watts: device
                .enforced_power_limit()
                .ok()
                .map(|mw| f64::from(mw) / 1000.0),
            driver_version: self.driver_version.clone(),
            process_memory_bytes,
        })
    }
}

impl GpuSource for NvmlGpus {
    fn gpus(&mut self) -> Vec<GpuStatus> {
        (0..self.count).filter_map(|i| self.read(i)).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// One-shot queries and selection
// ---------------------------------------------------------------------------------------------

/// The GPUs now: simulated when `RUNBOARD_GPU_SIM=N` is set (the clock starts at the first
/// call), else through NVML, else an empty list after one `tracing::info!` line per process.
///
/// ```
/// // Empty on a machine without GPUs; never panics.
/// for gpu in runboard_sdk::gpu::gpus() {
///     println!("{} {}: {} bytes used", gpu.index, gpu.name, gpu.memory_used_bytes);
/// }
/// ```
pub fn gpus() -> Vec<GpuStatus> {
    if let Some(n) = sim_count_from_env() {
        static SIM_START: OnceLock<Instant> = OnceLock::new();
        return SimulatedGpus::with_start(n, *SIM_START.get_or_init(Instant::now)).gpus();
    }
    match NvmlGpus::new() {
        Ok(mut nvml) => nvml.gpus(),
        Err(e) => {
            static LOGGED: Once = Once::new();
            LOGGED.call_once(|| tracing::info!("no GPU metrics: {e}"));
            Vec::new()
        }
    }
}

/// The real GPUs' names through NVML (never simulated), in index order; empty without NVML.
/// Quiet: nothing is logged when NVML is missing (run records ask on every machine).
///
/// ```
/// for name in runboard_sdk::gpu::names() {
///     println!("{name}"); // e.g. "NVIDIA H200"
/// }
/// ```
pub fn names() -> Vec<String> {
    let Ok(nvml) = nvml() else {
        return Vec::new();
    };
    let count = nvml.device_count().unwrap_or(0);
    (0..count)
        .filter_map(|i| nvml.device_by_index(i).ok()?.name().ok())
        .collect()
}

/// The order in which [`available`] and [`available_from`] list GPUs (GPUtil's `order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Lowest index first.
    #[default]
    First,
    /// Highest index first.
    Last,
    /// A shuffled order; the shuffle is seeded with a constant, so it is the same every call.
    Random,
    /// Least loaded first (ties: lowest index).
    Load,
    /// Smallest fraction of memory used first (ties: lowest index).
    Memory,
}

/// Indices of up to `limit` GPUs whose load is below `max_load` and whose used memory is below
/// `max_memory` (both fractions 0..1, strict, as GPUtil's `getAvailable`), in `order`.
///
/// See [`available_from`] for the rules; this reads the GPUs with [`gpus`].
pub fn available(order: Order, limit: usize, max_load: f64, max_memory: f64) -> Vec<u32> {
    available_from(&gpus(), order, limit, max_load, max_memory)
}

/// [`available`] over given GPUs (pure; no I/O).
///
/// A GPU qualifies when `load < max_load` and `memory_used / memory_total < max_memory`.
/// A GPU that does not report its utilization, or reports 0 total memory, does not qualify
/// (GPUtil's default `includeNan=False`).
///
/// ```
/// use runboard_sdk::gpu::{Order, SimulatedGpus, available_from};
/// let gpus = SimulatedGpus::new(4).at(0.0); // 2 GiB of 80 used on each
/// let picked = available_from(&gpus, Order::First, 2, 1.0, 0.5);
/// assert_eq!(picked, vec![0, 1]);
/// ```
pub fn available_from(
    gpus: &[GpuStatus],
    order: Order,
    limit: usize,
    max_load: f64,
    max_memory: f64,
) -> Vec<u32> {
    let mut candidates: Vec<(u32, f64, f64)> = gpus
        .iter()
        .filter_map(|g| Some((g.index, g.load()?, g.memory_fraction()?)))
        .filter(|&(_, load, memory)| load < max_load && memory < max_memory)
        .collect();
    match order {
        Order::First => candidates.sort_by_key(|c| c.0),
        Order::Last => candidates.sort_by_key(|c| std::cmp::Reverse(c.0)),
        Order::Load => candidates.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0))),
        Order::Memory => candidates.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0))),
        Order::Random => {
            candidates.sort_by_key(|c| c.0);
            shuffle(&mut candidates, 0x5eed_6a00);
        }
    }
    candidates.into_iter().take(limit).map(|c| c.0).collect()
}

/// Fisher–Yates with splitmix64: deterministic for a given seed and input.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

// ---------------------------------------------------------------------------------------------
// Sampling into a run
// ---------------------------------------------------------------------------------------------

/// Reads `source` once and logs each supported metric of each GPU as a scalar at `step`
/// (series names in the [module docs](self)).
pub fn sample_once(source: &mut dyn GpuSource, writer: &mut SummaryWriter, step: i64) {
    let mut tag = String::with_capacity(48);
    for gpu in source.gpus() {
        for (name, value) in gpu.metrics() {
            tag.clear();
            write!(tag, "system/gpu.{}.{name}", gpu.index)
                .expect("writing to a String cannot fail");
            writer.add_scalar(&tag, value, step);
        }
    }
}

/// Samples a [`GpuSource`] every interval on a thread named `runboard-gpu` and logs each
/// sample into a [`SummaryWriter`] with [`sample_once`] (step = sample number, from 0).
///
/// The writer is moved into the thread (it is not shared): [`GpuSampler::stop`] hands it back,
/// so the caller can keep logging to it or close it. Dropping the sampler without `stop` ends
/// the thread too, and the thread then drops (closes) the writer.
///
/// ```
/// use std::time::Duration;
/// use runboard_sdk::SummaryWriter;
/// use runboard_sdk::gpu::{GpuSampler, SimulatedGpus};
/// let dir = tempfile::tempdir()?;
/// let writer = SummaryWriter::new(dir.path())?;
/// let sampler = GpuSampler::start(
///     Box::new(SimulatedGpus::new(1)),
///     writer,
///     Duration::from_millis(100),
/// )?;
/// let writer = sampler.stop()?; // promptly, not after a full interval
/// writer.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct GpuSampler {
    stop_tx: mpsc::Sender<()>,
    thread: JoinHandle<SummaryWriter>,
}

impl GpuSampler {
    /// The sampling interval GPU monitors commonly use.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
    /// Shorter intervals are raised to this: NVML itself averages over longer periods.
    pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

    /// Starts sampling now (the first sample is taken at once) and then every `interval`,
    /// clamped to at least [`GpuSampler::MIN_INTERVAL`].
    pub fn start(
        mut source: Box<dyn GpuSource>,
        mut writer: SummaryWriter,
        interval: Duration,
    ) -> Result<GpuSampler, GpuError> {
        let interval = clamp_interval(interval);
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("runboard-gpu".into())
            .spawn(move || {
                let mut step = 0_i64;
                loop {
                    sample_once(source.as_mut(), &mut writer, step);
                    step += 1;
                    // The wait is the stop signal: a message or a dropped sender ends it at once.
                    match stop_rx.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                writer
            })
            .map_err(GpuError::Spawn)?;
        Ok(GpuSampler { stop_tx, thread })
    }

    /// [`GpuSampler::start`] with [`GpuSampler::DEFAULT_INTERVAL`].
    pub fn start_default(
        source: Box<dyn GpuSource>,
        writer: SummaryWriter,
    ) -> Result<GpuSampler, GpuError> {
        Self::start(source, writer, Self::DEFAULT_INTERVAL)
    }

    /// Stops the thread (within one sample, not one interval) and returns the writer, open.
    pub fn stop(self) -> Result<SummaryWriter, GpuError> {
        // An error means the thread already ended (it panicked); join reports that.
        let _ = self.stop_tx.send(());
        self.thread.join().map_err(|_| GpuError::SamplerPanicked)
    }
}

fn clamp_interval(interval: Duration) -> Duration {
    interval.max(GpuSampler::MIN_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_file::read_events;
    use crate::{DecodedEvent, Value};
    use std::collections::BTreeMap;

    #[test]
    fn simulated_curves_are_deterministic_and_within_ranges() {
        let sim = SimulatedGpus::new(3);
        let mut t = 0.0;
        while t < 300.0 {
            let a = sim.at(t);
            assert_eq!(a, sim.at(t), "t={t}");
            assert_eq!(a.len(), 3);
            for g in &a {
                assert_eq!(g.uuid, format!("GPU-sim-{}", g.index));
                assert_eq!(g.name, "runboard simulated GPU");
                assert_eq!(g.memory_total_bytes, 80 * GIB);
                assert!(g.memory_used_bytes >= 2 * GIB && g.memory_used_bytes <= 70 * GIB);
                assert_eq!(
                    g.memory_used_bytes + g.memory_free_bytes + g.memory_reserved_bytes.unwrap(),
                    g.memory_total_bytes
                );
                let util = g.utilization_percent.unwrap();
                assert!((0.0..=100.0).contains(&util), "util {util}");
                let mem_util = g.memory_utilization_percent.unwrap();
                assert!((0.0..=100.0).contains(&mem_util));
                let temp = g.temperature_celsius.unwrap();
                assert!((35.0..=80.0).contains(&temp), "temp {temp}");
                let power = g.power_watts.unwrap();
                assert!((70.0..=400.0).contains(&power), "power {power}");
                assert!(power <= g.power_limit_watts.unwrap());
                assert!(g.process_memory_bytes.unwrap() <= g.memory_used_bytes);
            }
            t += 0.37;
        }
    }

    #[test]
    fn simulated_memory_ramps_up_then_saws() {
        let sim = SimulatedGpus::new(1);
        let used = |t: f64| sim.at(t)[0].memory_used_bytes;
        assert!(used(0.0) < used(10.0) && used(10.0) < used(29.0));
        // After the ramp the sawtooth drops back once per period.
        assert!(used(49.9) > used(50.1));
    }

    #[test]
    fn simulated_gpus_differ_and_odd_times_count_as_zero() {
        let sim = SimulatedGpus::new(2);
        let now = sim.at(5.0);
        assert_ne!(now[0].utilization_percent, now[1].utilization_percent);
        assert_eq!(sim.at(-3.0), sim.at(0.0));
        assert_eq!(sim.at(f64::NAN), sim.at(0.0));
    }

    #[test]
    fn simulated_source_uses_injected_start() {
        let start = Instant::now()
            .checked_sub(Duration::from_secs(100))
            .expect("the monotonic clock is past 100 s");
        let mut sim = SimulatedGpus::with_start(1, start);
        let got = sim.gpus();
        // Memory is past the 30 s ramp, i.e. the clock started 100 s ago, not now.
        assert!(got[0].memory_used_bytes >= 60 * GIB);
    }

    #[test]
    fn sim_count_parses_non_negative_integers_only() {
        assert_eq!(sim_count_from(Some("4")), Some(4));
        assert_eq!(sim_count_from(Some(" 2 ")), Some(2));
        assert_eq!(sim_count_from(Some("0")), Some(0));
        assert_eq!(sim_count_from(Some("-1")), None);
        assert_eq!(sim_count_from(Some("yes")), None);
        assert_eq!(sim_count_from(None), None);
    }

    fn gpu(index: u32, util: Option<f64>, used_gib: u64) -> GpuStatus {
        GpuStatus {
            utilization_percent: util,
            memory_used_bytes: used_gib * GIB,
            memory_free_bytes: (80 - used_gib) * GIB,
            ..simulated_gpu(index, 0.0)
        }
    }

    fn fleet() -> Vec<GpuStatus> {
        vec![
            gpu(0, Some(40.0), 30),
            gpu(1, Some(10.0), 60),
            gpu(2, Some(90.0), 5),
            gpu(3, Some(20.0), 10),
            gpu(4, None, 1),
        ]
    }

    #[test]
    fn available_filters_by_load_and_memory_strictly() {
        let gpus = fleet();
        // Load < 0.5 and memory < 0.5: 0 (0.4, 0.375) and 3 (0.2, 0.125); 1 uses 75 %,
        // 2 is 90 % busy, 4 reports no load.
        assert_eq!(
            available_from(&gpus, Order::First, 10, 0.5, 0.5),
            vec![0, 3]
        );
        // Strict bounds: load exactly 0.4 does not pass max_load 0.4.
        assert_eq!(
            available_from(&gpus, Order::First, 10, 0.4, 1.0),
            vec![1, 3]
        );
        assert!(available_from(&gpus, Order::First, 10, 0.0, 1.0).is_empty());
    }

    #[test]
    fn available_orders_and_limits() {
        let gpus = fleet();
        let all = |order| available_from(&gpus, order, 10, 1.0, 1.0);
        assert_eq!(all(Order::First), vec![0, 1, 2, 3]);
        assert_eq!(all(Order::Last), vec![3, 2, 1, 0]);
        assert_eq!(all(Order::Load), vec![1, 3, 0, 2]);
        assert_eq!(all(Order::Memory), vec![2, 3, 0, 1]);
        let mut random = all(Order::Random);
        assert_eq!(random, all(Order::Random), "the shuffle is seeded");
        random.sort_unstable();
        assert_eq!(random, vec![0, 1, 2, 3]);
        assert_eq!(available_from(&gpus, Order::Load, 1, 1.0, 1.0), vec![1]);
        assert!(available_from(&gpus, Order::Load, 0, 1.0, 1.0).is_empty());
        assert!(available_from(&[], Order::First, 3, 1.0, 1.0).is_empty());
    }

    #[test]
    fn available_ties_break_by_index() {
        let gpus = vec![
            gpu(2, Some(50.0), 8),
            gpu(0, Some(50.0), 8),
            gpu(1, Some(50.0), 8),
        ];
        assert_eq!(
            available_from(&gpus, Order::Load, 3, 1.0, 1.0),
            vec![0, 1, 2]
        );
        assert_eq!(
            available_from(&gpus, Order::Memory, 3, 1.0, 1.0),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn nvml_absent_is_an_error_not_a_panic() {
        // This test runs where no NVML library is installed (CI, the dev machine).
        if std::path::Path::new("/dev/nvidiactl").exists() {
            return; // A real NVIDIA driver: NVML may well be there.
        }
        let err = NvmlGpus::new().expect_err("no NVML library on this machine");
        assert!(matches!(err, GpuError::NvmlUnavailable(_)), "{err:?}");
        assert!(err.to_string().contains("NVML is not available"), "{err}");
        // The failure is remembered: a second call answers the same, without re-initialising.
        let again = NvmlGpus::new().expect_err("the init result is cached");
        assert_eq!(again.to_string(), err.to_string());
    }

    /// A source that always reports the same GPUs, some metrics unsupported.
    struct Fixed(Vec<GpuStatus>);

    impl GpuSource for Fixed {
        fn gpus(&mut self) -> Vec<GpuStatus> {
            self.0.clone()
        }
    }

    fn scalars(events: &[DecodedEvent]) -> BTreeMap<String, Vec<(i64, f64)>> {
        let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
        for e in events {
            for v in &e.values {
                if let Value::Scalar(x) = v.value {
                    out.entry(v.tag.clone()).or_default().push((e.step, x));
                }
            }
        }
        out
    }

    #[test]
    fn sample_once_logs_only_supported_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SummaryWriter::new(dir.path()).unwrap();
        let path = writer.path().to_path_buf();
        let mut bare = gpu(1, None, 3);
        bare.memory_utilization_percent = None;
        bare.temperature_celsius = None;
        bare.power_watts = None;
        bare.process_memory_bytes = None;
        let mut source = Fixed(vec![bare]);
        sample_once(&mut source, &mut writer, 7);
        writer.close().unwrap();
        let (events, _) = read_events(&path).unwrap();
        let series = scalars(&events);
        let tags: Vec<&str> = series.keys().map(String::as_str).collect();
        assert_eq!(
            tags,
            vec![
                "system/gpu.1.memory_total_bytes",
                "system/gpu.1.memory_used_bytes"
            ]
        );
        assert_eq!(
            series["system/gpu.1.memory_used_bytes"],
            vec![(7, (3 * GIB) as f64)]
        );
    }

    #[test]
    fn sampler_writes_series_and_stops_promptly() {
        let dir = tempfile::tempdir().unwrap();
        let writer = SummaryWriter::new(dir.path()).unwrap();
        let path = writer.path().to_path_buf();
        let sampler = GpuSampler::start(
            Box::new(SimulatedGpus::new(2)),
            writer,
            Duration::from_millis(100),
        )
        .unwrap();

        // Wait for two samples to reach the file (the writer flushes every 100 ms).
        let deadline = Instant::now() + Duration::from_secs(20);
        let series = loop {
            let (events, _) = read_events(&path).unwrap();
            let series = scalars(&events);
            let steps = series.get("system/gpu.1.power_watts").map_or(0, Vec::len);
            if steps >= 2 {
                break series;
            }
            assert!(
                Instant::now() < deadline,
                "no samples after 20 s: {series:?}"
            );
            std::thread::yield_now();
        };
        for i in 0..2 {
            for name in [
                "memory_used_bytes",
                "memory_total_bytes",
                "utilization_percent",
                "memory_utilization_percent",
                "temperature_celsius",
                "power_watts",
                "process_memory_bytes",
            ] {
                let tag = format!("system/gpu.{i}.{name}");
                let points = series.get(&tag).unwrap_or_else(|| panic!("missing {tag}"));
                assert_eq!(points[0].0, 0, "{tag} starts at step 0");
            }
        }
        let total = &series["system/gpu.0.memory_total_bytes"];
        assert_eq!(total[0].1, (80 * GIB) as f64);
        assert_eq!(total[1].0, 1, "step = sample number");

        let started = Instant::now();
        let writer = sampler.stop().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        writer.close().unwrap();
    }

    #[test]
    fn sampler_stop_does_not_wait_for_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let writer = SummaryWriter::new(dir.path()).unwrap();
        let sampler = GpuSampler::start(
            Box::new(SimulatedGpus::new(1)),
            writer,
            Duration::from_secs(3600),
        )
        .unwrap();
        let started = Instant::now();
        let writer = sampler.stop().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        writer.close().unwrap();
    }

    #[test]
    fn sampler_interval_is_clamped_to_the_minimum() {
        assert_eq!(clamp_interval(Duration::ZERO), GpuSampler::MIN_INTERVAL);
        assert_eq!(
            clamp_interval(Duration::from_millis(1)),
            GpuSampler::MIN_INTERVAL
        );
        assert_eq!(
            clamp_interval(Duration::from_secs(2)),
            Duration::from_secs(2)
        );
    }
}
