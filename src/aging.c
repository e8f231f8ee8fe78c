/*-------------------------------------------------------------------------
 *
 * aging.c
 *		The ar.aging(amount numeric, due_date date, as_of date) aggregate.
 *
 * It sums amounts into five buckets by days past due (as_of - due_date):
 * not_due (<= 0), 1-30, 31-60, 61-90 and 91+, and returns them with their
 * total as an ar.aging_buckets row.
 *
 * Design, driven by speed (it should cost about what count(*), sum() costs
 * on the same scan) and by distribution (it must split across parallel
 * workers and across shards):
 *
 * - The transition state is ar.aging_state, a fixed-size varlena of our own
 *   with text and binary I/O, not "internal": partial states can then be
 *   shipped between nodes (postgres_fdw, Citus) and combined anywhere.
 * - Each bucket is an exact int128 holding amount * 10^scale, where scale is
 *   the largest display scale seen so far; the accumulators are rescaled
 *   when a larger scale arrives.  Every overflow is detected and reported.
 * - Amounts are decoded straight from the numeric on-disk format, without
 *   numeric_out or any allocation per row.  Numerics are only built in the
 *   final function.
 * - The state is allocated once per group and then modified in place, as
 *   aggregate transition functions are allowed to do (AggCheckCallContext).
 *
 * Semantics, as documented in doc/ledger.md:
 * - a row with a NULL amount, due_date or as_of is ignored, as sum() ignores
 *   NULLs; no rows at all give zero in every bucket (nothing is owed);
 * - the result scale is the largest display scale of the amounts, as for
 *   sum(numeric), and every bucket is printed at that scale;
 * - negative amounts (credit notes) are summed into their bucket;
 * - infinite dates follow from the arithmetic: due 'infinity' is never due,
 *   due '-infinity' or as_of 'infinity' is 91+ days late, and as_of
 *   '-infinity' is not due;
 * - NaN and infinite amounts are errors (22023); sums that do not fit in 38
 *   significant digits are errors (22003).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/numeric.h"

#include "aggstate.h"
#include "aging.h"
#include "decimal128.h"


/* Amounts with more digits after the decimal point are refused. */
#define AGING_MAX_SCALE		DEC128_MAX_SCALE


/* SSPACE in src/sql/20_aging.sql tells the planner this size. */
StaticAssertDecl(sizeof(AgingState) == 88, "ar.aging_state must be 88 bytes");

PG_FUNCTION_INFO_V1(aging_state_in);
PG_FUNCTION_INFO_V1(aging_state_out);
PG_FUNCTION_INFO_V1(aging_state_recv);
PG_FUNCTION_INFO_V1(aging_state_send);
PG_FUNCTION_INFO_V1(aging_transfn);
PG_FUNCTION_INFO_V1(aging_combine);
PG_FUNCTION_INFO_V1(aging_final);


/* ------------------------------------------------------------------------
 * Exact int128 arithmetic
 * ------------------------------------------------------------------------
 */

static pg_noinline void
aging_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("aging amount out of range"),
			 errdetail("ar.aging sums exactly with at most 38 significant digits and at most %d digits after the decimal point.",
					   AGING_MAX_SCALE)));
}

/* Bring every accumulator of the state to a larger scale. */
static void
aging_rescale(AgingState *state, int scale)
{
	Assert(scale >= state->scale);
	if (scale > AGING_MAX_SCALE)
		aging_out_of_range();
	for (int i = 0; i < AGING_NBUCKETS; i++)
		state->sums[i] = dec128_scale_up(state->sums[i], scale - state->scale,
										  aging_out_of_range);
	state->scale = scale;
}


/* ------------------------------------------------------------------------
 * Decoding amounts from the numeric on-disk format
 * ------------------------------------------------------------------------
 */

/* NaN and infinities have no place in a sum of money owed. */
static pg_noinline void
aging_bad_amount(Dec128Kind kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ar.aging amount cannot be %s", dec128_kind_name(kind)),
			 errdetail("Only finite amounts can be aged.")));
}

/*
 * Add a numeric Datum to bucket "bucket" of the state, read in place at the
 * scale of the state after raising it to the amount's display scale.
 */
