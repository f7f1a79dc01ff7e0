// TensorBoard's Graphs tab as bench/graph.mjs times it: one fresh page load of
// `/#graphs&run=RUN` → the graph drawn, then scopes expanded, in the page's own clock.
//
// TensorBoard 2.21's graph dashboard is Polymer: `tf-graph-dashboard` → `tf-graph-board` →
// `tf-graph` → `tf-graph-scene`, each in its own open shadow root; the scene draws into
// `svg#svg` with d3, one `g.node[data-name=NAME]` per visible node (an expanded scope's children
// inside its own group). "Drawn" is the first animation frame at which the board's progress
// (`tf-graph-board.progress`, what its progress bar shows) is at 100 and the scene holds a
// `g.node` for every top-level node of the graph (the names runboard's API gives for the same
// graph). The scene lays out and builds all of its groups in one synchronous call, so one group
// there means all of them. TensorBoard then pans and zooms the drawing to fit the viewport
// 250 ms later (its animation delay); that is not waited for. A scope expanded: a click on the
// `+` button of its `g.node` (what a user clicks) → the first frame at which that group holds a
// `g.node` of a child; TensorBoard waits 75 ms (`this.async(…, 75)` in tf-graph) before it lays
// out again, and that is part of what a user waits for.

/**
 * Installed before the page's own scripts: checks at every animation frame whether the graph is
 * drawn (see the file's comment) and records `performance.now()` of the first frame where it is
 * as `window.__tbDrawn`; a progress error as `window.__tbError`. (Self-contained: Playwright
 * sends it to the page as source.)
 */
function watchDrawn(top) {
  /** The first element matching `sel` under `root`, looking into open shadow roots. */
  const deep = (root, sel) => {
    const hit = root.querySelector(sel);
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) {
      const h = el.shadowRoot && deep(el.shadowRoot, sel);
      if (h) return h;
    }
    return null;
  };
  let board = null;
  let scene = null;
  const frame = () => {
    const now = performance.now();
    board ||= deep(document, 'tf-graph-board');
    window.__tbBoard = board;
    if (board && !scene && board.shadowRoot) scene = deep(board.shadowRoot, 'tf-graph-scene');
    const progress = board && board.progress;
    if (progress && progress.error) {
      window.__tbError = progress.msg;
      return;
    }
    const svg = scene && scene.shadowRoot && scene.shadowRoot.querySelector('svg#svg');
    if (progress && progress.value >= 100 && svg
      && top.every((n) => svg.querySelector(`g.node[data-name="${CSS.escape(n)}"]`))) {
      window.__tbDrawn = now;
      window.__tbScene = scene;
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/**
 * Loads TensorBoard's Graphs tab for `run` in a fresh context of `browser` and waits up to
 * `timeout` ms for the graph drawn. Then expands each of `expand` in turn (a click on the scope's
 * expand button) and times click → the first frame whose scene holds a `g.node` inside that
 * scope's group. Returns `{ drawn, fetched, expand: [ms…], shown, stages }` (times in ms;
 * `fetched`: when the page requested the graph; `stages`:
 * TensorBoard's own console timings), or `{ timedOut: true, progress }` if it was not drawn in
 * time.
 */
export async function tensorboardLoad(browser, { base, run, top, expand, timeout, viewport }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const stages = [];
  // TensorBoard logs its graph pipeline's stages as `NAME : N ms` (tf_graph_common/util.ts).
  page.on('console', (msg) => {
    const m = /^(.*?):? : (\d+) ms$/.exec(msg.text());
    if (m) stages.push(`${m[1]} ${m[2]} ms`);
  });
  await page.addInitScript(watchDrawn, top);
  try {
    await page.goto(`${base}/#graphs&run=${encodeURIComponent(run)}`);
    try {
      await page.waitForFunction(() => window.__tbDrawn !== undefined || window.__tbError !== undefined,
        null, { timeout, polling: 100 });
    } catch (e) {
      if (e.name !== 'TimeoutError') throw e;
      // A page stuck in a long task does not answer: give up on it after 10 s.
      const progress = await Promise.race([
        page.evaluate(() => {
          const p = window.__tbBoard && window.__tbBoard.progress;
          return p ? `${p.value.toFixed(0)}% (${p.msg})` : 'no progress shown';
        }).catch(() => 'page unresponsive'),
        new Promise((r) => { setTimeout(() => r('page unresponsive'), 10_000); }),
      ]);
      return { timedOut: true, progress };
    }
    const error = await page.evaluate(() => window.__tbError);
    if (error !== undefined) throw new Error(`TensorBoard's graph board reported an error: ${error}`);
    const { drawn, fetched } = await page.evaluate(() => ({
      drawn: window.__tbDrawn,
      // When the page asked for the graph (resource timing, the same clock).
      fetched: performance.getEntriesByType('resource').find((e) => e.name.includes('/data/plugin/graphs/graph?'))?.startTime ?? NaN,
    }));
    const times = [];
    for (const name of expand) {
      const dt = await page.evaluate(async ({ name, timeout }) => {
        const svg = window.__tbScene.shadowRoot.querySelector('svg#svg');
        const group = svg.querySelector(`g.node[data-name="${CSS.escape(name)}"]`);
        if (!group) return { missing: `no g.node for ${name}` };
        const button = group.querySelector(':scope > .nodeshape > .buttoncontainer');
        if (!button) return { missing: `no expand button on ${name}` };
        const t0 = performance.now();
        button.dispatchEvent(new MouseEvent('click', { bubbles: true }));
        for (;;) {
          const now = await new Promise((r) => requestAnimationFrame(() => r(performance.now())));
          const g = svg.querySelector(`g.node[data-name="${CSS.escape(name)}"]`);
          if (g && g.querySelector('g.node')) return { ms: now - t0 };
          if (now - t0 > timeout) return { missing: `${name} did not expand within ${timeout} ms` };
        }
      }, { name, timeout });
      if (dt.missing) return { drawn, fetched, expand: times, expandFailed: dt.missing, stages };
      times.push(dt.ms);
    }
    const shown = await page.evaluate(() => window.__tbScene.shadowRoot.querySelectorAll('svg#svg g.node').length);
    return { drawn, fetched, expand: times, shown, stages };
  } finally {
    await context.close();
  }
}
