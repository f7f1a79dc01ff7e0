//! A graph seen one name scope at a time, as a graph view draws it with scopes collapsed: the
//! children of a scope (sub-scopes, with how many ops they hold, and ops, with their op, device,
//! output shapes and attributes) and the edges between them (every input of an op inside, from
//! the child holding its source to the child holding it, counted, with the source's tensor
//! shapes). A graph of any size or shape (cycles, a node with thousands of inputs, inputs to
//! nodes that do not exist) is answered in one pass over its inputs.

use std::collections::{BTreeMap, BTreeSet};

use runboard_proto::tensorboard::{AttrValue, GraphDef, NodeDef, attr_value};
use serde::Serialize;

/// Matches [`GraphView::matches`] lists at most.
pub const MAX_MATCHES: usize = 50;
/// Characters an attribute's value is shown with at most.
const MAX_ATTR_TEXT: usize = 200;

/// What a child of a scope is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildKind {
    /// A name scope, collapsed.
    Scope,
    /// An op.
    Op,
}

/// A child of the scope viewed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewNode {
    /// Its full name (a scope's is its path).
    pub name: String,
    /// Its last name component.
    pub label: String,
    /// Scope or op.
    pub kind: ChildKind,
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
    /// Inputs its ops take from outside the scope viewed.
    pub external_inputs: usize,
}

/// Inputs from one child to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewEdge {
    /// The child holding the sources.
    pub from: String,
    /// The child holding the consumers.
    pub to: String,
    /// How many inputs (control ones included).
    pub count: usize,
    /// The distinct shapes of the tensors that flow (up to four), where the sources say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shapes: Vec<Option<Vec<i64>>>,
    /// Whether every input is a control input (`^name`).
    pub control: bool,
}

/// One scope of a graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphView {
    /// The scope viewed (`""`: the top).
    pub scope: String,
    /// Its children, by name.
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

/// Why a scope cannot be viewed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ViewError {
    /// No op of the graph is in this scope.
    #[error("the graph has no scope {0:?}")]
    NoScope(String),
}

/// The child of `scope` that holds the node `name`, if `name` is in `scope`: `scope/first` for
/// `scope/first/...`, and `name` itself for an op named as the scope it is in.
fn child_of<'a>(name: &'a str, scope: &str) -> Option<&'a str> {
    let rest = if scope.is_empty() {
        name
    } else if name == scope {
        return Some(name);
    } else {
        name.strip_prefix(scope)?.strip_prefix('/')?
    };
    let first = rest.split('/').next().unwrap_or(rest);
    Some(&name[..name.len() - rest.len() + first.len()])
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

/// An attribute's value as short text.
fn attr_text(a: &AttrValue) -> String {
    let mut text = crate::graphs::to_text(&GraphDef {
        node: vec![NodeDef {
            attr: [("v".to_owned(), a.clone())].into_iter().collect(),
            ..NodeDef::default()
        }],
        ..GraphDef::default()
    });
    // `node { attr { key: "v" value { ... } } }`: the value's lines, joined.
    let lines: Vec<&str> = text
        .lines()
        .skip(4)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let body = &lines[..lines.len().saturating_sub(3)];
    text = body.join(" ");
    if text.chars().count() > MAX_ATTR_TEXT {
        text = text.chars().take(MAX_ATTR_TEXT).collect::<String>() + "…";
    }
    text
}

