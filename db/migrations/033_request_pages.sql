-- 033: chronology requests are found by the indexes of what is asked for,
-- not by reading every request ever made.
--
-- 1. sync_expired (018, 028), which every page of GET /v1/changes runs,
--    looks for the requests whose share window ended between the device's
--    cursor and now (share_until in a range).  chronology_requests had no
--    index on share_until, so each page read the whole table: with 50,000
--    requests, 50,074 rows read to find the 5 whose window had just ended.
-- 2. GET /v1/chronology-requests, newest first, had no index to read its
--    page by: every request was read, its access checked (row-level
--    security, request_visible_to_me) and sorted, for every page (50,157
--    checks and 1.2 s for CSC's first page of 50,000 requests; 50,010 and
--    1.1 s for police's, which may read 2 of them).  Its statement now
--    reads the caller's agency's own requests by (requesting_agency,
--    created_at, id), and the other agencies' requests still in their
--    share window by share_until, the only ones request_readable lets an
--    invited agency read; row-level security checks each row as before.
-- Nothing else changes: the functions and who may see what are as before.

create index chronology_requests_share_until on safeguard.chronology_requests (share_until);
create index chronology_requests_page on safeguard.chronology_requests (requesting_agency, created_at, id);
