// Groups of runs on the scalars tab: runs grouped by a config key, their tags, status, host or a
// regex on the name; each chart then draws every group's mean with a band (± one standard
// deviation, or min to max) as the server computes them (`/api/v1/group_scalars`), the members
// faintly behind. Here: the sidebar's controls, the settings in the URL, the query a chart
// sends, and the groups' colours.

import { getJson } from './api.js';
import { el } from './util.js';

/** One colour per group, in the order the server lists the groups (Tableau 10). */
export const GROUP_COLORS = Object.freeze([
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
]);

/** The fields any run may be grouped by besides its config keys. */
const RUN_FIELDS = Object.freeze([['tags', 'tags'], ['status', 'status'], ['host', 'host']]);

/** The run fields that a config key of the same name is hidden behind on the server
 * (`field_of` in src/runs/filter.rs): such a key is asked for as `config.KEY`. */
const SHADOWED = new Set(['name', 'display_name', 'status', 'state', 'host', 'commit', 'notes', 'tags', 'archived',
  'created', 'started_at', 'duration']);

/** The field the server groups a config key by. */
function configField(key) {
  return SHADOWED.has(key.toLowerCase()) ? `config.${key}` : key;
}

/** The regex offered when grouping by name is picked: the name's first path component. */
const DEFAULT_NAME_REGEX = '^([^/]+)';

/** How often the config keys offered may be fetched again while the runs stay the same. */
const KEYS_REFETCH_MS = 10_000;

/** The longest filter the server takes (`MAX_FILTER_LEN` in src/runs/filter.rs). */
const MAX_FILTER_BYTES = 4096;

export function groupColor(i) {
  return GROUP_COLORS[i % GROUP_COLORS.length];
}

/** Whether the charts draw groups. */
export function groupingOn(settings) {
  return settings.groupRegex !== '' || settings.groupBy !== '';
}

/** What the groups are made by, for people: `lr`, `name ~ ^([^/]+)`. */
export function groupingLabel(settings) {
  return settings.groupRegex ? `name ~ ${settings.groupRegex}` : settings.groupBy;
}

/** The group settings of a link: `group=FIELD` or `groupre=REGEX`, `band=minmax`, `members=0`. */
export function readGroupUrl(q) {
  const out = {};
  if (q.get('groupre')) out.groupRegex = q.get('groupre');
  else if (q.get('group')) out.groupBy = q.get('group');
  if (q.get('band') === 'minmax') out.band = 'minmax';
  if (q.get('members') === '0') out.groupRuns = false;
  return out;
}

export function writeGroupUrl(q, s) {
  if (s.groupRegex) q.set('groupre', s.groupRegex);
  else if (s.groupBy) q.set('group', s.groupBy);
  if (!groupingOn(s)) return;
  if (s.band !== 'std') q.set('band', s.band);
  if (!s.groupRuns) q.set('members', '0');
}

