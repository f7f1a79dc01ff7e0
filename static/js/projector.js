// The Projector tab (TensorBoard's embedding projector), made to draw a million points: one
// embedding at a time, picked from every embedding of every run, its rows drawn as a scatter of
// their PCA coordinates on the components chosen for X, Y (and Z). 2D is drawn by writing pixels
// into an ImageData, one loop over the rows (a million points in tens of milliseconds; drag to
// pan, wheel to zoom, double-click to fit); 3D with three.js `Points` (drag to turn, right-drag
// to move, wheel to zoom). Points are coloured by a metadata column (a gradient for a numeric
// column, else a palette for up to 20 distinct values), labelled by another (the hover tooltip,
// the selection), and searched (a substring or a regex over the label column: matches keep
// their colour, the others fade, and are counted). Clicking a point selects it: its label,
// metadata and sprite thumbnail are shown, and its nearest neighbours, searched by the server
// over the full tensor, listed (label, distance) and ringed on the plot.
//
// The PCA is computed by the server when it reads the files (`src/projector.rs`), never here:
// the page fetches only the chosen components as float32 (12 MB for a million points in 3D,
// where the tensor itself may be gigabytes), and asks the server for neighbours. The t-SNE
// view asks the server too (`/api/v1/projector/tsne`: computed there once, on a sample of up to
// 10,000 points, with every core), says its progress while it runs, and draws the sample in 2D.
//
// Drawing happens only on a change (data, colours, search, selection, view, size): no animation
// loop. The plot is a 2D canvas (pixels in 2D, the picture of three.js' offscreen renderer in
// 3D) under an overlay canvas that holds the rings and takes the pointer. Picking uses a buffer
// the size of the canvas holding, per pixel, the point drawn there: filled while drawing in 2D,
// and in 3D by projecting every point with the camera (nearest wins) the first time the pointer
// asks after the camera moved. A pick looks at the pixels within a few of the pointer.
//
//   GET /api/v1/projector ──► picker (run / name, rows × dims, errors) ──► the chosen embedding
//     ──► GET /api/v1/projector/pca?components=x,y[,z] ──► Float32Array ──► ImageData | Points
//     ──► (t-SNE) GET /api/v1/projector/tsne, polled while 202 ──► sample's x, y ──► ImageData
//     ──► GET /data/plugin/projector/metadata (TSV) ──► columns ──► colours, labels, search
//     ──► GET /data/plugin/projector/info + sprite_image ──► thumbnails cut with a canvas
//   click ──► pick ──► GET /api/v1/projector/neighbors ──► list + rings
//   stream `projector` (run) ──► list refetched, the run's cached files dropped, shown one reloaded
//
// When an embedding's scatter has been drawn, the plot (`.pj-plot`) carries `data-run`,
// `data-name`, `data-drawn-points` (points with finite coordinates) and `data-draw-ms` (from
// asking for the coordinates to the draw): benchmarks and tests wait on them.

import { getJson } from './api.js';
import { plural } from './chart.js';
import { cssVar, el, num, regex } from './util.js';
import { loadThree } from './three.js';

/** Distinct values a column may have to be coloured by category. */
const MAX_CATEGORIES = 20;
/** Tableau 20: the categories' colours. */
const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#a0cbe8', '#ffbe7d', '#ff9d9a', '#86bcb6', '#8cd17d', '#f1ce63', '#d4a6c8', '#fabfd2', '#d7b5a6', '#79706e',
];
/** Viridis: a numeric column's gradient, low to high. */
const GRADIENT = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];
/** The neighbours' ring colour. */
const NEIGHBOR_COLOR = '#f97316';
/** How many neighbours are asked for. */
const NEIGHBORS = 10;
/** The pick radius around the pointer, in CSS pixels. */
const PICK_RADIUS = 8;
/** Coordinate arrays kept (per embedding and components), and parsed metadata and sprites. */
const COORD_CACHE = 4;
const FILE_CACHE = 3;

/** The tab's renderer (made on first use), drawing into a canvas that is never shown; the plot
 * copies its picture. Colours are passed through as they are (no sRGB encoding), so a point
 * shows the palette's colour exactly. */
let renderer = null;
function sharedRenderer(THREE, onRestored) {
  if (!renderer) {
    renderer = new THREE.WebGLRenderer({ antialias: false, alpha: true });
    renderer.setClearColor(0x000000, 0);
    renderer.outputColorSpace = THREE.LinearSRGBColorSpace;
    renderer.domElement.addEventListener('webglcontextrestored', onRestored);
  }
  return renderer;
}

/** Promises by key (`run\0name\0what`), the most recent last, at most `size` of them. */
class Cache {
  constructor(size) {
    this.size = size;
    this.map = new Map();
  }

  /** The promise for `key`, made with `make()` when absent; a failure is not kept. */
  get(key, make) {
    let p = this.map.get(key);
    if (p) {
      this.map.delete(key);
      this.map.set(key, p);
      return p;
    }
    p = make();
    p.catch(() => { if (this.map.get(key) === p) this.map.delete(key); });
    this.map.set(key, p);
    while (this.map.size > this.size) this.map.delete(this.map.keys().next().value);
    return p;
  }

  /** Drops `run`'s entries (its files changed). */
  forget(run) {
    for (const key of [...this.map.keys()]) if (key.startsWith(`${run}\u0000`)) this.map.delete(key);
  }

  clear() {
    this.map.clear();
  }
}
const coordCache = new Cache(COORD_CACHE);
const fileCache = new Cache(FILE_CACHE);

