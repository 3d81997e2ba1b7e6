// Training, part 1: the catalogue (courses and sessions), booking a place,
// the waiting list and its promotions, who sees which bookings, and the
// cancellation cut-off on both sides of its boundary in the deployment's
// time zone.  (training-register: the register, charges, certificates,
// the calendar, completions and evaluations; training-races: concurrency.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as } from './lib/people.mjs';
import { rs256 } from './lib/tokens.mjs';
import {
  person, admin, subOf, manager, course, session, book, cancel, iso, inDays, localDate, localInstant, withTerms,
} from './lib/training.mjs';

const TA = admin();

describe('courses', () => {
  for (const [who, token, status] of [
    ['a training admin', TA, 201], ['a practitioner', as.police, 403], ['a safeguarding lead', as.policeLead, 403],
    ['an admin', as.admin, 403], ['an auditor', as.auditor, 403],
  ]) {
    it(`creating answers ${status} to ${who}`, async () => {
      const res = await request('POST', '/v1/courses', { token, body: { title: 'Neglect', format: 'webinar', organiser: 'LADO' } });
      assert.equal(res.status, status);
      if (status === 403) assert.equal(res.body.type, '/problems/forbidden');
      else {
        assert.equal(res.body.status, 'draft');
        assert.equal(res.headers.get('location'), `/v1/courses/${res.body.id}`);
        assert.equal(psql(`select created_by from safeguard.training_courses where id = '${res.body.id}'`), subOf(token));
        assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'training.course.create' and resource_id = '${res.body.id}'`), '1');
      }
    });
  }

  it('checks every field at once, and the rules of each format', async () => {
    let res = await request('POST', '/v1/courses', { token: TA, body: { title: '', format: 'lecture', organiser: 'x', colour: 'red', id: randomUUID() } });
    assert.equal(res.status, 400);
    assert.equal(res.body.type, '/problems/validation-failed');
    assert.deepEqual(res.body.errors.map((e) => e.field).sort(), ['colour', 'format', 'id', 'title']);
    res = await request('POST', '/v1/courses', { token: TA, body: { title: 'Briefing', format: 'seven_minute_briefing', organiser: 'LADO', audience: { roles: ['practitioner'] } } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]), [['audience.roles', 'briefing_audience']]);
    res = await request('POST', '/v1/courses', { token: TA, body: { title: 'Jacob', format: 'learning_event', organiser: 'OSCB' } });
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]), [['case_review', 'required']]);
    res = await request('POST', '/v1/courses', { token: TA, body: { title: 'E', format: 'e_learning', organiser: 'OSCB', audience: { roles: ['wizard'], agencies: ['nasa'] }, case_review: { url: 'http://x' } } });
    assert.deepEqual(res.body.errors.map((e) => e.field).sort(), ['audience.agencies[0]', 'audience.roles[0]', 'case_review.title', 'case_review.url', 'duration_minutes']);
    res = await request('POST', '/v1/courses', { token: TA, body: { title: 'Gone', format: 'webinar', organiser: 'x', status: 'retired' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, 'status');
  });

  it('gives a seven-minute briefing its audience: safeguarding leads', async () => {
    const c = await course(TA, { format: 'seven_minute_briefing', title: 'Forced marriage and FGM' });
    assert.deepEqual(c.audience, { roles: ['safeguarding_lead'], agencies: [] });
    assert.deepEqual(psql(`select audience_roles from safeguard.training_courses where id = '${c.id}'`), '{safeguarding_lead}');
  });

  it('keeps drafts to training admins, publishes with If-Match, and never goes back', async () => {
    const draft = await course(TA, { status: 'draft', title: 'Draft course' });
    assert.equal((await request('GET', `/v1/courses/${draft.id}`, { token: as.police })).status, 404);
    const listed = await request('GET', '/v1/courses?limit=200', { token: as.police });
    assert.ok(!listed.body.items.some((c) => c.id === draft.id));
    assert.ok(listed.body.items.every((c) => c.status === 'published'));
    const mine = await request('GET', `/v1/courses/${draft.id}`, { token: TA });
    assert.equal(mine.status, 200);
    let res = await request('PATCH', `/v1/courses/${draft.id}`, { token: TA, body: { status: 'published' } });
    assert.equal(res.status, 428);
    res = await request('PATCH', `/v1/courses/${draft.id}`, { token: TA, body: { status: 'published' }, headers: { 'If-Match': '"v9"' } });
    assert.equal(res.status, 412);
    res = await request('PATCH', `/v1/courses/${draft.id}`, { token: TA, body: { status: 'published', description: 'Now live' }, headers: { 'If-Match': mine.headers.get('etag') } });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'published');
    assert.ok(res.body.published_at);
    assert.equal(res.body.description, 'Now live');
    assert.equal(res.body.version, 2);
    const seen = await request('GET', `/v1/courses/${draft.id}`, { token: as.police });
    assert.equal(seen.status, 200);
    assert.equal((await request('GET', `/v1/courses/${draft.id}`, { token: as.police, headers: { 'If-None-Match': seen.headers.get('etag') } })).status, 304);
    res = await request('PATCH', `/v1/courses/${draft.id}`, { token: TA, body: { status: 'draft' }, headers: { 'If-Match': res.headers.get('etag') } });
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /cannot become draft/);
    assert.equal((await request('PATCH', `/v1/courses/${draft.id}`, { token: as.policeLead, body: { status: 'retired' }, headers: { 'If-Match': '"v2"' } })).status, 403);
  });

  it('retires a course only when no session is to come, and then hides it', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    let cur = await request('GET', `/v1/courses/${c.id}`, { token: TA });
    let res = await request('PATCH', `/v1/courses/${c.id}`, { token: TA, body: { status: 'retired' }, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /1 scheduled sessions/);
    res = await request('PATCH', `/v1/courses/${c.id}`, { token: TA, body: { format: 'e_learning', duration_minutes: 30 }, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /format cannot change/);
    assert.equal((await request('POST', `/v1/training-sessions/${s.id}/cancellation`, { token: TA, body: { reason: 'course withdrawn' } })).status, 200);
    cur = await request('GET', `/v1/courses/${c.id}`, { token: TA });
    res = await request('PATCH', `/v1/courses/${c.id}`, { token: TA, body: { status: 'retired' }, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.equal(res.status, 200);
    assert.ok(res.body.retired_at);
    assert.equal((await request('GET', `/v1/courses/${c.id}`, { token: as.police })).status, 404);
    assert.equal((await request('GET', `/v1/training-sessions/${s.id}`, { token: as.police })).status, 404);
    assert.equal((await request('POST', `/v1/courses/${c.id}/sessions`, { token: TA, body: { starts_at: iso(inDays(9)), ends_at: iso(inDays(9, 12)), mode: 'online', capacity: 5 } })).status, 409);
  });

  it('lists by format and pages with a cursor', async () => {
    for (let i = 0; i < 3; i++) await course(TA, { format: 'learning_event', case_review: { title: 'Child Safeguarding Practice Review: Jacob', published_on: '2021-01-20' } });
    const first = await request('GET', '/v1/courses?format=learning_event&limit=2', { token: as.health });
    assert.equal(first.status, 200);
    assert.equal(first.body.items.length, 2);
    assert.ok(first.body.items.every((c) => c.format === 'learning_event' && c.case_review.title.includes('Jacob')));
    const next = await request('GET', `/v1/courses?format=learning_event&limit=2&cursor=${first.body.next_cursor}`, { token: as.health });
    assert.equal(next.status, 200);
    assert.ok(!next.body.items.some((c) => first.body.items.some((f) => f.id === c.id)));
    assert.equal((await request('GET', '/v1/courses?format=lecture', { token: as.health })).status, 400);
    assert.equal((await request('GET', '/v1/courses?cursor=nonsense', { token: as.health })).body.type, '/problems/invalid-cursor');
  });
});

describe('sessions', () => {
  it('are scheduled by training admins only, checked field by field', async () => {
    const c = await course(TA);
    const body = { starts_at: iso(inDays(10)), ends_at: iso(inDays(10, 13)), mode: 'venue', capacity: 12, venue: { name: 'County Hall', address: 'New Road, Oxford', postcode: 'ox1 1nd' } };
    assert.equal((await request('POST', `/v1/courses/${c.id}/sessions`, { token: as.policeLead, body })).status, 403);
    const res = await request('POST', `/v1/courses/${c.id}/sessions`, { token: TA, body });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v1/training-sessions/${res.body.id}`);
    assert.equal(res.body.places_left, 12);
    assert.equal(res.body.booking_closes_at, res.body.starts_at);
    assert.equal(res.body.duration_minutes, 180);
    assert.equal(res.body.booking_open, true);
    let bad = await request('POST', `/v1/courses/${c.id}/sessions`, { token: TA, body: { ...body, starts_at: iso(inDays(-1)), ends_at: iso(inDays(-1, 12)) } });
    assert.deepEqual(bad.body.errors.map((e) => [e.field, e.code]), [['starts_at', 'in_past']]);
    bad = await request('POST', `/v1/courses/${c.id}/sessions`, { token: TA, body: { starts_at: iso(inDays(10)), ends_at: iso(inDays(9)), mode: 'venue', capacity: 0, booking_closes_at: iso(inDays(11)) } });
    assert.deepEqual(bad.body.errors.map((e) => e.field).sort(), ['booking_closes_at', 'capacity', 'ends_at', 'venue']);
    bad = await request('POST', `/v1/courses/${c.id}/sessions`, { token: TA, body: { ...body, mode: 'online', online_url: 'ftp://x' } });
    assert.deepEqual(bad.body.errors.map((e) => e.field).sort(), ['online_url', 'venue']);
    const el = await course(TA, { format: 'e_learning', duration_minutes: 45 });
    bad = await request('POST', `/v1/courses/${el.id}/sessions`, { token: TA, body });
    assert.equal(bad.status, 409);
    assert.equal((await request('POST', `/v1/courses/${randomUUID()}/sessions`, { token: TA, body })).status, 404);
  });

  it('are read by everyone who sees the course, in start order', async () => {
    const c = await course(TA);
    const late = await session(TA, c.id, { starts_at: iso(inDays(30)), ends_at: iso(inDays(30, 12)) });
    const early = await session(TA, c.id, { starts_at: iso(inDays(15)), ends_at: iso(inDays(15, 12)) });
    const res = await request('GET', `/v1/courses/${c.id}/sessions`, { token: as.youthJustice });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((s) => s.id), [early.id, late.id]);
    const from = await request('GET', `/v1/courses/${c.id}/sessions?from=${iso(inDays(20))}`, { token: as.youthJustice });
    assert.deepEqual(from.body.items.map((s) => s.id), [late.id]);
    const one = await request('GET', `/v1/training-sessions/${early.id}`, { token: as.voluntary });
    assert.equal(one.status, 200);
    assert.equal(one.body.course_title, c.title);
    assert.equal((await request('GET', `/v1/training-sessions/${randomUUID()}`, { token: as.voluntary })).status, 404);
    assert.equal((await request('GET', '/v1/training-sessions/not-a-uuid', { token: as.voluntary })).status, 404);
    const draft = await course(TA, { status: 'draft' });
    const hidden = await session(TA, draft.id);
    assert.equal((await request('GET', `/v1/training-sessions/${hidden.id}`, { token: as.voluntary })).status, 404);
    assert.equal((await request('GET', `/v1/courses/${draft.id}/sessions`, { token: as.voluntary })).status, 404);
  });

  it('change with If-Match; the capacity never drops below the places taken', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 2 });
    await book(person('police', 'practitioner'), s.id);
    await book(person('police', 'practitioner'), s.id);
    const cur = await request('GET', `/v1/training-sessions/${s.id}`, { token: TA });
    assert.equal(cur.body.places_left, 0);
    let res = await request('PATCH', `/v1/training-sessions/${s.id}`, { token: TA, body: { capacity: 1 }, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /2 places are taken/);
    res = await request('PATCH', `/v1/training-sessions/${s.id}`, { token: TA, body: { capacity: 3 } });
    assert.equal(res.status, 428);
    res = await request('PATCH', `/v1/training-sessions/${s.id}`, { token: TA, body: { capacity: 3, online_url: 'https://meet.example.org/abc' }, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.equal(res.status, 200);
    assert.equal(res.body.capacity, 3);
    assert.equal(res.body.places_left, 1);
    assert.equal(res.body.online_url, 'https://meet.example.org/abc');
    assert.equal((await request('PATCH', `/v1/training-sessions/${s.id}`, { token: as.police, body: { capacity: 9 }, headers: { 'If-Match': res.headers.get('etag') } })).status, 403);
  });
});

