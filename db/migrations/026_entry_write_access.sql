-- 026: an entry is about children the author's agency is involved with.
--
-- DESIGN's access table: "add a chronology entry: a member of an agency in
-- the network".  003 held that with child_visible, which then meant the
-- network; since 005 and 007 it also lets in an agency that sees the child
-- only while a panel it sits on has an open referral of the child, so any
-- member of such an agency, a practitioner with no panel role included,
-- could write into the child's chronology.  Writing is now for the child's
-- network (CSC always is, 013's child_writable) and for an agency invited
-- to a live chronology request about the child (005's
-- child_shared_by_request), which its contribution needs; a panel's agency
-- that has something to record declares its involvement first (audited,
-- reviewed by CSC), as the panels' referral rule already asks (017).

set search_path = safeguard, pg_temp;

create function safeguard.child_entry_writable(child uuid) returns boolean
language sql stable
as $$
	select safeguard.child_writable(child) or safeguard.child_shared_by_request(child)
$$;

alter policy entry_children_create on safeguard.chronology_entry_children
	with check (safeguard.child_entry_writable(child_id));

-- 020's entry, with the same rule for the children it names: one the caller
-- may not write about is answered as one it cannot see (nothing written).
create or replace function safeguard.chronology_entry_create(p_id uuid, b jsonb, ids jsonb)
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
	where not exists (select 1 from safeguard.children c where c.id = x::uuid)
	   or not safeguard.child_entry_writable(x::uuid);
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
