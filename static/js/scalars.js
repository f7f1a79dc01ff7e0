// The scalars view: one chart per tag with every shown run overlaid, grouped by tag prefix.
// Smoothed lines over faint raw ones, step / relative / wall-time axes, log scale, outlier-robust
// ranges, lone points as dots, drag-to-zoom with finer data fetched for the range, a tooltip of
// every run's value (sorted by value), and the hovered run highlighted in every chart.
// With groups on (js/groups.js), a chart draws each group's mean and band as the server computes
// them, its runs faintly behind; against another series (js/xaxis.js), value over that series.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { getJson } from './api.js';
import { CardsView, LazyCard } from './cards.js';
import {
  axes, fmt, hideTooltip, highlight, loneIndices, lonePoints, plural, showTooltip, withAlpha, xRange, yRange,
} from './chart.js';
import { Series, pointsPerRun } from './data.js';
import { groupColor, groupQuery, groupingLabel, groupingOn } from './groups.js';
import { smooth } from './math.js';
import { cssVar, download, el, fileName, floorIndex, num } from './util.js';
import { fillXOptions, scalarTags, xLabel, xModeOf, xTagOf } from './xaxis.js';

/** Points per run fetched for a zoomed range. */
const ZOOM_POINTS = 2000;
const CHART_HEIGHT = 260;
const RAW_WIDTH = 1;
const SMOOTHED_WIDTH = 1.6;
/** How near (CSS px) the pointer must be to a line to hover its run. */
const HOVER_PX = 24;
/** The least time between two fetches of a chart's groups (or paired points) while new points
 * arrive. */
const REFETCH_MS = 1000;
const MEAN_WIDTH = 2;
const BAND_ALPHA = 0.16;
const MEMBER_ALPHA = 0.22;

/** What a scalar card shows: which runs, and whether it draws groups. */
const DEFAULT_OPTIONS = { runs: null, grouping: true };

export class ScalarCard extends LazyCard {
  /** `options.runs()`: the runs it draws (default: the page's shown runs); `options.grouping`:
   * whether it draws groups when the page groups runs. */
  constructor(ctx, tag, options = {}) {
    const xSelect = el('select', { class: 'card-x', title: 'Horizontal axis of this chart' });
    super({
      kind: 'scalar',
      tag,
      actions: [
        xSelect,
        el('button', { type: 'button', text: 'CSV', title: 'Download every point as CSV', onclick: () => this.downloadData('csv') }),
        el('button', { type: 'button', text: 'JSON', title: 'Download every point as JSON', onclick: () => this.downloadData('json') }),
        el('button', { type: 'button', text: 'PNG', title: 'Download the chart as PNG', onclick: () => this.downloadPng() }),
        el('button', { type: 'button', text: '⤢', title: 'Wide', onclick: () => { this.el.classList.toggle('wide'); this.resize(); } }),
      ],
    });
    this.ctx = ctx;
    this.options = { ...DEFAULT_OPTIONS, ...options };
    this.xSelect = xSelect;
    this.xTags = null; // the series the selector lists
    xSelect.addEventListener('change', () => this.setX(xSelect.value));
    this.u = null;
    this.shape = '';
    this.plotKind = 'runs'; // what the chart draws: `runs`, `groups`, or `xseries` (against a series)
    this.extra = null; // {key, body} or {key, error}: groups or paired points fetched for this chart
    this.extraWanted = null; // the key last asked for
    this.extraStale = false; // new points arrived since `extra` was fetched
    this.extraFetching = false; // a fetch of `extraWanted` runs
    this.extraAt = -Infinity; // when the last fetch ended
    this.extraTimer = 0;
    this.info = []; // per uPlot series: {kind: runs|raw|smoothed|member|low|high|mean, run, group}
    this.groups = []; // groups drawn: {key, runs, color, steps, mean, low, high, n}
    this.omitted = []; // runs not drawn against the x series (they have none)
    this.xWatch = null; // [x tag, unsubscribe]
    this.zoom = null; // [min, max] of x while zoomed
    this.zoomData = null; // Map run → Series for the zoomed step range
    this.shown = []; // per run: {run, s, xs, sm, raw}
    this.lone = []; // per uPlot series: the indices drawn as dots
    this.runOf = []; // per uPlot series: its run
    this.widths = []; // per uPlot series: its line width
    this.hovering = null; // the run this chart's pointer hovers
    this.unsubscribe = ctx.scalars.subscribe(tag, () => {
      this.extraStale = true;
      if (!ctx.scalars.entry(tag).loaded && this.visible) this.refresh();
      else this.schedule();
    });
  }

