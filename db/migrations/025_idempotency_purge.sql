-- 025: stored answers of Idempotency-Keys go when they expire, whoever's.
--
-- A key's first answer is kept for SG_IDEMPOTENCY_TTL (a week by default)
-- and can hold a child's personal data.  Until now an expired answer was
-- deleted only by its own caller's next keyed request, so the answers of a
-- caller who never came back (a lost phone, a retired app) stayed for ever.
-- The workers now call this every few minutes when they are idle or have
-- just answered (nobody waits on it): it deletes up to max_rows answers
-- older than the TTL, oldest first, skipping any a request holds.  The TTL
-- is never taken below an hour, so a bad call cannot delete live keys.

set search_path = safeguard, pg_temp;

create index idempotency_keys_created on safeguard.idempotency_keys (created_at);

-- the table's row-level security is forced, on its owner too: the purge,
-- which runs as the owner, reads and deletes any caller's expired answers
create policy idempotency_purge on safeguard.idempotency_keys for all to safeguard_owner
	using (true) with check (false);

create procedure safeguard.idempotency_purge(ttl_seconds bigint, max_rows integer)
language sql security definer set search_path = safeguard, pg_temp
as $$
	delete from safeguard.idempotency_keys k
	where k.ctid in (select x.ctid from safeguard.idempotency_keys x
	                 where x.created_at < now() - greatest(ttl_seconds, 3600) * interval '1 second'
	                 order by x.created_at limit least(greatest(max_rows, 0), 5000)
	                 for update skip locked)
$$;

grant execute on procedure safeguard.idempotency_purge(bigint, integer) to safeguard_api;
