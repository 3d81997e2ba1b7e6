-- 011_panels_integrity: row-level security on the panels (007) says on its
-- own what the API checks, so that the database's API role cannot do more
-- than the API would, whatever the C does.  Found by attacking the panels
-- with psql as safeguard_api and another agency's app.* settings:
--
-- * A record's panel_id is copied onto discussions, decisions, minutes,
--   actions and escalations, and the policies judge the row by that copy.
--   Nothing tied the copy to the meeting, referral, action or decision the
--   row names, so a reader of panel A could raise an escalation on panel
--   B's action (blocking B's owner, whose own escalation then broke on the
--   unique index), a member of A could record a discussion of B's referral
--   at B's meeting (so B could no longer record its own), a chair of A could
--   record decisions at B's meetings and set A's actions on B's referrals.
--   Now each reference carries the panel with it (composite foreign keys).
-- * Updates could change any column: a chair could point an open referral
--   at any child in the database (child_on_open_panel then showed that
--   child to every member agency), move a referral, meeting or minutes to
--   another panel, put another panel's referrals on an agenda; an action's
--   owner agency could rewrite the description, due date and owner, cancel
--   it or clear an escalation the chair had not resolved.  Now the columns
--   that say what a record is never change, and the owner's policy allows
--   only the owner's changes.
-- * A referral was made by anyone who could see the child, so an agency
--   that saw the child only through another panel's open referral (or a
--   live chronology request) could refer it on: a lasting route for itself
--   and every agency of the new panel.  Now the referrer's agency is in the
--   child's network (or is CSC), as issue 10 says.
-- * The referrer read its referral by its sub alone, from any agency.
--   Now by its sub and the agency it referred for, with the referral's
--   history, so it learns the outcome (the API's referrer read-back).
--
-- Tables, columns and data are unchanged; constraints, triggers and
-- policies are added or replaced.

-- ---- every reference carries its panel -------------------------------------------

alter table safeguard.panel_referrals add constraint panel_referrals_id_panel unique (id, panel_id);
alter table safeguard.panel_meetings add constraint panel_meetings_id_panel unique (id, panel_id);
alter table safeguard.panel_decisions add constraint panel_decisions_id_panel unique (id, panel_id);
alter table safeguard.panel_actions add constraint panel_actions_id_panel unique (id, panel_id);

alter table safeguard.panel_minutes add constraint panel_minutes_meeting_panel
	foreign key (meeting_id, panel_id) references safeguard.panel_meetings (id, panel_id);
alter table safeguard.panel_discussions add constraint panel_discussions_meeting_panel
	foreign key (meeting_id, panel_id) references safeguard.panel_meetings (id, panel_id);
alter table safeguard.panel_discussions add constraint panel_discussions_referral_panel
	foreign key (referral_id, panel_id) references safeguard.panel_referrals (id, panel_id);
alter table safeguard.panel_decisions add constraint panel_decisions_meeting_panel
	foreign key (meeting_id, panel_id) references safeguard.panel_meetings (id, panel_id);
alter table safeguard.panel_decisions add constraint panel_decisions_referral_panel
	foreign key (referral_id, panel_id) references safeguard.panel_referrals (id, panel_id);
alter table safeguard.panel_decisions add constraint panel_decisions_supersedes_panel
	foreign key (supersedes, panel_id) references safeguard.panel_decisions (id, panel_id);
alter table safeguard.panel_actions add constraint panel_actions_referral_panel
	foreign key (referral_id, panel_id) references safeguard.panel_referrals (id, panel_id);
alter table safeguard.panel_actions add constraint panel_actions_meeting_panel
	foreign key (meeting_id, panel_id) references safeguard.panel_meetings (id, panel_id);
alter table safeguard.panel_action_escalations add constraint panel_action_escalations_action_panel
	foreign key (action_id, panel_id) references safeguard.panel_actions (id, panel_id);

-- ---- what a record is never changes ------------------------------------------------

-- The trigger's arguments name the columns no update may change, whoever
-- makes it (a fix by hand is a new record, as for decisions).
create function safeguard.panel_fixed_columns() returns trigger language plpgsql
as $$
declare
	was jsonb := to_jsonb(old);
	now_ jsonb := to_jsonb(new);
	col text;
begin
	foreach col in array tg_argv loop
		if was -> col is distinct from now_ -> col then
			raise exception '%.% is never changed', tg_table_name, col
				using errcode = 'integrity_constraint_violation';
		end if;
	end loop;
	return new;
end
$$;

create trigger panel_referrals_fixed before update on safeguard.panel_referrals for each row
	execute function safeguard.panel_fixed_columns('id', 'panel_id', 'child_id', 'family_id', 'referring_agency',
		'referred_by', 'reason', 'risk_level', 'criteria', 'chronology_request_id', 'screening_id', 'created_at');
create trigger panel_meetings_fixed before update on safeguard.panel_meetings for each row
	execute function safeguard.panel_fixed_columns('id', 'panel_id', 'created_by', 'created_at');
create trigger panel_minutes_fixed before update on safeguard.panel_minutes for each row
	execute function safeguard.panel_fixed_columns('meeting_id', 'panel_id');
create trigger panel_actions_fixed before update on safeguard.panel_actions for each row
	execute function safeguard.panel_fixed_columns('id', 'panel_id', 'referral_id', 'meeting_id', 'created_by',
		'created_at');
create trigger panel_action_escalations_fixed before update on safeguard.panel_action_escalations for each row
	execute function safeguard.panel_fixed_columns('id', 'action_id', 'panel_id', 'reason', 'raised_by',
		'raised_agency', 'raised_at');

-- ---- who does what, in the policies -------------------------------------------------

-- Every item of an agenda is a referral of the meeting's panel (the API
-- also wants it open when it is put on).
create function safeguard.panel_agenda_of(panel uuid, agenda uuid[]) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return not exists (select 1 from unnest(agenda) a(id)
	                   where not exists (select 1 from safeguard.panel_referrals r
	                                     where r.id = a.id and r.panel_id = panel));
