-- ---------------------------------------------------------------------------
-- The background worker's dunning run (80_dunning_8_worker.sql; src/worker.c):
-- ar.run_dunning of the run's date, its notices and the run's record in
-- ar.worker_run committed together.  On a Citus coordinator the run goes
-- company after company (80_dunning_5_run_0_distributed.sql), in the
-- worker's one transaction; what it skipped is read before the record is
-- written (issue 14: the distributed ar.batch_problem in the UPDATE's
-- subquery was refused, and every day's run failed).  The upgrade's
-- src/upgrade/0.1.0--0.2.0/98_zzz_worker_dunning.sql is this piece (a link).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ar._worker_dunning(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	queued bigint;
	per_level jsonb;
	skipped bigint;
BEGIN
	r := ar._worker_run_running(run_id);
	-- the notices stay in the outbox: no need to read them back
	PERFORM set_config('ar_collect.dunning_return_rows', 'off', true);
	PERFORM ar.run_dunning(r.as_of);
	PERFORM set_config('ar_collect.dunning_return_rows', 'on', true);
	SELECT coalesce(sum(c), 0), coalesce(jsonb_object_agg(level, c), '{}')
	  INTO queued, per_level
	  FROM (SELECT n.level, count(*) AS c FROM ar.dunning_notice n
	         WHERE n.as_of = r.as_of AND n.created_at = now() GROUP BY n.level) l;
	-- with the rows the run skipped (ar.batch_problem), read first: Citus
	-- refuses an UPDATE of ar.worker_run reading the distributed
	-- ar.batch_problem in a subquery
	SELECT count(*) INTO skipped FROM ar.batch_problem p
	 WHERE p.batch = 'run_dunning' AND p.last_as_of = r.as_of AND p.last_seen_at = now();
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = jsonb_build_object('notices', queued, 'per_level', per_level, 'skipped', skipped)
	 WHERE w.id = r.id;
	UPDATE ar.worker_state s SET last_dunning_on = r.as_of, last_dunning_notices = queued;
	RETURN queued;
END $$;
