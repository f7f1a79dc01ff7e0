//! Summary builders: the exact protobuf values TensorBoard's plugins read, for each kind runboard writes.
//!
//! Scalars are written as `simple_value` (float32, like torch and tensorboardX: every
//! TensorBoard reader accepts it). Histograms are TF2-style `[k, 3]` double tensors with
//! explicit bucket edges. Text is a string tensor for the `text` plugin, images a legacy
//! `Summary.Image` holding PNG bytes, hparams the HParams plugin's `session_start_info`.

use prost::Message;
use runboard_proto::tensorboard::{
    self as pb, DataType, SummaryMetadata, TensorProto, TensorShapeProto, hparams,
    summary::value::Value as PbValue, summary_metadata::PluginData,
};

use crate::event::{HParamValue, hparams_tag, plugin};

/// The default number of histogram buckets (TF2's `tf.summary.histogram` default).
pub const DEFAULT_HISTOGRAM_BUCKETS: usize = 30;

fn metadata(plugin_name: &str, content: Vec<u8>, data_class: pb::DataClass) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(PluginData {
            plugin_name: plugin_name.to_owned(),
            content,
        }),
        data_class: data_class as i32,
        ..Default::default()
    }
}

pub(crate) fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
    Some(TensorShapeProto {
        dim: dims
            .iter()
            .map(|&size| pb::tensor_shape_proto::Dim {
                size,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    })
}

fn value(tag: &str, metadata: Option<SummaryMetadata>, v: Option<PbValue>) -> pb::summary::Value {
    pb::summary::Value {
        node_name: String::new(),
        tag: prost::bytes::Bytes::copy_from_slice(tag.as_bytes()),
        metadata: metadata.map(Box::new),
        value: v,
    }
}

/// A scalar as `simple_value`.
pub fn scalar(tag: &str, v: f64) -> pb::summary::Value {
    value(tag, None, Some(PbValue::SimpleValue(v as f32)))
}

/// Buckets `values` into `buckets` equal-width `[left, right, count]` rows over their range,
/// as TF2's `tf.summary.histogram` does. Non-finite values are left out (they have no bucket);
/// when every value is equal the single value gets a unit-wide range around it.
pub fn histogram_buckets(
    values: impl Iterator<Item = f64> + Clone,
    buckets: usize,
) -> Vec<[f64; 3]> {
    let buckets = buckets.max(1);
    let (mut min, mut max, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0usize);
    for v in values.clone().filter(|v| v.is_finite()) {
        min = min.min(v);
        max = max.max(v);
        n += 1;
    }
    if n == 0 {
        return Vec::new();
    }
    if min == max {
        let (left, right) = (min - 0.5, max + 0.5);
        let width = (right - left) / buckets as f64;
        return (0..buckets)
            .map(|i| {
                let l = left + width * i as f64;
                let count = if i == buckets / 2 { n as f64 } else { 0.0 };
                [l, l + width, count]
            })
            .collect();
    }
    let width = (max - min) / buckets as f64;
    let mut counts = vec![0.0f64; buckets];
    for v in values.filter(|v| v.is_finite()) {
        let i = (((v - min) / width) as usize).min(buckets - 1);
        counts[i] += 1.0;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let left = min + width * i as f64;
            let right = if i + 1 == buckets {
                max
            } else {
                min + width * (i + 1) as f64
            };
            [left, right, c]
        })
        .collect()
}

/// A histogram from `[left, right, count]` rows, as a `[k, 3]` DT_DOUBLE tensor.
pub fn histogram(tag: &str, rows: &[[f64; 3]]) -> pb::summary::Value {
    let content: Vec<u8> = rows
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let tensor = TensorProto {
        dtype: DataType::DtDouble as i32,
        tensor_shape: shape(&[rows.len() as i64, 3]),
        tensor_content: content,
        ..Default::default()
    };
    value(
        tag,
        Some(metadata(
            plugin::HISTOGRAMS,
            Vec::new(),
            pb::DataClass::Tensor,
        )),
        Some(PbValue::Tensor(Box::new(tensor))),
    )
}

/// Markdown text as a rank-0 string tensor for the text plugin.
pub fn text(tag: &str, markdown: &str) -> pb::summary::Value {
    let tensor = TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: shape(&[]),
        string_val: vec![markdown.as_bytes().to_vec()],
        ..Default::default()
    };
    value(
        tag,
        Some(metadata(plugin::TEXT, Vec::new(), pb::DataClass::Tensor)),
        Some(PbValue::Tensor(Box::new(tensor))),
    )
}

