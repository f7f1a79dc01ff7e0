// The hparams pane: a sortable table of runs × hyperparameters × final metrics, and the same
// runs as lines over parallel coordinates; hovering a row highlights its run's line.

import { fmt, withAlpha } from './chart.js';
import { cssVar, el } from './util.js';

/** The most metric columns shown (the tags most hparam runs have). */
const MAX_METRICS = 12;

export class HParamsView {
  constructor(ctx) {
    this.ctx = ctx;
    this.el = el('section', { class: 'pane', dataset: { pane: 'hparams' } });
    this.sort = { col: 'run', dir: 1 };
    this.pending = 0;
    this.drawParallel = null;
    const { state } = ctx;
    state.subscribe(['runs', 'series', 'selection', 'settings.tagFilter', 'settings.runFilter', 'settings.tab',
      'settings.groupBy', 'settings.groupRegex'], () => this.sync());
    state.subscribe(['hover'], () => {
      for (const tr of this.el.querySelectorAll('.hp-table tbody tr')) tr.classList.toggle('hovered', tr.dataset.run === state.hover);
      this.drawParallel?.();
    });
  }

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

  /** The scalar tags of the hparam runs, those most of them have first. */
  metrics(runs) {
    const have = new Map();
    const set = new Set(runs);
    for (const s of this.ctx.state.series.values()) {
      if (s.kind !== 'scalar' || !set.has(s.run) || s.tag.startsWith('system/') || !this.ctx.state.tagMatches(s.tag)) continue;
      have.set(s.tag, (have.get(s.tag) || 0) + 1);
    }
    return [...have].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, MAX_METRICS).map((e) => e[0]);
  }

  /** Rebuilds the table (data changed, or the pane was shown). */
  sync() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.render(), 100);
  }

  async render() {
    if (!this.el.isConnected || this.el.hidden) return;
    const runs = this.runs();
    if (!runs.length) {
      this.el.replaceChildren(el('div', { class: 'empty' },
        el('h2', { text: 'No hyperparameters yet' }),
        el('p', {}, 'Runs that log hyperparameters (', el('code', { text: 'writer.add_hparams(&[("lr", 0.1.into())], &[])' }),
          ', or TensorBoard\'s hparams plugin) appear here with their final metrics.')));
      return;
    }
    const { state } = this.ctx;
    const keys = [...new Set(runs.flatMap((r) => Object.keys(state.runs.get(r).hparams)))].sort();
    const metrics = this.metrics(runs);
    const entries = await Promise.all(metrics.map((t) => this.ctx.scalars.load(t).catch(() => null)));
    const rows = runs.map((run) => {
      const row = { run, values: {} };
      for (const k of keys) row.values[`h:${k}`] = state.runs.get(run).hparams[k];
      metrics.forEach((t, i) => {
        const s = entries[i]?.runs.get(run);
        row.values[`m:${t}`] = s?.length ? s.values[s.length - 1] : undefined;
      });
      return row;
    });
    const cols = [
      { id: 'run', label: 'run' },
      ...keys.map((k) => ({ id: `h:${k}`, label: k })),
      ...metrics.map((t) => ({ id: `m:${t}`, label: t, metric: true })),
    ];
    const value = (row, id) => (id === 'run' ? row.run : row.values[id]);
    const { col, dir } = this.sort;
    rows.sort((a, b) => {
      const x = value(a, col);
      const y = value(b, col);
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
      return String(x).localeCompare(String(y), undefined, { numeric: true }) * dir;
    });
    const head = el('tr', {}, cols.map((c) => el('th', {
      class: c.metric ? 'metric' : '',
      'aria-sort': c.id === col ? (dir > 0 ? 'ascending' : 'descending') : 'none',
      title: c.metric ? `${c.label}: last logged value` : c.label,
      text: c.label,
      onclick: () => {
        this.sort = { col: c.id, dir: c.id === col ? -dir : 1 };
        this.render();
      },
    })));
    const body = rows.map((row) => el('tr', {
      dataset: { run: row.run },
      class: row.run === state.hover ? 'hovered' : null,
      onmouseenter: () => state.set({ hover: row.run }),
      onmouseleave: () => { if (state.hover === row.run) state.set({ hover: null }); },
    }, cols.map((c) => {
      const v = value(row, c.id);
      if (c.id === 'run') {
        return el('td', {}, el('span', { class: 'sw', style: `background:${state.colorOf(row.run)}` }), row.run);
      }
      return el('td', { text: typeof v === 'number' ? fmt(v) : v === undefined ? '–' : String(v) });
    })));
    const canvas = el('canvas', { class: 'parallel' });
    this.el.replaceChildren(
      ...groupCard(state, rows, keys, metrics),
      el('div', { class: 'card wide' },
        el('div', { class: 'card-head' }, el('span', { class: 'card-title', text: `Hyperparameters · ${rows.length} runs` })),
        el('div', { class: 'hp-scroll' }, el('table', { class: 'hp-table' }, el('thead', {}, head), el('tbody', {}, body)))),
      el('div', { class: 'card wide' },
        el('div', { class: 'card-head' }, el('span', { class: 'card-title', text: 'Parallel coordinates' })),
        canvas));
    this.drawParallel = () => parallel(canvas, cols.slice(1), rows, value, state);
    requestAnimationFrame(this.drawParallel);
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
 * The hparams grouped as the charts are: a row per group with its runs' count, the values of
 * each hyperparameter they share (else "mixed") and each metric's mean ± std over the runs'
 * last values. Nothing when the page does not group runs.
 */
function groupCard(state, rows, keys, metrics) {
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
    ...keys.map((k) => el('th', { text: k })),
    ...metrics.map((t) => el('th', { class: 'metric', title: `${t}: mean ± std of the runs' last values`, text: t })),
  ]);
  const body = [...groups].map(([key, members]) => {
    const shared = keys.map((k) => {
      const vs = new Set(members.map((r) => JSON.stringify(r.values[`h:${k}`])));
      const v = members[0].values[`h:${k}`];
      return vs.size === 1 ? (typeof v === 'number' ? fmt(v) : String(v ?? '–')) : 'mixed';
    });
    const stats = metrics.map((t) => meanStd(members.map((r) => r.values[`m:${t}`])));
    return el('tr', { dataset: { group: key } }, [
      el('td', { text: key }), el('td', { text: String(members.length) }),
      ...shared.map((v) => el('td', { text: v })),
      ...stats.map((s) => el('td', s ? { text: `${fmt(s.mean)} ± ${fmt(s.std)}`, dataset: { mean: String(s.mean), std: String(s.std), n: String(s.n) } } : { text: '–' })),
    ]);
  });
  return [el('div', { class: 'card wide' },
    el('div', { class: 'card-head' }, el('span', { class: 'card-title', text: `Groups · ${groups.size}` })),
    el('div', { class: 'hp-scroll' }, el('table', { class: 'hp-table hp-groups' }, el('thead', {}, head), el('tbody', {}, body))))];
}

