// Small DOM, file and search helpers shared by the dashboard's modules.

/** Creates an element: `attrs` sets properties (`class`, `text`, `dataset`, `on<event>`, others
 * as attributes); children are nodes or strings (inserted as text, never as HTML). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A value from the API: numbers as they are, "NaN" / "Infinity" / "-Infinity" as numbers. */
export function num(v) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v);
}

/** Bytes in binary units. */
export function fmtBytes(b) {
  if (!Number.isFinite(b)) return String(b);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(b) >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return `${b.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** `{re}` for a valid pattern (case-insensitive), `{error}` otherwise; empty matches all. */
export function regex(src) {
  if (!src) return { re: null };
  try {
    return { re: new RegExp(src, 'i') };
  } catch (e) {
    return { error: e.message };
  }
}

/** Saves `blob` as `filename`. */
export function download(filename, blob) {
  const a = el('a', { href: URL.createObjectURL(blob), download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A file name made of `parts`, safe on every system. */
export function fileName(...parts) {
  return parts.join('_').replace(/[^A-Za-z0-9._=-]+/g, '_').replace(/^_+|_+$/g, '') || 'chart';
}

/** A CSS custom property of the page's current theme. */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The index of the last element of sorted `xs` that is <= `x` (-1 when none). */
export function floorIndex(xs, x) {
  let lo = 0;
  let hi = xs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}
