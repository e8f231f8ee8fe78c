-- 20_aging.sql: the ar.aging(amount, due_date, as_of) aggregate
-- (src/aging.c).  Its transition state is a type of its own, ar.aging_state,
-- with text and binary I/O rather than "internal", so that partial states
-- can be combined across parallel workers and shipped between nodes.

CREATE TYPE ar.aging_buckets AS (
	not_due numeric,
	d1_30 numeric,
	d31_60 numeric,
	d61_90 numeric,
	d91_plus numeric,
	total numeric
);

COMMENT ON TYPE ar.aging_buckets IS
'amounts by days past due (as_of - due_date): not_due (<= 0), 1-30, 31-60, 61-90, 91+, and their total';

--------------------------------------------------------------------------
-- ar.aging_state: exact per-bucket sums and their scale
--------------------------------------------------------------------------
CREATE TYPE ar.aging_state;

CREATE FUNCTION ar.aging_state_in(cstring) RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_state_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.aging_state_out(ar.aging_state) RETURNS cstring
	AS 'MODULE_PATHNAME', 'aging_state_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.aging_state_recv(internal) RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_state_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ar.aging_state_send(ar.aging_state) RETURNS bytea
	AS 'MODULE_PATHNAME', 'aging_state_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- 88 bytes, aligned for the int128 sums; STORAGE plain keeps the 4-byte
-- varlena header the C code updates in place.
CREATE TYPE ar.aging_state (
	INPUT = ar.aging_state_in,
	OUTPUT = ar.aging_state_out,
	RECEIVE = ar.aging_state_recv,
	SEND = ar.aging_state_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE ar.aging_state IS
'transition state of ar.aging: exact sums of the five buckets; text form (not_due,d1_30,d31_60,d61_90,d91_plus) as plain decimals at one scale';
COMMENT ON FUNCTION ar.aging_state_in(cstring) IS 'text input of ar.aging_state: (not_due,d1_30,d31_60,d61_90,d91_plus), strictly validated';
COMMENT ON FUNCTION ar.aging_state_out(ar.aging_state) IS 'text output of ar.aging_state: the five sums as plain decimals at the state''s scale';
COMMENT ON FUNCTION ar.aging_state_recv(internal) IS 'binary input of ar.aging_state: scale (int4), then each sum as a 128-bit integer';
COMMENT ON FUNCTION ar.aging_state_send(ar.aging_state) IS 'binary output of ar.aging_state: scale (int4), then each sum as a 128-bit integer';

--------------------------------------------------------------------------
-- The aggregate.  The support functions are not strict: a row with a NULL
-- input is skipped by the transition function, and a NULL state stands for
-- "no row yet" everywhere.
--------------------------------------------------------------------------
CREATE FUNCTION ar.aging_transfn(ar.aging_state, numeric, date, date)
	RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_transfn'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.aging_combine(ar.aging_state, ar.aging_state)
	RETURNS ar.aging_state
	AS 'MODULE_PATHNAME', 'aging_combine'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ar.aging_final(ar.aging_state) RETURNS ar.aging_buckets
	AS 'MODULE_PATHNAME', 'aging_final'
	LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE ar.aging(amount numeric, due_date date, as_of date) (
	SFUNC = ar.aging_transfn,
	STYPE = ar.aging_state,
	SSPACE = 88,
	FINALFUNC = ar.aging_final,
	COMBINEFUNC = ar.aging_combine,
	PARALLEL = SAFE
);

COMMENT ON FUNCTION ar.aging_transfn(ar.aging_state, numeric, date, date) IS
'transition function of ar.aging: adds the amount to the bucket of as_of - due_date; rows with a NULL input are skipped';
COMMENT ON FUNCTION ar.aging_combine(ar.aging_state, ar.aging_state) IS
'combine function of ar.aging: the state of the union of two row sets (parallel workers, shards)';
COMMENT ON FUNCTION ar.aging_final(ar.aging_state) IS
'final function of ar.aging: the buckets and their total as numerics at the largest scale seen; zeros for no rows';
COMMENT ON AGGREGATE ar.aging(numeric, date, date) IS
'sums amounts by days past due (as_of - due_date) into ar.aging_buckets: not_due (<= 0), d1_30, d31_60, d61_90, d91_plus, total; NULL inputs ignored, exact, parallel safe';
