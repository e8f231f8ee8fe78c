-- Shortfalls are write-offs in the KPIs (0.2.0): the full computation
-- ar._kpi_figures_full (0.1.0's ar._kpi_figures, renamed by
-- 91_kpi_ledger.sql) counts allocations of method shortfall among the
-- written-off amounts, as the ledger's written_off_amount does.  Its text is
-- src/sql/75_analytics.sql's.  The derived column invoice.last_write_off_on
-- and the summaries are computed from the ledger by the pieces that add them
-- (91_kpi_summary.sql, 91_kpi_summary_dunning.sql), already with this rule.

CREATE OR REPLACE FUNCTION ar._kpi_figures_full(as_of date, period_days integer)
RETURNS ar.kpi_figures
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT ar.receivables_kpis(
	           CASE WHEN i.cancelled_on <= as_of THEN 0 ELSE i.amount END,
	           i.issue_date, i.due_date,
	           CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_end, 0)
	                WHEN i.cancelled_on > as_of THEN i.amount ELSE 0 END,
	           CASE WHEN i.cancelled_on IS NULL THEN i.open_amount + coalesce(a.after_start, 0)
	                WHEN i.cancelled_on > as_of - period_days THEN i.amount ELSE 0 END,
	           a.written_off,
	           CASE WHEN i.cancelled_on IS NULL AND i.open_amount + coalesce(a.after_end, 0) = 0
	                     AND coalesce(a.written_off, 0) = 0 THEN a.last_on END,
	           as_of, period_days)
	  FROM ar.invoice i
	  LEFT JOIN (SELECT al.invoice_id,
	                    sum(al.amount) FILTER (WHERE al.allocated_on > as_of) AS after_end,
	                    sum(al.amount) AS after_start,
	                    sum(al.amount) FILTER (WHERE al.method IN ('write_off', 'shortfall') AND al.allocated_on <= as_of) AS written_off,
	                    max(al.allocated_on) FILTER (WHERE al.allocated_on <= as_of) AS last_on
	               FROM ar.allocation al
	              WHERE al.allocated_on > as_of - period_days
	              GROUP BY al.invoice_id) a ON a.invoice_id = i.id
	  JOIN ar.company c ON c.id = i.company_id AND c.currency = i.currency AND c.is_default
	 WHERE i.issue_date <= as_of
$$;
