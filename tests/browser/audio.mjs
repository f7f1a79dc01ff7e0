// The Audio tab in a real browser (issue 16): Debian's headless Chromium, driven with
// playwright-core, against a real runboard server started by tests/browser.rs on the committed
// fixture (tests/fixtures/logdirs/audio: run `a` with `tone` and `noise`, run `b` with `speech`
// holding 2 clips a step) and a run `c` the test writes with the SDK (`voice`). What the page must
// show comes from the server's TensorBoard API (`/data/plugin/audio/tags`, `/audio` and the WAV
// bytes of `/individualAudio`), fetched here.
//
// Talks to the test over stdio: `append <step>` asks it to log one more `voice` clip at `<step>`
// into run `c`'s open event file; it answers `ok`. Prints `pass <name>` per check; exits non-zero
// on the first failure.

import { artifacts, base, ask, assert, json, sorted, get, openPage } from './harness.mjs';

const { page, check, finish } = await openPage('audio');

/** The run whose event file the test keeps open, and its tag. */
const LIVE_RUN = 'c';
const LIVE_TAG = 'voice';
const PANE = '.pane[data-pane=audio]';

/** A clip's URL as the page sets it (relative to the page's base). */
const clipSrc = (query) => `data/plugin/audio/individualAudio?${query}`;

/** The header of a WAV file: its channels, sample rate, bits per sample and frames. */
function wavHeader(buf) {
  assert(buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WAVE', 'not a RIFF/WAVE file');
  let fmt = null;
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      fmt = { format: buf.readUInt16LE(at + 8), channels: buf.readUInt16LE(at + 10), sampleRate: buf.readUInt32LE(at + 12), bits: buf.readUInt16LE(at + 22) };
    } else if (id === 'data') {
      assert(fmt, 'a data chunk before the fmt chunk');
      const bytes = Math.min(size, buf.length - at - 8);
      return { ...fmt, frames: Math.floor(bytes / (fmt.channels * fmt.bits / 8)) };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}

/** The header of the clip `query` names, from the bytes the server serves. */
async function headerOf(query) {
  const r = await fetch(`${base}/${clipSrc(query)}`);
  assert(r.ok, `individualAudio?${query}: ${r.status}`);
  return wavHeader(Buffer.from(await r.arrayBuffer()));
}

/** `/data/plugin/audio/tags`. */
const tagsOf = () => get('data/plugin/audio/tags');
/** The API's clips of `run`'s `tag` per clip index: `[[entry, ...], ...]`, ascending steps. */
async function clipsOf(run, tag, samples) {
  return Promise.all(Array.from({ length: samples }, (_, i) => get('data/plugin/audio/audio', { run, tag, sample: String(i) })
    .then((es) => es.sort((a, b) => a.step - b.step))));
}
const stepsOf = (clips) => [...new Set(clips.flatMap((es) => es.map((e) => e.step)))].sort((a, b) => a - b);

const esc = (s) => s.replace(/["\\]/g, '\\$&');
const cardSel = (run, tag) => `${PANE} .au-card[data-run="${esc(run)}"][data-tag="${esc(tag)}"]`;

/** The card of `run`/`tag`, scrolled into view and drawn. */
async function drawnCard(run, tag) {
  const card = page.locator(cardSel(run, tag));
  await card.scrollIntoViewIfNeeded();
  await page.waitForFunction((sel) => {
    const c = document.querySelector(sel);
    return c && c.dataset.drawn && c.dataset.clips !== undefined;
  }, cardSel(run, tag), { timeout: 15_000 });
  return card;
}

/** What the card shows: its steps, step, slider and per player its clip index, src, duration. */
function shownBy(run, tag) {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel);
    const slider = c.querySelector('input.au-slider');
    return {
      steps: c.dataset.steps,
      step: Number(c.dataset.step),
      latest: c.dataset.latest,
      clips: Number(c.dataset.clips),
      slider: { min: Number(slider.min), max: Number(slider.max), value: Number(slider.value), disabled: slider.disabled },
      label: c.querySelector('.au-step-label').textContent,
      players: [...c.querySelectorAll('.au-clip')].map((p) => ({
        sample: Number(p.dataset.sample), src: p.querySelector('audio').getAttribute('src'),
      })),
    };
  }, cardSel(run, tag));
}

