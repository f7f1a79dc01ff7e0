// The Custom Scalars tab: the layout runs logged (`add_custom_scalars`), merged by the server
// (`/data/plugin/custom_scalars/layout`, TensorBoard's answer), as collapsible categories of
// chart cards. A multiline chart draws one line per shown run and scalar tag one of its regexes
// matches (from the tag's start, as the server and Python's `re.match` do); a margin chart draws
// each run's value line with a translucent band from its lower to its upper series. The points
// come from the page's scalar store (the Scalars tab's overviews, grown live by the stream);
// smoothing, the x axis, log scale and outlier-robust ranges follow the sidebar.
//
//   state.series (a run's `custom_scalars__config__`) ──► GET layout ──► categories ──► cards
//   state.series (scalar tags) × chart regexes ──► tags ──► ScalarStore.load / subscribe ──► uPlot

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { getJson } from './api.js';
import { CardsView, Group, LazyCard } from './cards.js';
import {
  axes, fmt, hideTooltip, highlight, loneIndices, lonePoints, plural, showTooltip, withAlpha, xRange, yRange,
} from './chart.js';
import { pointsPerRun } from './data.js';
import { smooth } from './math.js';
import { el, floorIndex } from './util.js';

/** The tag of a run's layout, and its plugin (`runboard_sdk::event::CUSTOM_SCALARS_LAYOUT_TAG`). */
export const LAYOUT_TAG = 'custom_scalars__config__';
export const LAYOUT_PLUGIN = 'custom_scalars';

const CHART_HEIGHT = 260;
const RAW_WIDTH = 1;
const SMOOTHED_WIDTH = 1.6;
const BOUND_WIDTH = 0.5;
const BAND_ALPHA = 0.16;
/** How near (CSS px) the pointer must be to a line to hover its run. */
const HOVER_PX = 24;
/** A run has one colour everywhere: its tags are told apart by dashes (the legend shows them). */
const DASHES = [null, [6, 3], [2, 3], [10, 3, 2, 3], [14, 5]];
/** How long the layout waits before it is fetched again after a run logged a new one. */
const LAYOUT_REFETCH_MS = 300;

/**
 * A layout's tag regex as the server matches it (`^(?:REGEX)`: from the tag's start, like
 * Python's `re.match`), in JavaScript: `{re}`, or `{error}` for people. Leading inline flags
 * (`(?i)`, which Python and Rust take and JavaScript does not) become the RegExp's flags.
 */
export function tagRegex(src) {
  if (typeof src !== 'string' || src === '') return { error: 'an empty regex matches no tag' };
  let body = src;
  let flags = '';
  const m = /^\(\?([ims]+)\)/.exec(src);
  if (m) {
    body = src.slice(m[0].length);
    flags = [...new Set(m[1])].join('');
  }
  try {
    return { re: new RegExp(`^(?:${body})`, flags) };
  } catch (e) {
    // "Invalid regular expression: /^(?:(a)/: Unterminated group" → its last part.
    return { error: String(e.message).split(': ').pop() };
  }
}

/** The x mode of the charts: the page's, but step when the page draws against another series
 * (that pairing is the Scalars tab's). */
function xModeOf(settings) {
  return ['step', 'relative', 'wall'].includes(settings.x) ? settings.x : 'step';
}

/** A run's x values of `s` in `mode` (relative time counts from the run's start, or from its
 * first point if that is earlier). */
function xsOf(state, run, s, mode) {
  if (mode === 'step') return s.steps;
  if (mode === 'wall') return s.walls;
  const start = Math.min(state.runs.get(run)?.started_at ?? Infinity, s.walls[0]);
  return s.walls.map((w) => w - start);
}

/** A small sample of a line (its colour and dashes), for the legend. */
function lineSample(color, dash) {
  return el('span', {
    class: 'cs-line',
    style: `border-top: 2px ${dash ? 'dashed' : 'solid'} ${color}`,
  });
}

