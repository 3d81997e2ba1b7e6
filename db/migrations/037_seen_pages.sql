-- 037: three lists a caller sees little of read about a page, not the table.
--
-- Measured on a register of 100,000 children, 100,000 bookings (20,000
-- charged), 50,000 completions and 500,000 audit rows:
--
-- * The audit trail for an agency's auditor (its own staff's events and
--   the events about children in its network) ordered by its output column
--   occurred_at::text, so every event was read, checked by the read policy
--   and sorted as text to give a page: 20 s.  The API now reads the
--   agency's events and the events about children apart, each in the
--   trail's order by an index of its own (below), and merges them.
-- * A safeguarding lead's bookings and completions read the whole table in
--   (created_at, id) order and let the read policy (training_may_see, 008)
--   drop what the lead may not see: 100,000 rows for 12.  The API now reads
--   each way the policy admits a record apart, in the list's order
--   (TRAINING_SEEN in the training area); bookings have had an index for
--   each way since 008, completions get theirs here.
-- * The training charges joined every booking to its charge and sorted them
--   all for a page; the API now reads the charges in order and looks up
--   each one's booking (no index needed).
--
-- No policy changes: every row read still passes row-level security, and
-- each list is exactly the rows it was (tests/api/seen-pages.test.mjs
-- compares them).

create index training_completions_delegate on safeguard.training_completions (delegate_sub, created_at, id);
create index training_completions_agency on safeguard.training_completions (delegate_agency, created_at, id);

create index audit_events_agency on safeguard.audit_events (actor_agency, occurred_at desc, id desc);
create index audit_events_children on safeguard.audit_events (occurred_at desc, id desc) where resource_type = 'child';
