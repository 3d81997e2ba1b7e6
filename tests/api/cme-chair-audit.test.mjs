// cme-chair-audit.test.mjs - who chairs a CME panel audits the access it
// moves (migration 051).
//
// A panel_chair of an agency that chairs a CME panel is the CME officer and
// sees every child with a live missing-education case (009).  Creating,
// re-chairing, retyping or deleting a CME panel starts or ends that access
// for an agency; the audit trail records it as a panel membership change
// does (050): one child.panel_access.start/end row per child with a live
// case, for that agency, in the request that made the change.  An agency
// that chairs another CME panel, or already chaired one, gains and loses
// nothing, and writes nothing; a rename writes nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { who, admin, ok, makePanel, makeChild, today, sql } from './lib/panels.mjs';

const rid = (res) => res.headers.get('x-request-id');

// The CME access rows of one request about the children given:
// "act agency child panel" lines, sorted.
const rows = (requestId, kids) => psql(`select string_agg(replace(action, 'child.panel_access.', '') || ' ' || (details->>'agency')
    || ' ' || resource_id || ' ' || (details->>'panel_id'), E'\\n' order by action, details->>'agency', resource_id)
  from safeguard.audit_events where request_id = ${sql(requestId)} and action like 'child.panel_access.%'
   and details->>'cause' = 'cme_chair' and resource_id = any (array[${kids.map(sql).join(', ')}])`).split('\n').filter(Boolean);
const expect = (pairs, kids) => pairs.flatMap(([act, agency, panel]) => kids.map((k) => `${act} ${agency} ${k} ${panel}`)).sort();
// every CME access row of a request, whichever child (the other suites' live cases too)
const all = (requestId) => psql(`select count(*) || ' ' || count(*) filter (where details->>'cause' = 'cme_chair')
    || ' ' || count(distinct resource_id) from safeguard.audit_events
  where request_id = ${sql(requestId)} and action like 'child.panel_access.%'`);

// A statement run in the database as a request's identity (a correction by
// hand, audited as its author), under a request id of its own.
function byHand(statement) {
  const id = `cme-chair-audit-${randomUUID()}`;
  psql(`begin;
    select set_config('app.sub', 'cme-chair-audit', true), set_config('app.agency', 'partnership', true),
           set_config('app.request_id', ${sql(id)}, true);
    ${statement}; commit;`);
  return id;
}

const patch = async (panel, body) => {
  const cur = await ok('GET', `/v1/panels/${panel.id}`, admin());
  return ok('PATCH', `/v1/panels/${panel.id}`, admin(), body, 200, { 'If-Match': cur.headers.get('etag') });
};

