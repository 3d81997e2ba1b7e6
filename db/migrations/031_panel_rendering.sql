-- 031: a panel's case list and an action's update, rendered in the
-- statement's own plan, and the panel's readers found once per statement.
--
-- Measured on the benchmark panel (50 referrals, one action each):
--   * panel_referral_json and panel_action_json are SQL functions that
--     cannot be inlined (their bodies have subqueries and a FROM), so each
--     statement that called them parsed and planned the body again and
--     started and ended an executor for it on every row: 74 us a referral
--     in the list, 375 us an action, three times in each PATCH.  Their
--     bodies are now set-returning SQL functions (panel_referral_doc,
--     panel_action_doc) that the planner inlines into the calling statement
--     (SQL, not SECURITY DEFINER, no SET, one SELECT): the API's prepared
--     statements and the history trigger's PL/pgSQL keep the plan for the
--     session, and each row is a rescan of index scans.  They run as the
--     caller, as before: every policy on children, events, discussions,
--     meetings and escalations applies to what they read.  The old names
--     stay, as wrappers, so that nothing holds two copies of a document.
--   * each policy of a panel's rows called panel_reader(panel_id) per row
--     (and it called panel_member_agency): 100 calls each for one page of
--     50 referrals, whose panel the route had already checked once.  The
--     policies now ask whether the row's panel is one of the panels the
--     caller reads, a set found once per statement (panel_reader_panels,
--     inlined: a hashed subplan), by the same rule as panel_reader's for
--     each row: a reader's role and the caller's agency on the panel.  Nothing is
--     weakened and nothing bypasses row-level security: the same rows pass
--     each policy as before.

set search_path = safeguard, pg_temp;

-- The panels whose cases the caller reads, as panel_reader (007) decides
-- for one panel: with a panel reader's role (app_panel_reader_role, 017),
-- those its agency sits on; none otherwise.  A plain SQL function (no
-- SECURITY DEFINER, no SET) so that the planner inlines it into each
-- policy as `panel_id in (select ...)`: a hashed subplan, run once per
-- statement, with no call of its own.  It reads panel_members as the
-- caller, which every API caller reads in full (panel_members_read, 007).
create function safeguard.panel_reader_panels() returns table (panel_id uuid)
language sql stable
as $$
	select m.panel_id from safeguard.panel_members m
	where m.agency = safeguard.app_agency() and safeguard.app_panel_reader_role()
$$;
grant execute on function safeguard.panel_reader_panels() to safeguard_api;

-- ---- the policies: panel_reader(panel_id) per row, one look per statement now ----

alter policy panel_referrals_read on safeguard.panel_referrals
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p)
	       or (referred_by = safeguard.app_sub() and referring_agency = safeguard.app_agency()));

alter policy panel_referral_events_read on safeguard.panel_referral_events
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p)
	       or (actor_sub = safeguard.app_sub() and actor_agency = safeguard.app_agency())
	       or safeguard.panel_referrer_of(referral_id));

alter policy panel_meetings_read on safeguard.panel_meetings
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));
alter policy panel_minutes_read on safeguard.panel_minutes
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));
alter policy panel_minutes_versions_read on safeguard.panel_minutes_versions
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));
alter policy panel_discussions_read on safeguard.panel_discussions
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));
alter policy panel_decisions_read on safeguard.panel_decisions
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));
alter policy panel_actions_read on safeguard.panel_actions
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));
alter policy panel_action_history_read on safeguard.panel_action_history
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));
alter policy panel_action_escalations_read on safeguard.panel_action_escalations
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p));

alter policy panel_actions_update on safeguard.panel_actions
	using (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p)
	       and (owner_agency = safeguard.app_agency() or safeguard.panel_chair_of(panel_id)))
	with check (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p)
	            and updated_by = safeguard.app_sub()
	            and safeguard.panel_has_member(panel_id, owner_agency)
	            and (safeguard.panel_chair_of(panel_id)
	                 or (safeguard.panel_action_owned(id)
	                     and safeguard.panel_action_owner_change(id, description, due_date, owner_agency, status,
	                                                             escalated))));

alter policy panel_action_escalations_raise on safeguard.panel_action_escalations
	with check (panel_id in (select p.panel_id from safeguard.panel_reader_panels() p)
	            and raised_by = safeguard.app_sub()
	            and raised_agency = safeguard.app_agency() and resolved_at is null
	            and safeguard.panel_action_owned(action_id));

-- ---- the documents -----------------------------------------------------------------

