// openapi.mjs - checks a response against openapi/openapi.yaml, so every
// response the suites see is checked against the contract:
//
//   - the operation exists (METHOD + a path template matching the path), or
//     the path exists with other methods and the answer is a proper 405
//     (HEAD is implied by GET: its headers are checked as GET's, and it has
//     no body);
//   - the status is documented (exactly, as a range like 4XX, or default);
//   - the content type is one the response lists, and there is no body where
//     none is documented;
//   - the body validates against the schema (JSON Schema 2020-12 with Ajv,
//     $refs resolved into the document's components);
//   - every header the response marks `required` is present, and every
//     documented header that is present matches its schema;
//   - the conventions a schema cannot express: a problem's `status` is the
//     HTTP status and its `request_id` the X-Request-Id header; a list page
//     has `Link: <...>; rel="next"` exactly when its next_cursor is not null,
//     naming the same path with cursor=next_cursor.
//
// Any mismatch throws an Error naming the method, path, status and what was
// wrong.  Schemas are compiled once, on first use, and cached.
//
//   import { validateResponse, operations } from './openapi.mjs';
//   validateResponse({ method: 'GET', path: '/v1/audit-events?limit=2',
//                      status: res.status, headers: res.headers, body });
//
// `headers` is a WHATWG Headers or a plain object (names in any case);
// `body` is the parsed JSON, the raw text for other media types, and
// undefined (or '') when the response has none.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

export const DOCUMENT = fileURLToPath(new URL('../../../openapi/openapi.yaml', import.meta.url));
const doc = YAML.parse(readFileSync(DOCUMENT, 'utf8'), { uniqueKeys: true });

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMA_ROOT = 'openapi.yaml';

// Strict about the schemas themselves (an unknown keyword or format in the
// document is an error, so a typo such as `additionalproperties` cannot
// silently validate nothing), not about type annotations on allOf branches.
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
});
addFormats(ajv);
// OpenAPI's own schema keywords: annotations for our purposes.
ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
// Redoc's table of what each value of an enum means (FieldError.code).
ajv.addVocabulary(['x-enumDescriptions']);

// Every component schema under one root, addressed as
// openapi.yaml#/$defs/<Name>; the document's '#/components/schemas/<Name>'
// references are rewritten to match.
function rebase(node) {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') {
      if (!v.startsWith('#/components/schemas/')) throw new Error(`openapi.yaml: unsupported schema $ref ${v}`);
      out[k] = `${SCHEMA_ROOT}#/$defs/${v.slice('#/components/schemas/'.length)}`;
    } else {
      out[k] = rebase(v);
    }
  }
  return out;
}
ajv.addSchema({ $id: SCHEMA_ROOT, $defs: rebase(doc.components?.schemas ?? {}) });

const compiled = new Map();
function validator(key, schema) {
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(rebase(schema));
    compiled.set(key, v);
  }
  return v;
}

// Follows a '#/components/...' reference (responses, headers, parameters).
function deref(obj) {
  let o = obj;
  for (let hops = 0; o && typeof o.$ref === 'string'; hops++) {
    if (hops > 20 || !o.$ref.startsWith('#/')) throw new Error(`openapi.yaml: cannot follow $ref ${o.$ref}`);
    o = o.$ref.slice(2).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((acc, k) => (acc == null ? acc : acc[k]), doc);
    if (o === undefined) throw new Error(`openapi.yaml: dangling $ref ${obj.$ref}`);
  }
  return o;
}

// The document's path templates as regular expressions.  Like the server's
// router, a path may match several templates; the operation is the one whose
// template matches and has the method, preferring the most literal one.
const templates = Object.keys(doc.paths ?? {}).map((template) => ({
  template,
  re: new RegExp(`^${template.split(/(\{[^}]+\})/).map((part) => (
    part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('')}$`),
  literal: template.replace(/\{[^}]+\}/g, '').length,
})).sort((a, b) => b.literal - a.literal);

/** Every documented operation as 'METHOD /path/template', in document order. */
export function operations() {
  return Object.entries(doc.paths ?? {}).flatMap(([p, item]) => (
    METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${p}`)));
}

function headerGetter(headers) {
  if (headers && typeof headers.get === 'function') return (name) => headers.get(name);
  const lower = new Map(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => {
    const v = lower.get(name.toLowerCase());
    return v === undefined || v === null ? null : Array.isArray(v) ? v.join(', ') : String(v);
  };
}

function ajvErrors(v) {
  return v.errors.slice(0, 12).map((e) => {
    const extra = e.params?.additionalProperty ? ` (${e.params.additionalProperty})`
      : e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})`
        : e.params?.allowedValue !== undefined ? ` (${JSON.stringify(e.params.allowedValue)})` : '';
    return `${e.instancePath || '(body)'} ${e.message}${extra}  [${e.schemaPath}]`;
  }).join('\n  ');
}

const isJson = (mediaType) => mediaType === 'application/json' || /^[a-z]+\/[a-z0-9.+-]+\+json$/.test(mediaType);

// The documented response for a status: exact, then a range such as 4XX,
// then default.  Returns the raw entry (possibly a $ref) or undefined.
function responseFor(responses, status) {
  return responses?.[String(status)] ?? responses?.[`${String(status)[0]}XX`] ?? responses?.default;
}