  /** The runs this chart may draw. */
  runs() {
    return this.options.runs ? this.options.runs() : this.ctx.state.chartRuns();
  }

  /** Its x mode: `step`, `relative`, `wall` or `tag:TAG` (its own, else the page's). */
  xMode() {
    return xModeOf(this.ctx.state.settings, this.tag);
  }

  /** Gives this chart its own x axis (`''`: the page's). */
  setX(mode) {
    const { state } = this.ctx;
    const cardX = { ...state.settings.cardX };
    if (mode && mode !== state.settings.x) cardX[this.tag] = mode;
    else delete cardX[this.tag];
    state.setting('cardX', Object.freeze(cardX));
  }

  /** What it draws now: groups, runs against another series, or runs. */
  mode() {
    if (this.options.grouping && groupingOn(this.ctx.state.settings)) return 'groups';
    return xTagOf(this.xMode()) !== null ? 'xseries' : 'runs';
  }

  load() {
    return this.ctx.scalars.load(this.tag, pointsPerRun(this.runs().length));
  }

  /** Lists the series of the shown runs in the chart's x selector (when they changed). */
  fillX() {
    const tags = scalarTags(this.ctx.state, this.runs()).filter((t) => t !== this.tag);
    const own = this.ctx.state.settings.cardX[this.tag] ?? '';
    const sig = `${tags.join('\n')}\u0000${own}\u0000${this.ctx.state.settings.x}`;
    if (sig === this.xTags) return;
    this.xTags = sig;
    fillXOptions(this.xSelect, tags, own, { inherit: `x: ${xLabel(this.ctx.state.settings.x)} (all)`, short: true });
  }

  /**
   * Data fetched for this chart beyond the tag's overview (the groups, or points paired with an
   * x series), named by `key`: `{key, body}` or `{key, error}` once fetched, null while the
   * first fetch of `key` runs. When new points arrived, the data is fetched again, at most once
   * per `REFETCH_MS`; the last data is drawn meanwhile.
   */
  want(key, fetcher) {
    const have = this.extra?.key === key ? this.extra : null;
    if (have && !this.extraStale) return have;
    if (this.extraWanted === key && this.extraFetching) return have;
    const wait = this.extraAt + REFETCH_MS - performance.now();
    if (have && wait > 0) {
      if (!this.extraTimer) this.extraTimer = setTimeout(() => { this.extraTimer = 0; this.schedule(); }, wait);
      return have;
    }
    this.extraWanted = key;
    this.extraStale = false;
    this.extraFetching = true;
    fetcher().then((body) => ({ key, body }), (error) => ({ key, error })).then((got) => {
      if (this.extraWanted !== key) return; // asked for something else meanwhile
      this.extraFetching = false;
      this.extraAt = performance.now();
      this.extra = got;
      this.schedule();
    });
    return have;
  }

  /** While drawn against series `tag` (null: not), its new points refetch the pairs: the
   * overview of `tag` is loaded so that the store tells of them. */
  watchX(tag) {
    if (this.xWatch?.[0] === tag) return;
    this.xWatch?.[1]();
    this.xWatch = null;
    if (tag === null) return;
    const { scalars } = this.ctx;
    this.xWatch = [tag, scalars.subscribe(tag, () => { this.extraStale = true; this.schedule(); })];
    scalars.load(tag).catch(() => {});
  }

  /** Draws what the settings ask for (see `mode`). */
  draw() {
    this.fillX();
    const mode = this.mode();
    if (mode !== this.plotKind) {
      this.plotKind = mode;
      this.zoom = null;
      this.zoomData = null;
      this.shape = '';
    }
    this.el.dataset.mode = mode;
    this.watchX(mode === 'xseries' ? xTagOf(this.xMode()) : null);
    if (mode === 'groups') this.drawGroups();
    else if (mode === 'xseries') this.drawAgainst(xTagOf(this.xMode()));
    else this.drawRuns();
  }