/// `graph` at `scope` (`""`: the top), and with `find`, the ops whose names contain it.
pub fn view(graph: &GraphDef, scope: &str, find: Option<&str>) -> Result<GraphView, ViewError> {
    let scope = scope.trim_matches('/');
    let by_name: BTreeMap<&str, &NodeDef> =
        graph.node.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut children: BTreeMap<&str, ViewNode> = BTreeMap::new();
    for n in &graph.node {
        let Some(child) = child_of(&n.name, scope) else {
            continue;
        };
        // An op is a child of its own; one whose name is also a scope (it has descendants) is
        // counted in that scope, and shown as an op inside it.
        let is_op = child == n.name && (child == scope || !has_descendants(&by_name, child));
        let label = child.rsplit('/').next().unwrap_or(child).to_owned();
        let entry = children.entry(child).or_insert_with(|| ViewNode {
            name: child.to_owned(),
            label,
            kind: ChildKind::Scope,
            ops: Some(0),
            op: None,
            device: None,
            shapes: Vec::new(),
            attrs: Vec::new(),
            inputs: Vec::new(),
            external_inputs: 0,
        });
        if is_op {
            entry.kind = ChildKind::Op;
            entry.ops = None;
            entry.op = Some(n.op.clone());
            entry.device = (!n.device.is_empty()).then(|| n.device.clone());
            entry.shapes = shapes(n);
            entry.attrs = n
                .attr
                .iter()
                .filter(|(k, _)| *k != "_output_shapes")
                .map(|(k, v)| (k.clone(), attr_text(v)))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect();
            entry.inputs = n.input.clone();
        } else if let Some(ops) = &mut entry.ops {
            *ops += 1;
        }
    }
    if children.is_empty() && !scope.is_empty() {
        return Err(ViewError::NoScope(scope.to_owned()));
    }
    let mut edges: BTreeMap<(&str, &str), ViewEdge> = BTreeMap::new();
    let mut external: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &graph.node {
        let Some(to) = child_of(&n.name, scope) else {
            continue;
        };
        for input in &n.input {
            let (src, k, control) = source(input);
            if !by_name.contains_key(src) {
                // A source the graph does not have: counted with the outside ones.
                *external.entry(to).or_default() += 1;
                continue;
            }
            match child_of(src, scope) {
                Some(from) if from != to => {
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
                        && let Some(shape) =
                            by_name.get(src).and_then(|s| shapes(s).get(k).cloned())
                        && !e.shapes.contains(&shape)
                    {
                        e.shapes.push(shape);
                    }
                }
                Some(_) => {}
                None => *external.entry(to).or_default() += 1,
            }
        }
    }
    for (child, n) in external {
        if let Some(c) = children.get_mut(child) {
            c.external_inputs = n;
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
    Ok(GraphView {
        scope: scope.to_owned(),
        nodes: children.into_values().collect(),
        edges: edges.into_values().collect(),
        total_ops: graph.node.len(),
        matches,
    })
}

/// Whether some node's name is under `name/`.
fn has_descendants(by_name: &BTreeMap<&str, &NodeDef>, name: &str) -> bool {
    let prefix = format!("{name}/");
    by_name
        .range::<&str, _>((
            std::ops::Bound::Included(prefix.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .next()
        .is_some_and(|(k, _)| k.starts_with(&prefix))
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

    fn names(v: &GraphView) -> Vec<(&str, &ChildKind, Option<usize>)> {
        v.nodes
            .iter()
            .map(|n| (n.name.as_str(), &n.kind, n.ops))
            .collect()
    }

    fn edges(v: &GraphView) -> Vec<(&str, &str, usize)> {
        v.edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.count))
            .collect()
    }

    #[test]
    fn the_top_shows_scopes_collapsed_with_the_edges_between_them() {
        let v = view(&net(), "", None).unwrap();
        assert_eq!(
            names(&v),
            [
                ("Net", &ChildKind::Scope, Some(4)),
                ("input", &ChildKind::Scope, Some(1)),
                ("output", &ChildKind::Scope, Some(1)),
            ]
        );
        assert_eq!(edges(&v), [("Net", "output", 1), ("input", "Net", 1)]);
        assert_eq!(v.edges[1].shapes, [Some(vec![1, 3])], "the tensor's shape");
        assert_eq!(v.total_ops, 6);
    }

    #[test]
    fn a_scope_opens_into_its_children_with_inputs_from_outside_counted() {
        let v = view(&net(), "Net", None).unwrap();
        assert_eq!(
            names(&v),
            [
                ("Net/Conv2d[conv]", &ChildKind::Scope, Some(2)),
                ("Net/Linear[fc]", &ChildKind::Scope, Some(1)),
                ("Net/ReLU[act]", &ChildKind::Scope, Some(1)),
            ]
        );
        assert_eq!(
            edges(&v),
            [
                ("Net/Conv2d[conv]", "Net/Linear[fc]", 1),
                ("Net/Conv2d[conv]", "Net/ReLU[act]", 1),
                ("Net/ReLU[act]", "Net/Linear[fc]", 1)
            ]
        );
        assert!(v.edges[0].control && !v.edges[1].control);
        assert_eq!(v.nodes[0].external_inputs, 1, "input/x feeds the conv");
        let act = view(&net(), "Net/ReLU[act]/", None).unwrap();
        let x = &act.nodes[0];
        assert_eq!(
            (x.kind.clone(), x.op.as_deref()),
            (ChildKind::Op, Some("aten::relu"))
        );
        assert_eq!(x.device.as_deref(), Some("/device:CPU:0"));
        assert_eq!(x.shapes, [Some(vec![1, 4])]);
        assert_eq!(x.attrs, [("attr".to_owned(), "s: \"{}\"".to_owned())]);
        assert_eq!(x.inputs, ["Net/Conv2d[conv]/y"]);
        assert_eq!(
            view(&net(), "Nope", None),
            Err(ViewError::NoScope("Nope".into()))
        );
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
        let v = view(&g, "", Some("INNER")).unwrap();
        assert_eq!(
            names(&v),
            [
                ("a", &ChildKind::Scope, Some(2)),
                ("b", &ChildKind::Scope, Some(1)),
                ("hub", &ChildKind::Op, None),
                ("leaf", &ChildKind::Scope, Some(10_000)),
            ]
        );
        assert_eq!(
            edges(&v),
            [("a", "b", 2), ("b", "a", 1), ("leaf", "hub", 10_000)]
        );
        assert_eq!(v.nodes[1].external_inputs, 1, "the missing source");
        assert_eq!(v.matches, Some(vec!["a/inner".to_owned()]));
        // Inside `a`: the op named `a` and `a/inner`, and the edge between them.
        let a = view(&g, "a", None).unwrap();
        assert_eq!(
            names(&a),
            [
                ("a", &ChildKind::Op, None),
                ("a/inner", &ChildKind::Op, None)
            ]
        );
        assert_eq!(edges(&a), [("a", "a/inner", 1)]);
        let found = view(&g, "", Some("leaf/")).unwrap().matches.unwrap();
        assert_eq!(found.len(), MAX_MATCHES);
    }
}
