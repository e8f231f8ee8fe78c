-- ---------------------------------------------------------------------------
-- The pass over the dunnable invoices of ar.run_dunning (its step F) in one
-- aggregate, each invoice's penalty computed inline (issue 17).
-- src/upgrade/0.1.0--0.2.0/92_dunning_pass.sql is this piece (a symbolic
-- link).
-- ---------------------------------------------------------------------------

-- What the pass keeps of an account: ar._dunning_totals_result's figures
-- (its seven attributes, in its order: the C fills them as it does), the
-- lines a notice lists, and the first penalty problem of the listing.
CREATE TYPE ar._dunning_account_result AS (
	r             integer,
	invoice_count bigint,
	amount_due    numeric,
	interest      numeric,
	indemnity     numeric,
	penalties     numeric,
	problems      bigint,
	lines         ar._dunning_lines,
	first_problem text
);
COMMENT ON TYPE ar._dunning_account_result IS
	'Result of ar._dunning_account: R, the figures and lines of the listing a notice uses, its first penalty problem';

-- The payments made by the run date of an invoice partly paid on it, as
-- the pass reads them (one subquery per such invoice, one value).
CREATE TYPE ar._dunning_payments AS (
	dates   date[],
	amounts numeric[]
);
COMMENT ON TYPE ar._dunning_payments IS
	'The payments of an invoice up to a run date, as ar.run_dunning passes them to ar._dunning_account';

-- ar._dunning_totals_claimed, ar._dunning_lines_claimed and the first
-- problem (min(number || ': ' || problem), of the invoices at level 1 and
-- up when R >= 1, else at level 0) in one transition per invoice, fed the
-- arguments of ar._penalty_compute instead of its row: the penalty is
-- computed in C, no row, no numerics built and read back
-- (src/dunning_pass.c).  Arguments: the line's (listing level, invoice id,
-- number, due date, days late, amount, open amount), the level the invoice
-- reached, ar._penalty_compute's (regime, amount, due date, as of, payment
-- dates and amounts, contract rate, currency; not strict) and whether the
-- penalty is claimable.
CREATE FUNCTION ar._dunning_account_transfn(internal, integer, bigint, text, date, integer, numeric, numeric,
                                            integer, text, numeric, date, date, date[], numeric[], numeric, text,
                                            boolean)
	RETURNS internal
	AS 'MODULE_PATHNAME', 'dunning_pass_transfn'
	LANGUAGE C STABLE;
CREATE FUNCTION ar._dunning_account_final(internal) RETURNS ar._dunning_account_result
	AS 'MODULE_PATHNAME', 'dunning_pass_final'
	LANGUAGE C STABLE;
CREATE AGGREGATE ar._dunning_account(level integer, invoice_id bigint, number text, due_date date, days_late integer,
                                     amount numeric, open_amount numeric, invoice_level integer,
                                     regime text, penalty_amount numeric, penalty_due_date date, as_of date,
                                     payment_dates date[], payment_amounts numeric[], contract_rate numeric,
                                     currency text, claimable boolean) (
	SFUNC = ar._dunning_account_transfn,
	STYPE = internal,
	SSPACE = 1024,
	FINALFUNC = ar._dunning_account_final
);
COMMENT ON AGGREGATE ar._dunning_account(integer, bigint, text, date, integer, numeric, numeric, integer, text, numeric,
                                         date, date, date[], numeric[], numeric, text, boolean) IS
	'Per account, the pass of ar.run_dunning: R, the figures and lines of the listing, its first problem, penalties computed inline';
-- (as 90_roles.sql leaves a fresh install's functions that are not
-- immutable: the run, as ar_definer, calls the aggregate)
REVOKE ALL ON FUNCTION ar._dunning_account_transfn(internal, integer, bigint, text, date, integer, numeric, numeric,
                                                   integer, text, numeric, date, date, date[], numeric[], numeric, text,
                                                   boolean),
                       ar._dunning_account_final(internal) FROM PUBLIC;
