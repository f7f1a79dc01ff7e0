//! Line charts of scalar series drawn on the server with plotters: one chart per tag, a line per run, as PNG or SVG.
//!
//! `runboard export --format png|svg` and `GET /api/v1/chart.svg|png` both come here. A chart is
//! drawn from downsampled points (the store keeps each bucket's first, last, min and max, so a
//! spike survives), never from every point: a 10M-point series draws as fast as a small one.
//! Labels are drawn with DejaVu Sans, embedded in the binary (licence in
//! `src/chart/DejaVuSans-LICENSE.txt`) and registered with plotters' `ab_glyph` text backend,
//! so no system font library is needed.
//!
//! What is drawn: the tag as title, the x axis labelled `step`, the y axis labelled with the
//! tag, a legend with each run's name, and a line per run in the run's colour ([`run_color`]).
//! With smoothing, the raw line is drawn faint and the smoothed line ([`smooth`], TensorBoard's
//! debiased EMA) on top. NaN and ±Inf (and, on a log scale, values ≤ 0) cannot be placed on
//! the axis: the line has a gap there.

use std::ops::Range;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use rusqlite::Connection;

use crate::store::{Point, StoreError, query};

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `DejaVuSans-LICENSE.txt` beside it).
const FONT: &[u8] = include_bytes!("DejaVuSans.ttf");

/// The smallest width or height a chart may have, in pixels.
pub const MIN_SIZE: u32 = 100;
/// The largest width or height a chart may have, in pixels (a 4096×4096 PNG is 48 MiB of
/// pixels while it is drawn).
pub const MAX_SIZE: u32 = 4096;
/// Default width in pixels.
pub const DEFAULT_WIDTH: u32 = 800;
/// Default height in pixels.
pub const DEFAULT_HEIGHT: u32 = 500;
/// Default number of points read per run: plenty for an 800-pixel-wide chart.
pub const DEFAULT_MAX_POINTS: usize = 2000;

/// Run colours (Tableau 10, the palette TensorBoard's and matplotlib's defaults come from).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The colour of the run at `index` in the list of runs (in start order): a run keeps its
/// colour in every chart of one export, in every chart the server draws, and in the dashboard
/// (`GET /api/v1/runs` gives each run [`run_color_hex`] of its index). The first ten runs get
/// Tableau 10; later runs get hues a golden angle apart, so that no two runs of a large sweep
/// share a colour.
pub fn run_color(index: usize) -> RGBColor {
    match PALETTE.get(index) {
        Some(c) => *c,
        None => {
            let hue = (index as f64 * 137.508 + 210.0) % 360.0;
            hsl(hue, 0.62, 0.48)
        }
    }
}

/// [`run_color`] as CSS hex (`#rrggbb`).
pub fn run_color_hex(index: usize) -> String {
    let RGBColor(r, g, b) = run_color(index);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The colour index of each run, from the list of runs in start order: the one rule behind
/// the colours of the dashboard (`GET /api/v1/runs`), the server's charts and exported charts.
/// The GPU sampler's `system` run is not a training run and takes no index, so a training
/// run's colour does not depend on whether the server sampled GPUs before it started.
#[derive(Debug, Clone, Default)]
pub struct RunColors {
    index: std::collections::HashMap<String, usize>,
}

impl RunColors {
    /// Indexes `runs` (in start order).
    pub fn new<'a>(runs: impl IntoIterator<Item = &'a str>) -> RunColors {
        let index = runs
            .into_iter()
            .filter(|r| *r != crate::gpu::SYSTEM_RUN)
            .enumerate()
            .map(|(i, r)| (r.to_owned(), i))
            .collect();
        RunColors { index }
    }

    /// The colour index of `run` ([`run_color`]); the `system` run and unknown runs get 0.
    pub fn index(&self, run: &str) -> usize {
        self.index.get(run).copied().unwrap_or_default()
    }

    /// The CSS colour of `run`: [`run_color_hex`] of its index; a neutral grey for the
    /// `system` run.
    pub fn hex(&self, run: &str) -> String {
        if run == crate::gpu::SYSTEM_RUN {
            SYSTEM_COLOR.to_owned()
        } else {
            run_color_hex(self.index(run))
        }
    }
}

/// The colour of the GPU sampler's `system` run.
pub const SYSTEM_COLOR: &str = "#8c8c8c";