/** Draws each row as a line across one vertical axis per column, in its run's colour (the
 * hovered run's wide and on top, the others faint). */
function parallel(canvas, cols, rows, value, state) {
  if (!cols.length) return;
  const dpr = devicePixelRatio || 1;
  const width = canvas.clientWidth || 800;
  const height = canvas.clientHeight || 320;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  const top = 30;
  const bottom = height - 24;
  const left = 40;
  const step = cols.length > 1 ? (width - 2 * left) / (cols.length - 1) : 0;
  const scales = cols.map((c) => {
    const vs = rows.map((r) => value(r, c.id)).filter((v) => v !== undefined && v !== null);
    const finite = vs.filter((v) => typeof v === 'number' && Number.isFinite(v));
    if (finite.length && vs.every((v) => typeof v === 'number')) {
      // Numbers (NaN and ±Inf are left off the axis).
      const lo = Math.min(...finite);
      const hi = Math.max(...finite);
      const span = hi - lo || 1;
      return { pos: (v) => bottom - ((v - (hi === lo ? lo - 0.5 : lo)) / (hi === lo ? 1 : span)) * (bottom - top), lo: fmt(lo), hi: fmt(hi) };
    }
    const cats = [...new Set(vs.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    return {
      pos: (v) => bottom - ((cats.indexOf(String(v)) + 0.5) / Math.max(1, cats.length)) * (bottom - top),
      lo: cats[0] ?? '',
      hi: cats[cats.length - 1] ?? '',
    };
  });
  g.font = '11px sans-serif';
  g.strokeStyle = cssVar('--border');
  g.fillStyle = cssVar('--muted');
  cols.forEach((c, i) => {
    const x = left + i * step;
    g.beginPath();
    g.moveTo(x, top);
    g.lineTo(x, bottom);
    g.stroke();
    const label = c.label.length > 18 ? `${c.label.slice(0, 17)}…` : c.label;
    g.fillText(label, Math.max(0, x - g.measureText(label).width / 2), 14);
    g.fillText(String(scales[i].hi), x + 3, top + 10);
    g.fillText(String(scales[i].lo), x + 3, bottom + 14);
  });
  const hover = rows.some((r) => r.run === state.hover) ? state.hover : null;
  const ordered = hover ? [...rows.filter((r) => r.run !== hover), ...rows.filter((r) => r.run === hover)] : rows;
  for (const row of ordered) {
    const mine = row.run === hover;
    g.lineWidth = mine ? 3 : 1.5;
    g.strokeStyle = withAlpha(state.colorOf(row.run), hover && !mine ? 0.2 : 0.85);
    g.beginPath();
    let pen = false;
    cols.forEach((c, i) => {
      const v = value(row, c.id);
      if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) { pen = false; return; }
      const x = left + i * step;
      const y = scales[i].pos(v);
      if (pen) g.lineTo(x, y); else g.moveTo(x, y);
      pen = true;
    });
    g.stroke();
  }
}
