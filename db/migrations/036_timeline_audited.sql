-- 036: a stored timeline leaves the database only with its audit rows.
--
-- The API role could call the functions behind the consolidated timeline
-- (consolidated_stored, consolidated_json, consolidated_items,
-- consolidated_children, consolidated_rolls, consolidated_cme_cases,
-- consolidated_period_end) directly: each checks that the caller may read
-- the request, but none writes an audit row, so a statement that called one
-- by mistake would show children's records with no trace of the read.  The
-- API role now reaches a timeline only through consolidated_read, which
-- writes the read's row and each shown child's in the same call: it runs as
-- the owner (security definer), and the functions it calls are no longer
-- the API role's to call.  The owner inserts those audit rows under the same
-- check as the API role: as the caller the request's identity names, never
-- anyone else.
--
-- Also: the stored roll status lines come in the children's id order, so
-- that the same inputs always give the same patterns key (a worker finds
-- the patterns again only when the key changes).

set search_path = safeguard, pg_temp;

create policy audit_write_reader on safeguard.audit_events for insert to safeguard_owner
	with check (actor_sub = safeguard.app_sub() and actor_agency = safeguard.app_agency());

create or replace function safeguard.consolidated_stored(req uuid, have text)
returns table (digest text, entries text, children uuid[], items text, rolls text, cme text, period_end text)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	g bigint;
	b bigint;
	d text;
	ch uuid[];
	e text;
	it text;
begin
	if not safeguard.consolidated_readable(req) then
		return;
	end if;
	-- the entries are read out of storage only when they are to be sent
	select c.gen, c.built_gen, c.digest, c.children,
	       case when c.digest is distinct from have then c.entries end,
	       case when c.digest is distinct from have then c.items end
	into g, b, d, ch, e, it
	from safeguard.consolidated_cache c where c.request_id = req;
	g := coalesce(g, 0);
	if b is distinct from g or d is null then
		-- one statement: the entries, their children and the items agree (023)
		select safeguard.consolidated_json(req), safeguard.consolidated_children(req),
		       (select coalesce(string_agg(concat_ws(E'\t', i.id, i.agency, i.category, i.event_date,
		                                             i.event_date_end, i.status), E'\n'), '')
		        from safeguard.consolidated_items(req) i)
		into e, ch, it;
		d := encode(sha256(convert_to(coalesce(e, '') || E'\x1e' || coalesce(it, ''), 'UTF8')), 'hex');
		insert into safeguard.consolidated_cache as c (request_id, gen, built_gen, entries, children, items, digest)
		values (req, g, g, e, ch, it, d)
		on conflict (request_id) do update set built_gen = excluded.built_gen, entries = excluded.entries,
			children = excluded.children, items = excluded.items, digest = excluded.digest
		where c.gen = excluded.gen;
		if d = have then
			e := null;
			it := null;
		end if;
	end if;
	return query select d, e, ch, it,
		(select string_agg(concat_ws(E'\t', c.id,
		                             coalesce(case when c.education_status in ('not_on_roll', 'missing_education')
		                                           then c.not_on_roll_since::text end, '')), E'\n' order by c.id)
		 from safeguard.children c
		 join safeguard.chronology_request_children rc on rc.child_id = c.id
		 where rc.request_id = req),
		(select string_agg(concat_ws(E'\t', m.child_id, m.missing_since::text,
		                             coalesce(case when m.resolution in ('back_on_roll', 'elective_home_education',
		                                                                 'moved_out_of_area')
		                                           then m.resolved_on::text end, '')),
		                   E'\n' order by m.missing_since, m.id)
		 from safeguard.chronology_request_children rc
		 join safeguard.cme_cases m on m.child_id = rc.child_id
		 where rc.request_id = req),
		(select least(r.period_to, (now() at time zone 'UTC')::date)::text
		 from safeguard.chronology_requests r where r.id = req);
end
$$;
-- The only way to a timeline: the check, the audit rows and the timeline in
-- one call, as 029's, now as the owner.
create or replace function safeguard.consolidated_read(req uuid, p_action text, p_type text, p_id text, p_details jsonb,
	p_child_action text, p_have text)
returns table (digest text, entries text, items text, rolls text, cme text, period_end text)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	k record;
begin
	select * into k from safeguard.consolidated_stored(req, p_have) s;
	if not found then
		return;
	end if;
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome, details)
	values (current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'), p_action,
		p_type, p_id, 'success', coalesce(p_details, '{}'));
	perform safeguard.audit_write(p_child_action, 'child', k.children::text[]);
	return query select k.digest, k.entries, k.items, k.rolls, k.cme, k.period_end;
end
$$;
-- 021's six arguments, for a worker of the previous release still running
-- while this one is deployed: the same call and audit rows, as the owner.
create or replace function safeguard.consolidated_read(req uuid, p_action text, p_type text, p_id text, p_details jsonb,
	p_child_action text)
returns table (entries text, items text, rolls text, cme text, period_end text)
language sql volatile security definer set search_path = safeguard, pg_temp
as $$
	select r.entries, r.items, r.rolls, r.cme, r.period_end
	from safeguard.consolidated_read(req, p_action, p_type, p_id, p_details, p_child_action, null) r
$$;

revoke all on function safeguard.consolidated_read(uuid, text, text, text, jsonb, text) from public;
revoke all on function safeguard.consolidated_read(uuid, text, text, text, jsonb, text, text) from public;
grant execute on function safeguard.consolidated_read(uuid, text, text, text, jsonb, text) to safeguard_api;
grant execute on function safeguard.consolidated_read(uuid, text, text, text, jsonb, text, text) to safeguard_api;

revoke all on function safeguard.consolidated_stored(uuid, text) from public, safeguard_api;
revoke all on function safeguard.consolidated_stored(uuid) from public, safeguard_api;
revoke all on function safeguard.consolidated_json(uuid) from public, safeguard_api;
revoke all on function safeguard.consolidated_items(uuid) from public, safeguard_api;
revoke all on function safeguard.consolidated_children(uuid) from public, safeguard_api;
revoke all on function safeguard.consolidated_rolls(uuid) from public, safeguard_api;
revoke all on function safeguard.consolidated_cme_cases(uuid) from public, safeguard_api;
revoke all on function safeguard.consolidated_period_end(uuid) from public, safeguard_api;
