//! A graph as a graph view draws it: name scopes collapsed unless opened. The visible nodes are
//! the top level's children and, inside each open scope (whose enclosing scopes are open too),
//! its children: collapsed scopes (with how many ops they hold) and ops (with their op, device,
//! output shapes and attributes); open scopes are clusters holding their children. Edges join
//! the visible nodes that hold an input's source and its consumer, counted, with the source's
//! tensor shapes. A graph of any size or shape (cycles, a node with thousands of inputs, inputs
//! from nodes that do not exist) is answered in one pass over its nodes and inputs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use runboard_proto::tensorboard::{AttrValue, GraphDef, NodeDef, attr_value};
use serde::Serialize;

/// Matches [`GraphView::matches`] lists at most.
pub const MAX_MATCHES: usize = 50;
/// Characters an attribute's value is shown with at most.
const MAX_ATTR_TEXT: usize = 200;

/// What a visible node is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildKind {
    /// A name scope: collapsed, or open (a cluster around its children).
    Scope,
    /// An op.
    Op,
}

/// A visible node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewNode {
    /// Its full name (a scope's is its path).
    pub name: String,
    /// Its last name component.
    pub label: String,
    /// Scope or op.
    pub kind: ChildKind,
    /// The open scope it is drawn in (`""`: the top).
    pub parent: String,
    /// A scope: whether it is open (a cluster; edges join its children, not it).
    pub open: bool,
    /// A scope: how many ops it holds, at any depth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ops: Option<usize>,
    /// An op: its op type (`aten::linear`, `MatMul`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// An op: where it ran, when the graph says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// An op: its outputs' shapes (`_output_shapes`; -1 an unknown size, `null` an unknown rank).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shapes: Vec<Option<Vec<i64>>>,
    /// An op: its other attributes, as short text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<(String, String)>,
    /// An op: its inputs, as the graph names them (`^` a control input, `:k` an output).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Inputs its ops take from nodes the graph does not have.
    pub missing_inputs: usize,
    /// With a profile: the compute time of its ops that ran, in microseconds (summed over
    /// devices and, for a scope, over its ops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_us: Option<i64>,
    /// With a profile: the memory its ops allocated, in bytes (summed likewise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<i64>,
}

/// Per-node compute time and memory from run metadata's step stats (what torch's `add_graph`
/// records under `step1`): by node name, summed over devices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    by_node: HashMap<String, (i64, i64)>,
}

impl Profile {
    /// The step stats of `run_metadata`: a node's time is its `all_end_rel_micros` (or the
    /// nanosecond field when only that is set), its memory the `total_bytes` of its allocators.
    pub fn of(run_metadata: &runboard_proto::tensorboard::RunMetadata) -> Profile {
        let mut by_node: HashMap<String, (i64, i64)> = HashMap::new();
        for dev in run_metadata.step_stats.iter().flat_map(|s| &s.dev_stats) {
            for n in &dev.node_stats {
                let time = if n.all_end_rel_micros != 0 {
                    n.all_end_rel_micros
                } else {
                    n.all_end_rel_nanos / 1000
                };
                let memory: i64 = n.memory.iter().map(|m| m.total_bytes.max(0)).sum();
                let e = by_node.entry(n.node_name.clone()).or_default();
                e.0 += time.max(0);
                e.1 += memory;
            }
        }
        Profile { by_node }
    }
}

/// Inputs from one visible node to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewEdge {
    /// The node holding the sources.
    pub from: String,
    /// The node holding the consumers.
    pub to: String,
    /// How many inputs (control ones included).
    pub count: usize,
    /// The distinct shapes of the tensors that flow (up to four), where the sources say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shapes: Vec<Option<Vec<i64>>>,
    /// Whether every input is a control input (`^name`).
    pub control: bool,
}

/// What a graph view draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphView {
    /// The visible nodes, by name (an open scope before its children).
    pub nodes: Vec<ViewNode>,
    /// The edges between them, by source then target.
    pub edges: Vec<ViewEdge>,
    /// Ops in the whole graph.
    pub total_ops: usize,
    /// With a search: the full names of ops that contain it (case-insensitive), at most
    /// [`MAX_MATCHES`], by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<String>>,
}

