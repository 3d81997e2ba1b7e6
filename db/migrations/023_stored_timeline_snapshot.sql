-- 023: the stored consolidated timeline is built from one snapshot, a
-- concurrent duplicate child names the child that won, and only the
-- triggers bump the store.
--
-- 1. consolidated_stored (020, 021) built a stale timeline's entries, its
--    children and its pattern items in three statements.  A volatile
--    function's statements each take a new snapshot, so a contribution
--    changed between them gave a read entries from before the change and
--    children from after it: an entry about a sibling shown, and the
--    sibling's child audit row (written from those children) missing.  The
--    three are now one statement, one snapshot.  (What it stores was never
--    affected: the change bumped gen, so the mixed build was not kept.)
-- 2. child_create (020): two creates of one NHS number or UPN at once both
--    passed the duplicate check; the loser met the unique index and was
--    answered 409 with an empty existing_id.  The loser now finds the
--    winner (committed by the time the index lets it go) and answers with
--    its id, writing nothing, as a duplicate seen up front does.
-- 3. consolidated_touch (020) is the change triggers' to call; PUBLIC could
--    execute it, so the API role could make any request's stored timeline
--    stale, for a request it cannot even read.

set search_path = safeguard, pg_temp;

create or replace function safeguard.consolidated_stored(req uuid)
returns table (entries text, children uuid[], items text)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	k safeguard.consolidated_cache;
	g bigint;
begin
	if not safeguard.consolidated_readable(req) then
		return;
	end if;
	select * into k from safeguard.consolidated_cache where request_id = req;
	g := coalesce(k.gen, 0);
	if k.built_gen is distinct from g then
		-- one statement: the entries, their children and the items agree
		select safeguard.consolidated_json(req), safeguard.consolidated_children(req),
		       (select coalesce(string_agg(concat_ws(E'\t', i.id, i.agency, i.category, i.event_date,
		                                             i.event_date_end, i.status), E'\n'), '')
		        from safeguard.consolidated_items(req) i)
		into k.entries, k.children, k.items;
		insert into safeguard.consolidated_cache as c (request_id, gen, built_gen, entries, children, items)
		values (req, g, g, k.entries, k.children, k.items)
		on conflict (request_id) do update set built_gen = excluded.built_gen, entries = excluded.entries,
			children = excluded.children, items = excluded.items
		where c.gen = excluded.gen;
	end if;
	return query select k.entries, k.children, k.items;
end
$$;

create or replace function safeguard.child_create(p_id uuid, b jsonb)
returns table (existing uuid, doc text, version integer)
language plpgsql volatile security invoker set search_path = safeguard, pg_temp
as $$
declare
	dup uuid;
	d text;
	v integer;
begin
	if b->>'nhs_number' is not null or b->>'upn' is not null then
		dup := safeguard.child_by_identifier(b->>'nhs_number', b->>'upn');
		if dup is not null then
			return query select dup, null::text, null::integer;
			return;
		end if;
	end if;
	begin
		insert into safeguard.child_network (child_id, agency, how, joined_by)
		values (p_id, safeguard.app_agency(), 'created', safeguard.app_sub());
		insert into safeguard.children (id, first_name, last_name, preferred_name, date_of_birth,
			gender, nhs_number, upn, address_lines, address_town, postcode, school_urn, education_status,
			not_on_roll_since, ehcp, looked_after, child_protection_plan, created_by_agency)
		values (p_id, b->>'first_name', b->>'last_name', b->>'preferred_name', (b->>'date_of_birth')::date,
			b->>'gender', b->>'nhs_number', b->>'upn',
			coalesce(array(select jsonb_array_elements_text(b->'address'->'lines')), '{}'),
			b->'address'->>'town', b->>'postcode', b->>'school_urn',
			coalesce(b->>'education_status', 'on_roll'), (b->>'not_on_roll_since')::date,
			coalesce((b->>'ehcp')::boolean, false), coalesce((b->>'looked_after')::boolean, false),
			coalesce((b->>'child_protection_plan')::boolean, false), safeguard.app_agency())
		returning safeguard.child_json(children)::text, children.version into d, v;
	exception when unique_violation then
		-- a concurrent create took the identifier and has committed (the
		-- index waited for it): this statement's fresh snapshot finds it;
		-- the block's writes are undone
		dup := safeguard.child_by_identifier(b->>'nhs_number', b->>'upn');
		if dup is null then
			raise;
		end if;
		return query select dup, null::text, null::integer;
		return;
	end;
	perform safeguard.audit_write('child.create', 'child', array[p_id::text]);
	return query select null::uuid, d, v;
end
$$;

revoke execute on function safeguard.consolidated_touch(uuid) from public;
