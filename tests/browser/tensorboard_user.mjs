// The dashboard as a TensorBoard user sees it (issue 12): Debian's headless Chromium driven with
// playwright-core against `runboard demo` (six runs, one diverging; two simulated GPUs) whose
// logdir also holds a run written by the real tensorboardX (tests/py/tbx_dashboard.py), and a
// second server on an empty logdir. Started by tests/browser.rs.
//
// Every check runs, whatever the others did: each prints `pass <name>` or `FAIL <name>: why`;
// the script exits non-zero if any failed. What it measures is what a user sees — pixels of the
// canvases, text drawn on them, the DOM — so the checks say the same of any implementation.
//
// Environment: RUNBOARD_URL (the demo), EMPTY_URL and EMPTY_LOGDIR (the empty server), ARTIFACTS
// (a folder for screenshots), CHROMIUM (the browser, default /usr/bin/chromium).

import { readdirSync, rmSync } from 'node:fs';
import { chromium } from 'playwright-core';

const base = process.env.RUNBOARD_URL;
const emptyBase = process.env.EMPTY_URL;
const emptyLogdir = process.env.EMPTY_LOGDIR;
const artifacts = process.env.ARTIFACTS;
if (!base || !artifacts || !emptyBase || !emptyLogdir) {
  throw new Error('RUNBOARD_URL, EMPTY_URL, EMPTY_LOGDIR and ARTIFACTS must be set');
}

// Screenshots of failures are of this run only.
for (const f of readdirSync(artifacts)) if (f.startsWith('failure-')) rmSync(`${artifacts}/${f}`);

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const DIVERGED = 'demo/sgd-lr0.8-bs32';

