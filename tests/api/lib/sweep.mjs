// sweep.mjs - request bodies generated from an operation's requestBody schema
// in openapi/openapi.yaml, for the contract-driven sweep (sweep.test.mjs).
//
//   bodySchema(method, template)  -> the flattened body schema or null
//   variants(flat, good, {patch}) -> [{name, body, valid}]
//
// A flattened schema is {props: {name: {schema, nullable}}, required, example}:
// $refs followed, allOf merged, an object-level oneOf taken by its first
// branch (the one the minimal body uses), a property's null branch noted.
// `good` maps a field to a value (or a function giving one) that is valid
// for the record the sweep aims at; other fields get a valid value from the
// schema (its example, enum, format, pattern, bounds).  `needs` adds to the
// minimal body the fields a documented rule asks for given its values.  `valid` marks the
// variants that a correct server may accept (the minimal body, an optional
// field added alone, a field at its maxLength...); the rest must be refused.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { DOCUMENT } from './openapi.mjs';

const doc = YAML.parse(readFileSync(DOCUMENT, 'utf8'));
const S = doc.components.schemas;

const resolve = (s) => {
  let o = s;
  for (let i = 0; o && o.$ref && i < 20; i++) o = S[o.$ref.split('/').pop()];
  return o;
};

// {schema (the non-null branch, resolved), nullable}
function prop(s) {
  const r = resolve(s);
  if (r === false || r === undefined) return null;
  const alts = r.oneOf ?? r.anyOf;
  if (alts && !r.type) {
    const nonNull = alts.map(resolve).filter((a) => a.type !== 'null');
    return { schema: nonNull[0], nullable: nonNull.length < alts.length };
  }
  const types = [].concat(r.type ?? []);
  if (types.includes('null')) {
    const t = types.filter((x) => x !== 'null');
    return { schema: { ...r, type: t.length === 1 ? t[0] : t }, nullable: true };
  }
  return { schema: r, nullable: false };
}

function flatten(s) {
  const r = resolve(s);
  const out = { props: {}, required: [], example: r.examples?.[0] ?? {} };
  const merge = (x) => {
    const y = resolve(x);
    for (const part of y.allOf ?? []) merge(part);
    for (const [k, v] of Object.entries(y.properties ?? {})) {
      const p = prop(v);
      if (p && !out.props[k]) out.props[k] = p;
    }
    out.required.push(...(y.required ?? []));
    if (y.oneOf && !y.type && !y.properties) merge(y.oneOf[0]); // ChildSearch: the first way
    else if (y.oneOf && y.oneOf[0].required) out.required.push(...y.oneOf[0].required);
    if (y.examples?.[0] && !Object.keys(out.example).length) out.example = y.examples[0];
  };
  merge(r);
  out.required = [...new Set(out.required)].filter((k) => out.props[k]);
  return out;
}

export function bodySchema(method, template) {
  const op = doc.paths[template]?.[method.toLowerCase()];
  const s = op?.requestBody?.content?.['application/json']?.schema;
  return s ? flatten(s) : null;
}

const inDays = (n) => new Date(Date.now() + n * 86400000);
const day = (n) => inDays(n).toISOString().slice(0, 10);
const instant = (n) => inDays(n).toISOString().replace(/\.\d+Z$/, 'Z');

const PATTERNS = {
  '^\\d{10}$': '9434765919',
  '^\\d{6,7}$': '123456',
  '^https://': 'https://learning.example.org/sweep',
  '^([01]\\d|2[0-3]):[0-5]\\d$': '14:30',
  '^[a-z][a-z0-9_]{0,49}$': 'sweep_id',
};

/** A valid value for a property from its schema alone. */
export function sample(name, p, example = {}) {
  if (name in example && typeof example[name] !== 'string') return example[name];
  const s = p.schema;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.examples?.[0] !== undefined) return s.examples[0];
  if (s.default !== undefined) return s.default;
  const type = [].concat(s.type ?? (s.properties ? 'object' : 'string'))[0];
  switch (type) {
    case 'integer': case 'number': return s.minimum ?? 1;
    case 'boolean': return true;
    case 'array': {
      if (!s.items || !s.minItems) return [];
      const it = prop(s.items);
      return [sample('', it)];
    }
    case 'object': {
      const f = flatten(s);
      return Object.fromEntries(f.required.map((k) => [k, sample(k, f.props[k], f.example)]));
    }
    default:
      if (s.format === 'date') return day(7);
      if (s.format === 'date-time') return instant(1);
      if (s.format === 'uuid') return randomUUID();
      if (s.format === 'email') return 'sweep@example.org';
      if (s.pattern && PATTERNS[s.pattern]) return PATTERNS[s.pattern];
      if (name in example) return example[name];
      return 'Sweep value'.padEnd(s.minLength ?? 1, 'x').slice(0, s.maxLength ?? 100);
  }
}

