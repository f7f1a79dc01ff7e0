// runboard's dashboard: runs and settings in the sidebar (and in the URL), one pane per kind of
// data, everything kept live by the server's event stream.
//
//   /api/v1/runs, /api/v1/series ──► state (runs, series) ──► views sync their cards
//   controls, run list, hovering ──► state (settings, selection, hover) ──► views redraw
//   /api/v1/stream (SSE) ──► scalars: ScalarStore.append ──► cards redraw on the next frame
//                        └─► run / run_deleted / series / purge / resync ──► lists refetched,
//                            cards reload, the run table refetches the runs that changed
//                        └─► projector ──► the Projector tab refetches its embeddings
//
// This file owns the page's frame (sidebar, tabs, notes, the empty page) and the data flow;
// each view subscribes to the state it draws from (js/state.js).

import { follow, getJson } from './js/api.js';
import { AudioView } from './js/audio.js';
import { plural } from './js/chart.js';
import { CompareView, bindCompareButton, readCompareUrl, writeCompareUrl } from './js/compare.js';
import { CustomScalarsView } from './js/customscalars.js';
import { ScalarStore } from './js/data.js';
import { bindGroupControls, readGroupUrl, writeGroupUrl } from './js/groups.js';
import { HParamsView } from './js/hparams.js';
import { MeshView } from './js/mesh.js';
import { PrCurvesView } from './js/prcurves.js';
import { ProjectorView } from './js/projector.js';
import { RunTagView } from './js/panels.js';
import { readTableUrl, RunTableView, writeTableUrl } from './js/runtable.js';
import { ScalarsView } from './js/scalars.js';
import { DEFAULT_SETTINGS, State } from './js/state.js';
import { SystemView } from './js/system.js';
import { GraphView } from './js/graph.js';
import { el } from './js/util.js';
import { bindXAxis, readXUrl, writeXUrl } from './js/xaxis.js';

const $ = (id) => document.getElementById(id);

const TABS = [
  ['runs', 'Runs'], ['scalars', 'Scalars'], ['histograms', 'Histograms'], ['distributions', 'Distributions'], ['text', 'Text'],
  ['images', 'Images'], ['hparams', 'HParams'], ['graphs', 'Graphs'], ['custom_scalars', 'Custom Scalars'],
  ['pr_curves', 'PR Curves'], ['audio', 'Audio'], ['mesh', 'Mesh'], ['projector', 'Projector'],
  ['system', 'System'], ['compare', 'Compare'],
];
/** The kinds of series the panes draw; the others are named in a note. */
const SHOWN_KINDS = new Set(['scalar', 'histogram', 'text', 'image']);
/** Tensor plugins a tab shows: graphs and their run metadata (the Graphs tab), Custom Scalars
 * layouts, PR curves, audio clips and meshes (their tabs). The server's
 * `types::DASHBOARD_TENSOR_PLUGINS` keeps the same list. */
const SHOWN_PLUGINS = new Set(['graphs', 'graph_tagged_run_metadata', 'custom_scalars', 'pr_curves', 'audio', 'mesh']);

// ---- URL state: a link reproduces the view ----

function readUrl() {
  const q = new URLSearchParams(location.search);
  const s = { ...DEFAULT_SETTINGS };
  if (q.has('smoothing')) {
    const v = Number(q.get('smoothing'));
    if (v >= 0 && v < 1) s.smoothing = v;
  }
  if (['step', 'relative', 'wall'].includes(q.get('x'))) s.x = q.get('x');
  s.logY = q.get('log') === '1';
  if (q.has('outliers')) s.ignoreOutliers = q.get('outliers') !== '0';
  s.tagFilter = q.get('tags') ?? '';
  s.runFilter = q.get('runfilter') ?? '';
  if (TABS.some(([t]) => t === q.get('tab'))) s.tab = q.get('tab');
  s.table = readTableUrl(q);
  s.archived = q.get('archived') === '1';
  Object.assign(s, readGroupUrl(q), readXUrl(q), readCompareUrl(q));
  const selection = q.has('run') ? new Set(q.getAll('run').filter((r) => r !== '')) : null;
  return { settings: s, selection };
}

