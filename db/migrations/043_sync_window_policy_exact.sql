-- 043: sync_window (042) picks only log rows the log's policy admits.
--
-- 042's window picked a panel's shared entries for any role of a member
-- agency, while entries_read_panel (017) admits them to a panel reader's
-- role only (panel_member, panel_chair, safeguarding_lead).  sync_page
-- then dropped them, so no record reached a client, but sync_window is
-- granted to the API's role and answers log positions to a direct caller:
-- a practitioner of a member agency was told the (xid, seq) of every
-- change of the panel's entries, which the log's policy withholds from it,
-- and, by moving p_bound, which of those positions are changes of one and
-- the same entry (a position comes back only while no later change of its
-- record lies below the bound).  Those rows also filled its windows and
-- ended its pages short for nothing.
--
-- The panel way now asks for the reader's role, as the policy does.  Every
-- way is then the policy's own (009's child_visible, 013's family_visible,
-- 003/004's entries_read, 017's entries_read_panel, sync_shown), so a
-- direct caller is told the positions of rows it may read from the log
-- itself and no others; tests/api/attack-window.test.mjs holds the window
-- to exactly the log's policy, both ways, for every role of every agency.
-- The grant is 042's (create or replace keeps it).
--
-- And "shown" is 028's everywhere.  028 ruled that a child is shown by its
-- own answers, not by an entry naming it (an entry shared into a request
-- may name a sibling the reader may not see), but applied the rule to the
-- log's tombstones only (sync_shown_since): sync_shown, which the log's
-- policy (sync_changes_read), the ended windows' tombstones (sync_expired)
-- and 042's window all ask, still counted the naming audit rows.  So the
-- API's role, for a reader an entry had named a sibling to, could read
-- every later change of that sibling from the log (its id and when), and
-- the window answered their positions: the watch on a child 028 ended in
-- sync's answers.  sync_shown and the window's "shown" now leave out the
-- same actions as sync_shown_since.  A sync's log tombstones already asked
-- sync_shown_since; the one answer that changes is an ended window's: it no
-- longer tombstones a request's child the reader was only named, never
-- shown (it holds no copy to retract), as 028 meant.

set search_path = safeguard, pg_temp;

create or replace function safeguard.sync_window(p_xid xid8, p_seq bigint, p_bound xid8, p_to_xid xid8, p_to_seq bigint,
	p_max integer)
returns table (xid xid8, seq bigint)
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	sub text := safeguard.app_sub();
	officer boolean := safeguard.cme_officer();
	reader boolean := safeguard.app_panel_reader_role();
begin
	return query
	select c.xid, c.seq from safeguard.sync_changes c
	where c.xid < p_bound and (c.xid, c.seq) > (p_xid, p_seq)
	  and (p_to_xid is null or (c.xid, c.seq) <= (p_to_xid, p_to_seq))
	  and not exists (select 1 from safeguard.sync_changes d
	                  where d.record_id = c.record_id and d.kind = c.kind and d.xid < p_bound
	                    and (d.xid, d.seq) > (c.xid, c.seq))
	  and (me = 'csc'
	       or case c.kind
	          when 'child' then
	               -- child_visible (009): the network, a live request the agency is
	               -- invited to, an open referral to a panel it sits on, a live
	               -- missing-education case for the CME officer
	               exists (select 1 from safeguard.child_network n
	                       where n.child_id = c.record_id and n.agency = me)
	            or exists (select 1 from safeguard.chronology_request_children rc
	                       join safeguard.chronology_requests r on r.id = rc.request_id
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where rc.child_id = c.record_id and r.closed_at is null and now() < r.share_until)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.child_id = c.record_id and pr.status in ('submitted', 'accepted', 'reopened'))
	            or (officer and exists (select 1 from safeguard.cme_cases cc
	                                    where cc.child_id = c.record_id and cc.status <> 'closed'))
	          when 'family' then
	               -- family_visible (013): made by the agency, a member in its
	               -- network, the subject of a live request it is invited to or
	               -- of an open referral to a panel it sits on
	               exists (select 1 from safeguard.families f
	                       where f.id = c.record_id and f.created_by_agency = me)
	            or exists (select 1 from safeguard.children k
	                       join safeguard.child_network n on n.child_id = k.id and n.agency = me
	                       where k.family_id = c.record_id)
	            or exists (select 1 from safeguard.chronology_requests r
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where r.subject_family_id = c.record_id and r.closed_at is null and now() < r.share_until)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.subject_family_id = c.record_id
	                         and pr.status in ('submitted', 'accepted', 'reopened'))
	          else
	               -- entries_read (003, 004) and entries_read_panel (017): the
	               -- agency's own, shared into a request it made (only CSC opens
	               -- requests today, and CSC is picked above) or is invited to
	               -- while live, or, for a panel reader's role (017's
	               -- app_panel_reader_role), into one a panel it sits on reads
	               exists (select 1 from safeguard.chronology_entries e
	                       where e.id = c.record_id and e.agency = me)
	            or exists (select 1 from safeguard.chronology_contributions co
	                       join safeguard.chronology_requests r on r.id = co.request_id
	                       where co.entry_id = c.record_id
	                         and (r.requesting_agency = me
	                              or (r.closed_at is null and now() < r.share_until
	                                  and (exists (select 1 from safeguard.chronology_request_agencies a
	                                               where a.request_id = r.id and a.agency = me)
	                                       or (reader and exists (select 1 from safeguard.panel_referrals pr
	                                                  join safeguard.panel_members m
	                                                    on m.panel_id = pr.panel_id and m.agency = me
	                                                  where pr.chronology_request_id = r.id
	                                                    and pr.status in ('submitted', 'accepted', 'reopened')))))))
	          end
	       -- shown once (sync_shown, below): a tombstone may be due
	       or exists (select 1 from safeguard.audit_events au
	                  where au.resource_type = c.kind and au.resource_id = c.record_id::text
	                    and au.actor_sub = sub and au.actor_agency = me and au.outcome = 'success'
	                    and au.action not in ('child.chronology_entry.read', 'child.chronology_entry.sync',
	                                          'child.chronology.read')))
	order by c.xid, c.seq
	limit greatest(p_max, 1);
end
$$;

-- 018's sync_shown, with 028's rule: an entry naming a child, or a child's
-- chronology listing such entries, does not show that child.
create or replace function safeguard.sync_shown(p_kind text, p_id uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.audit_events a
	               where a.resource_type = p_kind and a.resource_id = p_id::text
	                 and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency()
	                 and a.outcome = 'success'
	                 and a.action not in ('child.chronology_entry.read', 'child.chronology_entry.sync',
	                                      'child.chronology.read'));
end
$$;
