// sealed-cursor.mjs - sealed cursors (the delta sync's, a child's chronology), as the tests need them.
//
// A client can neither read nor make a sealed cursor (api/input/cursor.c):
// it is AES-256-GCM under a key derived from the instance's cursor secret.
// The tests hold that secret (the test instance's file), so that they can
// still check what a position says and what the server does with one it
// did not issue but that is well sealed: the server checks a position's
// validity again whatever the seal says.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const TAG = 's1.';
export const cursorKeyFile = () => process.env.SG_CURSOR_KEY_FILE || join(process.env.SG_VAR, 'secrets', 'cursor.key');
// the first line that is not blank, less its trailing blanks: the one the pool seals with
const secretNow = () => readFileSync(cursorKeyFile(), 'utf8').split('\n').map((l) => l.replace(/[ \t\r]+$/, '')).find((l) => l !== '');
const keyOf = (secret) => createHmac('sha256', secret).update('safeguard sealed cursor v1').digest();

// The parts of a sealed cursor (an array of strings), or null when it does
// not open with secret (by default the instance's current one).
export function openCursor(cursor, secret = secretNow()) {
  if (typeof cursor !== 'string' || !cursor.startsWith(TAG)) return null;
  const raw = Buffer.from(cursor.slice(TAG.length), 'base64url');
  if (raw.length <= 28) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', keyOf(secret), raw.subarray(0, 12));
    d.setAAD(Buffer.from(TAG));
    d.setAuthTag(raw.subarray(raw.length - 16));
    return JSON.parse(Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString());
  } catch {
    return null;
  }
}

// A sealed cursor of parts (strings), as the server would seal it.
export function sealCursor(parts, secret = secretNow()) {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keyOf(secret), nonce);
  c.setAAD(Buffer.from(TAG));
  const json = JSON.stringify(parts);
  const plain = Buffer.from(json.padEnd((Math.floor(Buffer.byteLength(json) / 64) + 1) * 64 - (Buffer.byteLength(json) - json.length), ' '));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return TAG + Buffer.concat([nonce, body, c.getAuthTag()]).toString('base64url');
}

// A cursor in the plain form every other list uses ("c1."): the sync refuses it.
export const plainCursor = (parts) => `c1.${Buffer.from(JSON.stringify(parts)).toString('base64url')}`;
