-- ---------------------------------------------------------------------------
-- 0.2.0: security of the SECURITY DEFINER code (doc/security.md).
--  * ar_collect.restoring is a registered PGC_SUSET setting, read through
--    ar._restoring() (the library loaded first); ar_collect.* is reserved.
--  * whether a transaction asked for its audit rows to be sealed is private
--    state of the library (ar._audit_seal_pending), no longer the setting
--    ar_collect.audit_seal_requested that anyone could set;
--    ar.verify_audit_chain() reports rows of earlier transactions left
--    unsealed.
--  * ar_admin may verify the chain (EXECUTE on ar.audit_row_content).
--  * the SECURITY DEFINER functions and the audit trigger are owned by the
--    role ar_definer (NOLOGIN, no superuser, BYPASSRLS), which holds only
--    what they need (ar._grant_definer(), called again by the last piece,
--    99_ownership, for what the pieces in between add).
--  * the worker ar.start_worker() starts runs as the role that started it.
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

CREATE FUNCTION ar._restoring() RETURNS boolean
LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'ar_restoring';

CREATE FUNCTION ar._audit_seal_pending() RETURNS boolean
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'ar_audit_seal_pending';
CREATE FUNCTION ar._audit_set_seal_pending(pending boolean) RETURNS void
LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'ar_audit_set_seal_pending';

CREATE OR REPLACE FUNCTION ar._audit_request_seal() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF NOT ar._audit_seal_pending() THEN
		INSERT INTO ar.audit_seal_request DEFAULT VALUES ON CONFLICT DO NOTHING;
		PERFORM ar._audit_set_seal_pending(true);
	END IF;
END $$;

CREATE OR REPLACE FUNCTION ar._audit_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp SET jit = off SET work_mem = '64MB' AS $$
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.audit_log (table_name, operation, row_id, old_row, new_row)
	SELECT TG_TABLE_NAME, TG_OP, (j.r->>'id')::bigint,
	       CASE WHEN TG_OP = 'DELETE' THEN j.r END, CASE WHEN TG_OP = 'INSERT' THEN j.r END
	  FROM (SELECT to_jsonb(c) AS r, c.id FROM changed c) j
	 ORDER BY j.id;
	IF FOUND THEN
		PERFORM ar._audit_request_seal();
	END IF;
	RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ar._audit_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	last_seq bigint;
	last_hash bytea;
BEGIN
	DELETE FROM ar.audit_seal_request WHERE txid = NEW.txid;
	PERFORM ar._audit_set_seal_pending(false);
	PERFORM pg_advisory_xact_lock(hashtext('ar_collect.audit_chain'));
	SELECT a.seq, a.row_hash INTO last_seq, last_hash
	  FROM ar.audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
	PERFORM ar._audit_seal_rows(coalesce(last_seq, 0), coalesce(last_hash, ar.audit_genesis_hash()));
	RETURN NULL;
END $$;

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
	IF TG_OP = 'UPDATE' AND pg_trigger_depth() >= 2 AND OLD.seq IS NULL
	   AND (to_jsonb(NEW) - '{seq,prev_hash,row_hash}'::text[]) = (to_jsonb(OLD) - '{seq,prev_hash,row_hash}'::text[]) THEN
		RETURN NEW;  -- sealing
	END IF;
	RAISE EXCEPTION 'ar.audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

-- (ar.verify_audit_chain(): its 0.2.0 definition, one chain per company,
-- is src/sql/41_audit_chains.sql, the piece 98_zz_audit_2_chains.sql)

CREATE OR REPLACE FUNCTION ar._dunning_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	changed bigint;
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;  -- pg_restore reloads each table in its own transaction
	END IF;
	IF ar._logical_table_name(TG_RELID) = 'dunning_policy' THEN  -- a shard's is its table's
		IF TG_OP = 'DELETE' THEN RETURN NULL; END IF;
		changed := NEW.id;
	ELSIF TG_OP = 'DELETE' THEN
		changed := OLD.policy_id;
	ELSE
		changed := NEW.policy_id;
	END IF;
	PERFORM ar._check_dunning_policy(changed);
	-- policies that borrow this one's templates
	PERFORM ar._check_dunning_policy(d.id) FROM ar.dunning_policy d WHERE d.templates_from = changed;
	RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ar._invoice_dispute_flag() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	d ar.dispute;
BEGIN
	IF ar._restoring() THEN
		RETURN NULL;  -- pg_restore reloads the disputes as they were
	END IF;
	-- (each query names the invoice's company: on Citus this trigger runs on
	-- the invoice's shard and may only reach the co-located dispute shard)
	IF NEW.disputed AND NOT EXISTS (SELECT 1 FROM ar.dispute x
	                                 WHERE x.company_id = NEW.company_id AND x.invoice_id = NEW.id AND x.resolved_at IS NULL) THEN
		INSERT INTO ar.dispute (company_id, invoice_id, customer_id, reason)
		VALUES (NEW.company_id, NEW.id, NEW.customer_id, 'flagged as disputed on ar.invoice')
		RETURNING * INTO d;
		INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary, invoice_id, dispute_id)
		VALUES (NEW.company_id, NEW.customer_id, 'dispute_opened', 'inbound',
		        format('Invoice %s flagged as disputed', NEW.number), NEW.id, d.id);
	ELSIF NOT NEW.disputed THEN
		FOR d IN UPDATE ar.dispute x
		            SET resolution = 'flag cleared on ar.invoice', resolved_at = now(), resolved_by = session_user
		          WHERE x.company_id = NEW.company_id AND x.invoice_id = NEW.id AND x.resolved_at IS NULL
		      RETURNING * LOOP
			INSERT INTO ar.communication (company_id, customer_id, kind, direction, summary, invoice_id, dispute_id)
			VALUES (NEW.company_id, NEW.customer_id, 'dispute_resolved', 'internal',
			        format('Dispute flag of invoice %s cleared', NEW.number), NEW.id, d.id);
		END LOOP;
	END IF;
	RETURN NULL;
END $$;

REVOKE ALL ON FUNCTION ar._restoring(), ar._audit_seal_pending(), ar._audit_set_seal_pending(boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._restoring() TO PUBLIC;
GRANT EXECUTE ON FUNCTION ar.audit_row_content(ar.audit_log, bigint) TO ar_admin;

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
--                 of the seal columns only
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
	GRANT UPDATE (seq, prev_hash, row_hash) ON ar.audit_log TO ar_definer;
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
