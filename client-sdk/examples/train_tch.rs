//! Trains a small MLP on two interleaved spirals with `tch` and logs it with runboard.
//!
//! ```text
//! source .ci/libtorch.sh   # or point LIBTORCH / LD_LIBRARY_PATH at your own libtorch
//! cargo run -p runboard-sdk --features tch --example train_tch -- runs/train_tch
//! ```
//!
//! Logs `train/loss`, `train/accuracy` and `train/lr` every step and, every
//! [`HISTOGRAM_EVERY`] steps, a histogram of each parameter (`weights/<layer>/<param>`) and of
//! its gradient (`grads/<layer>/<param>`). Uses CUDA when libtorch can see a GPU. Exits with
//! status 1 if the accuracy on a held-out set is below [`MIN_TEST_ACCURACY`].

use std::error::Error;
use std::f64::consts::PI;
use std::process::ExitCode;

use runboard_sdk::SummaryWriter;
use runboard_sdk::model::{self, ModelLogging};
use runboard_sdk::tensor::TensorLogging;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// Full-batch training steps.
const STEPS: i64 = 400;
/// Points per class in the training set (and in the held-out set).
const POINTS_PER_CLASS: i64 = 500;
/// Weight and gradient histograms are logged every this many steps (and at the last step).
const HISTOGRAM_EVERY: i64 = 25;
/// Peak learning rate, reached after [`WARMUP_STEPS`]; it then decays to a tenth of it.
const PEAK_LR: f64 = 0.02;
/// Linear warmup length.
const WARMUP_STEPS: i64 = 20;
/// The run fails below this held-out accuracy (it reaches about 0.99; chance is 0.5).
const MIN_TEST_ACCURACY: f64 = 0.9;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("train_tch: {e}");
            ExitCode::from(2)
        }
    }
}

/// Trains and logs; `Ok(false)` when the model did not learn.
fn run() -> Result<bool, Box<dyn Error>> {
    let logdir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "runs/train_tch".to_owned());
    let device = Device::cuda_if_available();
    if device == Device::Cpu {
        // The model is tiny, so one thread is fastest; libtorch's OpenMP threads also slow down
        // 10-30x when another process keeps a core busy.
        tch::set_num_threads(1);
    }
    tch::manual_seed(42);

    let (train_x, train_y) = spirals(POINTS_PER_CLASS, device);
    let (test_x, test_y) = spirals(POINTS_PER_CLASS, device);

    let vs = nn::VarStore::new(device);
    let net = mlp(&vs.root());
    let mut opt = nn::Adam::default().build(&vs, lr_at(0))?;

    let mut writer = SummaryWriter::new(&logdir)?;
    println!(
        "train_tch: training on {device:?}, logging to {}",
        writer.path().display()
    );
    // The model's parameters, as torchsummary prints them, and logged as its graph.
    println!("{}", model::summary(&vs));
    writer.add_model_summary(&vs);
    let started = std::time::Instant::now();

    let mut params: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    params.sort_by(|a, b| a.0.cmp(&b.0));

    let mut last = (f64::NAN, f64::NAN);
    for step in 0..STEPS {
        let lr = lr_at(step);
        opt.set_lr(lr);
        let logits = net.forward(&train_x);
        let loss = logits.cross_entropy_for_logits(&train_y);
        opt.backward_step(&loss);
        let accuracy = logits.accuracy_for_logits(&train_y);

        writer.add_scalar_tensor("train/loss", &loss, step);
        writer.add_scalar_tensor("train/accuracy", &accuracy, step);
        writer.add_scalar("train/lr", lr, step);
        if step % HISTOGRAM_EVERY == 0 || step == STEPS - 1 {
            for (name, param) in &params {
                // "fc1.weight" -> "fc1/weight", so TensorBoard groups a layer's tensors.
                let name = name.replace('.', "/");
                writer.add_histogram_tensor(&format!("weights/{name}"), param, step);
                writer.add_histogram_tensor(&format!("grads/{name}"), &param.grad(), step);
            }
        }
        last = (f64::try_from(&loss)?, f64::try_from(&accuracy)?);
    }

    let test_accuracy = tch::no_grad(|| net.forward(&test_x).accuracy_for_logits(&test_y));
    let test_accuracy = f64::try_from(&test_accuracy)?;
    writer.add_scalar("test/accuracy", test_accuracy, STEPS - 1);
    let path = writer.path().to_path_buf();
    writer.close()?;

    println!(
        "train_tch: {STEPS} steps in {:.2}s: final loss {:.4}, train accuracy {:.3}, test accuracy {test_accuracy:.3}",
        started.elapsed().as_secs_f64(),
        last.0,
        last.1,
    );
    println!("train_tch: events written to {}", path.display());
    if test_accuracy < MIN_TEST_ACCURACY {
        eprintln!("train_tch: test accuracy {test_accuracy:.3} is below {MIN_TEST_ACCURACY}");
        return Ok(false);
    }
    Ok(true)
}

/// 2 -> 32 -> 32 -> 2 with tanh activations.
fn mlp(p: &nn::Path) -> nn::Sequential {
    nn::seq()
        .add(nn::linear(p / "fc1", 2, 32, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(p / "fc2", 32, 32, Default::default()))
        .add_fn(|x| x.tanh())
        .add(nn::linear(p / "fc3", 32, 2, Default::default()))
}

/// Linear warmup to [`PEAK_LR`], then cosine decay to a tenth of it at the last step.
fn lr_at(step: i64) -> f64 {
    if step < WARMUP_STEPS {
        return PEAK_LR * (step + 1) as f64 / WARMUP_STEPS as f64;
    }
    let progress = (step - WARMUP_STEPS) as f64 / (STEPS - 1 - WARMUP_STEPS).max(1) as f64;
    let floor = PEAK_LR / 10.0;
    floor + (PEAK_LR - floor) * 0.5 * (1.0 + (PI * progress).cos())
}

/// Two interleaved spirals of `n` noisy points each: inputs `[2n, 2]` (float), labels `[2n]`
/// (int64, 0 or 1). Random draws come from tch's generator, seeded by `tch::manual_seed`.
fn spirals(n: i64, device: Device) -> (Tensor, Tensor) {
    let opts = (Kind::Float, Device::Cpu);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for class in 0..2i64 {
        // Radius 0.1 ..= 1 over 1.5 turns; the second spiral is the first rotated by half a turn.
        let t = Tensor::rand([n], opts);
        let radius = &t * 0.9 + 0.1;
        let angle = &t * (3.0 * PI) + class as f64 * PI;
        let noise = Tensor::randn([n, 2], opts) * 0.03;
        let points = Tensor::stack(&[&radius * angle.cos(), &radius * angle.sin()], 1) + noise;
        xs.push(points);
        ys.push(Tensor::full([n], class, (Kind::Int64, Device::Cpu)));
    }
    (
        Tensor::cat(&xs, 0).to_device(device),
        Tensor::cat(&ys, 0).to_device(device),
    )
}
