//! Meshes and point clouds as TensorBoard's mesh plugin keeps them: a mesh named `name` is up
//! to three tensor series, its vertices, faces and colours, each `[B, N, 3]` (a batch of `B`
//! samples) under an instance tag of its own (`name_VERTEX`, `name_FACE`, `name_COLOR` as torch
//! and TensorBoard write them; tensorboardX writes `name_1`, `name_2`, `name_3`). Each instance
//! tag's metadata is a [`MeshPluginData`] naming the mesh, the part, the parts the mesh has
//! (`components`, a bitmask), the tensor's shape and the three.js scene configuration (JSON).
//!
//! Reading checks what a viewer relies on ([`MeshCheck`]): the metadata, the shape, and that
//! every face names a vertex of the mesh logged with it; a part that fails is a bad value.

use prost::Message;
use runboard_proto::tensorboard::{self as pb, DataType, TensorProto};
use rustc_hash::FxHashMap;

pub use runboard_proto::tensorboard::mesh::MeshPluginData;
pub use runboard_proto::tensorboard::mesh::mesh_plugin_data::ContentType;

use crate::event::{dims, plugin, tensor_numbers};

/// The components bitmask of a mesh with vertices, faces and colours: what TensorBoard reads
/// when a writer left `components` at 0 (tensorboardX does).
pub const ALL_COMPONENTS: u32 =
    components(&[ContentType::Vertex, ContentType::Face, ContentType::Color]);

/// The bitmask of `parts` (`1 << content_type` each), as TensorBoard's
/// `get_components_bitmask` computes it.
pub const fn components(parts: &[ContentType]) -> u32 {
    let mut mask = 0;
    let mut i = 0;
    while i < parts.len() {
        mask |= 1 << parts[i] as u32;
        i += 1;
    }
    mask
}

/// The metadata of a mesh part, with `components` filled in where the writer left it at 0 (as
/// TensorBoard's `parse_plugin_metadata` does); `None` when `content` is not a `MeshPluginData`.
pub fn plugin_data(content: &[u8]) -> Option<MeshPluginData> {
    let mut data = MeshPluginData::decode(content).ok()?;
    if data.components == 0 {
        data.components = ALL_COMPONENTS;
    }
    Some(data)
}

/// The instance tag TensorBoard and torch give a part of mesh `name` (`name_VERTEX`, ...).
pub fn instance_tag(name: &str, part: ContentType) -> String {
    format!("{name}_{}", part.as_str_name())
}

/// A mesh part's shape `[B, N, 3]` and its numbers in order (`B · N · 3` of them); `None` for a
/// tensor of another shape or type.
pub fn part_values(t: &TensorProto) -> Option<([usize; 3], Vec<f64>)> {
    let shape = dims(t)?;
    let [b, n, 3] = shape[..] else { return None };
    let (b, n) = (usize::try_from(b).ok()?, usize::try_from(n).ok()?);
    let values = tensor_numbers(t)?;
    (b.checked_mul(n)?.checked_mul(3)? == values.len()).then_some(([b, n, 3], values))
}

/// Why a mesh (or a part of one) was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeshError {
    /// The tag's metadata is not a `MeshPluginData` of a known part.
    #[error("its metadata is not a MeshPluginData naming vertices, faces or colours")]
    Metadata,
    /// The tensor is not `[B, N, 3]` numbers.
    #[error("a mesh part is a numeric tensor of shape [B, N, 3], not {0:?}")]
    Shape(Vec<i64>),
    /// A face names a vertex the mesh does not have.
    #[error("a face names vertex {index}, but the mesh has {vertices} vertices")]
    FaceOutOfRange {
        /// The index (as logged).
        index: f64,
        /// How many vertices each sample has.
        vertices: usize,
    },
    /// Colours do not pair up with vertices.
    #[error("{colors} colours for {vertices} vertices: give one per vertex, or none")]
    Colors {
        /// Colours given.
        colors: usize,
        /// Vertices given.
        vertices: usize,
    },
    /// The vertex, face or colour lists do not split into the batch's samples.
    #[error("{what} do not split into {batch} samples")]
    Batch {
        /// Which list.
        what: &'static str,
        /// Samples in the batch.
        batch: usize,
    },
    /// The configuration is not a JSON object.
    #[error("the scene configuration is not a JSON object")]
    Config,
}

/// Checks mesh parts as they are read, remembering the vertex count of each mesh's latest
/// vertices so that faces logged at the same step (after them, as every writer orders them)
/// are checked against it.
#[derive(Debug, Default)]
pub struct MeshCheck {
    /// Mesh name → (step, vertices a sample) of its latest vertices.
    vertices: FxHashMap<String, (i64, usize)>,
}