const isText = (s) => [].concat(s.type)[0] === 'string' && !s.enum && !s.format && !s.pattern && s.const === undefined;
const wrongType = (s) => {
  const t = [].concat(s.type ?? (s.properties ? 'object' : 'string'))[0];
  return { string: 12345, integer: 'seven', number: 'seven', boolean: 'yes', array: 'not a list', object: ['not', 'an', 'object'] }[t] ?? 42;
};

/**
 * The sweep's bodies for one operation.  good(name) gives the value valid for
 * the record aimed at (or undefined); patch: each field alone is the valid
 * shape, there is no minimal body beyond it.
 */
export function variants(flat, good, { patch = false, needs = {}, depth = 0 } = {}) {
  const valueOf = (k) => {
    const g = good(k);
    return g !== undefined ? g : sample(k, flat.props[k], flat.example);
  };
  // needs: fields a documented rule requires given the minimal body's values
  // (an e-learning course states its duration), which a schema cannot say
  const minimal = () => ({ ...Object.fromEntries(flat.required.map((k) => [k, valueOf(k)])), ...needs });
  const out = [];
  const add = (name, body, valid = false) => out.push({ name, body, valid });
  const base = patch ? () => ({}) : minimal;
  if (!patch) add('minimal', minimal(), true);
  for (const [k, p] of Object.entries(flat.props)) {
    const s = p.schema;
    const optional = !flat.required.includes(k);
    const withv = (v) => ({ ...base(), [k]: v });
    if (patch) add(`alone:${k}`, withv(valueOf(k)), true);
    else if (optional) add(`with:${k}`, withv(valueOf(k)), true);
    add(`null:${k}`, withv(null), p.nullable);
    add(`wrong-type:${k}`, withv(wrongType(s)));
    if (s.enum) add(`unknown-enum:${k}`, withv('no_such_value'));
    if ([].concat(s.type)[0] === 'string') {
      add(`empty:${k}`, withv(''), isText(s) && !s.minLength);
      add(`blanks:${k}`, withv('   '));
    }
    if (isText(s) && s.maxLength) {
      add(`maxLength:${k}`, withv('x'.repeat(s.maxLength)), true);
      add(`maxLength+1:${k}`, withv('x'.repeat(s.maxLength + 1)));
    }
    if ([].concat(s.type)[0] === 'string' && !s.enum && s.const === undefined) {
      // characters, not bytes: a schema's maxLength counts code points
      if (isText(s) && s.maxLength) {
        add(`maxLength-multibyte:${k}`, withv('\u00e9'.repeat(s.maxLength)), true);
        add(`maxLength-astral:${k}`, withv('\u{1F600}'.repeat(s.maxLength)), true);
        add(`maxLength+1-multibyte:${k}`, withv('\u00e9'.repeat(s.maxLength + 1)));
      }
      add(`nul:${k}`, withv('a\u0000b'));
      add(`control:${k}`, withv('a\u0001\u001fb'));
      add(`lone-surrogate:${k}`, withv('a\ud800b'));
    }
    if ([].concat(s.type)[0] === 'integer') {
      add(`huge:${k}`, withv(2 ** 53));
      add(`int64-overflow:${k}`, withv(18446744073709551616));
      add(`negative:${k}`, withv(-2147483649));
      if (s.minimum !== undefined) {
        add(`minimum:${k}`, withv(s.minimum), true);
        add(`minimum-1:${k}`, withv(s.minimum - 1));
      }
      if (s.maximum !== undefined) {
        add(`maximum:${k}`, withv(s.maximum), true);
        add(`maximum+1:${k}`, withv(s.maximum + 1));
      }
      add(`fraction:${k}`, withv(1.5));
    }
    const item = [].concat(s.type)[0] === 'array' && s.items ? prop(s.items)?.schema : null;
    if (item && isText(item) && item.maxLength) {
      add(`items-maxLength-multibyte:${k}`, withv(['\u00e9'.repeat(item.maxLength)]), true);
      add(`items-maxLength+1:${k}`, withv(['x'.repeat(item.maxLength + 1)]));
    }
    if ([].concat(s.type)[0] === 'array' && s.maxItems && s.items) {
      const one = valueOf(k)?.[0] ?? sample('', prop(s.items));
      add(`maxItems+1:${k}`, withv(Array(s.maxItems + 1).fill(one)));
    }
    // a nested object (or a list of them): its own fields swept inside it,
    // two levels down at most
    const list = [].concat(s.type)[0] === 'array' && s.items;
    const inner = list ? prop(s.items)?.schema : s;
    if (depth < 2 && inner && (inner.properties || inner.allOf)) {
      const nested = flatten(inner);
      for (const sub of variants(nested, () => undefined, { depth: depth + 1 })) {
        if (!sub.body || typeof sub.body !== 'object' || Array.isArray(sub.body) || sub.name === 'minimal') continue;
        add(`${k}.${sub.name}`, withv(list ? [sub.body] : sub.body), sub.valid);
      }
    }
    if (!optional && !patch) {
      const b = minimal();
      delete b[k];
      add(`missing:${k}`, b);
    }
  }
  add('unknown-field', { ...(patch ? { [Object.keys(flat.props)[0]]: valueOf(Object.keys(flat.props)[0]) } : minimal()), sweep_unknown: 1 });
  add('server-owned:id', { ...base(), id: randomUUID() });
  add('empty-object', {}, patch || flat.required.length === 0);
  add('array', []);
  add('bare-string', 'sweep');
  add('bare-null', null);
  // bodies that are not JSON a schema can judge, sent as raw text
  if (depth === 0) {
    const m = JSON.stringify(base());
    const first = Object.keys(flat.props)[0];
    const raw = (name, text) => out.push({ name, raw: text, valid: false });
    raw('raw:truncated', m.slice(0, Math.max(1, m.length - 2)));
    raw('raw:trailing-garbage', `${m} x`);
    raw('raw:duplicate-key', `{"${first}":1,${m.slice(1)}`.replace(/,}$/, '}'));
    raw('raw:deep-nesting', `{"${first}":${'['.repeat(3000)}${']'.repeat(3000)}}`);
    raw('raw:invalid-utf8', Buffer.concat([Buffer.from(`{"${first}":"`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]));
    raw('raw:bom', `\ufeff${m}`);
    raw('raw:empty', '');
    raw('raw:escaped-nul-key', `{"${first}\\u0000x":1}`);
  }
  return out;
}