/// An input's source node and output index (`^a` → (a, control), `a:2` → (a, 2)).
fn source(input: &str) -> (&str, usize, bool) {
    if let Some(node) = input.strip_prefix('^') {
        return (node, 0, true);
    }
    match input.rsplit_once(':') {
        Some((node, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
            (node, k.parse().unwrap_or(0), false)
        }
        _ => (input, 0, false),
    }
}

/// A node's output shapes, from `_output_shapes`.
fn shapes(n: &NodeDef) -> Vec<Option<Vec<i64>>> {
    match n.attr.get("_output_shapes").and_then(|a| a.value.as_ref()) {
        Some(attr_value::Value::List(l)) => l
            .shape
            .iter()
            .map(|s| (!s.unknown_rank).then(|| s.dim.iter().map(|d| d.size).collect()))
            .collect(),
        _ => Vec::new(),
    }
}

/// An attribute's value as short text (its protobuf text, on one line, cut).
fn attr_text(a: &AttrValue) -> String {
    let text = crate::graphs::attr_value_text(a);
    if text.chars().count() > MAX_ATTR_TEXT {
        text.chars().take(MAX_ATTR_TEXT).collect::<String>() + "…"
    } else {
        text
    }
}

/// Where a node is drawn: the first of its enclosing scopes (outermost first) that is not
/// open, else the node itself; and the open scopes around that.
fn placement<'a>(name: &'a str, open: &BTreeSet<String>) -> (&'a str, Vec<&'a str>) {
    let mut clusters = Vec::new();
    for (i, _) in name.match_indices('/') {
        let scope = &name[..i];
        if !open.contains(scope) {
            return (scope, clusters);
        }
        clusters.push(scope);
    }
    (name, clusters)
}

