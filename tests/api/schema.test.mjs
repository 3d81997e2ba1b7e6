// schema.test.mjs - /readyz compares the database's migrations with the ones
// the build was made with (issue 9): an applied file whose checksum differs,
// or a migration the build does not know, is a 503 naming the file, never a
// silent drift.  Each test puts the row back as it found it.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, psql } from './lib/client.mjs';

const ready = () => request('GET', '/readyz');

describe('/readyz and the migrations', () => {
  const saved = psql("select checksum from safeguard.schema_migrations where version = 3").trim();
  after(() => {
    psql(`update safeguard.schema_migrations set checksum = '${saved}' where version = 3`);
    psql('delete from safeguard.schema_migrations where version = 999');
  });

  it('is ready when every applied file is the one in the build', async () => {
    assert.match(saved, /^[0-9a-f]{64}$/);
    const res = await ready();
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'ready');
  });

  it('names a migration that changed after it was applied', async () => {
    psql("update safeguard.schema_migrations set checksum = repeat('0', 64) where version = 3");
    const res = await ready();
    assert.equal(res.status, 503);
    assert.equal(res.body.type, '/problems/not-ready');
    assert.match(res.body.detail, /003_chronology\.sql/);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    psql(`update safeguard.schema_migrations set checksum = '${saved}' where version = 3`);
    assert.equal((await ready()).status, 200);
  });

  it('names a migration the build does not know', async () => {
    psql("insert into safeguard.schema_migrations (version, name, checksum) values (999, '999_future', repeat('a', 64))");
    const res = await ready();
    assert.equal(res.status, 503);
    assert.match(res.body.detail, /999/);
    psql('delete from safeguard.schema_migrations where version = 999');
    assert.equal((await ready()).status, 200);
  });
});
