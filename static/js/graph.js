// The Graphs tab: a run's model graph (`/api/v1/graph`), its name scopes collapsed until clicked
// (an open scope is a box around its children; clicking its header closes it), laid out by
// dagre (vendored) and drawn as SVG with zoom (wheel) and pan (drag). Search lists the ops
// whose names match; picking one opens the scopes around it and marks it. Clicking an op shows
// its op, device, output shapes, attributes and inputs. Every name is set as text.
//
//   state.series (runs with `__run_graph__` or `__meta_graph__`) ──► run menu ──► GET graph?run=&open=…&find= ──► layout ──► SVG

import { Graph, layout } from '../vendor/dagre/dagre.esm.js';
import { getJson } from './api.js';
import { sanitizedFragment } from './panels.js';
import { el } from './util.js';

/** The tag a run's graph is kept under. */
export const GRAPH_TAG = '__run_graph__';
/** A run's meta graph (`Event.meta_graph_def`): its graph is served when the run has no other. */
export const META_GRAPH_TAG = '__meta_graph__';
/** The text tag of a model summary (the SDK's `add_model_summary`), shown above the graph. */
export const SUMMARY_TAG = 'model/summary';
/** The plugin of run metadata (per-node compute time and memory, under its own tag). */
const RUN_METADATA_PLUGIN = 'graph_tagged_run_metadata';

/** `n` bytes for people. */
function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes (null and undefined left out) and children. */
function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

/** A shape as people write it: `[1, 3, -1]` → `1×3×?`; an unknown rank `?`. */
export function fmtShape(shape) {
  if (!Array.isArray(shape)) return '?';
  return shape.length ? shape.map((d) => (d < 0 ? '?' : String(d))).join('×') : 'scalar';
}

