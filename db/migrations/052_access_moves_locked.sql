-- 052: the changes that move a panel's or the CME officer's access to a
-- child wait for each other, so the audit rows each writes see the other.
--
-- Panel access (child_on_open_panel, 007) is an agency on a panel (a
-- membership) and an open referral of the child to it.  A membership change
-- writes child.panel_access.start/end for each child of the panel's open
-- referrals, for the agency that joined or left (050); a referral opening
-- or closing writes one row for the panel's members.  The CME officer's
-- access (cme_officer, 009) is an agency chairing a CME panel and a live
-- missing-education case: a change of the CME chairs writes rows for every
-- child with a live case (051); a case opening or closing writes its own.
-- Each computed what it wrote under READ COMMITTED, from what had committed
-- when its statement ran, so two changes made at once each missed the
-- other's: an agency joining a panel while a referral of a child to it was
-- reopened (or made by hand) gained the child with no row for it, one
-- leaving while a referral was reopened kept it with no end, one joining
-- while it was closed got a start for an access that had ended; two CME
-- chairs handed over at once each took the other's panel for unchanged, so
-- the agency that lost both kept its access in the trail, two CME panels
-- created for one agency started its access twice, and a case opened or
-- closed while the chair changed was missed, or counted after it closed.
--
-- Now the two sides of each access take one lock before they change
-- anything, in triggers, whoever writes, and hold it to commit:
-- - a panel's row: FOR UPDATE by a membership change (the insert now, as
--   the delete already did, 017), FOR SHARE by a referral that opens (017
--   already), closes, reopens, is declined or is deleted while open.  A
--   referral's moves share it with each other: only a membership change
--   waits, and makes them wait.
-- - "the CME chair set", a transaction-level advisory lock: exclusive for a
--   statement that creates, deletes, retypes or re-chairs a CME panel (the
--   row trigger, before any of the statement's audit or change-log
--   triggers run), shared by a case that opens, closes or is deleted live.
-- A lock granted after a wait is followed by the other's changes: each
-- statement of the audit triggers (050, 051) takes a new snapshot, after
-- it, and sees them.  Whichever change comes second writes its rows knowing
-- the first, as if they had been made one after the other; the first's
-- rows were right when written, as nothing the second does is committed
-- before it.
--
-- Lock order (no cycle among the writes the API makes): a referral's or a
-- case's row first (the API locks it to read its state), then a panel's
-- row, then the CME chair set.  A membership change locks only its panel;
-- a CME chair change its panel's row (the update does), then the set; a
-- case only the set.  Nothing waits for a referral or a case while holding
-- a panel's row or the set.  A transaction that takes a panel's row
-- FOR SHARE and then changes that panel's members or chair (by hand) asks
-- for a stronger lock on a row it shares, and two such at once are a
-- deadlock PostgreSQL detects and ends; the API never does.
--
-- Nothing on a read path takes either lock: who sees a child is still
-- derived from the live rows on every read, with no wait.

set search_path = safeguard, pg_temp;

-- ---- a panel's row: membership against its referrals ------------------------------

-- SECURITY DEFINER: a row lock needs UPDATE on panels, which only admins
-- have (017's reason).  A trigger function: nobody calls it directly.
create function safeguard.panel_access_lock() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_table_name = 'panel_members' then
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

-- (an agency leaving already locks the row FOR UPDATE: 017's panel_members_leave)
create trigger panel_members_join_lock before insert on safeguard.panel_members
	for each row execute function safeguard.panel_access_lock();
create trigger panel_referrals_access_moved before update of status on safeguard.panel_referrals
	for each row when ((old.status in ('submitted', 'accepted', 'reopened'))
	                   is distinct from (new.status in ('submitted', 'accepted', 'reopened')))
	execute function safeguard.panel_access_lock();
create trigger panel_referrals_open_deleted before delete on safeguard.panel_referrals
	for each row when (old.status in ('submitted', 'accepted', 'reopened'))
	execute function safeguard.panel_access_lock();

-- ---- the CME chair set: the chairs against the live cases ---------------------------

-- One key for the whole set: the CME officer is every CME panel's chair
-- agency at once, and a panel may become one.  (038's key orders the
-- cases' list; this one is another.)
create function safeguard.cme_chair_set_lock() returns trigger
language plpgsql set search_path = safeguard, pg_temp
as $$
begin
	if tg_table_name = 'panels' then
		perform pg_advisory_xact_lock(hashtext('safeguard.cme_chair_set'));
	else
		perform pg_advisory_xact_lock_shared(hashtext('safeguard.cme_chair_set'));
	end if;
	if tg_op = 'DELETE' then
		return old;
	end if;
	return new;
end
$$;

create trigger panels_cme_chair_lock_created before insert on safeguard.panels
	for each row when (new.type = 'cme') execute function safeguard.cme_chair_set_lock();
create trigger panels_cme_chair_lock_changed before update of type, chair_agency on safeguard.panels
	for each row when ((old.type = 'cme' or new.type = 'cme')
	                   and (old.type, old.chair_agency) is distinct from (new.type, new.chair_agency))
	execute function safeguard.cme_chair_set_lock();
create trigger panels_cme_chair_lock_deleted before delete on safeguard.panels
	for each row when (old.type = 'cme') execute function safeguard.cme_chair_set_lock();
-- a closed case never changes (009), so closing is the only way a case stops being live
create trigger cme_cases_chair_lock_opened before insert on safeguard.cme_cases
	for each row when (new.status <> 'closed') execute function safeguard.cme_chair_set_lock();
create trigger cme_cases_chair_lock_closed before update of status on safeguard.cme_cases
	for each row when (old.status <> 'closed' and new.status = 'closed') execute function safeguard.cme_chair_set_lock();
create trigger cme_cases_chair_lock_deleted before delete on safeguard.cme_cases
	for each row when (old.status <> 'closed') execute function safeguard.cme_chair_set_lock();
