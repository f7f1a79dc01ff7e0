// The HParams tab, as TensorBoard users know it: the sessions of `/api/v1/hparams` (each run
// that logged a session start) with their status, hyperparameters and the metrics the
// experiment declares (else every scalar tag of the sessions' runs, said so in one line). A
// filter panel (status, hyperparameter values, metric ranges) narrows the sortable table, the
// parallel coordinates and the scatter-plot matrix alike; brushes on the parallel axes select
// sessions in all three; the Groups card summarises the page's groups of runs. Hovering a row,
// a line or a dot highlights its run everywhere.
//
//   runs, series change ─► GET api/v1/hparams (debounced, only while the tab is shown) ─► model
//   model × page selection and run filter ─► rows ─► tab filters ─► table, groups, plots
//   brushes (parallel axes) ─► the selected rows marked in the table, lines and dots

import { getJson } from './api.js';
import { fmt, hideTooltip, showTooltip } from './chart.js';
import { catKey, inBrush, ParallelPlot, ScatterMatrix } from './hparams_plots.js';
import { SYSTEM_RUN } from './state.js';
import { el, num } from './util.js';

/** A session's states, in the order the status filter lists them. */
const STATUSES = ['success', 'failure', 'running', 'unknown'];
/** Non-finite numbers as the API writes them. */
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);
/** How the declared-metrics hint names the SDK calls. */
const DECLARE_METRICS = 'writer.add_hparams(&hparams, &[("hparam/accuracy", acc)])';
const DECLARE_CONFIG = 'writer.add_hparams_config(&[HParam::new("lr").interval(1e-4, 1e-1)], &[Metric::new("val/acc")])';

/** Missing, or a value the API sent (the key that names it in a category). */
const missing = (v) => v === undefined || v === null;

