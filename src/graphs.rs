//! Model graphs: a run's `Event.graph_def` (a serialized `GraphDef`, kept as written under
//! [`RUN_GRAPH_TAG`]), decoded, prepared for a graph view as TensorBoard prepares it (attributes
//! over a size limit dropped and named) and written as protobuf text format, byte for byte as
//! TensorBoard 2.21 serves it (`str(graph)` in Python, which is upb's text encoder):
//!
//! - fields in field-number order; a proto3 scalar only when it is not its default, a oneof
//!   member whenever it is set;
//! - map entries ordered by upb's comparator: the first differing byte of the keys, the larger
//!   first; a key that is a prefix of another before it;
//! - floats as C's `%.6g` (`%.9g` when that does not read back), doubles as `%.15g` / `%.17g`;
//!   `inf`, `-inf`, `nan`;
//! - strings and bytes in double quotes with `\n`, `\r`, `\t`, `\"`, `\'`, `\\` and other
//!   unprintable bytes as three octal digits; a `string` field's UTF-8 left as is, a `bytes`
//!   field's bytes over 0x7f in octal too;
//! - enums by name (a number the enum does not name as the number); two spaces an indent.

use std::fmt::Write as _;

use crate::format::c_g;

pub mod view;

use runboard_proto::prost::Message;
use runboard_proto::tensorboard::{
    AllocationDescription, AllocatorMemoryUsed, AttrValue, DataType, DeviceStepStats, GraphDef,
    MemoryStats, NameAttrList, NodeDef, NodeExecStats, NodeOutput, RunMetadata, StepStats,
    TensorProto, TensorShapeProto, VersionDef, attr_value,
};

pub use runboard_sdk::event::{
    META_GRAPH_TAG, RUN_GRAPH_TAG, plugin::GRAPH_TAGGED_RUN_METADATA as RUN_METADATA_PLUGIN,
    plugin::GRAPHS as PLUGIN,
};

/// Whether a stored series is run metadata (`Event.tagged_run_metadata`, under its tag).
pub fn is_run_metadata(s: &crate::store::query::SeriesInfo) -> bool {
    s.kind == crate::types::Kind::Tensor && s.plugin == RUN_METADATA_PLUGIN
}

/// Decodes a serialized `RunMetadata`.
pub fn decode_run_metadata(bytes: &[u8]) -> Result<RunMetadata, GraphError> {
    RunMetadata::decode(bytes).map_err(|source| GraphError::Decode {
        what: "RunMetadata",
        source,
    })
}

/// `run_metadata` in protobuf text format, as TensorBoard serves it.
pub fn run_metadata_to_text(run_metadata: &RunMetadata) -> String {
    let mut p = Printer::default();
    p.run_metadata(run_metadata);
    p.out
}

/// Whether a stored series is a run's graph.
pub fn is_run_graph(s: &crate::store::query::SeriesInfo) -> bool {
    s.kind == crate::types::Kind::Tensor && s.plugin == PLUGIN && s.tag == RUN_GRAPH_TAG
}

/// Whether a stored series is a run's meta graph (`Event.meta_graph_def`).
pub fn is_meta_graph(s: &crate::store::query::SeriesInfo) -> bool {
    s.kind == crate::types::Kind::Tensor && s.plugin == PLUGIN && s.tag == META_GRAPH_TAG
}

/// Whether a stored series gives its run a graph: its `graph_def`, or its meta graph's.
pub fn gives_a_graph(s: &crate::store::query::SeriesInfo) -> bool {
    is_run_graph(s) || is_meta_graph(s)
}

/// The graph a serialized `MetaGraphDef` holds (`None` when it holds none).
pub fn decode_meta_graph(bytes: &[u8]) -> Result<Option<GraphDef>, GraphError> {
    runboard_proto::tensorboard::MetaGraphDef::decode(bytes)
        .map(|m| m.graph_def)
        .map_err(|source| GraphError::Decode {
            what: "MetaGraphDef",
            source,
        })
}

