// The run table's filters: the filter expression (a small hand-written parser: tokens → AST →
// a predicate over `/api/v1/run_table` rows), the fields it names, and the per-column filters.
// Pure: no DOM, so `node --test tests/browser/filter.test.mjs` runs it as the page does.
//
// Grammar (keywords are case-insensitive; columns count from 1):
//
//   expr       := or
//   or         := and ("or" and)*
//   and        := unary ("and" unary)*
//   unary      := "not" unary | "(" expr ")" | comparison
//   comparison := field op value
//   op         := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~" | "has"
//   field      := word | `backquoted name`
//   value      := number | "string" | 'string' | word
//   word       := a letter or _ then letters, digits, _ . / : -   (so `val/acc.best` is one word)
//
// Comparing a missing value is false (`not (x = 1)` is true for a run without `x`). Numbers
// compare as numbers, the rest as text; `~` is a case-insensitive regex; `has` is membership
// for tags and a case-insensitive substring otherwise; `=`, `~` on tags hold when some tag does,
// `!=`, `!~` when none does.

/** A filter that does not parse or does not compile; `column` is 1-based. */
export class FilterError extends Error {
  constructor(message, column) {
    super(`${message} at column ${column}`);
    this.column = column;
  }
}

const OPS = ['==', '!=', '<=', '>=', '!~', '=', '<', '>', '~'];
const KEYWORDS = new Set(['and', 'or', 'not', 'has']);
const WORD = /[\p{L}_][\p{L}\p{N}_./:-]*/uy;
const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/y;

/** The tokens of `src`: `{t: 'word'|'kw'|'num'|'str'|'field'|'op'|'('|')'|'end', v, col}`. */
export function tokenize(src) {
  const out = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    const col = i + 1;
    if (c === '(' || c === ')') {
      out.push({ t: c, v: c, col });
      i++;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op) {
      out.push({ t: 'op', v: op === '==' ? '=' : op, col });
      i += op.length;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let v = '';
      let j = i + 1;
      for (; j < src.length && src[j] !== c; j++) {
        // \" and \\ escape; any other backslash stays (regexes keep their \d).
        if (src[j] === '\\' && (src[j + 1] === c || src[j + 1] === '\\')) j++;
        v += src[j];
      }
      if (j >= src.length) throw new FilterError(c === '`' ? 'unclosed ` name' : 'unclosed string', col);
      out.push({ t: c === '`' ? 'field' : 'str', v, col });
      i = j + 1;
      continue;
    }
    NUMBER.lastIndex = i;
    const n = NUMBER.exec(src);
    if (n && (/[\d.]/.test(c) || /[\d.]/.test(src[i + 1] || ''))) {
      out.push({ t: 'num', v: Number(n[0]), text: n[0], col });
      i += n[0].length;
      continue;
    }
    WORD.lastIndex = i;
    const w = WORD.exec(src);
    if (w) {
      const lower = w[0].toLowerCase();
      if (KEYWORDS.has(lower)) out.push({ t: lower === 'has' ? 'op' : 'kw', v: lower, col });
      else out.push({ t: 'word', v: w[0], col });
      i += w[0].length;
      continue;
    }
    throw new FilterError(`unexpected ${JSON.stringify(c)}`, col);
  }
  out.push({ t: 'end', v: '', col: src.length + 1 });
  return out;
}

/**
 * Parses a filter expression. Returns null for an empty one, else the AST:
 * `{op: 'and'|'or', a, b}`, `{op: 'not', a}` or `{op: 'cmp', field, fieldCol, cmp, value, valueCol}`
 * (`value` is `{num}` or `{str}`). Throws a [`FilterError`] naming the column.
 */