end
$$;

-- The referral is on the meeting's agenda.
create function safeguard.panel_on_agenda(meeting uuid, referral uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_meetings m where m.id = meeting and referral = any (m.agenda));
end
$$;

-- The agency sits on the panel.
create function safeguard.panel_has_member(panel uuid, agency text) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_members m where m.panel_id = panel and m.agency = panel_has_member.agency);
end
$$;

-- The caller's agency owns the action (as it is stored).
create function safeguard.panel_action_owned(action uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_actions a where a.id = action and a.owner_agency = safeguard.app_agency());
end
$$;

-- An owner's change of a live action, judged against the action as it was
-- before the statement (a stable function sees the statement's snapshot):
-- what the chair sets (description, due date, owner) unchanged, not
-- cancelled (the chair cancels), an open escalation not cleared (the chair
-- resolves it), and the action still open or in progress.
create function safeguard.panel_action_owner_change(action uuid, description text, due date, owner text,
	status text, escalated boolean) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_actions a
	               where a.id = action and a.status in ('open', 'in_progress')
	                 and a.description = panel_action_owner_change.description and a.due_date = due
	                 and a.owner_agency = owner and panel_action_owner_change.status <> 'cancelled'
	                 and (panel_action_owner_change.escalated or not a.escalated));
end
$$;

-- The caller made the referral, for the agency it made it for.
create function safeguard.panel_referrer_of(referral uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_referrals r
	               where r.id = referral and r.referred_by = safeguard.app_sub()
	                 and r.referring_agency = safeguard.app_agency());
end
$$;