/** Waits until the demo's runs are done: each reached its last step or wrote its divergence note. */
async function demoFinished() {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const series = await (await fetch(`${base}/api/v1/series`)).json();
    const runs = new Map();
    for (const s of series) {
      if (!s.run.startsWith('demo/')) continue;
      const r = runs.get(s.run) || {};
      if (s.tag === 'train/loss') r.last = s.last_step;
      if (s.tag === 'notes') r.notes = s.count;
      runs.set(s.run, r);
    }
    const done = [...runs.values()].filter((r) => r.last === 1299 || r.notes === 2).length;
    if (runs.size === 6 && done === 6 && series.some((s) => s.run === 'tbx')) return;
    assert(Date.now() < deadline, `the demo did not finish: ${JSON.stringify([...runs])}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
await demoFinished();
const apiRuns = await (await fetch(`${base}/api/v1/runs`)).json();
const colorOf = new Map(apiRuns.map((r) => [r.name, r.color]));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

/** Records every string drawn on a canvas since it was last cleared whole, with where it went. */
function recordCanvasText() {
  const texts = new WeakMap();
  window.__canvasTexts = (canvas) => texts.get(canvas) || [];
  const P = CanvasRenderingContext2D.prototype;
  const clearRect = P.clearRect;
  P.clearRect = function (x, y, w, h) {
    if (x <= 0 && y <= 0 && w >= this.canvas.width && h >= this.canvas.height) texts.set(this.canvas, []);
    return clearRect.call(this, x, y, w, h);
  };
  const fillText = P.fillText;
  P.fillText = function (text, x, y, ...rest) {
    const m = this.getTransform();
    const width = this.measureText(String(text)).width * m.a;
    const px = m.a * x + m.c * y + m.e;
    const py = m.b * x + m.d * y + m.f;
    const left = this.textAlign === 'right' || this.textAlign === 'end' ? px - width
      : this.textAlign === 'center' ? px - width / 2 : px;
    const list = texts.get(this.canvas) || [];
    list.push({ text: String(text), left, right: left + width, y: py, rotated: m.b !== 0 });
    texts.set(this.canvas, list);
    return fillText.call(this, text, x, y, ...rest);
  };
}

const errors = [];
async function open(url, { viewport = { width: 1400, height: 1000 } } = {}) {
  const p = await browser.newPage({ viewport });
  await p.addInitScript(recordCanvasText);
  p.on('console', (m) => {
    // A card that failed to draw says so with a warning; an error is an error.
    if (m.type() === 'error' || (m.type() === 'warning' && /runboard card/.test(m.text()))) {
      errors.push(`console ${m.type()}: ${m.text()}`);
    }
  });
  p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  await p.goto(url);
  return p;
}

let failed = 0;
let page;
async function check(name, fn) {
  try {
    if (page) await page.click('[data-tab=scalars]');
    await fn();
    console.log(`pass ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${(e.message || String(e)).split('\n').slice(0, 6).join(' | ')}`);
    if (page) await page.screenshot({ path: `${artifacts}/failure-${name}.png`, fullPage: true }).catch(() => {});
  }
}

const cardSel = (kind, tag, run) => `.card[data-kind=${kind}][data-tag="${tag}"]${run ? `[data-run="${run}"]` : ''}`;

/** Scrolls the card into view and waits until it has drawn. */
async function drawn(p, sel, timeout = 10_000) {
  await p.waitForSelector(sel, { timeout });
  await p.$eval(sel, (e) => e.scrollIntoView({ block: 'center' }));
  await p.waitForSelector(`${sel}[data-drawn="1"]`, { timeout });
  await p.waitForTimeout(120); // the frame after the draw
}

/**
 * Pixels of the first canvas in `sel` that are coloured (not grey, not the background):
 * their count, bounding box, the canvas size, and per colour of `colors` (hex) how many pixels
 * are close to it. `region` ({x0, x1} in CSS px) keeps only those columns.
 */
function colouredPixels(p, sel, colors = [], region = null) {
  return p.evaluate(({ sel, colors, region }) => {
    const canvas = document.querySelector(`${sel} canvas`);
    if (!canvas) return null;
    const dpr = canvas.width / canvas.getBoundingClientRect().width;
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    const rgb = colors.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)));
    const near = colors.map(() => 0);
    let n = 0;
    let x0 = width; let x1 = -1; let y0 = height; let y1 = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (region && (x < region.x0 * dpr || x > region.x1 * dpr)) continue;
        const i = (y * width + x) * 4;
        const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
        if (a < 40) continue;
        if (Math.max(r, g, b) - Math.min(r, g, b) < 40) continue; // grey: text, grid, background
        n++;
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
        rgb.forEach(([cr, cg, cb], k) => {
          if (Math.abs(r - cr) + Math.abs(g - cg) + Math.abs(b - cb) < 60) near[k]++;
        });
      }
    }
    return { n, near, width, height, dpr, box: n ? { x0, x1, y0, y1 } : null };
  }, { sel, colors, region });
}

/** Everything drawn as text on the card's chart canvas, and its chart's scales. */
function chartText(p, sel) {
  return p.evaluate((sel) => {
    const card = document.querySelector(sel)?.card;
    const u = card?.u;
    if (!u) return null;
    const dpr = u.ctx.canvas.width / u.ctx.canvas.getBoundingClientRect().width;
    const texts = window.__canvasTexts(u.ctx.canvas);
    const yLabels = texts.filter((t) => !t.rotated && t.right <= u.bbox.left + 1)
      .map((t) => ({ ...t, value: u.posToVal((t.y - u.bbox.top) / dpr, 'y') }));
    return {
      texts: texts.map((t) => t.text),
      yLabels,
      canvasWidth: u.ctx.canvas.width,
      y: [u.scales.y.min, u.scales.y.max],
    };
  }, sel);
}

/** A number as a person reads it: decimals, `e` exponents, SI suffixes (k M G T, m µ n p). */
function readNumber(s) {
  const m = /^(−|-)?(\d+(?:\.\d+)?)(?:e([+-−]?\d+))?\s*([kMGTmµun p]?)$/.exec(s.trim());
  if (!m) return NaN;
  const si = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3, 'µ': 1e-6, u: 1e-6, n: 1e-9, p: 1e-12, ' ': 1 };
  const exp = m[3] ? Number(m[3].replace('−', '-')) : 0;
  return (m[1] ? -1 : 1) * Number(m[2]) * 10 ** exp * si[m[4] || ''];
}

page = await open(base);
await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
await page.waitForSelector(cardSel('scalar', 'train/loss'), { timeout: 15_000 });

// 1. tensorboardX's ~600 log-spaced buckets: every ridge has body, across the card.
await check('histograms-fill-their-cards', async () => {
  await page.click('[data-tab=histograms]');
  for (const tag of ['weights/normal', 'weights/exponential']) {
    const sel = cardSel('histogram', tag, 'tbx');
    await drawn(page, sel);
    const px = await colouredPixels(page, sel);
    assert(px, `${tag}: no canvas`);
    const frac = px.n / (px.width * px.height);
    const box = px.box || { x0: 0, x1: -1, y0: 0, y1: -1 };
    const w = (box.x1 - box.x0 + 1) / px.width;
    const h = (box.y1 - box.y0 + 1) / px.height;
    assert(w > 0.75 && h > 0.6 && frac > 0.08,
      `${tag}: drawn area ${(100 * w).toFixed(0)}% wide, ${(100 * h).toFixed(0)}% high, ${(100 * frac).toFixed(1)}% of the canvas`);
  }
  // The API still serves every exact bucket.
  const rows = await (await fetch(`${base}/api/v1/histograms?run=tbx&tag=weights/normal`)).json();
  assert(rows[0].buckets.length > 500, `buckets served: ${rows[0].buckets.length}`);
  await page.click('[data-tab=scalars]');
});

// 2. One point (and a point between two NaN gaps) is a dot.
await check('lone-points-are-dots', async () => {
  const one = cardSel('scalar', 'final/accuracy');
  await drawn(page, one);
  const px = await colouredPixels(page, one);
  assert(px && px.n >= 8, `final/accuracy (one point): ${px?.n} coloured pixels`);
  const gaps = cardSel('scalar', 'gaps/lone');
  await drawn(page, gaps);
  const x = await page.evaluate((sel) => {
    const u = document.querySelector(sel).card.u;
    return u.valToPos(3, 'x') + u.bbox.left / (u.ctx.canvas.width / u.ctx.canvas.getBoundingClientRect().width);
  }, gaps);
  const near = await colouredPixels(page, gaps, [], { x0: x - 4, x1: x + 4 });
  assert(near && near.n >= 8, `gaps/lone: ${near?.n} coloured pixels at step 3 (between two NaNs)`);
});

// 3. Log-scale y: every chart draws, nothing throws.
await check('log-y-draws-every-chart', async () => {
  const before = errors.length;
  const p = await open(`${base}/?log=1`);
  const tags = await p.evaluate(() => fetch('api/v1/series').then((r) => r.json())
    .then((s) => [...new Set(s.filter((x) => x.kind === 'scalar' && x.run !== 'system').map((x) => x.tag))]));
  await p.waitForSelector(cardSel('scalar', 'train/accuracy'), { timeout: 15_000 });
  const blank = [];
  for (const tag of tags) {
    if (tag === 'broken/nonfinite') continue;
    const sel = cardSel('scalar', tag);
    try {
      await drawn(p, sel, 5_000);
    } catch {
      blank.push(`${tag} (not drawn)`);
      continue;
    }
    const px = await colouredPixels(p, sel);
    if (!px || px.n < 8) blank.push(`${tag} (${px?.n} coloured pixels)`);
  }
  await p.screenshot({ path: `${artifacts}/log-y.png`, fullPage: true });
  await p.close();
  const errs = errors.slice(before);
  assert(!errs.length && !blank.length, `log-scale y: errors:\n${errs.join('\n')}\nblank: ${blank.join(', ')}`);
});

// 4. Y labels around 1e6 and 8e-4 read back as the values they stand for, whole, with titles.
await check('axis-labels-read-back', async () => {
  for (const tag of ['scale/big', 'scale/small']) {
    const sel = cardSel('scalar', tag);
    await drawn(page, sel);
    const t = await chartText(page, sel);
    assert(t && t.yLabels.length >= 3, `${tag}: y labels ${JSON.stringify(t?.yLabels)}`);
    const span = t.y[1] - t.y[0];
    for (const l of t.yLabels) {
      assert(l.left >= 0 && l.right <= t.canvasWidth, `${tag}: label "${l.text}" is clipped (${l.left.toFixed(1)}..${l.right.toFixed(1)})`);
      const v = readNumber(l.text);
      assert(Math.abs(v - l.value) <= 0.03 * span, `${tag}: label "${l.text}" reads ${v}, stands for ${l.value}`);
      assert(!/\.\d*0(e|$|[kMGTmµun])/.test(l.text), `${tag}: label "${l.text}" has trailing zeros`);
    }
    assert(t.texts.includes('step'), `${tag}: no x axis title "step" in ${JSON.stringify(t.texts)}`);
    assert(t.texts.includes(tag), `${tag}: no y axis title "${tag}" in ${JSON.stringify(t.texts)}`);
  }
  // Relative time: a unit that fits the span, in the axis title.
  const p = await open(`${base}/?x=relative&tags=${encodeURIComponent('^scale/big$')}`);
  const sel = cardSel('scalar', 'scale/big');
  await drawn(p, sel);
  const t = await chartText(p, sel);
  await p.close();
  assert(t.texts.some((s) => /^relative \((ms|s|min|h|days?)\)$/.test(s)), `relative axis title: ${JSON.stringify(t.texts)}`);
});

// 5. Ignore outliers (on by default): the five typical runs span most of the loss chart.
await check('outliers-ignored-by-default', async () => {
  const sel = cardSel('scalar', 'train/loss');
  await drawn(page, sel);
  const r = await page.evaluate(({ sel, diverged }) => {
    const u = document.querySelector(sel).card.u;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 2; i < u.series.length; i += 2) {
      if (u.series[i].label === diverged) continue;
      for (const v of u.data[i]) {
        if (v !== null && v !== undefined && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    }
    return { five: [lo, hi], y: [u.scales.y.min, u.scales.y.max], checked: document.getElementById('ignore-outliers').checked };
  }, { sel, diverged: DIVERGED });
  const covered = Math.min(r.five[1], r.y[1]) - Math.max(r.five[0], r.y[0]);
  const frac = covered / (r.y[1] - r.y[0]);
  assert(r.checked, 'ignore outliers is off by default');
  assert(frac > 0.6, `the five typical runs (${r.five}) cover ${(100 * frac).toFixed(1)}% of the y range ${r.y}`);
});

// 6. Kinds stored but not shown are named, with their counts.
await check('unshown-kinds-named', async () => {
  const text = await page.textContent('body');
  // PR curves have their own tab now: a card per tag the server's PR curves plugin lists.
  const prTags = new Set(Object.values(await (await fetch(`${base}/data/plugin/pr_curves/tags`)).json()).flatMap(Object.keys));
  const prCount = await page.textContent('[data-tab=pr_curves] .count').catch(() => null);
  assert(prTags.size >= 1 && prCount?.trim() === String(prTags.size), `the PR Curves tab counts ${prCount} tags, the API has ${prTags.size}`);
  assert(!/pr_curves \(1/.test(text), 'pr_curves is still listed as not shown');
  // Custom scalars layouts have their own tab now.
  const count = await page.textContent('[data-tab=custom_scalars] .count').catch(() => null);
  assert(count?.trim() && Number(count) >= 1, `the Custom Scalars tab counts ${count} charts`);
  assert(!/custom_scalars \(1/.test(text), 'custom_scalars is still listed as not shown');
});

await check('cards-follow-selected-runs', async () => {
  const p = await open(`${base}/?run=tbx`);
  await p.waitForSelector(cardSel('scalar', 'scale/big'), { timeout: 15_000 });
  await p.waitForTimeout(300);
  const tags = await p.$$eval('.card[data-kind=scalar]', (cs) => cs.map((c) => c.dataset.tag));
  await p.close();
  assert(!tags.includes('train/loss'), `cards of tags no selected run has: ${tags}`);
});

await check('controls-only-where-they-act', async () => {
  assert(await page.isVisible('#smoothing'), 'no smoothing control on the scalars tab');
  await page.click('[data-tab=histograms]');
  const shown = [];
  for (const id of ['smoothing', 'x-axis', 'log-y', 'ignore-outliers']) {
    if (await page.isVisible(`#${id}`)) shown.push(id);
  }
  await page.click('[data-tab=scalars]');
  assert(!shown.length, `controls shown on the histograms tab: ${shown}`);
});

