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
	-- the worker's dunning acts for every company, as ar.run_dunning: its
	-- functions are granted to ar_admin (the worker started by
	-- ar.start_worker() is an admin's role), not to an admin of one company
	PERFORM ar._require_all_companies('collector');
	r := ar._worker_run_running(run_id);
	IF r.result ? 'company_id' THEN
		-- one company's run (a distributed ledger, below)
		RETURN ar._worker_dunning_company(r);
	END IF;
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

-- ---------------------------------------------------------------------------
-- On a distributed ledger (Citus, issue 14) the worker's dunning goes one
-- company per transaction (src/worker.c): the day's run (a row of
-- ar.worker_run without company, from ar._worker_dunning_due) is followed
-- by a row per company (result->'company_id', 'day_run'), each run by
-- ar._worker_dunning in a transaction of its own, its work delegated to the
-- company's node (ar._run_dunning_company); a company's failure is
-- recorded on its row and the next company goes on.  When every company of
-- the day has succeeded, ar._worker_dunning_finish records the date in
-- ar.dunning_run (a manual run of the date then queues nothing) and the
-- day's run succeeded; else the day's run is failed and the next cycle
-- takes the companies not yet succeeded on that date, only them.  No
-- double runs: the worker serves the database alone (ar._worker_attach),
-- each company's run takes the run lock of ar.run_dunning and does nothing
-- once the date is in ar.dunning_run; restart-safe: a company's run that
-- committed on its node but whose row was not recorded (the coordinator
-- stopped in between) is run again and queues nothing, the accounts with a
-- notice of the date being left out (ar.run_dunning's step H).
-- ---------------------------------------------------------------------------

-- 1 on a Citus coordinator whose ledger is distributed, else 0.
CREATE FUNCTION ar._worker_dunning_per_company() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
	SELECT ar._ledger_distributed()::int::bigint
$$;

-- The run of the next company of the day's run day_run (after the company
-- of previous_run, NULL: the first) not yet succeeded on its date,
-- recorded as running; NULL when no company is left.
CREATE FUNCTION ar._worker_dunning_company_due(day_run bigint, previous_run bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	day ar.worker_run;
	after bigint;
	done bigint[];
	company bigint;
	run_id bigint;
BEGIN
	SELECT * INTO day FROM ar.worker_run w WHERE w.id = day_run;
	SELECT (w.result->>'company_id')::bigint INTO after FROM ar.worker_run w WHERE w.id = previous_run;
	-- (read first: ar.company is a Citus reference table, ar.worker_run a
	-- table of the coordinator's own)
	done := ARRAY(SELECT (w.result->>'company_id')::bigint FROM ar.worker_run w
	               WHERE w.kind = 'dunning' AND w.as_of = day.as_of AND w.status = 'succeeded' AND w.result ? 'company_id');
	SELECT min(c.id) INTO company FROM ar.company c WHERE (after IS NULL OR c.id > after) AND c.id <> ALL (done);
	IF company IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO ar.worker_run (kind, as_of, status, result)
	VALUES ('dunning', day.as_of, 'running', jsonb_build_object('company_id', company, 'day_run', day_run))
	RETURNING id INTO run_id;
	RETURN run_id;
END $$;

-- One company's run (run: its row of ar.worker_run): the notices queued,
-- recorded with the accounts, cycles closed and report in its row.
CREATE FUNCTION ar._worker_dunning_company(r ar.worker_run) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	summary jsonb := '{}';
	s jsonb;
BEGIN
	-- the run lock of ar.run_dunning: a manual run waits, or this for it;
	-- a date run by hand meanwhile queues nothing more
	PERFORM ar._take_run_lock('run_dunning');
	IF NOT EXISTS (SELECT 1 FROM ar.dunning_run d WHERE d.as_of = r.as_of) THEN
		IF ar._dunning_delegates() THEN
			-- (the call delegated to the company's node: Citus counts a call
			-- from a function as a transaction block otherwise)
			PERFORM set_config('citus.function_opens_transaction_block', 'off', true);
		END IF;
		FOR s IN EXECUTE format('SELECT d.summary FROM ar._run_dunning_company(%s::bigint, NULL, %L::date, false, false, ''{}''::jsonb) d',
		                        (r.result->>'company_id')::bigint, r.as_of) LOOP
			summary := coalesce(s, summary);
		END LOOP;
		PERFORM pg_notify('ar_dunning', n::text)
		   FROM jsonb_array_elements_text(coalesce(summary->'notified', '[]')) WITH ORDINALITY AS i (n, o) ORDER BY o;
	END IF;
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = w.result || jsonb_build_object('notices', coalesce((summary->>'queued')::bigint, 0),
	                                               'accounts', coalesce((summary->>'accounts')::bigint, 0),
	                                               'cycles_closed', coalesce((summary->>'closed')::bigint, 0),
	                                               'report', coalesce(summary->'report', '{}'))
	 WHERE w.id = r.id;
	RETURN coalesce((summary->>'queued')::bigint, 0);
END $$;

-- What two runs report, merged: the companies' runs of a day, and each
-- step's report into a run's (ar._run_dunning_company).
CREATE FUNCTION ar._dunning_report_merge(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT a || b
	       || CASE WHEN a ? 'penalties_not_computed' AND b ? 'penalties_not_computed'
	               THEN jsonb_build_object('penalties_not_computed', (a->>'penalties_not_computed')::bigint + (b->>'penalties_not_computed')::bigint,
	                                       'first_problem', least(a->>'first_problem', b->>'first_problem'))
	               ELSE '{}' END
	       || CASE WHEN a ? 'language_fallbacks' AND b ? 'language_fallbacks'
	               THEN jsonb_build_object('language_fallbacks', (a->'language_fallbacks') || (b->'language_fallbacks'))
	               ELSE '{}' END
$$;

-- The end of a day whose every company's run succeeded: the date recorded
-- in ar.dunning_run (the companies' runs summed), the day's run succeeded.
CREATE FUNCTION ar._worker_dunning_finish(run_id bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, ar, pg_temp AS $$
DECLARE
	r ar.worker_run;
	c record;
	queued bigint := 0;
	accounts bigint := 0;
	closed bigint := 0;
	report jsonb := '{}';
	companies bigint := 0;
	per_level jsonb;
	skipped bigint;
BEGIN
	PERFORM ar._require_all_companies('collector');  -- the date of every company's dunning
	r := ar._worker_run_running(run_id);
	PERFORM ar._take_run_lock('run_dunning');
	FOR c IN SELECT w.result FROM ar.worker_run w
	          WHERE w.kind = 'dunning' AND w.as_of = r.as_of AND w.status = 'succeeded' AND w.result ? 'company_id'
	          ORDER BY (w.result->>'company_id')::bigint LOOP
		queued := queued + (c.result->>'notices')::bigint;
		accounts := accounts + (c.result->>'accounts')::bigint;
		closed := closed + (c.result->>'cycles_closed')::bigint;
		report := ar._dunning_report_merge(report, c.result->'report');
		companies := companies + 1;
	END LOOP;
	IF NOT EXISTS (SELECT 1 FROM ar.dunning_run d WHERE d.as_of = r.as_of) THEN
		INSERT INTO ar.dunning_run (as_of, started_at, accounts, notices, cycles_closed, report)
		VALUES (r.as_of, r.started_at, accounts, queued, closed, report);
	END IF;
	SELECT coalesce(jsonb_object_agg(l.level, l.c), '{}') INTO per_level
	  FROM (SELECT n.level, count(*) AS c FROM ar.dunning_notice n WHERE n.as_of = r.as_of GROUP BY n.level) l;
	SELECT count(*) INTO skipped FROM ar.batch_problem p
	 WHERE p.batch = 'run_dunning' AND p.last_as_of = r.as_of AND p.last_seen_at >= r.started_at;
	UPDATE ar.worker_run w
	   SET status = 'succeeded', finished_at = clock_timestamp(),
	       result = jsonb_build_object('notices', queued, 'per_level', per_level, 'skipped', skipped, 'companies', companies)
	 WHERE w.id = r.id;
	UPDATE ar.worker_state s SET last_dunning_on = r.as_of, last_dunning_notices = queued;
	RETURN queued;
END $$;

REVOKE ALL ON FUNCTION ar._worker_dunning_per_company(), ar._worker_dunning_company_due(bigint, bigint),
                       ar._worker_dunning_company(ar.worker_run), ar._worker_dunning_finish(bigint) FROM PUBLIC;
-- the worker started by ar.start_worker() runs as an ar_admin login role
GRANT EXECUTE ON FUNCTION ar._worker_dunning_per_company(), ar._worker_dunning_company_due(bigint, bigint),
                          ar._worker_dunning_finish(bigint) TO ar_admin;