describe('booking a place', () => {
  it('books for the caller from the token, once per session', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 3 });
    const alice = person('police', 'practitioner', `alice-${randomUUID().slice(0, 6)}`);
    const res = await book(alice, s.id);
    assert.equal(res.status, 201);
    assert.equal(res.body.status, 'confirmed');
    assert.equal(res.body.waitlist_position, null);
    assert.equal(res.body.delegate.agency, 'police');
    assert.match(res.body.delegate.email, /@police\.example\.org$/);
    assert.deepEqual(res.body.line_manager, { name: manager.line_manager_name, email: manager.line_manager_email });
    assert.equal(res.headers.get('location'), `/v1/bookings/${res.body.id}`);
    assert.equal(res.body.session.course_title, c.title);
    const again = await book(alice, s.id);
    assert.equal(again.status, 409);
    assert.equal(again.body.type, '/problems/already-booked');
    assert.equal(again.body.existing_id, res.body.id);
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}'`), '1');
  });

  it('refuses with a reason: no name in the token, own email as manager, unknown fields', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const nameless = rs256({ sub: 'nameless', agency: 'health', roles: ['practitioner'] });
    let res = await book(nameless, s.id);
    assert.equal(res.status, 422);
    assert.equal(res.body.type, '/problems/incomplete-identity');
    const bob = person('health', 'practitioner', 'bob-own');
    res = await book(bob, s.id, { body: { line_manager_name: 'Me', line_manager_email: 'BOB-OWN@health.example.org' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]), [['line_manager_email', 'own_email']]);
    res = await book(bob, s.id, { body: { line_manager_name: '', line_manager_email: 'not-an-email', delegate_sub: 'someone-else' } });
    assert.deepEqual(res.body.errors.map((e) => e.field).sort(), ['delegate_sub', 'line_manager_email', 'line_manager_name']);
    assert.equal((await book(bob, randomUUID())).status, 404);
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}'`), '0');
  });

  it('keeps seven-minute briefings for safeguarding leads, and audiences by agency', async () => {
    const brief = await course(TA, { format: 'seven_minute_briefing', title: 'Prevent' });
    const s = await session(TA, brief.id);
    let res = await book(person('education', 'practitioner'), s.id);
    assert.equal(res.status, 403);
    assert.equal(res.body.type, '/problems/outside-audience');
    assert.match(res.body.detail, /for safeguarding_lead of every agency; your token says practitioner of education/);
    assert.equal((await book(person('education', 'safeguarding_lead'), s.id)).status, 201);
    const health = await course(TA, { audience: { roles: [], agencies: ['health', 'mental_health'] } });
    const hs = await session(TA, health.id);
    res = await book(person('police', 'practitioner'), hs.id);
    assert.equal(res.status, 403);
    assert.match(res.body.detail, /every role of health, mental_health/);
    assert.equal((await book(person('mental_health', 'practitioner'), hs.id)).status, 201);
  });

  it('refuses a session that is closed, started, cancelled or not published, saying which', async () => {
    const c = await course(TA);
    const closed = await session(TA, c.id);
    psql(`update safeguard.training_sessions set booking_closes_at = now() - interval '1 minute' where id = '${closed.id}'`);
    let res = await book(person('police', 'practitioner'), closed.id);
    assert.equal(res.status, 409);
    assert.equal(res.body.type, '/problems/booking-closed');
    assert.equal(res.body.detail, 'booking for this session has closed');
    const shown = await request('GET', `/v1/training-sessions/${closed.id}`, { token: as.police });
    assert.equal(shown.body.booking_open, false);
    const started = await session(TA, c.id);
    psql(`update safeguard.training_sessions set starts_at = now() - interval '5 minutes', ends_at = now() + interval '1 hour', booking_closes_at = now() - interval '1 hour' where id = '${started.id}'`);
    res = await book(person('police', 'practitioner'), started.id);
    assert.equal(res.body.detail, 'the session has started');
    const off = await session(TA, c.id);
    await request('POST', `/v1/training-sessions/${off.id}/cancellation`, { token: TA, body: { reason: 'trainer unwell' } });
    res = await book(person('police', 'practitioner'), off.id);
    assert.equal(res.body.detail, 'the session was cancelled');
    const draft = await course(TA, { status: 'draft' });
    const ds = await session(TA, draft.id);
    assert.equal((await book(person('police', 'practitioner'), ds.id)).status, 404);
    res = await book(admin(), ds.id);
    assert.equal(res.status, 409);
    assert.match(res.body.detail, /the course is draft/);
  });

  it('waitlists past capacity with positions, and promotes in order when a place frees', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 2 });
    const people = Array.from({ length: 5 }, (_, i) => person('health', 'practitioner', `wl-${i}-${randomUUID().slice(0, 6)}`));
    const bookings = [];
    for (const p of people) bookings.push((await book(p, s.id)).body);
    assert.deepEqual(bookings.map((b) => [b.status, b.waitlist_position]),
      [['confirmed', null], ['confirmed', null], ['waitlisted', 1], ['waitlisted', 2], ['waitlisted', 3]]);
    const shown = await request('GET', `/v1/training-sessions/${s.id}`, { token: as.police });
    assert.deepEqual([shown.body.places_taken, shown.body.places_left, shown.body.waiting], [2, 0, 3]);

    // the head of the queue leaves: the others move up
    let res = await cancel(people[2], bookings[2].id);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.charge, null);
    assert.equal((await request('GET', `/v1/bookings/${bookings[4].id}`, { token: people[4] })).body.waitlist_position, 2);

    // a confirmed delegate cancels: the first still waiting is promoted, in the same transaction
    res = await cancel(people[0], bookings[0].id, { reason: 'clash with a strategy meeting' });
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.cancellation_reason, 'clash with a strategy meeting');
    const promoted = await request('GET', `/v1/bookings/${bookings[3].id}`, { token: people[3] });
    assert.equal(promoted.body.status, 'confirmed');
    assert.equal(promoted.body.promoted, true);
    assert.ok(promoted.body.promoted_at);
    assert.equal(promoted.body.waitlist_position, null);
    const last = await request('GET', `/v1/bookings/${bookings[4].id}`, { token: people[4] });
    assert.deepEqual([last.body.status, last.body.waitlist_position, last.body.promoted], ['waitlisted', 1, false]);

    // more places: the queue fills them, in order
    const cur = await request('GET', `/v1/training-sessions/${s.id}`, { token: TA });
    res = await request('PATCH', `/v1/training-sessions/${s.id}`, { token: TA, body: { capacity: 5 }, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.deepEqual([res.body.places_taken, res.body.waiting], [3, 0]);
    assert.equal((await request('GET', `/v1/bookings/${bookings[4].id}`, { token: people[4] })).body.status, 'confirmed');

    // cancelled and rebooked: the back of the queue, a new booking
    assert.equal((await cancel(people[0], bookings[0].id)).status, 409);
    const again = await book(people[0], s.id);
    assert.equal(again.status, 201);
    assert.notEqual(again.body.id, bookings[0].id);
  });

  it('honours Idempotency-Key: a retry replays the booking and takes no second place', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 1 });
    const p = person('district', 'practitioner');
    const headers = { 'Idempotency-Key': `book-${randomUUID()}` };
    const first = await book(p, s.id, { headers });
    const second = await book(p, s.id, { headers });
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.body.id, first.body.id);
    const other = await book(p, s.id, { headers, body: { ...manager, line_manager_name: 'Someone Else' } });
    assert.equal(other.status, 422);
    assert.equal(other.body.type, '/problems/idempotency-key-reuse');
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}'`), '1');
  });
});