await check('run-colours-from-the-server', async () => {
  const swatches = await page.$$eval('#run-list li', (ls) => ls.map((l) => [l.dataset.run, getComputedStyle(l.querySelector('.swatch')).backgroundColor]));
  const hex = (rgb) => `#${rgb.match(/\d+/g).slice(0, 3).map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`;
  for (const [run, bg] of swatches) {
    assert(hex(bg) === colorOf.get(run), `${run}: swatch ${bg}, server colour ${colorOf.get(run)}`);
  }
});

await check('tooltip-sorted-by-value', async () => {
  const sel = cardSel('scalar', 'train/loss');
  await drawn(page, sel);
  const box = await page.locator(`${sel} .u-over`).boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
  await page.waitForSelector('#tooltip:not([hidden]) tr', { timeout: 5_000 });
  const rows = await page.$$eval('#tooltip tr', (rs) => rs.map((r) => ({ run: r.dataset.run, cells: [...r.cells].map((c) => c.textContent), hovered: r.classList.contains('hovered') })));
  const values = rows.filter((r) => !r.hovered).map((r) => readNumber(r.cells[2]));
  assert(rows.length === 6, `tooltip rows: ${JSON.stringify(rows)}`);
  for (let i = 1; i < values.length; i++) {
    assert(values[i - 1] >= values[i], `tooltip not sorted by value: ${JSON.stringify(rows.map((r) => r.cells.slice(1, 3)))}`);
  }
  await page.mouse.move(0, 0);
});

