-- 1,000,000 token rows (500k access, 500k refresh) of realistic size and
-- random signatures, in 250k families, for the database-size benchmark.
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000)
INSERT INTO access_tokens (signature, request_id, client_id, subject, active, requested_at, expires_at, data)
SELECT lower(hex(randomblob(43))), 'bulk-' || (x / 2), 'bulk-client', 'bulk-user', 1,
       '2026-11-28 00:00:00+00:00', '2030-01-01 00:00:00+00:00', randomblob(600) FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000)
INSERT INTO refresh_tokens (signature, request_id, client_id, subject, active, requested_at, expires_at, data, parent_signature, access_signature)
SELECT lower(hex(randomblob(32))), 'bulk-' || (x / 2), 'bulk-client', 'bulk-user', 0,
       '2026-11-28 00:00:00+00:00', '2030-01-01 00:00:00+00:00', randomblob(600), lower(hex(randomblob(32))), lower(hex(randomblob(43))) FROM c;
WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 250000)
INSERT INTO token_families (id, client_id, subject, created_at, last_refreshed_at, expires_at, revoked_reason, session_id)
SELECT 'bulk-' || x, 'bulk-client', 'bulk-user', '2026-11-28 00:00:00+00:00', '2026-11-28 00:00:00+00:00', '2030-01-01 00:00:00+00:00', '', '' FROM c;
COMMIT;
