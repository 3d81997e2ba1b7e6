-- 021: the stored consolidated timeline (020) for every reader 017 admits.
--
-- 017 let the readers of a panel with an open referral naming a chronology
-- request read that request's timeline (safeguard.consolidated_readable),
-- and gave the pattern inputs their own checked functions, since such a
-- reader sees neither the request's row nor its children's.  020 kept the
-- timeline per request and read it in one call that checked
-- request_readable and read those inputs under row-level security.  Here
-- the one call checks consolidated_readable, takes the inputs from 017's
-- functions, and writes the audit rows the caller names: the read itself
-- (action, type, id, details) and one child_action row per child shown.

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

-- The consolidated timeline of req, in one call: (entries, items, rolls,
-- cme, period_end) as 020's safeguard.consolidated describes them.  The
-- audit rows are written as the caller, under the audit trail's policies:
-- p_action on (p_type, p_id) with p_details, and p_child_action for each
-- child the timeline shows.  No row when the caller may not read it.
create function safeguard.consolidated_read(req uuid, p_action text, p_type text, p_id text, p_details jsonb,
	p_child_action text)
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
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome, details)
	values (current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'), p_action,
		p_type, p_id, 'success', coalesce(p_details, '{}'));
	perform safeguard.audit_write(p_child_action, 'child', k.children::text[]);
	return query select k.entries, k.items,
		(select string_agg(concat_ws(E'\t', r.child_id, coalesce(r.not_on_roll_since, '')), E'\n')
		 from safeguard.consolidated_rolls(req) r),
		(select string_agg(concat_ws(E'\t', m.child_id, m.since, coalesce(m.back_on, '')), E'\n')
		 from safeguard.consolidated_cme_cases(req) m),
		safeguard.consolidated_period_end(req);
end
$$;

grant execute on function safeguard.consolidated_read(uuid, text, text, text, jsonb, text) to safeguard_api;

-- 020's call, which only the API of that release used
drop function safeguard.consolidated(uuid, text);
