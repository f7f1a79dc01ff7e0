// Issue 14 in a real browser (Debian's headless Chromium via playwright-core), against the real
// server started by tests/browser.rs: groups of runs (mean and band as numpy computes them, the
// members faintly behind, live), a chart against another series (`epoch`, paired by step), and
// the compare view (only what differs, its URL reproducing it, logged text shown as text).
//
// Talks to the test over stdio: `ingest <run> <step> <value>` asks it to POST a loss point; it
// answers `ok`. Prints `pass <name>` per check; exits non-zero on the first failure.
//
// Environment: RUNBOARD_URL (the server), ARTIFACTS (a folder for screenshots), EXPECTED (a
// JSON file: the points POSTed per run, and numpy's groups by lr: `groups` for every run,
// `subset` without the seed-2 runs; rows `[step, mean, mean - std, mean + std, min, max, n]`),
// CHROMIUM (the browser, default /usr/bin/chromium).

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const base = process.env.RUNBOARD_URL;
const artifacts = process.env.ARTIFACTS;
if (!base || !artifacts || !process.env.EXPECTED) throw new Error('RUNBOARD_URL, ARTIFACTS and EXPECTED must be set');
const expected = JSON.parse(readFileSync(process.env.EXPECTED, 'utf8'));

const replies = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(line) {
  console.log(line);
  const r = await replies.next();
  if (r.done || r.value.trim() !== 'ok') throw new Error(`${line}: got ${r.value}`);
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const TOL = 1e-9;
const close = (a, b) => typeof a === 'number' && Math.abs(a - b) <= TOL;
const RUNS = Object.keys(expected.posted);
const runName = (lr, seed) => `sweep/lr${lr}/s${seed}`;
const LOSS = '.card[data-kind=scalar][data-tag="loss"]';
/** Loss points sent while the page is open, per run. */
const live = {};
/** Every loss point of `run`: POSTed before and while the page was open. */
const lossOf = (run) => [...expected.posted[run].loss, ...(live[run] || [])];
async function ingest(run, step, value) {
  await ask(`ingest ${run} ${step} ${value}`);
  (live[run] ??= []).push([step, value]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const errors = [];
let page;
async function open(url) {
  const p = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  p.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await p.goto(url);
  await p.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  return p;
}

async function check(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    if (page) await page.screenshot({ path: `${artifacts}/failure-${name}.png`, fullPage: true }).catch(() => {});
    await browser.close();
    process.exit(1);
  }
  console.log(`pass ${name}`);
}

/**
 * What the chart of `sel` draws, read from its uPlot instance: per group (by the series' roles
 * the card records), its steps with the mean, low and high drawn there; per member run, its
 * steps and values.
 */
function drawnGroups(p, sel) {
  return p.evaluate((sel) => {
    const card = document.querySelector(sel)?.card;
    if (!card?.u || card.el.dataset.mode !== 'groups') return null;
    const { u, info } = card;
    const groups = {};
    const members = [];
    for (let i = 1; i < u.series.length; i++) {
      const role = info[i];
      const xs = [];
      const ys = [];
      for (let k = 0; k < u.data[0].length; k++) {
        if (u.data[i][k] === undefined) continue;
        xs.push(u.data[0][k]);
        ys.push(u.data[i][k]);
      }
      if (role.kind === 'member') {
        members.push({ run: role.run, group: role.group, steps: xs, values: ys, stroke: u.series[i].stroke(u, i), width: u.series[i].width });
      } else {
        const g = (groups[role.group] ??= { steps: xs });
        g[role.kind] = ys;
        if (role.kind === 'mean') g.stroke = u.series[i].stroke(u, i);
      }
    }
    const runsOf = Object.fromEntries(card.groups.map((g) => [g.key, [...g.runs].sort()]));
    return { groups, members, runsOf, bands: u.bands.length, legend: [...card.el.querySelectorAll('.group-key')].map((e) => e.textContent) };
  }, sel);
}

/** Checks the drawn groups against numpy's rows (`mean` with `[lowCol, highCol]` of a row). */
function compareGroups(d, want, [lowCol, highCol], what) {
  const keys = Object.keys(want).sort();
  assert(JSON.stringify(Object.keys(d.groups).sort()) === JSON.stringify(keys), `${what}: groups drawn ${Object.keys(d.groups)}, want ${keys}`);
  for (const key of keys) {
    const g = d.groups[key];
    const rows = new Map(want[key].map((r) => [r[0], r]));
    assert(g.steps.length > 0 && g.steps.length === rows.size, `${what} ${key}: ${g.steps.length} steps drawn, numpy has ${rows.size}`);
    g.steps.forEach((step, i) => {
      const r = rows.get(step);
      assert(r, `${what} ${key}: step ${step} drawn, numpy has none`);
      assert(close(g.mean[i], r[1]), `${what} ${key} mean at step ${step}: ${g.mean[i]} vs numpy ${r[1]}`);
      assert(close(g.low[i], r[lowCol]), `${what} ${key} low at step ${step}: ${g.low[i]} vs numpy ${r[lowCol]}`);
      assert(close(g.high[i], r[highCol]), `${what} ${key} high at step ${step}: ${g.high[i]} vs numpy ${r[highCol]}`);
    });
  }
}

/** Waits until the chart of `sel` draws groups passing `ok(drawn)`; returns the last drawn. */
async function waitGroups(p, sel, ok, what, timeout = 10_000) {
  const until = Date.now() + timeout;
  let d = null;
  let last = null;
  while (Date.now() < until) {
    d = await drawnGroups(p, sel);
    if (d) {
      try {
        if (ok(d)) return d;
      } catch (e) {
        last = e;
      }
    }
    await p.waitForTimeout(100);
  }
  throw last || new Error(`${what}: not drawn (${JSON.stringify(d)?.slice(0, 300)})`);
}

async function select(p, id, value) {
  await p.selectOption(`#${id}`, value);
}

const param = (p, k) => new URL(p.url()).searchParams.get(k);

await check('loads', async () => {
  page = await open(base);
  await page.waitForFunction(() => document.querySelectorAll('.card[data-kind=scalar]').length === 2, null, { timeout: 15_000 });
  const runs = await page.$$eval('#run-list li', (ls) => ls.map((l) => l.dataset.run).sort());
  assert(JSON.stringify(runs) === JSON.stringify([...RUNS].sort()), `runs listed: ${runs}`);
  await page.waitForSelector(`${LOSS}[data-drawn="1"][data-mode=runs]`, { timeout: 10_000 });
  // The config keys are offered for grouping.
  await page.waitForSelector('#group-by option[value="f:lr"]', { state: 'attached', timeout: 10_000 });
});

await check('group-by-lr-std-band-equals-numpy', async () => {
  await select(page, 'group-by', 'f:lr');
  assert(param(page, 'group') === 'lr', `URL: ${page.url()}`);
  const d = await waitGroups(page, LOSS, (d) => { compareGroups(d, expected.groups, [2, 3], 'std'); return true; }, 'std band');
  assert(d.bands === 2, `bands: ${d.bands}`);
  for (const lr of ['0.1', '0.01']) {
    const want = [0, 1, 2].map((s) => runName(lr, s)).sort();
    assert(JSON.stringify(d.runsOf[lr]) === JSON.stringify(want), `group ${lr}: ${d.runsOf[lr]}`);
  }
  assert(d.groups['0.1'].stroke !== d.groups['0.01'].stroke, 'one colour per group');
  assert(d.legend.length === 2 && d.legend.some((t) => t.startsWith('0.01')), `legend: ${d.legend}`);
  await page.screenshot({ path: `${artifacts}/groups.png` });
});

await check('min-max-band-equals-numpy', async () => {
  await select(page, 'group-band', 'minmax');
  assert(param(page, 'band') === 'minmax', `URL: ${page.url()}`);
  await waitGroups(page, LOSS, (d) => { compareGroups(d, expected.groups, [4, 5], 'minmax'); return true; }, 'minmax band');
  await select(page, 'group-band', 'std');
  await waitGroups(page, LOSS, (d) => { compareGroups(d, expected.groups, [2, 3], 'std again'); return true; }, 'std band again');
});

await check('show-runs-draws-members-faintly', async () => {
  const d = await drawnGroups(page, LOSS);
  assert(d.members.length === 6, `members drawn: ${d.members.map((m) => m.run)}`);
  for (const m of d.members) {
    const alpha = Number(/rgba\([^)]*,\s*([\d.]+)\)/.exec(m.stroke)?.[1]);
    assert(alpha > 0 && alpha < 0.5, `${m.run} drawn with ${m.stroke}, not faintly`);
    const lr = /lr([\d.]+)\//.exec(m.run)[1];
    assert(m.group === lr, `${m.run} in group ${m.group}`);
    const posted = expected.posted[m.run].loss;
    assert(m.steps.length === posted.length, `${m.run}: ${m.steps.length} points drawn, ${posted.length} posted`);
    posted.forEach(([step, v], i) => {
      assert(m.steps[i] === step && m.values[i] === v, `${m.run} at step ${step}: drawn (${m.steps[i]}, ${m.values[i]}), posted ${v}`);
    });
  }
  await page.click('#group-runs');
  assert(param(page, 'members') === '0', `URL: ${page.url()}`);
  const off = await waitGroups(page, LOSS, (x) => x.members.length === 0, 'members hidden');
  compareGroups(off, expected.groups, [2, 3], 'without members');
  await page.click('#group-runs');
  await waitGroups(page, LOSS, (x) => x.members.length === 6, 'members shown again');
});

await check('tooltip-names-group-mean-band-n', async () => {
  await page.locator(LOSS).scrollIntoViewIfNeeded();
  const box = await page.locator(`${LOSS} .u-over`).boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await page.waitForSelector('#tooltip:not([hidden]) tr', { timeout: 5_000 });
  const rows = await page.$$eval('#tooltip tr', (rs) => rs.map((r) => ({ group: r.dataset.group, cells: [...r.cells].map((c) => c.textContent) })));
  assert(rows.length === 2 && rows.every((r) => r.group === '0.1' || r.group === '0.01'), `tooltip: ${JSON.stringify(rows)}`);
  for (const r of rows) {
    const step = Number(r.cells[5].replace('step ', ''));
    const want = expected.groups[r.group].find((w) => w[0] === step);
    assert(want, `tooltip step ${step} of ${r.group} not in numpy's rows`);
    assert(r.cells[1] === r.group && r.cells[4] === `n = ${want[6]}`, `tooltip row ${JSON.stringify(r)} vs ${want}`);
    assert(Math.abs(Number(r.cells[2]) - want[1]) <= Math.abs(want[1]) * 1e-3, `tooltip mean ${r.cells[2]} vs ${want[1]}`);
    assert(/ – /.test(r.cells[3]), `tooltip band ${r.cells[3]}`);
  }
  await page.mouse.move(0, 0);
});

await check('groups-follow-the-selection', async () => {
  for (const lr of ['0.1', '0.01']) {
    await page.click(`#run-list li[data-run="${runName(lr, 2)}"] input`);
  }
  const d = await waitGroups(page, LOSS, (x) => { compareGroups(x, expected.subset, [2, 3], 'subset'); return true; }, 'subset');
  assert(d.members.length === 4, `members of the selection: ${d.members.map((m) => m.run)}`);
  for (const lr of ['0.1', '0.01']) {
    await page.click(`#run-list li[data-run="${runName(lr, 2)}"] input`);
  }
  await waitGroups(page, LOSS, (x) => { compareGroups(x, expected.groups, [2, 3], 'all again'); return true; }, 'all again');
});

await check('groups-follow-live-points', async () => {
  await page.evaluate(() => { window.__sameDocument = true; });
  await ingest(runName('0.1', 0), 500, 0.125);
  await ingest(runName('0.1', 1), 500, 0.375);
  const d = await waitGroups(page, LOSS, (x) => {
    const g = x.groups['0.1'];
    const i = g.steps.indexOf(500);
    return i >= 0 && close(g.mean[i], 0.25) && close(g.low[i], 0.125) && close(g.high[i], 0.375);
  }, 'live point in the group', 15_000);
  assert(!d.groups['0.01'].steps.includes(500), 'the other group has no step 500');
  assert(await page.evaluate(() => window.__sameDocument === true), 'the page reloaded');
});

await check('group-by-name-regex', async () => {
  await select(page, 'group-by', 're');
  await page.fill('#group-regex', '^sweep/(lr[0-9.]+)/');
  const d = await waitGroups(page, LOSS, (x) => Object.keys(x.groups).sort().join() === 'lr0.01,lr0.1', 'regex groups');
  assert(d.runsOf['lr0.1'].length === 3 && d.runsOf['lr0.01'].length === 3, JSON.stringify(d.runsOf));
  assert(param(page, 'groupre') === '^sweep/(lr[0-9.]+)/', `URL: ${page.url()}`);
});

await check('group-state-in-url', async () => {
  const p = await open(`${base}/?group=lr&band=minmax&members=0`);
  const d = await waitGroups(p, LOSS, (x) => x.members.length === 0 && Object.keys(x.groups).length === 2, 'groups from the URL');
  const g = d.groups['0.1'];
  const i = g.steps.indexOf(0);
  const want = expected.groups['0.1'][0];
  assert(i >= 0 && close(g.low[i], want[4]) && close(g.high[i], want[5]), `min-max band from the URL: ${g.low[i]}, ${g.high[i]} vs ${want}`);
  const controls = await p.evaluate(() => ({
    by: document.getElementById('group-by').value,
    band: document.getElementById('group-band').value,
    runs: document.getElementById('group-runs').checked,
  }));
  assert(controls.by === 'f:lr' && controls.band === 'minmax' && controls.runs === false, JSON.stringify(controls));
  await p.close();
  // Back to one line per run.
  await select(page, 'group-by', '');
  await page.waitForSelector(`${LOSS}[data-mode=runs]`, { timeout: 5_000 });
  assert(param(page, 'group') === null && param(page, 'groupre') === null, `URL: ${page.url()}`);
});

/** The epoch of `run` at `step` as the server pairs it: logged at that step, or the latest before. */
function epochAt(run, step) {
  let x = null;
  for (const [s, e] of expected.posted[run].epoch) if (s <= step) x = e;
  return x;
}

/** What the chart of `sel` draws against its x series: per run, its raw points' x and y. */
function drawnAgainst(p, sel) {
  return p.evaluate((sel) => {
    const card = document.querySelector(sel)?.card;
    if (!card?.u || card.el.dataset.mode !== 'xseries' || card.u.mode !== 2) return null;
    const runs = {};
    for (let i = 1; i < card.u.series.length; i++) {
      if (card.info[i].kind !== 'raw') continue;
      const [xs, ys] = card.u.data[i];
      runs[card.info[i].run] = { xs: [...xs], ys: [...ys] };
    }
    const note = card.el.querySelector('.card-note');
    return { runs, note: note?.textContent ?? null, xLabel: card.u.axes[0].label };
  }, sel);
}

await check('chart-against-epoch-pairs-by-step', async () => {
  await page.locator(LOSS).scrollIntoViewIfNeeded();
  await page.selectOption(`${LOSS} select.card-x`, 'tag:epoch');
  assert(param(page, 'x.loss') === 'tag:epoch', `URL: ${page.url()}`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.card?.u?.mode === 2, LOSS, { timeout: 10_000 });
  const d = await drawnAgainst(page, LOSS);
  const without = runName('0.01', 2);
  assert(d && !(without in d.runs) && Object.keys(d.runs).length === 5, `runs drawn: ${d && Object.keys(d.runs)}`);
  assert(d.note && d.note.includes(without) && d.note.includes('epoch'), `note on the card: ${d.note}`);
  assert(d.xLabel === 'epoch', `x axis: ${d.xLabel}`);
  for (const [run, { xs, ys }] of Object.entries(d.runs)) {
    const posted = lossOf(run);
    assert(xs.length === posted.length, `${run}: ${xs.length} points, ${posted.length} posted`);
    posted.forEach(([step, v], i) => {
      assert(ys[i] === v, `${run} point ${i} (step ${step}): y ${ys[i]}, posted ${v}`);
      assert(xs[i] === epochAt(run, step), `${run} at step ${step}: x ${xs[i]}, epoch ${epochAt(run, step)}`);
    });
  }
  // A few by hand: step 25 of seed 0 has the epoch of step 20; step 120 the one of step 120.
  const r0 = runName('0.1', 0);
  const i25 = lossOf(r0).findIndex(([s]) => s === 25);
  const i120 = lossOf(r0).findIndex(([s]) => s === 120);
  assert(d.runs[r0].xs[i25] === 0.5 && d.runs[r0].xs[i120] === 3, JSON.stringify(d.runs[r0].xs.slice(20, 30)));
  // The tooltip names each run's point nearest the pointer, with its epoch and step.
  const box = await page.locator(`${LOSS} .u-over`).boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await page.waitForSelector('#tooltip:not([hidden]) tr', { timeout: 5_000 });
  const rows = await page.$$eval('#tooltip tr', (rs) => rs.map((r) => ({ run: r.dataset.run, cells: [...r.cells].map((c) => c.textContent) })));
  assert(rows.length === 5, `tooltip rows: ${JSON.stringify(rows)}`);
  for (const { run, cells } of rows) {
    const step = Number(cells[5].replace('step ', ''));
    assert(cells[4] === `epoch ${epochAt(run, step)}`, `tooltip of ${run}: ${cells}`);
  }
  await page.locator(LOSS).screenshot({ path: `${artifacts}/against-epoch.png` });
  await page.mouse.move(0, 0);
  // The other chart keeps the step.
  const epochCard = await page.$eval('.card[data-kind=scalar][data-tag="epoch"]', (c) => c.dataset.mode ?? null);
  assert(epochCard !== 'xseries', `the epoch chart changed its axis too: ${epochCard}`);
  await page.selectOption(`${LOSS} select.card-x`, '');
  await page.waitForSelector(`${LOSS}[data-mode=runs]`, { timeout: 5_000 });
  assert(param(page, 'x.loss') === null, `URL: ${page.url()}`);
});

await check('global-x-axis-lists-series', async () => {
  const opts = await page.$$eval('#x-axis option', (os) => os.map((o) => o.value));
  assert(['step', 'relative', 'wall', 'tag:epoch', 'tag:loss'].every((v) => opts.includes(v)), `x-axis options: ${opts}`);
  await select(page, 'x-axis', 'tag:epoch');
  assert(param(page, 'x') === 'tag:epoch', `URL: ${page.url()}`);
  await page.locator(LOSS).scrollIntoViewIfNeeded();
  await page.waitForFunction((sel) => document.querySelector(sel)?.card?.u?.mode === 2, LOSS, { timeout: 10_000 });
  const d = await drawnAgainst(page, LOSS);
  const r = runName('0.01', 1);
  const posted = lossOf(r);
  assert(d.runs[r].xs.length === posted.length && posted.every(([s], i) => d.runs[r].xs[i] === epochAt(r, s)), `${r} against epoch`);
  // Reloaded, the link keeps the axis.
  const p = await open(page.url());
  await p.locator(LOSS).scrollIntoViewIfNeeded();
  await p.waitForFunction((sel) => document.querySelector(sel)?.card?.u?.mode === 2, LOSS, { timeout: 10_000 });
  assert(await p.$eval('#x-axis', (s) => s.value) === 'tag:epoch', 'x-axis control after reload');
  await p.close();
  await select(page, 'x-axis', 'step');
  await page.waitForSelector(`${LOSS}[data-mode=runs]`, { timeout: 5_000 });
});

const A = runName('0.1', 0);
const B = runName('0.01', 0);
let compareUrl = null;

/** The compare view's tables: per table, its rows (key → cell texts). */
function compareTables(p) {
  return p.evaluate(() => Object.fromEntries([...document.querySelectorAll('.compare-table')].map((t) => [t.dataset.table, {
    runs: [...t.querySelectorAll('thead th')].slice(1).map((th) => th.textContent),
    rows: Object.fromEntries([...t.querySelectorAll('tbody tr[data-key], tbody tr[data-metric]')].map((r) => [r.dataset.key ?? r.dataset.metric, [...r.querySelectorAll('td')].map((c) => c.textContent)])),
  }])));
}

async function waitCompare(p) {
  await p.waitForSelector('[data-pane=compare]:not([hidden]) .compare-table[data-table=config]', { timeout: 10_000 });
  return compareTables(p);
}

/** The compare pane's loss chart: the runs it draws. */
async function compareChartRuns(p) {
  const sel = `[data-pane=compare] ${LOSS}`;
  await p.locator(sel).scrollIntoViewIfNeeded();
  await p.waitForSelector(`${sel}[data-drawn="1"][data-mode=runs] canvas`, { timeout: 10_000 });
  return p.$eval(sel, (c) => c.card.info.filter((i) => i.kind === 'raw').map((i) => i.run));
}

await check('compare-shows-only-differences', async () => {
  assert(await page.isDisabled('#runs-compare') === false, 'compare is offered with 6 runs shown');
  await page.click('#runs-none');
  assert(await page.isDisabled('#runs-compare'), 'compare is offered with no run selected');
  await page.click(`#run-list li[data-run="${A}"] input`);
  await page.click(`#run-list li[data-run="${B}"] input`);
  await page.click('#runs-compare');
  assert(param(page, 'tab') === 'compare', `URL: ${page.url()}`);
  const cmp = new URL(page.url()).searchParams.getAll('cmp');
  assert(JSON.stringify(cmp) === JSON.stringify([A, B]), `compared in the URL: ${cmp}`);
  compareUrl = page.url();
  const t = await waitCompare(page);
  assert(JSON.stringify(t.config.runs) === JSON.stringify([A, B]), `columns: ${t.config.runs}`);
  assert(JSON.stringify(Object.keys(t.config.rows).sort()) === '["lr","note"]', `config rows: ${JSON.stringify(t.config.rows)}`);
  assert(JSON.stringify(t.config.rows.lr) === '["0.1","0.01"]', `lr: ${t.config.rows.lr}`);
  assert(JSON.stringify(Object.keys(t.meta.rows)) === '["command"]', `metadata rows: ${JSON.stringify(t.meta.rows)}`);
  assert(t.meta.rows.command[0] === 'train --lr 0.1 --seed 0', `command: ${t.meta.rows.command}`);
  // Metrics side by side: loss's best (its minimum: a loss is minimized) and last value.
  for (const [i, run] of [A, B].entries()) {
    const pts = lossOf(run).filter(([, v]) => v !== null);
    const wantMin = Math.min(...pts.map(([, v]) => v));
    const [lastStep, lastValue] = pts[pts.length - 1];
    const wantLast = [lastValue, lastStep];
    const cell = t.metrics.rows.loss[i];
    const best = /best (\S+) @ (\d+)/.exec(cell);
    const lastM = /last (\S+) @ (\d+)/.exec(cell);
    assert(best && Math.abs(Number(best[1]) - wantMin) <= Math.abs(wantMin) * 1e-3, `${run} best: ${cell} vs ${wantMin}`);
    assert(lastM && Math.abs(Number(lastM[1]) - wantLast[0]) <= 1e-3 && Number(lastM[2]) === wantLast[1], `${run} last: ${cell} vs ${wantLast}`);
  }
  const drawn = await compareChartRuns(page);
  assert(JSON.stringify(drawn.sort()) === JSON.stringify([A, B].sort()), `compare chart runs: ${drawn}`);
});

await check('compare-show-all', async () => {
  await page.click('#compare-all');
  assert(param(page, 'cmpall') === '1', `URL: ${page.url()}`);
  const t = await compareTables(page);
  for (const k of ['lr', 'note', 'optimizer', 'seed']) assert(k in t.config.rows, `${k} not shown with show all: ${Object.keys(t.config.rows)}`);
  assert(JSON.stringify(t.config.rows.optimizer) === '["adam","adam"]', `optimizer: ${t.config.rows.optimizer}`);
  for (const k of ['git.commit', 'git.branch', 'host', 'user', 'versions.rustc']) assert(k in t.meta.rows, `${k} not shown with show all: ${Object.keys(t.meta.rows)}`);
  const marked = await page.$$eval('.compare-table[data-table=config] tr.differs', (rs) => rs.map((r) => r.dataset.key).sort());
  assert(JSON.stringify(marked) === '["lr","note"]', `rows marked as differing: ${marked}`);
  await page.click('#compare-all');
  const again = await compareTables(page);
  assert(!('optimizer' in again.config.rows), 'optimizer still shown after show all was unchecked');
});

await check('compare-url-reproduces-the-view', async () => {
  const p = await open(compareUrl);
  const t = await waitCompare(p);
  assert(JSON.stringify(t.config.runs) === JSON.stringify([A, B]), `columns after reload: ${t.config.runs}`);
  assert(JSON.stringify(Object.keys(t.config.rows).sort()) === '["lr","note"]', `config rows after reload: ${JSON.stringify(t.config.rows)}`);
  const tab = await p.$eval('[data-tab=compare]', (b) => b.getAttribute('aria-selected'));
  assert(tab === 'true', 'the compare tab is not selected after reload');
  const drawn = await compareChartRuns(p);
  assert(JSON.stringify(drawn.sort()) === JSON.stringify([A, B].sort()), `compare chart runs after reload: ${drawn}`);
  await p.screenshot({ path: `${artifacts}/compare.png`, fullPage: true });
  await p.close();
});

await check('config-text-is-not-html', async () => {
  await page.waitForTimeout(300); // an injected handler would have fired by now
  const r = await page.evaluate(() => ({
    pwned: window.__pwned,
    injected: document.querySelectorAll('.compare-tables script, .compare-tables img, .compare-head script, .compare-head img').length,
    note: document.querySelector('.compare-table[data-table=config] tr[data-key=note] td')?.textContent,
  }));
  assert(r.pwned === undefined && r.injected === 0, JSON.stringify(r));
  assert(r.note === '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">', `the value is shown as text: ${r.note}`);
});

await check('no-console-errors', async () => {
  assert(errors.length === 0, errors.join('\n'));
});

await browser.close();
console.log('done');
process.exit(0);