describe('who sees a booking', () => {
  it('the delegate, their agency\'s safeguarding lead and training admins; anyone else 404', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const delegate = person('police', 'practitioner');
    const b = (await book(delegate, s.id)).body;
    const otherLead = person('health', 'safeguarding_lead');
    for (const [who, token, status] of [
      ['the delegate', delegate, 200], ['their agency\'s lead', person('police', 'safeguarding_lead'), 200],
      ['a training admin', TA, 200], ['another agency\'s lead', otherLead, 404],
      ['a colleague', person('police', 'practitioner'), 404], ['an auditor', as.auditor, 404], ['an admin', as.admin, 404],
      ['a CSC social worker', as.cscSocialWorker, 404],
    ]) {
      const res = await request('GET', `/v1/bookings/${b.id}`, { token });
      assert.equal(res.status, status, who);
      if (status === 404) assert.equal(res.body.type, '/problems/not-found');
    }
    const etag = (await request('GET', `/v1/bookings/${b.id}`, { token: delegate })).headers.get('etag');
    assert.equal((await request('GET', `/v1/bookings/${b.id}`, { token: delegate, headers: { 'If-None-Match': etag } })).status, 304);
    assert.equal((await request('GET', `/v1/bookings/${randomUUID()}`, { token: TA })).status, 404);
  });

  it('the register and the compliance list: leads see their agency, training admins all, others 403', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const police = (await book(person('police', 'practitioner'), s.id)).body;
    const health = (await book(person('health', 'practitioner'), s.id)).body;
    let res = await request('GET', `/v1/training-sessions/${s.id}/bookings`, { token: TA });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((b) => b.id), [police.id, health.id]);
    res = await request('GET', `/v1/training-sessions/${s.id}/bookings`, { token: person('police', 'safeguarding_lead') });
    assert.deepEqual(res.body.items.map((b) => b.id), [police.id]);
    for (const token of [person('police', 'practitioner'), as.auditor, as.admin, as.panelChair]) {
      const r = await request('GET', `/v1/training-sessions/${s.id}/bookings`, { token });
      assert.equal(r.status, 403);
      assert.equal((await request('GET', '/v1/bookings', { token })).status, 403);
    }
    res = await request('GET', `/v1/bookings?session_id=${s.id}`, { token: person('health', 'safeguarding_lead') });
    assert.deepEqual(res.body.items.map((b) => b.id), [health.id]);
    res = await request('GET', `/v1/bookings?session_id=${s.id}&agency=police`, { token: person('health', 'safeguarding_lead') });
    assert.deepEqual(res.body.items, []);
    res = await request('GET', `/v1/bookings?course_id=${c.id}&agency=health`, { token: TA });
    assert.deepEqual(res.body.items.map((b) => b.id), [health.id]);
    res = await request('GET', `/v1/training-sessions/${s.id}/bookings?limit=1`, { token: TA });
    assert.equal(res.body.items.length, 1);
    const next = await request('GET', `/v1/training-sessions/${s.id}/bookings?limit=1&cursor=${res.body.next_cursor}`, { token: TA });
    assert.deepEqual(next.body.items.map((b) => b.id), [health.id]);
    assert.equal((await request('GET', `/v1/training-sessions/${randomUUID()}/bookings`, { token: TA })).status, 404);
  });

  it('/v1/me/bookings lists the caller\'s own only', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const me = person('voluntary', 'practitioner');
    const mine = (await book(me, s.id)).body;
    await book(person('voluntary', 'practitioner'), s.id);
    const res = await request('GET', '/v1/me/bookings', { token: me });
    assert.deepEqual(res.body.items.map((b) => b.id), [mine.id]);
    assert.deepEqual((await request('GET', '/v1/me/bookings?status=cancelled', { token: me })).body.items, []);
    assert.equal((await request('GET', '/v1/me/bookings?status=lost', { token: me })).status, 400);
  });

  it('cancelling: the delegate or a training admin; a lead who sees it is 403, anyone else 404', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const delegate = person('education', 'practitioner');
    const b = (await book(delegate, s.id)).body;
    let res = await cancel(person('education', 'safeguarding_lead'), b.id);
    assert.equal(res.status, 403);
    res = await cancel(person('education', 'practitioner'), b.id);
    assert.equal(res.status, 404);
    res = await cancel(TA, b.id, { reason: 'left the authority' });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.match(res.body.cancelled_by, /^tadmin-/);
    assert.equal(psql(`select count(*) from safeguard.audit_events where resource_type = 'training_booking' and resource_id = '${b.id}' and action = 'training.booking.cancel'`), '1');
    assert.equal((await cancel(delegate, b.id)).status, 409);
  });
});