// --- paths, query strings and headers (sweep-params.test.mjs) ---------------

const derefAny = (o) => {
  let x = o;
  for (let i = 0; x && x.$ref && i < 20; i++) x = x.$ref.slice(2).split('/').reduce((a, k) => a?.[k], doc);
  return x;
};

/** The parameters an operation declares: [{in, name, required, schema}]. */
export function parameters(method, template) {
  const item = doc.paths[template];
  const op = item?.[method.toLowerCase()];
  if (!op) return [];
  return [...(item.parameters ?? []), ...(op.parameters ?? [])].map(derefAny)
    .map((p) => ({ in: p.in, name: p.name, required: !!p.required, schema: resolve(p.schema) ?? {} }));
}

/** Whether an operation takes a JSON request body. */
export const hasJsonBody = (method, template) => !!doc.paths[template]?.[method.toLowerCase()]?.requestBody;

/** Every operation as [method, template]. */
export const allOperations = () => Object.entries(doc.paths).flatMap(([t, item]) => (
  ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]).map((m) => [m.toUpperCase(), t])));

const enc = encodeURIComponent;

/** A value the contract allows for a query parameter (a period's `to` is today, its `from` a month before). */
export function validQueryValue(p) {
  const s = p.schema;
  if (s.enum) return s.enum[0];
  if (s.format === 'date') return day(p.name === 'to' || p.name === 'due_before' ? 0 : -30);
  if (s.format === 'date-time') return inDays(p.name === 'to' ? 0 : -30).toISOString().replace(/\.\d+Z$/, 'Z');
  if (s.format === 'uuid') return randomUUID();
  if (s.type === 'integer') return String(s.minimum ?? 1);
  return 'sweep';
}

/**
 * The query strings for one query parameter, from its schema: [{name, qs,
 * expect}] where expect is 'ok' (a correct server answers 2xx), 'refuse' (a
 * 400 whose type is one of `types`) or 'any' (no 5xx, documented).  qs is
 * already encoded (it may hold escapes on purpose).
 */
