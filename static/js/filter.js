// The run table's filters: the filter expression, the same grammar and meaning as the server's
// (src/runs/filter.rs: `/api/v1/run_table?filter=`, `runboard runs --filter`), applied in the
// page so that typing filters at once; and the per-column filters. Pure: no DOM, so
// `node --test tests/browser/filter.test.mjs` runs it as the page does.
//
//   expr       = or
//   or         = and { "or" and }
//   and        = not { "and" not }
//   not        = "not" not | "(" expr ")" | comparison
//   comparison = field op value
//   op         = "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "~" (regex) | "has" (a tag, or a substring)
//   field      = a word of letters, digits and _ . / - : + (or `any text` in backquotes)
//   value      = a number | "text" | 'text' | a word (text)
//
// Keywords are case-insensitive; a backslash in quotes takes the next character as it is.
// Columns count characters from 1. Fields, the first that matches: `name`, `display_name`,
// `status` (`state`), `host`, `commit`, `notes`, `tags`, `archived`, `created` (`started_at`),
// `duration`; a config key; a metric `TAG` (its best, else its last); `TAG.last|min|max|best|
// count|first_step|last_step`; `config.KEY`, `summary.KEY`. Text compares without regard to
// case, numbers numerically (NaN with nothing); a run without the field matches no comparison,
// `!=` included.

/** A filter that does not parse or names a field no run has; `column` is 1-based. */
export class FilterError extends Error {
  constructor(message, column) {
    super(`${message} at column ${column}`);
    this.reason = message;
    this.column = column;
  }
}

const WORD_CHAR = /^[\p{L}\p{N}_./\-:+]$/u;
/** What Rust's `str::parse::<f64>` takes. */
const RUST_F64 = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

/** The tokens of `src`: `{t: 'word'|'quoted'|'num'|'op'|'('|')', v, col}` (col: 1-based, in
 * characters). */
export function tokenize(src) {
  const chars = Array.from(src);
  const out = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i];
    const start = i;
    if (/\s/u.test(c)) { i++; continue; }
    const col = start + 1;
    if (c === '(' || c === ')') {
      out.push({ t: c, v: c, col });
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let v = '';
      i++;
      for (;;) {
        if (i >= chars.length) throw new FilterError('an unclosed quote', col);
        if (chars[i] === '\\' && c !== '`') {
          if (i + 1 < chars.length) v += chars[i + 1];
          i += 2;
        } else if (chars[i] === c) {
          i++;
          break;
        } else {
          v += chars[i++];
        }
      }
      out.push({ t: c === '`' ? 'word' : 'quoted', v, col });
    } else if (c === '=') {
      i += chars[i + 1] === '=' ? 2 : 1;
      out.push({ t: 'op', v: '=', col });
    } else if (c === '!' && chars[i + 1] === '=') {
      i += 2;
      out.push({ t: 'op', v: '!=', col });
    } else if (c === '<' || c === '>') {
      const eq = chars[i + 1] === '=';
      i += eq ? 2 : 1;
      out.push({ t: 'op', v: eq ? `${c}=` : c, col });
    } else if (c === '~') {
      i++;
      out.push({ t: 'op', v: '~', col });
    } else if (WORD_CHAR.test(c)) {
      while (i < chars.length && WORD_CHAR.test(chars[i])) i++;
      const w = chars.slice(start, i).join('');
      if (RUST_F64.test(w) && !/^\p{Alphabetic}/u.test(w)) {
        out.push({ t: 'num', v: rustParse(w), col });
      } else if (w.toLowerCase() === 'has') {
        out.push({ t: 'op', v: 'has', col });
      } else {
        out.push({ t: 'word', v: w, col });
      }
    } else {
      throw new FilterError(`unexpected '${c}'`, col);
    }
  }
  return { tokens: out, end: chars.length + 1 };
}

