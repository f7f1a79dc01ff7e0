// TensorBoard's projector as bench/projector.mjs times it: one fresh page load of `/#projector`
// → the tensor fetched, its PCA computed in the page and the points drawn, in the top page's
// clock.
//
// TensorBoard 2.21 loads the projector as an iframe plugin (`/data/plugin/projector/index.js`)
// that opens a second iframe, `projector_binary.html`, the Polymer app: `vz-projector` with its
// panels in open shadow roots. With one run and one embedding it loads that embedding at once:
// GET `/data/plugin/projector/tensor?...&num_rows=100000` (all rows as float32; it never asks for
// more than 100,000, so a larger tensor is cut to its first 100,000 rows), builds its data points
// and spherizes them, then its projections panel runs `showPCA`: "Computing PCA..." is shown and,
// 200 ms later (its `setTimeout`), the PCA runs synchronously (covariance of ≤ 50,000 shuffled
// points with numeric.js, SVD, every point projected on 10 components), then
// `vz-projector.setProjection(pca)` re-draws the WebGL scatter plot synchronously
// (`updateScatterPlotWithNewProjection` → `scatterPlot.render()`, three.js), and right after it
// `#total-variance` gets "Total variance described: N%.".
//
// "Drawn" is therefore the first animation frame of the projector's frame at which
// `vz-projector.projection.projectionType` is `pca`, its data set holds every row, and the
// projections panel's `#total-variance` says "Total variance described": the frame that shows
// the drawing made in the task that set them. Also recorded: the first frame with the data set
// (parsed) and the first with "Computing PCA..." on screen. Times in the projector's frame are
// read as `performance.timeOrigin + performance.now()` and given relative to the top page's
// `performance.timeOrigin` (navigation start).

/**
 * Installed in every frame before the page's scripts; acts in the projector's frame only:
 * records in `window.__tbMarks` the epoch ms of the first animation frame with the data set
 * (`data`), with "Computing PCA" shown (`pcaShown`) and with the PCA drawn (`drawn`); the
 * message shown last in `progress`. (Self-contained: Playwright sends it to the page as source.)
 */
function watchProjector(rows) {
  if (!location.pathname.endsWith('/projector_binary.html')) return;
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
  const marks = { progress: '' };
  window.__tbMarks = marks;
  let projector = null;
  let variance = null;
  let messages = null;
  const frame = () => {
    const now = performance.timeOrigin + performance.now();
    projector ||= deep(document, 'vz-projector');
    if (projector) {
      const root = projector.shadowRoot || projector;
      if (!variance) {
        const panel = deep(root, 'vz-projector-projections-panel');
        variance = panel && deep(panel.shadowRoot || panel, '#total-variance');
      }
      messages ||= deep(root, '#notify-msgs');
      if (messages && messages.textContent.trim()) marks.progress = messages.textContent.trim();
      const points = projector.dataSet && projector.dataSet.points ? projector.dataSet.points.length : 0;
      if (points === rows && marks.data === undefined) marks.data = now;
      if (marks.pcaShown === undefined && messages && messages.textContent.includes('Computing PCA')) {
        marks.pcaShown = now;
      }
      if (points === rows && projector.projection && projector.projection.projectionType === 'pca'
        && variance && variance.textContent.startsWith('Total variance described')) {
        marks.drawn = now;
        marks.variance = variance.textContent;
        return;
      }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/**
 * Loads TensorBoard's projector in a fresh context of `browser` and waits up to `timeout` ms for
 * the PCA of `rows` points drawn. Returns, in ms from navigation start, `{ requested, received,
 * data, pcaShown, drawn, bytes, variance }` (`requested`/`received`: the tensor request's start
 * and end, from resource timing; `bytes`: its body), or `{ timedOut: true, progress }`.
 */
export async function tensorboardLoad(browser, { base, rows, timeout, viewport }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(watchProjector, rows);
  const t0 = Date.now();
  const left = () => Math.max(1, timeout - (Date.now() - t0));
  try {
    await page.goto(`${base}/#projector`);
    const origin = await page.evaluate(() => performance.timeOrigin);
    let frame;
    while (!(frame = page.frames().find((f) => f.url().includes('/projector_binary.html')))) {
      if (Date.now() - t0 > timeout) return { timedOut: true, progress: 'the projector\'s frame never opened' };
      await new Promise((r) => { setTimeout(r, 50); });
    }
    try {
      await frame.waitForFunction(() => window.__tbMarks && window.__tbMarks.drawn !== undefined,
        null, { timeout: left(), polling: 100 });
    } catch (e) {
      if (e.name !== 'TimeoutError') throw e;
      // A page stuck in a long task does not answer: give up on it after 10 s.
      const progress = await Promise.race([
        frame.evaluate(() => (window.__tbMarks ? window.__tbMarks.progress || 'nothing shown' : 'no watcher'))
          .catch(() => 'page unresponsive'),
        new Promise((r) => { setTimeout(() => r('page unresponsive'), 10_000); }),
      ]);
      return { timedOut: true, progress: `${progress}${errors.length ? `; errors: ${errors.join('; ')}` : ''}` };
    }
    const m = await frame.evaluate(() => {
      const e = performance.getEntriesByType('resource').find((x) => x.name.includes('/data/plugin/projector/tensor?'));
      return {
        ...window.__tbMarks,
        origin: performance.timeOrigin,
        tensor: e ? { start: e.startTime, end: e.responseEnd, bytes: e.decodedBodySize } : null,
      };
    });
    const rel = (epoch) => (epoch === undefined ? NaN : epoch - origin);
    return {
      requested: m.tensor ? m.origin + m.tensor.start - origin : NaN,
      received: m.tensor ? m.origin + m.tensor.end - origin : NaN,
      bytes: m.tensor ? m.tensor.bytes : NaN,
      data: rel(m.data),
      pcaShown: rel(m.pcaShown),
      drawn: rel(m.drawn),
      variance: m.variance,
    };
  } finally {
    await context.close();
  }
}
