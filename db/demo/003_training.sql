-- Demo data for `make run`: the partnership's training catalogue, with a
-- course of each format (the Jacob review's learning event, seven-minute
-- briefings for designated safeguarding leads, a webinar on the MAC portal,
-- e-learning) and sessions to book over the coming weeks.  Loaded once: rows
-- are keyed by fixed ids, and the sessions' dates are set when first loaded.

insert into safeguard.training_courses (id, title, description, format, organiser, audience_roles,
	audience_agencies, case_review, duration_minutes, status, published_at, created_by) values
	('00000000-0000-4000-8000-0000000e0001', 'Learning from the Jacob review',
	 'Exploitation, children missing education and joining up what each agency knows: the lessons of the Child Safeguarding Practice Review for Jacob.',
	 'learning_event', 'Safeguarding partnership business unit', '{}', '{}',
	 '{"title": "Child Safeguarding Practice Review: Jacob", "reference": "CSPR-2021-01", "published_on": "2021-01-20"}',
	 null, 'published', now(), 'demo'),
	('00000000-0000-4000-8000-0000000e0002', 'Seven-minute briefing: forced marriage and FGM',
	 'The LADO/ESAT briefing for designated safeguarding leads.', 'seven_minute_briefing', 'LADO/ESAT',
	 '{safeguarding_lead}', '{}', null, null, 'published', now(), 'demo'),
	('00000000-0000-4000-8000-0000000e0003', 'Seven-minute briefing: Prevent',
	 'The LADO/ESAT briefing for designated safeguarding leads.', 'seven_minute_briefing', 'LADO/ESAT',
	 '{safeguarding_lead}', '{}', null, null, 'published', now(), 'demo'),
	('00000000-0000-4000-8000-0000000e0004', 'The Multi-Agency Chronology portal',
	 'Sharing your agency''s chronology for a set period, and reading the consolidated timeline.',
	 'webinar', 'Children''s social care', '{}', '{}', null, null, 'published', now(), 'demo'),
	('00000000-0000-4000-8000-0000000e0005', 'Child exploitation: recognising the signs',
	 'Criminal and sexual exploitation, county lines and missing episodes.', 'e_learning',
	 'Youth justice and exploitation service', '{}', '{}', null, 45, 'published', now(), 'demo'),
	('00000000-0000-4000-8000-0000000e0006', 'The Children Missing Education panel',
	 'How a case reaches the CME panel, and what the panel asks of schools.', 'webinar',
	 'Education safeguarding team', '{}', '{education,csc}', null, null, 'draft', null, 'demo')
on conflict (id) do nothing;

insert into safeguard.training_sessions (id, course_id, starts_at, ends_at, mode, venue, online_url, capacity,
	booking_closes_at, created_by) values
	('00000000-0000-4000-8000-0000000e5101', '00000000-0000-4000-8000-0000000e0001',
	 date_trunc('day', now()) + interval '21 days 9 hours 30 minutes', date_trunc('day', now()) + interval '21 days 12 hours 30 minutes',
	 'venue', '{"name": "County Hall, Room 2", "address": "New Road, Oxford", "postcode": "OX1 1ND"}', null, 40,
	 date_trunc('day', now()) + interval '19 days 17 hours', 'demo'),
	('00000000-0000-4000-8000-0000000e5102', '00000000-0000-4000-8000-0000000e0001',
	 date_trunc('day', now()) + interval '35 days 13 hours', date_trunc('day', now()) + interval '35 days 16 hours',
	 'online', null, 'https://meet.example.org/jacob-learning', 100,
	 date_trunc('day', now()) + interval '34 days 17 hours', 'demo'),
	('00000000-0000-4000-8000-0000000e5201', '00000000-0000-4000-8000-0000000e0002',
	 date_trunc('day', now()) + interval '10 days 10 hours', date_trunc('day', now()) + interval '10 days 10 hours 30 minutes',
	 'online', null, 'https://meet.example.org/7mb-fgm', 20,
	 date_trunc('day', now()) + interval '10 days 10 hours', 'demo'),
	('00000000-0000-4000-8000-0000000e5301', '00000000-0000-4000-8000-0000000e0003',
	 date_trunc('day', now()) + interval '24 days 14 hours', date_trunc('day', now()) + interval '24 days 14 hours 30 minutes',
	 'online', null, 'https://meet.example.org/7mb-prevent', 20,
	 date_trunc('day', now()) + interval '24 days 14 hours', 'demo'),
	('00000000-0000-4000-8000-0000000e5401', '00000000-0000-4000-8000-0000000e0004',
	 date_trunc('day', now()) + interval '7 days 11 hours', date_trunc('day', now()) + interval '7 days 12 hours',
	 'online', null, 'https://meet.example.org/mac-portal', 2,
	 date_trunc('day', now()) + interval '6 days 17 hours', 'demo')
on conflict (id) do nothing;
