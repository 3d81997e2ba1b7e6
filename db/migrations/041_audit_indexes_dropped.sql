-- 041: the audit trail keeps the indexes it had before 037.
--
-- Every read of a child writes an audit row, and a page of children or of
-- a panel's referrals writes fifty: each index on audit_events is paid on
-- every one of them.  037's two (each agency's events; the events about
-- children, in the trail's order) made such a fifty-row write cost 15-30%
-- more in PostgreSQL (pgbench, interleaved runs), for the audit trail of an
-- agency's auditor, a rare read.  That read keeps 037's shape, one part per
-- way the agency sees an event, merged in the trail's order; each part now
-- walks audit_events_time, which serves the order as well as the partial
-- index did (nearly every event is about a child).

drop index safeguard.audit_events_agency;
drop index safeguard.audit_events_children;
