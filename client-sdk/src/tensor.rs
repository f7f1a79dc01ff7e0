//! Logging `tch` tensors (the `tch` feature): scalars from one-element tensors, histograms from tensors of any shape.
//!
//! [`TensorLogging`] adds [`add_scalar_tensor`](TensorLogging::add_scalar_tensor) and
//! [`add_histogram_tensor`](TensorLogging::add_histogram_tensor) to [`SummaryWriter`]. Tensors
//! may have any dtype and live on any device: they are detached, copied to the CPU and
//! converted to `f64` first. Like every logging call, these never panic and never fail: a
//! tensor that cannot be logged (an undefined tensor, a "scalar" with several elements, a dtype
//! that does not convert) is reported with `tracing::warn!` and nothing is logged.
//!
//! ```no_run
//! use runboard_sdk::SummaryWriter;
//! use runboard_sdk::tensor::TensorLogging;
//!
//! let mut writer = SummaryWriter::new("runs/demo")?;
//! let loss = tch::Tensor::from(0.25f32);
//! writer.add_scalar_tensor("train/loss", &loss, 1);
//! let weights = tch::Tensor::randn([32, 2], tch::kind::FLOAT_CPU);
//! writer.add_histogram_tensor("weights/fc1", &weights, 1);
//! writer.close()?;
//! # Ok::<(), runboard_sdk::WriterError>(())
//! ```

use tch::{Device, Kind, TchError, Tensor};

use crate::SummaryWriter;

/// Logs `tch` tensors with a [`SummaryWriter`]; bring it into scope with
/// `use runboard_sdk::tensor::TensorLogging`.
pub trait TensorLogging {
    /// Logs a one-element tensor (0-dim, or any shape with exactly one element) as a scalar,
    /// like [`SummaryWriter::add_scalar`]. Any dtype and device; the value is copied to the
    /// CPU (a device sync on GPU) and converted to `f64`. A tensor with zero or several
    /// elements, or one that does not convert, logs a warning and nothing else.
    fn add_scalar_tensor(&mut self, tag: &str, value: &Tensor, step: i64);

    /// Logs a histogram of all the elements of a tensor of any shape, int or float dtype and
    /// device, like [`SummaryWriter::add_histogram`]: the tensor is detached, copied to the
    /// CPU, flattened and converted to `f64`. A tensor that cannot be converted (for example
    /// an undefined gradient) logs a warning and nothing else.
    fn add_histogram_tensor(&mut self, tag: &str, values: &Tensor, step: i64);
}

impl TensorLogging for SummaryWriter {
    fn add_scalar_tensor(&mut self, tag: &str, value: &Tensor, step: i64) {
        match scalar_value(value) {
            Ok(v) => self.add_scalar(tag, v, step),
            Err(e) => {
                tracing::warn!(
                    "runboard: add_scalar_tensor({tag:?}, step {step}): {e}; nothing logged"
                );
            }
        }
    }

    fn add_histogram_tensor(&mut self, tag: &str, values: &Tensor, step: i64) {
        match flat_values(values) {
            Ok(v) => self.add_histogram(tag, &v, step),
            Err(e) => {
                tracing::warn!(
                    "runboard: add_histogram_tensor({tag:?}, step {step}): {e}; nothing logged"
                );
            }
        }
    }
}

/// tch panics on most queries of an undefined tensor (such as a gradient before the first
/// backward pass), so that case is turned into an error before anything else.
fn check_defined(t: &Tensor) -> Result<(), TchError> {
    if t.defined() {
        Ok(())
    } else {
        Err(TchError::Convert("undefined tensor".into()))
    }
}

/// The single element of `t` as an `f64`.
fn scalar_value(t: &Tensor) -> Result<f64, TchError> {
    check_defined(t)?;
    let numel = t.numel();
    if numel != 1 {
        return Err(TchError::Shape(format!(
            "expected exactly one element, got shape {:?} ({numel} elements)",
            t.size()
        )));
    }
    // `f64::try_from` copies to the CPU and converts the kind itself; detaching first keeps
    // the conversion out of the autograd graph.
    f64::try_from(&t.f_detach()?)
}

