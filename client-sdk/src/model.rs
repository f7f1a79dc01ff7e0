//! Model summaries of a tch `VarStore` (the `tch` feature): every parameter with its module path,
//! shape, element count and whether it is trained, grouped by module, with totals — the table
//! torchsummary prints before training (tch runs no forward hooks, so there are no output
//! shapes: the table is of parameters).
//!
//! [`summary`] returns it (print it with `{}`); [`ModelLogging::add_model_summary`] logs it: as a
//! graph of modules (a node per parameter under its module's name scope, which TensorBoard's
//! Graphs tab draws as nested boxes) and as a Markdown table (`model/summary`, the Text tab).
//!
//! ```no_run
//! use runboard_sdk::model::{self, ModelLogging};
//! use tch::nn;
//!
//! let vs = nn::VarStore::new(tch::Device::Cpu);
//! let _fc1 = nn::linear(vs.root() / "fc1", 784, 128, Default::default());
//! let _fc2 = nn::linear(vs.root() / "fc2", 128, 10, Default::default());
//! println!("{}", model::summary(&vs));
//! let mut writer = runboard_sdk::SummaryWriter::new("runs/mnist")?;
//! writer.add_model_summary(&vs);
//! # Ok::<(), runboard_sdk::WriterError>(())
//! ```

use std::fmt;

use runboard_proto::tensorboard::{
    AttrValue, DataType, GraphDef, NodeDef, TensorShapeProto, attr_value, tensor_shape_proto::Dim,
};
use tch::nn::VarStore;

use crate::SummaryWriter;
use crate::fmt::thousands;

/// One parameter of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The module's path (`encoder.layer1`; empty for a parameter at the root).
    pub module: String,
    /// The parameter's own name (`weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<i64>,
    /// Its element count.
    pub count: u64,
    /// Whether it is trained (`requires_grad`; false once frozen).
    pub trainable: bool,
    /// Its element type, as graphs name it (`DT_FLOAT`, `DT_HALF`, ...).
    pub dtype: DataType,
    /// Bytes it takes.
    pub bytes: u64,
}

/// The parameters of a `VarStore`, by module path then name, with totals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelSummary {
    /// Every parameter.
    pub parameters: Vec<Parameter>,
}

impl ModelSummary {
    /// Elements of every parameter.
    pub fn total(&self) -> u64 {
        self.parameters.iter().map(|p| p.count).sum()
    }

    /// Elements of the trained parameters.
    pub fn trainable(&self) -> u64 {
        self.parameters
            .iter()
            .filter(|p| p.trainable)
            .map(|p| p.count)
            .sum()
    }

    /// Bytes of every parameter.
    pub fn bytes(&self) -> u64 {
        self.parameters.iter().map(|p| p.bytes).sum()
    }

    /// The summary as a graph: a node per parameter (op `Parameter`) named
    /// `module/path/name`, so that a graph view nests parameters in their modules, with its
    /// shape (`_output_shapes`), element type, count and trainable flag as attributes.
    pub fn graph_def(&self) -> GraphDef {
        let node = self
            .parameters
            .iter()
            .map(|p| {
                let path: Vec<&str> = p
                    .module
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .chain([p.name.as_str()])
                    .collect();
                let shape = TensorShapeProto {
                    dim: p
                        .shape
                        .iter()
                        .map(|&size| Dim {
                            size,
                            name: String::new(),
                        })
                        .collect(),
                    unknown_rank: false,
                };
                let attr = |v| AttrValue { value: Some(v) };
                let attrs = [
                    (
                        "_output_shapes",
                        attr(attr_value::Value::List(attr_value::ListValue {
                            shape: vec![shape],
                            ..Default::default()
                        })),
                    ),
                    ("dtype", attr(attr_value::Value::Type(p.dtype as i32))),
                    (
                        "parameters",
                        attr(attr_value::Value::I(
                            i64::try_from(p.count).unwrap_or(i64::MAX),
                        )),
                    ),
                    ("trainable", attr(attr_value::Value::B(p.trainable))),
                ];
                NodeDef {
                    name: path.join("/"),
                    op: "Parameter".into(),
                    attr: attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    ..NodeDef::default()
                }
            })
            .collect();
        GraphDef {
            node,
            ..GraphDef::default()
        }
    }

