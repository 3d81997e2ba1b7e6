-- Demo data for `make run` (issue 12): this academic year's school calendar
-- for England (2026-27: terms, half terms and bank holidays, and the summer
-- holiday before it), missing-education cases for two demo children from
-- 001_demo.sql, so that the CME officer's list
-- (GET /v1/cme-cases?status=open, as education safeguarding_lead) has
-- something to show, and one SAMPLE screening tool for trying the API.  The
-- sample tool is not the partnership's form: the partnership publishes its
-- own.  Loaded once per database: rows are keyed by fixed ids.

-- ---- the school calendar, 2026-27 --------------------------------------------------

insert into safeguard.school_calendar (id, kind, name, starts_on, ends_on, created_by) values
	('00000000-0000-4000-8000-0000000b0001', 'holiday', 'Summer holiday 2026', '2026-07-23', '2026-09-02', 'demo'),
	('00000000-0000-4000-8000-0000000b0002', 'bank_holiday', 'Summer bank holiday', '2026-08-31', '2026-08-31', 'demo'),
	('00000000-0000-4000-8000-0000000b0003', 'term', 'Autumn term 2026', '2026-09-03', '2026-12-18', 'demo'),
	('00000000-0000-4000-8000-0000000b0004', 'holiday', 'Autumn half term', '2026-10-26', '2026-10-30', 'demo'),
	('00000000-0000-4000-8000-0000000b0005', 'bank_holiday', 'Christmas Day', '2026-12-25', '2026-12-25', 'demo'),
	('00000000-0000-4000-8000-0000000b0006', 'bank_holiday', 'Boxing Day (substitute day)', '2026-12-28', '2026-12-28', 'demo'),
	('00000000-0000-4000-8000-0000000b0007', 'bank_holiday', 'New Year''s Day', '2027-01-01', '2027-01-01', 'demo'),
	('00000000-0000-4000-8000-0000000b0008', 'term', 'Spring term 2027', '2027-01-04', '2027-03-25', 'demo'),
	('00000000-0000-4000-8000-0000000b0009', 'holiday', 'Spring half term', '2027-02-15', '2027-02-19', 'demo'),
	('00000000-0000-4000-8000-0000000b000a', 'bank_holiday', 'Good Friday', '2027-03-26', '2027-03-26', 'demo'),
	('00000000-0000-4000-8000-0000000b000b', 'bank_holiday', 'Easter Monday', '2027-03-29', '2027-03-29', 'demo'),
	('00000000-0000-4000-8000-0000000b000c', 'term', 'Summer term 2027', '2027-04-12', '2027-07-21', 'demo'),
	('00000000-0000-4000-8000-0000000b000d', 'bank_holiday', 'Early May bank holiday', '2027-05-03', '2027-05-03', 'demo'),
	('00000000-0000-4000-8000-0000000b000e', 'bank_holiday', 'Spring bank holiday', '2027-05-31', '2027-05-31', 'demo'),
	('00000000-0000-4000-8000-0000000b000f', 'holiday', 'Summer half term', '2027-05-31', '2027-06-04', 'demo'),
	('00000000-0000-4000-8000-0000000b0010', 'holiday', 'Summer holiday 2027', '2027-07-22', '2027-09-01', 'demo'),
	('00000000-0000-4000-8000-0000000b0011', 'bank_holiday', 'Summer bank holiday', '2027-08-30', '2027-08-30', 'demo')
on conflict do nothing;

-- ---- missing-education cases ---------------------------------------------------------