-- The children of a panel's open referrals, for the admin who changes its
-- membership: each agency that joins or leaves starts or ends its access
-- to them, and that is audited (admins do not read the cases themselves).
create function safeguard.panel_open_children(panel uuid) returns uuid[]
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if not safeguard.app_has_role('admin') then
		return '{}';
	end if;
	return coalesce((select array_agg(distinct r.child_id order by r.child_id)
	                 from safeguard.panel_referrals r
	                 where r.panel_id = panel and r.status in ('submitted', 'accepted', 'reopened')), '{}');
end
$$;

alter policy panel_referrals_read on safeguard.panel_referrals
	using (safeguard.panel_reader(panel_id)
	       or (referred_by = safeguard.app_sub() and referring_agency = safeguard.app_agency()));
alter policy panel_referrals_create on safeguard.panel_referrals
	with check (referring_agency = safeguard.app_agency() and referred_by = safeguard.app_sub()
	            and status = 'submitted' and safeguard.panel_may_refer(panel_id)
	            and (safeguard.app_agency() = 'csc' or safeguard.child_in_network(child_id)));

alter policy panel_referral_events_read on safeguard.panel_referral_events
	using (safeguard.panel_reader(panel_id)
	       or (actor_sub = safeguard.app_sub() and actor_agency = safeguard.app_agency())
	       or safeguard.panel_referrer_of(referral_id));

alter policy panel_meetings_create on safeguard.panel_meetings
	with check (safeguard.panel_chair_of(panel_id) and safeguard.panel_agenda_of(panel_id, agenda));
alter policy panel_meetings_update on safeguard.panel_meetings
	using (safeguard.panel_chair_of(panel_id))
	with check (safeguard.panel_chair_of(panel_id) and safeguard.panel_agenda_of(panel_id, agenda));

alter policy panel_minutes_write on safeguard.panel_minutes
	using (status = 'draft' and safeguard.panel_recorder(panel_id))
	with check (safeguard.panel_recorder(panel_id) and updated_by = safeguard.app_sub()
	            and (status = 'draft' or (safeguard.panel_chair_of(panel_id) and approved_by = safeguard.app_sub())));

alter policy panel_discussions_create on safeguard.panel_discussions
	with check (safeguard.panel_recorder(panel_id) and recorded_by = safeguard.app_sub()
	            and recorded_agency = safeguard.app_agency() and safeguard.panel_on_agenda(meeting_id, referral_id));

alter policy panel_decisions_create on safeguard.panel_decisions
	with check (safeguard.panel_chair_of(panel_id) and recorded_by = safeguard.app_sub()
	            and recorded_agency = safeguard.app_agency());

alter policy panel_actions_create on safeguard.panel_actions
	with check (safeguard.panel_chair_of(panel_id) and created_by = safeguard.app_sub()
	            and updated_by = safeguard.app_sub() and status = 'open' and not escalated
	            and safeguard.panel_has_member(panel_id, owner_agency));
alter policy panel_actions_update on safeguard.panel_actions
	using (safeguard.panel_reader(panel_id)
	       and (owner_agency = safeguard.app_agency() or safeguard.panel_chair_of(panel_id)))
	with check (safeguard.panel_reader(panel_id) and updated_by = safeguard.app_sub()
	            and safeguard.panel_has_member(panel_id, owner_agency)
	            and (safeguard.panel_chair_of(panel_id)
	                 or (safeguard.panel_action_owned(id)
	                     and safeguard.panel_action_owner_change(id, description, due_date, owner_agency, status,
	                                                             escalated))));

-- the owner agency escalates its own action; the chair resolves
alter policy panel_action_escalations_raise on safeguard.panel_action_escalations
	with check (safeguard.panel_reader(panel_id) and raised_by = safeguard.app_sub()
	            and raised_agency = safeguard.app_agency() and resolved_at is null
	            and safeguard.panel_action_owned(action_id));
alter policy panel_action_escalations_resolve on safeguard.panel_action_escalations
	using (safeguard.panel_chair_of(panel_id))
	with check (safeguard.panel_chair_of(panel_id) and resolved_by = safeguard.app_sub());
