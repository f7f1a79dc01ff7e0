// The HParams tab in a real browser (issue 15): Debian's headless Chromium, driven with
// playwright-core, against a real runboard server started by tests/browser.rs on a copy of the
// committed fixture tests/fixtures/logdirs/hparams (a `config` run declaring the experiment,
// sessions trial_0..trial_5 of every status, two of them one group, metrics in each run and
// its `validation` sub-run; a `baseline` run that is no session) plus what the test writes: a
// scalar tag in a session run that the experiment does not declare, and a session `trial_6`
// whose optimizer lies outside the declared domain. Everything the page must
// show is derived here from the server's `/api/v1/hparams` (and `/api/v1/series`), never
// written down. Prints `pass <name>` per check; exits non-zero on the first failure.

import { artifacts, base, assert, json, sorted, same, get, openPage } from './harness.mjs';

const { page, check, finish } = await openPage('hparams');

const PANE = '.pane[data-pane=hparams]';
const STATUSES = ['success', 'failure', 'running', 'unknown'];

// ---- what the API says ----

const api = await get('api/v1/hparams');
/** A value as the API writes it, as a number where it is one ("NaN" and ±"Infinity" too). */
const number = (v) => (typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
const missing = (v) => v === undefined || v === null;
const hnames = new Set(api.hparams.map((h) => h.name));
/** The metrics shown as columns: every listed one but one named like a hyperparameter. */
const metrics = api.metrics.filter((m) => m.group || !hnames.has(m.tag));
const metricKey = (m) => json([m.group || '', m.tag]);
/** A session's value of hyperparameter `name`, or of metric `m`. */
const hvalue = (s, name) => (missing(s.hparams[name]) ? undefined : number(s.hparams[name]));
const mvalue = (s, m) => {
  const got = s.metrics.find((x) => x.tag === m.tag && (x.group || '') === (m.group || ''));
  return got && !missing(got.value) ? number(got.value) : undefined;
};
/** Whether hyperparameter `h` has an axis of categories (a domain of values, or text/booleans). */
const categorical = (h) => Array.isArray(h.domain?.values) || h.type === 'string' || h.type === 'bool';
/** The categories of `h`: its domain's values, then the other values the sessions have. */
function categoriesOf(h) {
  const out = (h.domain?.values || []).map(String);
  for (const s of api.sessions) {
    const v = s.hparams[h.name];
    if (!missing(v) && !out.includes(String(v))) out.push(String(v));
  }
  return out;
}
const runsOf = (sessions) => sessions.map((s) => s.run);

/** What the page shows now. */
function shown() {
  return page.evaluate((sel) => {
    const pane = document.querySelector(sel);
    return {
      heads: [...pane.querySelectorAll('.hp-sessions thead th')].map((th) => ({ ...th.dataset, text: th.textContent })),
      rows: [...pane.querySelectorAll('.hp-sessions tbody tr')].map((tr) => ({
        ...tr.dataset,
        cells: [...tr.cells].map((c) => c.textContent),
        badge: tr.querySelector('.badge')?.dataset.status,
      })),
      lines: [...pane.querySelectorAll('.hp-line')].map((g) => ({ run: g.dataset.run, selected: g.dataset.selected })),
      axes: [...pane.querySelectorAll('.hp-axis')].map((g) => ({ ...g.dataset })),
      cells: [...pane.querySelectorAll('.hp-cell')].map((c) => ({
        ...c.dataset,
        dots: [...c.querySelectorAll('.hp-point')].map((p) => ({ run: p.dataset.run, selected: p.dataset.selected })),
      })),
      count: pane.querySelector('.hp-count')?.textContent,
      drawn: pane.dataset.drawn,
    };
  }, PANE);
}

/** Waits until the page shows the rows of `want` (sessions), in the table and as lines. */
async function expectRows(want, what) {
  const runs = runsOf(want);
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(`${sel} .hp-sessions tbody tr`).length === n
    && document.querySelectorAll(`${sel} .hp-line`).length === n, [PANE, runs.length], { timeout: 5_000 }).catch(() => {});
  const got = await shown();
  assert(same(got.rows.map((r) => r.run), runs), `${what}: rows ${json(got.rows.map((r) => r.run))}, want ${json(runs)}`);
  assert(same(got.lines.map((l) => l.run), runs), `${what}: lines ${json(got.lines.map((l) => l.run))}, want ${json(runs)}`);
  assert(got.count === `${runs.length} of ${api.sessions.length} sessions`, `${what}: count "${got.count}"`);
  for (const cell of got.cells) {
    const h = api.hparams.find((x) => x.name === cell.hparam);
    const m = metrics.find((x) => `m:${metricKey(x)}` === cell.metric);
    assert(h && m, `${what}: a scatter cell for a column the API does not list: ${json({ ...cell, dots: undefined })}`);
    const withBoth = want.filter((s) => {
      const hv = hvalue(s, h.name);
      const mv = mvalue(s, m);
      const hOk = categorical(h) ? !missing(hv) : Number.isFinite(hv);
      return hOk && Number.isFinite(mv);
    });
    assert(same(cell.dots.map((d) => d.run), runsOf(withBoth)),
      `${what}: cell ${h.name} × ${m.tag}: dots ${json(cell.dots.map((d) => d.run))}, want ${json(runsOf(withBoth))}`);
  }
  return got;
}

