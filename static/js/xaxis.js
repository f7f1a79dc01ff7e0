// The horizontal axis of the scalar charts: the step, the time since the run started, wall
// time, or any other scalar series of the runs (`epoch`, `tokens_seen`), whose value the server
// pairs with each point by step. Chosen for every chart (the sidebar's control) or for one
// (its card's selector); both in the URL (`x=tag:epoch`, `x.loss=wall`).

import { SYSTEM_RUN } from './state.js';
import { el } from './util.js';

/** The axes every run has, with their labels. */
export const TIME_AXES = Object.freeze([
  ['step', 'Step'],
  ['relative', 'Relative (time since the run started)'],
  ['wall', 'Wall time'],
]);

/** The series of an x mode `tag:TAG` (`epoch` for `tag:epoch`), else null. */
export function xTagOf(mode) {
  return typeof mode === 'string' && mode.startsWith('tag:') && mode.length > 4 ? mode.slice(4) : null;
}

/** Whether `mode` is an x mode: a time axis or `tag:TAG`. */
export function isXMode(mode) {
  return TIME_AXES.some(([m]) => m === mode) || xTagOf(mode) !== null;
}

/** The x mode of the chart of `tag`: its own choice, else the page's. */
export function xModeOf(settings, tag) {
  return settings.cardX[tag] ?? settings.x;
}

/** A short name of an x mode, for footers and axis titles. */
export function xLabel(mode) {
  return xTagOf(mode) ?? (mode === 'relative' ? 'relative time' : mode === 'wall' ? 'wall time' : 'step');
}

/** The scalar tags that `runs` have (not the GPU series the system pane draws), sorted. */
export function scalarTags(state, runs) {
  const shown = new Set(runs);
  const tags = new Set();
  for (const s of state.series.values()) {
    if (s.kind !== 'scalar' || s.run === SYSTEM_RUN || !shown.has(s.run) || s.tag.startsWith('system/gpu.')) continue;
    tags.add(s.tag);
  }
  return [...tags].sort();
}

/**
 * Fills `select` with the time axes and, in a group, `tags` as x series (`tag:TAG`), and
 * selects `value`: a series no shown run has stays listed, marked, so the choice a link made is
 * still shown. `inherit` (a label) adds a first option `''`: "as every chart".
 */
export function fillXOptions(select, tags, value, { inherit = null, short = false } = {}) {
  const opts = [];
  if (inherit) opts.push(el('option', { value: '', text: inherit }));
  for (const [m, label] of TIME_AXES) opts.push(el('option', { value: m, text: short ? m : label }));
  const list = [...tags];
  const current = xTagOf(value);
  if (current !== null && !list.includes(current)) list.push(current);
  if (list.length) {
    opts.push(el('optgroup', { label: 'Another series (paired by step)' },
      list.map((t) => el('option', { value: `tag:${t}`, text: tags.includes(t) ? t : `${t} (no shown run has it)` }))));
  }
  select.replaceChildren(...opts);
  select.value = value;
}

/**
 * Keeps the sidebar's x-axis control (`select`) listing every scalar series of the shown runs.
 * (Its change handler is the page's.)
 */
export function bindXAxis(state, select) {
  let last = '';
  const fill = () => {
    const tags = scalarTags(state, state.chartRuns());
    const sig = `${tags.join('\n')}\u0000${state.settings.x}`;
    if (sig === last) return;
    last = sig;
    fillXOptions(select, tags, state.settings.x);
  };
  state.subscribe(['series', 'runs', 'selection', 'settings.runFilter', 'settings.x'], fill);
  fill();
}

/** The x settings of a link: `x=tag:TAG` (the time axes are read by the page) and `x.TAG=MODE`
 * for single charts. */
export function readXUrl(q) {
  const out = {};
  if (xTagOf(q.get('x')) !== null) out.x = q.get('x');
  const cardX = {};
  for (const [k, v] of q) {
    if (k.startsWith('x.') && k.length > 2 && isXMode(v)) cardX[k.slice(2)] = v;
  }
  out.cardX = Object.freeze(cardX);
  return out;
}

/** Writes the per-chart x choices (the page writes `x`). */
export function writeXUrl(q, s) {
  for (const tag of Object.keys(s.cardX).sort()) q.set(`x.${tag}`, s.cardX[tag]);
}
