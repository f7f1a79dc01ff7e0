//! Custom Scalars layouts: the `Layout` a run logs (tensorboardX's `add_custom_scalars`, the
//! SDK's `add_custom_scalars`) under [`LAYOUT_TAG`], merged over runs and written as JSON the
//! way TensorBoard 2.21 serves it (`json_format.MessageToJson(layout,
//! always_print_fields_with_no_presence=True)`): camelCase names, the fields set first in field
//! order then those at their default, two-space indents, non-ASCII as `\uXXXX`.

use std::fmt::Write as _;

use crate::format::py_json_str;

use runboard_proto::prost::Message;
use runboard_proto::tensorboard::{Category, Chart, Layout, chart};

pub use runboard_sdk::event::{
    CUSTOM_SCALARS_LAYOUT_TAG as LAYOUT_TAG, plugin::CUSTOM_SCALARS as PLUGIN,
};

/// Whether a stored series is a run's Custom Scalars layout.
pub fn is_layout(s: &crate::store::query::SeriesInfo) -> bool {
    s.kind == crate::types::Kind::Tensor && s.plugin == PLUGIN && s.tag == LAYOUT_TAG
}

/// Decodes a serialized `Layout`.
pub fn decode(bytes: &[u8]) -> Result<Layout, runboard_proto::prost::DecodeError> {
    Layout::decode(bytes)
}

/// The layouts of several runs (in run-name order) as one: the first run's, then each later
/// run's categories, a category already seen by its title taking the charts it lacks.
/// (TensorBoard means the same; its code adds a third run's charts to the second run's copy
/// of a category rather than the merged one, which loses them: runboard does not.)
pub fn merge(layouts: impl IntoIterator<Item = Layout>) -> Option<Layout> {
    let mut merged: Option<Layout> = None;
    for layout in layouts {
        let Some(m) = &mut merged else {
            merged = Some(layout);
            continue;
        };
        for category in layout.category {
            match m.category.iter_mut().find(|c| c.title == category.title) {
                Some(seen) => {
                    for chart in category.chart {
                        if !seen.chart.contains(&chart) {
                            seen.chart.push(chart);
                        }
                    }
                }
                None => m.category.push(category),
            }
        }
    }
    merged
}