/** Waits until the card of `run`/`tag` shows `step`, with a player per clip the API has there. */
async function expectStep(run, tag, clips, step, what) {
  const want = clips.map((es, sample) => ({ sample, entry: es.find((e) => e.step === step) })).filter((c) => c.entry);
  await drawnCard(run, tag);
  await page.waitForFunction(([sel, s, srcs]) => {
    const c = document.querySelector(sel);
    const got = [...c.querySelectorAll('.au-clip audio')].map((a) => a.getAttribute('src'));
    return Number(c.dataset.step) === s && JSON.stringify(got) === JSON.stringify(srcs);
  }, [cardSel(run, tag), step, want.map((w) => clipSrc(w.entry.query))], { timeout: 10_000 }).catch(() => {});
  const got = await shownBy(run, tag);
  assert(got.step === step, `${what}: step ${got.step} shown, expected ${step}`);
  assert(got.clips === want.length && got.players.length === want.length,
    `${what}: ${got.players.length} players, the API has ${want.length} clips at step ${step}`);
  for (const { sample, entry } of want) {
    const p = got.players.find((x) => x.sample === sample);
    assert(p && p.src === clipSrc(entry.query), `${what}: clip ${sample} plays ${p?.src}, the API's is ${clipSrc(entry.query)}`);
  }
  return got;
}

const TAGS = await tagsOf();
/** `[run, tag, samples]` per series the API lists. */
const SERIES = Object.entries(TAGS).flatMap(([run, tags]) => Object.entries(tags).map(([tag, t]) => [run, tag, t.samples]));
const key = (run, tag) => `${run}/${tag}`;
const cardKeys = () => page.$$eval(`${PANE} .au-card`, (cs) => cs.map((c) => `${c.dataset.run}/${c.dataset.tag}`).sort());

await check('cards-per-run-and-tag', async () => {
  const want = sorted(SERIES.map(([run, tag]) => key(run, tag)));
  const tagCount = new Set(SERIES.map(([, tag]) => tag)).size;
  assert(want.length >= 4 && SERIES.some(([run]) => run === LIVE_RUN), `the fixture is too small: ${json(TAGS)}`);
  await page.goto(`${base}/?tab=audio`);
  await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .au-card`, want.length], { timeout: 15_000 }).catch(() => {});
  const got = await cardKeys();
  assert(json(got) === json(want), `cards ${json(got)}, the API's series ${json(want)}`);
  const heads = await page.$$eval(`${PANE} .au-card`, (cs) => cs.map((c) => ({
    run: c.dataset.run, title: c.querySelector('.card-title').textContent, swatch: c.querySelector('.au-swatch')?.style.background,
  })));
  for (const h of heads) assert(h.swatch && h.title.startsWith(`${h.run} / `), `card ${json(h)}: no run colour or run in its title`);
  const count = await page.textContent('[data-tab=audio] .count');
  assert(count === String(tagCount), `tab count ${count}, the API has ${tagCount} tags`);
  assert(await page.isVisible('#run-list') && await page.isVisible('#tag-filter'), 'the run list and the tag filter are not shown');
  assert(!(await page.isVisible('#smoothing')), 'the smoothing control is shown on the Audio tab');
  // The run filter applies: a filter matching only `b` leaves its cards.
  await page.fill('#run-filter', '^b$');
  const onlyB = want.filter((k) => k.startsWith('b/'));
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .au-card`, onlyB.length], { timeout: 10_000 }).catch(() => {});
  const filtered = await cardKeys();
  assert(json(filtered) === json(onlyB), `with the run filter ^b$: cards ${json(filtered)}, b's series ${json(onlyB)}`);
  await page.fill('#run-filter', '');
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .au-card`, want.length], { timeout: 10_000 }).catch(() => {});
  assert(json(await cardKeys()) === json(want), 'the cards did not come back without the run filter');
  // Deselecting a run removes its cards.
  await page.goto(`${base}/?tab=audio&run=a`);
  const onlyA = want.filter((k) => k.startsWith('a/'));
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .au-card`, onlyA.length], { timeout: 15_000 }).catch(() => {});
  assert(json(await cardKeys()) === json(onlyA), `with only run a selected: cards ${json(await cardKeys())}`);
  await page.goto(`${base}/?tab=audio`);
  await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n,
    [`${PANE} .au-card`, want.length], { timeout: 15_000 });
});

