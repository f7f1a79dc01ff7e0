// The HParams tab's plots, drawn as SVG: parallel coordinates (a vertical axis per
// hyperparameter and metric; dragging along an axis brushes a range, several brushes AND
// together) and the scatter-plot matrix (a small scatter per metric × hyperparameter). Axes are
// numeric (linear, or log for values spanning decades) or categorical (every value a tick).
// Every label is cut with an ellipsis to the room it has (`data-width`), its full text in a
// `<title>`. The plots expose their geometry as data attributes (axis ends, scale, domain), so
// a test can compute what a drag selects.
//
//   view (hparams.js) ── draw({cols, rows, all, brushes}) ──► SVG ── drag ──► onBrush(col, brush)
//                     ── mark(selected), hover(run) ───────► classes and data-selected only

import { AXIS_FONT, textWidth, tickLabels } from './chart.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Axis titles: the tick font, bolder. */
export const TITLE_FONT = `600 ${AXIS_FONT}`;
/** The least vertical room a categorical tick label takes on a parallel axis. */
const CAT_ROW = 16;
/** The least width of a parallel axis's slot (its title's room; half of it its ticks'). */
const MIN_SLOT = 96;
/** A drag shorter than this (pixels) is a click: it clears the axis's brush. */
const CLICK = 3;

/** An SVG element with attributes (null and undefined left out) and children. */
export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

/** `text` cut with an ellipsis to fit `width` pixels in `font` ('' when not even "…" fits). */
export function fitText(text, width, font = AXIS_FONT) {
  if (textWidth(text, font) <= width) return text;
  const chars = [...text];
  let lo = 0;
  let hi = chars.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (textWidth(`${chars.slice(0, mid).join('')}…`, font) <= width) lo = mid; else hi = mid - 1;
  }
  if (lo > 0) return `${chars.slice(0, lo).join('')}…`;
  return textWidth('…', font) <= width ? '…' : '';
}

/** An SVG `<text>` of `full` cut to `width` (kept in `data-width`); its tooltip says `full`
 * when cut, and `tip` (more about it) when given. */
function label(full, width, attrs, font = AXIS_FONT, tip = '') {
  const room = Math.max(0, Math.floor(width) - 1);
  const shown = fitText(full, room, font);
  const t = svg('text', { ...attrs, 'data-width': room, 'data-full': full }, shown);
  t.style.font = font;
  const title = [shown !== full || (tip && tip !== full) ? full : '', tip !== full ? tip : ''].filter(Boolean).join('\n');
  if (title) t.append(svg('title', {}, title));
  return t;
}

/** The key of a categorical value: its text (`true`, `adam`, `4`). */
export function catKey(v) {
  return String(v);
}

/** 1, 2 or 5 times a power of ten, at least `x`. */
function niceStep(x) {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const e = 10 ** Math.floor(Math.log10(x));
  const m = x / e;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

/** The values of `step` between `lo` and `hi`. */
function multiples(lo, hi, step) {
  const out = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9 && out.length < 50; i++) {
    out.push(Number((i * step).toPrecision(12)));
  }
  return out;
}

/** About `n` round values between `lo` and `hi` (at least three when a round step gives them). */
function linearTicks(lo, hi, n) {
  let step = niceStep((hi - lo) / Math.max(1, n));
  let out = multiples(lo, hi, step);
  while (out.length < 3 && step > (hi - lo) / 10) {
    const e = 10 ** Math.floor(Math.log10(step) + 1e-9);
    const m = Math.round(step / e);
    step = m === 1 ? e / 2 : m === 2 ? e : 2 * e;
    out = multiples(lo, hi, step);
  }
  return out;
}

