// The Mesh tab: one card per shown run and mesh of the `mesh` plugin (torch's and runboard's
// `add_mesh`: vertices, optional faces and per-vertex colours, and a three.js config), with a step
// slider over the steps that run logged of the mesh (by default the latest, followed as new steps
// arrive), a sample selector when a step holds a batch of meshes, and a 3D view that orbits
// (drag), pans (right drag) and zooms (wheel), double-click framing it again. Faces are drawn as
// a lit surface, a mesh without faces as a point cloud with a point-size control; vertex colours
// when logged, else the run's colour. The logged config's camera, lights and point size apply as
// TensorBoard reads them; other keys are ignored.
//
// The meshes come from TensorBoard's routes (`/data/plugin/mesh/*`): which meshes each run has
// and how many samples a step holds (`tags`: a mesh is up to three series, `<name>_VERTEX` and so
// on, whose metadata names it, so the series list alone does not give the names), each mesh's
// parts per step (`meshes`), and each part of one sample as a flat binary array (`data`).
// three.js (static/vendor/three, 2 MB) is imported when the first card loads, not with the page.
//
// WebGL: one renderer, so one context, for the whole tab, drawing offscreen; a card renders its
// scene with it and copies the picture into its own 2D canvas. Any number of cards can be on
// screen (browsers keep about 16 contexts) and a card that scrolls away holds nothing on the GPU
// but its buffers. A card renders only when something changed (its mesh, the camera moved by the
// pointer, its size, the run's colour, the point size): no animation loop.
//
//   state.series (plugin `mesh`) ──► GET tags ──► (run, mesh) ──► cards ──► GET meshes?run=…&tag=…
//        ──► slider, sample ──► GET data?content_type=VERTEX|FACE|COLOR&step=…&sample=…
//        ──► BufferGeometry ──► Mesh or Points ──► shared WebGLRenderer ──► the card's 2D canvas
//   stream `series` (run, `<mesh>_<part>`) ──► that run's cards refetch ──► slider extends

import { getJson } from './api.js';
import { CardsView, LazyCard, StepSlider } from './cards.js';
import { plural } from './chart.js';
import { el } from './util.js';
import { loadThree } from './three.js';

/** The plugin of the series this tab draws (`runboard_sdk::event::plugin::MESH`). */
export const MESH_PLUGIN = 'mesh';

/** The parts of a mesh by the API's `content_type`, as the data route names them. */
const PART = { 1: 'VERTEX', 2: 'FACE', 3: 'COLOR' };
const VIEW_HEIGHT = 320;
/** The most fetched parts kept, so that moving the slider back and forth does not refetch. */
const PART_CACHE = 96;
/** The defaults a logged config's `camera` keys and `lights` list override: TensorBoard's camera,
 * and its lights made dimmer and moved above the mesh (its ambient 0.75 and directional 0.75 from
 * below wash colours out to white where the light falls). */
const DEFAULT_CAMERA = { cls: 'PerspectiveCamera', fov: 75 };
const DEFAULT_LIGHTS = [
  { cls: 'AmbientLight', color: '#ffffff', intensity: 0.45 },
  { cls: 'DirectionalLight', color: '#ffffff', intensity: 0.6, position: [1, 2, 3] },
];
/** Where the camera looks from, relative to the mesh's centre: in front, a little above and to
 * the right, so that a box shows three faces. */
const VIEW_DIRECTION = [0.7, 0.55, 1];
/** How far past the bounding sphere the view reaches (a margin around the mesh). */
const MARGIN = 1.1;

/** The tab's one renderer (made on first use), drawing into a canvas that is never shown. */
let renderer = null;
/** The cards alive, repainted when the browser gives a lost WebGL context back. */
const live = new Set();
function sharedRenderer(THREE) {
  if (!renderer) {
    renderer = new THREE.WebGLRenderer({ antialias: true, alpha: true });
    renderer.setClearColor(0x000000, 0);
    renderer.domElement.addEventListener('webglcontextrestored', () => { for (const c of live) c.paint(); });
  }
  return renderer;
}

/** The bytes of one part (by its URL; the bytes of a step never change), most recent last. */
const parts = new Map();
function fetchPart(url) {
  let p = parts.get(url);
  if (p) {
    parts.delete(url);
    parts.set(url, p);
    return p;
  }
  p = fetch(url, { credentials: 'same-origin' }).then(async (res) => {
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    return res.arrayBuffer();
  });
  p.catch(() => parts.delete(url));
  parts.set(url, p);
  while (parts.size > PART_CACHE) parts.delete(parts.keys().next().value);
  return p;
}

