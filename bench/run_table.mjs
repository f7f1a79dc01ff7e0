// The run table's browser benchmarks (run by bench/run_table.rs, which builds the database and
// starts the server): first paint of the Runs tab, sorting, filtering and scrolling on RUNS
// runs. Times come from the page's own clock (performance.now(), zero at navigation start); an
// action's time runs from the event to the end of the next frame (so it includes layout and
// paint). Prints medians and per-action figures.

const { chromium } = await import(new URL('../tests/browser/node_modules/playwright-core/index.mjs', import.meta.url));

const base = process.env.RUNBOARD_URL;
const repeat = Number(process.env.REPEAT || 5);
const runs = Number(process.env.RUNS || 10000);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ms = (x) => `${x.toFixed(1)} ms`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

async function fresh(url) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  return { page, context, errors };
}

/** Waits for every run to be in the table (the first screen is drawn before: `painted`);
 * returns its timings. */
function painted(page) {
  return page.waitForFunction((runs) => {
    const t = document.querySelector('.pane[data-pane=runs]')?.runTable;
    if (!t || t.timings.complete === undefined || t.rows.size < runs) return null;
    const res = performance.getEntriesByType('resource');
    const entry = (re) => res.findLast((r) => re.test(r.name));
    const table = entry(/run_table/);
    return {
      painted: t.timings.painted,
      complete: t.timings.complete,
      fetchStart: t.timings.fetchStart,
      fetched: t.timings.fetched,
      response: table ? `${table.startTime.toFixed(0)}-${table.responseEnd.toFixed(0)} (${(table.encodedBodySize / 1e6).toFixed(1)} MB)` : '?',
      rows: document.querySelectorAll('.rt-row[data-run]').length,
      columns: document.querySelectorAll('.rt-hrow .rt-th[data-col]').length,
    };
  }, runs, { timeout: 120_000, polling: 'raf' }).then((h) => h.jsonValue());
}

// 1. First paint: navigation start → the first frame with rows (the first screen's), and
// → every run in the table (sortable). The first load finds the server's table cache cold
// (the server has only listed its runs); the rest find it warm.
const first = [];
const complete = [];
let shape = null;
for (let i = 0; i < repeat; i++) {
  const { page, context, errors } = await fresh(`${base}/?tab=runs`);
  const t = await painted(page);
  if (errors.length) throw new Error(errors.join('\n'));
  first.push(t.painted);
  complete.push(t.complete);
  shape = t;
  console.error(`first paint: ${ms(t.painted)}, every run at ${ms(t.complete)} (run_table requested at ${ms(t.fetchStart)}, response ${t.response}, parsed at ${ms(t.fetched)}; ${t.rows} rows in the DOM, ${t.columns} columns)`);
  await context.close();
}

// 2. Sort, filter and scroll on one loaded page: once it has also loaded the lists the other
// tabs use (the sidebar's runs and every series, fetched after the table), and settled.
const { page, context, errors } = await fresh(`${base}/?tab=runs`);
await painted(page);
await page.waitForFunction(() => performance.getEntriesByType('resource').some((r) => /api\/v1\/series/.test(r.name)), null, { timeout: 60_000 });
await page.waitForTimeout(1000);

/** Runs `act` (a function's source run in the page) and times it to the end of the next frame. */
function timed(act, arg) {
  return page.evaluate(async ([act, arg]) => {
    // eslint-disable-next-line no-new-func
    const fn = new Function('arg', act);
    const t0 = performance.now();
    fn(arg);
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
  }, [act, arg]);
}

const sortCols = ['c:lr', 'c:optimizer', 'm:val/acc:best', 'm:train/loss:best', 'name', 'status', 'created'];
const sorts = [];
const perSort = [];
for (const col of sortCols) {
  const times = [];
  for (let k = 0; k < 2; k++) {
    times.push(await timed("document.querySelector(`.rt-th[data-col=\"${CSS.escape(arg)}\"]`).click()", col));
  }
  sorts.push(...times);
  perSort.push(`${col} ${times.map((x) => x.toFixed(0)).join('/')}`);
}
const sortedOk = await page.evaluate(() => {
  const v = document.querySelector('.pane[data-pane=runs]').runTable.view;
  return v.length;
});
console.error(`sort (asc/desc ms): ${perSort.join(', ')}; ${sortedOk} rows`);

const exprs = [
  'lr < 0.001',
  'optimizer = adam and val/acc > 0.5',
  'status = crashed or host ~ "node-1[0-9]"',
  '(batch_size >= 64 and not amp = true) or val/loss.min < 0.1',
  '',
];
const filters = [];
const perFilter = [];
const setExpr = `const e = document.querySelector('.rt-expr'); e.value = arg;
  e.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));`;
for (const q of exprs) {
  const dt = await timed(setExpr, q);
  const n = await page.evaluate(() => document.querySelector('.pane[data-pane=runs]').runTable.view.length);
  const err = await page.evaluate(() => document.querySelector('.rt-expr-error').textContent);
  if (err) throw new Error(`${q}: ${err}`);
  filters.push(dt);
  perFilter.push(`${JSON.stringify(q)} ${dt.toFixed(0)} ms → ${n} rows`);
}
const setCol = `const i = document.querySelector(\`input.rt-colfilter[data-col="\${CSS.escape(arg[0])}"]\`); i.value = arg[1];
  i.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));`;
for (const [col, text] of [['c:optimizer', 'adam'], ['c:optimizer', ''], ['m:val/acc:best', '>0.3 <0.6'], ['m:val/acc:best', ''], ['name', 'run00'], ['name', '']]) {
  const dt = await page.evaluate(async ([act, arg]) => {
    const fn = new Function('arg', act);
    const t0 = performance.now();
    fn(arg);
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    return performance.now() - t0;
  }, [setCol, [col, text]]);
  const n = await page.evaluate(() => document.querySelector('.pane[data-pane=runs]').runTable.view.length);
  filters.push(dt);
  perFilter.push(`${col} ${JSON.stringify(text)} ${dt.toFixed(0)} ms → ${n} rows`);
}
console.error(`filter: ${perFilter.join('; ')}`);

const scrolls = [];
for (let i = 0; i < 40; i++) {
  scrolls.push(await timed(`const sc = document.querySelector('.rt-scroll'); sc.scrollTop = arg;`, (i + 1) * 7 * 1000));
}
const dom = await page.evaluate(() => document.querySelectorAll('.rt-row[data-run]').length);
if (errors.length) throw new Error(errors.join('\n'));
await context.close();
await browser.close();

console.log(`run table (${runs} runs, ${shape.columns} columns): first paint median ${ms(median(first.slice(1)))} with the server's table kept, ${ms(first[0])} when the server builds it (goal 1000 ms) [${first.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`every run in the table (sortable): median ${ms(median(complete.slice(1)))} with the server's table kept, ${ms(complete[0])} when the server builds it [${complete.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`sort: median ${ms(median(sorts))}, max ${ms(Math.max(...sorts))} over ${sorts.length} clicks (goal 100 ms)`);
console.log(`filter: median ${ms(median(filters))}, max ${ms(Math.max(...filters))} over ${filters.length} expressions and column filters (goal 100 ms)`);
console.log(`scroll a jump to a new window: median ${ms(median(scrolls))}, max ${ms(Math.max(...scrolls))} over ${scrolls.length} (${dom} rows in the DOM)`);
