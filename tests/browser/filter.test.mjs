// Unit tests of the run table's filters (static/js/filter.js), run by `node --test` (the
// browser test in tests/browser.rs runs them first). The first three tests are those of the
// server's grammar (src/runs/filter.rs), on the same rows with the same answers: the page and
// the API read an expression the same way.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { columnFilter, compileFilter, FilterError, fieldsOf, parseFilter, rustFloat, tokenize } from '../../static/js/filter.js';

/** The rows of src/runs/filter.rs's tests. */
const rows = [
  {
    name: 'sweep/a', display_name: 'baseline', status: { state: 'finished' }, tags: ['baseline', 'v1'], host: 'gpu-1',
    started_at: 100.0, updated_at: 400.0, config: { lr: 0.001, opt: 'adam', bn: true },
    metrics: { 'val/acc': { last: 0.8, best: 0.9, count: 10 }, lr: { last: 0.1, best: null } },
  },
  {
    name: 'sweep/b', display_name: null, status: { state: 'crashed' }, tags: [], host: 'gpu-2',
    started_at: 200.0, updated_at: 210.0, config: { lr: 0.1, opt: 'sgd', bn: false },
    metrics: { 'val/acc': { last: 0.5, best: 'NaN', count: 3 } },
  },
  { name: 'other', status: { state: 'running' }, tags: ['v1'], started_at: 300.0, updated_at: 300.0, config: {}, metrics: {} },
];

function names(expr, on = rows) {
  const { test: t } = compileFilter(expr, on);
  return on.filter((r) => !t || t(r)).map((r) => r.name);
}

/** The error `src` raises: `{reason, column}`. */
function error(src, on = rows) {
  try {
    compileFilter(src, on);
  } catch (e) {
    assert.ok(e instanceof FilterError, `${src}: ${e}`);
    assert.equal(e.message, `${e.reason} at column ${e.column}`);
    return { reason: e.reason, column: e.column };
  }
  assert.fail(`${src} compiled`);
}

test('the issue example and each operator (as the server)', () => {
  assert.deepEqual(names('lr < 0.01 and status = finished and tags has "baseline"'), ['sweep/a']);
  assert.deepEqual(names('lr >= 0.01'), ['sweep/b']);
  assert.deepEqual(names('opt != adam'), ['sweep/b'], 'a run without the key matches nothing');
  assert.deepEqual(names("name ~ '^sweep/'"), ['sweep/a', 'sweep/b']);
  assert.deepEqual(names('tags has V1'), ['sweep/a', 'other']);
  assert.deepEqual(names('not tags has v1'), ['sweep/b']);
  assert.deepEqual(names('status = FINISHED or status = running'), ['sweep/a', 'other']);
  assert.deepEqual(names('(status = crashed or host = gpu-1) and lr > 0.01'), ['sweep/b']);
  assert.deepEqual(names('duration > 100'), ['sweep/a']);
  assert.deepEqual(names('bn = true'), ['sweep/a']);
  assert.deepEqual(names('config.opt = sgd'), ['sweep/b']);
  assert.deepEqual(names('display_name has base'), ['sweep/a']);
});

test('metric fields default to best and name each statistic (as the server)', () => {
  assert.deepEqual(names('val/acc >= 0.9'), ['sweep/a'], 'best where the goal is known');
  assert.deepEqual(names('val/acc.last < 0.6'), ['sweep/b']);
  assert.deepEqual(names('val/acc.count = 10'), ['sweep/a']);
  assert.deepEqual(names('val/acc.best > 0'), ['sweep/a'], 'NaN compares with nothing');
  // A metric named like a config key: the config wins; TAG.STAT reaches the metric.
  assert.deepEqual(names('lr = 0.1'), ['sweep/b']);
  assert.deepEqual(names('lr.last = 0.1'), ['sweep/a']);
  assert.deepEqual(names('config.lr = 0.1'), ['sweep/b']);
});

test('errors point at the column (as the server)', () => {
  assert.deepEqual(error('lr < '), { reason: 'expected a value', column: 6 });
  assert.equal(error('lr 0.1').column, 4);
  assert.equal(error('lr < 1 and').column, 11);
  assert.equal(error('(lr < 1').reason, "expected ')'");
  assert.equal(error('lr < 1 lr').reason, "expected 'and', 'or' or the end");
  assert.equal(error("name ~ '('").column, 8);
  assert.equal(error('x = "open').reason, 'an unclosed quote');
  assert.equal(error('x = 1 ; y').column, 7);
  assert.equal(parseFilter('   '), null, 'blank: no filter');
  assert.deepEqual(fieldsOf(parseFilter('lr < 1 and not (opt = adam)')), [{ field: 'lr', col: 1 }, { field: 'opt', col: 17 }]);
});

