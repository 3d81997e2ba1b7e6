-- 058: every move of a referral's or a CME case's access writes its audit
-- row in the database, whoever makes it; a member moved by an update keeps
-- 017's rule; CSC's membership moves no access.
--
-- 1. One writer for the access rows of referrals and CME cases.  An agency
--    sees a child while it sits on a panel with an open referral of the
--    child (submitted, accepted, reopened: child_on_open_panel, 007), and
--    the CME officer sees a child while it has a live case (not closed:
--    cme_officer, 009).  The API wrote the rows of those moves itself
--    (kit_audit, after its statement), and 054 wrote the rows of an open
--    referral or a live case deleted by hand; a referral or a case inserted
--    by hand, or a referral's status changed by hand (closed, declined or
--    reopened) or a case closed by hand, moved the same access with no row.
--    Row triggers now write them, for every such move, and the API no
--    longer does, so the rows of the API's moves and of a hand change are
--    the same rows, written once:
--    - a referral inserted open: child.panel_access.start for its child,
--      {panel_id, referral_id}, and the CME case or screening the referral
--      names (cme_case_id, screening_id) when it names one, as the API's
--      CME resolution and screening outcome wrote them.  (The one change:
--      a referral made through the panels' route that names a screening
--      now names it in this row too; the row says what the referral says.)
--    - a referral's status moved from open to not (declined, closed) or
--      back (reopened): child.panel_access.end or .start, {panel_id,
--      referral_id}, as the API's decline, closure and reopening wrote
--      them.  Accepting moves no access and writes nothing, as before.
--    - a case inserted live: child.cme_case.notify for its child, with no
--      details, as the API's notification wrote it; a case closed:
--      child.cme_case.close, the same.  A case inserted closed writes none.
--    A referral's panel and child never change (011), nor a case's child,
--    and a closed case never changes (009, 015): those are all the moves.
--    The rows carry no cause: as the API's own, they are the maker's
--    actions on a child the maker acted on (055 reads a row with a cause,
--    written for children its maker need not see, as an event about the
--    child).  054's deletion rows keep their cause ('deleted').
--    As 050's and 054's rows, they are written as the owner under
--    audit_write_reader, as the request's identity (app.sub, app.agency,
--    app.request_id): a change made by hand with none is refused
--    ("unrecognized configuration parameter", when the transaction
--    commits); the README's "Corrections made in the database by hand"
--    says how to name one.
--    The triggers are deferred to the commit (constraint triggers,
--    initially deferred): the API wrote these rows after its own row of the
--    move (panel_referral.create, .close, cme_case.create, ...), and the
--    trail, read by time, keeps that order.  Each row is still the move's
--    (the old and new row as the statement left them), and a transaction
--    that makes two moves writes both, in order.  Until the transaction
--    commits its rows are not in the table (SET CONSTRAINTS ALL IMMEDIATE
--    writes the pending ones at once).  A referral inserted and deleted in
--    one transaction writes 054's end (at the delete) before this start.
--
--    Locks (052's order, unchanged): these triggers run after the row
--    changed and take no lock of their own.  Before it, 017's
--    panel_member_write (a referral inserted) and 052's
--    panel_referrals_access_moved (its openness changed) have already
--    shared the panel's row, and 052's cme_cases_chair_lock_opened /
--    _closed the CME chair set, so a membership change or a CME chair
--    change of the same access still waits for the move, and the move's
--    row is written (at commit) while those are held.  The order stays: a referral's
--    or a case's row, then a panel's row, then the CME chair set; nothing
--    that holds a panel's row or the set waits for a referral or a case.
--
-- 2. 017's panel_member_leave refuses an agency leaving a panel while it
--    owns open actions of it, on DELETE only: an UPDATE of panel_members
--    that changes its agency or panel (a correction by hand; 054 audits
--    it) took the actions' owner off the panel all the same.  It now runs
--    for that update too, for the membership the update ends.  It fires
--    after 054's panel_members_move_lock (triggers fire in name order),
--    which already holds both panels' rows, the lower id first; it locks
--    them again in that order (a lock held is granted at once), never the
--    old panel alone first.
--
-- 3. CSC sees every child (child_visible), so joining or leaving a panel
--    starts and ends nothing for it; 050's and 054's membership rows were
--    written for csc all the same, each a claim that access moved which did
--    not (055 stopped the same for a CME chair held by CSC).
--    panel_member_access_audit (054) leaves csc out, restated whole.

set search_path = safeguard, pg_temp;

-- ---- 1. the access rows of referrals and cases, one writer ----------------------------

-- SECURITY DEFINER: as 050's, it writes as the owner under
-- audit_write_reader, whoever makes the change.  A trigger function: nobody
-- calls it directly.
create function safeguard.access_row_moved_audit() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	open_now boolean;
begin
	-- one statement per table: each names its own table's columns
	if tg_table_name = 'panel_referrals' then
		open_now := new.status in ('submitted', 'accepted', 'reopened');
		insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type,
			resource_id, outcome, details)
		values (current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
			case when open_now then 'child.panel_access.start' else 'child.panel_access.end' end,
			'child', new.child_id::text, 'success',
			jsonb_build_object('panel_id', new.panel_id, 'referral_id', new.id)
			|| case when tg_op = 'INSERT' then jsonb_strip_nulls(jsonb_build_object(
				'cme_case_id', new.cme_case_id, 'screening_id', new.screening_id)) else '{}' end);
	else
		insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type,
			resource_id, outcome, details)
		values (current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
			case when tg_op = 'INSERT' then 'child.cme_case.notify' else 'child.cme_case.close' end,
			'child', new.child_id::text, 'success', '{}');
	end if;
	return null;
