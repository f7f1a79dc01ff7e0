// The PR Curves tab in a real browser (issue 16): Debian's headless Chromium, driven with
// playwright-core, against a real runboard server started by tests/browser.rs on the committed
// fixture (tests/fixtures/logdirs/pr_curves: run `a` with `pr/cat`, `pr/dog` and `formula`, run
// `b` with `quality/pr_curves`) and a run `c` the test writes (`pr/cat` at other steps than `a`).
// What the page must draw comes from the server's TensorBoard API (`/data/plugin/pr_curves/tags`
// and `/pr_curves`), fetched here.
//
// Talks to the test over stdio: `append <step>` asks it to log one more `pr/cat` curve at
// `<step>` into run `c`'s open event file; it answers `ok`. Prints `pass <name>` per check;
// exits non-zero on the first failure.

import { artifacts, base, ask, assert, json, sorted, get, openPage } from './harness.mjs';

const { page, check, finish } = await openPage('pr-curves');

/** The run whose event file the test keeps open, and its tag. */
const LIVE_RUN = 'c';
const LIVE_TAG = 'pr/cat';
const PANE = '.pane[data-pane=pr_curves]';
const FIELDS = ['thresholds', 'precision', 'recall', 'true_positives', 'false_positives', 'true_negatives', 'false_negatives'];

/** A value of the API as a number ("NaN" and infinities come as strings). */
const num = (v) => (typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v));
/** A value as the chart draws it: finite, else a gap. */
const drawnValue = (v) => (Number.isFinite(num(v)) ? num(v) : null);

/** `{tag: [run, ...]}` per `/data/plugin/pr_curves/tags`. */
async function runsPerTag() {
  const out = {};
  for (const [run, tags] of Object.entries(await get('data/plugin/pr_curves/tags'))) {
    for (const tag of Object.keys(tags)) (out[tag] ||= []).push(run);
  }
  return out;
}

/** The API's curves of `tag` for `runs`: `{run: [entry, ...]}`. */
const curvesOf = (tag, runs) => get('data/plugin/pr_curves/pr_curves', { run: runs, tag });

/** Every step any run logged of the tag, ascending. */
const stepsOf = (curves) => [...new Set(Object.values(curves).flatMap((es) => es.map((e) => e.step)))].sort((a, b) => a - b);

/** Per run, the entry the card must draw at `step`: the run's last at or before it. */
function expectedAt(curves, step) {
  const out = new Map();
  for (const [run, entries] of Object.entries(curves)) {
    const before = entries.filter((e) => e.step <= step).sort((a, b) => a.step - b.step);
    if (before.length) out.set(run, before[before.length - 1]);
  }
  return out;
}

const cardSel = (tag) => `${PANE} .pr-card[data-tag="${tag.replace(/["\\]/g, '\\$&')}"]`;

/** The card of `tag`, scrolled into view and drawn. */
async function drawnCard(tag) {
  const card = page.locator(cardSel(tag));
  await card.scrollIntoViewIfNeeded();
  await page.waitForFunction((sel) => {
    const c = document.querySelector(sel);
    return c && c.dataset.drawn && c.dataset.curves !== undefined && c.card?.u;
  }, cardSel(tag), { timeout: 15_000 });
  return card;
}

/** What the card of `tag` shows: its steps, selected step, slider, and per curve drawn the run,
 * its step, its point count (table) and the arrays given to the chart. */
function shownBy(tag) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    const u = c.card.u;
    const slider = c.querySelector('input.pr-slider');
    return {
      steps: c.dataset.steps,
      step: Number(c.dataset.step),
      latest: c.dataset.latest,
      curves: Number(c.dataset.curves),
      slider: { min: Number(slider.min), max: Number(slider.max), value: Number(slider.value), disabled: slider.disabled },
      label: c.querySelector('.pr-step-label').textContent,
      rows: [...c.querySelectorAll('tr.pr-row')].map((r) => ({ ...r.dataset })),
      series: u.series.slice(1).map((s, k) => ({ run: s.label, recall: u.data[k + 1][0], precision: u.data[k + 1][1] })),
    };
  }, cardSel(tag));
}

