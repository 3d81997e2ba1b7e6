-- 016_screening_writes.sql - completing a screening is for the child's
-- network (DESIGN.md section 4), not for every agency that can read the
-- child: an invitation to a chronology request or a seat on a panel reads a
-- child, it does not assess it.  The same rule as 013's for the child's
-- record, on the screenings' insert and update policies.
alter policy screenings_create on safeguard.screenings
	with check (agency = safeguard.app_agency() and author_sub = safeguard.app_sub() and status = 'draft'
	            and safeguard.child_writable(child_id));
alter policy screenings_update on safeguard.screenings
	using (agency = safeguard.app_agency() and safeguard.child_writable(child_id))
	with check (agency = safeguard.app_agency());
