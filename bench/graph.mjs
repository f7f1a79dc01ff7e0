// The Graphs tab's browser benchmark (run by bench/graph.rs, which writes the graph and starts
// the server): navigation → the graph drawn, and a scope opened, in the page's own clock.

const { chromium } = await import(new URL('../tests/browser/node_modules/playwright-core/index.mjs', import.meta.url));

const base = process.env.RUNBOARD_URL;
const repeat = Number(process.env.REPEAT || 5);
const nodes = Number(process.env.NODES || 10000);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

const first = [];
const open = [];
for (let i = 0; i < repeat; i++) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/?tab=graphs`);
  await page.waitForSelector('.pane[data-pane=graphs][data-drawn]', { timeout: 60_000 });
  const t = await page.evaluate(() => document.querySelector('.pane[data-pane=graphs]').graphView.timings.drawn);
  first.push(t);
  // Open the first scope (Net), then one of its blocks: click → drawn.
  for (const name of ['Net', 'Net/Block0']) {
    const dt = await page.evaluate(async (name) => {
      const pane = document.querySelector('.pane[data-pane=graphs]');
      const before = pane.dataset.drawn;
      const t0 = performance.now();
      pane.querySelector(`.g-node[data-name="${name}"]`).dispatchEvent(new MouseEvent('click', { bubbles: true }));
      while (pane.dataset.drawn === before) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t0;
    }, name);
    open.push(dt);
  }
  const shown = await page.evaluate(() => document.querySelectorAll('.g-node').length);
  if (errors.length) throw new Error(errors.join('\n'));
  console.error(`load ${i + 1}: drawn at ${t.toFixed(0)} ms; scopes opened in ${open.slice(-2).map((x) => x.toFixed(0)).join(', ')} ms; ${shown} nodes drawn`);
  await context.close();
}
await browser.close();
console.log(`graph of ${nodes} ops: navigation → drawn median ${median(first).toFixed(1)} ms (goal 2000 ms) [${first.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`open a scope: click → drawn median ${median(open).toFixed(1)} ms over ${open.length}`);