/** Checks that the card of `tag` draws, at `step`, one curve per run with a curve by then, each
 * as the API's arrays; waits for it first (the page may still be fetching). */
async function expectCurves(tag, curves, step, what) {
  const want = expectedAt(curves, step);
  await drawnCard(tag);
  await page.waitForFunction(([sel, s, n]) => {
    const c = document.querySelector(sel);
    return Number(c.dataset.step) === s && Number(c.dataset.curves) === n;
  }, [cardSel(tag), step, want.size], { timeout: 10_000 }).catch(() => {});
  const got = await shownBy(tag);
  assert(got.step === step, `${what}: step ${got.step} shown, expected ${step}`);
  assert(got.curves === want.size && got.series.length === want.size && got.rows.length === want.size,
    `${what}: ${got.curves} curves (${got.series.length} in the chart, ${got.rows.length} rows), the API has ${want.size} runs with a curve by step ${step}: ${json([...want.keys()])}`);
  assert(json(sorted(got.series.map((s) => s.run))) === json(sorted(want.keys())), `${what}: runs drawn ${json(got.series.map((s) => s.run))}, API ${json([...want.keys()])}`);
  for (const s of got.series) {
    const e = want.get(s.run);
    const row = got.rows.find((r) => r.run === s.run);
    assert(row && Number(row.step) === e.step, `${what}: ${s.run}'s row says step ${row?.step}, the API's curve is step ${e.step}`);
    assert(Number(row.points) === e.recall.length && s.recall.length === e.recall.length && s.precision.length === e.precision.length,
      `${what}: ${s.run} has ${row.points} points in its row, ${s.recall.length} drawn; the API has ${e.recall.length}`);
    assert(json(s.recall) === json(e.recall.map(drawnValue)), `${what}: ${s.run}'s recall drawn ${json(s.recall)}, API ${json(e.recall)}`);
    assert(json(s.precision) === json(e.precision.map(drawnValue)), `${what}: ${s.run}'s precision drawn ${json(s.precision)}, API ${json(e.precision)}`);
  }
  return got;
}

const TAGS = await runsPerTag();
const TAG_NAMES = Object.keys(TAGS).sort();
/** A tag that several runs logged at different steps (the fixture's `a` and the test's `c`). */
const SHARED = TAG_NAMES.find((t) => TAGS[t].length >= 2 && TAGS[t].includes(LIVE_RUN));

await check('cards-per-tag', async () => {
  assert(TAG_NAMES.length >= 4 && SHARED, `the fixture is too small: ${json(TAGS)}`);
  await page.goto(`${base}/?tab=pr_curves`);
  await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .pr-card`, TAG_NAMES.length], { timeout: 15_000 }).catch(() => {});
  const got = await page.$$eval(`${PANE} .pr-card`, (cs) => cs.map((c) => ({
    tag: c.dataset.tag, group: c.closest('details.group').dataset.group, title: c.querySelector('.card-title').textContent,
  })));
  assert(json(sorted(got.map((g) => g.tag))) === json(TAG_NAMES), `cards ${json(got.map((g) => g.tag))}, the API's tags ${json(TAG_NAMES)}`);
  for (const g of got) {
    const prefix = g.tag.includes('/') && g.tag.indexOf('/') > 0 ? g.tag.slice(0, g.tag.indexOf('/')) : '';
    assert(g.group === prefix && g.title === g.tag, `${g.tag}: in group ${json(g.group)} titled ${json(g.title)}`);
  }
  const count = await page.textContent('[data-tab=pr_curves] .count');
  assert(count === String(TAG_NAMES.length), `tab count ${count}, the API has ${TAG_NAMES.length} tags`);
  assert(await page.isVisible('#run-list') && await page.isVisible('#tag-filter'), 'the run list and the tag filter are not shown');
  assert(!(await page.isVisible('#smoothing')), 'the smoothing control is shown on the PR Curves tab');
  // The run filter applies: a filter matching only `b` leaves its tags.
  const cardTags = () => page.$$eval(`${PANE} .pr-card`, (cs) => cs.map((c) => c.dataset.tag).sort());
  await page.fill('#run-filter', '^b$');
  const onlyB = TAG_NAMES.filter((t) => TAGS[t].includes('b'));
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .pr-card`, onlyB.length], { timeout: 10_000 }).catch(() => {});
  const filtered = await cardTags();
  assert(json(filtered) === json(onlyB), `with the run filter ^b$: cards ${json(filtered)}, b's tags ${json(onlyB)}`);
  await page.fill('#run-filter', '');
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .pr-card`, TAG_NAMES.length], { timeout: 10_000 }).catch(() => {});
  const all = await cardTags();
  assert(json(all) === json(TAG_NAMES), `with no run filter: cards ${json(all)}, the API's tags ${json(TAG_NAMES)}`);
});

