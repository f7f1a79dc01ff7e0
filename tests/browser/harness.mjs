// What the tab scripts (graph, custom_scalars, hparams, pr_curves, audio, mesh) share: the server and
// artifacts folder tests/browser.rs hands them, the stdio protocol by which they ask it to act,
// Debian's headless Chromium with one page whose console errors are collected, the `check`
// runner whose `pass <name>` lines tests/browser.rs collects, and JSON fetches from the server.

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

/** The server under test and the folder for screenshots, as tests/browser.rs sets them. */
export const base = process.env.RUNBOARD_URL;
export const artifacts = process.env.ARTIFACTS;
if (!base || !artifacts) throw new Error('RUNBOARD_URL and ARTIFACTS must be set');

/** The test's answers on stdin, read from the first `ask` on (scripts that never ask leave stdin alone). */
let replies;
/** Prints `line` for the test to act on and waits for its answer, which must be `ok`. */
export async function ask(line) {
  replies ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log(line);
  const r = await replies.next();
  if (r.done || r.value.trim() !== 'ok') throw new Error(`${line}: got ${r.value}`);
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
export const json = (x) => JSON.stringify(x);
export const sorted = (xs) => [...xs].sort();
/** Whether `a` and `b` hold the same items, in any order. */
export const same = (a, b) => json(sorted(a)) === json(sorted(b));

/** GETs `path` (relative to the server) with `params`, an array value giving the key once per item; fails unless 2xx. */
export async function fetchOk(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  const url = `${base}/${path}${q.size ? `?${q}` : ''}`;
  const r = await fetch(url);
  assert(r.ok, `GET ${url}: ${r.status}`);
  return r;
}
/** `fetchOk`'s body as JSON. */
export const get = async (path, params) => (await fetchOk(path, params)).json();

/**
 * Starts Chromium with one 1600×1000 page whose console errors and uncaught exceptions go to
 * `errors`. `check(name, fn)` runs one check: it prints `pass <name>`, or saves a screenshot
 * `<prefix>-<name>.png` (of the whole page when `fullPage`), prints `FAIL <name>: ...` to stderr
 * and exits 1. `finish()` checks that `errors` stayed empty, closes the browser, prints `done`
 * and exits 0. `args` are Chromium flags in place of `--disable-gpu` (the Mesh tab's test passes
 * SwiftShader's, for WebGL).
 */
export async function openPage(prefix, { fullPage = true, args = ['--disable-gpu'] } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', ...args, '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));

  async function check(name, fn) {
    try {
      await fn();
      console.log(`pass ${name}`);
    } catch (e) {
      await page.screenshot({ path: `${artifacts}/${prefix}-${name}.png`, fullPage }).catch(() => {});
      console.error(`FAIL ${name}: ${e.stack || e}`);
      await browser.close();
      process.exit(1);
    }
  }

  async function finish() {
    await check('no-console-errors', async () => {
      assert(errors.length === 0, errors.join('\n'));
    });
    await browser.close();
    console.log('done');
    process.exit(0);
  }

  return { browser, page, errors, check, finish };
}
