-- ---------------------------------------------------------------------------
-- Roles (cluster-wide, created once, kept by DROP EXTENSION):
--   ar_reader     reads the ledger, the views and the reports; writes nothing
--   ar_collector  ar_reader + records payments and applies credits (and, as
--                 they land: reconciles, runs dunning, logs disputes)
--   ar_admin      ar_collector + loads and corrects data, configuration,
--                 write-offs and cancellations, reads the audit trail
-- Writing functions are SECURITY DEFINER with a pinned search_path, so the
-- roles need EXECUTE on them rather than write access to the tables.
--   ar_definer    owns those SECURITY DEFINER functions (and the audit
--                 trigger, which writes as its owner): cannot log in, is no
--                 superuser and owns no table; it holds the table, sequence
--                 and function privileges the functions need (given at the
--                 end of the install: ar._grant_definer() in 90_roles.sql),
--                 and BYPASSRLS, since those functions check company
--                 membership themselves.  A hole in one of them is then a
--                 hole of a role that can do what the API can do, not of a
--                 superuser (doc/security.md).
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
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ar_definer') THEN
		CREATE ROLE ar_definer NOLOGIN NOINHERIT BYPASSRLS;
	END IF;
	-- whatever it was given since: never more than this
	ALTER ROLE ar_definer NOSUPERUSER NOCREATEDB NOCREATEROLE NOLOGIN NOREPLICATION NOINHERIT BYPASSRLS CONNECTION LIMIT 0;
END $$;
COMMENT ON ROLE ar_definer IS 'ar_collect: owner of the SECURITY DEFINER functions of schema ar; cannot log in (doc/security.md)';

GRANT ar_reader TO ar_collector;
GRANT ar_collector TO ar_admin;

GRANT USAGE ON SCHEMA ar TO ar_reader;
