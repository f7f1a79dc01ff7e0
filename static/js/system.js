// The system pane: per GPU (sampled by the server into run `system`, or by an SDK's sampler
// into a training run as `system/gpu.<i>.*`), memory used against total, utilization,
// temperature and power over wall time, live.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { CardsView, LazyCard } from './cards.js';
import { axes, fmt, xRange } from './chart.js';
import { el, fmtBytes } from './util.js';

const GPU_TAG = /^system\/gpu\.(\d+)\.([a-z_]+)$/;
const GIB = 1024 ** 3;

/** The charts of a GPU card: title, unit, and the metrics drawn (first one coloured). */
const CHARTS = [
  { title: 'Memory (GiB)', metrics: ['memory_used_bytes', 'memory_total_bytes'], scale: 1 / GIB, range: 'zero' },
  { title: 'Utilization (%)', metrics: ['utilization_percent', 'memory_utilization_percent'], scale: 1, range: [0, 100] },
  { title: 'Temperature (°C)', metrics: ['temperature_celsius'], scale: 1 },
  { title: 'Power (W)', metrics: ['power_watts'], scale: 1, range: 'zero' },
];

const tagOf = (gpu, metric) => `system/gpu.${gpu}.${metric}`;

class GpuCard extends LazyCard {
  constructor(ctx, run, gpu, metrics) {
    super({ kind: 'gpu', run, tag: `GPU ${gpu}` });
    this.ctx = ctx;
    this.gpu = gpu;
    this.metrics = metrics;
    this.plots = [];
    this.unsubscribe = [...metrics].map((m) => ctx.scalars.subscribe(tagOf(gpu, m), () => this.schedule()));
  }

  load() {
    return Promise.all([...this.metrics].map((m) => this.ctx.scalars.load(tagOf(this.gpu, m))));
  }

  series(metric) {
    return this.ctx.scalars.entry(tagOf(this.gpu, metric)).runs.get(this.run);
  }

  draw() {
    const charts = CHARTS.filter((c) => c.metrics.some((m) => this.metrics.has(m) && this.series(m)?.length));
    const { state } = this.ctx;
    const color = state.colorOf(this.run);
    const shape = [charts.map((c) => c.title).join('|'), state.theme, color].join('|');
    if (shape !== this.shape) {
      for (const p of this.plots) p.u.destroy();
      this.plots = [];
      this.shape = shape;
      this.now = el('div', { class: 'gpu-now' });
      const grid = el('div', { class: 'gpu-grid' });
      this.body.replaceChildren(this.now, grid);
      for (const c of charts) {
        const box = el('div', { class: 'plot', dataset: { chart: c.title } });
        grid.append(el('div', {}, el('div', { class: 'muted', text: c.title }), box));
        const metrics = c.metrics.filter((m) => this.metrics.has(m));
        const u = new uPlot({
          width: Math.max(160, box.clientWidth),
          height: 140,
          legend: { show: false },
          cursor: { points: { show: false } },
          scales: {
            x: { time: true, range: xRange },
            y: c.range === 'zero' ? { range: (u, min, max) => [0, max > 0 ? max * 1.05 : 1] }
              : Array.isArray(c.range) ? { range: () => c.range } : {},
          },
          axes: axes({ x: 'wall', xTitle: false }),
          series: [{}, ...metrics.map((m, i) => ({
            label: m,
            stroke: i === 0 ? color : 'rgba(128,128,128,0.8)',
            width: i === 0 ? 1.6 : 1,
            dash: i === 0 ? undefined : [4, 3],
            points: { show: false },
          }))],
        }, [[], ...metrics.map(() => [])], box);
        this.plots.push({ u, chart: c, metrics });
      }
    }
    for (const { u, chart, metrics } of this.plots) {
      const tables = metrics.map((m) => {
        const s = this.series(m);
        return s ? [s.walls, s.values.map((v) => (Number.isFinite(v) ? v * chart.scale : null))] : [[], []];
      });
      u.setData(tables.length === 1 ? tables[0] : uPlot.join(tables));
    }
    const last = (m) => { const s = this.series(m); return s?.length ? s.values[s.length - 1] : undefined; };
    const parts = [];
    if (last('memory_used_bytes') !== undefined) parts.push(`memory ${fmtBytes(last('memory_used_bytes'))} of ${fmtBytes(last('memory_total_bytes'))}`);
    // Three significant digits, at most one decimal: 87.9% busy, 5.6% busy, 74.5 °C, 213 W.
    const brief = (v) => fmt(Math.round(v * 10) / 10, 3);
    if (last('utilization_percent') !== undefined) parts.push(`${brief(last('utilization_percent'))}% busy`);
    if (last('temperature_celsius') !== undefined) parts.push(`${brief(last('temperature_celsius'))} °C`);
    if (last('power_watts') !== undefined) parts.push(`${brief(last('power_watts'))} W`);
    this.now.textContent = parts.join(' · ');
    this.foot.textContent = this.run === 'system' ? 'sampled by the server' : `sampled by run ${this.run}`;
  }

  resize() {
    for (const p of this.plots) p.u.setSize({ width: Math.max(160, p.u.root.parentElement.clientWidth), height: 140 });
  }

  destroy() {
    for (const f of this.unsubscribe) f();
    for (const p of this.plots) p.u.destroy();
    super.destroy();
  }
}

export class SystemView extends CardsView {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.el = el('section', { class: 'pane', dataset: { pane: 'system' } });
    this.grid = el('div', { class: 'grid' });
    ctx.state.subscribe(['series'], () => this.sync());
    ctx.state.subscribe(['runs', 'theme'], () => this.redraw());
  }

  /** `run\0gpu` → set of metrics, for every GPU series. */
  gpus() {
    const out = new Map();
    for (const s of this.ctx.state.series.values()) {
      const m = s.kind === 'scalar' && GPU_TAG.exec(s.tag);
      if (!m) continue;
      const key = `${s.run}\u0000${m[1]}`;
      if (!out.has(key)) out.set(key, { run: s.run, gpu: Number(m[1]), metrics: new Set() });
      out.get(key).metrics.add(m[2]);
    }
    return out;
  }

  count() {
    return this.cards.size;
  }

  sync() {
    const gpus = this.gpus();
    for (const [k, card] of this.cards) {
      if (!gpus.has(k)) { card.destroy(); this.cards.delete(k); }
    }
    const keys = [...gpus.keys()].sort((a, b) => {
      const x = gpus.get(a);
      const y = gpus.get(b);
      return (x.run === 'system' ? -1 : 0) - (y.run === 'system' ? -1 : 0) || x.run.localeCompare(y.run) || x.gpu - y.gpu;
    });
    for (const k of keys) {
      const g = gpus.get(k);
      let card = this.cards.get(k);
      if (card && card.metrics.size !== g.metrics.size) { card.destroy(); card = null; }
      if (!card) {
        card = new GpuCard(this.ctx, g.run, g.gpu, g.metrics);
        this.cards.set(k, card);
      }
      this.grid.append(card.el);
    }
    if (!gpus.size) {
      this.el.replaceChildren(el('div', { class: 'empty' },
        el('h2', { text: 'No GPU data' }),
        el('p', {}, 'The server samples this machine\'s GPUs every second when NVML is available (',
          el('code', { text: 'runboard --gpu-sim 2' }), ' simulates two). Training code can sample its own with ',
          el('code', { text: 'runboard_sdk::gpu::GpuSampler' }), '.')));
    } else if (!this.grid.isConnected) {
      this.el.replaceChildren(this.grid);
    }
  }
}
