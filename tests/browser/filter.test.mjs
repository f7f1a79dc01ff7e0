// Unit tests of the run table's filter grammar (static/js/filter.js), run by `node --test` (the
// browser test in tests/browser.rs runs them first).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  columnFilter, compileFilter, FilterError, parseFilter, resolveField, tokenize,
} from '../../static/js/filter.js';

const schema = {
  configKeys: new Set(['lr', 'optimizer', 'seed', 'amp', 'name']),
  metricTags: new Set(['loss', 'val/acc', 'train.x']),
  summaryKeys: new Set(['final']),
  goals: new Set(['val/acc', 'loss']),
};
const resolve = (name) => resolveField(name, schema);

const run = (name, extra = {}) => ({
  name,
  display_name: null,
  tags: [],
  notes: '',
  archived: false,
  status: { state: 'finished', exit_code: 0, message: null },
  host: 'gpu-1',
  started_at: 1000,
  updated_at: 1600,
  config: {},
  summary: {},
  metrics: {},
  ...extra,
});

const rows = [
  run('a', {
    config: { lr: 0.1, optimizer: 'adam', seed: 1, amp: true, name: 'cfg-a' },
    tags: ['baseline', 'v2'],
    metrics: { 'val/acc': { last: 0.8, best: 0.9, min: 0.1, max: 0.9, count: 100, goal: 'max' }, loss: { last: 0.3, best: 0.2, goal: 'min' } },
  }),
  run('b', {
    config: { lr: 0.01, optimizer: 'sgd', seed: 2, amp: false },
    status: { state: 'running', exit_code: null, message: null },
    metrics: { 'val/acc': { last: 0.85, best: 0.95, count: 50, goal: 'max' }, loss: { last: 'NaN', best: 0.1, goal: 'min' } },
  }),
  run('c', {
    config: { lr: 0.001, optimizer: 'adam', seed: 3 },
    tags: ['baseline'],
    display_name: 'The <b>best</b> run',
    status: { state: 'crashed', exit_code: 101, message: 'panicked' },
    host: 'gpu-2',
    metrics: { 'train.x': { last: 5 } },
    summary: { final: 'Infinity' },
  }),
  run('d', { config: { optimizer: 'Adam' }, host: null, started_at: null }),
];

/** The names of the rows `src` lets through. */
function names(src) {
  const { test: t } = compileFilter(src, resolve);
  return rows.filter((r) => !t || t(r)).map((r) => r.name).join(',');
}

/** The error `src` raises. */
function error(src) {
  try {
    compileFilter(src, resolve);
  } catch (e) {
    assert.ok(e instanceof FilterError, `${src}: ${e}`);
    return e.message;
  }
  assert.fail(`${src} compiled`);
}

test('tokens carry their columns', () => {
  const t = tokenize('lr <= 0.01 and tags has "base line"');
  assert.deepEqual(t.map((x) => [x.t, x.v, x.col]), [
    ['word', 'lr', 1], ['op', '<=', 4], ['num', 0.01, 7], ['kw', 'and', 12], ['word', 'tags', 16],
    ['op', 'has', 21], ['str', 'base line', 25], ['end', '', 36],
  ]);
  assert.deepEqual(tokenize('val/acc.best>-1e-3').map((x) => x.v), ['val/acc.best', '>', -1e-3, '']);
});

test('strings: both quotes, \\" and \\\\ escape, other backslashes stay (regexes)', () => {
  assert.deepEqual(tokenize(`"say \\"hi\\"" 'it\\'s' "a\\\\b" "\\d+"`).map((x) => x.v), ['say "hi"', "it's", 'a\\b', '\\d+', '']);
});

test('precedence: not binds tighter than and, and tighter than or', () => {
  const ast = parseFilter('not a = 1 or b = 2 and c = 3');
  assert.equal(ast.op, 'or');
  assert.equal(ast.a.op, 'not');
  assert.equal(ast.b.op, 'and');
  assert.equal(parseFilter('(a = 1 or b = 2) and c = 3').op, 'and');
  assert.equal(parseFilter('   '), null);
});

