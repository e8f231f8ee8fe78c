/*-------------------------------------------------------------------------
 *
 * dunning_totals.c
 *		ar._dunning_totals(level, open_amount, interest, fixed_fee, total,
 *		problem): in one transition per invoice, what ar.run_dunning needs
 *		of an account besides its lines.
 *
 * A notice lists the invoices that reached level 1 or more; when none did
 * (R = 0), the invoices at level 0.  The aggregate keeps both listings side
 * by side and its final function returns R and the figures of the listing
 * a notice would use (ar._dunning_totals_result), exactly as the FILTERed
 * count / sum / bool_and aggregates it replaces:
 *   invoice_count  the listed invoices (0 when none);
 *   amount_due     sum of their open amounts (NULL when none);
 *   interest, indemnity, penalties
 *                  sums of their interest, fixed fees and totals, NULL when
 *                  a total is NULL (a penalty not computed) or none listed;
 *                  except the indemnity: fixed fees need no rate, so it is
 *                  NULL only when a fixed fee is NULL (or none listed);
 *   problems       how many have a problem text.
 * Sums are exact (int128 at the largest display scale of the values summed,
 * as sum(numeric) prints them).  Rows with a NULL level are ignored, as
 * max() and the FILTERs ignored them; NULL amounts are skipped as sum()
 * skips them.  NaN and infinite amounts are errors (22023); sums beyond 38
 * significant digits are errors (22003).
 *
 * The state, ar._dunning_totals_state, is of fixed size and updated in
 * place within an aggregate (AggCheckCallContext), with a text form and a
 * combine function so that the aggregate may run in parallel.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "aggstate.h"
#include "decimal128.h"
#include "dunning_totals.h"
#include "penalty.h"

/* SSPACE in src/sql/80_dunning_1_config.sql tells the planner this size. */
StaticAssertDecl(sizeof(DunTotalsState) == 216, "ar._dunning_totals_state must be 216 bytes");

PG_FUNCTION_INFO_V1(dunning_totals_state_in);
PG_FUNCTION_INFO_V1(dunning_totals_state_out);
PG_FUNCTION_INFO_V1(dunning_totals_transfn);
PG_FUNCTION_INFO_V1(dunning_totals_pen_transfn);
PG_FUNCTION_INFO_V1(dunning_totals_combine);
PG_FUNCTION_INFO_V1(dunning_totals_final);

static pg_noinline void
dt_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("dunning total out of range"),
			 errdetail("ar._dunning_totals sums exactly with at most 38 significant digits and at most %d digits after the decimal point.",
					   DEC128_MAX_SCALE)));
}

static pg_noinline void
dt_count_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("dunning invoice count out of range"),
			 errdetail("ar._dunning_totals counts invoices and problems up to " INT64_FORMAT ".",
					   PG_INT64_MAX)));
}

/*
 * *count += n, checked: a state read from text (Citus ships states as
 * text) may hold any count up to the type's limit.
 */
static inline void
dt_count_add(int64 *count, int64 n)
{
	if (unlikely(pg_add_s64_overflow(*count, n, count)))
		dt_count_out_of_range();
}

static pg_noinline void
dt_bad_amount(Dec128Kind kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("dunning amount cannot be %s", dec128_kind_name(kind)),
			 errdetail("Only finite amounts can be listed in a notice.")));
}

/* sums[l][i] += value * 10^-scale, at the larger scale. */
void
dun_totals_add(DunTotalsState *state, int l, int i, int128 value, int scale)
{
	/* even a zero widens the result scale, as it does for sum() */
	if (scale > state->scale[l][i])
	{
		state->sums[l][i] = dec128_scale_up(state->sums[l][i], scale - state->scale[l][i],
											dt_out_of_range);
		state->scale[l][i] = scale;
	}
	state->sums[l][i] = dec128_add(state->sums[l][i],
								   dec128_scale_up(value, state->scale[l][i] - scale, dt_out_of_range),
								   dt_out_of_range);
	state->seen[l][i] = 1;
}

/* sums[l][i] += value of the numeric amount, at the larger scale. */
void
dun_totals_add_numeric(DunTotalsState *state, int l, int i, Datum amount)
{
	Dec128Unpacked n;
	Dec128Kind	kind = dec128_unpack(amount, &n);

	if (unlikely(kind != DEC128_FINITE))
		dt_bad_amount(kind);
	if (n.dscale > DEC128_MAX_SCALE)
		dt_out_of_range();
	dun_totals_add(state, l, i, dec128_value(&n, n.dscale, dt_out_of_range), n.dscale);
}

