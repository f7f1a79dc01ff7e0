//! The stored form of non-scalar values (`tensors` rows) and of hyperparameters (`runs.hparams`), both ways: the one place that knows it.
//!
//! Scalars are stored in chunks ([`super::chunk`]); every other value is one `tensors` row:
//!
//! | value ([`Value`]) | `data` | `width`, `height` |
//! |---|---|---|
//! | `Histogram` rows `[left, right, count]` | JSON `[[l,r,c],...]`, `null` for NaN **and ±Inf** (read back as NaN) | NULL |
//! | `Text` strings | JSON `["...",...]` | NULL |
//! | `Images` | the first image's encoded bytes, as logged | its declared size |
//! | `Tensor` (other plugins) | the `TensorProto`, protobuf-encoded; the plugin is the series' | NULL |
//!
//! A run's hyperparameters (the HParams plugin's session start) are one JSON object in
//! `runs.hparams`: name → number (`null` for NaN and ±Inf, left out when read back), string
//! or bool. The API serves that object as it is ([`hparams_json`]); the export rebuilds the
//! values from it ([`decode_hparams`]).
//!
//! Databases outlive versions: a change here must still read what older versions stored.

use prost::Message;
use runboard_sdk::event::{HParamValue, Image, Value};
use runboard_sdk::proto::tensorboard::TensorProto;

use super::StoreError;
use super::query::TensorRow;
use crate::types::Kind;

/// A non-scalar value as one `tensors` row stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredValue {
    /// Image width (images); the clip count (audio).
    pub width: Option<u32>,
    /// Image height (images only).
    pub height: Option<u32>,
    /// JSON, encoded image bytes or an encoded `TensorProto` (see the module's table).
    pub data: Vec<u8>,
}

/// The `tensors` row of a value; `None` for a scalar (stored in chunks) and for
/// hyperparameters (stored on the run, [`encode_hparams`]). Of several images only the first
/// is kept; an empty image list is stored as an empty row.
pub fn encode_value(value: &Value) -> Option<StoredValue> {
    let plain = |data| StoredValue {
        width: None,
        height: None,
        data,
    };
    Some(match value {
        // Serializing numbers and strings to memory cannot fail; non-finite numbers are `null`.
        Value::Histogram(rows) => plain(serde_json::to_vec(rows).unwrap_or_default()),
        Value::Text(strings) => plain(serde_json::to_vec(strings).unwrap_or_default()),
        Value::Images(images) => match images.first() {
            Some(img) => StoredValue {
                width: Some(img.width),
                height: Some(img.height),
                data: img.encoded.clone(),
            },
            None => plain(Vec::new()),
        },
        // An audio value's clip count rides in `width`, so listings need not read the clips.
        Value::Tensor { plugin, tensor, .. } if plugin == runboard_sdk::event::plugin::AUDIO => {
            StoredValue {
                width: runboard_sdk::event::audio_clips(tensor)
                    .map(|c| u32::try_from(c.len()).unwrap_or(u32::MAX)),
                height: None,
                data: tensor.encode_to_vec(),
            }
        }
        Value::Tensor { tensor, .. } => plain(tensor.encode_to_vec()),
        Value::Scalar(_) | Value::HParams(_) | Value::Run(_) => return None,
    })
}

/// The value a `tensors` row of a series of `kind` holds; `plugin` and `content` are the
/// series' plugin and its metadata content (a [`Value::Tensor`]'s). An image comes back as one
/// image (width and height 0 when not stored).
pub fn decode_value(
    kind: Kind,
    plugin: &str,
    content: &[u8],
    row: &TensorRow,
) -> Result<Value, StoreError> {
    Ok(match kind {
        Kind::Histogram => Value::Histogram(histogram_rows(&row.data)?),
        Kind::Text => Value::Text(text_strings(&row.data)?),
        Kind::Image => Value::Images(vec![Image {
            width: row.width.unwrap_or(0),
            height: row.height.unwrap_or(0),
            encoded: row.data.clone(),
        }]),
        Kind::Tensor => Value::Tensor {
            plugin: plugin.to_owned(),
            content: content.to_vec(),
            tensor: Box::new(tensor(&row.data)?),
        },
        Kind::Scalar => {
            return Err(StoreError::Damaged(
                "a scalar series has no values in the tensors table".into(),
            ));
        }
    })
}