function writeUrl() {
  const s = state.settings;
  const q = new URLSearchParams();
  if (s.tab !== DEFAULT_SETTINGS.tab) q.set('tab', s.tab);
  if (s.smoothing !== DEFAULT_SETTINGS.smoothing) q.set('smoothing', String(s.smoothing));
  if (s.x !== DEFAULT_SETTINGS.x) q.set('x', s.x);
  if (s.logY) q.set('log', '1');
  if (s.ignoreOutliers !== DEFAULT_SETTINGS.ignoreOutliers) q.set('outliers', s.ignoreOutliers ? '1' : '0');
  if (s.tagFilter) q.set('tags', s.tagFilter);
  if (s.runFilter) q.set('runfilter', s.runFilter);
  writeTableUrl(s.table, q);
  if (s.archived) q.set('archived', '1');
  if (state.selection) {
    if (!state.selection.size) q.append('run', '');
    for (const r of state.selection) q.append('run', r);
  }
  writeGroupUrl(q, s);
  writeXUrl(q, s);
  writeCompareUrl(q, s);
  const url = `${location.pathname}${q.size ? `?${q}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, '', url);
}

const dark = matchMedia('(prefers-color-scheme: dark)');
const state = new State({ ...readUrl(), theme: dark.matches ? 'dark' : 'light' });
const ctx = { state, scalars: new ScalarStore() };
const views = {
  runs: new RunTableView(ctx),
  scalars: new ScalarsView(ctx),
  histograms: new RunTagView(ctx, 'histogram'),
  distributions: new RunTagView(ctx, 'distribution'),
  text: new RunTagView(ctx, 'text'),
  images: new RunTagView(ctx, 'image'),
  hparams: new HParamsView(ctx),
  system: new SystemView(ctx),
  graphs: new GraphView(ctx),
  // The tab's count comes with the layout, after the lists.
  custom_scalars: new CustomScalarsView(ctx, { onCount: () => updateTabs() }),
  pr_curves: new PrCurvesView(ctx),
  audio: new AudioView(ctx),
  // Its count too, with the meshes the tags route names.
  mesh: new MeshView(ctx, { onCount: () => updateTabs() }),
  // Its count too, with the embeddings (files, not series: listed by their own route).
  projector: new ProjectorView(ctx, { onCount: () => updateTabs() }),
  // The compared runs' charts: the scalars pane's cards, given those runs.
  compare: new CompareView(ctx, new ScalarsView(ctx, {
    pane: 'compare-charts',
    grouping: false,
    keys: ['settings.compare'],
    runs: () => state.settings.compare.filter((r) => state.runs.has(r)),
  })),
};

// ---- controls ----

function formatSmoothing(v) {
  return v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '.0');
}

function bindControls() {
  const s = state.settings;
  const smoothing = $('smoothing');
  smoothing.value = String(s.smoothing);
  $('smoothing-value').textContent = formatSmoothing(s.smoothing);
  smoothing.addEventListener('input', () => {
    $('smoothing-value').textContent = formatSmoothing(Number(smoothing.value));
    state.setting('smoothing', Number(smoothing.value));
  });
  bindXAxis(state, $('x-axis'));
  $('x-axis').addEventListener('change', () => state.setting('x', $('x-axis').value));
  bindGroupControls(state);
  bindCompareButton(state, $('runs-compare'));
  for (const [id, key] of [['log-y', 'logY'], ['ignore-outliers', 'ignoreOutliers']]) {
    $(id).checked = s[key];
    $(id).addEventListener('change', () => state.setting(key, $(id).checked));
  }
  let typing = 0;
  for (const [id, key] of [['tag-filter', 'tagFilter'], ['run-filter', 'runFilter']]) {
    $(id).value = s[key];
    $(id).addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => state.setting(key, $(id).value), 150);
    });
  }
  $('runs-all').addEventListener('click', () => setShown(true));
  $('runs-none').addEventListener('click', () => setShown(false));
  dark.addEventListener('change', (e) => state.set({ theme: e.matches ? 'dark' : 'light' }));
  let resizeTimer = 0;
  new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      views.scalars.resize(); views.system.resize(); views.compare.resize(); views.custom_scalars.resize();
      views.pr_curves.resize(); views.audio.resize(); views.mesh.resize();
    }, 100);
  }).observe($('main'));
}