impl MeshCheck {
    /// Checks one part: its metadata (`content`), its `[B, N, 3]` shape and numbers, and, for
    /// faces, every index against the vertices of the same mesh and step when those were seen.
    /// Returns the part's metadata.
    pub fn check(
        &mut self,
        step: i64,
        content: &[u8],
        t: &TensorProto,
    ) -> Result<MeshPluginData, MeshError> {
        let data = plugin_data(content).ok_or(MeshError::Metadata)?;
        let part = ContentType::try_from(data.content_type).map_err(|_| MeshError::Metadata)?;
        let Some(([_, n, _], values)) = part_values(t) else {
            return Err(MeshError::Shape(dims(t).unwrap_or_default()));
        };
        match part {
            ContentType::Undefined => return Err(MeshError::Metadata),
            ContentType::Vertex => {
                self.vertices.insert(data.name.clone(), (step, n));
            }
            ContentType::Face => {
                if let Some(&(at, vertices)) = self.vertices.get(&data.name) {
                    if at == step {
                        let bad = values.iter().find(|&&i| !(i >= 0.0 && i < vertices as f64));
                        if let Some(&index) = bad {
                            return Err(MeshError::FaceOutOfRange { index, vertices });
                        }
                    }
                }
            }
            ContentType::Color => {}
        }
        Ok(data)
    }
}