/// Several Markdown strings as one rank-1 string tensor for the text plugin (shown as a table),
/// or, for exactly one string, the rank-0 tensor of [`text`].
pub fn text_strings(tag: &str, strings: &[String]) -> pb::summary::Value {
    if let [one] = strings {
        return text(tag, one);
    }
    let tensor = TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: shape(&[strings.len() as i64]),
        string_val: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    };
    value(
        tag,
        Some(metadata(plugin::TEXT, Vec::new(), pb::DataClass::Tensor)),
        Some(PbValue::Tensor(Box::new(tensor))),
    )
}

/// A run event (its JSON text) for runboard's own plugin, as a rank-0 string tensor whose data
/// class is unknown, so that TensorBoard ignores it.
pub fn run_event(json: &str) -> pb::summary::Value {
    let tensor = TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: shape(&[]),
        string_val: vec![json.as_bytes().to_vec()],
        ..Default::default()
    };
    value(
        crate::event::RUN_EVENT_TAG,
        Some(metadata(
            plugin::RUNBOARD,
            Vec::new(),
            pb::DataClass::Unknown,
        )),
        Some(PbValue::Tensor(Box::new(tensor))),
    )
}

/// Any tensor, for the plugin named `plugin_name` with its metadata `content` (a plugin's data
/// passed through as it was logged).
pub fn tensor(
    tag: &str,
    plugin_name: &str,
    content: Vec<u8>,
    tensor: TensorProto,
) -> pb::summary::Value {
    let metadata =
        (!plugin_name.is_empty()).then(|| metadata(plugin_name, content, pb::DataClass::Tensor));
    value(tag, metadata, Some(PbValue::Tensor(Box::new(tensor))))
}

/// A precision–recall curve as tensorboardX's `pr_curve` writes it: a `[6, N]` DT_FLOAT tensor
/// (float32 values in `float_val`) of plugin `pr_curves`, its metadata saying `num_thresholds`.
pub fn pr_curve(tag: &str, curve: &crate::event::PrCurve) -> pb::summary::Value {
    let n = curve.thresholds();
    let tensor = TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: shape(&[6, n as i64]),
        float_val: curve.rows.iter().flatten().map(|&v| v as f32).collect(),
        ..Default::default()
    };
    let content = pb::PrCurvePluginData {
        version: 0,
        num_thresholds: u32::try_from(n).unwrap_or(u32::MAX),
    }
    .encode_to_vec();
    let metadata = metadata(plugin::PR_CURVES, content, pb::DataClass::Tensor);
    value(tag, Some(metadata), Some(PbValue::Tensor(Box::new(tensor))))
}

/// The precision–recall curve of binary `labels` and `predictions` (in `[0, 1]`) at
/// `num_thresholds` evenly spaced thresholds, computed as tensorboardX's `compute_curve` does:
/// each prediction falls in bucket `floor(p · (N − 1))` (in float32); true and false positives
/// at threshold `i` count the predictions in buckets `≥ i`; precision and recall divide by at
/// least 1e-7. Predictions outside `[0, 1]` (and NaN) count nowhere; `labels` and
/// `predictions` pair up to the shorter; `num_thresholds` is kept within 2 to 127 (tensorboardX's
/// maximum).
pub fn pr_curve_counts(
    labels: &[bool],
    predictions: &[f32],
    num_thresholds: u32,
) -> crate::event::PrCurve {
    const MINIMUM_COUNT: f64 = 1e-7;
    let n = num_thresholds.clamp(2, 127) as usize;
    let mut tp_buckets = vec![0.0f64; n];
    let mut fp_buckets = vec![0.0f64; n];
    let top = (n - 1) as f32;
    for (&label, &p) in labels.iter().zip(predictions) {
        let bucket = (p * top).floor();
        if !(0.0..=top).contains(&bucket) {
            continue;
        }
        let b = bucket as usize;
        if label {
            tp_buckets[b] += 1.0;
        } else {
            fp_buckets[b] += 1.0;
        }
    }
    // Reverse cumulative sums: the counts at or above each threshold.
    let reverse_cumsum = |buckets: &[f64]| -> Vec<f64> {
        let mut out = buckets.to_vec();
        for i in (0..n - 1).rev() {
            out[i] += out[i + 1];
        }
        out
    };
    let tp = reverse_cumsum(&tp_buckets);
    let fp = reverse_cumsum(&fp_buckets);
    let tn: Vec<f64> = fp.iter().map(|f| fp[0] - f).collect();
    let fn_: Vec<f64> = tp.iter().map(|t| tp[0] - t).collect();
    let precision = (0..n)
        .map(|i| tp[i] / MINIMUM_COUNT.max(tp[i] + fp[i]))
        .collect();
    let recall = (0..n)
        .map(|i| tp[i] / MINIMUM_COUNT.max(tp[i] + fn_[i]))
        .collect();
    crate::event::PrCurve {
        rows: [tp, fp, tn, fn_, precision, recall],
    }
}