/** Marks the filters that do not compile. */
function showFilterErrors() {
  for (const [id, error] of [['tag-filter', state.filterErrors.tag], ['run-filter', state.filterErrors.run]]) {
    $(id).classList.toggle('invalid', !!error);
    $(id).title = error || '';
  }
}

/** Selects (or deselects) every run the run filter lets through. */
function setShown(on) {
  const names = state.runNames();
  const sel = state.selection ? new Set(state.selection) : new Set(names);
  for (const r of names) {
    if (!state.runMatches(r)) continue;
    if (on) sel.add(r); else sel.delete(r);
  }
  state.set({ selection: names.every((r) => sel.has(r)) ? null : sel });
}

let runsStale = false;
function renderRuns() {
  // The sidebar is hidden on the Runs tab: its list (thousands of runs, each a checkbox that
  // every history.replaceState saves the state of) is emptied, and built again when shown.
  if (state.settings.tab === 'runs') {
    runsStale = true;
    $('run-list').replaceChildren();
    return;
  }
  runsStale = false;
  const list = $('run-list');
  const names = state.runNames();
  let shown = 0;
  const items = names.map((name) => {
    const run = state.runs.get(name);
    const checked = state.isSelected(name);
    const visible = state.runMatches(name);
    if (checked && visible) shown++;
    const hp = run.hparams && Object.keys(run.hparams).length
      ? Object.entries(run.hparams).map(([k, v]) => `${k} = ${v}`).join('\n') : '';
    const shownAs = run.display_name ? ` (shown as ${run.display_name})` : '';
    const title = `${name}${shownAs}${run.archived ? ' · archived' : ''}`;
    // Not part of the page state the browser saves on every URL change (writeUrl): with
    // thousands of runs, that made each replaceState take a quarter of a second.
    const box = el('input', { type: 'checkbox', autocomplete: 'off' });
    box.checked = checked;
    box.addEventListener('change', () => {
      const sel = state.selection ? new Set(state.selection) : new Set(names);
      if (box.checked) sel.add(name); else sel.delete(name);
      state.set({ selection: names.every((r) => sel.has(r)) ? null : sel });
    });
    const li = el('li', {
      dataset: { run: name },
      title: hp ? `${title}\n\n${hp}` : title,
      class: [state.hover === name ? 'hovered' : '', run.archived ? 'archived' : ''].join(' ').trim() || null,
      onmouseenter: () => state.set({ hover: name }),
      onmouseleave: () => { if (state.hover === name) state.set({ hover: null }); },
    }, el('label', {}, box, el('span', { class: 'swatch', style: `background:${state.colorOf(name)}` }),
      el('span', { class: 'name', text: run.display_name || name })));
    li.hidden = !visible;
    return li;
  });
  list.replaceChildren(...items);
  $('run-count').textContent = `${shown} of ${names.length} shown`;
}

// ---- tabs, notes and the empty page ----

const tabButtons = new Map();

function renderTabs() {
  const nav = $('tabs');
  for (const [id, label] of TABS) {
    const b = el('button', { type: 'button', role: 'tab', dataset: { tab: id }, onclick: () => state.setting('tab', id) },
      label, el('span', { class: 'count' }));
    tabButtons.set(id, b);
    nav.append(b);
    views[id].el.hidden = true;
    $('panes').append(views[id].el);
  }
}

/** Shows the tab's pane, and only the controls that act on it (`data-acts-on`); the run table,
 * the Graphs and the Projector tabs have their own controls and no sidebar. */
function showTab() {
  const id = state.settings.tab;
  $('sidebar').hidden = id === 'runs' || id === 'graphs' || id === 'projector'; // their own controls, no run list
  if ((runsStale && id !== 'runs') || (!runsStale && id === 'runs')) renderRuns();
  for (const [t, b] of tabButtons) {
    b.setAttribute('aria-selected', String(t === id));
    views[t].el.hidden = t !== id;
  }
  for (const c of document.querySelectorAll('[data-acts-on]')) c.hidden = !c.dataset.actsOn.split(' ').includes(id);
  $('tooltip').hidden = true;
  updateTabs();
}

