/*-------------------------------------------------------------------------
 *
 * kpi.c
 *		The ar.receivables_kpis(...) aggregate: every receivables KPI that
 *		scans invoices (DSO standard and countback, best possible DSO,
 *		average days delinquent, collection effectiveness index, collection
 *		rate, share overdue, average days to pay, average days past due) in
 *		one pass, splittable across parallel workers.
 *
 * One row per invoice or credit note, as src/sql/75_analytics.sql feeds it:
 *
 *	ar.receivables_kpis(amount numeric,        -- 0 when cancelled on or before as_of
 *						issue_date date, due_date date,
 *						open_end numeric,      -- open amount on as_of
 *						open_start numeric,    -- open amount on as_of - period_days
 *						written_off numeric,   -- written off in the period
 *						settled_on date,       -- day it was fully paid, if it was
 *						as_of date, period_days integer)
 *
 * Design (the same as ar.aging, src/aging.c):
 * - the state is ar.kpi_state, a fixed-size varlena of our own with a text
 *   form, never "internal": partial states combine across parallel workers
 *   and can be shipped between nodes;
 * - every sum is an exact int128 holding value * 10^scale, scale being the
 *   largest display scale seen; amounts are read straight from the numeric
 *   on-disk format with no allocation per row;
 * - the final function builds numerics and does the divisions with the
 *   numeric operators, in the order the KPI rules write them (AR / sales *
 *   P), so that the results equal the same formula written in SQL.
 *
 * Copyright (c) the ar_collect authors
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"

#include "aggstate.h"
#include "decimal128.h"

/* Calendar months of sales kept for the countback DSO (month to date first). */
#define KPI_MONTHS			24

/* The exact sums of the state, in this order (also the text form's order). */
enum
{
	KPI_AR_END,					/* open amounts on as_of */
	KPI_AR_CURRENT_END,			/* ... of items not past due on as_of */
	KPI_AR_START,				/* open amounts on as_of - period_days */
	KPI_SALES,					/* amounts issued in (as_of - P, as_of] */
	KPI_DUE,					/* invoices falling due in the period */
	KPI_COLLECTED,				/* ... the part of them settled by as_of */
	KPI_SETTLED,				/* invoices fully paid in the period */
	KPI_SETTLED_DAYS,			/* ... amount times days from issue to payment */
	KPI_OVERDUE_DAYS,			/* open past due amounts times days past due */
	KPI_MONTH0,					/* sales of the month to date, then earlier months */
	KPI_NSUMS = KPI_MONTH0 + KPI_MONTHS
};

#define KPI_MAX_SCALE		30	/* amount * days must still fit an int128 */

typedef struct KpiState
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int32		scale;			/* largest display scale seen */
	DateADT		as_of;
	int32		period_days;
	int128		sums[KPI_NSUMS];
} KpiState;

/* SSPACE in src/sql/75_analytics.sql tells the planner this size. */
StaticAssertDecl(sizeof(KpiState) == 16 + 16 * KPI_NSUMS, "unexpected ar.kpi_state size");

/* Result columns of ar.kpi_figures, in order. */
enum
{
	KR_AS_OF,
	KR_PERIOD_DAYS,
	KR_RECEIVABLES,
	KR_OVERDUE,
	KR_SALES,
	KR_DSO_STANDARD,
	KR_DSO_COUNTBACK,
	KR_BEST_DSO,
	KR_ADD,
	KR_CEI,
	KR_COLLECTION_RATE,
	KR_SHARE_OVERDUE,
	KR_DAYS_TO_PAY,
	KR_DAYS_PAST_DUE,
	KR_AMOUNT_DUE,
	KR_AMOUNT_COLLECTED,
	KR_NATTS
};

PG_FUNCTION_INFO_V1(kpi_state_in);
PG_FUNCTION_INFO_V1(kpi_state_out);
PG_FUNCTION_INFO_V1(kpi_transfn);
PG_FUNCTION_INFO_V1(kpi_combine);
PG_FUNCTION_INFO_V1(kpi_final);


