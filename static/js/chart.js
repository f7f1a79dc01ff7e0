// What every chart on the page shares: numbers formatted for people (values and axis ticks),
// run colours with transparency, uPlot axes with titles and widths that fit their labels,
// lone points drawn as dots, y ranges that survive log scales and ignore outliers, hover
// highlighting, and the tooltip.

import { extent, robustExtent } from './math.js';
import { cssVar } from './util.js';

// ---- numbers ----

const SI = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

/** `1.500` → `1.5`, `2.0` → `2`; `100` stays. */
function trimZeros(s) {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** `8.000e-4` → `8e-4`, `1.50e+6` → `1.5e6`. */
function expText(s) {
  const [m, e] = s.split('e');
  return `${trimZeros(m)}e${Number(e)}`;
}

/**
 * A value for people: `digits` significant digits, no trailing zeros; integers below a million
 * whole; millions and up with an SI suffix (`1.235M`); below 0.001 and from 1e15 in exponent
 * form (`8e-4`, `1.2e18`); non-finite values by name.
 */
export function fmt(v, digits = 4) {
  if (v === undefined || v === null) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-3) return expText(v.toExponential(digits - 1));
  if (a >= 1e6) {
    const [scale, suffix] = SI.find(([s]) => a >= s);
    return `${trimZeros((v / scale).toPrecision(digits))}${suffix}`;
  }
  if (Number.isInteger(v)) return String(v);
  if (a >= 10 ** digits) return String(Math.round(v));
  return trimZeros(v.toPrecision(digits));
}

/** `1 point`, `2 points`, `1,228 points`. */
export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/**
 * Labels for axis ticks at `splits`: each with the fewest digits that still tell it from its
 * neighbours (`0.5`, `1`, `1.5`), in one style per axis: plain, SI from 10,000 (`20k`, `1.5M`),
 * exponents below 0.001 and from 1e15 (`8e-4`). On a log axis every label is exact on its own.
 */
export function tickLabels(splits, log = false) {
  const finite = splits.filter((v) => Number.isFinite(v));
  if (!finite.length) return splits.map(() => '');
  const max = Math.max(...finite.map(Math.abs));
  let step = Infinity;
  for (let i = 1; i < finite.length; i++) {
    const d = Math.abs(finite[i] - finite[i - 1]);
    if (d > 0) step = Math.min(step, d);
  }
  if (!Number.isFinite(step)) step = max || 1;
  return splits.map((v) => {
    if (!Number.isFinite(v)) return '';
    const tol = (log ? Math.abs(v) : step) * 1e-6;
    if (!log && Math.abs(v) <= tol) return '0';
    return tick(v, tol, log ? Math.abs(v) : max);
  });
}

function tick(v, tol, size) {
  if (size >= 1e15 || size < 1e-3) {
    for (let p = 0; p <= 16; p++) {
      const s = v.toExponential(p);
      if (Math.abs(Number(s) - v) <= tol) return expText(s);
    }
    return expText(v.toExponential(16));
  }
  const [scale, suffix] = size >= 1e4 ? SI.find(([s]) => size >= s) : [1, ''];
  for (let d = 0; d <= 16; d++) {
    const s = (v / scale).toFixed(d);
    if (Math.abs(Number(s) * scale - v) <= tol) return `${trimZeros(s)}${suffix}`;
  }
  return String(v);
}

// ---- colours ----

