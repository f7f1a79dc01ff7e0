// Unit tests of the run table's pure parts (static/js/runtable.js): the order of a sorted
// column, durations for people, and the table's settings in the URL. Run by `node --test`
// (the browser test in tests/browser.rs runs them first).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fmtDuration, readTableUrl, sortRows, writeTableUrl } from '../../static/js/runtable.js';

test('sorting: numbers numerically and before text, text naturally, missing values last both ways', () => {
  const rows = [5, 'b10', null, 0.5, 'b2', undefined, NaN, -1, '', 'a', [], ['x']].map((v, i) => ({ i, v }));
  const order = (dir) => sortRows(rows, (r) => r.v, dir).map((r) => r.v);
  assert.deepEqual(order(1).slice(0, 7), [-1, 0.5, 5, 'a', 'b2', 'b10', ['x']]);
  assert.deepEqual(order(-1).slice(0, 7), [5, 0.5, -1, ['x'], 'b10', 'b2', 'a']);
  // The five missing ones (null, undefined, NaN, '', []) last, in their first order.
  for (const dir of [1, -1]) {
    const tail = sortRows(rows, (r) => r.v, dir).slice(7).map((r) => r.i);
    assert.deepEqual(tail, [2, 5, 6, 8, 10]);
  }
  // Ties keep their order.
  const ties = [{ k: 1, n: 'a' }, { k: 0, n: 'b' }, { k: 1, n: 'c' }];
  assert.deepEqual(sortRows(ties, (r) => r.k, 1).map((r) => r.n), ['b', 'a', 'c']);
  assert.deepEqual(sortRows(ties, (r) => r.k, -1).map((r) => r.n), ['a', 'c', 'b']);
});

test('durations in the unit that fits', () => {
  assert.deepEqual([0, 4.25, 42, 90, 720, 5400, 86400 * 3.21, -1, NaN, null].map(fmtDuration),
    ['0 s', '4.3 s', '42 s', '1.5 min', '12 min', '1.5 h', '3.2 days', '0 s', '', '']);
});

test('the table settings round-trip through the URL, defaults left out', () => {
  const t = { sort: '-m:val/acc:best', hide: ['host', 'c:a b'], show: ['m:loss:min'], filters: { 'c:lr': '>0.1 <1', name: 'x&y=z' }, expr: 'lr < 0.1 and tags has "a b"' };
  const q = new URLSearchParams('tab=runs');
  writeTableUrl(t, q);
  const back = readTableUrl(new URLSearchParams(q.toString()));
  assert.deepEqual({ ...back, hide: [...back.hide], show: [...back.show], filters: { ...back.filters } }, t);
  const empty = new URLSearchParams();
  writeTableUrl(readTableUrl(new URLSearchParams('tab=runs')), empty);
  assert.equal(empty.toString(), '');
});
