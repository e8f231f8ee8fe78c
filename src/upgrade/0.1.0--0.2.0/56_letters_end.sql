-- After the letters pieces: the audit trail records again (the shipped
-- templates were replaced without it), and the functions they added get
-- the grants 90_roles.sql gives a fresh install (nothing executable by
-- PUBLIC but the immutable helpers).
SET LOCAL ar_collect.restoring = off;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ar FROM PUBLIC;
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
	          WHERE p.pronamespace = 'ar'::regnamespace AND p.provolatile = 'i' LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);
	END LOOP;
END $$;