/// All the elements of `t`, in row-major order, as `f64`s.
fn flat_values(t: &Tensor) -> Result<Vec<f64>, TchError> {
    check_defined(t)?;
    let flat = t
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Double)?
        .f_reshape([-1])?;
    Vec::<f64>::try_from(&flat)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::event::{DecodedEvent, Value};
    use crate::event_file::read_events;

    /// Runs `log` against a fresh writer, closes it and returns the file's events.
    fn write_and_read(log: impl FnOnce(&mut SummaryWriter)) -> Vec<DecodedEvent> {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        let path = w.path().to_path_buf();
        log(&mut w);
        w.close().unwrap();
        read(&path)
    }

    fn read(path: &Path) -> Vec<DecodedEvent> {
        read_events(path).unwrap().0
    }

    /// `(step, value)` of every value logged under `tag`.
    fn values_of<'a>(events: &'a [DecodedEvent], tag: &str) -> Vec<(i64, &'a Value)> {
        events
            .iter()
            .flat_map(|e| e.values.iter().map(move |v| (e.step, v)))
            .filter(|(_, v)| v.tag == tag)
            .map(|(step, v)| (step, &v.value))
            .collect()
    }

    fn histogram_count(value: &Value) -> f64 {
        match value {
            Value::Histogram(rows) => rows.iter().map(|r| r[2]).sum(),
            other => panic!("expected a histogram, got {other:?}"),
        }
    }

    #[test]
    fn zero_dim_f32_tensor_is_logged_as_a_scalar_at_its_step() {
        let events = write_and_read(|w| {
            w.add_scalar_tensor("loss", &Tensor::from(0.5f32), 7);
        });
        assert_eq!(values_of(&events, "loss"), vec![(7, &Value::Scalar(0.5))]);
    }

    #[test]
    fn one_element_tensors_of_other_shapes_and_dtypes_are_scalars() {
        let events = write_and_read(|w| {
            w.add_scalar_tensor("i64", &Tensor::from_slice(&[3i64]), 1);
            w.add_scalar_tensor(
                "f64_1x1",
                &Tensor::from_slice(&[0.25f64]).reshape([1, 1]),
                2,
            );
            w.add_scalar_tensor("bool", &Tensor::from(true), 3);
        });
        assert_eq!(values_of(&events, "i64"), vec![(1, &Value::Scalar(3.0))]);
        assert_eq!(
            values_of(&events, "f64_1x1"),
            vec![(2, &Value::Scalar(0.25))]
        );
        assert_eq!(values_of(&events, "bool"), vec![(3, &Value::Scalar(1.0))]);
    }

    #[test]
    fn scalar_that_requires_grad_is_logged() {
        let x = Tensor::from(2.0f64).set_requires_grad(true);
        let loss = &x * &x;
        let events = write_and_read(|w| w.add_scalar_tensor("loss", &loss, 1));
        assert_eq!(values_of(&events, "loss"), vec![(1, &Value::Scalar(4.0))]);
        // The graph is untouched: backward still works after logging.
        loss.backward();
        assert_eq!(f64::try_from(x.grad()).unwrap(), 4.0);
    }

    #[test]
    fn multi_element_empty_and_undefined_scalars_log_nothing_and_do_not_panic() {
        let events = write_and_read(|w| {
            w.add_scalar_tensor("bad", &Tensor::from_slice(&[1.0f32, 2.0]), 1);
            w.add_scalar_tensor("bad", &Tensor::zeros([2, 3], tch::kind::FLOAT_CPU), 2);
            w.add_scalar_tensor("bad", &Tensor::zeros([0], tch::kind::FLOAT_CPU), 3);
            w.add_scalar_tensor("bad", &Tensor::new(), 4);
            w.add_scalar("good", 1.0, 5);
        });
        assert!(values_of(&events, "bad").is_empty());
        assert_eq!(values_of(&events, "good"), vec![(5, &Value::Scalar(1.0))]);
    }

    #[test]
    fn histogram_of_a_2x3_f64_tensor_counts_six_values() {
        let t = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).reshape([2, 3]);
        let events = write_and_read(|w| w.add_histogram_tensor("w", &t, 3));
        let logged = values_of(&events, "w");
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].0, 3);
        assert_eq!(histogram_count(logged[0].1), 6.0);
    }

    #[test]
    fn histograms_of_int_non_contiguous_zero_dim_and_grad_tensors() {
        let ints = Tensor::arange(10, (Kind::Int64, Device::Cpu));
        let transposed = Tensor::ones([4, 5], tch::kind::FLOAT_CPU).transpose(0, 1);
        let param = Tensor::ones([3], tch::kind::FLOAT_CPU).set_requires_grad(true);
        let events = write_and_read(|w| {
            w.add_histogram_tensor("ints", &ints, 1);
            w.add_histogram_tensor("transposed", &transposed, 1);
            w.add_histogram_tensor("zero_dim", &Tensor::from(1.5f32), 1);
            w.add_histogram_tensor("param", &param, 1);
        });
        for (tag, n) in [
            ("ints", 10.0),
            ("transposed", 20.0),
            ("zero_dim", 1.0),
            ("param", 3.0),
        ] {
            let logged = values_of(&events, tag);
            assert_eq!(logged.len(), 1, "{tag}");
            assert_eq!(histogram_count(logged[0].1), n, "{tag}");
        }
    }

    #[test]
    fn histogram_of_an_undefined_gradient_logs_nothing() {
        let param = Tensor::ones([3], tch::kind::FLOAT_CPU).set_requires_grad(true);
        let events = write_and_read(|w| {
            w.add_histogram_tensor("grad", &param.grad(), 1);
            w.add_scalar("good", 1.0, 2);
        });
        assert!(values_of(&events, "grad").is_empty());
        assert_eq!(values_of(&events, "good").len(), 1);
    }

    #[test]
    fn cuda_tensors_are_copied_to_the_cpu() {
        if !tch::Cuda::is_available() {
            return;
        }
        let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_device(Device::Cuda(0));
        let events = write_and_read(|w| {
            w.add_scalar_tensor("sum", &t.sum(Kind::Float), 1);
            w.add_histogram_tensor("t", &t, 1);
        });
        assert_eq!(values_of(&events, "sum"), vec![(1, &Value::Scalar(6.0))]);
        assert_eq!(histogram_count(values_of(&events, "t")[0].1), 3.0);
    }
}
