// The Projector tab in a real browser: Debian's headless Chromium (WebGL through SwiftShader, for
// the 3D view), driven with playwright-core, against a real runboard server started by
// tests/browser.rs on the committed fixture (tests/fixtures/logdirs/projector: run `a` with
// `default:00000`, 100 × 5 with one metadata column of 4 clusters and an 8×8 sprite, and
// `words:00003`, 30 × 4 with the columns `word` and `count`; run `b` with `vectors`, 12 × 3
// from a raw float32 file), a run `bad` whose config names a good tensor, a missing one, and
// the good one with a missing metadata file, and a run `c` the test writes with the SDK. What
// the page must show comes from the server (`/api/v1/projector*`, `/data/plugin/projector/*`),
// fetched here; what it drew is read from the plot's canvas and its `data-*` attributes.
//
// Talks to the test over stdio: `append <step>` asks it to log the embedding `points` at
// `<step>` into run `c`; it answers `ok`. Prints `pass <name>` per check; exits non-zero on the
// first failure.

import { artifacts, base, ask, assert, fetchOk, get, json, openPage } from './harness.mjs';

// SwiftShader's WebGL for the 3D view, as the Mesh tab's test runs it.
const { page, check, finish } = await openPage('projector', { args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });

const PANE = '.pane[data-pane=projector]';
const PLOT = `${PANE} .pj-plot`;
const LIVE_RUN = 'c';

/** `/api/v1/projector`. */
const listed = () => get('api/v1/projector');
const keyOf = (e) => `${e.run}/${e.name}`;
/** The labels of an embedding's metadata column `column` (its first line is a header when it
 * has a tab; else the one column is `label`). */
async function labelsOf(run, name, column = 'label') {
  const text = await (await fetchOk('data/plugin/projector/metadata', { run, name })).text();
  const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  if (!lines[0].includes('\t')) return lines;
  const at = lines[0].split('\t').indexOf(column);
  return lines.slice(1).map((l) => l.split('\t')[at]);
}

/** Shows `run`/`name` with the picker and waits until the page drew it (in `mode`); returns the
 * plot's attributes. */
async function choose(run, name, mode = '2d') {
  await page.selectOption(`${PANE} .pj-pick`, `${run}\u0000${name}`);
  return drawn(run, name, mode);
}
/** Waits (up to 15 s) until the plot says it drew `run`/`name` in `mode`, and its metadata
 * columns are offered when it has metadata. */
async function drawn(run, name, mode = '2d') {
  const metadata = !!(await listed()).find((e) => e.run === run && e.name === name)?.metadata;
  await page.waitForFunction(([sel, r, n, m, meta]) => {
    const d = document.querySelector(`${sel} .pj-plot`)?.dataset;
    const labelled = !!document.querySelector(`${sel} .pj-label option`)?.value;
    return d && d.run === r && d.name === n && d.mode === m && d.drawnPoints !== undefined && labelled === meta;
  }, [PANE, run, name, mode, metadata], { timeout: 15_000 }).catch(() => {});
  const got = await page.$eval(PLOT, (p) => ({ ...p.dataset }));
  assert(got.run === run && got.name === name && got.mode === mode && got.drawnPoints !== undefined,
    `${run}/${name} not drawn in ${mode}: the plot says ${json(got)}`);
  // The frame after: colours and overlay are drawn on the next animation frame.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return got;
}

/** What the plot's canvas holds: pixels drawn (not transparent), the distinct opaque colours
 * (`#rrggbb`, with how many pixels each), and up to 20 `points`, places (CSS pixels of the plot)
 * inside a drawn point, 12 pixels apart at least. */
