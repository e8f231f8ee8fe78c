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

-- The state of ar._dunning_account per account, a type of our own (never
-- internal: a partial state can cross servers as text): the totals, the
-- first problem of each listing and the lines, in one flat value
-- (src/dunning_pass.c).  Text form (t;totals;"problem";"problem";lines):
-- t or f (a row with a level was seen), ar._dunning_totals_state's text,
-- the first problems of the listings at level 1 and up and at level 0
-- (empty: none; a double quote doubled), ar._dunning_lines' text.
CREATE TYPE ar._dunning_account_state;
CREATE FUNCTION ar._dunning_account_state_in(cstring) RETURNS ar._dunning_account_state
	AS 'MODULE_PATHNAME', 'dunning_account_state_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar._dunning_account_state_out(ar._dunning_account_state) RETURNS cstring
	AS 'MODULE_PATHNAME', 'dunning_account_state_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ar._dunning_account_state (
	INPUT = ar._dunning_account_state_in,
	OUTPUT = ar._dunning_account_state_out,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE ar._dunning_account_state IS
	'state of ar._dunning_account: the totals, first problems and lines of an account; text form (t;totals;"problem";"problem";lines)';

-- ar._dunning_totals_claimed, ar._dunning_lines_claimed and the first
-- problem (min(number || ': ' || problem), of the invoices at level 1 and
-- up when R >= 1, else at level 0) in one transition per invoice, fed the
-- arguments of ar._penalty_compute instead of its row: the penalty is
-- computed in C, no row, no numerics built and read back
-- (src/dunning_pass.c).  Arguments: the line's (listing level, invoice id,
-- number, due date, days late, amount, open amount), the level the invoice
-- reached, ar._penalty_compute's (regime, amount, due date, as of, payment
-- dates and amounts, contract rate, currency; not strict) and whether the
-- penalty is claimable.  Parallel safe as ar._penalty_compute is; the
-- combine function concatenates the lines (the final function sorts them)
-- and keeps the lesser first problems.
CREATE FUNCTION ar._dunning_account_transfn(ar._dunning_account_state, integer, bigint, text, date, integer, numeric,
                                            numeric, integer, text, numeric, date, date, date[], numeric[], numeric,
                                            text, boolean)
	RETURNS ar._dunning_account_state
	AS 'MODULE_PATHNAME', 'dunning_pass_transfn'
	LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_account_combine(ar._dunning_account_state, ar._dunning_account_state)
	RETURNS ar._dunning_account_state
	AS 'MODULE_PATHNAME', 'dunning_pass_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar._dunning_account_final(ar._dunning_account_state) RETURNS ar._dunning_account_result
	AS 'MODULE_PATHNAME', 'dunning_pass_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ar._dunning_account(level integer, invoice_id bigint, number text, due_date date, days_late integer,
                                     amount numeric, open_amount numeric, invoice_level integer,
                                     regime text, penalty_amount numeric, penalty_due_date date, as_of date,
                                     payment_dates date[], payment_amounts numeric[], contract_rate numeric,
                                     currency text, claimable boolean) (
	SFUNC = ar._dunning_account_transfn,
	STYPE = ar._dunning_account_state,
	SSPACE = 1024,
	FINALFUNC = ar._dunning_account_final,
	COMBINEFUNC = ar._dunning_account_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE ar._dunning_account(integer, bigint, text, date, integer, numeric, numeric, integer, text, numeric,
                                         date, date, date[], numeric[], numeric, text, boolean) IS
	'Per account, the pass of ar.run_dunning: R, the figures and lines of the listing, its first problem, penalties computed inline';
-- (as 90_roles.sql leaves a fresh install's functions that are not
-- immutable: the run, as ar_definer, calls the aggregate)
REVOKE ALL ON FUNCTION ar._dunning_account_transfn(ar._dunning_account_state, integer, bigint, text, date, integer,
                                                   numeric, numeric, integer, text, numeric, date, date, date[],
                                                   numeric[], numeric, text, boolean) FROM PUBLIC;

-- The level of a policy an invoice reached days_late days after its due
-- date: levels[width_bucket(days_late, offsets)], in C once per invoice of
-- the pass (src/dunning_level.c).
CREATE FUNCTION ar._dunning_level(days_late integer, offsets integer[], levels integer[]) RETURNS integer
	AS 'MODULE_PATHNAME', 'ar_dunning_level'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ar._dunning_level(integer, integer[], integer[]) IS
	'The level of a policy (its offsets and levels) an invoice reached days_late days after its due date; NULL before the first';
