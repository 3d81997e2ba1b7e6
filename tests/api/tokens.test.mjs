// Bearer tokens: every trick that libjwt 1.10.2 alone would let through, and
// every claim check, answers 401 with WWW-Authenticate; good tokens pass.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, sh } from './lib/client.mjs';
import { b64, claims, es256, hs256, mint, publicPem, rs256, signature } from './lib/tokens.mjs';

const now = () => Math.floor(Date.now() / 1000);

async function refused(token, why) {
  const res = await request('GET', '/v1/me', { token });
  assert.equal(res.status, 401, `${why}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.type, '/problems/unauthorized', why);
  assert.match(res.headers.get('www-authenticate') || '', /^Bearer realm="safeguard"/, why);
  return res;
}

const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);

describe('tokens that must be refused', () => {
  it('no token, an empty one, another scheme', async () => {
    const res = await refused(undefined, 'no token');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="safeguard"');
    const empty = await request('GET', '/v1/me', { headers: { Authorization: 'Bearer ' } });
    assert.equal(empty.status, 401);
    const basic = await request('GET', '/v1/me', { headers: { Authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    assert.equal(basic.status, 401);
    assert.match(basic.headers.get('www-authenticate'), /error="invalid_token"/);
  });

  it('alg none and None, with an empty signature', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const t = `${b64({ alg, typ: 'JWT', kid: 'dev-rs256' })}.${b64(claims())}.`;
      await refused(t, alg);
      await refused(`${t}AAAA`, `${alg} with junk`);
    }
  });

  it('HS256 signed with the RSA public key as the HMAC secret', async () => {
    await refused(mint({ header: { alg: 'HS256', kid: 'dev-rs256' }, signAs: 'HS256', secret: publicPem('dev-rs256') }), 'key confusion');
    await refused(mint({ header: { alg: 'HS256', kid: 'dev-es256' }, signAs: 'HS256', secret: publicPem('dev-es256') }), 'key confusion EC');
  });

  it('an alg in the wrong case, or not the one pinned to the kid', async () => {
    await refused(mint({ header: { alg: 'rs256' }, signAs: 'RS256' }), 'rs256');
    await refused(mint({ header: { alg: 'ES256', kid: 'dev-rs256' }, signAs: 'ES256', keyKid: 'dev-es256' }), 'ES256 for an RSA kid');
    await refused(mint({ header: { alg: 'RS256', kid: 'dev-es256' }, signAs: 'RS256', keyKid: 'dev-rs256' }), 'RS256 for an EC kid');
    await refused(mint({ header: { alg: 'RS512' }, signAs: 'RS256' }), 'RS512');
    await refused(mint({ header: { alg: 'PS256' }, signAs: 'RS256' }), 'PS256');
  });

  it('an unknown kid, a missing kid, a kid with odd characters', async () => {
    await refused(mint({ header: { kid: 'nope' } }), 'unknown kid');
    await refused(mint({ header: { kid: undefined } }), 'missing kid');
    await refused(mint({ header: { kid: '../../etc/passwd' } }), 'path kid');
  });

  it('a tampered header, payload or signature', async () => {
    const t = rs256();
    const [h, p, s] = t.split('.');
    await refused(`${b64({ alg: 'RS256', typ: 'JWT', kid: 'dev-rs256', x: 1 })}.${p}.${s}`, 'header changed');
    await refused(`${h}.${b64(claims({ agency: 'csc' }))}.${s}`, 'payload changed');
    await refused(`${h}.${p}.${flip(s, 10)}`, 'signature changed');
    await refused(`${h}.${flip(p, 5)}.${s}`, 'payload flipped');
  });

  it('junk characters inside the signature', async () => {
    const [h, p, s] = rs256().split('.');
    for (const junk of ['!', '.', ' ', '=', '+', '/', '\t']) {
      await refused(`${h}.${p}.${s.slice(0, 20)}${junk}${s.slice(20)}`, `junk ${JSON.stringify(junk)}`);
    }
    await refused(`${h}.${p}.${s}==`, 'padding');
  });

  it('two or four segments', async () => {
    const [h, p, s] = rs256().split('.');
    await refused(`${h}.${p}`, 'two segments');
    await refused(`${h}.${p}.${s}.${s}`, 'four segments');
    await refused(`${h}..${s}`, 'empty payload');
  });

  it('expired, exp missing, exp a string or a float', async () => {
    await refused(rs256({ exp: now() - 120, iat: now() - 600 }), 'expired beyond the leeway');
    await refused(rs256({ exp: undefined }), 'no exp');
    await refused(rs256({ exp: String(now() + 600) }), 'exp string');
    await refused(rs256({ exp: now() + 600.5 }), 'exp float');
    await refused(rs256({ iat: undefined }), 'no iat');
  });

  it('nbf or iat in the future, a lifetime over 12 hours', async () => {
    await refused(rs256({ nbf: now() + 300 }), 'nbf in the future');
    await refused(rs256({ iat: now() + 300, exp: now() + 900 }), 'iat in the future');
    await refused(rs256({ exp: now() + 13 * 3600 }), 'lifetime');
  });

  it('the wrong issuer or audience', async () => {
    await refused(rs256({ iss: 'https://evil.example' }), 'iss');
    await refused(rs256({ iss: undefined }), 'no iss');
    await refused(rs256({ aud: 'someone-else' }), 'aud');
    await refused(rs256({ aud: '' }), 'empty aud');
    await refused(rs256({ aud: [] }), 'empty aud array');
    await refused(rs256({ aud: ['a', 'b'] }), 'aud array without ours');
    await refused(rs256({ aud: [process.env.SG_AUDIENCE, 7] }), 'aud array with a number');
  });

  it('duplicate claims, duplicate header keys, header parameters that fetch keys', async () => {
    const c = claims();
    const raw = JSON.stringify(c).replace('"agency":"police"', '"agency":"police","agency":"csc"');
    await refused(mint({ rawPayload: raw }), 'duplicate claim');
    await refused(mint({ rawHeader: '{"alg":"RS256","kid":"dev-rs256","alg":"RS256"}' }), 'duplicate header key');
    for (const extra of [{ jku: 'https://evil.example/jwks' }, { x5u: 'https://evil.example/x' }, { jwk: { kty: 'oct', k: 'AA' } }, { crit: ['exp'] }, { x5c: ['AA'] }]) {
      await refused(mint({ header: extra }), Object.keys(extra)[0]);
    }
    await refused(mint({ rawHeader: '["RS256"]' }), 'header not an object');
    await refused(mint({ rawPayload: '"just a string"' }), 'payload not an object');
  });

  it('a 16 KB token', async () => {
    await refused(rs256({ pad: 'x'.repeat(16 * 1024) }), '16 KB');
  });

  it('an agency or role not on the allow-list, no roles, a social worker outside CSC', async () => {
    await refused(rs256({ agency: 'mi6' }), 'agency');
    await refused(rs256({ agency: 'POLICE' }), 'agency case');
    await refused(rs256({ roles: ['superuser'] }), 'role');
    await refused(rs256({ roles: [] }), 'empty roles');
    await refused(rs256({ roles: 'practitioner' }), 'roles not an array');
    await refused(rs256({ roles: ['practitioner', 'practitioner'] }), 'duplicate role');
    await refused(rs256({ agency: 'police', roles: ['social_worker'] }), 'social worker outside csc');
    await refused(rs256({ sub: '' }), 'empty sub');
    await refused(rs256({ sub: 42 }), 'numeric sub');
  });

  it('a revoked jti, in every worker, while other tokens still work', async () => {
    const jti = `revoke-me-${randomUUID()}`;
    const victim = rs256({ jti });
    const other = rs256();
    assert.equal((await request('GET', '/v1/me', { token: victim })).status, 200);
    const admin = rs256({ sub: 'ada', agency: 'partnership', roles: ['admin'] });
    const res = await request('POST', '/v1/token-revocations', { token: admin, body: { jti } });
    assert.equal(res.status, 201);
    for (let i = 0; i < 12; i++) {
      const r = await refused(victim, `revoked #${i}`);
      assert.match(r.headers.get('www-authenticate'), /revoked/);
    }
    for (let i = 0; i < 5; i++) assert.equal((await request('GET', '/v1/me', { token: other })).status, 200);
  });
});

