// check-routes.mjs FILE - compares the routes the server routes against the
// operations openapi/openapi.yaml documents.  FILE is the output of
// `safeguard-api --routes`: one "METHOD /path/template" a line, e.g.
// "GET /v1/children/{id}".  Every difference, either way (and any route
// listed twice), is printed and the exit status is 1; a match prints one summary line and exits 0.  A missing,
// empty or malformed route list exits 2.
//
//   node tests/tools/check-routes.mjs var/routes.txt
import { readFileSync } from 'node:fs';
import { operations } from '../api/lib/openapi.mjs';

function usage(msg) {
  console.error(`check-routes: ${msg}\nusage: node tests/tools/check-routes.mjs FILE-WITH-ROUTE-LINES`);
  process.exit(2);
}

const file = process.argv[2];
if (!file) usage('no route list given');
let text;
try {
  text = readFileSync(file, 'utf8');
} catch (e) {
  usage(`cannot read ${file}: ${e.message}`);
}

const routes = new Set();
const twice = [];
text.split('\n').forEach((raw, i) => {
  const line = raw.trim();
  if (!line || line.startsWith('#')) return;
  const m = /^([A-Z]+)\s+(\/\S*)$/.exec(line);
  if (!m) usage(`${file}:${i + 1}: not a "METHOD /path" line: ${JSON.stringify(raw)}`);
  const route = `${m[1]} ${m[2]}`;
  if (routes.has(route)) twice.push(route);
  routes.add(route);
});
if (routes.size === 0) usage(`${file} lists no routes`);

const documented = new Set(operations());
const undocumented = [...routes].filter((r) => !documented.has(r));
const unrouted = [...documented].filter((r) => !routes.has(r));
for (const r of undocumented) console.log(`routed but not in openapi.yaml: ${r}`);
for (const r of unrouted) console.log(`in openapi.yaml but not routed: ${r}`);
// a second route with the same method and template can never be reached
for (const r of twice) console.log(`routed twice: ${r}`);
if (undocumented.length || unrouted.length || twice.length) {
  console.log(`routes and openapi.yaml differ: ${undocumented.length} undocumented, ${unrouted.length} not routed, ${twice.length} routed twice`);
  process.exit(1);
}
console.log(`routes match openapi.yaml: ${routes.size} operations`);
