-- 062: name_key (060) inlined where it is used.
--
-- 060 gave name_key `set search_path = pg_catalog`.  A function with a SET
-- clause is never inlined: every row written to children evaluated the
-- index children_name_keys through the function manager, and a SQL
-- function called that way parses and plans its body again for each
-- statement: 6% of PostgreSQL's time on POST /v1/children (sampled under
-- load), twice over for a PATCH that rewrites the row, and once a call in
-- child_search.
--
-- Restated (same OID, so the index and child_search keep it) with every
-- function named in pg_catalog instead of a SET clause, which keeps it as
-- safe against a caller's search_path, and lets the planner inline it: in
-- the index's expressions (which the executor and the planner both expand)
-- and in child_search's query, alike.  The key is the same text for every
-- input, so the index needs no rebuild.

create or replace function safeguard.name_key(t text) returns text
language sql immutable strict parallel safe
as $$
	select pg_catalog.replace(pg_catalog.replace(pg_catalog.lower(pg_catalog.btrim(
		pg_catalog.normalize(t, 'NFKC'), E' \t\n\r')), 'ß', 'ss'), 'ς', 'σ')
$$;