static inline void
aging_add_numeric(AgingState *state, int bucket, Datum amount)
{
	Dec128Unpacked n;
	Dec128Kind	kind = dec128_unpack(amount, &n);

	if (unlikely(kind != DEC128_FINITE))
		aging_bad_amount(kind);
	/* even a zero widens the result scale, as it does for sum() */
	if (unlikely(n.dscale > state->scale))
		aging_rescale(state, n.dscale);
	state->sums[bucket] = dec128_add(state->sums[bucket],
									 dec128_value(&n, state->scale, aging_out_of_range),
									 aging_out_of_range);
}

/*
 * Bucket of a day difference as_of - due_date.  It is computed in 64 bits,
 * so infinite dates (INT32_MIN/INT32_MAX) need no special case.
 */
static inline int
aging_bucket(DateADT due_date, DateADT as_of)
{
	int64		days = (int64) as_of - (int64) due_date;

	if (days <= 0)
		return 0;
	if (days <= 30)
		return 1;
	if (days <= 60)
		return 2;
	if (days <= 90)
		return 3;
	return 4;
}


/* ------------------------------------------------------------------------
 * State values
 * ------------------------------------------------------------------------
 */

static void
aging_check_state(const void *raw)
{
	const AgingState *state = raw;

	if (unlikely(state->scale < 0 || state->scale > AGING_MAX_SCALE))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid ar.aging_state value"),
				 errdetail("The state has scale %d.", state->scale)));
}

static AgingState *
aging_state_arg(FunctionCallInfo fcinfo, int argno)
{
	return agg_state_arg(fcinfo, argno, sizeof(AgingState), "ar.aging_state", aging_check_state);
}

static AgingState *
aging_state_for_update(FunctionCallInfo fcinfo)
{
	return agg_state_for_update(fcinfo, sizeof(AgingState), "ar.aging_state", aging_check_state);
}

/* state += other, at the larger of both scales. */
static void
aging_state_merge(AgingState *state, const AgingState *other)
{
	if (other->scale > state->scale)
		aging_rescale(state, other->scale);
	for (int i = 0; i < AGING_NBUCKETS; i++)
		state->sums[i] = dec128_add(state->sums[i],
									dec128_scale_up(other->sums[i], state->scale - other->scale,
													aging_out_of_range),
									aging_out_of_range);
}


static pg_noinline void
aging_bad_state_text(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type ar.aging_state: \"%s\"", text),
			 errdetail("%s", detail),
			 errhint("The form is (not_due,d1_30,d31_60,d61_90,d91_plus) with plain decimal numbers, as ar.aging_state output prints it.")));
}

static const char *
aging_skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* ------------------------------------------------------------------------
 * ar.aging_state input and output
 * ------------------------------------------------------------------------
 */

/*
 * Text form: (not_due,d1_30,d31_60,d61_90,d91_plus), each a plain decimal
 * at the scale of the state, e.g. (1250.00,0.00,-80.50,0.00,300.00).  The
 * scale read back is the largest number of digits after a point.
 */
Datum
aging_state_in(PG_FUNCTION_ARGS)
{
	const char *text = PG_GETARG_CSTRING(0);
	const char *p = aging_skip_spaces(text);
	int128		values[AGING_NBUCKETS];
	int			scales[AGING_NBUCKETS];
	AgingState *state = agg_state_new(sizeof(AgingState));

	if (*p++ != '(')
		aging_bad_state_text(text, "It must start with \"(\".");
	for (int i = 0; i < AGING_NBUCKETS; i++)
	{
		p = aging_skip_spaces(p);
		if (!dec128_parse(&p, AGING_MAX_SCALE, &values[i], &scales[i], aging_out_of_range))
			aging_bad_state_text(text, "Each bucket must be a plain decimal number such as 120 or -80.50.");
		p = aging_skip_spaces(p);
		if (*p++ != (i < AGING_NBUCKETS - 1 ? ',' : ')'))
			aging_bad_state_text(text, i < AGING_NBUCKETS - 1
								 ? "Five comma-separated buckets are expected."
								 : "It must end with \")\" after the fifth bucket.");
		state->scale = Max(state->scale, scales[i]);
	}
	if (*aging_skip_spaces(p) != '\0')
		aging_bad_state_text(text, "Junk follows the closing \")\".");

	for (int i = 0; i < AGING_NBUCKETS; i++)
		state->sums[i] = dec128_scale_up(values[i], state->scale - scales[i], aging_out_of_range);
	PG_RETURN_POINTER(state);
}

