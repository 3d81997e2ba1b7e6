-- 060: a search by names compares what a name says, not how it was typed.
--
-- 059 compared the names in NFC after lower().  A hostile review of it
-- (attack-recent.test) found the same names still missed, each a child a
-- practitioner would find no trace of and record again:
-- - capitals that lower() does not undo: "STRAUSS" for "Strauß" (lower()
--   keeps ß, and ẞ lowers to it), "ΟΔΥΣΣΕΥΣ" for "Οδυσσεύς" (Σ lowers to σ,
--   never to the final ς);
-- - compatibility forms pasted from documents and phones: the ligature in
--   "ﬁona", full-width "Ｆｉｏｎａ" (NFC keeps both; NFKC makes them "fiona");
-- - a name kept as sent with a space at its end, "Ana " (the API takes
--   names as sent; the search compared them whole).
-- So both sides are compared by one key, name_key: NFKC (which also makes a
-- no-break space a space), the blanks at either end trimmed, lower(), then
-- ß as ss and ς as σ (the two lower-case letters whose capitals fold to
-- something else).  Nothing broader: a dotless ı stays apart from i, and an
-- accent still matters ("Zoe" is not "Zoë"), as a person's name needs.
-- The index on the keys replaces 059's.

set search_path = safeguard, pg_temp;

-- Immutable (an index uses it), invoker's rights, pg_catalog only.
create function safeguard.name_key(t text) returns text
language sql immutable strict parallel safe set search_path = pg_catalog
as $$
	select replace(replace(lower(btrim(normalize(t, NFKC), E' \t\n\r')), 'ß', 'ss'), 'ς', 'σ')
$$;

create index children_name_keys on safeguard.children
	(safeguard.name_key(last_name), safeguard.name_key(first_name), date_of_birth);
drop index safeguard.children_names_nfc;

create or replace function safeguard.child_search(p_nhs text, p_upn text, p_first text, p_last text, p_dob date)
returns table (id uuid, in_network boolean)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select c.id, safeguard.child_visible(c.id) from safeguard.children c
	where (p_nhs is not null and c.nhs_number = p_nhs)
	   or (p_upn is not null and c.upn = p_upn)
	   or (p_first is not null
	       and safeguard.name_key(c.last_name) = safeguard.name_key(p_last)
	       and safeguard.name_key(c.first_name) = safeguard.name_key(p_first)
	       and c.date_of_birth = p_dob)
	order by c.created_at, c.id
	limit 20
$$;