/** Values in a human order: numbers, then booleans (false first), then text (numbers inside by value). */
function compareValues(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return (Number.isNaN(a) ? Infinity : a) - (Number.isNaN(b) ? Infinity : b);
  if (typeof a !== typeof b) return ['number', 'boolean', 'string'].indexOf(typeof a) - ['number', 'boolean', 'string'].indexOf(typeof b);
  if (typeof a === 'boolean') return Number(a) - Number(b);
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** `v` for people: numbers by `fmt`, missing as `–`. */
export function valueText(v) {
  if (missing(v)) return '–';
  return typeof v === 'number' ? fmt(v) : String(v);
}

/**
 * The tab's model of an `/api/v1/hparams` answer: `hcols` (a column per hyperparameter: numeric
 * unless its domain lists values or its values are text or booleans; a categorical column's
 * `categories` are its domain's values then any other value seen), `mcols` (a column per listed
 * metric, but one named like a hyperparameter), and `rows` (a session each: `run`, `status`,
 * `values` by column id, non-finite numbers as numbers).
 */
export function hparamsModel(answer) {
  const sessions = answer.sessions || [];
  const hcols = (answer.hparams || []).map((h) => {
    const seen = sessions.map((s) => s.hparams?.[h.name]).filter((v) => !missing(v));
    const discrete = Array.isArray(h.domain?.values) ? h.domain.values : null;
    const numeric = !discrete && (h.type === 'number'
      || (h.type !== 'string' && h.type !== 'bool' && seen.length > 0 && seen.every((v) => typeof v === 'number' || NON_FINITE.has(v))));
    const label = h.display_name || h.name;
    const col = {
      id: `h:${h.name}`,
      kind: 'hparam',
      name: h.name,
      label,
      title: [label !== h.name ? h.name : '', h.description].filter(Boolean).join(' — ') || label,
      numeric,
      categories: [],
    };
    if (!numeric) {
      const known = (discrete || []).map(catKey);
      const extra = new Map();
      for (const v of seen) if (!known.includes(catKey(v))) extra.set(catKey(v), v);
      col.categories = [...known, ...[...extra].sort((a, b) => compareValues(a[1], b[1])).map(([k]) => k)];
    }
    return col;
  });
  const names = new Set(hcols.map((c) => c.name));
  const mcols = (answer.metrics || []).filter((m) => m.group || !names.has(m.tag)).map((m) => {
    const group = m.group || '';
    const shown = m.display_name || m.tag;
    const path = group ? `${group}/${m.tag}` : m.tag;
    return {
      id: `m:${JSON.stringify([group, m.tag])}`,
      kind: 'metric',
      name: path,
      tag: m.tag,
      group,
      // A display name is the whole label (TensorBoard's); else the tag under its sub-run.
      label: m.display_name ? shown : path,
      title: [path, m.description, 'the last logged value'].filter(Boolean).join(' — '),
      numeric: true,
      categories: [],
    };
  });
  const rows = sessions.map((s) => {
    const values = {};
    const steps = {};
    for (const c of hcols) {
      const v = s.hparams?.[c.name];
      values[c.id] = missing(v) ? undefined : c.numeric ? num(v) : v;
    }
    const got = new Map((s.metrics || []).map((m) => [`m:${JSON.stringify([m.group || '', m.tag])}`, m]));
    for (const c of mcols) {
      const m = got.get(c.id);
      values[c.id] = m && !missing(m.value) ? num(m.value) : undefined;
      if (m) steps[c.id] = m.step;
    }
    return {
      run: s.run,
      group: s.group_name || '',
      status: STATUSES.includes(s.status) ? s.status : 'unknown',
      values,
      steps,
    };
  });
  return { declared: !!answer.declared, hcols, mcols, rows };
}

export class HParamsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.el = el('section', { class: 'pane', dataset: { pane: 'hparams' } });
    this.sort = { col: 'run', dir: 1 };
    this.pending = 0;
    this.generation = 0;
    /** The API's answer as a model (`hparamsModel`), null before the first. */
    this.data = null;
    this.error = null;
    /** Whether runs or series changed since the last fetch. */
    this.stale = true;
    /** The columns and rows shown: the data less runs the page does not draw. */
    this.model = null;
    this.shown = [];
    // The tab's filters: statuses and categories left out, ranges (col id → {min, max}).
    this.statusOff = new Set();
    this.catOff = new Map();
    this.ranges = new Map();
    /** Brushes on the parallel axes: col id → `{lo, hi}` or `{values}`. */
    this.brushes = new Map();
    this.drawn = 0;
    this.plotWidth = 0;
    this.hovering = null;
    const onHover = (run, e, row) => this.hoverFrom(run, e, row);
    this.parallel = new ParallelPlot({ onBrush: (id, brush) => this.brush(id, brush), onHover });
    this.scatter = new ScatterMatrix({ onHover });
    const { state } = ctx;
    state.subscribe(['runs', 'series'], () => {
      this.stale = true;
      this.sync();
    });
    state.subscribe(['settings.tab'], () => this.sync());
    state.subscribe(['selection', 'settings.runFilter', 'settings.tagFilter', 'settings.groupBy', 'settings.groupRegex'],
      () => this.sync());
    state.subscribe(['hover'], () => this.showHover());
    let resizing = 0;
    new ResizeObserver(() => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        if (this.visible() && this.model && this.plotBox && this.plotBox.clientWidth !== this.plotWidth) this.drawPlots();
      }, 100);
    }).observe(this.el);
  }

  visible() {
    return this.el.isConnected && !this.el.hidden;
  }

  /** The runs with hyperparameters among those drawn (the tab's count; no fetch needed). */
  runs() {
    const { state } = this.ctx;
    return state.chartRuns().filter((r) => {
      const h = state.runs.get(r)?.hparams;
      return h && typeof h === 'object' && Object.keys(h).length;
    });
  }

  count() {
    return this.runs().length;
  }

  /** Brings the tab up to date soon: fetches when runs or series changed (or the last fetch
   * failed), redraws otherwise; nothing while it is hidden (it catches up when shown). */
  sync() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      if (!this.visible()) return;
      if (this.stale || this.error || !this.data) this.load();
      else this.build();
    }, 100);
  }

  async load() {
    const generation = ++this.generation;
    this.stale = false;
    if (!this.data) this.el.replaceChildren(el('p', { class: 'hp-loading muted', text: 'Loading hyperparameters…' }));
    let answer;
    try {
      answer = await getJson('api/v1/hparams');
    } catch (e) {
      if (generation !== this.generation) return;
      this.error = e;
      this.data = null;
      this.build();
      return;
    }
    if (generation !== this.generation) return;
    this.error = null;
    this.data = hparamsModel(answer);
    this.build();
  }

  /** Lays the tab out for the current data and page state. */
  build() {
    if (!this.visible()) return;
    const { state } = this.ctx;
    if (this.error) {
      this.model = null;
      this.el.replaceChildren(el('div', { class: 'empty' },
        el('h2', { text: 'Could not load the hyperparameters' }), el('p', { text: this.error.message })));
      return;
    }
    if (!this.data) return;
    if (!this.data.rows.length) {
      this.model = null;
      this.el.replaceChildren(el('div', { class: 'empty' },
        el('h2', { text: 'No hyperparameters yet' }),
        el('p', {}, 'Runs that log hyperparameters (', el('code', { text: 'writer.add_hparams(&[("lr", 0.1.into())], &[])' }),
          ', or TensorBoard\'s hparams plugin) appear here as sessions with their metrics.')));
      return;
    }
    const { declared, hcols } = this.data;
    const mcols = this.data.mcols.filter((c) => state.tagMatches(c.tag) || state.tagMatches(c.name));
    const rows = this.data.rows.filter((r) => r.run !== SYSTEM_RUN && state.isSelected(r.run) && state.runMatches(r.run));
    const cols = [...hcols, ...mcols];
    this.model = { declared, hcols, mcols, cols, rows };
    const ids = new Set(cols.map((c) => c.id));
    for (const m of [this.catOff, this.ranges, this.brushes]) for (const id of [...m.keys()]) if (!ids.has(id)) m.delete(id);
    if (!this.layout) this.makeLayout();
    this.note.hidden = declared;
    const sig = JSON.stringify(cols.map((c) => [c.id, c.label, c.numeric, c.categories]));
    if (sig !== this.filterSig || !this.filterEl.isConnected) {
      this.filterSig = sig;
      this.filterEl.replaceChildren(...this.filterPanel());
    }
    if (!this.layout.isConnected) this.el.replaceChildren(this.note, this.layout);
    this.update();
  }

  /** The tab's frame: the hint, the filter panel beside the groups, table and plots. */
  makeLayout() {
    this.note = el('p', { class: 'hp-note muted' },
      'No metrics declared: these are every scalar tag of the sessions\' runs. Declare them with ',
      el('code', { text: DECLARE_METRICS }), ' or ', el('code', { text: DECLARE_CONFIG }), '.');
    this.countEl = el('div', { class: 'hp-count' });
    this.brushInfo = el('div', { class: 'hp-brush-info muted', hidden: true });
    this.filterEl = el('div', { class: 'hp-filter-body' });
    this.groupsEl = el('div', { class: 'hp-groups-card' });
    this.tableEl = el('table', { class: 'hp-table hp-sessions' });
    this.plotBox = el('div', { class: 'hp-plot' }, this.parallel.el);
    this.scatterBox = el('div', { class: 'hp-plot hp-scatter-box' }, this.scatter.el);
    this.resetEl = el('button', { class: 'hp-reset', text: 'Reset filters', onclick: () => this.resetFilters() });
    this.layout = el('div', { class: 'hp-layout' },
      el('aside', { class: 'card hp-filters', 'aria-label': 'Session filters' },
        el('div', { class: 'card-head' }, el('span', { class: 'card-title', text: 'Filter sessions' }), this.resetEl),
        this.countEl, this.brushInfo, this.filterEl),
      el('div', { class: 'hp-main' },
        this.groupsEl,
        el('div', { class: 'card hp-card' },
          el('div', { class: 'card-head' }, el('span', { class: 'card-title', text: 'Sessions' })),
          el('div', { class: 'hp-scroll' }, this.tableEl)),
        el('div', { class: 'card hp-card' },
          el('div', { class: 'card-head' },
            el('span', { class: 'card-title', text: 'Parallel coordinates' }),
            el('span', { class: 'muted hp-hint', text: 'drag along an axis to select a range; click the axis to clear it' })),
          this.plotBox),
        el('div', { class: 'card hp-card' },
          el('div', { class: 'card-head' }, el('span', { class: 'card-title', text: 'Scatter plot matrix' })),
          this.scatterBox)));
  }

  /** The filter panel's controls: status, then each hyperparameter, then each metric. */
  filterPanel() {
    const { hcols, mcols } = this.model;
    const status = el('fieldset', { class: 'hp-filter', dataset: { filter: 'status' } }, el('legend', { text: 'Status' }),
      STATUSES.map((s) => el('label', { class: 'check' },
        this.checkbox(!this.statusOff.has(s), (on) => { if (on) this.statusOff.delete(s); else this.statusOff.add(s); }, { status: s }),
        el('span', { class: 'badge hp-status', dataset: { status: s }, text: s }),
        el('span', { class: 'muted hp-n', dataset: { status: s } }))));
    const field = (c) => {
      const f = el('fieldset', { class: 'hp-filter', dataset: { col: c.id, kind: c.kind } },
        el('legend', { text: c.label, title: c.title }));
      if (c.numeric) {
        const r = this.ranges.get(c.id) || {};
        const vals = this.model.rows.map((row) => row.values[c.id]).filter((v) => Number.isFinite(v));
        const input = (bound) => {
          const i = el('input', {
            type: 'number', step: 'any', class: 'hp-bound', 'aria-label': `${c.label} ${bound}`,
            placeholder: vals.length ? `${bound} ${fmt(bound === 'min' ? Math.min(...vals) : Math.max(...vals))}` : bound,
            dataset: { col: c.id, bound },
          });
          if (r[bound] !== undefined && r[bound] !== null) i.value = String(r[bound]);
          let typing = 0;
          i.addEventListener('input', () => {
            clearTimeout(typing);
            typing = setTimeout(() => this.setRange(c.id, bound, i), 200);
          });
          return i;
        };
        f.append(el('div', { class: 'hp-range' }, input('min'), el('span', { text: '–' }), input('max')));
      } else {
        const off = this.catOff.get(c.id) || new Set();
        for (const key of c.categories) {
          f.append(el('label', { class: 'check', title: key },
            this.checkbox(!off.has(key), (on) => {
              const set = this.catOff.get(c.id) || new Set();
              if (on) set.delete(key); else set.add(key);
              this.catOff.set(c.id, set);
            }, { col: c.id, value: key }),
            el('span', { class: 'hp-value', text: key })));
        }
      }
      return f;
    };
    return [
      status,
      hcols.length ? el('h4', { class: 'hp-filter-head', text: 'Hyperparameters' }) : null,
      ...hcols.map(field),
      mcols.length ? el('h4', { class: 'hp-filter-head', text: 'Metrics' }) : null,
      ...mcols.map(field),
    ].filter(Boolean);
  }

  /** A checkbox that calls `set(checked)` and redraws. */
  checkbox(checked, set, dataset) {
    const box = el('input', { type: 'checkbox', autocomplete: 'off', dataset });
    box.checked = checked;
    box.addEventListener('change', () => {
      set(box.checked);
      this.update();
    });
    return box;
  }

  /** Sets a range filter's `bound` from `input` (empty: none; not a number: marked, ignored). */
  setRange(id, bound, input) {
    const text = input.value.trim();
    const v = text === '' ? null : Number(text);
    input.classList.toggle('invalid', v !== null && !Number.isFinite(v));
    const r = { min: null, max: null, ...this.ranges.get(id) };
    r[bound] = Number.isFinite(v) ? v : null;
    if (r.min === null && r.max === null) this.ranges.delete(id); else this.ranges.set(id, r);
    this.update();
  }

  resetFilters() {
    this.statusOff.clear();
    this.catOff.clear();
    this.ranges.clear();
    this.brushes.clear();
    this.filterSig = null;
    this.build();
  }

  /** Whether `row` passes the tab's filters: its status is checked, each categorical value
   * (when it has one) is checked, each value with a range set lies in it (NaN and missing
   * values do not). */
  passes(row) {
    if (this.statusOff.has(row.status)) return false;
    for (const [id, off] of this.catOff) {
      const v = row.values[id];
      if (!missing(v) && off.has(catKey(v))) return false;
    }
    for (const [id, r] of this.ranges) {
      const v = row.values[id];
      if (!Number.isFinite(v)) return false;
      if (r.min !== null && v < r.min) return false;
      if (r.max !== null && v > r.max) return false;
    }
    return true;
  }

  /** Redraws what the filters change: the count, table, groups and plots. */
  update() {
    const m = this.model;
    if (!m) return;
    const { state } = this.ctx;
    this.shown = m.rows.filter((r) => this.passes(r));
    this.countEl.textContent = `${this.shown.length} of ${m.rows.length} sessions`;
    this.countEl.dataset.shown = String(this.shown.length);
    this.countEl.dataset.total = String(m.rows.length);
    for (const n of this.filterEl.querySelectorAll('.hp-n[data-status]')) {
      n.textContent = String(m.rows.filter((r) => r.status === n.dataset.status).length);
    }
    this.showReset();
    this.renderTable();
    this.groupsEl.replaceChildren(...groupCard(state, this.shown, m.hcols, m.mcols));
    this.drawPlots();
  }

  renderTable() {
    const { state } = this.ctx;
    const { hcols, mcols } = this.model;
    const cols = [
      { id: 'run', label: 'run', title: 'run' },
      { id: 'status', label: 'status', title: 'session status' },
      ...hcols,
      ...mcols,
    ];
    const value = (row, id) => (id === 'run' ? row.run : id === 'status' ? STATUSES.indexOf(row.status) : row.values[id]);
    const { col, dir } = this.sort;
    const rows = [...this.shown].sort((a, b) => {
      const x = value(a, col);
      const y = value(b, col);
      if (missing(x) && missing(y)) return 0;
      if (missing(x)) return 1;
      if (missing(y)) return -1;
      return compareValues(x, y) * dir;
    });
    const head = el('tr', {}, cols.map((c) => el('th', {
      class: c.kind === 'metric' ? 'metric' : '',
      dataset: { col: c.id, kind: c.kind || c.id, ...(c.kind === 'metric' ? { tag: c.tag, group: c.group } : {}) },
      'aria-sort': c.id === col ? (dir > 0 ? 'ascending' : 'descending') : 'none',
      title: c.title,
      text: c.label,
      onclick: () => {
        this.sort = { col: c.id, dir: c.id === col ? -dir : 1 };
        this.renderTable();
        this.markSelected();
      },
    })));
    const body = rows.map((row) => el('tr', {
      dataset: { run: row.run, status: row.status },
      class: row.run === state.hover ? 'hovered' : null,
      onmouseenter: () => state.set({ hover: row.run }),
      onmouseleave: () => { if (state.hover === row.run) state.set({ hover: null }); },
    }, cols.map((c) => {
      if (c.id === 'run') {
        return el('td', { title: row.group ? `${row.run} (group ${row.group})` : row.run },
          el('span', { class: 'sw', style: `background:${state.colorOf(row.run)}` }), state.displayName(row.run));
      }
      if (c.id === 'status') return el('td', {}, el('span', { class: 'badge hp-status', dataset: { status: row.status }, text: row.status }));
      const v = row.values[c.id];
      const step = row.steps[c.id];
      return el('td', { text: valueText(v), title: step !== undefined ? `step ${step}` : null });
    })));
    this.tableEl.replaceChildren(el('thead', {}, head), el('tbody', {}, body));
  }

  /** Draws the parallel coordinates and the scatter-plot matrix at the pane's width. */
  drawPlots() {
    const m = this.model;
    if (!m || !this.plotBox) return;
    const { state } = this.ctx;
    const colorOf = (run) => state.colorOf(run);
    this.plotWidth = this.plotBox.clientWidth;
    const width = Math.max(320, this.plotWidth);
    this.parallel.draw({ cols: m.cols, rows: this.shown, all: m.rows, width, brushes: this.brushes, colorOf });
    this.scatter.draw({ hcols: m.hcols, mcols: m.mcols, rows: this.shown, all: m.rows, width, colorOf });
    this.scatterBox.closest('.card').hidden = !m.hcols.length || !m.mcols.length;
    this.markSelected();
    this.showHover();
    this.el.dataset.drawn = String(++this.drawn);
  }

  /** A brush changed on a parallel axis (null: cleared). */
  brush(id, brush) {
    if (brush) this.brushes.set(id, brush); else this.brushes.delete(id);
    this.markSelected();
    this.showReset();
  }

  /** Shows "Reset filters" while a filter or brush is set. */
  showReset() {
    this.resetEl.hidden = !this.statusOff.size && ![...this.catOff.values()].some((s) => s.size) && !this.ranges.size
      && !this.brushes.size;
  }

  /** The shown sessions inside every brush, null when there is no brush. */
  selected() {
    if (!this.brushes.size) return null;
    return new Set(this.shown.filter((r) => [...this.brushes].every(([id, b]) => inBrush(b, r.values[id]))).map((r) => r.run));
  }

  markSelected() {
    const sel = this.selected();
    this.parallel.mark(sel);
    this.scatter.mark(sel);
    for (const tr of this.tableEl.querySelectorAll('tbody tr')) tr.dataset.selected = !sel || sel.has(tr.dataset.run) ? '1' : '0';
    this.el.dataset.selected = String(sel ? sel.size : this.shown.length);
    this.brushInfo.hidden = !sel;
    if (sel) {
      this.brushInfo.replaceChildren(`${sel.size} selected by ${this.brushes.size === 1 ? 'a brush' : `${this.brushes.size} brushes`} `,
        el('button', { class: 'hp-clear-brushes', text: 'Clear', onclick: () => { this.brushes.clear(); this.drawPlots(); this.showReset(); } }));
    }
  }

  /** The pointer entered (or left, `run` null) a line or dot: the run is hovered, its values shown. */
  hoverFrom(run, e, row) {
    const { state } = this.ctx;
    if (!run && !this.hovering) return;
    if (run) {
      this.hovering = run;
      state.set({ hover: run });
      const cols = this.model?.cols || [];
      showTooltip([
        el('div', {}, el('span', { class: 'sw', style: `background:${state.colorOf(run)}` }), ' ', el('b', { text: state.displayName(run) }),
          ' ', el('span', { class: 'badge hp-status', dataset: { status: row.status }, text: row.status })),
        el('table', {}, cols.map((c) => el('tr', {}, el('td', { text: c.label }), el('td', { class: 'v', text: valueText(row.values[c.id]) })))),
      ], e.clientX, e.clientY);
    } else {
      hideTooltip();
      if (state.hover === this.hovering) state.set({ hover: null });
      this.hovering = null;
    }
  }

  showHover() {
    const run = this.ctx.state.hover;
    for (const tr of this.tableEl?.querySelectorAll('tbody tr') || []) tr.classList.toggle('hovered', tr.dataset.run === run);
    this.parallel.hover(run);
    this.scatter.hover(run);
  }
}

