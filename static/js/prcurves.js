// The PR Curves tab: one card per tag of the `pr_curves` plugin, grouped by tag prefix like the
// Scalars tab, drawing each shown run's precision–recall curve (x recall, y precision, both 0 to
// 1) at the step the card's slider selects: by default the latest, followed as new steps arrive.
// A run that did not log the selected step draws its last curve before it. Hovering shows, for
// every run, the threshold nearest the pointer on its curve with the precision, recall and the
// TP/FP/TN/FN counts there, in the table under the chart. The curves come from TensorBoard's
// route (`/data/plugin/pr_curves/pr_curves`), fetched again per run when the stream says the
// run logged more.
//
//   state.series (plugin `pr_curves`) ──► tags ──► cards ──► GET pr_curves?run=…&tag= ──► uPlot (mode 2)
//   stream `series` (run, tag) ──► that run's curves refetched ──► slider extends, curves redrawn

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { getJson } from './api.js';
import { CardsView, LazyCard, StepSlider } from './cards.js';
import { axes, fmt, highlight, plural } from './chart.js';
import { el, floorIndex, num } from './util.js';

/** The plugin of the series this tab draws (`runboard_sdk::event::plugin::PR_CURVES`). */
export const PR_PLUGIN = 'pr_curves';

const CHART_HEIGHT = 300;
const LINE_WIDTH = 1.6;
/** The axes run a little past 0 and 1, so that a curve along an edge stays visible. */
const AXIS_RANGE = [-0.02, 1.02];
const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];
/** Curves of at most this many points are drawn with a dot at each. */
const DOTS_UP_TO = 20;
/** How near (CSS px) the pointer must be to a curve to hover its run. */
const HOVER_PX = 24;

/** The columns of the table under the chart: a field of an API entry, its heading, and whether
 * it is a count (shown whole). */
const FIELDS = [
  ['thresholds', 'threshold', false],
  ['precision', 'precision', false],
  ['recall', 'recall', false],
  ['true_positives', 'TP', true],
  ['false_positives', 'FP', true],
  ['true_negatives', 'TN', true],
  ['false_negatives', 'FN', true],
];

/** An API entry with numbers as numbers ("NaN" and infinities as the API writes them). */
function parseEntry(e) {
  const out = { step: e.step, wall_time: num(e.wall_time) };
  for (const [field] of FIELDS) out[field] = (e[field] || []).map(num);
  return out;
}

/** A value drawn: finite, else a gap. */
const drawn = (v) => (Number.isFinite(v) ? v : null);

/** One tag's curves, one per shown run that logged it, with a step slider. */
class PrCurveCard extends LazyCard {
  constructor(ctx, tag) {
    super({ kind: 'pr_curve', tag });
    this.ctx = ctx;
    this.el.classList.add('pr-card');
    /** run → its entries (ascending steps) and their steps, as last fetched. */
    this.data = new Map();
    /** Runs whose curves changed on the server since they were fetched. */
    this.outdated = new Set();
    /** The step chosen with the slider; null follows the latest. */
    this.step = null;
    this.steps = [];
    /** Per curve drawn (uPlot series 1, 2, ...): {run, entry}. */
    this.curves = [];
    this.runOf = [null];
    this.widths = [0];
    this.u = null;
    this.shape = '';
    this.hovering = null;
    this.stepSlider = new StepSlider('pr', () => this.steps, (step) => {
      this.step = step;
      this.schedule();
    });
    this.slider = this.stepSlider.input;
    this.stepLabel = this.stepSlider.label;
    this.plotBox = el('div', { class: 'plot' });
    this.table = el('table', { class: 'pr-values' });
    this.sync();
  }

  /** The shown runs that logged the tag, in start order. */
  runs() {
    const { state } = this.ctx;
    return state.chartRuns().filter((r) => state.series.get(`${r}\u0000${this.tag}`)?.plugin === PR_PLUGIN);
  }