/// Why a stored graph cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The bytes are not a `GraphDef` (or `RunMetadata`, as said).
    #[error("does not decode as a {what}: {source}")]
    Decode {
        /// The message it should be.
        what: &'static str,
        /// Why it is not.
        source: runboard_proto::prost::DecodeError,
    },
    /// `limit_attr_size` without `large_attrs_key`, or not above 0 (TensorBoard's rules).
    #[error("{0}")]
    Limit(String),
}

/// Decodes a serialized `GraphDef`.
pub fn decode(bytes: &[u8]) -> Result<GraphDef, GraphError> {
    GraphDef::decode(bytes).map_err(|source| GraphError::Decode {
        what: "GraphDef",
        source,
    })
}

/// What TensorBoard's `process_graph.prepare_graph_for_ui` does: with a limit, every attribute
/// whose encoded size is over it is dropped and its key listed in `large_attrs_key` (a list of
/// strings) on its node.
pub fn prepare_for_ui(
    graph: &mut GraphDef,
    limit_attr_size: Option<i64>,
    large_attrs_key: Option<&str>,
) -> Result<(), GraphError> {
    let Some(limit) = limit_attr_size else {
        return Ok(());
    };
    let Some(key) = large_attrs_key else {
        return Err(GraphError::Limit(
            "large_attrs_key must be != None when limit_attr_size!= None.".into(),
        ));
    };
    if limit <= 0 {
        return Err(GraphError::Limit(format!(
            "limit_attr_size must be > 0, but is {limit}"
        )));
    }
    for node in &mut graph.node {
        let mut large: Vec<String> = node
            .attr
            .iter()
            .filter(|(_, v)| v.encoded_len() as i64 > limit)
            .map(|(k, _)| k.clone())
            .collect();
        // Python appends in the map's order, which is not defined: name them in upb's.
        large.sort_by(|a, b| upb_key_order(a, b));
        for k in &large {
            node.attr.remove(k);
        }
        if large.is_empty() {
            continue;
        }
        // The names go in a list under `large_attrs_key` (replacing any other value there).
        let entry = node.attr.entry(key.to_owned()).or_default();
        if !matches!(entry.value, Some(attr_value::Value::List(_))) {
            entry.value = Some(attr_value::Value::List(Default::default()));
        }
        if let Some(attr_value::Value::List(list)) = &mut entry.value {
            list.s.extend(large.into_iter().map(String::into_bytes));
        }
    }
    Ok(())
}

/// The order upb's text encoder prints string map keys in.
fn upb_key_order(a: &str, b: &str) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    match a.as_bytes()[..n].cmp(&b.as_bytes()[..n]) {
        std::cmp::Ordering::Equal => a.len().cmp(&b.len()),
        other => other.reverse(),
    }
}

/// An attribute's value in protobuf text format, on one line (`s: "{}"`, `list { i: 1 i: 2 }`).
pub fn attr_value_text(a: &AttrValue) -> String {
    let mut p = Printer::default();
    p.attr_value(a);
    let lines: Vec<&str> = p.out.lines().map(str::trim).collect();
    lines.join(" ")
}

/// `graph` in protobuf text format, as TensorBoard serves it.
pub fn to_text(graph: &GraphDef) -> String {
    let mut p = Printer::default();
    p.graph(graph);
    p.out
}

#[derive(Default)]
struct Printer {
    out: String,
    indent: usize,
}

impl Printer {
    fn pad(&mut self) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    /// `name: text`.
    fn field(&mut self, name: &str, text: impl std::fmt::Display) {
        self.pad();
        let _ = writeln!(self.out, "{name}: {text}");
    }

    fn string(&mut self, name: &str, s: &str) {
        self.field(name, Quoted(s.as_bytes(), false));
    }

    fn bytes(&mut self, name: &str, b: &[u8]) {
        self.field(name, Quoted(b, true));
    }

    /// `name {` … `}` around what `body` prints.
    fn message(&mut self, name: &str, body: impl FnOnce(&mut Self)) {
        self.pad();
        let _ = writeln!(self.out, "{name} {{");
        self.indent += 1;
        body(self);
        self.indent -= 1;
        self.pad();
        self.out.push_str("}\n");
    }

