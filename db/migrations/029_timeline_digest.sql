-- 029: the stored consolidated timeline (020, 023) named by a digest, and
-- sent to a worker only when the worker does not already hold it.
--
-- A read of the 2,000-entry timeline spent most of its time moving 1.4 MB
-- of entries out of the table, through two functions and the socket, to a
-- worker that had usually received exactly the same text a moment before.
-- Each stored timeline now carries the SHA-256 of what it stores (its
-- entries and pattern items); the read names the digest the worker holds,
-- and the entries and items come back only when the stored ones differ.
-- Everything else is as before, on every read: the check that the caller
-- may read it, the rebuild after a change, and the audit rows for the read
-- and for each child the timeline shows, all in one snapshot per build and
-- one statement per stored row.

set search_path = safeguard, pg_temp;

alter table safeguard.consolidated_cache add column digest text;

-- every stored timeline is rebuilt, with its digest, at its next read
update safeguard.consolidated_cache set built_gen = null;

-- The stored timeline of req, as 023's, and its digest: (digest, entries,
-- children, items), entries and items null when have is the digest (the
-- caller holds them); then the rest of what the pattern rules need, as
-- 021's consolidated_read gave it from 017's functions: the subject
-- children's roll status and CME cases as tab-separated lines, and the
-- period's last day.  No row when the caller may not read it.  The stored
-- row is read in one statement, so its digest, children and entries are
-- always of one build.  (In PL/pgSQL, whose plans are kept for the
-- session: 017's three SQL functions were parsed and planned again on
-- every call, each checking the reader again.)
create function safeguard.consolidated_stored(req uuid, have text)
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
		                                           then c.not_on_roll_since::text end, '')), E'\n')
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
revoke all on function safeguard.consolidated_stored(uuid, text) from public;
grant execute on function safeguard.consolidated_stored(uuid, text) to safeguard_api;

-- 023's, for any caller of the old shape: the same build, with its digest,
-- so that no stored timeline is ever kept under another build's digest.
create or replace function safeguard.consolidated_stored(req uuid)
returns table (entries text, children uuid[], items text)
language sql volatile security definer set search_path = safeguard, pg_temp
as $$ select s.entries, s.children, s.items from safeguard.consolidated_stored(req, null) s $$;

-- The consolidated timeline of req in one call, as 021's, and the digest
-- of its entries and items: (digest, entries, items, rolls, cme,
-- period_end), entries and items null when p_have is the digest.  The audit
-- rows are written whether or not the entries are sent: the caller shows
-- them either way.
create function safeguard.consolidated_read(req uuid, p_action text, p_type text, p_id text, p_details jsonb,
	p_child_action text, p_have text)
returns table (digest text, entries text, items text, rolls text, cme text, period_end text)
language plpgsql volatile security invoker set search_path = safeguard, pg_temp
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
revoke all on function safeguard.consolidated_read(uuid, text, text, text, jsonb, text, text) from public;
grant execute on function safeguard.consolidated_read(uuid, text, text, text, jsonb, text, text) to safeguard_api;
