-- ---------------------------------------------------------------------------
-- 0.2.0 (issue 15): the worker calls ar.reconcile(boolean), which every
-- version has, directly: no test of its existence, no dynamic SQL
-- (ar._worker_reconcile itself: 98_zzz_worker_reconcile_companies.sql).
-- ---------------------------------------------------------------------------
-- A reconcile run when unmatched bank lines came in since the last one;
-- NULL otherwise.
CREATE OR REPLACE FUNCTION ar._worker_reconcile_due() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	newest bigint;
	run_id bigint;
BEGIN
	SELECT max(t.id) INTO newest
	  FROM ar.bank_transaction t
	 WHERE t.status = 'unmatched' AND t.id > coalesce((SELECT s.reconcile_watermark FROM ar.worker_state s), 0);
	IF newest IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.worker_run (kind, status, result) VALUES ('reconcile', 'running', jsonb_build_object('up_to_line', newest))
	RETURNING id INTO run_id;
	RETURN run_id;
END $$;
