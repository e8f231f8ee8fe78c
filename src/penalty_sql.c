/*-------------------------------------------------------------------------
 *
 * penalty_sql.c
 *		The SQL face of the penalty engine: ar.late_penalty,
 *		ar._penalty_compute, ar._penalty_schedule, ar.reference_rate_at,
 *		ar.penalty_rate, ar.penalty_rate_floor and the trigger of the rule
 *		tables.  Arguments are checked and decoded into a case here, and
 *		results built; the computation is penalty_engine.c's, the rules
 *		penalty_rules.c's (see penalty.h).
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/typcache.h"

#include "penalty.h"

/* Per call site: the result row's descriptor. */
typedef struct PenCallCache
{
	TupleDesc	tupdesc;
} PenCallCache;

PG_FUNCTION_INFO_V1(penalty_late);
PG_FUNCTION_INFO_V1(penalty_late_contract);
PG_FUNCTION_INFO_V1(penalty_compute);
PG_FUNCTION_INFO_V1(penalty_schedule);
PG_FUNCTION_INFO_V1(penalty_reference_rate_at);
PG_FUNCTION_INFO_V1(penalty_reference_rate_known);
PG_FUNCTION_INFO_V1(penalty_rate);
PG_FUNCTION_INFO_V1(penalty_rate_floor);
PG_FUNCTION_INFO_V1(penalty_rules_changed);


/* ------------------------------------------------------------------------
 * Exact arithmetic
 * ------------------------------------------------------------------------
 */

/* Floor division (toward minus infinity), for schedules. */
static int128
pen_floor_div(int128 a, int128 b, int128 *remainder)
{
	int128		q = a / b;
	int128		r = a % b;

	if (r != 0 && ((r < 0) != (b < 0)))
	{
		q -= 1;
		r += b;
	}
	*remainder = r;
	return q;
}


/* ------------------------------------------------------------------------
 * Numeric <-> scaled integers
 * ------------------------------------------------------------------------
 */

/* value * 10^-scale as a numeric of display scale "scale". */
static Numeric
pen_make_numeric(int128 value, int scale)
{
	return DatumGetNumeric(dec128_to_numeric(value, scale));
}

/* A rate of 10^-6 percent as a numeric of 2 to 6 decimals. */
static Numeric
pen_rate_numeric(int64 rate)
{
	int			decimals = PEN_RATE_SCALE;

	while (decimals > 2 && rate % 10 == 0)
	{
		rate /= 10;
		decimals--;
	}
	return int64_div_fast_to_numeric(rate, decimals);
}


/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------
 */

static void
pen_require_finite(DateADT date, const char *what)
{
	if (DATE_NOT_FINITE(date))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a finite date, not %s", what, pen_date_text(date))));
}

static void
pen_require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
}

/* The amount, due date and as-of date of a case, checked. */
static void
pen_case_basics(FunctionCallInfo fcinfo, PenCase *c, int amount_arg, int due_arg, int asof_arg,
				const char *asof_name, bool allow_negative)
{
	int128		amount;
	int			scale;

	pen_require_arg(fcinfo, amount_arg, "amount");
	pen_require_arg(fcinfo, due_arg, "due_date");
	pen_require_arg(fcinfo, asof_arg, asof_name);
	pen_decode_numeric(PG_GETARG_DATUM(amount_arg), "amount", &amount, &scale);
	if (amount < 0 && !allow_negative)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must not be negative, not %s",
						DatumGetCString(DirectFunctionCall1(numeric_out, PG_GETARG_DATUM(amount_arg)))),
				 errdetail("Late-payment penalties are owed on debts; a credit note bears none.")));
	c->amount = amount;
	c->money_scale = scale;
	c->due_date = PG_GETARG_DATEADT(due_arg);
	c->as_of = PG_GETARG_DATEADT(asof_arg);
	pen_require_finite(c->due_date, "due_date");
	pen_require_finite(c->as_of, asof_name);
}

