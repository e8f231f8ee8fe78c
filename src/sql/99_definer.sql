-- ---------------------------------------------------------------------------
-- The owner of the SECURITY DEFINER functions: ar_definer (05_roles.sql).
-- ar._grant_definer() gives it what those functions need and hands it
-- every SECURITY DEFINER function of the schema, and ar._audit_row() (the
-- audit trigger, which writes as its owner).  It runs last: this piece ends
-- the install script, and every upgrade piece that adds tables or SECURITY
-- DEFINER functions ends with a call of it.
--   tables        SELECT, INSERT, UPDATE, DELETE (no TRUNCATE, TRIGGER,
--                 REFERENCES: the append-only guards and the audit triggers
--                 bind it like anyone; it owns no table, so it cannot
--                 disable them); ar.audit_log: SELECT, INSERT and UPDATE
--                 of the images and the hash (redacted by
--                 ar.anonymise_customer only: its guard, doc/gdpr.md)
--   sequences     USAGE, SELECT (the outbox's ids are drawn by the run)
--   functions     EXECUTE on the schema's (those not granted to PUBLIC)
--   database      TEMPORARY (ar.run_dunning's work tables), in case PUBLIC
--                 lost it
-- ---------------------------------------------------------------------------
CREATE FUNCTION ar._grant_definer() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	f regprocedure;
BEGIN
	GRANT USAGE ON SCHEMA ar TO ar_definer;
	GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ar TO ar_definer;
	REVOKE UPDATE, DELETE ON ar.audit_log FROM ar_definer;
	GRANT UPDATE (row_hash, old_row, new_row) ON ar.audit_log TO ar_definer;
	GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ar TO ar_definer;
	EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO ar_definer', current_database());
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
	          WHERE p.pronamespace = 'ar'::regnamespace
	            AND (p.prosecdef OR p.oid = 'ar._audit_row()'::regprocedure)
	            AND p.proowner <> 'ar_definer'::regrole
	          ORDER BY p.oid LOOP
		EXECUTE format('ALTER FUNCTION %s OWNER TO ar_definer', f);
	END LOOP;
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
	          WHERE p.pronamespace = 'ar'::regnamespace AND p.proowner <> 'ar_definer'::regrole
	            AND p.prokind IN ('f', 'p')
	            AND NOT has_function_privilege('ar_definer', p.oid, 'EXECUTE')
	          ORDER BY p.oid LOOP
		EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO ar_definer', f);
	END LOOP;
END $$;
REVOKE ALL ON FUNCTION ar._grant_definer() FROM PUBLIC;
SELECT ar._grant_definer();

-- The worker started by ar.start_worker() runs as the role that started it
-- (an ar_admin login role): it calls these.
GRANT EXECUTE ON FUNCTION ar._worker_attach(integer, text, boolean), ar._worker_settings(integer, text, boolean),
                          ar._worker_reconcile_due(), ar._worker_reconcile(bigint), ar._worker_dunning_due(text),
                          ar._worker_dunning(bigint), ar._worker_run_failed(bigint, text),
                          ar._worker_cycle_done(boolean, text)
	TO ar_admin;