describe('a CME panel\'s chair, type and existence audit the CME officer\'s access they move', () => {
  let x, y, kids, first, second;

  before(async () => {
    // two agencies that chair no CME panel now
    const chairs = psql(`select string_agg(distinct chair_agency, ',') from safeguard.panels where type = 'cme'`).split(',');
    [x, y] = ['voluntary', 'district', 'mental_health', 'youth_justice', 'health', 'police'].filter((a) => !chairs.includes(a));
    assert.ok(x && y, `agencies free of CME chairs: ${chairs}`);
    // two children with live missing-education cases, and one whose case is closed
    kids = [];
    let kase;
    for (let i = 0; i < 3; i++) {
      const c = await makeChild('csc');
      kase = (await ok('POST', '/v1/cme-cases', who('csc', 'social_worker'), {
        child_id: c.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
        what_is_known: 'Not seen in school since the start of the week.',
      }, 201)).body;
      kids.push(c.id);
    }
    const officer = who('education', 'safeguarding_lead');
    await ok('POST', `/v1/cme-cases/${kase.id}/enquiries`, officer, { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
    await ok('POST', `/v1/cme-cases/${kase.id}/resolution`, officer, { resolution: 'elective_home_education' });
    await ok('POST', `/v1/cme-cases/${kase.id}/closure`, officer);
  });

  after(() => {
    // no CME panel of this suite outlives it: a CME chair is every other suite's CME officer
    for (const p of [first, second].filter(Boolean))
      byHand(`delete from safeguard.panel_members where panel_id = ${sql(p.id)}; delete from safeguard.panels where id = ${sql(p.id)}`);
  });

  it('a CME panel created: its chair agency\'s access starts, one row per child with a live case', async () => {
    const res = await ok('POST', '/v1/panels', admin(), { type: 'cme', name: `CME audit ${randomUUID().slice(0, 6)}`, chair_agency: x, member_agencies: ['csc'] }, 201);
    first = res.body;
    assert.deepEqual(rows(rid(res), kids), expect([['start', x, first.id]], kids.slice(0, 2)));
    // every row is a live case's child, once, as the request's identity
    const live = Number(psql('select count(distinct child_id) from safeguard.cme_cases where status <> \'closed\''));
    const [n, cme, distinct] = all(rid(res)).split(' ').map(Number);
    assert.equal(n, cme, 'no other access row');
    assert.equal(n, distinct, 'one row per child');
    assert.ok(n >= 2 && n <= live, `${n} rows, ${live} live cases`);
    assert.equal(psql(`select count(*) from safeguard.audit_events where request_id = ${sql(rid(res))}
      and action like 'child.panel_access.%' and (actor_agency <> 'partnership' or outcome <> 'success' or resource_type <> 'child')`), '0');
  });

  it('its chair changed: the old chair agency\'s access ends, the new one\'s starts', async () => {
    const res = await patch(first, { chair_agency: y, member_agencies: ['csc'] });
    assert.deepEqual(rows(rid(res), kids), expect([['end', x, first.id], ['start', y, first.id]], kids.slice(0, 2)));
  });

  it('an agency that chairs another CME panel gains and loses nothing; a rename writes nothing', async () => {
    const made = await ok('POST', '/v1/panels', admin(), { type: 'cme', name: `CME audit ${randomUUID().slice(0, 6)}`, chair_agency: y, member_agencies: ['csc'] }, 201);
    second = made.body;
    assert.deepEqual(rows(rid(made), kids), [], 'y chaired one already');
    // the first panel back to x: x starts, y keeps the second panel's chair
    const back = await patch(first, { chair_agency: x, member_agencies: ['csc'] });
    assert.deepEqual(rows(rid(back), kids), expect([['start', x, first.id]], kids.slice(0, 2)));
    const renamed = await patch(first, { name: `CME audit renamed ${randomUUID().slice(0, 6)}` });
    assert.equal(all(rid(renamed)), '0 0 0');
  });

  it('retyped and deleted in the database (as an identity): the chair\'s access ends and starts with it', () => {
    const away = byHand(`update safeguard.panels set type = 'joint_police_yj' where id = ${sql(second.id)}`);
    assert.deepEqual(rows(away, kids), expect([['end', y, second.id]], kids.slice(0, 2)));
    const again = byHand(`update safeguard.panels set type = 'cme' where id = ${sql(second.id)}`);
    assert.deepEqual(rows(again, kids), expect([['start', y, second.id]], kids.slice(0, 2)));
    // both chairs handed over in one statement: x to y's panel and y to x's, nobody's access moves
    const swap = byHand(`update safeguard.panels set chair_agency = case when id = ${sql(first.id)} then ${sql(y)} else ${sql(x)} end
      where id in (${sql(first.id)}, ${sql(second.id)})`);
    assert.deepEqual(rows(swap, kids), []);
    // one statement moving the only chair of x to y: x ends (a per-row check would see y's panel as x's)
    const both = byHand(`update safeguard.panels set chair_agency = ${sql(y)} where id in (${sql(first.id)}, ${sql(second.id)})`);
    assert.deepEqual(rows(both, kids), expect([['end', x, second.id]], kids.slice(0, 2)));
    const gone = byHand(`delete from safeguard.panel_members where panel_id in (${sql(first.id)}, ${sql(second.id)});
      delete from safeguard.panels where id in (${sql(first.id)}, ${sql(second.id)})`);
    // (a row names the lowest id of the agency's panels the statement changed)
    const lowest = [first.id, second.id].sort()[0];
    assert.deepEqual(rows(gone, kids), expect([['end', y, lowest]], kids.slice(0, 2)));
    first = second = null;
  });

  it('a change with no identity to audit as is refused, and nothing moves', async () => {
    const p = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['youth_justice', 'csc'] });
    assert.throws(() => psql(`update safeguard.panels set type = 'cme', chair_agency = ${sql(x)} where id = ${sql(p.id)}`), /app\.request_id|row-level security/);
    assert.equal(psql(`select type from safeguard.panels where id = ${sql(p.id)}`), 'joint_police_yj');
  });
});