describe('the cancellation cut-off (6 days, Europe/London)', () => {
  // The cut-off counts calendar days in the deployment's zone: a session on
  // day D may be cancelled free until the end of day D-6, local time.
  it('on time: a session early on the 6th day from today is cancelled without charge', async () => {
    const c = await course(TA);
    const day = localDate(6);
    const start = localInstant(day, '00:30');
    const s = await session(TA, c.id, { starts_at: start, ends_at: localInstant(day, '02:00') });
    assert.equal(s.free_cancellation_until, localInstant(localDate(1), '00:00'));
    const p = person('police', 'practitioner');
    const b = (await book(p, s.id)).body;
    const res = await cancel(p, b.id);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.charge, null);
    assert.equal(psql(`select count(*) from safeguard.training_charges where booking_id = '${b.id}'`), '0');
  });

  it('late: a session late on the 5th day from today is late_cancelled with the GBP 50 charge', async () => {
    const c = await course(TA);
    const day = localDate(5);
    const s = await session(TA, c.id, { starts_at: localInstant(day, '23:00'), ends_at: localInstant(day, '23:50') });
    assert.equal(s.free_cancellation_until, localInstant(localDate(0), '00:00'));
    const p = person('police', 'practitioner');
    const b = (await book(p, s.id)).body;
    const res = await cancel(p, b.id, { reason: 'on call' });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'late_cancelled');
    assert.deepEqual({ ...res.body.charge, id: undefined }, { id: undefined, reason: 'late_cancellation', amount_pence: 5000, currency: 'GBP', status: 'outstanding' });
    assert.equal(psql(`select reason || ' ' || amount_pence || ' ' || currency || ' ' || status || ' ' || raised_by from safeguard.training_charges where booking_id = '${b.id}'`),
      `late_cancellation 5000 GBP outstanding ${subOf(p)}`);
  });

  it('leaving the waiting list late costs nothing', async () => {
    const c = await course(TA);
    const day = localDate(2);
    const s = await session(TA, c.id, { capacity: 1, starts_at: localInstant(day, '10:00'), ends_at: localInstant(day, '11:00') });
    await book(person('police', 'practitioner'), s.id);
    const p = person('police', 'practitioner');
    const b = (await book(p, s.id)).body;
    assert.equal(b.status, 'waitlisted');
    const res = await cancel(p, b.id);
    assert.deepEqual([res.body.status, res.body.charge], ['cancelled', null]);
  });

  it('the zone, the days and the charge are the deployment\'s terms', async () => {
    const c = await course(TA);
    const day = localDate(20);
    const s = await session(TA, c.id, { starts_at: localInstant(day, '10:00'), ends_at: localInstant(day, '11:00') });
    await withTerms(`time_zone = 'America/New_York', cancellation_cutoff_days = 10`, async () => {
      const shown = await request('GET', `/v1/training-sessions/${s.id}`, { token: as.police });
      const nyDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(s.starts_at));
      const until = new Date(Date.UTC(...nyDay.split('-').map((v, i) => Number(v) - (i === 1 ? 1 : 0))) - 9 * 86400000).toISOString().slice(0, 10);
      assert.equal(shown.body.free_cancellation_until, localInstant(until, '00:00', 'America/New_York'));
    });
    const later = localDate(3);
    const soon = await session(TA, c.id, { starts_at: localInstant(later, '10:00'), ends_at: localInstant(later, '11:00') });
    await withTerms(`charge_pence = 7500, currency = 'EUR'`, async () => {
      const p = person('police', 'practitioner');
      const b = (await book(p, soon.id)).body;
      const res = await cancel(p, b.id);
      assert.deepEqual([res.body.status, res.body.charge.amount_pence, res.body.charge.currency], ['late_cancelled', 7500, 'EUR']);
    });
    assert.equal((await request('GET', `/v1/training-sessions/${s.id}`, { token: as.police })).body.free_cancellation_until, localInstant(localDate(15), '00:00'));
    assert.throws(() => psql(`update safeguard.training_settings set time_zone = 'Mars/Olympus'`), /time zone/);
  });
});