/** Sets a filter input and waits for the redraw. */
async function redraw(act) {
  const before = await page.evaluate((sel) => document.querySelector(sel).dataset.drawn, PANE);
  await act();
  await page.waitForFunction(([sel, b]) => document.querySelector(sel).dataset.drawn !== b, [PANE, before], { timeout: 5_000 });
}

await check('declared-metric-columns', async () => {
  await page.goto(`${base}/?tab=hparams`);
  await page.waitForSelector(`${PANE}[data-drawn] .hp-sessions tbody tr`, { timeout: 20_000 });
  assert(api.declared === true, `the fixture declares its experiment: ${json(api.declared)}`);
  assert(api.sessions.length >= 4, `sessions: ${json(runsOf(api.sessions))}`);
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(`${sel} .hp-sessions tbody tr`).length === n,
    [PANE, api.sessions.length], { timeout: 10_000 }).catch(() => {});
  const got = await shown();
  // Metric columns: exactly the API's, labelled as declared.
  const metricHeads = got.heads.filter((h) => h.kind === 'metric');
  assert(same(metricHeads.map((h) => json([h.group, h.tag])), metrics.map(metricKey)),
    `metric columns ${json(metricHeads)}, the API lists ${json(metrics)}`);
  for (const m of metrics) {
    const label = m.display_name || (m.group ? `${m.group}/${m.tag}` : m.tag);
    assert(metricHeads.some((h) => h.tag === m.tag && h.group === (m.group || '') && h.text === label), `no column labelled ${label}`);
  }
  // A scalar tag a session run logged that the experiment does not declare: no column for it.
  const series = await get('api/v1/series');
  const sessionRuns = new Set(runsOf(api.sessions));
  const ownerOf = (run) => [...sessionRuns].find((s) => run === s || run.startsWith(`${s}/`));
  const undeclared = series.filter((s) => s.kind === 'scalar' && ownerOf(s.run)
    && !metrics.some((m) => m.tag === s.tag && (m.group || '') === (s.run === ownerOf(s.run) ? '' : s.run.slice(ownerOf(s.run).length + 1))));
  assert(undeclared.length > 0, 'the test wrote an undeclared scalar tag into a session run');
  for (const s of undeclared) {
    assert(!got.heads.some((h) => h.tag === s.tag || h.text === s.tag), `a column for the undeclared tag ${s.tag}: ${json(got.heads)}`);
    assert(!got.axes.some((a) => a.name === s.tag), `an axis for the undeclared tag ${s.tag}`);
  }
  // Hyperparameter columns: the API's, labelled by display name.
  const hparamHeads = got.heads.filter((h) => h.kind === 'hparam');
  assert(json(hparamHeads.map((h) => h.text)) === json(api.hparams.map((h) => h.display_name || h.name)),
    `hparam columns ${json(hparamHeads.map((h) => h.text))}`);
  // The axes: one per hyperparameter, then one per metric.
  assert(json(got.axes.map((a) => a.col)) === json([...hparamHeads, ...metricHeads].map((h) => h.col)), `axes ${json(got.axes.map((a) => a.col))}`);
  // The table's values are the API's.
  for (const s of api.sessions) {
    const row = got.rows.find((r) => r.run === s.run);
    for (const m of metrics) {
      const i = got.heads.findIndex((h) => h.kind === 'metric' && h.tag === m.tag && h.group === (m.group || ''));
      const v = mvalue(s, m);
      const text = row.cells[i];
      assert(v === undefined ? text === '–' : Math.abs(Number(text) - v) <= Math.abs(v) * 1e-3 + 1e-9, `${s.run} ${m.tag}: ${text} vs ${v}`);
    }
  }
  // No declared-metrics hint when metrics are declared; a row, a line and dots per session (the
  // run that is no session is none of them).
  assert(await page.isHidden(`${PANE} .hp-note`), 'the "not declared" hint shows for a declared experiment');
  await expectRows(api.sessions, 'all');
});