end
$$;

create constraint trigger panel_referrals_access_opened after insert on safeguard.panel_referrals
	deferrable initially deferred for each row when (new.status in ('submitted', 'accepted', 'reopened'))
	execute function safeguard.access_row_moved_audit();
create constraint trigger panel_referrals_access_audit after update of status on safeguard.panel_referrals
	deferrable initially deferred for each row when ((old.status in ('submitted', 'accepted', 'reopened'))
	                   is distinct from (new.status in ('submitted', 'accepted', 'reopened')))
	execute function safeguard.access_row_moved_audit();
create constraint trigger cme_cases_access_opened after insert on safeguard.cme_cases
	deferrable initially deferred for each row when (new.status <> 'closed')
	execute function safeguard.access_row_moved_audit();
create constraint trigger cme_cases_access_closed after update of status on safeguard.cme_cases
	deferrable initially deferred for each row when (old.status <> 'closed' and new.status = 'closed')
	execute function safeguard.access_row_moved_audit();

-- ---- 2. a member moved by an update keeps 017's rule ----------------------------------

-- 017's panel_member_leave, for an update that ends a membership too.
create or replace function safeguard.panel_member_leave() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_op = 'UPDATE' then
		-- both panels, the lower id first (054's order; already held)
		perform 1 from safeguard.panels p where p.id = least(old.panel_id, new.panel_id) for update;
		perform 1 from safeguard.panels p where p.id = greatest(old.panel_id, new.panel_id) for update;
	else
		perform 1 from safeguard.panels p where p.id = old.panel_id for update;
	end if;
	if exists (select 1 from safeguard.panel_actions a
	           where a.panel_id = old.panel_id and a.owner_agency = old.agency
	             and a.status in ('open', 'in_progress')) then
		raise exception '% still owns open actions of panel %', old.agency, old.panel_id
			using errcode = 'integrity_constraint_violation';
	end if;
	if tg_op = 'UPDATE' then
		return new;
	end if;
	return old;
end
$$;

-- after panel_members_move_lock (054) in name order
create trigger panel_members_moved_leave before update of panel_id, agency on safeguard.panel_members
	for each row when ((old.panel_id, old.agency) is distinct from (new.panel_id, new.agency))
	execute function safeguard.panel_member_leave();

-- ---- 3. CSC's membership moves no access ------------------------------------------------

-- 054's panel_member_access_audit, for every agency but csc.
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
	-- CSC sees every child (child_visible): its membership starts and ends nothing
	where m.agency <> 'csc'
	order by m.act, c.child_id;
	return null;
end
$$;