  /** Every shown run's raw and smoothed line. Rebuilds the chart when what it shows changed
   * shape (runs, axes, colours, theme); else gives it the new data. */
  drawRuns() {
    const { state } = this.ctx;
    const { settings } = state;
    const source = this.zoomData || this.ctx.scalars.entry(this.tag).runs;
    const runs = this.runs().filter((r) => source.get(r)?.length);
    const entry = this.ctx.scalars.entry(this.tag);
    const want = pointsPerRun(runs.length);
    if (!this.zoomData && entry.loaded && !entry.loading && entry.maxPoints < want / 2) {
      this.ctx.scalars.reload(this.tag, want); // fewer runs shown: fetch more detail
    }
    const xMode = this.xMode();
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
    const shape = ['runs', runs.join('\n'), colors.join(), xMode, settings.logY, settings.ignoreOutliers, state.theme].join('|');
    if (this.u && shape === this.shape) {
      this.u.setData(data, !this.zoom);
      if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
      return;
    }
    const series = [{ label: xMode }];
    this.runOf = [null];
    this.widths = [0];
    this.info = [{ kind: 'x' }];
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
      this.info.push({ kind: 'raw', run }, { kind: 'smoothed', run });
    });
    this.build(shape, { series, axes: axes({ x: xMode, yTitle: this.tag, log: settings.logY }), time: xMode === 'wall' }, data);
  }

  /** A new uPlot chart of `series` and `data` (`opts`: `axes`, `time`, `bands`, `mode` 2 for
   * per-series x values), with the card's zoom, hover and tooltip, in place of the last. */
  build(shape, opts, data, above = [], below = []) {
    const { state } = this.ctx;
    const { settings } = state;
    this.u?.destroy();
    this.shape = shape;
    const plot = el('div', { class: 'plot' });
    this.body.replaceChildren(...above, plot, ...below);
    const card = this;
    const facets = opts.mode === 2;
    if (facets) {
      for (const s of opts.series.slice(1)) {
        s.facets = [{ scale: 'x', auto: true }, { scale: 'y', auto: true }];
      }
    }
    this.u = new uPlot({
      ...(facets ? { mode: 2 } : {}),
      width: Math.max(200, this.body.clientWidth),
      height: CHART_HEIGHT,
      series: opts.series,
      ...(opts.bands ? { bands: opts.bands } : {}),
      legend: { show: false },
      scales: {
        x: { time: !!opts.time, range: xRange, ...(facets ? { auto: true, ori: 0, dir: 1 } : {}) },
        y: {
          distr: settings.logY ? 3 : 1,
          log: 10,
          range: () => card.yRange() || (settings.logY ? [1, 10] : [0, 1]),
          ...(facets ? { auto: true, ori: 1, dir: 1 } : {}),
        },
      },
      axes: opts.axes,
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        // Per-series x values: the tooltip finds the points itself (`pointerMoved`).
        ...(facets ? { dataIdx: () => null } : {}),
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

  /**
   * The groups (`/api/v1/group_scalars` over the shown runs): per group, the server's mean
   * (unsmoothed: each point is exact) between its band, in the group's colour; with
   * `groupRuns`, its runs' raw lines faintly behind. Always against the step: the server
   * aligns runs by step.
   */
  drawGroups() {
    const { state } = this.ctx;
    const { settings } = state;
    const shown = this.runs();
    const store = this.ctx.scalars.entry(this.tag).runs;
    if (!shown.some((r) => store.get(r)?.length)) {
      this.groups = [];
      this.footer(0, 0, 0);
      this.message('No selected run has this tag.');
      return;
    }
    const q = groupQuery(settings, this.tag, state.runNames(), shown);
    if (q.error) { this.message(q.error); return; }
    const key = `groups\u0000${JSON.stringify(q.params)}`;
    const got = this.want(key, () => getJson('api/v1/group_scalars', q.params));
    if (!got) {
      if (this.shape.split('|')[0] !== 'groups') this.message('loading groups…');
      return;
    }
    if (got.error) { this.message(`Could not load the groups: ${got.error.message}`); return; }
    const shownValue = (v) => (!Number.isFinite(v) || (settings.logY && v <= 0) ? null : v);
    const inShown = new Set(shown);
    this.groups = got.body.groups.map((g, i) => ({
      key: g.key,
      runs: g.runs,
      color: groupColor(i),
      steps: g.points.map((p) => p[0]),
      mean: g.points.map((p) => num(p[1])),
      low: g.points.map((p) => num(p[2])),
      high: g.points.map((p) => num(p[3])),
      n: g.points.map((p) => p[4]),
    }));
    const drawn = this.groups.filter((g) => g.steps.length);
    const members = [];
    if (settings.groupRuns) {
      for (const g of drawn) {
        for (const run of g.runs) {
          const s = store.get(run);
          if (inShown.has(run) && s?.length) members.push({ run, group: g, s });
        }
      }
    }
    const runCount = new Set(this.groups.flatMap((g) => g.runs)).size;
    const parts = [plural(this.groups.length, 'group'), plural(runCount, 'run'), `by ${groupingLabel(settings)}`,
      settings.band === 'minmax' ? 'band: min to max' : 'band: ± 1 std'];
    if (this.xMode() !== 'step') parts.push('against step (groups are aligned by step)');
    const strangers = this.groups.flatMap((g) => g.runs).filter((r) => !inShown.has(r));
    if (strangers.length) parts.push(`also grouped: ${[...new Set(strangers)].join(', ')}`);
    if (this.zoom) parts.push('zoomed: double-click to reset');
    this.foot.textContent = parts.join(' · ');
    if (!drawn.length) {
      this.message('No group has a finite value of this tag.');
      return;
    }
    const tables = [];
    const series = [{ label: 'step' }];
    this.runOf = [null];
    this.widths = [0];
    this.info = [{ kind: 'x' }];
    for (const { run, group, s } of members) {
      tables.push([s.steps, s.values.map(shownValue)]);
      series.push({ label: run, stroke: withAlpha(group.color, MEMBER_ALPHA), width: RAW_WIDTH, alpha: 1 });
      this.runOf.push(run);
      this.widths.push(RAW_WIDTH);
      this.info.push({ kind: 'member', run, group: group.key });
    }
    const bands = [];
    for (const g of drawn) {
      tables.push([g.steps, g.low.map(shownValue), g.high.map(shownValue), g.mean.map(shownValue)]);
      const low = series.length;
      series.push({ label: `${g.key} low`, stroke: withAlpha(g.color, 0.35), width: 0.5, alpha: 1 },
        { label: `${g.key} high`, stroke: withAlpha(g.color, 0.35), width: 0.5, alpha: 1 });
      const meanIdx = series.length;
      series.push({
        label: `${g.key} mean`, stroke: g.color, width: MEAN_WIDTH, alpha: 1,
        points: lonePoints(g.color, () => this.lone[meanIdx]),
      });
      bands.push({ series: [low + 1, low], fill: withAlpha(g.color, BAND_ALPHA) });
      this.runOf.push(null, null, null);
      this.widths.push(0.5, 0.5, MEAN_WIDTH);
      this.info.push({ kind: 'low', group: g.key }, { kind: 'high', group: g.key }, { kind: 'mean', group: g.key });
    }
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    this.lone = data.map((ys, i) => (i && this.info[i].kind === 'mean' ? loneIndices(ys) : []));
    this.groupLines = [...members.map(({ s }) => ({ xs: s.steps, ys: [s.values] })),
      ...drawn.map((g) => ({ xs: g.steps, ys: [g.mean, g.low, g.high] }))];
    const shape = ['groups', key, settings.groupRuns, members.map((m) => `${m.group.key}\u0000${m.run}`).join('\n'),
      drawn.map((g) => g.key).join('\n'), settings.logY, settings.ignoreOutliers, state.theme].join('|');
    if (this.u && shape === this.shape) {
      this.u.setData(data, !this.zoom);
      if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
      return;
    }
    const legend = el('div', { class: 'group-legend' }, this.groups.map((g) => el('span', {
      class: 'group-key', title: g.runs.join('\n'),
    }, el('span', { class: 'sw', style: `background:${g.color}` }), el('span', { text: g.key === '' ? '(all)' : g.key }),
    el('span', { class: 'muted', text: ` ${g.runs.length}` }))));
    this.build(shape, { series, bands, axes: axes({ x: 'step', yTitle: this.tag, log: settings.logY }) }, data, [], [legend]);
  }

  /**
   * Every shown run's value against its series `xTag` (each point paired by step on the
   * server: the x series' value at the point's step, or the latest before), smoothed and raw.
   * Runs without `xTag` are named above the chart.
   */
  drawAgainst(xTag) {
    const { state } = this.ctx;
    const { settings } = state;
    const shown = this.runs();
    const store = this.ctx.scalars.entry(this.tag).runs;
    const withTag = shown.filter((r) => store.get(r)?.length);
    const maxPoints = pointsPerRun(withTag.length);
    const key = `xseries\u0000${xTag}\u0000${maxPoints}`;
    const got = this.want(key, () => getJson('api/v1/tag_scalars', { tag: this.tag, x: xTag, max_points: maxPoints }));
    if (!got) {
      if (this.shape.split('|')[0] !== `xseries:${xTag}`) this.message(`loading ${this.tag} against ${xTag}…`);
      return;
    }
    if (got.error) { this.message(`Could not load ${this.tag} against ${xTag}: ${got.error.message}`); return; }
    const byRun = new Map(got.body.runs.map((r) => [r.run, r]));
    const runs = withTag.filter((r) => byRun.get(r)?.points.length);
    this.omitted = withTag.filter((r) => !byRun.has(r));
    const shownValue = (v) => (!Number.isFinite(v) || (settings.logY && v <= 0) ? null : v);
    const data = [null];
    this.shown = [];
    let nonFinite = 0;
    let points = 0;
    let drawable = 0;
    for (const run of runs) {
      const r = byRun.get(run);
      const s = Series.from(r.points);
      const xs = r.x.map(num);
      const sm = smooth(s.values, settings.smoothing);
      const raw = s.values.map((v, i) => (Number.isFinite(xs[i]) ? shownValue(v) : null));
      for (let i = 0; i < s.length; i++) {
        if (!Number.isFinite(s.values[i])) nonFinite++;
        if (raw[i] !== null) drawable++;
      }
      points += s.length;
      this.shown.push({ run, s, xs, sm, raw });
      data.push([xs, raw], [xs, sm.map((v, i) => (Number.isFinite(xs[i]) ? shownValue(v) : null))]);
    }
    const note = this.omitted.length
      ? el('div', { class: 'card-note', dataset: { omitted: String(this.omitted.length) } },
        `Not drawn: ${plural(this.omitted.length, 'run has', 'runs have')} no series ${xTag}: `,
        el('span', { class: 'runs', text: this.omitted.join(', ') }))
      : null;
    const parts = [plural(runs.length, 'run'), plural(points, 'point'), `x: ${xTag} (paired by step)`];
    if (nonFinite) parts.push(`${nonFinite} NaN/Inf not drawn`);
    if (this.zoom) parts.push('zoomed: double-click to reset');
    this.foot.textContent = parts.join(' · ');
    if (!runs.length) {
      this.message(withTag.length ? `No shown run has a series ${xTag} to draw ${this.tag} against.` : 'No selected run has this tag.');
      if (note) this.body.prepend(note);
      return;
    }
    if (!drawable) {
      this.message('Nothing to draw: every value is NaN or ±Inf (or not above 0 on a log scale).');
      return;
    }
    this.lone = data.map((d, i) => (i ? loneIndices(d[1]) : []));
    const colors = runs.map((r) => state.colorOf(r));
    const shape = [`xseries:${xTag}`, runs.join('\n'), this.omitted.join('\n'), colors.join(), settings.logY,
      settings.ignoreOutliers, state.theme].join('|');
    if (this.u && shape === this.shape) {
      this.u.setData(data, !this.zoom);
      if (this.zoom) this.u.setScale('x', { min: this.zoom[0], max: this.zoom[1] });
      return;
    }
    const series = [{}];
    this.runOf = [null];
    this.widths = [0];
    this.info = [{ kind: 'x' }];
    runs.forEach((run, k) => {
      const color = colors[k];
      const rawIdx = series.length;
      series.push({
        label: `${run} (raw)`, stroke: withAlpha(color, 0.25), width: RAW_WIDTH, alpha: 1,
        paths: uPlot.paths.linear(), points: lonePoints(withAlpha(color, 0.4), () => this.lone[rawIdx]),
      });
      const smoothedIdx = series.length;
      series.push({
        label: run, stroke: color, width: SMOOTHED_WIDTH, alpha: 1,
        paths: uPlot.paths.linear(), points: lonePoints(color, () => this.lone[smoothedIdx]),
      });
      this.runOf.push(run, run);
      this.widths.push(RAW_WIDTH, SMOOTHED_WIDTH);
      this.info.push({ kind: 'raw', run }, { kind: 'smoothed', run });
    });
    const [xAxis, yAxis] = axes({ x: 'step', yTitle: this.tag, log: settings.logY });
    xAxis.label = xTag;
    this.build(shape, { mode: 2, series, axes: [xAxis, yAxis] }, data, note ? [note] : []);
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
    const lines = this.plotKind === 'groups' ? this.groupLines || []
      : this.shown.map(({ xs, sm, raw }) => ({ xs, ys: [sm, raw] }));
    const perRun = lines.map(({ xs, ys }) => {
      const out = [];
      const take = (vs) => {
        for (let i = 0; i < vs.length; i++) {
          const v = vs[i];
          if (v !== null && Number.isFinite(v) && xs[i] >= x0 && xs[i] <= x1) out.push(v);
        }
      };
      for (const vs of ys) take(vs);
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
    if (this.plotKind !== 'runs' || this.xMode() !== 'step') return;
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
    if (this.plotKind === 'groups') this.groupTooltip(u);
    else if (this.plotKind === 'xseries') this.xseriesTooltip(u);
    else this.runsTooltip(u);
  }

  /** The tooltip of groups: each group's mean, band and number of runs at the pointer's step
   * (or the last step before it), largest mean first. */
  groupTooltip(u) {
    const idx = u.cursor.idx;
    if (idx === null || idx === undefined || u.cursor.left < 0) { hideTooltip(); return; }
    const x = u.data[0][idx];
    const rows = [];
    for (const g of this.groups) {
      const i = floorIndex(g.steps, x);
      if (i >= 0) rows.push({ g, i });
    }
    if (!rows.length) { hideTooltip(); return; }
    rows.sort((a, b) => b.g.mean[b.i] - a.g.mean[a.i]);
    const band = this.ctx.state.settings.band === 'minmax' ? 'min – max' : 'mean ± std';
    const box = u.over.getBoundingClientRect();
    showTooltip([
      el('div', { class: 'muted', text: `${this.tag} · by ${groupingLabel(this.ctx.state.settings)} · mean / ${band} / n` }),
      el('table', {}, el('tbody', {}, rows.map(({ g, i }) => el('tr', { dataset: { group: g.key } },
        el('td', {}, el('span', { class: 'sw', style: `background:${g.color}` })),
        el('td', { text: g.key === '' ? '(all)' : g.key }),
        el('td', { class: 'v', text: fmt(g.mean[i]) }),
        el('td', { class: 'v muted', text: `${fmt(g.low[i])} – ${fmt(g.high[i])}` }),
        el('td', { class: 'v muted', text: `n = ${g.n[i]}` }),
        el('td', { class: 'v muted', text: `step ${g.steps[i]}` }))))),
    ], box.left + u.cursor.left, box.top + u.cursor.top);
  }

  /** The tooltip against an x series: each run's point nearest the pointer's x. */
  xseriesTooltip(u) {
    if (u.cursor.left === null || u.cursor.left === undefined || u.cursor.left < 0) { hideTooltip(); return; }
    const { state } = this.ctx;
    const x = u.posToVal(u.cursor.left, 'x');
    const rows = [];
    let near = null;
    let best = HOVER_PX;
    for (const { run, s, xs, sm } of this.shown) {
      let i = -1;
      let d = Infinity;
      for (let k = 0; k < xs.length; k++) {
        const dk = Math.abs(xs[k] - x);
        if (dk < d) { d = dk; i = k; }
      }
      if (i < 0) continue;
      const v = sm[i];
      rows.push({ run, s, i, v, xv: xs[i] });
      if (Number.isFinite(v) && !(state.settings.logY && v <= 0)) {
        const dy = Math.abs(u.valToPos(v, 'y') - u.cursor.top);
        if (dy < best) { best = dy; near = run; }
      }
    }
    this.hovering = near;
    if (state.hover !== near) state.set({ hover: near });
    if (!rows.length) { hideTooltip(); return; }
    const key = (r) => (Number.isNaN(r.v) ? -Infinity : r.v);
    rows.sort((a, b) => (b.run === near) - (a.run === near) || key(b) - key(a) || state.runOrder(a.run) - state.runOrder(b.run));
    const xTag = xTagOf(this.xMode());
    const box = u.over.getBoundingClientRect();
    showTooltip([
      el('div', { class: 'muted', text: `${this.tag} against ${xTag} · smoothed / raw` }),
      el('table', {}, el('tbody', {}, rows.map(({ run, s, i, v, xv }) => el('tr', { dataset: { run }, class: run === near ? 'hovered' : null },
        el('td', {}, el('span', { class: 'sw', style: `background:${state.colorOf(run)}` })),
        el('td', { text: run }),
        el('td', { class: 'v', text: fmt(v) }),
        el('td', { class: 'v muted', text: fmt(s.values[i]) }),
        el('td', { class: 'v muted', text: `${xTag} ${fmt(xv)}` }),
        el('td', { class: 'v muted', text: `step ${s.steps[i]}` }))))),
    ], box.left + u.cursor.left, box.top + u.cursor.top);
  }

  /** The tooltip of runs (see `pointerMoved`). */
  runsTooltip(u) {
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
    const runs = this.runs().filter((r) => this.ctx.scalars.entry(this.tag).runs.has(r));
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
    const legend = this.plotKind === 'groups'
      ? this.groups.map((g) => [g.key === '' ? '(all)' : g.key, g.color])
      : this.shown.map((s) => [s.run, this.ctx.state.colorOf(s.run)]);
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
    legend.forEach(([run, color], i) => {
      const y = src.height + 28 * dpr + i * rowH;
      g.fillStyle = color;
      g.fillRect(8 * dpr, y + 4 * dpr, 12 * dpr, 10 * dpr);
      g.fillStyle = cssVar('--fg') || '#000';
      g.fillText(run, 26 * dpr, y + 14 * dpr);
    });
    out.toBlob((b) => b && download(`${fileName(this.tag)}.png`, b), 'image/png');
  }

  destroy() {
    this.unsubscribe();
    this.xWatch?.[1]();
    clearTimeout(this.extraTimer);
    this.u?.destroy();
    super.destroy();
  }
}

/** The scalars pane: groups of [`ScalarCard`]s for the tags that a shown run has and the
 * tag filter lets through. `options`: `runs()`, the runs it draws (default: the page's shown
 * runs), `keys`, the state they follow (default: the selection and the run filter),
 * `grouping`, whether its charts draw groups, `pane`, its name. */
export class ScalarsView extends CardsView {
  constructor(ctx, options = {}) {
    super();
    this.ctx = ctx;
    this.options = { keys: ['selection', 'settings.runFilter'], grouping: true, pane: 'scalars', ...options };
    const { keys } = this.options;
    this.el = el('section', { class: 'pane', dataset: { pane: this.options.pane } });
    const { state } = ctx;
    state.subscribe(['runs', 'series', ...keys, 'settings.tagFilter'], () => this.sync());
    // A chart rebuilds itself when its shape changed (runs, colours, axes, theme).
    state.subscribe(['runs', ...keys, 'settings.smoothing', 'settings.logY',
      'settings.ignoreOutliers', 'theme'], () => this.redraw());
    // A chart whose x axis changed starts unzoomed.
    this.xOf = new Map();
    state.subscribe(['settings.x', 'settings.cardX'], () => {
      for (const [tag, c] of this.cards) {
        const x = c.xMode();
        if (this.xOf.get(tag) === x) continue;
        this.xOf.set(tag, x);
        c.zoom = null;
        c.zoomData = null;
        c.shape = '';
        c.schedule();
      }
    });
    if (this.options.grouping) {
      state.subscribe(['settings.groupBy', 'settings.groupRegex', 'settings.band', 'settings.groupRuns'], () => this.redraw(true));
    }
    state.subscribe(['hover'], () => { for (const c of this.cards.values()) c.applyHover(); });
  }

  /** The runs it draws. */
  runs() {
    return this.options.runs ? this.options.runs() : this.ctx.state.chartRuns();
  }

  /** The scalar tags shown: those of the shown runs, but not GPU series (the system pane's). */
  tags() {
    const { state } = this.ctx;
    const shown = new Set(this.runs());
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
    this.placeByTag(this.tags(), 'scalars', (tag) => {
      const card = new ScalarCard(this.ctx, tag, { runs: this.options.runs, grouping: this.options.grouping });
      this.xOf.set(tag, card.xMode());
      return card;
    });
  }

}
