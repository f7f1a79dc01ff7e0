// The Projector tab's browser benchmark (run by bench/projector.rs, which writes the embedding,
// starts runboard, and TensorBoard at the sizes it can show, on the same logdir): navigation →
// every point of the embedding drawn, in each page's own clock; runboard's tab and TensorBoard's
// projector (bench/tb_projector.mjs) loaded alternately in one Chromium (WebGL by SwiftShader),
// a fresh context each, same viewport. Prints what it sees to stderr and its figures as JSON on
// the last line of stdout.
//
// runboard's "drawn": the first animation frame at which an element `.pj-plot` of the embedding
// (`data-run`, `data-name`) says it has drawn every row (`data-drawn-points` = rows; the tab sets
// it once the scatter is drawn, with its own draw time in `data-draw-ms`). The PCA was computed
// by the server when it read the files: the page fetches 3 coordinates a row
// (`/api/v1/projector/pca`) and draws them. TensorBoard's conditions are in bench/tb_projector.mjs;
// both are checked the same way (a requestAnimationFrame loop in the page), so neither side gains
// a frame.

import { tensorboardLoad } from './tb_projector.mjs';

const { chromium } = await import(new URL('../tests/browser/node_modules/playwright-core/index.mjs', import.meta.url));

const base = process.env.RUNBOARD_URL;
const tbBase = process.env.TENSORBOARD_URL || '';
const run = process.env.RUN || 'emb';
const name = process.env.NAME || 'vectors';
const rows = Number(process.env.ROWS || 100000);
const repeat = Number(process.env.REPEAT || 3);
const tbTimeout = Number(process.env.TB_TIMEOUT_MS || 180_000);
// Where the dashboard opens its Projector tab (static/app.js reads the tab from `?tab=`).
const path = process.env.RB_PATH || '/?tab=projector';
const viewport = { width: 1600, height: 1000 };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/** Records `performance.now()` of the first animation frame at which runboard's Projector tab has
 * drawn every row of the embedding, and the tab's own draw time, as `window.__rbDrawn`. */
