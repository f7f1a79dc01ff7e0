// The Runs tab: one row per run from `/api/v1/run_table` (status, name, tags, notes, times,
// host, commit, one column per config key, metric summaries), sortable, filtered per column and
// by an expression (js/filter.js), virtualised (only the rows in view and a margin are in the
// DOM), with a detail panel that edits a run (rename, tags, notes, archive, delete). Its
// checkboxes are the page's run selection, the one every tab draws.
//
//   show / settings.archived / resync ──► reload(): GET run_table (columns) ──► rows ──► update()
//   SSE run {name} ──► runChanged ──► GET run?run= (a few) or run_table (many) ──► rows
//   settings.table (sort, columns, filters, expression; in the URL) ──► update() ──► window

import { getJson, sendJson } from './api.js';
import { fmt, plural } from './chart.js';
import { apiNumber, columnFilter, compileFilter, METRIC_STATS } from './filter.js';
import { DEFAULT_TABLE, SYSTEM_RUN } from './state.js';
import { el } from './util.js';

/** A row's height in pixels (fixed: the window of rows in the DOM follows from the scroll). */
const ROW_H = 30;
/** Rows rendered above and below the visible ones. */
const MARGIN = 8;
/** Pixels of columns rendered left and right of the visible ones. */
const MARGIN_X = 150;
/** The selection checkbox's column. */
const CHECK_W = 34;
/** More changed runs than this at once are refetched as a whole table. */
const FEW = 20;
/** Rows fetched first when the table opens in the server's order (more than a screen). */
const FIRST_SCREEN = 100;

/** Whether the table shows the runs in the server's order (so its first rows are the
 * server's first): no sort, column filter or expression. */
function serverOrder(t) {
  return !t.sort && !t.expr && !Object.values(t.filters).some((f) => f);
}

// ---- the server's answer ----

/**
 * The rows of a `/api/v1/run_table?layout=columns` answer, each as the rows layout gives it
 * (`metrics[tag]`: `last`, `min`, `max`, `first_step`, `last_step`, `count`, `best`,
 * `best_step`, `goal`, `goal_guessed`, and `at_step`, `at_step_step` when asked). The columns
 * layout is half the bytes: each metric's summaries as arrays in run order, its goal once (the
 * one guessed from its name) with the goals runs declared by their index.
 */
export function rowsFromColumns(data) {
  const runs = data.runs || [];
  for (const r of runs) r.metrics = {};
  for (const [tag, c] of Object.entries(data.metrics || {})) {
    const declared = c.declared || {};
    for (let i = 0; i < runs.length; i++) {
      const count = c.count[i];
      if (count === null || count === undefined) continue;
      const mine = declared[i];
      const goal = mine ?? c.goal ?? null;
      const m = {
        last: c.last[i], min: c.min[i], max: c.max[i], first_step: c.first_step[i], last_step: c.last_step[i], count,
        best: goal === 'min' ? c.min[i] : goal === 'max' ? c.max[i] : null,
        best_step: c.best_step[i], goal, goal_guessed: mine === undefined && goal !== null,
      };
      if (c.at_step) {
        if (c.at_step[i] !== null) { m.at_step = c.at_step[i]; m.at_step_step = c.at_step_step[i]; }
      }
      runs[i].metrics[tag] = m;
    }
  }
  return runs;
}

// ---- the table's settings in the URL ----

/** The table settings of a URL's query (`sort`, `hide`, `show`, `f.<column>`, `q`). */
export function readTableUrl(q) {
  const filters = {};
  for (const [k, v] of q) if (k.startsWith('f.') && v) filters[k.slice(2)] = v;
  return Object.freeze({
    ...DEFAULT_TABLE,
    sort: q.get('sort') ?? '',
    hide: Object.freeze(q.getAll('hide')),
    show: Object.freeze(q.getAll('show')),
    filters: Object.freeze(filters),
    expr: q.get('q') ?? '',
  });
}

/** Adds the table settings `t` to the query `q` (defaults left out). */
export function writeTableUrl(t, q) {
  if (t.sort) q.set('sort', t.sort);
  for (const c of t.hide) q.append('hide', c);
  for (const c of t.show) q.append('show', c);
  for (const [c, v] of Object.entries(t.filters)) if (v) q.set(`f.${c}`, v);
  if (t.expr) q.set('q', t.expr);
}

// ---- formatting ----

/** A duration in seconds in the unit that fits: `42 s`, `1.5 min`, `12 h`, `3.2 days`. */
export function fmtDuration(s) {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '';
  const one = (v, unit) => `${v < 10 ? Number(v.toFixed(1)) : Math.round(v)} ${unit}`;
  if (s < 60) return one(Math.max(0, s), 's');
  if (s < 3600) return one(s / 60, 'min');
  if (s < 86400) return one(s / 3600, 'h');
  return one(s / 86400, 'days');
}

const pad = (n) => String(n).padStart(2, '0');

