-- ar_collect install script, assembled from src/sql/*.sql in name order.
\echo Use "CREATE EXTENSION ar_collect" to load this file. \quit

-- The shipped letters, templates and texts are UTF-8 (French, German,
-- Polish...) and text lengths are counted in characters: a database in
-- another encoding is refused here, with the reason, not midway on a text.
DO $$
BEGIN
	IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
		RAISE EXCEPTION 'ar_collect needs a UTF8 database, not %', pg_catalog.getdatabaseencoding()
			USING ERRCODE = 'feature_not_supported',
			      HINT = 'Create the database with CREATE DATABASE ... ENCODING ''UTF8'' TEMPLATE template0.';
	END IF;
END $$;

-- The schema "ar" is created by CREATE EXTENSION (control file: schema = ar).
COMMENT ON SCHEMA ar IS 'ar_collect: accounts receivable ledger, reconciliation, penalties, dunning and analytics';

-- Settings read by the triggers below, documented in the README (Settings):
--   ar_collect.restoring = on   while pg_restore reloads a dump (keeps the
--                               dumped audit trail instead of re-auditing).