await check('hovering-a-run-highlights-its-line', async () => {
  const sel = cardSel('scalar', 'train/loss');
  await drawn(page, sel);
  const run = 'demo/adam-lr0.001-bs32';
  const others = [...colorOf].filter(([r]) => r.startsWith('demo/') && r !== run).map(([, c]) => c);
  const colors = [colorOf.get(run), ...others];
  // Redraws take a frame or two (more on a busy machine): measure what has settled.
  const settled = async () => {
    let last = null;
    for (let i = 0; i < 40; i++) {
      const px = await colouredPixels(page, sel, colors);
      if (last && JSON.stringify(px.near) === JSON.stringify(last.near)) return px;
      last = px;
      await page.waitForTimeout(150);
    }
    return last;
  };
  await page.mouse.move(0, 0);
  const before = await settled();
  await page.hover(`#run-list li[data-run="${run}"]`);
  await page.waitForTimeout(150);
  const after = await settled();
  await page.mouse.move(0, 0);
  const sum = (a) => a.slice(1).reduce((s, v) => s + v, 0);
  assert(after.near[0] > before.near[0] * 1.2, `${run}: ${before.near[0]} → ${after.near[0]} pixels of its colour (all: ${before.near} → ${after.near})`);
  assert(sum(after.near) < sum(before.near), `other runs: ${sum(before.near)} → ${sum(after.near)} pixels of their colours`);
});

