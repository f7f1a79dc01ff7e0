// The scalars view: one chart per tag with every shown run overlaid, grouped by tag prefix.
// Smoothed lines over faint raw ones, step / relative / wall-time axes, log scale, outlier-robust
// ranges, lone points as dots, drag-to-zoom with finer data fetched for the range, a tooltip of
// every run's value (sorted by value), and the hovered run highlighted in every chart.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { getJson } from './api.js';
import { CardsView, Group, LazyCard, groupOf } from './cards.js';
import {
  axes, fmt, hideTooltip, highlight, loneIndices, lonePoints, plural, showTooltip, withAlpha, xRange, yRange,
} from './chart.js';
import { Series, pointsPerRun } from './data.js';
import { smooth } from './math.js';
import { cssVar, download, el, fileName, floorIndex } from './util.js';

/** Points per run fetched for a zoomed range. */
const ZOOM_POINTS = 2000;
const CHART_HEIGHT = 260;
const RAW_WIDTH = 1;
const SMOOTHED_WIDTH = 1.6;
/** How near (CSS px) the pointer must be to a line to hover its run. */
const HOVER_PX = 24;

export class ScalarCard extends LazyCard {
  constructor(ctx, tag) {
    super({
      kind: 'scalar',
      tag,
      actions: [
        el('button', { type: 'button', text: 'CSV', title: 'Download every point as CSV', onclick: () => this.downloadData('csv') }),
        el('button', { type: 'button', text: 'JSON', title: 'Download every point as JSON', onclick: () => this.downloadData('json') }),
        el('button', { type: 'button', text: 'PNG', title: 'Download the chart as PNG', onclick: () => this.downloadPng() }),
        el('button', { type: 'button', text: '⤢', title: 'Wide', onclick: () => { this.el.classList.toggle('wide'); this.resize(); } }),
      ],
    });
    this.ctx = ctx;
    this.u = null;
    this.shape = '';
    this.zoom = null; // [min, max] of x while zoomed
    this.zoomData = null; // Map run → Series for the zoomed step range
    this.shown = []; // per run: {run, s, xs, sm, raw}
    this.lone = []; // per uPlot series: the indices drawn as dots
    this.runOf = []; // per uPlot series: its run
    this.widths = []; // per uPlot series: its line width
    this.hovering = null; // the run this chart's pointer hovers
    this.unsubscribe = ctx.scalars.subscribe(tag, () => {
      if (!ctx.scalars.entry(tag).loaded && this.visible) this.refresh();
      else this.schedule();
    });
  }

  load() {
    return this.ctx.scalars.load(this.tag, pointsPerRun(this.ctx.state.chartRuns().length));
  }