await check('status-column-and-filter', async () => {
  let got = await shown();
  for (const s of api.sessions) {
    const row = got.rows.find((r) => r.run === s.run);
    const i = got.heads.findIndex((h) => h.kind === 'status');
    assert(row.cells[i] === s.status && row.badge === s.status && row.status === s.status, `${s.run}: status ${json(row)}, API ${s.status}`);
  }
  const present = new Set(api.sessions.map((s) => s.status));
  assert(present.size >= 3, `the fixture has sessions of several statuses: ${json([...present])}`);
  const boxes = await page.$$eval(`${PANE} .hp-filter[data-filter=status] input`, (is) => is.map((i) => i.dataset.status));
  assert(same(boxes, STATUSES), `status boxes ${json(boxes)}`);
  // Leave out the first status the sessions have, then a second one.
  const off = [...present].slice(0, 2);
  for (let k = 1; k <= off.length; k++) {
    await redraw(() => page.uncheck(`${PANE} .hp-filter[data-filter=status] input[data-status=${off[k - 1]}]`));
    const out = new Set(off.slice(0, k));
    got = await expectRows(api.sessions.filter((s) => !out.has(s.status)), `without ${json([...out])}`);
  }
  for (const s of off) await redraw(() => page.check(`${PANE} .hp-filter[data-filter=status] input[data-status=${s}]`));
  await expectRows(api.sessions, 'statuses back');
});

await check('hparam-filter', async () => {
  // A categorical hyperparameter: a box per value; unchecking one leaves out its sessions.
  const cat = api.hparams.find((h) => categorical(h) && new Set(api.sessions.map((s) => String(s.hparams[h.name]))).size > 1);
  assert(cat, `a categorical hyperparameter whose value differs: ${json(api.hparams)}`);
  const col = `h:${cat.name}`;
  const values = await page.$$eval(`${PANE} .hp-filter input[type=checkbox]`, (is, c) => is.filter((i) => i.dataset.col === c).map((i) => i.dataset.value), col);
  assert(json(values) === json(categoriesOf(cat)), `${cat.name} boxes ${json(values)}, want ${json(categoriesOf(cat))}`);
  const drop = String(api.sessions.find((s) => !missing(s.hparams[cat.name])).hparams[cat.name]);
  const target = `${PANE} .hp-filter[data-col="${col}"] input[data-value="${drop}"]`;
  await redraw(() => page.uncheck(target));
  await expectRows(api.sessions.filter((s) => missing(s.hparams[cat.name]) || String(s.hparams[cat.name]) !== drop), `${cat.name} ≠ ${drop}`);
  await redraw(() => page.check(target));
  // A numeric hyperparameter: min and max.
  const numeric = api.hparams.find((h) => !categorical(h) && new Set(api.sessions.map((s) => hvalue(s, h.name)).filter(Number.isFinite)).size > 2);
  assert(numeric, `a numeric hyperparameter with three values: ${json(api.hparams)}`);
  const vals = [...new Set(api.sessions.map((s) => hvalue(s, numeric.name)).filter(Number.isFinite))].sort((a, b) => a - b);
  const min = vals[1];
  const input = `${PANE} .hp-filter[data-col="h:${numeric.name}"] input[data-bound=min]`;
  await redraw(() => page.fill(input, String(min)));
  await expectRows(api.sessions.filter((s) => hvalue(s, numeric.name) >= min), `${numeric.name} ≥ ${min}`);
  const max = vals[vals.length - 2];
  const maxInput = `${PANE} .hp-filter[data-col="h:${numeric.name}"] input[data-bound=max]`;
  await redraw(() => page.fill(maxInput, String(max)));
  await expectRows(api.sessions.filter((s) => hvalue(s, numeric.name) >= min && hvalue(s, numeric.name) <= max), `${min} ≤ ${numeric.name} ≤ ${max}`);
  await redraw(() => page.fill(input, ''));
  await redraw(() => page.fill(maxInput, ''));
  await expectRows(api.sessions, 'hparam filters cleared');
});

