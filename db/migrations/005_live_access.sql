-- 005_live_access: access through a chronology request is derived from the
-- live request, never stored as a grant.
--
-- Until now, inviting an agency to a chronology request inserted
-- child_network rows (how = 'invited') that nothing removed: after the share
-- window passed or the request was closed, the invited agency still read the
-- child, its network and its family's carers, and could change the child.
-- From here on an agency sees a child while it is invited to an open request
-- whose share window has not passed and whose subject children include the
-- child (the child named, or the family's children when it was opened); the
-- moment the request closes or expires, that access is gone, in the same
-- instant, with nothing to clean up.

-- The 'invited' rows were grants that outlived their requests.
delete from safeguard.child_network where how = 'invited';
drop policy network_invited on safeguard.child_network;
alter table safeguard.child_network drop constraint child_network_how_check;
alter table safeguard.child_network add constraint child_network_how_check
	check (how in ('created', 'declared', 'panel'));

-- Requests opened before share_until was bounded keep at most the default
-- bound (SG_MAX_SHARE_DAYS, 90 days) from their opening: '9999-12-31' was
-- accepted and would have been access for good.
update safeguard.chronology_requests set share_until = created_at + interval '90 days'
where share_until > created_at + interval '90 days';

-- child_shared_by_request starts from the child.
create index chronology_request_children_child on safeguard.chronology_request_children (child_id, request_id);

-- Is the caller's agency in the child's network (it created the child or
-- declared involvement)?
create function safeguard.child_in_network(child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.child_network n
	               where n.child_id = child and n.agency = safeguard.app_agency());
end
$$;

-- Is the caller's agency invited to an open, in-window chronology request
-- about the child?  A loop, not one join, so that the lookups always start
-- from the child (a join's plan may start from the open requests instead,
-- which costs per row as many probes as there are open requests): the
-- child's requests by index (most children have none), then each request's
-- state and the caller's invitation by primary key.
create function safeguard.child_shared_by_request(child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	req uuid;
begin
	for req in select rc.request_id from safeguard.chronology_request_children rc where rc.child_id = child loop
		if exists (select 1 from safeguard.chronology_requests r
		           join safeguard.chronology_request_agencies a
		             on a.request_id = r.id and a.agency = safeguard.app_agency()
		           where r.id = req and r.closed_at is null and now() < r.share_until) then
			return true;
		end if;
	end loop;
	return false;
end
$$;

-- Whether the caller's agency may see a child: an OR of small named facts,
-- each derived from live rows.  Every new way of seeing a child (open panel
-- referrals come next) is one more function in this OR, never a stored
-- grant.  A plain SQL function (no SECURITY DEFINER, no SET) on purpose: the
-- planner inlines it, so each policy's check is the OR itself, evaluated
-- left to right per row, with no call frame of its own; the facts are the
-- SECURITY DEFINER PL/pgSQL functions, whose plans are cached.  Measured on
-- 50,000 children, the check cost 10-25% more per row than the network-only
-- one it replaces; the same OR in a PL/pgSQL wrapper cost 30-60% more.
create or replace function safeguard.child_visible(child uuid) returns boolean
language sql stable
as $$
	select safeguard.app_agency() = 'csc'
	    or safeguard.child_in_network(child)
	    or safeguard.child_shared_by_request(child)
$$;

-- A family is seen by CSC, by the agency that created it, and by any agency
-- that may see one of its children, for as long as it may (so a request's
-- invitation shows the family and its carers only while the request is live).
create or replace function safeguard.family_visible(fam uuid, creator text) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_agency() = 'csc' or creator = safeguard.app_agency()
	    or exists (select 1 from safeguard.children c
	               where c.family_id = fam and safeguard.child_visible(c.id));
end
$$;

-- Every child a consolidated timeline shows: the request's subject children
-- (their register entries feed the patterns) and the children of every
-- shared entry, for one audit row each.
create function safeguard.consolidated_children(req uuid) returns uuid[]
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select coalesce(array_agg(distinct x.child_id), '{}') from (
		select rc.child_id from safeguard.chronology_request_children rc where rc.request_id = req
		union
		select ec.child_id from safeguard.chronology_contributions c
		join safeguard.chronology_entry_children ec on ec.entry_id = c.entry_id
		where c.request_id = req) x
	where (select safeguard.request_readable(req))
$$;