export function parseFilter(src) {
  const tokens = tokenize(src);
  if (tokens.length === 1) return null;
  let k = 0;
  const peek = () => tokens[k];
  const next = () => tokens[k++];
  const isKw = (v) => peek().t === 'kw' && peek().v === v;

  function expr() {
    let a = and();
    while (isKw('or')) { next(); a = { op: 'or', a, b: and() }; }
    return a;
  }
  function and() {
    let a = unary();
    while (isKw('and')) { next(); a = { op: 'and', a, b: unary() }; }
    return a;
  }
  function unary() {
    if (isKw('not')) { next(); return { op: 'not', a: unary() }; }
    if (peek().t === '(') {
      next();
      const e = expr();
      if (peek().t !== ')') throw new FilterError('expected ")"', peek().col);
      next();
      return e;
    }
    return comparison();
  }
  function comparison() {
    const f = peek();
    if (f.t !== 'word' && f.t !== 'field') throw new FilterError('expected a field', f.col);
    next();
    const o = peek();
    if (o.t !== 'op') throw new FilterError('expected an operator (= != < <= > >= ~ !~ has)', o.col);
    next();
    const v = peek();
    let value;
    if (v.t === 'num') value = { num: v.v, text: v.text };
    else if (v.t === 'str' || v.t === 'word') value = { str: v.v };
    else throw new FilterError('expected a value', v.col);
    next();
    return { op: 'cmp', field: f.v, fieldCol: f.col, cmp: o.v, value, valueCol: v.col };
  }

  const ast = expr();
  if (peek().t !== 'end') {
    const t = peek();
    const what = t.t === 'op' || t.t === 'kw' || t.t === '(' || t.t === ')' ? `"${t.v}"` : 'a value';
    throw new FilterError(`unexpected ${what} (expected "and", "or" or the end)`, t.col);
  }
  return ast;
}

// ---- the fields of a run ----

/** The summaries of a metric the table offers as columns. */
export const METRIC_STATS = ['last', 'min', 'max', 'best', 'count'];
/** Every stat a metric field may name (`val/acc.best_step`). */
const FIELD_STATS = new Set([...METRIC_STATS, 'first_step', 'last_step', 'best_step']);

/** The fields every run has, with what they read. */
export const BUILTIN_FIELDS = {
  name: (r) => r.name,
  display_name: (r) => r.display_name || r.name,
  status: (r) => r.status?.state ?? 'unknown',
  exit_code: (r) => r.status?.exit_code,
  host: (r) => r.host,
  tags: (r) => r.tags || [],
  notes: (r) => r.notes,
  commit: (r) => r.commit,
  dirty: (r) => r.dirty,
  archived: (r) => !!r.archived,
  created: (r) => r.started_at,
  updated: (r) => r.updated_at,
  duration: (r) => (typeof r.started_at === 'number' && typeof r.updated_at === 'number' ? r.updated_at - r.started_at : null),
};