/** Tab counts follow the cards; a tab with nothing to show is hidden (scalars always shows). */
function updateTabs() {
  for (const [id] of TABS) {
    const n = views[id].count();
    const b = tabButtons.get(id);
    b.querySelector('.count').textContent = n ? String(n) : '';
    b.hidden = !n && id !== 'scalars' && id !== state.settings.tab;
  }
  renderEmpty();
}

/** Names the plugins whose series are stored but not drawn by any pane, with their counts. */
function renderUnshown() {
  const counts = new Map();
  for (const s of state.series.values()) {
    if (SHOWN_KINDS.has(s.kind) || SHOWN_PLUGINS.has(s.plugin)) continue;
    const name = s.plugin || s.kind;
    counts.set(name, (counts.get(name) || 0) + 1);
  }
  const note = $('unshown');
  note.hidden = !counts.size;
  const names = [...counts].sort((a, b) => a[0].localeCompare(b[0]));
  note.replaceChildren('Stored but not shown yet: ', ...names.flatMap(([name, n], i) => [
    i ? ', ' : '', el('code', { text: name }), ` (${plural(n, 'series', 'series')})`]));
}

/** A Rust string literal of `s`. */
function rustString(s) {
  return `"${[...s].map((c) => {
    if (c === '\\' || c === '"') return `\\${c}`;
    const code = c.codePointAt(0);
    return code < 0x20 || code === 0x7f ? `\\u{${code.toString(16)}}` : c;
  }).join('')}"`;
}

let listed = false; // the first lists came
let emptyShown = false;
/** With no runs, how to log one: `static/first-run.rs` (a compiled test builds it), logging
 * into this server's logdir. */
async function renderEmpty() {
  const empty = $('empty');
  const none = listed && state.runNames().length === 0 && state.settings.tab !== 'system';
  empty.hidden = !none;
  $('panes').hidden = none;
  if (!none || emptyShown) return;
  emptyShown = true;
  let where = null;
  try {
    const env = await getJson('data/environment');
    if (env.data_location) where = env.data_location;
  } catch { /* keep the generic text */ }
  let snippet = '';
  try {
    const res = await fetch('static/first-run.rs');
    if (res.ok) snippet = await res.text();
  } catch { /* no snippet */ }
  if (where) snippet = snippet.replace('"runs/my-first-run"', rustString(`${where}/my-first-run`));
  empty.replaceChildren(
    el('h2', { text: 'No runs yet' }),
    el('p', {}, 'runboard is watching ', el('code', { text: where || 'the logdir' }),
      '. Runs appear here as soon as their first point is written, and charts update live.'),
    ...(snippet ? [
      el('p', { text: 'Log a first run from Rust with the SDK:' }),
      el('pre', {}, el('code', { text: snippet })),
    ] : []),
    el('p', {}, 'Or stream over HTTP from anywhere: set ', el('code', { text: `RUNBOARD_URL=${location.origin}` }),
      ' in the training process. Any TensorBoard event files (PyTorch, TensorFlow, tensorboardX) in the logdir work too.'),
    el('p', {}, 'Just looking? ', el('code', { text: 'runboard demo' }),
      ' starts a server with simulated training runs and GPUs.'));
}

// ---- data ----

async function loadLists() {
  const archived = state.settings.archived ? 'true' : null;
  const [runs, series] = await Promise.all([getJson('api/v1/runs', { archived }), getJson('api/v1/series')]);
  state.set({
    runs: new Map(runs.map((r) => [r.name, r])),
    series: new Map(series.map((s) => [`${s.run}\u0000${s.tag}`, { run: s.run, tag: s.tag, kind: s.kind, plugin: s.plugin }])),
  });
  $('notice').hidden = true;
}

let listsTimer = 0;
/** Refetches runs and series soon (new runs, new series, hparams, plugins): many changes, one
 * fetch. */
function refreshListsSoon() {
  if (listsTimer) return;
  listsTimer = setTimeout(async () => {
    listsTimer = 0;
    try {
      await loadLists();
    } catch (e) {
      console.warn('runboard lists', e);
    }
  }, 200);
}

/** A series the stream announced: known at once (its plugin comes with the next list). */
function addSeries(run, tag, kind) {
  const key = `${run}\u0000${tag}`;
  if (state.series.has(key)) return;
  const series = new Map(state.series);
  series.set(key, { run, tag, kind, plugin: null });
  state.set({ series });
  if (!SHOWN_KINDS.has(kind)) refreshListsSoon();
}