/** `#rrggbb` (a run's colour from the server) with opacity `alpha`. */
export function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  const [r, g, b] = m.slice(1).map((h) => parseInt(h, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

// ---- axes ----

const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
/** The font of tick labels (uPlot draws it; `textWidth` measures it). */
export const AXIS_FONT = `11px ${FONT_FAMILY}`;
const TITLE_FONT = `11px ${FONT_FAMILY}`;
const TITLE_SIZE = 16;
/** uPlot's tick length and gap before a label, and a margin. */
const TICK_ROOM = 10 + 5 + 6;

let measurer = null;
/** The width of `text` in CSS pixels drawn in `font`. */
export function textWidth(text, font = AXIS_FONT) {
  measurer ??= document.createElement('canvas').getContext('2d');
  measurer.font = font;
  return measurer.measureText(text).width;
}

/** `text`, cut with an ellipsis to fit `width` CSS pixels. */
function fitText(text, width, font = TITLE_FONT) {
  if (textWidth(text, font) <= width) return text;
  let s = text;
  while (s.length > 1 && textWidth(`${s}…`, font) > width) s = s.slice(0, -1);
  return `${s}…`;
}

const pxRatio = () => devicePixelRatio || 1;

/** The unit of relative time for a span of `seconds`: [name, seconds per unit]. */
export function relativeUnit(seconds) {
  if (seconds < 2) return ['ms', 0.001];
  if (seconds < 120) return ['s', 1];
  if (seconds < 2 * 3600) return ['min', 60];
  if (seconds < 3 * 86400) return ['h', 3600];
  return ['days', 86400];
}

/** 1, 2 or 5 times a power of ten, at least `x`. */
function niceStep(x) {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const e = 10 ** Math.floor(Math.log10(x));
  const m = x / e;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

const spanOf = (u) => (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);

/** Ticks of relative time (seconds) at round numbers of the unit that fits the shown span. */
function relativeSplits(u, axisIdx, min, max) {
  const [, per] = relativeUnit(max - min);
  const target = Math.max(2, Math.floor(u.bbox.width / pxRatio() / 90));
  const step = niceStep((max - min) / per / target) * per;
  const out = [];
  const first = Math.ceil(min / step);
  for (let i = first; (i * step) <= max + step * 1e-9 && out.length < 100; i++) {
    out.push(Number((i * step).toPrecision(12)));
  }
  return out;
}

/**
 * uPlot axes: x for `x` (`step`, `relative` seconds shown in the unit that fits, `wall` time),
 * y with `yTitle` and labels from `tickLabels` (or `yValues`), each as wide as its labels.
 * `xTitle: false` leaves the x title out (small charts).
 */
export function axes({ x = 'step', xTitle = true, yTitle = null, log = false, yValues = null } = {}) {
  const stroke = cssVar('--muted');
  const grid = { stroke: cssVar('--grid'), width: 1 };
  const base = { stroke, grid, ticks: grid, font: AXIS_FONT, labelFont: TITLE_FONT, labelGap: 0 };
  const xSize = 32; // ticks, a gap and one line of labels
  let xAxis;
  if (x === 'wall') {
    // uPlot's time labels may take two lines (a date under the time).
    xAxis = { ...base, ...(xTitle ? { label: 'wall time', labelSize: TITLE_SIZE } : {}) };
  } else if (x === 'relative') {
    xAxis = {
      ...base,
      size: xSize,
      splits: relativeSplits,
      values: (u, splits) => tickLabels(splits.map((v) => v / relativeUnit(spanOf(u))[1])),
      ...(xTitle ? { label: (u) => `relative (${relativeUnit(spanOf(u))[0]})`, labelSize: TITLE_SIZE } : {}),
    };
  } else {
    xAxis = {
      ...base,
      size: xSize,
      values: (u, splits) => tickLabels(splits),
      ...(xTitle ? { label: 'step', labelSize: TITLE_SIZE } : {}),
    };
  }
  const yAxis = {
    ...base,
    values: yValues || ((u, splits) => tickLabels(splits, log)),
    size: (u, values) => Math.ceil(Math.max(0, ...(values || []).map((s) => textWidth(String(s ?? ''))))) + TICK_ROOM,
    ...(yTitle ? {
      label: (u) => fitText(yTitle, Math.max(40, u.bbox.height / pxRatio() - 8)),
      labelSize: TITLE_SIZE,
    } : {}),
  };
  return [xAxis, yAxis];
}

// ---- lone points ----

/**
 * The indices of `ys` (a uPlot data column: `null` is a gap, `undefined` no point at that x)
 * whose value has no drawn neighbour: a tag's only point, or one between two gaps. A line
 * through them has no length, so they are drawn as dots.
 */
export function loneIndices(ys) {
  const out = [];
  let prev = null; // the previous defined value (null: a gap, or none)
  let pending = -1; // an index waiting to see its next defined neighbour
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v === undefined) continue;
    if (pending >= 0) {
      if (v === null) out.push(pending);
      pending = -1;
    }
    if (v !== null && prev === null) pending = i;
    prev = v;
  }
  if (pending >= 0) out.push(pending);
  return out;
}

/** uPlot `points` options: no markers but the dots of `lone()` (indices), in `color`. */
export function lonePoints(color, lone, size = 7) {
  return {
    show: false,
    size,
    width: 1,
    stroke: color,
    fill: color,
    filter: () => {
      const idx = lone();
      return idx && idx.length ? idx : null;
    },
  };
}

// ---- ranges ----

/** The most decades a log axis spans (below that, values are left out of the chart). */
const MAX_DECADES = 12;
/** uPlot's log ticks run from 1e-32 to 1e32: the axis stays inside. */
const LOG_LIMIT = 30;

/**
 * The y range of a chart of `perRun` (arrays of finite values): on a log scale, from the
 * positive values only, whole decades, at most `MAX_DECADES` of them below the top and inside
 * 1e±30; ignoring outliers, from the bulk of each run's values (see `robustExtent`). Null when
 * nothing can be drawn.
 */
export function yRange(perRun, { log = false, ignoreOutliers = false } = {}) {
  const ext = ignoreOutliers ? robustExtent : extent;
  if (log) {
    const logs = perRun.map((vs) => {
      const out = [];
      for (const v of vs) if (v > 0 && Number.isFinite(v)) out.push(Math.log10(v));
      return out;
    });
    const e = ext(logs);
    if (!e) return null;
    let hi = Math.ceil(e[1] - 1e-9);
    let lo = Math.floor(e[0] + 1e-9);
    if (hi <= lo) { lo -= 1; hi += 1; }
    hi = Math.min(LOG_LIMIT, Math.max(hi, -LOG_LIMIT + 1));
    lo = Math.max(lo, hi - MAX_DECADES, -LOG_LIMIT);
    return [Number(`1e${lo}`), Number(`1e${hi}`)];
  }
  const e = ext(perRun);
  if (!e) return null;
  const [lo, hi] = e;
  if (hi - lo <= Math.abs(hi) * 1e-12) {
    const d = Math.abs(lo) * 0.1 || 1;
    return [lo - d, hi + d];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

/** An x range for uPlot that stays open when every point has the same x. */
export function xRange(u, min, max) {
  if (min === null || max === null) return [0, 1];
  if (min === max) {
    const d = Math.abs(min) * 0.05 || 1;
    return [min - d, max + d];
  }
  return [min, max];
}

// ---- hover ----

/**
 * Draws run `hover`'s series of `u` wider and every other run's faint (`runOf[i]`: the run of
 * series `i`; `widths[i]`: its normal width); all as normal when `hover` is null.
 */
export function highlight(u, runOf, widths, hover) {
  const shown = hover && runOf.includes(hover) ? hover : null;
  for (let i = 1; i < u.series.length; i++) {
    const s = u.series[i];
    const mine = runOf[i] === shown;
    s.alpha = !shown || mine ? 1 : 0.2;
    s.width = (widths[i] ?? 1) * (mine ? 2 : 1);
  }
  u.redraw(false);
}

// ---- tooltip ----

/** Shows the page's tooltip with `children` near (`x`, `y`) in viewport pixels. */
export function showTooltip(children, x, y) {
  const tip = document.getElementById('tooltip');
  tip.replaceChildren(...children);
  tip.hidden = false;
  const w = tip.offsetWidth;
  const left = x + 16;
  tip.style.left = `${left + w > innerWidth ? Math.max(0, x - w - 16) : left}px`;
  tip.style.top = `${Math.max(0, Math.min(y + 16, innerHeight - tip.offsetHeight - 8))}px`;
}

export function hideTooltip() {
  document.getElementById('tooltip').hidden = true;
}