static void
pen_case_contract_rate(FunctionCallInfo fcinfo, PenCase *c, int argno)
{
	c->has_contract_rate = !PG_ARGISNULL(argno);
	if (c->has_contract_rate)
	{
		c->contract_rate = pen_decode_rate(PG_GETARG_DATUM(argno), "contract_rate");
		if (c->contract_rate <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("contract_rate must be positive, not %s", pen_rate_text(c->contract_rate))));
	}
}

typedef struct PenPayment
{
	DateADT		date;
	int			scale;
	int128		amount;			/* 10^-scale units */
} PenPayment;

static int
pen_payment_cmp(const void *a, const void *b)
{
	DateADT		da = ((const PenPayment *) a)->date;
	DateADT		db = ((const PenPayment *) b)->date;

	return da < db ? -1 : da > db ? 1 : 0;
}

/*
 * Payments from two parallel arrays (dates, amounts), sorted by date; the
 * amount and every payment are brought to one scale.
 */
static void
pen_case_payments(FunctionCallInfo fcinfo, PenCase *c, int dates_arg, int amounts_arg)
{
	ArrayType  *dates_array;
	ArrayType  *amounts_array;
	Datum	   *dates;
	Datum	   *amounts;
	bool	   *dates_null;
	bool	   *amounts_null;
	int			ndates;
	int			namounts;
	PenPayment *payments;
	int			scale = c->money_scale;

	c->npayments = 0;
	if (PG_ARGISNULL(dates_arg) && PG_ARGISNULL(amounts_arg))
		return;
	if (PG_ARGISNULL(dates_arg) || PG_ARGISNULL(amounts_arg))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payment dates and payment amounts must both be given or both be NULL")));
	dates_array = PG_GETARG_ARRAYTYPE_P(dates_arg);
	amounts_array = PG_GETARG_ARRAYTYPE_P(amounts_arg);
	if (ARR_NDIM(dates_array) > 1 || ARR_NDIM(amounts_array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("payment arrays must be one-dimensional")));
	deconstruct_array(dates_array, DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
					  &dates, &dates_null, &ndates);
	deconstruct_array(amounts_array, NUMERICOID, -1, false, TYPALIGN_INT,
					  &amounts, &amounts_null, &namounts);
	if (ndates != namounts)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%d payment dates but %d payment amounts", ndates, namounts)));

	payments = palloc(sizeof(PenPayment) * Max(ndates, 1));
	for (int i = 0; i < ndates; i++)
	{
		if (dates_null[i] || amounts_null[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("payment %d has a NULL date or amount", i + 1)));
		payments[i].date = DatumGetDateADT(dates[i]);
		pen_require_finite(payments[i].date, "a payment date");
		pen_decode_numeric(amounts[i], "payment amount", &payments[i].amount, &payments[i].scale);
		if (payments[i].amount <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("payment %d must be a positive amount, not %s", i + 1,
							DatumGetCString(DirectFunctionCall1(numeric_out, amounts[i])))));
		scale = Max(scale, payments[i].scale);
	}
	qsort(payments, ndates, sizeof(PenPayment), pen_payment_cmp);

	c->amount = pen_scale_up(c->amount, scale - c->money_scale);
	c->money_scale = scale;
	c->npayments = ndates;
	c->pay_dates = palloc(sizeof(DateADT) * Max(ndates, 1));
	c->pay_amounts = palloc(sizeof(int128) * Max(ndates, 1));
	for (int i = 0; i < ndates; i++)
	{
		c->pay_dates[i] = payments[i].date;
		c->pay_amounts[i] = pen_scale_up(payments[i].amount, scale - payments[i].scale);
	}
	pfree(payments);
}

static TupleDesc
pen_result_desc(FunctionCallInfo fcinfo)
{
	PenCallCache *cc = (PenCallCache *) fcinfo->flinfo->fn_extra;

	if (cc == NULL)
	{
		TupleDesc	desc;
		MemoryContext oldcxt;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("function returning a penalty row called in a context that cannot accept it")));
		oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		cc = palloc(sizeof(PenCallCache));
		cc->tupdesc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(oldcxt);
		fcinfo->flinfo->fn_extra = cc;
	}
	return cc->tupdesc;
}