/**
 * The keys of the groups `run` is in when the page groups runs (the Scalars tab's "Group by"):
 * by a hyperparameter (or a run field: `status`, `host`, `tags`, one group per tag) or by a
 * regex's first capture (else its whole match) in the run's name; `[]` when not grouping.
 */
export function groupKeysOf(state, run) {
  const { groupBy, groupRegex } = state.settings;
  const info = state.runs.get(run) || {};
  if (groupRegex) {
    let re;
    try { re = new RegExp(groupRegex); } catch { return ['(no match)']; }
    const m = run.match(re);
    return [m ? (m[1] ?? m[0]) : '(no match)'];
  }
  if (!groupBy) return [];
  const key = groupBy.startsWith('config.') ? groupBy.slice(7) : groupBy;
  let v = info.hparams?.[key];
  if (v === undefined) v = key === 'status' ? info.status?.state : info[key];
  if (Array.isArray(v)) return v.length ? v.map(String) : ['(none)'];
  return [v === undefined || v === null ? '(none)' : String(v)];
}

/** Mean and population standard deviation (numpy's `std`, ddof=0) of the finite numbers. */
function meanStd(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (!xs.length) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / xs.length);
  return { mean, std, n: xs.length };
}

/**
 * The sessions grouped as the charts are: a row per group with its sessions' count, the value
 * of each hyperparameter they share (else "mixed") and each metric's mean ± std over the
 * sessions' last values. Nothing when the page does not group runs.
 */
