-- 046: the sync window as 043 made it (the log's policy exactly: a panel's
-- entries for a panel reader's role only, an entry's naming of a child not
-- a showing) with 044's index probe per change met.  043 and 044 were
-- written side by side, and 044, applied after 043, restated 042's window
-- with the probes but without 043's two rules; this restates the window
-- with both.  tests/api/attack-window.test.mjs holds it to the log's policy
-- for every role of every agency.

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
	                       where n.child_id = c.record_id and n.agency = me offset 0)
	            or exists (select 1 from safeguard.chronology_request_children rc
	                       join safeguard.chronology_requests r on r.id = rc.request_id
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where rc.child_id = c.record_id and r.closed_at is null and now() < r.share_until offset 0)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.child_id = c.record_id and pr.status in ('submitted', 'accepted', 'reopened') offset 0)
	            or (officer and exists (select 1 from safeguard.cme_cases cc
	                                    where cc.child_id = c.record_id and cc.status <> 'closed' offset 0))
	          when 'family' then
	               -- family_visible (013): made by the agency, a member in its
	               -- network, the subject of a live request it is invited to or
	               -- of an open referral to a panel it sits on
	               exists (select 1 from safeguard.families f
	                       where f.id = c.record_id and f.created_by_agency = me offset 0)
	            or exists (select 1 from safeguard.children k
	                       join safeguard.child_network n on n.child_id = k.id and n.agency = me
	                       where k.family_id = c.record_id offset 0)
	            or exists (select 1 from safeguard.chronology_requests r
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where r.subject_family_id = c.record_id and r.closed_at is null and now() < r.share_until offset 0)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.subject_family_id = c.record_id
	                         and pr.status in ('submitted', 'accepted', 'reopened') offset 0)
	          else
	               -- entries_read (003, 004) and entries_read_panel (017): the
	               -- agency's own, shared into a request it made (only CSC opens
	               -- requests today, and CSC is picked above) or is invited to
	               -- while live, or, for a panel reader's role (017's
	               -- app_panel_reader_role), into one a panel it sits on reads
	               exists (select 1 from safeguard.chronology_entries e
	                       where e.id = c.record_id and e.agency = me offset 0)
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
	                                                    and pr.status in ('submitted', 'accepted', 'reopened')))))) offset 0)
	          end
	       -- shown once (043's sync_shown): a tombstone may be due
	       or exists (select 1 from safeguard.audit_events au
	                  where au.resource_type = c.kind and au.resource_id = c.record_id::text
	                    and au.actor_sub = sub and au.actor_agency = me and au.outcome = 'success'
	                    and au.action not in ('child.chronology_entry.read', 'child.chronology_entry.sync',
	                                          'child.chronology.read') offset 0))
	order by c.xid, c.seq
	limit greatest(p_max, 1);
end
$$;