/// An RGB colour from hue (degrees), saturation and lightness (0 to 1).
fn hsl(hue: f64, s: f64, l: f64) -> RGBColor {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let h = hue / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(byte(r), byte(g), byte(b))
}

/// The two kinds of image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFormat {
    /// A PNG bitmap (RGB).
    Png,
    /// An SVG document (text as `<text>` elements).
    Svg,
}

impl ChartFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ChartFormat::Png => "png",
            ChartFormat::Svg => "svg",
        }
    }

    /// The media type served.
    pub fn media_type(self) -> &'static str {
        match self {
            ChartFormat::Png => "image/png",
            ChartFormat::Svg => "image/svg+xml",
        }
    }
}

/// One run's line in a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The run's name (the legend entry).
    pub run: String,
    /// The run's index for [`run_color`].
    pub color: usize,
    /// The points in step order (usually downsampled, see [`read_line`]).
    pub points: Vec<Point>,
}

/// How a chart is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartOptions {
    /// Width in pixels, [`MIN_SIZE`]..=[`MAX_SIZE`].
    pub width: u32,
    /// Height in pixels, [`MIN_SIZE`]..=[`MAX_SIZE`].
    pub height: u32,
    /// TensorBoard's smoothing weight in `[0, 1)`; `None` (or 0) draws the raw line only.
    pub smoothing: Option<f64>,
    /// A logarithmic y axis (values ≤ 0 are left out).
    pub log_y: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            smoothing: None,
            log_y: false,
        }
    }
}

impl ChartOptions {
    /// Checks the size and the smoothing weight.
    pub fn validate(&self) -> Result<(), ChartError> {
        let size = MIN_SIZE..=MAX_SIZE;
        if !size.contains(&self.width) || !size.contains(&self.height) {
            return Err(ChartError::Size {
                width: self.width,
                height: self.height,
            });
        }
        if let Some(w) = self.smoothing.filter(|w| !(0.0..1.0).contains(w)) {
            return Err(ChartError::Smoothing(w));
        }
        Ok(())
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The requested size is out of range: the caller fixes the request.
    #[error(
        "chart size {width}x{height} is out of range: width and height must be between {MIN_SIZE} and {MAX_SIZE} pixels"
    )]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// The smoothing weight is not in `[0, 1)`: the caller fixes the request.
    #[error(
        "smoothing must be a weight in [0, 1) (TensorBoard's slider; 0.6 is its default), not {0}"
    )]
    Smoothing(f64),
    /// The embedded font could not be parsed (a broken build): nothing to retry.
    #[error("the embedded chart font could not be loaded")]
    Font,
    /// plotters failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] runboard_sdk::summary::ImageError),
}

/// Reads one run's line: the series downsampled to at most `max_points` points (each bucket's
/// first, last, min and max kept; zoomed-out reads touch chunk summaries only).
pub fn read_line(
    conn: &Connection,
    run: &str,
    series_id: i64,
    color: usize,
    max_points: usize,
) -> Result<Line, StoreError> {
    Ok(Line {
        run: run.to_owned(),
        color,
        points: query::scalars(conn, series_id, None, None, Some(max_points))?,
    })
}

/// TensorBoard's smoothing (its "classic" smoothing: `classicSmoothing` in
/// `tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts`), value for value: a
/// debiased exponential moving average `last = last·w + (1−w)·y`, shown as `last / (1 − wⁿ)`
/// after `n` finite values. Non-finite values are passed through and do not count; a constant
/// series is returned as is. `weight` is clamped to `[0, 1]`; a non-finite weight means 0.
pub fn smooth(values: &[f64], weight: f64) -> Vec<f64> {
    let w = if weight.is_finite() {
        weight.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // `==`, as TensorBoard's `every(y == first)`: a NaN makes a series non-constant.
    if values.iter().all(|v| *v == values[0]) {
        return values.to_vec();
    }
    let mut last = 0.0;
    let mut n = 0i32;
    values
        .iter()
        .map(|&y| {
            if !y.is_finite() {
                return y;
            }
            last = last * w + (1.0 - w) * y;
            n += 1;
            let debias = if w == 1.0 { 1.0 } else { 1.0 - w.powi(n) };
            last / debias
        })
        .collect()
}

/// Draws the chart of `tag` in `format`.
pub fn render(
    tag: &str,
    lines: &[Line],
    options: &ChartOptions,
    format: ChartFormat,
) -> Result<Vec<u8>, ChartError> {
    match format {
        ChartFormat::Png => png(tag, lines, options),
        ChartFormat::Svg => svg(tag, lines, options).map(String::into_bytes),
    }
}

/// Draws the chart as an SVG document.
pub fn svg(tag: &str, lines: &[Line], options: &ChartOptions) -> Result<String, ChartError> {
    options.validate()?;
    register_font()?;
    let mut out = String::new();
    {
        let root =
            SVGBackend::with_string(&mut out, (options.width, options.height)).into_drawing_area();
        draw(&root, tag, lines, options, false)?;
        root.present().map_err(draw_error)?;
    }
    Ok(out)
}

/// Draws the chart as a PNG image (RGB, 8 bits a channel).
pub fn png(tag: &str, lines: &[Line], options: &ChartOptions) -> Result<Vec<u8>, ChartError> {
    options.validate()?;
    register_font()?;
    let (w, h) = (options.width, options.height);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(&root, tag, lines, options, true)?;
        root.present().map_err(draw_error)?;
    }
    Ok(runboard_sdk::summary::encode_png(&pixels, w, h, 3)?)
}

