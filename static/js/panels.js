// The per-run panes: histograms (offset ridgelines over steps, re-binned as TensorBoard draws
// them), distributions (percentile bands), text (sanitized Markdown) and images (with a step
// slider, a click for actual size). One card per run and tag.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { getJson } from './api.js';
import { CardsView, LazyCard, groupOf } from './cards.js';
import { AXIS_FONT, axes, lonePoints, plural, tickLabels, withAlpha, xRange } from './chart.js';
import { DISTRIBUTION_BPS, DRAWN_BINS, cleanBuckets, percentiles, rebin, spread } from './math.js';
import { cssVar, el, num } from './util.js';

/** Histograms drawn in a ridgeline (older steps behind, newer in front). */
const RIDGES = 40;

/** Fetched histograms, shared by the histogram and distribution cards of a run and tag. */
const histograms = new Map();
function loadHistograms(run, tag, fresh) {
  const key = `${run}\u0000${tag}`;
  if (fresh || !histograms.has(key)) {
    histograms.set(key, getJson('api/v1/histograms', { run, tag }).then((rows) =>
      rows.map((r) => ({ step: r.step, buckets: cleanBuckets(r.buckets.map((b) => b.map(num))) }))));
  }
  return histograms.get(key);
}

/** A card of one run's histograms of one tag (shared fetch); `drawRows` draws the non-empty ones. */
class HistogramsCard extends LazyCard {
  constructor(kind, ctx, run, tag) {
    super({ kind, run, tag });
    this.ctx = ctx;
  }

  async load() {
    this.rows = await loadHistograms(this.run, this.tag, this.loaded);
  }

  draw() {
    const rows = this.rows.filter((r) => r.buckets.length);
    if (!rows.length) { this.body.replaceChildren(el('div', { class: 'loading', text: 'No data.' })); return; }
    this.drawRows(rows);
  }
}

class HistogramCard extends HistogramsCard {
  constructor(ctx, run, tag) {
    super('histogram', ctx, run, tag);
  }

