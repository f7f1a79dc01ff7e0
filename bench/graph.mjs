// The Graphs tab's browser benchmark (run by bench/graph.rs, which writes the graph and starts
// runboard, and TensorBoard when the test venv has it, on the same logdir): navigation → the
// graph drawn, and a scope opened, in each page's own clock; runboard's tab and TensorBoard's
// (bench/tb_graph.mjs) loaded alternately in one Chromium, fresh context each, same viewport.
//
// runboard's "drawn": the first animation frame at which the Graphs pane has finished a drawing
// (`data-drawn` set, right after `GraphView.render`) and holds a `.g-node` for every top-level
// node; its own hook (`graphView.timings.drawn`, set synchronously after render) is printed too.
// A scope opened: click → the first frame holding a `.g-node` inside it. TensorBoard's
// conditions are in bench/tb_graph.mjs; both are checked the same way (a requestAnimationFrame
// loop in the page), so neither side gains a frame.

import { tensorboardLoad } from './tb_graph.mjs';

const { chromium } = await import(new URL('../tests/browser/node_modules/playwright-core/index.mjs', import.meta.url));

const base = process.env.RUNBOARD_URL;
const tbBase = process.env.TENSORBOARD_URL || '';
const run = process.env.RUN || 'model';
const repeat = Number(process.env.REPEAT || 5);
const nodes = Number(process.env.NODES || 10000);
const tbTimeout = Number(process.env.TB_TIMEOUT_MS || 120_000);
const viewport = { width: 1600, height: 1000 };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
const ms = (x) => `${x.toFixed(1)} ms`;

// The graph's top level and the scopes the benchmark opens, as runboard's API gives them: the
// same names TensorBoard must show for the same graph.
const view = await (await fetch(`${base}/api/v1/graph?run=${encodeURIComponent(run)}`)).json();
const top = view.nodes.map((n) => n.name);
const scope = top.find((n) => view.nodes.find((v) => v.name === n).kind === 'scope');
const inner = await (await fetch(`${base}/api/v1/graph?run=${encodeURIComponent(run)}&open=${encodeURIComponent(scope)}`)).json();
const child = inner.nodes.find((n) => n.kind === 'scope' && n.name.startsWith(`${scope}/`))?.name;
const expand = [scope, child].filter(Boolean);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

/** Records `performance.now()` of the first animation frame at which runboard's Graphs pane
 * holds a finished drawing with every top-level node, as `window.__rbDrawn`. */