/** One chart of the layout: lazily loaded and drawn like the Scalars tab's cards. */
class CustomScalarCard extends LazyCard {
  /** `chart`: the layout's `{title, multiline: {tag}}` or `{title, margin: {series}}`. */
  constructor(ctx, category, chart) {
    const type = chart.multiline ? 'multiline' : chart.margin ? 'margin' : 'none';
    const regexes = type === 'multiline' ? (chart.multiline.tag || []) : [];
    const margins = type === 'margin' ? (chart.margin.series || []) : [];
    const title = chart.title || regexes.join(', ') || margins.map((s) => s.value).join(', ') || '(untitled)';
    super({ kind: 'custom_scalar', tag: title });
    this.ctx = ctx;
    this.type = type;
    this.regexes = regexes.map((src) => ({ src, ...tagRegex(src) }));
    this.margins = margins.map((s) => ({ value: s.value || '', lower: s.lower || '', upper: s.upper || '' }));
    Object.assign(this.el.dataset, { type, category, chart: chart.title || '' });
    this.el.classList.add('cs-card');
    this.tags = [];
    this.listeners = new Map(); // tag → unsubscribe
    this.u = null;
    this.shape = '';
    this.lines = []; // drawn: {run, s, xs, values (the columns drawn, for the y range), ...}
    this.runOf = [];
    this.widths = [];
    this.lone = [];
    this.zoom = null;
    this.hovering = null;
    this.sync();
  }

  /** The scalar tags of the shown runs it draws from: those a regex matches (multiline), or
   * the margin series' value, lower and upper tags. */
  wantedTags() {
    const named = new Set(this.margins.flatMap((m) => [m.value, m.lower, m.upper]));
    const valid = this.regexes.filter((r) => r.re);
    const wanted = this.type === 'margin' ? (tag) => named.has(tag) : (tag) => valid.some((r) => r.re.test(tag));
    const { state } = this.ctx;
    const shown = new Set(state.chartRuns());
    const tags = new Set();
    for (const s of state.series.values()) {
      if (s.kind !== 'scalar' || !shown.has(s.run) || tags.has(s.tag)) continue;
      if (wanted(s.tag)) tags.add(s.tag);
    }
    return [...tags].sort();
  }

  /** Follows the tags it draws (new series, another selection): new ones are loaded. */
  sync() {
    const tags = this.wantedTags();
    const same = tags.length === this.tags.length && tags.every((t, i) => t === this.tags[i]);
    if (same) { this.schedule(); return; }
    this.tags = tags;
    const { scalars } = this.ctx;
    for (const [tag, off] of this.listeners) {
      if (!tags.includes(tag)) { off(); this.listeners.delete(tag); }
    }
    for (const tag of tags) {
      if (this.listeners.has(tag)) continue;
      this.listeners.set(tag, scalars.subscribe(tag, () => {
        // A resync forgot the tag's points: fetch them again; else new points: draw.
        if (!scalars.entry(tag).loaded) this.invalidate();
        else this.schedule();
      }));
    }
    this.invalidate();
  }

  load() {
    const per = pointsPerRun(this.ctx.state.chartRuns().length);
    return Promise.all(this.tags.map((t) => this.ctx.scalars.load(t, per)));
  }

  /** The run's points of `tag`, if it has any. */
  seriesOf(tag, run) {
    if (!tag) return null;
    const s = this.ctx.scalars.entry(tag).runs.get(run);
    return s?.length ? s : null;
  }

  draw() {
    const invalid = this.regexes.filter((r) => r.error);
    this.el.dataset.invalid = String(invalid.length);
    const above = invalid.length
      ? [el('div', { class: 'card-note cs-invalid' }, invalid.map((r) => el('div', {},
        'Invalid regex ', el('code', { text: r.src }), `: ${r.error}`)))]
      : [];
    if (this.type === 'multiline') this.drawMultiline(above);
    else if (this.type === 'margin') this.drawMargin(above);
    else this.message('This chart has neither tag regexes (multiline) nor series (margin).', above);
  }