/* The row (days_late, interest, fixed_fee, total[, settled_on, problem]). */
static Datum
pen_result_datum(FunctionCallInfo fcinfo, const PenCase *c, const PenResult *r, const PenError *problem)
{
	TupleDesc	desc = pen_result_desc(fcinfo);
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, true, true};
	int			scale = c->regime->out_scale;

	values[0] = Int32GetDatum(r->days_late);
	if (problem != NULL)
	{
		/* the fixed fee needs no rate: known even when a rate is not */
		nulls[1] = nulls[3] = true;
		values[1] = values[3] = (Datum) 0;
		nulls[2] = !r->fee_known;
		values[2] = r->fee_known ? NumericGetDatum(pen_make_numeric(r->fee, scale)) : (Datum) 0;
	}
	else
	{
		values[1] = NumericGetDatum(pen_make_numeric(r->interest, scale));
		values[2] = NumericGetDatum(pen_make_numeric(r->fee, scale));
		values[3] = NumericGetDatum(pen_make_numeric(pen_add(r->interest, r->fee), scale));
	}
	if (desc->natts >= 6)
	{
		nulls[4] = !r->settled;
		values[4] = DateADTGetDatum(r->settled_on);
		nulls[5] = problem == NULL;
		values[5] = problem ? CStringGetTextDatum(problem->message) : (Datum) 0;
	}
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}


/*
 * The parts of the ar._penalty_computed row argument pen_argno that a
 * dunning listing sums, as
 *   CASE WHEN claimable THEN (pen).interest ELSE 0.00 END (and fixed_fee,
 *   total), CASE WHEN claimable THEN (pen).problem END
 * gave them: the row deformed once, not once per field.  A NULL row gives
 * NULL parts; claimable NULL counts as false.  The datums point into the
 * argument (or are new zeros of scale 2).
 */
void
pen_claimed_parts(FunctionCallInfo fcinfo, int pen_argno, int claimable_argno, PenClaimed *parts)
{
	HeapTupleHeader td;
	HeapTupleData tuple;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6];

	if (PG_ARGISNULL(claimable_argno) || !PG_GETARG_BOOL(claimable_argno))
	{
		parts->interest = parts->fixed_fee = parts->total = NumericGetDatum(int64_div_fast_to_numeric(0, 2));
		parts->interest_null = parts->fee_null = parts->total_null = false;
		parts->has_problem = false;
		return;
	}
	if (PG_ARGISNULL(pen_argno))
	{
		parts->interest = parts->fixed_fee = parts->total = (Datum) 0;
		parts->interest_null = parts->fee_null = parts->total_null = true;
		parts->has_problem = false;
		return;
	}
	td = PG_GETARG_HEAPTUPLEHEADER(pen_argno);
	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(td), HeapTupleHeaderGetTypMod(td));
	if (desc->natts != 6 || TupleDescAttr(desc, 1)->atttypid != NUMERICOID ||
		TupleDescAttr(desc, 2)->atttypid != NUMERICOID || TupleDescAttr(desc, 3)->atttypid != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("penalty argument must be an ar._penalty_computed row")));
	tuple.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = td;
	heap_deform_tuple(&tuple, desc, values, nulls);
	ReleaseTupleDesc(desc);
	parts->interest = values[1];
	parts->interest_null = nulls[1];
	parts->fixed_fee = values[2];
	parts->fee_null = nulls[2];
	parts->total = values[3];
	parts->total_null = nulls[3];
	parts->has_problem = !nulls[5];
}


/* ------------------------------------------------------------------------
 * SQL-callable functions
 * ------------------------------------------------------------------------
 */

/* Shared body of the two ar.late_penalty forms. */
static Datum
pen_late(FunctionCallInfo fcinfo, bool with_contract_rate)
{
	PenCache   *cache;
	PenCase		c;
	PenResult	r;
	PenError	err;

	memset(&c, 0, sizeof(c));
	pen_case_basics(fcinfo, &c, 0, 1, 2, "paid_on", false);
	pen_require_arg(fcinfo, 3, "regime");
	cache = pen_get_cache();
	c.regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(3));
	c.currency = c.regime->currency;
	if (with_contract_rate)
		pen_case_contract_rate(fcinfo, &c, 4);
	if (!pen_compute(&c, &r, false, &err))
		pen_raise(&err);
	return pen_result_datum(fcinfo, &c, &r, NULL);
}