    fn graph(&mut self, g: &GraphDef) {
        for n in &g.node {
            self.message("node", |p| p.node(n));
        }
        #[allow(deprecated)]
        if g.version != 0 {
            self.field("version", g.version);
        }
        if let Some(v) = &g.versions {
            self.message("versions", |p| p.versions(v));
        }
    }

    fn run_metadata(&mut self, m: &RunMetadata) {
        if let Some(s) = &m.step_stats {
            self.message("step_stats", |p| p.step_stats(s));
        }
        for g in &m.partition_graphs {
            self.message("partition_graphs", |p| p.graph(g));
        }
        for f in &m.function_graphs {
            self.message("function_graphs", |p| {
                for g in &f.partition_graphs {
                    p.message("partition_graphs", |p| p.graph(g));
                }
                if let Some(g) = &f.pre_optimization_graph {
                    p.message("pre_optimization_graph", |p| p.graph(g));
                }
                if let Some(g) = &f.post_optimization_graph {
                    p.message("post_optimization_graph", |p| p.graph(g));
                }
            });
        }
    }

    fn step_stats(&mut self, s: &StepStats) {
        for d in &s.dev_stats {
            self.message("dev_stats", |p| p.device_step_stats(d));
        }
    }

    fn device_step_stats(&mut self, d: &DeviceStepStats) {
        if !d.device.is_empty() {
            self.string("device", &d.device);
        }
        for n in &d.node_stats {
            self.message("node_stats", |p| p.node_exec_stats(n));
        }
        let mut threads: Vec<(&u32, &String)> = d.thread_names.iter().collect();
        threads.sort();
        for (k, v) in threads {
            self.message("thread_names", |p| {
                p.field("key", k);
                p.string("value", v);
            });
        }
    }

    /// `name: v` when `v` is not 0 (a proto3 integer at its default is not printed).
    fn int(&mut self, name: &str, v: i64) {
        if v != 0 {
            self.field(name, v);
        }
    }

    fn node_exec_stats(&mut self, n: &NodeExecStats) {
        if !n.node_name.is_empty() {
            self.string("node_name", &n.node_name);
        }
        self.int("all_start_micros", n.all_start_micros);
        self.int("op_start_rel_micros", n.op_start_rel_micros);
        self.int("op_end_rel_micros", n.op_end_rel_micros);
        self.int("all_end_rel_micros", n.all_end_rel_micros);
        for m in &n.memory {
            self.message("memory", |p| p.allocator_memory_used(m));
        }
        for o in &n.output {
            self.message("output", |p| p.node_output(o));
        }
        if !n.timeline_label.is_empty() {
            self.string("timeline_label", &n.timeline_label);
        }
        self.int("scheduled_micros", n.scheduled_micros);
        self.int("thread_id", i64::from(n.thread_id));
        for a in &n.referenced_tensor {
            self.message("referenced_tensor", |p| p.allocation_description(a));
        }
        if let Some(m) = &n.memory_stats {
            self.message("memory_stats", |p| p.memory_stats(m));
        }
        self.int("all_start_nanos", n.all_start_nanos);
        self.int("op_start_rel_nanos", n.op_start_rel_nanos);
        self.int("op_end_rel_nanos", n.op_end_rel_nanos);
        self.int("all_end_rel_nanos", n.all_end_rel_nanos);
        self.int("scheduled_nanos", n.scheduled_nanos);
    }

    fn allocator_memory_used(&mut self, m: &AllocatorMemoryUsed) {
        if !m.allocator_name.is_empty() {
            self.string("allocator_name", &m.allocator_name);
        }
        self.int("total_bytes", m.total_bytes);
        self.int("peak_bytes", m.peak_bytes);
        self.int("live_bytes", m.live_bytes);
        self.int("allocator_bytes_in_use", m.allocator_bytes_in_use);
        for r in &m.allocation_records {
            self.message("allocation_records", |p| {
                p.int("alloc_micros", r.alloc_micros);
                p.int("alloc_bytes", r.alloc_bytes);
            });
        }
    }