  /** One raw and one smoothed line per shown run and matched tag, in the run's colour, dashed
   * per tag. */
  drawMultiline(above) {
    const { state } = this.ctx;
    const { settings } = state;
    const xMode = xModeOf(settings);
    const shownValue = (v) => (!Number.isFinite(v) || (settings.logY && v <= 0) ? null : v);
    const lines = [];
    const tables = [];
    for (const run of state.chartRuns()) {
      this.tags.forEach((tag, k) => {
        const s = this.seriesOf(tag, run);
        if (!s) return;
        const xs = xsOf(state, run, s, xMode);
        const sm = smooth(s.values, settings.smoothing);
        const raw = s.values.map(shownValue);
        lines.push({ run, tag, s, xs, sm, values: [raw, sm], dash: DASHES[k % DASHES.length] });
        tables.push([xs, raw, sm.map(shownValue)]);
      });
    }
    this.lines = lines;
    const points = lines.reduce((n, l) => n + l.s.length, 0);
    Object.assign(this.el.dataset, { lines: String(lines.length), points: String(points) });
    this.footer([plural(lines.length, 'line'), plural(points, 'point')]);
    const legend = this.legend(lines.map((l) => el('span', {
      class: 'cs-key', dataset: { run: l.run, tag: l.tag, points: String(l.s.length) }, title: `${l.run} · ${l.tag}`,
    }, lineSample(state.colorOf(l.run), l.dash), el('span', { text: state.displayName(l.run) }),
    el('span', { class: 'muted', text: l.tag }))));
    if (!lines.length) {
      const valid = this.regexes.filter((r) => r.re).map((r) => r.src);
      this.message(valid.length
        ? `No selected run has a scalar tag that ${valid.length === 1 ? 'this regex matches' : 'these regexes match'}: ${valid.join(', ')}`
        : 'No valid regex: nothing to draw.', above);
      return;
    }
    const series = [{ label: xMode }];
    this.runOf = [null];
    this.widths = [0];
    for (const l of lines) {
      const color = state.colorOf(l.run);
      const rawIdx = series.length;
      series.push({
        label: `${l.run} · ${l.tag} (raw)`, stroke: withAlpha(color, 0.25), width: RAW_WIDTH, alpha: 1,
        ...(l.dash ? { dash: l.dash } : {}), points: lonePoints(withAlpha(color, 0.4), () => this.lone[rawIdx]),
      });
      const smIdx = series.length;
      series.push({
        label: `${l.run} · ${l.tag}`, stroke: color, width: SMOOTHED_WIDTH, alpha: 1,
        ...(l.dash ? { dash: l.dash } : {}), points: lonePoints(color, () => this.lone[smIdx]),
      });
      this.runOf.push(l.run, l.run);
      this.widths.push(RAW_WIDTH, SMOOTHED_WIDTH);
    }
    const shape = ['multiline', lines.map((l) => `${l.run}\u0000${l.tag}`).join('\n'),
      lines.map((l) => state.colorOf(l.run)).join(), xMode, settings.logY, settings.ignoreOutliers, state.theme].join('|');
    this.plot(shape, { series, xMode }, tables, above, legend);
  }