/** Every enclosing scope of a node name, outermost first (`a/b/c` → `a`, `a/b`). */
export function scopesOf(name) {
  const parts = name.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** The pixel width of a node whose label is `text`. */
const widthOf = (text) => Math.min(260, Math.max(70, 16 + 7 * text.length));

export class GraphView {
  constructor(ctx) {
    this.ctx = ctx;
    this.run = null;
    /** The open scopes. */
    this.open = new Set();
    /** A node to mark (found by search). */
    this.marked = null;
    this.data = null;
    this.loading = 0;
    this.timings = {};
    this.select = el('select', { class: 'graph-run', 'aria-label': 'Run' });
    this.search = el('input', {
      type: 'search', class: 'graph-search', placeholder: 'find a node by name', spellcheck: 'false', autocomplete: 'off',
      'aria-label': 'Find a node',
    });
    this.colorBy = el('select', { class: 'graph-color', 'aria-label': 'Colour nodes by', hidden: true });
    this.info = el('span', { class: 'graph-info muted' });
    this.matches = el('ul', { class: 'graph-matches' });
    this.svg = svg('svg', { class: 'graph-svg', role: 'img', 'aria-label': 'Model graph' });
    this.detail = el('aside', { class: 'graph-detail', hidden: true });
    this.message = el('div', { class: 'graph-message muted' });
    /** The run's model summary (its latest), when it logged one. */
    this.summary = el('details', { class: 'graph-summary', open: true, hidden: true }, el('summary', { text: 'Model summary' }), el('div', { class: 'text-body' }));
    this.summaryRun = null;
    this.el = el('section', { class: 'pane', dataset: { pane: 'graphs' } },
      el('div', { class: 'graph-toolbar' }, this.select, this.search, this.colorBy, this.info),
      this.matches, this.message, this.summary,
      el('div', { class: 'graph-body' }, this.svg, this.detail));
    this.el.graphView = this;
    this.view = null; // the SVG viewBox [x, y, w, h]

    this.select.addEventListener('change', () => {
      this.run = this.select.value;
      this.open.clear();
      this.marked = null;
      this.syncProfiles();
      this.load();
    });
    this.colorBy.addEventListener('change', () => this.load());
    let typing = 0;
    this.search.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => this.load(), 200); });
    this.matches.addEventListener('click', (e) => {
      const li = e.target.closest('li[data-name]');
      if (li) this.reveal(li.dataset.name);
    });
    this.svg.addEventListener('click', (e) => this.clicked(e));
    this.svg.addEventListener('wheel', (e) => this.zoom(e), { passive: false });
    this.svg.addEventListener('pointerdown', (e) => this.pan(e));
    ctx.state.subscribe(['series'], () => this.syncRuns());
    ctx.state.subscribe(['settings.tab'], () => { if (this.shown() && !this.data) this.load(); });
  }

  shown() { return this.ctx.state.settings.tab === 'graphs'; }

  /** Runs with a graph, in the server's order. */
  runs() {
    const out = [];
    for (const s of this.ctx.state.series.values()) {
      if ((s.tag === GRAPH_TAG || s.tag === META_GRAPH_TAG) && s.plugin === 'graphs' && !out.includes(s.run)) out.push(s.run);
    }
    return out;
  }

  count() { return this.runs().length; }

  syncRuns() {
    const runs = this.runs();
    if (runs.join('\u0000') !== [...this.select.options].map((o) => o.value).join('\u0000')) {
      this.select.replaceChildren(...runs.map((r) => el('option', { value: r, text: r })));
    }
    if (!runs.includes(this.run)) {
      this.run = runs[0] ?? null;
      this.open.clear();
      this.data = null;
    }
    if (this.run) this.select.value = this.run;
    this.syncProfiles();
    if (this.shown() && !this.data) this.load();
  }

  /** The colourings the run's metadata offers: compute time and memory per tag. */
  syncProfiles() {
    const tags = [];
    for (const s of this.ctx.state.series.values()) {
      if (s.run === this.run && s.plugin === RUN_METADATA_PLUGIN && !tags.includes(s.tag)) tags.push(s.tag);
    }
    const values = ['', ...tags.flatMap((t) => [`time:${t}`, `memory:${t}`])];
    if (values.join('\u0000') !== [...this.colorBy.options].map((o) => o.value).join('\u0000')) {
      const keep = this.colorBy.value;
      this.colorBy.replaceChildren(el('option', { value: '', text: 'no colour' }),
        ...tags.flatMap((t) => [
          el('option', { value: `time:${t}`, text: `compute time (${t})` }),
          el('option', { value: `memory:${t}`, text: `memory (${t})` }),
        ]));
      this.colorBy.value = values.includes(keep) ? keep : '';
    }
    this.colorBy.hidden = !tags.length;
  }

  /** Fetches the view of the open scopes (and the search's matches) and draws it. */
  async load() {
    if (!this.run) {
      this.message.textContent = 'No run has a model graph (log one with add_graph / add_graph_def).';
      return;
    }
    const ticket = ++this.loading;
    this.timings.fetchStart = performance.now();
    const find = this.search.value.trim();
    let data;
    try {
      const [, profile] = this.colorBy.value.split(':');
      data = await getJson('api/v1/graph', { run: this.run, open: [...this.open].sort(), find: find || null, profile: profile || null });
    } catch (e) {
      if (ticket === this.loading) this.message.textContent = `Could not load the graph: ${e.message}`;
      return;
    }
    if (ticket !== this.loading) return;
    this.message.textContent = '';
    this.data = data;
    this.loadSummary();
    this.renderMatches(find);
    this.render();
    this.timings.drawn = performance.now();
    this.el.dataset.drawn = String(ticket);
  }

  /** The run's model summary table, fetched once per run (escaped and sanitised as the Text
   * tab shows text). */
  async loadSummary() {
    const run = this.run;
    if (this.summaryRun === run) return;
    this.summaryRun = run;
    const has = this.ctx.state.series.get(`${run}\u0000${SUMMARY_TAG}`)?.kind === 'text';
    this.summary.hidden = true;
    if (!has) return;
    try {
      const rows = await getJson('api/v1/text', { run, tag: SUMMARY_TAG });
      if (run !== this.run || !rows.length) return;
      this.summary.lastElementChild.replaceChildren(sanitizedFragment(rows[rows.length - 1].html));
      this.summary.hidden = false;
    } catch {
      this.summaryRun = null; // tried again with the next drawing
    }
  }

  renderMatches(find) {
    const m = this.data.matches || [];
    this.matches.replaceChildren(...m.map((name) => el('li', { dataset: { name }, tabindex: '0', text: name })));
    this.matches.hidden = !find;
    if (find && !m.length) this.matches.replaceChildren(el('li', { class: 'muted', text: 'no node matches' }));
  }

  /** Opens the scopes around `name`, marks it, and draws. */
  reveal(name) {
    for (const s of scopesOf(name)) this.open.add(s);
    this.marked = name;
    this.load();
  }

  /** Lays the view out and draws it. */
  render() {
    const { nodes, edges, total_ops: total } = this.data;
    const g = new Graph({ compound: true, multigraph: false });
    g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 48, marginx: 16, marginy: 40 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) {
      const text = n.kind === 'scope' && !n.open ? `${n.label} (${n.ops})` : n.label;
      g.setNode(n.name, n.open ? { node: n, text } : { node: n, text, width: widthOf(text), height: 34 });
    }
    for (const n of nodes) if (n.parent) g.setParent(n.name, n.parent);
    for (const e of edges) g.setEdge(e.from, e.to, { edge: e });
    layout(g);

    // Colour: the chosen measure against the largest among the nodes shown.
    const measure = this.colorBy.value.split(':')[0];
    const key = measure === 'time' ? 'time_us' : measure === 'memory' ? 'memory_bytes' : null;
    const top = key ? Math.max(0, ...nodes.filter((n) => !n.open).map((n) => n[key] ?? 0)) : 0;
    const fill = (n) => (key && top > 0 && n[key] != null ? `hsl(8, 85%, ${Math.round(96 - 46 * (n[key] / top))}%)` : null);
    const measured = (n) => [
      n.time_us != null ? `compute time: ${n.time_us} µs` : '',
      n.memory_bytes != null ? `memory: ${fmtBytes(n.memory_bytes)}` : '',
    ].filter(Boolean).join('\n');
    const clusters = svg('g', { class: 'g-clusters' });
    const lines = svg('g', { class: 'g-edges' });
    const boxes = svg('g', { class: 'g-nodes' });
    for (const name of g.nodes()) {
      const d = g.node(name);
      const n = d.node;
      const x = d.x - d.width / 2;
      const y = d.y - d.height / 2;
      if (n.open) {
        // dagre's box holds the children; its header goes on top of it (ranks are far enough
        // apart), so that it covers none of them.
        const head = 24;
        clusters.append(svg('g', { class: 'g-cluster', 'data-name': name, 'data-kind': 'scope', 'data-open': 'true' },
          svg('rect', { x, y: y - head, width: d.width, height: d.height + head, rx: 6 }),
          svg('rect', { x, y: y - head, width: d.width, height: head, rx: 6, class: 'g-cluster-head', 'data-close': 'true' }),
          svg('text', { x: x + 8, y: y - head + 17, class: 'g-cluster-label' }, `▾ ${n.label}`),
          svg('title', {}, `${name}: ${n.ops} ops (click the header to close)`)));
        continue;
      }
      const classes = ['g-node', `g-${n.kind}`, name === this.marked ? 'marked' : ''].join(' ').trim();
      const title = (n.kind === 'scope'
        ? `${name}: ${n.ops} ops (click to open)`
        : `${name}\nop: ${n.op}${n.device ? `\ndevice: ${n.device}` : ''}${n.shapes?.length ? `\noutputs: ${n.shapes.map(fmtShape).join(', ')}` : ''}`)
        + (measured(n) ? `\n${measured(n)}` : '');
      const color = fill(n);
      boxes.append(svg('g', { class: classes, 'data-name': name, 'data-kind': n.kind, 'data-time': n.time_us, 'data-memory': n.memory_bytes },
        svg('rect', { x, y, width: d.width, height: d.height, rx: n.kind === 'op' ? 16 : 4, style: color ? `fill:${color}` : null }),
        svg('text', { x: d.x, y: d.y + 4, 'text-anchor': 'middle' }, d.text),
        svg('title', {}, title)));
    }
    for (const key of g.edges()) {
      const d = g.edge(key);
      const e = d.edge;
      const pts = d.points.map((p) => `${p.x},${p.y}`).join(' ');
      const label = e.shapes?.length ? e.shapes.map(fmtShape).join(', ') : '';
      const mid = d.points[Math.floor(d.points.length / 2)];
      lines.append(svg('g', { class: `g-edge${e.control ? ' control' : ''}`, 'data-from': e.from, 'data-to': e.to },
        svg('polyline', { points: pts, 'marker-end': 'url(#g-arrow)' }),
        label || e.count > 1 ? svg('text', { x: mid.x + 4, y: mid.y, class: 'g-edge-label' }, `${label}${e.count > 1 ? ` ×${e.count}` : ''}`) : '',
        svg('title', {}, `${e.from} → ${e.to}: ${e.count} input${e.count === 1 ? '' : 's'}${label ? ` (${label})` : ''}`)));
    }
    const defs = svg('defs', {}, svg('marker', { id: 'g-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' })));
    this.svg.replaceChildren(defs, clusters, lines, boxes);
    // At its natural size (one unit a pixel), centred across and from the top; a graph larger
    // than the box is fitted.
    const size = g.graph();
    const box = this.svg.getBoundingClientRect();
    const [gw, gh] = [Math.max(size.width || 0, 1), Math.max(size.height || 0, 1)];
    const scale = Math.max(1, gw / Math.max(1, box.width), gh / Math.max(1, box.height));
    const [w, h] = [Math.max(1, box.width) * scale, Math.max(1, box.height) * scale];
    this.view = [(gw - w) / 2, 0, w, h];
    this.svg.setAttribute('viewBox', this.view.join(' '));
    this.info.textContent = `${nodes.filter((n) => !n.open).length} nodes shown of ${total} ops; click a scope to open it`
      + (key ? `; darker: more ${measure === 'time' ? `compute time (most ${top} µs)` : `memory (most ${fmtBytes(top)})`}` : '');
  }

  clicked(e) {
    const g = e.target.closest('[data-name]');
    if (!g || this.dragged) return;
    const name = g.dataset.name;
    if (g.dataset.open === 'true') {
      if (!e.target.closest('[data-close]')) return; // inside a cluster: only its header closes it
      // Closing a scope closes the ones inside it.
      for (const s of [...this.open]) if (s === name || s.startsWith(`${name}/`)) this.open.delete(s);
      this.load();
    } else if (g.dataset.kind === 'scope') {
      this.open.add(name);
      this.load();
    } else {
      this.showDetail(this.data.nodes.find((n) => n.name === name));
    }
  }

  showDetail(n) {
    if (!n) return;
    const row = (k, v) => el('tr', {}, el('th', { text: k }), el('td', { text: v }));
    this.detail.replaceChildren(
      el('h3', { text: n.name }),
      el('table', {}, el('tbody', {},
        row('op', n.op || ''),
        ...(n.device ? [row('device', n.device)] : []),
        ...(n.shapes?.length ? [row('outputs', n.shapes.map(fmtShape).join(', '))] : []),
        ...(n.time_us != null ? [row('compute time', `${n.time_us} µs`)] : []),
        ...(n.memory_bytes != null ? [row('memory', fmtBytes(n.memory_bytes))] : []),
        ...(n.attrs || []).map(([k, v]) => row(k, v)),
        ...(n.inputs || []).map((i, k) => row(k ? '' : 'inputs', i)))),
      el('button', { type: 'button', class: 'graph-detail-close', text: 'Close', onclick: () => { this.detail.hidden = true; } }));
    this.detail.hidden = false;
  }

  zoom(e) {
    if (!this.view) return;
    e.preventDefault();
    const [x, y, w, h] = this.view;
    const r = this.svg.getBoundingClientRect();
    const f = Math.exp(Math.sign(e.deltaY) * 0.15);
    const px = x + ((e.clientX - r.left) / Math.max(1, r.width)) * w;
    const py = y + ((e.clientY - r.top) / Math.max(1, r.height)) * h;
    this.view = [px - (px - x) * f, py - (py - y) * f, w * f, h * f];
    this.svg.setAttribute('viewBox', this.view.join(' '));
  }

  pan(e) {
    if (!this.view || e.button !== 0) return;
    const start = { x: e.clientX, y: e.clientY, view: [...this.view] };
    const r = this.svg.getBoundingClientRect();
    this.dragged = false;
    const move = (m) => {
      const dx = ((m.clientX - start.x) / Math.max(1, r.width)) * start.view[2];
      const dy = ((m.clientY - start.y) / Math.max(1, r.height)) * start.view[3];
      if (Math.abs(m.clientX - start.x) + Math.abs(m.clientY - start.y) > 4) this.dragged = true;
      this.view = [start.view[0] - dx, start.view[1] - dy, start.view[2], start.view[3]];
      this.svg.setAttribute('viewBox', this.view.join(' '));
    };
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      setTimeout(() => { this.dragged = false; }, 0);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }
}