/// Mono samples (clipped to `[-1, 1]`) as a 16-bit PCM WAV file, as torch's `add_audio` writes
/// them (`int16(x · 32767)`, truncated).
pub fn wav_pcm16(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX - 36);
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // the fmt chunk's size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // one channel
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate.saturating_mul(2)).to_le_bytes()); // bytes a second
    out.extend_from_slice(&2u16.to_le_bytes()); // bytes a frame
    out.extend_from_slice(&16u16.to_le_bytes()); // bits a sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &x in samples {
        let x = if x.is_nan() { 0.0 } else { x.clamp(-1.0, 1.0) };
        out.extend_from_slice(&((x * 32767.0) as i16).to_le_bytes());
    }
    out
}

/// An encoded WAV clip as a legacy `Summary.Audio` (what torch's and tensorboardX's
/// `add_audio` write; TensorBoard reads it as its audio plugin's data).
pub fn audio(tag: &str, wav: Vec<u8>, sample_rate: u32, frames: usize) -> pb::summary::Value {
    let audio = pb::summary::Audio {
        sample_rate: sample_rate as f32,
        num_channels: 1,
        length_frames: i64::try_from(frames).unwrap_or(i64::MAX),
        encoded_audio_string: wav,
        content_type: "audio/wav".into(),
    };
    value(tag, None, Some(PbValue::Audio(Box::new(audio))))
}

/// Audio clips as the audio plugin's `[k, 2]` string tensor (clip, label), its metadata saying
/// WAV, as TensorBoard's data server turns a `Summary.Audio` into (what an export writes).
pub fn audio_tensor(tag: &str, tensor: TensorProto) -> pb::summary::Value {
    let content = pb::AudioPluginData {
        version: 0,
        encoding: pb::audio_plugin_data::Encoding::Wav as i32,
        converted_to_tensor: true,
    }
    .encode_to_vec();
    // No data class, as TensorBoard's own `create_summary_metadata` writes it: its loaders then
    // take the first column (the clips) as the blob sequence.
    let metadata = metadata(plugin::AUDIO, content, pb::DataClass::Unknown);
    value(tag, Some(metadata), Some(PbValue::Tensor(Box::new(tensor))))
}

/// An encoded (PNG) image as a legacy `Summary.Image`, which every TensorBoard reads.
pub fn image(tag: &str, png: Vec<u8>, width: u32, height: u32, channels: u8) -> pb::summary::Value {
    let img = pb::summary::Image {
        height: i32::try_from(height).unwrap_or(i32::MAX),
        width: i32::try_from(width).unwrap_or(i32::MAX),
        colorspace: i32::from(channels),
        encoded_image_string: png,
    };
    value(tag, None, Some(PbValue::Image(Box::new(img))))
}

/// Why an image could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The pixel buffer does not hold `width * height * channels` bytes.
    #[error("image buffer has {got} bytes, expected {width}x{height}x{channels} = {expected}")]
    WrongSize {
        /// Bytes given.
        got: usize,
        /// Bytes expected.
        expected: usize,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Channels per pixel.
        channels: u8,
    },
    /// Only 1 (grey), 2 (grey+alpha), 3 (RGB) and 4 (RGBA) channels exist.
    #[error("unsupported channel count {0} (use 1, 2, 3 or 4)")]
    Channels(u8),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
}

/// Checks that `pixels` is a `width` x `height` image of `channels` bytes a pixel (1 to 4),
/// and gives the PNG colour type of that many channels.
pub(crate) fn check_image(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
) -> Result<png::ColorType, ImageError> {
    let color = match channels {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        c => return Err(ImageError::Channels(c)),
    };
    let expected = width as usize * height as usize * usize::from(channels);
    if pixels.len() != expected {
        return Err(ImageError::WrongSize {
            got: pixels.len(),
            expected,
            width,
            height,
            channels,
        });
    }
    Ok(color)
}

