// The Runs tab in a real browser (issue 14): Debian's headless Chromium, driven with
// playwright-core, against a real runboard server started by tests/browser.rs on a logdir of
// seven runs (`run_table_fixture`: config lr / optimizer / batch, one run without batch, one
// optimizer and one run name holding HTML; scalars loss, accuracy, train/lr). Every expected
// value comes from the API (`/api/v1/run_table`), fetched here, not from the page's code.
// Prints `pass <name>` per check; exits non-zero on the first failure.
//
// Environment: RUNBOARD_URL (the server), ARTIFACTS (screenshots), CHROMIUM (the browser).

import { chromium } from 'playwright-core';

const base = process.env.RUNBOARD_URL;
const artifacts = process.env.ARTIFACTS;
if (!base || !artifacts) throw new Error('RUNBOARD_URL and ARTIFACTS must be set');

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
const json = (x) => JSON.stringify(x);
const same = (a, b) => json(a) === json(b);
const sorted = (xs) => [...xs].sort();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const errors = [];
/** Console errors the checks provoke on purpose (a 400 answer logs one). */
let provoked = 0;
let page;
let page2;

async function open(url) {
  // Wide enough for every column of this fixture (columns out of view are not rendered).
  const p = await browser.newPage({ viewport: { width: 2400, height: 900 } });
  p.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  p.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  await p.goto(url);
  await p.waitForSelector('.pane[data-pane=runs][data-painted="1"]', { timeout: 15_000 });
  return p;
}

async function api(path, init) {
  const r = await fetch(`${base}${path}`, init);
  return { status: r.status, body: await r.json() };
}

async function table() {
  const t = (await api('/api/v1/run_table')).body;
  return { ...t, byName: new Map(t.runs.map((r) => [r.name, r])) };
}

/** The rows the page shows, in order: run name and each cell's text by column id. */
function shownRows(p) {
  // Rows are placed absolutely, in any DOM order: their index says where.
  return p.$$eval('.rt-row[data-run]', (trs) => trs.sort((a, b) => a.dataset.index - b.dataset.index).map((tr) => ({
    run: tr.dataset.run,
    archived: tr.classList.contains('archived'),
    cells: Object.fromEntries([...tr.querySelectorAll('.rt-td[data-col]')].map((td) => [td.dataset.col, td.textContent])),
    chips: [...tr.querySelectorAll('.rt-td[data-col=tags] .chip')].map((c) => c.textContent),
  })));
}

/** Waits until the page shows exactly `names` (in this order when `ordered`). */
async function waitRows(p, names, ordered = false, what = '') {
  try {
    await p.waitForFunction(([names, ordered]) => {
      const got = [...document.querySelectorAll('.rt-row[data-run]')].sort((a, b) => a.dataset.index - b.dataset.index).map((tr) => tr.dataset.run);
      const a = ordered ? got : [...got].sort();
      const b = ordered ? names : [...names].sort();
      return a.length === b.length && a.every((x, i) => x === b[i]);
    }, [names, ordered], { timeout: 10_000 });
  } catch {
    const got = (await shownRows(p)).map((r) => r.run);
    throw new Error(`${what}: rows ${json(got)}, want ${json(names)}`);
  }
}

/** A number as the page writes it: 4 significant digits. */
const four = (v) => Number(Number(v).toPrecision(4));
const num = (v) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);

/** `names` ordered by `value` (`dir` 1 or -1), missing values last: what a sorted column shows. */
function orderBy(names, value, dir) {
  const have = names.filter((n) => value(n) !== undefined && value(n) !== null);
  const missing = names.filter((n) => value(n) === undefined || value(n) === null);
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const cmp = (a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : collator.compare(String(a), String(b)));
  return { have: have.map(value).sort((a, b) => cmp(a, b) * dir), missing: missing.length };
}

async function check(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    for (const [p, n] of [[page, 'page'], [page2, 'page2']]) {
      if (p) await p.screenshot({ path: `${artifacts}/failure-${name}-${n}.png` }).catch(() => {});
    }
    await browser.close();
    process.exit(1);
  }
  console.log(`pass ${name}`);
}

const ADAM = 'exp/adam-lr0.1';
const HTML_RUN = '<img src=x onerror=window.__pwned=8>';
let t0;

