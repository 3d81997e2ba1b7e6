-- 030: the hot functions keep their plans, and a new chronology entry costs
-- the same however many children the register holds.
--
-- 1. chronology_entry_create (020, 026) found the named children that are
--    gone or not writable with one query whose NOT EXISTS, beside an OR,
--    became a hashed subplan: every child the caller can see was read and
--    its visibility evaluated, to hash them all, on every new entry (305
--    children cost 4.6 ms; a register of a million would cost seconds).
--    Each named child is now looked up by its key, one at a time.  It also
--    rendered the entry twice, once in its own update and again in the
--    guard trigger (013), which renders the entry on every update anyway.
-- 2. A SQL function that cannot be inlined (one with SET, SECURITY DEFINER,
--    or a body the planner does not fold in) is parsed and planned again
--    at every call.  PL/pgSQL keeps a function's plans for the session.
--    The ones every write or every audited read calls are rewritten in
--    PL/pgSQL with the same names, arguments, results and rights:
--    audit_write (every audited read and write), entry_json (every entry
--    written), child_exists (every network join), consolidated_touch
--    (every change to a shared entry), child_by_identifier (every child
--    created or changed with an identifier), and child_chronology (the
--    child's chronology page), which also takes the caller's agency once
--    per call instead of once per row.

set search_path = safeguard, pg_temp;

create or replace function safeguard.audit_write(p_action text, p_type text, p_ids text[]) returns void
language plpgsql volatile security invoker set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome)
	select current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'), p_action,
		p_type, x, 'success'
	from unnest(p_ids) x;
end
$$;

create or replace function safeguard.entry_json(e safeguard.chronology_entries) returns json
language plpgsql stable
as $$
begin
	return safeguard.entry_json_with(e, (select jsonb_agg(c.child_id order by c.child_id)
	                                     from safeguard.chronology_entry_children c where c.entry_id = e.id));
end
$$;

create or replace function safeguard.child_exists(child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.children where id = child);
end
$$;

create or replace function safeguard.child_by_identifier(p_nhs text, p_upn text) returns uuid
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return (select id from safeguard.children
	        where (p_nhs is not null and nhs_number = p_nhs) or (p_upn is not null and upn = p_upn)
	        limit 1);
end
$$;

create or replace function safeguard.consolidated_touch(req uuid) returns void
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.consolidated_cache as k (request_id, gen) values (req, 1)
	on conflict (request_id) do update set gen = k.gen + 1;
end
$$;

create or replace function safeguard.child_chronology(child uuid, p_from date, p_to date, p_category text,
	p_agency text, after_date date, after_time time, after_seq bigint, lim integer)
returns table (j text, event_date text, event_time text, seq text)
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
begin
	if not safeguard.child_visible(child) then
		return;
	end if;
	return query
	select coalesce(e.doc, safeguard.entry_json(e)::text), e.event_date::text,
	       to_char(coalesce(e.event_time, '00:00'), 'HH24:MI:SS'), e.seq::text
	from safeguard.chronology_entry_children c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.child_id = child
	  and (e.agency = me or me = 'csc')
	  and (p_from is null or coalesce(e.event_date_end, e.event_date) >= p_from)
	  and (p_to is null or e.event_date <= p_to)
	  and (p_category is null or e.category = p_category)
	  and (p_agency is null or e.agency = p_agency)
	  and (after_date is null or (e.event_date, coalesce(e.event_time, '00:00'), e.seq) > (after_date, after_time, after_seq))
	order by e.event_date, coalesce(e.event_time, '00:00'), e.seq
	limit lim;
end
$$;

create or replace function safeguard.chronology_entry_create(p_id uuid, b jsonb, ids jsonb)
returns table (missing jsonb, not_siblings boolean, doc text, version integer)
language plpgsql volatile security invoker set search_path = safeguard, pg_temp
as $$
declare
	kids uuid[];
	gone jsonb := '[]'::jsonb;
	x text;
	k uuid;
	families integer;
	unfamilied boolean;
	d text;
	v integer;
begin
	kids := array(select distinct t.x::uuid from jsonb_array_elements_text(ids) t(x));
	-- each named child by its key: one that does not exist or that the
	-- caller may not write about is named back, in the order given
	for x in select t.x from jsonb_array_elements_text(ids) with ordinality t(x, o) order by t.o loop
		k := x::uuid;
		if not exists (select 1 from safeguard.children c where c.id = k)
		   or not safeguard.child_entry_writable(k) then
			gone := gone || to_jsonb(x);
		end if;
	end loop;
	if jsonb_array_length(gone) > 0 then
		return query select gone, false, null::text, null::integer;
		return;
	end if;
	if cardinality(kids) > 1 then
		select count(distinct c.family_id), bool_or(c.family_id is null) into families, unfamilied
		from safeguard.children c where c.id = any (kids);
		if families <> 1 or unfamilied then
			return query select '[]'::jsonb, true, null::text, null::integer;
			return;
		end if;
	end if;
	insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, event_date, event_date_end,
		date_precision, event_time, category, summary, details, impact, impact_description, action_taken,
		no_action_reason, significance, source)
	values (p_id, safeguard.app_agency(), safeguard.app_sub(), safeguard.app_sub(), (b->>'event_date')::date,
		(b->>'event_date_end')::date, b->>'date_precision', (b->>'event_time')::time, b->>'category',
		b->>'summary', b->>'details', b->>'impact', b->>'impact_description', b->>'action_taken',
		b->>'no_action_reason', b->>'significance', b->>'source');
	insert into safeguard.chronology_entry_children (entry_id, child_id) select p_id, unnest(kids);
	-- the guard trigger (013) renders the entry, with its children now, on
	-- every update: this one only asks it to
	update safeguard.chronology_entries e set doc = null where e.id = p_id
	returning e.doc, e.version into d, v;
	perform safeguard.audit_write('chronology_entry.create', 'chronology_entry', array[p_id::text]);
	perform safeguard.audit_write('child.chronology.add', 'child', kids::text[]);
	return query select '[]'::jsonb, false, d, v;
end
$$;