  /** Rebuilds the chart when what it shows changed shape (runs, axes, colours, theme); else
   * gives it the new data. */
  draw() {
    const { state } = this.ctx;
    const { settings } = state;
    const source = this.zoomData || this.ctx.scalars.entry(this.tag).runs;
    const runs = state.chartRuns().filter((r) => source.get(r)?.length);
    const entry = this.ctx.scalars.entry(this.tag);
    const want = pointsPerRun(runs.length);
    if (!this.zoomData && entry.loaded && !entry.loading && entry.maxPoints < want / 2) {
      this.ctx.scalars.reload(this.tag, want); // fewer runs shown: fetch more detail
    }
    const xMode = settings.x;
    const tables = [];
    this.shown = [];
    let nonFinite = 0;
    let points = 0;
    let drawable = 0;
    const shownValue = (v) => (!Number.isFinite(v) || (settings.logY && v <= 0) ? null : v);
    for (const run of runs) {
      const s = source.get(run);
      // Relative time counts from the run's start, or from its first point if that is earlier.
      const start = Math.min(state.runs.get(run)?.started_at ?? Infinity, s.walls[0]);
      const xs = xMode === 'step' ? s.steps
        : xMode === 'wall' ? s.walls
          : s.walls.map((w) => w - start);
      const sm = smooth(s.values, settings.smoothing);
      const raw = s.values.map(shownValue);
      for (let i = 0; i < s.length; i++) {
        if (!Number.isFinite(s.values[i])) nonFinite++;
        if (raw[i] !== null) drawable++;
      }
      points += s.length;
      this.shown.push({ run, s, xs, sm, raw });
      tables.push([xs, raw, sm.map(shownValue)]);
    }
    this.footer(runs.length, points, nonFinite);
    if (!runs.length) {
      this.message('No selected run has this tag.');
      return;
    }
    if (!drawable) {
      this.message(nonFinite === points
        ? `${points === 1 ? 'Its only value is' : `All ${plural(points, 'value')} are`} NaN or ±Inf: nothing to draw.`
        : 'No value is above 0: nothing to draw on a log scale.');
      return;
    }
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    this.lone = data.map((ys, i) => (i ? loneIndices(ys) : []));
    const colors = runs.map((r) => state.colorOf(r));
    const shape = [runs.join('\n'), colors.join(), xMode, settings.logY, settings.ignoreOutliers, state.theme].join('|');
    if (this.u && shape === this.shape) {
      this.u.setData(data, !this.zoom);
      if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
      return;
    }
    this.u?.destroy();
    this.shape = shape;
    const plot = el('div', { class: 'plot' });
    this.body.replaceChildren(plot);
    const series = [{ label: xMode }];
    this.runOf = [null];
    this.widths = [0];
    runs.forEach((run, k) => {
      const color = colors[k];
      const rawIdx = series.length;
      series.push({
        label: `${run} (raw)`, stroke: withAlpha(color, 0.25), width: RAW_WIDTH, alpha: 1,
        points: lonePoints(withAlpha(color, 0.4), () => this.lone[rawIdx]),
      });
      const smoothedIdx = series.length;
      series.push({
        label: run, stroke: color, width: SMOOTHED_WIDTH, alpha: 1,
        points: lonePoints(color, () => this.lone[smoothedIdx]),
      });
      this.runOf.push(run, run);
      this.widths.push(RAW_WIDTH, SMOOTHED_WIDTH);
    });
    const card = this;
    this.u = new uPlot({
      width: Math.max(200, this.body.clientWidth),
      height: CHART_HEIGHT,
      series,
      legend: { show: false },
      scales: {
        x: { time: xMode === 'wall', range: xRange },
        y: {
          distr: settings.logY ? 3 : 1,
          log: 10,
          range: () => card.yRange() || (settings.logY ? [1, 10] : [0, 1]),
        },
      },
      axes: axes({ x: xMode, yTitle: this.tag, log: settings.logY }),
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        bind: {
          dblclick: () => () => { card.resetZoom(); return null; },
        },
      },
      hooks: {
        setSelect: [(u) => card.selected(u)],
        setCursor: [(u) => card.pointerMoved(u)],
      },
    }, data, plot);
    this.u.over.addEventListener('mouseleave', () => {
      hideTooltip();
      if (this.hovering) {
        this.hovering = null;
        if (state.hover) state.set({ hover: null });
      }
    });
    if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
    this.applyHover();
  }

  /** A note in place of the chart. */
  message(text) {
    this.u?.destroy();
    this.u = null;
    this.shape = '';
    this.body.replaceChildren(el('div', { class: 'loading', text }));
  }

  /** The y range of the lines (raw and smoothed, as drawn) in the x range shown, as `yRange`
   * makes it. (TensorBoard's ignores the raw lines, and so clips the raw line of a smooth
   * series at its crests.) */
  yRange() {
    const { settings } = this.ctx.state;
    const [x0, x1] = this.zoom || [-Infinity, Infinity];
    const perRun = this.shown.map(({ xs, sm, raw }) => {
      const out = [];
      const take = (vs) => {
        for (let i = 0; i < vs.length; i++) {
          const v = vs[i];
          if (v !== null && Number.isFinite(v) && xs[i] >= x0 && xs[i] <= x1) out.push(v);
        }
      };
      take(sm);
      take(raw);
      return out;
    });
    return yRange(perRun, { log: settings.logY, ignoreOutliers: settings.ignoreOutliers });
  }

  /** Highlights the hovered run's lines (the state's `hover`); a card out of view does it when
   * it comes into view. */
  applyHover() {
    this.hoverStale = !this.visible;
    if (this.u && this.visible) highlight(this.u, this.runOf, this.widths, this.ctx.state.hover);
  }

  setVisible(v) {
    super.setVisible(v);
    if (v && this.hoverStale) this.applyHover();
  }

  footer(runs, points, hidden) {
    const parts = [plural(runs, 'run'), `${plural(points, 'point')}${this.zoomData ? ' in range' : ''}`];
    if (hidden) parts.push(`${hidden} NaN/Inf not drawn`);
    if (this.zoom) parts.push('zoomed: double-click to reset');
    this.foot.textContent = parts.join(' · ');
  }

  /** A drag selected an x range: zoom to it, and fetch finer data for it (step axis). */
  selected(u) {
    const { left, width } = u.select;
    if (width < 4) return;
    const min = u.posToVal(left, 'x');
    const max = u.posToVal(left + width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.zoomTo(min, max);
  }

  zoomTo(min, max) {
    this.zoom = [min, max];
    this.u?.setScale('x', { min, max });
    if (this.ctx.state.settings.x !== 'step') return;
    const want = this.zoom;
    getJson('api/v1/tag_scalars', {
      tag: this.tag,
      start_step: Math.floor(min),
      end_step: Math.ceil(max),
      max_points: Math.min(ZOOM_POINTS, 2 * pointsPerRun(this.shown.length)),
    }).then((body) => {
      if (this.zoom !== want) return; // zoomed elsewhere meanwhile
      this.zoomData = new Map(body.runs.map((r) => [r.run, Series.from(r.points)]));
      this.schedule();
    }).catch((e) => console.warn('runboard zoom', e));
  }

  resetZoom() {
    this.zoom = null;
    this.zoomData = null;
    this.shape = '';
    this.schedule();
  }

  /**
   * The pointer moved over the chart: the run whose line is nearest (within `HOVER_PX`) becomes
   * the hovered run, and the tooltip lists every run's smoothed and raw value at the pointer's
   * x, the hovered run first, then by value (largest first), as TensorBoard sorts it.
   */
  pointerMoved(u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || u.cursor.left < 0) { hideTooltip(); return; }
    const { state } = this.ctx;
    const x = u.data[0][idx];
    const rows = [];
    let near = null;
    let best = HOVER_PX;
    for (const { run, s, xs, sm } of this.shown) {
      const i = floorIndex(xs, x);
      if (i < 0) continue;
      const v = sm[i];
      rows.push({ run, s, i, v });
      if (Number.isFinite(v) && !(state.settings.logY && v <= 0)) {
        const d = Math.abs(u.valToPos(v, 'y') - u.cursor.top);
        if (d < best) { best = d; near = run; }
      }
    }
    this.hovering = near;
    if (state.hover !== near) state.set({ hover: near });
    if (!rows.length) { hideTooltip(); return; }
    const key = (r) => (Number.isNaN(r.v) ? -Infinity : r.v);
    rows.sort((a, b) => (b.run === near) - (a.run === near) || key(b) - key(a) || state.runOrder(a.run) - state.runOrder(b.run));
    const box = u.over.getBoundingClientRect();
    showTooltip([
      el('div', { class: 'muted', text: `${this.tag} · smoothed / raw` }),
      el('table', {}, el('tbody', {}, rows.map(({ run, s, i, v }) => el('tr', { dataset: { run }, class: run === near ? 'hovered' : null },
        el('td', {}, el('span', { class: 'sw', style: `background:${state.colorOf(run)}` })),
        el('td', { text: run }),
        el('td', { class: 'v', text: fmt(v) }),
        el('td', { class: 'v muted', text: fmt(s.values[i]) }),
        el('td', { class: 'v muted', text: `step ${s.steps[i]}` }))))),
    ], box.left + u.cursor.left, box.top + u.cursor.top);
  }

  resize() {
    if (this.u) this.u.setSize({ width: Math.max(200, this.body.clientWidth), height: CHART_HEIGHT });
  }

  /** Every point (not the drawn overview) of each shown run, as CSV or JSON. */
  async downloadData(format) {
    const runs = this.ctx.state.chartRuns().filter((r) => this.ctx.scalars.entry(this.tag).runs.has(r));
    const all = await Promise.all(runs.map((run) =>
      getJson('api/v1/scalars', { run, tag: this.tag }).then((b) => ({ run, points: b.points }))));
    const name = fileName(this.tag);
    if (format === 'json') {
      download(`${name}.json`, new Blob([JSON.stringify({ tag: this.tag, runs: all })], { type: 'application/json' }));
      return;
    }
    const q = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const lines = ['run,tag,step,wall_time,value'];
    for (const { run, points } of all) {
      for (const [step, wall, value] of points) lines.push(`${q(run)},${q(this.tag)},${step},${wall},${value}`);
    }
    download(`${name}.csv`, new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }));
  }

  /** The chart as drawn, on the theme's background, with the tag and a legend. */
  downloadPng() {
    if (!this.u) return;
    const src = this.u.ctx.canvas;
    const dpr = devicePixelRatio || 1;
    const legend = this.shown.map((s) => s.run);
    const rowH = 18 * dpr;
    const out = document.createElement('canvas');
    out.width = src.width;
    out.height = src.height + 28 * dpr + rowH * legend.length;
    const g = out.getContext('2d');
    g.fillStyle = cssVar('--panel') || '#fff';
    g.fillRect(0, 0, out.width, out.height);
    g.fillStyle = cssVar('--fg') || '#000';
    g.font = `${14 * dpr}px sans-serif`;
    g.fillText(this.tag, 8 * dpr, 18 * dpr);
    g.drawImage(src, 0, 28 * dpr);
    legend.forEach((run, i) => {
      const y = src.height + 28 * dpr + i * rowH;
      g.fillStyle = this.ctx.state.colorOf(run);
      g.fillRect(8 * dpr, y + 4 * dpr, 12 * dpr, 10 * dpr);
      g.fillStyle = cssVar('--fg') || '#000';
      g.fillText(run, 26 * dpr, y + 14 * dpr);
    });
    out.toBlob((b) => b && download(`${fileName(this.tag)}.png`, b), 'image/png');
  }

  destroy() {
    this.unsubscribe();
    this.u?.destroy();
    super.destroy();
  }
}

