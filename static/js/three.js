// three.js for the tabs that draw with WebGL (Mesh, Projector): imported on first use, once for
// the page, so that a page without meshes or 3D projections never fetches its 2 MB.

/** three.js and its OrbitControls, imported once: `{ THREE, OrbitControls }`. */
let three = null;
export function loadThree() {
  if (!three) {
    three = Promise.all([
      import('../vendor/three/build/three.module.js'),
      import('../vendor/three/examples/jsm/controls/OrbitControls.js'),
    ]).then(([THREE, controls]) => ({ THREE, OrbitControls: controls.OrbitControls }));
    three.catch(() => { three = null; });
  }
  return three;
}
