-- 047: one list of the audit actions that show a record to its caller.
--
-- Delta sync hands a tombstone, and the log's policy (sync_changes_read)
-- and sync_window hand a record's change positions, to a caller the audit
-- trail shows was given that record.  Until now "given" was every
-- successful audit row of the caller about the record except a list typed
-- out by hand in five places (028, 043, 045, 046): an entry's naming of a
-- child, a child's chronology, a tombstone.  Every other action counted,
-- including answers that only name a record to someone who may not see it:
-- the 409 possible-duplicate of POST /v1/children (039's
-- 'child.identifier_match', on a child outside the caller's network), a
-- panel's referral or CME case read after the child left the caller's view
-- (the child's id, its name absent), a chronology request's or its
-- consolidated timeline's children (ids).  After such an answer the caller
-- got a tombstone for that child at its next change, and the API's role
-- could read, for that caller, the child's changes from the log and their
-- positions from the window: a watch on a child it may not see.
--
-- Now one allow-list decides, deny by default: sync_action_shows(action).
-- An action shows a record when its answer carries that record's own
-- fields, as its GET renders them (a copy a device may hold and a
-- tombstone retracts), and is written only when it did.  An action not
-- listed shows nothing, so a new one tells sync nothing until it is
-- classified here.  sync_shown (and through it the log's policy and
-- sync_expired), sync_shown_since, sync_tombstoned and sync_window ask it.
--
-- Every action the API writes about a child, a family or an entry (the
-- kinds sync carries; other resource types never match a sync record):
--
--   action                                     written by                         shows
--   child.create                               POST /v1/children (020, 023)       yes: the child
--   child.read                                 GET a child, the list, a search's  yes: the child (a family's
--                                              in-network match, a family's        members: only those the
--                                              members                             caller may see, RLS)
--   child.update                               PATCH a child                      yes: the child
--   child.sync                                 GET /v1/changes                    yes: a child or a family's
--                                                                                  visible members
--   child.identifier_match                     409 possible-duplicate (039)       no: the id, to declare
--   child.search                               POST /v1/children/search           no: no record id at all
--                                                                                  (matches are in details)
--   child.involvement.declare|end|review       involvements                       no: the network row
--   child.network.read, child.access_log.read  the network, the child's audit     no: agencies, audit rows
--   child.family.join|leave                    family members (the family's       no: the family's answer
--                                              answer audits the members it       audits each member it
--                                              shows as child.read)               shows as child.read
--   child.chronology.add|amend|withdraw|read   entries naming the child (028)     no: the id in child_ids
--   child.chronology_entry.read|versions.read  an entry's GET naming it (028)     no: the id
--   child.chronology_entry.sync                an entry in a sync naming it       no: the id
--   child.chronology_request[.read|.draft.read chronology requests and their      no: ids, entries, rolls
--     |.consolidated.read]                     consolidated timeline
--   child.panel_referral.read,                 a panel's referrals, its case      no: the id; the name and
--     child.panel_referrals.read,              list export                        date of birth only while
--     child.panel_export.read                                                     RLS lets the caller see
--                                                                                  the child, not recorded
--   child.panel_referral.chronology.read       a referral's timeline              no: as the request's
--   child.panel_action.read, child.panel_      a panel's actions, discussions,    no: the id
--     discussion.read|create, child.panel_     decisions
--     decision.read|create
--   child.panel_access.start|end               a referral opening and closing     no: nothing of the child
--   child.cme_case.read|notify|enquiry|        missing-education cases            no: the id; its summary
--     resolve|close,                                                              only while RLS lets the
--     child.education_status.update                                               caller see the child
--   child.screening.read|create|update|        screenings                         no: the id
--     submit|outcome, child.screenings.read
--   child.sync_tombstone                       a tombstone handed (045)           no: told to drop it
--   family.create|read|update|member.add       the family's routes                yes: the family
--   family.sync                                GET /v1/changes                    yes: the family
--   family.member.remove                       DELETE a member: 204               no: no body
--   family.sync_tombstone                      a tombstone handed (045)           no
--   chronology_entry.create|read|amend|        the entry's routes                 yes: the entry
--     withdraw|versions.read
--   chronology_entry.sync                      GET /v1/changes                    yes: the entry
--   chronology_entry.sync_tombstone            a tombstone handed (045)           no
--
-- A consolidated timeline shows entries without an entry audit row; it
-- never counted as their showing (an ended window tombstones an entry only
-- to a reader who was given it as a record), and still does not.  Nor does
-- a child's name in a referral, a CME case or an export: it is not the
-- record a tombstone retracts, and its audit row cannot tell whether the
-- name was there.

set search_path = safeguard, pg_temp;

-- Does an audit action show its record (the record's own fields) to the
-- caller?  Plain SQL, immutable, no SET: the planner inlines it into each
-- caller's statement as `action = any ('{...}')`, a filter on the index
-- probe, with no call of its own.
create function safeguard.sync_action_shows(p_action text) returns boolean
language sql immutable parallel safe
as $$
	select p_action in ('child.create', 'child.read', 'child.update', 'child.sync',
	                    'family.create', 'family.read', 'family.update', 'family.member.add', 'family.sync',
	                    'chronology_entry.create', 'chronology_entry.read', 'chronology_entry.amend',
	                    'chronology_entry.withdraw', 'chronology_entry.versions.read', 'chronology_entry.sync')
$$;
-- the definer functions below (run as the owner) ask it; nobody else needs to
revoke all on function safeguard.sync_action_shows(text) from public;

-- 043's sync_shown, asking the list.  The log's policy (sync_changes_read,
-- 018) and the ended windows' tombstones (sync_expired, 018) ask this.
create or replace function safeguard.sync_shown(p_kind text, p_id uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.audit_events a
	               where a.resource_type = p_kind and a.resource_id = p_id::text
	                 and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency()
	                 and a.outcome = 'success' and safeguard.sync_action_shows(a.action));
end
$$;

-- 045's sync_tombstoned, its latest showing by the list (a tombstone's own
-- row is not one: it is not on it).
create or replace function safeguard.sync_tombstoned(p_kind text, p_id uuid, p_xid xid8, p_seq bigint,
	p_t timestamptz, p_e uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	v_shown timestamptz;
begin
	select max(a.occurred_at) into v_shown from safeguard.audit_events a
	where a.resource_type = p_kind and a.resource_id = p_id::text
	  and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency() and a.outcome = 'success'
	  and safeguard.sync_action_shows(a.action);
	return exists (select 1 from safeguard.audit_events a
	               where a.resource_type = p_kind and a.resource_id = p_id::text
	                 and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency()
	                 and a.action = p_kind || '.sync_tombstone' and a.occurred_at >= coalesce(v_shown, '-infinity')
	                 and case when a.details->'position'->>3 = 'ffffffff-ffff-ffff-ffff-ffffffffffff'
	                          then ((a.details->'position'->>0)::xid8, (a.details->'position'->>1)::bigint) <= (p_xid, p_seq)
	                          else ((a.details->'position'->>2)::timestamptz, (a.details->'position'->>3)::uuid) <= (p_t, p_e)
	                     end);
end
$$;

-- 045's sync_shown_since (028's rule), asking the list.
create or replace function safeguard.sync_shown_since(p_kind text, p_id uuid, p_xid xid8, p_seq bigint) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	v_since timestamptz;
begin
	select max(c.at) into v_since from safeguard.sync_changes c
	where c.record_id = p_id and c.kind = p_kind and (c.xid, c.seq) <= (p_xid, p_seq);
	return exists (select 1 from safeguard.audit_events a
	               where a.resource_type = p_kind and a.resource_id = p_id::text
	                 and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency()
	                 and a.outcome = 'success' and a.occurred_at >= coalesce(v_since, '-infinity')
	                 and safeguard.sync_action_shows(a.action));
end
$$;

-- 046's sync_window (043's rules, 044's probes), its "shown" probe asking
-- the list.  Each way is still a probe of its own with offset 0 (no hashed
-- subplan over the whole audit trail); the list is inlined as a filter of
-- the audit_events_resource probe.
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
	       -- shown once (sync_shown, by the list): a tombstone may be due
	       or exists (select 1 from safeguard.audit_events au
	                  where au.resource_type = c.kind and au.resource_id = c.record_id::text
	                    and au.actor_sub = sub and au.actor_agency = me and au.outcome = 'success'
	                    and safeguard.sync_action_shows(au.action) offset 0))
	order by c.xid, c.seq
	limit greatest(p_max, 1);
end
$$;