await check('metric-range-filter', async () => {
  // A metric some session lacks, if any: clearing the filter must bring those back too.
  const spread = metrics.filter((x) => new Set(api.sessions.map((s) => mvalue(s, x)).filter(Number.isFinite)).size > 2);
  const m = spread.find((x) => api.sessions.some((s) => !Number.isFinite(mvalue(s, x)))) || spread[0];
  assert(m, `a metric with three values: ${json(metrics)}`);
  const vals = [...new Set(api.sessions.map((s) => mvalue(s, m)).filter(Number.isFinite))].sort((a, b) => a - b);
  const max = (vals[Math.floor(vals.length / 2)] + vals[Math.floor(vals.length / 2) - 1]) / 2;
  const input = `${PANE} .hp-filter[data-col='m:${metricKey(m)}'] input[data-bound=max]`;
  await redraw(() => page.fill(input, String(max)));
  await expectRows(api.sessions.filter((s) => mvalue(s, m) <= max), `${m.tag} ≤ ${max}`);
  // With a status filter too: both apply.
  const status = api.sessions.find((s) => mvalue(s, m) <= max).status;
  await redraw(() => page.uncheck(`${PANE} .hp-filter[data-filter=status] input[data-status=${status}]`));
  await expectRows(api.sessions.filter((s) => mvalue(s, m) <= max && s.status !== status), `${m.tag} ≤ ${max}, not ${status}`);
  await redraw(() => page.check(`${PANE} .hp-filter[data-filter=status] input[data-status=${status}]`));
  await redraw(() => page.fill(input, ''));
  await expectRows(api.sessions, 'metric filter cleared');
});

/** The page geometry of the parallel axis of column `col`: x, the value at a page y, the page y of a value. */
async function axisOf(col) {
  const a = await page.evaluate((c) => {
    const svg = document.querySelector('.hp-parallel');
    const r = svg.getBoundingClientRect();
    const g = [...svg.querySelectorAll('.hp-axis')].find((x) => x.dataset.col === c);
    return { ...g.dataset, svgLeft: r.left, svgTop: r.top, ticks: [...g.querySelectorAll('.hp-tick')].map((t) => ({ value: t.dataset.value, y: Number(t.getAttribute('y')) })) };
  }, col);
  const [from, to] = [Number(a.from), Number(a.to)]; // pixels of the low and high end
  const log = a.scale === 'log';
  const f = log ? Math.log10 : (v) => v;
  const [lo, hi] = [f(Number(a.lo)), f(Number(a.hi))];
  return {
    ...a,
    x: a.svgLeft + Number(a.x),
    yOf: (v) => a.svgTop + from + ((f(v) - lo) / (hi - lo)) * (to - from),
    valueAt: (pageY) => {
      const t = lo + ((pageY - a.svgTop - from) / (to - from)) * (hi - lo);
      return log ? 10 ** t : t;
    },
    catY: (value) => a.svgTop + a.ticks.find((t) => t.value === value).y,
  };
}

