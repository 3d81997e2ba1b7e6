-- 048: every fact a way of seeing a record depends on writes the change log
-- when it changes.
--
-- Delta sync sends a device the records changed past its cursor, filtered
-- by what the caller may see now (sync_window, 046, and the records'
-- policies).  A record that becomes visible with no new row in the log is
-- never sent to a device whose cursor is past its last row, and one that
-- stops being visible with no row gets its tombstone late or never.  018
-- logged the facts the API changed then; these did not:
--
-- 1. The CME officer (cme_officer, 009) is education's safeguarding lead or
--    a panel_chair of an agency chairing a panel of type 'cme', and sees
--    every child with a case that is not closed.  Creating or deleting a CME
--    panel, or changing a panel's chair agency (PATCH /v1/panels/{id}) or
--    type, changes which agency's chairs those are, and logged nothing: the
--    new chair's devices never got the children, the old chair's never got
--    their tombstones.  Now each such change logs every child with a live
--    case (the CME way admits children only; families and entries are not
--    seen through it), and the child's family, whose members list, for a
--    caller that sees the family another way, is the children that caller
--    may see (family_json, 002): 018's trigger on a case opened or closed
--    logged the child only, and now logs its family too.  Only when the
--    panel is a CME panel before or after and its type or chair actually
--    changed: renaming a panel, or changing a panel of another type, logs
--    nothing.
--
-- 2. Changes the API never makes, but the database allows (a correction by
--    hand, a future route), each of which moves what some agency sees:
--    a network row, a request's subject child, invitation, requester or
--    contribution, or a panel's member moved to another child, request,
--    agency or panel; a request's subject child, a request, an open panel
--    referral or a live CME case deleted; a child, family or entry deleted.
--    Each now logs the records on both sides of the move, as the insert and
--    delete triggers of 018 do for one side.  Updates fire only when the
--    columns that decide visibility change (the trigger's column list and
--    WHEN clause), so the API's own updates of these tables (an invitation
--    answered, a panel renamed) cost nothing more.  A child moved or
--    dropped from a request, or a live case deleted, logs the child's
--    family as well (its members list, as in 1).
--
-- Facts already covered (018 unless named): a network row added or ended;
-- a request opened, closed or its window moved, a subject child added, an
-- agency invited or uninvited, an entry shared or withdrawn; a referral
-- opened or its status changed, a panel member added or removed; a CME case
-- opened or its status changed; a child's family, a family's creator, an
-- entry's agency (any update of the record).  Columns the database never
-- lets change are not watched: a referral's panel, child, request and family
-- (011, 013), a request's subject family (013), a CME case's child (015).
-- A share window passing is found at sync time (sync_expired, 018).
--
-- The functions are SECURITY DEFINER, as 018's (the API role has no insert
-- on the log): trigger functions, which cannot be called directly, and two
-- helpers the API role may not call (as 039 did for 018's).

set search_path = safeguard, pg_temp;

-- A child and its family: a family is rendered with the members the caller
-- may see (family_json, 002), so a child coming into or leaving a caller's
-- view changes its family's record for that caller too.
create function safeguard.sync_log_child_and_family(p_child uuid) returns void
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	perform safeguard.sync_log('child', p_child);
	perform safeguard.sync_log('family', (select c.family_id from safeguard.children c where c.id = p_child));
end
$$;
revoke all on function safeguard.sync_log_child_and_family(uuid) from public, safeguard_api;

-- ---- 1. who the CME officer is ---------------------------------------------------

create function safeguard.sync_on_cme_chair() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	x record;
begin
	for x in select distinct c.child_id from safeguard.cme_cases c where c.status <> 'closed' loop
		perform safeguard.sync_log_child_and_family(x.child_id);
	end loop;
	return null;
end
$$;
create trigger panels_sync_cme_created after insert on safeguard.panels
	for each row when (new.type = 'cme') execute function safeguard.sync_on_cme_chair();
create trigger panels_sync_cme_deleted after delete on safeguard.panels
	for each row when (old.type = 'cme') execute function safeguard.sync_on_cme_chair();
create trigger panels_sync_cme_changed after update of type, chair_agency on safeguard.panels
	for each row when ((old.type = 'cme' or new.type = 'cme')
	                   and (old.type, old.chair_agency) is distinct from (new.type, new.chair_agency))
	execute function safeguard.sync_on_cme_chair();

-- 018's trigger for a case opened or its status changed, restated: the
-- child's family too, for the same reason.
create or replace function safeguard.sync_on_cme_case() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_op = 'INSERT' or old.status is distinct from new.status then
		perform safeguard.sync_log_child_and_family(new.child_id);
	end if;
	return null;
end
$$;

-- ---- 2. the other facts, moved or deleted -------------------------------------------

-- The child, family and shared entries an open referral to a panel shows
-- that panel's members (018's sync_on_panel, for each open referral).
create function safeguard.sync_log_panel_open(p_panel uuid) returns void
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	x record;
begin
	for x in select r.child_id, r.subject_family_id, r.chronology_request_id from safeguard.panel_referrals r
	         where r.panel_id = p_panel and r.status in ('submitted', 'accepted', 'reopened') loop
		perform safeguard.sync_log('child', x.child_id);
		perform safeguard.sync_log('family', x.subject_family_id);
		perform safeguard.sync_log_shared_entries(x.chronology_request_id);
	end loop;
