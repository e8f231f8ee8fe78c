-- ---------------------------------------------------------------------------
-- 0.2.0 (issue 15): the worker calls ar.reconcile(boolean), which every
-- version has, directly: no test of its existence, no dynamic SQL.
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

CREATE OR REPLACE FUNCTION ar._worker_reconcile(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	lines bigint;
	applied bigint;
BEGIN
	r := ar._worker_run_running(run_id);
	SELECT count(*), count(*) FILTER (WHERE l.applied) INTO lines, applied FROM ar.reconcile(true) l;
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = w.result || jsonb_build_object('lines', lines, 'applied', applied)
	 WHERE w.id = r.id;
	UPDATE ar.worker_state s
	   SET last_reconcile_at = now(), reconciled_lines = s.reconciled_lines + applied,
	       reconcile_watermark = greatest(s.reconcile_watermark, (r.result->>'up_to_line')::bigint);
	RETURN applied;
END $$;