  /**
   * Up to `RIDGES` histograms, oldest at the back. Each is re-binned into TensorBoard's 30 equal
   * bins over the range of all of them (tensorboardX and torch write ~600 log-spaced buckets,
   * some 1e-13 wide: drawn as density, one sample in such a bucket would dwarf the rest), and
   * ridges share one height scale: the largest bin count.
   */
  drawRows(rows) {
    const picked = spread(rows.length, RIDGES).map((i) => rows[i]);
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of picked) {
      lo = Math.min(lo, r.buckets[0][0]); // sorted by left edge
      for (const [, right] of r.buckets) hi = Math.max(hi, right);
    }
    if (!(hi > lo)) {
      // Every value the same: TensorBoard widens such a range the same way.
      const v = lo;
      lo = v / 1.1 - 1;
      hi = v * 1.1 + 1;
      if (!(hi > lo)) [lo, hi] = [hi, lo];
    }
    const bins = picked.map((r) => rebin(r.buckets, lo, hi, DRAWN_BINS));
    const top = Math.max(0, ...bins.flat());
    const dpr = devicePixelRatio || 1;
    const width = Math.max(200, this.body.clientWidth);
    const height = 260;
    const canvas = el('canvas', { class: 'ridge' });
    canvas.width = width * dpr;
    canvas.height = height * dpr;
    canvas.style.height = `${height}px`;
    const g = canvas.getContext('2d');
    g.scale(dpr, dpr);
    g.font = AXIS_FONT;
    const padL = 8 + Math.max(...picked.map((r) => g.measureText(String(r.step)).width));
    const padR = 10;
    const padB = 34;
    const padT = 8;
    const ridgeH = Math.min(90, (height - padB - padT) * 0.45);
    const spanY = height - padB - padT - ridgeH;
    const plotW = width - padL - padR;
    const xOf = (v) => padL + ((v - lo) / (hi - lo)) * plotW;
    const color = this.ctx.state.colorOf(this.run);
    const muted = cssVar('--muted');
    const binW = (hi - lo) / DRAWN_BINS;
    let lastLabel = -Infinity;
    picked.forEach((r, k) => {
      const base = padT + ridgeH + (picked.length === 1 ? spanY : (spanY * k) / (picked.length - 1));
      const counts = bins[k];
      const point = (i) => [xOf(lo + (i + 0.5) * binW), base - (top > 0 ? (counts[i] / top) * ridgeH : 0)];
      // The outline through the bins' centres (smooth, as TensorBoard's ridges are), filled...
      g.beginPath();
      g.moveTo(xOf(lo), base);
      counts.forEach((c, i) => g.lineTo(...point(i)));
      g.lineTo(xOf(hi), base);
      g.closePath();
      g.globalAlpha = 0.25 + (0.6 * k) / Math.max(1, picked.length - 1);
      g.fillStyle = color;
      g.fill();
      // ...and drawn over the histogram's own range, so a thin tail still shows where it ends.
      const first = counts.findIndex((c) => c > 0);
      const last = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
      if (first >= 0) {
        g.beginPath();
        g.moveTo(xOf(Math.max(lo, r.buckets[0][0])), base);
        for (let i = first; i <= last; i++) g.lineTo(...point(i));
        g.lineTo(xOf(Math.min(hi, r.buckets[r.buckets.length - 1][1])), base);
        g.globalAlpha = 0.9;
        g.strokeStyle = color;
        g.lineWidth = 1;
        g.stroke();
      }
      g.globalAlpha = 1;
      const isLast = k === picked.length - 1;
      if (base - lastLabel >= 13 && (isLast || base + 13 <= padT + ridgeH + spanY)) {
        g.fillStyle = muted;
        g.textAlign = 'right';
        g.textBaseline = 'middle';
        g.fillText(String(r.step), padL - 4, base);
        lastLabel = base;
      }
    });
    // The value axis: round ticks with their labels, and its title.
    const ticks = niceTicks(lo, hi, Math.max(2, Math.floor(plotW / 90)));
    const labels = tickLabels(ticks);
    g.fillStyle = muted;
    g.strokeStyle = muted;
    g.textAlign = 'center';
    g.textBaseline = 'top';
    ticks.forEach((t, i) => {
      const x = xOf(t);
      g.beginPath();
      g.moveTo(x, height - padB + 2);
      g.lineTo(x, height - padB + 6);
      g.stroke();
      g.fillText(labels[i], Math.min(width - padR - g.measureText(labels[i]).width / 2, Math.max(padL, x)), height - padB + 8);
    });
    g.textAlign = 'right';
    g.fillText('value →', width - padR, height - 13);
    g.textAlign = 'left';
    g.fillText('step ↓', 2, height - 13);
    this.body.replaceChildren(canvas);
    const steps = rows.length === 1 ? `step ${rows[0].step}` : `steps ${rows[0].step}–${rows[rows.length - 1].step}`;
    this.foot.textContent = `${plural(rows.length, 'histogram')} · ${steps}${rows.length > picked.length ? ` · ${picked.length} drawn` : ''} · ${DRAWN_BINS} bins`;
  }
}

