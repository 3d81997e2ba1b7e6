-- 056: the row a live CME case deleted by hand writes is read as an event
-- about its child too.
--
-- 054 writes child.cme_case.close, with a cause ('deleted'), when a live
-- case is deleted by hand, as whoever deletes it: the CME officer's access
-- to the child ends, and the maker of the correction need not see the
-- child.  055 read a row with a cause as an event about its child (an
-- agency's auditor reads it only for a child its agency sees) for the
-- panel access rows only, so the auditor of the agency a correction named
-- read the id of a child its staff get 404 for.  The policy now passes the
-- cause of this row too.  The API's own child.cme_case.close rows (a case
-- closed by the CME officer, who sees the child) carry no cause and are
-- read as their maker's actions, as before.

set search_path = safeguard, pg_temp;

drop policy audit_read on safeguard.audit_events;
create policy audit_read on safeguard.audit_events for select to safeguard_api
	using (safeguard.audit_event_visible(actor_agency, resource_type, resource_id,
		case when action in ('child.panel_access.start', 'child.panel_access.end', 'child.cme_case.close')
		     then details ->> 'cause' end));
