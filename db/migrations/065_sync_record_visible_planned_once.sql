-- 065: sync_record_visible (018) planned once a connection, not once a row.
--
-- 018 wrote it as a SQL function with a SET clause, which is never inlined:
-- each call went through the function manager, which parsed and planned
-- its CASE of three EXISTS again, and the planner chose that custom plan
-- every time (a plan for each kind is cheaper than one for all three).  It
-- runs for every row of the change log a caller reads, in sync_changes'
-- read policy and in sync_page: counted by pg_stat_statements over the
-- sync suites, 130,404 plans for 130,446 calls, 86 µs planning against
-- 26 µs running each.
--
-- Restated in PL/pgSQL, one statement a kind: each is a lookup by key whose
-- plan the connection keeps.  Still asked as the caller (invoker's rights):
-- the record's own read policies decide, as 018 says.

create or replace function safeguard.sync_record_visible(p_kind text, p_id uuid) returns boolean
language plpgsql stable set search_path = safeguard, pg_temp
as $$
begin
	if p_kind = 'child' then
		return exists (select 1 from safeguard.children c where c.id = p_id);
	elsif p_kind = 'family' then
		return exists (select 1 from safeguard.families f where f.id = p_id);
	end if;
	return exists (select 1 from safeguard.chronology_entries e where e.id = p_id);
end
$$;