/** Round values between `lo` and `hi`, about `count` of them. */
function niceTicks(lo, hi, count) {
  const raw = (hi - lo) / count;
  const e = 10 ** Math.floor(Math.log10(raw));
  const m = raw / e;
  const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
  const out = [];
  for (let i = Math.ceil(lo / step); i * step <= hi + step * 1e-9 && out.length < 50; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

class DistributionCard extends HistogramsCard {
  constructor(ctx, run, tag) {
    super('distribution', ctx, run, tag);
  }

  drawRows(rows) {
    const data = [rows.map((r) => r.step)];
    for (let i = 0; i < DISTRIBUTION_BPS.length; i++) data.push([]);
    for (const r of rows) {
      percentiles(r.buckets).forEach((v, i) => data[i + 1].push(Number.isFinite(v) ? v : null));
    }
    const n = DISTRIBUTION_BPS.length;
    const color = this.ctx.state.colorOf(this.run);
    const series = [{ label: 'step' }];
    DISTRIBUTION_BPS.forEach((bp, i) => {
      const median = i === (n - 1) / 2;
      series.push({
        label: `p${bp / 100}`,
        stroke: median ? color : 'transparent',
        width: median ? 1.5 : 0,
        // One step has no band to fill: its percentiles are drawn as dots.
        points: lonePoints(median ? color : withAlpha(color, 0.5), () => (rows.length === 1 ? [0] : null), median ? 7 : 4),
      });
    });
    const bands = [];
    for (let i = 0; i < (n - 1) / 2; i++) {
      bands.push({ series: [n - i, i + 1], fill: withAlpha(color, 0.12 + 0.06 * i) });
    }
    this.u?.destroy();
    const plot = el('div', { class: 'plot' });
    this.body.replaceChildren(plot);
    this.u = new uPlot({
      width: Math.max(200, this.body.clientWidth), height: 260, series, bands,
      scales: { x: { range: xRange } },
      legend: { show: false }, axes: axes({ x: 'step', yTitle: this.tag }), cursor: { points: { show: false } },
    }, data, plot);
    this.foot.textContent = `${plural(rows.length, 'step')} · bands at the 0/7/16/31/50/69/84/93/100th percentiles`;
  }

  destroy() {
    this.u?.destroy();
    super.destroy();
  }
}

/** Elements that never belong in logged text, whatever the server sent. */
const BANNED = 'script,style,iframe,object,embed,link,meta,base,form,input,button,textarea,select,frame,frameset,svg,math';

/**
 * Logged Markdown rendered by the server (raw HTML escaped there) becomes DOM here through an
 * inert `<template>` (nothing in it runs), and is then cleaned again: banned elements removed,
 * event-handler attributes dropped, links and images only to http(s), relative or `#` targets.
 */
export function sanitizedFragment(html) {
  const t = document.createElement('template');
  t.innerHTML = html;
  for (const bad of t.content.querySelectorAll(BANNED)) bad.remove();
  for (const node of t.content.querySelectorAll('*')) {
    for (const a of [...node.attributes]) {
      const name = a.name.toLowerCase();
      const value = a.value.trim().toLowerCase();
      if (name.startsWith('on') || name === 'style' || name === 'srcdoc') node.removeAttribute(a.name);
      else if ((name === 'href' || name === 'src' || name === 'xlink:href' || name === 'action' || name === 'formaction')
        && /^[a-z][a-z0-9+.-]*:/.test(value) && !/^(https?|mailto):/.test(value)) node.removeAttribute(a.name);
    }
    if (node.tagName === 'A') { node.setAttribute('rel', 'noopener noreferrer nofollow'); node.setAttribute('target', '_blank'); }
  }
  return t.content;
}

class TextCard extends LazyCard {
  constructor(ctx, run, tag) {
    super({ kind: 'text', run, tag });
    this.ctx = ctx;
    this.el.classList.add('text-card');
  }

  async load() {
    this.rows = await getJson('api/v1/text', { run: this.run, tag: this.tag });
  }

  draw() {
    const rows = this.rows.slice(-100).reverse();
    this.body.replaceChildren(...rows.map((r) => el('div', { class: 'text-entry' },
      el('div', { class: 'step', text: `step ${r.step}` }),
      el('div', { class: 'text-body' }, sanitizedFragment(r.html)))));
    this.foot.textContent = `${plural(this.rows.length, 'value')}${this.rows.length > 100 ? ' · newest 100 shown' : ''}`;
  }
}

/** Images fill the card's width (small ones scaled up with sharp pixels); a click shows the
 * actual size, scrolling if larger than the card, and another fits it again. */
class ImageCard extends LazyCard {
  constructor(ctx, run, tag) {
    super({ kind: 'image', run, tag });
    this.ctx = ctx;
    this.el.classList.add('image-card');
    this.index = null;
    this.actual = false;
  }

  async load() {
    this.rows = await getJson('api/v1/images', { run: this.run, tag: this.tag });
  }

  draw() {
    const n = this.rows.length;
    if (!n) { this.body.replaceChildren(el('div', { class: 'loading', text: 'No images.' })); return; }
    const follow = this.index === null || this.index >= n - 2;
    const index = follow ? n - 1 : this.index;
    const img = el('img', { alt: `${this.tag} at step ${this.rows[index].step}` });
    const frame = el('div', { class: 'image-frame' }, img);
    const label = el('div', { class: 'muted' });
    const slider = el('input', { type: 'range', min: 0, max: n - 1, step: 1, value: index, 'aria-label': 'step' });
    const fit = () => {
      frame.classList.toggle('actual', this.actual);
      img.title = this.actual ? 'Actual size: click to fit the card' : 'Click for actual size';
    };
    const show = (i) => {
      const r = this.rows[i];
      this.index = i;
      img.src = `api/v1/image?${new URLSearchParams({ run: this.run, tag: this.tag, id: String(r.id) })}`;
      label.textContent = `step ${r.step}${r.width ? ` · ${r.width}×${r.height} px` : ''} · ${i + 1} of ${n}`;
    };
    img.addEventListener('click', () => { this.actual = !this.actual; fit(); });
    slider.addEventListener('input', () => show(Number(slider.value)));
    fit();
    show(index);
    this.body.replaceChildren(frame, ...(n > 1 ? [slider] : []), label);
  }
}

const CARDS = { histogram: HistogramCard, distribution: DistributionCard, text: TextCard, image: ImageCard };
const STORED = { histogram: 'histogram', distribution: 'histogram', text: 'text', image: 'image' };

/** A pane of per-run cards of one kind, grouped by tag prefix, for the shown runs. */
export class RunTagView extends CardsView {
  constructor(ctx, kind) {
    super();
    this.ctx = ctx;
    this.kind = kind;
    this.el = el('section', { class: 'pane', dataset: { pane: kind } });
    const { state } = ctx;
    state.subscribe(['runs', 'series', 'selection', 'settings.tagFilter', 'settings.runFilter'], () => this.sync());
    if (kind === 'histogram' || kind === 'distribution') {
      // Colours (a run's arrives with the run list) and the theme.
      state.subscribe(['runs', 'theme'], () => this.redraw());
    }
  }

  keys() {
    const { state } = this.ctx;
    const shown = new Set(state.chartRuns());
    const out = [];
    for (const s of state.series.values()) {
      if (s.kind === STORED[this.kind] && shown.has(s.run) && state.tagMatches(s.tag)) out.push(s);
    }
    return out.sort((a, b) => a.tag.localeCompare(b.tag) || state.runOrder(a.run) - state.runOrder(b.run));
  }

  /** Tags of this kind that the shown runs have (for the tab). */
  count() {
    return new Set([...this.cards.values()].map((c) => c.tag)).size;
  }

  sync() {
    // Groups by tag prefix, by name; in each, cards by tag, then run start order (`keys()`).
    const wanted = this.keys().map((s, i) => ({
      key: `${s.run}\u0000${s.tag}`, group: groupOf(s.tag), label: groupOf(s.tag) || this.kind, i, s,
    }));
    wanted.sort((a, b) => a.group.localeCompare(b.group) || a.i - b.i);
    this.place(wanted.map((w) => ({ ...w, make: () => new CARDS[this.kind](this.ctx, w.s.run, w.s.tag) })));
  }


  /** A series of this kind got data: its card reloads. */
  changed(run, tag) {
    this.cards.get(`${run}\u0000${tag}`)?.invalidate();
  }

  reloadAll() {
    histograms.clear();
    for (const card of this.cards.values()) card.invalidate();
  }
}
