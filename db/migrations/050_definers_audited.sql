-- 050: the security-definer functions that show a child's data leave their
-- own audit rows; the idempotency purge keeps what the deployment keeps; a
-- panel's open children are no longer told to its managers.
--
-- 1. child_chronology (030) and child_panel_referrals (007) check that the
--    caller may see the child, then return the child's chronology entries
--    or its panels, but the audit rows of those reads were written by the
--    statement the API ran after them.  Called directly as the API role,
--    they showed the child's data with no trace of the read.  Each now
--    writes the rows the API wrote (as 036's timeline does, as the owner,
--    under audit_write_reader: always as the request's identity), and the
--    API no longer writes them:
--    - child_chronology: 'child.chronology.read' for the child and every
--      child an entry it returns is about.  Its caller asks for one row
--      more than it shows, to learn whether there is a next page: the
--      lim-th row, when there is one, now comes back empty (no document,
--      no date), so that only the rows whose children are audited leave
--      the database, whoever calls it.
--    - child_panel_referrals: 'child.panel_referrals.read' for the child.
-- 2. idempotency_purge (025) took the retention from its caller, never below
--    an hour: called directly with a TTL of 0, it deleted every caller's
--    answers older than an hour, and a retry within the deployment's
--    SG_IDEMPOTENCY_TTL (a week by default) then created its record a
--    second time.  The deployment's retention is known only to the workers,
--    so each stored answer now records it (keep_seconds, written with the
--    answer), and the purge deletes an answer only once it is older than
--    both its own retention and the TTL it is called with.  A caller can
--    set the retention of its own answers only, which it may delete anyway
--    (idempotency_own).  Answers stored before this migration, or by a
--    worker of the previous release, keep the longest retention any
--    deployment may configure (30 days): none is lost, and the caller's own
--    next keyed request still clears them at its TTL.
-- 3. panel_open_children (011) answered any admin, of any agency, which
--    children have open referrals on any panel: that is the panel's cases,
--    which only its member agencies read (section 4), and an admin manages
--    a panel without being on it.  The API used it only to write the
--    child.panel_access.start/end audit rows of a membership change.  Those
--    rows are now written by a trigger on panel_members, for each agency
--    that actually joins or leaves, so the children's ids never leave the
--    database and a membership change cannot go unaudited; the function is
--    dropped.

set search_path = safeguard, pg_temp;

-- ---- 1. the reads audit themselves -------------------------------------------------

create or replace function safeguard.child_chronology(child uuid, p_from date, p_to date, p_category text,
	p_agency text, after_date date, after_time time, after_seq bigint, lim integer)
returns table (j text, event_date text, event_time text, seq text)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	n integer := 0;
	shown uuid[] := array[child];
	x record;
begin
	if not safeguard.child_visible(child) then
		return;
	end if;
	for x in
		select coalesce(e.doc, safeguard.entry_json(e)::text) as doc, e.event_date::text as d,
		       to_char(coalesce(e.event_time, '00:00'), 'HH24:MI:SS') as t, e.seq::text as s
		from safeguard.chronology_entry_children c
		join safeguard.chronology_entries e on e.id = c.entry_id
		where c.child_id = child
		  and (e.agency = me or me = 'csc')
		  and (p_from is null or coalesce(e.event_date_end, e.event_date) >= p_from)
		  and (p_to is null or e.event_date <= p_to)
		  and (p_category is null or e.category = p_category)
		  and (p_agency is null or e.agency = p_agency)
		  and (after_date is null
		       or (e.event_date, coalesce(e.event_time, '00:00'), e.seq) > (after_date, after_time, after_seq))
		order by e.event_date, coalesce(e.event_time, '00:00'), e.seq
		limit lim
	loop
		n := n + 1;
		if lim is null or n < lim then
			j := x.doc;
			event_date := x.d;
			event_time := x.t;
			seq := x.s;
			shown := shown || array(select y::uuid from json_array_elements_text(x.doc::json->'child_ids') y);
		else
			-- the look-ahead row: that there is one, nothing of it
			j := null;
			event_date := null;
			event_time := null;
			seq := null;
		end if;
		return next;
	end loop;
	perform safeguard.audit_write('child.chronology.read', 'child',
	                              array(select distinct y::text from unnest(shown) y));
end
$$;

create or replace function safeguard.child_panel_referrals(child uuid)
returns table (j text, created_at text, id uuid)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
begin
	if not safeguard.child_visible(child) then
		return;
	end if;
	perform safeguard.audit_write('child.panel_referrals.read', 'child', array[child::text]);
	return query
	select jsonb_build_object(
		'referral_id', r.id, 'panel_id', p.id, 'panel_type', p.type, 'panel_name', p.name, 'area', p.area,
		'chair_agency', p.chair_agency, 'status', r.status,
		'open', r.status in ('submitted', 'accepted', 'reopened'),
		'referred_at', to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(r.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
		r.created_at::text, r.id
	from safeguard.panel_referrals r join safeguard.panels p on p.id = r.panel_id
	where r.child_id = child
	order by r.created_at, r.id;
end
$$;

-- ---- 2. the purge keeps what the deployment keeps --------------------------------

-- the bounds of SG_IDEMPOTENCY_TTL, which the workers check at start
alter table safeguard.idempotency_keys
	add column keep_seconds bigint not null default 2592000 check (keep_seconds between 3600 and 2592000);

create or replace procedure safeguard.idempotency_purge(ttl_seconds bigint, max_rows integer)
language sql security definer set search_path = safeguard, pg_temp
as $$
	delete from safeguard.idempotency_keys k
	where k.ctid in (select x.ctid from safeguard.idempotency_keys x
	                 where x.created_at < now() - greatest(ttl_seconds, 3600) * interval '1 second'
	                   and x.created_at < now() - x.keep_seconds * interval '1 second'
	                 order by x.created_at limit least(greatest(max_rows, 0), 5000)
	                 for update skip locked)
$$;

-- ---- 3. a membership change audits itself ----------------------------------------

-- One child audit row per child of the panel's open referrals for the
-- agency that joined (an insert) or left (a delete), as the API wrote them
-- (issue 10), as the request's identity.
create function safeguard.panel_member_access_audit() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	m safeguard.panel_members;
begin
	if tg_op = 'INSERT' then
		m := new;
	else
		m := old;
	end if;
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome, details)
	select current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
		case when tg_op = 'INSERT' then 'child.panel_access.start' else 'child.panel_access.end' end,
		'child', c.child_id::text, 'success',
		jsonb_build_object('panel_id', m.panel_id, 'agency', m.agency, 'cause', 'membership')
	from (select distinct r.child_id from safeguard.panel_referrals r
	      where r.panel_id = m.panel_id and r.status in ('submitted', 'accepted', 'reopened')) c
	order by c.child_id;
	return null;
end
$$;
create trigger panel_members_access_audit after insert or delete on safeguard.panel_members
	for each row execute function safeguard.panel_member_access_audit();

drop function safeguard.panel_open_children(uuid);