/* ------------------------------------------------------------------------
 * Exact arithmetic
 * ------------------------------------------------------------------------
 */

static pg_noinline void
kpi_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("receivables KPI sum out of range"),
			 errdetail("ar.receivables_kpis sums exactly with at most %d digits after the decimal point and 38 significant digits.",
					   KPI_MAX_SCALE)));
}

static inline int128
kpi_add(int128 a, int128 b)
{
	return dec128_add(a, b, kpi_out_of_range);
}

static inline int128
kpi_sub(int128 a, int128 b)
{
	return dec128_sub(a, b, kpi_out_of_range);
}

static inline int128
kpi_mul(int128 a, int128 b)
{
	return dec128_mul(a, b, kpi_out_of_range);
}

static inline int128
kpi_scale_up(int128 value, int exponent)
{
	return dec128_scale_up(value, exponent, kpi_out_of_range);
}

static void
kpi_rescale(KpiState *state, int scale)
{
	if (scale > KPI_MAX_SCALE)
		kpi_out_of_range();
	for (int i = 0; i < KPI_NSUMS; i++)
		state->sums[i] = kpi_scale_up(state->sums[i], scale - state->scale);
	state->scale = scale;
}


static pg_noinline void
kpi_bad_amount(Dec128Kind kind)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ar.receivables_kpis amount cannot be %s", dec128_kind_name(kind)),
			 errdetail("Only finite amounts enter receivables KPIs.")));
}

/* ------------------------------------------------------------------------
 * States
 * ------------------------------------------------------------------------
 */

static KpiState *
kpi_state_new(DateADT as_of, int32 period_days)
{
	KpiState   *state = agg_state_new(sizeof(KpiState));

	state->as_of = as_of;
	state->period_days = period_days;
	return state;
}

static void
kpi_check_state(const void *raw)
{
	const KpiState *state = raw;

	if (unlikely(state->scale < 0 || state->scale > KPI_MAX_SCALE || state->period_days < 1))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid ar.kpi_state value"),
				 errdetail("The state has scale %d and period %d.", state->scale, state->period_days)));
}

static KpiState *
kpi_state_arg(FunctionCallInfo fcinfo, int argno)
{
	return agg_state_arg(fcinfo, argno, sizeof(KpiState), "ar.kpi_state", kpi_check_state);
}

static KpiState *
kpi_state_for_update(FunctionCallInfo fcinfo)
{
	return agg_state_for_update(fcinfo, sizeof(KpiState), "ar.kpi_state", kpi_check_state);
}

static void
kpi_check_period(DateADT as_of, int32 period_days)
{
	if (period_days < 1 || period_days > 3660)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("period_days must be between 1 and 3660, not %d", period_days)));
	if (DATE_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite date")));
}

static pg_noinline void
kpi_mixed_groups(const KpiState *a, DateADT as_of, int32 period_days)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("ar.receivables_kpis needs one as_of and one period per group"),
			 errdetail("The group mixes %s over %d days with %s over %d days.",
					   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(a->as_of))),
					   a->period_days,
					   DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(as_of))),
					   period_days)));
}

/* Months between the month of day and the month of as_of (0: same month). */
static int
kpi_month_index(DateADT day, DateADT as_of)
{
	int			y1,
				m1,
				d1,
				y2,
				m2,
				d2;

	j2date(day + POSTGRES_EPOCH_JDATE, &y1, &m1, &d1);
	j2date(as_of + POSTGRES_EPOCH_JDATE, &y2, &m2, &d2);
	return (y2 * 12 + m2) - (y1 * 12 + m1);
}


/* ------------------------------------------------------------------------
 * Aggregate support
 * ------------------------------------------------------------------------
 */

