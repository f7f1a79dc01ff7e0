// The dashboard's browser tests: Debian's headless Chromium, driven with playwright-core, against
// a real runboard server started by tests/browser.rs, which also owns the logdir. Talks to it over
// stdio: a line `append <step> <value>` asks it to append a point to a served event file, and
// `restart` to kill the server and start it again on the same port and database; it answers `ok`.
// Prints `pass <name>` per check; exits non-zero on the first failure.
//
// Environment: RUNBOARD_URL (the server), ARTIFACTS (a folder for the screenshot),
// CHROMIUM (the browser, default /usr/bin/chromium).

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const base = process.env.RUNBOARD_URL;
const artifacts = process.env.ARTIFACTS;
if (!base || !artifacts) throw new Error('RUNBOARD_URL and ARTIFACTS must be set');

const replies = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(line) {
  console.log(line);
  const r = await replies.next();
  if (r.done || r.value.trim() !== 'ok') throw new Error(`${line}: got ${r.value}`);
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const LIVE = 'mnist/lr=0.1';
const OTHER = 'mnist/lr=0.01';

/** TensorBoard's debiased EMA, written out independently of the page's code. */
function tbSmooth(ys, w) {
  let last = 0;
  let n = 0;
  const constant = ys.every((y) => y === ys[0]);
  return ys.map((y) => {
    if (constant || !Number.isFinite(y)) return y;
    last = last * w + (1 - w) * y;
    n += 1;
    return last / (1 - w ** n);
  });
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
  return p;
}

/** The data of the scalar card of `tag`: x values and, per run, raw and smoothed series. */
function cardData(p, tag) {
  return p.evaluate((tag) => {
    const card = document.querySelector(`.card[data-kind=scalar][data-tag="${CSS.escape(tag)}"]`)?.card;
    if (!card?.u) return null;
    const u = card.u;
    const runs = {};
    for (let i = 1; i < u.series.length; i += 2) {
      const run = u.series[i + 1].label;
      runs[run] = { raw: [], smoothed: [], xs: [] };
      for (let k = 0; k < u.data[0].length; k++) {
        if (u.data[i][k] === undefined) continue;
        runs[run].xs.push(u.data[0][k]);
        runs[run].raw.push(u.data[i][k]);
        runs[run].smoothed.push(u.data[i + 1][k]);
      }
    }
    return { xs: u.data[0], runs, drawn: card.el.dataset.drawn === '1' };
  }, tag);
}

async function check(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    if (page) await page.screenshot({ path: `${artifacts}/failure-${name}.png` }).catch(() => {});
    await browser.close();
    process.exit(1);
  }
  console.log(`pass ${name}`);
}

await check('loads-without-errors', async () => {
  page = await open(base);
  await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  await page.waitForFunction(() => document.querySelectorAll('.card[data-kind=scalar]').length === 3, null, { timeout: 15_000 });
  const tags = await page.$$eval('.card[data-kind=scalar]', (cs) => cs.map((c) => c.dataset.tag).sort());
  assert(JSON.stringify(tags) === JSON.stringify(['accuracy', 'loss', 'train/lr']), `scalar cards: ${tags}`);
  const runs = await page.$$eval('#run-list li', (ls) => ls.map((l) => l.dataset.run));
  assert(runs.length === 2 && runs.includes(LIVE) && runs.includes(OTHER), `runs listed: ${runs}`);
  assert(errors.length === 0, `errors while loading: ${errors.join('\n')}`);
});

await check('charts-for-every-tag', async () => {
  for (const tag of ['accuracy', 'loss', 'train/lr']) {
    const sel = `.card[data-kind=scalar][data-tag="${tag}"]`;
    await page.locator(sel).scrollIntoViewIfNeeded();
    await page.waitForSelector(`${sel}[data-drawn="1"] canvas`, { timeout: 10_000 });
    const d = await cardData(page, tag);
    assert(d && Object.keys(d.runs).length === 2, `${tag}: runs drawn ${d && Object.keys(d.runs)}`);
    assert(d.runs[LIVE].xs.length === 100, `${tag}: ${d.runs[LIVE].xs.length} points of ${LIVE}, want 100`);
  }
  // The NaN logged at step 50 of loss is a gap, not a number.
  const d = await cardData(page, 'loss');
  const at50 = d.runs[LIVE].xs.indexOf(50);
  assert(at50 >= 0 && d.runs[LIVE].raw[at50] === null, `step 50 drawn as ${d.runs[LIVE].raw[at50]}`);
  const foot = await page.textContent('.card[data-kind=scalar][data-tag="loss"] .card-foot');
  assert(/1 NaN\/Inf not drawn/.test(foot), `footer: ${foot}`);
});

