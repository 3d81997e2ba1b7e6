// tokens.mjs - JWTs built by hand with node:crypto, good and hostile: any
// header, any payload (as objects or as raw JSON text, so duplicate keys are
// possible), any signature, any number of segments.
import { createHmac, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const keys = join(process.env.SG_VAR || '', 'keys');
const privateKey = (kid) => createPrivateKey(readFileSync(join(keys, 'private', `${kid}.pem`)));
export const publicPem = (kid) => readFileSync(join(keys, 'public', `${kid}.pem`), 'utf8');
export const hsSecret = () => readFileSync(join(keys, 'hs256.secret'), 'utf8').trim();

export const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export function claims(overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c = {
    iss: process.env.SG_ISSUER, aud: process.env.SG_AUDIENCE, sub: 'alice', agency: 'police', roles: ['practitioner'],
    iat: now, exp: now + 600, jti: randomUUID(), ...overrides,
  };
  for (const [k, v] of Object.entries(c)) if (v === undefined) delete c[k];
  return c;
}

// The signature of `signingInput` for alg with key material.
export function signature(alg, signingInput, { kid, secret } = {}) {
  switch (alg) {
    case 'RS256': return sign('sha256', Buffer.from(signingInput), privateKey(kid || 'dev-rs256')).toString('base64url');
    case 'ES256': return sign('sha256', Buffer.from(signingInput), { key: privateKey(kid || 'dev-es256'), dsaEncoding: 'ieee-p1363' }).toString('base64url');
    case 'HS256': return createHmac('sha256', secret ?? hsSecret()).update(signingInput).digest('base64url');
    default: return '';
  }
}

// A token: header and payload as objects or raw JSON strings; sign with
// `signAs` (defaults to the header's alg) and the key of `keyKid`.
export function mint({ header = {}, payload = {}, signAs, keyKid, secret, rawHeader, rawPayload } = {}) {
  const h = { alg: 'RS256', typ: 'JWT', kid: 'dev-rs256', ...header };
  for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
  const head = b64(rawHeader ?? h);
  const body = b64(rawPayload ?? claims(payload));
  const input = `${head}.${body}`;
  const alg = signAs || h.alg;
  const defaultKid = alg === 'ES256' ? 'dev-es256' : 'dev-rs256';
  return `${input}.${signature(alg, input, { kid: keyKid || (h.kid?.startsWith('dev-') && h.kid !== 'dev-hs256' ? h.kid : defaultKid), secret })}`;
}

export const rs256 = (payload = {}) => mint({ payload });
export const es256 = (payload = {}) => mint({ header: { alg: 'ES256', kid: 'dev-es256' }, payload });
export const hs256 = (payload = {}) => mint({ header: { alg: 'HS256', kid: 'dev-hs256' }, payload });
export { createPublicKey };