/*
 * ar.kpi_transfn(state, amount, issue_date, due_date, open_end, open_start,
 *				  written_off, settled_on, as_of, period_days).
 * Rows with a NULL amount, issue or due date, as_of or period are skipped;
 * NULL open amounts and write-offs count as zero, a NULL settled_on as
 * "not fully paid".
 */
Datum
kpi_transfn(PG_FUNCTION_ARGS)
{
	KpiState   *state;
	DateADT		as_of;
	int32		period_days;
	DateADT		issue_date;
	DateADT		due_date;
	DateADT		start;
	int128		amount;
	int128		open_end;
	int128		open_start;
	int128		written_off;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_ARGISNULL(8) || PG_ARGISNULL(9))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	as_of = PG_GETARG_DATEADT(8);
	period_days = PG_GETARG_INT32(9);

	if (PG_ARGISNULL(0))
	{
		kpi_check_period(as_of, period_days);
		state = kpi_state_new(as_of, period_days);
	}
	else
	{
		state = kpi_state_for_update(fcinfo);
		if (state->as_of != as_of || state->period_days != period_days)
			kpi_mixed_groups(state, as_of, period_days);
	}

	issue_date = PG_GETARG_DATEADT(2);
	due_date = PG_GETARG_DATEADT(3);
	if (DATE_NOT_FINITE(issue_date) || DATE_NOT_FINITE(due_date) || issue_date > as_of)
		PG_RETURN_POINTER(state);	/* not issued on as_of: no figure */
	start = as_of - period_days;

	/* the four amounts, read at one scale (the state's, raised if needed) */
	{
		static const int argnos[4] = {1, 4, 5, 6};
		Dec128Unpacked n[4];
		int128		raw[4];
		int			maxscale = state->scale;

		for (int k = 0; k < 4; k++)
		{
			n[k].ndigits = 0;
			if (!PG_ARGISNULL(argnos[k]))
			{
				Dec128Kind	kind = dec128_unpack(PG_GETARG_DATUM(argnos[k]), &n[k]);

				if (unlikely(kind != DEC128_FINITE))
					kpi_bad_amount(kind);
				maxscale = Max(maxscale, n[k].dscale);
			}
		}
		if (maxscale > state->scale)
			kpi_rescale(state, maxscale);
		for (int k = 0; k < 4; k++)
			raw[k] = n[k].ndigits == 0 ? 0 : dec128_value(&n[k], state->scale, kpi_out_of_range);
		amount = raw[0];
		open_end = raw[1];
		open_start = raw[2];
		written_off = raw[3];
	}

	/* receivables on as_of, and on the start of the period */
	state->sums[KPI_AR_END] = kpi_add(state->sums[KPI_AR_END], open_end);
	if (due_date >= as_of)
		state->sums[KPI_AR_CURRENT_END] = kpi_add(state->sums[KPI_AR_CURRENT_END], open_end);
	else if (open_end != 0)
		state->sums[KPI_OVERDUE_DAYS] =
			kpi_add(state->sums[KPI_OVERDUE_DAYS], kpi_mul(open_end, (int128) (as_of - due_date)));
	if (issue_date <= start)
		state->sums[KPI_AR_START] = kpi_add(state->sums[KPI_AR_START], open_start);

	/* sales: the period, and calendar months for the countback */
	if (issue_date > start)
		state->sums[KPI_SALES] = kpi_add(state->sums[KPI_SALES], amount);
	{
		int			month = kpi_month_index(issue_date, as_of);

		if (month >= 0 && month < KPI_MONTHS)
			state->sums[KPI_MONTH0 + month] = kpi_add(state->sums[KPI_MONTH0 + month], amount);
	}

	/* invoices falling due in the period, and how much of them came in */
	if (amount > 0 && due_date > start && due_date <= as_of)
	{
		state->sums[KPI_DUE] = kpi_add(state->sums[KPI_DUE], amount);
		state->sums[KPI_COLLECTED] =
			kpi_add(state->sums[KPI_COLLECTED], kpi_sub(kpi_sub(amount, open_end), written_off));
	}

	/* invoices fully paid in the period: days from issue to payment */
	if (amount > 0 && !PG_ARGISNULL(7))
	{
		DateADT		settled_on = PG_GETARG_DATEADT(7);

		if (!DATE_NOT_FINITE(settled_on) && settled_on > start && settled_on <= as_of &&
			settled_on >= issue_date)
		{
			state->sums[KPI_SETTLED] = kpi_add(state->sums[KPI_SETTLED], amount);
			state->sums[KPI_SETTLED_DAYS] =
				kpi_add(state->sums[KPI_SETTLED_DAYS], kpi_mul(amount, (int128) (settled_on - issue_date)));
		}
	}
	PG_RETURN_POINTER(state);
}