await check('curve-per-run', async () => {
  for (const tag of TAG_NAMES) {
    const curves = await curvesOf(tag, TAGS[tag]);
    const steps = stepsOf(curves);
    const got = await expectCurves(tag, curves, steps[steps.length - 1], tag);
    assert(got.latest === 'true', `${tag}: not following the latest step`);
  }
  const shared = await shownBy(SHARED);
  assert(shared.curves >= 2, `${SHARED} draws ${shared.curves} curves`);
  // Runs whose latest curve is older than the card's step draw it (a run of several lengths too).
  assert(new Set(shared.rows.map((r) => r.step)).size >= 2, `${SHARED}: every run's curve is from the same step ${json(shared.rows)}`);
  await page.screenshot({ path: `${artifacts}/pr-curves.png`, fullPage: true });
});

await check('step-slider', async () => {
  const curves = await curvesOf(SHARED, TAGS[SHARED]);
  const steps = stepsOf(curves);
  assert(steps.length >= 3, `${SHARED} has steps ${json(steps)}`);
  const card = await drawnCard(SHARED);
  let got = await shownBy(SHARED);
  assert(got.steps === steps.join(','), `${SHARED}: the slider's steps ${got.steps}, the API's ${steps}`);
  assert(got.slider.min === 0 && got.slider.max === steps.length - 1 && got.slider.value === steps.length - 1 && !got.slider.disabled,
    `${SHARED}: slider ${json(got.slider)} for ${steps.length} steps, not at the latest`);
  assert(got.label.includes(`step ${steps[steps.length - 1]}`), `${SHARED}: label ${json(got.label)}`);
  const slider = card.locator('input.pr-slider');
  await slider.focus();
  await page.keyboard.press('Home');
  got = await expectCurves(SHARED, curves, steps[0], `${SHARED} at the first step`);
  assert(got.latest === 'false' && got.slider.value === 0 && got.label.includes(`step ${steps[0]}`), `${SHARED}: ${json(got)}`);
  await page.keyboard.press('ArrowRight');
  got = await expectCurves(SHARED, curves, steps[1], `${SHARED} at the second step`);
  await page.keyboard.press('End');
  got = await expectCurves(SHARED, curves, steps[steps.length - 1], `${SHARED} back at the latest step`);
  assert(got.latest === 'true', `${SHARED}: not following the latest step again`);
});