describe('the access table, walked', () => {
  // Every training route against every kind of caller: 403 exactly where the
  // access table says the role may not use the route (the records behind a
  // route that is allowed are another matter: random ids answer 404).
  const id = randomUUID();
  const routes = [
    ['POST', '/v1/courses', 'manage'], ['GET', '/v1/courses', 'read'], ['GET', `/v1/courses/${id}`, 'read'],
    ['PATCH', `/v1/courses/${id}`, 'manage'], ['POST', `/v1/courses/${id}/sessions`, 'manage'],
    ['GET', `/v1/courses/${id}/sessions`, 'read'], ['POST', `/v1/courses/${id}/completions`, 'book'],
    ['GET', '/v1/completions', 'book'], ['GET', `/v1/training-sessions/${id}`, 'read'],
    ['PATCH', `/v1/training-sessions/${id}`, 'manage'], ['POST', `/v1/training-sessions/${id}/cancellation`, 'manage'],
    ['POST', `/v1/training-sessions/${id}/bookings`, 'book'], ['GET', `/v1/training-sessions/${id}/bookings`, 'oversight'],
    ['GET', '/v1/me/bookings', 'book'], ['GET', '/v1/me/evaluation-requests', 'book'], ['GET', '/v1/bookings', 'oversight'],
    ['GET', `/v1/bookings/${id}`, 'book'], ['POST', `/v1/bookings/${id}/cancellation`, 'book'],
    ['PUT', `/v1/bookings/${id}/attendance`, 'manage'], ['GET', `/v1/bookings/${id}/certificate`, 'book'],
    ['POST', `/v1/bookings/${id}/evaluations`, 'book'], ['GET', `/v1/bookings/${id}/evaluations`, 'book'],
    ['GET', '/v1/training-charges', 'manage'], ['POST', `/v1/training-charges/${id}/waiver`, 'manage'],
    ['GET', '/v1/certificates/SGP-2026-000001', 'manage'],
  ];
  const callers = {
    practitioner: person('police', 'practitioner'), safeguarding_lead: person('police', 'safeguarding_lead'),
    social_worker: person('csc', 'social_worker'), panel_chair: person('police', 'panel_chair'),
    panel_member: person('health', 'panel_member'), training_admin: admin(), auditor: person('partnership', 'auditor'),
    admin: person('partnership', 'admin'),
  };
  const allowed = { read: () => true, book: () => true, oversight: (r) => r === 'safeguarding_lead' || r === 'training_admin', manage: (r) => r === 'training_admin' };
  for (const [method, path, perm] of routes) {
    it(`${method} ${path.replace(id, '{id}')} (${perm})`, async () => {
      for (const [role, token] of Object.entries(callers)) {
        const res = await request(method, path, { token, body: method === 'GET' ? undefined : {} });
        if (allowed[perm](role)) assert.notEqual(res.status, 403, `${role} may use it`);
        else {
          assert.equal(res.status, 403, `${role} may not`);
          assert.equal(res.body.type, '/problems/forbidden');
        }
      }
      assert.equal((await request(method, path, { body: method === 'GET' ? undefined : {} })).status, 401);
    });
  }
});