/*
 * ar.late_penalty(amount numeric, due_date date, paid_on date,
 *                 regime text DEFAULT 'FR_LME') RETURNS ar.penalty
 */
Datum
penalty_late(PG_FUNCTION_ARGS)
{
	return pen_late(fcinfo, false);
}

/*
 * ar.late_penalty(amount numeric, due_date date, paid_on date, regime text,
 *                 contract_rate numeric) RETURNS ar.penalty
 */
Datum
penalty_late_contract(PG_FUNCTION_ARGS)
{
	return pen_late(fcinfo, true);
}

/*
 * The case of ar._penalty_compute's arguments (regime, amount, due_date,
 * as_of, payment_dates, payment_amounts, contract_rate, currency), found
 * at argument first and the seven after it: ar._penalty_compute,
 * ar._penalty_schedule and the dunning pass (dunning_pass.c), which reads
 * them among its own.
 */
void
pen_case_from_args(FunctionCallInfo fcinfo, int first, PenCase *c)
{
	PenCache   *cache;

	memset(c, 0, sizeof(*c));
	pen_require_arg(fcinfo, first, "regime");
	pen_case_basics(fcinfo, c, first + 1, first + 2, first + 3, "as_of", false);
	cache = pen_get_cache();
	c->regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(first));
	pen_case_payments(fcinfo, c, first + 4, first + 5);
	pen_case_contract_rate(fcinfo, c, first + 6);
	c->currency = PG_ARGISNULL(first + 7) ? c->regime->currency : text_to_cstring(PG_GETARG_TEXT_PP(first + 7));
}

static void
pen_case_full(FunctionCallInfo fcinfo, PenCase *c)
{
	pen_case_from_args(fcinfo, 0, c);
}

/*
 * ar._penalty_compute(regime text, amount numeric, due_date date, as_of date,
 *                     payment_dates date[], payment_amounts numeric[],
 *                     contract_rate numeric, currency text, strict boolean)
 * RETURNS ar._penalty_computed (days_late, interest, fixed_fee, total,
 *                                settled_on, problem)
 *
 * Late days run from due_date + 1 to the day the payments (dated up to
 * as_of) cover the amount, or to as_of.  Not strict: a rate that is not
 * known or not lawful gives NULL amounts and the message in "problem".
 */
Datum
penalty_compute(PG_FUNCTION_ARGS)
{
	PenCase		c;
	PenResult	r;
	PenError	err;
	bool		strict = PG_ARGISNULL(8) || PG_GETARG_BOOL(8);

	pen_case_full(fcinfo, &c);
	if (!pen_compute(&c, &r, false, &err))
	{
		if (strict)
			pen_raise(&err);
		return pen_result_datum(fcinfo, &c, &r, &err);
	}
	return pen_result_datum(fcinfo, &c, &r, NULL);
}

/* Text of where a segment's rate comes from: "ECB_MRO on 2025-01-01: 3.15 + 10". */
static char *
pen_rate_basis(const PenRegime *regime, const PenSegment *seg)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (seg->series == NULL)
		appendStringInfo(&buf, "contractual rate %s", pen_rate_text(seg->ref_rate));
	else
		appendStringInfo(&buf, "%s on %s: %s", seg->series->code, pen_date_text(seg->ref_date),
						 pen_rate_text(seg->ref_rate));
	if (regime->margin != 0)
		appendStringInfo(&buf, " %c %s", regime->margin < 0 ? '-' : '+',
						 pen_number_text(regime->margin < 0 ? -regime->margin : regime->margin));
	if (seg->series != NULL && seg->ref_status == 'v')
		appendStringInfoString(&buf, " (provisional rate)");
	return buf.data;
}

