//! `runboard demo`: a server plus simulated training runs and GPUs logging live, so a new user sees the whole product in seconds.
//!
//! Each run is a thread writing real event files with the SDK's [`SummaryWriter`] into the
//! demo's logdir, which the server tails like any other: scalars with noise and an occasional
//! spike, a learning-rate schedule, weight histograms, Markdown notes, sample images and
//! hyperparameters. One run diverges to NaN, as real ones do. Two simulated GPUs are sampled
//! into the `system` run.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use runboard_sdk::SummaryWriter;
use runboard_sdk::event::HParamValue;

/// What `runboard demo` runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Port to serve on.
    pub port: u16,
    /// Address to listen on (loopback unless told otherwise).
    pub host: IpAddr,
    /// How many simulated runs (1 to 12).
    pub runs: usize,
    /// Steps each run logs before it finishes.
    pub steps: i64,
    /// Training steps a second, per run.
    pub rate: f64,
    /// Where the runs' event files go; a temporary folder (removed at exit) when `None`.
    pub logdir: Option<PathBuf>,
}

/// One simulated run's hyperparameters.
#[derive(Debug, Clone, Copy)]
struct Recipe {
    lr: f64,
    batch_size: u32,
    optimizer: &'static str,
    dropout: f64,
}

const RECIPES: [Recipe; 12] = [
    Recipe {
        lr: 0.01,
        batch_size: 64,
        optimizer: "adam",
        dropout: 0.1,
    },
    Recipe {
        lr: 0.003,
        batch_size: 64,
        optimizer: "adam",
        dropout: 0.1,
    },
    Recipe {
        lr: 0.1,
        batch_size: 128,
        optimizer: "sgd",
        dropout: 0.0,
    },
    Recipe {
        lr: 0.8,
        batch_size: 32,
        optimizer: "sgd",
        dropout: 0.0,
    },
    Recipe {
        lr: 0.03,
        batch_size: 256,
        optimizer: "adamw",
        dropout: 0.2,
    },
    Recipe {
        lr: 0.001,
        batch_size: 32,
        optimizer: "adam",
        dropout: 0.3,
    },
    Recipe {
        lr: 0.05,
        batch_size: 64,
        optimizer: "sgd",
        dropout: 0.1,
    },
    Recipe {
        lr: 0.02,
        batch_size: 128,
        optimizer: "adamw",
        dropout: 0.0,
    },
    Recipe {
        lr: 0.005,
        batch_size: 256,
        optimizer: "adam",
        dropout: 0.2,
    },
    Recipe {
        lr: 0.2,
        batch_size: 64,
        optimizer: "sgd",
        dropout: 0.3,
    },
    Recipe {
        lr: 0.008,
        batch_size: 32,
        optimizer: "adamw",
        dropout: 0.1,
    },
    Recipe {
        lr: 0.015,
        batch_size: 128,
        optimizer: "adam",
        dropout: 0.0,
    },
];

/// A small deterministic generator (xorshift64*), so every demo looks the same.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.next_f64().max(1e-12);
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Runs the demo until Ctrl-C: the server in the foreground, the runs on their own threads.
pub fn run(options: DemoOptions) -> anyhow::Result<()> {
    let runs = options.runs.clamp(1, RECIPES.len());
    let scratch = tempfile::Builder::new()
        .prefix("runboard-demo-")
        .tempdir()?;
    let logdir = options
        .logdir
        .clone()
        .unwrap_or_else(|| scratch.path().join("runs"));
    std::fs::create_dir_all(&logdir)?;
    let mut config = crate::server::Config::for_logdir(logdir.clone());
    config.db = scratch.path().join("demo.sqlite");
    config.host = options.host;
    config.port = options.port;
    config.gpu = crate::gpu::GpuMode::Simulated(2);
    config.ingest.poll_interval = Duration::from_millis(250);

    let stop = Arc::new(AtomicBool::new(false));
    let mut trainers = Vec::new();
    for (i, recipe) in RECIPES.iter().take(runs).enumerate() {
        let dir = logdir.join(format!(
            "demo/{}-lr{}-bs{}",
            recipe.optimizer, recipe.lr, recipe.batch_size
        ));
        let stop = Arc::clone(&stop);
        let (steps, rate) = (options.steps, options.rate);
        let recipe = *recipe;
        trainers.push(
            std::thread::Builder::new()
                .name(format!("runboard-demo-{i}"))
                .spawn(move || {
                    if let Err(e) = train(&dir, recipe, i as u64, steps, rate, &stop) {
                        tracing::warn!("demo run {} stopped: {e}", dir.display());
                    }
                })?,
        );
    }

    let served = crate::server::run(config, |addr| {
        eprintln!(
            "runboard demo: {runs} simulated runs and 2 simulated GPUs; open http://{addr} (Ctrl-C stops)"
        );
    });
    stop.store(true, Ordering::Relaxed);
    for t in trainers {
        let _ = t.join();
    }
    served
}

