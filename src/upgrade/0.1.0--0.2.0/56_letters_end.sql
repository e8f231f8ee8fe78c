-- After the letters pieces: the audit trail records again (the shipped
-- templates were replaced without it), and the functions they added (those
-- still with the default privileges) get the grants 90_roles.sql gives a
-- fresh install: not executable by PUBLIC, but the immutable helpers.
SET LOCAL ar_collect.restoring = off;

DO $$
DECLARE
	f record;
BEGIN
	FOR f IN SELECT p.oid::regprocedure AS sig, p.provolatile = 'i' AS immutable
	           FROM pg_proc p
	          WHERE p.pronamespace = 'ar'::regnamespace AND p.proacl IS NULL
	          ORDER BY p.oid LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.sig);
		IF f.immutable THEN
			EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f.sig);
		END IF;
	END LOOP;
END $$;