-- A referral as the API shows it (009's panel_referral_json, unchanged):
-- one row.  Call it in FROM or as (select j.doc from ... j(doc)) so that it
-- is inlined.  The child's name and date of birth come only while the
-- caller may see the child (row-level security on children); the risk
-- level and review date now are those of the latest case discussion.
create function safeguard.panel_referral_doc(r safeguard.panel_referrals) returns setof jsonb
language sql stable rows 1
as $$
	select jsonb_build_object(
		'id', r.id, 'panel_id', r.panel_id, 'child_id', r.child_id,
		'child', (select jsonb_build_object('first_name', c.first_name, 'last_name', c.last_name,
		                                    'date_of_birth', c.date_of_birth)
		          from safeguard.children c where c.id = r.child_id),
		'family_id', r.family_id, 'referring_agency', r.referring_agency, 'referred_by', r.referred_by,
		'reason', r.reason, 'risk_level', r.risk_level,
		'current_risk_level', coalesce(d.risk_level, r.risk_level), 'next_review_date', d.next_review_date,
		'criteria', r.criteria, 'chronology_request_id', r.chronology_request_id, 'screening_id', r.screening_id,
		'cme_case_id', r.cme_case_id,
		'status', r.status, 'open', r.status in ('submitted', 'accepted', 'reopened'),
		'decline_reason', case when r.status = 'declined' then r.status_reason end,
		'closure_reason', r.closure_reason,
		'history', coalesce((select jsonb_agg(jsonb_build_object(
			'status', e.status, 'reason', e.reason, 'closure_reason', e.closure_reason, 'by', e.actor_sub,
			'agency', e.actor_agency, 'at', safeguard.panel_instant(e.occurred_at)) order by e.version)
			from safeguard.panel_referral_events e where e.referral_id = r.id), '[]'::jsonb),
		'version', r.version, 'created_at', safeguard.panel_instant(r.created_at),
		'updated_at', safeguard.panel_instant(r.updated_at))
	from (values (1)) one
	left join lateral (select d.risk_level, d.next_review_date
	                   from safeguard.panel_discussions d join safeguard.panel_meetings m on m.id = d.meeting_id
	                   where d.referral_id = r.id
	                   order by m.held_at desc, d.created_at desc limit 1) d on true
$$;
grant execute on function safeguard.panel_referral_doc(safeguard.panel_referrals) to safeguard_api;

create or replace function safeguard.panel_referral_json(r safeguard.panel_referrals) returns jsonb
language sql stable
as $$ select j.doc from safeguard.panel_referral_doc(r) j(doc) $$;

-- An action as the API shows it (007's panel_action_json, unchanged): one
-- row, to be inlined as panel_referral_doc is.
create function safeguard.panel_action_doc(a safeguard.panel_actions) returns setof jsonb
language sql stable rows 1
as $$
	select jsonb_build_object(
		'id', a.id, 'panel_id', a.panel_id, 'referral_id', a.referral_id,
		'child_id', (select r.child_id from safeguard.panel_referrals r where r.id = a.referral_id),
		'meeting_id', a.meeting_id, 'description', a.description, 'owner_agency', a.owner_agency,
		'owner_name', a.owner_name, 'due_date', a.due_date, 'status', a.status,
		'overdue', safeguard.panel_action_overdue(a.due_date, a.status), 'progress_note', a.progress_note,
		'escalated', a.escalated,
		'escalations', coalesce((select jsonb_agg(jsonb_build_object(
			'id', e.id, 'reason', e.reason, 'raised_by', e.raised_by, 'raised_agency', e.raised_agency,
			'raised_at', safeguard.panel_instant(e.raised_at), 'resolution', e.resolution,
			'resolved_by', e.resolved_by, 'resolved_at', safeguard.panel_instant(e.resolved_at))
			order by e.raised_at, e.id)
			from safeguard.panel_action_escalations e where e.action_id = a.id), '[]'::jsonb),
		'version', a.version, 'created_by', a.created_by, 'created_at', safeguard.panel_instant(a.created_at),
		'updated_by', a.updated_by, 'updated_at', safeguard.panel_instant(a.updated_at))
$$;
grant execute on function safeguard.panel_action_doc(safeguard.panel_actions) to safeguard_api;

create or replace function safeguard.panel_action_json(a safeguard.panel_actions) returns jsonb
language sql stable
as $$ select j.doc from safeguard.panel_action_doc(a) j(doc) $$;

-- 007's history trigger, with the snapshot from the inlined document: the
-- plan is kept for the session, not made again for every write.
create or replace function safeguard.panel_action_record() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.panel_action_history (action_id, version, panel_id, change, snapshot, changed_by,
		changed_agency)
	select new.id, new.version, new.panel_id,
	       case when tg_op = 'INSERT' then 'created'
	            when new.escalated and not old.escalated then 'escalated'
	            when old.escalated and not new.escalated then 'resolved'
	            else 'updated' end,
	       j.doc - 'overdue',
	       coalesce(safeguard.app_sub(), 'system'), coalesce(safeguard.app_agency(), 'partnership')
	from safeguard.panel_action_doc(new) j(doc);
	return new;
end
$$;
