-- Legal archiving and GDPR (src/sql/87_gdpr.sql, doc/gdpr.md): the audit
-- guard lets ar.anonymise_customer redact row images, ar.verify_audit_chain
-- checks redacted rows against their records and manifests, the
-- communications log and the outbox guards let the redaction through, and
-- ar_definer may update the images (its guard decides when).

CREATE OR REPLACE FUNCTION ar._audit_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF ar._restoring() THEN
			RETURN NEW;  -- pg_restore reloading a dumped trail as it was
		END IF;
		IF pg_trigger_depth() < 2 THEN
			RAISE EXCEPTION 'ar.audit_log is written by ar_collect only' USING ERRCODE = 'insufficient_privilege';
		END IF;
		NEW.seq := NULL; NEW.prev_hash := NULL; NEW.row_hash := NULL;
		RETURN NEW;
	END IF;
	-- ar.anonymise_customer redacting the images of a row, never one of the
	-- anonymisation log: the row's hash and record decided here, on the
	-- node holding the row (doc/gdpr.md)
	IF TG_OP = 'UPDATE' AND OLD.table_name <> 'gdpr_anonymisation'
	   AND (to_jsonb(NEW) - '{old_row,new_row,row_hash}'::text[]) = (to_jsonb(OLD) - '{old_row,new_row,row_hash}'::text[])
	   AND ar._gdpr_redacting(TG_RELID) THEN
		NEW.row_hash := ar._gdpr_redacted_row_hash(TG_RELID, to_jsonb(OLD), to_jsonb(NEW));
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'ar.audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

-- (ar.verify_audit_chain(): its 0.2.0 definition, one chain per company,
-- is src/sql/41_audit_chains.sql, the piece 98_zz_audit_2_chains.sql)

CREATE OR REPLACE FUNCTION ar._communication_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND ar._gdpr_redacting(TG_RELID) THEN
		RETURN NEW;  -- ar.anonymise_customer (doc/gdpr.md)
	END IF;
	RAISE EXCEPTION 'ar.communication is append-only'
		USING ERRCODE = 'insufficient_privilege',
		      HINT = 'Record a correction as a new entry with ar.log_interaction().';
END $$;

CREATE OR REPLACE FUNCTION ar._dunning_notice_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'dunning notice % cannot be deleted', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      HINT = 'Notices are part of the customer''s history: mark it cancelled with ar.mark_notice().';
	END IF;
	IF NEW.status IS NOT DISTINCT FROM OLD.status AND ar._gdpr_redacting(TG_RELID) THEN
		RETURN NEW;  -- ar.anonymise_customer (doc/gdpr.md)
	END IF;
	IF (to_jsonb(NEW) - '{status,status_at,provider_ref,status_detail}'::text[])
	   IS DISTINCT FROM (to_jsonb(OLD) - '{status,status_at,provider_ref,status_detail}'::text[]) THEN
		RAISE EXCEPTION 'dunning notice % cannot be changed', OLD.id
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Only its status, provider_ref and status_detail change, through ar.mark_notice().';
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		IF (OLD.status, NEW.status) NOT IN (('queued', 'sent'), ('queued', 'failed'), ('queued', 'cancelled'),
		                                    ('sent', 'failed')) THEN
			RAISE EXCEPTION 'dunning notice % cannot go from % to %', OLD.id, OLD.status, NEW.status
				USING ERRCODE = 'object_not_in_prerequisite_state',
				      HINT = 'queued -> sent, failed or cancelled; sent -> failed.';
		END IF;
		NEW.status_at := now();
	END IF;
	RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION ar._grant_definer() RETURNS void
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