/** A wall time (seconds) as local `YYYY-MM-DD HH:MM`. */
function fmtTime(t) {
  if (typeof t !== 'number' || !Number.isFinite(t)) return '';
  const d = new Date(t * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A config or summary value as text. */
function fmtValue(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return fmt(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The first line of `s` (notes in a cell). */
const firstLine = (s) => (typeof s === 'string' ? s.split('\n', 1)[0] : '');

const STATUS_TEXT = {
  running: 'running', finished: 'finished', crashed: 'crashed', stalled: 'stalled', unknown: 'unknown',
};

/** What hovering a status badge says: exit code and message. */
function statusTitle(st) {
  const parts = [st?.state || 'unknown'];
  if (st?.exit_code !== undefined && st?.exit_code !== null) parts.push(`exit code ${st.exit_code}`);
  if (st?.message) parts.push(st.message);
  if (!st || st.state === 'unknown') parts.push('no status recorded (files from another tool)');
  if (st?.state === 'stalled') parts.push('running, but nothing heard for a while');
  return parts.join(' · ');
}

// ---- columns ----

/** What the built-in columns show, sort and bound by. */
const F = {
  display_name: (r) => r.display_name || r.name,
  status: (r) => r.status?.state ?? 'unknown',
  tags: (r) => r.tags || [],
  notes: (r) => r.notes,
  host: (r) => r.host,
  commit: (r) => r.commit,
  created: (r) => r.started_at,
  duration: (r) => (typeof r.started_at === 'number' && typeof r.updated_at === 'number' ? r.updated_at - r.started_at : null),
};

/** Makes `td` a plain text cell: its text, hover text and extra class. */
function textCell(td, text, title = '', cls = '') {
  td.className = cls ? `rt-td ${cls}` : 'rt-td';
  td.textContent = text;
  td.title = title;
}

/** A run's colour as CSS (the server's `#rrggbb`; anything else grey). */
const colorOf = (r) => (/^#[0-9a-f]{3,8}$/i.test(r.color || '') ? r.color : '#888');

/**
 * The built-in columns: id, header, width, value (`get`: sort and bounds), `text` (what a
 * "contains" filter reads) and `fill(td, row)`, which writes the row's value into a cell of
 * this column (a new one, or one a row showed another run in: cells are reused).
 */
const BUILTINS = [
  {
    id: 'status', label: 'status', width: 92, get: F.status, text: F.status,
    fill: (td, r) => {
      const state = F.status(r);
      let badge = td.firstElementChild;
      if (!badge) {
        badge = el('span', { class: 'badge' });
        td.replaceChildren(badge);
      }
      badge.dataset.state = state;
      badge.title = statusTitle(r.status);
      badge.textContent = STATUS_TEXT[state] || state;
    },
  },
  {
    id: 'name', label: 'name', width: 220, get: F.display_name, text: (r) => `${r.display_name || ''} ${r.name}`,
    fill: (td, r) => {
      let sw = td.firstElementChild;
      if (!sw) {
        sw = el('span', { class: 'sw' });
        td.replaceChildren(sw, el('span', { class: 'rt-label' }));
        td.className = 'rt-td rt-name';
      }
      td.title = r.display_name ? `${r.name} (shown as ${r.display_name})` : r.name;
      sw.style.background = colorOf(r);
      sw.nextElementSibling.textContent = r.display_name || r.name;
    },
  },
  {
    id: 'tags', label: 'tags', width: 160, get: F.tags, text: (r) => (r.tags || []).join(' '),
    fill: (td, r) => {
      td.title = (r.tags || []).join(', ');
      td.replaceChildren(...(r.tags || []).map((t) => el('span', { class: 'chip', text: t })));
    },
  },
  {
    id: 'notes', label: 'notes', width: 180, get: (r) => firstLine(r.notes), text: (r) => r.notes || '',
    fill: (td, r) => textCell(td, firstLine(r.notes), r.notes || '', 'rt-notes'),
  },
  {
    id: 'created', label: 'created', width: 136, numeric: true, hint: '2026-12', get: F.created, text: (r) => fmtTime(r.started_at),
    fill: (td, r) => textCell(td, fmtTime(r.started_at), typeof r.started_at === 'number' ? new Date(r.started_at * 1000).toISOString() : ''),
  },
  {
    id: 'duration', label: 'duration', width: 84, numeric: true, hint: '>3600 (s)', get: F.duration, text: (r) => fmtDuration(F.duration(r)),
    fill: (td, r) => {
      const d = F.duration(r);
      textCell(td, fmtDuration(d), typeof d === 'number' ? `${d} s` : '', 'num');
    },
  },
  {
    id: 'host', label: 'host', width: 120, get: F.host, text: (r) => r.host || '',
    fill: (td, r) => textCell(td, r.host || '', r.host || ''),
  },
  {
    id: 'commit', label: 'commit', width: 84, get: F.commit, text: (r) => r.commit || '',
    fill: (td, r) => textCell(td, r.commit ? `${r.commit.slice(0, 7)}${r.dirty ? '*' : ''}` : '',
      r.commit ? `${r.commit}${r.dirty ? ' with uncommitted changes' : ''}` : '', 'mono'),
  },
];

function configColumn(key) {
  const get = (r) => r.config?.[key];
  return {
    id: `c:${key}`, label: key, width: 100, kind: 'config', get, text: (r) => fmtValue(get(r)),
    title: `config: ${key}`,
    fill: (td, r) => {
      const v = get(r);
      textCell(td, fmtValue(v), v === undefined ? '' : `${key} = ${typeof v === 'string' ? v : JSON.stringify(v)}`, typeof v === 'number' ? 'num' : '');
    },
  };
}

function metricColumn(tag, stat) {
  const get = (r) => apiNumber(r.metrics?.[tag]?.[stat]);
  return {
    id: `m:${tag}:${stat}`, label: `${tag}.${stat}`, width: 104, kind: 'metric', numeric: true, get,
    text: (r) => { const v = get(r); return v === undefined || v === null ? '' : fmt(v); },
    title: `${tag}: ${stat}`,
    fill: (td, r) => {
      const m = r.metrics?.[tag];
      const v = get(r);
      if (v === undefined || v === null) { textCell(td, '', '', 'num'); return; }
      const at = stat === 'best' ? m.best_step : stat === 'last' ? m.last_step : null;
      const goal = m.goal ? `, goal ${m.goal}${m.goal_guessed ? ' (guessed from the name)' : ''}` : '';
      textCell(td, stat === 'count' ? String(v) : fmt(v), `${tag} ${stat} = ${v}${at !== null && at !== undefined ? ` at step ${at}` : ''}${goal}`, 'num');
    },
  };
}

/** A sort key: null for missing values (sorted last either way); lists as their text. */
function sortKey(v) {
  if (v === undefined || v === null || v === '' || (typeof v === 'number' && Number.isNaN(v))) return null;
  if (Array.isArray(v)) return v.length ? v.join(' ') : null;
  if (typeof v === 'boolean') return String(v);
  return v;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** `rows` sorted by `get` in direction `dir` (1 or -1): numbers numerically, before text;
 * missing values last; ties keep their order. */
export function sortRows(rows, get, dir) {
  const keyed = rows.map((r, i) => ({ r, i, k: sortKey(get(r)) }));
  keyed.sort((a, b) => {
    if (a.k === null || b.k === null) return a.k === null ? (b.k === null ? a.i - b.i : 1) : -1;
    const an = typeof a.k === 'number';
    const bn = typeof b.k === 'number';
    if (an !== bn) return an ? -1 : 1;
    const c = an ? (a.k < b.k ? -1 : a.k > b.k ? 1 : 0) : collator.compare(a.k, b.k);
    return c * dir || a.i - b.i;
  });
  return keyed.map((x) => x.r);
}

// ---- the view ----

export class RunTableView {
  constructor(ctx) {
    this.ctx = ctx;
    /** name → run_table row, in the server's order. */
    this.rows = new Map();
    this.configKeys = [];
    this.metricTags = [];
    this.loaded = false;
    /** While only the first screen is loaded: how many runs the table has. */
    this.partial = 0;
    this.stale = true;
    this.loading = null;
    this.again = false;
    this.lastFetchMs = 0;
    /** The filtered, sorted rows. */
    this.view = [];
    this.columns = [];
    this.columnIds = '';
    this.exprTest = null;
    this.exprError = null;
    this.rendered = { from: 0, to: 0, c0: 0, c1: 0, version: -1, columnIds: '' };
    /** The scroller's size and offsets, as last measured. */
    this.port = { width: 1200, height: 800, top: 0, left: 0 };
    this.open = null;
    this.detail = null;
    this.changed = new Set();
    this.changedTimer = 0;
    this.touchedRuns = new Set();
    this.touchedTimer = 0;
    this.timings = { created: performance.now() };

    this.expr = el('input', {
      type: 'search', class: 'rt-expr', spellcheck: 'false', autocomplete: 'off',
      placeholder: 'filter: lr < 0.01 and status = finished and tags has "baseline"',
      'aria-label': 'Filter expression',
    });
    this.exprErr = el('div', { class: 'rt-expr-error', role: 'alert' });
    this.archived = el('input', { type: 'checkbox', class: 'rt-archived' });
    this.countEl = el('span', { class: 'rt-count muted' });
    this.picker = el('details', { class: 'rt-picker' }, el('summary', { text: 'Columns' }), el('div', { class: 'rt-picker-body' }));
    // A grid of divs, not a table: the header (sticky, every column) above a canvas as tall
    // as every row, in which only the rows and columns in view (and a margin) exist, each row
    // laid out on its own (CSS containment).
    this.headRow = el('div', { class: 'rt-hrow', role: 'row' });
    this.filterRow = el('div', { class: 'rt-frow', role: 'row' });
    this.head = el('div', { class: 'rt-head' }, this.headRow, this.filterRow);
    this.canvas = el('div', { class: 'rt-canvas', role: 'rowgroup' });
    this.grid = el('div', { class: 'rt', role: 'grid', 'aria-label': 'Runs' }, this.head, this.canvas);
    this.scroll = el('div', { class: 'rt-scroll' }, this.grid);
    /** Row index → `{el, box, cells, run}` of the rows in the DOM. */
    this.rowEls = new Map();
    this.version = 0;
    this.message = el('div', { class: 'rt-message muted' });
    this.panel = el('aside', { class: 'rt-detail', hidden: true });
    this.el = el('section', { class: 'pane', dataset: { pane: 'runs' } },
      el('div', { class: 'rt-toolbar' },
        el('label', { class: 'rt-expr-box' }, this.expr),
        this.picker,
        el('label', { class: 'check', title: 'List archived runs too (here and in every tab)' }, this.archived, 'show archived'),
        this.countEl),
      this.exprErr,
      el('div', { class: 'rt-body' }, el('div', { class: 'rt-main' }, this.scroll, this.message), this.panel));
    this.el.runTable = this; // for tests and benchmarks

    this.bind();
    const { state } = ctx;
    this.expr.value = state.settings.table.expr;
    this.archived.checked = state.settings.archived;
    state.subscribe(['settings.tab'], () => { if (this.shown()) this.showNow(); });
    state.subscribe(['settings.archived'], () => {
      this.archived.checked = state.settings.archived;
      this.stale = true;
      if (this.shown()) this.reload();
    });
    state.subscribe(['settings.table'], () => {
      if (this.expr.value !== state.settings.table.expr && document.activeElement !== this.expr) this.expr.value = state.settings.table.expr;
      this.update();
    });
    state.subscribe(['selection'], () => this.syncChecks());
    state.subscribe(['hover'], () => {
      for (const { el: row } of this.rowEls.values()) row.classList.toggle('hovered', row.dataset.run === state.hover);
    });
    if (this.shown()) this.showNow(); // at once: the first fetch starts with the page
  }

  shown() {
    return this.ctx.state.settings.tab === 'runs';
  }

  /** Reads the scroller's size and offsets (on scroll and resize, when layout is clean). */
  measure() {
    const sc = this.scroll;
    if (!sc.clientHeight) return; // hidden
    this.port = { width: sc.clientWidth, height: sc.clientHeight, top: sc.scrollTop, left: sc.scrollLeft };
  }

  /** Resolves once the first table has loaded (or failed). */
  firstLoad() {
    return this.loading || Promise.resolve();
  }

  /** The tab's count: the runs listed (the page's run list, which the tabs' counts follow). */
  count() {
    return this.ctx.state.runNames().length;
  }

  /** The table's settings. */
  opts() {
    return this.ctx.state.settings.table;
  }

  /** Changes the table settings (`patch` of DEFAULT_TABLE's fields). */
  setTable(patch) {
    this.ctx.state.setting('table', Object.freeze({ ...this.opts(), ...patch }));
  }

  // ---- data ----

  showNow() {
    if (!this.loaded || this.stale) this.reload();
    else requestAnimationFrame(() => { this.measure(); this.renderWindow(true); });
  }

  /** Everything changed (a reconnect): reload now if shown, else when next shown. */
  resync() {
    this.stale = true;
    if (this.shown()) this.reload();
  }

  /** Fetches the whole table: when the table shows runs in the server's order (no sort, no
   * filter), its first screen first (a few kilobytes: drawn while the rest comes). */
  reload() {
    if (this.loading) { this.again = true; return this.loading; }
    this.stale = false;
    const t0 = performance.now();
    this.timings.fetchStart ??= t0;
    this.loading = (async () => {
      try {
        const archived = this.ctx.state.settings.archived ? 'true' : null;
        const params = { archived, layout: 'columns' };
        let data = null;
        if (!this.loaded && serverOrder(this.opts())) {
          const first = await getJson('api/v1/run_table', { ...params, limit: FIRST_SCREEN });
          if (first.total <= first.runs.length) data = first;
          else {
            this.setRows(first);
            this.partial = first.total;
            this.update(true);
          }
        }
        data ??= await getJson('api/v1/run_table', params);
        this.setRows(data);
        this.partial = 0;
        this.update(true);
        this.timings.complete ??= performance.now();
      } catch (e) {
        this.message.textContent = `Could not load the runs: ${e.message}`;
        this.stale = true;
      } finally {
        this.lastFetchMs = performance.now() - t0;
        this.loading = null;
        if (this.again) { this.again = false; this.reload(); }
      }
    })();
    return this.loading;
  }

  /** Shows the rows of a `run_table` answer. */
  setRows(data) {
    this.timings.fetched ??= performance.now();
    this.rows = new Map();
    for (const r of rowsFromColumns(data)) if (r.name !== SYSTEM_RUN) this.rows.set(r.name, r);
    this.loaded = true;
    this.message.textContent = '';
  }

  /** The server said `name` changed (SSE `run`): its row is refetched soon. */
  runChanged(name) {
    if (!this.loaded || !this.shown()) { this.stale = true; return; }
    this.changed.add(name);
    clearTimeout(this.changedTimer);
    this.changedTimer = setTimeout(() => this.fetchChanged(), 100);
  }

  /** The server deleted `name` (SSE `run_deleted`). */
  runDeleted(name) {
    this.changed.delete(name);
    if (this.rows.delete(name)) this.update(true);
    if (this.open === name) this.closeDetail();
  }

  /** New data for `name` (its summaries changed): refetched within a few seconds, if shown. */
  touched(name) {
    if (!this.loaded) return;
    if (!this.shown()) { this.stale = true; return; }
    this.touchedRuns.add(name);
    if (this.touchedTimer) return;
    // No more often than every 3 s, nor than 10× what a whole table took to fetch.
    this.touchedTimer = setTimeout(() => {
      this.touchedTimer = 0;
      const names = [...this.touchedRuns];
      this.touchedRuns.clear();
      for (const n of names) this.changed.add(n);
      this.fetchChanged();
    }, Math.max(3000, 10 * this.lastFetchMs));
  }

  async fetchChanged() {
    const names = [...this.changed];
    this.changed.clear();
    if (!names.length) return;
    if (names.length > FEW) { this.reload(); return; }
    const archived = this.ctx.state.settings.archived;
    const got = await Promise.all(names.map((n) => getJson('api/v1/run', { run: n }).then((r) => [n, r], (e) => [n, e.status === 404 ? null : undefined])));
    let any = false;
    for (const [n, r] of got) {
      if (r === undefined) continue; // a failed fetch: keep what is shown
      if (n === this.open) { this.detail = r; this.renderDetail(); }
      if (r === null || (r.archived && !archived) || n === SYSTEM_RUN) {
        any = this.rows.delete(n) || any;
        if (r === null && n === this.open) this.closeDetail();
        continue;
      }
      const { record: _record, edits: _edits, ...row } = r;
      this.rows.set(n, row);
      any = true;
    }
    if (any) this.update(true);
  }

  /** Merges a `/runs` object the server answered an edit with into the row and the panel. */
  applyRun(run) {
    const old = this.rows.get(run.name);
    if (run.archived && !this.ctx.state.settings.archived) this.rows.delete(run.name);
    else if (old) this.rows.set(run.name, { ...old, ...run });
    if (this.detail?.name === run.name) this.detail = { ...this.detail, ...run };
    this.update(true);
    this.renderDetail();
  }

  // ---- columns, filters, order ----

  /** What the rows hold: config keys and metric tags (the columns, sorted as the server sorts
   * them; from the listed runs only, so the GPU sampler's tags are no columns), and the tags
   * some run has a goal for. */
  schema() {
    const configKeys = new Set();
    const metricTags = new Set();
    const goals = new Set();
    for (const r of this.rows.values()) {
      for (const k in r.config) configKeys.add(k);
      for (const t in r.metrics) {
        metricTags.add(t);
        if (r.metrics[t]?.goal) goals.add(t);
      }
    }
    this.configKeys = [...configKeys].sort();
    this.metricTags = [...metricTags].sort();
    return { configKeys, metricTags, goals };
  }

  /** Every column the picker offers, with whether it shows by default. */
  allColumns(schema) {
    const cols = BUILTINS.map((c) => ({ ...c, kind: 'builtin', byDefault: true }));
    for (const k of this.configKeys) cols.push({ ...configColumn(k), byDefault: true });
    for (const t of this.metricTags) {
      // A metric's column by default: its best where a run gives it a goal, else its last.
      const d = schema.goals.has(t) ? 'best' : 'last';
      for (const s of METRIC_STATS) cols.push({ ...metricColumn(t, s), byDefault: s === d, tag: t, stat: s });
    }
    return cols;
  }

  /** Recomputes columns (when the rows changed: `data`), filters and order, and redraws. */
  update(data = false) {
    const t = this.opts();
    if (data || !this.schemaNow) {
      this.schemaNow = this.schema();
      this.every = this.allColumns(this.schemaNow);
    }
    const hide = new Set(t.hide);
    const show = new Set(t.show);
    this.columns = this.every.filter((c) => (c.byDefault ? !hide.has(c.id) : show.has(c.id)));
    const ids = this.columns.map((c) => c.id).join('\u0000');
    if (ids !== this.columnIds) {
      this.columnIds = ids;
      this.buildHead();
    }
    this.syncHead();
    if (this.picker.open) this.buildPicker();

    // The expression: a bad one shows its error and keeps the last good filter.
    // (Compiled again when it or the rows change: a field no run has is an error.)
    if (this.loaded && (data || t.expr !== this.compiled)) {
      this.compiled = t.expr;
      try {
        this.exprTest = compileFilter(t.expr, [...this.rows.values()]).test;
        this.exprError = null;
      } catch (e) {
        this.exprError = e.message;
      }
    }
    this.exprErr.textContent = this.exprError || '';
    this.exprErr.hidden = !this.exprError;
    this.expr.classList.toggle('invalid', !!this.exprError);

    const colFilters = [];
    for (const c of this.columns) {
      const f = t.filters[c.id] ? columnFilter(t.filters[c.id]) : null;
      if (f) colFilters.push([c, f]);
    }
    let rows = [...this.rows.values()];
    const expr = this.exprTest;
    if (expr || colFilters.length) {
      rows = rows.filter((r) => (!expr || expr(r)) && colFilters.every(([c, f]) => f(c.get(r), c.text(r))));
    }
    const sortId = t.sort.replace(/^-/, '');
    const sortCol = sortId && this.every.find((c) => c.id === sortId);
    if (sortCol) rows = sortRows(rows, sortCol.get, t.sort.startsWith('-') ? -1 : 1);
    this.view = rows;
    this.version++;
    this.countEl.textContent = !this.loaded ? 'loading…'
      : this.partial ? `${plural(this.partial, 'run')} (loading all but the first ${this.rows.size.toLocaleString('en-US')}…)`
        : `${rows.length === this.rows.size ? '' : `${rows.length.toLocaleString('en-US')} of `}${plural(this.rows.size, 'run')}`;
    if (this.loaded && !this.rows.size) this.message.textContent = this.ctx.state.settings.archived ? 'No runs.' : 'No runs (archived runs are hidden).';
    else if (this.loaded && !rows.length) this.message.textContent = 'No run matches the filters.';
    else if (this.loaded) this.message.textContent = '';
    this.renderWindow(); // a new version: every row refilled in place
    this.syncChecks();
    if (this.loaded && this.rows.size && this.timings.painted === undefined) {
      requestAnimationFrame(() => { this.timings.painted = performance.now(); this.el.dataset.painted = '1'; });
    }
  }

  buildHead() {
    const t = this.opts();
    let x = CHECK_W;
    this.colX = this.columns.map((c) => { const at = x; x += c.width; return at; });
    this.width = x;
    for (const e of [this.head, this.canvas]) e.style.width = `${x}px`;
    const place = (i) => `left:${this.colX[i]}px;width:${this.columns[i].width}px`;
    this.all = el('input', { type: 'checkbox', class: 'rt-all', title: 'Select the runs shown (the filtered rows)', 'aria-label': 'Select the runs shown' });
    this.headRow.replaceChildren(el('div', { class: 'rt-th rt-check', style: `left:0;width:${CHECK_W}px` }, this.all), ...this.columns.map((c, i) => el('div', {
      role: 'columnheader',
      dataset: { col: c.id },
      class: `rt-th${c.kind === 'metric' ? ' metric' : c.kind === 'config' ? ' config' : ''}`,
      style: place(i),
      title: `${c.title || c.label} (click to sort)`,
    }, el('span', { text: c.label }))));
    this.filterRow.replaceChildren(...this.columns.map((c, i) => el('div', { class: 'rt-th', style: place(i) },
      el('input', {
        type: 'search', class: 'rt-colfilter', dataset: { col: c.id }, spellcheck: 'false', autocomplete: 'off',
        placeholder: c.hint || (c.numeric ? '>0 <1' : 'contains'), 'aria-label': `Filter ${c.label}`, value: t.filters[c.id] || '',
      }))));
  }

  /** Sort marks and column filter values as the settings say. */
  syncHead() {
    const t = this.opts();
    const sortId = t.sort.replace(/^-/, '');
    for (const th of this.headRow.children) {
      if (!th.dataset.col) continue;
      th.setAttribute('aria-sort', th.dataset.col === sortId ? (t.sort.startsWith('-') ? 'descending' : 'ascending') : 'none');
    }
    for (const input of this.filterRow.querySelectorAll('input')) {
      const v = t.filters[input.dataset.col] || '';
      if (input.value !== v && document.activeElement !== input) input.value = v;
    }
  }

  /** The column picker's list: run fields, config keys, and per metric its summaries. */
  buildPicker() {
    const on = new Set(this.columns.map((c) => c.id));
    const box = (c) => {
      const b = el('input', { type: 'checkbox', dataset: { col: c.id } });
      b.checked = on.has(c.id);
      return b;
    };
    const search = el('input', { type: 'search', class: 'rt-picker-search', placeholder: 'find a column', spellcheck: 'false' });
    const builtins = this.every.filter((c) => c.kind === 'builtin');
    const config = this.every.filter((c) => c.kind === 'config');
    const metrics = this.every.filter((c) => c.kind === 'metric');
    const body = this.picker.querySelector('.rt-picker-body');
    const oldSearch = body.querySelector('.rt-picker-search');
    if (oldSearch) search.value = oldSearch.value;
    body.replaceChildren(...[
      search,
      el('div', { class: 'rt-picker-group' }, el('b', { text: 'Run' }),
        builtins.map((c) => el('label', { class: 'check', dataset: { name: c.label } }, box(c), c.label))),
      config.length ? el('div', { class: 'rt-picker-group' }, el('b', { text: 'Config' }),
        config.map((c) => el('label', { class: 'check', dataset: { name: c.label } }, box(c), c.label))) : null,
      metrics.length ? el('div', { class: 'rt-picker-group' }, el('b', { text: 'Metrics' }),
        el('table', { class: 'rt-picker-metrics' },
          el('tr', {}, el('th'), METRIC_STATS.map((s) => el('th', { text: s }))),
          this.metricTags.map((tag) => el('tr', { dataset: { name: tag } }, el('td', { text: tag }),
            METRIC_STATS.map((s) => el('td', {}, box(metrics.find((c) => c.tag === tag && c.stat === s)))))))) : null,
    ].filter(Boolean));
    const filter = () => {
      const q = search.value.toLowerCase();
      for (const e of body.querySelectorAll('[data-name]')) e.hidden = !!q && !e.dataset.name.toLowerCase().includes(q);
    };
    search.addEventListener('input', filter);
    filter();
  }

  /** A column picked or unpicked. */
  pick(id, on) {
    const c = this.every.find((x) => x.id === id);
    if (!c) return;
    const t = this.opts();
    const hide = t.hide.filter((x) => x !== id);
    const show = t.show.filter((x) => x !== id);
    if (c.byDefault && !on) hide.push(id);
    if (!c.byDefault && on) show.push(id);
    this.setTable({ hide: Object.freeze(hide), show: Object.freeze(show) });
  }

  // ---- the rows in view ----

  /** Renders the rows and columns in view plus a margin. Row elements are reused: a row that
   * scrolls out shows the next run that scrolls in, and a new order or filter refills the rows
   * in place; only a change of columns (or `force`) builds them anew. */
  renderWindow(force = false) {
    const n = this.view.length;
    this.canvas.style.height = `${n * ROW_H}px`;
    // The sizes and scroll offsets last measured (on resize and scroll): reading them here
    // would force a layout before the rows are built, and another after.
    const { height, width, left: scrollLeft } = this.port;
    const headH = 2 * ROW_H;
    const top = Math.max(0, this.port.top);
    const v0 = Math.max(0, Math.floor(top / ROW_H));
    const v1 = Math.min(n, Math.ceil((top + height - headH) / ROW_H) + 1);
    // Columns: those intersecting the view, and a margin.
    const left = scrollLeft - MARGIN_X;
    const right = scrollLeft + width + MARGIN_X;
    let c0 = 0;
    while (c0 < this.columns.length && this.colX[c0] + this.columns[c0].width < left) c0++;
    let c1 = c0;
    while (c1 < this.columns.length && this.colX[c1] < right) c1++;
    const r = this.rendered;
    const sameCols = r.c0 === c0 && r.c1 === c1 && r.columnIds === this.columnIds;
    if (!force && sameCols && v0 >= r.from && v1 <= r.to && r.version === this.version) return;
    const from = Math.max(0, v0 - MARGIN);
    const to = Math.min(n, Math.max(v1, from) + MARGIN);
    this.rendered = { from, to, c0, c1, version: this.version, columnIds: this.columnIds };
    const pool = [];
    if (force || !sameCols) {
      this.canvas.replaceChildren();
      this.rowEls.clear();
    }
    for (const [i, row] of this.rowEls) {
      if (i < from || i >= to || r.version !== this.version) {
        pool.push(row);
        this.rowEls.delete(i);
      }
    }
    const fresh = document.createDocumentFragment();
    for (let i = from; i < to; i++) {
      if (this.rowEls.has(i)) continue;
      let row = pool.pop();
      if (!row) {
        row = this.newRow(c0, c1);
        fresh.append(row.el);
      }
      this.fillRow(row, i, c0);
      this.rowEls.set(i, row);
    }
    for (const row of pool) row.el.remove();
    this.canvas.append(fresh);
  }

  /** An empty row with cells for columns `c0..c1`. */
  newRow(c0, c1) {
    const box = el('input', { type: 'checkbox', class: 'rt-sel', autocomplete: 'off' });
    const cells = [];
    for (let c = c0; c < c1; c++) {
      cells.push(el('div', {
        class: 'rt-td', role: 'gridcell', dataset: { col: this.columns[c].id },
        style: `left:${this.colX[c]}px;width:${this.columns[c].width}px`,
      }));
    }
    const row = el('div', { role: 'row', class: 'rt-row', style: `width:${this.width}px` },
      el('div', { class: 'rt-td rt-check', style: `left:0;width:${CHECK_W}px` }, box), cells);
    return { el: row, box, cells, run: null };
  }

  /** Shows the run at `i` of the view in `row` (whose first cell is column `c0`). */
  fillRow(row, i, c0) {
    const run = this.view[i];
    const { state } = this.ctx;
    row.run = run.name;
    const e = row.el;
    e.style.top = `${i * ROW_H}px`;
    e.dataset.run = run.name;
    e.dataset.index = String(i);
    e.className = `rt-row${run.archived ? ' archived' : ''}${run.name === this.open ? ' open' : ''}${run.name === state.hover ? ' hovered' : ''}`;
    row.box.checked = state.isSelected(run.name);
    row.box.setAttribute('aria-label', `Select ${run.display_name || run.name}`);
    for (let k = 0; k < row.cells.length; k++) this.columns[c0 + k].fill(row.cells[k], run);
  }

  /** Checkboxes follow the selection; the header's says whether every shown row is selected. */
  syncChecks() {
    const { state } = this.ctx;
    for (const b of this.canvas.querySelectorAll('input.rt-sel')) b.checked = state.isSelected(b.closest('.rt-row').dataset.run);
    if (!this.all) return;
    let on = 0;
    for (const r of this.view) if (state.isSelected(r.name)) on++;
    this.all.checked = !!this.view.length && on === this.view.length;
    this.all.indeterminate = on > 0 && on < this.view.length;
  }

  /** Selects (or deselects) `names`, as the sidebar's run list does. */
  select(names, on) {
    const { state } = this.ctx;
    const all = state.runNames();
    const sel = state.selection ? new Set(state.selection) : new Set(all);
    for (const n of names) if (on) sel.add(n); else sel.delete(n);
    state.set({ selection: all.every((r) => sel.has(r)) ? null : sel });
  }

  // ---- events ----

  bind() {
    const { state } = this.ctx;
    let typing = 0;
    const applyExpr = () => { clearTimeout(typing); if (this.expr.value !== this.opts().expr) this.setTable({ expr: this.expr.value }); };
    this.expr.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(applyExpr, 200); });
    this.expr.addEventListener('keydown', (e) => { if (e.key === 'Enter') applyExpr(); });
    this.archived.addEventListener('change', () => state.setting('archived', this.archived.checked));

    let filtering = 0;
    const applyFilter = (input) => {
      clearTimeout(filtering);
      const filters = { ...this.opts().filters };
      if (input.value.trim()) filters[input.dataset.col] = input.value; else delete filters[input.dataset.col];
      this.setTable({ filters: Object.freeze(filters) });
    };
    this.filterRow.addEventListener('input', (e) => {
      if (!e.target.matches('input.rt-colfilter')) return;
      clearTimeout(filtering);
      filtering = setTimeout(() => applyFilter(e.target), 200);
    });
    this.filterRow.addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.target.matches('input.rt-colfilter')) applyFilter(e.target); });

    this.headRow.addEventListener('click', (e) => {
      const th = e.target.closest('.rt-th[data-col]');
      if (!th) return;
      const id = th.dataset.col;
      const t = this.opts();
      this.setTable({ sort: t.sort === id ? `-${id}` : id });
    });
    this.headRow.addEventListener('change', (e) => {
      if (!e.target.matches('input.rt-all')) return;
      this.select(this.view.map((r) => r.name), e.target.checked);
    });

    this.canvas.addEventListener('change', (e) => {
      if (!e.target.matches('input.rt-sel')) return;
      this.select([e.target.closest('.rt-row').dataset.run], e.target.checked);
    });
    this.canvas.addEventListener('click', (e) => {
      if (e.target.closest('input, button, a')) return;
      const row = e.target.closest('.rt-row');
      if (row) this.openDetail(row.dataset.run);
    });
    this.canvas.addEventListener('mouseover', (e) => {
      const run = e.target.closest('.rt-row')?.dataset.run;
      if (run && state.hover !== run) state.set({ hover: run });
    });
    this.canvas.addEventListener('mouseleave', () => { if (state.hover) state.set({ hover: null }); });

    let frame = 0;
    this.scroll.addEventListener('scroll', () => {
      this.measure();
      if (frame) return;
      frame = requestAnimationFrame(() => { frame = 0; this.renderWindow(); });
    }, { passive: true });
    new ResizeObserver(() => { this.measure(); this.renderWindow(); }).observe(this.scroll);

    this.picker.addEventListener('toggle', () => { if (this.picker.open) this.buildPicker(); });
    this.picker.addEventListener('change', (e) => {
      if (e.target.matches('input[type=checkbox][data-col]')) this.pick(e.target.dataset.col, e.target.checked);
    });
  }

  // ---- the detail panel: one run, its edits ----

  async openDetail(name) {
    this.open = name;
    this.detail = this.rows.get(name) || null;
    for (const { el: row } of this.rowEls.values()) row.classList.toggle('open', row.dataset.run === name);
    this.renderDetail();
    try {
      const full = await getJson('api/v1/run', { run: name });
      if (this.open === name) { this.detail = full; this.renderDetail(); }
    } catch (e) {
      if (this.open === name) this.panelError('load', e);
    }
  }

  closeDetail() {
    this.open = null;
    this.detail = null;
    this.panel.hidden = true;
    this.panel.replaceChildren();
    for (const { el: row } of this.rowEls.values()) row.classList.remove('open');
  }

  /** Shows an API error next to the control `key`. */
  panelError(key, e) {
    const span = this.panel.querySelector(`.rt-err[data-for="${key}"]`);
    if (!span) return;
    span.textContent = e ? e.message : '';
    span.title = e ? `${e.code || 'error'}${e.status ? ` (HTTP ${e.status})` : ''}` : '';
    if (e?.code) span.dataset.code = e.code; else delete span.dataset.code;
  }

  /** Sends an edit; the answer updates the row, an error shows next to its control. */
  async patch(key, body) {
    const name = this.open;
    this.panelError(key, null);
    try {
      const run = await sendJson('PATCH', 'api/v1/run', { run: name }, body);
      // Saved: what the control holds is no longer a draft.
      const sel = { rename: '.rt-rename', notes: '.rt-notes-input' }[key];
      const input = sel && this.panel.querySelector(sel);
      if (input) input.dataset.orig = input.value;
      this.applyRun(run);
    } catch (e) {
      this.panelError(key, e);
    }
  }

  async remove() {
    const name = this.open;
    this.panelError('delete', null);
    try {
      await sendJson('DELETE', 'api/v1/run', { run: name }, {});
      this.runDeleted(name);
    } catch (e) {
      this.panelError('delete', e);
    }
  }

  renderDetail() {
    const r = this.detail;
    if (!this.open || !r) { this.panel.hidden = true; return; }
    // What the user is typing survives a refresh of the panel (an edit from another page).
    this.drafts ??= new Map();
    for (const [key, sel] of [['rename', '.rt-rename'], ['notes', '.rt-notes-input'], ['tag', '.rt-tag-input']]) {
      const input = this.panel.querySelector(sel);
      if (input && input.value !== input.dataset.orig) this.drafts.set(key, input.value);
      else if (input) this.drafts.delete(key);
    }
    const focused = document.activeElement && this.panel.contains(document.activeElement) ? document.activeElement.className : null;
    const err = (key) => el('span', { class: 'rt-err', dataset: { for: key }, role: 'status' });
    const field = (tag, draft, value, attrs) => {
      const input = el(tag, attrs);
      input.value = this.drafts.get(draft) ?? value;
      input.dataset.orig = value;
      return input;
    };

    const rename = field('input', 'rename', r.display_name || '', { class: 'rt-rename', placeholder: r.name, 'aria-label': 'Display name' });
    const saveName = () => this.patch('rename', { display_name: rename.value.trim() === '' ? null : rename.value });
    rename.addEventListener('keydown', (e) => { if (e.key === 'Enter') saveName(); });

    const tags = r.tags || [];
    const tagInput = field('input', 'tag', '', { class: 'rt-tag-input', placeholder: 'add a tag', 'aria-label': 'New tag' });
    const addTag = () => {
      const t = tagInput.value.trim();
      if (!t) return;
      this.drafts.delete('tag');
      tagInput.dataset.orig = tagInput.value;
      this.patch('tags', { tags: tags.includes(t) ? tags : [...tags, t] });
    };
    tagInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') addTag(); });

    const notes = field('textarea', 'notes', r.notes || '', { class: 'rt-notes-input', rows: '4', 'aria-label': 'Notes' });

    const confirm = el('div', { class: 'rt-confirm', hidden: true },
      el('span', {}, 'Delete ', el('b', { text: r.name }), '? Its stored data is removed; event files on disk stay.'),
      el('button', { type: 'button', class: 'rt-delete-confirm danger', onclick: () => this.remove() }, 'Delete run'),
      el('button', { type: 'button', class: 'rt-delete-cancel', onclick: () => { confirm.hidden = true; } }, 'Cancel'));

    const st = r.status || { state: 'unknown' };
    const rec = r.record || null;
    const facts = [
      ['status', el('span', { class: 'badge', dataset: { state: st.state || 'unknown' }, text: st.state || 'unknown', title: statusTitle(st) }),
        st.exit_code !== null && st.exit_code !== undefined ? ` exit code ${st.exit_code}` : '', st.message ? ` · ${st.message}` : ''],
      ['created', fmtTime(r.started_at)],
      ['duration', fmtDuration(F.duration(r))],
      ['host', r.host || ''],
      ['user', rec?.user || ''],
      ['commit', r.commit ? `${r.commit}${r.dirty ? ' (dirty)' : ''}` : ''],
      ['branch', rec?.git?.branch || ''],
      ['command', Array.isArray(rec?.command) ? rec.command.join(' ') : ''],
      ['cwd', rec?.cwd || ''],
    ].filter(([, ...v]) => v.some((x) => x !== ''));
    const kv = (obj) => el('dl', { class: 'rt-kv' }, Object.entries(obj || {}).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: fmtValue(apiNumber(v)) })]));

    this.panel.replaceChildren(...[
      el('div', { class: 'rt-detail-head' },
        el('h3', { class: 'rt-detail-title', text: r.display_name || r.name }),
        el('button', { type: 'button', class: 'rt-close', title: 'Close', 'aria-label': 'Close', onclick: () => this.closeDetail() }, '×')),
      el('div', { class: 'muted rt-detail-name', text: r.name }),
      r.archived ? el('div', { class: 'rt-archived-note', text: 'Archived: hidden from the lists unless "show archived" is on.' }) : null,
      el('div', { class: 'rt-field' }, el('label', { text: 'Display name' }),
        el('div', { class: 'rt-line' }, rename, el('button', { type: 'button', class: 'rt-rename-save', onclick: saveName }, 'Rename')), err('rename')),
      el('div', { class: 'rt-field' }, el('label', { text: 'Tags' }),
        el('div', { class: 'rt-chips' }, tags.map((t) => el('span', { class: 'chip', dataset: { tag: t } }, t,
          el('button', { type: 'button', class: 'rt-tag-remove', title: `Remove ${t}`, 'aria-label': `Remove tag ${t}`, onclick: () => this.patch('tags', { tags: tags.filter((x) => x !== t) }) }, '×')))),
        el('div', { class: 'rt-line' }, tagInput, el('button', { type: 'button', class: 'rt-tag-add', onclick: addTag }, 'Add')), err('tags')),
      el('div', { class: 'rt-field' }, el('label', { text: 'Notes' }), notes,
        el('div', { class: 'rt-line' }, el('button', { type: 'button', class: 'rt-notes-save', onclick: () => this.patch('notes', { notes: notes.value }) }, 'Save notes')),
        err('notes'),
        el('div', { class: 'rt-notes-view', text: r.notes || '' })),
      el('div', { class: 'rt-field rt-actions' },
        el('button', { type: 'button', class: 'rt-archive', onclick: () => this.patch('archive', { archived: !r.archived }) }, r.archived ? 'Restore' : 'Archive'),
        err('archive'),
        el('button', { type: 'button', class: 'rt-delete danger', onclick: () => { confirm.hidden = false; } }, 'Delete…'),
        err('delete')),
      confirm,
      err('load'),
      el('dl', { class: 'rt-kv' }, facts.flatMap(([k, ...v]) => [el('dt', { text: k }), el('dd', {}, v)])),
      Object.keys(r.config || {}).length ? el('div', {}, el('h4', { text: 'Config' }), kv(r.config)) : null,
      Object.keys(r.summary || {}).length ? el('div', {}, el('h4', { text: 'Summary' }), kv(r.summary)) : null,
    ].filter(Boolean));
    this.panel.hidden = false;
    if (focused) this.panel.querySelector(`.${focused.split(' ')[0]}`)?.focus();
  }
}
