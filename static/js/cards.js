// Lazy cards: a card fetches and draws only once it scrolls near the viewport, and redraws
// changes only while it is visible (or when it next becomes visible).

import { plural } from './chart.js';
import { el } from './util.js';

/** A card's step slider and its label ("step 40 (latest) · 3 of 3 steps"), over the steps
 * `steps()` gives: moved to the last step it follows the latest (`pick(null)`), else it picks
 * that step (`pick(step)`). The PR Curves, Audio and Mesh cards step through logged steps so. */
export class StepSlider {
  constructor(cls, steps, pick) {
    this.input = el('input', {
      type: 'range', class: `${cls}-slider`, min: 0, max: 0, step: 1, value: 0, 'aria-label': 'step', disabled: true,
    });
    this.label = el('span', { class: `${cls}-step-label muted` });
    this.input.addEventListener('input', () => {
      const s = steps();
      const i = Number(this.input.value);
      pick(i >= s.length - 1 ? null : s[i]);
    });
  }

  /** Shows index `at` of `steps` (null: none to choose). */
  show(steps, at) {
    const n = steps.length;
    this.input.max = String(Math.max(0, n - 1));
    this.input.value = String(at ?? 0);
    this.input.disabled = n < 2;
    this.label.textContent = at === null ? '' : `step ${steps[at]}${at === n - 1 ? ' (latest)' : ''} · ${at + 1} of ${plural(n, 'step')}`;
  }
}

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
    this.groups = new Map();
  }

  /**
   * [`place`] for cards keyed by tag and grouped by its prefix ([`groupOf`]): the group without a
   * prefix first (labelled `label`), then the others by name, each in tag order.
   */
  placeByTag(tags, label, make) {
    const wanted = tags.map((tag) => ({ key: tag, group: groupOf(tag), tag }));
    wanted.sort((a, b) => (a.group === b.group ? 0 : a.group === '' ? -1 : b.group === '' ? 1 : a.group.localeCompare(b.group))
      || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
    this.place(wanted.map((w) => ({ ...w, label: w.group || label, make: () => make(w.tag) })));
  }

  /**
   * Makes the pane's cards and groups what `wanted` lists, in its order: for each
   * `{ key, group, label, make }` the card `key` (made with `make()` when new) in the group
   * `group` (labelled `label` when new). Cards no longer wanted are destroyed, empty groups
   * removed, and groups placed in the order their first card comes. A card that is already in
   * its place is not moved (a playing clip keeps playing).
   */
  place(wanted) {
    const keep = new Set(wanted.map((w) => w.key));
    for (const [key, card] of this.cards) {
      if (!keep.has(key)) { card.destroy(); this.cards.delete(key); }
    }
    const members = new Map(); // group name -> card elements, in order
    for (const w of wanted) {
      if (!this.groups.has(w.group)) this.groups.set(w.group, new Group(w.group, w.label, true));
      let card = this.cards.get(w.key);
      if (!card) { card = w.make(); this.cards.set(w.key, card); }
      if (!members.has(w.group)) members.set(w.group, []);
      members.get(w.group).push(card.el);
    }
    for (const [name, g] of this.groups) {
      const els = members.get(name);
      if (!els) { g.el.remove(); this.groups.delete(name); continue; }
      const now = [...g.grid.children];
      if (now.length !== els.length || now.some((e, i) => e !== els[i])) g.grid.replaceChildren(...els);
      g.count.textContent = String(els.length);
    }
    const order = [...members.keys()].map((name) => this.groups.get(name).el);
    const placed = [...this.el.children].filter((e) => order.includes(e));
    if (placed.length !== order.length || placed.some((e, i) => e !== order[i])) {
      for (const e of order) this.el.append(e);
    }
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
