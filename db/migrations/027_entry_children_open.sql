-- 027: 026 set the entry children's insert policy to child_entry_writable
-- alone and dropped 013's second condition, entry_children_open: the
-- children of an entry are written once, by its author, in the statement
-- that creates it, and never added later.  Both conditions hold again.

alter policy entry_children_create on safeguard.chronology_entry_children
	with check (safeguard.child_entry_writable(child_id) and safeguard.entry_children_open(entry_id));