/** The scalars pane: groups of [`ScalarCard`]s for the tags that a shown run has and the
 * tag filter lets through. */
export class ScalarsView extends CardsView {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.el = el('section', { class: 'pane', dataset: { pane: 'scalars' } });
    this.groups = new Map();
    const { state } = ctx;
    state.subscribe(['runs', 'series', 'selection', 'settings.tagFilter', 'settings.runFilter'], () => this.sync());
    // A chart rebuilds itself when its shape changed (runs, colours, axes, theme).
    state.subscribe(['runs', 'selection', 'settings.runFilter', 'settings.smoothing', 'settings.logY',
      'settings.ignoreOutliers', 'theme'], () => this.redraw());
    state.subscribe(['settings.x'], () => {
      for (const c of this.cards.values()) { c.zoom = null; c.zoomData = null; }
      this.redraw(true);
    });
    state.subscribe(['hover'], () => { for (const c of this.cards.values()) c.applyHover(); });
  }

  /** The scalar tags shown: those of the shown runs, but not GPU series (the system pane's). */
  tags() {
    const { state } = this.ctx;
    const shown = new Set(state.chartRuns());
    const tags = new Set();
    for (const s of state.series.values()) {
      if (s.kind !== 'scalar' || !shown.has(s.run) || s.tag.startsWith('system/gpu.')) continue;
      if (state.tagMatches(s.tag)) tags.add(s.tag);
    }
    return [...tags].sort();
  }

  count() {
    return this.cards.size;
  }

  /** Adds and removes cards to match the series, the shown runs and the tag filter. */
  sync() {
    const tags = this.tags();
    const keep = new Set(tags);
    for (const [tag, card] of this.cards) {
      if (!keep.has(tag)) { card.destroy(); this.cards.delete(tag); }
    }
    for (const tag of tags) {
      if (this.cards.has(tag)) continue;
      const name = groupOf(tag);
      let g = this.groups.get(name);
      if (!g) {
        g = new Group(name, name || 'scalars', true);
        this.groups.set(name, g);
      }
      const card = new ScalarCard(this.ctx, tag);
      this.cards.set(tag, card);
      // Keep cards in tag order within the group.
      const after = [...g.grid.children].find((c) => c.dataset.tag > tag);
      g.grid.insertBefore(card.el, after || null);
    }
    const names = [...this.groups.keys()].sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
    for (const name of names) {
      const g = this.groups.get(name);
      const n = g.grid.children.length;
      g.count.textContent = String(n);
      if (!n) { g.el.remove(); this.groups.delete(name); continue; }
      this.el.append(g.el);
    }
  }
}