async function drag(x, y0, y1) {
  const before = await page.evaluate((sel) => document.querySelector(sel).dataset.selected, PANE);
  await page.mouse.move(x, y0);
  await page.mouse.down();
  await page.mouse.move(x, (y0 + y1) / 2, { steps: 3 });
  await page.mouse.move(x, y1, { steps: 3 });
  await page.mouse.up();
  return before;
}

/** The runs marked selected in the lines, table and scatter dots (each must agree). */
async function selectedNow(what) {
  const got = await shown();
  const lines = got.lines.filter((l) => l.selected === '1').map((l) => l.run);
  const rows = got.rows.filter((r) => r.selected === '1').map((r) => r.run);
  assert(same(lines, rows), `${what}: lines ${json(lines)} vs rows ${json(rows)} selected`);
  for (const c of got.cells) {
    const dots = c.dots.filter((d) => d.selected === '1').map((d) => d.run);
    assert(dots.every((r) => lines.includes(r)) && c.dots.filter((d) => d.selected === '0').every((d) => !lines.includes(d.run)),
      `${what}: cell ${c.hparam} × ${c.tag} dots ${json(c.dots)} vs ${json(lines)}`);
  }
  return lines;
}

/** A page y range on axis `a` that holds the middle of `values` (sorted positions) and no value at its ends. */
function middleRange(a, values) {
  const ys = [...new Set(values.map((v) => a.yOf(v)))].sort((p, q) => p - q);
  assert(ys.length >= 3, `three distinct positions: ${json(ys)}`);
  // From between the first and second to between the second-to-last and last.
  return [Math.round((ys[0] + ys[1]) / 2), Math.round((ys[ys.length - 2] + ys[ys.length - 1]) / 2)];
}

await check('brushing', async () => {
  const inRange = (v, a, y0, y1) => {
    const [p, q] = [a.valueAt(y0), a.valueAt(y1)];
    return Number.isFinite(v) && v >= Math.min(p, q) && v <= Math.max(p, q);
  };
  // A numeric hyperparameter.
  const h = api.hparams.find((x) => !categorical(x) && new Set(api.sessions.map((s) => hvalue(s, x.name)).filter(Number.isFinite)).size > 2);
  const ha = await axisOf(`h:${h.name}`);
  const [hy0, hy1] = middleRange(ha, api.sessions.map((s) => hvalue(s, h.name)).filter(Number.isFinite));
  await drag(ha.x, hy0, hy1);
  const byH = api.sessions.filter((s) => inRange(hvalue(s, h.name), ha, hy0, hy1));
  assert(byH.length > 0 && byH.length < api.sessions.length, `the brush on ${h.name} selects some: ${json(runsOf(byH))}`);
  let sel = await selectedNow(`brush ${h.name}`);
  assert(same(sel, runsOf(byH)), `brush on ${h.name} [${ha.valueAt(hy1)}, ${ha.valueAt(hy0)}]: selected ${json(sel)}, want ${json(runsOf(byH))}`);
  const drawn = await page.$eval(`.hp-brush-area[data-col="h:${h.name}"]`, (a) => a.previousElementSibling.dataset);
  assert(Math.abs(Number(drawn.lo) - Math.min(ha.valueAt(hy0), ha.valueAt(hy1))) <= Math.abs(Number(drawn.lo)) * 0.02 + 1e-9,
    `the brush's range ${json(drawn)} vs [${ha.valueAt(hy0)}, ${ha.valueAt(hy1)}]`);
  // A second brush, on a metric: both apply.
  const m = metrics.find((x) => new Set(byH.map((s) => mvalue(s, x)).filter(Number.isFinite)).size > 2)
    || metrics.find((x) => new Set(api.sessions.map((s) => mvalue(s, x)).filter(Number.isFinite)).size > 2);
  const ma = await axisOf(`m:${metricKey(m)}`);
  const [my0, my1] = middleRange(ma, api.sessions.map((s) => mvalue(s, m)).filter(Number.isFinite));
  await drag(ma.x, my0, my1);
  const byM = api.sessions.filter((s) => inRange(mvalue(s, m), ma, my0, my1));
  sel = await selectedNow('two brushes');
  const both = byH.filter((s) => byM.includes(s));
  assert(same(sel, runsOf(both)), `brushes on ${h.name} and ${m.tag}: selected ${json(sel)}, want ${json(runsOf(both))}`);
  // Unselected lines are faint.
  const faint = await page.$$eval('.hp-line[data-selected="0"] .hp-line-path', (ps) => ps.map((p) => Number(getComputedStyle(p).opacity)));
  assert(faint.length === api.sessions.length - both.length && faint.every((o) => o < 0.5), `faint lines ${json(faint)}`);
  // Hovering a table row highlights its line; hovering a line its row.
  const run = api.sessions[0].run;
  await page.hover(`${PANE} .hp-sessions tbody tr[data-run="${run}"]`);
  await page.waitForFunction((r) => document.querySelector(`.hp-line.hovered`)?.dataset.run === r, run, { timeout: 3_000 });
  // A click on the first axis clears its brush: the metric's alone is left.
  await drag(ha.x, hy0, hy0);
  sel = await selectedNow('one brush left');
  assert(same(sel, runsOf(byM)), `after clearing ${h.name}: selected ${json(sel)}, want ${json(runsOf(byM))}`);
  // A categorical axis: a drag over one category's tick selects its sessions.
  const c = api.hparams.find((x) => categorical(x) && new Set(api.sessions.map((s) => String(s.hparams[x.name]))).size > 1);
  const ca = await axisOf(`h:${c.name}`);
  const value = String(api.sessions[0].hparams[c.name]);
  const y = ca.catY(value);
  await drag(ma.x, my0, my0); // clears the metric's brush
  await drag(ca.x, y - 5, y + 5);
  sel = await selectedNow(`brush on ${c.name}`);
  const byC = api.sessions.filter((s) => !missing(s.hparams[c.name]) && String(s.hparams[c.name]) === value);
  assert(same(sel, runsOf(byC)), `brush on ${c.name} = ${value}: selected ${json(sel)}, want ${json(runsOf(byC))}`);
  await drag(ca.x, y, y);
  sel = await selectedNow('no brush');
  assert(sel.length === api.sessions.length, `no brush selects all: ${json(sel)}`);
});