await check('plurals', async () => {
  const foot = await page.textContent(`${cardSel('scalar', 'final/accuracy')} .card-foot`);
  assert(/\b1 run\b/.test(foot) && /\b1 point\b/.test(foot) && !/1 points/.test(foot), `footer: ${foot}`);
});

await check('all-non-finite-said-on-the-card', async () => {
  const sel = cardSel('scalar', 'broken/nonfinite');
  await drawn(page, sel);
  const body = await page.textContent(`${sel} .card-body`);
  assert(/NaN/.test(body) && /Inf/.test(body), `card body: "${body}"`);
});

await check('system-digits', async () => {
  await page.click('[data-tab=system]');
  await page.waitForSelector('.card[data-kind=gpu][data-drawn="1"] .gpu-now', { timeout: 15_000 });
  const now = await page.$$eval('.gpu-now', (es) => es.map((e) => e.textContent));
  await page.click('[data-tab=scalars]');
  for (const s of now) assert(!/\d\.\d{2,}/.test(s) && /busy/.test(s), `GPU summary: ${s}`);
});

await check('images-at-a-useful-size', async () => {
  await page.click('[data-tab=images]');
  const sel = cardSel('image', 'samples/reconstruction', 'demo/adam-lr0.01-bs64');
  await drawn(page, sel);
  await page.waitForFunction((sel) => document.querySelector(`${sel} img`)?.complete, sel);
  const w = await page.$eval(`${sel} img`, (i) => [i.getBoundingClientRect().width, i.naturalWidth]);
  assert(w[1] === 32 && w[0] >= 200, `a ${w[1]} px image drawn ${w[0]} px wide`);
  await page.click(`${sel} img`);
  await page.waitForTimeout(100);
  const actual = await page.$eval(`${sel} img`, (i) => i.getBoundingClientRect().width);
  await page.click('[data-tab=scalars]');
  assert(actual === 32, `a click shows the actual size: ${actual} px`);
});