/* ar.kpi_combine(state, state): the state of the union of both row sets. */
Datum
kpi_combine(PG_FUNCTION_ARGS)
{
	KpiState   *state;
	KpiState   *other;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	other = kpi_state_arg(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(other);

	state = kpi_state_for_update(fcinfo);
	if (state->as_of != other->as_of || state->period_days != other->period_days)
		kpi_mixed_groups(state, other->as_of, other->period_days);
	if (other->scale > state->scale)
		kpi_rescale(state, other->scale);
	for (int i = 0; i < KPI_NSUMS; i++)
		state->sums[i] = kpi_add(state->sums[i], kpi_scale_up(other->sums[i], state->scale - other->scale));
	PG_RETURN_POINTER(state);
}


/* ------------------------------------------------------------------------
 * Numerics for the final function
 * ------------------------------------------------------------------------
 */

static Datum
kpi_int_numeric(int64 value)
{
	return NumericGetDatum(int64_to_numeric(value));
}

static Datum
kpi_div(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_div, a, b);
}

static Datum
kpi_mul_num(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_mul, a, b);
}

static Datum
kpi_sub_num(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_sub, a, b);
}

static Datum
kpi_add_num(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_add, a, b);
}

static int
kpi_days_in_month(int year, int month)
{
	return day_tab[isleap(year)][month - 1];
}

/*
 * Countback DSO (doc/contract.md, KPI rules): exhaust AR against the sales of the
 * month to date (its days: the day of month of as_of), then of each earlier
 * full month (its days: its length); a month without positive sales adds
 * its days and leaves AR as it was.  DSO = the days of every exhausted
 * month + the AR left / that month's sales * its days.  NULL when 24 months
 * do not exhaust AR.
 */
static bool
kpi_countback(const KpiState *state, Datum *result)
{
	int128		remaining = state->sums[KPI_AR_END];
	int64		full_days = 0;
	int			year,
				month,
				day;

	j2date(state->as_of + POSTGRES_EPOCH_JDATE, &year, &month, &day);
	if (remaining <= 0)
	{
		*result = kpi_int_numeric(0);
		return true;
	}
	for (int m = 0; m < KPI_MONTHS; m++)
	{
		int128		sales = state->sums[KPI_MONTH0 + m];
		int			days = (m == 0) ? day : kpi_days_in_month(year, month);

		if (sales > 0 && remaining <= sales)
		{
			*result = kpi_add_num(kpi_int_numeric(full_days),
								  kpi_mul_num(kpi_div(dec128_to_numeric(remaining, state->scale),
													  dec128_to_numeric(sales, state->scale)),
											  kpi_int_numeric(days)));
			return true;
		}
		if (sales > 0)
			remaining = kpi_sub(remaining, sales);
		full_days += days;
		/* step back one calendar month */
		if (--month == 0)
		{
			month = 12;
			year--;
		}
	}
	return false;
}


/*
 * ar.kpi_final(state) returns ar.kpi_figures.  A NULL state (no row) gives
 * a row of NULLs: with no invoice there is no as_of to report against.
 * Ratios whose denominator is zero or negative are NULL.
 */