await check('table-lists-every-run', async () => {
  t0 = await table();
  assert(t0.runs.length === 7, `the API lists ${t0.runs.length} runs`);
  page = await open(`${base}/?tab=runs`);
  await waitRows(page, t0.runs.map((r) => r.name), false, 'every run');
  // The default columns: the built-in ones, every config key, per metric best (a goal) or last.
  const cols = await page.$$eval('.rt-hrow .rt-th[data-col]', (ths) => ths.map((th) => th.dataset.col));
  const want = ['status', 'name', 'tags', 'notes', 'created', 'duration', 'host', 'commit',
    ...t0.config_keys.map((k) => `c:${k}`),
    ...t0.metric_tags.map((t) => `m:${t}:${t0.runs.some((r) => r.metrics[t]?.goal) ? 'best' : 'last'}`)];
  assert(same(cols, want), `columns ${json(cols)}, want ${json(want)}`);
  assert(cols.includes('m:loss:best') && cols.includes('m:accuracy:best') && cols.includes('m:train/lr:last'), json(cols));
  for (const row of await shownRows(page)) {
    const r = t0.byName.get(row.run);
    const c = row.cells;
    assert(c.name === (r.display_name || r.name), `${row.run}: name ${c.name}`);
    assert(c.status === r.status.state, `${row.run}: status ${c.status} vs ${r.status.state}`);
    assert(c.host === (r.host || ''), `${row.run}: host ${c.host} vs ${r.host}`);
    assert(c.duration !== '' || r.updated_at === r.started_at, `${row.run}: no duration`);
    for (const k of t0.config_keys) {
      const v = r.config[k];
      const text = c[`c:${k}`];
      if (v === undefined) assert(text === '', `${row.run}: ${k} shown as ${text}`);
      else if (typeof v === 'number') assert(Number(text) === four(v), `${row.run}: ${k} = ${text}, API ${v}`);
      else assert(text === String(v), `${row.run}: ${k} = ${text}, API ${v}`);
    }
    for (const t of t0.metric_tags) {
      const stat = cols.includes(`m:${t}:best`) ? 'best' : 'last';
      const v = r.metrics[t]?.[stat];
      assert(Number(c[`m:${t}:${stat}`]) === four(num(v)), `${row.run}: ${t}.${stat} = ${c[`m:${t}:${stat}`]}, API ${v}`);
    }
  }
  // The status badge says the exit code and message on hover.
  const title = await page.getAttribute(`.rt-row[data-run="${ADAM}"] .badge`, 'title');
  assert(title && title.startsWith(t0.byName.get(ADAM).status.state), `badge title ${title}`);
  const tab = await page.textContent('[data-tab=runs] .count');
  assert(tab === '7', `tab count ${tab}`);
});

/** Clicks column `id`'s header until it sorts in `dir`, then checks the values' order. */
async function sortBy(id, dir, value) {
  const want = dir > 0 ? 'ascending' : 'descending';
  for (let i = 0; i < 2; i++) {
    if (await page.getAttribute(`.rt-th[data-col="${id}"]`, 'aria-sort') === want) break;
    await page.click(`.rt-th[data-col="${id}"]`);
  }
  assert(await page.getAttribute(`.rt-th[data-col="${id}"]`, 'aria-sort') === want, `${id} not ${want}`);
  const rows = (await shownRows(page)).map((r) => r.run);
  const exp = orderBy(rows, value, dir);
  const got = rows.map(value);
  assert(same(got.slice(0, exp.have.length), exp.have), `${id} ${want}: ${json(got)}, want ${json(exp.have)} then ${exp.missing} missing`);
  assert(got.slice(exp.have.length).every((v) => v === undefined || v === null), `${id}: missing values not last: ${json(got)}`);
  assert(new URL(page.url()).searchParams.get('sort') === (dir > 0 ? id : `-${id}`), `URL ${page.url()}`);
}

await check('sort-by-config', async () => {
  const cfg = (k) => (n) => t0.byName.get(n).config[k];
  await sortBy('c:lr', 1, cfg('lr'));
  await sortBy('c:lr', -1, cfg('lr'));
  // `batch`: one run has none; it sorts last both ways.
  await sortBy('c:batch', 1, cfg('batch'));
  await sortBy('c:batch', -1, cfg('batch'));
  const last = (await shownRows(page)).at(-1).run;
  assert(t0.byName.get(last).config.batch === undefined, `last row ${last}`);
});

await check('sort-by-metric', async () => {
  const best = (n) => num(t0.byName.get(n).metrics.loss.best);
  await sortBy('m:loss:best', 1, best);
  await sortBy('m:loss:best', -1, best);
  const lr = (n) => num(t0.byName.get(n).metrics['train/lr'].last);
  await sortBy('m:train/lr:last', 1, lr);
});

async function colFilter(id, text) {
  await page.fill(`input.rt-colfilter[data-col="${id}"]`, text);
  await page.press(`input.rt-colfilter[data-col="${id}"]`, 'Enter');
}

