-- ---------------------------------------------------------------------------
-- ar.customer_behaviour_on(as_of), final text: before 75_analytics.sql,
-- whose view ar.customer_behaviour reads it (its body names functions of
-- that piece: PL/pgSQL, resolved when it runs).
--
-- src/upgrade/0.1.0--0.2.0/99_citus_1_customer_behaviour.sql is this piece
-- (a symbolic link).
-- ---------------------------------------------------------------------------

-- Per customer over the 12 months up to as_of: the invoices that fell due
-- then (issued and not cancelled by as_of), paid or not.  PL/pgSQL running
-- one query that names the ledger tables, its joins on (x_id, company_id),
-- the company's currency and the segment limits computed first and bound
-- as parameters: Citus plans it, the ledger distributed by company_id
-- (doc/scale_out.md, blocker 2); the open items are ar._open_items' query.
CREATE OR REPLACE FUNCTION ar.customer_behaviour_on(as_of date DEFAULT current_date)
RETURNS TABLE (customer_id bigint, customer_code text, customer_name text, invoices_due integer,
               share_on_time numeric, mean_days_late numeric, spread_days_late numeric,
               trend_days_late numeric, open_exposure numeric, overdue_exposure numeric,
               max_days_past_due integer, currency char(3), other_currency_open_items integer, segment text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH due AS (
		SELECT i.customer_id, i.company_id, i.amount, i.due_date,
		       greatest(0, coalesce(s.settled_on, $1) - i.due_date) AS days_late,
		       s.settled_on IS NOT NULL AND s.settled_on <= i.due_date AS on_time
		  FROM ar.invoice i
		  LEFT JOIN LATERAL (
		        SELECT max(a.allocated_on) AS settled_on
		          FROM ar.allocation a
		         WHERE a.invoice_id = i.id AND a.company_id = i.company_id AND a.allocated_on <= $1
		        HAVING sum(a.amount) = i.amount
		           AND NOT bool_or(a.method = 'write_off')) s ON true
		 WHERE i.amount > 0
		   AND i.due_date > $1 - 365 AND i.due_date <= $1
		   AND i.issue_date <= $1
		   AND (i.cancelled_on IS NULL OR i.cancelled_on > $1)
	), stats AS (
		SELECT d.customer_id, d.company_id, count(*)::integer AS invoices_due,
		       avg(d.on_time::integer) AS share_on_time,
		       sum(d.amount * d.days_late) / sum(d.amount) AS mean_days_late,
		       sqrt(greatest(sum(d.amount * d.days_late * d.days_late) / sum(d.amount)
		                     - (sum(d.amount * d.days_late) / sum(d.amount)) ^ 2, 0)) AS spread_days_late,
		       sum(d.amount * d.days_late) FILTER (WHERE d.due_date > $1 - 91)
		         / nullif(sum(d.amount) FILTER (WHERE d.due_date > $1 - 91), 0)
		       - sum(d.amount * d.days_late) FILTER (WHERE d.due_date <= $1 - 91)
		         / nullif(sum(d.amount) FILTER (WHERE d.due_date <= $1 - 91), 0) AS trend_days_late
		  FROM due d
		 GROUP BY d.customer_id, d.company_id
	), exposure AS (
		SELECT o.customer_id, o.company_id,
		       sum(o.open_amount) FILTER (WHERE o.currency = $2) AS open_exposure,
		       sum(o.open_amount) FILTER (WHERE o.currency = $2 AND o.days_past_due > 0) AS overdue_exposure,
		       max(o.days_past_due) FILTER (WHERE o.amount > 0 AND o.days_past_due > 0) AS max_days_past_due,
		       count(*) FILTER (WHERE o.currency <> $2)::integer AS other_items
		  FROM (%s) o (invoice_id, company_id, customer_id, number, currency, issue_date, due_date, amount,
		               open_amount, days_past_due)
		 GROUP BY o.customer_id, o.company_id
	)
	SELECT c.id, c.code, c.name, coalesce(s.invoices_due, 0),
	       round(s.share_on_time, 4), round(s.mean_days_late, 2), round(s.spread_days_late, 2),
	       round(s.trend_days_late, 2), coalesce(e.open_exposure, 0), coalesce(e.overdue_exposure, 0),
	       coalesce(e.max_days_past_due, 0), $2, coalesce(e.other_items, 0),
	       CASE
	         WHEN s.invoices_due IS NULL AND coalesce(e.max_days_past_due, 0) = 0 THEN NULL
	         WHEN coalesce(s.mean_days_late, 0) >= $3 OR coalesce(e.max_days_past_due, 0) > $4 THEN 'high_risk'
	         WHEN s.mean_days_late >= $5 THEN 'chronic_late'
	         WHEN s.mean_days_late >= $6 OR (s.invoices_due >= 4 AND s.share_on_time < $7) THEN 'occasional_late'
	         ELSE 'punctual'
	       END
	  FROM ar.customer c
	  LEFT JOIN stats s ON s.customer_id = c.id AND s.company_id = c.company_id
	  LEFT JOIN exposure e ON e.customer_id = c.id AND e.company_id = c.company_id
	 ORDER BY c.code
	$q$, ar._open_items_query())
	USING as_of, ar._kpi_company_currency(), ar._segment_limit('high_risk_mean_days'),
	      ar._segment_limit('high_risk_open_days_past_due'), ar._segment_limit('chronic_late_mean_days'),
	      ar._segment_limit('occasional_late_mean_days'), ar._segment_limit('occasional_late_on_time_share');
END $$;

COMMENT ON FUNCTION ar.customer_behaviour_on(date) IS
'Payment behaviour of each customer over the 12 months up to as_of (invoices falling due in (as_of - 365, as_of]) and the segment it gives; see the view ar.customer_behaviour.';
