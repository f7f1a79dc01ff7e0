// The Custom Scalars tab in a real browser (issue 15): Debian's headless Chromium, driven with
// playwright-core, against a real runboard server started by tests/browser.rs on the committed
// tensorboardX fixture (tests/fixtures/logdirs/custom_scalars: runs `a` and `b`, each with a
// layout) and a run `c` the test writes (a category marked closed, HTML in its title, a chart
// with an invalid regex). What the page must draw comes from the server's TensorBoard API
// (`/data/plugin/custom_scalars/layout` and `/scalars`), fetched here.
//
// Talks to the test over stdio: `append <step> <value>` asks it to append a `loss` point to run
// `c`'s open event file; it answers `ok`. Prints `pass <name>` per check; exits non-zero on the
// first failure.

import { artifacts, base, ask, assert, json, same, get, openPage } from './harness.mjs';

const { page, check, finish } = await openPage('custom-scalars');

/** The run whose event file the test keeps open. */
const LIVE_RUN = 'c';
const PANE = '.pane[data-pane=custom_scalars]';

/** The merged layout, as the server gives it to TensorBoard. */
const layout = () => get('data/plugin/custom_scalars/layout');
/** The runs the page draws (every run but the server's `system`). */
const runNames = async () => (await get('api/v1/runs')).map((r) => r.name).filter((n) => n !== 'system');
/** The custom scalars route: `{regex_valid, tag_to_events: {tag: [[wall, step, value], ...]}}`. */
const scalarsOf = (run, regex) => get('data/plugin/custom_scalars/scalars', { run, tag: regex });
/** A regex matching exactly `tag`. */
const exact = (tag) => `${tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

/** Every chart of the layout in order, with its category: `{ci, category, chart, index}`. */
function chartsOf(l) {
  const out = [];
  for (const [ci, cat] of (l.category || []).entries()) {
    for (const chart of cat.chart || []) out.push({ ci, category: cat, chart, index: out.length });
  }
  return out;
}

/** What a multiline chart must draw per the API: `run\0tag` → point count, over every run. */
async function expectedLines(chart) {
  const want = new Map();
  for (const run of await runNames()) {
    for (const regex of chart.multiline.tag || []) {
      const got = await scalarsOf(run, regex);
      for (const [tag, events] of Object.entries(got.tag_to_events)) want.set(`${run}\u0000${tag}`, events.length);
    }
  }
  return want;
}

/** The card of the `index`th chart, scrolled into view and drawn. */
async function drawnCard(index) {
  const card = page.locator(`${PANE} .cs-card`).nth(index);
  await card.scrollIntoViewIfNeeded();
  await page.waitForFunction(([sel, i]) => {
    const c = document.querySelectorAll(sel)[i];
    return c && c.dataset.drawn && c.dataset.lines !== undefined;
  }, [`${PANE} .cs-card`, index], { timeout: 15_000 });
  return card;
}

/** The legend entries of the `index`th card: its lines as drawn. */
function keysOf(index) {
  return page.evaluate(([sel, i]) => {
    const c = document.querySelectorAll(sel)[i];
    return {
      lines: Number(c.dataset.lines),
      bands: c.dataset.bands === undefined ? null : Number(c.dataset.bands),
      invalid: Number(c.dataset.invalid),
      uplotBands: c.card?.u?.bands?.length ?? null,
      keys: [...c.querySelectorAll('.cs-key')].map((k) => ({ ...k.dataset })),
    };
  }, [`${PANE} .cs-card`, index]);
}

/** Checks that the `index`th card draws the lines of multiline `chart` the API names, with as
 * many points each; waits for them first (the page may still be loading a tag). */
async function expectMultiline(index, chart, what) {
  const want = await expectedLines(chart);
  await drawnCard(index);
  await page.waitForFunction(([sel, i, n]) => Number(document.querySelectorAll(sel)[i].dataset.lines) === n,
    [`${PANE} .cs-card`, index, want.size], { timeout: 10_000 }).catch(() => {});
  const got = await keysOf(index);
  const drawn = new Map(got.keys.map((k) => [`${k.run}\u0000${k.tag}`, Number(k.points)]));
  const show = (m) => json([...m].map(([k, n]) => `${k.replace('\u0000', ' / ')}: ${n}`).sort());
  assert(got.lines === want.size && same([...drawn.keys()], [...want.keys()]),
    `${what}: lines ${show(drawn)}, the API matches ${show(want)}`);
  for (const [k, n] of want) assert(drawn.get(k) === n, `${what}: ${k} has ${drawn.get(k)} points drawn, the API ${n}`);
  return want;
}

const L = await layout();
const CHARTS = chartsOf(L);

await check('categories-and-charts', async () => {
  assert((L.category || []).length >= 2 && CHARTS.length >= 3, `the fixture's layout is too small: ${json(L)}`);
  await page.goto(`${base}/?tab=custom_scalars`);
  await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} details.cs-category`, L.category.length], { timeout: 15_000 });
  const got = await page.$$eval(`${PANE} details.cs-category`, (ds) => ds.map((d) => ({
    title: d.dataset.title,
    summary: d.querySelector('summary').textContent,
    markup: d.querySelector('summary').children.length,
    charts: [...d.querySelectorAll('.cs-card')].map((c) => ({ title: c.dataset.chart, type: c.dataset.type })),
  })));
  const want = L.category.map((c) => ({
    title: c.title,
    charts: (c.chart || []).map((ch) => ({ title: ch.title, type: ch.multiline ? 'multiline' : 'margin' })),
  }));
  assert(json(got.map((g) => g.title)) === json(want.map((w) => w.title)), `categories ${json(got.map((g) => g.title))}, API ${json(want.map((w) => w.title))}`);
  got.forEach((g, i) => {
    assert(json(g.charts) === json(want[i].charts), `${g.title}: charts ${json(g.charts)}, API ${json(want[i].charts)}`);
    // The title as text (one element: the count), whatever it holds (quotes, `<b>`).
    assert(g.summary.startsWith(want[i].title) && g.markup === 1, `summary ${json(g.summary)} (${g.markup} elements) for ${json(want[i].title)}`);
  });
  assert(L.category.some((c) => /[<"]/.test(c.title)), `no title with quotes or markup to check: ${json(L.category.map((c) => c.title))}`);
  const count = await page.textContent('[data-tab=custom_scalars] .count');
  assert(count === String(CHARTS.length), `tab count ${count}, the layout has ${CHARTS.length} charts`);
  assert(await page.isVisible('#smoothing') && await page.isVisible('#run-list'), 'the sidebar controls are not shown');
});

await check('multiline-lines', async () => {
  const open = CHARTS.filter((c) => c.chart.multiline && !c.category.closed);
  assert(open.length >= 2, `multiline charts in open categories: ${open.length}`);
  let several = false; // a run with more than one tag in one chart
  for (const c of open) {
    const want = await expectMultiline(c.index, c.chart, `${c.category.title} / ${c.chart.title}`);
    const perRun = new Map();
    for (const k of want.keys()) perRun.set(k.split('\u0000')[0], (perRun.get(k.split('\u0000')[0]) || 0) + 1);
    if ([...perRun.values()].some((n) => n > 1)) several = true;
  }
  assert(several, 'no chart draws several tags of one run');
});

await check('margin-band', async () => {
  const margins = CHARTS.filter((c) => c.chart.margin);
  assert(margins.length >= 1, 'the layout has no margin chart');
  for (const c of margins) {
    const series = c.chart.margin.series;
    // Per run: the value's points and how many of its steps have both bounds, from the API.
    const want = new Map();
    for (const run of await runNames()) {
      for (const s of series) {
        const tagged = async (tag) => (await scalarsOf(run, exact(tag))).tag_to_events[tag] || [];
        const value = await tagged(s.value);
        if (!value.length) continue;
        // step → value of each bound (non-finite values come as strings: no band there).
        const lower = new Map((await tagged(s.lower)).map((e) => [e[1], e[2]]));
        const upper = new Map((await tagged(s.upper)).map((e) => [e[1], e[2]]));
        const band = value.filter((e) => Number.isFinite(lower.get(e[1])) && Number.isFinite(upper.get(e[1]))).length;
        want.set(`${run}\u0000${s.value}`, { points: value.length, band });
      }
    }
    assert([...want.values()].some((w) => w.band > 0), `${c.chart.title}: the API has no band to draw ${json([...want])}`);
    await drawnCard(c.index);
    const got = await keysOf(c.index);
    const drawn = new Map(got.keys.map((k) => [`${k.run}\u0000${k.value}`, { points: Number(k.points), band: Number(k.band) }]));
    assert(json([...drawn].sort()) === json([...want].sort()), `${c.chart.title}: drawn ${json([...drawn])}, API ${json([...want])}`);
    const bands = [...want.values()].filter((w) => w.band > 0).length;
    assert(got.bands === bands && got.uplotBands === bands, `${c.chart.title}: ${got.bands} bands marked, ${got.uplotBands} in the chart, the API has ${bands}`);
  }
});

await check('closed-category', async () => {
  const closed = (L.category || []).map((c, ci) => ({ c, ci })).filter(({ c }) => c.closed);
  assert(closed.length >= 1, `no category is marked closed in ${json(L.category.map((c) => [c.title, c.closed]))}`);
  for (const { c, ci } of closed) {
    const details = page.locator(`${PANE} details.cs-category`).nth(ci);
    assert(!(await details.evaluate((d) => d.open)), `${c.title} starts open`);
    const charts = CHARTS.filter((x) => x.ci === ci);
    // Closed: its charts are not even fetched.
    const drawnBefore = await page.$$eval(`${PANE} .cs-card`, (cs, idx) => idx.filter((i) => cs[i].dataset.drawn).length, charts.map((x) => x.index));
    assert(drawnBefore === 0, `${drawnBefore} charts of the closed ${c.title} drawn`);
    await details.locator('summary').click();
    assert(await details.evaluate((d) => d.open), `${c.title} does not open on click`);
    for (const x of charts) if (x.chart.multiline) await expectMultiline(x.index, x.chart, `${c.title} / ${x.chart.title}`);
    await details.locator('summary').scrollIntoViewIfNeeded();
    await details.locator('summary').click();
    assert(!(await details.evaluate((d) => d.open)), `${c.title} does not close on click`);
    await details.locator('summary').click(); // open again, for the checks that follow
  }
});

await check('invalid-regex-said-on-card', async () => {
  const run = (await runNames())[0];
  let any = 0;
  for (const c of CHARTS.filter((x) => x.chart.multiline)) {
    const bad = [];
    for (const regex of c.chart.multiline.tag || []) {
      if (!(await scalarsOf(run, regex)).regex_valid) bad.push(regex);
    }
    any += bad.length;
    await drawnCard(c.index);
    const got = await page.evaluate(([sel, i]) => {
      const card = document.querySelectorAll(sel)[i];
      return { n: Number(card.dataset.invalid), note: card.querySelector('.cs-invalid')?.textContent ?? '' };
    }, [`${PANE} .cs-card`, c.index]);
    assert(got.n === bad.length, `${c.chart.title}: ${got.n} regexes said invalid, the API ${json(bad)}`);
    for (const regex of bad) assert(got.note.includes(regex), `${c.chart.title}: the note ${json(got.note)} does not name ${regex}`);
  }
  assert(any >= 1, 'the layout has no invalid regex');
});

await check('live-update', async () => {
  const loss = CHARTS.find((c) => c.chart.multiline && !c.category.closed && (c.chart.multiline.tag || []).includes('loss'));
  assert(loss, `no open chart of loss in ${json(L)}`);
  const key = `[data-run="${LIVE_RUN}"][data-tag="loss"]`;
  await drawnCard(loss.index);
  const card = page.locator(`${PANE} .cs-card`).nth(loss.index);
  const before = Number(await card.locator(`.cs-key${key}`).getAttribute('data-points'));
  const api = (await scalarsOf(LIVE_RUN, exact('loss'))).tag_to_events.loss;
  assert(before === api.length, `${before} points drawn, the API has ${api.length}`);
  await page.evaluate(() => { window.__notReloaded = true; });
  const step = api[api.length - 1][1] + 1;
  await ask(`append ${step} 0.125`);
  await page.waitForFunction(([sel, i, k, n]) => {
    const e = document.querySelectorAll(sel)[i].querySelector(`.cs-key${k}`);
    return e && Number(e.dataset.points) === n;
  }, [`${PANE} .cs-card`, loss.index, key, before + 1], { timeout: 10_000 });
  const after = (await scalarsOf(LIVE_RUN, exact('loss'))).tag_to_events.loss;
  assert(after.length === before + 1 && after[after.length - 1][1] === step, `the API has ${after.length} points, last ${json(after[after.length - 1])}`);
  assert(await page.evaluate(() => window.__notReloaded === true), 'the page reloaded');
  // The other chart of loss (in the category opened above) grew too.
  const others = CHARTS.filter((c) => c !== loss && c.chart.multiline && (c.chart.multiline.tag || []).includes('loss'));
  for (const c of others) {
    await drawnCard(c.index);
    await page.waitForFunction(([sel, i, k, n]) => {
      const e = document.querySelectorAll(sel)[i].querySelector(`.cs-key${k}`);
      return e && Number(e.dataset.points) === n;
    }, [`${PANE} .cs-card`, c.index, key, before + 1], { timeout: 10_000 });
  }
  await page.screenshot({ path: `${artifacts}/custom-scalars.png`, fullPage: true });
});

await finish();
