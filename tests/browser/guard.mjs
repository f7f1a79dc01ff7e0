// The guard in a real browser (Debian's headless Chromium via playwright-core), against a real
// runboard server started by tests/browser.rs. Two modes (MODE):
//
// - `cross-site`: serves an attack page on ANOTHER loopback port; its script posts valid
//   batches to runboard's ingest with fetch(no-cors, text/plain) and a CORS fetch, and a form
//   auto-submits one. Checks that every request reached runboard and was refused, and that
//   runboard stored nothing. Environment: RUNBOARD_URL, BATCH_JSON (a valid JSON batch),
//   BATCH_PROTOBUF_HEX (a valid protobuf batch, hex).
// - `login`: the dashboard of a server whose reads need the token: the page goes to the login
//   form, a wrong token is refused, the right one logs in, and the dashboard then loads runs,
//   goes live over its event stream and draws an appended point (asked of tests/browser.rs with
//   `append <step> <value>`, answered `ok`). Environment: RUNBOARD_URL, TOKEN.
//
// Prints `pass <name>` per check; exits non-zero on the first failure. ARTIFACTS is a folder for
// failure screenshots; CHROMIUM the browser (default /usr/bin/chromium).

import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const base = process.env.RUNBOARD_URL;
const artifacts = process.env.ARTIFACTS;
const mode = process.env.MODE;
if (!base || !artifacts || !mode) throw new Error('RUNBOARD_URL, ARTIFACTS and MODE must be set');

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let page;

