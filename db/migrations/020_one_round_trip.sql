-- 020: the two commonest writes in one round trip.
--
-- Creating a child and adding a chronology entry each ran four to seven
-- statements, one round trip apiece: the duplicate or network check, the
-- inserts, the audit rows, the entry's rendered document.  Each function
-- below does the same steps in the same order, as the caller (security
-- invoker: every policy applies exactly as before), so that the API sends
-- BEGIN, the identity, the call and COMMIT in one flight.  A call that
-- refuses the write (a duplicate identifier, a child outside the network)
-- writes nothing and says why; the C answers the problem as before.

set search_path = safeguard, pg_temp;

-- One audit row per id, written as the caller (under the audit trail's own
-- policies), as the kit's audit statements write them.
create function safeguard.audit_write(p_action text, p_type text, p_ids text[]) returns void
language sql volatile security invoker set search_path = safeguard, pg_temp
as $$
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome)
	select current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'), p_action,
		p_type, x, 'success'
	from unnest(p_ids) x
$$;

-- A new child: (existing, doc, version).  existing is the child that
-- already holds the NHS number or UPN (nothing written); otherwise the
-- creating agency joins the child's network, the child is inserted, its
-- child.create audit row written, and doc is the child as GET shows it.
-- A concurrent duplicate still meets the unique indexes (23505).
create function safeguard.child_create(p_id uuid, b jsonb)
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
	perform safeguard.audit_write('child.create', 'child', array[p_id::text]);
	return query select null::uuid, d, v;
end
$$;

-- A new chronology entry about the children in ids (the body's child_ids,
-- as given): (missing, not_siblings, doc, version).  missing holds each id
-- the caller cannot see (or that does not exist), as it was given;
-- not_siblings is true when several children are not of one family.
-- Either way nothing is written.  Otherwise the entry and its children are
-- inserted, its document rendered once, and the audit rows written: the
-- entry's chronology_entry.create and one child.chronology.add per child.
create function safeguard.chronology_entry_create(p_id uuid, b jsonb, ids jsonb)
returns table (missing jsonb, not_siblings boolean, doc text, version integer)
language plpgsql volatile security invoker set search_path = safeguard, pg_temp
as $$
declare
	kids uuid[];
	gone jsonb;
	families integer;
	unfamilied boolean;
	d text;
	v integer;
begin
	kids := array(select distinct x::uuid from jsonb_array_elements_text(ids) x);
	select coalesce(jsonb_agg(x order by o), '[]'::jsonb) into gone
	from jsonb_array_elements_text(ids) with ordinality t(x, o)
	where not exists (select 1 from safeguard.children c where c.id = x::uuid);
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
	update safeguard.chronology_entries e set doc = safeguard.entry_json(e)::text where e.id = p_id
	returning e.doc, e.version into d, v;
	perform safeguard.audit_write('chronology_entry.create', 'chronology_entry', array[p_id::text]);
	perform safeguard.audit_write('child.chronology.add', 'child', kids::text[]);
	return query select '[]'::jsonb, false, d, v;
end
$$;

grant execute on function safeguard.child_create(uuid, jsonb) to safeguard_api;
grant execute on function safeguard.chronology_entry_create(uuid, jsonb, jsonb) to safeguard_api;