/** Powers of ten between `lo` and `hi` (> 0), with 2× and 5× when fewer than three fit. */
function logTicks(lo, hi) {
  const out = [];
  const first = Math.floor(Math.log10(lo));
  const last = Math.ceil(Math.log10(hi));
  for (const mults of [[1], [1, 2, 5]]) {
    out.length = 0;
    for (let e = first; e <= last; e++) {
      for (const m of mults) {
        const v = Number(`${m}e${e}`);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    if (out.length >= 3) break;
  }
  return out;
}

/**
 * The scale of a column from pixel `a` (its low end) to `b` (its high end), over `values` (the
 * column's values of every session the tab shows, so filters do not move the axes):
 * - categorical columns (`col.numeric` false): `col.categories` in order, each in the middle of
 *   its band, every one a tick;
 * - numbers from the smallest to the largest finite value, log when all are positive and span
 *   two decades or more (learning rates), else linear; about one tick per `tickRoom` pixels.
 * `pos(v)` is null for a value the axis cannot show (missing, NaN, ±Inf, not a category).
 */
export function scaleOf(col, values, a, b, tickRoom = 45) {
  if (!col.numeric) {
    const cats = col.categories;
    const index = new Map(cats.map((c, i) => [c, i]));
    const at = (i) => a + ((i + 0.5) / Math.max(1, cats.length)) * (b - a);
    return {
      kind: 'cat',
      cats,
      pos: (v) => (v === undefined || v === null ? null : (index.has(catKey(v)) ? at(index.get(catKey(v))) : null)),
      ticks: cats.map((c, i) => ({ key: c, label: c, at: at(i) })),
    };
  }
  const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  const log = lo > 0 && hi / lo >= 100;
  if (!log && hi - lo <= Math.abs(hi) * 1e-12) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const f = log ? Math.log10 : (v) => v;
  const [flo, fhi] = [f(lo), f(hi)];
  const pos = (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (log && v <= 0)) return null;
    return a + ((f(v) - flo) / (fhi - flo)) * (b - a);
  };
  const invert = (px) => {
    const t = flo + ((px - a) / (b - a)) * (fhi - flo);
    return log ? 10 ** t : t;
  };
  const splits = log ? logTicks(lo, hi) : linearTicks(lo, hi, Math.max(3, Math.floor(Math.abs(b - a) / tickRoom)));
  const labels = tickLabels(splits, log);
  return {
    kind: log ? 'log' : 'linear',
    lo,
    hi,
    pos,
    invert,
    ticks: splits.map((v, i) => ({ key: String(v), label: labels[i], at: pos(v) })),
  };
}

/** The data attributes of a scale: what a test needs to compute positions and ranges. */
function scaleData(scale, a, b) {
  const out = { 'data-scale': scale.kind, 'data-from': a, 'data-to': b };
  if (scale.kind !== 'cat') Object.assign(out, { 'data-lo': scale.lo, 'data-hi': scale.hi });
  return out;
}

/** Whether `row`'s value `v` of a column lies in `brush` (`{lo, hi}` or `{values}`). */
export function inBrush(brush, v) {
  if (v === undefined || v === null) return false;
  if (brush.values) return brush.values.has(catKey(v));
  return typeof v === 'number' && Number.isFinite(v) && v >= brush.lo && v <= brush.hi;
}

/** Ends the hover when the pointer is on `root` but off every `selector` (an element redrawn
 * under the pointer never says it was left), or leaves `root`. */
function leaveOff(root, selector, onHover) {
  root.addEventListener('pointermove', (e) => { if (!e.target.closest?.(selector)) onHover(null); });
  root.addEventListener('pointerleave', () => onHover(null));
}

// ---- parallel coordinates ----

/**
 * Parallel coordinates: `draw` lays out an axis per column and a line per row (sessions that
 * pass the tab's filters) in its run's colour; lines break where a value is missing. Dragging
 * along an axis calls `onBrush(colId, brush)` (`{lo, hi}` for numbers, `{values}` for
 * categories) as the range grows, a click without a drag `onBrush(colId, null)`.
 */
export class ParallelPlot {
  constructor({ onBrush, onHover }) {
    this.onBrush = onBrush;
    this.onHover = onHover;
    this.el = svg('svg', { class: 'hp-parallel', role: 'img', 'aria-label': 'Parallel coordinates' });
    this.axes = [];
    leaveOff(this.el, '.hp-line', onHover);
  }

  /**
   * Draws `rows` over `cols` at `width` pixels; `all` (every shown session) fixes the scales;
   * `brushes`: Map col id → brush; `colorOf(run)`: a run's colour.
   */
  draw({ cols, rows, all, width, brushes, colorOf }) {
    const margin = 8;
    const maxCats = Math.max(0, ...cols.map((c) => (c.numeric ? 0 : c.categories.length)));
    const top = 34;
    const height = Math.max(340, top + 16 + maxCats * CAT_ROW);
    const bottom = height - 16;
    // Below MIN_SLOT pixels an axis has no room for its ticks: the plot gets wider and scrolls.
    const slot = cols.length ? Math.max(MIN_SLOT, (width - 2 * margin) / cols.length) : 0;
    const w = Math.max(width, 2 * margin + slot * cols.length);
    this.el.setAttribute('width', w);
    this.el.setAttribute('height', height);
    this.el.setAttribute('viewBox', `0 0 ${w} ${height}`);
    this.el.dataset.slot = String(slot);
    this.axes = cols.map((col, i) => {
      const x = margin + slot * (i + 0.5);
      const scale = scaleOf(col, all.map((r) => r.values[col.id]), bottom, top);
      return { col, x, scale, top, bottom };
    });
    const lines = svg('g', { class: 'hp-lines' });
    for (const row of rows) {
      let d = '';
      let pen = false;
      let lone = null;
      for (const { col, x, scale } of this.axes) {
        const y = scale.pos(row.values[col.id]);
        if (y === null) { if (lone) d += 'l0 0'; pen = false; lone = null; continue; }
        d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
        lone = pen ? null : [x, y];
        pen = true;
      }
      if (lone) d += 'l0 0'; // a lone point: a dot (round caps)
      const g = svg('g', { class: 'hp-line', 'data-run': row.run, 'data-selected': '1' },
        svg('path', { class: 'hp-line-hit', d }),
        svg('path', { class: 'hp-line-path', d, stroke: colorOf(row.run) }));
      g.addEventListener('pointerenter', (e) => this.onHover(row.run, e, row));
      g.addEventListener('pointermove', (e) => this.onHover(row.run, e, row));
      g.addEventListener('pointerleave', () => this.onHover(null));
      lines.append(g);
    }
    const axisLayer = svg('g', { class: 'hp-axes' });
    const brushLayer = svg('g', { class: 'hp-brushes' });
    this.axes.forEach((axis, i) => {
      const { col, x, scale } = axis;
      const g = svg('g', {
        class: 'hp-axis',
        'data-col': col.id,
        'data-kind': col.kind,
        'data-name': col.name,
        'data-x': x,
        'data-top': top,
        'data-bottom': bottom,
        'data-index': i,
        ...scaleData(scale, bottom, top),
      });
      g.append(svg('line', { class: 'hp-axis-line', x1: x, x2: x, y1: top, y2: bottom }));
      g.append(label(col.label, slot - 8, { class: 'hp-axis-title', x, y: 14, 'text-anchor': 'middle' }, TITLE_FONT, col.title));
      const tickRoom = slot / 2 - 10;
      for (const t of scale.ticks) {
        if (t.at === null) continue;
        g.append(svg('line', { class: 'hp-tick-mark', x1: x - 4, x2: x, y1: t.at, y2: t.at }));
        g.append(label(t.label, tickRoom, {
          class: 'hp-tick', x: x - 6, y: t.at, dy: '0.32em', 'text-anchor': 'end', 'data-value': t.key, 'data-right': x - 6,
        }));
      }
      axisLayer.append(g);
      const rect = svg('rect', { class: 'hp-brush', x: x - 8, width: 16, y: top, height: 0, hidden: '' });
      const area = svg('rect', {
        class: 'hp-brush-area', 'data-col': col.id, x: x - 12, width: 24, y: top - 6, height: bottom - top + 12,
      });
      axis.rect = rect;
      this.showBrush(axis, brushes.get(col.id));
      this.bindBrush(axis, area, top, bottom);
      brushLayer.append(rect, area);
    });
    this.el.replaceChildren(lines, axisLayer, brushLayer);
    this.lines = lines;
  }

  /** Draws `brush` on `axis` (hidden when null): a numeric brush over its values' range, a
   * categorical one over its categories' bands (the dragged span while it holds none). */
  showBrush(axis, brush) {
    const { rect, scale, top, bottom } = axis;
    if (!brush) {
      rect.setAttribute('hidden', '');
      rect.setAttribute('height', '0');
      delete rect.dataset.lo;
      delete rect.dataset.hi;
      return;
    }
    let y0 = brush.y0;
    let y1 = brush.y1;
    if (brush.values) {
      const ys = scale.ticks.filter((t) => brush.values.has(t.key)).map((t) => t.at);
      const band = Math.abs(bottom - top) / Math.max(1, scale.ticks.length) / 2;
      if (ys.length) [y0, y1] = [Math.min(...ys) - band, Math.max(...ys) + band];
    } else {
      y0 = scale.pos(brush.hi) ?? y0;
      y1 = scale.pos(brush.lo) ?? y1;
    }
    const clamp = (y) => Math.max(top, Math.min(bottom, y));
    const [a, b] = [clamp(Math.min(y0, y1)), clamp(Math.max(y0, y1))];
    rect.removeAttribute('hidden');
    rect.setAttribute('y', a);
    rect.setAttribute('height', Math.max(1, b - a));
    if (!brush.values) {
      rect.dataset.lo = String(brush.lo);
      rect.dataset.hi = String(brush.hi);
    }
  }

  /** Dragging on `area` brushes the axis's range; a click without a drag clears it. */
  bindBrush(axis, area, top, bottom) {
    const y = (e) => Math.max(top, Math.min(bottom, e.clientY - this.el.getBoundingClientRect().top));
    let start = null;
    let moved = false;
    const brushOf = (y0, y1) => {
      const [a, b] = [Math.min(y0, y1), Math.max(y0, y1)];
      if (axis.scale.kind === 'cat') {
        return { values: new Set(axis.scale.ticks.filter((t) => t.at >= a && t.at <= b).map((t) => t.key)), y0: a, y1: b };
      }
      // a is the upper end on screen: the larger value.
      return { lo: axis.scale.invert(b), hi: axis.scale.invert(a), y0: a, y1: b };
    };
    area.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      area.setPointerCapture(e.pointerId);
      start = y(e);
      moved = false;
    });
    area.addEventListener('pointermove', (e) => {
      if (start === null) return;
      const now = y(e);
      if (!moved && Math.abs(now - start) < CLICK) return;
      moved = true;
      const brush = brushOf(start, now);
      this.showBrush(axis, brush);
      this.onBrush(axis.col.id, brush);
    });
    const end = (e) => {
      if (start === null) return;
      const now = y(e);
      if (moved || Math.abs(now - start) >= CLICK) {
        const brush = brushOf(start, now);
        this.showBrush(axis, brush);
        this.onBrush(axis.col.id, brush);
      } else {
        this.showBrush(axis, null);
        this.onBrush(axis.col.id, null);
      }
      start = null;
    };
    area.addEventListener('pointerup', end);
    area.addEventListener('pointercancel', () => { start = null; });
  }

  /** Marks the lines of `selected` runs (all when null), those on top. */
  mark(selected) {
    if (!this.lines) return;
    const on = [];
    for (const g of [...this.lines.children]) {
      const yes = !selected || selected.has(g.dataset.run);
      g.dataset.selected = yes ? '1' : '0';
      if (yes) on.push(g);
    }
    if (selected) this.lines.append(...on);
  }

  /** Draws `run`'s line wide and on top. */
  hover(run) {
    if (!this.lines) return;
    for (const g of this.lines.children) {
      const mine = g.dataset.run === run;
      g.classList.toggle('hovered', mine);
      if (mine) this.lines.append(g);
    }
  }
}