Datum
kpi_final(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc = agg_result_desc(fcinfo, "ar.kpi_figures", KR_NATTS);
	Datum		values[KR_NATTS];
	bool		nulls[KR_NATTS];
	const KpiState *state;
	int			scale;
	Datum		ar_end,
				sales,
				period,
				hundred;
	int128		overdue;

	memset(nulls, true, sizeof(nulls));
	memset(values, 0, sizeof(values));
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	state = kpi_state_arg(fcinfo, 0);
	scale = state->scale;

	ar_end = dec128_to_numeric(state->sums[KPI_AR_END], scale);
	sales = dec128_to_numeric(state->sums[KPI_SALES], scale);
	period = kpi_int_numeric(state->period_days);
	hundred = kpi_int_numeric(100);
	/* checked: a state from outside may hold any sums (22003, not a wrap) */
	overdue = kpi_sub(state->sums[KPI_AR_END], state->sums[KPI_AR_CURRENT_END]);

	values[KR_AS_OF] = DateADTGetDatum(state->as_of);
	values[KR_PERIOD_DAYS] = Int32GetDatum(state->period_days);
	values[KR_RECEIVABLES] = ar_end;
	values[KR_OVERDUE] = dec128_to_numeric(overdue, scale);
	values[KR_SALES] = sales;
	values[KR_AMOUNT_DUE] = dec128_to_numeric(state->sums[KPI_DUE], scale);
	values[KR_AMOUNT_COLLECTED] = dec128_to_numeric(state->sums[KPI_COLLECTED], scale);
	nulls[KR_AS_OF] = nulls[KR_PERIOD_DAYS] = nulls[KR_RECEIVABLES] = nulls[KR_OVERDUE] =
		nulls[KR_SALES] = nulls[KR_AMOUNT_DUE] = nulls[KR_AMOUNT_COLLECTED] = false;

	if (state->sums[KPI_SALES] > 0)
	{
		/* AR(X) / sales(X-P+1 .. X) * P, in that order */
		values[KR_DSO_STANDARD] = kpi_mul_num(kpi_div(ar_end, sales), period);
		values[KR_BEST_DSO] =
			kpi_mul_num(kpi_div(dec128_to_numeric(state->sums[KPI_AR_CURRENT_END], scale), sales), period);
		values[KR_ADD] = kpi_sub_num(values[KR_DSO_STANDARD], values[KR_BEST_DSO]);
		nulls[KR_DSO_STANDARD] = nulls[KR_BEST_DSO] = nulls[KR_ADD] = false;
	}
	nulls[KR_DSO_COUNTBACK] = !kpi_countback(state, &values[KR_DSO_COUNTBACK]);

	/* CEI = (AR start + sales - AR end) / (AR start + sales - current AR end) * 100 */
	{
		int128		start_plus_sales = kpi_add(state->sums[KPI_AR_START], state->sums[KPI_SALES]);
		int128		numerator = kpi_sub(start_plus_sales, state->sums[KPI_AR_END]);
		int128		denominator = kpi_sub(start_plus_sales, state->sums[KPI_AR_CURRENT_END]);

		if (denominator > 0)
		{
			values[KR_CEI] = kpi_mul_num(kpi_div(dec128_to_numeric(numerator, scale),
												 dec128_to_numeric(denominator, scale)), hundred);
			nulls[KR_CEI] = false;
		}
	}
	if (state->sums[KPI_DUE] > 0)
	{
		values[KR_COLLECTION_RATE] = kpi_mul_num(kpi_div(values[KR_AMOUNT_COLLECTED],
														 values[KR_AMOUNT_DUE]), hundred);
		nulls[KR_COLLECTION_RATE] = false;
	}
	if (state->sums[KPI_AR_END] > 0)
	{
		values[KR_SHARE_OVERDUE] = kpi_mul_num(kpi_div(values[KR_OVERDUE], ar_end), hundred);
		nulls[KR_SHARE_OVERDUE] = false;
	}
	if (state->sums[KPI_SETTLED] > 0)
	{
		values[KR_DAYS_TO_PAY] = kpi_div(dec128_to_numeric(state->sums[KPI_SETTLED_DAYS], scale),
										 dec128_to_numeric(state->sums[KPI_SETTLED], scale));
		nulls[KR_DAYS_TO_PAY] = false;
	}
	if (overdue > 0)
	{
		values[KR_DAYS_PAST_DUE] = kpi_div(dec128_to_numeric(state->sums[KPI_OVERDUE_DAYS], scale),
										   dec128_to_numeric(overdue, scale));
		nulls[KR_DAYS_PAST_DUE] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}


/* ------------------------------------------------------------------------
 * Text form: (as_of,period_days,sum0,...,sumN) with every sum a plain
 * decimal at the state's scale, e.g. (2026-11-20,90,1250.00,...).
 * ------------------------------------------------------------------------
 */

static pg_noinline void
kpi_bad_text(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type ar.kpi_state: \"%s\"", text),
			 errdetail("%s", detail),
			 errhint("The form is (as_of,period_days,%d decimal sums), as ar.kpi_state output prints it.",
					 KPI_NSUMS)));
}

