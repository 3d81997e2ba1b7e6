// people.mjs - tokens for the people in the children and chronology suites:
// one call per caller, RS256 with the test instance's development key, a
// fresh jti each time.  (tokens.mjs builds the hostile ones.)
import { createSign, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const key = readFileSync(join(process.env.SG_VAR, 'keys', 'private', 'dev-rs256.pem'));
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export function tokenFor(agency, roles, sub = `${agency}-${[].concat(roles).join('-')}`) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'RS256', typ: 'JWT', kid: 'dev-rs256' });
  const body = b64({
    iss: process.env.SG_ISSUER, aud: process.env.SG_AUDIENCE, sub, agency,
    roles: [].concat(roles), iat: now, exp: now + 1800, jti: randomUUID(),
  });
  const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key).toString('base64url');
  return `${head}.${body}.${sig}`;
}

// The cast: one token per agency and role used below.
export const as = {
  cscSocialWorker: tokenFor('csc', 'social_worker', 'csc-sw'),
  cscLead: tokenFor('csc', 'safeguarding_lead', 'csc-lead'),
  cscPractitioner: tokenFor('csc', 'practitioner', 'csc-prac'),
  police: tokenFor('police', 'practitioner', 'pc-alice'),
  police2: tokenFor('police', 'practitioner', 'pc-bob'),
  policeLead: tokenFor('police', 'safeguarding_lead', 'police-lead'),
  health: tokenFor('health', 'practitioner', 'nurse-hana'),
  healthLead: tokenFor('health', 'safeguarding_lead', 'health-lead'),
  education: tokenFor('education', 'practitioner', 'teacher-ed'),
  voluntary: tokenFor('voluntary', 'practitioner', 'vol-val'),
  youthJustice: tokenFor('youth_justice', 'practitioner', 'yj-yan'),
  mentalHealth: tokenFor('mental_health', 'practitioner', 'mh-mo'),
  auditor: tokenFor('partnership', 'auditor', 'audra'),
  panelMember: tokenFor('police', 'panel_member', 'panel-pat'),
  panelChair: tokenFor('police', 'panel_chair', 'chair-cho'),
  trainingAdmin: tokenFor('csc', 'training_admin', 'trainer-tia'),
  admin: tokenFor('partnership', 'admin', 'admin-ada'),
};

// Valid NHS numbers (modulus 11) and UPNs (DfE check letter), made up and
// different on every call, so suites never collide with each other.
let serial = Math.floor(Math.random() * 1e6);
export function nhsNumber() {
  for (;;) {
    serial = (serial + 7919) % 1e9;
    const d = String(serial).padStart(9, '0').split('').map(Number);
    const sum = d.reduce((s, x, i) => s + x * (10 - i), 0);
    let check = 11 - (sum % 11);
    if (check === 11) check = 0;
    if (check !== 10) return d.join('') + check;
  }
}
export function upn() {
  serial = (serial + 104729) % 1e9;
  const digits = ('801' + String(serial).padStart(9, '0')).slice(0, 12).split('').map(Number);
  const sum = digits.reduce((s, x, i) => s + x * (i + 2), 0);
  return 'ABCDEFGHJKLMNPQRTUVWXYZ'[sum % 23] + digits.join('');
}