/// `layout` as TensorBoard's `/data/plugin/custom_scalars/layout` writes it.
pub fn to_json(layout: &Layout) -> String {
    let mut w = Json::default();
    let version = layout.version.to_string();
    let fields: [(bool, Field<'_>); 2] = [
        (layout.version != 0, &|w| w.field("version", &version)),
        (!layout.category.is_empty(), &|w| {
            w.array("category", &layout.category, category_json)
        }),
    ];
    w.object(|w| in_json_order(w, &fields));
    w.out
}

fn category_json(w: &mut Json, c: &Category) {
    let fields: [(bool, Field<'_>); 3] = [
        (!c.title.is_empty(), &|w| {
            w.field("title", &py_json_str(&c.title))
        }),
        (!c.chart.is_empty(), &|w| {
            w.array("chart", &c.chart, chart_json)
        }),
        (c.closed, &|w| {
            w.field("closed", if c.closed { "true" } else { "false" })
        }),
    ];
    w.object(|w| in_json_order(w, &fields));
}

fn chart_json(w: &mut Json, c: &Chart) {
    w.object(|w| {
        let title: Field<'_> = &|w| w.field("title", &py_json_str(&c.title));
        let content: Field<'_> = &|w| match &c.content {
            Some(chart::Content::Multiline(m)) => w.key_object("multiline", |w| {
                w.array("tag", &m.tag, |w, t| w.item(&py_json_str(t)));
            }),
            Some(chart::Content::Margin(m)) => w.key_object("margin", |w| {
                w.array("series", &m.series, |w, s| {
                    let fields: [(bool, Field<'_>); 3] = [
                        (!s.value.is_empty(), &|w| {
                            w.field("value", &py_json_str(&s.value))
                        }),
                        (!s.lower.is_empty(), &|w| {
                            w.field("lower", &py_json_str(&s.lower))
                        }),
                        (!s.upper.is_empty(), &|w| {
                            w.field("upper", &py_json_str(&s.upper))
                        }),
                    ];
                    w.object(|w| in_json_order(w, &fields));
                });
            }),
            None => {}
        };
        // The oneof member has presence: "set" whenever it is there (absent, it prints nothing).
        let fields: [(bool, Field<'_>); 2] =
            [(!c.title.is_empty(), title), (c.content.is_some(), content)];
        in_json_order(w, &fields);
    });
}

type Field<'a> = &'a dyn Fn(&mut Json);

/// The fields that are set, in field order, then those at their default (as `json_format`
/// adds them after the set ones).
fn in_json_order(w: &mut Json, fields: &[(bool, Field<'_>)]) {
    for (set, f) in fields {
        if *set {
            f(w);
        }
    }
    for (set, f) in fields {
        if !*set {
            f(w);
        }
    }
}

/// Python's `json.dumps(..., indent=2)`: an item per line, `": "` after keys, `[]` and `{}`
/// when empty.
#[derive(Default)]
struct Json {
    out: String,
    indent: usize,
    /// Whether the open object or array has an item yet.
    first: Vec<bool>,
}

impl Json {
    fn newline_item(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.out.push(',');
            }
            *first = false;
        }
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, bracket: char, close: char, body: impl FnOnce(&mut Self)) {
        self.out.push(bracket);
        self.indent += 1;
        self.first.push(true);
        body(self);
        let empty = self.first.pop().unwrap_or(true);
        self.indent -= 1;
        if !empty {
            self.out.push('\n');
            for _ in 0..self.indent {
                self.out.push_str("  ");
            }
        }
        self.out.push(close);
    }

    fn object(&mut self, body: impl FnOnce(&mut Self)) {
        self.open('{', '}', body);
    }

    fn key(&mut self, name: &str) {
        self.newline_item();
        let _ = write!(self.out, "{}: ", py_json_str(name));
    }

    fn field(&mut self, name: &str, value: &str) {
        self.key(name);
        self.out.push_str(value);
    }

    fn key_object(&mut self, name: &str, body: impl FnOnce(&mut Self)) {
        self.key(name);
        self.object(body);
    }

    fn array<T>(&mut self, name: &str, items: &[T], each: impl Fn(&mut Self, &T)) {
        self.key(name);
        self.open('[', ']', |w| {
            for item in items {
                w.newline_item();
                each(w, item);
            }
        });
    }

    /// An array item already placed by [`Json::array`].
    fn item(&mut self, value: &str) {
        self.out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runboard_proto::tensorboard::{
        MarginChartContent, MultilineChartContent, margin_chart_content::Series,
    };

    fn multiline(title: &str, tags: &[&str]) -> Chart {
        Chart {
            title: title.into(),
            content: Some(chart::Content::Multiline(MultilineChartContent {
                tag: tags.iter().map(|t| (*t).to_owned()).collect(),
            })),
        }
    }

    #[test]
    fn layouts_print_as_message_to_json_does() {
        // Python's output for the same layout (protobuf 7.36, TensorBoard 2.21's proto_to_json).
        let layout = Layout {
            version: 0,
            category: vec![
                Category {
                    title: "\u{dc}n\u{ef} \"x\"\n".into(),
                    chart: vec![
                        multiline("m", &["a", "b"]),
                        Chart {
                            title: String::new(),
                            content: Some(chart::Content::Margin(MarginChartContent {
                                series: vec![Series {
                                    value: "v".into(),
                                    lower: String::new(),
                                    upper: "u".into(),
                                }],
                            })),
                        },
                    ],
                    closed: true,
                },
                Category::default(),
            ],
        };
        let want = r#"{
  "category": [
    {
      "title": "\u00dcn\u00ef \"x\"\n",
      "chart": [
        {
          "title": "m",
          "multiline": {
            "tag": [
              "a",
              "b"
            ]
          }
        },
        {
          "margin": {
            "series": [
              {
                "value": "v",
                "upper": "u",
                "lower": ""
              }
            ]
          },
          "title": ""
        }
      ],
      "closed": true
    },
    {
      "title": "",
      "chart": [],
      "closed": false
    }
  ],
  "version": 0
}"#;
        assert_eq!(to_json(&layout), want);
        assert_eq!(
            to_json(&Layout::default()),
            "{\n  \"version\": 0,\n  \"category\": []\n}"
        );
        assert_eq!(
            py_json_str("\u{1f600}\u{7f}\u{1}"),
            r#""\ud83d\ude00\u007f\u0001""#
        );
    }

    #[test]
    fn runs_merge_by_category_title_without_repeating_a_chart() {
        let cat = |title: &str, charts: Vec<Chart>| Category {
            title: title.into(),
            chart: charts,
            closed: false,
        };
        let a = Layout {
            version: 0,
            category: vec![cat("loss", vec![multiline("l", &["train/loss"])])],
        };
        let b = Layout {
            version: 0,
            category: vec![
                cat(
                    "loss",
                    vec![
                        multiline("l", &["train/loss"]),
                        multiline("v", &["val/loss"]),
                    ],
                ),
                cat("acc", vec![multiline("a", &["acc"])]),
            ],
        };
        let c = Layout {
            version: 0,
            category: vec![cat("acc", vec![multiline("a2", &["acc2"])])],
        };
        let m = merge([a, b, c]).unwrap();
        let titles: Vec<(&str, Vec<&str>)> = m
            .category
            .iter()
            .map(|c| {
                (
                    c.title.as_str(),
                    c.chart.iter().map(|x| x.title.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(titles, [("loss", vec!["l", "v"]), ("acc", vec!["a", "a2"])]);
        assert!(merge(Vec::new()).is_none());
    }
}