/// `graph` with the scopes `open` open (a scope whose enclosing scopes are not all open stays
/// hidden), and with `find`, the ops whose names contain it.
pub fn view(
    graph: &GraphDef,
    open: &BTreeSet<String>,
    find: Option<&str>,
    profile: Option<&Profile>,
) -> GraphView {
    let by_name: HashMap<&str, &NodeDef> =
        graph.node.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut nodes: BTreeMap<&str, ViewNode> = BTreeMap::new();
    let mut unit_of: HashMap<&str, &str> = HashMap::with_capacity(graph.node.len());
    let blank = |name: &str, parent: &str, kind: ChildKind| ViewNode {
        name: name.to_owned(),
        label: name.rsplit('/').next().unwrap_or(name).to_owned(),
        kind,
        parent: parent.to_owned(),
        open: false,
        ops: None,
        op: None,
        device: None,
        shapes: Vec::new(),
        attrs: Vec::new(),
        inputs: Vec::new(),
        missing_inputs: 0,
        time_us: None,
        memory_bytes: None,
    };
    for n in &graph.node {
        let (unit, clusters) = placement(&n.name, open);
        let mut parent = "";
        for c in &clusters {
            let cluster = nodes.entry(c).or_insert_with(|| ViewNode {
                open: true,
                ops: Some(0),
                ..blank(c, parent, ChildKind::Scope)
            });
            if let Some(ops) = &mut cluster.ops {
                *ops += 1;
            }
            parent = c;
        }
        if open.contains(unit) {
            // An op named as its own open scope: counted in it, not drawn (a cluster and a node
            // cannot share a name), and its edges left out.
            let cluster = nodes.entry(unit).or_insert_with(|| ViewNode {
                open: true,
                ops: Some(0),
                ..blank(unit, parent, ChildKind::Scope)
            });
            if let Some(ops) = &mut cluster.ops {
                *ops += 1;
            }
            continue;
        }
        unit_of.insert(&n.name, unit);
        if unit == n.name && !nodes.get(unit).is_some_and(|v| v.kind == ChildKind::Scope) {
            nodes.insert(
                unit,
                ViewNode {
                    op: Some(n.op.clone()),
                    device: (!n.device.is_empty()).then(|| n.device.clone()),
                    shapes: shapes(n),
                    attrs: n
                        .attr
                        .iter()
                        .filter(|(k, _)| *k != "_output_shapes")
                        .map(|(k, v)| (k.clone(), attr_text(v)))
                        .collect::<BTreeMap<_, _>>()
                        .into_iter()
                        .collect(),
                    inputs: n.input.clone(),
                    ..blank(unit, parent, ChildKind::Op)
                },
            );
        } else {
            let entry = nodes.entry(unit).or_insert_with(|| ViewNode {
                ops: Some(0),
                ..blank(unit, parent, ChildKind::Scope)
            });
            if entry.kind == ChildKind::Op {
                // An op that turns out to name a scope too: shown as that scope, counted in it.
                *entry = ViewNode {
                    ops: Some(1),
                    ..blank(unit, parent, ChildKind::Scope)
                };
            }
            if let Some(ops) = &mut entry.ops {
                *ops += 1;
            }
        }
    }
    if let Some(profile) = profile {
        for n in &graph.node {
            let Some(&(time, memory)) = profile.by_node.get(&n.name) else {
                continue;
            };
            let (unit, clusters) = placement(&n.name, open);
            for name in clusters.into_iter().chain([unit]) {
                if let Some(v) = nodes.get_mut(name) {
                    *v.time_us.get_or_insert(0) += time;
                    *v.memory_bytes.get_or_insert(0) += memory;
                }
            }
        }
    }
    let mut edges: BTreeMap<(&str, &str), ViewEdge> = BTreeMap::new();
    let mut missing: HashMap<&str, usize> = HashMap::new();
    for n in &graph.node {
        let Some(&to) = unit_of.get(n.name.as_str()) else {
            continue;
        };
        for input in &n.input {
            let (src, k, control) = source(input);
            let Some(&from) = unit_of.get(src) else {
                if !by_name.contains_key(src) {
                    *missing.entry(to).or_default() += 1;
                }
                continue;
            };
            if from == to {
                continue;
            }
            let e = edges.entry((from, to)).or_insert_with(|| ViewEdge {
                from: from.to_owned(),
                to: to.to_owned(),
                count: 0,
                shapes: Vec::new(),
                control: true,
            });
            e.count += 1;
            e.control &= control;
            if !control
                && e.shapes.len() < 4
                && let Some(shape) = by_name.get(src).and_then(|s| shapes(s).get(k).cloned())
                && !e.shapes.contains(&shape)
            {
                e.shapes.push(shape);
            }
        }
    }
    for (unit, n) in missing {
        if let Some(v) = nodes.get_mut(unit) {
            v.missing_inputs = n;
        }
    }
    let matches = find.filter(|f| !f.is_empty()).map(|f| {
        let f = f.to_lowercase();
        let found: BTreeSet<&str> = graph
            .node
            .iter()
            .map(|n| n.name.as_str())
            .filter(|n| n.to_lowercase().contains(&f))
            .collect();
        found
            .into_iter()
            .take(MAX_MATCHES)
            .map(str::to_owned)
            .collect()
    });
    GraphView {
        nodes: nodes.into_values().collect(),
        edges: edges.into_values().collect(),
        total_ops: graph.node.len(),
        matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runboard_proto::tensorboard::{TensorShapeProto, tensor_shape_proto::Dim};

    fn node(name: &str, op: &str, inputs: &[&str], shape: Option<&[i64]>) -> NodeDef {
        let mut n = NodeDef {
            name: name.into(),
            op: op.into(),
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            ..NodeDef::default()
        };
        if let Some(dims) = shape {
            let shape = TensorShapeProto {
                dim: dims
                    .iter()
                    .map(|&size| Dim {
                        size,
                        name: String::new(),
                    })
                    .collect(),
                unknown_rank: false,
            };
            n.attr.insert(
                "_output_shapes".into(),
                AttrValue {
                    value: Some(attr_value::Value::List(attr_value::ListValue {
                        shape: vec![shape],
                        ..Default::default()
                    })),
                },
            );
        }
        n
    }

    /// A torch-like graph: input → Net (conv → relu → fc) → output.
    fn net() -> GraphDef {
        let mut relu = node(
            "Net/ReLU[act]/x",
            "aten::relu",
            &["Net/Conv2d[conv]/y"],
            Some(&[1, 4]),
        );
        relu.device = "/device:CPU:0".into();
        relu.attr.insert(
            "attr".into(),
            AttrValue {
                value: Some(attr_value::Value::S(b"{}".to_vec())),
            },
        );
        GraphDef {
            node: vec![
                node("input/x", "IO Node", &[], Some(&[1, 3])),
                node(
                    "Net/Conv2d[conv]/weight",
                    "prim::GetAttr",
                    &[],
                    Some(&[4, 3]),
                ),
                node(
                    "Net/Conv2d[conv]/y",
                    "aten::conv",
                    &["input/x", "Net/Conv2d[conv]/weight"],
                    Some(&[1, 4]),
                ),
                relu,
                node(
                    "Net/Linear[fc]/z",
                    "aten::linear",
                    &["Net/ReLU[act]/x:0", "^Net/Conv2d[conv]/y"],
                    Some(&[1, 2]),
                ),
                node("output/z", "IO Node", &["Net/Linear[fc]/z"], Some(&[1, 2])),
            ],
            ..GraphDef::default()
        }
    }

    fn open(scopes: &[&str]) -> BTreeSet<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    fn names(v: &GraphView) -> Vec<(&str, &str, &ChildKind, bool, Option<usize>)> {
        v.nodes
            .iter()
            .map(|n| (n.name.as_str(), n.parent.as_str(), &n.kind, n.open, n.ops))
            .collect()
    }

    fn edges(v: &GraphView) -> Vec<(&str, &str, usize)> {
        v.edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.count))
            .collect()
    }

    const SCOPE: &ChildKind = &ChildKind::Scope;
    const OP: &ChildKind = &ChildKind::Op;

    #[test]
    fn the_top_shows_scopes_collapsed_with_the_edges_between_them() {
        let v = view(&net(), &open(&[]), None, None);
        assert_eq!(
            names(&v),
            [
                ("Net", "", SCOPE, false, Some(4)),
                ("input", "", SCOPE, false, Some(1)),
                ("output", "", SCOPE, false, Some(1)),
            ]
        );
        assert_eq!(edges(&v), [("Net", "output", 1), ("input", "Net", 1)]);
        assert_eq!(v.edges[1].shapes, [Some(vec![1, 3])], "the tensor's shape");
        assert_eq!(v.total_ops, 6);
    }

    #[test]
    fn an_open_scope_is_a_cluster_of_its_children_joined_to_the_rest() {
        let v = view(&net(), &open(&["Net"]), None, None);
        assert_eq!(
            names(&v),
            [
                ("Net", "", SCOPE, true, Some(4)),
                ("Net/Conv2d[conv]", "Net", SCOPE, false, Some(2)),
                ("Net/Linear[fc]", "Net", SCOPE, false, Some(1)),
                ("Net/ReLU[act]", "Net", SCOPE, false, Some(1)),
                ("input", "", SCOPE, false, Some(1)),
                ("output", "", SCOPE, false, Some(1)),
            ]
        );
        assert_eq!(
            edges(&v),
            [
                ("Net/Conv2d[conv]", "Net/Linear[fc]", 1),
                ("Net/Conv2d[conv]", "Net/ReLU[act]", 1),
                ("Net/Linear[fc]", "output", 1),
                ("Net/ReLU[act]", "Net/Linear[fc]", 1),
                ("input", "Net/Conv2d[conv]", 1),
            ]
        );
        assert!(v.edges[0].control && !v.edges[1].control);
        // Deeper: an op with its details. A scope under a closed one stays hidden.
        let v = view(
            &net(),
            &open(&["Net", "Net/ReLU[act]", "input/deeper"]),
            None,
            None,
        );
        let x = v
            .nodes
            .iter()
            .find(|n| n.name == "Net/ReLU[act]/x")
            .unwrap();
        assert_eq!(
            (x.kind.clone(), x.op.as_deref(), x.parent.as_str()),
            (ChildKind::Op, Some("aten::relu"), "Net/ReLU[act]")
        );
        assert_eq!(x.device.as_deref(), Some("/device:CPU:0"));
        assert_eq!(x.shapes, [Some(vec![1, 4])]);
        assert_eq!(x.attrs, [("attr".to_owned(), "s: \"{}\"".to_owned())]);
        assert_eq!(x.inputs, ["Net/Conv2d[conv]/y"]);
        assert!(edges(&v).contains(&("Net/Conv2d[conv]", "Net/ReLU[act]/x", 1)));
        let hidden = view(&net(), &open(&["Net/ReLU[act]"]), None, None);
        assert_eq!(hidden.nodes.len(), 3, "Net is closed: {:?}", names(&hidden));
    }

    #[test]
    fn odd_graphs_are_viewed_whole() {
        // An op named as a scope, a cycle, a control input, a missing source, 10,000 inputs.
        let mut big = node("hub", "Concat", &[], None);
        big.input = (0..10_000).map(|i| format!("leaf/{i}")).collect();
        let mut nodes = vec![
            node("a", "Op", &["b/x"], None),
            node("a/inner", "Op", &["a"], None),
            node("b/x", "Op", &["a/inner", "^a", "ghost:1"], None),
            big,
        ];
        nodes.extend((0..10_000).map(|i| node(&format!("leaf/{i}"), "Const", &[], None)));
        let g = GraphDef {
            node: nodes,
            ..GraphDef::default()
        };
        let v = view(&g, &open(&[]), Some("INNER"), None);
        assert_eq!(
            names(&v),
            [
                ("a", "", SCOPE, false, Some(2)),
                ("b", "", SCOPE, false, Some(1)),
                ("hub", "", OP, false, None),
                ("leaf", "", SCOPE, false, Some(10_000)),
            ]
        );
        assert_eq!(
            edges(&v),
            [("a", "b", 2), ("b", "a", 1), ("leaf", "hub", 10_000)]
        );
        assert_eq!(v.nodes[1].missing_inputs, 1, "the missing source");
        assert_eq!(v.matches, Some(vec!["a/inner".to_owned()]));
        // `a` open: `a/inner` inside; the op named `a` is counted in it, not drawn.
        let a = view(&g, &open(&["a"]), None, None);
        assert_eq!(
            names(&a)[..2],
            [
                ("a", "", SCOPE, true, Some(2)),
                ("a/inner", "a", OP, false, None)
            ]
        );
        assert_eq!(edges(&a), [("a/inner", "b", 1), ("leaf", "hub", 10_000)]);
        let found = view(&g, &open(&[]), Some("leaf/"), None).matches.unwrap();
        assert_eq!(found.len(), MAX_MATCHES);
    }

    #[test]
    fn a_profile_colours_ops_and_sums_into_their_scopes() {
        use runboard_proto::tensorboard::{
            AllocatorMemoryUsed, DeviceStepStats, NodeExecStats, RunMetadata, StepStats,
        };
        let stats = |name: &str, micros: i64, nanos: i64, bytes: i64| NodeExecStats {
            node_name: name.into(),
            all_end_rel_micros: micros,
            all_end_rel_nanos: nanos,
            memory: vec![AllocatorMemoryUsed {
                allocator_name: "cpu".into(),
                total_bytes: bytes,
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = RunMetadata {
            step_stats: Some(StepStats {
                dev_stats: vec![
                    DeviceStepStats {
                        device: "/device:CPU:0".into(),
                        node_stats: vec![
                            stats("Net/Conv2d[conv]/y", 30, 0, 4096),
                            stats("Net/ReLU[act]/x", 0, 5_000, 1024),
                            stats("not/in/graph", 99, 0, 1),
                        ],
                        ..Default::default()
                    },
                    DeviceStepStats {
                        device: "/device:GPU:0".into(),
                        node_stats: vec![stats("Net/Conv2d[conv]/y", 10, 0, 0)],
                        ..Default::default()
                    },
                ],
            }),
            ..Default::default()
        };
        let p = Profile::of(&m);
        let top = view(&net(), &open(&[]), None, Some(&p));
        let net_node = &top.nodes[0];
        assert_eq!(
            (net_node.time_us, net_node.memory_bytes),
            (Some(45), Some(5120))
        );
        assert_eq!(top.nodes[1].time_us, None, "input ran nothing profiled");
        let inside = view(&net(), &open(&["Net", "Net/Conv2d[conv]"]), None, Some(&p));
        let y = inside
            .nodes
            .iter()
            .find(|n| n.name == "Net/Conv2d[conv]/y")
            .unwrap();
        assert_eq!(
            (y.time_us, y.memory_bytes),
            (Some(40), Some(4096)),
            "both devices"
        );
        let cluster = inside.nodes.iter().find(|n| n.name == "Net").unwrap();
        assert_eq!(cluster.time_us, Some(45));
    }
}