    /// The summary as a Markdown table (TensorBoard's Text tab renders it), totals below.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| module | parameter | shape | parameters | trainable |\n|---|---|---|--:|---|\n",
        );
        for p in &self.parameters {
            out.push_str(&format!(
                "| {} | {} | {:?} | {} | {} |\n",
                escape_cell(&p.module),
                escape_cell(&p.name),
                p.shape,
                thousands(p.count),
                if p.trainable { "yes" } else { "frozen" }
            ));
        }
        out.push_str(&format!(
            "\nTotal parameters: {}; trainable: {}; frozen: {}; size: {:.2} MB\n",
            thousands(self.total()),
            thousands(self.trainable()),
            thousands(self.total() - self.trainable()),
            self.bytes() as f64 / 1e6
        ));
        out
    }
}

/// A table cell's text with the Markdown table's separator escaped.
fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A tch element type as graphs name it.
fn data_type(kind: tch::Kind) -> DataType {
    use tch::Kind as K;
    match kind {
        K::Float => DataType::DtFloat,
        K::Double => DataType::DtDouble,
        K::Half => DataType::DtHalf,
        K::BFloat16 => DataType::DtBfloat16,
        K::Int => DataType::DtInt32,
        K::Int64 => DataType::DtInt64,
        K::Int16 => DataType::DtInt16,
        K::Int8 => DataType::DtInt8,
        K::Uint8 => DataType::DtUint8,
        K::Bool => DataType::DtBool,
        K::ComplexFloat => DataType::DtComplex64,
        K::ComplexDouble => DataType::DtComplex128,
        _ => DataType::DtInvalid,
    }
}

/// The table torchsummary prints: a row per parameter, then the totals.
impl fmt::Display for ModelSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .parameters
            .iter()
            .map(|p| {
                [
                    if p.module.is_empty() {
                        "(root)".to_owned()
                    } else {
                        p.module.clone()
                    },
                    p.name.clone(),
                    format!("{:?}", p.shape),
                    thousands(p.count),
                    if p.trainable { "yes" } else { "frozen" }.to_owned(),
                ]
            })
            .collect();
        let head = ["Module", "Parameter", "Shape", "Param #", "Trainable"];
        let mut widths = head.map(str::len);
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
        let row = |f: &mut fmt::Formatter<'_>, cells: &[&str]| {
            writeln!(
                f,
                "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
            )
        };
        writeln!(f, "{line}")?;
        row(f, &head)?;
        writeln!(f, "{}", "=".repeat(line.len()))?;
        for r in &rows {
            row(f, &r.each_ref().map(String::as_str))?;
        }
        writeln!(f, "{}", "=".repeat(line.len()))?;
        writeln!(f, "Total params: {}", thousands(self.total()))?;
        writeln!(f, "Trainable params: {}", thousands(self.trainable()))?;
        writeln!(
            f,
            "Non-trainable params: {}",
            thousands(self.total() - self.trainable())
        )?;
        writeln!(f, "Params size (MB): {:.2}", self.bytes() as f64 / 1e6)?;
        write!(f, "{line}")
    }
}

/// The parameters of `vs`, by module path then name.
pub fn summary(vs: &VarStore) -> ModelSummary {
    let mut parameters: Vec<Parameter> = vs
        .variables()
        .into_iter()
        .map(|(path, t)| {
            let (module, name) = match path.rsplit_once('.') {
                Some((m, n)) => (m.to_owned(), n.to_owned()),
                None => (String::new(), path),
            };
            let shape = t.size();
            let count = shape.iter().map(|&d| d.max(0) as u64).product::<u64>();
            let kind = t.kind();
            let elt = kind.elt_size_in_bytes() as u64;
            Parameter {
                module,
                name,
                count,
                shape,
                trainable: t.requires_grad(),
                dtype: data_type(kind),
                bytes: count * elt,
            }
        })
        .collect();
    parameters.sort_by(|a, b| (&a.module, &a.name).cmp(&(&b.module, &b.name)));
    ModelSummary { parameters }
}

/// Logs model summaries with a [`SummaryWriter`]; bring it into scope with
/// `use runboard_sdk::model::ModelLogging`.
pub trait ModelLogging {
    /// Logs [`summary`]`(vs)`: as the run's graph (a node per parameter in its module's scope)
    /// and as a Markdown table under the text tag `model/summary`, at step 0. Never fails.
    fn add_model_summary(&mut self, vs: &VarStore);
}

