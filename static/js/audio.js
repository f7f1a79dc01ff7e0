// The Audio tab: one card per shown run and tag of the `audio` plugin, with a step slider over the
// steps that run logged of the tag (by default the latest, followed as new steps arrive) and, for
// the chosen step, a player per clip (`<audio controls>`), its duration once the browser read the
// clip's header, and its waveform: the clip's bytes fetched and decoded here (16-bit PCM WAV, as
// TensorBoard's and runboard's writers encode it), drawn as the min and max of each pixel column.
// The clips come from TensorBoard's routes (`/data/plugin/audio/*`), fetched again when the
// stream says the run logged more.
//
//   state.series (plugin `audio`) ──► (run, tag) ──► cards ──► GET audio?run=…&tag=…&sample=i
//        ──► slider ──► <audio src=individualAudio?query> + GET individualAudio ──► WAV ──► canvas
//   stream `series` (run, tag) ──► that card refetches ──► slider extends (follows the latest)

import { getJson } from './api.js';
import { CardsView, LazyCard, StepSlider } from './cards.js';
import { plural } from './chart.js';
import { el } from './util.js';

/** The plugin of the series this tab draws (`runboard_sdk::event::plugin::AUDIO`). */
export const AUDIO_PLUGIN = 'audio';

const WAVE_HEIGHT = 64;
/** The most decoded clips kept, so that moving the slider back and forth does not refetch. */
const WAVE_CACHE = 64;

/** The four characters at `at`. */
const fourCC = (v, at) => String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));

/** Parses a WAV file's RIFF chunks: `{channels, sampleRate, bits, format, frames, dataOffset}`
 * for 16-bit PCM (with `truncated: {declared, present}` when its data chunk says more bytes than
 * the file holds), else `{error}` saying why it cannot be drawn. A data chunk longer than the file
 * (a writer that never patched its size) is cut to the bytes there are. */