  /** Per shown run and margin series: the value line between a band from lower to upper, each
   * bound taken at the value's step. Not smoothed: the band is what was logged. */
  drawMargin(above) {
    const { state } = this.ctx;
    const { settings } = state;
    const xMode = xModeOf(settings);
    const shownValue = (v) => (!Number.isFinite(v) || (settings.logY && v <= 0) ? null : v);
    const lines = [];
    const tables = [];
    for (const run of state.chartRuns()) {
      this.margins.forEach((m, k) => {
        const s = this.seriesOf(m.value, run);
        if (!s) return;
        const at = (tag) => {
          const b = this.seriesOf(tag, run);
          const byStep = new Map();
          if (b) for (let i = 0; i < b.length; i++) byStep.set(b.steps[i], b.values[i]);
          return s.steps.map((step) => (byStep.has(step) ? byStep.get(step) : null));
        };
        const lower = at(m.lower);
        const upper = at(m.upper);
        let band = 0;
        for (let i = 0; i < s.length; i++) {
          if (Number.isFinite(lower[i]) && Number.isFinite(upper[i])) band++;
        }
        const xs = xsOf(state, run, s, xMode);
        const value = s.values.map(shownValue);
        const lo = lower.map((v) => (v === null ? null : shownValue(v)));
        const hi = upper.map((v) => (v === null ? null : shownValue(v)));
        lines.push({ run, m, s, xs, lower, upper, band, values: [value, lo, hi], dash: DASHES[k % DASHES.length] });
        tables.push([xs, value, lo, hi]);
      });
    }
    this.lines = lines;
    const points = lines.reduce((n, l) => n + l.s.length, 0);
    Object.assign(this.el.dataset, {
      lines: String(lines.length), points: String(points), bands: String(lines.filter((l) => l.band).length),
    });
    this.footer([plural(lines.length, 'line'), plural(points, 'point'), 'band: lower to upper at each step (not smoothed)']);
    const legend = this.legend(lines.map((l) => el('span', {
      class: 'cs-key',
      dataset: { run: l.run, value: l.m.value, lower: l.m.lower, upper: l.m.upper, points: String(l.s.length), band: String(l.band) },
      title: `${l.run} · ${l.m.value} between ${l.m.lower || '–'} and ${l.m.upper || '–'}`,
    }, lineSample(state.colorOf(l.run), l.dash), el('span', { text: state.displayName(l.run) }),
    el('span', { class: 'muted', text: `${l.m.value} [${l.m.lower || '–'}, ${l.m.upper || '–'}]` }))));
    if (!lines.length) {
      this.message(`No selected run has ${this.margins.length === 1 ? 'the value tag' : 'a value tag'}: ${this.margins.map((m) => m.value).join(', ')}`, above);
      return;
    }
    const series = [{ label: xMode }];
    const bands = [];
    this.runOf = [null];
    this.widths = [0];
    for (const l of lines) {
      const color = state.colorOf(l.run);
      const valueIdx = series.length;
      series.push(
        {
          label: `${l.run} · ${l.m.value}`, stroke: color, width: SMOOTHED_WIDTH, alpha: 1,
          ...(l.dash ? { dash: l.dash } : {}), points: lonePoints(color, () => this.lone[valueIdx]),
        },
        { label: `${l.run} · ${l.m.lower}`, stroke: withAlpha(color, 0.35), width: BOUND_WIDTH, alpha: 1, points: { show: false } },
        { label: `${l.run} · ${l.m.upper}`, stroke: withAlpha(color, 0.35), width: BOUND_WIDTH, alpha: 1, points: { show: false } },
      );
      if (l.band) bands.push({ series: [valueIdx + 2, valueIdx + 1], fill: withAlpha(color, BAND_ALPHA) });
      this.runOf.push(l.run, l.run, l.run);
      this.widths.push(SMOOTHED_WIDTH, BOUND_WIDTH, BOUND_WIDTH);
    }
    const shape = ['margin', lines.map((l) => `${l.run}\u0000${l.m.value}\u0000${l.band > 0}`).join('\n'),
      lines.map((l) => state.colorOf(l.run)).join(), xMode, settings.logY, settings.ignoreOutliers, state.theme].join('|');
    this.plot(shape, { series, bands, xMode }, tables, above, legend);
  }

  legend(keys) {
    return el('div', { class: 'cs-legend' }, keys);
  }

  footer(parts) {
    const { settings } = this.ctx.state;
    if (xModeOf(settings) !== settings.x) parts.push('x: step (charts against another series are on the Scalars tab)');
    if (this.zoom) parts.push('zoomed: double-click to reset');
    this.foot.textContent = parts.join(' · ');
  }