/// Registers the embedded font as plotters' `sans-serif`, once per process.
fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

fn draw_error(e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Text for a label: control characters (which SVG cannot hold) become U+FFFD.
fn label_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// A line prepared for drawing: its pieces between gaps, raw and smoothed.
struct Prepared<'a> {
    line: &'a Line,
    raw: Vec<Vec<(f64, f64)>>,
    smoothed: Vec<Vec<(f64, f64)>>,
}

/// Cuts `(step, value)` pairs into runs of drawable points (finite, and positive on a log
/// scale); anything else is a gap.
fn pieces(steps: &[f64], values: &[f64], log_y: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (&x, &y) in steps.iter().zip(values) {
        if y.is_finite() && (!log_y || y > 0.0) {
            current.push((x, y));
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The axis ranges: every step of every line on x; every drawn value on y, padded by 5 %.
fn ranges(prepared: &[Prepared<'_>], log_y: bool) -> (Range<f64>, Range<f64>) {
    let steps = prepared
        .iter()
        .flat_map(|p| p.line.points.iter().map(|pt| pt.step as f64));
    let (x_lo, x_hi) = steps.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let x = if x_lo > x_hi {
        0.0..1.0
    } else if x_lo == x_hi {
        x_lo - 1.0..x_hi + 1.0
    } else {
        x_lo..x_hi
    };
    let values = prepared
        .iter()
        .flat_map(|p| p.raw.iter().chain(&p.smoothed).flatten().map(|xy| xy.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let y = if lo > hi {
        if log_y { 1.0..10.0 } else { 0.0..1.0 }
    } else if log_y {
        let (l, h) = (lo.log10(), hi.log10());
        let pad = if h > l { (h - l) * 0.05 } else { 1.0 };
        10f64.powf(l - pad)..10f64.powf(h + pad)
    } else {
        let pad = if hi > lo {
            (hi - lo) * 0.05
        } else {
            (hi.abs() * 0.1).max(1.0)
        };
        let (l, h) = (lo - pad, hi + pad);
        // Values near f64::MAX: padding would overflow to infinity.
        (if l.is_finite() { l } else { lo })..(if h.is_finite() { h } else { hi })
    };
    (x, y)
}

/// Draws the chart on `root`; `segmented` draws wide lines segment by segment (see [`plot`]).
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    tag: &str,
    lines: &[Line],
    options: &ChartOptions,
    segmented: bool,
) -> Result<(), ChartError> {
    let weight = options.smoothing.filter(|w| *w > 0.0);
    let prepared: Vec<Prepared<'_>> = lines
        .iter()
        .map(|line| {
            let steps: Vec<f64> = line.points.iter().map(|p| p.step as f64).collect();
            let values: Vec<f64> = line.points.iter().map(|p| p.value).collect();
            let smoothed = match weight {
                Some(w) => pieces(&steps, &smooth(&values, w), options.log_y),
                None => Vec::new(),
            };
            Prepared {
                line,
                raw: pieces(&steps, &values, options.log_y),
                smoothed,
            }
        })
        .collect();
    let (x, y) = ranges(&prepared, options.log_y);
    root.fill(&WHITE).map_err(draw_error)?;
    if options.log_y {
        let ticks = log_ticks(y.start, y.end);
        plot(
            root,
            tag,
            &prepared,
            options,
            x,
            y.log_scale().with_key_points(ticks),
            segmented,
        )
    } else {
        plot(root, tag, &prepared, options, x, y, segmented)
    }
}

fn plot<DB, Y>(
    root: &DrawingArea<DB, Shift>,
    tag: &str,
    prepared: &[Prepared<'_>],
    options: &ChartOptions,
    x: Range<f64>,
    y: Y,
    segmented: bool,
) -> Result<(), ChartError>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    // Sizes grow with the chart, more slowly than it: small embeds stay legible.
    let scale = (f64::from(options.width.min(options.height)) / 500.0)
        .sqrt()
        .clamp(0.6, 2.0);
    let px = |v: f64| (v * scale).round() as u32;
    let title = label_text(tag);
    let mut chart = ChartBuilder::on(root)
        .caption(&title, ("sans-serif", px(22.0)))
        .margin(px(10.0))
        .margin_right(px(24.0))
        .x_label_area_size(px(44.0))
        .y_label_area_size(px(76.0))
        .build_cartesian_2d(x, y)
        .map_err(draw_error)?;
    let y_desc = if options.log_y {
        format!("{title} (log scale)")
    } else {
        title.clone()
    };
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(y_desc)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&format_step)
        .y_label_formatter(&format_value)
        .label_style(("sans-serif", px(14.0)))
        .axis_desc_style(("sans-serif", px(15.0)))
        .light_line_style(BLACK.mix(0.04))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(draw_error)?;
    let smoothing = prepared.iter().any(|p| !p.smoothed.is_empty());
    // plotters fills a wide polyline as one polygon, which loses the steep parts of a jagged
    // series (a spike) in the bitmap backend; segment by segment it stays whole. SVG viewers
    // stroke polylines themselves.
    for p in prepared {
        let color = run_color(p.line.color);
        let raw_style = if smoothing {
            color.mix(0.3).stroke_width(1)
        } else {
            color.stroke_width(px(2.0).max(1))
        };
        let line_style = color.stroke_width(px(2.0).max(1));
        for (pieces, style) in [(&p.raw, raw_style), (&p.smoothed, line_style)] {
            for piece in pieces {
                draw_piece(&mut chart, piece, style, segmented)?;
            }
        }
        // One legend entry per run, even when nothing of it could be drawn (all NaN).
        let width = px(20.0) as i32;
        let stroke = px(2.0).max(1);
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
            .map_err(draw_error)?
            .label(label_text(&p.line.run))
            .legend(move |(lx, ly)| {
                PathElement::new(vec![(lx, ly), (lx + width, ly)], color.stroke_width(stroke))
            });
    }
    if !prepared.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", px(14.0)))
            .draw()
            .map_err(draw_error)?;
    }
    Ok(())
}

/// Ticks of a log axis over `[lo, hi]` (both > 0): 1-2-3-5-7 of each decade over a decade or
/// less, 1-2-5 over up to three, powers of ten beyond (every other one, or fewer, past eight),
/// so that a narrow log range still gets several labels.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades = (last - first).max(1);
    let multiples: &[f64] = match decades {
        1 => &[1.0, 2.0, 3.0, 5.0, 7.0],
        2 | 3 => &[1.0, 2.0, 5.0],
        _ => &[1.0],
    };
    let every = (decades / 8).max(1);
    (first..=last)
        .filter(|e| (e - first) % every == 0)
        // Dividing by 10^-e gives the nearest double to 0.3, multiplying by 10^-1 does not.
        .flat_map(|e| {
            multiples.iter().map(move |m| {
                if e >= 0 {
                    m * 10f64.powi(e)
                } else {
                    m / 10f64.powi(-e)
                }
            })
        })
        .filter(|v| (lo..=hi).contains(v))
        .collect()
}

/// Draws one gap-free piece of a line: a polyline (or, `segmented`, each segment on its own),
/// and a dot for a lone point, which a line cannot show.
fn draw_piece<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    piece: &[(f64, f64)],
    style: ShapeStyle,
    segmented: bool,
) -> Result<(), ChartError>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    match piece {
        [] => {}
        [one] => {
            let dot = Circle::new(*one, style.stroke_width.max(2), style.filled());
            chart.draw_series([dot]).map_err(draw_error)?;
        }
        _ if segmented && style.stroke_width > 1 => {
            let segments = piece
                .windows(2)
                .map(|w| PathElement::new(vec![w[0], w[1]], style));
            chart.draw_series(segments).map_err(draw_error)?;
        }
        _ => {
            let line = LineSeries::new(piece.iter().copied(), style);
            chart.draw_series(line).map_err(draw_error)?;
        }
    }
    Ok(())
}