    fn node_output(&mut self, o: &NodeOutput) {
        self.int("slot", i64::from(o.slot));
        if let Some(t) = &o.tensor_description {
            self.message("tensor_description", |p| {
                if t.dtype != 0 {
                    p.field("dtype", EnumName(t.dtype));
                }
                if let Some(s) = &t.shape {
                    p.message("shape", |p| p.shape(s));
                }
                if let Some(a) = &t.allocation_description {
                    p.message("allocation_description", |p| p.allocation_description(a));
                }
            });
        }
    }

    fn allocation_description(&mut self, a: &AllocationDescription) {
        self.int("requested_bytes", a.requested_bytes);
        self.int("allocated_bytes", a.allocated_bytes);
        if !a.allocator_name.is_empty() {
            self.string("allocator_name", &a.allocator_name);
        }
        self.int("allocation_id", a.allocation_id);
        if a.has_single_reference {
            self.field("has_single_reference", true);
        }
        if a.ptr != 0 {
            self.field("ptr", a.ptr);
        }
    }

    fn memory_stats(&mut self, m: &MemoryStats) {
        self.int("temp_memory_size", m.temp_memory_size);
        self.int("device_temp_memory_size", m.device_temp_memory_size);
        self.int("persistent_memory_size", m.persistent_memory_size);
        self.int(
            "device_persistent_memory_size",
            m.device_persistent_memory_size,
        );
        for v in &m.persistent_tensor_alloc_ids {
            self.field("persistent_tensor_alloc_ids", v);
        }
        for v in &m.device_persistent_tensor_alloc_ids {
            self.field("device_persistent_tensor_alloc_ids", v);
        }
    }

    fn versions(&mut self, v: &VersionDef) {
        if v.producer != 0 {
            self.field("producer", v.producer);
        }
        if v.min_consumer != 0 {
            self.field("min_consumer", v.min_consumer);
        }
        for b in &v.bad_consumers {
            self.field("bad_consumers", b);
        }
    }

    fn node(&mut self, n: &NodeDef) {
        if !n.name.is_empty() {
            self.string("name", &n.name);
        }
        if !n.op.is_empty() {
            self.string("op", &n.op);
        }
        for i in &n.input {
            self.string("input", i);
        }
        if !n.device.is_empty() {
            self.string("device", &n.device);
        }
        self.attrs(&n.attr);
        if let Some(d) = &n.experimental_debug_info {
            self.message("experimental_debug_info", |p| {
                for s in &d.original_node_names {
                    p.string("original_node_names", s);
                }
                for s in &d.original_func_names {
                    p.string("original_func_names", s);
                }
            });
        }
    }

    fn attrs(&mut self, attrs: &std::collections::HashMap<String, AttrValue>) {
        let mut keys: Vec<&String> = attrs.keys().collect();
        keys.sort_by(|a, b| upb_key_order(a, b));
        for k in keys {
            self.message("attr", |p| {
                p.string("key", k);
                p.message("value", |p| p.attr_value(&attrs[k]));
            });
        }
    }