function watchRunboard(top) {
  const frame = () => {
    const now = performance.now();
    const pane = document.querySelector('.pane[data-pane=graphs][data-drawn]');
    if (pane && top.every((n) => pane.querySelector(`.g-node[data-name="${CSS.escape(n)}"]`))) {
      window.__rbDrawn = now;
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** One fresh load of runboard's Graphs tab: `{ drawn, hook, fetched, open: [ms…], shown }`
 * (`fetched`: when the page requested the graph). */
async function runboardLoad() {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(watchRunboard, top);
  try {
    await page.goto(`${base}/?tab=graphs`);
    await page.waitForFunction(() => window.__rbDrawn !== undefined, null, { timeout: 60_000, polling: 100 });
    const { drawn, hook, fetched } = await page.evaluate(() => ({
      drawn: window.__rbDrawn,
      hook: document.querySelector('.pane[data-pane=graphs]').graphView.timings.drawn,
      // When the page asked for the graph (resource timing, the same clock).
      fetched: performance.getEntriesByType('resource').find((e) => e.name.includes('/api/v1/graph?'))?.startTime ?? NaN,
    }));
    const open = [];
    for (const name of expand) {
      open.push(await page.evaluate(async (name) => {
        const pane = document.querySelector('.pane[data-pane=graphs]');
        const t0 = performance.now();
        pane.querySelector(`.g-node[data-name="${CSS.escape(name)}"]`).dispatchEvent(new MouseEvent('click', { bubbles: true }));
        for (;;) {
          const now = await new Promise((r) => requestAnimationFrame(() => r(performance.now())));
          if (pane.querySelector(`.g-node[data-name^="${CSS.escape(`${name}/`)}"]`)) return now - t0;
          if (now - t0 > 60_000) throw new Error(`${name} did not open`);
        }
      }, name));
    }
    const shown = await page.evaluate(() => document.querySelectorAll('.pane[data-pane=graphs] .g-node').length);
    if (errors.length) throw new Error(errors.join('\n'));
    return { drawn, hook, fetched, open, shown };
  } finally {
    await context.close();
  }
}

const rb = { drawn: [], hook: [], fetched: [], open: [] };
const tb = { drawn: [], fetched: [], expand: [], note: null };
for (let i = 0; i < repeat; i++) {
  // Alternate which goes first, so that neither always follows the other's load.
  const order = i % 2 === 0 ? ['runboard', 'tensorboard'] : ['tensorboard', 'runboard'];
  for (const who of order) {
    if (who === 'runboard') {
      const r = await runboardLoad();
      rb.drawn.push(r.drawn);
      rb.hook.push(r.hook);
      rb.fetched.push(r.fetched);
      rb.open.push(...r.open);
      console.error(`load ${i + 1} runboard: graph requested at ${r.fetched.toFixed(0)} ms, drawn at ${r.drawn.toFixed(0)} ms (hook ${r.hook.toFixed(0)} ms); `
        + `${expand.join(', ')} opened in ${r.open.map((x) => x.toFixed(0)).join(', ')} ms; ${r.shown} nodes drawn`);
    } else if (tbBase && !tb.note) {
      const r = await tensorboardLoad(browser, { base: tbBase, run, top, expand, timeout: tbTimeout, viewport });
      if (r.timedOut) {
        // A finding, not a failure: the later loads would time out too.
        tb.note = `not drawn within ${(tbTimeout / 1000).toFixed(0)} s on load ${i + 1} (its progress: ${r.progress}); no further TensorBoard loads`;
        console.error(`load ${i + 1} TensorBoard: ${tb.note}`);
        continue;
      }
      tb.drawn.push(r.drawn);
      tb.fetched.push(r.fetched);
      tb.expand.push(...r.expand);
      if (r.expandFailed) tb.expandNote = r.expandFailed;
      console.error(`load ${i + 1} TensorBoard: graph requested at ${r.fetched.toFixed(0)} ms, drawn at ${r.drawn.toFixed(0)} ms; `
        + `${expand.slice(0, r.expand.length).join(', ')} expanded in ${r.expand.map((x) => x.toFixed(0)).join(', ')} ms`
        + `${r.expandFailed ? ` (${r.expandFailed})` : ''}; ${r.shown ?? '?'} node groups drawn`);
      if (i === 0) console.error(`  TensorBoard's own stage timings (console): ${r.stages.join('; ')}`);
    }
  }
}
await browser.close();

console.log(`graph of ${nodes} ops (top level: ${top.join(', ')}), navigation → drawn, ${viewport.width}×${viewport.height}, `
  + `median of ${repeat} fresh loads, runboard and TensorBoard alternating:`);
console.log(`  runboard:    ${ms(median(rb.drawn))} (${range(rb.drawn)}) (goal 2000 ms); its own drawn hook ${ms(median(rb.hook))}`);
if (!tbBase) {
  console.log('  TensorBoard: not run (no .venv with TensorBoard; run `bash .ci/test` once)');
} else if (tb.drawn.length) {
  console.log(`  TensorBoard: ${ms(median(tb.drawn))} (${range(tb.drawn)}) over ${tb.drawn.length}${tb.note ? `; ${tb.note}` : ''}`);
  console.log(`  runboard / TensorBoard: ${(median(rb.drawn) / median(tb.drawn)).toFixed(3)}`);
  const afterRequest = (o) => o.drawn.map((d, k) => d - o.fetched[k]);
  console.log(`  the page requested the graph at median ${ms(median(rb.fetched))} (runboard), ${ms(median(tb.fetched))} (TensorBoard); `
    + `request → drawn ${ms(median(afterRequest(rb)))} and ${ms(median(afterRequest(tb)))}: `
    + `runboard / TensorBoard ${(median(afterRequest(rb)) / median(afterRequest(tb))).toFixed(3)}`);
} else {
  console.log(`  TensorBoard: ${tb.note}`);
}
console.log(`open a scope (${expand.join(' then ')}): click → drawn, median over ${rb.open.length}:`);
console.log(`  runboard:    ${ms(median(rb.open))} (${range(rb.open)})`);
if (tb.expand.length) {
  console.log(`  TensorBoard: ${ms(median(tb.expand))} (${range(tb.expand)}) over ${tb.expand.length} (its expand button; includes its fixed 75 ms delay before the re-layout)${tb.expandNote ? `; ${tb.expandNote}` : ''}`);
  console.log(`  runboard / TensorBoard: ${(median(rb.open) / median(tb.expand)).toFixed(3)}`);
} else if (tbBase) {
  console.log(`  TensorBoard: not timed${tb.expandNote ? ` (${tb.expandNote})` : ''}`);
}
console.log('"drawn" = the first animation frame (checked in a requestAnimationFrame loop in each page; performance.now(), 0 at navigation) at which:');
console.log('  runboard:    the Graphs pane has finished a drawing (data-drawn, set right after render) and holds a .g-node for '
  + 'every top-level node');
console.log('  TensorBoard: tf-graph-board.progress is at 100 (its progress bar gone) and tf-graph-scene\'s svg#svg holds a g.node '
  + 'for every top-level node. Either alone is not enough: progress reaches 100 before the hierarchy reaches the scene, '
  + 'and groups are only built once the layout is done (one synchronous call), so together they mean "laid out and '
  + 'shown". Its fit-to-view 250 ms later is not waited for.');
