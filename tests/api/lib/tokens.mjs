// tokens.mjs - JWTs built by hand with node:crypto only, good and hostile.
//
//   mint({claims, header, kid = 'dev-rs256', alg})      a signed token
//
// `claims` and `header` override the defaults (a value of undefined removes
// the claim or header field).  `alg` is the algorithm the token is signed
// with and, unless `header.alg` says otherwise, the one it declares; it
// defaults to the kid's own (dev-rs256 RS256, dev-es256 ES256, dev-hs256
// HS256).  For hostile tokens mint also takes `rawHeader`/`rawPayload` (JSON
// text, so duplicate keys and odd encodings are possible), `key` (the signing
// key: a PEM or secret string for HS256, a private key otherwise) and
// `signature` (the third segment as is).  The low-level pieces (b64url,
// signWith, segments, split) build anything else, such as 2 or 4 segments.
import { createHmac, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const keyDir = () => join(process.env.SG_VAR || '', 'keys');
const cache = new Map();
const once = (k, f) => (cache.has(k) ? cache.get(k) : cache.set(k, f()).get(k));

export const privateKey = (kid) => once(`priv:${kid}`, () => createPrivateKey(readFileSync(join(keyDir(), 'private', `${kid}.pem`))));
export const publicPem = (kid) => once(`pub:${kid}`, () => readFileSync(join(keyDir(), 'public', `${kid}.pem`), 'utf8'));
// The HS256 key is the secret file's hex text itself, as ASCII bytes.
export const hsSecret = () => once('hs', () => readFileSync(join(keyDir(), 'hs256.secret'), 'utf8').trim());

export const now = () => Math.floor(Date.now() / 1000);

/** base64url of a string, a Buffer, or any other value as JSON. */
export const b64url = (v) => (Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))).toString('base64url');
export const b64 = b64url;

const drop = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** The default claims with overrides (undefined removes a claim). */
export function claims(overrides = {}) {
  const t = now();
  return drop({
    iss: process.env.SG_ISSUER, aud: process.env.SG_AUDIENCE, sub: 'alice', agency: 'police', roles: ['practitioner'],
    iat: t, exp: t + 600, jti: randomUUID(), ...overrides,
  });
}

export const algFor = (kid) => ({ 'dev-es256': 'ES256', 'dev-hs256': 'HS256' })[kid] || 'RS256';

// The order of P-256.  An ES256 signature (R, S) has a twin (R, n - S) that
// verifies too; the API accepts only the low one (S <= n/2), as signWith makes.
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const withS = (sig, s) => Buffer.concat([sig.subarray(0, 32), Buffer.from(s.toString(16).padStart(64, '0'), 'hex')]);
/** The other half's twin of a 64-byte R||S: low S for high, high for low. */
export const twinS = (sig) => withS(sig, P256_N - BigInt(`0x${sig.subarray(32).toString('hex')}`));
const lowS = (sig) => (BigInt(`0x${sig.subarray(32).toString('hex')}`) > P256_N >> 1n ? twinS(sig) : sig);

/**
 * The signature bytes of `input` for alg: RS256 and ES256 (raw R||S, 64
 * bytes, low S) with a private key (default: the dev key of that type), HS256
 * with a secret (default: the test instance's); 'none' gives no bytes.
 */
export function signWith(alg, input, key) {
  const data = Buffer.from(input);
  switch (alg) {
    case 'RS256': return sign('sha256', data, key ?? privateKey('dev-rs256'));
    case 'ES256': return lowS(sign('sha256', data, { key: key ?? privateKey('dev-es256'), dsaEncoding: 'ieee-p1363' }));
    case 'HS256': return createHmac('sha256', key ?? hsSecret()).update(data).digest();
    case 'none': return Buffer.alloc(0);
    default: throw new Error(`signWith: unknown alg ${alg}`);
  }
}

/** Joins any number of segments with dots. */
export const segments = (...parts) => parts.join('.');
/** A token's three (or however many) segments. */
export const split = (token) => token.split('.');

export function mint({ claims: c = {}, header = {}, kid = 'dev-rs256', alg = algFor(kid), rawHeader, rawPayload, key, signature } = {}) {
  const head = b64url(rawHeader ?? drop({ alg, typ: 'JWT', kid, ...header }));
  const body = b64url(rawPayload ?? claims(c));
  const input = `${head}.${body}`;
  const sig = signature === undefined ? signWith(alg, input, key).toString('base64url')
    : Buffer.isBuffer(signature) ? signature.toString('base64url') : signature;
  return `${input}.${sig}`;
}

// Shorthands: a good token of each kind with claim overrides.
export const rs256 = (c = {}) => mint({ claims: c });
export const es256 = (c = {}) => mint({ claims: c, kid: 'dev-es256' });
export const hs256 = (c = {}) => mint({ claims: c, kid: 'dev-hs256' });
export const tokenAs = (agency, roles, sub = `${agency}-${[].concat(roles).join('-')}`, c = {}) => rs256({ sub, agency, roles: [].concat(roles), ...c });