/** The bytes, text or blob at `url` (relative: the page is served under its base). */
async function fetchOk(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { message = (await res.json()).message || message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return res;
}
const query = (params) => new URLSearchParams(params).toString();

/** `#rrggbb` as `[r, g, b]`. */
function rgbOf(hex) {
  const v = parseInt(hex.replace(/^#/, '').slice(0, 6), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}
/** `[r, g, b]` as an opaque ImageData pixel read through a Uint32Array (little-endian RGBA). */
const packed = ([r, g, b]) => ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
const hexOf = (c) => `#${[c & 255, (c >> 8) & 255, (c >> 16) & 255].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
/** `a` moved `t` of the way to `b` (packed pixels). */
function mix(a, b, t) {
  const ch = (s) => Math.round(((a >> s) & 255) * (1 - t) + ((b >> s) & 255) * t);
  return packed([ch(0), ch(8), ch(16)]);
}
/** The gradient as 256 packed colours. */
const RAMP = Uint32Array.from({ length: 256 }, (_, i) => {
  const at = (i / 255) * (GRADIENT.length - 1);
  const k = Math.min(GRADIENT.length - 2, Math.floor(at));
  const lo = packed(rgbOf(GRADIENT[k]));
  return mix(lo, packed(rgbOf(GRADIENT[k + 1])), at - k);
});

/** A canonical tensor name (`name:0` when it has no `:`), as TensorBoard matches names. */
const canonical = (name) => (name.includes(':') ? name : `${name}:0`);

/**
 * A metadata TSV as TensorBoard reads it: when the first line has a tab it names the columns,
 * else the file is one unnamed column `label`. Returns `[{name, values, kind, categories,
 * counts, min, max}]` with one value a row of the tensor (`''` past the file's end): `kind` is
 * `number` (every value numeric, from `min` to `max`), else `category` (up to MAX_CATEGORIES
 * distinct values, `categories` in order of appearance and their `counts`), else `text` (as
 * TensorBoard colours them: a gradient, a palette, not at all).
 */
function parseMetadata(text, rows) {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = lines.length > 0 && lines[0].includes('\t');
  const names = header ? lines.shift().replace(/\r$/, '').split('\t') : ['label'];
  const columns = names.map((name) => ({ name, values: new Array(rows).fill('') }));
  for (let r = 0; r < Math.min(rows, lines.length); r++) {
    const line = lines[r].replace(/\r$/, '');
    const cells = header ? line.split('\t') : [line];
    for (let c = 0; c < columns.length; c++) columns[c].values[r] = cells[c] ?? '';
  }
  for (const column of columns) Object.assign(column, describe(column.values));
  return columns;
}

/** A column's kind (see `parseMetadata`). */
function describe(values) {
  let index = new Map();
  let numeric = true;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (index && !index.has(v)) index = index.size < MAX_CATEGORIES ? index.set(v, index.size) : null;
    if (numeric) {
      const x = v.trim() === '' ? NaN : Number(v);
      if (Number.isFinite(x)) { min = Math.min(min, x); max = Math.max(max, x); } else numeric = false;
    }
  }
  if (!values.length) return { kind: 'text' };
  if (numeric) return { kind: 'number', min, max };
  if (!index) return { kind: 'text' };
  const counts = new Array(index.size).fill(0);
  for (const v of values) counts[index.get(v)]++;
  return { kind: 'category', categories: [...index.keys()], counts };
}

/** The scatter: a 2D canvas (pixels, or the 3D renderer's picture), an overlay with the rings
 * and the pointer, and a tooltip. `onHover(i, x, y)` and `onClick(i)` get the point under the
 * pointer (-1 for none) in CSS pixels of the plot. */
class Scatter {
  constructor({ onHover, onClick }) {
    this.onHover = onHover;
    this.onClick = onClick;
    this.canvas = el('canvas', { class: 'pj-canvas' });
    this.overlay = el('canvas', { class: 'pj-overlay' });
    this.tip = el('div', { class: 'pj-tip', hidden: true });
    this.el = el('div', { class: 'pj-plot' }, this.canvas, this.overlay, this.tip);
    this.g = this.canvas.getContext('2d');
    /** The coordinates, `stride` a row (1 to 3), and the number of rows. */
    this.coords = null;
    this.stride = 2;
    this.n = 0;
    this.mode = '2d';
    /** Packed colours, one a point; `mask` (1 for a search match) draws matches last. */
    this.colors = null;
    this.mask = null;
    /** The selected point (-1: none), its neighbours' indices, the hovered point. */
    this.selected = -1;
    this.neighbors = [];
    this.hovered = -1;
    /** What the drawing is on: device pixels, and CSS pixels a device pixel. */
    this.width = 0;
    this.height = 0;
    this.dpr = 1;
    /** Finite coordinates' bounds: `{lo, hi}` per axis. */
    this.bounds = null;
    /** The 2D view: the data point at the centre and device pixels a unit; `fitted` while the
     * pointer has not moved it (a resize fits it again). */
    this.view = null;
    this.fitted = true;
    /** The 2D pixels and, per pixel, the point drawn there (-1: none); `depth` in 3D. */
    this.image = null;
    this.pixels = null;
    this.owner = null;
    this.depth = null;
    this.ownerStale = true;
    /** Points with finite coordinates. */
    this.drawn = 0;
    /** `{run, name, t0}` of an embedding whose first draw is still to be stamped on the element. */
    this.stamp = null;
    /** three.js objects in 3D: `{THREE, OrbitControls}`, the scene, camera, controls and points. */
    this.three = null;
    this.scene = null;
    this.camera = null;
    this.controls = null;
    this.points = null;
    this.frame = 0;
    this.press = null;
    this.hoverFrame = 0;
    this.bindPointer();
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  bindPointer() {
    const o = this.overlay;
    o.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.press = { x: e.offsetX, y: e.offsetY, moved: false, view: this.view && { ...this.view } };
      if (this.mode === '2d') o.setPointerCapture(e.pointerId);
      this.hover(-1, 0, 0);
    });
    o.addEventListener('pointermove', (e) => {
      const p = this.press;
      if (p && e.buttons & 1) {
        const dx = e.offsetX - p.x;
        const dy = e.offsetY - p.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) p.moved = true;
        if (this.mode === '2d' && p.moved && p.view) {
          this.view.x = p.view.x - (dx * this.dpr) / p.view.scale;
          this.view.y = p.view.y + (dy * this.dpr) / p.view.scale;
          this.fitted = false;
          this.schedule();
        }
        return;
      }
      if (e.buttons) return;
      const [x, y] = [e.offsetX, e.offsetY];
      cancelAnimationFrame(this.hoverFrame);
      this.hoverFrame = requestAnimationFrame(() => this.hover(this.pick(x, y), x, y));
    });
    o.addEventListener('pointerup', (e) => {
      const p = this.press;
      this.press = null;
      if (p && !p.moved) this.onClick(this.pick(e.offsetX, e.offsetY));
    });
    o.addEventListener('pointerleave', () => {
      cancelAnimationFrame(this.hoverFrame);
      if (!this.press) this.hover(-1, 0, 0);
    });
    o.addEventListener('wheel', (e) => {
      if (this.mode !== '2d' || !this.view) return;
      e.preventDefault();
      const v = this.view;
      const px = e.offsetX * this.dpr - this.width / 2;
      const py = e.offsetY * this.dpr - this.height / 2;
      // The data point under the pointer stays there.
      const [x, y] = [v.x + px / v.scale, v.y - py / v.scale];
      v.scale *= Math.exp(-e.deltaY * 0.0015);
      v.x = x - px / v.scale;
      v.y = y + py / v.scale;
      this.fitted = false;
      this.schedule();
    }, { passive: false });
    o.addEventListener('dblclick', () => {
      this.fit();
      this.schedule();
    });
  }

  /** Point `i` (-1: none) is under the pointer at (`x`, `y`). */
  hover(i, x, y) {
    if (i === this.hovered && i < 0) return;
    this.hovered = i;
    this.onHover(i, x, y);
    this.drawOverlay();
  }

  /** Draws `coords` (`stride` values a row, `n` rows) in `mode` (`2d` or `3d`, with `lib`:
   * three.js); `stamp` `{run, name, t0}` is written on the element after the first draw. */
  show(coords, stride, n, mode, lib, stamp) {
    this.coords = coords;
    this.stride = stride;
    this.n = n;
    this.mode = mode;
    this.stamp = stamp;
    this.colors = null;
    this.mask = null;
    this.hovered = -1;
    this.tip.hidden = true;
    this.bounds = this.measure();
    this.drawn = this.bounds.finite;
    for (const k of ['drawnPoints', 'drawMs']) delete this.el.dataset[k];
    this.el.dataset.mode = mode;
    this.disposePoints();
    if (mode === '3d') {
      this.three = lib;
      this.build3d();
    } else {
      this.controls?.dispose();
      this.controls = null;
    }
    this.fit();
  }

  /** Nothing drawn (an embedding that could not be read). */
  clear() {
    this.coords = null;
    this.n = 0;
    this.stamp = null;
    this.disposePoints();
    this.g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.overlay.getContext('2d').clearRect(0, 0, this.overlay.width, this.overlay.height);
    for (const k of ['drawnPoints', 'drawMs', 'run', 'name', 'mode']) delete this.el.dataset[k];
  }

  /** The finite rows' bounds per axis and how many rows are finite. */
  measure() {
    const { coords: c, stride: s, n } = this;
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    let finite = 0;
    for (let i = 0; i < n; i++) {
      let ok = true;
      for (let k = 0; k < s; k++) if (!Number.isFinite(c[i * s + k])) ok = false;
      if (!ok) continue;
      finite++;
      for (let k = 0; k < s; k++) {
        const v = c[i * s + k];
        if (v < lo[k]) lo[k] = v;
        if (v > hi[k]) hi[k] = v;
      }
    }
    for (let k = 0; k < 3; k++) if (k >= s || !finite) { lo[k] = 0; hi[k] = 0; }
    return { lo, hi, finite };
  }

  /** Shows every point: the 2D view fits the bounds (the same scale on both axes), the 3D
   * camera looks at their bounding sphere. */
  fit() {
    if (!this.bounds) return;
    const { lo, hi } = this.bounds;
    if (this.mode === '3d') {
      this.fit3d();
      return;
    }
    this.fitted = true;
    if (!this.width) { this.view = null; return; }
    const margin = 16 * this.dpr;
    const spanX = hi[0] - lo[0] || 1;
    const spanY = hi[1] - lo[1] || 1;
    const scale = Math.min((this.width - 2 * margin) / spanX, (this.height - 2 * margin) / spanY);
    this.view = { x: (lo[0] + hi[0]) / 2, y: (lo[1] + hi[1]) / 2, scale: Math.max(scale, 1e-12) };
  }

  /** New colours (and the search's `mask`, or null): drawn on the next frame. */
  setColors(colors, mask) {
    this.colors = colors;
    this.mask = mask;
    if (this.points) this.colour3d();
    this.schedule();
  }

  /** The selected point and its neighbours: only the overlay is drawn again. */
  setHighlight(selected, neighbors) {
    this.selected = selected;
    this.neighbors = neighbors;
    this.drawOverlay();
  }

  /** A point's size in device pixels: larger when there are few. */
  pointSize() {
    const base = this.n <= 2000 ? 5 : this.n <= 20_000 ? 3 : this.n <= 200_000 ? 2 : 1;
    return Math.max(1, Math.round(base * this.dpr));
  }

  /** Draws on the next animation frame (many changes, one draw). */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Draws now, at the plot's size; nothing while it has none (its tab hidden). */
  draw() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.floor(this.el.clientWidth * dpr);
    const h = Math.floor(this.el.clientHeight * dpr);
    if (!w || !h || !this.coords || !this.colors) return;
    if (w !== this.width || h !== this.height || dpr !== this.dpr) {
      Object.assign(this, { width: w, height: h, dpr });
      for (const c of [this.canvas, this.overlay]) Object.assign(c, { width: w, height: h });
      this.image = null;
      if (this.fitted && this.mode === '2d') this.view = null;
    }
    if (this.mode === '2d') {
      if (!this.view) this.fit();
      this.draw2d();
    } else {
      this.render3d();
    }
    this.drawOverlay();
    if (this.stamp) {
      const { run, name, t0 } = this.stamp;
      this.stamp = null;
      Object.assign(this.el.dataset, {
        run, name, drawnPoints: String(this.drawn), drawMs: String(Math.round(performance.now() - t0)),
      });
    }
  }

  /** Writes every point as a square of its colour into the canvas' pixels (search matches
   * last, on top), noting per pixel the point whose centre is there. */
  draw2d() {
    const { width: W, height: H, coords: c, stride: s, n, colors, mask } = this;
    if (!this.image) {
      this.image = this.g.createImageData(W, H);
      this.pixels = new Uint32Array(this.image.data.buffer);
      this.owner = new Int32Array(W * H);
    }
    const { pixels, owner } = this;
    pixels.fill(0);
    owner.fill(-1);
    const { x: vx, y: vy, scale } = this.view;
    // Where a point's centre falls, plus a half: truncated, it is the nearest pixel.
    const ox = W / 2 - vx * scale + 0.5;
    const oy = H / 2 + vy * scale + 0.5;
    const size = this.pointSize();
    const half = size >> 1;
    for (const pass of mask ? [0, 1] : [-1]) {
      for (let i = 0; i < n; i++) {
        if (mask && mask[i] !== pass) continue;
        const fx = ox + c[i * s] * scale;
        const fy = s > 1 ? oy - c[i * s + 1] * scale : oy;
        // Off the canvas, or not finite (NaN fails every comparison).
        if (!(fx >= 0 && fx < W && fy >= 0 && fy < H)) continue;
        const px = fx | 0;
        const py = fy | 0;
        const colour = colors[i];
        owner[py * W + px] = i;
        if (size === 1) {
          pixels[py * W + px] = colour;
          continue;
        }
        const x0 = Math.max(0, px - half);
        const x1 = Math.min(W, px - half + size);
        for (let yy = Math.max(0, py - half), y1 = Math.min(H, py - half + size); yy < y1; yy++) {
          pixels.fill(colour, yy * W + x0, yy * W + x1);
        }
      }
    }
    this.g.putImageData(this.image, 0, 0);
    this.ownerStale = false;
  }

  /** The 3D scene's points, made from the coordinates (3 a row). */
  build3d() {
    const { THREE, OrbitControls } = this.three;
    if (!this.scene) {
      this.scene = new THREE.Scene();
      this.camera = new THREE.PerspectiveCamera(50, 1, 0.01, 100);
    }
    if (!this.controls) {
      this.controls = new OrbitControls(this.camera, this.overlay);
      this.controls.addEventListener('change', () => {
        this.ownerStale = true;
        this.schedule();
      });
    }
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute('position', new THREE.BufferAttribute(this.coords, 3));
    geometry.setAttribute('color', new THREE.BufferAttribute(new Uint8Array(3 * this.n), 3, true));
    // Given, not computed: three.js' own bounding sphere turns NaN with a non-finite row.
    const { lo, hi } = this.bounds;
    const [cx, cy, cz] = [0, 1, 2].map((k) => (lo[k] + hi[k]) / 2);
    const c = this.coords;
    let far = 0;
    for (let i = 0; i < this.n; i++) {
      const d = (c[3 * i] - cx) ** 2 + (c[3 * i + 1] - cy) ** 2 + (c[3 * i + 2] - cz) ** 2;
      if (d > far && Number.isFinite(d)) far = d;
    }
    geometry.boundingSphere = new THREE.Sphere(new THREE.Vector3(cx, cy, cz), Math.max(1e-6, Math.sqrt(far)));
    this.points = new THREE.Points(geometry, new THREE.PointsMaterial({ vertexColors: true, sizeAttenuation: false }));
    this.scene.add(this.points);
  }

  /** Copies the packed colours into the points' colour attribute. */
  colour3d() {
    const attr = this.points.geometry.getAttribute('color');
    const rgb = attr.array;
    const { colors, n } = this;
    for (let i = 0; i < n; i++) {
      const c = colors[i];
      rgb[3 * i] = c & 255;
      rgb[3 * i + 1] = (c >> 8) & 255;
      rgb[3 * i + 2] = (c >> 16) & 255;
    }
    attr.needsUpdate = true;
  }

  /** Points the camera at the points' bounding sphere, from in front, a little above and right. */
  fit3d() {
    if (!this.points) return;
    const { THREE } = this.three;
    const { center, radius } = this.points.geometry.boundingSphere;
    const distance = (radius * 1.05) / Math.sin((this.camera.fov * Math.PI) / 360);
    this.camera.near = distance / 100;
    this.camera.far = distance * 20;
    this.camera.position.copy(center).addScaledVector(new THREE.Vector3(0.5, 0.4, 1).normalize(), distance);
    this.controls.target.copy(center);
    this.controls.update();
    this.ownerStale = true;
  }

  /** Renders the points with the shared renderer and copies the picture into the canvas. */
  render3d() {
    const r = sharedRenderer(this.three.THREE, () => this.schedule());
    const cssW = this.width / this.dpr;
    const cssH = this.height / this.dpr;
    this.camera.aspect = cssW / cssH;
    this.camera.updateProjectionMatrix();
    this.points.material.size = this.pointSize() / this.dpr;
    r.setPixelRatio(this.dpr);
    r.setSize(cssW, cssH, false);
    r.render(this.scene, this.camera);
    // Copied in the task that rendered it: the browser clears the drawing buffer only after.
    this.g.clearRect(0, 0, this.width, this.height);
    this.g.drawImage(r.domElement, 0, 0, this.width, this.height);
    this.ownerStale = true;
  }

  /** The point under each pixel in 3D: every point projected with the camera, the nearest kept. */
  project3d() {
    const { width: W, height: H, coords: c, n } = this;
    if (!this.owner || this.owner.length !== W * H) this.owner = new Int32Array(W * H);
    if (!this.depth || this.depth.length !== W * H) this.depth = new Float32Array(W * H);
    const { owner, depth } = this;
    owner.fill(-1);
    depth.fill(Infinity);
    const { THREE } = this.three;
    const m = new THREE.Matrix4().multiplyMatrices(this.camera.projectionMatrix, this.camera.matrixWorldInverse).elements;
    for (let i = 0; i < n; i++) {
      const x = c[3 * i];
      const y = c[3 * i + 1];
      const z = c[3 * i + 2];
      const w = m[3] * x + m[7] * y + m[11] * z + m[15];
      if (!(w > 0)) continue;
      const nz = (m[2] * x + m[6] * y + m[10] * z + m[14]) / w;
      if (!(nz >= -1 && nz <= 1)) continue;
      const px = Math.round((((m[0] * x + m[4] * y + m[8] * z + m[12]) / w + 1) / 2) * W);
      const py = Math.round(((1 - (m[1] * x + m[5] * y + m[9] * z + m[13]) / w) / 2) * H);
      if (px < 0 || py < 0 || px >= W || py >= H) continue;
      const at = py * W + px;
      if (nz < depth[at]) { depth[at] = nz; owner[at] = i; }
    }
    this.ownerStale = false;
  }

  /** The point drawn nearest to (`x`, `y`) in CSS pixels, within PICK_RADIUS; -1 for none. */
  pick(x, y) {
    if (!this.coords || !this.width) return -1;
    if (this.mode === '3d' && (this.ownerStale || !this.owner)) this.project3d();
    if (!this.owner) return -1;
    const { width: W, height: H, owner } = this;
    const cx = Math.round(x * this.dpr);
    const cy = Math.round(y * this.dpr);
    const r = Math.ceil(PICK_RADIUS * this.dpr);
    let best = -1;
    let bestD = r * r + 1;
    for (let py = Math.max(0, cy - r); py <= Math.min(H - 1, cy + r); py++) {
      for (let px = Math.max(0, cx - r); px <= Math.min(W - 1, cx + r); px++) {
        const i = owner[py * W + px];
        if (i < 0) continue;
        const d = (px - cx) ** 2 + (py - cy) ** 2;
        if (d < bestD) { bestD = d; best = i; }
      }
    }
    return best;
  }

  /** Where point `i` is drawn, in CSS pixels of the plot; null when off the view. */
  screenOf(i) {
    const { coords: c, stride: s } = this;
    if (!c || i < 0 || i >= this.n) return null;
    let px;
    let py;
    if (this.mode === '2d') {
      if (!this.view) return null;
      const { x, y, scale } = this.view;
      px = (this.width / 2 + (c[i * s] - x) * scale) / this.dpr;
      py = (this.height / 2 - ((s > 1 ? c[i * s + 1] : 0) - y) * scale) / this.dpr;
    } else {
      const v = new this.three.THREE.Vector3(c[3 * i], c[3 * i + 1], c[3 * i + 2]).project(this.camera);
      if (!(v.z >= -1 && v.z <= 1)) return null;
      px = ((v.x + 1) / 2) * (this.width / this.dpr);
      py = ((1 - v.y) / 2) * (this.height / this.dpr);
    }
    return Number.isFinite(px) && Number.isFinite(py) ? [px, py] : null;
  }

  /** The rings: lines from the selected point to its neighbours, a ring on each neighbour, the
   * selected point and the hovered one. */
  drawOverlay() {
    const g = this.overlay.getContext('2d');
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (!this.coords || !this.width) return;
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const fg = cssVar('--fg') || '#000';
    const ring = (p, r, colour, width) => {
      g.beginPath();
      g.arc(p[0], p[1], r, 0, 2 * Math.PI);
      g.strokeStyle = colour;
      g.lineWidth = width;
      g.stroke();
    };
    const from = this.screenOf(this.selected);
    const near = this.neighbors.map((i) => this.screenOf(i)).filter(Boolean);
    if (from) {
      g.globalAlpha = 0.6;
      g.beginPath();
      for (const p of near) { g.moveTo(from[0], from[1]); g.lineTo(p[0], p[1]); }
      g.strokeStyle = NEIGHBOR_COLOR;
      g.lineWidth = 1;
      g.stroke();
      g.globalAlpha = 1;
    }
    for (const p of near) ring(p, 6, NEIGHBOR_COLOR, 2);
    if (from) ring(from, 9, fg, 2.5);
    const hovered = this.hovered !== this.selected && this.screenOf(this.hovered);
    if (hovered) ring(hovered, 7, fg, 1.5);
  }

  /** Shows `content` in the tooltip next to (`x`, `y`), inside the plot. */
  showTip(content, x, y) {
    this.tip.replaceChildren(...content);
    this.tip.hidden = false;
    const w = this.tip.offsetWidth;
    const h = this.tip.offsetHeight;
    const maxX = this.el.clientWidth - w - 4;
    this.tip.style.left = `${Math.max(4, x + 14 > maxX ? x - w - 14 : x + 14)}px`;
    this.tip.style.top = `${Math.max(4, Math.min(this.el.clientHeight - h - 4, y + 14))}px`;
  }

  disposePoints() {
    if (!this.points) return;
    this.scene.remove(this.points);
    this.points.geometry.dispose();
    this.points.material.dispose();
    this.points = null;
  }
}

/** The Projector pane: the picker, the controls, the chosen embedding's scatter with its legend,
 * and a side panel with the selected point and its neighbours. `options.onCount()` is called
 * when the embeddings were listed (the page's tab shows how many). */
export class ProjectorView {
  constructor(ctx, options = {}) {
    this.ctx = ctx;
    this.onCount = options.onCount || (() => {});
    /** `/api/v1/projector`'s answer; null before it came. */
    this.list = null;
    this.listing = null;
    this.listTimer = 0;
    /** The shown embedding's key (`run\0name`) and entry; `loaded` is the key whose data came
     * (or is coming), `stale` when its run's files changed since. */
    this.key = '';
    this.entry = null;
    this.loaded = '';
    this.stale = false;
    /** Bumped on each load: answers for an older one are dropped. */
    this.generation = 0;
    this.mode = '2d';
    this.components = [0, 1, 2];
    this.metadata = null;
    this.colorBy = '';
    this.labelBy = '';
    this.sprite = null;
    /** The search's matches (1 a row) and their count; null without a search. */
    this.matches = null;
    this.selected = -1;
    this.neighbors = [];
    this.asking = null;
    this.build();
    const { state } = ctx;
    state.subscribe(['settings.tab'], () => this.activate());
    state.subscribe(['theme'], () => this.recolour());
    state.subscribe(['runs'], () => { if (this.list) this.renderPicker(); });
    this.fetchList();
  }

  build() {
    const select = (cls, label, onchange) => {
      const s = el('select', { class: cls, 'aria-label': label });
      s.addEventListener('change', onchange);
      return s;
    };
    this.picker = select('pj-pick', 'embedding', () => this.choose(this.picker.value));
    this.info = el('span', { class: 'pj-info muted' });
    this.modeSelect = select('pj-mode', 'dimensions', () => {
      this.mode = this.modeSelect.value;
      this.loadCoords();
    });
    this.modeSelect.append(el('option', { value: '2d', text: '2D' }), el('option', { value: '3d', text: '3D' }),
      el('option', { value: 'tsne', text: 't-SNE' }));
    this.axes = ['x', 'y', 'z'].map((axis, k) => select(`pj-axis pj-${axis}`, `${axis} component`, () => {
      this.components[k] = Number(this.axes[k].value);
      this.loadCoords();
    }));
    this.axisBoxes = this.axes.map((s, k) => el('label', { class: 'pj-field' }, 'XYZ'[k], s));
    this.colorSelect = select('pj-color', 'colour by', () => {
      this.colorBy = this.colorSelect.value;
      this.recolour();
    });
    this.labelSelect = select('pj-label', 'label by', () => {
      this.labelBy = this.labelSelect.value;
      this.search();
      this.showSelection();
    });
    this.searchInput = el('input', {
      type: 'search', class: 'pj-search', placeholder: 'search labels', spellcheck: 'false', autocomplete: 'off', 'aria-label': 'search labels',
    });
    let typing = 0;
    this.searchInput.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.search(), 150);
    });
    this.regexBox = el('input', { type: 'checkbox', class: 'pj-regex' });
    this.regexBox.addEventListener('change', () => this.search());
    this.searchCount = el('span', { class: 'pj-search-count muted' });
    this.metricSelect = select('pj-metric', 'distance', () => this.select(this.selected));
    this.metricSelect.append(el('option', { value: 'cosine', text: 'cosine' }), el('option', { value: 'euclidean', text: 'euclidean' }));

    this.scatter = new Scatter({
      onHover: (i, x, y) => this.hover(i, x, y),
      onClick: (i) => this.select(i),
    });
    this.title = el('div', { class: 'pj-title' });
    this.error = el('div', { class: 'pj-error' });
    this.note = el('div', { class: 'pj-note muted' });
    this.legend = el('div', { class: 'pj-legend' });
    this.foot = el('div', { class: 'pj-foot muted' });
    this.card = el('div', { class: 'pj-card' }, this.title, this.error, this.note, this.scatter.el, this.legend, this.foot);
    this.selection = el('div', { class: 'pj-selected' });
    this.neighborList = el('ol', { class: 'pj-neighbors' });
    this.side = el('aside', { class: 'pj-side' },
      el('h3', { text: 'Selected point' }), this.selection,
      el('h3', {}, 'Nearest neighbours ', el('label', { class: 'pj-field' }, 'by', this.metricSelect)),
      el('p', { class: 'muted pj-hint', text: 'Searched by the server over the full tensor.' }),
      this.neighborList);
    this.controls = el('div', { class: 'pj-controls' },
      el('label', { class: 'pj-field' }, 'Projection', this.modeSelect), ...this.axisBoxes,
      el('label', { class: 'pj-field' }, 'Colour by', this.colorSelect),
      el('label', { class: 'pj-field' }, 'Label by', this.labelSelect),
      el('span', { class: 'pj-field pj-search-box' }, this.searchInput,
        el('label', { class: 'pj-field' }, this.regexBox, 'regex'), this.searchCount));
    this.body = el('div', { class: 'pj-body' },
      el('div', { class: 'pj-bar' }, el('label', { class: 'pj-field' }, 'Embedding', this.picker), this.info),
      this.controls,
      el('div', { class: 'pj-main' }, this.card, this.side));
    this.empty = el('div', { class: 'empty pj-empty' }, el('h2', { text: 'No embeddings' }),
      el('p', { text: 'Embeddings are drawn here as a 2D or 3D scatter of their principal components, '
        + 'searched and coloured by their metadata, with each point\'s nearest neighbours.' }),
      el('p', {}, 'Log one with ', el('code', { text: 'writer.add_embedding(tag, &rows, &labels, step)' }),
        ' (the Rust SDK) or ', el('code', { text: 'writer.add_embedding(mat, metadata, label_img, global_step, tag)' }),
        ' (torch.utils.tensorboard), or point a run\'s ', el('code', { text: 'projector_config.pbtxt' }), ' at your tensors.'));
    this.el = el('section', { class: 'pane', dataset: { pane: 'projector' } }, this.body);
    this.showSelection();
  }

  /** The number of embeddings (the tab's count). */
  count() {
    return this.list?.length ?? 0;
  }

  /** Asks for the embeddings; the picker follows, and the shown one loads when the tab shows. */
  fetchList() {
    const listing = getJson('api/v1/projector');
    this.listing = listing;
    listing.then((list) => {
      if (this.listing !== listing) return;
      this.list = list;
      this.renderPicker();
      this.onCount();
      this.activate();
    }).catch((e) => {
      if (this.listing === listing) console.warn('runboard projector list', e);
    });
  }

  /** A run's embeddings changed (the stream's `projector` event, or the run was deleted): its
   * files are fetched again, and the list soon (many events, one fetch). */
  changed(run) {
    coordCache.forget(run);
    fileCache.forget(run);
    if (this.entry?.run === run) this.stale = true;
    clearTimeout(this.listTimer);
    this.listTimer = setTimeout(() => this.fetchList(), 200);
  }

  /** Everything is fetched again (after a reconnection). */
  reload() {
    coordCache.clear();
    fileCache.clear();
    this.stale = true;
    this.fetchList();
  }

  renderPicker() {
    const byRun = new Map();
    for (const e of this.list) {
      if (!byRun.has(e.run)) byRun.set(e.run, []);
      byRun.get(e.run).push(e);
    }
    this.picker.replaceChildren(...[...byRun].map(([run, entries]) => el('optgroup', { label: this.ctx.state.displayName(run) },
      entries.map((e) => el('option', {
        value: `${e.run}\u0000${e.name}`,
        dataset: { run: e.run, name: e.name, rows: String(e.rows), dims: String(e.dims) },
        text: `${e.name} · ${e.rows ? `${e.rows.toLocaleString('en-US')} × ${e.dims}` : 'not read'}${e.error ? ' · ⚠' : ''}`,
      })))));
    this.picker.value = this.key;
  }

  /** On the tab: shows the chosen embedding (the first readable one at first), loading it if
   * it is new or its files changed. */
  activate() {
    if (this.ctx.state.settings.tab !== 'projector' || !this.list) return;
    this.body.hidden = !this.list.length;
    if (!this.list.length) {
      if (!this.empty.isConnected) this.el.append(this.empty);
      return;
    }
    this.empty.remove();
    const find = (key) => this.list.find((e) => `${e.run}\u0000${e.name}` === key);
    if (!find(this.key)) {
      const first = this.list.find((e) => e.rows > 0) ?? this.list[0];
      this.key = `${first.run}\u0000${first.name}`;
      this.picker.value = this.key;
    }
    const entry = find(this.key);
    const changed = JSON.stringify(entry) !== JSON.stringify(this.entry);
    if (changed) this.entry = entry;
    if (this.loaded !== this.key) this.open();
    else if (this.stale || changed) this.load();
  }

  /** The picker chose `key`. */
  choose(key) {
    this.key = key;
    this.activate();
  }

  /** Shows the chosen embedding afresh: default components and columns, nothing selected. */
  open() {
    this.loaded = this.key;
    this.components = [0, 1, 2];
    this.colorBy = '';
    this.labelBy = '';
    this.searchInput.value = '';
    this.selected = -1;
    this.neighbors = [];
    this.load();
  }

  /** Loads the shown embedding's coordinates, metadata and sprite. */
  load() {
    this.stale = false;
    const e = this.entry;
    this.metadata = null;
    this.sprite = null;
    this.matches = null;
    const k = e.pca?.k ?? 0;
    if (this.selected >= e.rows) { this.selected = -1; this.neighbors = []; }
    this.components = this.components.map((c, i) => (c < k ? c : Math.min(i, Math.max(0, k - 1))));
    if (k < 3) this.mode = '2d';
    this.title.replaceChildren(el('span', { class: 'run', text: `${this.ctx.state.displayName(e.run)} / ` }), e.name);
    this.error.textContent = e.error ?? '';
    this.note.textContent = '';
    this.scatter.el.hidden = !e.rows || !k;
    this.controls.hidden = !e.rows || !k;
    this.side.hidden = !e.rows || !k;
    this.renderColumns();
    this.showSelection();
    this.searchCount.textContent = '';
    if (!e.rows || !k) {
      this.generation++;
      this.scatter.clear();
      this.info.textContent = e.rows ? `${e.rows.toLocaleString('en-US')} × ${e.dims} · no PCA` : 'not read';
      this.legend.replaceChildren();
      this.foot.textContent = '';
      return;
    }
    this.loadCoords();
    if (e.metadata) this.loadMetadata();
    if (e.sprite) this.loadSprite();
  }

  /** Fetches the chosen components (cached) and draws them. */
  async loadCoords() {
    const e = this.entry;
    const generation = ++this.generation;
    if (this.mode === 'tsne') return this.loadTsne(e, generation);
    const k = e.pca.k;
    const dims = this.mode === '3d' ? 3 : Math.min(2, k);
    const components = this.components.slice(0, dims);
    this.renderAxes();
    const t0 = performance.now();
    const url = `api/v1/projector/pca?${query({ run: e.run, name: e.name, components: components.join(',') })}`;
    let coords;
    let lib = null;
    try {
      [coords, lib] = await Promise.all([
        coordCache.get(`${e.run}\u0000${e.name}\u0000${components}`,
          () => fetchOk(url).then((res) => res.arrayBuffer()).then((b) => new Float32Array(b))),
        this.mode === '3d' ? loadThree() : null,
      ]);
    } catch (err) {
      if (generation !== this.generation) return;
      this.scatter.clear();
      this.addNote(`Could not load the coordinates: ${err.message}.`);
      return;
    }
    if (generation !== this.generation) return;
    const n = Math.min(e.rows, Math.floor(coords.length / dims));
    this.scatter.show(coords, dims, n, this.mode, lib, { run: e.run, name: e.name, t0 });
    this.search();
    this.scatter.draw();
    this.scatter.setHighlight(this.selected, this.neighbors.map((x) => x.index));
    this.foot.textContent = `${plural(this.scatter.drawn, 'point')} drawn · ${this.mode === '3d'
      ? 'drag to turn, right-drag to move, wheel to zoom'
      : 'drag to move, wheel to zoom'}, double-click to fit; click a point for its neighbours`;
  }

  /** Asks the server for the embedding's t-SNE (computed there once, on a sample of up to
   * 10,000 points: see `/api/v1/projector/tsne`), saying its progress while it runs, and draws
   * it in 2D: the points not in the sample are left out. */
  async loadTsne(e, generation) {
    this.renderAxes();
    const t0 = performance.now();
    // The server keeps the result: asking again is cheap.
    const url = `api/v1/projector/tsne?${query({ run: e.run, name: e.name })}`;
    let coords = null;
    let said = '';
    while (!coords) {
      let res;
      let body;
      try {
        res = await fetch(url, { credentials: 'same-origin' });
        body = await res.json();
      } catch (err) {
        body = { message: err.message };
      }
      if (generation !== this.generation) return;
      if (res?.status === 200) {
        coords = new Float32Array(e.rows * 2).fill(NaN);
        body.indices.forEach((row, i) => {
          coords[2 * row] = body.coords[2 * i];
          coords[2 * row + 1] = body.coords[2 * i + 1];
        });
        said = `t-SNE of ${plural(body.indices.length, 'point')} of ${e.rows.toLocaleString('en-US')}, computed by the server in ${body.seconds.toFixed(1)} s.`;
        break;
      }
      if (res?.status === 202 || res?.status === 503) {
        this.note.textContent = res.status === 202
          ? `t-SNE running on the server: epoch ${body.epoch} of ${body.epochs}…`
          : 'Waiting for another embedding\'s t-SNE to finish…';
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      this.scatter.clear();
      this.note.textContent = `No t-SNE: ${body.message ?? res?.statusText}.`;
      return;
    }
    this.note.textContent = said;
    this.scatter.show(coords, 2, e.rows, '2d', null, { run: e.run, name: e.name, t0 });
    this.scatter.el.dataset.mode = 'tsne';
    this.search();
    this.scatter.draw();
    this.scatter.setHighlight(this.selected, this.neighbors.map((x) => x.index));
    this.foot.textContent = `${plural(this.scatter.drawn, 'point')} drawn · drag to move, wheel to zoom, double-click to fit; click a point for its neighbours`;
  }

  /** Adds `text` to the card's notes (what could not be loaded). */
  addNote(text) {
    this.note.textContent = [this.note.textContent, text].filter(Boolean).join(' ');
  }

  /** The axis pickers and the variance the shown components explain. */
  renderAxes() {
    const { pca, rows, dims } = this.entry;
    const k = pca.k;
    const shown = { '3d': 3, tsne: 0 }[this.mode] ?? Math.min(2, k);
    const pct = (v) => `${(100 * v).toFixed(1)}%`;
    this.axes.forEach((s, i) => {
      s.replaceChildren(...Array.from({ length: k }, (_, c) => el('option', { value: String(c), text: `PC${c + 1} (${pct(pca.variance[c] ?? 0)})` })));
      s.value = String(this.components[i]);
      this.axisBoxes[i].hidden = i >= shown;
    });
    this.modeSelect.value = this.mode;
    this.modeSelect.querySelector('[value="3d"]').disabled = k < 3;
    const used = [...new Set(this.components.slice(0, shown))];
    const explained = used.reduce((sum, c) => sum + (pca.variance[c] ?? 0), 0);
    const notes = [pca.sampled ? 'PCA of a sample of the rows' : '', pca.projected ? 'after a random projection' : ''].filter(Boolean);
    const names = used.map((c) => `PC${c + 1}`).join(', ');
    this.info.textContent = this.mode === 'tsne'
      ? `${rows.toLocaleString('en-US')} × ${dims} · t-SNE`
      : `${rows.toLocaleString('en-US')} × ${dims} · ${names} explain ${pct(explained)} of the variance`
        + `${notes.length ? ` (${notes.join(', ')})` : ''}`;
    this.info.dataset.variance = String(explained);
  }

  /** Fetches and parses the metadata TSV (cached): columns to colour, label and search by. */
  async loadMetadata() {
    const e = this.entry;
    const url = `data/plugin/projector/metadata?${query({ run: e.run, name: e.name })}`;
    try {
      const columns = await fileCache.get(`${e.run}\u0000${e.name}\u0000metadata`,
        () => fetchOk(url).then((res) => res.text()).then((text) => parseMetadata(text, e.rows)));
      if (this.entry !== e) return;
      this.metadata = columns;
    } catch (err) {
      if (this.entry === e) this.addNote(`Could not load the metadata: ${err.message}.`);
      return;
    }
    this.renderColumns();
    this.search();
    this.showSelection();
  }

  /** Fetches the sprite and the size of its thumbnails (the run's config, matched by tensor
   * name); thumbnails are cut from it as needed. */
  async loadSprite() {
    const e = this.entry;
    try {
      this.sprite = await fileCache.get(`${e.run}\u0000${e.name}\u0000sprite`, async () => {
        const [info, blob] = await Promise.all([
          getJson('data/plugin/projector/info', { run: e.run }),
          fetchOk(`data/plugin/projector/sprite_image?${query({ run: e.run, name: e.name })}`).then((res) => res.blob()),
        ]);
        const config = info.embeddings?.find((x) => canonical(x.tensorName ?? '') === canonical(e.name));
        const [w, h] = config?.sprite?.singleImageDim ?? [];
        if (!(w > 0 && h > 0)) throw new Error('the config gives no single image size');
        const image = await createImageBitmap(blob);
        return { image, w, h, perRow: Math.max(1, Math.floor(image.width / w)) };
      });
    } catch (err) {
      if (this.entry === e) this.addNote(`Could not load the sprite: ${err.message}.`);
      return;
    }
    if (this.entry === e) this.showSelection();
  }

  /** Point `i`'s thumbnail cut from the sprite, at its size (CSS scales it up); null without. */
  thumbnail(i) {
    const s = this.sprite;
    if (!s || i < 0) return null;
    const canvas = el('canvas', { class: 'pj-thumb', width: s.w, height: s.h, dataset: { index: String(i) } });
    canvas.getContext('2d').drawImage(s.image, (i % s.perRow) * s.w, Math.floor(i / s.perRow) * s.h, s.w, s.h, 0, 0, s.w, s.h);
    return canvas;
  }

  /** The colour-by and label-by pickers for the metadata's columns. */
  renderColumns() {
    const columns = this.metadata ?? [];
    const kindText = (c) => (c.kind === 'category' ? `${c.categories.length} values` : c.kind === 'number' ? `${c.min} to ${c.max}` : 'too many values');
    this.colorSelect.replaceChildren(el('option', { value: '', text: 'none' }),
      ...columns.map((c) => el('option', { value: c.name, text: `${c.name} (${kindText(c)})`, disabled: c.kind === 'text' })));
    if (!columns.some((c) => c.name === this.colorBy && c.kind !== 'text')) this.colorBy = '';
    this.colorSelect.value = this.colorBy;
    this.labelSelect.replaceChildren(...(columns.length
      ? columns.map((c) => el('option', { value: c.name, text: c.name }))
      : [el('option', { value: '', text: 'index' })]));
    if (!columns.some((c) => c.name === this.labelBy)) this.labelBy = columns[0]?.name ?? '';
    this.labelSelect.value = this.labelBy;
  }

  /** The label column's values, or null (labelled by index). */
  labels() {
    return this.metadata?.find((c) => c.name === this.labelBy)?.values ?? null;
  }

  labelOf(i) {
    return this.labels()?.[i] ?? `#${i}`;
  }

  /** Point `i` as shown in the tooltip and the side panel: its thumbnail when there is a
   * sprite, its label (in an element of class `cls`), and its index when it has a label. */
  named(i, cls) {
    const labelled = !!this.labels();
    return [this.thumbnail(i), el('span', { class: cls, text: this.labelOf(i) }),
      labelled ? el('span', { class: 'muted', text: ` #${i}` }) : null].filter(Boolean);
  }

  /** Matches the search (a substring, or a regex when asked; either ignores case) against every
   * label, counts the matches, and colours again. */
  search() {
    const text = this.searchInput.value;
    const rows = this.entry?.rows ?? 0;
    this.searchInput.classList.remove('invalid');
    this.searchInput.title = '';
    this.matches = null;
    this.searchCount.textContent = '';
    for (const k of ['count', 'query', 'regex']) delete this.searchCount.dataset[k];
    // Labelled by a column still on its way: matched when it comes.
    if (this.entry?.metadata && !this.metadata) {
      this.recolour();
      return;
    }
    // What was searched, for tests to wait on.
    Object.assign(this.searchCount.dataset, { query: text, regex: String(this.regexBox.checked) });
    if (text && rows) {
      let test;
      if (this.regexBox.checked) {
        const { re, error } = regex(text);
        if (error) {
          this.searchInput.classList.add('invalid');
          this.searchInput.title = error;
        } else {
          test = (s) => re.test(s);
        }
      } else {
        const needle = text.toLowerCase();
        test = (s) => s.toLowerCase().includes(needle);
      }
      if (test) {
        const labels = this.labels();
        const mask = new Uint8Array(rows);
        let count = 0;
        for (let i = 0; i < rows; i++) {
          if (test(labels ? labels[i] : String(i))) { mask[i] = 1; count++; }
        }
        this.matches = mask;
        this.searchCount.textContent = `${plural(count, 'match', 'matches')} of ${rows.toLocaleString('en-US')}`;
        this.searchCount.dataset.count = String(count);
      }
    }
    this.recolour();
  }

  /** Each point's colour: by the colour-by column (categories from the palette, numbers along
   * the gradient), else the accent; faded when a search is on and it does not match. The legend
   * follows. */
  recolour() {
    const n = this.scatter.n;
    if (!this.scatter.coords) return;
    const accent = packed(rgbOf(cssVar('--accent') || '#2563eb'));
    const panel = packed(rgbOf(cssVar('--panel') || '#ffffff'));
    const column = this.metadata?.find((c) => c.name === this.colorBy);
    const colors = new Uint32Array(n).fill(accent);
    this.legend.replaceChildren();
    if (column?.kind === 'category') {
      const index = new Map(column.categories.map((v, i) => [v, i]));
      const palette = column.categories.map((_, i) => packed(rgbOf(PALETTE[i % PALETTE.length])));
      for (let i = 0; i < n; i++) colors[i] = palette[index.get(column.values[i])];
      this.legend.append(...column.categories.map((v, i) => {
        const colour = hexOf(palette[i]);
        return el('span', { class: 'pj-legend-item', dataset: { value: v, color: colour } },
          el('span', { class: 'pj-swatch', style: `background:${colour}` }), `${v || '(empty)'} `,
          el('span', { class: 'muted', text: String(column.counts[i]) }));
      }));
    } else if (column?.kind === 'number') {
      const span = column.max - column.min || 1;
      for (let i = 0; i < n; i++) colors[i] = RAMP[Math.round((255 * (Number(column.values[i]) - column.min)) / span)];
      this.legend.append(el('span', { class: 'pj-legend-item', text: String(column.min) }),
        el('span', { class: 'pj-ramp', style: `background:linear-gradient(to right, ${GRADIENT.join(', ')})` }),
        el('span', { class: 'pj-legend-item', text: String(column.max) }));
    }
    const mask = this.matches && this.matches.length === n ? this.matches : null;
    if (mask) {
      const faded = new Map(); // by colour: a palette's or a gradient's few
      for (let i = 0; i < n; i++) {
        if (mask[i]) continue;
        const c = colors[i];
        let f = faded.get(c);
        if (f === undefined) { f = mix(c, panel, 0.8); faded.set(c, f); }
        colors[i] = f;
      }
    }
    this.scatter.setColors(colors, mask);
  }

  /** The hovered point's label (and thumbnail) in the tooltip. */
  hover(i, x, y) {
    if (i < 0) {
      this.scatter.tip.hidden = true;
      return;
    }
    this.scatter.showTip(this.named(i, 'pj-tip-label'), x, y);
  }

  /** Selects point `i` (-1: none) and asks the server for its nearest neighbours. */
  async select(i) {
    const e = this.entry;
    this.selected = i;
    this.neighbors = [];
    this.scatter.setHighlight(i, []);
    this.showSelection();
    if (i < 0 || !e) return;
    const metric = this.metricSelect.value;
    const asking = getJson('api/v1/projector/neighbors', { run: e.run, name: e.name, index: i, k: NEIGHBORS, metric });
    this.asking = asking;
    let answer;
    try {
      answer = await asking;
    } catch (err) {
      if (this.asking === asking) this.neighborList.replaceChildren(el('li', { class: 'pj-error', text: `Could not find the neighbours: ${err.message}.` }));
      return;
    }
    if (this.asking !== asking || this.selected !== i || this.entry !== e) return;
    this.neighbors = answer.neighbors.map((x) => ({ index: x.index, distance: num(x.distance) }));
    this.scatter.setHighlight(i, this.neighbors.map((x) => x.index));
    this.showSelection();
  }

  /** The side panel: the selected point's label, thumbnail and metadata, and its neighbours. */
  showSelection() {
    const i = this.selected;
    this.selection.dataset.index = String(i);
    if (i < 0) {
      this.selection.replaceChildren(el('p', { class: 'muted', text: 'Click a point to select it.' }));
      this.neighborList.replaceChildren();
      return;
    }
    const rows = (this.metadata ?? []).map((c) => el('tr', {}, el('td', { class: 'muted', text: c.name }), el('td', { text: c.values[i] })));
    this.selection.replaceChildren(el('div', { class: 'pj-selected-head' }, this.named(i, 'pj-selected-label')));
    if (rows.length) this.selection.append(el('table', { class: 'pj-meta' }, rows));
    this.neighborList.replaceChildren(...this.neighbors.map((x) => el('li', {
      class: 'pj-neighbor',
      dataset: { index: String(x.index), distance: String(x.distance) },
      onclick: () => this.select(x.index),
      onmouseenter: () => { this.scatter.hovered = x.index; this.scatter.drawOverlay(); },
      onmouseleave: () => { this.scatter.hovered = -1; this.scatter.drawOverlay(); },
    }, el('span', { class: 'pj-neighbor-label', text: this.labelOf(x.index) }), el('span', { class: 'muted', text: x.distance.toFixed(4) }))));
  }
}