  /** Follows the shown runs: curves not fetched yet are fetched, the rest redrawn. */
  sync() {
    const { state } = this.ctx;
    for (const run of this.data.keys()) {
      if (!state.series.has(`${run}\u0000${this.tag}`)) { this.data.delete(run); this.outdated.delete(run); }
    }
    if (this.runs().some((r) => !this.data.has(r) || this.outdated.has(r))) this.invalidate();
    else this.schedule();
  }

  /** The run logged more curves of the tag: fetched again (now if shown, else when it shows). */
  changed(run) {
    this.outdated.add(run);
    this.invalidate();
  }

  /** Everything is fetched again (after a reconnection). */
  reload() {
    for (const run of this.data.keys()) this.outdated.add(run);
    this.invalidate();
  }

  /** Fetches, in one request, the curves of the shown runs not fetched yet or changed since. */
  async load() {
    const want = this.runs().filter((r) => !this.data.has(r) || this.outdated.has(r));
    if (!want.length) return;
    for (const r of want) this.outdated.delete(r);
    let got;
    try {
      got = await getJson('data/plugin/pr_curves/pr_curves', { run: want, tag: this.tag });
    } catch (e) {
      for (const r of want) this.outdated.add(r);
      throw e;
    }
    for (const [run, entries] of Object.entries(got)) {
      const parsed = entries.map(parseEntry).sort((a, b) => a.step - b.step);
      this.data.set(run, { entries: parsed, steps: parsed.map((e) => e.step) });
    }
  }

  draw() {
    const { state } = this.ctx;
    const runs = this.runs().filter((r) => this.data.has(r));
    const steps = [...new Set(runs.flatMap((r) => this.data.get(r).steps))].sort((a, b) => a - b);
    this.steps = steps;
    this.el.dataset.steps = steps.join(',');
    if (!steps.length) {
      this.showSlider(null);
      this.message(runs.length ? 'No curves logged.' : 'No selected run has this tag.');
      return;
    }
    const at = this.step === null ? steps.length - 1 : Math.max(0, floorIndex(steps, this.step));
    const step = steps[at];
    this.showSlider(at);
    this.curves = runs.map((run) => {
      const d = this.data.get(run);
      const i = floorIndex(d.steps, step);
      return { run, entry: i < 0 ? null : d.entries[i] };
    }).filter((c) => c.entry);
    Object.assign(this.el.dataset, { step: String(step), latest: String(this.step === null), curves: String(this.curves.length) });
    const data = [null, ...this.curves.map(({ entry }) => [entry.recall.map(drawn), entry.precision.map(drawn)])];
    this.runOf = [null, ...this.curves.map((c) => c.run)];
    this.widths = [0, ...this.curves.map(() => LINE_WIDTH)];
    const before = runs.length - this.curves.length;
    this.foot.textContent = [
      plural(this.curves.length, 'curve'),
      ...(before ? [`${plural(before, 'run')} without a curve by step ${step}`] : []),
      'hover for the values at a threshold',
    ].join(' · ');
    this.renderTable(null);
    const shape = [this.runOf.join('\u0000'), this.curves.map((c) => state.colorOf(c.run)).join(), state.theme].join('|');
    if (this.u && shape === this.shape) {
      this.u.setData(data);
      this.applyHover();
      return;
    }
    this.plot(shape, data);
  }

  /** The slider at index `at` of the steps (null: none to choose). */
  showSlider(at) {
    this.stepSlider.show(this.steps, at);
  }

