-- ar_collect install script, assembled from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION ar_collect" to load this file. \quit

-- The schema "ar" is created by CREATE EXTENSION (control file: schema = ar).
COMMENT ON SCHEMA ar IS 'ar_collect: accounts receivable ledger, reconciliation, penalties, dunning and analytics';

-- Settings read by the triggers below, documented in the README (Settings):
--   ar_collect.restoring = on   while pg_restore reloads a dump (keeps the
--                               dumped audit trail instead of re-auditing).
