-- ar.run_dunning feeds its two aggregates the penalty row of each invoice
-- (src/sql/80_dunning_1_config.sql, where a fresh install creates them).

-- The same two aggregates fed the penalty row of each invoice as it is
-- (ar._penalty_compute) and whether its penalty is claimable, instead of its
-- interest, fixed fee, total and problem: the row is read once per
-- invoice in C, where ar.run_dunning read each field of it through
-- CASE WHEN claimable THEN (pen).field ELSE 0.00 END, up to eight times.
-- Not claimable: 0.00, 0.00, 0.00 and no problem.
CREATE FUNCTION ar._dunning_totals_pen_transfn(ar._dunning_totals_state, integer, numeric, ar._penalty_computed, boolean)
	RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_pen_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ar._dunning_totals(level integer, open_amount numeric, penalty ar._penalty_computed, claimable boolean) (
	SFUNC = ar._dunning_totals_pen_transfn,
	STYPE = ar._dunning_totals_state,
	SSPACE = 216,
	FINALFUNC = ar._dunning_totals_final,
	COMBINEFUNC = ar._dunning_totals_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_totals(integer, numeric, ar._penalty_computed, boolean) IS
	'ar._dunning_totals with the interest, fixed fee, total and problem of each invoice taken from its penalty row when claimable (else 0.00 and none)';
CREATE FUNCTION ar._dunning_lines_pen_transfn(ar._dunning_lines, integer, bigint, text, date, integer,
                                              numeric, numeric, ar._penalty_computed, boolean)
	RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_pen_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ar._dunning_lines(level integer, invoice_id bigint, number text, due_date date,
                                   days_late integer, amount numeric, open_amount numeric,
                                   penalty ar._penalty_computed, claimable boolean) (
	SFUNC = ar._dunning_lines_pen_transfn,
	STYPE = ar._dunning_lines,
	SSPACE = 640,
	FINALFUNC = ar._dunning_lines_final,
	COMBINEFUNC = ar._dunning_lines_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_lines(integer, bigint, text, date, integer, numeric, numeric, ar._penalty_computed, boolean) IS
	'ar._dunning_lines with the interest and fixed fee of each invoice taken from its penalty row when claimable (else 0.00)';