  /** Builds the chart anew (its runs, colours or the theme changed). */
  plot(shape, data) {
    const { state } = this.ctx;
    this.u?.destroy();
    this.shape = shape;
    const [xAxis, yAxis] = axes({ xTitle: false, yTitle: 'precision' });
    const ticks = () => TICKS;
    const card = this;
    this.plotBox.replaceChildren();
    this.body.replaceChildren(
      el('div', { class: 'pr-step' }, this.slider, this.stepLabel),
      this.plotBox,
      this.table,
    );
    this.u = new uPlot({
      mode: 2,
      width: Math.max(200, this.body.clientWidth),
      height: CHART_HEIGHT,
      legend: { show: false },
      series: [{}, ...this.curves.map((c) => ({
        label: c.run,
        stroke: state.colorOf(c.run),
        fill: null,
        width: LINE_WIDTH,
        alpha: 1,
        // Dots on short curves (a one-point curve is only its dot). uPlot draws points in
        // mode 2 only at the indices a filter gives.
        points: {
          show: (u, si) => u.data[si][0].length <= DOTS_UP_TO,
          filter: (u, si, show) => (show ? u.data[si][0].map((_, i) => i) : null),
          size: 6,
          fill: state.colorOf(c.run),
        },
      }))],
      scales: {
        x: { time: false, range: () => AXIS_RANGE },
        y: { range: () => AXIS_RANGE },
      },
      axes: [
        { ...xAxis, splits: ticks, label: 'recall', labelSize: 16 },
        { ...yAxis, splits: ticks },
      ],
      cursor: {
        drag: { x: false, y: false, setScale: false },
        // Each curve's point nearest the pointer (the curves are not sorted by x).
        dataIdx: (u, si) => card.nearest(u, si),
        points: { size: 9, width: 2, fill: (u, si) => state.colorOf(card.runOf[si]), stroke: () => '#ffffff' },
      },
      hooks: { setCursor: [(u) => card.pointerMoved(u)] },
    }, data, this.plotBox);
    this.u.over.addEventListener('mouseleave', () => {
      this.renderTable(null);
      if (this.hovering) {
        this.hovering = null;
        if (this.ctx.state.hover) this.ctx.state.set({ hover: null });
      }
    });
    this.applyHover();
  }

  /** The index of series `si`'s point nearest the pointer (in pixels), or null. */
  nearest(u, si) {
    const [xs, ys] = u.data[si] || [[], []];
    const { left, top } = u.cursor;
    let best = null;
    let bestD = Infinity;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] === null || ys[i] === null) continue;
      const dx = u.valToPos(xs[i], 'x') - left;
      const dy = u.valToPos(ys[i], 'y') - top;
      const d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  /** The pointer moved: the table shows each run's values at its nearest threshold; the run of
   * the curve nearest the pointer is hovered. */
  pointerMoved(u) {
    if (u.cursor.left < 0 || u.cursor.left === undefined) { this.renderTable(null); return; }
    const idxs = u.cursor.idxs || [];
    let near = null;
    let best = HOVER_PX;
    for (let si = 1; si < u.series.length; si++) {
      const i = idxs[si];
      if (i === null || i === undefined) continue;
      const dx = u.valToPos(u.data[si][0][i], 'x') - u.cursor.left;
      const dy = u.valToPos(u.data[si][1][i], 'y') - u.cursor.top;
      const d = Math.hypot(dx, dy);
      if (d < best) { best = d; near = this.runOf[si]; }
    }
    this.renderTable(idxs, near);
    const { state } = this.ctx;
    this.hovering = near;
    if (state.hover !== near) state.set({ hover: near });
  }

  /** The table under the chart: a row per curve (its run, the step it is from) with the values
   * at index `idxs[series]` when hovering, dashes otherwise. Its height does not change with the
   * pointer. */
  renderTable(idxs, near = null) {
    const { state } = this.ctx;
    const head = el('tr', {}, el('th', { colspan: 2, text: 'run' }), el('th', { text: 'step' }),
      FIELDS.map(([, label]) => el('th', { text: label })));
    const rows = this.curves.map(({ run, entry }, k) => {
      const i = idxs ? idxs[k + 1] : null;
      const at = i === null || i === undefined ? null : i;
      return el('tr', {
        class: run === near ? 'pr-row hovered' : 'pr-row',
        dataset: { run, step: String(entry.step), points: String(entry.recall.length), ...(at === null ? {} : { index: String(at) }) },
      },
      el('td', {}, el('span', { class: 'sw', style: `background:${state.colorOf(run)}` })),
      el('td', { class: 'pr-run', text: state.displayName(run), title: run }),
      el('td', { class: 'v', text: String(entry.step) }),
      FIELDS.map(([field, , count]) => {
        const v = at === null ? undefined : entry[field][at];
        return el('td', {
          class: 'v',
          dataset: { field, ...(v === undefined ? {} : { value: String(v) }) },
          text: v === undefined ? '–' : count ? String(v) : fmt(v),
        });
      }));
    });
    this.table.replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
  }

  /** A note in place of the chart. */
  message(text) {
    this.u?.destroy();
    this.u = null;
    this.shape = '';
    this.curves = [];
    Object.assign(this.el.dataset, { curves: '0' });
    this.foot.textContent = '';
    this.body.replaceChildren(el('div', { class: 'loading', text }));
  }

  /** Highlights the hovered run's curve; a card out of view does it when it comes into view. */
  applyHover() {
    this.hoverStale = !this.visible;
    if (this.u && this.visible) highlight(this.u, this.runOf, this.widths, this.ctx.state.hover);
    for (const tr of this.table.querySelectorAll('tr.pr-row')) tr.classList.toggle('hovered', tr.dataset.run === this.ctx.state.hover);
  }

  setVisible(v) {
    super.setVisible(v);
    if (v && this.hoverStale) this.applyHover();
  }

  resize() {
    if (this.u) this.u.setSize({ width: Math.max(200, this.body.clientWidth), height: CHART_HEIGHT });
  }

  destroy() {
    this.u?.destroy();
    super.destroy();
  }
}