/// One simulated training run: logs until `steps` or `stop`, `rate` steps a second.
fn train(
    dir: &std::path::Path,
    recipe: Recipe,
    seed: u64,
    steps: i64,
    rate: f64,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut w = SummaryWriter::new(dir)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    w.add_hparams(
        &[
            ("lr", recipe.lr.into()),
            ("batch_size", recipe.batch_size.into()),
            ("optimizer", HParamValue::from(recipe.optimizer)),
            ("dropout", recipe.dropout.into()),
        ],
        &[],
    );
    w.add_text(
        "notes",
        &format!(
            "# Demo run {seed}\n\nA simulated training run: **{}** at learning rate `{}`.\n\n\
             | hparam | value |\n|---|---|\n| lr | {} |\n| batch_size | {} |\n| dropout | {} |",
            recipe.optimizer, recipe.lr, recipe.lr, recipe.batch_size, recipe.dropout
        ),
        0,
    );
    let diverges = recipe.lr > 0.5;
    let speed = recipe.lr.min(0.1).sqrt() * (64.0 / f64::from(recipe.batch_size)).sqrt();
    let floor = 0.05 + recipe.dropout * 0.1 + if recipe.optimizer == "sgd" { 0.05 } else { 0.0 };
    let tick = Duration::from_secs_f64(1.0 / rate.clamp(0.1, 10_000.0));
    let mut weights_scale = 1.0;
    for step in 0..steps {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let t = step as f64;
        let mut loss = floor + 2.3 * (-t * speed / 120.0).exp() + 0.04 * rng.normal().abs();
        if rng.next_f64() < 0.002 {
            loss *= 4.0; // a spike, as a bad batch gives
        }
        if diverges && step > 300 {
            loss *= ((t - 300.0) / 60.0).exp();
            if !loss.is_finite() || loss > 1e6 {
                w.add_scalar("train/loss", f64::NAN, step);
                w.add_text(
                    "notes",
                    &format!("**Diverged** at step {step}: loss is NaN. Stopped."),
                    step,
                );
                break;
            }
        }
        let accuracy = (1.0 - loss / 2.5).clamp(0.0, 1.0) * (0.98 - recipe.dropout * 0.05);
        let lr = recipe.lr * 0.5 * (1.0 + (std::f64::consts::PI * t / steps as f64).cos());
        w.add_scalar("train/loss", loss, step);
        w.add_scalar("train/accuracy", accuracy, step);
        w.add_scalar("train/lr", lr, step);
        if step % 50 == 0 {
            w.add_scalar("eval/loss", loss * 1.08 + 0.02 * rng.normal().abs(), step);
            w.add_scalar("eval/accuracy", accuracy * 0.97, step);
        }
        if step % 25 == 0 {
            weights_scale = 0.2 + 0.8 * (-t / 2000.0).exp();
            let values: Vec<f64> = (0..2000)
                .map(|_| rng.normal() * weights_scale + 0.1 * (t / 1000.0).sin())
                .collect();
            w.add_histogram("weights/dense1", &values, step);
            let grads: Vec<f64> = (0..2000).map(|_| rng.normal() * loss * 0.1).collect();
            w.add_histogram("grads/dense1", &grads, step);
        }
        if step % 250 == 0 {
            let pixels = sample_image(step, weights_scale);
            w.add_image("samples/reconstruction", &pixels, 32, 32, 3, step)?;
        }
        std::thread::sleep(tick);
    }
    w.add_hparams_end(true);
    w.close()?;
    Ok(())
}

/// A 32×32 RGB picture that sharpens as training goes on.
fn sample_image(step: i64, blur: f64) -> Vec<u8> {
    let mut px = Vec::with_capacity(32 * 32 * 3);
    for y in 0..32 {
        for x in 0..32 {
            let (fx, fy) = (f64::from(x) / 31.0, f64::from(y) / 31.0);
            let ring = ((fx - 0.5).hypot(fy - 0.5) * 18.0 + step as f64 / 200.0).sin();
            let sharp = (ring * (1.0 / blur.max(0.05))).tanh();
            let v = |c: f64| (c.clamp(0.0, 1.0) * 255.0) as u8;
            px.extend([v(0.5 + 0.5 * sharp), v(fx), v(fy * (0.5 + 0.5 * sharp))]);
        }
    }
    px
}
