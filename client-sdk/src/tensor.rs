//! Logging `tch` tensors (the `tch` feature): scalars from one-element tensors, histograms from tensors of any shape, PR curves, audio, meshes and embeddings.
//!
//! [`TensorLogging`] adds [`add_scalar_tensor`](TensorLogging::add_scalar_tensor),
//! [`add_histogram_tensor`](TensorLogging::add_histogram_tensor) and the tensor forms of
//! `add_pr_curve`, `add_audio`, `add_mesh` and `add_embedding` to [`SummaryWriter`]. Tensors
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

    /// [`SummaryWriter::add_pr_curve`] from tensors of any shape (flattened): `labels` true
    /// where non-zero, `predictions` in `[0, 1]`.
    fn add_pr_curve_tensor(
        &mut self,
        tag: &str,
        labels: &Tensor,
        predictions: &Tensor,
        step: i64,
        num_thresholds: u32,
    );

    /// [`SummaryWriter::add_audio`] from a tensor of samples in `[-1, 1]` (flattened: a mono
    /// clip, as torch's `add_audio` takes it).
    fn add_audio_tensor(&mut self, tag: &str, samples: &Tensor, sample_rate: u32, step: i64);

    /// [`SummaryWriter::add_mesh`] from tensors shaped as torch's `add_mesh` takes them:
    /// `vertices` `[B, N, 3]` (or `[N, 3]`), `faces` `[B, F, 3]` vertex indices and `colors`
    /// `[B, N, 3]` 0–255, either may be `None`. A mesh that does not fit (shapes, faces past the
    /// vertices) logs a warning and nothing else.
    fn add_mesh_tensor(
        &mut self,
        tag: &str,
        vertices: &Tensor,
        faces: Option<&Tensor>,
        colors: Option<&Tensor>,
        config: Option<&serde_json::Value>,
        step: i64,
    );

    /// [`SummaryWriter::add_embedding`] from a `[N, D]` tensor (a row a point) and one label a
    /// row (or none).
    fn add_embedding_tensor<L: AsRef<str>>(
        &mut self,
        tag: &str,
        matrix: &Tensor,
        metadata: &[L],
        step: i64,
    );
}

impl TensorLogging for SummaryWriter {
    fn add_scalar_tensor(&mut self, tag: &str, value: &Tensor, step: i64) {
        match scalar_value(value) {
            Ok(v) => self.add_scalar(tag, v, step),
            Err(e) => {
                nothing_logged("add_scalar_tensor", tag, step, &e);
            }
        }
    }

    fn add_histogram_tensor(&mut self, tag: &str, values: &Tensor, step: i64) {
        match flat_values(values) {
            Ok(v) => self.add_histogram(tag, &v, step),
            Err(e) => {
                nothing_logged("add_histogram_tensor", tag, step, &e);
            }
        }
    }

    fn add_pr_curve_tensor(
        &mut self,
        tag: &str,
        labels: &Tensor,
        predictions: &Tensor,
        step: i64,
        num_thresholds: u32,
    ) {
        match (flat_values(labels), flat_values(predictions)) {
            (Ok(l), Ok(p)) => {
                let l: Vec<bool> = l.iter().map(|&x| x != 0.0).collect();
                let p: Vec<f32> = p.iter().map(|&x| x as f32).collect();
                self.add_pr_curve(tag, &l, &p, step, num_thresholds);
            }
            (Err(e), _) | (_, Err(e)) => {
                nothing_logged("add_pr_curve_tensor", tag, step, &e);
            }
        }
    }

    fn add_audio_tensor(&mut self, tag: &str, samples: &Tensor, sample_rate: u32, step: i64) {
        match flat_values(samples) {
            Ok(v) => {
                let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                self.add_audio(tag, &v, sample_rate, step);
            }
            Err(e) => {
                nothing_logged("add_audio_tensor", tag, step, &e);
            }
        }
    }

    fn add_mesh_tensor(
        &mut self,
        tag: &str,
        vertices: &Tensor,
        faces: Option<&Tensor>,
        colors: Option<&Tensor>,
        config: Option<&serde_json::Value>,
        step: i64,
    ) {
        if let Err(e) = log_mesh(self, tag, vertices, faces, colors, config, step) {
            nothing_logged("add_mesh_tensor", tag, step, &e);
        }
    }

    fn add_embedding_tensor<L: AsRef<str>>(
        &mut self,
        tag: &str,
        matrix: &Tensor,
        metadata: &[L],
        step: i64,
    ) {
        let rows = shaped(matrix).and_then(|(size, values)| match size[..] {
            [_, d] if d > 0 => Ok(values
                .chunks_exact(d as usize)
                .map(|r| r.iter().map(|&x| x as f32).collect::<Vec<f32>>())
                .collect::<Vec<_>>()),
            _ => Err(TchError::Shape(format!("expected [N, D], got {size:?}"))),
        });
        let logged = rows.map_err(|e| e.to_string()).and_then(|rows| {
            self.add_embedding(tag, &rows, metadata, step)
                .map_err(|e| e.to_string())
        });
        if let Err(e) = logged {
            nothing_logged("add_embedding_tensor", tag, step, &e);
        }
    }
}

