// The compare view: two or more runs side by side (`/api/v1/run` for each): the config keys and
// the run's metadata (git, host, command, versions) whose values differ between them ("show
// all" shows the equal ones too), each metric's best and last value, and their charts overlaid
// (the scalars pane's cards, given these runs). Which runs is in the URL (`cmp=`), so a link
// reproduces the view. Everything the runs logged is shown as text.

import { getJson } from './api.js';
import { fmt, plural } from './chart.js';
import { el, num } from './util.js';

/** The most runs compared at once (a table column each). */
export const MAX_COMPARED = 16;

/** How soon after a change of the runs their details are fetched again. */
const REFETCH_MS = 1000;

/** The runs of a link: `cmp=a&cmp=b`, and `cmpall=1` for every value. */
export function readCompareUrl(q) {
  const runs = [...new Set(q.getAll('cmp').filter((r) => r !== ''))].slice(0, MAX_COMPARED);
  const out = { compare: Object.freeze(runs) };
  if (q.get('cmpall') === '1') out.compareAll = true;
  return out;
}

export function writeCompareUrl(q, s) {
  if (!s.compare.length) return;
  for (const r of s.compare) q.append('cmp', r);
  if (s.compareAll) q.set('cmpall', '1');
}

/** The "Compare" button: compares the shown runs (2 to `MAX_COMPARED` of them). */
export function bindCompareButton(state, button) {
  const update = () => {
    const n = state.chartRuns().length;
    button.disabled = n < 2 || n > MAX_COMPARED;
    button.title = n < 2 ? 'Select two or more runs to compare them'
      : n > MAX_COMPARED ? `Select at most ${MAX_COMPARED} runs to compare them` : `Compare the ${n} selected runs`;
  };
  button.addEventListener('click', () => {
    const runs = state.chartRuns();
    if (runs.length < 2 || runs.length > MAX_COMPARED) return;
    state.set({ settings: { ...state.settings, compare: Object.freeze(runs), tab: 'compare' } });
  });
  state.subscribe(['runs', 'selection', 'settings.runFilter'], update);
  update();
}

/** A value as text: strings as they are, lists of words joined (a command line), others as JSON. */
function text(v) {
  if (v === undefined) return '';
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(' ');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The same value, compared structurally (key order aside). */
function same(a, b) {
  return canonical(a) === canonical(b);
}

function canonical(v) {
  if (v === undefined) return '\u0000missing';
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return JSON.stringify(v);
}

/** The order of the record's fields in the table: git first, then where and how it ran. */
const META_ORDER = ['git.commit', 'git.branch', 'git.dirty', 'git.remote', 'git.diff', 'host', 'user', 'command', 'cwd', 'pid'];

/**
 * A run's metadata as `[field, value]` rows: its status and tags, then its record flattened
 * (`git.commit`, `versions.rustc`), leaving out the config (its own table) and the schema. A
 * git diff is shown by its size (and compared whole).
 */
function metadata(d) {
  const rows = new Map();
  rows.set('status', d.status?.exit_code !== null && d.status?.exit_code !== undefined
    ? `${d.status.state} (exit ${d.status.exit_code})` : d.status?.state);
  if (d.tags?.length) rows.set('tags', d.tags.join(', '));
  const walk = (prefix, obj) => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (!prefix && (k === 'config' || k === 'schema')) continue;
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(key, v);
      else rows.set(key, v);
    }
  };
  if (d.record && typeof d.record === 'object') {
    walk('', d.record);
  } else {
    if (d.host) rows.set('host', d.host);
    if (d.commit) rows.set('git.commit', d.commit);
    if (d.dirty !== null && d.dirty !== undefined) rows.set('git.dirty', d.dirty);
  }
  return rows;
}

const metaRank = (k) => {
  const i = META_ORDER.indexOf(k);
  return i < 0 ? META_ORDER.length : i;
};

