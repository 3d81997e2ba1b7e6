-- 040: the recount of every CME case's order (038) is the owner's: the API
-- role could call cme_case_order_fill directly, a pass over every case under
-- the lock that stops every case's writer, as often as it liked.  Only the
-- calendar's trigger (and 038 itself) call it.

set search_path = safeguard, pg_temp;

revoke all on function safeguard.cme_case_order_fill() from public, safeguard_api;
