// Starts the requests the opening tab needs first while the modules load (hundreds of
// milliseconds on a busy machine): the run table on the Runs tab, else the run and series
// lists. js/api.js's getJson takes an answer from here by its URL, once. A classic script, not
// inline (the page's Content-Security-Policy allows only scripts from this origin), run before
// the modules; the URLs are the ones those modules ask for.
(() => {
  const q = new URLSearchParams(location.search);
  const archived = q.get('archived') === '1';
  // The table in the server's order (js/runtable.js serverOrder): its first screen first.
  const sorted = q.get('sort') || q.get('q') || [...q].some(([k, v]) => k.startsWith('f.') && v);
  const table = `api/v1/run_table?${archived ? 'archived=true&' : ''}layout=columns`;
  const urls = q.get('tab') === 'runs'
    ? [sorted ? table : `${table}&limit=100`]
    : [`api/v1/runs${archived ? '?archived=true' : ''}`, 'api/v1/series'];
  const started = {};
  for (const url of urls) {
    const res = fetch(url, { headers: { accept: 'application/json' } });
    res.catch(() => {}); // a failure reaches the taker as its own fetch's would
    started[url] = res;
  }
  globalThis.runboardPrefetch = started;
})();