Datum
kpi_state_out(PG_FUNCTION_ARGS)
{
	KpiState   *state = kpi_state_arg(fcinfo, 0);
	StringInfoData buf;
	char		number[DEC128_BUFLEN];

	initStringInfo(&buf);
	appendStringInfo(&buf, "(%s,%d",
					 DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(state->as_of))),
					 state->period_days);
	for (int i = 0; i < KPI_NSUMS; i++)
	{
		dec128_format(state->sums[i], state->scale, number);
		appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf, number);
	}
	appendStringInfoChar(&buf, ')');
	PG_RETURN_CSTRING(buf.data);
}

Datum
kpi_state_in(PG_FUNCTION_ARGS)
{
	const char *text = PG_GETARG_CSTRING(0);
	const char *p = text;
	const char *comma;
	char		datebuf[32];
	char	   *end;
	long		period;
	int128		values[KPI_NSUMS];
	int			scales[KPI_NSUMS];
	KpiState   *state;

	while (*p == ' ')
		p++;
	if (*p++ != '(')
		kpi_bad_text(text, "It must start with \"(\".");
	comma = strchr(p, ',');
	if (comma == NULL || comma - p >= (long) sizeof(datebuf) || comma == p)
		kpi_bad_text(text, "The first field must be the as_of date.");
	memcpy(datebuf, p, comma - p);
	datebuf[comma - p] = '\0';
	p = comma + 1;
	errno = 0;
	period = strtol(p, &end, 10);
	if (end == p || errno != 0 || *end != ',' || period < 1 || period > 3660)
		kpi_bad_text(text, "The second field must be the period in days, 1 to 3660.");
	p = end + 1;

	state = kpi_state_new(DatumGetDateADT(DirectFunctionCall1(date_in, CStringGetDatum(datebuf))),
						  (int32) period);
	if (DATE_NOT_FINITE(state->as_of))
		kpi_bad_text(text, "as_of must be a finite date.");
	for (int i = 0; i < KPI_NSUMS; i++)
	{
		if (!dec128_parse(&p, KPI_MAX_SCALE, &values[i], &scales[i], kpi_out_of_range))
			kpi_bad_text(text, "Each sum must be a plain decimal number such as 120 or -80.50.");
		if (*p++ != (i < KPI_NSUMS - 1 ? ',' : ')'))
			kpi_bad_text(text, "Wrong number of sums or a stray character.");
		state->scale = Max(state->scale, scales[i]);
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		kpi_bad_text(text, "Junk follows the closing \")\".");
	for (int i = 0; i < KPI_NSUMS; i++)
		state->sums[i] = kpi_scale_up(values[i], state->scale - scales[i]);
	PG_RETURN_POINTER(state);
}