await check('column-filter', async () => {
  const names = (pred) => t0.runs.filter(pred).map((r) => r.name);
  await colFilter('c:optimizer', 'ADAM');
  await waitRows(page, names((r) => String(r.config.optimizer).toLowerCase().includes('adam')), false, 'optimizer contains adam');
  await colFilter('c:optimizer', '');
  await colFilter('c:lr', '>0.005 <0.05');
  const range = names((r) => r.config.lr > 0.005 && r.config.lr < 0.05);
  assert(range.length === 2, `fixture: ${json(range)}`);
  await waitRows(page, range, false, 'lr in (0.005, 0.05)');
  assert(new URL(page.url()).searchParams.get('f.c:lr') === '>0.005 <0.05', `URL ${page.url()}`);
  const count = await page.textContent('.rt-count');
  assert(count === '2 of 7 runs', `count ${count}`);
  await colFilter('c:lr', '');
  await waitRows(page, t0.runs.map((r) => r.name), false, 'filter cleared');
});

async function expr(p, text) {
  await p.fill('.rt-expr', text);
  await p.press('.rt-expr', 'Enter');
}

await check('expression-filter', async () => {
  await expr(page, 'lr < 0.05 and optimizer = sgd');
  await waitRows(page, t0.runs.filter((r) => r.config.lr < 0.05 && r.config.optimizer === 'sgd').map((r) => r.name), false, 'lr < 0.05 and optimizer = sgd');
  const losses = t0.runs.map((r) => num(r.metrics.loss.best)).sort((a, b) => a - b);
  const mid = losses[3];
  const q = `(loss < ${mid} or batch > 100) and not name ~ "^exp/adam"`;
  await expr(page, q);
  const want = t0.runs.filter((r) => (num(r.metrics.loss.best) < mid || r.config.batch > 100) && !/^exp\/adam/i.test(r.name)).map((r) => r.name);
  assert(want.length >= 1 && want.length < 7, `fixture: ${json(want)}`);
  await waitRows(page, want, false, q);
  assert(await page.isHidden('.rt-expr-error'), 'an error shows for a valid expression');
  assert(new URL(page.url()).searchParams.get('q') === q, `URL ${page.url()}`);
  // The page reads an expression as the server does (`/api/v1/run_table?filter=`).
  for (const e of [q, 'optimizer = ADAM or batch < 32', 'name ~ "lr0\\.0" and not tags has x', 'accuracy.last >= 0.7',
    'loss.min < 1.5 or optimizer has "<img"', 'batch != 64', 'train/lr > 0.01']) {
    const api = await apiFilter(e);
    await expr(page, e);
    await waitRows(page, api, false, `${e} (as the API filters it)`);
  }
});

/** The runs `/api/v1/run_table?filter=` lets through. */
async function apiFilter(e) {
  const r = await api(`/api/v1/run_table?filter=${encodeURIComponent(e)}`);
  assert(r.status === 200, `the API refused ${e}: ${json(r.body)}`);
  return r.body.runs.map((x) => x.name);
}

await check('expression-error', async () => {
  const before = (await shownRows(page)).map((r) => r.run);
  const bad = 'status = finished and lr <';
  await expr(page, bad);
  await page.waitForSelector('.rt-expr-error:not([hidden])', { timeout: 5_000 });
  const msg = await page.textContent('.rt-expr-error');
  assert(msg === 'expected a value at column 27', `error: ${msg}`);
  // The server says the same.
  const served = await api(`/api/v1/run_table?filter=${encodeURIComponent(bad)}`);
  assert(served.status === 400 && served.body.message === `filter: ${msg}`, json(served));
  assert(await page.$eval('.rt-expr', (e) => e.classList.contains('invalid')), 'the box is not marked invalid');
  // The last valid filter still applies.
  assert(same((await shownRows(page)).map((r) => r.run), before), 'rows changed on a bad expression');
  await expr(page, 'optimizer = adam and');
  await page.waitForFunction(() => document.querySelector('.rt-expr-error').textContent === 'expected a field name at column 21', null, { timeout: 5_000 });
  await expr(page, 'lr < 1 and batchsize > 2');
  await page.waitForFunction(() => /^no run has a field "batchsize" .* at column 12$/.test(document.querySelector('.rt-expr-error').textContent), null, { timeout: 5_000 });
  await expr(page, '');
  await waitRows(page, t0.runs.map((r) => r.name), false, 'expression cleared');
  assert(await page.isHidden('.rt-expr-error'), 'the error stays after clearing');
});

await check('column-picker', async () => {
  await page.click('.rt-picker > summary');
  await page.check('.rt-picker input[data-col="m:loss:min"]');
  await page.uncheck('.rt-picker input[data-col="host"]');
  await page.click('.rt-picker > summary');
  const cols = await page.$$eval('.rt-hrow .rt-th[data-col]', (ths) => ths.map((th) => th.dataset.col));
  assert(cols.includes('m:loss:min') && !cols.includes('host'), json(cols));
  for (const row of await shownRows(page)) {
    const v = num(t0.byName.get(row.run).metrics.loss.min);
    assert(Number(row.cells['m:loss:min']) === four(v), `${row.run}: loss.min ${row.cells['m:loss:min']} vs ${v}`);
  }
  const q = new URL(page.url()).searchParams;
  assert(same(q.getAll('show'), ['m:loss:min']) && same(q.getAll('hide'), ['host']), page.url());
});

