-- Demo data for `make run`: one panel of each type the partnership runs
-- (issue 10), with referrals of the demo children from 001_demo.sql, a held
-- meeting with its discussion, decision and minutes, and actions (one of
-- them overdue, so that `GET /v1/panel-actions?owner_agency=mine&overdue=true`
-- has something to show).  Loaded after 001 (files run in name order), once
-- per database: rows are keyed by fixed ids.  History rows are written by
-- the triggers, as the demo user, and so are the access rows a panel's
-- members and a CME panel's chair write (050, 051), which need a request id.

select set_config('app.sub', 'demo', true), set_config('app.agency', 'partnership', true),
       set_config('app.request_id', 'demo-data', true);

insert into safeguard.panels (id, type, name, area, chair_agency, created_by) values
	('00000000-0000-4000-8000-0000000a0001', 'cme', 'Children Missing Education panel', null, 'education', 'demo'),
	('00000000-0000-4000-8000-0000000a0002', 'missing_exploited', 'North missing and exploited panel', 'North', 'police', 'demo'),
	('00000000-0000-4000-8000-0000000a0003', 'joint_police_yj', 'Joint police and youth justice panel', null, 'police', 'demo'),
	('00000000-0000-4000-8000-0000000a0004', 'risk_meeting', 'Operational multi-agency risk meeting', null, 'police', 'demo')
on conflict (id) do nothing;

insert into safeguard.panel_members (panel_id, agency)
select p::uuid, a from (values
	('00000000-0000-4000-8000-0000000a0001', array['education', 'csc', 'health', 'district']),
	('00000000-0000-4000-8000-0000000a0002', array['police', 'csc', 'health', 'education', 'youth_justice', 'district', 'voluntary']),
	('00000000-0000-4000-8000-0000000a0003', array['police', 'youth_justice', 'csc']),
	('00000000-0000-4000-8000-0000000a0004', array['police', 'csc', 'health', 'mental_health', 'education'])
) m(p, agencies), unnest(agencies) a
on conflict do nothing;

-- Grace (missing education) to the CME panel; Jacob to the joint panel;
-- Lena to the North panel.
insert into safeguard.panel_referrals (id, panel_id, child_id, family_id, referring_agency, referred_by, reason,
	risk_level, criteria, status, updated_by) values
	('00000000-0000-4000-8000-0000000a0101', '00000000-0000-4000-8000-0000000a0001', '00000000-0000-4000-8000-00000000c004',
	 '00000000-0000-4000-8000-00000000f002', 'csc', 'demo', 'Not on any school roll since February; family not engaging.',
	 'medium', '{"missing_education": true}', 'submitted', 'demo'),
	('00000000-0000-4000-8000-0000000a0102', '00000000-0000-4000-8000-0000000a0003', '00000000-0000-4000-8000-00000000c001',
	 '00000000-0000-4000-8000-00000000f001', 'csc', 'demo', 'Arrested with older peers; three missing episodes this month.',
	 'high', '{"offending_risk": true, "safeguarding_concern": true, "exploitation_risk": true}', 'submitted', 'demo'),
	('00000000-0000-4000-8000-0000000a0103', '00000000-0000-4000-8000-0000000a0002', '00000000-0000-4000-8000-00000000c005',
	 null, 'police', 'demo', 'Seen repeatedly at an address of concern in the north of the city.',
	 'medium', '{"exploitation_risk": true}', 'submitted', 'demo')
on conflict (id) do nothing;

-- The joint panel accepted Jacob's referral (a transition: the trigger records it).
update safeguard.panel_referrals set status = 'accepted', version = 2, updated_by = 'demo'
where id = '00000000-0000-4000-8000-0000000a0102' and status = 'submitted';

insert into safeguard.panel_meetings (id, panel_id, kind, scheduled_at, location, agenda, status, held_at, attended_by,
	created_by, updated_by) values
	('00000000-0000-4000-8000-0000000a0201', '00000000-0000-4000-8000-0000000a0003', 'formal', now() - interval '7 days',
	 'Civic Centre, room 2', '{00000000-0000-4000-8000-0000000a0102}', 'held', now() - interval '7 days',
	 '{police,youth_justice,csc}', 'demo', 'demo'),
	('00000000-0000-4000-8000-0000000a0202', '00000000-0000-4000-8000-0000000a0001', 'officer', now() + interval '3 days',
	 null, '{00000000-0000-4000-8000-0000000a0101}', 'scheduled', null, '{}', 'demo', 'demo')
on conflict (id) do nothing;

insert into safeguard.panel_minutes (meeting_id, panel_id, text, updated_by) values
	('00000000-0000-4000-8000-0000000a0201', '00000000-0000-4000-8000-0000000a0003',
	 'Present: police (chair), youth justice, CSC. Jacob C.: disruption plan agreed.', 'demo')
on conflict do nothing;

insert into safeguard.panel_discussions (id, meeting_id, referral_id, panel_id, summary, risk_level, next_review_date,
	recorded_by, recorded_agency) values
	('00000000-0000-4000-8000-0000000a0301', '00000000-0000-4000-8000-0000000a0201', '00000000-0000-4000-8000-0000000a0102',
	 '00000000-0000-4000-8000-0000000a0003', 'Engaging with the YOT worker; one missing episode since referral.', 'high',
	 current_date + 7, 'demo', 'youth_justice')
on conflict do nothing;

insert into safeguard.panel_decisions (id, panel_id, meeting_id, referral_id, text, recorded_by, recorded_agency) values
	('00000000-0000-4000-8000-0000000a0401', '00000000-0000-4000-8000-0000000a0003', '00000000-0000-4000-8000-0000000a0201',
	 '00000000-0000-4000-8000-0000000a0102', 'NRM referral and a disruption plan for the address of concern.', 'demo', 'police')
on conflict do nothing;

insert into safeguard.panel_actions (id, panel_id, referral_id, meeting_id, description, owner_agency, owner_name,
	due_date, status, created_by, updated_by) values
	('00000000-0000-4000-8000-0000000a0501', '00000000-0000-4000-8000-0000000a0003', '00000000-0000-4000-8000-0000000a0102',
	 '00000000-0000-4000-8000-0000000a0201', 'Submit the NRM referral.', 'csc', 'Duty social worker',
	 current_date - 2, 'in_progress', 'demo', 'demo'),
	('00000000-0000-4000-8000-0000000a0502', '00000000-0000-4000-8000-0000000a0003', '00000000-0000-4000-8000-0000000a0102',
	 '00000000-0000-4000-8000-0000000a0201', 'Return interview after the next missing episode.', 'youth_justice', null,
	 current_date + 14, 'open', 'demo', 'demo'),
	('00000000-0000-4000-8000-0000000a0503', '00000000-0000-4000-8000-0000000a0002', null, null,
	 'Visit the address of concern with housing; report on the occupants.', 'district', null,
	 current_date + 10, 'open', 'demo', 'demo')
on conflict do nothing;
