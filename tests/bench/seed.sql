-- Benchmark data, generated in the database (run as the owner, so no
-- row-level security applies while loading):
--   * a family of 4 children in the network of 6 agencies, with 2,000
--     chronology entries from those agencies, all shared into one chronology
--     request (the consolidated timeline);
--   * one child with 100 police entries (a child's chronology);
--   * 300 children created by police (lists, get-by-id);
--   * a panel with 50 of them referred and an action each (case list, action update).
-- Fixed ids so the benchmark knows where to look.
\set family '''00000000-0000-4000-8000-0000000b0f01'''
\set request '''00000000-0000-4000-8000-0000000b0a01'''
\set solo '''00000000-0000-4000-8000-0000000b0c99'''

insert into safeguard.families (id, name, created_by_agency) values (:family, 'Bench family', 'csc');

insert into safeguard.children (id, first_name, last_name, date_of_birth, family_id, family_relationship, created_by_agency)
select ('00000000-0000-4000-8000-0000000b0c0' || i)::uuid, 'Sibling' || i, 'Bench', date '2010-01-01' + i * 400,
       :family, 'sibling', 'csc'
from generate_series(1, 4) i;

insert into safeguard.child_network (child_id, agency, how, reason, joined_by)
select ('00000000-0000-4000-8000-0000000b0c0' || i)::uuid, a, case when a = 'csc' then 'created' else 'declared' end,
       'bench', 'bench'
from generate_series(1, 4) i,
     unnest(array['csc', 'police', 'health', 'education', 'youth_justice', 'mental_health']) a;

insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, event_date, date_precision, category,
	summary, impact, significance, action_taken, source)
select ('00000000-0000-4000-8001-' || lpad(to_hex(i), 12, '0'))::uuid,
       (array['csc', 'police', 'health', 'education', 'youth_justice', 'mental_health'])[1 + i % 6], 'bench', 'bench',
       date '2021-01-01' + (i * 7919) % 1400, 'day',
       (array['missing_episode', 'home_visit', 'injury', 'school_exclusion', 'referral', 'arrest'])[1 + (i / 7) % 6],
       'benchmark entry ' || i, 'negative', 'medium', 'recorded', 'bench'
from generate_series(1, 2000) i;

insert into safeguard.chronology_entry_children (entry_id, child_id)
select ('00000000-0000-4000-8001-' || lpad(to_hex(i), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-0000000b0c0' || (1 + i % 4))::uuid
from generate_series(1, 2000) i;
-- every tenth entry is about two siblings at once
insert into safeguard.chronology_entry_children (entry_id, child_id)
select ('00000000-0000-4000-8001-' || lpad(to_hex(i), 12, '0'))::uuid,
       ('00000000-0000-4000-8000-0000000b0c0' || (1 + (i + 1) % 4))::uuid
from generate_series(10, 2000, 10) i;

insert into safeguard.chronology_requests (id, requesting_agency, requested_by, family_id, purpose, lawful_basis,
	period_from, period_to, respond_by, share_until)
values (:request, 'csc', 'bench', :family, 'benchmark', 'children_act_1989_s47', '2020-01-01', '2026-12-31',
	current_date + 30, now() + interval '30 days');
insert into safeguard.chronology_request_children (request_id, child_id)
select :request, ('00000000-0000-4000-8000-0000000b0c0' || i)::uuid from generate_series(1, 4) i;
insert into safeguard.chronology_request_agencies (request_id, agency, status, submitted_at, submitted_by)
select :request, a, 'submitted', now(), 'bench'
from unnest(array['police', 'health', 'education', 'youth_justice', 'mental_health']) a;
insert into safeguard.chronology_contributions (request_id, agency, entry_id)
select :request, e.agency, e.id from safeguard.chronology_entries e where e.author_sub = 'bench';

update safeguard.chronology_entries e set doc = safeguard.entry_json(e)::text where e.author_sub = 'bench';

-- one child with 100 police entries
insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
values (:solo, 'Solo', 'Bench', '2012-05-05', 'police');
insert into safeguard.child_network (child_id, agency, how, joined_by) values (:solo, 'police', 'created', 'bench');
insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, event_date, date_precision, category,
	summary, impact, significance, action_taken)
select ('00000000-0000-4000-8002-' || lpad(to_hex(i), 12, '0'))::uuid, 'police', 'bench', 'bench',
       date '2024-01-01' + i * 3, 'day', 'home_visit', 'visit ' || i, 'neutral', 'low', 'recorded'
from generate_series(1, 100) i;
insert into safeguard.chronology_entry_children (entry_id, child_id)
select ('00000000-0000-4000-8002-' || lpad(to_hex(i), 12, '0'))::uuid, :solo from generate_series(1, 100) i;

update safeguard.chronology_entries e set doc = safeguard.entry_json(e)::text where e.doc is null;

-- 300 children in police's network
insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
select ('00000000-0000-4000-8003-' || lpad(to_hex(i), 12, '0'))::uuid, 'Child' || i, 'Bench',
       date '2009-01-01' + i * 11, 'police'
from generate_series(1, 300) i;
insert into safeguard.child_network (child_id, agency, how, joined_by)
select ('00000000-0000-4000-8003-' || lpad(to_hex(i), 12, '0'))::uuid, 'police', 'created', 'bench'
from generate_series(1, 300) i;
-- a joint panel with 50 of those children referred (accepted) and an action
-- each, owned by police (a panel's case list; an action update)
insert into safeguard.panels (id, type, name, chair_agency, created_by)
values ('00000000-0000-4000-8000-0000000b0b01', 'joint_police_yj', 'Bench panel', 'police', 'bench');
insert into safeguard.panel_members (panel_id, agency)
select '00000000-0000-4000-8000-0000000b0b01', a from unnest(array['police', 'youth_justice', 'csc']) a;
-- (an open referral writes its panel-access row as the loading identity, 058)
select set_config('app.sub', 'bench', false), set_config('app.agency', 'partnership', false),
       set_config('app.request_id', 'bench-seed', false);
insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason, risk_level,
	criteria, status, updated_by)
select ('00000000-0000-4000-8004-' || lpad(to_hex(i), 12, '0'))::uuid, '00000000-0000-4000-8000-0000000b0b01',
       ('00000000-0000-4000-8003-' || lpad(to_hex(i), 12, '0'))::uuid, 'police', 'bench', 'bench referral ' || i,
       (array['low', 'medium', 'high'])[1 + i % 3], '{"offending_risk": true, "safeguarding_concern": true}',
       'accepted', 'bench'
from generate_series(101, 150) i;
insert into safeguard.panel_actions (id, panel_id, referral_id, description, owner_agency, due_date, created_by, updated_by)
select ('00000000-0000-4000-8005-' || lpad(to_hex(i), 12, '0'))::uuid, '00000000-0000-4000-8000-0000000b0b01',
       ('00000000-0000-4000-8004-' || lpad(to_hex(i), 12, '0'))::uuid, 'bench action ' || i, 'police',
       current_date + i % 20, 'bench', 'bench'
from generate_series(101, 150) i;
analyze safeguard.panels, safeguard.panel_members, safeguard.panel_referrals, safeguard.panel_actions;
analyze safeguard.children, safeguard.child_network, safeguard.families, safeguard.chronology_entries,
	safeguard.chronology_entry_children, safeguard.chronology_contributions, safeguard.chronology_requests;