await check('state-in-url', async () => {
  await sortBy('c:lr', -1, (n) => t0.byName.get(n).config.lr);
  await colFilter('c:optimizer', 'sgd');
  await expr(page, 'batch >= 16');
  const want = t0.runs.filter((r) => String(r.config.optimizer).includes('sgd') && r.config.batch >= 16)
    .sort((a, b) => b.config.lr - a.config.lr).map((r) => r.name);
  await waitRows(page, want, true, 'sorted and filtered');
  const url = page.url();
  const p = await open(url);
  await waitRows(p, want, true, 'the same view from the URL');
  const s = await p.evaluate(() => ({
    expr: document.querySelector('.rt-expr').value,
    filter: document.querySelector('input.rt-colfilter[data-col="c:optimizer"]').value,
    sort: document.querySelector('.rt-th[data-col="c:lr"]').getAttribute('aria-sort'),
    cols: [...document.querySelectorAll('.rt-hrow .rt-th[data-col]')].map((th) => th.dataset.col),
  }));
  assert(s.expr === 'batch >= 16' && s.filter === 'sgd' && s.sort === 'descending', json(s));
  assert(s.cols.includes('m:loss:min') && !s.cols.includes('host'), json(s.cols));
  await p.close();
  // Back to the plain table for the next checks.
  await expr(page, '');
  await colFilter('c:optimizer', '');
  await waitRows(page, t0.runs.map((r) => r.name), false, 'cleared');
});

/** The runs drawn on the scalar card of `tag`. */
function drawnRuns(p, tag) {
  return p.evaluate((tag) => {
    const u = document.querySelector(`.card[data-kind=scalar][data-tag="${CSS.escape(tag)}"]`)?.card?.u;
    if (!u) return null;
    const runs = [];
    for (let i = 2; i < u.series.length; i += 2) runs.push(u.series[i].label);
    return runs.sort();
  }, tag);
}

await check('selection-drives-every-tab', async () => {
  const two = [ADAM, 'exp/sgd-lr0.03'];
  // All runs start selected; the header box clears the shown rows, then two are picked.
  assert(await page.isChecked('.rt-all'), 'not every run starts selected');
  await page.click('.rt-all');
  assert(!(await page.isChecked(`.rt-row[data-run="${ADAM}"] input.rt-sel`)), 'the header box did not clear');
  for (const r of two) await page.check(`.rt-row[data-run="${r}"] input.rt-sel`);
  assert(await page.$eval('.rt-all', (b) => b.indeterminate), 'the header box is not indeterminate');
  // Rows reordered (their elements reused for other runs) keep showing the selection.
  await sortBy('m:loss:best', -1, (n) => num(t0.byName.get(n).metrics.loss.best));
  const checkedRows = await page.$$eval('.rt-row[data-run]', (rs) => rs.filter((r) => r.querySelector('input.rt-sel').checked).map((r) => r.dataset.run));
  assert(same(sorted(checkedRows), sorted(two)), `checked rows after a sort: ${json(checkedRows)}`);
  assert(same(sorted(new URL(page.url()).searchParams.getAll('run')), sorted(two)), `URL ${page.url()}`);
  await page.click('[data-tab=scalars]');
  const checked = await page.$$eval('#run-list li', (ls) => ls.filter((l) => l.querySelector('input').checked).map((l) => l.dataset.run));
  assert(same(sorted(checked), sorted(two)), `run list: ${json(checked)}`);
  await page.waitForFunction(() => document.querySelector('.card[data-kind=scalar][data-tag="loss"]')?.dataset.drawn === '1', null, { timeout: 10_000 });
  const drawn = await drawnRuns(page, 'loss');
  assert(same(drawn, sorted(two)), `drawn on loss: ${json(drawn)}`);
  // The sidebar lists every run but no archived one, by display name.
  const listed = await page.$$eval('#run-list li', (ls) => ls.map((l) => l.dataset.run));
  assert(same(sorted(listed), sorted(t0.runs.map((r) => r.name))), `run list: ${json(listed)}`);
  await page.click('[data-tab=runs]');
  await page.click('.rt-all'); // indeterminate → every shown run
  assert(await page.isChecked(`.rt-row[data-run="exp/rmsprop"] input.rt-sel`), 'the header box did not select all');
  assert(!new URL(page.url()).searchParams.has('run'), `URL ${page.url()}`);
});