-- ---- the consolidated timeline, rendered once per change ---------------------
--
-- A request's consolidated entries (1-2 MB of JSON for 2,000 entries) change
-- only when a contribution, one of its entries or the children change, but
-- were aggregated again on every read.  They are kept here, built by the
-- first read after a change.  gen counts the changes (the triggers below bump
-- it in the writer's transaction); built_gen is the gen the stored timeline
-- was built at.  A reader uses the stored timeline only when the two agree,
-- and stores what it built only while gen is still the one it read, so a
-- reader that built from an older snapshot never stores over a newer change
-- (the writer holds the row while it bumps gen; the reader's conditional
-- update waits for it and then finds gen moved on).
create table safeguard.consolidated_cache (
	request_id uuid primary key references safeguard.chronology_requests (id) on delete cascade,
	gen bigint not null default 0,
	built_gen bigint,
	entries text,
	children uuid[],
	items text
);
-- stored as it is: compressing 1-2 MB on every build and expanding it on
-- every read costs more than the disk it saves
alter table safeguard.consolidated_cache alter column entries set storage external;
-- the API role reaches it only through the functions below
alter table safeguard.consolidated_cache enable row level security;

create function safeguard.consolidated_touch(req uuid) returns void
language sql volatile security definer set search_path = safeguard, pg_temp
as $$
	insert into safeguard.consolidated_cache as k (request_id, gen) values (req, 1)
	on conflict (request_id) do update set gen = k.gen + 1
$$;

create function safeguard.consolidated_changed() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	row_ record;
begin
	row_ := case when tg_op = 'DELETE' then old else new end;
	if tg_table_name in ('chronology_contributions', 'chronology_request_children') then
		perform safeguard.consolidated_touch(row_.request_id);
	elsif tg_table_name = 'chronology_entries' then
		perform safeguard.consolidated_touch(c.request_id)
		from safeguard.chronology_contributions c where c.entry_id = row_.id;
	else -- chronology_entry_children
		perform safeguard.consolidated_touch(c.request_id)
		from safeguard.chronology_contributions c where c.entry_id = row_.entry_id;
	end if;
	return null;
end
$$;

create trigger consolidated_changed after insert or update or delete on safeguard.chronology_contributions
	for each row execute function safeguard.consolidated_changed();
create trigger consolidated_changed after insert or delete on safeguard.chronology_request_children
	for each row execute function safeguard.consolidated_changed();
create trigger consolidated_changed after update on safeguard.chronology_entries
	for each row execute function safeguard.consolidated_changed();
create trigger consolidated_changed after insert or delete on safeguard.chronology_entry_children
	for each row execute function safeguard.consolidated_changed();

-- The stored timeline of req, built first when a change has made it stale:
-- (entries, children, items) as safeguard.consolidated describes them; no
-- row when the caller may not read the request.
create function safeguard.consolidated_stored(req uuid)
returns table (entries text, children uuid[], items text)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	k safeguard.consolidated_cache;
	g bigint;
begin
	if not safeguard.request_readable(req) then
		return;
	end if;
	select * into k from safeguard.consolidated_cache where request_id = req;
	g := coalesce(k.gen, 0);
	if k.built_gen is distinct from g then
		k.entries := safeguard.consolidated_json(req);
		k.children := safeguard.consolidated_children(req);
		select coalesce(string_agg(concat_ws(E'\t', i.id, i.agency, i.category, i.event_date, i.event_date_end,
		                                     i.status), E'\n'), '')
		into k.items from safeguard.consolidated_items(req) i;
		insert into safeguard.consolidated_cache as c (request_id, gen, built_gen, entries, children, items)
		values (req, g, g, k.entries, k.children, k.items)
		on conflict (request_id) do update set built_gen = excluded.built_gen, entries = excluded.entries,
			children = excluded.children, items = excluded.items
		where c.gen = excluded.gen;
	end if;
	return query select k.entries, k.children, k.items;
end
$$;

-- The consolidated timeline of req for a caller who may read it, in one
-- call: (entries, items, rolls, cme, period_end).  entries is the JSON array
-- of the shared entries in event order; items, rolls and cme feed the
-- pattern rules as tab-separated lines: items (id, agency, category, event
-- date, end date or '', status), rolls (child, not on roll since or ''), cme
-- (child, missing since, back on or ''); period_end is the last day the
-- request covers (its period_to, or today in UTC).  The request's audit row
-- (audit_action) and one for each child the timeline shows
-- ('child.' || audit_action) are written as the caller, under the audit
-- trail's policies.  No row when the caller may not read the request.
create function safeguard.consolidated(req uuid, audit_action text)
returns table (entries text, items text, rolls text, cme text, period_end text)
language plpgsql volatile security invoker set search_path = safeguard, pg_temp
as $$
declare
	k record;
begin
	select * into k from safeguard.consolidated_stored(req) s;
	if not found then
		return;
	end if;
	perform safeguard.audit_write(audit_action, 'chronology_request', array[req::text]);
	perform safeguard.audit_write('child.' || audit_action, 'child', k.children::text[]);
	return query select k.entries, k.items,
		(select string_agg(concat_ws(E'\t', c.id, case when c.education_status in ('not_on_roll', 'missing_education')
		                                              then c.not_on_roll_since::text else '' end), E'\n')
		 from safeguard.children c join safeguard.chronology_request_children rc on rc.child_id = c.id
		 where rc.request_id = req),
		(select string_agg(concat_ws(E'\t', m.child_id, m.since, coalesce(m.back_on, '')), E'\n')
		 from safeguard.consolidated_cme_cases(req) m),
		(select least(r.period_to, (now() at time zone 'UTC')::date)::text
		 from safeguard.chronology_requests r where r.id = req);
end
$$;

grant execute on function safeguard.consolidated(uuid, text) to safeguard_api;