/** How a value of field `key` is shown in a cell (a diff by its size). */
function cellText(key, v) {
  if (key === 'git.diff' && typeof v === 'string') {
    const lines = v ? v.split('\n').length : 0;
    return v ? `${plural(lines, 'line')} of diff` : 'none';
  }
  return text(v);
}

export class CompareView {
  /** `charts`: a scalars view drawing the compared runs (`compareRuns()`). */
  constructor(ctx, charts) {
    this.ctx = ctx;
    this.charts = charts;
    this.details = new Map(); // run → the detail of `/api/v1/run`, or {error}
    this.key = null; // the runs whose details are (being) fetched
    this.timer = 0;
    this.head = el('div', { class: 'compare-head' });
    this.tables = el('div', { class: 'compare-tables' });
    this.el = el('section', { class: 'pane compare', dataset: { pane: 'compare' } },
      this.head, this.tables, el('h3', { class: 'compare-charts-title', text: 'Charts' }), charts.el);
    const { state } = ctx;
    state.subscribe(['settings.compare', 'settings.tab'], () => this.sync());
    state.subscribe(['settings.compareAll'], () => this.render());
    // A run's status, tags or config changed: its details are fetched again.
    state.subscribe(['runs'], () => {
      if (!this.shownNow()) return;
      const before = this.key;
      this.sync();
      if (this.key === before) this.refetchSoon();
    });
  }

  /** The runs compared, as the link names them. */
  compareRuns() {
    return [...this.ctx.state.settings.compare];
  }

  count() {
    const n = this.ctx.state.settings.compare.length;
    return n >= 2 ? n : 0;
  }

  shownNow() {
    return this.ctx.state.settings.tab === 'compare';
  }

  resize() {
    this.charts.resize();
  }

  /** Fetches the details of the compared runs when the view shows them and they changed. */
  sync() {
    if (!this.shownNow()) return;
    const key = this.compareRuns().join('\u0000');
    if (key === this.key) return;
    this.key = key;
    this.fetch();
  }

