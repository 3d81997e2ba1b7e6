-- 054: the corrections by hand that move a child's panel or CME-officer
-- access leave their audit rows too.
--
-- The API writes child.panel_access.start/end when a referral opens or
-- closes, and child.cme_case.close when a missing-education case closes;
-- a membership change (050) and a CME chair change (051) write their own
-- rows in the database, whoever makes them, as the request's identity, and
-- take 052's locks first.  Three changes the API never makes, but an
-- administrator may make in the database, moved the same access with no
-- row at all:
--
-- 1. An UPDATE of panel_members that changes panel_id or agency: the old
--    agency stops seeing the children of the old panel's open referrals
--    and the new one starts seeing those of the new panel's (050 audited
--    insert and delete only, and 052 locked neither panel).  It now writes
--    050's rows, the ends of the old membership then the starts of the
--    new (cause 'membership'), and before the change locks both panels'
--    rows FOR UPDATE, the lower id first, so that two such changes at once
--    wait for each other instead of deadlocking (a statement that moves
--    several members locks each row's pair in turn, as any multi-row
--    statement locks its rows).  052's lock order holds: a membership
--    change locks panels' rows only, and nothing that holds a panel's row
--    waits for a referral or a case.
-- 2. A DELETE of an open referral (submitted, accepted, reopened) ends the
--    panel members' access to its child as a closure does: one
--    child.panel_access.end row for the child, the referral's details as
--    the API writes them and the cause, {panel_id, referral_id, cause:
--    'deleted'}.  052's trigger already shares the panel's row first.
-- 3. A DELETE of a live CME case (not closed) ends the CME officer's access
--    to its child as a closure does: the row the API writes when a case
--    closes (child.cme_case.close for the child), with {cme_case_id, cause:
--    'deleted'} (the case is gone, so the row names it).  052's trigger
--    already shares the CME chair set first.
--
-- As 050's and 051's rows, they are written as the owner under
-- audit_write_reader, as the request's identity (app.sub, app.agency,
-- app.request_id): a change made with none is refused ("unrecognized
-- configuration parameter"), and one made with an identity left empty by
-- an earlier transaction of the session is refused by that policy.  The
-- README's "Corrections made in the database by hand" says how to name
-- one.  A membership move of panels with no open referral writes nothing,
-- and so, as 050's insert and delete, needs no identity.

set search_path = safeguard, pg_temp;

-- ---- 1. a membership moved by an update ---------------------------------------------

-- 052's panel_access_lock, with a membership update locking both panels.
-- SECURITY DEFINER: a row lock needs UPDATE on panels, which only admins
-- have (017's reason).  A trigger function: nobody calls it directly.
create or replace function safeguard.panel_access_lock() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_table_name = 'panel_members' and tg_op = 'UPDATE' then
		-- the panel it leaves and the one it joins, the lower id first, so
		-- that two moves between the same panels queue instead of each
		-- holding the row the other waits for
		perform 1 from safeguard.panels p where p.id = least(old.panel_id, new.panel_id) for update;
		perform 1 from safeguard.panels p where p.id = greatest(old.panel_id, new.panel_id) for update;
	elsif tg_table_name = 'panel_members' then
		-- a panel created in the same statement is not found: nobody else
		-- sees it before it commits
		perform 1 from safeguard.panels p where p.id = new.panel_id for update;
	elsif tg_op = 'DELETE' then
		perform 1 from safeguard.panels p where p.id = old.panel_id for share;
	else
		perform 1 from safeguard.panels p where p.id = new.panel_id for share;
	end if;
	if tg_op = 'DELETE' then
		return old;
	end if;
	return new;
end
$$;

create trigger panel_members_move_lock before update of panel_id, agency on safeguard.panel_members
	for each row when ((old.panel_id, old.agency) is distinct from (new.panel_id, new.agency))
	execute function safeguard.panel_access_lock();

-- 050's panel_member_access_audit, with an update: the old membership's
-- ends, then the new one's starts, each for the children of its panel's
-- open referrals, in 050's shape.
create or replace function safeguard.panel_member_access_audit() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome, details)
	select current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
		'child.panel_access.' || m.act, 'child', c.child_id::text, 'success',
		jsonb_build_object('panel_id', m.panel_id, 'agency', m.agency, 'cause', 'membership')
	from (select 'end' as act, old.panel_id, old.agency where tg_op in ('DELETE', 'UPDATE')
	      union all
	      select 'start', new.panel_id, new.agency where tg_op in ('INSERT', 'UPDATE')) m
	cross join lateral (select distinct r.child_id from safeguard.panel_referrals r
	                    where r.panel_id = m.panel_id and r.status in ('submitted', 'accepted', 'reopened')) c
	order by m.act, c.child_id;
	return null;
end
$$;

create trigger panel_members_access_moved after update of panel_id, agency on safeguard.panel_members
	for each row when ((old.panel_id, old.agency) is distinct from (new.panel_id, new.agency))
	execute function safeguard.panel_member_access_audit();

-- ---- 2. and 3. an open referral or a live case deleted ------------------------------

-- The end of the access the deleted row gave, as its closure's row.
-- SECURITY DEFINER: as 050's, it writes as the owner under
-- audit_write_reader, whoever deletes.  A trigger function: nobody calls it
-- directly.
create function safeguard.access_row_deleted_audit() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	-- one statement per table: each names its own table's columns
	if tg_table_name = 'panel_referrals' then
		insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type,
			resource_id, outcome, details)
		values (current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
			'child.panel_access.end', 'child', old.child_id::text, 'success',
			jsonb_build_object('panel_id', old.panel_id, 'referral_id', old.id, 'cause', 'deleted'));
	else
		insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type,
			resource_id, outcome, details)
		values (current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
			'child.cme_case.close', 'child', old.child_id::text, 'success',
			jsonb_build_object('cme_case_id', old.id, 'cause', 'deleted'));
	end if;
	return null;
end
$$;

create trigger panel_referrals_access_deleted after delete on safeguard.panel_referrals
	for each row when (old.status in ('submitted', 'accepted', 'reopened'))
	execute function safeguard.access_row_deleted_audit();
create trigger cme_cases_access_deleted after delete on safeguard.cme_cases
	for each row when (old.status <> 'closed')
	execute function safeguard.access_row_deleted_audit();
