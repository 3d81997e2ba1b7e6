// check-codes.mjs - the error catalogue in openapi/openapi.yaml against the
// code that sends it.  Like check-routes.mjs does for routes, it reads the
// sources, not a running server:
//
//   - every `code` an `errors[]` item can carry: the code argument of every
//     verrs_add() call in api/ and every `.check_code = "..."` of a field
//     spec, must be in FieldError.code's enum, with a line in its
//     x-enumDescriptions; and every code the document lists must be sent;
//   - every problem `type`: the slug of every http_problem() and
//     http_problem_errors() call in api/ and every "type" nginx writes in
//     nginx/problems.conf, must be in Problem.type's enum and in the table of
//     the document's introduction; and the other way round.
//
// A function that passes its own parameter on as the code or slug (e.g.
// panels_invalid(r, field, code, message)) is followed to its callers; an
// argument whose values cannot be read from the source (neither string
// literals, a spec's check_code, nor such a parameter) is an error, so a code
// cannot slip past unseen.  Prints every difference and exits 1; a match
// prints one summary line.
//
//   node tests/tools/check-codes.mjs
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Blanks out comments (keeping strings and line numbers). */
export function stripComments(text) {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const j = text.indexOf('*/', i + 2);
      const end = j < 0 ? text.length : j + 2;
      out += text.slice(i, end).replace(/[^\n]/g, ' ');
      i = end;
    } else if (c === '/' && text[i + 1] === '/') {
      let j = text.indexOf('\n', i);
      if (j < 0) j = text.length;
      out += ' '.repeat(j - i);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The arguments of the call whose '(' is at open: [{text, at}], and the index after ')'. */
function callArgs(text, open) {
  const args = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      i = j;
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        args.push({ text: text.slice(start, i), at: start });
        return { args, end: i + 1 };
      }
    } else if (c === ',' && depth === 1) {
      args.push({ text: text.slice(start, i), at: start });
      start = i + 1;
    }
  }
  return { args, end: text.length };
}