/** Every player of every card, at the latest step, with the API's clip and its WAV header. */
async function latestPlayers() {
  const out = [];
  for (const [run, tag, samples] of SERIES) {
    const clips = await clipsOf(run, tag, samples);
    const steps = stepsOf(clips);
    await expectStep(run, tag, clips, steps[steps.length - 1], key(run, tag));
    for (const es of clips) {
      const e = es.find((x) => x.step === steps[steps.length - 1]);
      if (e) out.push({ run, tag, sample: clips.indexOf(es), query: e.query, header: await headerOf(e.query) });
    }
  }
  return out;
}

const playerSel = (p) => `${cardSel(p.run, p.tag)} .au-clip[data-sample="${p.sample}"]`;

await check('audio-duration', async () => {
  for (const p of await latestPlayers()) {
    const want = p.header.frames / p.header.sampleRate;
    await page.locator(playerSel(p)).scrollIntoViewIfNeeded();
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.duration !== undefined, playerSel(p), { timeout: 10_000 });
    const got = await page.$eval(playerSel(p), (b) => ({
      duration: b.querySelector('audio').duration, data: Number(b.dataset.duration), text: b.querySelector('.au-duration').textContent,
    }));
    assert(Math.abs(got.duration - want) <= 1e-3 && Math.abs(got.data - want) <= 1e-3,
      `${key(p.run, p.tag)} clip ${p.sample}: duration ${got.duration} (${got.text}), the WAV holds ${p.header.frames} frames at ${p.header.sampleRate} Hz = ${want} s`);
    assert(/\d/.test(got.text) && /s$|:/.test(got.text), `${key(p.run, p.tag)}: duration text ${json(got.text)}`);
  }
});

await check('waveform-drawn', async () => {
  for (const p of await latestPlayers()) {
    assert(p.header.format === 1 && p.header.bits === 16, `${key(p.run, p.tag)}: the server's WAV is not PCM16: ${json(p.header)}`);
    const sel = `${playerSel(p)} canvas.au-wave`;
    await page.locator(playerSel(p)).scrollIntoViewIfNeeded();
    await page.waitForFunction((s) => document.querySelector(s)?.dataset.drawnWidth !== undefined, sel, { timeout: 10_000 });
    const got = await page.$eval(sel, (c) => {
      const { data, width, height } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      // Pixels drawn away from the centre line (the waveform, not the axis).
      let off = 0;
      const mid = Math.floor(height / 2);
      for (let y = 0; y < height; y++) {
        if (Math.abs(y - mid) <= 2) continue;
        for (let x = 0; x < width; x++) if (data[4 * (y * width + x) + 3] > 0) off++;
      }
      return { frames: Number(c.dataset.frames), rate: Number(c.dataset.sampleRate), width, height, off, hidden: c.hidden };
    });
    assert(!got.hidden && got.frames === p.header.frames && got.rate === p.header.sampleRate,
      `${key(p.run, p.tag)} clip ${p.sample}: canvas says ${got.frames} frames at ${got.rate} Hz, the WAV ${p.header.frames} at ${p.header.sampleRate}`);
    assert(got.off >= got.width, `${key(p.run, p.tag)} clip ${p.sample}: only ${got.off} waveform pixels on a ${got.width}×${got.height} canvas`);
  }
});