impl ModelLogging for SummaryWriter {
    fn add_model_summary(&mut self, vs: &VarStore) {
        let s = summary(vs);
        self.add_graph_def(&s.graph_def());
        self.add_text("model/summary", &s.markdown(), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn;

    fn model() -> VarStore {
        let vs = VarStore::new(tch::Device::Cpu);
        let root = vs.root();
        let _a = nn::linear(&root / "encoder" / "fc1", 4, 16, Default::default());
        let _b = nn::linear(&root / "encoder" / "fc2", 16, 8, Default::default());
        let _c = nn::linear(&root / "head", 8, 3, Default::default());
        let _scale = root.zeros_no_train("scale", &[3]);
        vs
    }

    #[test]
    fn totals_are_the_var_stores_and_frozen_parameters_are_said() {
        let mut vs = model();
        let s = summary(&vs);
        let all: u64 = vs.variables().values().map(|t| t.numel() as u64).sum();
        let trained: u64 = vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as u64)
            .sum();
        assert_eq!(s.total(), all);
        assert_eq!(s.trainable(), trained);
        assert_eq!(s.total(), 4 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3 + 3);
        assert_eq!(s.bytes(), 4 * s.total());
        let names: Vec<(&str, &str)> = s
            .parameters
            .iter()
            .map(|p| (p.module.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("", "scale"),
                ("encoder.fc1", "bias"),
                ("encoder.fc1", "weight"),
                ("encoder.fc2", "bias"),
                ("encoder.fc2", "weight"),
                ("head", "bias"),
                ("head", "weight"),
            ]
        );
        let scale = &s.parameters[0];
        assert!(!scale.trainable && scale.shape == [3]);
        let text = s.to_string();
        assert!(text.contains("Total params: 246"), "{text}");
        assert!(text.contains("Non-trainable params: 3"), "{text}");
        assert!(
            text.lines().any(|l| l.starts_with("encoder.fc1")
                && l.contains("[16, 4]")
                && l.contains(" 64 ")),
            "{text}"
        );
        // Freezing the store: nothing is trained any more.
        vs.freeze();
        assert_eq!(summary(&vs).trainable(), 0);
    }

    #[test]
    fn the_graph_nests_parameters_in_their_modules() {
        let s = summary(&model());
        let g = s.graph_def();
        let names: Vec<&str> = g.node.iter().map(|n| n.name.as_str()).collect();
        assert!(
            names.contains(&"encoder/fc1/weight") && names.contains(&"scale"),
            "{names:?}"
        );
        let w = g
            .node
            .iter()
            .find(|n| n.name == "encoder/fc1/weight")
            .unwrap();
        match &w.attr["_output_shapes"].value {
            Some(attr_value::Value::List(l)) => {
                let dims: Vec<i64> = l.shape[0].dim.iter().map(|d| d.size).collect();
                assert_eq!(dims, [16, 4]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(w.attr["parameters"].value, Some(attr_value::Value::I(64)));
        assert_eq!(w.attr["trainable"].value, Some(attr_value::Value::B(true)));
        let md = s.markdown();
        assert!(
            md.contains("| encoder.fc1 | weight | [16, 4] | 64 | yes |"),
            "{md}"
        );
        assert!(md.contains("|  | scale | [3] | 3 | frozen |"), "{md}");
    }

    #[test]
    fn the_writer_logs_the_graph_and_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::new(dir.path()).unwrap();
        let vs = model();
        w.add_model_summary(&vs);
        let path = w.path().to_path_buf();
        w.close().unwrap();
        let (events, _) = crate::event_file::read_events(&path).unwrap();
        let values: Vec<_> = events.iter().flat_map(|e| &e.values).collect();
        let graph = values
            .iter()
            .find_map(|v| crate::event::run_graph_bytes(&v.value))
            .expect("a graph");
        use prost::Message;
        let g = GraphDef::decode(graph).unwrap();
        assert_eq!(g, summary(&vs).graph_def());
        assert!(values.iter().any(|v| v.tag == "model/summary"
            && matches!(&v.value, crate::Value::Text(t) if t[0].contains("Total parameters: 246"))));
    }
}
