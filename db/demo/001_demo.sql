-- Demo data for `make run`: three families with siblings and one child on
-- their own, spread across agencies so that tokens for different agencies see
-- different children.  Every identifier is made up (valid check digits, no
-- real person).  Loaded once: rows are keyed by fixed ids.

insert into safeguard.families (id, name, carers, created_by_agency) values
	('00000000-0000-4000-8000-00000000f001', 'Carter family', '[{"name":"Karen Carter","relationship":"mother","contact":"07700 900101"}]', 'csc'),
	('00000000-0000-4000-8000-00000000f002', 'Okafor family', '[{"name":"Ruth Okafor","relationship":"grandmother","contact":"07700 900202"}]', 'health'),
	('00000000-0000-4000-8000-00000000f003', 'Nowak family', '[{"name":"Piotr Nowak","relationship":"father","contact":null}]', 'police')
on conflict (id) do nothing;

insert into safeguard.children (id, first_name, last_name, date_of_birth, gender, nhs_number, upn,
	address_lines, address_town, postcode, education_status, not_on_roll_since, family_id, family_relationship,
	created_by_agency) values
	('00000000-0000-4000-8000-00000000c001', 'Jacob', 'Carter', '2008-03-14', 'male', '0830166130', 'V186091390996', '{"7 Demo Road"}', 'Oxford', 'OX4 1AB', 'not_on_roll', '2023-09-01', '00000000-0000-4000-8000-00000000f001', 'child', 'csc'),
	('00000000-0000-4000-8000-00000000c002', 'Mia', 'Carter', '2012-07-02', 'female', '3082462812', 'W948219935181', '{"73 Demo Road"}', 'Oxford', 'OX4 1AB', 'on_roll', null, '00000000-0000-4000-8000-00000000f001', 'sibling', 'csc'),
	('00000000-0000-4000-8000-00000000c003', 'Daniel', 'Okafor', '2011-11-20', 'male', '0937865796', 'Z754323194875', '{"58 Demo Road"}', 'Oxford', 'OX3 9DU', 'on_roll', null, '00000000-0000-4000-8000-00000000f002', 'child', 'health'),
	('00000000-0000-4000-8000-00000000c004', 'Grace', 'Okafor', '2014-01-05', 'female', '4911862521', 'J760189555979', '{"59 Demo Road"}', 'Oxford', 'OX3 9DU', 'missing_education', '2025-02-03', '00000000-0000-4000-8000-00000000f002', 'sibling', 'health'),
	('00000000-0000-4000-8000-00000000c005', 'Lena', 'Nowak', '2009-09-30', 'female', '1147104972', 'B465075291703', '{"37 Demo Road"}', 'Oxford', 'OX14 3DB', 'elective_home_education', null, '00000000-0000-4000-8000-00000000f003', 'child', 'police'),
	('00000000-0000-4000-8000-00000000c006', 'Tom', 'Reed', '2015-04-18', 'male', '2366712766', 'X842684656321', '{"23 Demo Road"}', 'Oxford', 'OX2 6NN', 'on_roll', null, null, null, 'education')
on conflict (id) do nothing;

insert into safeguard.child_network (child_id, agency, how, reason, joined_by) values
	('00000000-0000-4000-8000-00000000c001', 'csc', 'created', null, 'demo'),
	('00000000-0000-4000-8000-00000000c001', 'police', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c001', 'education', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c001', 'youth_justice', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c002', 'csc', 'created', null, 'demo'),
	('00000000-0000-4000-8000-00000000c002', 'education', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c002', 'health', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c003', 'health', 'created', null, 'demo'),
	('00000000-0000-4000-8000-00000000c003', 'education', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c004', 'health', 'created', null, 'demo'),
	('00000000-0000-4000-8000-00000000c005', 'police', 'created', null, 'demo'),
	('00000000-0000-4000-8000-00000000c005', 'youth_justice', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c005', 'mental_health', 'declared', 'demo: working with the family', 'demo'),
	('00000000-0000-4000-8000-00000000c006', 'education', 'created', null, 'demo')
on conflict do nothing;