function canvasStats(sel = `${PLOT} .pj-canvas`) {
  return page.evaluate((s) => {
    const c = document.querySelector(s);
    const { data, width, height } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    const dpr = width / c.clientWidth;
    let drawn = 0;
    const colours = {};
    const points = [];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = 4 * (y * width + x);
        if (!data[i + 3]) continue;
        drawn++;
        if (data[i + 3] !== 255) continue;
        const hex = `#${[data[i], data[i + 1], data[i + 2]].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
        colours[hex] = (colours[hex] || 0) + 1;
        // A pixel with the same colour on all four sides: inside a point, not at its edge.
        const same = (dx, dy) => [0, 1, 2, 3].every((k) => data[i + 4 * (dy * width + dx) + k] === data[i + k]);
        const [px, py] = [x / dpr, y / dpr];
        if (points.length < 20 && x > 0 && y > 0 && x < width - 1 && y < height - 1
          && same(1, 0) && same(-1, 0) && same(0, 1) && same(0, -1)
          && points.every(([qx, qy]) => Math.hypot(qx - px, qy - py) >= 12)) points.push([px, py]);
      }
    }
    return { drawn, width, height, colours, points };
  }, sel);
}
const near = (a, b, tolerance) => {
  const rgb = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  return rgb(a).every((v, i) => Math.abs(v - rgb(b)[i]) <= tolerance);
};

/** Clicks the plot at (`x`, `y`) CSS pixels and waits for the selection and its neighbours;
 * returns `{index, neighbours: [{index, distance, label}]}` as the side panel lists them. */
async function clickPoint(x, y) {
  const box = await page.locator(`${PLOT} .pj-overlay`).boundingBox();
  const before = await page.$eval(`${PANE} .pj-selected`, (s) => s.dataset.index);
  await page.mouse.click(box.x + x, box.y + y);
  return selection(before);
}
/** The side panel once it shows a selection other than `before` with its neighbours. */
async function selection(before) {
  await page.waitForFunction(([sel, b]) => {
    const s = document.querySelector(`${sel} .pj-selected`);
    return s.dataset.index !== b && s.dataset.index !== '-1' && document.querySelectorAll(`${sel} .pj-neighbor`).length > 0;
  }, [PANE, before], { timeout: 10_000 }).catch(() => {});
  return page.$eval(PANE, (p) => ({
    index: Number(p.querySelector('.pj-selected').dataset.index),
    label: p.querySelector('.pj-selected-label')?.textContent,
    neighbours: [...p.querySelectorAll('.pj-neighbor')].map((li) => ({
      index: Number(li.dataset.index), distance: Number(li.dataset.distance), label: li.querySelector('.pj-neighbor-label').textContent,
    })),
  }));
}
/** Checks a selection's neighbours against the server's answer and the labels. */
async function expectNeighbours(run, name, got, labels) {
  const want = await get('api/v1/projector/neighbors', { run, name, index: String(got.index), k: '10', metric: 'cosine' });
  assert(got.neighbours.length === want.neighbors.length && got.neighbours.every((n, i) =>
    n.index === want.neighbors[i].index && Math.abs(n.distance - want.neighbors[i].distance) < 1e-9),
  `point ${got.index}: neighbours ${json(got.neighbours.map((n) => [n.index, n.distance]))}, the server's ${json(want.neighbors)}`);
  assert(got.neighbours.every((n) => n.label === labels[n.index]) && got.label === labels[got.index],
    `point ${got.index} (${json(got.label)}): neighbour labels ${json(got.neighbours.map((n) => n.label))}`);
}

const LIST = await listed();
const find = (run, name) => LIST.find((e) => e.run === run && e.name === name);

await check('picker-lists-every-embedding', async () => {
  assert(LIST.length >= 7 && find('a', 'default:00000') && find('bad', 'gone') && LIST.some((e) => e.run === LIVE_RUN),
    `the fixture is too small: ${json(LIST.map(keyOf))}`);
  await page.goto(`${base}/?tab=projector`);
  await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .pj-pick option`, LIST.length], { timeout: 15_000 }).catch(() => {});
  const options = await page.$$eval(`${PANE} .pj-pick option`, (os) => os.map((o) => ({ ...o.dataset, group: o.parentElement.label, text: o.textContent })));
  const want = LIST.map((e) => ({ run: e.run, name: e.name, rows: String(e.rows), dims: String(e.dims) }));
  assert(json(options.map(({ run, name, rows, dims }) => ({ run, name, rows, dims }))) === json(want),
    `the picker lists ${json(options)}, the API ${json(want)}`);
  for (const o of options) {
    assert(o.group === o.run, `${o.run}/${o.name} is under ${json(o.group)}`);
    const e = find(o.run, o.name);
    const size = `${e.rows.toLocaleString('en-US')} × ${e.dims}`;
    assert(e.rows ? o.text.includes(size) : o.text.includes('not read'), `option ${json(o.text)} for ${json(e)}`);
    assert(o.text.includes('⚠') === !!e.error, `option ${json(o.text)}: error ${json(e.error)}`);
  }
  const count = await page.textContent('[data-tab=projector] .count');
  assert(count === String(LIST.length), `tab count ${count}, the API has ${LIST.length} embeddings`);
  assert(await page.isHidden('#sidebar'), 'the sidebar shows on the Projector tab');
  // The first embedding is shown, with the variance its first two components explain.
  const first = LIST[0];
  await drawn(first.run, first.name);
  const info = await page.$eval(`${PANE} .pj-info`, (i) => ({ text: i.textContent, variance: Number(i.dataset.variance) }));
  const variance = first.pca.variance[0] + first.pca.variance[1];
  assert(Math.abs(info.variance - variance) < 1e-9 && info.text.includes(`${(100 * variance).toFixed(1)}%`) && info.text.includes(`${first.rows} × ${first.dims}`),
    `info ${json(info)}, the API's variance ${first.pca.variance}`);
});

await check('one-point-per-row', async () => {
  for (const e of LIST.filter((x) => x.rows > 0)) {
    const got = await choose(e.run, e.name);
    assert(got.drawnPoints === String(e.rows), `${keyOf(e)}: ${got.drawnPoints} points drawn, ${e.rows} rows`);
    assert(/^\d+$/.test(got.drawMs) && Number(got.drawMs) < 15_000, `${keyOf(e)}: data-draw-ms ${json(got.drawMs)}`);
    const stats = await canvasStats();
    // Each point is a square of a few pixels; overlapping ones share theirs.
    assert(stats.drawn >= 4 * Math.min(e.rows, 10), `${keyOf(e)}: ${stats.drawn} pixels drawn for ${e.rows} points`);
    const title = await page.textContent(`${PANE} .pj-title`);
    assert(title === `${e.run} / ${e.name}`, `${keyOf(e)}: title ${json(title)}`);
  }
});

await check('colour-by-metadata', async () => {
  await choose('a', 'default:00000');
  const labels = await labelsOf('a', 'default:00000');
  const counts = {};
  for (const l of labels) counts[l] = (counts[l] || 0) + 1;
  assert(Object.keys(counts).length === 4, `the fixture's labels: ${json(counts)}`);
  const plain = await canvasStats();
  assert(Object.keys(plain.colours).length === 1, `uncoloured, the points have ${json(plain.colours)}`);
  await page.selectOption(`${PANE} .pj-color`, 'label');
  await drawn('a', 'default:00000');
  const legend = await page.$$eval(`${PANE} .pj-legend-item`, (is) => is.map((i) => ({ ...i.dataset, text: i.textContent })));
  assert(json(legend.map((l) => [l.value, l.text.endsWith(` ${counts[l.value]}`)])) === json(Object.keys(counts).map((k) => [k, true])),
    `legend ${json(legend)}, the metadata's counts ${json(counts)}`);
  const colours = new Set(legend.map((l) => l.color));
  assert(colours.size === 4, `the legend's colours: ${json(legend)}`);
  const stats = await canvasStats();
  const drawnColours = Object.keys(stats.colours);
  assert(drawnColours.length === 4 && drawnColours.every((c) => colours.has(c)),
    `the canvas has colours ${json(stats.colours)}, the legend ${json([...colours])}`);
  // A numeric column takes the gradient (viridis), its least value at one end and its greatest
  // at the other: words' `count` is 0, 1 or 2.
  await choose('a', 'words:00003');
  const count = new Set(await labelsOf('a', 'words:00003', 'count'));
  assert(json([...count].sort()) === json(['0', '1', '2']), `words' counts: ${json([...count])}`);
  await page.selectOption(`${PANE} .pj-color`, 'count');
  await drawn('a', 'words:00003');
  const ends = await page.$$eval(`${PANE} .pj-legend-item`, (is) => is.map((i) => i.textContent));
  assert(await page.isVisible(`${PANE} .pj-ramp`) && json(ends) === json(['0', '2']), `the legend of a numeric column: ${json(ends)}`);
  const words = Object.keys((await canvasStats()).colours).sort();
  assert(words.length === 3 && words.includes('#440154') && words.includes('#fde725'), `count's gradient draws ${json(words)}`);
  const columns = await page.$$eval(`${PANE} .pj-label option`, (os) => os.map((o) => o.value));
  assert(json(columns) === json(['word', 'count']), `label-by columns ${json(columns)}`);
});

await check('search-counts-matches', async () => {
  await choose('a', 'default:00000');
  const labels = await labelsOf('a', 'default:00000');
  /** Types `text` (a regex when `re`) and waits for the count. */
  const search = async (text, re) => {
    await page.setChecked(`${PANE} .pj-regex`, re);
    await page.fill(`${PANE} .pj-search`, text);
    await page.waitForFunction(([sel, t, r]) => {
      const c = document.querySelector(`${sel} .pj-search-count`).dataset;
      return c.query === t && c.regex === String(r);
    }, [PANE, text, re], { timeout: 5000 }).catch(() => {});
    return page.$eval(`${PANE} .pj-search-count`, (c) => ({ count: Number(c.dataset.count), text: c.textContent }));
  };
  const want = labels.filter((l) => l.toLowerCase().includes('cluster 2')).length;
  assert(want === 25, `the fixture has ${want} labels with "cluster 2"`);
  let got = await search('cluster 2', false);
  assert(got.count === want && got.text.startsWith('25 matches'), `"cluster 2" found ${json(got)}, the metadata has ${want}`);
  // Matches keep their colour, the others fade: the accent shows on 25 points' pixels only.
  const stats = await canvasStats();
  assert(Object.keys(stats.colours).length === 2, `with a search, the canvas has ${json(stats.colours)}`);
  got = await search('^CLUSTER [01]$', true);
  assert(got.count === 50, `the regex ^CLUSTER [01]$ found ${json(got)}`);
  await page.fill(`${PANE} .pj-search`, '(');
  await page.waitForSelector(`${PANE} .pj-search.invalid`, { timeout: 5000 });
  await search('', false);
  const none = await page.$eval(`${PANE} .pj-search-count`, (c) => c.textContent);
  assert(none === '', `an empty search counts ${json(none)}`);
});

await check('click-selects-and-lists-neighbours', async () => {
  await choose('a', 'default:00000');
  const labels = await labelsOf('a', 'default:00000');
  const stats = await canvasStats();
  const [x, y] = stats.points[0];
  const got = await clickPoint(x, y);
  assert(got.index >= 0 && got.index < 100 && got.neighbours.length === 10, `clicking a drawn point selected ${json(got)}`);
  await expectNeighbours('a', 'default:00000', got, labels);
  // The rings are drawn over the points.
  const rings = await canvasStats(`${PLOT} .pj-overlay`);
  assert(rings.drawn > 200, `the overlay has ${rings.drawn} pixels drawn`);
  // A neighbour in the list selects it.
  const next = got.neighbours[3].index;
  await page.click(`${PANE} .pj-neighbor[data-index="${next}"]`);
  const then = await selection(String(got.index));
  assert(then.index === next, `clicking neighbour ${next} selected ${then.index}`);
  await expectNeighbours('a', 'default:00000', then, labels);
  // Clicking empty space clears the selection.
  await page.mouse.click((await page.locator(`${PLOT} .pj-overlay`).boundingBox()).x + 3, (await page.locator(`${PLOT} .pj-overlay`).boundingBox()).y + 3);
  await page.waitForSelector(`${PANE} .pj-selected[data-index="-1"]`, { timeout: 5000 });
});

await check('sprite-thumbnail', async () => {
  await choose('a', 'default:00000');
  const stats = await canvasStats();
  const [x, y] = stats.points[1];
  const got = await clickPoint(x, y);
  await page.waitForSelector(`${PANE} .pj-selected .pj-thumb`, { timeout: 10_000 });
  // The thumbnail is the sprite's cell of the point (row-major cells of singleImageDim).
  const info = await get('data/plugin/projector/info', { run: 'a' });
  const [w, h] = info.embeddings.find((e) => e.tensorName === 'default:00000').sprite.singleImageDim;
  const same = await page.evaluate(async ([sel, i, cw, ch]) => {
    const thumb = document.querySelector(sel);
    const bitmap = await createImageBitmap(await (await fetch('data/plugin/projector/sprite_image?run=a&name=default%3A00000')).blob());
    const perRow = Math.floor(bitmap.width / cw);
    const c = new OffscreenCanvas(cw, ch);
    c.getContext('2d').drawImage(bitmap, (i % perRow) * cw, Math.floor(i / perRow) * ch, cw, ch, 0, 0, cw, ch);
    const want = c.getContext('2d').getImageData(0, 0, cw, ch).data;
    const have = thumb.getContext('2d').getImageData(0, 0, thumb.width, thumb.height).data;
    return { index: Number(thumb.dataset.index), size: [thumb.width, thumb.height], equal: want.length === have.length && want.every((v, k) => v === have[k]), opaque: have[3] };
  }, [`${PANE} .pj-selected .pj-thumb`, got.index, w, h]);
  assert(same.index === got.index && json(same.size) === json([w, h]) && same.equal && same.opaque === 255,
    `the thumbnail of point ${got.index}: ${json(same)}, the sprite's ${w}×${h} cell expected`);
  // Hovering shows the thumbnail and the label in the tooltip.
  const box = await page.locator(`${PLOT} .pj-overlay`).boundingBox();
  await page.mouse.move(box.x + x + 1, box.y + y);
  await page.waitForSelector(`${PLOT} .pj-tip:not([hidden]) .pj-thumb`, { timeout: 5000 });
  // The point nearest the pointer: the selected one, or one drawn over it.
  const labels = await labelsOf('a', 'default:00000');
  const tip = await page.textContent(`${PLOT} .pj-tip`);
  const hovered = Number(tip.match(/#(\d+)$/)?.[1]);
  assert(tip === `${labels[hovered]} #${hovered}`, `tooltip ${json(tip)} over point ${got.index} (${got.label})`);
  // An embedding without a sprite shows none.
  await choose('a', 'words:00003');
  const words = await canvasStats();
  await clickPoint(...words.points[0]);
  assert(await page.$(`${PANE} .pj-thumb`) === null, 'a thumbnail for words:00003, which has no sprite');
});

await check('3d-draws', async () => {
  await choose('a', 'default:00000');
  await page.selectOption(`${PANE} .pj-color`, 'label');
  await page.selectOption(`${PANE} .pj-mode`, '3d');
  const got = await drawn('a', 'default:00000', '3d');
  assert(got.drawnPoints === '100', `3D: ${got.drawnPoints} points drawn`);
  const stats = await canvasStats();
  const legend = await page.$$eval(`${PANE} .pj-legend-item`, (is) => is.map((i) => i.dataset.color));
  assert(stats.drawn >= 400, `3D: only ${stats.drawn} pixels drawn`);
  const drawnColours = Object.keys(stats.colours);
  assert(legend.every((c) => drawnColours.some((d) => near(c, d, 3))), `3D: colours ${json(stats.colours)}, the legend's ${json(legend)}`);
  const visible = await page.$$eval(`${PANE} .pj-axis`, (as) => as.map((a) => !a.closest('label').hidden));
  assert(json(visible) === json([true, true, true]), `3D: axis pickers shown ${json(visible)}`);
  // Picking in 3D: the points are projected with the camera.
  const labels = await labelsOf('a', 'default:00000');
  const picked = await clickPoint(...stats.points[0]);
  assert(picked.index >= 0, `3D: clicking a drawn point selected ${json(picked)}`);
  await expectNeighbours('a', 'default:00000', picked, labels);
  // Dragging turns the view: drawn again, and not as before.
  const box = await page.locator(`${PLOT} .pj-overlay`).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 150, box.y + box.height / 2 + 30, { steps: 5 });
  await page.mouse.up();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const turned = await canvasStats();
  assert(json(turned.points) !== json(stats.points), 'dragging did not turn the 3D view');
  await page.selectOption(`${PANE} .pj-mode`, '2d');
  await drawn('a', 'default:00000', '2d');
});

// t-SNE: computed by the server (asked once, polled), drawn in 2D with every point of a small
// embedding, coloured like the PCA view; its clusters stay apart.
await check('tsne-draws', async () => {
  await choose('a', 'default:00000');
  await page.selectOption(`${PANE} .pj-color`, 'label');
  await page.selectOption(`${PANE} .pj-mode`, 'tsne');
  const got = await drawn('a', 'default:00000', 'tsne');
  assert(got.drawnPoints === '100', `t-SNE: ${got.drawnPoints} points drawn`);
  const note = await page.textContent(`${PANE} .pj-note`);
  assert(/t-SNE of 100 points of 100, computed by the server/.test(note), `the note says ${json(note)}`);
  const answer = await get('api/v1/projector/tsne', { run: 'a', name: 'default:00000' });
  assert(answer.state === 'done' && answer.indices.length === 100, `the API's t-SNE: ${json(answer).slice(0, 200)}`);
  const stats = await canvasStats();
  const legend = await page.$$eval(`${PANE} .pj-legend-item`, (is) => is.map((i) => i.dataset.color));
  assert(legend.length === 4 && legend.every((c) => Object.keys(stats.colours).some((d) => near(c, d, 3))),
    `t-SNE: colours ${json(stats.colours)}, the legend's ${json(legend)}`);
  const hidden = await page.$$eval(`${PANE} .pj-axis`, (as) => as.every((a) => a.closest('label').hidden));
  assert(hidden, 't-SNE: the component pickers are shown');
  await page.selectOption(`${PANE} .pj-mode`, '2d');
  await drawn('a', 'default:00000', '2d');
});

await check('error-texts', async () => {
  for (const e of LIST.filter((x) => x.run === 'bad')) {
    await page.selectOption(`${PANE} .pj-pick`, `${e.run}\u0000${e.name}`);
    await page.waitForFunction(([sel, t]) => document.querySelector(`${sel} .pj-title`).textContent === t, [PANE, `bad / ${e.name}`], { timeout: 10_000 });
    const error = await page.textContent(`${PANE} .pj-error`);
    assert(error === (e.error ?? ''), `bad/${e.name}: error ${json(error)}, the API's ${json(e.error)}`);
    if (e.rows === 0) {
      assert(e.error && await page.isHidden(PLOT), `bad/${e.name}: not read, yet the plot shows (${json(e)})`);
      const data = await page.$eval(PLOT, (p) => ({ ...p.dataset }));
      assert(data.drawnPoints === undefined, `bad/${e.name}: the plot says ${json(data)}`);
    } else {
      const got = await drawn('bad', e.name);
      assert(got.drawnPoints === String(e.rows), `bad/${e.name}: ${got.drawnPoints} points drawn of ${e.rows}`);
    }
  }
  const errors = LIST.filter((x) => x.run === 'bad' && x.error).map((x) => x.name);
  assert(json(errors) === json(['gone', 'nometa']), `the API's errors in run bad: ${json(errors)}`);
});

/** The API's embedding `run`/`name` once it lists it (the server reads a changed config in
 * well under a second). */
async function apiHas(run, name) {
  for (let i = 0; i < 100; i++) {
    const e = (await listed()).find((x) => x.run === run && x.name === name);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the API has no ${run}/${name} 10 s after it was appended`);
}

await check('live-update', async () => {
  await page.evaluate(() => { window.__notReloaded = true; });
  const name = 'points:00005';
  assert(!find(LIVE_RUN, name), `${LIVE_RUN}/${name} is there before it was appended`);
  await ask('append 5');
  const e = await apiHas(LIVE_RUN, name);
  assert(e.rows === 40 && !e.error, `the API's ${LIVE_RUN}/${name}: ${json(e)}`);
  await page.waitForSelector(`${PANE} .pj-pick option[data-run="${LIVE_RUN}"][data-name="${name}"]`, { state: 'attached', timeout: 15_000 });
  const count = await page.textContent('[data-tab=projector] .count');
  assert(count === String(LIST.length + 1), `tab count ${count} after the append`);
  const got = await choose(LIVE_RUN, name);
  assert(got.drawnPoints === '40', `${LIVE_RUN}/${name}: ${got.drawnPoints} points drawn`);
  assert(await page.evaluate(() => window.__notReloaded === true), 'the page reloaded');
});

await check('screenshot', async () => {
  await choose('a', 'default:00000');
  await page.selectOption(`${PANE} .pj-color`, 'label');
  await drawn('a', 'default:00000');
  const stats = await canvasStats();
  await clickPoint(...stats.points[2]);
  await page.waitForSelector(`${PANE} .pj-selected .pj-thumb`, { timeout: 10_000 });
  await page.screenshot({ path: `${artifacts}/projector.png` });
});

await finish();