/// Says that a call logged nothing, and why (logging never fails training).
fn nothing_logged(call: &str, tag: &str, step: i64, e: &dyn std::fmt::Display) {
    tracing::warn!("runboard: {call}({tag:?}, step {step}): {e}; nothing logged");
}

/// `t`'s elements as `f64`s with its shape.
fn shaped(t: &Tensor) -> Result<(Vec<i64>, Vec<f64>), TchError> {
    check_defined(t)?;
    Ok((t.size(), flat_values(t)?))
}

/// Triples of a `[B, N, 3]` (or `[N, 3]`) tensor, with `B`.
fn triples(t: &Tensor) -> Result<(usize, Vec<[f64; 3]>), TchError> {
    let (size, values) = shaped(t)?;
    let batch = match size[..] {
        [b, _, 3] => b,
        [_, 3] => 1,
        _ => {
            return Err(TchError::Shape(format!(
                "expected [B, N, 3] or [N, 3], got {size:?}"
            )));
        }
    };
    let rows = values.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    Ok((usize::try_from(batch).unwrap_or(1), rows))
}

/// The mesh of `add_mesh_tensor`'s tensors, checked and logged.
fn log_mesh(
    w: &mut SummaryWriter,
    tag: &str,
    vertices: &Tensor,
    faces: Option<&Tensor>,
    colors: Option<&Tensor>,
    config: Option<&serde_json::Value>,
    step: i64,
) -> Result<(), String> {
    let (batch, v) = triples(vertices).map_err(|e| format!("vertices: {e}"))?;
    let v: Vec<[f32; 3]> = v.iter().map(|t| t.map(|x| x as f32)).collect();
    let f: Vec<[u32; 3]> = match faces {
        Some(t) => triples(t)
            .map_err(|e| format!("faces: {e}"))?
            .1
            .iter()
            .map(|t| t.map(|x| if x >= 0.0 { x as u32 } else { u32::MAX }))
            .collect(),
        None => Vec::new(),
    };
    let c: Vec<[u8; 3]> = match colors {
        Some(t) => triples(t)
            .map_err(|e| format!("colors: {e}"))?
            .1
            .iter()
            .map(|t| t.map(|x| x.clamp(0.0, 255.0) as u8))
            .collect(),
        None => Vec::new(),
    };
    w.add_mesh_batch(tag, batch, &v, &f, &c, config, step)
        .map_err(|e| e.to_string())
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

    #[test]
    fn pr_curves_audio_meshes_and_embeddings_log_from_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        let path = w.path().to_path_buf();
        let labels = Tensor::from_slice(&[1i64, 0, 1, 1]);
        let scores = Tensor::from_slice(&[0.9f32, 0.4, 0.65, 0.2]);
        w.add_pr_curve_tensor("pr", &labels, &scores, 1, 11);
        w.add_audio_tensor("clip", &Tensor::from_slice(&[0.0f32, 0.5, -0.5]), 8000, 2);
        let vertices = Tensor::from_slice(&[0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
            .reshape([1, 3, 3]);
        let faces = Tensor::from_slice(&[0i64, 1, 2]).reshape([1, 1, 3]);
        let colors = Tensor::from_slice(&[255u8, 0, 0, 0, 255, 0, 0, 0, 255]).reshape([1, 3, 3]);
        w.add_mesh_tensor("tri", &vertices, Some(&faces), Some(&colors), None, 3);
        // Faces past the vertices: a warning, nothing logged.
        let bad = Tensor::from_slice(&[0i64, 1, 9]).reshape([1, 1, 3]);
        w.add_mesh_tensor("bad", &vertices, Some(&bad), None, None, 3);
        let matrix = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).reshape([2, 2]);
        w.add_embedding_tensor("emb", &matrix, &["a", "b"], 4);
        w.add_embedding_tensor("flat", &Tensor::from_slice(&[1.0f32]), &[] as &[&str], 4);
        w.close().unwrap();
        let events = read(&path);
        let tags: Vec<&str> = events
            .iter()
            .flat_map(|e| e.values.iter().map(|v| v.tag.as_str()))
            .collect();
        for want in ["pr", "clip", "tri_VERTEX", "tri_FACE", "tri_COLOR"] {
            assert!(tags.contains(&want), "{want} in {tags:?}");
        }
        assert!(!tags.iter().any(|t| t.starts_with("bad")), "{tags:?}");
        let Value::Tensor { tensor, .. } = values_of(&events, "tri_COLOR")[0].1 else {
            panic!()
        };
        assert_eq!(tensor.float_val[..3], [255.0, 0.0, 0.0]);
        let tsv = std::fs::read_to_string(dir.path().join("00004/emb/tensors.tsv")).unwrap();
        assert_eq!(tsv, "1\t2\n3\t4\n");
        assert!(!dir.path().join("00004/flat").exists());
    }
}
