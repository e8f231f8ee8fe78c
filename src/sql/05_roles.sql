-- ---------------------------------------------------------------------------
-- Roles (cluster-wide, created once, kept by DROP EXTENSION):
--   ar_reader     reads the ledger, the views and the reports; writes nothing
--   ar_collector  ar_reader + records payments and applies credits (and, as
--                 they land: reconciles, runs dunning, logs disputes)
--   ar_admin      ar_collector + loads and corrects data, configuration,
--                 write-offs and cancellations, reads the audit trail
-- Writing functions are SECURITY DEFINER with a pinned search_path, so the
-- roles need EXECUTE on them rather than write access to the tables.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['ar_reader', 'ar_collector', 'ar_admin'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END $$;

GRANT ar_reader TO ar_collector;
GRANT ar_collector TO ar_admin;

GRANT USAGE ON SCHEMA ar TO ar_reader;