describe('tokens that must be accepted', () => {
  it('RS256, ES256 and HS256 (turned on for its own kid in the test instance)', async () => {
    for (const [name, t] of [['RS256', rs256()], ['ES256', es256()], ['HS256', hs256()]]) {
      const res = await request('GET', '/v1/me', { token: t });
      assert.equal(res.status, 200, name);
      assert.equal(res.body.sub, 'alice', name);
    }
  });

  it('an audience array containing ours, and an expiry within the leeway', async () => {
    assert.equal((await request('GET', '/v1/me', { token: rs256({ aud: ['other', process.env.SG_AUDIENCE] }) })).status, 200);
    assert.equal((await request('GET', '/v1/me', { token: rs256({ exp: now() - 10, iat: now() - 600 }) })).status, 200);
  });

  it('echoes the identity: sub, agency, roles, name, email, jti and times', async () => {
    const iat = now();
    const res = await request('GET', '/v1/me', {
      token: rs256({ sub: 'sam', agency: 'csc', roles: ['social_worker', 'safeguarding_lead'], name: 'Sam Jones', email: 'sam@example.org', jti: 'j-1', iat, exp: iat + 300 }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.roles.sort(), ['safeguarding_lead', 'social_worker']);
    assert.equal(res.body.name, 'Sam Jones');
    assert.equal(res.body.email, 'sam@example.org');
    assert.equal(res.body.jti, 'j-1');
    assert.equal(res.body.expires_at, new Date((iat + 300) * 1000).toISOString().replace('.000', ''));
  });

  it('make token mints one the API accepts, and EXP makes an expired one', async () => {
    const good = sh('INSTANCE=test make -s token AGENCY=police ROLES=practitioner SUB=alice').trim();
    const me = await request('GET', '/v1/me', { token: good });
    assert.equal(me.status, 200);
    assert.equal(me.body.agency, 'police');
    const es = sh('INSTANCE=test make -s token KID=dev-es256 AGENCY=health ROLES=practitioner,safeguarding_lead SUB=h NAME="Hana H"').trim();
    const me2 = await request('GET', '/v1/me', { token: es });
    assert.equal(me2.status, 200);
    assert.equal(me2.body.name, 'Hana H');
    const expired = sh(`INSTANCE=test make -s token EXP=${now() - 3600} IAT=${now() - 7200}`).trim();
    await refused(expired, 'make token EXP');
    void signature;
  });
});