await check('categorical-ticks', async () => {
  const cats = api.hparams.filter(categorical);
  assert(cats.length >= 2, `categorical hyperparameters: ${json(cats.map((h) => h.name))}`);
  // One with more than its two ends (the test adds a value outside the declared domain).
  assert(cats.some((h) => categoriesOf(h).length >= 3), `a categorical hyperparameter with three values: ${json(cats)}`);
  for (const h of cats) {
    const a = await axisOf(`h:${h.name}`);
    assert(a.scale === 'cat', `${h.name}: scale ${a.scale}`);
    const want = categoriesOf(h);
    assert(json(a.ticks.map((t) => t.value)) === json(want), `${h.name} ticks ${json(a.ticks)}, want ${json(want)}`);
    const texts = await page.$$eval('.hp-parallel .hp-axis', (gs, c) => [...gs.find((g) => g.dataset.col === c).querySelectorAll('.hp-tick')]
      .map((t) => t.dataset.full), `h:${h.name}`);
    assert(json(texts) === json(want), `${h.name} tick labels ${json(texts)}`);
    // Their labels do not overlap one another.
    const ys = a.ticks.map((t) => t.y).sort((p, q) => p - q);
    for (let i = 1; i < ys.length; i++) assert(ys[i] - ys[i - 1] >= 12, `${h.name}: ticks ${json(ys)} too close`);
  }
  // Numeric axes get a few ticks inside their range.
  for (const a of (await shown()).axes.filter((x) => x.scale !== 'cat')) {
    const ticks = await page.$$eval('.hp-parallel .hp-axis', (gs, c) => [...gs.find((g) => g.dataset.col === c).querySelectorAll('.hp-tick')]
      .map((t) => Number(t.dataset.value)), a.col);
    assert(ticks.length >= 2 && ticks.every((v) => v >= Number(a.lo) * (1 - 1e-9) - 1e-12 && v <= Number(a.hi) * (1 + 1e-9) + 1e-12),
      `${a.col}: ticks ${json(ticks)} in [${a.lo}, ${a.hi}]`);
  }
});

