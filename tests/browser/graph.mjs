// The Graphs tab in a real browser (issue 15): Debian's headless Chromium, driven with
// playwright-core, against a real runboard server started by tests/browser.rs on the committed
// graph fixture (tests/fixtures/logdirs/graph: a torch-like model graph with name scopes, an
// attribute of every kind and a name with quotes and non-ASCII letters). What the page must
// draw comes from the API (`/api/v1/graph`), fetched here. Prints `pass <name>` per check;
// exits non-zero on the first failure.

import { artifacts, base, assert, json, same, get, openPage } from './harness.mjs';

const { page, check, finish } = await openPage('graph', { fullPage: false });

const RUN = 'graph';

function api(open = [], find = '', profile = '') {
  const params = { run: RUN, open };
  if (find) params.find = find;
  if (profile) params.profile = profile;
  return get('api/v1/graph', params);
}

/** What the page draws: nodes (collapsed scopes and ops), open clusters and edges. */
function drawn() {
  return page.evaluate(() => ({
    nodes: [...document.querySelectorAll('.g-node')].map((g) => g.dataset.name),
    clusters: [...document.querySelectorAll('.g-cluster')].map((g) => g.dataset.name),
    edges: [...document.querySelectorAll('.g-edge')].map((g) => `${g.dataset.from} -> ${g.dataset.to}`),
    marked: [...document.querySelectorAll('.g-node.marked')].map((g) => g.dataset.name),
    labels: [...document.querySelectorAll('.g-node text')].map((t) => t.textContent),
  }));
}

/** Runs `act`, then waits for the next drawing. */
async function redraw(act) {
  const before = await page.evaluate(() => document.querySelector('.pane[data-pane=graphs]').dataset.drawn || '0');
  await act();
  await page.waitForFunction((b) => (document.querySelector('.pane[data-pane=graphs]').dataset.drawn || '0') !== b, before, { timeout: 15_000 });
}

function expectView(got, want, what) {
  const nodes = want.nodes.filter((n) => !n.open).map((n) => n.name);
  const clusters = want.nodes.filter((n) => n.open).map((n) => n.name);
  const edges = want.edges.map((e) => `${e.from} -> ${e.to}`);
  assert(same(got.nodes, nodes), `${what}: nodes ${json(got.nodes)}, want ${json(nodes)}`);
  assert(same(got.clusters, clusters), `${what}: open scopes ${json(got.clusters)}, want ${json(clusters)}`);
  assert(same(got.edges, edges), `${what}: edges ${json(got.edges)}, want ${json(edges)}`);
}

await check('top-level-scopes-and-edges', async () => {
  await page.goto(`${base}/?tab=graphs`);
  await page.waitForSelector('.pane[data-pane=graphs][data-drawn]', { timeout: 20_000 });
  const want = await api();
  assert(want.nodes.some((n) => n.name === 'Net' && n.kind === 'scope'), json(want.nodes));
  expectView(await drawn(), want, 'top');
  const tab = await page.textContent('[data-tab=graphs] .count');
  assert(tab === '1', `tab count ${tab}`);
  const run = await page.$eval('.graph-run', (s) => s.value);
  assert(run === RUN, `run ${run}`);
  // The model summary logged beside the graph, as a table.
  await page.waitForSelector('.graph-summary:not([hidden]) table', { timeout: 10_000 });
  const cells = await page.$$eval('.graph-summary td', (tds) => tds.map((td) => td.textContent));
  assert(cells.includes('1,440') && cells.includes('Net.fc'), `summary cells ${json(cells)}`);
  assert((await page.textContent('.graph-summary')).includes('Total parameters: 1,450'), 'summary totals');
});

await check('a-scope-opens-on-click', async () => {
  await redraw(() => page.click('.g-node[data-name="Net"]'));
  const want = await api(['Net']);
  const got = await drawn();
  expectView(got, want, 'Net open');
  assert(got.clusters.includes('Net') && got.nodes.includes('Net/Linear[fc]'), json(got));
  // The name with quotes and non-ASCII letters is drawn as text.
  const odd = 'Bl\u00f6ck "q"';
  assert(got.labels.some((l) => l.startsWith(odd)), `labels ${json(got.labels)}`);
  assert(await page.evaluate(() => document.querySelectorAll('.graph-svg script, .graph-svg img').length) === 0, 'markup in the graph');
});