// ---- scatter-plot matrix ----

/**
 * The scatter-plot matrix: a row per metric, a column per hyperparameter; each cell plots the
 * rows that have both values (metric up, hyperparameter across, categories at their band's
 * middle), a dot per session in its run's colour. Scales come from `all`, as on the parallel
 * axes. Hovering a dot calls `onHover(run, event, row)`.
 */
export class ScatterMatrix {
  constructor({ onHover }) {
    this.onHover = onHover;
    this.el = svg('svg', { class: 'hp-scatter', role: 'img', 'aria-label': 'Scatter plot matrix' });
    this.points = null;
    leaveOff(this.el, '.hp-point', onHover);
  }

  draw({ hcols, mcols, rows, all, width, colorOf }) {
    const left = Math.max(90, Math.min(180, width * 0.16));
    const yTicks = 36; // the room of a row's tick labels, right of its title
    const head = 20;
    const foot = 18;
    const right = 12; // room for the last tick label's right half
    const cw = hcols.length ? Math.max(90, Math.min(200, (width - left - right) / hcols.length)) : 0;
    const ch = Math.max(80, Math.min(150, cw * 0.75));
    const w = left + cw * hcols.length + right;
    const h = head + ch * mcols.length + foot;
    this.el.setAttribute('width', w);
    this.el.setAttribute('height', h);
    this.el.setAttribute('viewBox', `0 0 ${w} ${h}`);
    const pad = 6;
    const layer = svg('g', { class: 'hp-cells' });
    const labels = svg('g', { class: 'hp-scatter-labels' });
    const xScales = hcols.map((c, j) => {
      const x0 = left + j * cw;
      return scaleOf(c, all.map((r) => r.values[c.id]), x0 + pad, x0 + cw - pad, 50);
    });
    hcols.forEach((c, j) => {
      const x0 = left + j * cw;
      labels.append(label(c.label, cw - 8, { class: 'hp-col-title', x: x0 + cw / 2, y: 13, 'text-anchor': 'middle', 'data-col': c.id },
        TITLE_FONT, c.title));
      // Ticks under the last row.
      const ticks = xScales[j].ticks.filter((k) => k.at !== null);
      const room = ticks.length > 1 ? Math.abs(ticks[1].at - ticks[0].at) - 4 : cw - 8;
      for (const k of ticks) {
        labels.append(label(k.label, room, {
          class: 'hp-tick hp-x-tick', x: k.at, y: head + ch * mcols.length + 13, 'text-anchor': 'middle', 'data-value': k.key,
        }));
      }
    });
    mcols.forEach((m, i) => {
      const y0 = head + i * ch;
      const ys = scaleOf(m, all.map((r) => r.values[m.id]), y0 + ch - pad, y0 + pad, 35);
      labels.append(label(m.label, left - yTicks - 8, { class: 'hp-row-title', x: 4, y: y0 + ch / 2, dy: '0.32em', 'data-col': m.id },
        TITLE_FONT, m.title));
      for (const k of ys.ticks) {
        if (k.at === null) continue;
        labels.append(label(k.label, yTicks, {
          class: 'hp-tick hp-y-tick', x: left - 4, y: k.at, dy: '0.32em', 'text-anchor': 'end', 'data-value': k.key,
        }));
      }
      hcols.forEach((c, j) => {
        const x0 = left + j * cw;
        const xs = xScales[j];
        const cell = svg('g', {
          class: 'hp-cell', 'data-hparam': c.name, 'data-hcol': c.id, 'data-metric': m.id, 'data-tag': m.tag, 'data-group': m.group,
          ...Object.fromEntries(Object.entries(scaleData(xs, x0 + pad, x0 + cw - pad)).map(([k, v]) => [k.replace('data-', 'data-x-'), v])),
          ...Object.fromEntries(Object.entries(scaleData(ys, y0 + ch - pad, y0 + pad)).map(([k, v]) => [k.replace('data-', 'data-y-'), v])),
        });
        cell.append(svg('rect', { class: 'hp-cell-frame', x: x0 + 2, y: y0 + 2, width: cw - 4, height: ch - 4 }));
        let n = 0;
        for (const row of rows) {
          const px = xs.pos(row.values[c.id]);
          const py = ys.pos(row.values[m.id]);
          if (px === null || py === null) continue;
          n++;
          const dot = svg('circle', { class: 'hp-point', cx: px.toFixed(1), cy: py.toFixed(1), r: 3.5, fill: colorOf(row.run), 'data-run': row.run, 'data-selected': '1' });
          dot.addEventListener('pointerenter', (e) => this.onHover(row.run, e, row));
          dot.addEventListener('pointerleave', () => this.onHover(null));
          cell.append(dot);
        }
        cell.dataset.points = String(n);
        layer.append(cell);
      });
    });
    this.el.replaceChildren(layer, labels);
    this.points = layer;
  }

  /** Marks the dots of `selected` runs (all when null). */
  mark(selected) {
    for (const p of this.points?.querySelectorAll('.hp-point') || []) p.dataset.selected = !selected || selected.has(p.dataset.run) ? '1' : '0';
  }

  hover(run) {
    for (const p of this.points?.querySelectorAll('.hp-point') || []) {
      const mine = p.dataset.run === run;
      p.classList.toggle('hovered', mine);
      if (mine) p.parentNode.append(p);
    }
  }
}
