// attack-window.test.mjs - a hostile partner agency against 042's sync
// window (safeguard.sync_window, read by safeguard.sync_page).
//
// The window picks, by plain probes, the log rows a page reads under the
// policies; it is also granted to the API's role, so a caller holding that
// role may call it directly with any arguments.  The attacks:
//   - called directly, it must answer no position of a row the log's policy
//     withholds from the same caller (found: a panel's shared entries were
//     picked for every role of a member agency, while only a panel reader's
//     role may read them; fixed in 043), and with the bound moved, it must
//     not tell which withheld positions are one record's;
//   - nor a position of a child an entry only named to the caller (found:
//     the log's policy counted the naming as showing; fixed in 043);
//   - it must pick every latest row the policy admits (a way missed is a
//     record sync never delivers), for every role of every agency, on a
//     register holding each way, and a record shown and then lost;
//   - arguments a direct caller chooses (nulls, zero and negative sizes, a
//     bound past the end, a range turned round): no error, nothing more;
//   - short pages (a full window of rows the policies drop), at limit=1 and
//     limit=200, while a record's latest change moves and while a writer
//     holds the bound: nothing lost, nothing told twice that was not changed;
//   - tombstones after a referral closes and after a share window ends;
//   - forged cursors: 400 invalid-cursor or a page, never a 500.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { request, psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { ROLES, who, ok, makePanel, makeChild, refer, accept, asApi, sql, today } from './lib/panels.mjs';
import { openCursor, sealCursor } from './lib/sealed-cursor.mjs';

const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const post = async (path, token, body, status = 201) => (await ok('POST', path, token, body, status)).body;
const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;
const entryBody = (childIds, fields = {}) => ({
  child_ids: childIds, event_date: today(-5), date_precision: 'day', category: 'home_visit',
  summary: 'visited', impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
});
const requestBody = (fields) => ({
  purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: inSeconds(3600), ...fields,
});
const lastPosition = () => (psql('select xid || \',\' || seq from safeguard.sync_changes order by xid desc, seq desc limit 1') || '0,0').split(',');

async function patchChild(token, id, fields) {
  const cur = await ok('GET', `/v1/children/${id}`, token);
  return (await ok('PATCH', `/v1/children/${id}`, token, fields, 200, { 'If-Match': cur.headers.get('etag') })).body;
}

// A whole sync from cursor (null: a first sync), page by page: every item,
// the last sync_cursor, the pages and the short ones (no item, more).
// between(page) runs after each page that says more.
async function sync(token, cursor = null, limit = 200, between = async () => {}) {
  const items = [];
  let short = 0;
  for (let pages = 1; ; pages++) {
    const q = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    const res = await request('GET', `/v1/changes?${q}`, { token });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    items.push(...res.body.items);
    if (!res.body.next_cursor) return { items, cursor: res.body.sync_cursor, pages, short };
    if (res.body.items.length === 0) short++;
    cursor = res.body.next_cursor;
    await between(pages);
    assert.ok(pages < 2000, 'a sync that does not end');
  }
}
const about = (items, id) => items.filter((i) => i.id === id).map((i) => i.change);

// As the API's role for a caller: the window's rows (from the log's start,
// below bound) that the log's policy withholds from that caller, and the
// latest rows below bound the policy admits that the window leaves out.
function windowVersusPolicy({ agency, roles, sub }, bound = 'pg_snapshot_xmin(pg_current_snapshot())') {
  const { out, err } = asApi({ agency, roles, sub }, `
    with b as (select ${bound} as x),
    w as (select w.xid, w.seq from b, safeguard.sync_window('0', 0, b.x, null, null, 1000000) w),
    p as (select c.xid, c.seq from safeguard.sync_changes c, b
          where c.xid < b.x and not exists (select 1 from safeguard.sync_changes d
            where d.record_id = c.record_id and d.kind = c.kind and d.xid < b.x and (d.xid, d.seq) > (c.xid, c.seq)))
    select (select count(*) from (select * from w except select * from p) z) || ','
        || (select count(*) from (select * from p except select * from w) z) || ','
        || (select count(*) from w)`);
  assert.equal(err, undefined, err);
  const [withheld, missed, picked] = out.split(',').map(Number);
  return { withheld, missed, picked };
}

