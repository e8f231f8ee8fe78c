-- 76_partial_states.sql: the partial states of ar.aging and
-- ar.receivables_kpis as values, for aggregating across databases that no
-- distributed engine combines for us (postgres_fdw shards, exports of one
-- database per company): each node returns its state, whose text form
-- travels (`::text`, then `::ar.aging_state`), and the states are merged
-- where the answer is wanted.  Merging the states of disjoint row sets
-- gives exactly what the aggregate over their union gives
-- (doc/scale_out.md).

CREATE AGGREGATE ar.aging_partial(amount numeric, due_date date, as_of date) (
	SFUNC = ar.aging_transfn,
	STYPE = ar.aging_state,
	SSPACE = 88,
	COMBINEFUNC = ar.aging_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar.aging_partial(numeric, date, date) IS
'ar.aging without its final step: the state (ar.aging_state) of the rows, to ship as text and merge with ar.aging_merge; NULL over no row';

CREATE AGGREGATE ar.aging_merge(state ar.aging_state) (
	SFUNC = ar.aging_combine,
	STYPE = ar.aging_state,
	SSPACE = 88,
	FINALFUNC = ar.aging_final,
	COMBINEFUNC = ar.aging_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar.aging_merge(ar.aging_state) IS
'The ar.aging buckets of the union of the row sets whose ar.aging_partial states it merges (NULL states are skipped); exact';

CREATE AGGREGATE ar.receivables_kpis_partial(amount numeric, issue_date date, due_date date, open_end numeric,
                                             open_start numeric, written_off numeric, settled_on date,
                                             as_of date, period_days integer) (
	SFUNC = ar.kpi_transfn,
	STYPE = ar.kpi_state,
	SSPACE = 544,
	COMBINEFUNC = ar.kpi_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar.receivables_kpis_partial(numeric, date, date, numeric, numeric, numeric, date, date, integer) IS
'ar.receivables_kpis without its final step: the state (ar.kpi_state) of the rows, to ship as text and merge with ar.receivables_kpis_merge; NULL over no row';

CREATE AGGREGATE ar.receivables_kpis_merge(state ar.kpi_state) (
	SFUNC = ar.kpi_combine,
	STYPE = ar.kpi_state,
	SSPACE = 544,
	FINALFUNC = ar.kpi_final,
	COMBINEFUNC = ar.kpi_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar.receivables_kpis_merge(ar.kpi_state) IS
'The ar.receivables_kpis figures of the union of the row sets whose ar.receivables_kpis_partial states it merges (NULL states are skipped; states of another as_of or period are refused); exact';