await check('step-slider', async () => {
  const clips = await clipsOf(LIVE_RUN, LIVE_TAG, TAGS[LIVE_RUN][LIVE_TAG].samples);
  const steps = stepsOf(clips);
  assert(steps.length >= 2, `${LIVE_TAG} has steps ${json(steps)}`);
  const card = await drawnCard(LIVE_RUN, LIVE_TAG);
  let got = await expectStep(LIVE_RUN, LIVE_TAG, clips, steps[steps.length - 1], 'at the latest step');
  assert(got.steps === steps.join(','), `the slider's steps ${got.steps}, the API's ${steps}`);
  assert(got.latest === 'true' && got.slider.min === 0 && got.slider.max === steps.length - 1 && got.slider.value === steps.length - 1 && !got.slider.disabled,
    `slider ${json(got.slider)} for ${steps.length} steps, not at the latest`);
  assert(got.label.includes(`step ${steps[steps.length - 1]}`), `label ${json(got.label)}`);
  await card.locator('input.au-slider').focus();
  await page.keyboard.press('Home');
  got = await expectStep(LIVE_RUN, LIVE_TAG, clips, steps[0], 'at the first step');
  assert(got.latest === 'false' && got.slider.value === 0 && got.label.includes(`step ${steps[0]}`), `at the first step: ${json(got)}`);
  const first = await headerOf(clips[0][0].query);
  await page.waitForFunction(([sel, f]) => Number(document.querySelector(sel)?.dataset.frames) === f,
    [`${cardSel(LIVE_RUN, LIVE_TAG)} canvas.au-wave`, first.frames], { timeout: 10_000 });
  await page.keyboard.press('End');
  got = await expectStep(LIVE_RUN, LIVE_TAG, clips, steps[steps.length - 1], 'back at the latest step');
  assert(got.latest === 'true', 'not following the latest step again');
});

await check('clips-per-step', async () => {
  const multi = SERIES.filter(([, , samples]) => samples > 1);
  assert(multi.some(([run, tag]) => run === 'b' && tag === 'speech'), `no series with several clips a step: ${json(SERIES)}`);
  for (const [run, tag, samples] of multi) {
    const clips = await clipsOf(run, tag, samples);
    const steps = stepsOf(clips);
    const got = await expectStep(run, tag, clips, steps[steps.length - 1], key(run, tag));
    assert(got.players.length === samples && got.players.length >= 2, `${key(run, tag)}: ${got.players.length} players, the API's samples ${samples}`);
    const labels = await page.$$eval(`${cardSel(run, tag)} .au-index`, (xs) => xs.map((x) => x.textContent));
    assert(labels.length === samples, `${key(run, tag)}: clip labels ${json(labels)}`);
  }
});

/** The API's clips of the live tag once one is at `step` (the server ingests an append in well
 * under a second). */