    fn attr_value(&mut self, v: &AttrValue) {
        use attr_value::Value as V;
        // Field-number order: list (1), s, i, f, b, type, shape, tensor, placeholder (9), func (10).
        match &v.value {
            None => {}
            Some(V::List(l)) => self.message("list", |p| {
                for s in &l.s {
                    p.bytes("s", s);
                }
                for i in &l.i {
                    p.field("i", i);
                }
                for f in &l.f {
                    p.field("f", Float(*f));
                }
                for b in &l.b {
                    p.field("b", b);
                }
                for t in &l.r#type {
                    p.field("type", EnumName(*t));
                }
                for s in &l.shape {
                    p.message("shape", |p| p.shape(s));
                }
                for t in &l.tensor {
                    p.message("tensor", |p| p.tensor(t));
                }
                for f in &l.func {
                    p.message("func", |p| p.func(f));
                }
            }),
            Some(V::S(s)) => self.bytes("s", s),
            Some(V::I(i)) => self.field("i", i),
            Some(V::F(f)) => self.field("f", Float(*f)),
            Some(V::B(b)) => self.field("b", b),
            Some(V::Type(t)) => self.field("type", EnumName(*t)),
            Some(V::Shape(s)) => self.message("shape", |p| p.shape(s)),
            Some(V::Tensor(t)) => self.message("tensor", |p| p.tensor(t)),
            Some(V::Placeholder(s)) => self.string("placeholder", s),
            Some(V::Func(f)) => self.message("func", |p| p.func(f)),
        }
    }

    fn func(&mut self, f: &NameAttrList) {
        if !f.name.is_empty() {
            self.string("name", &f.name);
        }
        self.attrs(&f.attr);
    }

    fn shape(&mut self, s: &TensorShapeProto) {
        for d in &s.dim {
            self.message("dim", |p| {
                if d.size != 0 {
                    p.field("size", d.size);
                }
                if !d.name.is_empty() {
                    p.string("name", &d.name);
                }
            });
        }
        if s.unknown_rank {
            self.field("unknown_rank", true);
        }
    }

    fn tensor(&mut self, t: &TensorProto) {
        if t.dtype != 0 {
            self.field("dtype", EnumName(t.dtype));
        }
        if let Some(s) = &t.tensor_shape {
            self.message("tensor_shape", |p| p.shape(s));
        }
        if t.version_number != 0 {
            self.field("version_number", t.version_number);
        }
        if !t.tensor_content.is_empty() {
            self.bytes("tensor_content", &t.tensor_content);
        }
        for v in &t.float_val {
            self.field("float_val", Float(*v));
        }
        for v in &t.double_val {
            self.field("double_val", Double(*v));
        }
        for v in &t.int_val {
            self.field("int_val", v);
        }
        for v in &t.string_val {
            self.bytes("string_val", v);
        }
        for v in &t.scomplex_val {
            self.field("scomplex_val", Float(*v));
        }
        for v in &t.int64_val {
            self.field("int64_val", v);
        }
        for v in &t.bool_val {
            self.field("bool_val", v);
        }
        for v in &t.dcomplex_val {
            self.field("dcomplex_val", Double(*v));
        }
        for v in &t.half_val {
            self.field("half_val", v);
        }
        for v in &t.uint32_val {
            self.field("uint32_val", v);
        }
        for v in &t.uint64_val {
            self.field("uint64_val", v);
        }
        if !t.float8_val.is_empty() {
            self.bytes("float8_val", &t.float8_val);
        }
    }
}

/// A `DataType` by name, or its number when the enum has no name for it.
struct EnumName(i32);

impl std::fmt::Display for EnumName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match DataType::try_from(self.0) {
            Ok(t) => f.write_str(t.as_str_name()),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

/// A string (`bytes` false) or bytes field's value, quoted and escaped as upb escapes it.
struct Quoted<'a>(&'a [u8], bool);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Quoted(data, bytes) = *self;
        let mut out = Vec::with_capacity(data.len() + 2);
        out.push(b'"');
        for &c in data {
            match c {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x20..=0x7e => out.push(c),
                0x80.. if !bytes => out.push(c),
                _ => out.extend_from_slice(format!("\\{c:03o}").as_bytes()),
            }
        }
        out.push(b'"');
        // A string field's bytes are UTF-8 (prost checked); escapes are ASCII.
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// A float as upb writes it: `%.6g`, or `%.9g` when that does not read back.
struct Float(f32);

impl std::fmt::Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if let Some(word) = non_finite(f64::from(v)) {
            return f.write_str(word);
        }
        let short = c_g(f64::from(v), 6);
        if short.parse::<f32>().ok() == Some(v) {
            f.write_str(&short)
        } else {
            f.write_str(&c_g(f64::from(v), 9))
        }
    }
}

/// A double as upb writes it: `%.15g`, or `%.17g` when that does not read back.
struct Double(f64);

impl std::fmt::Display for Double {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if let Some(word) = non_finite(v) {
            return f.write_str(word);
        }
        let short = c_g(v, 15);
        if short.parse::<f64>().ok() == Some(v) {
            f.write_str(&short)
        } else {
            f.write_str(&c_g(v, 17))
        }
    }
}

fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("nan")
    } else if v == f64::INFINITY {
        Some("inf")
    } else if v == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_c_printf_g_does() {
        let cases: &[(f64, usize, &str)] = &[
            (0.1, 6, "0.1"),
            (3.0, 6, "3"),
            (1e20, 6, "1e+20"),
            (1e-10, 6, "1e-10"),
            (0.0001, 6, "0.0001"),
            (0.00001, 6, "1e-05"),
            (123456.0, 6, "123456"),
            (1234567.0, 6, "1.23457e+06"),
            (999999.5, 6, "1e+06"),
            (-2.5, 6, "-2.5"),
            (0.0, 6, "0"),
            (-0.0, 6, "-0"),
            (1e100, 17, "1e+100"),
            (0.30000000000000004, 17, "0.30000000000000004"),
        ];
        for &(v, p, want) in cases {
            assert_eq!(c_g(v, p), want, "{v} %.{p}g");
        }
        // Floats that need nine digits to read back, and one that does not (what Python's
        // protobuf 7.36 prints for the same values).
        let floats: &[(f32, &str)] = &[
            (0.1 + 1.192_092_9e-7, "0.100000121"),
            (f32::from_bits(0.1f32.to_bits() + 1), "0.100000009"),
            (1.0 / 3.0, "0.333333343"),
            (16_777_216.0, "16777216"),
            (f32::from_bits(1), "1.4013e-45"),
            (f32::NAN, "nan"),
        ];
        for &(v, want) in floats {
            assert_eq!(Float(v).to_string(), want, "{v}");
        }
        let doubles: &[(f64, &str)] = &[
            (1.0 / 3.0, "0.33333333333333331"),
            (0.1, "0.1"),
            (1e300, "1e+300"),
            (123_456_789_012_345_680.0, "1.2345678901234568e+17"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(v, want) in doubles {
            assert_eq!(Double(v).to_string(), want, "{v}");
        }
    }

    #[test]
    fn strings_and_bytes_escape_as_upb_does() {
        let raw = "h\u{e9}llo \"q\" 'x' \\ \n\t\u{1}";
        assert_eq!(
            Quoted(raw.as_bytes(), true).to_string(),
            r#""h\303\251llo \"q\" \'x\' \\ \n\t\001""#
        );
        assert_eq!(
            Quoted(raw.as_bytes(), false).to_string(),
            "\"h\u{e9}llo \\\"q\\\" \\'x\\' \\\\ \\n\\t\\001\""
        );
    }

    #[test]
    fn map_keys_in_upb_order() {
        let mut keys = vec![
            "a",
            "b",
            "c",
            "attr",
            "_output_shapes",
            "zz",
            "f",
            "f2",
            "f3",
        ];
        keys.sort_by(|a, b| upb_key_order(a, b));
        assert_eq!(
            keys,
            [
                "zz",
                "f",
                "f3",
                "f2",
                "c",
                "b",
                "a",
                "attr",
                "_output_shapes"
            ]
        );
    }

    #[test]
    fn large_attributes_are_dropped_and_named_and_bad_limits_refused() {
        let mut node = NodeDef {
            name: "n".into(),
            ..NodeDef::default()
        };
        let big = AttrValue {
            value: Some(attr_value::Value::S(vec![b'x'; 2000])),
        };
        let small = AttrValue {
            value: Some(attr_value::Value::I(7)),
        };
        node.attr.insert("big".into(), big.clone());
        node.attr.insert("also_big".into(), big);
        node.attr.insert("small".into(), small);
        let mut g = GraphDef {
            node: vec![node],
            ..GraphDef::default()
        };
        let mut untouched = g.clone();
        prepare_for_ui(&mut untouched, None, None).unwrap();
        assert_eq!(untouched, g);
        assert!(prepare_for_ui(&mut g.clone(), Some(0), Some("k")).is_err());
        assert!(prepare_for_ui(&mut g.clone(), Some(10), None).is_err());
        prepare_for_ui(&mut g, Some(1024), Some("_too_large_attrs")).unwrap();
        let attrs = &g.node[0].attr;
        assert_eq!(attrs.len(), 2);
        assert!(attrs.contains_key("small"));
        match &attrs["_too_large_attrs"].value {
            Some(attr_value::Value::List(l)) => {
                assert_eq!(l.s, [b"big".to_vec(), b"also_big".to_vec()]);
            }
            other => panic!("{other:?}"),
        }
    }
}