/*
 * ar._penalty_schedule(same arguments as ar._penalty_compute but strict)
 * RETURNS TABLE (line int, period_start date, period_end date, days int,
 *                outstanding numeric, rate numeric, interest numeric,
 *                rate_basis text)
 *
 * One row per period of constant outstanding amount and rate.  Each line's
 * interest is its exact share rounded so that the lines add up to the
 * interest rounded once (largest remainders get the spare units).
 */
Datum
penalty_schedule(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PenCase		c;
	PenResult	r;
	PenError	err;
	int128		divisor;
	int128		total_units;
	int128		sum_floor = 0;
	int128	   *units;
	int128	   *remainders;
	bool	   *bumped;
	int			out_shift;

	pen_case_full(fcinfo, &c);
	InitMaterializedSRF(fcinfo, 0);
	if (!pen_compute(&c, &r, true, &err))
		pen_raise(&err);
	if (r.nsegments == 0)
		return (Datum) 0;

	divisor = pen_mul(c.regime->day_basis,
					  dec128_pow10(2 + PEN_RATE_SCALE + c.money_scale - c.regime->round_scale));
	out_shift = c.regime->out_scale - c.regime->round_scale;
	total_units = r.interest / dec128_pow10(out_shift);
	units = palloc(sizeof(int128) * r.nsegments);
	remainders = palloc(sizeof(int128) * r.nsegments);
	bumped = palloc0(sizeof(bool) * r.nsegments);
	for (int i = 0; i < r.nsegments; i++)
	{
		units[i] = pen_floor_div(r.segments[i].numerator, divisor, &remainders[i]);
		sum_floor += units[i];
	}
	/* total_units - sum_floor is between 0 and the number of lines */
	for (int128 spare = total_units - sum_floor; spare > 0; spare--)
	{
		int			best = -1;

		for (int i = 0; i < r.nsegments; i++)
			if (!bumped[i] && (best < 0 || remainders[i] > remainders[best]))
				best = i;
		if (best < 0)
			break;
		bumped[best] = true;
		units[best] += 1;
	}

	for (int i = 0; i < r.nsegments; i++)
	{
		const PenSegment *seg = &r.segments[i];
		Datum		values[8];
		bool		nulls[8] = {false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = DateADTGetDatum(seg->first);
		values[2] = DateADTGetDatum(seg->last);
		values[3] = Int32GetDatum(seg->days);
		values[4] = NumericGetDatum(pen_make_numeric(seg->outstanding, c.money_scale));
		values[5] = NumericGetDatum(pen_rate_numeric(seg->rate));
		values[6] = NumericGetDatum(pen_make_numeric(pen_scale_up(units[i], out_shift),
													 c.regime->out_scale));
		values[7] = CStringGetTextDatum(pen_rate_basis(c.regime, seg));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The series of argument 0 and the index of its rate in force on the date of
 * argument 1, or -1 with err filled (no rate known or verified that day).
 */
static int
pen_reference_rate_index(FunctionCallInfo fcinfo, PenSeries **series, PenError *err)
{
	char	   *code;
	DateADT		on_date;

	pen_require_arg(fcinfo, 0, "series");
	pen_require_arg(fcinfo, 1, "on_date");
	code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	on_date = PG_GETARG_DATEADT(1);
	pen_require_finite(on_date, "on_date");
	*series = pen_find_series(pen_get_cache(), code);
	if (*series == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown rate series \"%s\"", code),
				 errhint("The series are the rows of ar.rate_series.")));
	return pen_series_lookup(*series, on_date, err);
}

/* ar.reference_rate_at(series text, on_date date) RETURNS numeric */
Datum
penalty_reference_rate_at(PG_FUNCTION_ARGS)
{
	PenSeries  *series;
	PenError	err;
	int			index = pen_reference_rate_index(fcinfo, &series, &err);

	if (index < 0)
		pen_raise(&err);
	PG_RETURN_NUMERIC(pen_rate_numeric(series->rates[index].rate));
}

/*
 * ar._reference_rate_known(series text, on_date date, OUT rate numeric,
 * OUT problem text): the rate in force, or NULL and the message
 * ar.reference_rate_at raises when it is not known or not verified that day
 * (other errors are raised).  For callers that state the missing rate
 * instead of failing: without a PL/pgSQL exception block, a subtransaction
 * per rate (on a Citus worker, a SAVEPOINT sent to every node the
 * transaction reached).
 */
Datum
penalty_reference_rate_known(PG_FUNCTION_ARGS)
{
	PenSeries  *series;
	PenError	err;
	int			index = pen_reference_rate_index(fcinfo, &series, &err);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, true};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (index >= 0)
		values[0] = NumericGetDatum(pen_rate_numeric(series->rates[index].rate));
	else if (err.sqlstate == ERRCODE_NO_DATA_FOUND)
	{
		nulls[0] = true;
		nulls[1] = false;
		values[1] = CStringGetTextDatum(err.message);
	}
	else
		pen_raise(&err);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * ar.penalty_rate(regime text, late_day date, first_late_day date DEFAULT NULL,
 *                 contract_rate numeric DEFAULT NULL) RETURNS numeric
 *
 * The yearly rate (percent) the regime applies on late_day of a delay that
 * started on first_late_day (default: late_day itself).
 */
Datum
penalty_rate(PG_FUNCTION_ARGS)
{
	PenCache   *cache;
	PenCase		c;
	PenSegment	seg;
	PenError	err;
	DateADT		day;
	DateADT		first_late;
	int64		next;

	memset(&c, 0, sizeof(c));
	pen_require_arg(fcinfo, 0, "regime");
	pen_require_arg(fcinfo, 1, "late_day");
	day = PG_GETARG_DATEADT(1);
	first_late = PG_ARGISNULL(2) ? day : PG_GETARG_DATEADT(2);
	pen_require_finite(day, "late_day");
	pen_require_finite(first_late, "first_late_day");
	if (first_late > day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("first_late_day %s is after late_day %s",
						pen_date_text(first_late), pen_date_text(day))));
	cache = pen_get_cache();
	c.regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(0));
	pen_case_contract_rate(fcinfo, &c, 3);
	if (!pen_rate_on(&c, day, first_late, &seg, &next, &err) ||
		!pen_check_floor(&c, day, seg.rate, &next, &err))
		pen_raise(&err);
	PG_RETURN_NUMERIC(pen_rate_numeric(seg.rate));
}