/** Every label's drawn width against the room it was given, and neighbouring axis titles apart. */
async function labelsFit(what) {
  const bad = await page.evaluate(() => {
    const out = [];
    const texts = document.querySelectorAll('.hp-parallel text[data-width], .hp-scatter text[data-width]');
    for (const t of texts) {
      const w = t.getComputedTextLength();
      if (w > Number(t.dataset.width) + 0.5) out.push(`${t.getAttribute('class')} "${t.textContent}" ${w} > ${t.dataset.width}`);
      const text = t.firstChild?.nodeType === Node.TEXT_NODE ? t.firstChild.nodeValue : '';
      if (text !== t.dataset.full && !t.querySelector('title')?.textContent.split('\n').includes(t.dataset.full)) out.push(`"${text}" cut without its full text`);
    }
    const titles = [...document.querySelectorAll('.hp-parallel .hp-axis-title')].map((t) => t.getBBox());
    for (let i = 1; i < titles.length; i++) {
      if (titles[i].x < titles[i - 1].x + titles[i - 1].width) out.push(`titles ${i - 1} and ${i} overlap`);
    }
    const slot = Number(document.querySelector('.hp-parallel').dataset.slot);
    for (const g of document.querySelectorAll('.hp-parallel .hp-axis')) {
      const b = g.querySelector('.hp-axis-title').getBBox();
      const x = Number(g.dataset.x);
      if (b.x < x - slot / 2 || b.x + b.width > x + slot / 2) out.push(`title of ${g.dataset.col} leaves its slot`);
      for (const t of g.querySelectorAll('.hp-tick')) {
        const tb = t.getBBox();
        if (tb.x < x - slot / 2 - 0.5) out.push(`tick ${t.textContent} of ${g.dataset.col} leaves its slot`);
      }
    }
    return { out, count: texts.length, cut: [...texts].filter((t) => t.firstChild?.nodeValue !== t.dataset.full).length };
  });
  assert(bad.count > 0, `${what}: no labels`);
  assert(bad.out.length === 0, `${what}: ${bad.out.join('\n')}`);
  return bad;
}

await check('labels-fit', async () => {
  await labelsFit('wide');
  // Narrow: titles must be cut, still inside their slots.
  await redraw(() => page.setViewportSize({ width: 1000, height: 900 }));
  const narrow = await labelsFit('narrow');
  assert(narrow.cut > 0, `at 1000 px wide some label is cut: ${json(narrow)}`);
  await page.screenshot({ path: `${artifacts}/hparams-narrow.png`, fullPage: true });
  await redraw(() => page.setViewportSize({ width: 1600, height: 1000 }));
  await labelsFit('wide again');
});

await check('scatter-matrix', async () => {
  const got = await expectRows(api.sessions, 'scatter');
  const want = [];
  for (const m of metrics) for (const h of api.hparams) want.push(`${h.name} × ${metricKey(m)}`);
  const cells = got.cells.map((c) => `${c.hparam} × ${json([c.group, c.tag])}`);
  assert(same(cells, want), `cells ${json(cells)}, want ${json(want)}`);
  for (const c of got.cells) assert(Number(c.points) === c.dots.length, `cell ${json(c)}`);
  // Categorical hyperparameters on a categorical x axis.
  for (const h of api.hparams.filter(categorical)) {
    const scales = got.cells.filter((c) => c.hparam === h.name).map((c) => c.xScale);
    assert(scales.every((s) => s === 'cat'), `${h.name}: x scales ${json(scales)}`);
  }
  // Hovering a dot highlights its run's row.
  const dot = page.locator('.hp-scatter .hp-point').first();
  const run = await dot.getAttribute('data-run');
  await dot.hover({ force: true });
  await page.waitForFunction((r) => document.querySelector('.hp-sessions tr.hovered')?.dataset.run === r, run, { timeout: 3_000 });
  await page.mouse.move(5, 5);
  await page.screenshot({ path: `${artifacts}/hparams.png`, fullPage: true });
});

await finish();