/** The C string literals in an expression (adjacent literals joined). */
function literals(expr) {
  const out = [];
  const re = /"((?:[^"\\]|\\.)*)"(?:\s*"((?:[^"\\]|\\.)*)")*/g;
  for (let m; (m = re.exec(expr));) out.push(m[0].replace(/"\s*"/g, '').slice(1, -1));
  return out;
}

/** Every top-level function definition: {name, params: [names], from, to}. */
function functions(text) {
  const out = [];
  const re = /\b([A-Za-z_]\w*)\s*\(([^()]*)\)\s*\{/g;
  let depthAt = 0;
  let pos = 0;
  const depthBefore = (idx) => {
    for (; pos < idx; pos++) {
      const c = text[pos];
      if (c === '"' || c === "'") {
        let j = pos + 1;
        while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
        pos = j;
      } else if (c === '{') depthAt++;
      else if (c === '}') depthAt--;
    }
    return depthAt;
  };
  for (let m; (m = re.exec(text));) {
    if (['if', 'for', 'while', 'switch', 'return', 'sizeof'].includes(m[1])) continue;
    if (depthBefore(m.index) !== 0) continue;
    const bodyOpen = m.index + m[0].length - 1;
    const { end } = callArgs(text, bodyOpen);
    const params = m[2].split(',').map((p) => (/(\w+)\s*(\[\s*\])?\s*$/.exec(p.trim()) || [])[1]).filter(Boolean);
    out.push({ name: m[1], params, from: bodyOpen, to: end });
    re.lastIndex = end;
    pos = end;
  }
  return out;
}

const lineOf = (text, idx) => text.slice(0, idx).split('\n').length;

/**
 * Scans C sources ([{path, text}]) for the codes and slugs they send.
 * Returns {codes: Map(code -> [where]), types: Map(slug -> [where]), errors: [message]}.
 */
export function scanSources(files) {
  const codes = new Map();
  const types = new Map();
  const errors = [];
  // function name -> {arg: index of the code or slug, kind: 'code' | 'type'}
  const targets = new Map([
    ['verrs_add', { arg: 2, kind: 'code' }],
    ['http_problem', { arg: 2, kind: 'type' }],
    ['http_problem_errors', { arg: 2, kind: 'type' }],
  ]);
  const add = (kind, value, where) => {
    const map = kind === 'code' ? codes : types;
    if (!map.has(value)) map.set(value, []);
    map.get(value).push(where);
  };
  const parsed = files.map(({ path, text }) => {
    const clean = stripComments(text);
    return { path, clean, fns: functions(clean) };
  });
  for (const { path, clean } of parsed) {
    for (const m of clean.matchAll(/\.check_code\s*=\s*("(?:[^"\\]|\\.)*")/g)) {
      add('code', literals(m[1])[0], `${path}:${lineOf(clean, m.index)}`);
    }
  }
  // a problem body written by hand: {"type": "/problems/...", ...}
  for (const { path, clean } of parsed) {
    for (const m of clean.matchAll(/"(\/problems\/[a-z0-9-]+)"/g)) add('type', m[1], `${path}:${lineOf(clean, m.index)}`);
  }
  // a function that writes the type itself from its slug parameter
  // ("/problems/%s"), as training_problem_existing() does
  for (const { path, clean, fns } of parsed) {
    for (const m of clean.matchAll(/"\/problems\/%s"/g)) {
      const fn = fns.find((f) => m.index > f.from && m.index < f.to);
      const where = `${path}:${lineOf(clean, m.index)}`;
      if (fn && fn.params.includes('slug')) targets.set(fn.name, { arg: fn.params.indexOf('slug'), kind: 'type' });
      else errors.push(`${where}: cannot tell which problem types "/problems/%s" makes: take the slug as a parameter named slug`);
    }
  }
  const done = new Set();
  for (let again = true; again;) {
    again = false;
    for (const [name, target] of [...targets]) {
      if (done.has(name)) continue;
      done.add(name);
      for (const { path, clean, fns } of parsed) {
        const re = new RegExp(`\\b${name}\\s*\\(`, 'g');
        for (let m; (m = re.exec(clean));) {
          const open = m.index + m[0].length - 1;
          const where = `${path}:${lineOf(clean, m.index)}`;
          const fn = fns.find((f) => m.index > f.from && m.index < f.to);
          if (!fn) continue; // a declaration, a prototype or the definition itself
          const { args } = callArgs(clean, open);
          const arg = args[target.arg];
          if (!arg) {
            errors.push(`${where}: ${name}() has no argument ${target.arg + 1}`);
            continue;
          }
          const expr = arg.text.trim();
          const lits = literals(expr);
          if (lits.length) {
            for (const l of lits) add(target.kind, target.kind === 'type' ? `/problems/${l}` : l, where);
          } else if (/(->|\.)check_code$/.test(expr)) {
            // a field spec's check_code: read from the specs themselves
          } else if (target.kind === 'code' && /\.items\[[^\]]+\]\.code$/.test(expr)) {
            // a code copied from another list of errors, read where it was added
          } else if (/^\w+$/.test(expr) && fn.params.includes(expr)) {
            const wrapper = { arg: fn.params.indexOf(expr), kind: target.kind };
            const known = targets.get(fn.name);
            if (!known) {
              targets.set(fn.name, wrapper);
              again = true;
            } else if (known.arg !== wrapper.arg || known.kind !== wrapper.kind) {
              errors.push(`${where}: ${fn.name}() passes more than one of its parameters on as a ${target.kind}`);
            }
          } else {
            errors.push(`${where}: cannot tell which ${target.kind === 'code' ? 'error codes' : 'problem types'} `
              + `${name}(..., ${expr}, ...) sends: pass a string literal or a parameter of ${fn.name}()`);
          }
        }
      }
    }
  }
  return { codes, types, errors };
}

/** The "type" values nginx writes itself (nginx/problems.conf). */
export function scanNginx(text, path = 'nginx/problems.conf') {
  const types = new Map();
  for (const m of text.matchAll(/"type":"(\/problems\/[a-z0-9-]+)"/g)) {
    if (!types.has(m[1])) types.set(m[1], []);
    types.get(m[1]).push(`${path}:${lineOf(text, m.index)}`);
  }
  return types;
}

/** What the document publishes: {codes, codeDescriptions, types, typeTable}. */
export function documented(doc) {
  const s = doc.components?.schemas ?? {};
  const code = s.FieldError?.properties?.code ?? {};
  const type = s.Problem?.properties?.type ?? {};
  const table = new Map();
  for (const m of (doc.info?.description ?? '').matchAll(/^\|\s*`(\/problems\/[a-z0-9-]+)`\s*\|\s*(\d{3})\s*\|\s*(.+?)\s*\|\s*$/gm)) {
    table.set(m[1], { status: Number(m[2]), meaning: m[3] });
  }
  return {
    codes: code.enum ?? [],
    codeDescriptions: code['x-enumDescriptions'] ?? {},
    types: type.enum ?? [],
    typeTable: table,
  };
}

/** Every difference between what is sent and what is documented, as lines. */
export function compare(sent, doc) {
  const out = [...sent.errors];
  const codes = new Set(doc.codes);
  for (const [c, where] of sent.codes) {
    if (!codes.has(c)) out.push(`error code "${c}" is sent (${where[0]}) but FieldError.code does not list it`);
  }
  for (const c of doc.codes) {
    if (!sent.codes.has(c)) out.push(`error code "${c}" is in FieldError.code but nothing sends it`);
    if (!doc.codeDescriptions[c]) out.push(`error code "${c}" has no line in FieldError.code's x-enumDescriptions`);
  }
  for (const c of Object.keys(doc.codeDescriptions)) {
    if (!codes.has(c)) out.push(`x-enumDescriptions explains "${c}", which FieldError.code does not list`);
  }
  const types = new Set(doc.types);
  for (const [t, where] of sent.types) {
    if (!types.has(t)) out.push(`problem type "${t}" is sent (${where[0]}) but Problem.type does not list it`);
  }
  for (const t of doc.types) {
    if (!sent.types.has(t)) out.push(`problem type "${t}" is in Problem.type but nothing sends it`);
    if (!doc.typeTable.has(t)) out.push(`problem type "${t}" has no row in the introduction's table of problems`);
  }
  for (const t of doc.typeTable.keys()) {
    if (!types.has(t)) out.push(`the introduction's table explains "${t}", which Problem.type does not list`);
  }
  return out;
}

function cFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return cFiles(p);
    return /\.[ch]$/.test(name) ? [p] : [];
  });
}

/** The whole check on this tree: the differences, as lines. */
export function checkTree(root = ROOT) {
  const files = cFiles(join(root, 'api')).filter((p) => !p.includes(`${join('api', 'tools')}`))
    .map((p) => ({ path: relative(root, p), text: readFileSync(p, 'utf8') }));
  const sent = scanSources(files);
  for (const [t, where] of scanNginx(readFileSync(join(root, 'nginx/problems.conf'), 'utf8'))) {
    if (!sent.types.has(t)) sent.types.set(t, []);
    sent.types.get(t).push(...where);
  }
  const doc = documented(YAML.parse(readFileSync(join(root, 'openapi/openapi.yaml'), 'utf8')));
  return { differences: compare(sent, doc), sent, doc };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { differences, sent } = checkTree();
  for (const d of differences) console.log(d);
  if (differences.length) {
    console.log(`error codes and problem types differ from openapi.yaml: ${differences.length} difference(s)`);
    process.exit(1);
  }
  console.log(`error codes and problem types match openapi.yaml: ${sent.codes.size} codes, ${sent.types.size} problem types`);
}