  refetchSoon() {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = 0; this.fetch(); }, REFETCH_MS);
  }

  async fetch() {
    const runs = this.compareRuns();
    const key = runs.join('\u0000');
    if (!runs.length) { this.details = new Map(); this.render(); return; }
    if (!this.details.size) this.render(true);
    const got = await Promise.all(runs.map((run) => getJson('api/v1/run', { run }).catch((error) => ({ error }))));
    if (key !== this.compareRuns().join('\u0000')) return; // other runs asked for meanwhile
    this.details = new Map(runs.map((r, i) => [r, got[i]]));
    this.render();
  }

  /** Removes `run` from the comparison. */
  drop(run) {
    const { state } = this.ctx;
    state.setting('compare', Object.freeze(state.settings.compare.filter((r) => r !== run)));
  }

  render(loading = false) {
    const { state } = this.ctx;
    const runs = this.compareRuns();
    const all = state.settings.compareAll;
    const showAll = el('input', { type: 'checkbox', id: 'compare-all' });
    showAll.checked = all;
    showAll.addEventListener('change', () => state.setting('compareAll', showAll.checked));
    this.head.replaceChildren(
      el('div', { class: 'compare-runs' }, runs.length < 2
        ? el('span', { class: 'muted', text: 'Select two or more runs in the sidebar and press Compare.' })
        : runs.map((run) => el('span', { class: 'compare-run', dataset: { run } },
          el('span', { class: 'sw', style: `background:${state.colorOf(run)}` }),
          el('span', { class: 'name', text: run }),
          el('button', { type: 'button', class: 'drop', title: `Leave ${run} out`, text: '×', onclick: () => this.drop(run) })))),
      el('label', { class: 'check' }, showAll, ' Show all (equal values too)'));
    if (loading || runs.length < 2) {
      this.tables.replaceChildren(runs.length < 2 ? '' : el('p', { class: 'muted', text: 'loading…' }));
      return;
    }
    const ok = runs.filter((r) => this.details.get(r) && !this.details.get(r).error);
    const failed = runs.filter((r) => !ok.includes(r));
    const notes = failed.map((r) => el('p', { class: 'notice', dataset: { run: r } },
      `Could not load ${r}: ${this.details.get(r)?.error?.message ?? 'no answer'}`));
    const d = ok.map((r) => this.details.get(r));
    const config = this.diffTable('config', 'Config', ok, d.map((x) => new Map(Object.entries(x.config || {}))), all,
      (a, b) => a.localeCompare(b));
    const meta = this.diffTable('meta', 'Run', ok, d.map(metadata), all,
      (a, b) => metaRank(a) - metaRank(b) || a.localeCompare(b));
    this.tables.replaceChildren(...notes, config, meta, this.metricsTable(ok, d));
  }

  /**
   * A table of `fields` (per run, a Map field → value) with a column per run: the fields whose
   * values differ between the runs (a run without the field differs), or all of them with
   * `all` (the differing ones marked).
   */
  diffTable(id, title, runs, fields, all, order) {
    const keys = [...new Set(fields.flatMap((f) => [...f.keys()]))].sort(order);
    const differs = (k) => fields.some((f) => !same(f.get(k), fields[0].get(k)));
    const shown = keys.filter((k) => all || differs(k));
    const hidden = keys.length - shown.length;
    const caption = `${title}: ${plural(keys.filter(differs).length, 'value differs', 'values differ')}${hidden ? ` · ${hidden} equal hidden` : ''}`;
    const table = el('table', { class: 'compare-table', dataset: { table: id } },
      el('caption', { text: caption }),
      el('thead', {}, el('tr', {}, el('th', { text: 'key' }), runs.map((r) => el('th', { text: r })))),
      el('tbody', {}, shown.length ? shown.map((k) => el('tr', { dataset: { key: k }, class: differs(k) ? 'differs' : null },
        el('th', { text: k }),
        fields.map((f) => el('td', { class: f.has(k) ? null : 'missing', text: f.has(k) ? cellText(k, f.get(k)) : '—' }))))
        : el('tr', {}, el('td', { colspan: String(runs.length + 1), class: 'muted', text: keys.length ? 'All equal.' : 'None recorded.' }))));
    return el('div', { class: 'compare-block' }, table);
  }

  /** Each metric's best value (by its goal) and last value, per run; the best run's in bold. */
  metricsTable(runs, details) {
    const tags = [...new Set(details.flatMap((d) => Object.keys(d.metrics || {})))].sort();
    const rows = tags.map((tag) => {
      const ms = details.map((d) => d.metrics?.[tag]);
      const goal = ms.find((m) => m?.goal)?.goal;
      const best = ms.map((m) => (m?.best === null || m?.best === undefined ? null : num(m.best)));
      const finite = best.filter((b) => b !== null && Number.isFinite(b));
      const top = !finite.length ? null : goal === 'max' ? Math.max(...finite) : Math.min(...finite);
      return el('tr', { dataset: { metric: tag } }, el('th', { text: tag }, goal ? el('span', { class: 'muted', text: ` (${goal})` }) : null),
        ms.map((m, i) => el('td', { class: best[i] !== null && best[i] === top ? 'best' : null, dataset: { run: runs[i] } }, m
          ? [...(best[i] !== null ? [el('span', { class: 'best-value', text: `best ${fmt(best[i])} @ ${m.best_step}` }), ' · '] : []),
            `last ${fmt(num(m.last))} @ ${m.last_step}`]
          : '—')));
    });
    return el('div', { class: 'compare-block' }, el('table', { class: 'compare-table', dataset: { table: 'metrics' } },
      el('caption', { text: `Metrics: ${plural(tags.length, 'metric')}, best and last` }),
      el('thead', {}, el('tr', {}, el('th', { text: 'metric' }), runs.map((r) => el('th', { text: r })))),
      el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: String(runs.length + 1), class: 'muted', text: 'No metrics.' })))));
  }
}