test('the example from the issue', () => {
  assert.equal(names('lr < 0.05 and status = finished and tags has "baseline"'), '');
  assert.equal(names('lr < 0.2 and status = finished and tags has "baseline"'), 'a');
  assert.equal(names('lr < 0.01'), 'c');
});

test('numbers compare as numbers, missing values never match', () => {
  assert.equal(names('lr >= 0.01'), 'a,b');
  assert.equal(names('lr != 0.1'), 'b,c');
  assert.equal(names('not lr = 0.1'), 'b,c,d');
  assert.equal(names('seed = 2'), 'b');
  assert.equal(names('created > 0'), 'a,b,c');
  assert.equal(names('duration = 600'), 'a,b,c');
});

test('text compares exactly; ~ is a case-insensitive regex; has is a substring off tags', () => {
  assert.equal(names('optimizer = adam'), 'a,c');
  assert.equal(names("optimizer = 'Adam'"), 'd');
  assert.equal(names('optimizer ~ "^ad"'), 'a,c,d');
  assert.equal(names('optimizer !~ "^ad"'), 'b');
  assert.equal(names('display_name has BEST'), 'c');
  assert.equal(names('host = "gpu-2" or host = gpu-1'), 'a,b,c');
  assert.equal(names('amp = true'), 'a');
  assert.equal(names('status = crashed and exit_code = 101'), 'c');
});

test('tags: has and = match one tag, != none, ~ some', () => {
  assert.equal(names('tags has baseline'), 'a,c');
  assert.equal(names('tags = v2'), 'a');
  assert.equal(names('tags != baseline'), 'b,d');
  assert.equal(names('tags ~ "^v\\d"'), 'a');
  assert.equal(names('not tags has "baseline" and not tags has v2'), 'b,d');
});

test('metrics: a plain tag is its default summary, tag.stat a summary; NaN matches nothing but !=', () => {
  assert.equal(names('val/acc > 0.92'), 'b'); // best (the tag has a goal)
  assert.equal(names('val/acc.last > 0.82'), 'b');
  assert.equal(names('val/acc.count >= 100'), 'a');
  assert.equal(names('loss.last < 1'), 'a');
  assert.equal(names('loss.last != 1'), 'a,b');
  assert.equal(names('train.x = 5'), 'c'); // a tag with a dot that is no stat
  assert.equal(names('train.x.last = 5'), 'c');
  assert.equal(names('final > 1e300'), 'c');
});

test('built-in names win over config keys; config. reads the key', () => {
  assert.equal(names('name = a'), 'a');
  assert.equal(names('config.name = "cfg-a"'), 'a');
  assert.equal(names('config.lr = 0.01'), 'b');
  assert.equal(names('summary.final > 0'), 'c');
  assert.equal(names('`lr` = 0.001'), 'c');
});

test('keywords are case-insensitive, parentheses group', () => {
  assert.equal(names('(optimizer = adam OR optimizer = sgd) AND NOT seed = 1'), 'b,c');
});

test('errors name their column', () => {
  assert.equal(error('lr < and'), 'expected a value at column 6');
  assert.equal(error('lr < 0.01 and'), 'expected a field at column 14');
  assert.equal(error('status finished'), 'expected an operator (= != < <= > >= ~ !~ has) at column 8');
  assert.equal(error('(lr < 1'), 'expected ")" at column 8');
  assert.equal(error('lr < 1)'), 'unexpected ")" (expected "and", "or" or the end) at column 7');
  assert.equal(error('lr < 1 lr'), 'unexpected a value (expected "and", "or" or the end) at column 8');
  assert.equal(error('name = "abc'), 'unclosed string at column 8');
  assert.equal(error('lr # 1'), 'unexpected "#" at column 4');
  assert.equal(error('nope = 1'), 'unknown field "nope" at column 1');
  assert.equal(error('lr = 1 and val/acc.bogus > 1'), 'unknown field "val/acc.bogus" at column 12');
  assert.match(error('name ~ "("'), /^bad regex .* at column 8$/);
  assert.equal(error('= 1'), 'expected a field at column 1');
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