  /** Gives the chart its data, or builds it anew when its shape (lines, colours, axes, theme)
   * changed. */
  plot(shape, { series, bands = [], xMode }, tables, above, legend) {
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const kinds = series.map((s) => s.width);
    // Lone points drawn as dots on every line but a band's bounds.
    this.lone = data.map((ys, i) => (i && kinds[i] !== BOUND_WIDTH ? loneIndices(ys) : []));
    if (this.u && shape === this.shape) {
      this.u.setData(data, !this.zoom);
      if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
      this.body.lastElementChild.replaceWith(legend);
      this.setNotes(above);
      return;
    }
    const { settings } = this.ctx.state;
    this.u?.destroy();
    this.shape = shape;
    const box = el('div', { class: 'plot' });
    this.notes = el('div', { class: 'cs-notes' }, above);
    this.body.replaceChildren(this.notes, box, legend);
    const card = this;
    this.u = new uPlot({
      width: Math.max(200, this.body.clientWidth),
      height: CHART_HEIGHT,
      series,
      ...(bands.length ? { bands } : {}),
      legend: { show: false },
      scales: {
        x: { time: xMode === 'wall', range: xRange },
        y: { distr: settings.logY ? 3 : 1, log: 10, range: () => card.yRange() || (settings.logY ? [1, 10] : [0, 1]) },
      },
      axes: axes({ x: xMode, log: settings.logY }),
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        bind: { dblclick: () => () => { card.resetZoom(); return null; } },
      },
      hooks: {
        setSelect: [(u) => card.selected(u)],
        setCursor: [(u) => card.pointerMoved(u)],
      },
    }, data, box);
    this.u.over.addEventListener('mouseleave', () => {
      hideTooltip();
      if (this.hovering) {
        this.hovering = null;
        if (this.ctx.state.hover) this.ctx.state.set({ hover: null });
      }
    });
    if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
    this.applyHover();
  }

  setNotes(above) {
    this.notes?.replaceChildren(...above);
  }

  /** A note in place of the chart. */
  message(text, above = []) {
    this.u?.destroy();
    this.u = null;
    this.shape = '';
    this.lines = [];
    this.notes = null;
    this.body.replaceChildren(...above, el('div', { class: 'loading', text }));
  }

  /** The y range of what is drawn in the x range shown (see chart.js `yRange`). */
  yRange() {
    const { settings } = this.ctx.state;
    const [x0, x1] = this.zoom || [-Infinity, Infinity];
    const perLine = this.lines.map(({ xs, values }) => {
      const out = [];
      for (const vs of values) {
        for (let i = 0; i < vs.length; i++) {
          const v = vs[i];
          if (v !== null && Number.isFinite(v) && xs[i] >= x0 && xs[i] <= x1) out.push(v);
        }
      }
      return out;
    });
    return yRange(perLine, { log: settings.logY, ignoreOutliers: settings.ignoreOutliers });
  }

  selected(u) {
    const { left, width } = u.select;
    if (width < 4) return;
    const min = u.posToVal(left, 'x');
    const max = u.posToVal(left + width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.zoom = [min, max];
    u.setScale('x', { min, max });
    this.schedule();
  }

  resetZoom() {
    this.zoom = null;
    this.shape = '';
    this.schedule();
  }

  /** Highlights the hovered run's lines; a card out of view does it when it comes into view. */
  applyHover() {
    this.hoverStale = !this.visible;
    if (this.u && this.visible) highlight(this.u, this.runOf, this.widths, this.ctx.state.hover);
  }

  setVisible(v) {
    super.setVisible(v);
    if (v && this.hoverStale) this.applyHover();
  }

  /** The tooltip: every line's value at the pointer's x (the last point at or before it), the
   * hovered run's first, then largest first; the run of the line nearest the pointer is hovered. */
  pointerMoved(u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || u.cursor.left < 0) { hideTooltip(); return; }
    const { state } = this.ctx;
    const x = u.data[0][idx];
    const rows = [];
    let near = null;
    let best = HOVER_PX;
    for (const l of this.lines) {
      const i = floorIndex(l.xs, x);
      if (i < 0) continue;
      const v = this.type === 'margin' ? l.s.values[i] : l.sm[i];
      rows.push({ l, i, v });
      if (Number.isFinite(v) && !(state.settings.logY && v <= 0)) {
        const d = Math.abs(u.valToPos(v, 'y') - u.cursor.top);
        if (d < best) { best = d; near = l.run; }
      }
    }
    this.hovering = near;
    if (state.hover !== near) state.set({ hover: near });
    if (!rows.length) { hideTooltip(); return; }
    const key = (r) => (Number.isNaN(r.v) ? -Infinity : r.v);
    rows.sort((a, b) => (b.l.run === near) - (a.l.run === near) || key(b) - key(a)
      || state.runOrder(a.l.run) - state.runOrder(b.l.run));
    const margin = this.type === 'margin';
    const box = u.over.getBoundingClientRect();
    showTooltip([
      el('div', { class: 'muted', text: `${this.tag} · ${margin ? 'value / lower – upper' : 'smoothed / raw'}` }),
      el('table', {}, el('tbody', {}, rows.map(({ l, i, v }) => el('tr', { dataset: { run: l.run }, class: l.run === near ? 'hovered' : null },
        el('td', {}, el('span', { class: 'sw', style: `background:${state.colorOf(l.run)}` })),
        el('td', { text: state.displayName(l.run) }),
        el('td', { class: 'muted', text: margin ? l.m.value : l.tag }),
        el('td', { class: 'v', text: fmt(v) }),
        el('td', { class: 'v muted', text: margin ? `${fmt(l.lower[i] ?? undefined)} – ${fmt(l.upper[i] ?? undefined)}` : fmt(l.s.values[i]) }),
        el('td', { class: 'v muted', text: `step ${l.s.steps[i]}` }))))),
    ], box.left + u.cursor.left, box.top + u.cursor.top);
  }

  resize() {
    if (this.u) this.u.setSize({ width: Math.max(200, this.body.clientWidth), height: CHART_HEIGHT });
  }

  destroy() {
    for (const off of this.listeners.values()) off();
    this.listeners.clear();
    this.u?.destroy();
    super.destroy();
  }
}