export function queryVariants(p) {
  const s = p.schema;
  const out = [];
  const n = p.name;
  const add = (name, value, expect, types = ['/problems/invalid-query']) => out.push({ name: `${n}:${name}`, param: n, qs: `${enc(n)}=${value}`, expect, types });
  const cursor = n === 'cursor';
  add('empty', '', cursor ? 'refuse' : 'refuse', ['/problems/invalid-query', '/problems/invalid-cursor']);
  add('nul', 'a%00b', 'refuse');
  add('bad-escape', '%zz', 'refuse');
  add('truncated-utf8', '%C3', 'refuse');
  add('overlong-utf8', '%C0%AF', 'refuse');
  add('lone-surrogate', '%ED%A0%80', 'refuse');
  add('over-long', 'x'.repeat(4000), 'refuse', ['/problems/invalid-query', '/problems/invalid-cursor']);
  add('control', 'a%01b', cursor || s.enum || s.format || s.type === 'integer' ? 'refuse' : 'any', ['/problems/invalid-query', '/problems/invalid-cursor']);
  add('plus-space', 'a+b', 'any', ['/problems/invalid-query', '/problems/invalid-cursor']);
  if (s.enum) {
    for (const v of s.enum) add(`enum=${v}`, enc(v), 'ok');
    add('unknown-enum', 'no_such_value', 'refuse');
    add('enum-upper-case', enc(String(s.enum[0]).toUpperCase()), String(s.enum[0]).toUpperCase() === s.enum[0] ? 'ok' : 'refuse');
    add('enum-padded', `%20${enc(s.enum[0])}`, 'refuse');
    add('multibyte', enc('\u00e9t\u00e9'), 'refuse');
    if (s.enum.includes('true')) for (const b of ['yes', '1', 'TRUE', 'on']) add(`boolean-${b}`, b, 'refuse');
  } else if (s.type === 'integer') {
    if (s.minimum !== undefined) { add('minimum', String(s.minimum), 'ok'); add('minimum-1', String(s.minimum - 1), 'refuse'); }
    if (s.maximum !== undefined) { add('maximum', String(s.maximum), 'ok'); add('maximum+1', String(s.maximum + 1), 'refuse'); }
    for (const [k, v] of [['fraction', '1.5'], ['exponent', '1e2'], ['hex', '0x10'], ['plus', '%2B5'], ['space', '%205'], ['word', 'five'],
      ['huge', '99999999999999999999'], ['int64-min', '-9223372036854775808'], ['negative', '-1'], ['leading-zeros', '007'], ['trailing-junk', '5x']]) {
      add(k, v, k === 'leading-zeros' ? 'any' : 'refuse');
    }
  } else if (s.format === 'date') {
    add('valid', validQueryValue(p), 'ok');
    add('zeros', '0000-00-00', 'refuse');
    add('year-zero', '0000-01-01', 'any');
    add('feb-30', '2026-02-30', 'refuse');
    add('month-13', '2026-13-01', 'refuse');
    add('max', '9999-12-31', 'any');
    add('far-past', '0001-01-01', 'any');
    add('year-5-digits', '10000-01-01', 'refuse');
    add('short', '2026-1-1', 'refuse');
    add('compact', '20260101', 'refuse');
    add('instant', '2026-01-01T00:00:00Z', 'refuse');
    add('multibyte', enc('2026-01-0\u0661'), 'refuse');
  } else if (s.format === 'date-time') {
    add('valid', validQueryValue(p), 'ok');
    add('microseconds', '2025-06-01T10:00:00.123456Z', 'ok');
    add('feb-30', '2026-02-30T10:00:00Z', 'refuse');
    add('hour-24', '2026-01-01T24:00:00Z', 'refuse');
    add('max', '9999-12-31T23:59:59Z', 'any');
    add('far-past', '0001-01-01T00:00:00Z', 'any');
    add('year-zero', '0000-01-01T00:00:00Z', 'any');
    add('date-only', '2026-01-01', 'any');
    add('word', 'yesterday', 'refuse');
    add('offset', enc('2026-01-01T10:00:00+01:00'), 'any');
  } else if (s.format === 'uuid') {
    add('unknown', randomUUID(), 'ok');
    add('nil', '00000000-0000-0000-0000-000000000000', 'ok');
    add('malformed', 'not-a-uuid', 'refuse');
    add('no-hyphens', randomUUID().replace(/-/g, ''), 'refuse');
    add('braces', enc(`{${randomUUID()}}`), 'refuse');
    add('upper-case', randomUUID().toUpperCase(), 'ok');
  } else if (!cursor && n !== 'since') {
    // a free text filter: counted in characters, as the contract counts
    if (s.maxLength) {
      add('maxLength', 'x'.repeat(s.maxLength), 'ok');
      add('maxLength+1', 'x'.repeat(s.maxLength + 1), 'refuse');
      add('maxLength-multibyte', enc('\u00e9'.repeat(s.maxLength)), 'ok');
      add('maxLength+1-multibyte', enc('\u00e9'.repeat(s.maxLength + 1)), 'refuse');
    }
    add('multibyte', enc('\u00e9\u{1F600}'), 'ok');
    add('quote', enc("a'b\"c\\d%_"), 'ok');
  } else {
    // an opaque position: refused unless the server issued it
    add('junk', 'AAAA', 'refuse', ['/problems/invalid-cursor', '/problems/invalid-query']);
    add('json', enc('{"a":1}'), 'refuse', ['/problems/invalid-cursor', '/problems/invalid-query']);
    if (s.maxLength) add('maxLength+1', 'A'.repeat(s.maxLength + 1), 'refuse', ['/problems/invalid-cursor', '/problems/invalid-query']);
  }
  return out;
}
