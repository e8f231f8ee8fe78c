-- Shortfalls are write-offs in the KPIs (0.2.0): the full computation
-- ar._kpi_figures_full (0.1.0's ar._kpi_figures, renamed by
-- 91_kpi_ledger.sql) counts allocations of method shortfall among the
-- written-off amounts, as the ledger's written_off_amount does (the text of
-- src/sql/75_analytics.sql).  The derived column invoice.last_write_off_on
-- and the summaries are computed from the ledger by the pieces that add them
-- (91_kpi_summary.sql, 91_kpi_summary_dunning.sql), already with this rule.
SELECT ar._upgrade_replace_in_function('ar._kpi_figures_full(date,integer)',
	$o$FILTER (WHERE al.method = 'write_off' AND al.allocated_on <= as_of) AS written_off$o$,
	$n$FILTER (WHERE al.method IN ('write_off', 'shortfall') AND al.allocated_on <= as_of) AS written_off$n$);