/**
 * The Custom Scalars pane. `options.onCount()` is called when the number of charts changed
 * after the layout arrived (the page's tab shows it).
 */
export class CustomScalarsView extends CardsView {
  constructor(ctx, options = {}) {
    super();
    this.ctx = ctx;
    this.onCount = options.onCount || (() => {});
    this.el = el('section', { class: 'pane', dataset: { pane: 'custom_scalars' } });
    /** The layout as the server answered (parsed), null before it came; its text, to tell a
     * change. */
    this.layout = null;
    this.layoutText = '';
    this.fetching = false;
    this.again = false;
    this.refetchTimer = 0;
    /** The runs with a layout when it was last fetched. */
    this.layoutOf = '';
    this.error = null;
    /** Categories people opened or closed: title → open. */
    this.opened = new Map();
    this.groups = [];
    const { state } = ctx;
    state.subscribe(['series'], () => this.sync());
    state.subscribe(['runs', 'selection', 'settings.runFilter'], () => { for (const c of this.cards.values()) c.sync(); });
    state.subscribe(['settings.smoothing', 'settings.x', 'settings.logY', 'settings.ignoreOutliers', 'theme'], () => this.redraw());
    state.subscribe(['hover'], () => { for (const c of this.cards.values()) c.applyHover(); });
    this.render();
  }

  /** The runs that logged a layout. */
  layoutRuns() {
    const out = [];
    for (const s of this.ctx.state.series.values()) {
      if (s.tag === LAYOUT_TAG && (s.plugin === LAYOUT_PLUGIN || (!s.plugin && s.kind === 'tensor'))) out.push(s.run);
    }
    return out;
  }

