-- ---------------------------------------------------------------------------
-- Dunning effectiveness (ar.kpis reports it, 75_analytics.sql): the full
-- computation and ar.dunning_effectiveness, which answers from the
-- effectiveness summary (86_kpi_summary_dunning.sql) when it serves.
-- Before 75_analytics.sql, whose ar.kpis names it.
--
-- src/upgrade/0.1.0--0.2.0/91_kpi_dunning_effectiveness.sql is this piece
-- (a symbolic link): CREATE OR REPLACE for the function 0.1.0 had.
-- ---------------------------------------------------------------------------

-- Dunning effectiveness: for the notices queued in (as_of - period_days,
-- as_of - 15], the share of the amount they claimed that was paid within 15
-- days after them.  PL/pgSQL so that it may name ar.dunning_notice, which a
-- later piece (80_dunning_4_outbox.sql) creates.  The full computation.
-- The allocations are the notice's company's (a notice lists its company's
-- invoices): on Citus the lateral join is on the distribution column, run
-- on the shards.
CREATE FUNCTION ar._dunning_effectiveness_full(as_of date, period_days integer)
RETURNS TABLE (level integer, notices bigint, amount_due numeric, paid_within_15_days numeric, effectiveness_pct numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM ar._check_kpi_args(as_of, period_days);
	RETURN QUERY
		SELECT n.level::integer, count(*), sum(n.amount_due), sum(p.paid),
		       round(100 * sum(p.paid) / nullif(sum(n.amount_due), 0), 2)
		  FROM ar.dunning_notice n
		 CROSS JOIN LATERAL (
		       SELECT least(coalesce(sum(a.amount), 0), n.amount_due) AS paid
		         FROM ar.allocation a
		        WHERE a.invoice_id = ANY (n.invoice_ids) AND a.company_id = n.company_id
		          AND a.allocated_on > n.as_of AND a.allocated_on <= n.as_of + 15
		          AND a.method NOT IN ('write_off', 'shortfall')) p
		 WHERE n.as_of > _dunning_effectiveness_full.as_of - _dunning_effectiveness_full.period_days
		   AND n.as_of <= _dunning_effectiveness_full.as_of - 15
		   AND n.status NOT IN ('failed', 'cancelled')
		   AND n.amount_due > 0
		 GROUP BY n.level
		 ORDER BY n.level;
END $$;

-- Per dunning level, from the effectiveness summary when no change of the
-- notices or allocations is waiting to be folded into it (the caller's own
-- transaction's), else the full computation; the same rows either way.
CREATE OR REPLACE FUNCTION ar.dunning_effectiveness(as_of date DEFAULT current_date, period_days integer DEFAULT 90)
RETURNS TABLE (level integer, notices bigint, amount_due numeric, paid_within_15_days numeric, effectiveness_pct numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM ar._check_kpi_args(as_of, period_days);
	IF ar._dunning_effect_serves() THEN
		RETURN QUERY SELECT * FROM ar._dunning_effectiveness_summary(as_of, period_days);
	ELSE
		RETURN QUERY SELECT * FROM ar._dunning_effectiveness_full(as_of, period_days);
	END IF;
END $$;

COMMENT ON FUNCTION ar.dunning_effectiveness(date, integer) IS
'Per dunning level: notices queued in (as_of - period_days, as_of - 15] (not failed or cancelled), the amount they claimed, the part paid within 15 days after the notice (allocations other than write-offs, methods write_off and shortfall, capped at the amount claimed) and its share in percent.';

REVOKE ALL ON FUNCTION ar._dunning_effectiveness_full(date, integer), ar.dunning_effectiveness(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ar._dunning_effectiveness_full(date, integer), ar.dunning_effectiveness(date, integer) TO ar_reader;