describe('row-level security, the second line', () => {
  // The API's own database role, with the identity a request would set.
  const asApi = (sub, agency, roles, sql) => psql(`select set_config('role', 'safeguard_api', true), set_config('app.sub', '${sub}', true),
    set_config('app.agency', '${agency}', true), set_config('app.roles', '${roles}', true); ${sql}`).split('\n').at(-1);

  it('shows the database\'s rows to the same people as the API', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id);
    const p = person('police', 'practitioner');
    const b = (await book(p, s.id)).body;
    await book(person('health', 'practitioner'), s.id);
    const count = `select count(*) from safeguard.training_bookings where session_id = '${s.id}'`;
    assert.equal(asApi(subOf(p), 'police', 'practitioner', count), '1');
    assert.equal(asApi('someone-else', 'police', 'practitioner', count), '0');
    assert.equal(asApi('lead', 'police', 'safeguarding_lead', count), '1');
    assert.equal(asApi('lead', 'education', 'safeguarding_lead', count), '0');
    assert.equal(asApi('trainer', 'partnership', 'training_admin', count), '2');
    // writes: not for someone else, and never the register's statuses by a delegate
    assert.throws(() => asApi('mallory', 'police', 'practitioner', `insert into safeguard.training_bookings (id, session_id, delegate_sub,
      delegate_name, delegate_email, delegate_agency, line_manager_name, line_manager_email, status, queue_seq)
      values (gen_random_uuid(), '${s.id}', 'victim', 'V', 'v@x.org', 'police', 'M', 'm@x.org', 'confirmed', 99)`), /row-level security/);
    assert.equal(asApi('mallory', 'police', 'practitioner', `with u as (update safeguard.training_bookings set line_manager_name = 'x' where id = '${b.id}' returning 1) select count(*) from u`), '0');
    assert.throws(() => asApi(subOf(p), 'police', 'practitioner', `update safeguard.training_bookings set status = 'attended', attendance_marked_at = now() where id = '${b.id}'`), /row-level security/);
    assert.equal(asApi(subOf(p), 'police', 'practitioner', `with u as (update safeguard.training_courses set title = 'mine' where id = '${c.id}' returning 1) select count(*) from u`), '0');
    assert.equal(asApi('trainer', 'partnership', 'training_admin', `with u as (update safeguard.training_courses set description = 'by the admin' where id = '${c.id}' returning 1) select count(*) from u`), '1');
    assert.equal(asApi('x', 'police', 'practitioner', `select count(*) from safeguard.training_charges`), '0');
  });
});

