// Unit tests of the run table's pure parts (static/js/runtable.js): the order of a sorted
// column, durations for people, the table's settings in the URL, and rows from the server's
// columns layout. Run by `node --test`
// (the browser test in tests/browser.rs runs them first).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fmtDuration, readTableUrl, rowsFromColumns, sortRows, writeTableUrl } from '../../static/js/runtable.js';

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

test('rows from the columns layout: goals guessed or declared, missing series, at_step', () => {
  const data = {
    layout: 'columns',
    runs: [{ name: 'a', config: { lr: 0.1 } }, { name: 'b', config: {} }, { name: 'c', config: {} }],
    metrics: {
      'val/acc': {
        goal: 'max', declared: { 1: 'min' },
        count: [3, 2, null], first_step: [0, 5, null], last_step: [2, 6, null], last: [0.5, 'NaN', null],
        min: [0.1, 0.2, null], max: [0.9, 0.2, null], best_step: [1, 5, null],
        at_step: [0.4, null, null], at_step_step: [1, null, null],
      },
      epoch: {
        goal: null, declared: {},
        count: [null, null, 1], first_step: [null, null, 0], last_step: [null, null, 0], last: [null, null, 1],
        min: [null, null, 1], max: [null, null, 1], best_step: [null, null, null],
      },
    },
  };
  const rows = rowsFromColumns(data);
  assert.deepEqual(rows[0].metrics, {
    'val/acc': { last: 0.5, min: 0.1, max: 0.9, first_step: 0, last_step: 2, count: 3, best: 0.9, best_step: 1, goal: 'max', goal_guessed: true, at_step: 0.4, at_step_step: 1 },
  });
  assert.deepEqual(rows[1].metrics, {
    'val/acc': { last: 'NaN', min: 0.2, max: 0.2, first_step: 5, last_step: 6, count: 2, best: 0.2, best_step: 5, goal: 'min', goal_guessed: false },
  });
  assert.deepEqual(rows[2].metrics, {
    epoch: { last: 1, min: 1, max: 1, first_step: 0, last_step: 0, count: 1, best: null, best_step: null, goal: null, goal_guessed: false },
  });
  assert.deepEqual(rows[0].config, { lr: 0.1 });
});