function watchRunboard({ run, name, rows }) {
  const frame = () => {
    const now = performance.now();
    for (const plot of document.querySelectorAll('.pj-plot[data-drawn-points]')) {
      if (plot.dataset.run === run && plot.dataset.name === name && Number(plot.dataset.drawnPoints) === rows) {
        window.__rbDrawn = { at: now, drawMs: Number(plot.dataset.drawMs), mode: plot.dataset.mode };
        return;
      }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** One fresh load of runboard's Projector tab: `{ drawn, drawMs, requested, received, bytes }`
 * (ms from navigation start; `requested`/`received`: the PCA request's start and end). */
async function runboardLoad() {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  await page.addInitScript(watchRunboard, { run, name, rows });
  try {
    await page.goto(`${base}${path}`);
    try {
      await page.waitForFunction(() => window.__rbDrawn !== undefined, null, { timeout: 120_000, polling: 100 });
    } catch (e) {
      const plots = await page.evaluate(() => [...document.querySelectorAll('.pj-plot')]
        .map((p) => JSON.stringify({ ...p.dataset }))).catch(() => ['page unresponsive']);
      throw new Error(`runboard's Projector tab did not draw ${rows} points of ${run}/${name} within 120 s `
        + `(.pj-plot elements: ${plots.join(', ') || 'none'}; errors: ${errors.join('; ') || 'none'}): ${e.message}`);
    }
    const r = await page.evaluate(() => {
      const e = performance.getEntriesByType('resource').filter((x) => x.name.includes('/api/v1/projector/pca?')).pop();
      return {
        drawn: window.__rbDrawn.at,
        drawMs: window.__rbDrawn.drawMs,
        mode: window.__rbDrawn.mode,
        requested: e ? e.startTime : NaN,
        received: e ? e.responseEnd : NaN,
        bytes: e ? e.decodedBodySize : NaN,
      };
    });
    // Then 3D (TensorBoard's default view): the projection picker set to 3D → the first frame
    // at which the plot says it drew every row in 3D (fetching a third component, loading
    // three.js the first time, rendering).
    if (r.mode !== '3d') {
      r.to3d = await page.evaluate(async ({ run, name, rows }) => {
        const plot = document.querySelector('.pj-plot');
        const pick = document.querySelector('.pj-mode');
        const t0 = performance.now();
        pick.value = '3d';
        pick.dispatchEvent(new Event('change', { bubbles: true }));
        for (;;) {
          const now = await new Promise((res) => { requestAnimationFrame(() => res(performance.now())); });
          const d = plot.dataset;
          if (d.mode === '3d' && d.run === run && d.name === name && Number(d.drawnPoints) === rows) {
            return { ms: now - t0, drawMs: Number(d.drawMs) };
          }
          if (now - t0 > 120_000) return { ms: NaN, drawMs: NaN };
        }
      }, { run, name, rows });
    }
    if (errors.length) throw new Error(errors.join('\n'));
    return r;
  } finally {
    await context.close();
  }
}

const rb = [];
const tb = [];
let tbNote = null;
for (let i = 0; i < repeat; i++) {
  // Alternate which goes first, so that neither always follows the other's load.
  const order = i % 2 === 0 ? ['runboard', 'tensorboard'] : ['tensorboard', 'runboard'];
  for (const who of order) {
    if (who === 'runboard') {
      const r = await runboardLoad();
      rb.push(r);
      console.error(`load ${i + 1} runboard (${rows} rows): PCA requested at ${r.requested.toFixed(0)} ms, received at `
        + `${r.received.toFixed(0)} ms (${(r.bytes / 1e6).toFixed(1)} MB), drawn at ${r.drawn.toFixed(0)} ms `
        + `in ${r.mode} (its own time from request to drawn ${r.drawMs.toFixed(0)} ms)`
        + `${r.to3d ? `; switched to 3D → drawn in ${r.to3d.ms.toFixed(0)} ms (its own ${r.to3d.drawMs.toFixed(0)} ms)` : ''}`);
    } else if (tbBase && !tbNote) {
      const r = await tensorboardLoad(browser, { base: tbBase, rows, timeout: tbTimeout, viewport });
      if (r.timedOut) {
        // A finding, not a failure: the later loads would time out too.
        tbNote = `not drawn within ${(tbTimeout / 1000).toFixed(0)} s on load ${i + 1} (it showed: ${r.progress})`;
        console.error(`load ${i + 1} TensorBoard: ${tbNote}; no further TensorBoard loads`);
        continue;
      }
      tb.push(r);
      console.error(`load ${i + 1} TensorBoard (${rows} rows): tensor requested at ${r.requested.toFixed(0)} ms, received at `
        + `${r.received.toFixed(0)} ms (${(r.bytes / 1e6).toFixed(1)} MB), data set built at ${r.data.toFixed(0)} ms, `
        + `"Computing PCA" shown at ${r.pcaShown.toFixed(0)} ms, PCA drawn at ${r.drawn.toFixed(0)} ms (${r.variance})`);
    }
  }
}
await browser.close();

const med = (xs, f) => median(xs.map(f));
const out = {
  rows,
  runboard: {
    drawn: med(rb, (r) => r.drawn),
    range: range(rb.map((r) => r.drawn)),
    drawMs: med(rb, (r) => r.drawMs),
    mode: rb[0].mode,
    to3d: rb[0].to3d ? med(rb, (r) => r.to3d.ms) : null,
    to3dDrawMs: rb[0].to3d ? med(rb, (r) => r.to3d.drawMs) : null,
    requested: med(rb, (r) => r.requested),
    received: med(rb, (r) => r.received),
    // Coordinates received → drawn (parse the float32 array, colour, draw, the frame shown).
    afterReceived: med(rb, (r) => r.drawn - r.received),
    bytes: rb[0].bytes,
    points: rows,
    loads: rb.map((r) => Math.round(r.drawn)),
  },
  tensorboard: !tbBase ? null : {
    note: tbNote,
    ...(tb.length ? {
      drawn: med(tb, (r) => r.drawn),
      range: range(tb.map((r) => r.drawn)),
      requested: med(tb, (r) => r.requested),
      received: med(tb, (r) => r.received),
      // Received → data set built (parse, spherize) and data set → drawn (its 200 ms delay, PCA, draw).
      parse: med(tb, (r) => r.data - r.received),
      pca: med(tb, (r) => r.drawn - r.data),
      bytes: tb[0].bytes,
      loads: tb.map((r) => Math.round(r.drawn)),
    } : {}),
  },
};
console.log(JSON.stringify(out));