// Checks one response against one documented response object.  `key` names
// it in the cache of compiled schemas (a shared component compiles once).
function checkResponse(where, key, response, { status, header, body, path }) {
  const fail = (msg) => { throw new Error(`${where}: ${msg}`); };

  for (const [name, h] of Object.entries(response.headers ?? {})) {
    const spec = deref(h);
    const value = header(name);
    if (value === null) {
      if (spec.required) fail(`required header ${name} is missing`);
      continue;
    }
    if (spec.schema) {
      const v = validator(h.$ref ?? `${key} header ${name}`, spec.schema);
      if (!v(value)) fail(`header ${name}: ${JSON.stringify(value)} does not match its schema:\n  ${ajvErrors(v)}`);
    }
  }

  const rawType = header('content-type');
  const mediaType = (rawType ?? '').split(';')[0].trim().toLowerCase();
  const hasBody = body !== undefined && body !== null && body !== '';
  if (!response.content) {
    if (hasBody) fail(`a body (${rawType ?? 'no content type'}) where none is documented`);
    return;
  }
  const listed = Object.keys(response.content);
  const mediaKey = listed.find((m) => m.toLowerCase() === mediaType)
    ?? listed.find((m) => m.endsWith('/*') && mediaType.startsWith(m.slice(0, -1)))
    ?? listed.find((m) => m === '*/*');
  if (!mediaKey) fail(`content type "${rawType ?? ''}" is not one of ${listed.join(', ')}`);
  const media = response.content[mediaKey];
  if (!media.schema) return;
  if (isJson(mediaType) && typeof body === 'string') fail(`the ${mediaType} body was not parsed as JSON: ${body.slice(0, 200)}`);
  const v = validator(`${key} ${mediaKey}`, media.schema);
  if (!v(body)) {
    fail(`body does not match the schema:\n  ${ajvErrors(v)}\n  body: ${JSON.stringify(body)?.slice(0, 600)}`);
  }

  if (!isJson(mediaType) || body === null || typeof body !== 'object' || Array.isArray(body)) return;
  // A problem repeats the HTTP status and the response's request id.
  if (mediaType === 'application/problem+json') {
    if (body.status !== status) fail(`problem status ${body.status} is not the HTTP status ${status}`);
    const rid = header('x-request-id');
    if (rid !== null && body.request_id !== rid) {
      fail(`problem request_id ${JSON.stringify(body.request_id)} is not the X-Request-Id ${JSON.stringify(rid)}`);
    }
  }
  // A list page: Link rel="next" exactly when there is a next page.
  if ('next_cursor' in body && Array.isArray(body.items)) {
    const link = header('link');
    const next = link && /^<([^>]*)>;\s*rel="next"$/.exec(link);
    if (body.next_cursor === null) {
      if (link !== null) fail(`Link ${JSON.stringify(link)} on the last page (next_cursor is null)`);
    } else {
      if (!next) fail(`next_cursor is set but there is no Link: <...>; rel="next" (got ${JSON.stringify(link)})`);
      const url = new URL(next[1], 'http://server.invalid');
      if (url.pathname !== path.split('?')[0]) fail(`Link ${link} does not name the requested path`);
      if (url.searchParams.get('cursor') !== body.next_cursor) fail(`Link ${link} does not carry cursor=next_cursor`);
    }
  }
}

/**
 * Throws unless the response is one openapi.yaml documents.
 * @param {{method: string, path: string, status: number,
 *          headers?: Headers|Record<string, string>, body?: unknown}} res
 */
export function validateResponse({ method, path, status, headers, body }) {
  // HEAD is GET without the body (RFC 9110 9.3.2): the GET operation's
  // status and headers, no body to check.
  const head = String(method).toLowerCase() === 'head';
  const m = head ? 'get' : String(method).toLowerCase();
  const bare = String(path).split('?')[0].split('#')[0];
  const where = `${m.toUpperCase()} ${path} -> ${status}`;
  const header = headerGetter(headers);
  const matching = templates.filter((t) => t.re.test(bare));
  const t = matching.find((x) => doc.paths[x.template][m]);

  if (!t) {
    if (matching.length === 0) throw new Error(`${where}: no such operation in openapi.yaml (no path template matches)`);
    // The path exists with other methods: only a 405 naming them is right.
    const documented = [...new Set(matching.flatMap((x) => METHODS.filter((mm) => doc.paths[x.template][mm])))];
    if (documented.includes('get') && !documented.includes('head')) documented.push('head');
    if (status !== 405) {
      throw new Error(`${where}: no such operation in openapi.yaml (${bare} answers ${documented.map((x) => x.toUpperCase()).join(', ')})`);
    }
    const ref = '#/components/responses/MethodNotAllowed';
    checkResponse(where, ref, deref({ $ref: ref }), { status, header, body, path });
    const allow = (header('allow') ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).sort();
    if (allow.join() !== [...documented].sort().join()) {
      throw new Error(`${where}: Allow "${header('allow')}" is not the documented methods ${documented.map((x) => x.toUpperCase()).join(', ')}`);
    }
    return;
  }

  const op = doc.paths[t.template][m];
  const documented = responseFor(op.responses, status);
  if (!documented) {
    throw new Error(`${where}: status ${status} is not documented for ${m.toUpperCase()} ${t.template} (documented: ${Object.keys(op.responses).join(', ')})`);
  }
  const response = deref(documented);
  if (head) {
    if (body !== undefined && body !== null && body !== '') throw new Error(`${where}: a HEAD answer has a body`);
    // headers only: the documented ones, checked as for GET
    checkResponse(where, `head ${documented.$ref ?? `${t.template} ${status}`}`, { headers: response.headers }, { status, header, body, path });
    return;
  }
  checkResponse(where, documented.$ref ?? `${m} ${t.template} ${status}`, response, { status, header, body, path });
}