-- Jacob (not on roll since September 2023, the review's 22 months and more)
-- under enquiry; Grace (missing education since February 2025) just notified
-- by health.  The register already says the same (001_demo.sql).
-- A live case writes the CME officer's access row (058) as the demo user,
-- which needs a request id, as 002's panels do (SET, not set_config: no
-- output row for the loaders that read this file's output).
set local app.sub = 'demo';
set local app.agency = 'partnership';
set local app.request_id = 'demo-data';

insert into safeguard.cme_cases (id, child_id, reason, missing_since, school_urn, school_name, what_is_known,
	notifying_agency, notified_by, status, updated_by) values
	('00000000-0000-4000-8000-0000000c0001', '00000000-0000-4000-8000-00000000c001', 'not_on_roll', '2023-09-01',
	 '123456', 'Demo Academy', 'Left Demo Academy at the end of year 10; no school place since. Mother says he is '
	 'being taught at home, but no home education plan has been seen.', 'education', 'demo', 'enquiries', 'demo'),
	('00000000-0000-4000-8000-0000000c0002', '00000000-0000-4000-8000-00000000c004', 'not_attending', '2025-02-03',
	 '654321', 'Demo Primary School', 'School nurse reports Grace has not attended since February half term.',
	 'health', 'demo', 'open', 'demo')
on conflict do nothing;

insert into safeguard.cme_enquiries (id, case_id, enquiry_date, method, outcome, note, recorded_by, recorded_agency)
values
	('00000000-0000-4000-8000-0000000c0101', '00000000-0000-4000-8000-0000000c0001', '2026-11-16', 'home_visit',
	 'contact_made', 'Mother seen at home; Jacob not present. No evidence of education at home.', 'demo', 'education')
on conflict do nothing;

-- ---- the sample screening tool ----------------------------------------------------------

insert into safeguard.screening_tools (id, name, description, created_by) values
	('00000000-0000-4000-8000-0000000d0001', 'SAMPLE exploitation screening tool (demo only)',
	 'A sample for trying the API, NOT the partnership''s screening form: its indicators, weights and '
	 'thresholds are made up. The partnership publishes its own tool.', 'demo')
on conflict do nothing;

insert into safeguard.screening_tool_versions (id, tool_id, version, status, sections, thresholds, max_score, notes,
	published_at, published_by, created_by) values
	('00000000-0000-4000-8000-0000000d0101', '00000000-0000-4000-8000-0000000d0001', 1, 'published',
	 '[{"id": "missing", "title": "Going missing", "indicators": [
	    {"id": "missing_24h", "text": "Has been missing from home or care for more than 24 hours", "weight": 3, "counts": ["yes"], "required": true},
	    {"id": "missing_repeat", "text": "Three or more missing episodes in the last three months", "weight": 3, "counts": ["yes"], "required": true},
	    {"id": "found_out_of_area", "text": "Found out of the area with no explanation", "weight": 2, "counts": ["yes", "not_known"], "required": true}]},
	   {"id": "associates", "title": "Relationships and associates", "indicators": [
	    {"id": "older_associates", "text": "Associates with older young people or adults of concern", "weight": 2, "counts": ["yes"], "required": true},
	    {"id": "unexplained_contacts", "text": "Unexplained calls, messages or new phones", "weight": 1, "counts": ["yes"], "required": false}]},
	   {"id": "money", "title": "Money, possessions and substances", "indicators": [
	    {"id": "unexplained_money", "text": "Unexplained money, clothes or gifts", "weight": 2, "counts": ["yes"], "required": true},
	    {"id": "substance_use", "text": "Uses drugs or alcohol, or carries them for others", "weight": 2, "counts": ["yes"], "required": true}]},
	   {"id": "education", "title": "Education and wellbeing", "indicators": [
	    {"id": "not_in_school", "text": "Not on a school roll, excluded, or not attending", "weight": 2, "counts": ["yes"], "required": true},
	    {"id": "injuries", "text": "Unexplained injuries", "weight": 2, "counts": ["yes", "not_known"], "required": false}]}]',
	 '[{"min": 0, "max": 5, "level": "low", "next_step": "no_further_action"},
	   {"min": 6, "max": 11, "level": "medium", "next_step": "front_door_referral"},
	   {"min": 12, "max": null, "level": "high", "next_step": "panel_referral"}]',
	 19, 'Sample version 1, for trying the API.', now(), 'demo', 'demo')
on conflict do nothing;