async function apiWithStep(step) {
  for (let i = 0; i < 100; i++) {
    const samples = (await tagsOf())[LIVE_RUN][LIVE_TAG].samples;
    const clips = await clipsOf(LIVE_RUN, LIVE_TAG, samples);
    if (stepsOf(clips).includes(step)) return clips;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the API has no ${LIVE_TAG} clip at step ${step} 10 s after it was appended`);
}

// A clip cut short (a writer that died mid-file): its card says so and draws what is there; the
// other clips are untouched. The server serves clips as logged, so the cut is made on the way.
await check('truncated-clip-said', async () => {
  const [run, tag, samples] = SERIES.find(([r]) => r !== LIVE_RUN);
  const clips = await clipsOf(run, tag, samples);
  const steps = stepsOf(clips);
  const entry = clips[0].find((e) => e.step === steps[steps.length - 1]);
  const header = await headerOf(entry.query);
  const full = await (await fetch(`${base}/${clipSrc(entry.query)}`)).arrayBuffer();
  const keep = full.byteLength - Math.floor(header.frames / 2) * 2 * header.channels;
  const url = (u) => u.href.endsWith(clipSrc(entry.query));
  await page.route(url, (r) => r.fulfill({ status: 200, contentType: 'audio/wav', body: Buffer.from(full.slice(0, keep)) }));
  await page.goto(`${base}/?tab=audio`);
  await page.waitForSelector('#live[data-state=live]', { timeout: 15_000 });
  const sel = `${cardSel(run, tag)} .au-clip[data-sample="0"]`;
  await page.locator(sel).scrollIntoViewIfNeeded();
  await page.waitForFunction((s) => document.querySelector(s)?.dataset.truncated !== undefined, sel, { timeout: 10_000 }).catch(() => {});
  const got = await page.$eval(sel, (b) => ({
    truncated: b.dataset.truncated, note: b.querySelector('.au-note').textContent, frames: Number(b.querySelector('canvas.au-wave').dataset.frames),
  }));
  const present = keep - (full.byteLength - header.frames * 2 * header.channels);
  assert(got.truncated === `${present}/${header.frames * 2 * header.channels}`, `truncated ${got.truncated}, expected ${present} of ${header.frames * 2 * header.channels} sample bytes`);
  assert(/Truncated WAV/.test(got.note), `the note says ${json(got.note)}`);
  assert(got.frames === Math.floor(present / (2 * header.channels)), `${got.frames} frames drawn of the ${present} bytes there`);
  // Every other clip of the page is drawn as before.
  const others = await page.$$eval('.au-clip[data-truncated]', (bs) => bs.length);
  assert(others === 1, `${others} clips say they are truncated`);
  await page.unroute(url);
});

await check('live-update', async () => {
  const before = await clipsOf(LIVE_RUN, LIVE_TAG, TAGS[LIVE_RUN][LIVE_TAG].samples);
  const steps = stepsOf(before);
  const card = await drawnCard(LIVE_RUN, LIVE_TAG);
  await page.evaluate(() => { window.__notReloaded = true; });
  // Away from the latest step, the card stays where it is while steps arrive.
  await card.locator('input.au-slider').focus();
  await page.keyboard.press('Home');
  await expectStep(LIVE_RUN, LIVE_TAG, before, steps[0], 'at the first step');
  const step = steps[steps.length - 1] + 3;
  await ask(`append ${step}`);
  const after = await apiWithStep(step);
  await page.waitForFunction(([sel, s]) => document.querySelector(sel).dataset.steps.split(',').includes(String(s)),
    [cardSel(LIVE_RUN, LIVE_TAG), step], { timeout: 10_000 }).catch(() => {});
  const stepsAfter = stepsOf(after);
  assert(json(stepsAfter) === json([...steps, step]), `the API's steps ${json(stepsAfter)} after appending ${step} to ${json(steps)}`);
  let got = await expectStep(LIVE_RUN, LIVE_TAG, after, steps[0], 'still at the first step');
  assert(got.steps === stepsAfter.join(',') && got.slider.max === stepsAfter.length - 1 && got.slider.value === 0,
    `steps ${got.steps}, slider ${json(got.slider)} after the append`);
  // At the latest step, the card follows the new one.
  await page.keyboard.press('End');
  await expectStep(LIVE_RUN, LIVE_TAG, after, step, 'at the new latest step');
  const next = step + 2;
  await ask(`append ${next}`);
  const again = await apiWithStep(next);
  got = await expectStep(LIVE_RUN, LIVE_TAG, again, next, 'following the latest step');
  assert(got.latest === 'true' && got.slider.value === got.slider.max, `${json(got.slider)} not at the latest after an append`);
  const sel = `${cardSel(LIVE_RUN, LIVE_TAG)} .au-clip`;
  await page.waitForFunction((s) => document.querySelector(s)?.dataset.duration !== undefined, sel, { timeout: 10_000 });
  assert(await page.evaluate(() => window.__notReloaded === true), 'the page reloaded');
  await page.screenshot({ path: `${artifacts}/audio.png`, fullPage: true });
});

await finish();
