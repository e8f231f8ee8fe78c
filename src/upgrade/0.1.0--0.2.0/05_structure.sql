-- The install script reads as a schema: ar.dunning_effectiveness names
-- ar.dunning_notice directly instead of checking at run time whether
-- dunning is installed (it always is).
CREATE OR REPLACE FUNCTION ar.dunning_effectiveness(as_of date DEFAULT current_date, period_days integer DEFAULT 90)
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
		        WHERE a.invoice_id = ANY (n.invoice_ids)
		          AND a.allocated_on > n.as_of AND a.allocated_on <= n.as_of + 15
		          AND a.method <> 'write_off') p
		 WHERE n.as_of > dunning_effectiveness.as_of - dunning_effectiveness.period_days
		   AND n.as_of <= dunning_effectiveness.as_of - 15
		   AND n.status NOT IN ('failed', 'cancelled')
		   AND n.amount_due > 0
		 GROUP BY n.level
		 ORDER BY n.level;
END $$;

COMMENT ON FUNCTION ar.dunning_effectiveness(date, integer) IS
'Per dunning level: notices queued in (as_of - period_days, as_of - 15] (not failed or cancelled), the amount they claimed, the part paid within 15 days after the notice (allocations other than write-offs, capped at the amount claimed) and its share in percent.';