/*
 * A row at level into R and the count of its listing: the listing's index,
 * or -1 when the row is in neither (a negative level).  first: the state's
 * first row.
 */
int
dun_totals_listing(DunTotalsState *state, bool first, int32 level)
{
	int			l;

	if (first || level > state->r)
		state->r = level;
	if (level < 0)
		return -1;
	l = level >= 1 ? DT_HIGH : DT_ZERO;
	dt_count_add(&state->count[l], 1);
	return l;
}

/* An invoice of listing l has a problem. */
void
dun_totals_problem(DunTotalsState *state, int l)
{
	dt_count_add(&state->problems[l], 1);
}

void
dun_totals_check(const void *raw)
{
	const DunTotalsState *state = raw;

	for (int l = 0; l < DT_NLISTINGS; l++)
		for (int i = 0; i < DT_NSUMS; i++)
			if (unlikely(state->scale[l][i] < 0 || state->scale[l][i] > DEC128_MAX_SCALE))
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("invalid ar._dunning_totals_state value"),
						 errdetail("A sum has scale %d.", state->scale[l][i])));
}

static DunTotalsState *
dt_state_arg(FunctionCallInfo fcinfo, int argno)
{
	return agg_state_arg(fcinfo, argno, sizeof(DunTotalsState), "ar._dunning_totals_state", dun_totals_check);
}

static DunTotalsState *
dt_state_for_update(FunctionCallInfo fcinfo)
{
	return agg_state_for_update(fcinfo, sizeof(DunTotalsState), "ar._dunning_totals_state", dun_totals_check);
}

/* ------------------------------------------------------------------------
 * Text form: (r;hi;zero), each listing
 *   count,problems,unknown,open,interest,fee,total
 * where unknown is f (everything known), i (a total not known), e (a fixed
 * fee not known) or t (both) and a sum is a plain decimal at its scale, or
 * empty when no value was summed.  Example:
 *   (2;3,0,f,1200.00,12.34,120.00,132.34;0,0,f,,,,)
 * ------------------------------------------------------------------------
 */

static pg_noinline void
dt_bad_text(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type ar._dunning_totals_state: \"%s\"", text),
			 errdetail("%s", detail),
			 errhint("The form is (r;count,problems,unknown,open,interest,fee,total;count,problems,unknown,open,interest,fee,total), as the type's output prints it.")));
}

