-- 059: a search by names finds a name however its accents were typed.
--
-- child_search (002) matched names by lower() of the stored and the sent
-- text.  Unicode has two spellings of an accented letter: precomposed
-- ("e" with diaeresis as one character, NFC, what most keyboards send) and
-- decomposed ("e" then a combining diaeresis, NFD, what some phones and
-- imports send).  They look the same and are the same name, but compare
-- unequal, so a practitioner who searched for "Zoë" before recording a
-- child did not find the child recorded as "Zoë" in the other form, and
-- recorded it again: the duplicate the search is there to prevent (found
-- by a hostile review, attack-cross.test).
--
-- Both sides are now compared in NFC, after lower(); the names are kept as
-- they were sent.  The index the search uses (002's children_names) is
-- replaced by one on the same expressions.

set search_path = safeguard, pg_temp;

create index children_names_nfc on safeguard.children
	((normalize(lower(last_name), NFC)), (normalize(lower(first_name), NFC)), date_of_birth);
drop index safeguard.children_names;

create or replace function safeguard.child_search(p_nhs text, p_upn text, p_first text, p_last text, p_dob date)
returns table (id uuid, in_network boolean)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select c.id, safeguard.child_visible(c.id) from safeguard.children c
	where (p_nhs is not null and c.nhs_number = p_nhs)
	   or (p_upn is not null and c.upn = p_upn)
	   or (p_first is not null
	       and normalize(lower(c.last_name), NFC) = normalize(lower(p_last), NFC)
	       and normalize(lower(c.first_name), NFC) = normalize(lower(p_first), NFC)
	       and c.date_of_birth = p_dob)
	order by c.created_at, c.id
	limit 20
$$;
