// Training, part 3: the races.  Booking opens at a set time and hundreds
// book the same session in the same minute, through separate worker
// processes: capacity must never be exceeded and the waiting list must
// never skip or repeat a position.  These tests fire the requests at once
// and check every answer and the database afterwards.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { person, admin, course, session, book, cancel } from './lib/training.mjs';

const TA = admin();

// Fires every request at once; each answer as {status, body}.
const all = (fns) => Promise.all(fns.map((f) => f()));

describe('races', () => {
  it('200 delegates booking a 20-place session at once: exactly 20 confirmed, positions 1..180', async (t) => {
    const c = await course(TA, { title: 'Booking opens at nine' });
    const s = await session(TA, c.id, { capacity: 20 });
    const delegates = Array.from({ length: 200 }, (_, i) => person(['police', 'health', 'education', 'csc'][i % 4], 'practitioner', `race-${i}-${randomUUID().slice(0, 6)}`));
    const started = Date.now();
    const answers = await all(delegates.map((t) => () => book(t, s.id)));
    const settled = Date.now() - started;
    const statuses = answers.map((a) => a.status);
    assert.deepEqual([...new Set(statuses)], [201], `every booking answered 201 (got ${JSON.stringify(statuses.filter((x) => x !== 201).slice(0, 5))})`);
    const confirmed = answers.filter((a) => a.body.status === 'confirmed');
    const waiting = answers.filter((a) => a.body.status === 'waitlisted');
    assert.equal(confirmed.length, 20, `one place too many (or too few) given: ${confirmed.length} confirmed`);
    assert.equal(waiting.length, 180);
    const positions = waiting.map((a) => a.body.waitlist_position).sort((a, b) => a - b);
    assert.deepEqual(positions, Array.from({ length: 180 }, (_, i) => i + 1), 'positions skip or repeat');
    // the database agrees, and the queue's order is the answers' order
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}' and status = 'confirmed'`), '20');
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}' and status = 'waitlisted'`), '180');
    assert.equal(psql(`select count(distinct queue_seq) = 200 and max(queue_seq) = 200 from safeguard.training_bookings where session_id = '${s.id}'`), 't');
    assert.equal(psql(`select bool_and(status = 'confirmed') from safeguard.training_bookings where session_id = '${s.id}' and queue_seq <= 20`), 't');
    const shown = await request('GET', `/v1/training-sessions/${s.id}`, { token: TA });
    assert.deepEqual([shown.body.places_taken, shown.body.places_left, shown.body.waiting], [20, 0, 180]);
    t.diagnostic(`200 concurrent bookings settled in ${settled} ms`);
  });

  it('concurrent cancellations promote exactly one waiting delegate each, in queue order', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 10 });
    const delegates = Array.from({ length: 40 }, (_, i) => person('police', 'practitioner', `cx-${i}-${randomUUID().slice(0, 6)}`));
    const bookings = [];
    for (const t of delegates) bookings.push((await book(t, s.id)).body);
    assert.equal(bookings.filter((b) => b.status === 'confirmed').length, 10);
    // eight of the ten confirmed cancel at the same moment
    const leaving = bookings.slice(0, 8);
    const answers = await all(leaving.map((b, i) => () => cancel(delegates[i], b.id)));
    assert.deepEqual(answers.map((a) => a.status), Array(8).fill(200));
    const rows = psql(`select status || ':' || (promoted_at is not null) from safeguard.training_bookings where session_id = '${s.id}' order by queue_seq`).split('\n');
    assert.deepEqual(rows.slice(0, 8), Array(8).fill('cancelled:false'));
    assert.deepEqual(rows.slice(8, 10), Array(2).fill('confirmed:false'));
    assert.deepEqual(rows.slice(10, 18), Array(8).fill('confirmed:true'), 'the first eight waiting were promoted');
    assert.deepEqual(rows.slice(18), Array(22).fill('waitlisted:false'));
    const left = await all(bookings.slice(18).map((b, i) => () => request('GET', `/v1/bookings/${b.id}`, { token: delegates[18 + i] })));
    assert.deepEqual(left.map((a) => a.body.waitlist_position), Array.from({ length: 22 }, (_, i) => i + 1));
    const shown = await request('GET', `/v1/training-sessions/${s.id}`, { token: TA });
    assert.deepEqual([shown.body.places_taken, shown.body.waiting], [10, 22]);
  });

  it('waiting delegates and confirmed ones leaving at once: the queue stays dense', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 5 });
    const delegates = Array.from({ length: 30 }, (_, i) => person('health', 'practitioner', `mx-${i}-${randomUUID().slice(0, 6)}`));
    const bookings = [];
    for (const t of delegates) bookings.push((await book(t, s.id)).body);
    // 3 confirmed and 6 scattered waiting ones leave together
    const leave = [0, 2, 4, 5, 7, 11, 16, 22, 29];
    await all(leave.map((i) => () => cancel(delegates[i], bookings[i].id)));
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}' and status = 'confirmed'`), '5');
    const positions = await all(bookings.map((b, i) => () => request('GET', `/v1/bookings/${b.id}`, { token: delegates[i] })));
    const waiting = positions.filter((a) => a.body.status === 'waitlisted').map((a) => a.body.waitlist_position).sort((a, b) => a - b);
    assert.deepEqual(waiting, Array.from({ length: 30 - 9 - 5 }, (_, i) => i + 1));
  });

  it('a booking retried with the same Idempotency-Key, even at once, takes one place', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 3 });
    const p = person('district', 'practitioner');
    const headers = { 'Idempotency-Key': `retry-${randomUUID()}` };
    const answers = await all(Array.from({ length: 8 }, () => () => book(p, s.id, { headers })));
    for (const a of answers) {
      assert.ok(a.status === 201 || (a.status === 409 && a.body.type === '/problems/idempotency-in-progress'), `${a.status} ${JSON.stringify(a.body)}`);
    }
    const later = await book(p, s.id, { headers });
    assert.equal(later.status, 201);
    assert.equal(later.headers.get('idempotent-replayed'), 'true');
    assert.ok(answers.filter((a) => a.status === 201).every((a) => a.body.id === later.body.id));
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}'`), '1');
    // without a key, the same person booking twice at once: one booking, the rest 409 with its id
    const q = person('district', 'practitioner');
    const twice = await all(Array.from({ length: 6 }, () => () => book(q, s.id)));
    const made = twice.filter((a) => a.status === 201);
    assert.equal(made.length, 1);
    assert.ok(twice.filter((a) => a.status === 409).every((a) => a.body.type === '/problems/already-booked' && a.body.existing_id === made[0].body.id));
    assert.equal(psql(`select count(*) from safeguard.training_bookings where session_id = '${s.id}' and delegate_sub = '${made[0].body.delegate.sub}'`), '1');
  });

  it('the database refuses a place past capacity whatever path writes it', async () => {
    const c = await course(TA);
    const s = await session(TA, c.id, { capacity: 1 });
    await book(person('police', 'practitioner'), s.id);
    const w = (await book(person('police', 'practitioner'), s.id)).body;
    assert.throws(() => psql(`update safeguard.training_bookings set status = 'confirmed' where id = '${w.id}'`), /would hold 2 places of 1/);
    assert.throws(() => psql(`update safeguard.training_sessions set capacity = 0 where id = '${s.id}'`), /capacity|check/);
  });
});
