// check-routes.mjs FILE - the routes the server routes (`safeguard-api
// --routes`, one "METHOD /path" a line) against the operations of
// openapi/openapi.yaml: any difference either way fails.
import { readFileSync } from 'node:fs';
import { operations } from '../api/lib/openapi.mjs';

const routes = new Set(readFileSync(process.argv[2], 'utf8').split('\n').map((l) => l.trim()).filter(Boolean));
const documented = new Set(operations());
const undocumented = [...routes].filter((r) => !documented.has(r));
const unrouted = [...documented].filter((r) => !routes.has(r));
for (const r of undocumented) console.log(`routed but not in openapi.yaml: ${r}`);
for (const r of unrouted) console.log(`in openapi.yaml but not routed: ${r}`);
if (undocumented.length || unrouted.length) process.exit(1);
console.log(`routes match the OpenAPI document: ${routes.size} operations`);