Datum
aging_state_out(PG_FUNCTION_ARGS)
{
	AgingState *state = aging_state_arg(fcinfo, 0);
	StringInfoData buf;
	char		number[DEC128_BUFLEN];

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < AGING_NBUCKETS; i++)
	{
		dec128_format(state->sums[i], state->scale, number);
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, number);
	}
	appendStringInfoChar(&buf, ')');
	PG_RETURN_CSTRING(buf.data);
}

/*
 * Binary form: int32 scale, then for each bucket its int128 as a signed
 * high int64 and an unsigned low int64, in network order.
 */
Datum
aging_state_send(PG_FUNCTION_ARGS)
{
	AgingState *state = aging_state_arg(fcinfo, 0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint32(&buf, state->scale);
	for (int i = 0; i < AGING_NBUCKETS; i++)
	{
		pq_sendint64(&buf, (int64) (state->sums[i] >> 64));
		pq_sendint64(&buf, (int64) (uint64) state->sums[i]);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
aging_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	AgingState *state = agg_state_new(sizeof(AgingState));

	state->scale = pq_getmsgint(buf, sizeof(int32));
	if (state->scale < 0 || state->scale > AGING_MAX_SCALE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid scale %d in external ar.aging_state value",
						state->scale),
				 errdetail("The scale must be between 0 and %d.", AGING_MAX_SCALE)));
	for (int i = 0; i < AGING_NBUCKETS; i++)
	{
		int64		high = pq_getmsgint64(buf);
		uint64		low = (uint64) pq_getmsgint64(buf);

		state->sums[i] = (int128) (((uint128) (uint64) high << 64) | low);
	}
	PG_RETURN_POINTER(state);
}


/* ------------------------------------------------------------------------
 * Aggregate support functions
 * ------------------------------------------------------------------------
 */

/*
 * ar.aging_transfn(state, amount, due_date, as_of).  Not strict: a row with
 * any NULL input is skipped here, and the first row creates the state.
 */
Datum
aging_transfn(PG_FUNCTION_ARGS)
{
	AgingState *state;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}

	state = aging_state_for_update(fcinfo);
	aging_add_numeric(state,
					  aging_bucket(PG_GETARG_DATEADT(2), PG_GETARG_DATEADT(3)),
					  PG_GETARG_DATUM(1));
	PG_RETURN_POINTER(state);
}

/*
 * ar.aging_combine(state, state): the state of the union of both row sets.
 * Not strict, so that an empty side (NULL) is simply the other side.
 */
Datum
aging_combine(PG_FUNCTION_ARGS)
{
	AgingState *state;
	AgingState *other;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	other = aging_state_arg(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(other);

	state = aging_state_for_update(fcinfo);
	aging_state_merge(state, other);
	PG_RETURN_POINTER(state);
}

/* One row of the aggregate: amount into the bucket of as_of - due_date. */
void
aging_add_row(AgingState *state, Datum amount, DateADT due_date, DateADT as_of)
{
	aging_add_numeric(state, aging_bucket(due_date, as_of), amount);
}

/*
 * The five buckets of a state and their total as numerics at the state's
 * scale: values[0..5], what ar.aging_final returns.
 */
void
aging_values(const AgingState *state, Datum *values)
{
	int128		total = 0;

	for (int i = 0; i < AGING_NBUCKETS; i++)
	{
		values[i] = dec128_to_numeric(state->sums[i], state->scale);
		total = dec128_add(total, state->sums[i], aging_out_of_range);
	}
	values[AGING_NBUCKETS] = dec128_to_numeric(total, state->scale);
}

/* The ar.aging_buckets row descriptor: six numerics. */
static TupleDesc
aging_result_desc(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc = agg_result_desc(fcinfo, "ar.aging_buckets", AGING_NRESULT);

	for (int i = 0; i < AGING_NRESULT; i++)
		if (TupleDescAttr(tupdesc, i)->atttypid != NUMERICOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("attribute %d of type ar.aging_buckets is not numeric", i + 1),
					 errhint("Reinstall the ar_collect extension.")));
	return tupdesc;
}

/*
 * ar.aging_final(state) returns ar.aging_buckets.  A NULL state means no
 * row was aged: every bucket is zero, since nothing is owed.  The state is
 * only read, so the final function may run more than once on it (window
 * aggregates).
 */
Datum
aging_final(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc = aging_result_desc(fcinfo);
	Datum		values[AGING_NRESULT];
	bool		nulls[AGING_NRESULT] = {0};
	AgingState	empty = {0};
	const AgingState *state = PG_ARGISNULL(0) ? &empty : aging_state_arg(fcinfo, 0);

	aging_values(state, values);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
