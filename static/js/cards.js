// Lazy cards: a card fetches and draws only once it scrolls near the viewport, and redraws
// changes only while it is visible (or when it next becomes visible).

import { el } from './util.js';

/** The group of a tag: its first path component (`train/loss` → `train`). */
export function groupOf(tag) {
  const i = tag.indexOf('/');
  return i > 0 ? tag.slice(0, i) : '';
}

const observed = new Map();
const observer = new IntersectionObserver(
  (entries) => {
    for (const e of entries) {
      const card = observed.get(e.target);
      if (card) card.setVisible(e.isIntersecting);
    }
  },
  { rootMargin: '300px 0px' },
);

/** A card in a grid. Subclasses implement `load()` (fetch; may return a promise) and `draw()`. */
export class LazyCard {
  constructor({ kind, title, run, tag, actions = [] }) {
    this.kind = kind;
    this.run = run;
    this.tag = tag;
    this.visible = false;
    this.loaded = false;
    this.stale = false;
    this.loading = null;
    this.frame = 0;
    this.timings = { created: performance.now() };
    this.head = el('div', { class: 'card-head' },
      el('span', { class: 'card-title', title: run ? `${run} / ${tag}` : tag },
        run ? el('span', { class: 'run', text: `${run} / ` }) : null, tag),
      el('span', { class: 'card-actions' }, actions));
    this.body = el('div', { class: 'card-body' }, el('div', { class: 'loading', text: 'loading…' }));
    this.foot = el('div', { class: 'card-foot' });
    this.el = el('div', { class: 'card', dataset: { kind, tag, ...(run ? { run } : {}) } },
      this.head, this.body, this.foot);
    this.el.card = this;
    observed.set(this.el, this);
    observer.observe(this.el);
  }

  setVisible(v) {
    this.visible = v;
    if (v && (!this.loaded || this.stale)) this.refresh();
    else if (v && this.needsDraw) this.schedule();
  }

  /** (Re)loads and draws. */
  refresh() {
    if (this.loading) { this.stale = true; return; }
    this.stale = false;
    this.timings.fetchStart = performance.now();
    this.loading = Promise.resolve()
      .then(() => this.load())
      .then(() => {
        this.timings.fetched = performance.now();
        this.loaded = true;
        this.loading = null;
        this.schedule();
        if (this.stale && this.visible) this.refresh();
      })
      .catch((e) => {
        this.loading = null;
        this.loaded = true;
        this.showError(e);
      });
  }

  /** Marks the data as changed on the server: reloaded now if visible, else when it shows. */
  invalidate() {
    this.stale = true;
    if (this.visible) {
      clearTimeout(this.invalidateTimer);
      this.invalidateTimer = setTimeout(() => this.refresh(), 250);
    }
  }

  /** Draws on the next animation frame (coalescing many changes into one draw). */
  schedule() {
    this.needsDraw = true;
    if (!this.visible || !this.loaded || this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.needsDraw = false;
      try {
        this.draw();
        if (!this.timings.drawn) this.timings.drawn = performance.now();
        this.timings.lastDrawn = performance.now();
        this.el.dataset.drawn = '1';
      } catch (e) {
        this.showError(e);
      }
    });
  }

  showError(e) {
    console.warn('runboard card', this.kind, this.tag, e);
    this.body.replaceChildren(el('div', { class: 'loading', text: `Could not load: ${e.message}` }));
  }

  destroy() {
    observer.unobserve(this.el);
    observed.delete(this.el);
    cancelAnimationFrame(this.frame);
    clearTimeout(this.invalidateTimer);
    this.el.remove();
  }
}

/** A collapsible group of cards (`<details>`), remembering whether it was open. */
export class Group {
  constructor(name, label, open = true) {
    this.name = name;
    this.count = el('span', { class: 'count' });
    this.grid = el('div', { class: 'grid' });
    this.el = el('details', { class: 'group', dataset: { group: name } },
      el('summary', {}, label, this.count), this.grid);
    this.el.open = open;
  }
}

/** A pane of cards in `this.cards` (a Map): redrawn or resized together. */
export class CardsView {
  constructor() {
    this.cards = new Map();
  }

  /** Redraws every card; `rebuild` makes charts rebuild their shape (axes, theme). */
  redraw(rebuild = false) {
    for (const card of this.cards.values()) {
      if (rebuild) card.shape = '';
      card.schedule();
    }
  }

  resize() {
    for (const card of this.cards.values()) card.resize?.();
  }
}
