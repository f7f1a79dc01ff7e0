// The server's JSON API and its live stream, as the dashboard uses them.

/** An API failure with the server's `{code, message}`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `path` with `params` as its query (arrays become repeated keys; null and undefined left out). */
function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
  }
  return q.size ? `${path}?${q}` : path;
}

/** The parsed JSON of a successful response; an [`ApiError`] with the server's code otherwise. */
async function answer(res, url) {
  if (!res.ok) {
    let body = {};
    try { body = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, body.code || 'http_error', body.message || `${res.status} ${res.statusText} for ${url}`);
  }
  return res.json();
}

/** A request `static/prefetch.js` started for `url` while the modules loaded, taken once (and
 * only soon after the page opened: later the data may have changed). */
function prefetched(url) {
  const started = globalThis.runboardPrefetch;
  const res = started?.[url];
  if (!res) return null;
  delete started[url];
  return performance.now() < 10_000 ? res : null;
}

/** GET `path` with `params` (arrays become repeated keys) and return the parsed JSON. */
export async function getJson(path, params = {}) {
  const url = withQuery(path, params);
  const early = prefetched(url);
  return answer(await (early || fetch(url, { headers: { accept: 'application/json' } })), url);
}

/** Sends `body` as JSON with `method` (`PATCH`, `DELETE`, ...) to `path` with `params`; returns
 * the parsed answer. The server takes writes only as `application/json` from this origin. */
export async function sendJson(method, path, params, body) {
  const url = withQuery(path, params);
  const res = await fetch(url, {
    method,
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return answer(res, url);
}

/**
 * Follows `/api/v1/stream`: calls `handlers[event](data)` for each event and
 * `onState('live' | 'connecting' | 'offline')` as the connection changes. The browser's
 * EventSource reconnects on its own after a dropped connection; when it gives up (the server
 * answered with an error, or is gone for good), this opens a new one with backoff. Every
 * reconnection calls `onReconnect`, since commits made while disconnected were missed.
 */
export function follow(handlers, onState, onReconnect) {
  let source = null;
  let everOpen = false;
  let retry = 1000;
  let timer = null;
  const open = () => {
    source = new EventSource('api/v1/stream');
    onState('connecting');
    source.onopen = () => {
      onState('live');
      retry = 1000;
      if (everOpen) onReconnect();
      everOpen = true;
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        onState('offline');
        clearTimeout(timer);
        timer = setTimeout(open, retry);
        retry = Math.min(retry * 2, 15_000);
      } else {
        onState('connecting');
      }
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => {
        let data;
        try { data = JSON.parse(e.data); } catch { return; }
        fn(data);
      });
    }
  };
  open();
  return { close: () => { clearTimeout(timer); source?.close(); } };
}
