-- 066: a referral's document built with fewer steps a row: the same
-- document, byte for byte, for every caller.
--
-- Restates 031's panel_referral_doc, which every referral answer renders
-- (GET /v1/panels/{id}/referrals, GET /v1/panel-referrals/{id}, the case
-- list export), because of what it cost a row of a panel's case list.
-- Measured on the benchmark panel (50 referrals, a police panel member):
-- the list's statement spent 31 to 34 µs of PostgreSQL's CPU a referral,
-- its plan kept (no planning a call, no nested statement planned), and of
-- that:
--   * jsonb_build_object over 23 keys: for every argument of every call, key
--     or value, it asks the catalogue for the argument's type's category
--     and output function (up to three cache lookups each) and walks the call's
--     expression to find the argument's type;
--   * the history, jsonb_agg(... order by e.version): an ordered aggregate
--     starts a sort of its own for each referral;
--   * the child's visibility (children_read: child_visible, whose
--     child_in_network is a SECURITY DEFINER function run for each child):
--     about 8 µs a referral for an agency in the child's network, more for
--     a member that sees the child through the open referral; that is the
--     access rule itself and stays as it is.
-- Now the document is to_jsonb of one row whose column names are the keys
-- (a type looked up once a value, none for the keys, no argument list to
-- walk), and the history is to_jsonb of an array of the events' rows in
-- version order (array(select ... order by e.version), which keeps the
-- subquery's order): no aggregate, and so no sort started by one, for
-- each referral.  to_jsonb renders each value through the
-- same conversion as jsonb_build_object, and jsonb orders an object's keys
-- itself, so the document is the same value and the same text; an empty
-- history is [] as before.  Still one SQL function with one SELECT, no
-- SECURITY DEFINER and no SET, so the planner inlines it into the calling
-- statement as 031 set out, and it reads as the caller: every policy on
-- children, events, discussions and meetings applies to what it reads,
-- exactly as before.  panel_referral_json (031) stays the wrapper.
-- The same statement, interleaved with 031's document (8 runs of 200):
-- 1.72 ms a page to 1.43 ms (median; youth justice, which sees the
-- children through the open referrals: 3.05 ms to 2.72 ms).
-- (tests/api/panel-rendering.test.mjs compares the list's and the GET's
-- answers, as text, with 031's document.)

set search_path = safeguard, pg_temp;

create or replace function safeguard.panel_referral_doc(r safeguard.panel_referrals) returns setof jsonb
language sql stable rows 1
as $$
	select to_jsonb(doc) from (
		select r.id, r.panel_id, r.child_id,
		       (select jsonb_build_object('first_name', c.first_name, 'last_name', c.last_name,
		                                  'date_of_birth', c.date_of_birth)
		        from safeguard.children c where c.id = r.child_id) as child,
		       r.family_id, r.referring_agency, r.referred_by, r.reason, r.risk_level,
		       coalesce(d.risk_level, r.risk_level) as current_risk_level, d.next_review_date,
		       r.criteria, r.chronology_request_id, r.screening_id, r.cme_case_id,
		       r.status, r.status in ('submitted', 'accepted', 'reopened') as open,
		       case when r.status = 'declined' then r.status_reason end as decline_reason,
		       r.closure_reason,
		       to_jsonb(array(select to_jsonb(h)
		                      from safeguard.panel_referral_events e
		                      cross join lateral (select e.status, e.reason, e.closure_reason, e.actor_sub as by,
		                                                 e.actor_agency as agency,
		                                                 safeguard.panel_instant(e.occurred_at) as at) h
		                      where e.referral_id = r.id
		                      order by e.version)) as history,
		       r.version, safeguard.panel_instant(r.created_at) as created_at,
		       safeguard.panel_instant(r.updated_at) as updated_at
		from (values (1)) one
		left join lateral (select d.risk_level, d.next_review_date
		                   from safeguard.panel_discussions d join safeguard.panel_meetings m on m.id = d.meeting_id
		                   where d.referral_id = r.id
		                   order by m.held_at desc, d.created_at desc limit 1) d on true) doc
$$;