export function parseWav(buffer) {
  const v = new DataView(buffer);
  if (buffer.byteLength < 12 || fourCC(v, 0) !== 'RIFF' || fourCC(v, 8) !== 'WAVE') return { error: 'not a WAV file' };
  let fmt = null;
  let data = null;
  for (let at = 12; at + 8 <= buffer.byteLength;) {
    const id = fourCC(v, at);
    const size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ' && size >= 16 && body + 16 <= buffer.byteLength) {
      let format = v.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first two bytes.
      if (format === 0xfffe && size >= 40 && body + 26 <= buffer.byteLength) format = v.getUint16(body + 24, true);
      fmt = { format, channels: v.getUint16(body + 2, true), sampleRate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (id === 'data') {
      // A size past the end: a writer that never patched it (0xFFFFFFFF, streaming), or a
      // file cut short, which is said.
      const present = buffer.byteLength - body;
      data = { offset: body, size: Math.min(size, present), cut: size !== 0xffffffff && size > present ? size : 0 };
      break;
    }
    at = body + size + (size & 1);
  }
  if (!fmt) return { error: 'a WAV file without a format chunk' };
  if (!data) return { error: 'a WAV file without a data chunk' };
  if (fmt.format !== 1 || fmt.bits !== 16) {
    return { error: `${fmt.format === 3 ? 'floating-point' : fmt.format === 1 ? `${fmt.bits}-bit` : `format ${fmt.format}`} WAV, not 16-bit PCM` };
  }
  if (!fmt.channels || !fmt.sampleRate) return { error: 'a WAV file with no channels or no sample rate' };
  const frames = Math.floor(data.size / (2 * fmt.channels));
  const truncated = data.cut ? { declared: data.cut, present: data.size } : null;
  return { ...fmt, frames, dataOffset: data.offset, truncated };
}

/** Per pixel column of `width`, the min and max sample (-1 to 1) over every channel of the
 * frames it covers: `[min, max]` arrays. */
export function columns(buffer, wav, width) {
  const v = new DataView(buffer);
  const min = new Float32Array(width);
  const max = new Float32Array(width);
  const { frames, channels, dataOffset } = wav;
  for (let x = 0; x < width; x++) {
    const from = Math.floor((x * frames) / width);
    const to = Math.max(from + 1, Math.floor(((x + 1) * frames) / width));
    let lo = Infinity;
    let hi = -Infinity;
    // From the previous column's last frame: with fewer frames than columns, the bars join up
    // into a line instead of scattered dots.
    for (let f = Math.max(0, from - 1); f < to && f < frames; f++) {
      for (let c = 0; c < channels; c++) {
        const s = v.getInt16(dataOffset + 2 * (f * channels + c), true) / 32768;
        if (s < lo) lo = s;
        if (s > hi) hi = s;
      }
    }
    min[x] = lo === Infinity ? 0 : lo;
    max[x] = hi === -Infinity ? 0 : hi;
  }
  return [min, max];
}

/** A duration in seconds as people read it (`0.100 s`, `2.50 s`, `1:05.3`). */
function fmtDuration(s) {
  if (!Number.isFinite(s)) return 'unknown length';
  if (s < 1) return `${s.toFixed(3)} s`;
  if (s < 60) return `${s.toFixed(2)} s`;
  return `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, '0')}`;
}

/** The URL of a clip's bytes (relative: the page is served under its base). */
const clipUrl = (query) => `data/plugin/audio/individualAudio?${query}`;

/** Decoded clips by query (the bytes of a query never change), most recent last. */
const decoded = new Map();
function decode(query) {
  let p = decoded.get(query);
  if (p) {
    decoded.delete(query);
    decoded.set(query, p);
    return p;
  }
  p = fetch(clipUrl(query), { credentials: 'same-origin' }).then(async (res) => {
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    const buffer = await res.arrayBuffer();
    return { buffer, wav: parseWav(buffer) };
  });
  p.catch(() => decoded.delete(query));
  decoded.set(query, p);
  while (decoded.size > WAVE_CACHE) decoded.delete(decoded.keys().next().value);
  return p;
}

/** One run's clips of one tag: a step slider and, at the chosen step, a player and a waveform per
 * clip. */
class AudioCard extends LazyCard {
  constructor(ctx, view, run, tag) {
    super({ kind: 'audio', run, tag });
    this.ctx = ctx;
    this.view = view;
    this.el.classList.add('au-card');
    this.swatch = el('span', { class: 'au-swatch' });
    this.head.prepend(this.swatch);
    /** Per clip index, the API's entries (ascending steps). */
    this.clips = [];
    this.steps = [];
    /** The step chosen with the slider; null follows the latest. */
    this.step = null;
    this.shape = '';
    this.stepSlider = new StepSlider('au', () => this.steps, (step) => {
      this.step = step;
      this.schedule();
    });
    this.slider = this.stepSlider.input;
    this.stepLabel = this.stepSlider.label;
    this.players = el('div', { class: 'au-players' });
    this.colour();
  }

  colour() {
    this.swatch.style.background = this.ctx.state.colorOf(this.run);
  }

  /** The run logged more clips of the tag: fetched again (now if shown, else when it shows). */
  changed() {
    this.invalidate();
  }

  /** Fetches every clip index's entries (how many: the tags route's `samples`). */
  async load() {
    const samples = await this.view.samplesOf(this.run, this.tag);
    const n = Math.max(1, samples);
    this.clips = await Promise.all(Array.from({ length: n }, (_, sample) =>
      getJson('data/plugin/audio/audio', { run: this.run, tag: this.tag, sample: String(sample) })
        .then((es) => [...es].sort((a, b) => a.step - b.step))));
  }

  draw() {
    const { state } = this.ctx;
    this.colour();
    const steps = [...new Set(this.clips.flatMap((es) => es.map((e) => e.step)))].sort((a, b) => a - b);
    this.steps = steps;
    this.el.dataset.steps = steps.join(',');
    if (!steps.length) {
      this.showSlider(null);
      this.shape = '';
      Object.assign(this.el.dataset, { clips: '0' });
      this.foot.textContent = '';
      this.body.replaceChildren(el('div', { class: 'loading', text: 'No clips logged.' }));
      return;
    }
    let at = this.step === null ? steps.length - 1 : steps.indexOf(this.step);
    if (at < 0) { at = steps.length - 1; this.step = null; }
    const step = steps[at];
    this.showSlider(at);
    const entries = this.clips.map((es, sample) => ({ sample, entry: es.find((e) => e.step === step) })).filter((c) => c.entry);
    Object.assign(this.el.dataset, { step: String(step), latest: String(this.step === null), clips: String(entries.length) });
    const shape = [step, ...entries.map((c) => c.entry.query)].join('\u0000');
    const paint = `${state.colorOf(this.run)} ${state.theme}`;
    if (shape === this.shape) {
      // The same clips: only their waveforms follow the colour and the theme (a playing clip
      // keeps playing).
      if (paint !== this.paint) { this.paint = paint; this.repaint(); }
      return;
    }
    this.shape = shape;
    this.paint = paint;
    this.foot.textContent = `${plural(entries.length, 'clip')} at step ${step}`;
    this.players.replaceChildren(...entries.map(({ sample, entry }) => this.player(sample, entry, entries.length > 1)));
    if (this.body.firstChild?.className !== 'au-step') {
      this.body.replaceChildren(el('div', { class: 'au-step' }, this.slider, this.stepLabel), this.players);
    }
  }

  /** The slider at index `at` of the steps (null: none to choose). */
  showSlider(at) {
    this.stepSlider.show(this.steps, at);
  }

  /** A clip: its player, its duration once known, and its waveform. */
  player(sample, entry, numbered) {
    const audio = el('audio', { controls: true, preload: 'metadata', src: clipUrl(entry.query) });
    const duration = el('span', { class: 'au-duration muted', text: '…' });
    const canvas = el('canvas', { class: 'au-wave', height: WAVE_HEIGHT });
    const note = el('div', { class: 'au-note muted' });
    const box = el('div', { class: 'au-clip', dataset: { sample: String(sample), step: String(entry.step) } },
      el('div', { class: 'au-controls' },
        numbered ? el('span', { class: 'au-index', text: `clip ${sample + 1}` }) : null,
        audio, duration),
      canvas, note);
    audio.addEventListener('loadedmetadata', () => {
      duration.textContent = fmtDuration(audio.duration);
      box.dataset.duration = String(audio.duration);
    });
    audio.addEventListener('error', () => { duration.textContent = 'cannot play'; });
    decode(entry.query).then(({ buffer, wav }) => {
      if (wav.error) {
        canvas.hidden = true;
        note.textContent = `No waveform: ${wav.error}.`;
        box.dataset.waveError = wav.error;
        return;
      }
      canvas.clip = { buffer, wav };
      Object.assign(canvas.dataset, { frames: String(wav.frames), sampleRate: String(wav.sampleRate), channels: String(wav.channels) });
      if (wav.truncated) {
        // Drawn as far as it goes, and said: the clip was cut short (a writer that died, a
        // file copied while written).
        const { declared, present } = wav.truncated;
        note.textContent = `Truncated WAV: ${present} of its ${declared} bytes of samples are there; drawn and played as far as they go.`;
        box.dataset.truncated = `${present}/${declared}`;
      }
      this.wave(canvas, buffer, wav);
    }).catch((e) => {
      canvas.hidden = true;
      note.textContent = `No waveform: ${e.message}.`;
      box.dataset.waveError = e.message;
    });
    return box;
  }

  /** Draws the waveform: a centre line and, per pixel column, a bar from the min to the max. */
  wave(canvas, buffer, wav) {
    const dpr = window.devicePixelRatio || 1;
    const cssWidth = Math.max(100, Math.floor(this.body.clientWidth || 300));
    const width = Math.round(cssWidth * dpr);
    const height = Math.round(WAVE_HEIGHT * dpr);
    canvas.width = width;
    canvas.height = height;
    canvas.style.width = `${cssWidth}px`;
    canvas.style.height = `${WAVE_HEIGHT}px`;
    const g = canvas.getContext('2d');
    g.clearRect(0, 0, width, height);
    const mid = height / 2;
    g.fillStyle = getComputedStyle(canvas).color || '#888';
    g.fillRect(0, Math.floor(mid), width, Math.max(1, Math.round(dpr / 2)));
    if (!wav.frames) return;
    const [min, max] = columns(buffer, wav, width);
    g.fillStyle = this.ctx.state.colorOf(this.run);
    for (let x = 0; x < width; x++) {
      const top = mid - max[x] * mid;
      const bottom = mid - min[x] * mid;
      g.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    canvas.dataset.drawnWidth = String(width);
  }

  /** Draws the waveforms again (the colour, the theme or the width changed). */
  repaint() {
    for (const canvas of this.players.querySelectorAll('canvas.au-wave')) {
      if (canvas.clip) this.wave(canvas, canvas.clip.buffer, canvas.clip.wav);
    }
  }

  resize() {
    this.repaint();
  }
}

/** The Audio pane: per run a group of [`AudioCard`]s, one per tag the run logged clips of and the
 * tag filter lets through. */
export class AudioView extends CardsView {
  constructor(ctx) {
    super();
    this.ctx = ctx;
    this.el = el('section', { class: 'pane', dataset: { pane: 'audio' } });
    this.empty = null;
    /** The tags route's answer (a promise), dropped when a series changes. */
    this.tagInfo = null;
    this.width = 0;
    const { state } = ctx;
    state.subscribe(['runs', 'series', 'selection', 'settings.runFilter', 'settings.tagFilter'], () => this.sync());
    state.subscribe(['runs', 'theme'], () => this.redraw());
    this.sync();
  }

  /** How many clips the fullest step of the run's tag holds, per the tags route. */
  async samplesOf(run, tag) {
    if (!this.tagInfo) {
      this.tagInfo = getJson('data/plugin/audio/tags');
      this.tagInfo.catch(() => { this.tagInfo = null; });
    }
    const info = await this.tagInfo;
    return info?.[run]?.[tag]?.samples ?? 1;
  }

  /** Whether any run logged audio. */
  any() {
    for (const s of this.ctx.state.series.values()) if (s.plugin === AUDIO_PLUGIN) return true;
    return false;
  }

  /** The shown runs' audio series the tag filter lets through, as [run, tag] in start order. */
  keys() {
    const { state } = this.ctx;
    const out = [];
    for (const run of state.chartRuns()) {
      const tags = [];
      for (const s of state.series.values()) {
        if (s.run === run && s.plugin === AUDIO_PLUGIN && state.tagMatches(s.tag)) tags.push(s.tag);
      }
      for (const tag of tags.sort()) out.push([run, tag]);
    }
    return out;
  }

  /** The number of tags with a card. */
  count() {
    return new Set([...this.cards.values()].map((c) => c.tag)).size;
  }

  /** Adds and removes cards to match the series, the shown runs and the tag filter. */
  sync() {
    const keys = this.keys();
    this.place(keys.map(([run, tag]) => ({
      key: `${run}\u0000${tag}`,
      group: run,
      label: this.ctx.state.displayName(run),
      make: () => new AudioCard(this.ctx, this, run, tag),
    })));
    this.renderEmpty(!keys.length);
  }

  /** With no card: how to log clips, or that the selection and filters hide them. */
  renderEmpty(none) {
    this.empty?.remove();
    this.empty = null;
    if (!none || !this.ctx.state.runs.size) return;
    this.empty = this.any()
      ? el('div', { class: 'empty au-empty' }, el('h2', { text: 'No audio to show' }),
        el('p', { text: 'No selected run has audio whose tag the tag filter lets through.' }))
      : el('div', { class: 'empty au-empty' }, el('h2', { text: 'No audio' }),
        el('p', { text: 'Audio clips are played here per step, with their waveform.' }),
        el('p', {}, 'Log one per step with ', el('code', { text: 'writer.add_audio(tag, &samples, sample_rate, step)' }),
          ' (the Rust SDK; samples from -1 to 1) or ', el('code', { text: 'writer.add_audio(tag, snd_tensor, global_step, sample_rate)' }),
          ' (torch.utils.tensorboard, tensorboardX).'));
    this.el.prepend(this.empty);
  }

  /** A series changed on the server (the stream's `series` event): its card refetches. */
  changed(run, tag) {
    const card = this.cards.get(`${run}\u0000${tag}`);
    if (!card) return;
    this.tagInfo = null;
    card.changed();
  }

  /** Every card fetches its clips again (after a reconnection). */
  reload() {
    this.tagInfo = null;
    for (const c of this.cards.values()) c.invalidate();
  }

  /** Waveforms are drawn again only when the pane's width changed. */
  resize() {
    const w = this.el.clientWidth;
    if (w === this.width) return;
    this.width = w;
    super.resize();
  }
}