await check('search-finds-and-reveals-a-node', async () => {
  await redraw(() => page.fill('.graph-search', 'LINEAR[FC]/12'));
  const items = await page.$$eval('.graph-matches li[data-name]', (lis) => lis.map((li) => li.dataset.name));
  assert(json(items) === json(['Net/Linear[fc]/12']), `matches ${json(items)}`);
  await redraw(() => page.click('.graph-matches li[data-name="Net/Linear[fc]/12"]'));
  const got = await drawn();
  assert(json(got.marked) === json(['Net/Linear[fc]/12']), `marked ${json(got.marked)}`);
  expectView(got, await api(['Net', 'Net/Linear[fc]'], 'LINEAR[FC]/12'), 'revealed');
  // The op's details.
  await page.click('.g-node[data-name="Net/Linear[fc]/12"]');
  const detail = await page.textContent('.graph-detail');
  assert(detail.includes('aten::linear') && detail.includes('1×10'), `detail ${detail}`);
});

await check('a-scope-closes-from-its-header', async () => {
  await page.click('.graph-detail-close');
  await redraw(() => page.fill('.graph-search', ''));
  const box = await page.$eval('.g-cluster[data-name="Net"] > rect', (r) => { const b = r.getBoundingClientRect(); return { x: b.x, y: b.y, w: b.width, h: b.height }; });
  // A click inside the box (not on its header) leaves it open.
  await page.mouse.click(box.x + 4, box.y + box.h - 4);
  await page.waitForTimeout(300);
  assert((await drawn()).clusters.includes('Net'), 'a click inside the box closed it');
  const hit = await page.evaluate(([x, y]) => { const e = document.elementFromPoint(x, y); return `${e?.tagName}.${e?.getAttribute('class')}`; }, [box.x + 12, box.y + 6]);
  assert(hit.includes('g-cluster-head'), `the header is not where it is drawn: ${hit}`);
  await redraw(() => page.mouse.click(box.x + 12, box.y + 6)); // the header, left of any edge
  expectView(await drawn(), await api(), 'closed');
});

await check('colour-by-run-metadata', async () => {
  const options = await page.$$eval('.graph-color option', (os) => os.map((o) => o.value));
  assert(JSON.stringify(options) === JSON.stringify(['', 'time:step1', 'memory:step1']), `options ${JSON.stringify(options)}`);
  await redraw(() => page.selectOption('.graph-color', 'time:step1'));
  const want = await api([], '', 'step1');
  const got = await page.$$eval('.g-node', (gs) => gs.map((g) => ({ name: g.dataset.name, time: g.dataset.time, fill: g.querySelector('rect').style.fill })));
  for (const n of want.nodes.filter((x) => !x.open)) {
    const g = got.find((x) => x.name === n.name);
    assert(g, `${n.name} not drawn`);
    assert(String(n.time_us ?? '') === (g.time ?? ''), `${n.name}: time ${g.time}, API ${n.time_us}`);
    assert((n.time_us > 0) === Boolean(g.fill), `${n.name}: fill ${g.fill} for time ${n.time_us}`);
  }
  assert(want.nodes.some((n) => n.time_us > 0), `no profiled node: ${JSON.stringify(want.nodes)}`);
  await redraw(() => page.selectOption('.graph-color', ''));
});

await check('zoom-and-pan', async () => {
  const box = await page.$eval('.graph-svg', (s) => s.getAttribute('viewBox'));
  const r = await page.$eval('.graph-svg', (s) => { const b = s.getBoundingClientRect(); return { x: b.x + b.width / 2, y: b.y + b.height / 2 }; });
  await page.mouse.move(r.x, r.y);
  await page.mouse.wheel(0, -300);
  const zoomed = await page.$eval('.graph-svg', (s) => s.getAttribute('viewBox'));
  assert(zoomed !== box, `viewBox unchanged by the wheel: ${box}`);
  const w = (v) => Number(v.split(' ')[2]);
  assert(w(zoomed) < w(box), `zooming in widened the view: ${box} -> ${zoomed}`);
  await page.mouse.down();
  await page.mouse.move(r.x + 120, r.y + 40, { steps: 4 });
  await page.mouse.up();
  const panned = await page.$eval('.graph-svg', (s) => s.getAttribute('viewBox'));
  assert(panned !== zoomed && w(panned) === w(zoomed), `drag did not pan: ${zoomed} -> ${panned}`);
  await page.screenshot({ path: `${artifacts}/graph.png` });
});

await finish();