/// Encodes 8-bit pixels (row-major, `channels` bytes a pixel) as PNG.
pub fn encode_png(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
) -> Result<Vec<u8>, ImageError> {
    let color = check_image(pixels, width, height, channels)?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(pixels)?;
        w.finish()?;
    }
    Ok(out)
}

fn hparams_value(tag: &str, data: hparams::h_params_plugin_data::Data) -> pb::summary::Value {
    let content = hparams::HParamsPluginData {
        version: 0,
        data: Some(data),
    }
    .encode_to_vec();
    hparams_plugin_value(tag, content)
}

/// A summary value of the HParams plugin under `tag` holding `content`, a serialized
/// `HParamsPluginData` (like torch and tensorboardX: the value is empty, the data lives in the
/// metadata).
pub fn hparams_plugin_value(tag: &str, content: Vec<u8>) -> pb::summary::Value {
    value(
        tag,
        Some(metadata(plugin::HPARAMS, content, pb::DataClass::Unknown)),
        None,
    )
}

/// `_hparams_/session_start_info` with these hyperparameter values.
pub fn hparams_session_start(
    hparams: &[(&str, HParamValue)],
    start_time_secs: f64,
) -> pb::summary::Value {
    let info = hparams::SessionStartInfo {
        hparams: hparams
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_proto()))
            .collect(),
        start_time_secs,
        ..Default::default()
    };
    hparams_value(
        hparams_tag::SESSION_START,
        hparams::h_params_plugin_data::Data::SessionStartInfo(info),
    )
}

/// `_hparams_/experiment`: the declared hyperparameters and metrics.
pub fn hparams_experiment(experiment: hparams::Experiment) -> pb::summary::Value {
    hparams_value(
        hparams_tag::EXPERIMENT,
        hparams::h_params_plugin_data::Data::Experiment(experiment),
    )
}

/// `_hparams_/session_end_info` with a status (`tensorboard.hparams.Status`).
pub fn hparams_session_end(status: hparams::Status, end_time_secs: f64) -> pb::summary::Value {
    hparams_value(
        hparams_tag::SESSION_END,
        hparams::h_params_plugin_data::Data::SessionEndInfo(hparams::SessionEndInfo {
            status: status as i32,
            end_time_secs,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_cover_the_range_and_count_everything() {
        let values = [0.0, 1.0, 2.0, 3.0, 4.0, 10.0];
        let rows = histogram_buckets(values.iter().copied(), 5);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0][0], 0.0);
        assert_eq!(rows[4][1], 10.0);
        assert_eq!(rows.iter().map(|r| r[2]).sum::<f64>(), 6.0);
        assert_eq!(rows[4][2], 1.0, "the maximum falls in the last bucket");
    }

    #[test]
    fn constant_values_get_a_unit_range() {
        let rows = histogram_buckets([2.0; 4].into_iter(), 3);
        assert_eq!(rows[0][0], 1.5);
        assert_eq!(rows[2][1], 2.5);
        assert_eq!(rows.iter().map(|r| r[2]).sum::<f64>(), 4.0);
    }

    #[test]
    fn non_finite_values_are_left_out_and_empty_gives_no_rows() {
        let rows = histogram_buckets([f64::NAN, 1.0, f64::INFINITY, 3.0].into_iter(), 2);
        assert_eq!(rows.iter().map(|r| r[2]).sum::<f64>(), 2.0);
        assert!(histogram_buckets(std::iter::empty(), 30).is_empty());
        assert!(histogram_buckets([f64::NAN].into_iter(), 30).is_empty());
    }

    #[test]
    fn png_round_trips_size_and_rejects_wrong_buffers() {
        let png = encode_png(&[255u8; 2 * 3 * 4], 2, 3, 4).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (2, 3));
        assert!(matches!(
            encode_png(&[0u8; 5], 2, 3, 3),
            Err(ImageError::WrongSize { .. })
        ));
        assert!(matches!(
            encode_png(&[], 0, 0, 5),
            Err(ImageError::Channels(5))
        ));
    }

    proptest! {
        #[test]
        fn buckets_count_every_finite_value(values in prop::collection::vec(-1e9f64..1e9, 1..500), k in 1usize..64) {
            let rows = histogram_buckets(values.iter().copied(), k);
            prop_assert_eq!(rows.len(), k);
            prop_assert_eq!(rows.iter().map(|r| r[2]).sum::<f64>(), values.len() as f64);
            for w in rows.windows(2) {
                prop_assert!(w[0][1] <= w[1][0] + 1e-6 * w[1][0].abs().max(1.0));
            }
        }
    }
}
