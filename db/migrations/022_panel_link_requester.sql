-- 022: only the agency that made a chronology request links it to a panel.
--
-- 017 let any agency that reads a request (the requester, or an invited
-- agency while the request is live) name it in a panel referral, which
-- opens the request's timeline to the readers of every member agency of
-- that panel.  An invited agency holds the timeline under the request's
-- lawful basis, for the request's purpose; passing every other agency's
-- entries on to a panel's agencies is the requester's decision (CSC, who
-- set that basis), not the decision of any agency it invited.  The link now
-- also needs the caller's agency to be the requesting agency.

set search_path = safeguard, pg_temp;

create or replace function safeguard.panel_request_link_ok(req uuid, child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.request_readable(req)
	   and exists (select 1 from safeguard.chronology_requests q
	               where q.id = req and q.requesting_agency = safeguard.app_agency())
	   and (exists (select 1 from safeguard.chronology_request_children rc
	                where rc.request_id = req and rc.child_id = child)
	        or exists (select 1 from safeguard.chronology_requests q
	                   join safeguard.children c on c.id = child and c.family_id = q.subject_family_id
	                   where q.id = req));
end
$$;