/** sRGB bytes to the linear values three.js shades with (it encodes its output as sRGB again,
 * so an unlit point shows the colour as logged). */
const LINEAR = Float32Array.from({ length: 256 }, (_, i) => {
  const c = i / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/** A logged config: `{camera, lights, size, note}` with TensorBoard's defaults where it says
 * nothing, and `note` saying why it was ignored when it is not a JSON object. */
function readConfig(text) {
  let config = {};
  let note = '';
  if (text) {
    try {
      config = JSON.parse(text);
    } catch (e) {
      note = `The logged config is not JSON (${e.message}): ignored.`;
    }
    if (!note && (typeof config !== 'object' || config === null || Array.isArray(config))) {
      note = 'The logged config is not a JSON object: ignored.';
    }
    if (note) config = {};
  }
  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const camera = { ...DEFAULT_CAMERA, ...(isObject(config.camera) ? config.camera : {}) };
  const lights = Array.isArray(config.lights) ? config.lights.filter(isObject) : DEFAULT_LIGHTS;
  const size = Number(config.material?.size);
  return { camera, lights, size: Number.isFinite(size) && size > 0 ? size : null, note };
}

/** A face's vertex that the mesh does not have (`{index}`), else null: three.js would read past
 * the vertex buffer. */
function badFace(faces, vertices) {
  for (const i of faces) if (i < 0 || i >= vertices) return { index: i };
  return null;
}

/** One run's mesh: a step slider, a sample selector, and its 3D view at the chosen step. */
class MeshCard extends LazyCard {
  constructor(ctx, view, run, tag) {
    super({ kind: 'mesh', run, tag });
    this.ctx = ctx;
    this.view = view;
    this.el.classList.add('me-card');
    this.swatch = el('span', { class: 'me-swatch' });
    this.head.prepend(this.swatch);
    /** The API's entries, one per part and step (ascending steps). */
    this.entries = [];
    this.steps = [];
    /** The step chosen with the slider; null follows the latest. */
    this.step = null;
    this.sample = 0;
    /** The point size as a power of 2 of the logged (or default) size. */
    this.pointScale = 0;
    /** The step and sample asked for. */
    this.wanted = '';
    /** three.js objects, made once three.js is loaded: the scene, its camera, controls and
     * lights for the logged config `configText` (read as `config`), and the mesh or points drawn. */
    this.three = null;
    this.scene = null;
    this.camera = null;
    this.controls = null;
    this.lights = null;
    this.configText = '';
    this.config = null;
    this.object = null;
    /** The orthographic camera's half height at zoom 1 (its width follows the canvas). */
    this.halfHeight = 1;
    /** Whether the mesh drawn has its own colours (else it takes the run's). */
    this.hasColors = false;
    /** Whether the pointer moved the camera since the mesh was framed (a new step keeps the
     * view then). */
    this.moved = false;
    this.paintFrame = 0;
    /** A render asked for while the card was out of view, done when it shows. */
    this.unpainted = false;
    this.renders = 0;
    this.stepSlider = new StepSlider('me', () => this.steps, (step) => {
      this.step = step;
      this.schedule();
    });
    this.slider = this.stepSlider.input;
    this.stepLabel = this.stepSlider.label;
    this.sampleSelect = el('select', { class: 'me-sample', 'aria-label': 'sample' });
    this.sampleSelect.addEventListener('change', () => {
      this.sample = Number(this.sampleSelect.value);
      this.schedule();
    });
    this.sizeInput = el('input', {
      type: 'range', class: 'me-size', min: -3, max: 3, step: 0.5, value: 0, 'aria-label': 'point size',
    });
    this.sizeLabel = el('span', { class: 'me-size-label muted' });
    this.sizeInput.addEventListener('input', () => {
      this.pointScale = Number(this.sizeInput.value);
      this.applyPointSize();
      this.paint();
    });
    this.sizeBox = el('label', { class: 'me-size-box', hidden: true }, 'point size', this.sizeInput, this.sizeLabel);
    this.canvas = el('canvas', { class: 'me-view', title: 'Drag to turn, right-drag to move, wheel to zoom, double-click to frame' });
    this.canvas.addEventListener('dblclick', () => {
      this.fitView();
      this.paint();
    });
    this.note = el('div', { class: 'me-note muted' });
    this.error = el('div', { class: 'me-error' });
    this.colour();
    live.add(this);
  }

  colour() {
    this.swatch.style.background = this.ctx.state.colorOf(this.run);
  }

  /** The run logged more of the mesh: fetched again (now if shown, else when it shows). */
  changed() {
    this.invalidate();
  }

  async load() {
    const [entries, lib] = await Promise.all([
      getJson('data/plugin/mesh/meshes', { run: this.run, tag: this.tag }),
      loadThree(),
    ]);
    this.entries = [...entries].sort((a, b) => a.step - b.step);
    this.three = lib;
  }

  draw() {
    this.colour();
    const steps = [...new Set(this.entries.map((e) => e.step))];
    this.steps = steps;
    this.el.dataset.steps = steps.join(',');
    if (!steps.length) {
      this.showSlider(null);
      this.foot.textContent = '';
      this.body.replaceChildren(el('div', { class: 'loading', text: 'No mesh logged.' }));
      return;
    }
    let at = this.step === null ? steps.length - 1 : steps.indexOf(this.step);
    if (at < 0) { at = steps.length - 1; this.step = null; }
    const step = steps[at];
    this.showSlider(at);
    this.el.dataset.latest = String(this.step === null);
    const samples = Math.max(1, this.view.samplesOf(this.run, this.tag));
    if (this.sample >= samples) this.sample = 0;
    this.showSamples(samples);
    if (this.body.firstChild?.className !== 'me-controls') {
      this.body.replaceChildren(
        el('div', { class: 'me-controls' }, this.slider, this.stepLabel, this.sampleSelect, this.sizeBox),
        this.canvas, this.error, this.note);
    }
    const wanted = `${step}\u0000${this.sample}`;
    if (wanted !== this.wanted) {
      this.wanted = wanted;
      this.show(step, this.sample, this.entries.filter((e) => e.step === step));
    } else if (this.object && !this.hasColors) {
      // The same mesh: only the run's colour may have changed.
      this.object.material.color.set(this.ctx.state.colorOf(this.run));
      this.paint();
    }
  }

  /** The slider at index `at` of the steps (null: none to choose). */
  showSlider(at) {
    this.stepSlider.show(this.steps, at);
  }

  /** The sample selector, shown when a step holds more than one mesh. */
  showSamples(samples) {
    this.sampleSelect.hidden = samples < 2;
    if (this.sampleSelect.options.length !== samples) {
      this.sampleSelect.replaceChildren(...Array.from({ length: samples }, (_, i) =>
        el('option', { value: String(i), text: `sample ${i + 1} of ${samples}` })));
    }
    this.sampleSelect.value = String(this.sample);
  }

  /** Fetches the parts of `sample` at `step` (`entries`: the API's, one per part) and draws
   * them, unless another step or sample was asked for meanwhile. */
  async show(step, sample, entries) {
    const key = `${step}\u0000${sample}`;
    const types = new Set(entries.map((e) => PART[e.content_type]));
    const url = (type) => `data/plugin/mesh/data?${new URLSearchParams({
      run: this.run, tag: this.tag, content_type: type, step: String(step), sample: String(sample),
    })}`;
    let bytes;
    try {
      bytes = await Promise.all(['VERTEX', 'FACE', 'COLOR'].map((t) => (types.has(t) ? fetchPart(url(t)) : null)));
    } catch (e) {
      if (this.wanted !== key) return;
      this.wanted = ''; // asked for again on the next draw
      this.error.textContent = `Could not load step ${step}: ${e.message}.`;
      return;
    }
    if (this.wanted !== key || !live.has(this)) return;
    const [vertices, faces, colors] = bytes;
    this.build(step, sample, entries[0]?.config ?? '', {
      vertices: vertices ? new Float32Array(vertices) : new Float32Array(0),
      faces: faces ? new Int32Array(faces) : new Int32Array(0),
      colors: colors ? new Uint8Array(colors) : new Uint8Array(0),
    });
  }

  /** Sets the camera, controls and lights up for the logged config `text`. */
  setup(text) {
    const { THREE, OrbitControls } = this.three;
    const config = readConfig(text);
    this.config = config;
    this.configText = text;
    this.controls?.dispose();
    this.scene = new THREE.Scene();
    this.camera = config.camera.cls === 'OrthographicCamera'
      ? new THREE.OrthographicCamera(-1, 1, 1, -1, 0.01, 100)
      : new THREE.PerspectiveCamera(Math.min(170, Math.max(1, Number(config.camera.fov) || DEFAULT_CAMERA.fov)), 1, 0.01, 100);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.addEventListener('change', () => {
      this.moved = true;
      this.paint();
    });
    this.moved = false; // a new camera: framed on the next mesh
    // Intensities times π: three.js lights became physical (r155), and these are TensorBoard's
    // (older three.js) numbers; a point light does not fade with distance there either.
    this.lights = [];
    for (const l of config.lights) {
      const make = { AmbientLight: THREE.AmbientLight, DirectionalLight: THREE.DirectionalLight, PointLight: THREE.PointLight }[l.cls];
      if (!make) continue;
      const intensity = Number.isFinite(Number(l.intensity)) ? Number(l.intensity) : 1;
      const light = new make(new THREE.Color(typeof l.color === 'string' || typeof l.color === 'number' ? l.color : 0xffffff), intensity * Math.PI);
      if (light.isPointLight) light.decay = 0;
      const p = Array.isArray(l.position) && l.position.length === 3 && l.position.every(Number.isFinite) ? l.position : null;
      this.lights.push({ light, offset: p ? new THREE.Vector3(...p) : light.position.clone() });
      this.scene.add(light);
      if (light.target) this.scene.add(light.target);
    }
    this.note.textContent = config.note;
  }

  /** Draws the mesh of `sample` at `step` from its parts (typed arrays as the API sends them). */
  build(step, sample, configText, { vertices, faces, colors }) {
    const { THREE } = this.three;
    if (this.config === null || configText !== this.configText) this.setup(configText);
    const n = Math.floor(vertices.length / 3);
    if (!n) {
      this.dispose();
      this.canvas.getContext('2d').clearRect(0, 0, this.canvas.width, this.canvas.height);
      this.error.textContent = `No vertices logged at step ${step}.`;
      this.foot.textContent = `0 vertices at step ${step}`;
      Object.assign(this.el.dataset, { step: String(step), sample: String(sample), vertices: '0', faces: '0' });
      return;
    }
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute('position', new THREE.BufferAttribute(vertices.subarray(0, 3 * n), 3));
    const notes = [];
    this.hasColors = colors.length === 3 * n && n > 0;
    if (this.hasColors) {
      geometry.setAttribute('color', new THREE.BufferAttribute(Float32Array.from(colors, (c) => LINEAR[c]), 3));
    } else if (colors.length) {
      notes.push(`${plural(colors.length / 3, 'colour')} for ${plural(n, 'vertex', 'vertices')}: drawn in the run's colour.`);
    }
    const bad = badFace(faces, n);
    const triangles = bad ? 0 : Math.floor(faces.length / 3);
    if (triangles) geometry.setIndex(new THREE.BufferAttribute(Uint32Array.from(faces.subarray(0, 3 * triangles)), 1));
    geometry.computeBoundingSphere();
    const colour = this.hasColors ? 0xffffff : this.ctx.state.colorOf(this.run);
    let object;
    if (triangles) {
      geometry.computeVertexNormals();
      object = new THREE.Mesh(geometry, new THREE.MeshStandardMaterial({
        color: colour, vertexColors: this.hasColors, roughness: 1, metalness: 0, side: THREE.DoubleSide,
      }));
    } else {
      object = new THREE.Points(geometry, new THREE.PointsMaterial({ color: colour, vertexColors: this.hasColors }));
    }
    this.dispose();
    this.object = object;
    this.scene.add(object);
    this.applyPointSize();
    const sphere = geometry.boundingSphere;
    const centre = sphere.center;
    for (const { light, offset } of this.lights) {
      light.position.copy(centre).add(offset);
      light.target?.position.copy(centre);
    }
    if (!this.moved) this.fitView();
    this.error.textContent = bad ? `Faces not drawn: faces name vertex ${bad.index} of ${plural(n, 'vertex', 'vertices')}.` : '';
    this.note.textContent = [this.config.note, ...notes].filter(Boolean).join(' ');
    this.sizeBox.hidden = !!triangles;
    const samples = this.sampleSelect.options.length;
    this.foot.textContent = `${plural(n, 'vertex', 'vertices')}, ${plural(triangles, 'face')} at step ${step}${samples > 1 ? ` · sample ${sample + 1} of ${samples}` : ''}`;
    Object.assign(this.el.dataset, {
      step: String(step),
      sample: String(sample),
      vertices: String(geometry.attributes.position.count),
      faces: String(geometry.index ? geometry.index.count / 3 : 0),
      radius: String(sphere.radius),
      points: String(!triangles),
    });
    this.paint();
  }

  /** The points' size: the logged one (or one that suits the mesh's size) times the control's. */
  applyPointSize() {
    if (!this.object?.isPoints) return;
    // Perspective cameras shrink points with distance (size in world units), orthographic ones
    // do not (size in pixels).
    const perspective = this.camera.isPerspectiveCamera;
    const base = this.config.size ?? (perspective ? Math.max(this.object.geometry.boundingSphere.radius, 1e-6) / 40 : 4);
    this.object.material.size = base * 2 ** this.pointScale;
    this.sizeLabel.textContent = `×${(2 ** this.pointScale).toPrecision(2).replace(/\.?0+$/, '')}`;
  }

  /** Points the camera at the mesh's bounding sphere, from `VIEW_DIRECTION`, so that it fills the
   * view with a margin. */
  fitView() {
    if (!this.object) return;
    const { THREE } = this.three;
    const { center, radius: r0 } = this.object.geometry.boundingSphere;
    const r = Math.max(r0, 1e-6);
    const direction = new THREE.Vector3(...VIEW_DIRECTION).normalize();
    const camera = this.camera;
    let distance;
    if (camera.isPerspectiveCamera) {
      distance = (r * MARGIN) / Math.sin((camera.fov * Math.PI) / 360);
    } else {
      distance = 3 * r;
      camera.zoom = 1;
      this.halfHeight = r * MARGIN;
    }
    camera.near = distance / 1000;
    camera.far = distance * 10 + r;
    camera.position.copy(center).addScaledVector(direction, distance);
    this.controls.target.copy(center);
    this.controls.maxDistance = distance * 8;
    this.controls.update();
    this.moved = false;
  }

  setVisible(v) {
    super.setVisible(v);
    if (v && this.unpainted) this.paint();
  }

  /** Renders on the next animation frame (many changes, one render), or when the card is next
   * in view. */
  paint() {
    if (!this.visible) { this.unpainted = true; return; }
    this.unpainted = false;
    if (this.paintFrame || !this.object) return;
    this.paintFrame = requestAnimationFrame(() => {
      this.paintFrame = 0;
      try {
        this.render();
      } catch (e) {
        this.error.textContent = `Could not draw: ${e.message}.`;
      }
    });
  }

  /** Renders the scene with the shared renderer at the canvas' size and copies it there. */
  render() {
    if (!this.object) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(100, Math.floor(this.body.clientWidth || 400));
    const r = sharedRenderer(this.three.THREE);
    const aspect = width / VIEW_HEIGHT;
    const camera = this.camera;
    if (camera.isPerspectiveCamera) {
      camera.aspect = aspect;
    } else {
      Object.assign(camera, { left: -this.halfHeight * aspect, right: this.halfHeight * aspect, top: this.halfHeight, bottom: -this.halfHeight });
    }
    camera.updateProjectionMatrix();
    r.setPixelRatio(dpr);
    r.setSize(width, VIEW_HEIGHT, false);
    r.render(this.scene, camera);
    const { width: w, height: h } = r.domElement;
    if (this.canvas.width !== w || this.canvas.height !== h) Object.assign(this.canvas, { width: w, height: h });
    // Copied in the task that rendered it: the browser clears the drawing buffer only after.
    const g = this.canvas.getContext('2d');
    g.clearRect(0, 0, w, h);
    g.drawImage(r.domElement, 0, 0);
    this.el.dataset.rendered = String(++this.renders);
  }

  resize() {
    this.paint();
  }

  /** Frees the mesh or points drawn (their buffers on the GPU too). */
  dispose() {
    if (!this.object) return;
    this.scene.remove(this.object);
    this.object.geometry.dispose();
    this.object.material.dispose();
    this.object = null;
  }

  destroy() {
    live.delete(this);
    cancelAnimationFrame(this.paintFrame);
    this.dispose();
    this.controls?.dispose();
    super.destroy();
  }
}

/** The Mesh pane: per run a group of [`MeshCard`]s, one per mesh the run logged and the tag
 * filter lets through (matched against the mesh's name). `options.onCount()` is called when the
 * meshes arrived (the page's tab shows how many). */
export class MeshView extends CardsView {
  constructor(ctx, options = {}) {
    super();
    this.ctx = ctx;
    this.onCount = options.onCount || (() => {});
    this.el = el('section', { class: 'pane', dataset: { pane: 'mesh' } });
    this.empty = null;
    /** The tags route's answer, `{run: {mesh: {samples}}}`; null before it came. */
    this.meshes = null;
    /** The mesh series (`run\0tag`) listed when it was asked for: one not among them may be a
     * new mesh, so the answer is asked for again. */
    this.asked = null;
    this.asking = null;
    this.width = 0;
    const { state } = ctx;
    state.subscribe(['runs', 'series', 'selection', 'settings.runFilter', 'settings.tagFilter'], () => this.sync());
    state.subscribe(['runs', 'theme'], () => this.redraw());
    this.sync();
  }

  /** How many meshes a step of the run's mesh holds (the batch size), per the tags route. */
  samplesOf(run, tag) {
    return this.meshes?.[run]?.[tag]?.samples ?? 1;
  }

  /** The keys (`run\0tag`) of the mesh series the page knows. */
  meshSeries() {
    return [...this.ctx.state.series].filter(([, s]) => s.plugin === MESH_PLUGIN).map(([k]) => k);
  }

  /** Whether any run logged a mesh. */
  any() {
    return this.meshSeries().length > 0;
  }

  /** Asks the tags route which meshes the runs have; the cards follow its answer. */
  askMeshes(series) {
    this.asked = new Set(series);
    const asking = getJson('data/plugin/mesh/tags');
    this.asking = asking;
    asking.then((meshes) => {
      if (this.asking !== asking) return;
      this.meshes = meshes;
      this.sync();
      this.onCount();
    }).catch((e) => {
      if (this.asking !== asking) return;
      this.asked = null;
      console.warn('runboard mesh tags', e);
    });
  }

  /** The shown runs' meshes the tag filter lets through, as [run, mesh] in start order. */
  keys() {
    const { state } = this.ctx;
    const out = [];
    for (const run of state.chartRuns()) {
      const names = Object.keys(this.meshes?.[run] ?? {}).filter((name) => state.tagMatches(name));
      for (const name of names.sort()) out.push([run, name]);
    }
    return out;
  }

  /** The number of meshes with a card. */
  count() {
    return new Set([...this.cards.values()].map((c) => c.tag)).size;
  }

  /** Adds and removes cards to match the meshes, the shown runs and the tag filter; asks for the
   * meshes again when a mesh series appeared since. */
  sync() {
    const series = this.meshSeries();
    if (series.some((k) => !this.asked?.has(k))) this.askMeshes(series);
    const keys = this.keys();
    this.place(keys.map(([run, tag]) => ({
      key: `${run}\u0000${tag}`,
      group: run,
      label: this.ctx.state.displayName(run),
      make: () => new MeshCard(this.ctx, this, run, tag),
    })));
    this.renderEmpty(!keys.length);
  }

  /** With no card: how to log meshes, or that the selection and filters hide them. */
  renderEmpty(none) {
    this.empty?.remove();
    this.empty = null;
    if (!none || !this.ctx.state.runs.size || (this.any() && !this.meshes)) return;
    this.empty = this.any()
      ? el('div', { class: 'empty me-empty' }, el('h2', { text: 'No meshes to show' }),
        el('p', { text: 'No selected run has a mesh whose name the tag filter lets through.' }))
      : el('div', { class: 'empty me-empty' }, el('h2', { text: 'No meshes' }),
        el('p', { text: 'Meshes and point clouds are drawn here in 3D per step.' }),
        el('p', {}, 'Log one per step with ', el('code', { text: 'writer.add_mesh(tag, &vertices, &faces, &colors, None, step)' }),
          ' (the Rust SDK) or ', el('code', { text: 'writer.add_mesh(tag, vertices, colors, faces, config_dict, global_step)' }),
          ' (torch.utils.tensorboard).'));
    this.el.prepend(this.empty);
  }

  /** A series changed on the server (the stream's `series` event, tagged `<mesh>_<part>`): the
   * run's mesh cards refetch. A new series shows in the series list first and `sync` asks for
   * the meshes again. */
  changed(run, tag) {
    if (this.ctx.state.series.get(`${run}\u0000${tag}`)?.plugin !== MESH_PLUGIN) return;
    for (const card of this.cards.values()) if (card.run === run) card.changed();
  }

  /** Every card fetches its mesh again, and the meshes are asked for again (after a
   * reconnection). */
  reload() {
    this.asked = null;
    this.sync();
    for (const c of this.cards.values()) c.invalidate();
  }

  /** The views are drawn again only when the pane's width changed. */
  resize() {
    const w = this.el.clientWidth;
    if (w === this.width) return;
    this.width = w;
    super.resize();
  }
}
