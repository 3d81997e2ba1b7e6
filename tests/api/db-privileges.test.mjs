// db-privileges.test.mjs - what the database itself lets the API role do
// beyond the rows row-level security shows it.  Every security-definer
// function the API role may call was reviewed (036, 039); the list below is
// that review, so that a new one cannot appear unreviewed: one that shows a
// child's data must check the caller itself and leave its audit row (or be
// reached only through one that does), and none may take the caller's
// agency or identity as a parameter in place of the request's.  The reads
// that left their audit to the API's next statement write it themselves
// (050), and a parameter may not loosen what the deployment decided (the
// idempotency purge's TTL, 050).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { who, ok, call, admin, today, makeChild, makePanel, refer, sql, asApi } from './lib/panels.mjs';

const definers = () => psql(`select p.oid::regprocedure::text from pg_proc p
  where p.pronamespace = 'safeguard'::regnamespace and p.prosecdef and has_function_privilege('safeguard_api', p.oid, 'execute')
  order by 1`).split('\n').filter(Boolean);

// reviewed: each returns a boolean, ids the caller may know, or data only
// after its own check (sync_window, 042: positions in the change log only,
// of rows about records the caller may see by some way or was shown); the
// ones behind a stored timeline and the change feed's writers are not here
// (036, 039)
const REVIEWED = `
audit_children_seen() audit_event_visible(text,text,text,text) child_by_identifier(text,text) child_by_identifier(text,text,uuid)
child_chronology(uuid,date,date,text,text,date,time without time zone,bigint,integer) child_cme_case_live(uuid)
child_exists(uuid) child_in_network(uuid) child_list_sparse()
child_on_open_panel(uuid) child_page(timestamp with time zone,uuid,integer,text,uuid) child_panel_referrals(uuid)
child_search(text,text,text,text,date) child_shared_by_request(uuid) cme_case_visible(uuid) cme_officer()
consolidated_read(uuid,text,text,text,jsonb,text) consolidated_read(uuid,text,text,text,jsonb,text,text)
consolidated_readable(uuid) contribution_allowed(uuid,uuid) declared_involvement_at(text,text,timestamp with time zone)
entry_agency(uuid) entry_children_open(uuid) entry_shared_with_me(uuid) entry_shared_with_panel(uuid)
entry_version_current(uuid,integer,jsonb,text,timestamp with time zone) family_change_allowed(uuid,uuid)
family_manageable(uuid) family_on_open_panel(uuid) family_shared_by_request(uuid) family_visible(uuid,text)
family_writable(uuid,text) idempotency_purge(bigint,integer) panel_action_owned(uuid)
panel_action_owner_change(uuid,text,date,text,text,boolean) panel_agenda_of(uuid,uuid[]) panel_chair_of(uuid)
panel_has_member(uuid,text) panel_may_refer(uuid) panel_member_agency(uuid) panel_on_agenda(uuid,uuid)
panel_open_action_owners(uuid) panel_open_referral(uuid,uuid) panel_reader(uuid)
panel_recorder(uuid) panel_referral_request(uuid) panel_referrer_of(uuid)
panel_request_link_ok(uuid,uuid) request_open_to_me(uuid) request_opening(uuid) request_readable(uuid)
request_shared_with_panel(uuid) request_subject_ok(uuid,uuid) request_visible_to_me(uuid) screening_report(date,date)
screening_report_reader() screening_tool_admin() sync_expired(timestamp with time zone,uuid,timestamp with time zone)
sync_horizon(xid8,bigint,xid8,integer) sync_shown(text,uuid) sync_shown_since(text,uuid,xid8,bigint)
sync_tombstoned(text,uuid,xid8,bigint,timestamp with time zone,uuid) sync_window(xid8,bigint,xid8,xid8,bigint,integer)
training_booking_visible(uuid) training_course_visible(uuid) training_link_visible(uuid) training_managed_booking(uuid)
training_manager_requests() training_may_book(uuid,text,integer) training_may_complete(uuid,timestamp with time zone)
training_may_evaluate(uuid,text) training_promote(uuid) training_session_brief(uuid) training_session_brief(uuid,boolean)
training_session_counts(uuid) training_session_lock(uuid) training_waitlist_position(uuid,integer)
`.trim().split(/\s+(?=[a-z_]+\()/).map((f) => `safeguard.${f}`);

describe('the security-definer functions the API role may call', () => {
  it('are the reviewed ones (trigger functions aside, which cannot be called directly)', () => {
    const triggers = psql(`select p.oid::regprocedure::text from pg_proc p
      where p.pronamespace = 'safeguard'::regnamespace and p.prorettype = 'trigger'::regtype`).split('\n').filter(Boolean);
    const callable = definers().filter((f) => !triggers.includes(f));
    assert.deepEqual(callable.filter((f) => !REVIEWED.includes(f)), [], 'not reviewed: check it, then add it to the list');
    assert.deepEqual(REVIEWED.filter((f) => !callable.includes(f)), [], 'reviewed but gone: take it off the list');
  });

  it('the change feed is written by the owner\'s triggers only: the API role may not log a change (039, 048)', async () => {
    const c = await makeChild('police');
    for (const f of [`sync_log('child', ${sql(c.id)})`, `sync_log_request(${sql(c.id)})`, `sync_log_shared_entries(${sql(c.id)})`,
      `sync_log_child_and_family(${sql(c.id)})`, `sync_log_panel_open(${sql(c.id)})`]) {
      const r = asApi({ agency: 'police', roles: 'practitioner' }, `select safeguard.${f}`);
      assert.match(r.err ?? 'allowed', /permission denied for function sync_log/, f);
    }
  });

  it('whether an agency declared involvement is answered only to a caller who may see that agency\'s audit rows about the child (039)', async () => {
    const c = await makeChild('police');
    await ok('POST', `/v1/children/${c.id}/involvements`, who('health', 'practitioner'), { reason: 'school nurse referral' }, 201);
    const ask = (agency, roles) => asApi({ agency, roles }, `select safeguard.declared_involvement_at(${sql(c.id)}, 'health', now())`).out;
    // the partnership's auditor, and health's own, see health's rows about the child
    assert.equal(ask('partnership', 'auditor'), 't');
    assert.equal(ask('health', 'auditor'), 't');
    // another agency, whatever its role, is told nothing: not even that it was declared
    for (const [agency, roles] of [['voluntary', 'admin'], ['voluntary', 'auditor'], ['education', 'safeguarding_lead'], ['district', 'practitioner']])
      assert.equal(ask(agency, roles), 'f', `${agency} ${roles}`);
    // the child's access log still marks health's reads as by its declared involvement, for CSC's lead
    await ok('GET', `/v1/children/${c.id}`, who('health', 'practitioner'));
    const log = await ok('GET', `/v1/children/${c.id}/access-log`, who('csc', 'safeguarding_lead'));
    const health = log.body.items.filter((e) => e.actor_agency === 'health' && e.action === 'child.read');
    assert.equal(health.length, 1, JSON.stringify(log.body.items));
    assert.equal(health[0].declared_involvement, true);
    assert.equal(log.body.items.find((e) => e.actor_agency === 'police').declared_involvement, false);
  });
});

// A call as the API role, committed, under a request id of its own: (the
// request id, the statement's output lines).
function direct({ agency, roles, sub = 'definer-direct' }, statement) {
  const rid = `direct-${randomUUID()}`;
  const out = psql(`begin; set local role safeguard_api;
    select set_config('app.sub', ${sql(sub)}, true), set_config('app.agency', ${sql(agency)}, true),
           set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', ${sql(rid)}, true);
    ${statement}; commit;`);
  return { rid, out: out.split('\n').slice(1) };
}
// The audit rows of one request, as the trail keeps them (the actor aside).
const trail = (rid) => psql(`select string_agg(concat_ws(' ', action, resource_type, resource_id, outcome, details::text), E'\\n'
  order by action, resource_id, details::text) from safeguard.audit_events where request_id = ${sql(rid)}`).split('\n').filter(Boolean);
const read = (action, ids) => ids.map((id) => `${action} child ${id} success {}`).sort();

describe('a definer that shows a child\'s data writes the read\'s audit rows itself (050)', () => {
  it('child_chronology: the route and a direct call write the same rows, once, for the child and the siblings shown, not the look-ahead\'s', async () => {
    const csc = who('csc', 'social_worker');
    const fam = (await ok('POST', '/v1/families', csc, { name: `Definers ${randomUUID().slice(0, 8)}` }, 201)).body;
    const k = [];
    for (let i = 0; i < 3; i++) {
      const c = await makeChild('csc');
      await ok('POST', `/v1/families/${fam.id}/members`, csc, { child_id: c.id, relationship: 'sibling' }, 201);
      k.push(c.id);
    }
    const entry = (ids, event_date) => ok('POST', '/v1/chronology-entries', csc, {
      child_ids: ids, event_date, date_precision: 'day', category: 'home_visit', summary: 'visited the family',
      impact: 'neutral', significance: 'low', action_taken: 'recorded',
    }, 201);
    const e1 = (await entry([k[0], k[1]], today(-10))).body;
    await entry([k[0], k[2]], today(-5));
    // the route: one page of one entry, and a look-ahead row about k[2]
    const page = await ok('GET', `/v1/children/${k[0]}/chronology?limit=1`, csc);
    assert.deepEqual(page.body.items.map((e) => e.id), [e1.id]);
    assert.ok(page.body.next_cursor);
    const route = trail(page.headers.get('x-request-id'));
    assert.deepEqual(route, read('child.chronology.read', [k[0], k[1]]));
    // called directly as the API role, the same call writes the same rows;
    // the look-ahead row says only that it is there
    const call = (lim) => `select coalesce(j::json->>'id', 'none'), coalesce(event_date, 'none') from safeguard.child_chronology(${sql(k[0])},
      null, null, null, null, null, null, null, ${lim})`;
    const d = direct({ agency: 'csc', roles: 'social_worker' }, call(2));
    assert.deepEqual(d.out, [`${e1.id}|${today(-10)}`, 'none|none']);
    assert.deepEqual(trail(d.rid), route);
    // both entries shown: every child of both
    const all = direct({ agency: 'csc', roles: 'social_worker' }, call(3));
    assert.equal(all.out.length, 2);
    assert.deepEqual(trail(all.rid), read('child.chronology.read', k));
    // a caller who may not see the child is shown nothing and leaves nothing
    const none = direct({ agency: 'education', roles: 'practitioner' }, call(3));
    assert.deepEqual(none.out, []);
    assert.deepEqual(trail(none.rid), []);
  });

  it('child_panel_referrals: the route and a direct call write the same row, once', async () => {
    const panel = await makePanel({ members: ['youth_justice', 'csc'] });
    const c = await makeChild('csc');
    const r = await refer(panel, c);
    const res = await ok('GET', `/v1/children/${c.id}/panel-referrals`, who('csc', 'practitioner'));
    assert.deepEqual(res.body.items.map((i) => i.referral_id), [r.id]);
    const route = trail(res.headers.get('x-request-id'));
    assert.deepEqual(route, read('child.panel_referrals.read', [c.id]));
    const call = `select id from safeguard.child_panel_referrals(${sql(c.id)})`;
    const d = direct({ agency: 'csc', roles: 'practitioner' }, call);
    assert.deepEqual(d.out, [r.id]);
    assert.deepEqual(trail(d.rid), route);
    const none = direct({ agency: 'education', roles: 'practitioner' }, call);
    assert.deepEqual(none.out, []);
    assert.deepEqual(trail(none.rid), []);
  });
});

describe('the idempotency purge keeps what the deployment keeps (050)', () => {
  it('called directly with a TTL of 0 it takes no answer younger than the stored retention: the retry still replays', async () => {
    const t = who('police', 'practitioner');
    const body = { first_name: 'Queued', last_name: `Purge-${randomUUID().slice(0, 8)}`, date_of_birth: '2013-03-03' };
    const [live, old] = [`live-${randomUUID()}`, `old-${randomUUID()}`];
    const send = (key) => call('POST', '/v1/children', t, body, { 'Idempotency-Key': key });
    const first = await send(live);
    assert.equal(first.status, 201, first.text);
    assert.equal((await send(old)).status, 201);
    // the answer carries the deployment's TTL (a week unless configured)
    assert.equal(psql(`select keep_seconds from safeguard.idempotency_keys where key = ${sql(live)}`), '604800');
    // two hours old, within the week; the other past it
    psql(`update safeguard.idempotency_keys set created_at = now() - interval '2 hours' where key = ${sql(live)};
      update safeguard.idempotency_keys set created_at = now() - interval '7 days 1 minute' where key = ${sql(old)}`);
    direct({ agency: 'voluntary', roles: 'practitioner' }, 'call safeguard.idempotency_purge(0, 5000)');
    assert.equal(psql(`select string_agg(key, ',') from safeguard.idempotency_keys where key in (${sql(live)}, ${sql(old)})`), live);
    const again = await send(live);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.equal(psql(`select count(*) from safeguard.children where last_name = ${sql(body.last_name)}`), '2');
  });
});

describe('a panel\'s open children are told to no one who manages it (050)', () => {
  it('an admin learns no child of a panel; a membership change, by the route or directly, audits each open child once', async () => {
    const panel = await makePanel({ type: 'risk_meeting', members: ['youth_justice', 'csc'] });
    const kids = [await makeChild('csc'), await makeChild('csc')];
    for (const c of kids) await refer(panel, c);
    const ids = kids.map((c) => c.id);
    // no function gives an admin the panel's children (011 did, to any agency's)
    const asked = asApi({ agency: 'voluntary', roles: 'admin' }, `select safeguard.panel_open_children(${sql(panel.id)})`);
    assert.match(asked.err ?? asked.out, /does not exist/);
    const access = (act, agency) => ids.map((id) => `${act} child ${id} success {"cause": "membership", "agency": "${agency}", "panel_id": "${panel.id}"}`).sort();
    // the route: health joins and youth justice leaves, one row per child and agency
    const res = await ok('PATCH', `/v1/panels/${panel.id}`, admin(), { member_agencies: ['health', 'csc'] }, 200, { 'If-Match': '"v1"' });
    assert.deepEqual(trail(res.headers.get('x-request-id')).filter((l) => l.startsWith('child.')),
      [...access('child.panel_access.end', 'youth_justice'), ...access('child.panel_access.start', 'health')].sort());
    // a member added or removed by the API role directly is audited the same
    const add = direct({ agency: 'voluntary', roles: 'admin' }, `insert into safeguard.panel_members (panel_id, agency) values (${sql(panel.id)}, 'education')`);
    assert.deepEqual(trail(add.rid), access('child.panel_access.start', 'education'));
    const drop = direct({ agency: 'voluntary', roles: 'admin' }, `delete from safeguard.panel_members where panel_id = ${sql(panel.id)} and agency = 'education'`);
    assert.deepEqual(trail(drop.rid), access('child.panel_access.end', 'education'));
  });
});
