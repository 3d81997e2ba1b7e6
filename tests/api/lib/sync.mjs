// Delta sync as a device does it (GET /v1/changes, README "Keeping a caseload
// fresh"): every page of one sync, and what it said of a record.
import assert from 'node:assert/strict';
import { request } from './client.mjs';

// A whole sync from since (null: the first), limit items a page: every page
// until next_cursor is null.  { items, cursor: the answer's sync_cursor, pages }.
export async function syncAll(token, since = null, limit = 200) {
  const items = [];
  let q = new URLSearchParams({ limit: String(limit), ...(since ? { since } : {}) });
  for (let pages = 1; ; pages++) {
    const res = await request('GET', `/v1/changes?${q}`, { token });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.ok(res.body.items.length <= limit, `a page of at most ${limit} items`);
    items.push(...res.body.items);
    if (!res.body.next_cursor) return { items, cursor: res.body.sync_cursor, pages };
    q = new URLSearchParams({ limit: String(limit), cursor: res.body.next_cursor });
    assert.ok(pages < 2000, 'a sync that does not end');
  }
}

// What a sync said about a record: ['upsert'], ['tombstone'] or [].
export const said = (items, id) => items.filter((i) => i.id === id).map((i) => i.change);