/*
 * ar.penalty_rate_floor(regime text, on_date date) RETURNS numeric
 *
 * The lowest lawful rate of the regime on that date (its floor series times
 * its multiplier, e.g. 3 x the French legal interest rate), or NULL when the
 * regime has no floor.
 */
Datum
penalty_rate_floor(PG_FUNCTION_ARGS)
{
	PenCache   *cache;
	const PenRegime *regime;
	PenError	err;
	DateADT		on_date;
	int			index;
	int128		floor_scaled;
	int128		floor_rate;

	pen_require_arg(fcinfo, 0, "regime");
	pen_require_arg(fcinfo, 1, "on_date");
	on_date = PG_GETARG_DATEADT(1);
	pen_require_finite(on_date, "on_date");
	cache = pen_get_cache();
	regime = pen_find_regime(cache, PG_GETARG_TEXT_PP(0));
	if (regime->floor_series == NULL)
		PG_RETURN_NULL();
	index = pen_series_lookup(regime->floor_series, on_date, &err);
	if (index < 0)
		pen_raise(&err);
	floor_scaled = (int128) regime->floor_series->rates[index].rate * regime->floor_multiplier;
	/* rounded up to 10^-6: a rate below this is below the floor */
	floor_rate = floor_scaled / PEN_RATE_UNIT + (floor_scaled % PEN_RATE_UNIT > 0 ? 1 : 0);
	PG_RETURN_NUMERIC(pen_rate_numeric((int64) floor_rate));
}

/*
 * Statement trigger of the rule tables: every backend (this one included,
 * and this one again if the transaction rolls back) reloads the rules.
 */
Datum
penalty_rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ar._penalty_rules_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	pen_rules_changed();
	return PointerGetDatum(NULL);
}