describe('bodies that must not crash a worker', () => {
  async function crashes() {
    const res = await request('GET', '/metrics');
    return Number(/^safeguard_worker_restarts_total\{cause="crash"\} (\d+)$/m.exec(res.text)[1]);
  }

  it('null for every member, wrong shapes and odd nesting answer 400, never a lost worker', async () => {
    const before = await crashes();
    const c = await course(TA);
    const s = await session(TA, c.id);
    const b = (await book(person('police', 'practitioner'), s.id)).body;
    const cur = await request('GET', `/v1/training-sessions/${s.id}`, { token: TA });
    const cc = await request('GET', `/v1/courses/${c.id}`, { token: TA });
    const cases = [
      ['POST', '/v1/courses', { title: null, description: null, format: null, organiser: null, audience: null, case_review: null, duration_minutes: null, status: null }],
      ['POST', '/v1/courses', { title: 'T', format: 'seven_minute_briefing', organiser: 'O', audience: { roles: [null], agencies: null } }],
      ['POST', '/v1/courses', { title: 'T', format: 'seven_minute_briefing', organiser: 'O', audience: { roles: 'safeguarding_lead' } }],
      ['POST', '/v1/courses', { title: 'T', format: 'learning_event', organiser: 'O', case_review: { title: null, url: null, extra: { a: null } } }],
      ['PATCH', `/v1/courses/${c.id}`, { audience: null, case_review: [null], title: null }, cc.headers.get('etag')],
      ['POST', `/v1/courses/${c.id}/sessions`, { starts_at: null, ends_at: null, mode: null, venue: { name: null, postcode: null }, capacity: null, booking_closes_at: null, online_url: null }],
      ['POST', `/v1/courses/${c.id}/sessions`, { starts_at: 'x', ends_at: [], mode: 'venue', venue: 'hall', capacity: '9' }],
      ['PATCH', `/v1/training-sessions/${s.id}`, { venue: { name: [null] }, capacity: null, starts_at: null }, cur.headers.get('etag')],
      ['POST', `/v1/training-sessions/${s.id}/cancellation`, { reason: null }],
      ['POST', `/v1/training-sessions/${s.id}/bookings`, { line_manager_name: null, line_manager_email: null }],
      ['POST', `/v1/bookings/${b.id}/cancellation`, { reason: { text: null } }],
      ['PUT', `/v1/bookings/${b.id}/attendance`, { status: null }],
      ['POST', `/v1/bookings/${b.id}/evaluations`, { respondent: null, rating: null, comments: null }],
      ['POST', `/v1/courses/${c.id}/completions`, { completed_at: null }],
      ['POST', `/v1/training-charges/${randomUUID()}/waiver`, { reason: null }],
    ];
    for (const [method, path, body, etag] of cases) {
      const res = await request(method, path, { token: TA, body, headers: etag ? { 'If-Match': etag } : {} });
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`);
    }
    for (const [method, path] of cases) {
      for (const raw of ['null', '[null]', '"x"', '0']) {
        const res = await request(method, path, { token: TA, rawBody: raw, headers: { 'Content-Type': 'application/json', 'If-Match': '"v1"' } });
        assert.equal(res.status, 400, `${method} ${path} ${raw}: ${res.text}`);
      }
    }
    assert.equal(await crashes(), before);
  });
});