await check('first-run-snippet', async () => {
  const p = await open(emptyBase);
  await p.waitForSelector('#empty:not([hidden]) pre', { timeout: 15_000 });
  const code = await p.textContent('#empty pre');
  const file = await (await fetch(`${emptyBase}/static/first-run.rs`)).text();
  await p.close();
  const want = file.replace('"runs/my-first-run"', JSON.stringify(`${emptyLogdir}/my-first-run`));
  assert(code.trim() === want.trim(), `snippet:\n${code}\nwant:\n${want}`);
});

// The page's own functions, in Node: re-binning as TensorBoard's front end does (the cases of
// tensorboard/webapp/widgets/histogram/histogram_util_test.ts), and numbers for people.
await check('rebin-matches-tensorboard', async () => {
  const { cleanBuckets, rebin } = await import('../../static/js/math.js');
  const cases = [
    // [buckets as [left, right, count], [left, right], bins, TensorBoard's counts]
    [[[0, 9, 300]], [0, 9], 3, [100, 100, 100]],
    [[[0, 3, 100], [3, 6, 200], [6, 9, 300]], [0, 9], 1, [600]],
    [[[0, 3, 100], [7, 10, 200]], [0, 10], 2, [100, 200]],
    [[[0, 3, 100], [6, 9, 200]], [0, 9], 3, [100, 0, 200]],
    [[[0, 3, 300], [3, 10, 700]], [0, 10], 2, [500, 500]],
    [[[0, 0, 300], [10, 10, 700]], [0, 10], 2, [300, 700]],
    [[[0, 1, 0], [5, 5, 200], [9, 10, 0]], [0, 10], 2, [0, 200]],
    [[[0, 1, 0], [5, 5, 200], [8, 9, 0]], [0, 9], 3, [0, 200, 0]],
    [[[0, 6, 100]], [0, 9], 3, [50, 50, 0]],
    [[[3, 9, 200]], [0, 9], 3, [0, 100, 100]],
  ];
  for (const [buckets, [lo, hi], n, want] of cases) {
    const got = rebin(cleanBuckets(buckets), lo, hi, n);
    assert(got.every((c, i) => Math.abs(c - want[i]) < 1e-9), `${JSON.stringify(buckets)} into ${n}: ${got}, TensorBoard: ${want}`);
  }
  // Legacy buckets with edges backwards (TensorBoard's data server serves e.g. [3.0, 2.88, 0]).
  const legacy = cleanBuckets([[3.0, 2.88, 0], [2.88, 2.5, 4], [-Infinity, 0, 0], [0, 1, Number.NaN]]);
  assert(JSON.stringify(legacy) === '[[2.5,2.88,4]]', `legacy buckets: ${JSON.stringify(legacy)}`);
});

await check('numbers-for-people', async () => {
  const { fmt, tickLabels } = await import('../../static/js/chart.js');
  const same = (got, want) => assert(JSON.stringify(got) === JSON.stringify(want), `${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  same([87.874, 74.543, 0.6931472, 8e-4, 1e6, 1234567, 1e18, NaN, -Infinity].map((v) => fmt(v)),
    ['87.87', '74.54', '0.6931', '8e-4', '1M', '1.235M', '1e18', 'NaN', '-Inf']);
  same(tickLabels([0, 0.5, 1, 1.5]), ['0', '0.5', '1', '1.5']);
  same(tickLabels([5e5, 1e6, 1.5e6]), ['0.5M', '1M', '1.5M']);
  same(tickLabels([6e-4, 7e-4, 8e-4]), ['6e-4', '7e-4', '8e-4']);
  same(tickLabels([1e-5, 1e-3, 0.1, 10], true), ['1e-5', '0.001', '0.1', '10']);
});

await check('no-errors', async () => {
  assert(!errors.length, errors.join('\n'));
});

await page.screenshot({ path: `${artifacts}/tensorboard-user.png` }).catch(() => {});
await browser.close();
console.log(failed ? `${failed} failed` : 'done');
process.exit(failed ? 1 : 0);
