-- 055: the access rows a change writes for children its maker never saw
-- are not read through the maker's agency.
--
-- 1. An agency's auditor reads every event its own staff made
--    (audit_event_visible, 006), whatever it is about: what a member of
--    staff did is the agency's to audit, and an event about a child names
--    a child that member of staff was shown.  The access rows that 050
--    (a panel's membership), 051 (a CME panel's chair) and 054 (an open
--    referral or a live case deleted) write are not: they are written as
--    whoever made the change, one row for each child whose access moved,
--    and the maker need not see any of them.  An admin of any agency may
--    create a CME panel or change a panel's members, so the admin's
--    auditor read, in those rows, the id of every child with a live
--    missing-education case in the partnership, or of every child a
--    panel the agency does not sit on has open referrals for, children its
--    own staff get 404 for.  Such a row (a child.panel_access.start or
--    .end with a cause: the ones a trigger writes; the API's own, for a
--    referral its maker acted on, name no cause) is read by an agency's
--    auditor only as an event about a child its agency sees, as every
--    other agency's events about the child are; the partnership's auditor
--    and CSC's safeguarding lead read it as before.
--    audit_event_visible takes the row's action and cause; its one other
--    caller, declared_involvement_at (039), is restated to pass none.
--
-- 2. CSC sees every child (child_visible), so chairing a CME panel starts
--    and ends nothing for it; 051 wrote a start and an end row per live
--    case for csc all the same, each a claim that access moved which did
--    not.  cme_chair_access_audit (051) leaves csc out, restated whole.

set search_path = safeguard, pg_temp;

-- ---- 1. an access row a trigger wrote is read as an event about its child -----------------

drop policy audit_read on safeguard.audit_events;
drop function safeguard.audit_event_visible(text, text, text);

create function safeguard.audit_event_visible(p_actor_agency text, p_type text, p_id text, p_cause text)
returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if safeguard.app_has_role('auditor') then
		-- its own staff's events, but an access row written for children
		-- the maker of the change need not see (a cause: 050, 051, 054)
		if safeguard.app_agency() = 'partnership'
		   or (p_actor_agency = safeguard.app_agency() and p_cause is null) then
			return true;
		end if;
		if p_type = 'child' and p_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
		   and safeguard.child_visible(p_id::uuid) then
			return true;
		end if;
	end if;
	-- a CSC safeguarding lead reads any child's access log
	return p_type = 'child' and safeguard.app_agency() = 'csc' and safeguard.app_has_role('safeguarding_lead');
end
$$;

create policy audit_read on safeguard.audit_events for select to safeguard_api
	using (safeguard.audit_event_visible(actor_agency, resource_type, resource_id,
		case when action in ('child.panel_access.start', 'child.panel_access.end') then details ->> 'cause' end));

-- 039's, with the new argument: the event it marks was made by p_agency's staff
create or replace function safeguard.declared_involvement_at(child text, p_agency text, at timestamptz) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if child is null or child !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
	   or not safeguard.audit_event_visible(p_agency, 'child', child, null) then
		return false;
	end if;
	return exists (select 1 from safeguard.declared_involvements d
	               where d.child_id = child::uuid and d.agency = p_agency and d.declared_at <= at
	                 and (d.ended_at is null or d.ended_at > at));
end
$$;

-- ---- 2. a CME chair held by CSC moves no access -----------------------------------------

create or replace function safeguard.cme_chair_access_audit() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	touched uuid[] := '{}';  -- the statement's new rows (the table holds them now)
	old_ids uuid[] := '{}';  -- its old CME rows, by id (an agency's row names its first panel)
	old_chairs text[] := '{}';
	new_ids uuid[] := '{}';  -- its new CME rows, by id
	new_chairs text[] := '{}';
	was text[];
	now_ text[];
begin
	-- only the transition tables this statement's event has may be read
	if tg_op <> 'INSERT' then
		select coalesce(array_agg(o.id order by o.id), '{}'), coalesce(array_agg(o.chair_agency order by o.id), '{}')
		into old_ids, old_chairs
		from old_panels o where o.type = 'cme';
	end if;
	if tg_op <> 'DELETE' then
		select coalesce(array_agg(n.id), '{}') into touched from new_panels n;
		select coalesce(array_agg(n.id order by n.id), '{}'), coalesce(array_agg(n.chair_agency order by n.id), '{}')
		into new_ids, new_chairs
		from new_panels n where n.type = 'cme';
	end if;
	if cardinality(old_ids) = 0 and cardinality(new_ids) = 0 then
		return null;  -- no CME panel before or after: a rename, a panel of another type
	end if;
	-- the agencies chairing a CME panel after the statement, and before it
	-- (the rows it did not touch, and the old ones of those it did); CSC
	-- sees every child whatever it chairs (055), so it gains and loses nothing
	now_ := array(select distinct p.chair_agency from safeguard.panels p where p.type = 'cme' and p.chair_agency <> 'csc');
	was := array(select p.chair_agency from safeguard.panels p where p.type = 'cme' and p.id <> all (touched)
	               and p.chair_agency <> 'csc'
	             union select c from unnest(old_chairs) c where c <> 'csc');
	if now_ @> was and was @> now_ then
		return null;
	end if;
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome, details)
	select current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
		'child.panel_access.' || m.act, 'child', c.child_id::text, 'success',
		jsonb_build_object('panel_id', m.panel_id, 'agency', m.agency, 'cause', 'cme_chair')
	from (select 'start' as act, a as agency, new_ids[array_position(new_chairs, a)] as panel_id
	      from unnest(now_) a where a <> all (was)
	      union all
	      select 'end', a, old_ids[array_position(old_chairs, a)]
	      from unnest(was) a where a <> all (now_)) m
	cross join (select distinct cc.child_id from safeguard.cme_cases cc where cc.status <> 'closed') c
	order by m.act, m.agency, c.child_id;
	return null;
end
$$;