/** The PR Curves pane: groups of [`PrCurveCard`]s for the tags the shown runs logged curves of
 * and the tag filter lets through. */
export class PrCurvesView extends CardsView {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.el = el('section', { class: 'pane', dataset: { pane: 'pr_curves' } });
    this.empty = null;
    const { state } = ctx;
    state.subscribe(['runs', 'series', 'selection', 'settings.runFilter', 'settings.tagFilter'], () => this.sync());
    state.subscribe(['runs', 'theme'], () => this.redraw());
    state.subscribe(['hover'], () => { for (const c of this.cards.values()) c.applyHover(); });
    this.sync();
  }

  /** Whether any run logged PR curves. */
  any() {
    for (const s of this.ctx.state.series.values()) if (s.plugin === PR_PLUGIN) return true;
    return false;
  }

  /** The tags of the shown runs' curves that the tag filter lets through. */
  tags() {
    const { state } = this.ctx;
    const shown = new Set(state.chartRuns());
    const tags = new Set();
    for (const s of state.series.values()) {
      if (s.plugin === PR_PLUGIN && shown.has(s.run) && state.tagMatches(s.tag)) tags.add(s.tag);
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
    for (const [tag, card] of this.cards) if (keep.has(tag)) card.sync();
    this.placeByTag(tags, 'pr curves', (tag) => new PrCurveCard(this.ctx, tag));
    this.renderEmpty(!tags.length);
  }

  /** With no card: how to log curves, or that the selection and filters hide them. */
  renderEmpty(none) {
    this.empty?.remove();
    this.empty = null;
    // Before the first lists (or with no runs at all: the page says how to log one) nothing.
    if (!none || !this.ctx.state.runs.size) return;
    this.empty = this.any()
      ? el('div', { class: 'empty pr-empty' }, el('h2', { text: 'No PR curves to show' }),
        el('p', { text: 'No selected run has PR curves whose tag the tag filter lets through.' }))
      : el('div', { class: 'empty pr-empty' }, el('h2', { text: 'No PR curves' }),
        el('p', {}, 'A precision–recall curve shows, at each threshold on a classifier\u2019s scores, the precision and recall it reaches and the true and false positives and negatives behind them.'),
        el('p', {}, 'Log one per step with ', el('code', { text: 'writer.add_pr_curve(tag, &labels, &scores, step, 127)' }),
          ' (the Rust SDK) or ', el('code', { text: 'writer.add_pr_curve(tag, labels, predictions, step)' }),
          ' (torch.utils.tensorboard, tensorboardX).'));
    this.el.prepend(this.empty);
  }

  /** A series changed on the server (the stream's `series` event): its card refetches that run. */
  changed(run, tag) {
    this.cards.get(tag)?.changed(run);
  }

  /** Every card fetches its curves again (after a reconnection). */
  reload() {
    for (const c of this.cards.values()) c.reload();
  }
}