/** A number as the table writes it (`0.4433`, `8e-4`, `1.2k`, `NaN`, `+Inf`). */
function parseShown(text) {
  const m = /^([-+]?(?:[0-9.]+(?:e[-+]?\d+)?|Inf|NaN))([kMGT]?)$/.exec(text);
  if (!m) return undefined;
  const v = m[1].endsWith('Inf') ? (m[1].startsWith('-') ? -Infinity : Infinity) : Number(m[1]);
  return v * ({ '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]]);
}

await check('values-at-cursor', async () => {
  const curves = await curvesOf(SHARED, TAGS[SHARED]);
  const steps = stepsOf(curves);
  const want = expectedAt(curves, steps[steps.length - 1]);
  const card = await drawnCard(SHARED);
  // Before hovering: no values.
  const idle = await card.locator('tr.pr-row td[data-value]').count();
  assert(idle === 0, `${idle} values shown before hovering`);
  // A point of the first run's curve at least 4 px from its other points: the pointer goes there.
  const target = await page.evaluate((sel) => {
    const c = document.querySelector(sel);
    const u = c.card.u;
    const box = u.over.getBoundingClientRect();
    const pos = (si, i) => [u.valToPos(u.data[si][0][i], 'x'), u.valToPos(u.data[si][1][i], 'y')];
    const [xs] = u.data[1];
    const picks = [];
    for (let i = 0; i < xs.length; i++) {
      if (xs[i] === null || u.data[1][1][i] === null) continue;
      const [x, y] = pos(1, i);
      if (x < 2 || y < 2 || x > box.width - 2 || y > box.height - 2) continue;
      let gap = Infinity;
      for (let j = 0; j < xs.length; j++) {
        if (j === i || xs[j] === null || u.data[1][1][j] === null) continue;
        const [x2, y2] = pos(1, j);
        gap = Math.min(gap, Math.hypot(x - x2, y - y2));
      }
      if (gap >= 4) picks.push({ i, x, y });
    }
    const p = picks[Math.floor(picks.length / 2)];
    return p && { run: u.series[1].label, index: p.i, x: box.left + p.x, y: box.top + p.y, left: p.x, top: p.y };
  }, cardSel(SHARED));
  assert(target, `${SHARED}: no point of the first curve stands apart`);
  await page.mouse.move(target.x, target.y);
  await page.waitForFunction(([sel, run]) => document.querySelector(sel).querySelector(`tr.pr-row[data-run="${run}"]`)?.dataset.index !== undefined,
    [cardSel(SHARED), target.run], { timeout: 5_000 });
  const rows = await page.evaluate(([sel, left, top]) => {
    const c = document.querySelector(sel);
    const u = c.card.u;
    // Per curve, the index of its point nearest the pointer and that distance (pixels).
    const nearest = u.series.slice(1).map((s, k) => {
      const [xs, ys] = u.data[k + 1];
      let d = Infinity;
      for (let i = 0; i < xs.length; i++) {
        if (xs[i] === null || ys[i] === null) continue;
        d = Math.min(d, Math.hypot(u.valToPos(xs[i], 'x') - left, u.valToPos(ys[i], 'y') - top));
      }
      return { run: s.label, d, at: (i) => Math.hypot(u.valToPos(xs[i], 'x') - left, u.valToPos(ys[i], 'y') - top) };
    });
    return [...c.querySelectorAll('tr.pr-row')].map((r) => {
      const n = nearest.find((x) => x.run === r.dataset.run);
      const index = r.dataset.index === undefined ? null : Number(r.dataset.index);
      return {
        run: r.dataset.run,
        index,
        nearestD: n.d,
        indexD: index === null ? null : n.at(index),
        cells: [...r.querySelectorAll('td[data-field]')].map((td) => ({ field: td.dataset.field, value: td.dataset.value, text: td.textContent })),
      };
    });
  }, [cardSel(SHARED), target.left, target.top]);
  assert(rows.length === want.size && rows.length >= 2, `${rows.length} rows for ${want.size} runs`);
  for (const r of rows) {
    const e = want.get(r.run);
    assert(r.index !== null, `${r.run}: no threshold shown`);
    if (r.run === target.run) assert(r.index === target.index, `${r.run}: index ${r.index} shown at its point ${target.index}`);
    // The shown threshold is the run's point nearest the pointer (within a pixel's rounding).
    assert(r.indexD <= r.nearestD + 1, `${r.run}: index ${r.index} is ${r.indexD} px away, its nearest point ${r.nearestD} px`);
    assert(json(r.cells.map((c) => c.field)) === json(FIELDS), `${r.run}: columns ${json(r.cells.map((c) => c.field))}`);
    for (const c of r.cells) {
      const api = num(e[c.field][r.index]);
      const same = (a, b) => a === b || (Number.isNaN(a) && Number.isNaN(b));
      assert(same(Number(c.value), api), `${r.run} ${c.field} at ${r.index}: shown value ${c.value}, the API ${e[c.field][r.index]}`);
      const shown = parseShown(c.text);
      const close = Number.isInteger(api) ? shown === api : Math.abs(shown - api) <= 1e-3 * Math.max(1, Math.abs(api));
      assert(same(shown, api) || close, `${r.run} ${c.field} at ${r.index}: text ${json(c.text)}, the API ${e[c.field][r.index]}`);
    }
  }
  // The pointer leaves: the values go.
  await page.mouse.move(5, 5);
  await page.waitForFunction((sel) => !document.querySelector(sel).querySelector('tr.pr-row td[data-value]'), cardSel(SHARED), { timeout: 5_000 });
});

/** The API's curves of `tag` once some run has one at `step` (the server ingests an append in
 * well under a second). */
async function apiWithStep(tag, step) {
  for (let i = 0; i < 100; i++) {
    const curves = await curvesOf(tag, TAGS[tag]);
    if (stepsOf(curves).includes(step)) return curves;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the API has no ${tag} curve at step ${step} 10 s after it was appended`);
}

await check('live-update', async () => {
  const before = await curvesOf(SHARED, TAGS[SHARED]);
  const steps = stepsOf(before);
  const card = await drawnCard(SHARED);
  await page.evaluate(() => { window.__notReloaded = true; });
  // Away from the latest step, the card stays where it is while steps arrive.
  await card.locator('input.pr-slider').focus();
  await page.keyboard.press('Home');
  await expectCurves(SHARED, before, steps[0], `${SHARED} at the first step`);
  const step = steps[steps.length - 1] + 3;
  await ask(`append ${step}`);
  const after = await apiWithStep(SHARED, step);
  await page.waitForFunction(([sel, s]) => document.querySelector(sel).dataset.steps.split(',').includes(String(s)),
    [cardSel(SHARED), step], { timeout: 10_000 }).catch(() => {});
  const stepsAfter = stepsOf(after);
  assert(json(stepsAfter) === json([...steps, step]), `the API's steps ${json(stepsAfter)} after appending ${step} to ${json(steps)}`);
  let got = await expectCurves(SHARED, after, steps[0], `${SHARED} still at the first step`);
  assert(got.steps === stepsAfter.join(',') && got.slider.max === stepsAfter.length - 1 && got.slider.value === 0,
    `${SHARED}: steps ${got.steps}, slider ${json(got.slider)} after the append`);
  // At the latest step, the card follows the new one.
  await page.keyboard.press('End');
  got = await expectCurves(SHARED, after, step, `${SHARED} at the new latest step`);
  const next = step + 2;
  await ask(`append ${next}`);
  const again = await apiWithStep(SHARED, next);
  got = await expectCurves(SHARED, again, next, `${SHARED} following the latest step`);
  assert(got.latest === 'true' && got.slider.value === got.slider.max, `${SHARED}: ${json(got.slider)} not at the latest after an append`);
  assert(got.rows.find((r) => r.run === LIVE_RUN)?.step === String(next), `${LIVE_RUN}'s curve is not the new one: ${json(got.rows)}`);
  assert(await page.evaluate(() => window.__notReloaded === true), 'the page reloaded');
  await page.screenshot({ path: `${artifacts}/pr-curves.png`, fullPage: true });
});

await finish();
