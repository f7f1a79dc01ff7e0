// The page's shared state, observable: settings (also in the URL), runs (with the server's
// colours), series, the run selection and the hovered run. Views subscribe to the keys they
// draw from; a change notifies each subscriber once, whatever else changed with it.

import { regex } from './util.js';

/** The run table's settings (js/runtable.js): sort (a column id, `-` first for descending),
 * columns hidden and shown beyond the defaults, per-column filters (column id → text) and the
 * filter expression (js/filter.js). Replaced as a whole when one of them changes. */
export const DEFAULT_TABLE = Object.freeze({
  sort: '',
  hide: Object.freeze([]),
  show: Object.freeze([]),
  filters: Object.freeze({}),
  expr: '',
});

/** The settings a link carries, and their defaults. */
export const DEFAULT_SETTINGS = Object.freeze({
  smoothing: 0.6,
  x: 'step',
  logY: false,
  ignoreOutliers: true,
  tagFilter: '',
  runFilter: '',
  tab: 'scalars',
  table: DEFAULT_TABLE,
  /** Archived runs listed too (everywhere, marked as archived). */
  archived: false,
  // Groups on the scalars tab (js/groups.js): a field (a config key, `tags`, `status`, `host`)
  // or a regex on the run name ('' for none), the band, and whether members are drawn.
  groupBy: '',
  groupRegex: '',
  band: 'std',
  groupRuns: true,
  // The x axis of single charts (js/xaxis.js): tag → `step` / `relative` / `wall` / `tag:TAG`.
  cardX: Object.freeze({}),
  // The runs of the compare view (js/compare.js), and whether it shows equal values too.
  compare: Object.freeze([]),
  compareAll: false,
});

/** The run that holds what the server samples (GPUs): it has its own pane, not a line. */
export const SYSTEM_RUN = 'system';

/** A colour for a run the server has not listed yet (its colour comes with the next list). */
const UNKNOWN_COLOR = '#888888';

/**
 * The state. Read it through the getters; change it with `set({key: value})` (or `setting`),
 * which notifies the subscribers of the changed keys. `settings` changes also name the changed
 * fields (`settings.smoothing`), so a view can follow one of them.
 *
 * - `settings`: see [`DEFAULT_SETTINGS`] (`x` is also `tag:TAG`: another scalar series);
 * - `runs`: Map name → the `/api/v1/runs` object (`name`, `display_name`, `color`, `hparams`,
 *   `archived`, ...) in start order;
 * - `series`: Map `run\0tag` → `{run, tag, kind, plugin}`;
 * - `selection`: the Set of selected runs, or null for all (runs that appear later included);
 * - `hover`: the run under the pointer (a line, a tooltip, the run list, a table row), or null;
 * - `theme`: `light` or `dark`.
 */
export class State {
  #values;
  #listeners = new Set();
  #tagRe = null;
  #runRe = null;
  #order = new Map();

  /** The errors of the filters (a regex that does not compile keeps the last valid one). */
  filterErrors = { tag: null, run: null };

  constructor(initial = {}) {
    this.#values = {
      runs: new Map(),
      series: new Map(),
      selection: null,
      hover: null,
      theme: 'light',
      ...initial,
      settings: Object.freeze({ ...DEFAULT_SETTINGS, ...initial.settings }),
    };
    this.#compileFilters();
    this.#orderRuns();
  }

  get settings() { return this.#values.settings; }
  get runs() { return this.#values.runs; }
  get series() { return this.#values.series; }
  get selection() { return this.#values.selection; }
  get hover() { return this.#values.hover; }
  get theme() { return this.#values.theme; }

  /** Replaces the values of `patch`'s keys and tells the subscribers of those that changed. */
  set(patch) {
    const changed = new Set();
    for (const [key, value] of Object.entries(patch)) {
      if (!(key in this.#values)) throw new Error(`no state ${key}`);
      const old = this.#values[key];
      if (old === value) continue;
      if (key === 'settings') {
        for (const k of Object.keys(value)) {
          if (old[k] !== value[k]) changed.add(`settings.${k}`);
        }
        if (![...changed].some((k) => k.startsWith('settings.'))) continue;
        this.#values.settings = Object.freeze({ ...value });
      } else {
        this.#values[key] = value;
      }
      changed.add(key);
    }
    if (!changed.size) return;
    if (changed.has('settings.tagFilter') || changed.has('settings.runFilter')) this.#compileFilters();
    if (changed.has('runs')) this.#orderRuns();
    for (const l of [...this.#listeners]) {
      if (this.#listeners.has(l) && l.keys.some((k) => changed.has(k))) l.fn(changed);
    }
  }

  /** Changes one setting. */
  setting(key, value) {
    this.set({ settings: { ...this.settings, [key]: value } });
  }

  /** Calls `fn(changedKeys)` after every change of one of `keys`; returns the unsubscribe. */
  subscribe(keys, fn) {
    const l = { keys, fn };
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #compileFilters() {
    const t = regex(this.settings.tagFilter);
    this.filterErrors.tag = t.error || null;
    if (!t.error) this.#tagRe = t.re;
    const r = regex(this.settings.runFilter);
    this.filterErrors.run = r.error || null;
    if (!r.error) this.#runRe = r.re;
  }

  #orderRuns() {
    this.#order = new Map([...this.runs.keys()].map((name, i) => [name, i]));
  }

  // ---- what follows from the state ----

  /** Every run but the server's `system` run, in start order. */
  runNames() {
    return [...this.runs.keys()].filter((r) => r !== SYSTEM_RUN);
  }

  isSelected(run) {
    return !this.selection || this.selection.has(run);
  }

  /** Whether the run filter lets `run` through (by its name or its display name). */
  runMatches(run) {
    if (!this.#runRe) return true;
    const shown = this.runs.get(run)?.display_name;
    return this.#runRe.test(run) || (!!shown && this.#runRe.test(shown));
  }

  /** The name people gave the run (`display_name`), else its name. */
  displayName(run) {
    return this.runs.get(run)?.display_name || run;
  }

  tagMatches(tag) {
    return !this.#tagRe || this.#tagRe.test(tag);
  }

  /** The runs drawn: selected and let through by the run filter. */
  chartRuns() {
    return this.runNames().filter((r) => this.isSelected(r) && this.runMatches(r));
  }

  /** A run's place in start order (for sorting). */
  runOrder(run) {
    return this.#order.get(run) ?? Number.MAX_SAFE_INTEGER;
  }

  /** The run's colour, as the server gives it (`#rrggbb`), the same in every chart. */
  colorOf(run) {
    return this.runs.get(run)?.color || UNKNOWN_COLOR;
  }
}