/** A value from the API: numbers, and "NaN" / "Infinity" / "-Infinity" as numbers. */
export function apiNumber(v) {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

/** The summary a metric's plain name stands for: `best` when a run gives it a goal, else `last`. */
export function defaultStat(schema, tag) {
  return schema.goals?.has(tag) ? 'best' : 'last';
}

/**
 * What field `name` reads, given the table's `schema` (`{configKeys: Set, metricTags: Set,
 * summaryKeys: Set, goals: Set of tags some run has a goal for}`): `{kind: 'builtin', name}`,
 * `{kind: 'config', key}`, `{kind: 'summary', key}` or `{kind: 'metric', tag, stat}`; null when
 * nothing by that name exists. Built-in names win over config keys of the same name
 * (`config.name` reads the config key).
 */
export function resolveField(name, schema) {
  if (Object.hasOwn(BUILTIN_FIELDS, name)) return { kind: 'builtin', name };
  if (name.startsWith('config.') && schema.configKeys.has(name.slice(7))) return { kind: 'config', key: name.slice(7) };
  if (name.startsWith('summary.') && schema.summaryKeys?.has(name.slice(8))) return { kind: 'summary', key: name.slice(8) };
  if (schema.configKeys.has(name)) return { kind: 'config', key: name };
  if (schema.metricTags.has(name)) return { kind: 'metric', tag: name, stat: defaultStat(schema, name) };
  const dot = name.lastIndexOf('.');
  if (dot > 0 && FIELD_STATS.has(name.slice(dot + 1)) && schema.metricTags.has(name.slice(0, dot))) {
    return { kind: 'metric', tag: name.slice(0, dot), stat: name.slice(dot + 1) };
  }
  if (schema.summaryKeys?.has(name)) return { kind: 'summary', key: name };
  return null;
}

/** A function reading the field `spec` (from [`resolveField`]) of a run_table row. */
export function accessor(spec) {
  switch (spec.kind) {
    case 'builtin': return BUILTIN_FIELDS[spec.name];
    case 'config': return (r) => r.config?.[spec.key];
    case 'summary': return (r) => apiNumber(r.summary?.[spec.key]);
    case 'metric': return (r) => apiNumber(r.metrics?.[spec.tag]?.[spec.stat]);
    default: throw new Error(`no field kind ${spec.kind}`);
  }
}

// ---- evaluation ----

const missing = (v) => v === undefined || v === null;

/** `v` as a number when it is one (or a string that is one), else null. */
function asNumber(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function compareOne(v, cmp, value, re) {
  if (missing(v)) return false;
  if (cmp === '~') return re.test(String(v));
  if (cmp === 'has') return String(v).toLowerCase().includes(String(value.str ?? value.text).toLowerCase());
  if (value.num !== undefined) {
    const n = asNumber(v);
    if (n === null) return cmp === '!=';
    if (Number.isNaN(n)) return cmp === '!='; // NaN equals nothing and has no order
    switch (cmp) {
      case '=': return n === value.num;
      case '!=': return n !== value.num;
      case '<': return n < value.num;
      case '<=': return n <= value.num;
      case '>': return n > value.num;
      case '>=': return n >= value.num;
      default: return false;
    }
  }
  const s = String(v);
  if (cmp === '=') return s === value.str;
  if (cmp === '!=') return s !== value.str;
  if (typeof v === 'number') return false; // a number against text: no order
  const c = s.localeCompare(value.str, undefined, { numeric: true });
  switch (cmp) {
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
    default: return false;
  }
}

function compare(v, cmp, value, re) {
  if (Array.isArray(v)) {
    if (cmp === 'has' || cmp === '=') return v.some((x) => String(x) === String(value.str ?? value.text));
    if (cmp === '!=') return !v.some((x) => String(x) === String(value.str ?? value.text));
    if (cmp === '~') return v.some((x) => re.test(String(x)));
    if (cmp === '!~') return !v.some((x) => re.test(String(x)));
    return false;
  }
  if (cmp === '!~') return !missing(v) && !re.test(String(v));
  return compareOne(v, cmp, value, re);
}

/**
 * Compiles filter text into `{test(row) → bool, fields: [spec]}`; an empty text lets every row
 * through (`test` is null). `resolve(name)` gives a field's spec or null. Throws a
 * [`FilterError`] for bad syntax, an unknown field, or a regex that does not compile.
 */
export function compileFilter(src, resolve) {
  const ast = parseFilter(src);
  if (!ast) return { test: null, fields: [] };
  const fields = [];
  const build = (n) => {
    if (n.op === 'and') { const a = build(n.a); const b = build(n.b); return (r) => a(r) && b(r); }
    if (n.op === 'or') { const a = build(n.a); const b = build(n.b); return (r) => a(r) || b(r); }
    if (n.op === 'not') { const a = build(n.a); return (r) => !a(r); }
    const spec = resolve(n.field);
    if (!spec) throw new FilterError(`unknown field "${n.field}"`, n.fieldCol);
    fields.push(spec);
    const get = accessor(spec);
    let re = null;
    if (n.cmp === '~' || n.cmp === '!~') {
      try {
        re = new RegExp(n.value.str ?? n.value.text, 'i');
      } catch (e) {
        throw new FilterError(`bad regex (${e.message.replace(/^Invalid regular expression: /, '')})`, n.valueCol);
      }
    }
    const { cmp, value } = n;
    return (r) => compare(get(r), cmp, value, re);
  };
  return { test: build(ast), fields };
}

// ---- per-column filters ----

const TERM = /(>=|<=|!=|>|<|=)\s*(\S+)/g;

/**
 * A column's filter: `>0.1 <0.5` (a range: every bound holds), `>=3`, `=adam`, `!=0`; other
 * words must appear in the cell's text (case-insensitive). Returns `test(value, text)` (the
 * value for bounds, the shown text for words), or null for an empty filter.
 */
export function columnFilter(src) {
  const bounds = [];
  const rest = src.replace(TERM, (_, op, arg) => {
    bounds.push({ op, arg, n: asNumber(arg) });
    return ' ';
  }).trim().toLowerCase();
  const words = rest ? rest.split(/\s+/) : [];
  if (!bounds.length && !words.length) return null;
  return (value, text) => {
    const t = String(text ?? '').toLowerCase();
    if (!words.every((w) => t.includes(w))) return false;
    return bounds.every(({ op, arg, n }) => {
      const v = value;
      if (missing(v)) return false;
      if (n !== null && typeof v === 'number') {
        if (Number.isNaN(v)) return false;
        return { '>': v > n, '>=': v >= n, '<': v < n, '<=': v <= n, '=': v === n, '!=': v !== n }[op];
      }
      const s = Array.isArray(v) ? v.map(String) : [String(v)];
      const a = arg.toLowerCase();
      if (op === '=') return s.some((x) => x.toLowerCase() === a);
      if (op === '!=') return s.every((x) => x.toLowerCase() !== a);
      return false;
    });
  };
}
