-- ---------------------------------------------------------------------------
-- The background worker's reconciliation one company at a time (issue 14,
-- doc/scale_out.md "Path 2: Citus"): on a Citus coordinator whose bank
-- lines are distributed (ar._worker_reconcile_per_company()), each cycle
-- reconciles the companies with new bank lines one after the other, each
-- in a transaction of its own with a row of its own in ar.worker_run
-- (result: company_id, up_to_line, lines, applied, direct_debits), through
-- ar.reconcile_company (routed to the company's worker).  A company whose
-- run fails is recorded failed and the next company goes on; the cycle's
-- watermark moves on only when every company's run succeeded, so that the
-- next cycle takes the failed company again.  Runs never overlap: the
-- worker serves its database alone (ar._worker_attach), and
-- ar.reconcile_company takes the reconciliation's lock (ar.lock_slot) on the
-- coordinator and locks the lines it decides (FOR UPDATE SKIP LOCKED on the
-- company's shard), so that a manual run at the same time waits, and one
-- through another node skips the lines taken.  On one node the worker
-- reconciles every company in one run, as before (src/worker.c).
-- src/upgrade/0.1.0--0.2.0/98_zzz_worker_reconcile_companies.sql is this
-- piece (a link).
-- ---------------------------------------------------------------------------

-- 1 on a Citus coordinator where ar.bank_transaction is distributed, else 0.
CREATE FUNCTION ar._worker_reconcile_per_company() RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	distributed boolean;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
		RETURN 0;
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid = ''ar.bank_transaction''::regclass)'
		INTO distributed;
	RETURN distributed::int;
END $$;

-- The newest new bank line above the watermark, NULL when there is none:
-- a cycle reconciles the companies of the lines up to it.
CREATE FUNCTION ar._worker_reconcile_newest() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	SELECT max(t.id) FROM ar.bank_transaction t
	 WHERE t.status = 'unmatched' AND t.id > coalesce((SELECT s.reconcile_watermark FROM ar.worker_state s), 0);
$$;

-- The run of the next company (after the company of previous_run, NULL:
-- the first) with new bank lines up to up_to_line, recorded as running;
-- NULL when no company is left.
CREATE FUNCTION ar._worker_reconcile_company_due(previous_run bigint, up_to_line bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	after bigint;
	company bigint;
	run_id bigint;
BEGIN
	SELECT (w.result->>'company_id')::bigint INTO after FROM ar.worker_run w WHERE w.id = previous_run;
	SELECT min(t.company_id) INTO company
	  FROM ar.bank_transaction t
	 WHERE t.status = 'unmatched' AND t.id <= up_to_line
	   AND t.id > coalesce((SELECT s.reconcile_watermark FROM ar.worker_state s), 0)
	   AND (after IS NULL OR t.company_id > after);
	IF company IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.worker_run (kind, status, result)
	VALUES ('reconcile', 'running', jsonb_build_object('up_to_line', up_to_line, 'company_id', company))
	RETURNING id INTO run_id;
	RETURN run_id;
END $$;

-- A run of the worker: of one company (result->'company_id') or, on one
-- node, of every company; the direct debits of the new lines settled first
-- (re-created here: 80_dunning_8_worker.sql, 86_sepa_direct_debit.sql).  A
-- company's run leaves the watermark to the end of the cycle
-- (ar._worker_reconcile_advance).
CREATE OR REPLACE FUNCTION ar._worker_reconcile(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	company bigint;
	lines bigint;
	applied bigint;
	direct_debits bigint;
BEGIN
	r := ar._worker_run_running(run_id);
	company := (r.result->>'company_id')::bigint;
	IF company IS NULL THEN
		SELECT count(*) INTO direct_debits FROM ar.settle_direct_debits() d;
		SELECT count(*), count(*) FILTER (WHERE l.applied) INTO lines, applied FROM ar.reconcile(true) l;
	ELSE
		SELECT count(*) INTO direct_debits FROM ar.settle_direct_debits((SELECT c.code FROM ar.company c WHERE c.id = company)) d;
		SELECT count(*), count(*) FILTER (WHERE l.applied) INTO lines, applied FROM ar.reconcile_company(company, true) l;
	END IF;
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = w.result || jsonb_build_object('lines', lines, 'applied', applied, 'direct_debits', direct_debits)
	 WHERE w.id = r.id;
	-- the watermark is every company's: moved by a run of every company
	-- only (ar.reconcile(true) of a role acting for some companies leaves
	-- the others' lines to the next run)
	UPDATE ar.worker_state s
	   SET last_reconcile_at = now(), reconciled_lines = s.reconciled_lines + applied,
	       reconcile_watermark = CASE WHEN company IS NULL AND ar._acts_for_every_company('collector')
	                                  THEN greatest(s.reconcile_watermark, (r.result->>'up_to_line')::bigint)
	                                  ELSE s.reconcile_watermark END;
	RETURN applied;
END $$;

-- The end of a cycle whose every company's run succeeded.
-- (The watermark is every company's: the caller acts for every company.)
CREATE FUNCTION ar._worker_reconcile_advance(up_to_line bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	PERFORM ar._require_all_companies('collector');
	UPDATE ar.worker_state s SET reconcile_watermark = greatest(s.reconcile_watermark, up_to_line);
	RETURN up_to_line;
END $$;

REVOKE ALL ON FUNCTION ar._worker_reconcile_per_company(), ar._worker_reconcile_newest(),
                       ar._worker_reconcile_company_due(bigint, bigint), ar._worker_reconcile_advance(bigint)
	FROM PUBLIC;
-- the worker started by ar.start_worker() runs as an ar_admin login role
GRANT EXECUTE ON FUNCTION ar._worker_reconcile_per_company(), ar._worker_reconcile_newest(),
                          ar._worker_reconcile_company_due(bigint, bigint), ar._worker_reconcile_advance(bigint)
	TO ar_admin;
