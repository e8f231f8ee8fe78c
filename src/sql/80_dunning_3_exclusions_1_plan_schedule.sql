-- ---------------------------------------------------------------------------
-- Each instalment of a payment plan and where it stands on a date (issue 14):
-- PL/pgSQL, the plan's company read first, then one query of that company's
-- tables (ar._plan_instalments_query(), 86_forecast.sql: every table filtered
-- on the company, every join on (x_id, company_id)), routed to its shard on
-- Citus (as SQL over ar._plan_outstanding it was refused there:
-- "parameterized queries for SQL functions referencing distributed tables
-- are not supported"; doc/scale_out.md, blocker 2).
--
-- src/upgrade/0.1.0--0.2.0/99_citus_5_plan_schedule.sql is this piece (a
-- symbolic link): CREATE OR REPLACE of 0.1.0's SQL function.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ar.payment_plan_schedule(plan_id bigint, as_of date DEFAULT current_date)
RETURNS TABLE (seq integer, due_on date, amount numeric, cumulative numeric, may_still_owe numeric,
               owed_after_grace numeric, state text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	co bigint;
BEGIN
	SELECT p.company_id INTO co FROM ar.payment_plan p WHERE p.id = payment_plan_schedule.plan_id;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	RETURN QUERY EXECUTE format($q$
	SELECT s.seq, s.due_on, s.amount, s.cumulative, s.total - s.cumulative,
	       CASE WHEN s.settle_on < $1 THEN s.owed END,
	       CASE WHEN s.settle_on >= $1 THEN 'due' WHEN s.unpaid > s.total - s.cumulative THEN 'missed' ELSE 'paid' END
	  FROM (%s) s
	 WHERE s.plan_id = $3
	 ORDER BY s.seq$q$, ar._plan_instalments_query(2)) USING as_of, co, plan_id;
END $$;