function groupCard(state, rows, hcols, mcols) {
  const groups = new Map();
  for (const row of rows) {
    for (const key of groupKeysOf(state, row.run)) {
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(row);
    }
  }
  if (!groups.size) return [];
  const head = el('tr', {}, [
    el('th', { text: 'group' }), el('th', { text: 'runs' }),
    ...hcols.map((c) => el('th', { text: c.label, title: c.title, dataset: { col: c.id } })),
    ...mcols.map((c) => el('th', { class: 'metric', title: `${c.name}: mean ± std of the sessions' last values`, text: c.label, dataset: { col: c.id } })),
  ]);
  const body = [...groups].map(([key, members]) => {
    const shared = hcols.map((c) => {
      const texts = new Set(members.map((r) => valueText(r.values[c.id])));
      return texts.size === 1 ? [...texts][0] : 'mixed';
    });
    const stats = mcols.map((c) => meanStd(members.map((r) => r.values[c.id])));
    return el('tr', { dataset: { group: key } }, [
      el('td', { text: key }), el('td', { text: String(members.length) }),
      ...shared.map((v) => el('td', { text: v })),
      ...stats.map((s) => el('td', s ? { text: `${fmt(s.mean)} ± ${fmt(s.std)}`, dataset: { mean: String(s.mean), std: String(s.std), n: String(s.n) } } : { text: '–' })),
    ]);
  });
  return [el('div', { class: 'card hp-card' },
    el('div', { class: 'card-head' }, el('span', { class: 'card-title', text: `Groups · ${groups.size}` })),
    el('div', { class: 'hp-scroll' }, el('table', { class: 'hp-table hp-groups' }, el('thead', {}, head), el('tbody', {}, body))))];
}