await check('live-append-without-reload', async () => {
  await page.locator('.card[data-kind=scalar][data-tag="loss"]').scrollIntoViewIfNeeded();
  await page.evaluate(() => { window.__sameDocument = true; });
  await ask('append 1000 123.5');
  await page.waitForFunction(() => {
    const u = document.querySelector('.card[data-kind=scalar][data-tag="loss"]').card.u;
    return u && u.data[0].includes(1000);
  }, null, { timeout: 10_000 });
  const d = await cardData(page, 'loss');
  const i = d.runs[LIVE].xs.indexOf(1000);
  assert(d.runs[LIVE].raw[i] === 123.5, `appended value drawn as ${d.runs[LIVE].raw[i]}`);
  assert(await page.evaluate(() => window.__sameDocument === true), 'the page reloaded');
});

await check('smoothing-slider', async () => {
  const before = await cardData(page, 'loss');
  const raw = before.runs[OTHER].raw;
  const expect6 = tbSmooth(raw.map((v) => (v === null ? NaN : v)), 0.6);
  const got6 = before.runs[OTHER].smoothed;
  for (let i = 0; i < raw.length; i++) {
    if (Number.isFinite(expect6[i])) assert(Math.abs(got6[i] - expect6[i]) < 1e-9, `default smoothing 0.6 at ${i}: ${got6[i]} vs ${expect6[i]}`);
  }
  await page.evaluate(() => {
    const s = document.getElementById('smoothing');
    s.value = '0.95';
    s.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.waitForFunction((old) => {
    const u = document.querySelector('.card[data-kind=scalar][data-tag="loss"]').card.u;
    return u.data[u.data.length - 1].some((v, i) => v !== undefined && v !== null && v !== old[i]);
  }, got6, { timeout: 5_000 }).catch(() => {});
  const after = await cardData(page, 'loss');
  const expect95 = tbSmooth(raw.map((v) => (v === null ? NaN : v)), 0.95);
  let changed = 0;
  for (let i = 0; i < raw.length; i++) {
    if (!Number.isFinite(expect95[i])) continue;
    assert(Math.abs(after.runs[OTHER].smoothed[i] - expect95[i]) < 1e-9, `smoothing 0.95 at ${i}: ${after.runs[OTHER].smoothed[i]} vs ${expect95[i]}`);
    if (Math.abs(after.runs[OTHER].smoothed[i] - got6[i]) > 1e-6) changed++;
  }
  assert(changed > raw.length / 2, `only ${changed} smoothed points changed`);
  assert(JSON.stringify(after.runs[OTHER].raw) === JSON.stringify(raw), 'the raw line changed with smoothing');
  assert(new URL(page.url()).searchParams.get('smoothing') === '0.95', `URL: ${page.url()}`);
});

await check('logged-script-does-not-run', async () => {
  await page.click('[data-tab=text]');
  await page.waitForSelector('.card[data-kind=text] .text-body h1', { timeout: 10_000 });
  const r = await page.evaluate(() => ({
    pwned: window.__pwned,
    scripts: document.querySelectorAll('.text-body script').length,
    handlers: document.querySelectorAll('.text-body [onerror], .text-body [onclick]').length,
    jsLinks: [...document.querySelectorAll('.text-body a')].filter((a) => /^javascript:/i.test(a.getAttribute('href') || '')).length,
    text: document.querySelector('.card[data-kind=text] .text-body').textContent,
  }));
  await page.waitForTimeout(300); // an injected handler would have fired by now
  const pwned = await page.evaluate(() => window.__pwned);
  assert(r.pwned === undefined && pwned === undefined, `logged text ran script: ${pwned}`);
  assert(r.scripts === 0 && r.handlers === 0 && r.jsLinks === 0, JSON.stringify(r));
  assert(r.text.includes('<script>window.__pwned = 1</script>'), `the text is shown as text: ${r.text}`);
});

await check('histograms-images-hparams', async () => {
  await page.click('[data-tab=histograms]');
  await page.waitForSelector('.card[data-kind=histogram][data-drawn="1"] canvas', { timeout: 10_000 });
  await page.click('[data-tab=distributions]');
  await page.waitForSelector('.card[data-kind=distribution][data-drawn="1"] canvas', { timeout: 10_000 });
  await page.click('[data-tab=images]');
  await page.waitForFunction(() => {
    const img = document.querySelector('.card[data-kind=image] img');
    return img && img.complete && img.naturalWidth === 8;
  }, null, { timeout: 10_000 });
  await page.click('[data-tab=hparams]');
  await page.waitForSelector('.hp-table tbody tr', { timeout: 10_000 });
  const rows = await page.$$eval('.hp-table tbody tr', (rs) => rs.map((r) => [r.dataset.run, r.textContent]));
  assert(rows.length === 2, `hparams rows: ${JSON.stringify(rows)}`);
  assert(rows.some(([run, t]) => run === LIVE && t.includes('0.1') && t.includes('adam')), JSON.stringify(rows));
});

await check('hparams-groups', async () => {
  // Grouped as the charts are grouped: a row per group, each metric's mean ± std of the runs'
  // last values, and the hyperparameters the group shares.
  const p = await open(`${base}/?tab=hparams&group=optimizer`);
  await p.waitForSelector('.hp-groups tbody tr', { timeout: 10_000 });
  const read = () => p.evaluate(() => ({
    heads: [...document.querySelectorAll('.hp-groups thead th')].map((t) => t.textContent),
    rows: [...document.querySelectorAll('.hp-groups tbody tr')].map((r) => ({
      key: r.dataset.group,
      cells: [...r.cells].map((c) => ({ text: c.textContent, mean: c.dataset.mean, std: c.dataset.std, n: c.dataset.n })),
    })),
  }));
  let { heads, rows } = await read();
  assert(rows.length === 1 && rows[0].key === 'adam', `one group: ${JSON.stringify(rows)}`);
  assert(rows[0].cells[1].text === '2', `two runs: ${JSON.stringify(rows[0])}`);
  assert(rows[0].cells[heads.indexOf('lr')].text === 'mixed', JSON.stringify(heads));
  assert(rows[0].cells[heads.indexOf('optimizer')].text === 'adam', JSON.stringify(heads));
  const runs = await (await fetch(`${base}/api/v1/runs`)).json();
  const withHparams = runs.filter((r) => r.hparams && Object.keys(r.hparams).length).map((r) => r.name);
  const metricCols = heads.map((h, i) => [h, i]).filter(([, i]) => rows[0].cells[i].mean !== undefined);
  assert(metricCols.length > 0, `metric columns: ${JSON.stringify(heads)}`);
  for (const [tag, i] of metricCols) {
    const body = await (await fetch(`${base}/api/v1/tag_scalars?tag=${encodeURIComponent(tag)}`)).json();
    const last = body.runs.filter((r) => withHparams.includes(r.run)).map((r) => r.points[r.points.length - 1][2])
      .filter((v) => typeof v === 'number' && Number.isFinite(v));
    const mean = last.reduce((a, b) => a + b, 0) / last.length;
    const std = Math.sqrt(last.reduce((a, b) => a + (b - mean) ** 2, 0) / last.length);
    const cell = rows[0].cells[i];
    assert(Math.abs(Number(cell.mean) - mean) <= 1e-9 && Math.abs(Number(cell.std) - std) <= 1e-9 && Number(cell.n) === last.length,
      `${tag}: ${JSON.stringify(cell)} vs mean ${mean} std ${std} of ${last.length}`);
  }
  // By lr: a group per run, each with no spread.
  await p.goto(`${base}/?tab=hparams&group=lr`);
  await p.waitForFunction(() => document.querySelectorAll('.hp-groups tbody tr').length === 2, null, { timeout: 10_000 });
  ({ heads, rows } = await read());
  assert(rows.every((r) => r.cells[1].text === '1' && r.cells.filter((c) => c.std !== undefined).every((c) => Number(c.std) === 0)),
    JSON.stringify(rows));
  // Not grouping: no group card.
  await p.goto(`${base}/?tab=hparams`);
  await p.waitForSelector('.hp-table tbody tr', { timeout: 10_000 });
  assert(await p.$('.hp-groups') === null, 'no groups card when runs are not grouped');
  await p.close();
});

await check('gpu-pane', async () => {
  await page.click('[data-tab=system]');
  await page.waitForFunction(() => document.querySelectorAll('.card[data-kind=gpu][data-drawn="1"]').length === 2, null, { timeout: 15_000 });
  const info = await page.$$eval('.card[data-kind=gpu]', (cs) => cs.map((c) => ({
    tag: c.dataset.tag,
    now: c.querySelector('.gpu-now').textContent,
    charts: c.querySelectorAll('canvas').length,
    memorySeries: c.card.plots[0].u.series.length,
  })));
  assert(info[0].tag === 'GPU 0' && info[1].tag === 'GPU 1', JSON.stringify(info));
  for (const g of info) {
    assert(g.charts === 4, `GPU charts: ${JSON.stringify(g)}`);
    assert(g.memorySeries === 3, `memory used and total: ${JSON.stringify(g)}`);
    assert(/memory .* of .*GiB/.test(g.now) && /W$/.test(g.now), `now: ${g.now}`);
  }
});

await check('screenshot', async () => {
  await page.click('[data-tab=scalars]');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForSelector('.card[data-kind=scalar][data-drawn="1"]');
  await page.screenshot({ path: `${artifacts}/dashboard.png` });
});

await check('state-in-url', async () => {
  const p = await open(`${base}/?smoothing=0.3&tags=%5Eacc&run=${encodeURIComponent(OTHER)}&x=step`);
  await p.waitForSelector('.card[data-kind=scalar][data-tag="accuracy"][data-drawn="1"]', { timeout: 15_000 });
  const s = await p.evaluate(() => ({
    smoothing: document.getElementById('smoothing').value,
    tagFilter: document.getElementById('tag-filter').value,
    cards: [...document.querySelectorAll('.card[data-kind=scalar]')].map((c) => c.dataset.tag),
    checked: [...document.querySelectorAll('#run-list li')].filter((l) => l.querySelector('input').checked).map((l) => l.dataset.run),
  }));
  assert(s.smoothing === '0.3' && s.tagFilter === '^acc', JSON.stringify(s));
  assert(JSON.stringify(s.cards) === '["accuracy"]', JSON.stringify(s));
  assert(JSON.stringify(s.checked) === JSON.stringify([OTHER]), JSON.stringify(s));
  const d = await cardData(p, 'accuracy');
  assert(JSON.stringify(Object.keys(d.runs)) === JSON.stringify([OTHER]), `runs drawn: ${Object.keys(d.runs)}`);
  await p.close();
});

await check('no-console-errors', async () => {
  assert(errors.length === 0, errors.join('\n'));
});

await check('reconnects-after-server-restart', async () => {
  await page.click('[data-tab=scalars]');
  await page.locator('.card[data-kind=scalar][data-tag="loss"]').scrollIntoViewIfNeeded();
  await ask('restart');
  // The page notices the restart (or never lost the stream for long) and goes live again.
  await page.waitForSelector('#live[data-state=live]', { timeout: 20_000 });
  await ask('append 1001 7.25');
  await page.waitForFunction(() => {
    const u = document.querySelector('.card[data-kind=scalar][data-tag="loss"]').card.u;
    return u && u.data[0].includes(1001);
  }, null, { timeout: 20_000 });
  assert(await page.evaluate(() => window.__sameDocument === true), 'the page reloaded');
});

await browser.close();
console.log('done');
process.exit(0);