// As the API's role: how many rows of a direct call the log's policy
// withholds from the caller (a position it could not read itself), or {err}.
function withheldByDirectCall({ agency, roles, sub = 'window-direct' }, args) {
  const r = asApi({ agency, roles, sub }, `select count(*) filter (where not exists (
      select 1 from safeguard.sync_changes c where c.xid = w.xid and c.seq = w.seq)) || ',' || count(*)
    from safeguard.sync_window(${args}) w`);
  if (r.err) return r;
  const [withheld, picked] = r.out.split(',').map(Number);
  return { withheld, picked };
}

describe('sync_window called directly by the API role', () => {
  const made = {};
  before(async () => {
    made.start = lastPosition();
    // a panel voluntary sits on; its open referral names a request police shared an entry into,
    // and the entry then changes twice, in two transactions
    const panel = await makePanel({ type: 'risk_meeting', chair: 'police', members: ['voluntary', 'csc'] });
    made.child = await makeChild('police');
    const lead = who('police', 'safeguarding_lead');
    made.entry = await post('/v1/chronology-entries', lead, entryBody([made.child.id], { summary: 'seen with older peers' }));
    const csc = who('csc', 'social_worker');
    const req = await post('/v1/chronology-requests', csc, requestBody({ child_id: made.child.id, agencies: ['police'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, lead, { entry_ids: [made.entry.id] }, 200);
    await accept(await refer(panel, made.child, csc, { chronology_request_id: req.id }));
    for (const summary of ['seen again', 'seen once more']) {
      const cur = await ok('GET', `/v1/chronology-entries/${made.entry.id}`, lead);
      await ok('PATCH', `/v1/chronology-entries/${made.entry.id}`, lead, { summary }, 200, { 'If-Match': cur.headers.get('etag') });
    }
    made.entryXids = psql(`select string_agg(xid::text, ',' order by xid) from safeguard.sync_changes
      where record_id = '${made.entry.id}'`).split(',');
  });

  it('the register is what the attack needs: the practitioner may not read the entry, the panel member may', () => {
    const read = (roles) => asApi({ agency: 'voluntary', roles }, `select count(*) from safeguard.chronology_entries where id = '${made.entry.id}'`).out;
    assert.equal(read('practitioner'), '0');
    assert.equal(read('panel_member'), '1');
    assert.ok(made.entryXids.length >= 3, `the entry changed in ${made.entryXids.length} transactions`);
  });

  // Found (042): the window picked the panel's shared entries for any role
  // of a member agency, and answered their positions to a direct caller.
  it('a practitioner of a member agency is told no position of the panel\'s entries, at any bound', () => {
    const caller = { agency: 'voluntary', roles: 'practitioner' };
    const from = `${sql(made.start[0])}, ${made.start[1]}`;
    // with the bound just past each of the entry's changes, the window would answer the position of
    // the change before it only while no later one lies below the bound: which positions are one entry's
    for (const x of [...made.entryXids.map((v) => `'${BigInt(v) + 1n}'::xid8`), 'pg_snapshot_xmin(pg_current_snapshot())']) {
      const got = withheldByDirectCall(caller, `${from}, ${x}, null, null, 100000`);
      assert.deepEqual(got.withheld, 0, `bound ${x}: ${JSON.stringify(got)}`);
    }
    // the panel member is told them: its role reads them
    const member = withheldByDirectCall({ agency: 'voluntary', roles: 'panel_member' },
      `${from}, pg_snapshot_xmin(pg_current_snapshot()), null, null, 100000`);
    assert.equal(member.withheld, 0);
    assert.ok(member.picked >= 2, `the panel member is told the child and the entry: ${JSON.stringify(member)}`);
  });

  it('arguments a direct caller chooses: no error, and no position the log\'s policy withholds', () => {
    const from = `${sql(made.start[0])}, ${made.start[1]}`;
    const xmin = 'pg_snapshot_xmin(pg_current_snapshot())';
    const cases = [
      `${from}, ${xmin}, null, null, null`,
      `${from}, ${xmin}, null, null, 0`,
      `${from}, ${xmin}, null, null, -5`,
      `${from}, ${xmin}, null, null, 2147483647`,
      `${from}, '18446744073709551615', null, null, 100000`, // a bound past every transaction
      `'0', 0, '18446744073709551615', '18446744073709551615', 9223372036854775807, 100000`,
      `null, null, ${xmin}, null, null, 100000`,
      `${from}, null, null, null, 100000`,
      `${from}, ${xmin}, '0', 0, 100000`, // a range turned round
      `'18446744073709551615', 9223372036854775807, ${xmin}, null, null, 100000`,
      `'0', -9223372036854775808, ${xmin}, null, null, 100000`,
    ];
    for (const [agency, roles] of [['voluntary', 'practitioner'], ['district', 'practitioner'], ['partnership', 'admin'],
      ['police', 'panel_chair'], ['education', 'safeguarding_lead']]) {
      for (const args of cases) {
        const got = withheldByDirectCall({ agency, roles }, args);
        assert.equal(got.err, undefined, `${agency} ${roles} (${args}): ${got.err}`);
        assert.equal(got.withheld, 0, `${agency} ${roles} (${args}): ${JSON.stringify(got)}`);
      }
    }
    // no caller at all (no agency, no subject): nothing
    const none = asApi({ agency: '', roles: '', sub: '' }, `select count(*) from safeguard.sync_window('0', 0,
      pg_snapshot_xmin(pg_current_snapshot()), null, null, 100000)`);
    assert.deepEqual(none, { out: '0' });
  });

  it('the API role still may not read the log\'s rows past its policy, nor write them', () => {
    const r = asApi({ agency: 'voluntary', roles: 'practitioner' }, `insert into safeguard.sync_changes (kind, record_id)
      values ('child', '${randomUUID()}')`);
    assert.match(r.err ?? '', /permission denied|row-level security/);
  });
});

describe('a sibling an entry names, never shown: neither the window nor the log tells its changes', () => {
  // Found (018/028, asked by 042's window): 028 made an entry's naming of a
  // child no showing for the log's tombstones, but sync_shown, which the
  // log's policy and the window ask, still counted it; fixed in 043.
  it('the API role, for the reader, reads no change of the sibling, and the window answers none', async () => {
    const csc = who('csc', 'social_worker');
    const a = await makeChild('csc');
    const b = await makeChild('csc');
    const fam = await post('/v1/families', csc, { name: `Attack window named ${randomUUID().slice(0, 6)}` });
    for (const c of [a, b]) await post(`/v1/families/${fam.id}/members`, csc, { child_id: c.id, relationship: 'child' });
    const nurse = tokenFor('health', 'practitioner', `window-nurse-${randomUUID().slice(0, 8)}`);
    for (const c of [a, b]) await post(`/v1/children/${c.id}/involvements`, nurse, { reason: 'clinic' });
    const e = await post('/v1/chronology-entries', nurse, entryBody([a.id, b.id], { summary: 'both at clinic' }));
    const officer = tokenFor('police', 'practitioner', `window-named-${randomUUID().slice(0, 8)}`);
    const o0 = (await sync(officer)).cursor;
    const req = await post('/v1/chronology-requests', csc, requestBody({ child_id: a.id, agencies: ['police', 'health'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, nurse, { entry_ids: [e.id] }, 200);
    const open = await sync(officer, o0);
    assert.deepEqual(about(open.items, e.id), ['upsert']);
    assert.deepEqual(about(open.items, b.id), []);
    assert.equal((await request('GET', `/v1/children/${b.id}`, { token: officer })).status, 404);
    await patchChild(csc, b.id, { preferred_name: 'Moved' });
    await patchChild(csc, b.id, { preferred_name: 'Moved again' });
    const caller = { agency: 'police', roles: 'practitioner', sub: subOf(officer) };
    // the log's own policy: no row of the sibling
    assert.deepEqual(asApi(caller, `select count(*) from safeguard.sync_changes where record_id = '${b.id}'`), { out: '0' });
    // the window: no position of it (each of its rows is withheld, so none may come back)
    const got = withheldByDirectCall(caller, `'0', 0, pg_snapshot_xmin(pg_current_snapshot()), null, null, 1000000`);
    assert.deepEqual(got.withheld, 0, JSON.stringify(got));
    const positions = asApi(caller, `select count(*) from safeguard.sync_window('0', 0, pg_snapshot_xmin(pg_current_snapshot()), null, null, 1000000) w
      join safeguard.sync_changes c on c.xid = w.xid and c.seq = w.seq where c.record_id = '${b.id}'`);
    assert.deepEqual(positions, { out: '0' });
    // the named child the reader was shown (a) is still its to read, and the sync tells nothing of b
    assert.notEqual(asApi(caller, `select count(*) from safeguard.sync_changes where record_id = '${a.id}'`).out, '0');
    assert.deepEqual(about((await sync(officer, open.cursor)).items, b.id), []);
  });
});

describe('the window is the log\'s policy, both ways, for every role of every agency', () => {
  const made = {};
  before(async () => {
    const csc = who('csc', 'social_worker');
    // the network: police's own child and entry
    made.policeChild = await makeChild('police');
    await post('/v1/chronology-entries', who('police', 'safeguarding_lead'), entryBody([made.policeChild.id]));
    // a live request about a family, inviting district and health, which shares an entry
    made.family = await post('/v1/families', csc, { name: `Attack window ${randomUUID().slice(0, 6)}` });
    made.sibling = await makeChild('csc');
    await post(`/v1/families/${made.family.id}/members`, csc, { child_id: made.sibling.id, relationship: 'child' });
    const nurse = who('health', 'practitioner');
    await post(`/v1/children/${made.sibling.id}/involvements`, nurse, { reason: 'health visitor' });
    made.healthEntry = await post('/v1/chronology-entries', nurse, entryBody([made.sibling.id]));
    const req = await post('/v1/chronology-requests', csc, requestBody({ family_id: made.family.id, agencies: ['district', 'health'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, nurse, { entry_ids: [made.healthEntry.id] }, 200);
    // a panel voluntary and youth justice sit on: a referral naming a family and a request police shared into
    const panel = await makePanel({ type: 'risk_meeting', chair: 'police', members: ['voluntary', 'youth_justice', 'csc'] });
    made.referred = await makeChild('police');
    const fam = await post('/v1/families', csc, { name: `Attack window panel ${randomUUID().slice(0, 6)}` });
    await post(`/v1/families/${fam.id}/members`, csc, { child_id: made.referred.id, relationship: 'child' });
    const panelEntry = await post('/v1/chronology-entries', who('police', 'safeguarding_lead'), entryBody([made.referred.id]));
    const req2 = await post('/v1/chronology-requests', csc, requestBody({ child_id: made.referred.id, agencies: ['police'] }));
    await post(`/v1/chronology-requests/${req2.id}/contributions`, who('police', 'safeguarding_lead'), { entry_ids: [panelEntry.id] }, 200);
    await accept(await refer(panel, made.referred, csc, { chronology_request_id: req2.id }));
    // families by creator and by a member in the network
    await post('/v1/families', who('police', 'safeguarding_lead'), { name: `Attack window police ${randomUUID().slice(0, 6)}` });
    const netFam = await post('/v1/families', csc, { name: `Attack window network ${randomUUID().slice(0, 6)}` });
    const member = await makeChild('csc');
    await post(`/v1/families/${netFam.id}/members`, csc, { child_id: member.id, relationship: 'child' });
    await post(`/v1/children/${member.id}/involvements`, who('mental_health', 'practitioner'), { reason: 'camhs' });
    // a live missing-education case: the CME officer, and the chair of a CME panel education chairs
    made.missing = await makeChild('csc');
    await post('/v1/cme-cases', csc, {
      child_id: made.missing.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
      what_is_known: 'Not seen in school since the start of the week.',
    });
    await makePanel({ type: 'cme', chair: 'education', members: ['health', 'csc'] });
    // shown, then lost: a district practitioner syncs a child it is invited to see, then the request closes
    made.lost = await makeChild('csc');
    made.lostReader = tokenFor('district', 'practitioner', `window-lost-${randomUUID().slice(0, 8)}`);
    const r0 = (await sync(made.lostReader)).cursor;
    const req3 = await post('/v1/chronology-requests', csc, requestBody({ child_id: made.lost.id, agencies: ['district'] }));
    const seen = await sync(made.lostReader, r0);
    assert.deepEqual(about(seen.items, made.lost.id), ['upsert']);
    await post(`/v1/chronology-requests/${req3.id}/closure`, csc, undefined, 200);
    const gone = await sync(made.lostReader, seen.cursor);
    assert.deepEqual(about(gone.items, made.lost.id), ['tombstone']);
    await patchChild(csc, made.lost.id, { preferred_name: 'Lost' }); // a later change: picked as shown, dropped by sync_page
  });

  it('the chair of the CME panel sees the missing child; the lost reader was shown the lost child', () => {
    const sees = (agency, roles, sub, id) => asApi({ agency, roles, sub }, `select count(*) from safeguard.sync_changes where record_id = '${id}'`).out !== '0';
    assert.ok(sees('education', 'panel_chair', 'x', made.missing.id));
    assert.ok(!sees('health', 'panel_chair', 'x', made.missing.id));
    assert.ok(sees('district', 'practitioner', subOf(made.lostReader), made.lost.id));
    assert.ok(!sees('district', 'practitioner', 'someone-else', made.lost.id));
  });

  // /readyz, once more on a new connection if the idle one was closed under
  // it while psql held the event loop (a slow machine): "fetch failed"
  const ready = async () => {
    try {
      return await request('GET', '/readyz', { validate: false });
    } catch (e) {
      if (e.message !== 'fetch failed') throw e;
      return request('GET', '/readyz', { validate: false });
    }
  };
  for (const agency of AGENCIES) {
    it(`${agency}: every role's window is exactly the latest rows its log policy admits`, async () => {
      for (const role of [...ROLES, 'panel_member,practitioner', 'panel_chair,safeguarding_lead']) {
        for (const sub of [`window-policy-${agency}`, subOf(made.lostReader)]) {
          const got = windowVersusPolicy({ agency, roles: role, sub });
          assert.deepEqual({ withheld: got.withheld, missed: got.missed }, { withheld: 0, missed: 0 }, `${agency} ${role} ${sub}: ${JSON.stringify(got)}`);
        }
        // these checks block the event loop (psql): a request after each role keeps fetch's
        // idle connection from passing nginx's keep-alive timeout unseen
        assert.equal((await ready()).status, 200);
      }
    });
  }
});

describe('paging through the window', () => {
  // 121 records shown to a district practitioner and tombstoned, then
  // changed again: the window picks each (shown once) and sync_page drops
  // each (its tombstone was sent), so a page of one (a window of 102) ends
  // short; a child district sees changes after them, and again while it pages.
  const made = {};
  before(async () => {
    const csc = who('csc', 'social_worker');
    made.tag = `attack-window-${randomUUID().slice(0, 8)}`;
    made.family = await post('/v1/families', csc, { name: `Attack window many ${randomUUID().slice(0, 6)}` });
    psql(`insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency, family_id, family_relationship)
      select md5(${sql(made.tag)} || i)::uuid, 'Window', 'Many' || i, date '2012-01-01', 'csc', '${made.family.id}', 'child'
      from generate_series(1, 120) i;
      insert into safeguard.child_network (child_id, agency, how, joined_by)
      select md5(${sql(made.tag)} || i)::uuid, 'csc', 'created', ${sql(made.tag)} from generate_series(1, 120) i;`);
    made.reader = tokenFor('district', 'practitioner', `window-pages-${randomUUID().slice(0, 8)}`);
    made.own = await makeChild('district');
    const r0 = (await sync(made.reader)).cursor;
    const req = await post('/v1/chronology-requests', csc, requestBody({ family_id: made.family.id, agencies: ['district'] }));
    const seen = await sync(made.reader, r0);
    assert.equal(seen.items.filter((i) => i.change === 'upsert').length, 121, 'the family and its 120 children');
    await post(`/v1/chronology-requests/${req.id}/closure`, csc, undefined, 200);
    const gone = await sync(made.reader, seen.cursor);
    assert.equal(gone.items.filter((i) => i.change === 'tombstone').length, 121, 'each tombstoned once');
    made.cursor = gone.cursor;
  });

  for (const limit of [1, 200]) {
    it(`limit=${limit}: the changes of records already tombstoned tell nothing; the own child comes at its latest, whatever moves while paging`, async () => {
      psql(`update safeguard.children set preferred_name = 'Again ${limit}' where family_id = '${made.family.id}'`);
      await patchChild(who('district', 'safeguarding_lead'), made.own.id, { preferred_name: 'First' });
      let moved = 0;
      const got = await sync(made.reader, made.cursor, limit, async () => {
        if (moved++ === 0) await patchChild(who('district', 'safeguarding_lead'), made.own.id, { preferred_name: `Moved ${limit}` });
      });
      if (limit === 1) assert.ok(got.short >= 1, `a full window ended a page short: ${got.pages} pages`);
      const many = new Set(psql(`select id from safeguard.children where family_id = '${made.family.id}'`).split('\n'));
      assert.equal(many.size, 120);
      assert.deepEqual(got.items.filter((i) => many.has(i.id)), [], 'the 120 children: no second tombstone');
      assert.deepEqual(about(got.items, made.family.id), [], 'the family: no second tombstone');
      const own = got.items.filter((i) => i.id === made.own.id);
      assert.ok(own.length >= 1, 'the own child came');
      assert.equal(own.at(-1).record.preferred_name, moved > 0 ? `Moved ${limit}` : 'First', 'its last word is its latest state');
      // and the next sync tells the moved change if this one ended before it
      const after = await sync(made.reader, got.cursor, limit);
      const last = [...own, ...after.items.filter((i) => i.id === made.own.id)].at(-1);
      assert.equal(last.record.preferred_name, moved > 0 ? `Moved ${limit}` : 'First');
      made.cursor = after.cursor;
    });
  }

  it('a writer holding the bound: its change and a later committed one both come once it commits, none skipped', async () => {
    const lead = who('district', 'safeguarding_lead');
    const other = await makeChild('district');
    const c0 = (await sync(made.reader, made.cursor)).cursor;
    // a transaction that changes the own child and stays open for a while
    const writer = spawn('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c',
      `begin; update safeguard.children set preferred_name = 'Held' where id = '${made.own.id}';
       select pg_sleep(3); commit;`], { stdio: 'ignore' });
    const done = new Promise((resolve) => writer.on('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 700));
    await patchChild(lead, other.id, { preferred_name: 'After the held one' });
    const during = await sync(made.reader, c0);
    assert.deepEqual(about(during.items, made.own.id), [], 'the held change is not there yet');
    assert.deepEqual(about(during.items, other.id), [], 'a change after the held transaction waits for it');
    assert.equal(await done, 0);
    const after = await sync(made.reader, during.cursor);
    assert.deepEqual(after.items.filter((i) => i.id === made.own.id).map((i) => i.record.preferred_name), ['Held']);
    assert.deepEqual(after.items.filter((i) => i.id === other.id).map((i) => i.record.preferred_name), ['After the held one']);
  });
});

describe('tombstones through the window', () => {
  it('a panel member loses a child when its referral closes: one tombstone for the child, its family and the shared entry', async () => {
    const csc = who('csc', 'social_worker');
    const panel = await makePanel({ type: 'risk_meeting', chair: 'police', members: ['voluntary', 'csc'] });
    const child = await makeChild('police');
    const fam = await post('/v1/families', csc, { name: `Attack window closing ${randomUUID().slice(0, 6)}` });
    await post(`/v1/families/${fam.id}/members`, csc, { child_id: child.id, relationship: 'child' });
    const lead = who('police', 'safeguarding_lead');
    const entry = await post('/v1/chronology-entries', lead, entryBody([child.id]));
    const req = await post('/v1/chronology-requests', csc, requestBody({ child_id: child.id, agencies: ['police'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, lead, { entry_ids: [entry.id] }, 200);
    const member = tokenFor('voluntary', 'panel_member', `window-closing-${randomUUID().slice(0, 8)}`);
    const m0 = (await sync(member)).cursor;
    const referral = await refer(panel, child, csc, { chronology_request_id: req.id });
    await accept(referral);
    const open = await sync(member, m0, 1);
    for (const id of [child.id, fam.id, entry.id]) assert.deepEqual(about(open.items, id), ['upsert'], id);
    await ok('POST', `/v1/panel-referrals/${referral.id}/closure`, who('police', 'panel_chair'), { reason: 'risk_reduced' });
    const closed = await sync(member, open.cursor, 1);
    for (const id of [child.id, fam.id, entry.id]) assert.deepEqual(about(closed.items, id), ['tombstone'], id);
    await patchChild(csc, child.id, { preferred_name: 'After closing' });
    assert.deepEqual(about((await sync(member, closed.cursor, 1)).items, child.id), [], 'nothing more');
  });

  it('a share window that ends with no write: the invited reader gets the child\'s tombstone', async () => {
    const csc = who('csc', 'social_worker');
    const kid = await makeChild('csc');
    const officer = tokenFor('police', 'practitioner', `window-ended-${randomUUID().slice(0, 8)}`);
    const o0 = (await sync(officer)).cursor;
    const req = await post('/v1/chronology-requests', csc, requestBody({ child_id: kid.id, agencies: ['police'] }));
    const open = await sync(officer, o0, 1);
    assert.deepEqual(about(open.items, kid.id), ['upsert']);
    psql(`begin; set local session_replication_role = replica;
      update safeguard.chronology_requests set share_until = now() where id = '${req.id}'; commit;`);
    const ended = await sync(officer, open.cursor, 1);
    assert.deepEqual(about(ended.items, kid.id), ['tombstone']);
  });
});

describe('forged cursors', () => {
  it('edited positions, instants and ids: a page or 400 invalid-cursor, never a 500, never a record the caller may not see', async () => {
    const hidden = await makeChild('csc');
    const me = tokenFor('voluntary', 'practitioner', `window-forge-${randomUUID().slice(0, 8)}`);
    const { cursor } = await sync(me);
    const parts = openCursor(cursor);
    const forge = (p) => sealCursor(p);
    const z = '00000000-0000-0000-0000-000000000000';
    const xmin = psql('select pg_snapshot_xmin(pg_current_snapshot())');
    const forged = [
      ['0', '0', parts[2], parts[3]], ['0', '999999999999999999', parts[2], parts[3]],
      [parts[0], '999999999999999999', parts[2], parts[3]], [xmin, '0', parts[2], parts[3]],
      ['0', '0', '1970-01-01 00:00:00+00', z], ['0', '0', '0001-01-01 00:00:00+00', parts[3]],
      ['0', '0', '1970-01-01 00:00:00.999999+14', parts[3]], ['0', '0', 'infinity', parts[3]],
      ['0', '0', '-infinity', parts[3]], ['0', '0', '0001-01-01 00:00:00+00 BC', parts[3]],
      ['0', '0', '2000-02-30 00:00:00+00', parts[3]], ['0', '0', parts[2], 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'],
      ['999999999999999999', '0', parts[2], parts[3]], [parts[0], parts[1], parts[2]], [...parts, '0'],
      [0, 0, parts[2], parts[3]], [null, '0', parts[2], parts[3]],
    ];
    for (const p of forged) {
      for (const limit of [1, 200]) {
        const res = await request('GET', `/v1/changes?limit=${limit}&cursor=${forge(p)}`, { token: me });
        assert.ok(res.status === 200 || res.status === 400, `${JSON.stringify(p)}: ${res.status} ${res.text.slice(0, 200)}`);
        if (res.status === 400) assert.equal(res.body.type, '/problems/invalid-cursor', JSON.stringify(p));
        else assert.deepEqual(about(res.body.items, hidden.id), [], `${JSON.stringify(p)}: a CSC child`);
      }
    }
  });
});