async function check(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAIL ${name}: ${e.stack || e}`);
    if (page) await page.screenshot({ path: `${artifacts}/failure-${name}.png` }).catch(() => {});
    await browser.close();
    process.exit(1);
  }
  console.log(`pass ${name}`);
}

/** The attack page: what any web site the user visits could serve. */
function attackPage(target, json, protobufHex) {
  // The JSON batch also rides in a text/plain form: `name=value` with the `=` inside a string.
  const cut = json.lastIndexOf('}');
  const formName = `${json.slice(0, cut)},"pad":"`;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return `<!doctype html><html><head><meta charset="utf-8"><title>cute cats</title></head><body>
<iframe name="sink" id="sink"></iframe>
<form id="form" method="post" action="${target}" enctype="text/plain" target="sink">
<input type="hidden" name="${esc(formName)}" value='"}'>
</form>
<script>
const target = ${JSON.stringify(target)};
const json = ${JSON.stringify(json)};
const protobuf = new Uint8Array(${JSON.stringify(protobufHex)}.match(/../g).map((h) => parseInt(h, 16)));
window.results = {};
const settle = (name, p) => p.then((r) => { window.results[name] = r.type + ' ' + r.status; },
  (e) => { window.results[name] = 'error ' + e.name; });
window.done = Promise.all([
  settle('no-cors-json', fetch(target, { method: 'POST', mode: 'no-cors', body: json, headers: { 'Content-Type': 'text/plain' } })),
  settle('no-cors-protobuf', fetch(target, { method: 'POST', mode: 'no-cors', body: protobuf, headers: { 'Content-Type': 'text/plain' } })),
  settle('cors-json', fetch(target, { method: 'POST', mode: 'cors', body: json, headers: { 'Content-Type': 'application/json' } })),
]);
document.getElementById('form').submit();
</script></body></html>`;
}

if (mode === 'cross-site') {
  const json = process.env.BATCH_JSON;
  const protobufHex = process.env.BATCH_PROTOBUF_HEX;
  assert(json && protobufHex, 'BATCH_JSON and BATCH_PROTOBUF_HEX must be set');
  const target = `${base}/api/v1/ingest`;
  const html = attackPage(target, json, protobufHex);
  const site = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  const attacker = `http://127.0.0.1:${site.address().port}`;
  assert(new URL(attacker).port !== new URL(base).port, 'another port');

  await check('attack-requests-refused', async () => {
    page = await browser.newPage();
    // What reached runboard, as the network saw it (the page itself only sees opaque answers).
    const seen = [];
    page.on('response', (r) => {
      if (r.url().startsWith(target)) seen.push(`${r.request().method()} ${r.status()}`);
    });
    const formAnswered = page.waitForResponse((r) => r.url().startsWith(target) && r.request().resourceType() === 'document', { timeout: 10_000 });
    await page.goto(attacker);
    await page.waitForFunction(() => window.done !== undefined, null, { timeout: 10_000 });
    await page.evaluate(() => window.done);
    const form = await formAnswered;
    const results = await page.evaluate(() => window.results);
    assert(form.status() === 403, `the form's POST answered ${form.status()}`);
    assert(results['no-cors-json'] === 'opaque 0' && results['no-cors-protobuf'] === 'opaque 0', JSON.stringify(results));
    assert(results['cors-json'] === 'error TypeError', `the CORS fetch was let through: ${JSON.stringify(results)}`);
    // Both no-cors POSTs, the form's POST and the CORS preflight reached runboard: all refused.
    const posts = seen.filter((s) => s.startsWith('POST'));
    assert(posts.length >= 3 && posts.every((s) => s === 'POST 403'), `responses: ${seen}`);
  });

  await check('nothing-stored', async () => {
    // Read from here (Node, no Origin): the server's own view.
    const runs = await (await fetch(`${base}/api/v1/runs`)).json();
    assert(Array.isArray(runs) && runs.length === 0, `stored: ${JSON.stringify(runs)}`);
  });
  site.close();
} else if (mode === 'login') {
  const token = process.env.TOKEN;
  assert(token, 'TOKEN must be set');
  const replies = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  async function ask(line) {
    console.log(line);
    const r = await replies.next();
    if (r.done || r.value.trim() !== 'ok') throw new Error(`${line}: got ${r.value}`);
  }
  const errors = [];
  await check('dashboard-goes-to-login', async () => {
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(base);
    assert(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
    assert(await page.locator('form input[name=token]').count() === 1, 'a token field');
    assert(await page.locator('script').count() === 0, 'the login page has no script');
  });

  await check('wrong-token-refused', async () => {
    await page.fill('input[name=token]', `${token}-wrong`);
    const [res] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert(res.status() === 401, `wrong token answered ${res.status()}`);
    assert(/wrong/.test(await page.textContent('body')), 'says the token was wrong');
    const cookies = await page.context().cookies();
    assert(cookies.length === 0, `cookies: ${JSON.stringify(cookies)}`);
  });

  await check('login-loads-runs', async () => {
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await page.fill('input[name=token]', token);
    await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
    const cookies = await page.context().cookies();
    const c = cookies.find((k) => k.name === 'runboard_token');
    assert(c && c.httpOnly && c.sameSite === 'Strict' && c.path === '/', `cookie: ${JSON.stringify(cookies)}`);
    assert(await page.evaluate(() => document.cookie) === '', 'the token is not readable by script');
    await page.waitForFunction(() => document.querySelectorAll('#run-list li').length === 2, null, { timeout: 15_000 });
  });

  await check('live-with-the-cookie', async () => {
    await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
    await page.locator('.card[data-kind=scalar][data-tag="loss"]').scrollIntoViewIfNeeded();
    await page.waitForSelector('.card[data-kind=scalar][data-tag="loss"][data-drawn="1"]', { timeout: 15_000 });
    await ask('append 1000 123.5');
    await page.waitForFunction(() => {
      const u = document.querySelector('.card[data-kind=scalar][data-tag="loss"]').card.u;
      return u && u.data[0].includes(1000);
    }, null, { timeout: 10_000 });
    assert(errors.length === 0, errors.join('\n'));
  });
} else {
  throw new Error(`unknown MODE ${mode}`);
}

await browser.close();
console.log('done');
process.exit(0);