end
$$;
revoke all on function safeguard.sync_log_panel_open(uuid) from public, safeguard_api;

-- One function for the moved and deleted rows of every table below: the
-- records the old row showed someone and, for an update, those the new row
-- shows.  Each trigger fires only for the change it names.
create function safeguard.sync_on_fact_moved() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	case tg_table_name
	when 'child_network' then
		perform safeguard.sync_log_child_and_family(old.child_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_child_and_family(new.child_id);
		end if;
	when 'chronology_request_children' then
		perform safeguard.sync_log_child_and_family(old.child_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_child_and_family(new.child_id);
		end if;
	when 'chronology_request_agencies' then
		perform safeguard.sync_log_request(old.request_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_request(new.request_id);
		end if;
	when 'chronology_requests' then
		-- the requester reads the entries shared into it (entries_read); a
		-- deleted request's rows are read before it goes, or are gone and
		-- were logged by their own triggers
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_request(new.id);
		else
			perform safeguard.sync_log_request(old.id);
			perform safeguard.sync_log('family', old.subject_family_id);
		end if;
	when 'chronology_contributions' then
		perform safeguard.sync_log('chronology_entry', old.entry_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log('chronology_entry', new.entry_id);
		end if;
	when 'panel_members' then
		perform safeguard.sync_log_panel_open(old.panel_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_panel_open(new.panel_id);
		end if;
	when 'panel_referrals' then -- an open referral deleted
		perform safeguard.sync_log('child', old.child_id);
		perform safeguard.sync_log('family', old.subject_family_id);
		perform safeguard.sync_log_shared_entries(old.chronology_request_id);
	when 'cme_cases' then -- a live case deleted
		perform safeguard.sync_log_child_and_family(old.child_id);
	when 'children' then
		perform safeguard.sync_log('child', old.id);
		perform safeguard.sync_log('family', old.family_id);
	when 'families' then
		perform safeguard.sync_log('family', old.id);
	when 'chronology_entries' then
		perform safeguard.sync_log('chronology_entry', old.id);
	end case;
	return null;
end
$$;

create trigger child_network_sync_moved after update of child_id, agency on safeguard.child_network
	for each row when ((old.child_id, old.agency) is distinct from (new.child_id, new.agency))
	execute function safeguard.sync_on_fact_moved();

create trigger chronology_request_children_sync_moved after update of request_id, child_id
	on safeguard.chronology_request_children
	for each row when ((old.request_id, old.child_id) is distinct from (new.request_id, new.child_id))
	execute function safeguard.sync_on_fact_moved();
create trigger chronology_request_children_sync_deleted after delete on safeguard.chronology_request_children
	for each row execute function safeguard.sync_on_fact_moved();

create trigger chronology_request_agencies_sync_moved after update of request_id, agency
	on safeguard.chronology_request_agencies
	for each row when ((old.request_id, old.agency) is distinct from (new.request_id, new.agency))
	execute function safeguard.sync_on_fact_moved();

create trigger chronology_requests_sync_requester after update of requesting_agency on safeguard.chronology_requests
	for each row when (old.requesting_agency is distinct from new.requesting_agency)
	execute function safeguard.sync_on_fact_moved();
create trigger chronology_requests_sync_deleted after delete on safeguard.chronology_requests
	for each row execute function safeguard.sync_on_fact_moved();

create trigger chronology_contributions_sync_moved after update of request_id, entry_id
	on safeguard.chronology_contributions
	for each row when ((old.request_id, old.entry_id) is distinct from (new.request_id, new.entry_id))
	execute function safeguard.sync_on_fact_moved();

create trigger panel_members_sync_moved after update of panel_id, agency on safeguard.panel_members
	for each row when ((old.panel_id, old.agency) is distinct from (new.panel_id, new.agency))
	execute function safeguard.sync_on_fact_moved();

create trigger panel_referrals_sync_deleted after delete on safeguard.panel_referrals
	for each row when (old.status in ('submitted', 'accepted', 'reopened'))
	execute function safeguard.sync_on_fact_moved();

create trigger cme_cases_sync_deleted after delete on safeguard.cme_cases
	for each row when (old.status <> 'closed') execute function safeguard.sync_on_fact_moved();

create trigger children_sync_deleted after delete on safeguard.children
	for each row execute function safeguard.sync_on_fact_moved();
create trigger families_sync_deleted after delete on safeguard.families
	for each row execute function safeguard.sync_on_fact_moved();
create trigger chronology_entries_sync_deleted after delete on safeguard.chronology_entries
	for each row execute function safeguard.sync_on_fact_moved();