/// A stored histogram's rows `[left, right, count]`. The stored JSON holds `null` where a
/// value was NaN or infinite; it comes back as NaN.
pub fn histogram_rows(data: &[u8]) -> Result<Vec<[f64; 3]>, StoreError> {
    let rows: Vec<[Option<f64>; 3]> = serde_json::from_slice(data)
        .map_err(|e| StoreError::Damaged(format!("histogram rows: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|r| r.map(|v| v.unwrap_or(f64::NAN)))
        .collect())
}

/// A stored text value's Markdown strings.
pub fn text_strings(data: &[u8]) -> Result<Vec<String>, StoreError> {
    serde_json::from_slice(data).map_err(|e| StoreError::Damaged(format!("text value: {e}")))
}

/// A stored tensor of a plugin runboard does not interpret.
pub fn tensor(data: &[u8]) -> Result<TensorProto, StoreError> {
    TensorProto::decode(data).map_err(|e| StoreError::Damaged(format!("tensor: {e}")))
}

/// The `runs.hparams` text of a run's hyperparameters: a JSON object (keys sorted; a name
/// given twice keeps its last value), NaN and ±Inf as `null`.
pub fn encode_hparams(hparams: &[(String, HParamValue)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = hparams
        .iter()
        .map(|(k, v)| {
            let v = match v {
                HParamValue::Number(n) => serde_json::Number::from_f64(*n)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null),
                HParamValue::String(s) => serde_json::Value::String(s.clone()),
                HParamValue::Bool(b) => serde_json::Value::Bool(*b),
            };
            (k.clone(), v)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The JSON object of a `runs.hparams` text, as the API serves it; `None` when it is not JSON
/// (a damaged row is served as no hyperparameters).
pub fn hparams_json(stored: &str) -> Option<serde_json::Value> {
    serde_json::from_str(stored).ok()
}

/// Hyperparameters from their stored JSON object ([`hparams_json`]), in key order; `null`s
/// (non-finite numbers) and anything that is not a number, string or bool are left out.
pub fn decode_hparams(json: &serde_json::Value) -> Vec<(String, HParamValue)> {
    let Some(map) = json.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| {
            let v = match v {
                serde_json::Value::Number(n) => HParamValue::Number(n.as_f64()?),
                serde_json::Value::String(s) => HParamValue::String(s.clone()),
                serde_json::Value::Bool(b) => HParamValue::Bool(*b),
                _ => return None,
            };
            Some((k.clone(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use runboard_sdk::proto::tensorboard::{TensorShapeProto, tensor_shape_proto};

    use super::*;

    /// The row a reader gets back for a stored value.
    fn row(stored: StoredValue) -> TensorRow {
        TensorRow {
            id: 0,
            step: 0,
            wall_time: 0.0,
            width: stored.width,
            height: stored.height,
            data: stored.data,
        }
    }

    fn round_trip(value: &Value, plugin: &str) -> Value {
        let kind = Kind::of(value).expect("a series value");
        let stored = encode_value(value).expect("a tensors row");
        let content = match value {
            Value::Tensor { content, .. } => content.as_slice(),
            _ => &[],
        };
        decode_value(kind, plugin, content, &row(stored)).expect("decodes")
    }

    /// Bits equal, except that every NaN equals every NaN.
    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
    }

    #[test]
    fn the_stored_format_is_stable() {
        // Databases written by earlier versions must keep reading: these bytes are the format.
        let h = encode_value(&Value::Histogram(vec![
            [0.0, 0.5, 3.0],
            [f64::NAN, 1.0, 2.0],
        ]));
        assert_eq!(h.unwrap().data, b"[[0.0,0.5,3.0],[null,1.0,2.0]]");
        let t = encode_value(&Value::Text(vec!["**a**".into(), "é".into()]));
        assert_eq!(t.unwrap().data, "[\"**a**\",\"é\"]".as_bytes());
        let hp = encode_hparams(&[
            ("opt".into(), "adam".into()),
            ("lr".into(), HParamValue::Number(1e-3)),
            ("nan".into(), HParamValue::Number(f64::NAN)),
            ("b".into(), HParamValue::Bool(true)),
        ]);
        assert_eq!(hp, r#"{"b":true,"lr":0.001,"nan":null,"opt":"adam"}"#);
        assert_eq!(histogram_rows(b"[[1,2,3]]").unwrap(), vec![[1.0, 2.0, 3.0]]);
    }

    #[test]
    fn an_audio_values_clip_count_is_kept_beside_it() {
        let clips = vec![(b"a".to_vec(), b"x".to_vec()), (b"b".to_vec(), Vec::new())];
        let stored = encode_value(&runboard_sdk::event::audio_value(clips)).unwrap();
        assert_eq!(stored.width, Some(2));
        let back = decode_value(Kind::Tensor, "audio", &[], &row(stored)).unwrap();
        let Value::Tensor { tensor, .. } = back else {
            panic!("{back:?}")
        };
        assert_eq!(
            runboard_sdk::event::audio_clips(&tensor).map(|c| c.len()),
            Some(2)
        );
    }

    #[test]
    fn scalars_and_hparams_have_no_tensors_row() {
        assert_eq!(encode_value(&Value::Scalar(1.0)), None);
        let hp = runboard_sdk::event::HParams::SessionStart {
            hparams: Vec::new(),
            group_name: String::new(),
            start_time_secs: 0.0,
            model_uri: String::new(),
            monitor_url: String::new(),
            other_values: Vec::new(),
        };
        assert_eq!(encode_value(&Value::HParams(hp)), None);
    }

    #[test]
    fn infinite_histogram_values_come_back_as_nan() {
        // A limit of the format (JSON has no infinity): kept as it is, so stored data reads
        // the same in every version.
        let v = Value::Histogram(vec![
            [f64::NEG_INFINITY, 0.0, 1.0],
            [0.0, f64::INFINITY, 2.0],
        ]);
        let Value::Histogram(rows) = round_trip(&v, "") else {
            panic!("a histogram");
        };
        assert!(rows[0][0].is_nan() && rows[1][1].is_nan());
        assert_eq!((rows[0][2], rows[1][2]), (1.0, 2.0));
    }

    #[test]
    fn an_image_list_keeps_its_first_image() {
        let img = |w, byte| Image {
            width: w,
            height: 2,
            encoded: vec![byte; 3],
        };
        let v = Value::Images(vec![img(4, 1), img(5, 2)]);
        assert_eq!(round_trip(&v, ""), Value::Images(vec![img(4, 1)]));
        let empty = row(encode_value(&Value::Images(Vec::new())).unwrap());
        assert_eq!(
            decode_value(Kind::Image, "", &[], &empty).unwrap(),
            Value::Images(vec![Image {
                width: 0,
                height: 0,
                encoded: Vec::new()
            }])
        );
    }

    #[test]
    fn damaged_rows_are_errors_not_panics() {
        let bad = row(StoredValue {
            width: None,
            height: None,
            data: b"\xff{not json".to_vec(),
        });
        for kind in [Kind::Histogram, Kind::Text, Kind::Tensor, Kind::Scalar] {
            assert!(
                matches!(
                    decode_value(kind, "", &[], &bad),
                    Err(StoreError::Damaged(_))
                ),
                "{kind}"
            );
        }
        assert!(
            histogram_rows(b"[[1,2]]").is_err(),
            "rows have three values"
        );
        assert_eq!(hparams_json("{not json"), None);
        assert!(decode_hparams(&serde_json::json!([1, 2])).is_empty());
    }

    fn float() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
        ]
    }

    fn tensor_proto() -> impl Strategy<Value = TensorProto> {
        (
            0..30i32,
            proptest::collection::vec(-1..100i64, 0..4),
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(-1e30..1e30f64, 0..8),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..4),
            proptest::collection::vec(any::<i64>(), 0..4),
        )
            .prop_map(
                |(dtype, dims, content, doubles, strings, ints)| TensorProto {
                    dtype,
                    tensor_shape: Some(TensorShapeProto {
                        dim: dims
                            .into_iter()
                            .map(|size| tensor_shape_proto::Dim {
                                size,
                                name: String::new(),
                            })
                            .collect(),
                        unknown_rank: false,
                    }),
                    tensor_content: content,
                    double_val: doubles,
                    string_val: strings,
                    int64_val: ints,
                    ..Default::default()
                },
            )
    }

    fn hparam() -> impl Strategy<Value = HParamValue> {
        prop_oneof![
            float().prop_map(HParamValue::Number),
            ".{0,12}".prop_map(HParamValue::String),
            any::<bool>().prop_map(HParamValue::Bool),
        ]
    }

    proptest! {
        #[test]
        fn histogram_rows_round_trip_with_infinities_as_nan(
            rows in proptest::collection::vec([float(), float(), float()], 0..20)
        ) {
            let Value::Histogram(back) = round_trip(&Value::Histogram(rows.clone()), "") else {
                panic!("a histogram");
            };
            prop_assert_eq!(back.len(), rows.len());
            for (got, sent) in back.iter().flatten().zip(rows.iter().flatten()) {
                let want = if sent.is_finite() { *sent } else { f64::NAN };
                prop_assert!(same(*got, want), "{} != {}", got, want);
            }
        }

        #[test]
        fn text_round_trips(strings in proptest::collection::vec(any::<String>(), 0..5)) {
            let v = Value::Text(strings);
            prop_assert_eq!(round_trip(&v, "text"), v);
        }

        #[test]
        fn an_image_round_trips(
            width in any::<u32>(),
            height in any::<u32>(),
            encoded in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let v = Value::Images(vec![Image { width, height, encoded }]);
            prop_assert_eq!(round_trip(&v, "images"), v);
        }

        #[test]
        fn tensors_round_trip_with_their_series_plugin(
            tensor in tensor_proto(),
            plugin in "[a-z_]{0,12}",
            content in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            let v = Value::Tensor { plugin: plugin.clone(), content, tensor: Box::new(tensor) };
            prop_assert_eq!(round_trip(&v, &plugin), v);
        }

        #[test]
        fn hparams_round_trip_except_non_finite_numbers(
            hparams in proptest::collection::vec(("[a-z/_.]{0,8}", hparam()), 0..8)
        ) {
            let stored = encode_hparams(&hparams);
            let json = hparams_json(&stored).expect("stored hparams are JSON");
            let back: Vec<(String, HParamValue)> = decode_hparams(&json);
            // A name given twice keeps its last value; non-finite numbers are left out.
            let want: BTreeMap<String, HParamValue> = hparams
                .into_iter()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .filter(|(_, v)| !matches!(v, HParamValue::Number(n) if !n.is_finite()))
                .collect();
            prop_assert_eq!(back.len(), want.len());
            for ((k, v), (wk, wv)) in back.iter().zip(&want) {
                prop_assert_eq!(k, wk);
                match (v, wv) {
                    (HParamValue::Number(a), HParamValue::Number(b)) => {
                        prop_assert!(same(*a, *b), "{}: {} != {}", k, a, b);
                    }
                    _ => prop_assert_eq!(v, wv),
                }
            }
        }
    }
}