/// A step on the axis: integers, with k/M/G from ten thousand on (`25k`, `1.5M`).
fn format_step(v: &f64) -> String {
    let a = v.abs();
    let (unit, suffix) = if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        return significant(*v, 4);
    };
    format!("{}{suffix}", significant(v / unit, 3))
}

/// A value on the axis: 4 significant digits, exponent notation for very large or small ones.
fn format_value(v: &f64) -> String {
    significant(*v, 4)
}

/// `v` with at most `digits` significant digits, trailing zeros trimmed; `1.5e-7` style
/// outside `[1e-3, 1e6)`.
fn significant(v: f64, digits: usize) -> String {
    fn trim(s: &str) -> &str {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            s
        }
    }
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            v.to_string()
        };
    }
    let a = v.abs();
    let s = if !(1e-3..1e6).contains(&a) {
        let s = format!("{:.*e}", digits.saturating_sub(1), v);
        match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim(m)),
            None => s,
        }
    } else {
        let decimals = (digits as i32 - 1 - a.log10().floor() as i32).max(0) as usize;
        trim(&format!("{v:.decimals$}")).to_owned()
    };
    if s == "-0" { "0".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_colours_are_tableau_then_distinct_hues() {
        assert_eq!(run_color_hex(0), "#1f77b4");
        assert_eq!(run_color_hex(9), "#17becf");
        let sweep: std::collections::BTreeSet<String> = (0..200).map(run_color_hex).collect();
        assert_eq!(sweep.len(), 200, "no two of 200 runs share a colour");
        assert_eq!(run_color_hex(10), run_color_hex(10), "stable");
        assert_eq!(hsl(0.0, 1.0, 0.5), RGBColor(255, 0, 0));
        assert_eq!(hsl(120.0, 1.0, 0.5), RGBColor(0, 255, 0));
        assert_eq!(hsl(240.0, 1.0, 0.5), RGBColor(0, 0, 255));
    }

    #[test]
    fn the_system_run_takes_no_colour_from_training_runs() {
        let with = RunColors::new(["system", "a", "b"]);
        let without = RunColors::new(["a", "b"]);
        for run in ["a", "b"] {
            assert_eq!(with.hex(run), without.hex(run), "{run}");
        }
        assert_eq!(with.hex("a"), "#1f77b4");
        assert_eq!(with.hex("system"), SYSTEM_COLOR);
    }

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
    }

    #[test]
    fn smoothing_matches_tensorboards_debiased_ema() {
        // By hand from TensorBoard's formula, w = 0.6:
        //   n=1: last = 0.4·1 = 0.4,                 0.4 / (1 − 0.6)   = 1
        //   n=2: last = 0.4·0.6 + 0.4·2 = 1.04,      1.04 / (1 − 0.36) = 1.625
        //   n=3: last = 1.04·0.6 + 0.4·3 = 1.824,    1.824 / (1 − 0.216) = 2.326530612244898
        let got = smooth(&[1.0, 2.0, 3.0], 0.6);
        let want = [1.0, 1.625, 1.824 / 0.784];
        assert!(got.iter().zip(want).all(|(a, b)| close(*a, b)), "{got:?}");
    }

    #[test]
    fn smoothing_passes_non_finite_values_through_without_counting_them() {
        // NaN and ±Inf come back as they are and do not advance n:
        //   3 is the 2nd finite value: last = 0.4·0.6 + 0.4·3 = 1.44, 1.44 / 0.64 = 2.25.
        let got = smooth(&[1.0, f64::NAN, f64::INFINITY, 3.0, f64::NEG_INFINITY], 0.6);
        assert!(close(got[0], 1.0) && close(got[3], 2.25), "{got:?}");
        assert!(got[1].is_nan());
        assert_eq!((got[2], got[4]), (f64::INFINITY, f64::NEG_INFINITY));
    }

    #[test]
    fn smoothing_leaves_constant_series_and_weight_zero_alone() {
        assert_eq!(smooth(&[5.0, 5.0, 5.0], 0.9), vec![5.0, 5.0, 5.0]);
        assert_eq!(smooth(&[1.0, 7.0, -2.0], 0.0), vec![1.0, 7.0, -2.0]);
        assert!(smooth(&[], 0.6).is_empty());
        // A weight of 1 is flat at the first value's debiased start: TensorBoard divides by 1.
        assert_eq!(smooth(&[1.0, 2.0], 1.0), vec![0.0, 0.0]);
    }

    #[test]
    fn options_are_validated() {
        assert!(ChartOptions::default().validate().is_ok());
        for (w, h) in [(99, 500), (800, 4097), (0, 0)] {
            let o = ChartOptions {
                width: w,
                height: h,
                ..ChartOptions::default()
            };
            assert!(matches!(o.validate(), Err(ChartError::Size { .. })));
        }
        for s in [1.0, -0.1, f64::NAN] {
            let o = ChartOptions {
                smoothing: Some(s),
                ..ChartOptions::default()
            };
            assert!(matches!(o.validate(), Err(ChartError::Smoothing(_))), "{s}");
        }
    }

    #[test]
    fn gaps_at_values_that_cannot_be_placed() {
        let steps = [0.0, 1.0, 2.0, 3.0, 4.0];
        let values = [1.0, f64::NAN, 2.0, -1.0, 3.0];
        assert_eq!(pieces(&steps, &values, false).len(), 2);
        let log = pieces(&steps, &values, true);
        assert_eq!(
            log,
            vec![vec![(0.0, 1.0)], vec![(2.0, 2.0)], vec![(4.0, 3.0)]]
        );
    }

    #[test]
    fn log_axes_get_several_ticks_even_over_one_decade() {
        assert_eq!(log_ticks(0.0118, 0.106), vec![0.02, 0.05, 0.1]);
        assert_eq!(log_ticks(0.25, 0.9), vec![0.3, 0.5, 0.7]);
        assert_eq!(log_ticks(0.5, 2000.0), vec![1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(
            log_ticks(1.0, 1e40).len(),
            9,
            "every fifth decade: 1e0, 1e5, ... 1e40"
        );
    }

    #[test]
    fn axis_labels_are_short() {
        assert_eq!(format_step(&25_000.0), "25k");
        assert_eq!(format_step(&1_500_000.0), "1.5M");
        assert_eq!(format_step(&3.0), "3");
        assert_eq!(format_step(&2_500.0), "2500");
        assert_eq!(format_value(&0.123456), "0.1235");
        assert_eq!(format_value(&1.5e-7), "1.5e-7");
        assert_eq!(format_value(&-2.0), "-2");
        assert_eq!(format_value(&0.0), "0");
    }

    fn line(run: &str, color: usize, values: &[f64]) -> Line {
        Line {
            run: run.into(),
            color,
            points: values
                .iter()
                .enumerate()
                .map(|(i, &value)| Point {
                    step: i as i64 * 10,
                    wall_time: 1000.0 + i as f64,
                    value,
                })
                .collect(),
        }
    }

    #[test]
    fn svg_names_the_tag_and_every_run_and_escapes_them() {
        let lines = [
            line("a<&>", 0, &[1.0, 2.0, f64::NAN, 3.0]),
            line("b", 1, &[f64::NAN]),
        ];
        let svg = svg("loss/x", &lines, &ChartOptions::default()).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
            .collect();
        for want in ["loss/x", "a<&>", "b", "step"] {
            assert!(texts.iter().any(|t| t == want), "{want} in {texts:?}");
        }
    }

    #[test]
    fn png_has_the_requested_size_and_every_option_draws() {
        let lines = [line("a", 0, &[0.5, 2.0, 30.0, -1.0, 400.0])];
        for (log_y, smoothing) in [(false, None), (true, Some(0.6)), (false, Some(0.9))] {
            let options = ChartOptions {
                width: 321,
                height: 123,
                smoothing,
                log_y,
            };
            let bytes = png("t", &lines, &options).unwrap();
            let reader = ::png::Decoder::new(std::io::Cursor::new(bytes))
                .read_info()
                .unwrap();
            assert_eq!((reader.info().width, reader.info().height), (321, 123));
        }
        // No lines at all, or no drawable value, still gives a chart with its axes.
        png("empty", &[], &ChartOptions::default()).unwrap();
        png(
            "nan",
            &[line("n", 2, &[f64::NAN, f64::INFINITY])],
            &ChartOptions::default(),
        )
        .unwrap();
    }
}