const perRunViews = () => [views.histograms, views.distributions, views.text, views.images];

/** Everything the page shows is reloaded (after a reconnect or a lagging stream). */
function resync() {
  ctx.scalars.clear();
  for (const v of perRunViews()) v.reloadAll();
  views.custom_scalars.reload();
  views.pr_curves.reload();
  views.audio.reload();
  views.mesh.reload();
  views.projector.reload();
  views.runs.resync();
  refreshListsSoon();
}

function setLive(live) {
  const e = $('live');
  e.dataset.state = live;
  e.querySelector('.live-text').textContent = { live: 'live', connecting: 'connecting…', offline: 'offline · retrying' }[live];
}

function startStream() {
  follow({
    // A new run, or new hyperparameters of a run: the lists are refetched either way.
    run: (d) => {
      if (!state.runs.has(d.name)) {
        const runs = new Map(state.runs);
        runs.set(d.name, { name: d.name, hparams: null });
        state.set({ runs });
      }
      views.runs.runChanged(d.name);
      refreshListsSoon();
    },
    // A run deleted (from this page or another): gone from every list and the selection.
    run_deleted: (d) => {
      const patch = {};
      if (state.runs.has(d.name)) {
        patch.runs = new Map(state.runs);
        patch.runs.delete(d.name);
      }
      if (state.selection?.has(d.name)) {
        patch.selection = new Set(state.selection);
        patch.selection.delete(d.name);
      }
      if ([...state.series.values()].some((s) => s.run === d.name)) {
        patch.series = new Map([...state.series].filter(([, s]) => s.run !== d.name));
      }
      state.set(patch);
      views.runs.runDeleted(d.name);
      views.projector.changed(d.name);
      refreshListsSoon();
    },
    purge: (d) => ctx.scalars.purge(d.run, d.tag, d.step),
    scalars: (d) => {
      addSeries(d.run, d.tag, 'scalar');
      views.runs.touched(d.run);
      ctx.scalars.append(d.run, d.tag, d.points);
    },
    series: (d) => {
      addSeries(d.run, d.tag, d.kind);
      for (const v of perRunViews()) v.changed(d.run, d.tag);
      views.custom_scalars.changed(d.run, d.tag);
      views.pr_curves.changed(d.run, d.tag);
      views.audio.changed(d.run, d.tag);
      views.mesh.changed(d.run, d.tag);
    },
    // A run's embeddings changed (its projector config or the files it names).
    projector: (d) => views.projector.changed(d.name),
    resync: () => resync(),
  }, setLive, () => resync());
}

function main() {
  bindControls();
  renderTabs();
  showFilterErrors();
  state.subscribe(['settings', 'selection'], writeUrl);
  state.subscribe(['settings.tagFilter', 'settings.runFilter'], showFilterErrors);
  state.subscribe(['runs', 'selection', 'settings.runFilter'], renderRuns);
  state.subscribe(['settings.archived'], refreshListsSoon);
  state.subscribe(['hover'], () => {
    for (const li of $('run-list').children) li.classList.toggle('hovered', li.dataset.run === state.hover);
  });
  state.subscribe(['settings.tab'], showTab);
  // After the views' own subscriptions: their cards are in sync when the tabs count them.
  state.subscribe(['runs', 'series', 'selection', 'settings.tagFilter', 'settings.runFilter', 'settings.compare'], updateTabs);
  state.subscribe(['series'], renderUnshown);
  showTab();
  // Subscribe before the first fetch, so nothing committed in between is missed.
  startStream();
  firstLoad();
}

async function firstLoad() {
  // Opened on the run table: its rows first (the lists would only compete for the server and
  // the page's thread).
  if (state.settings.tab === 'runs') await views.runs.firstLoad();
  try {
    await loadLists();
  } catch (e) {
    const n = $('notice');
    n.hidden = false;
    n.textContent = `Could not reach the server: ${e.message}. Retrying…`;
    setTimeout(firstLoad, 2000);
    return;
  }
  listed = true;
  renderRuns();
  updateTabs();
  if (state.settings.tab === 'hparams') views.hparams.sync();
}

main();
