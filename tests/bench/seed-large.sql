-- `make seed-large`: a partnership-sized register generated in the database
-- (no HTTP): :children children in families of four, each in CSC's network
-- and two other agencies', and :entries chronology entries spread across
-- the children and their agencies.  Rows are loaded without their rendered
-- document (readers build it when it is missing).  Run as the database's
-- superuser: foreign-key triggers are skipped for the load (replica mode),
-- since the generator only makes rows whose references exist.
\set ON_ERROR_STOP 1
\timing on
set session_replication_role = replica;
select :children / 4 as families \gset

insert into safeguard.families (id, name, created_by_agency)
select md5('large-family-' || f)::uuid, 'Family ' || f, 'csc'
from generate_series(1, :families) f;

insert into safeguard.children (id, first_name, last_name, date_of_birth, nhs_number, family_id, family_relationship,
	created_by_agency, education_status, not_on_roll_since)
select md5('large-child-' || i)::uuid, 'Child' || i, 'Large' || ((i - 1) / 4 + 1), date '2004-01-01' + (i * 37) % 7000,
       null, md5('large-family-' || ((i - 1) / 4 + 1))::uuid, case when i % 4 = 1 then 'child' else 'sibling' end,
       'csc', case when i % 50 = 0 then 'missing_education' else 'on_roll' end,
       case when i % 50 = 0 then date '2025-01-06' end
from generate_series(1, :children) i;

insert into safeguard.child_network (child_id, agency, how, reason, joined_by)
select md5('large-child-' || i)::uuid, a.agency, case when a.n = 1 then 'created' else 'declared' end,
       case when a.n = 1 then null else 'bulk load' end, 'seed-large'
from generate_series(1, :children) i
cross join lateral (values (1, 'csc'),
	(2, (array['police', 'health', 'education', 'youth_justice'])[1 + i % 4]),
	(3, (array['mental_health', 'district', 'voluntary'])[1 + i % 3])) a(n, agency);

insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, event_date, date_precision, category,
	summary, impact, significance, action_taken, source)
select md5('large-entry-' || j)::uuid,
       (array['csc', (array['police', 'health', 'education', 'youth_justice'])[1 + (1 + j % :children) % 4],
              (array['mental_health', 'district', 'voluntary'])[1 + (1 + j % :children) % 3]])[1 + j % 3],
       'seed-large', 'seed-large', date '2019-01-01' + ((j::bigint * 7919) % 2500)::int, 'day',
       (array['missing_episode', 'home_visit', 'injury', 'school_exclusion', 'referral', 'arrest', 'assessment',
              'positive_event'])[1 + (j / 3) % 8],
       'entry ' || j, (array['negative', 'neutral', 'positive', 'unknown'])[1 + j % 4],
       (array['low', 'medium', 'high'])[1 + j % 3], 'recorded', 'seed'
from generate_series(1, :entries::bigint) j;

insert into safeguard.chronology_entry_children (entry_id, child_id)
select md5('large-entry-' || j)::uuid, md5('large-child-' || (1 + j % :children))::uuid
from generate_series(1, :entries::bigint) j;

analyze;
