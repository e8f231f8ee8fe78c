-- ---------------------------------------------------------------------------
-- The dunning aggregates of 80_dunning_1_config.sql fed each invoice's
-- penalty row, for ar.run_dunning (issue 17).
-- src/upgrade/0.1.0--0.2.0/92_dunning_penalty_aggregates.sql is this piece
-- (a symbolic link).
-- ---------------------------------------------------------------------------

-- The same two aggregates fed each invoice's penalty row as it is (from
-- ar._penalty_compute) and whether its penalty is claimable, instead of
-- its interest, fixed fee, total and problem: ar._dunning_totals_claimed
-- and ar._dunning_lines_claimed read the row once per invoice in C, where
-- ar.run_dunning read each field through CASE WHEN claimable THEN
-- (pen).field ELSE 0.00 END, up to eight times per invoice.  Not
-- claimable (false or NULL): 0.00, 0.00, 0.00 and no problem.  (Named
-- apart, not overloads: a call of the others with NULL arguments would
-- become ambiguous.)
CREATE FUNCTION ar._dunning_totals_pen_transfn(ar._dunning_totals_state, integer, numeric, ar._penalty_computed, boolean)
	RETURNS ar._dunning_totals_state
	AS 'MODULE_PATHNAME', 'dunning_totals_pen_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ar._dunning_totals_claimed(level integer, open_amount numeric, penalty ar._penalty_computed, claimable boolean) (
	SFUNC = ar._dunning_totals_pen_transfn,
	STYPE = ar._dunning_totals_state,
	SSPACE = 216,
	FINALFUNC = ar._dunning_totals_final,
	COMBINEFUNC = ar._dunning_totals_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_totals_claimed(integer, numeric, ar._penalty_computed, boolean) IS
	'ar._dunning_totals with the interest, fixed fee, total and problem of each invoice taken from its penalty row when claimable (else 0.00 and none)';
CREATE FUNCTION ar._dunning_lines_pen_transfn(ar._dunning_lines, integer, bigint, text, date, integer,
                                              numeric, numeric, ar._penalty_computed, boolean)
	RETURNS ar._dunning_lines
	AS 'MODULE_PATHNAME', 'dunning_lines_pen_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ar._dunning_lines_claimed(level integer, invoice_id bigint, number text, due_date date,
                                           days_late integer, amount numeric, open_amount numeric,
                                           penalty ar._penalty_computed, claimable boolean) (
	SFUNC = ar._dunning_lines_pen_transfn,
	STYPE = ar._dunning_lines,
	SSPACE = 640,
	FINALFUNC = ar._dunning_lines_final,
	COMBINEFUNC = ar._dunning_lines_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_lines_claimed(integer, bigint, text, date, integer, numeric, numeric, ar._penalty_computed, boolean) IS
	'ar._dunning_lines with the interest and fixed fee of each invoice taken from its penalty row when claimable (else 0.00)';