/** A number as Rust parses it (`inf`, `nan` with a sign, as the lexer lets them through). */
function rustParse(w) {
  const lower = w.toLowerCase().replace(/^\+/, '');
  if (/^-?inf(inity)?$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  if (/^-?nan$/.test(lower)) return NaN;
  return Number(w);
}

/**
 * Parses a filter expression: null for a blank one, else the AST — `{op: 'and'|'or', a, b}`,
 * `{op: 'not', a}` or `{op: 'cmp', field, col, cmp, value: {num}|{text}, re}`. Throws a
 * [`FilterError`] naming the column.
 */
export function parseFilter(src) {
  const { tokens, end } = tokenize(src);
  if (!tokens.length) return null;
  let k = 0;
  const peek = () => tokens[k];
  const column = () => tokens[k]?.col ?? end;
  const keyword = (w) => peek()?.t === 'word' && peek().v.toLowerCase() === w;
  const fail = (message) => { throw new FilterError(message, column()); };

  function or() {
    let a = and();
    while (keyword('or')) { k++; a = { op: 'or', a, b: and() }; }
    return a;
  }
  function and() {
    let a = not();
    while (keyword('and')) { k++; a = { op: 'and', a, b: not() }; }
    return a;
  }
  function not() {
    if (keyword('not')) { k++; return { op: 'not', a: not() }; }
    if (peek()?.t === '(') {
      k++;
      const inner = or();
      if (peek()?.t !== ')') fail("expected ')'");
      k++;
      return inner;
    }
    return comparison();
  }
  function comparison() {
    const col = column();
    if (peek()?.t !== 'word') fail('expected a field name');
    const field = tokens[k++].v;
    if (peek()?.t !== 'op') fail('expected an operator (= != < <= > >= ~ has)');
    const cmp = tokens[k++].v;
    const valueCol = column();
    const v = peek();
    let value;
    if (v?.t === 'num') value = { num: v.v };
    else if (v?.t === 'quoted' || v?.t === 'word') value = { text: v.v };
    else fail('expected a value');
    k++;
    let re = null;
    if (cmp === '~') {
      try {
        re = new RegExp(litText(value), 'i');
      } catch (e) {
        throw new FilterError(`not a regex (${e.message.replace(/^Invalid regular expression: /, '')})`, valueCol);
      }
    }
    return { op: 'cmp', field, col, cmp, value, re };
  }

  const ast = or();
  if (k < tokens.length) fail("expected 'and', 'or' or the end");
  return ast;
}

/** The fields an AST names, with their columns. */
export function fieldsOf(ast) {
  if (!ast) return [];
  if (ast.op === 'and' || ast.op === 'or') return [...fieldsOf(ast.a), ...fieldsOf(ast.b)];
  if (ast.op === 'not') return fieldsOf(ast.a);
  return [{ field: ast.field, col: ast.col }];
}

// ---- the fields of a run ----

/** The summaries of a metric the table offers as columns. */
export const METRIC_STATS = ['last', 'min', 'max', 'best', 'count'];
/** The summaries a `TAG.STAT` field may name. */
const FIELD_STATS = new Set([...METRIC_STATS, 'first_step', 'last_step']);
/** Fields every run may lack but that are never a typo. */
const ALWAYS = new Set(['name', 'display_name', 'status', 'state', 'host', 'commit', 'notes', 'tags',
  'archived', 'created', 'started_at', 'duration']);

const missing = (v) => v === undefined || v === null;
const has = (o, k) => o !== null && typeof o === 'object' && Object.hasOwn(o, k);

/** The value of `field` in a `/api/v1/run_table` row, undefined when the row has none
 * (`field_of` in src/runs/filter.rs). */
export function fieldOf(row, field) {
  return accessorOf(field)(row);
}

/** A function reading `field` from a row (what is known from the name alone worked out once:
 * a filter reads it from every row). */
function accessorOf(field) {
  const get = (v) => (missing(v) ? undefined : v);
  const lower = field.toLowerCase();
  switch (lower) {
    case 'name': return (row) => get(row.name);
    case 'display_name': return (row) => get(row.display_name);
    case 'status': case 'state': return (row) => get(row.status?.state);
    case 'host': case 'commit': case 'notes': case 'tags': case 'archived': return (row) => get(row[lower]);
    case 'created': case 'started_at': return (row) => get(row.started_at);
    case 'duration':
      return (row) => (typeof row.updated_at === 'number' && typeof row.started_at === 'number' ? row.updated_at - row.started_at : undefined);
    default:
  }
  const dot = field.lastIndexOf('.');
  const tag = dot >= 0 && FIELD_STATS.has(field.slice(dot + 1)) ? field.slice(0, dot) : null;
  const stat = tag === null ? null : field.slice(dot + 1);
  const prefixed = [['config.', 'config'], ['summary.', 'summary']].find(([p]) => field.startsWith(p));
  const key = prefixed && field.slice(prefixed[0].length);
  return (row) => {
    if (has(row.config, field)) return get(row.config[field]);
    const metrics = row.metrics || {};
    if (has(metrics, field)) {
      const m = metrics[field];
      return get(missing(m?.best) ? m?.last : m.best);
    }
    if (tag !== null && has(metrics, tag)) return get(metrics[tag]?.[stat]);
    if (prefixed) return has(row[prefixed[1]], key) ? get(row[prefixed[1]][key]) : undefined;
    return undefined;
  };
}

/** A value from the API: numbers, and "NaN" / "Infinity" / "-Infinity" as numbers. */
export function apiNumber(v) {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

/** A value as a number when it is one (booleans 1 and 0, NaN and infinities as the API
 * writes them), else null. */
function number(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return apiNumber(v);
  return null;
}

/** A JSON value as text: a string as it is, anything else as JSON. */
function text(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A number as Rust writes an f64 (`0.0000001`, `1000000000000000000000`: no exponent). */
export function rustFloat(n) {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, first, rest = '', e] = m;
  const digits = first + rest;
  const exp = Number(e);
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${digits}${'0'.repeat(Math.max(0, exp - rest.length))}`;
}

function litText(value) {
  value.lit ??= value.num !== undefined ? rustFloat(value.num) : value.text;
  return value.lit;
}

/** The literal's text in lower case (worked out once). */
function litLower(value) {
  value.lower ??= litText(value).toLowerCase();
  return value.lower;
}

/** Whether a row's value `v` satisfies `cmp value` (`compare` in src/runs/filter.rs). */
function compare(v, cmp, value, re) {
  if (Array.isArray(v)) {
    // A list (tags): `has` and `=` look for an element; `~` matches any element.
    const lit = litLower(value);
    if (cmp === 'has' || cmp === '=') return v.some((x) => text(x).toLowerCase() === lit);
    if (cmp === '!=') return !v.some((x) => text(x).toLowerCase() === lit);
    if (cmp === '~') return v.some((x) => re.test(text(x)));
    return false;
  }
  if (cmp === '~') return re.test(text(v));
  if (cmp === 'has') return text(v).toLowerCase().includes(litLower(value));
  let ord;
  const n = number(v);
  if (n !== null && value.num !== undefined) {
    if (Number.isNaN(n) || Number.isNaN(value.num)) return false; // NaN compares with nothing
    ord = n < value.num ? -1 : n > value.num ? 1 : 0;
  } else if (typeof v === 'boolean' && value.text !== undefined) {
    ord = Number(v) - Number(value.text.toLowerCase() === 'true');
  } else {
    const a = text(v).toLowerCase();
    const b = litLower(value);
    ord = a < b ? -1 : a > b ? 1 : 0;
  }
  switch (cmp) {
    case '=': return ord === 0;
    case '!=': return ord !== 0;
    case '<': return ord < 0;
    case '<=': return ord <= 0;
    case '>': return ord > 0;
    case '>=': return ord >= 0;
    default: return false;
  }
}

/** Whether `row` matches the AST. */
export function matches(ast, row) {
  switch (ast.op) {
    case 'and': return matches(ast.a, row) && matches(ast.b, row);
    case 'or': return matches(ast.a, row) || matches(ast.b, row);
    case 'not': return !matches(ast.a, row);
    default: {
      ast.get ??= accessorOf(ast.field);
      const v = ast.get(row);
      return v !== undefined && compare(v, ast.cmp, ast.value, ast.re);
    }
  }
}

/**
 * Compiles filter text for `rows` (the run table's rows): `{test(row) → bool}`, `test` null
 * for a blank filter. Throws a [`FilterError`] for bad syntax, a regex that does not compile,
 * or a field no row has (a typo; `check_fields` in src/api/runs: not checked without rows).
 */
export function compileFilter(src, rows = []) {
  const ast = parseFilter(src);
  if (!ast) return { test: null };
  if (rows.length) {
    for (const { field, col } of fieldsOf(ast)) {
      const get = accessorOf(field);
      if (ALWAYS.has(field.toLowerCase()) || rows.some((r) => get(r) !== undefined)) continue;
      throw new FilterError(`no run has a field ${JSON.stringify(field)} (a config key, a metric tag, or TAG.best and the like)`, col);
    }
  }
  return { test: (row) => matches(ast, row) };
}

// ---- per-column filters ----

const TERM = /(>=|<=|!=|>|<|=)\s*(\S+)/g;

/** A number written in a column filter, else null. */
function asNumber(s) {
  return s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : null;
}

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
  return (value, shown) => {
    const t = String(shown ?? '').toLowerCase();
    if (!words.every((w) => t.includes(w))) return false;
    return bounds.every(({ op, arg, n }) => {
      if (missing(value)) return false;
      if (n !== null && typeof value === 'number') {
        if (Number.isNaN(value)) return false;
        return { '>': value > n, '>=': value >= n, '<': value < n, '<=': value <= n, '=': value === n, '!=': value !== n }[op];
      }
      const s = Array.isArray(value) ? value.map(String) : [String(value)];
      const a = arg.toLowerCase();
      if (op === '=') return s.some((x) => x.toLowerCase() === a);
      if (op === '!=') return s.every((x) => x.toLowerCase() !== a);
      return false;
    });
  };
}