/** `s` as a filter expression's quoted text. */
function quoted(s) {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * What restricts `/api/v1/group_scalars` to the runs of `shown` out of `all`: nothing when all
 * are shown; else their exact names (`run=`, repeated) when those fit in a request, else a
 * filter expression (src/runs/filter.rs) leaving out the hidden ones (it compares names
 * without regard to case). `{error}` when neither fits.
 */
export function runsParams(all, shown) {
  const keep = new Set(shown);
  const hidden = all.filter((r) => !keep.has(r));
  if (!hidden.length) return {};
  const bytes = (s) => new TextEncoder().encode(s).length;
  if (bytes(shown.join('&run=')) <= MAX_FILTER_BYTES) return { runs: shown };
  const filter = `not (${hidden.map((n) => `name = ${quoted(n)}`).join(' or ')})`;
  if (bytes(filter) > MAX_FILTER_BYTES) {
    return { error: `${shown.length} of ${all.length} runs are selected: too many to group by name. Select all runs, or fewer.` };
  }
  return { filter };
}

/**
 * The query of `/api/v1/group_scalars` for the chart of `tag` over the runs `shown` (out of
 * the page's runs `all`), or `{error}`.
 */
export function groupQuery(settings, tag, all, shown, maxPoints = 1000) {
  const f = runsParams(all, shown);
  if (f.error) return f;
  const params = { tag, band: settings.band, max_points: maxPoints };
  if (settings.groupRegex) params.name_regex = settings.groupRegex;
  else params.by = settings.groupBy;
  if (f.runs) params.run = f.runs;
  if (f.filter) params.filter = f.filter;
  return { params };
}

/**
 * Binds the sidebar's group controls (`#group-by`, `#group-regex`, `#group-band`,
 * `#group-runs`): the fields offered are every run's config keys (from `/api/v1/config_keys`,
 * refetched when the runs change) and the run fields; picking "run name (regex)" shows the regex.
 */
export function bindGroupControls(state) {
  const $ = (id) => document.getElementById(id);
  const by = $('group-by');
  const regex = $('group-regex');
  const band = $('group-band');
  const members = $('group-runs');
  let configKeys = [];

  const fill = () => {
    const s = state.settings;
    // While the regex is edited (even emptied), the choice stays "name (regex)".
    const value = s.groupRegex || document.activeElement === regex ? 're' : s.groupBy ? `f:${s.groupBy}` : '';
    const keys = [...configKeys];
    const offered = new Set([...keys.map(configField), ...RUN_FIELDS.map(([f]) => f)]);
    if (s.groupBy && !offered.has(s.groupBy)) keys.push(s.groupBy);
    by.replaceChildren(
      el('option', { value: '', text: 'none' }),
      keys.length ? el('optgroup', { label: 'Config' }, keys.map((k) => el('option', { value: `f:${configField(k)}`, text: k }))) : null,
      el('optgroup', { label: 'Run' },
        RUN_FIELDS.map(([f, label]) => el('option', { value: `f:${f}`, text: label })),
        el('option', { value: 're', text: 'name (regex)' })),
    );
    by.value = value;
  };
  const show = () => {
    const s = state.settings;
    const on = groupingOn(s);
    regex.hidden = !(s.groupRegex || by.value === 're');
    if (document.activeElement !== regex) regex.value = s.groupRegex;
    band.value = s.band;
    members.checked = s.groupRuns;
    for (const c of document.querySelectorAll('[data-needs-group]')) c.classList.toggle('disabled', !on);
    band.disabled = !on;
    members.disabled = !on;
  };

  by.addEventListener('change', () => {
    const v = by.value;
    const s = state.settings;
    if (v === 're') {
      const re = regex.value || s.groupRegex || DEFAULT_NAME_REGEX;
      regex.value = re;
      state.set({ settings: { ...s, groupBy: '', groupRegex: re } });
    } else {
      state.set({ settings: { ...s, groupBy: v ? v.slice(2) : '', groupRegex: '' } });
    }
    show();
  });
  let typing = 0;
  regex.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => state.set({ settings: { ...state.settings, groupBy: '', groupRegex: regex.value } }), 250);
  });
  band.addEventListener('change', () => state.setting('band', band.value));
  members.addEventListener('change', () => state.setting('groupRuns', members.checked));

  // The keys are fetched again when the runs are other runs, else at most every
  // `KEYS_REFETCH_MS` (a run may send its config later): not on every refetch of the list.
  let timer = 0;
  let names = null;
  let fetchedAt = -Infinity;
  const loadKeys = () => {
    const now = state.runNames().join('\u0000');
    if (timer || (now === names && performance.now() - fetchedAt < KEYS_REFETCH_MS)) return;
    names = now;
    fetchedAt = performance.now();
    timer = setTimeout(async () => {
      timer = 0;
      try {
        configKeys = await getJson('api/v1/config_keys', { archived: state.settings.archived ? 'true' : null });
        fill();
        show();
      } catch (e) {
        console.warn('runboard config keys', e);
      }
    }, 200);
  };
  state.subscribe(['runs'], loadKeys);
  state.subscribe(['settings.groupBy', 'settings.groupRegex', 'settings.band', 'settings.groupRuns'], () => { fill(); show(); });
  fill();
  show();
  loadKeys();
}