/* A non-negative int64 (or int32 when small) at *p, advancing *p. */
static bool
dt_parse_int(const char **p, int64 min, int64 max, int64 *value)
{
	const char *s = *p;
	bool		negative = false;
	int64		v = 0;

	if (*s == '-')
	{
		negative = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
	{
		if (v > (PG_INT64_MAX - (*s - '0')) / 10)
			return false;
		v = v * 10 + (*s - '0');
		s++;
	}
	if (negative)
		v = -v;
	if (v < min || v > max)
		return false;
	*value = v;
	*p = s;
	return true;
}

static void
dt_expect(const char *text, const char **p, char c, const char *detail)
{
	if (**p != c)
		dt_bad_text(text, detail);
	(*p)++;
}

Datum
dunning_totals_state_in(PG_FUNCTION_ARGS)
{
	const char *text = PG_GETARG_CSTRING(0);
	const char *p = text;
	DunTotalsState *state = agg_state_new(sizeof(DunTotalsState));
	int64		v;

	dt_expect(text, &p, '(', "It must start with \"(\".");
	if (!dt_parse_int(&p, PG_INT32_MIN, PG_INT32_MAX, &v))
		dt_bad_text(text, "R must be an integer.");
	state->r = (int32) v;
	for (int l = 0; l < DT_NLISTINGS; l++)
	{
		dt_expect(text, &p, ';', "Two listings separated by \";\" are expected.");
		if (!dt_parse_int(&p, 0, PG_INT64_MAX, &state->count[l]))
			dt_bad_text(text, "A count must be a non-negative integer.");
		dt_expect(text, &p, ',', "Seven comma-separated fields per listing are expected.");
		if (!dt_parse_int(&p, 0, state->count[l], &state->problems[l]))
			dt_bad_text(text, "A count of problems must be a non-negative integer, at most the count of invoices.");
		dt_expect(text, &p, ',', "Seven comma-separated fields per listing are expected.");
		if (*p != 't' && *p != 'f' && *p != 'i' && *p != 'e')
			dt_bad_text(text, "Unknown must be t, i, e or f.");
		state->unknown[l] = *p == 't' ? DT_UNKNOWN_TOTAL | DT_UNKNOWN_FEE :
			*p == 'i' ? DT_UNKNOWN_TOTAL : *p == 'e' ? DT_UNKNOWN_FEE : 0;
		p++;
		for (int i = 0; i < DT_NSUMS; i++)
		{
			int			scale;

			dt_expect(text, &p, ',', "Seven comma-separated fields per listing are expected.");
			if (*p == ',' || *p == ';' || *p == ')')
				continue;		/* nothing summed */
			if (!dec128_parse(&p, DEC128_MAX_SCALE, &state->sums[l][i], &scale, dt_out_of_range))
				dt_bad_text(text, "A sum must be empty or a plain decimal number such as 120 or -80.50.");
			state->scale[l][i] = scale;
			state->seen[l][i] = 1;
		}
	}
	dt_expect(text, &p, ')', "It must end with \")\" after the second listing.");
	if (*p != '\0')
		dt_bad_text(text, "Junk follows the closing \")\".");
	PG_RETURN_POINTER(state);
}

Datum
dunning_totals_state_out(PG_FUNCTION_ARGS)
{
	DunTotalsState *state = dt_state_arg(fcinfo, 0);
	StringInfoData buf;
	char		number[DEC128_BUFLEN];

	initStringInfo(&buf);
	appendStringInfo(&buf, "(%d", state->r);
	for (int l = 0; l < DT_NLISTINGS; l++)
	{
		appendStringInfo(&buf, ";" INT64_FORMAT "," INT64_FORMAT ",%c",
						 state->count[l], state->problems[l],
						 "fiet"[state->unknown[l] & (DT_UNKNOWN_TOTAL | DT_UNKNOWN_FEE)]);
		for (int i = 0; i < DT_NSUMS; i++)
		{
			appendStringInfoChar(&buf, ',');
			if (state->seen[l][i])
			{
				dec128_format(state->sums[l][i], state->scale[l][i], number);
				appendStringInfoString(&buf, number);
			}
		}
	}
	appendStringInfoChar(&buf, ')');
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------------------
 * Aggregate support functions (not strict)
 * ------------------------------------------------------------------------
 */

/*
 * One invoice into the state (argument 0): its level (argument 1), its open
 * amount (argument 2), interest, fixed fee and total (NULL: not known),
 * whether it has a problem.
 */
static Datum
dt_transition(FunctionCallInfo fcinfo, const Datum *amounts, const bool *nulls, bool has_problem)
{
	DunTotalsState *state;
	int32		level;
	int			l;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	level = PG_GETARG_INT32(1);
	state = dt_state_for_update(fcinfo);
	l = dun_totals_listing(state, PG_ARGISNULL(0), level);
	if (l < 0)
		PG_RETURN_POINTER(state);	/* in neither listing */
	for (int i = 0; i < DT_NSUMS; i++)
		if (!nulls[i])
			dun_totals_add_numeric(state, l, i, amounts[i]);
	if (nulls[DT_TOTAL])
		state->unknown[l] |= DT_UNKNOWN_TOTAL;
	if (nulls[DT_FEE])
		state->unknown[l] |= DT_UNKNOWN_FEE;
	if (has_problem)
		dun_totals_problem(state, l);
	PG_RETURN_POINTER(state);
}

/*
 * ar._dunning_totals_transfn(state, level, open_amount, interest, fixed_fee,
 * total, problem).
 */
Datum
dunning_totals_transfn(PG_FUNCTION_ARGS)
{
	Datum		amounts[DT_NSUMS];
	bool		nulls[DT_NSUMS];

	for (int i = 0; i < DT_NSUMS; i++)
	{
		nulls[i] = PG_ARGISNULL(2 + i);
		amounts[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(2 + i);
	}
	return dt_transition(fcinfo, amounts, nulls, !PG_ARGISNULL(6));
}

/*
 * ar._dunning_totals_pen_transfn(state, level, open_amount,
 * penalty ar._penalty_computed, claimable boolean): the same with interest,
 * fixed fee, total and problem taken from the penalty row when claimable,
 * else 0.00, 0.00, 0.00 and none (pen_claimed_parts).
 */
Datum
dunning_totals_pen_transfn(PG_FUNCTION_ARGS)
{
	PenClaimed	parts;
	Datum		amounts[DT_NSUMS];
	bool		nulls[DT_NSUMS];

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 0)
		return dt_transition(fcinfo, NULL, NULL, false);	/* in neither listing */
	pen_claimed_parts(fcinfo, 3, 4, &parts);
	nulls[DT_OPEN] = PG_ARGISNULL(2);
	amounts[DT_OPEN] = nulls[DT_OPEN] ? (Datum) 0 : PG_GETARG_DATUM(2);
	amounts[DT_INTEREST] = parts.interest;
	nulls[DT_INTEREST] = parts.interest_null;
	amounts[DT_FEE] = parts.fixed_fee;
	nulls[DT_FEE] = parts.fee_null;
	amounts[DT_TOTAL] = parts.total;
	nulls[DT_TOTAL] = parts.total_null;
	return dt_transition(fcinfo, amounts, nulls, parts.has_problem);
}

/* other's rows into state (both with a row). */
void
dun_totals_combine(DunTotalsState *state, const DunTotalsState *other)
{
	state->r = Max(state->r, other->r);
	for (int l = 0; l < DT_NLISTINGS; l++)
	{
		dt_count_add(&state->count[l], other->count[l]);
		dt_count_add(&state->problems[l], other->problems[l]);
		state->unknown[l] |= other->unknown[l];
		for (int i = 0; i < DT_NSUMS; i++)
		{
			int			scale = Max(state->scale[l][i], other->scale[l][i]);

			if (!other->seen[l][i])
				continue;
			state->sums[l][i] = dec128_add(dec128_scale_up(state->sums[l][i],
														   scale - state->scale[l][i],
														   dt_out_of_range),
										   dec128_scale_up(other->sums[l][i],
														   scale - other->scale[l][i],
														   dt_out_of_range),
										   dt_out_of_range);
			state->scale[l][i] = scale;
			state->seen[l][i] = 1;
		}
	}
}

/* ar._dunning_totals_combine(state, state): both row sets together. */
Datum
dunning_totals_combine(PG_FUNCTION_ARGS)
{
	DunTotalsState *state;
	DunTotalsState *other;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	other = dt_state_arg(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(other);

	state = dt_state_for_update(fcinfo);
	dun_totals_combine(state, other);
	PG_RETURN_POINTER(state);
}


/*
 * ar._dunning_totals_final(state) returns ar._dunning_totals_result (r,
 * invoice_count, amount_due, interest, indemnity, penalties, problems) of
 * the listing a notice uses; NULL without any row.  The state is only read.
 */
Datum
dunning_totals_final(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[DT_NRESULT];
	bool		nulls[DT_NRESULT];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	tupdesc = agg_result_desc(fcinfo, "ar._dunning_totals_result", DT_NRESULT);
	dun_totals_values(dt_state_arg(fcinfo, 0), values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The DT_NRESULT values of ar._dunning_totals_result (r, invoice_count,
 * amount_due, interest, indemnity, penalties, problems) of the listing a
 * notice uses.
 */
void
dun_totals_values(const DunTotalsState *state, Datum *values, bool *nulls)
{
	int			l;
	bool		known;

	memset(nulls, 0, sizeof(bool) * DT_NRESULT);
	l = state->r >= 1 ? DT_HIGH : DT_ZERO;
	known = state->count[l] > 0 && !(state->unknown[l] & DT_UNKNOWN_TOTAL);

	values[0] = Int32GetDatum(state->r);
	values[1] = Int64GetDatum(state->count[l]);
	for (int i = 0; i < DT_NSUMS; i++)
	{
		bool		shown = state->seen[l][i] &&
			(i == DT_OPEN ? true :
			 i == DT_FEE ? state->count[l] > 0 && !(state->unknown[l] & DT_UNKNOWN_FEE) : known);

		nulls[2 + i] = !shown;
		values[2 + i] = shown ? dec128_to_numeric(state->sums[l][i], state->scale[l][i]) : (Datum) 0;
	}
	values[6] = Int64GetDatum(state->problems[l]);
}