/// The summary values of one mesh (or a batch of `batch` meshes of the same sizes) as torch's
/// `add_mesh` writes them: for each part present, a `[B, N, 3]` DT_FLOAT tensor under
/// [`instance_tag`] with its `MeshPluginData` (`components` naming the parts present, the
/// shape, `config` as JSON text, `{}` without one). `faces` and `colors` may be empty (a point
/// cloud; the viewer's default colour). Faces must name vertices of their sample, colours pair
/// up with vertices.
pub fn summary(
    tag: &str,
    batch: usize,
    vertices: &[[f32; 3]],
    faces: &[[u32; 3]],
    colors: &[[u8; 3]],
    config: Option<&serde_json::Value>,
) -> Result<Vec<pb::summary::Value>, MeshError> {
    let batch = batch.max(1);
    let per = |len: usize, what| {
        if len % batch == 0 {
            Ok(len / batch)
        } else {
            Err(MeshError::Batch { what, batch })
        }
    };
    let n = per(vertices.len(), "vertices")?;
    per(faces.len(), "faces")?;
    if !colors.is_empty() && colors.len() != vertices.len() {
        return Err(MeshError::Colors {
            colors: colors.len(),
            vertices: vertices.len(),
        });
    }
    if let Some(&index) = faces.iter().flatten().find(|&&i| i as usize >= n) {
        return Err(MeshError::FaceOutOfRange {
            index: f64::from(index),
            vertices: n,
        });
    }
    let json_config = match config {
        None => "{}".to_owned(),
        Some(c @ serde_json::Value::Object(_)) => c.to_string(),
        Some(_) => return Err(MeshError::Config),
    };
    let floats = |values: Vec<f32>| (values.len() / 3, values);
    let mut parts = vec![(
        ContentType::Vertex,
        floats(vertices.iter().flatten().copied().collect()),
    )];
    if !faces.is_empty() {
        parts.push((
            ContentType::Face,
            floats(faces.iter().flatten().map(|&i| i as f32).collect()),
        ));
    }
    if !colors.is_empty() {
        parts.push((
            ContentType::Color,
            floats(colors.iter().flatten().map(|&c| f32::from(c)).collect()),
        ));
    }
    let mask = parts.iter().fold(0, |m, (p, _)| m | 1 << *p as u32);
    Ok(parts
        .into_iter()
        .map(|(part, (rows, values))| {
            let shape = [batch as i64, (rows / batch) as i64, 3];
            let content = MeshPluginData {
                version: 0,
                name: tag.to_owned(),
                content_type: part as i32,
                json_config: json_config.clone(),
                shape: shape.iter().map(|&d| d as i32).collect(),
                components: mask,
            }
            .encode_to_vec();
            let tensor = TensorProto {
                dtype: DataType::DtFloat as i32,
                tensor_shape: crate::summary::shape(&shape),
                float_val: values,
                ..Default::default()
            };
            crate::summary::tensor(&instance_tag(tag, part), plugin::MESH, content, tensor)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventDecoder, Value};

    fn decode_all(values: Vec<pb::summary::Value>, step: i64) -> (Vec<Value>, u64) {
        let event = pb::Event {
            wall_time: 1.0,
            step,
            what: Some(pb::event::What::Summary(pb::Summary { value: values })),
            source_metadata: None,
        };
        let mut dec = EventDecoder::new();
        let decoded = dec.decode(&event.encode_to_vec()).unwrap();
        (
            decoded.values.into_iter().map(|v| v.value).collect(),
            dec.stats().bad_values,
        )
    }

    #[test]
    fn the_bitmask_is_tensorboards() {
        assert_eq!(ALL_COMPONENTS, 14);
        assert_eq!(components(&[ContentType::Vertex]), 2);
        assert_eq!(instance_tag("m", ContentType::Face), "m_FACE");
    }

    #[test]
    fn a_mesh_is_written_as_torch_writes_it_and_reads_back_with_its_metadata() {
        let vertices = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
        let config = serde_json::json!({"camera": {"cls": "PerspectiveCamera", "fov": 75}});
        let values = summary(
            "tri",
            1,
            &vertices,
            &[[0, 1, 2]],
            &[[255, 0, 0]; 3],
            Some(&config),
        )
        .unwrap();
        let tags: Vec<_> = values.iter().map(|v| v.tag.clone()).collect();
        assert_eq!(tags, ["tri_VERTEX", "tri_FACE", "tri_COLOR"]);
        let (decoded, bad) = decode_all(values, 3);
        assert_eq!(bad, 0);
        assert_eq!(decoded.len(), 3);
        let Value::Tensor {
            plugin,
            content,
            tensor,
        } = &decoded[1]
        else {
            panic!("{:?}", decoded[1]);
        };
        assert_eq!(plugin, "mesh");
        let data = plugin_data(content).unwrap();
        assert_eq!(data.name, "tri");
        assert_eq!(data.content_type, ContentType::Face as i32);
        assert_eq!(data.components, 14);
        assert_eq!(data.shape, [1, 1, 3]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&data.json_config).unwrap(),
            config
        );
        assert_eq!(tensor.float_val, [0.0, 1.0, 2.0]);
        // A point cloud has vertices only, and says so.
        let cloud = summary("pc", 1, &vertices, &[], &[], None).unwrap();
        assert_eq!(cloud.len(), 1);
        let (decoded, _) = decode_all(cloud, 0);
        let Value::Tensor { content, .. } = &decoded[0] else {
            panic!()
        };
        let data = plugin_data(content).unwrap();
        assert_eq!((data.components, data.json_config.as_str()), (2, "{}"));
    }

    #[test]
    fn bad_meshes_are_refused_before_anything_is_written() {
        let v = [[0.0; 3]; 4];
        assert_eq!(
            summary("m", 1, &v, &[[0, 1, 4]], &[], None).unwrap_err(),
            MeshError::FaceOutOfRange {
                index: 4.0,
                vertices: 4
            }
        );
        assert!(matches!(
            summary("m", 1, &v, &[], &[[0; 3]; 3], None),
            Err(MeshError::Colors {
                colors: 3,
                vertices: 4
            })
        ));
        assert!(matches!(
            summary("m", 3, &v, &[], &[], None),
            Err(MeshError::Batch { .. })
        ));
        let not_object = serde_json::json!([1]);
        assert_eq!(
            summary("m", 1, &v, &[], &[], Some(&not_object)).unwrap_err(),
            MeshError::Config
        );
        // Faces of a batch index their own sample's vertices.
        assert!(summary("m", 2, &v, &[[0, 1, 1], [0, 1, 2]], &[], None).is_err());
        assert!(summary("m", 2, &v, &[[0, 1, 1], [1, 0, 1]], &[], None).is_ok());
    }

    #[test]
    fn faces_naming_missing_vertices_and_wrong_shapes_are_bad_values_and_the_rest_is_kept() {
        let v = [[0.0; 3]; 3];
        let mut values = summary("good", 1, &v, &[[0, 1, 2]], &[], None).unwrap();
        // A writer that does not check: faces naming vertex 7 of 3.
        let mut bad = summary("bad", 1, &v, &[[0, 1, 2]], &[], None).unwrap();
        let Some(PbValue::Tensor(t)) = &mut bad[1].value else {
            panic!()
        };
        t.float_val[2] = 7.0;
        values.extend(bad);
        // A part that is not [B, N, 3].
        let mut flat = summary("flat", 1, &v, &[], &[], None).unwrap();
        let Some(PbValue::Tensor(t)) = &mut flat[0].value else {
            panic!()
        };
        t.tensor_shape = crate::summary::shape(&[9]);
        values.extend(flat);
        let (decoded, bad_values) = decode_all(values, 5);
        assert_eq!(bad_values, 2);
        // good's vertices and faces, bad's vertices.
        assert_eq!(decoded.len(), 3);
        let mut check = MeshCheck::default();
        let content = MeshPluginData {
            name: "x".into(),
            content_type: ContentType::Face as i32,
            ..Default::default()
        }
        .encode_to_vec();
        // Faces with no vertices seen are kept: nothing to check them against.
        let faces = TensorProto {
            dtype: DataType::DtInt32 as i32,
            tensor_shape: crate::summary::shape(&[1, 1, 3]),
            int_val: vec![0, 1, 99],
            ..Default::default()
        };
        assert!(check.check(0, &content, &faces).is_ok());
        assert_eq!(check.check(0, b"\xff", &faces), Err(MeshError::Metadata));
    }

    use runboard_proto::tensorboard::summary::value::Value as PbValue;
}