  /** The charts of the layout; before it came, the runs that logged one (so that the tab shows). */
  count() {
    if (this.layout) return this.cards.size;
    return this.layoutRuns().length;
  }

  /** Series changed: the layout is fetched again when the runs that logged one changed (the
   * first, one more, one deleted); the cards follow the scalar tags. */
  sync() {
    const runs = this.layoutRuns().sort().join('\n');
    if (runs !== this.layoutOf) {
      this.layoutOf = runs;
      this.fetchLayout();
    }
    for (const c of this.cards.values()) c.sync();
  }

  /** A series changed on the server (the stream's `series` event): a run logged a layout again. */
  changed(run, tag) {
    if (tag !== LAYOUT_TAG) return;
    clearTimeout(this.refetchTimer);
    this.refetchTimer = setTimeout(() => this.fetchLayout(), LAYOUT_REFETCH_MS);
  }

  /** The layout is fetched again (after a reconnection). */
  reload() {
    this.fetchLayout();
  }

  /** Fetches the merged layout; a different one than drawn is drawn anew. One fetch at a time
   * (a change meanwhile fetches once more after it). */
  async fetchLayout() {
    if (this.fetching) { this.again = true; return; }
    this.fetching = true;
    try {
      const layout = await getJson('data/plugin/custom_scalars/layout');
      const text = JSON.stringify(layout);
      if (text !== this.layoutText || this.error) {
        this.error = null;
        this.layoutText = text;
        this.layout = layout;
        this.render();
      }
    } catch (e) {
      console.warn('runboard custom scalars layout', e);
      this.error = e.message;
      this.layoutText = '';
      this.render();
    }
    this.fetching = false;
    this.onCount();
    if (this.again) { this.again = false; this.fetchLayout(); }
  }

  /** Builds the categories and their cards from the layout (or says why there are none). */
  render() {
    for (const c of this.cards.values()) c.destroy();
    this.cards.clear();
    this.groups = [];
    const categories = this.layout?.category || [];
    if (this.error) {
      this.el.replaceChildren(el('div', { class: 'empty' }, el('h2', { text: 'Could not load the layout' }),
        el('p', { text: this.error })));
      return;
    }
    if (!categories.length) {
      this.el.replaceChildren(this.layout || !this.layoutOf ? el('div', { class: 'empty cs-empty' },
        el('h2', { text: 'No custom scalars layout' }),
        el('p', {}, 'A layout groups scalar tags into charts of your own: categories of charts, each drawing the tags that its regexes match (',
          el('code', { text: 'multiline' }), ') or a value with a band between a lower and an upper series (', el('code', { text: 'margin' }), ').'),
        el('p', {}, 'Log one once per run with ', el('code', { text: 'writer.add_custom_scalars(&layout)' }),
          ' (the Rust SDK) or ', el('code', { text: 'writer.add_custom_scalars(layout)' }),
          ' (tensorboardX, torch.utils.tensorboard); the layouts of every run are merged here.'))
        : el('div', { class: 'muted', text: 'loading the layout…' }));
      return;
    }
    let n = 0;
    const nodes = categories.map((cat, ci) => {
      const title = cat.title || '';
      const open = this.opened.has(title) ? this.opened.get(title) : !cat.closed;
      const g = new Group(String(ci), title || '(untitled)', open);
      g.el.classList.add('cs-category');
      Object.assign(g.el.dataset, { title, closed: String(!!cat.closed) });
      g.el.addEventListener('toggle', () => this.opened.set(title, g.el.open));
      const charts = cat.chart || [];
      g.count.textContent = String(charts.length);
      for (const chart of charts) {
        const card = new CustomScalarCard(this.ctx, title, chart);
        this.cards.set(String(n++), card);
        g.grid.append(card.el);
      }
      this.groups.push(g);
      return g.el;
    });
    this.el.replaceChildren(...nodes);
  }
}