async function openPanel(p, run) {
  await p.click(`.rt-row[data-run="${CSS_escape(run)}"] .rt-td[data-col=name]`);
  await p.waitForFunction((run) => {
    const panel = document.querySelector('.rt-detail');
    return panel && !panel.hidden && panel.querySelector('.rt-detail-name')?.textContent === run;
  }, run, { timeout: 5_000 });
}
/** CSS.escape for attribute values in double quotes. */
function CSS_escape(s) {
  return s.replace(/["\\]/g, '\\$&');
}

async function cellText(p, run, col) {
  return p.$eval(`.rt-row[data-run="${CSS_escape(run)}"] .rt-td[data-col="${col}"]`, (td) => td.textContent).catch(() => null);
}

async function waitCell(p, run, col, text, what) {
  try {
    await p.waitForFunction(([sel, text]) => document.querySelector(sel)?.textContent === text,
      [`.rt-row[data-run="${CSS_escape(run)}"] .rt-td[data-col="${col}"]`, text], { timeout: 10_000 });
  } catch {
    throw new Error(`${what}: ${col} of ${run} is ${json(await cellText(p, run, col))}, want ${json(text)}`);
  }
}

/** The sidebar's run list of `p` (on the Runs tab it is not built): shows the Scalars tab,
 * waits until `fn(arg)` holds in the page, and goes back to the Runs tab. */
async function inRunList(p, fn, arg, what) {
  await p.click('[data-tab=scalars]');
  try {
    await p.waitForFunction(fn, arg, { timeout: 10_000 });
  } catch {
    const list = await p.$$eval('#run-list li', (ls) => ls.map((l) => `${l.dataset.run}: ${l.querySelector('.name').textContent}${l.classList.contains('archived') ? ' (archived)' : ''}`));
    throw new Error(`${what}: the run list is ${json(list)}`);
  } finally {
    await p.click('[data-tab=runs]');
  }
}

async function apiRun(name) {
  const runs = (await api('/api/v1/runs?archived=true')).body;
  return runs.find((r) => r.name === name);
}

await check('rename-live', async () => {
  page2 = await open(`${base}/?tab=runs`);
  await page.evaluate(() => { window.__same = true; });
  await page2.evaluate(() => { window.__same = true; });
  await openPanel(page, ADAM);
  const panel = await page.textContent('.rt-detail');
  assert(!/\b(null|undefined|NaN)\b|\[object/.test(panel), `the panel says: ${panel}`);
  await page.fill('.rt-rename', 'Baseline Adam');
  await page.click('.rt-rename-save');
  await waitCell(page, ADAM, 'name', 'Baseline Adam', 'this page');
  await waitCell(page2, ADAM, 'name', 'Baseline Adam', 'the second page, live');
  await inRunList(page2, (run) => document.querySelector(`#run-list li[data-run="${run}"] .name`)?.textContent === 'Baseline Adam', ADAM, 'the display name in the run list');
  assert((await apiRun(ADAM)).display_name === 'Baseline Adam', 'the API has no display name');
  // Empty clears the display name.
  await page.fill('.rt-rename', '');
  await page.click('.rt-rename-save');
  await waitCell(page2, ADAM, 'name', ADAM, 'cleared, on the second page');
  assert((await apiRun(ADAM)).display_name === null, 'the display name was not cleared');
  await page.fill('.rt-rename', 'Baseline Adam');
  await page.press('.rt-rename', 'Enter');
  await waitCell(page2, ADAM, 'name', 'Baseline Adam', 'renamed again');
});

await check('tags-live', async () => {
  await page.fill('.rt-tag-input', 'baseline');
  await page.click('.rt-tag-add');
  await page.waitForSelector('.rt-detail .chip[data-tag="baseline"]', { timeout: 5_000 });
  await page.fill('.rt-tag-input', 'v2');
  await page.press('.rt-tag-input', 'Enter');
  await page.waitForSelector('.rt-detail .chip[data-tag="v2"]', { timeout: 5_000 });
  await page2.waitForFunction((run) => document.querySelector(`.rt-row[data-run="${run}"] .rt-td[data-col=tags]`)?.textContent === 'baselinev2', ADAM, { timeout: 10_000 });
  await page.click('.rt-detail .chip[data-tag="v2"] .rt-tag-remove');
  await page2.waitForFunction((run) => document.querySelector(`.rt-row[data-run="${run}"] .rt-td[data-col=tags]`)?.textContent === 'baseline', ADAM, { timeout: 10_000 });
  assert(same((await apiRun(ADAM)).tags, ['baseline']), `API tags ${json((await apiRun(ADAM)).tags)}`);
  await expr(page2, 'tags has "baseline"');
  await waitRows(page2, [ADAM], false, 'tags has "baseline"');
  await expr(page2, '');
});

const NOTES = 'First line\n<script>window.__pwned = 1</script>\n<img src=x onerror="window.__pwned = 2">';

await check('notes-live', async () => {
  await page.fill('.rt-notes-input', NOTES);
  await page.click('.rt-notes-save');
  await waitCell(page2, ADAM, 'notes', 'First line', 'notes on the second page');
  await page.waitForFunction((n) => document.querySelector('.rt-notes-view')?.textContent === n, NOTES, { timeout: 5_000 });
  assert((await apiRun(ADAM)).notes === NOTES, 'the API notes differ');
  // The second page has the run open: its panel follows too.
  await openPanel(page2, ADAM);
  await page2.waitForFunction((n) => document.querySelector('.rt-notes-view')?.textContent === n, NOTES, { timeout: 5_000 });
});

await check('edit-errors-shown', async () => {
  await page.fill('.rt-rename', 'x'.repeat(300));
  await page.click('.rt-rename-save');
  await page.waitForSelector('.rt-err[data-for=rename]:not(:empty)', { timeout: 5_000 });
  const e = await page.$eval('.rt-err[data-for=rename]', (s) => ({ text: s.textContent, code: s.dataset.code }));
  assert(e.code === 'bad_request' && e.text.length > 5, json(e));
  provoked++;
  await page.fill('.rt-tag-input', 't'.repeat(65));
  await page.click('.rt-tag-add');
  await page.waitForSelector('.rt-err[data-for=tags]:not(:empty)', { timeout: 5_000 });
  provoked++;
  assert((await apiRun(ADAM)).display_name === 'Baseline Adam', 'a refused rename changed the run');
  // A good edit clears the error.
  await page.fill('.rt-rename', 'Baseline Adam');
  await page.click('.rt-rename-save');
  await page.waitForSelector('.rt-err[data-for=rename]:empty', { state: 'attached', timeout: 5_000 });
  await page.fill('.rt-tag-input', '');
});

const ARCHIVED = 'exp/sgd-lr0.003';

await check('archive-and-show-archived', async () => {
  await openPanel(page, ARCHIVED);
  await page.click('.rt-archive');
  const others = t0.runs.map((r) => r.name).filter((n) => n !== ARCHIVED);
  await waitRows(page, others, false, 'archived, this page');
  await waitRows(page2, others, false, 'archived, the second page');
  await inRunList(page2, (run) => document.querySelectorAll('#run-list li').length === 6 && !document.querySelector(`#run-list li[data-run="${run}"]`), ARCHIVED, 'archived, out of the run list');
  assert(!(await api('/api/v1/runs')).body.some((r) => r.name === ARCHIVED), 'the API still lists it');
  assert((await apiRun(ARCHIVED)).archived === true, 'not archived in the API');
  // The toggle lists it again, marked; restoring it there brings it back everywhere.
  await page2.check('.rt-archived');
  await waitRows(page2, t0.runs.map((r) => r.name), false, 'show archived');
  assert(new URL(page2.url()).searchParams.get('archived') === '1', page2.url());
  const marked = await page2.$eval(`.rt-row[data-run="${ARCHIVED}"]`, (tr) => tr.classList.contains('archived'));
  assert(marked, 'the archived row is not marked');
  await inRunList(page2, (run) => !!document.querySelector(`#run-list li.archived[data-run="${run}"]`), ARCHIVED, 'archived, shown marked in the run list');
  await openPanel(page2, ARCHIVED);
  assert(await page2.textContent('.rt-archive') === 'Restore', 'no Restore button');
  await page2.click('.rt-archive');
  await page2.waitForFunction((run) => !document.querySelector(`.rt-row[data-run="${run}"]`).classList.contains('archived'), ARCHIVED, { timeout: 10_000 });
  await page2.uncheck('.rt-archived');
  await waitRows(page2, t0.runs.map((r) => r.name), false, 'restored, toggle off');
  await waitRows(page, t0.runs.map((r) => r.name), false, 'restored, live on the first page');
  assert((await apiRun(ARCHIVED)).archived === false, 'not restored in the API');
});

const DELETED = 'exp/adamw-lr0.3';

await check('delete-with-confirm', async () => {
  await openPanel(page, DELETED);
  await page.click('.rt-delete');
  await page.waitForSelector('.rt-confirm:not([hidden])', { timeout: 5_000 });
  await page.click('.rt-delete-cancel');
  assert(await page.isHidden('.rt-confirm'), 'cancel left the confirmation');
  assert((await api(`/api/v1/run?run=${encodeURIComponent(DELETED)}`)).status === 200, 'deleted without confirming');
  await page.click('.rt-delete');
  await page.click('.rt-delete-confirm');
  const left = t0.runs.map((r) => r.name).filter((n) => n !== DELETED);
  await waitRows(page, left, false, 'deleted, this page');
  await waitRows(page2, left, false, 'deleted, the second page live');
  assert(await page.isHidden('.rt-detail'), 'the panel of a deleted run stays open');
  await inRunList(page2, (run) => document.querySelectorAll('#run-list li').length === 6 && !document.querySelector(`#run-list li[data-run="${run}"]`), DELETED, 'deleted, out of the run list');
  const gone = await api(`/api/v1/run?run=${encodeURIComponent(DELETED)}`);
  assert(gone.status === 404 && gone.body.code === 'not_found', `API: ${json(gone)}`);
});

await check('edits-after-reload', async () => {
  for (const p of [page, page2]) assert(await p.evaluate(() => window.__same === true), 'a page reloaded during the live checks');
  await page2.reload();
  await page2.waitForSelector('.pane[data-pane=runs][data-painted="1"]', { timeout: 15_000 });
  const rows = new Map((await shownRows(page2)).map((r) => [r.run, r]));
  assert(!rows.has(DELETED) && rows.has(ARCHIVED) && rows.size === 6, json([...rows.keys()]));
  const a = rows.get(ADAM);
  assert(a.cells.name === 'Baseline Adam' && same(a.chips, ['baseline']) && a.cells.notes === 'First line', json(a));
});

await check('user-text-never-runs', async () => {
  // A display name with HTML, next to the logged ones (a run name, a config value) and the notes.
  await openPanel(page, 'exp/sgd-lr0.03');
  const evil = '<img src=x onerror="window.__pwned = 3"><script>window.__pwned = 4</script>';
  await page.fill('.rt-rename', evil);
  await page.click('.rt-rename-save');
  await waitCell(page2, 'exp/sgd-lr0.03', 'name', evil, 'the HTML name on the second page');
  await openPanel(page2, HTML_RUN);
  await openPanel(page, ADAM);
  await page.waitForTimeout(300); // an injected handler would have run by now
  for (const p of [page, page2]) {
    const r = await p.evaluate(() => ({
      pwned: window.__pwned,
      injected: document.querySelectorAll('.rt img, .rt script, .rt-detail img, .rt-detail script, #run-list img, #run-list script').length,
      handlers: document.querySelectorAll('[onerror], [onclick]').length,
    }));
    assert(r.pwned === undefined && r.injected === 0 && r.handlers === 0, json(r));
  }
  assert(await cellText(page, HTML_RUN, 'name') === HTML_RUN, 'the HTML run name is not shown as text');
  const opt = await cellText(page, 'exp/rmsprop', 'c:optimizer');
  assert(opt === t0.byName.get('exp/rmsprop').config.optimizer, `config value shown as ${opt}`);
  assert(await page.$eval('.rt-notes-view', (e) => e.textContent) === NOTES, 'the notes are not shown as text');
});

await check('virtualised', async () => {
  // Hundreds more runs, streamed over HTTP: the table follows without a reload and keeps only
  // a window of rows in the DOM, scrolling through all of them.
  const n = 400;
  await page.evaluate(async (n) => {
    const post = (i) => fetch('api/v1/ingest', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run: `bulk/${String(i).padStart(3, '0')}`, session: `bulk${i}`, seq: 1, points: [{ tag: 'loss', step: 0, wall_time: Date.now() / 1000, scalar: i / 100 }] }),
    });
    for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => post(i + k)));
  }, n);
  const total = 6 + n;
  await page.waitForFunction((total) => document.querySelector('.pane[data-pane=runs]').runTable.view.length === total, total, { timeout: 20_000 });
  await page.waitForFunction((total) => document.querySelector('[data-tab=runs] .count').textContent === String(total), total, { timeout: 10_000 });
  assert(await page.textContent('.rt-count') === `${total} runs`, `count: ${await page.textContent('.rt-count')}`);
  // The name column sorts by what it shows: display names where runs have one.
  const shown = new Map((await api('/api/v1/runs')).body.map((r) => [r.name, r.display_name || r.name]));
  assert(shown.size === total, `the API lists ${shown.size} runs`);
  await sortBy('name', 1, (name) => shown.get(name));
  const info = () => page.evaluate(() => {
    const sc = document.querySelector('.rt-scroll');
    return {
      dom: document.querySelectorAll('.rt-row[data-run]').length,
      names: [...document.querySelectorAll('.rt-row[data-run]')].sort((a, b) => a.dataset.index - b.dataset.index).map((tr) => tr.dataset.run),
      scrollHeight: sc.scrollHeight,
      clientHeight: sc.clientHeight,
    };
  });
  const top = await info();
  assert(top.dom < 120, `${top.dom} rows in the DOM of ${total}`);
  assert(top.scrollHeight >= total * 30, `scroll height ${top.scrollHeight} for ${total} rows`);
  const order = (await page.evaluate(() => document.querySelector('.pane[data-pane=runs]').runTable.view.map((r) => r.display_name || r.name)));
  assert(same(order, [...order].sort(new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' }).compare)), 'not sorted by name');
  for (const frac of [0.5, 1]) {
    await page.$eval('.rt-scroll', (sc, f) => { sc.scrollTop = (sc.scrollHeight - sc.clientHeight) * f; }, frac);
    await page.waitForTimeout(100);
    const at = await info();
    assert(at.dom < 120, `${at.dom} rows in the DOM after scrolling`);
    const view = await page.evaluate(() => document.querySelector('.pane[data-pane=runs]').runTable.view.map((r) => r.name));
    if (frac === 1) assert(at.names.includes(view.at(-1)), `the last row ${view.at(-1)} is not rendered at the bottom: ${at.names.slice(-3)}`);
    else assert(at.names.includes(view[Math.floor(total / 2)]), `row ${Math.floor(total / 2)} not rendered in the middle`);
  }
  // The rows drawn are really where the scroll says (not all stacked at the top).
  const visible = await page.evaluate(() => {
    const sc = document.querySelector('.rt-scroll').getBoundingClientRect();
    return [...document.querySelectorAll('.rt-row[data-run]')].filter((tr) => {
      const r = tr.getBoundingClientRect();
      return r.bottom > sc.top + 60 && r.top < sc.bottom;
    }).length;
  });
  assert(visible >= 10, `${visible} rows visible after scrolling to the bottom`);
  await page.screenshot({ path: `${artifacts}/runs.png` });
  // Columns too: in a narrow window only those in view (and a margin) have cells; scrolling
  // right brings the last ones.
  await page.setViewportSize({ width: 900, height: 700 });
  await page.click('.rt-detail .rt-close');
  const cells = () => page.evaluate(() => {
    const row = [...document.querySelectorAll('.rt-row[data-run]')].sort((a, b) => a.dataset.index - b.dataset.index)[5];
    return {
      cols: [...row.querySelectorAll('.rt-td[data-col]')].map((td) => td.dataset.col),
      all: [...document.querySelectorAll('.rt-hrow .rt-th[data-col]')].map((th) => th.dataset.col),
    };
  });
  await page.$eval('.rt-scroll', (sc) => { sc.scrollLeft = 0; sc.scrollTop = 0; });
  await page.waitForTimeout(100);
  const leftCells = await cells();
  assert(leftCells.cols.length < leftCells.all.length - 3 && leftCells.cols[0] === 'status', `cells at the left: ${json(leftCells)}`);
  await page.$eval('.rt-scroll', (sc) => { sc.scrollLeft = sc.scrollWidth; });
  await page.waitForTimeout(100);
  const rightCells = await cells();
  assert(rightCells.cols.at(-1) === rightCells.all.at(-1) && !rightCells.cols.includes('status'), `cells at the right: ${json(rightCells)}`);
});

await check('first-screen-first', async () => {
  // Opened in the server's order, the table draws its first screen (`limit=100`) while the rest
  // is on its way (held back here until the first screen is checked); then every row, each
  // rebuilt from the columns layout exactly as the rows layout gives it.
  const p = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  let release;
  const held = new Promise((r) => { release = r; });
  const asked = [];
  await p.route(/\/api\/v1\/run_table/, async (route) => {
    const url = new URL(route.request().url());
    asked.push(url.search);
    if (!url.searchParams.has('limit')) await held;
    await route.continue();
  });
  await p.goto(`${base}/?tab=runs`);
  await p.waitForSelector('.pane[data-pane=runs][data-painted="1"]', { timeout: 15_000 });
  const api = (await table()).runs;
  const first = await p.evaluate(() => {
    const t = document.querySelector('.pane[data-pane=runs]').runTable;
    return { names: t.view.map((r) => r.name), count: document.querySelector('.rt-count').textContent };
  });
  assert(asked[0] === '?layout=columns&limit=100', `asked ${json(asked)}`);
  assert(same(first.names, api.slice(0, 100).map((r) => r.name)), `first screen ${json(first.names.slice(0, 5))}…`);
  assert(first.count === `${api.length} runs (loading all but the first 100…)`, `count while loading: ${first.count}`);
  release();
  await p.waitForFunction((n) => document.querySelector('.pane[data-pane=runs]').runTable.view.length === n, api.length, { timeout: 15_000 });
  assert(same(asked, ['?layout=columns&limit=100', '?layout=columns']), `asked ${json(asked)}`);
  assert(await p.textContent('.rt-count') === `${api.length} runs`, await p.textContent('.rt-count'));
  const rows = await p.evaluate(() => [...document.querySelector('.pane[data-pane=runs]').runTable.rows.values()]);
  const canon = (v) => JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));
  assert(rows.length === api.length, `${rows.length} rows, the API ${api.length}`);
  for (let i = 0; i < api.length; i++) {
    assert(canon(rows[i]) === canon(api[i]), `row ${i}: ${canon(rows[i])}\nAPI: ${canon(api[i])}`);
  }
  await p.close();
});

await check('no-console-errors', async () => {
  const unexpected = errors.filter((e) => !/Failed to load resource: the server responded with a status of 400/.test(e));
  const got = errors.length - unexpected.length;
  assert(unexpected.length === 0, unexpected.join('\n'));
  assert(got === provoked, `${got} 400 answers logged, ${provoked} provoked`);
});

await browser.close();
console.log('done');
process.exit(0);