test('more errors: their words and columns', () => {
  assert.deepEqual(error('status = finished and lr <'), { reason: 'expected a value', column: 27 });
  assert.deepEqual(error('status finished'), { reason: 'expected an operator (= != < <= > >= ~ has)', column: 8 });
  assert.deepEqual(error('= 1'), { reason: 'expected a field name', column: 1 });
  assert.deepEqual(error('lr < 1 and )'), { reason: 'expected a field name', column: 12 });
  assert.deepEqual(error('lr # 1'), { reason: "unexpected '#'", column: 4 });
  assert.deepEqual(error('lr ! 1'), { reason: "unexpected '!'", column: 4 });
  assert.match(error('name ~ "["').reason, /^not a regex/);
  // Columns count characters, not UTF-16 units.
  assert.deepEqual(error('name = "😀" and'), { reason: 'expected a field name', column: 15 });
  // A field no run has is a typo; fields every run may lack are not.
  assert.deepEqual(error('lr < 1 and val/acc.bogus > 1'), {
    reason: 'no run has a field "val/acc.bogus" (a config key, a metric tag, or TAG.best and the like)', column: 12,
  });
  assert.deepEqual(names('commit = abc'), []);
  assert.deepEqual(names('nope = 1', []), [], 'no rows: nothing to check against');
});

test('tokens: words, numbers, quotes and escapes as the server lexes them', () => {
  const t = (src) => tokenize(src).tokens.map((x) => [x.t, x.v, x.col]);
  assert.deepEqual(t('val/acc.best>=-1e-3'), [['word', 'val/acc.best', 1], ['op', '>=', 13], ['num', -1e-3, 15]]);
  assert.deepEqual(t('a==1 b!=+2 c~.5'), [['word', 'a', 1], ['op', '=', 2], ['num', 1, 4], ['word', 'b', 6], ['op', '!=', 7],
    ['num', 2, 9], ['word', 'c', 12], ['op', '~', 13], ['num', 0.5, 14]]);
  // A word that starts with a digit but is no number stays a word; `inf` is a word, `-inf` a number.
  assert.deepEqual(t('3d_model 1.5.2 inf -inf HAS'), [['word', '3d_model', 1], ['word', '1.5.2', 10], ['word', 'inf', 16],
    ['num', -Infinity, 20], ['op', 'has', 25]]);
  // A backslash takes the next character as it is; backquotes name any field, with no escapes.
  assert.deepEqual(t(String.raw`"say \"hi\"" 'it\'s' "a\\b" "\d" ` + '`my key\\`'), [['quoted', 'say "hi"', 1], ['quoted', "it's", 14],
    ['quoted', 'a\\b', 22], ['quoted', 'd', 29], ['word', 'my key\\', 34]]);
});

test('more semantics: case, text against numbers, booleans, lists', () => {
  const more = [
    { name: 'x', config: { opt: 'Adam', seed: '7', amp: true, w: 1e-7 }, tags: ['Base', 'v2'], metrics: { loss: { last: 'NaN', best: 'NaN' } } },
    { name: 'y', config: { opt: 'sgd', seed: 7, amp: false, w: 2 }, tags: [], metrics: { loss: { last: 0.5, best: 0.25 } } },
  ];
  assert.deepEqual(names('opt = ADAM', more), ['x'], 'text compares without regard to case');
  assert.deepEqual(names('seed = 7', more), ['x', 'y'], 'a number against text compares their text');
  assert.deepEqual(names('seed > 10', more), ['x'], 'text against a number: in text order ("7" > "10")');
  assert.deepEqual(names('amp = TRUE', more), ['x']);
  assert.deepEqual(names('amp < true', more), ['y'], 'false before true');
  assert.deepEqual(names('amp = 1', more), ['x'], 'booleans are 1 and 0 against numbers');
  assert.deepEqual(names('w = 0.0000001', more), ['x']);
  assert.deepEqual(names('tags = base', more), ['x']);
  assert.deepEqual(names('tags != base', more), ['y']);
  assert.deepEqual(names('tags ~ "^v[0-9]"', more), ['x']);
  assert.deepEqual(names('tags > a', more), [], 'lists have no order');
  assert.deepEqual(names('loss != 1', more), ['y'], 'NaN compares with nothing, != included');
  assert.deepEqual(names('loss < 0.3', more), ['y'], 'the best, as the goal is known');
  assert.deepEqual(names('opt has DA', more), ['x']);
  assert.deepEqual(names('`opt` = sgd', more), ['y']);
  assert.deepEqual(names('(opt = sgd OR opt = adam) AND NOT amp = true', more), ['y']);
});

test('Rust writes f64 without an exponent', () => {
  assert.deepEqual([0.1, 1e-7, 1.5e-7, 1e21, 2.5e22, -3e-5, 64, NaN, Infinity].map(rustFloat),
    ['0.1', '0.0000001', '0.00000015', '1000000000000000000000', '25000000000000000000000', '-0.00003', '64', 'NaN', 'inf']);
});

test('column filters: ranges on numbers, words in the text', () => {
  const f = columnFilter('>0.01 <=0.1');
  assert.deepEqual([0.001, 0.01, 0.05, 0.1, 0.2, null, NaN].map((v) => f(v, String(v))), [false, false, true, true, false, false, false]);
  const t = columnFilter('ADA');
  assert.deepEqual(['adam', 'sgd', undefined].map((v) => t(v, v)), [true, false, false]);
  const eq = columnFilter('= adam');
  assert.deepEqual(['Adam', 'adamw'].map((v) => eq(v, v)), [true, false]);
  const tags = columnFilter('=baseline');
  assert.equal(tags(['x', 'baseline'], 'x baseline'), true);
  assert.equal(columnFilter('  '), null);
  const both = columnFilter('> 1 gpu');
  assert.equal(both(2, 'gpu 2'), true);
  assert.equal(both(2, 'cpu 2'), false);
});
