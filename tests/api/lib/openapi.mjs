// openapi.mjs - checks a response against openapi/openapi.yaml: the
// operation exists, the status is documented, the content type is one the
// document lists, the body validates against its schema (JSON Schema 2020-12,
// $refs resolved into the document's components) and documented required
// headers are present.  Throws a readable Error on any mismatch.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const doc = YAML.parse(readFileSync(join(here, '..', '..', '..', 'openapi', 'openapi.yaml'), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// one schema document holding every component, so $refs resolve
ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');
const compiled = new Map();

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

// The document's path templates as regular expressions, most literal first.
const templates = Object.keys(doc.paths).map((template) => ({
  template,
  re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  literal: template.replace(/\{[^}]+\}/g, '').length,
})).sort((a, b) => b.literal - a.literal);

export function operations() {
  return Object.entries(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${p}`));
}

function deref(obj) {
  let o = obj;
  while (o && o.$ref) {
    const parts = o.$ref.replace(/^#\//, '').split('/');
    o = parts.reduce((acc, k) => acc[k], doc);
  }
  return o;
}

// $refs in a schema point into the document; rewrite them for the ajv store.
function rebase(schema) {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi#/components/'));
}

function validator(key, schema) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(rebase(schema)));
  return compiled.get(key);
}

const headerGet = (headers, name) => (typeof headers?.get === 'function' ? headers.get(name) : headers?.[name.toLowerCase()] ?? headers?.[name]);

export function validateResponse({ method, path, status, headers, body }) {
  const m = method.toLowerCase();
  const bare = path.split('?')[0];
  const where = `${method.toUpperCase()} ${path} -> ${status}`;
  const t = templates.find((x) => x.re.test(bare) && doc.paths[x.template][m]);
  if (!t) {
    // a documented path with another method: only a 405 problem with Allow is right
    const known = templates.find((x) => x.re.test(bare));
    if (known && status === 405) {
      if (!headerGet(headers, 'allow')) throw new Error(`${where}: 405 without Allow`);
      const v = validator('problem', { $ref: '#/components/schemas/Problem' });
      if (!v(body)) throw new Error(`${where}: 405 body is not a problem: ${JSON.stringify(v.errors)}`);
      return;
    }
    throw new Error(`${where}: no such operation in openapi.yaml`);
  }
  const op = doc.paths[t.template][m];
  const response = deref(op.responses[String(status)] || op.responses.default);
  if (!response) throw new Error(`${where}: status ${status} is not documented for ${method.toUpperCase()} ${t.template}`);
  for (const [name, h] of Object.entries(response.headers || {})) {
    const spec = deref(h);
    if (spec.required && headerGet(headers, name) == null) throw new Error(`${where}: header ${name} is missing`);
  }
  const ctype = (headerGet(headers, 'content-type') || '').split(';')[0].trim();
  if (!response.content) {
    if (body !== undefined && body !== null && body !== '') throw new Error(`${where}: a body where none is documented`);
    return;
  }
  const media = response.content[ctype];
  if (!media) throw new Error(`${where}: content type "${ctype}" is not one of ${Object.keys(response.content).join(', ')}`);
  if (!media.schema || !/json/.test(ctype)) return;
  const v = validator(`${t.template} ${m} ${status} ${ctype}`, media.schema);
  if (!v(body)) {
    const errs = v.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
    throw new Error(`${where}: body does not match the schema:\n  ${errs.slice(0, 10).join('\n  ')}\n  body: ${JSON.stringify(body).slice(0, 500)}`);
  }
}
