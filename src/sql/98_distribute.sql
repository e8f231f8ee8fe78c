-- ---------------------------------------------------------------------------
-- ar.distribute(shard_count): the ledger distributed by company on a Citus
-- coordinator (issue 14, doc/scale_out.md "Distributing the ledger on
-- Citus").  Not yet: a ledger distributed today would refuse its writes
-- while the summary triggers are on and the summaries are not distributed
-- with it (by hand today: the aging, KPI and effectiveness summaries can
-- be, their re-aging, rebuild and check then run per company), refuse some
-- reports (SQL functions with parameters: the cash forecast), and refuse
-- erasure on its audit trail (blocker 8: the trail itself distributes with
-- the ledger, tools/citus_lib.sh).  (The dunning run goes company after
-- company since item 9.)  (Its row
-- locks are routed to one company since blocker 5; the reconciliation runs
-- are recorded per company since issue 14's ar.reconcile_run per company.)
-- So it refuses, with the reason, before changing anything: without Citus,
-- and on Citus while any of those blockers remains.  It never half-does.
-- src/upgrade/0.1.0--0.2.0/98_zzz_distribute.sql is this piece (a link).
-- ---------------------------------------------------------------------------
CREATE FUNCTION ar.distribute(shard_count integer DEFAULT 32) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, ar, pg_temp AS $$
BEGIN
	IF shard_count IS NULL OR shard_count NOT BETWEEN 1 AND 64000 THEN
		RAISE EXCEPTION 'shard_count must be between 1 and 64000, not %', coalesce(shard_count::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'citus') THEN
		RAISE EXCEPTION 'ar.distribute needs Citus'
			USING ERRCODE = 'feature_not_supported',
			      DETAIL = format('The extension citus is not created in database %I; nothing was changed.', current_database()),
			      HINT = 'On a Citus coordinator (shared_preload_libraries = ''citus,ar_collect''): CREATE EXTENSION citus, add the workers, then call ar.distribute(). See doc/scale_out.md.';
	END IF;
	RAISE EXCEPTION 'ar_collect % cannot distribute its ledger safely yet', (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname = 'ar_collect')
		USING ERRCODE = 'feature_not_supported',
		      DETAIL = 'On Citus the summary triggers refuse the writes on the shards unless the summaries are distributed with the ledger (by hand today: the aging, KPI and dunning effectiveness summaries can be, and are then re-aged, rebuilt and checked per company), read functions written in SQL over the ledger would fail (parameterized queries) or, called from another SQL function, read the coordinator''s empty tables (ar_collect''s own run routed per company, ar._company_sql: the small balances, statements of account, dispute aging, credit status and limit alerts, work list, kept rate of commitments, payment plans'' schedules and the cash forecast), and erasure refuses on a distributed audit trail (doc/scale_out.md, blockers 2, 6 and 8; the dunning run goes company after company since item 9); nothing was changed.',
		      HINT = 'doc/scale_out.md describes what can be distributed by hand today, and its limits.';
END $$;
COMMENT ON FUNCTION ar.distribute(integer) IS
'Distributes the ledger by company on a Citus coordinator. In this version it refuses (0A000) before changing anything: without Citus, and on Citus while the blockers of doc/scale_out.md remain.';
REVOKE ALL ON FUNCTION ar.distribute(integer) FROM PUBLIC;
