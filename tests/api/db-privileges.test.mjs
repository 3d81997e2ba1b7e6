// db-privileges.test.mjs - what the database itself lets the API role do
// beyond the rows row-level security shows it.  Every security-definer
// function the API role may call was reviewed (036, 039); the list below is
// that review, so that a new one cannot appear unreviewed: one that shows a
// child's data must check the caller itself and leave its audit row (or be
// reached only through one that does), and none may take the caller's
// agency or identity as a parameter in place of the request's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from './lib/client.mjs';
import { who, ok, makeChild, sql, asApi } from './lib/panels.mjs';

const definers = () => psql(`select p.oid::regprocedure::text from pg_proc p
  where p.pronamespace = 'safeguard'::regnamespace and p.prosecdef and has_function_privilege('safeguard_api', p.oid, 'execute')
  order by 1`).split('\n').filter(Boolean);

// reviewed: each returns a boolean, ids the caller may know, or data only
// after its own check (sync_window, 042: positions in the change log only,
// of rows about records the caller may see by some way or was shown); the
// ones behind a stored timeline and the change feed's writers are not here
// (036, 039)
const REVIEWED = `
audit_event_visible(text,text,text) child_by_identifier(text,text) child_by_identifier(text,text,uuid)
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
panel_open_action_owners(uuid) panel_open_children(uuid) panel_open_referral(uuid,uuid) panel_reader(uuid)
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
